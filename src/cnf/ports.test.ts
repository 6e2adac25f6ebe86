/**
 * PortSet without root: net_null lports (no netdev, no socket). The lports selection (names or a
 * predicate, UMEMs of unselected lports not built), and the frame report of pools a caller built itself
 * (poolsReport, txRejectedOf, mergeReports), the one PortSet.close uses.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config/index.js";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { NullPort } from "../pktdev/null.js";
import { PortSet, poolsReport, mergeReports, txRejectedOf, type StopReport } from "./index.js";

const text = `{
  "umems": {
    "umem0": { "bufcnt": 16, "bufsz": 2, "rxdesc": 2, "txdesc": 2 },
    "umem1": { "bufcnt": 16, "bufsz": 2, "rxdesc": 2, "txdesc": 2 }
  },
  "lports": {
    "null0:0": { "pmd": "net_null", "qid": 0, "umem": "umem0" },
    "null1:0": { "pmd": "net_null", "qid": 0, "umem": "umem1" },
    "null2:0": { "pmd": "net_null", "qid": 0, "umem": "umem0" }
  },
  "lcore-groups": { "initial": [0], "g": [0] },
  "threads": { "main": { "group": "initial" }, "fwd:0": { "group": "g", "lports": ["null0:0", "null1:0", "null2:0"] } }
}`;
const config = () => parseConfig(text, "null.jsonc", { cpuCheck: "off", memoryCheck: "off", netdevCheck: "off" }).config;

function assertClean(r: StopReport, tracked: boolean): void {
  assert.deepEqual(r.faults, []);
  assert.deepEqual(r.threadErrors, []);
  assert.equal(r.leakedFrames, 0);
  assert.equal(r.poolOverflows, 0);
  assert.equal(r.txRejected, 0);
  assert.equal(r.doubleFrees, tracked ? 0 : null);
  assert.equal(r.badAllocs, tracked ? 0 : null);
  assert.equal(r.badKernelReturns, tracked ? 0 : null);
}

test("PortSet.build: every lport by default, with clean frames", () => {
  const set = PortSet.build(config(), { debugFrames: true, log: () => {} });
  assert.deepEqual(set.ports.map((p) => [p.name, p.pid]), [["null0:0", 0], ["null1:0", 1], ["null2:0", 2]]);
  assert.deepEqual([...set.pools.keys()], ["umem0", "umem1"]);
  assertClean(set.close(), true);
  assertClean(set.close(), false); // a second close: empty
});

test("PortSet.build: lports by name keep their pid and build only the UMEMs they use", () => {
  const set = PortSet.build(config(), { lports: ["null2:0"], log: () => {} });
  try {
    assert.deepEqual(set.ports.map((p) => [p.name, p.pid]), [["null2:0", 2]]);
    assert.deepEqual([...set.pools.keys()], ["umem0"]);
    assert.throws(() => set.port("null0:0"), /Unknown lport 'null0:0' \(known: null2:0\)/);
  } finally {
    assertClean(set.close(), false);
  }
});

test("PortSet.build: lports by predicate; an unknown name throws naming the known ones", () => {
  const set = PortSet.build(config(), { lports: (lp) => lp.umem === "umem1", log: () => {} });
  try {
    assert.deepEqual(set.ports.map((p) => p.name), ["null1:0"]);
    assert.deepEqual([...set.pools.keys()], ["umem1"]);
  } finally {
    assertClean(set.close(), false);
  }
  assert.throws(() => PortSet.build(config(), { lports: ["null0:0", "eth9:0"] }),
    /unknown lport\(s\) 'eth9:0' \(known: null0:0, null1:0, null2:0\)/);
});

test("PortSet.close reports frames a worker kept (the same counting as poolsReport)", () => {
  const set = PortSet.build(config(), { lports: ["null0:0"], debugFrames: true, log: () => {} });
  const pool = set.pools.get("umem0")!;
  const h = pool.alloc();
  assert.notEqual(h, -1);
  const r = set.close([new Error("worker fwd:0 failed")]);
  assert.equal(r.leakedFrames, 1);
  assert.equal(r.doubleFrees, 0);
  assert.deepEqual(r.threadErrors, ["worker fwd:0 failed"]);
  assert.equal(r.faults.length, 2);
  assert.match(r.faults[0]!, /^1 frames of pool 'umem0' not returned \(of \d+\)$/);
  assert.equal(r.faults[1], "worker fwd:0 failed");
});

test("poolsReport, txRejectedOf, mergeReports: pools built outside a PortSet", () => {
  for (const debug of [true, false]) {
    const umem = Umem.create({ frames: 256, name: "own" });
    try {
      const pool = Mempool.create({ umem, name: "own", debug });
      const port = NullPort.create({ name: "n0", pid: 0, mempool: pool });
      const txRejected = txRejectedOf([port]);
      assert.equal(txRejected, 0);
      port.close();
      const clean = poolsReport([pool], { txRejected });
      assertClean(clean, debug);

      const h = pool.alloc();
      pool.free(h);
      pool.free(h); // freed twice
      const bad = poolsReport([pool], { txRejected: 3, errors: [new Error("closing n0: boom")] });
      assert.equal(bad.txRejected, 3);
      assert.equal(bad.faults[0], "3 TX descriptors rejected (invalid offset or length)");
      assert.deepEqual(bad.threadErrors, ["closing n0: boom"]);
      assert.equal(bad.faults.at(-1), "closing n0: boom");
      assert.equal(bad.leakedFrames, 0);
      assert.equal(bad.faults.length, 3);
      if (debug) {
        // The tracker refuses the second free: counted, the pool unharmed.
        assert.equal(bad.doubleFrees, 1);
        assert.equal(bad.poolOverflows, 0);
        assert.match(bad.faults[1]!, /^1 double frees in pool 'own' \(handles \d+\)$/);
      } else {
        // Without the tracker the extra free overflows the pool.
        assert.equal(bad.doubleFrees, null);
        assert.equal(bad.poolOverflows, 1);
        assert.equal(bad.faults[1], "1 frees did not fit back into pool 'own' (freed more often than allocated)");
      }

      const set = PortSet.build(config(), { lports: ["null1:0"], debugFrames: true, log: () => {} });
      const sum = mergeReports(bad, set.close());
      assert.equal(sum.txRejected, 3);
      assert.equal(sum.doubleFrees, debug ? 1 : 0, "null only when neither tracked");
      assert.deepEqual(sum.faults, bad.faults);
      assert.deepEqual(mergeReports(clean, clean).faults, []);
      assert.equal(mergeReports(poolsReport([]), poolsReport([])).doubleFrees, null);
    } finally {
      umem.close();
    }
  }
});
