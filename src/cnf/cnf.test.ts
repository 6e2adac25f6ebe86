/**
 * The CNF framework on a veth pair: a user worker module (src/testing/mac-swap-worker.ts) run through
 * Cnf.start answers every frame, the app's own command and the built-in ones answer on the app socket,
 * SIGTERM stops it, and the stop report is clean (no frame leaked or freed twice, program detached).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVethPair, canUseNetns } from "../testing/netns.js";
import { udpFrame } from "../testing/packet-socket.js";
import { fwdConfig } from "../testing/fwd-config.js";
import { parseConfig } from "../config/index.js";
import { AppClient } from "../telemetry/app-client.js";
import { Cnf, type StopReport } from "./index.js";

const root = canUseNetns();
const skip = root ? false : "needs root (namespaces, veth, XDP)";
import { pingPong, xdpAttached } from "../testing/veth-traffic.js";

const worker = new URL("../testing/mac-swap-worker.js", import.meta.url);

function assertClean(rep: StopReport): void {
  assert.deepEqual(rep.faults, []);
  assert.deepEqual(rep.threadErrors, []);
  assert.equal(rep.leakedFrames, 0, "no frame leaked");
  assert.equal(rep.poolOverflows, 0);
  assert.equal(rep.txRejected, 0);
  assert.equal(rep.doubleFrees, 0, "no frame freed twice");
  assert.equal(rep.badAllocs, 0);
  assert.equal(rep.badKernelReturns, 0);
}

describe("Cnf: a user worker module on a veth pair", { skip }, () => {
  test("every frame comes back MAC-swapped; own and built-in commands answer; SIGTERM stops cleanly", async () => {
    const v = createVethPair();
    const dir = mkdtempSync(join(tmpdir(), "cnf-test-"));
    let app: Cnf | null = null;
    try {
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }] }), "echo.jsonc");
      let stopped: StopReport | null = null;
      const a: Cnf = app = await Cnf.start({
        config, worker, debugFrames: true, log: () => {}, socket: { socketDir: dir }, name: "echo",
        commands: { "/echo/stats": () => ({ threads: a.threadStats().map((t) => ({ name: t.name, rx: t.rx, tx: t.tx })) }) },
        onStop: (r) => { stopped = r; },
      });
      assert.equal(app.threads.length, 1);
      const frames = Array.from({ length: 500 }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i, size: 64 + (i % 4) * 200 }));
      const back = await pingPong(v, frames);
      assert.equal(back.length, frames.length, "every frame came back");
      const bySeq = new Map(back.map((f) => [new DataView(f.buffer, f.byteOffset).getUint32(42), f]));
      for (let i = 0; i < frames.length; i++) {
        const want = Uint8Array.from(frames[i]!);
        want.set(frames[i]!.subarray(6, 12), 0);
        want.set(frames[i]!.subarray(0, 6), 6);
        assert.deepEqual(bySeq.get(i), want, `frame ${i}: MACs swapped, the rest unchanged`);
      }
      const client = await AppClient.connect(app.socket!.path);
      try {
        const r = await client.command("/echo/stats");
        assert.deepEqual(r, { threads: [{ name: "fwd:0", rx: 500, tx: 500 }] });
        assert.equal(await client.name(), "echo");
        const ports = await client.ports();
        assert.equal(ports.length, 1);
      } finally {
        client.close();
      }
      process.emit("SIGTERM");
      const rep = await app.done;
      assert.equal(stopped, rep, "onStop got the report");
      assertClean(rep);
      assert.equal(app.socket, null, "socket closed");
      assert.equal(xdpAttached(v.a), false, "program detached at stop");
      assert.equal(process.listenerCount("SIGTERM"), 0, "signal handlers removed");
      app = null;
    } finally {
      await app?.stop();
      v.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a worker module without run() fails start, and nothing is left behind", async () => {
    const v = createVethPair();
    try {
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }] }), "echo.jsonc");
      await assert.rejects(
        Cnf.start({ config, worker: new URL("./index.js", import.meta.url), log: () => {}, socket: false, signals: false }),
        /exports no run\(ctx\) function/,
      );
      assert.equal(xdpAttached(v.a), false, "program detached after the failed start");
    } finally {
      v.destroy();
    }
  });

  test("lports given only to the \"main\" thread: the error says main polls nothing, nothing is left behind", async () => {
    const v = createVethPair();
    try {
      const text = JSON.stringify({
        umems: { umem0: { bufcnt: 16, bufsz: 2, rxdesc: 2, txdesc: 2 } },
        lports: { [`${v.a}:0`]: { pmd: "net_af_xdp", qid: 0, umem: "umem0" } },
        "lcore-groups": { initial: [0] },
        threads: { main: { group: "initial", lports: [`${v.a}:0`] } },
      });
      const { config } = parseConfig(text, "main-only.jsonc");
      await assert.rejects(
        Cnf.start({ config, worker, log: () => {}, socket: false, signals: false }),
        new RegExp(`thread 'main' names lports \\(${v.a}:0\\), but a thread of type "main" is the app's own thread`),
      );
      assert.equal(xdpAttached(v.a), false, "program detached after the failed start");
    } finally {
      v.destroy();
    }
  });
});
