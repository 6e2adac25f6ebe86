/**
 * l3fwd-graph on two veth pairs (root): frames injected from the far end of pair 0 are routed by longest
 * prefix, leave on the route's port with the next hop's MAC as destination, the port's MAC as source, the
 * TTL decremented and a valid IPv4 checksum (checked on the far ends, byte for byte against the expected
 * rewrite); TTL 1, unrouted and bad-checksum frames are dropped and counted where they should be; the
 * node stats equal what the ports counted; 0 frames leak. With one thread and with two (frames crossing
 * threads through the inbox), and as a process stopped by SIGTERM.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVethPair, canUseNetns, type VethPair } from "../../testing/netns.js";
import { PacketSocket } from "../../testing/packet-socket.js";
import { macOf, xdpAttached } from "../../testing/veth-traffic.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { parseConfig } from "../../config/index.js";
import { ipv4Checksum, udpFrame } from "../../wire/udp-frame.js";
import { L3fwdGraphApp } from "./app.js";

const root = canUseNetns();
const skip = root ? false : "needs root (namespaces, veth, XDP)";
const cli = new URL("../../cli/main.js", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NH_BACK = "02:00:00:00:00:99";

/** The jsonc: one af_xdp lport on each pair's `a` end, the routes, 1 or 2 threads. */
function configText(vs: VethPair[], threads: number): string {
  const rules = [
    `10.1.0.0/16,${vs[1]!.macB},1`, // to pair 1's far end
    `10.1.2.0/24,${NH_BACK},0`, // more specific: back out of port 0
    `10.0.0.0/16,${vs[0]!.macB},0`,
  ];
  return fwdConfig({ ports: vs.map((v) => ({ netdev: v.a })), threads, ...(threads > 1 ? { idleTimeout: 10, intrTimeout: 1 } : {}) })
    .replace(`"lcore-groups"`, `"options": { "l3fwd-fib-rules": ${JSON.stringify(rules)} },\n  "lcore-groups"`);
}

interface Sent { frame: Uint8Array; fate: "port1" | "back0" | "ttl" | "noroute" | "bad" }

/** The frames pair 0's far end sends: seq i in the payload; their expected fate. */
function traffic(v0: VethPair): Sent[] {
  const out: Sent[] = [];
  const mk = (i: number, dstIp: string, ttl: number) => udpFrame({ dst: v0.macA, src: v0.macB, seq: i, srcIp: "10.0.0.9", dstIp, ttl, size: 64 + (i % 4) * 150 });
  for (let i = 0; i < 400; i++) {
    const k = i % 8;
    if (k < 4) out.push({ frame: mk(i, `10.1.${(i >> 3) % 2 === 0 ? 7 : 200}.${i & 0xff}`, 64 - k), fate: "port1" });
    else if (k === 4) out.push({ frame: mk(i, `10.1.2.${i & 0xff}`, 2), fate: "back0" });
    else if (k === 5) out.push({ frame: mk(i, "10.1.9.9", 1), fate: "ttl" });
    else if (k === 6) out.push({ frame: mk(i, "192.168.7.1", 64), fate: "noroute" });
    else {
      const f = mk(i, "10.1.9.9", 64);
      f[25] = f[25]! ^ 0x01;
      out.push({ frame: f, fate: "bad" });
    }
  }
  return out;
}

function expectedRewrite(sent: Uint8Array, dstMac: string, srcMac: string): Uint8Array {
  const w = Uint8Array.from(sent);
  w.set(dstMac.split(":").map((x) => parseInt(x, 16)), 0);
  w.set(srcMac.split(":").map((x) => parseInt(x, 16)), 6);
  w[22] = w[22]! - 1;
  w[24] = 0; w[25] = 0;
  const s = ipv4Checksum(w, 14);
  w[24] = s >> 8; w[25] = s & 0xff;
  return w;
}

const seqOf = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getUint32(42);

/** Sends every frame from pair 0's far end (paced) and collects what pair 1's far end and pair 0's far end (for NH_BACK) get. */
async function run(vs: VethPair[], frames: Sent[]): Promise<{ at1: Map<number, Uint8Array>; back0: Map<number, Uint8Array> }> {
  const s0 = PacketSocket.open(vs[0]!.b, vs[0]!.ns);
  const s1 = PacketSocket.open(vs[1]!.b, vs[1]!.ns);
  const at1 = new Map<number, Uint8Array>();
  const back0 = new Map<number, Uint8Array>();
  const want1 = frames.filter((f) => f.fate === "port1").length;
  const wantBack = frames.filter((f) => f.fate === "back0").length;
  try {
    const drain = () => {
      let f;
      while ((f = s1.recv()) !== null) if (macOf(f, 6) === vs[1]!.macA) at1.set(seqOf(f), f);
      while ((f = s0.recv()) !== null) if (macOf(f, 0) === NH_BACK) back0.set(seqOf(f), f);
    };
    for (let i = 0; i < frames.length; i++) {
      while (!s0.send(frames[i]!.frame)) await sleep(1);
      if ((i & 15) === 15) { await sleep(2); drain(); }
    }
    const t0 = Date.now();
    while ((at1.size < want1 || back0.size < wantBack) && Date.now() - t0 < 5000) {
      drain();
      s1.wait(10);
    }
    drain();
    return { at1, back0 };
  } finally {
    s0.close();
    s1.close();
  }
}

describe("xdplane l3fwd-graph on two veth pairs", { skip }, () => {
  for (const threads of [1, 2]) {
    test(`routes by prefix, rewrites MACs and TTL with a valid checksum, drops TTL 1, unrouted and bad headers; stats = port counts (${threads} thread${threads > 1 ? "s" : ""})`, async () => {
      const vs = [createVethPair(), createVethPair()];
      let app: L3fwdGraphApp | null = null;
      try {
        const { config } = parseConfig(configText(vs, threads), "l3g.jsonc");
        app = await L3fwdGraphApp.start({ config, debugFrames: true, socket: false, log: () => {} });
        const frames = traffic(vs[0]!);
        const { at1, back0 } = await run(vs, frames);
        const p0 = app.ports[0]!;
        const p1 = app.ports[1]!;
        const deadline = Date.now() + 3000;
        while (p0.stats[0]! < frames.length && Date.now() < deadline) await sleep(20);
        let n1 = 0, nb = 0;
        frames.forEach((s, i) => {
          if (s.fate === "port1") {
            n1++;
            const got = at1.get(i);
            assert.ok(got, `frame ${i} (to ${s.frame.slice(30, 34).join(".")}) left on port 1`);
            assert.deepEqual(got, expectedRewrite(s.frame, vs[1]!.macB, vs[1]!.macA), `frame ${i}: MACs, TTL and checksum rewritten, nothing else`);
            assert.equal(ipv4Checksum(got, 14), 0, `frame ${i}: the checksum is valid on the far end`);
          } else if (s.fate === "back0") {
            nb++;
            assert.deepEqual(back0.get(i), expectedRewrite(s.frame, NH_BACK, vs[0]!.macA), `frame ${i}: the /24 beat the /16, back out of port 0`);
          } else {
            assert.equal(at1.get(i) ?? back0.get(i), undefined, `frame ${i} (${s.fate}) was dropped`);
          }
        });
        assert.equal(at1.size, n1, "nothing else left on port 1");
        assert.equal(back0.size, nb);
        // Stop first: every thread has published its figures.
        const report = await app.stop();
        assert.deepEqual(report.faults, []);
        assert.equal(report.leakedFrames, 0, "no frame leaked");
        assert.equal(report.doubleFrees, 0);
        assert.equal(report.badKernelReturns, 0);
        assert.equal(report.txRejected, 0);
        const count = (fate: Sent["fate"]) => frames.filter((f) => f.fate === fate).length;
        const tot = new Map(app.graphStats().total.nodes.map((n) => [n.name, n]));
        assert.equal(p0.stats[0], frames.length, "port 0 received every frame");
        assert.equal(tot.get("pktdev_rx-0")!.objs, p0.stats[0], "rx node objects = port 0 ipackets");
        assert.equal(tot.get("pktdev_rx-1")!.objs, p1.stats[0], "rx node objects = port 1 ipackets (0)");
        assert.equal(p1.stats[0], 0);
        assert.deepEqual(tot.get("ip4_lookup")!.counters, { bad_header: count("bad"), no_route: count("noroute") });
        assert.deepEqual(tot.get("ip4_rewrite")!.counters, { ttl_expired: count("ttl"), no_next_hop: 0 });
        assert.equal(tot.get("pkt_cls")!.next["pkt_drop"], 0);
        assert.equal(p1.stats[2], count("port1"), "port 1 sent every frame routed to it");
        assert.equal(p0.stats[2], count("back0"));
        // What pktdev_tx nodes sent equals what the ports sent (and handed over, with two threads).
        // Port p is sent on by its owner's pktdev_tx-p node (thread p with two threads).
        const per = app.graphStats().threads;
        const sentBy = (pid: number) => {
          const n = per[threads === 1 ? 0 : pid]!.nodes.find((x) => x.name === `pktdev_tx-${pid}`)!;
          return n.objs - n.next["pkt_drop"]!;
        };
        assert.equal(sentBy(1), p1.stats[2]);
        assert.equal(sentBy(0), p0.stats[2]);
        if (threads === 2) {
          assert.equal(tot.get("inbox-1")!.objs, count("port1"), "frames for port 1 crossed to thread 1 through its inbox");
          assert.equal(report.inboxLeftovers, 0);
        }
        assert.equal(tot.get("pkt_drop")!.objs, count("ttl") + count("noroute") + count("bad"), "drops = what was not sent");
        assert.equal(p0.stats[2]! + p1.stats[2]! + tot.get("pkt_drop")!.objs, p0.stats[0]! + p1.stats[0]!, "objects in = out + drops");
        app = null;
      } finally {
        await app?.stop();
        for (const v of vs) v.destroy();
      }
    });
  }

  test("as a process: SIGTERM exits 0 with a summary of 0 leaked frames and the graph stats; no XDP program left", async () => {
    const vs = [createVethPair(), createVethPair()];
    const dir = mkdtempSync(join(tmpdir(), "l3g-"));
    let child: ChildProcess | null = null;
    try {
      const cfg = join(dir, "l3g.jsonc");
      writeFileSync(cfg, configText(vs, 1));
      child = spawn(process.execPath, [cli, "l3fwd-graph", "-c", cfg, "--debug-frames", "--json", "--interval", "200", "--socket-dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      const deadline = Date.now() + 15000;
      while (!out.includes('"type":"stats"') && Date.now() < deadline) await sleep(50);
      assert.ok(out.includes('"type":"stats"'), `the router started: ${err}`);
      assert.equal(xdpAttached(vs[0]!.a), true);
      const frames = traffic(vs[0]!).slice(0, 80);
      const { at1 } = await run(vs, frames);
      assert.equal(at1.size, frames.filter((f) => f.fate === "port1").length);
      const exit = new Promise<number | null>((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      assert.equal(await exit, 0, `exit code (stderr: ${err})`);
      const summary = JSON.parse(out.trim().split("\n").find((l) => l.includes('"type":"summary"'))!) as {
        leakedFrames: number; doubleFrees: number; ports: { ipackets: number }[]; graph: { nodes: { name: string; objs: number }[] };
      };
      assert.equal(summary.leakedFrames, 0);
      assert.equal(summary.doubleFrees, 0);
      assert.equal(summary.ports[0]!.ipackets, frames.length);
      assert.equal(summary.graph.nodes.find((n) => n.name === "pktdev_rx-0")!.objs, frames.length);
      assert.equal(xdpAttached(vs[0]!.a), false, "no XDP program left on the netdev");
    } finally {
      child?.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      for (const v of vs) v.destroy();
    }
  });
});
