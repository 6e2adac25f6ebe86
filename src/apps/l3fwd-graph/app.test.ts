/**
 * l3fwd-graph without root: routes from the config (errors name the rule and where), the plan (inboxes
 * only with several threads, every lport served), `--dot` exactly, and the whole app over net_null ports
 * on two threads: the graph stats read on the main thread and over the app socket add up to what the
 * ports counted, frames handed between threads included, and no frame leaks.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../config/index.js";
import { AppClient } from "../../telemetry/app-client.js";
import { udpFrame } from "../../wire/udp-frame.js";
import { routesFromConfig } from "./routes.js";
import { l3fwdPlan } from "./plan.js";
import { L3fwdGraphApp, l3fwdGraphDot } from "./app.js";

const cli = new URL("../../cli/main.js", import.meta.url).pathname;

function cfgText(o: { rules?: unknown; threads?: 1 | 2; lports?: string[] } = {}): string {
  const lports = o.lports ?? ["null0:0", "null1:0"];
  const threads: Record<string, unknown> = { main: { group: "initial" } };
  if ((o.threads ?? 1) === 1) threads["fwd:0"] = { group: "g0", lports };
  else lports.forEach((l, i) => (threads[`fwd:${i}`] = { group: `g${i}`, lports: [l] }));
  return `{
  "application": { "name": "l3g-test" },
  "umems": { "umem0": { "bufcnt": 16, "bufsz": 2, "rxdesc": 2, "txdesc": 2 } },
  "lports": {
${lports.map((l) => `    "${l}": { "pmd": "net_null", "qid": 0, "umem": "umem0" }`).join(",\n")}
  },
  "lcore-groups": { "initial": [0], "g0": [0], "g1": [1] },
  "options": {${o.rules !== undefined ? `
    "l3fwd-fib-rules": ${JSON.stringify(o.rules)}
  ` : ""}},
  "threads": ${JSON.stringify(threads)}
}`;
}
const config = (o: Parameters<typeof cfgText>[0] = {}) => parseConfig(cfgText(o), "l3g.jsonc", { cpuCheck: "off", memoryCheck: "off", netdevCheck: "off" }).config;

describe("l3fwd-graph routes and plan", () => {
  test("rules become FIB routes; rules with the same next hop share it", () => {
    const r = routesFromConfig(config({ rules: ["198.18.0.0/24,02:00:00:00:00:01,0", "10.0.0.0/8, 02:00:00:00:00:02 ,1", "10.1.0.0/16,02:00:00:00:00:01,0"] }));
    assert.equal(r.builtIn, false);
    assert.deepEqual(r.routes.map((x) => [x.ip, x.depth, x.port, x.nextHop]), [[0xc6120000, 24, 0, 0], [0x0a000000, 8, 1, 1], [0x0a010000, 16, 0, 0]]);
    assert.deepEqual(r.nextHops.map((h) => [[...h.mac], h.port]), [[[2, 0, 0, 0, 0, 1], 0], [[2, 0, 0, 0, 0, 2], 1]]);
  });

  test("without the option: CNDP's built-in routes 198.18.<i>.0/24 -> lport i", () => {
    const r = routesFromConfig(config());
    assert.equal(r.builtIn, true);
    assert.deepEqual(r.routes.map((x) => x.text), ["198.18.0.0/24,02:00:00:00:00:00,0", "198.18.1.0/24,02:00:00:00:00:01,1"]);
  });

  test("bad rules name the rule and where it is", () => {
    assert.throws(() => routesFromConfig(config({ rules: ["198.18.0.0/24,02:00:00:00:00:01,0", "198.18.0.0/33,02:00:00:00:00:01,0"] })),
      /l3g\.jsonc:\d+:\d+: options\.l3fwd-fib-rules\[1\]: Invalid FIB rule '198\.18\.0\.0\/33,02:00:00:00:00:01,0': prefix/);
    assert.throws(() => routesFromConfig(config({ rules: ["198.18.0.0/24,02:00:00:00:00:01,2"] })),
      /\[0\]: FIB rule '198\.18\.0\.0\/24,02:00:00:00:00:01,2': tx lport 2 does not exist \(the config has 2 lports: 0 to 1\)/);
    assert.throws(() => routesFromConfig(config({ rules: ["10.0.0.0/8,02:00:00:00:00:01,0", "10.9.9.9/8,02:00:00:00:00:02,1"] })),
      /\[1\]: FIB rule '10\.9\.9\.9\/8,02:00:00:00:00:02,1': prefix 10\.0\.0\.0\/8 is already routed by rule 0 \('10\.0\.0\.0\/8,02:00:00:00:00:01,0'\)/);
    assert.throws(() => routesFromConfig(config({ rules: "10.0.0.0/8,02:00:00:00:00:01,0" })), /options\.l3fwd-fib-rules: expected an array of rules/);
  });

  test("plan: one graph per thread; inboxes only with several threads; every lport must be served", () => {
    assert.deepEqual(l3fwdPlan(config()), [{ name: "fwd:0", rx: [0, 1], tx: [0, 1], inbox: [] }]);
    assert.deepEqual(l3fwdPlan(config({ threads: 2 })), [{ name: "fwd:0", rx: [0], tx: [0, 1], inbox: [0] }, { name: "fwd:1", rx: [1], tx: [0, 1], inbox: [1] }]);
    const unserved = parseConfig(cfgText().replace(`"lports":["null0:0","null1:0"]`, `"lports":["null0:0"]`), "l3g.jsonc", { cpuCheck: "off", memoryCheck: "off", netdevCheck: "off" }).config;
    assert.throws(() => l3fwdPlan(unserved), /lport 'null1:0' \(index 1\) is served by no thread/);
  });

  test("--dot prints each thread's graph and exits 0, opening no port", () => {
    const dir = mkdtempSync(join(tmpdir(), "l3g-dot-"));
    try {
      const f = join(dir, "c.jsonc");
      writeFileSync(f, cfgText());
      const out = execFileSync(process.execPath, [cli, "l3fwd-graph", "-c", f, "--dot"], { encoding: "utf8" });
      assert.equal(out, `digraph "fwd:0" {
\trankdir=LR;
\t"pktdev_rx-0" [shape=box, color=blue];
\t"pktdev_rx-1" [shape=box, color=blue];
\t"pktdev_rx-0" -> "pkt_cls" [color=blue];
\t"pktdev_rx-1" -> "pkt_cls" [color=blue];
\t"pkt_cls" -> "pkt_drop";
\t"pkt_cls" -> "ip4_lookup";
\t"ip4_lookup" -> "ip4_rewrite";
\t"ip4_lookup" -> "pkt_drop";
\t"ip4_rewrite" -> "pkt_drop";
\t"ip4_rewrite" -> "pktdev_tx-0";
\t"ip4_rewrite" -> "pktdev_tx-1";
\t"pktdev_tx-0" -> "pkt_drop";
\t"pktdev_tx-1" -> "pkt_drop";
}
`);
      assert.equal(out, l3fwdGraphDot(config()));
      writeFileSync(f, cfgText({ rules: ["1.2.3.4/40,02:00:00:00:00:01,0"] }));
      assert.throws(() => execFileSync(process.execPath, [cli, "l3fwd-graph", "-c", f, "--dot"], { encoding: "utf8", stdio: "pipe" }), /Invalid FIB rule '1\.2\.3\.4\/40/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("l3fwd-graph over null ports (no root)", () => {
  test("two threads: stats over the app socket and on the main thread add up to the ports' counts; no frame leaks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "l3g-app-"));
    let app: L3fwdGraphApp | null = null;
    try {
      app = await L3fwdGraphApp.start({
        config: config({ threads: 2, rules: ["198.18.0.0/24,02:00:00:00:00:aa,0", "198.18.1.0/24,02:00:00:00:00:bb,1"] }),
        debugFrames: true, socket: { socketDir: dir }, log: () => {},
      });
      // Null ports receive whatever their frames hold: make every frame of the UMEM a 64-byte IPv4 frame,
      // routed to port 0 or 1 (so half cross to the other thread), with TTLs that expire at some point.
      const pool = [...app.framework!.pools.values()][0]!;
      const u = pool.umem;
      for (let h = 0; h < u.frames; h++) {
        const f = udpFrame({ dstIp: `198.18.${h & 1}.7`, ttl: 2 + (h % 200), size: 64 });
        u.u8.set(f, h * u.frameSize + u.headroom);
      }
      const deadline = Date.now() + 20000;
      while (app.ports.reduce((a, p) => a + p.stats[0]!, 0) < 200_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const client = await AppClient.connect(app.socket!.path, { timeoutMs: 5000 });
      let live: Record<string, unknown>;
      let dots: Record<string, unknown>;
      try {
        live = await client.request("/graph/stats");
        dots = await client.request("/graph/dot");
        const one = await client.request("/graph/stats", ["fwd:1"]);
        assert.equal(one["name"], "fwd:1");
        assert.match(String((await client.request("/graph/dot", ["nope"]))["error"]), /unknown thread 'nope' \(threads: fwd:0, fwd:1\)/);
      } finally {
        client.close();
      }
      assert.deepEqual(dots["graphs"], { "fwd:0": app.dot("fwd:0"), "fwd:1": app.dot("fwd:1") });
      const liveNodes = live["nodes"] as { name: string; objs: number; calls: number; timeNs: number }[];
      assert.ok(liveNodes.find((n) => n.name === "ip4_rewrite")!.objs > 0, "frames were routed");
      assert.ok(liveNodes.find((n) => n.name === "ip4_lookup")!.timeNs > 0, "time is collected");
      const report = await app.stop();
      assert.deepEqual(report.faults, []);
      assert.equal(report.leakedFrames, 0);
      assert.equal(report.doubleFrees, 0);
      const { threads, total } = app.graphStats();
      const t = threads.map((s) => new Map(s.nodes.map((n) => [n.name, n])));
      const tot = new Map(total.nodes.map((n) => [n.name, n]));
      const [p0, p1] = app.ports as [typeof app.ports[0], typeof app.ports[0]];
      assert.equal(t[0]!.get("pktdev_rx-0")!.objs, p0!.stats[0], "port 0's frames: thread 0's rx node");
      assert.equal(t[1]!.get("pktdev_rx-1")!.objs, p1!.stats[0]);
      // Each port is sent on by its owner's pktdev_tx node (null ports take everything).
      assert.equal(t[0]!.get("pktdev_tx-0")!.objs, p0!.stats[2], "port 0 sent what thread 0's pktdev_tx-0 had");
      assert.equal(t[1]!.get("pktdev_tx-1")!.objs, p1!.stats[2]);
      assert.equal(t[0]!.get("pktdev_tx-0")!.next["pkt_drop"], 0);
      // Hand-over: what thread 0 put in port 1's inbox, thread 1 drained (or the stop returned).
      const handed = t[0]!.get("pktdev_tx-1")!.objs - t[0]!.get("pktdev_tx-1")!.next["pkt_drop"]! + t[1]!.get("pktdev_tx-0")!.objs - t[1]!.get("pktdev_tx-0")!.next["pkt_drop"]!;
      assert.equal(handed, t[1]!.get("inbox-1")!.objs + t[0]!.get("inbox-0")!.objs + report.inboxLeftovers);
      assert.ok(handed > 0, "frames crossed threads");
      const rx = p0!.stats[0]! + p1!.stats[0]!;
      assert.equal(tot.get("pktdev_rx-0")!.objs + tot.get("pktdev_rx-1")!.objs, rx);
      assert.equal(p0!.stats[2]! + p1!.stats[2]! + tot.get("pkt_drop")!.objs + report.inboxLeftovers, rx, "every frame received was sent, dropped, or returned from an inbox");
      assert.ok(tot.get("ip4_rewrite")!.counters["ttl_expired"]! > 0, "TTLs expired on the way");
      const ts = app.threadStats();
      assert.deepEqual(ts.map((x) => x.rx), [p0!.stats[0], p1!.stats[0]], "thread counters = rx nodes");
      assert.deepEqual(ts.map((x) => x.tx), [p0!.stats[2], p1!.stats[2]]);
      app = null;
    } finally {
      await app?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
