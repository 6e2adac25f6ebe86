/**
 * The CLI's stop summary: port figures and the mode's per-port counters are read once the threads have
 * stopped, so they agree exactly (before, the port figures were read while the threads still ran).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = new URL("../../cli/main.js", import.meta.url).pathname;

test("fwd l3fwd over null ports: every frame received is counted by exactly one mode counter", () => {
  const dir = mkdtempSync(join(tmpdir(), "xdplane-summary-"));
  try {
    const cfg = join(dir, "fwd.jsonc");
    writeFileSync(cfg, JSON.stringify({
      application: { name: "fwd" },
      defaults: { bufcnt: 16, bufsz: 2, rxdesc: 2, txdesc: 2 },
      umems: { umem0: { bufcnt: 16, bufsz: 2, rxdesc: 2, txdesc: 2 } },
      lports: { "n0:0": { pmd: "net_null", qid: 0, umem: "umem0" }, "n1:0": { pmd: "net_null", qid: 0, umem: "umem0" } },
      "lcore-groups": { initial: [0], group0: [0] },
      threads: { main: { group: "initial" }, "fwd:0": { group: "group0", lports: ["n0:0", "n1:0"] } },
      options: { mode: "l3fwd", "l3fwd-fib-rules": ["198.18.0.0/24,02:00:00:00:00:01,0"] },
    }));
    const r = spawnSync(process.execPath, [MAIN, "fwd", "-c", cfg, "--duration", "1", "--interval", "0", "--no-socket", "--json", "--debug-frames"], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const line = r.stdout.split("\n").find((l) => l.includes('"type":"summary"'));
    assert.ok(line, `no summary in: ${r.stdout}`);
    const s = JSON.parse(line) as { ports: { name: string; ipackets: number }[]; modeCounters: Record<string, Record<string, number>>; leakedFrames: number; doubleFrees: number };
    assert.equal(s.ports.length, 2);
    for (const p of s.ports) {
      const mc = s.modeCounters[p.name]!;
      const counted = Object.values(mc).reduce((a, b) => a + b, 0);
      assert.ok(p.ipackets > 0, `${p.name} received nothing`);
      // net_null frames are not IPv4: all of them are invalid, none routed, dropped for a route or a TTL.
      assert.equal(counted, p.ipackets, `${p.name}: mode counters ${JSON.stringify(mc)} vs rx ${p.ipackets}`);
    }
    assert.equal(s.leakedFrames, 0);
    assert.equal(s.doubleFrees, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
