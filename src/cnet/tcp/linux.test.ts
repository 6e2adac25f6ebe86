/**
 * TCP against a real Linux peer (root): the stack runs in this thread on an af_xdp lport at one end of a
 * veth pair (its namespace's addresses learned over rtnetlink), Linux at the other end in another
 * namespace. The test drives the stack directly (an echo service written against the channel API):
 * - `socat` connects from Linux and sends 100 MB; the echo comes back byte-exact (sha256 both ways);
 *   Linux's /proc/net/snmp in the peer's namespace shows no checksum errors and no resets;
 * - the same under `tc netem` on the Linux side (loss 1%, reorder 25% 50%, duplicate 1%); a kernel
 *   without netem (this VM's) gets the same from iptables on the Linux side (1% loss each way, 1%
 *   duplication towards the stack) and reordering on the stack's receive side (25% held 1-4 walks);
 * - the stack connects to a Linux echo listener (`socat TCP-LISTEN ... EXEC:cat`) and moves 100 MB
 *   through it byte-exact;
 * - every frame is back in the pool at the end (the port set's report).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns, nsExec } from "../../testing/netns.js";
import { createCnetPair, type CnetPair } from "../../testing/cnet-peer.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { parseConfig } from "../../config/index.js";
import { PortSet } from "../../cnf/ports.js";
import { parseIp4, parseMac } from "../../lookup/addr.js";
import { NetTables } from "../tables.js";
import { ArpTable } from "../arp-table.js";
import { CnetCounters, type CounterName } from "../counters.js";
import { LinuxLearner, NeighbourFeed } from "../learn.js";
import { CnetStack } from "../stack.js";
import type { Chnl } from "../chnl.js";
import { TcpConnTable } from "./conn-table.js";
import type { Lport } from "../../pktdev/lport.js";
import type { Mempool } from "../../mem/mempool.js";

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : !have("socat") || !have("ethtool") ? "needs socat and ethtool" : false;
/** netem, when the kernel has it (CONFIG_NET_SCH_NETEM); else nftables loss/duplication and reordering in the test. */
const haveNetem = (): boolean => {
  const r = spawnSync("tc", ["qdisc", "add", "dev", "lo", "root", "netem", "delay", "0ms"]);
  if (r.status === 0) spawnSync("tc", ["qdisc", "del", "dev", "lo", "root"]);
  return r.status === 0;
};
const MB100 = 100 << 20;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i += 4) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    b[i] = s >>> 24; b[i + 1] = s >>> 16; b[i + 2] = s >>> 8; b[i + 3] = s;
  }
  return b;
}
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
async function fileSha(path: string): Promise<{ sha: string; len: number }> {
  const h = createHash("sha256");
  let len = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    len += (chunk as Buffer).length;
  }
  return { sha: h.digest("hex"), len };
}

/** Linux's TCP counters (/proc/net/snmp) in namespace `ns`. */
function snmp(ns: string): Record<string, number> {
  const lines = nsExec(ns, "cat", "/proc/net/snmp").split("\n").filter((l) => l.startsWith("Tcp:"));
  const keys = lines[0]!.split(/\s+/).slice(1);
  const vals = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, vals[i]!]));
}

interface Rig {
  v: CnetPair;
  stack: CnetStack;
  ch: Chnl;
  counters: CnetCounters;
  table: TcpConnTable;
  /** Runs the stack (and `each` between walks) until `done()`, yielding to the event loop now and then. */
  run(done: () => boolean, each: () => void, ms: number, what: string): Promise<void>;
  close(): { leaked: number };
}

/**
 * The lport as the stack sees it; with `reorder`, a fraction of received frames is held back 1 to 4
 * walks (netem's reordering, which this kernel lacks, done on the stack's receive side).
 */
function reordering(real: Lport, mp: Mempool, reorder: number): { port: Lport; flush(): void; yielding(): void } {
  if (reorder === 0) return { port: real, flush: () => {}, yielding: () => {} };
  const heldH = new Uint32Array(4096);
  const heldT = new Int32Array(4096);
  let n = 0;
  let walk = 0;
  let seed = 777;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) / 16777216;
  };
  const port = Object.create(real) as Lport;
  port.txBurst = (objs: Uint32Array, k: number) => real.txBurst(objs, k);
  port.rxBurst = (objs: Uint32Array, max: number) => {
    walk++;
    // Due frames first (they were sent earlier), then what arrived now, some of it held back.
    let out = 0;
    let w = 0;
    for (let i = 0; i < n; i++) {
      if (heldT[i]! <= walk && out < max) objs[out++] = heldH[i]!;
      else {
        heldH[w] = heldH[i]!;
        heldT[w++] = heldT[i]!;
      }
    }
    n = w;
    const got = real.rxBurst(objs.subarray(out), max - out);
    let k = out;
    for (let i = out; i < out + got; i++) {
      const h = objs[i]!;
      if (n < heldH.length && rnd() < reorder) {
        heldH[n] = h;
        heldT[n++] = walk + 1 + Math.floor(rnd() * 4);
      } else objs[k++] = h;
    }
    return k;
  };
  return {
    port,
    flush: () => { for (let i = 0; i < n; i++) mp.free(heldH[i]!); n = 0; },
    // Before the test yields to the event loop (which may take a millisecond or more): what is held is
    // due at the next walk, so a reordered frame is late by walks, not by milliseconds of Linux's clock.
    yielding: () => { for (let i = 0; i < n; i++) heldT[i] = walk; },
  };
}

function rig(v: CnetPair, us: string, reorder = 0): Rig {
  const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }], idleTimeout: 10, intrTimeout: 50 }), "cnet.jsonc");
  const set = PortSet.build(config, { netns: v.nsA, log: () => {} });
  let learner: LinuxLearner | null = null;
  try {
    const mp0 = set.pools.get("umem0")!;
    const ro = reordering(set.ports[0]!, mp0, reorder);
    const port = ro.port;
    const mp = set.pools.get("umem0")!;
    const tables = NetTables.create();
    const feed = NeighbourFeed.create();
    const stackPorts = [{ pid: port.pid, ifindex: v.ifindexA, mac: parseMac(port.macAddr()) }];
    learner = LinuxLearner.open({ tables, feeds: [feed], interfaces: stackPorts.map((s) => ({ ...s, mtu: 1500 })), netns: v.nsA, log: () => {} });
    const counters = CnetCounters.create();
    const clock = Float64Array.of(Date.now());
    const table = TcpConnTable.create(64);
    const stack = CnetStack.create({
      ports: [port], mempool: mp, burst: 64, tables, arp: ArpTable.create(), counters, stackPorts, clock, feed, tcpTable: table,
      timers: { gratuitous: false }, ipv6: false,
    });
    assert.ok(tables.localIfindex(parseIp4(us)) !== 0, "the stack's address learned");
    const l = learner;
    let lastPoll = 0;
    return {
      v, stack, ch: stack.chnl, counters, table,
      async run(done, each, ms, what) {
        const end = Date.now() + ms;
        while (!done()) {
          const now = Date.now();
          if (now > end) throw new Error(`timed out after ${ms} ms: ${what}`);
          if (now - lastPoll > 100) {
            l.poll();
            lastPoll = now;
          }
          for (let i = 0; i < 64; i++) {
            clock[0] = Date.now();
            stack.walk();
            each();
          }
          ro.yielding();
          await new Promise((r) => setImmediate(r));
        }
      },
      close() {
        stack.close();
        ro.flush();
        l.close();
        const report = set.close();
        return { leaked: report.leakedFrames };
      },
    };
  } catch (e) {
    learner?.close();
    set.close();
    throw e;
  }
}

/** An echo service on `port` written against the channel API (polled between walks). */
function echoService(ch: Chnl, port: number): { step(): void; served: number; open: number; close(): void } {
  const lcd = ch.open("tcp");
  ch.bind(lcd, 0, port);
  ch.listen(lcd, 16);
  const conns = new Map<number, { buf: Uint8Array; head: number; tail: number; eof: boolean; shut: boolean }>();
  const svc = {
    served: 0,
    open: 0,
    step() {
      for (let cd; (cd = ch.accept(lcd)) >= 0;) {
        conns.set(cd, { buf: new Uint8Array(1 << 20), head: 0, tail: 0, eof: false, shut: false });
        svc.open++;
      }
      for (const [cd, c] of conns) {
        if (c.tail > c.head) c.head += ch.send(cd, c.buf, c.head, c.tail - c.head);
        if (c.head === c.tail) c.head = c.tail = 0;
        if (!c.eof && c.tail < c.buf.length) {
          const k = ch.recv(cd, c.buf, c.tail, c.buf.length - c.tail);
          if (k < 0) c.eof = true;
          else c.tail += k;
          if (k > 0) c.head += ch.send(cd, c.buf, c.head, c.tail - c.head);
        }
        if (c.eof && c.head === c.tail && !c.shut) {
          ch.shutdown(cd);
          c.shut = true;
        }
        const st = ch.tcpState(cd);
        if (c.shut && (st === "CLOSED" || st === "TIME_WAIT")) {
          ch.close(cd);
          conns.delete(cd);
          svc.served++;
          svc.open--;
        }
      }
    },
    close() {
      for (const cd of conns.keys()) ch.abort(cd);
      ch.close(lcd);
    },
  };
  return svc;
}

function exited(p: ChildProcess): Promise<number> {
  return new Promise((r) => {
    if (p.exitCode !== null) r(p.exitCode);
    else p.on("exit", (code) => r(code ?? -1));
  });
}

function setup(net: string): { v: CnetPair; us: string; peer: string } {
  const v = createCnetPair();
  try {
    const us = `${net}.1`;
    const peer = `${net}.2`;
    nsExec(v.nsA, "ip", "addr", "add", `${us}/24`, "dev", v.a);
    nsExec(v.ns, "ip", "addr", "add", `${peer}/24`, "dev", v.b);
    // Full checksums and MTU-sized segments from the peer, as a NIC would put on the wire.
    nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off", "tso", "off", "gso", "off");
    return { v, us, peer };
  } catch (e) {
    v.destroy();
    throw e;
  }
}

async function linuxClientEcho(r: Rig, svc: ReturnType<typeof echoService>, dir: string, peerNs: string, us: string, bytes: number, seed: number, ms: number): Promise<void> {
  const inPath = join(dir, `in-${seed}`);
  const outPath = join(dir, `out-${seed}`);
  const payload = pattern(bytes, seed);
  writeFileSync(inPath, payload);
  const client = spawn("ip", ["netns", "exec", peerNs, "sh", "-c", `socat -t 60 -T 120 - TCP:${us}:7 < ${inPath} > ${outPath}`], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  client.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const code = exited(client);
  let done = false;
  void code.then(() => { done = true; });
  try {
    await r.run(() => done, () => svc.step(), ms, `socat echo of ${bytes} bytes (${err})`);
  } finally {
    if (!done) client.kill();
  }
  assert.equal(await code, 0, `socat failed: ${err}`);
  const got = await fileSha(outPath);
  assert.equal(got.len, bytes, "echoed length");
  assert.equal(got.sha, sha(payload), "echoed byte for byte");
  rmSync(inPath);
  rmSync(outPath);
}

const pick = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).filter(([k, v]) => k.startsWith("tcp_") && v !== 0));

describe("cnet TCP against a Linux peer", { skip }, () => {
  test("Linux socat to the stack's echo: 100 MB each way byte-exact; no checksum errors or resets at Linux; no frame leaked", async () => {
    const { v, us } = setup("10.221.0");
    const dir = mkdtempSync(join(tmpdir(), "cnet-tcp-"));
    let r: Rig | null = null;
    try {
      r = rig(v, us);
      const svc = echoService(r.ch, 7);
      const before = snmp(v.ns);
      await linuxClientEcho(r, svc, dir, v.ns, us, MB100, 1, 240_000);
      await r.run(() => svc.open === 0, () => svc.step(), 10_000, "the echo connection closed");
      const after = snmp(v.ns);
      const c = r.counters.read() as Record<CounterName, number>;
      assert.equal(after.ActiveOpens! - before.ActiveOpens!, 1, "Linux opened one connection");
      assert.equal(after.InCsumErrors! - before.InCsumErrors!, 0, "Linux saw no bad checksum from the stack");
      assert.equal(after.InErrs! - before.InErrs!, 0);
      assert.equal(after.EstabResets! - before.EstabResets!, 0, "no reset");
      assert.equal(after.OutRsts! - before.OutRsts!, 0);
      assert.equal(c.tcp_drop_cksum, 0, "no bad checksum from Linux");
      assert.equal(c.tcp_rst_in + c.tcp_rst_out, 0);
      assert.equal(c.tcp_passive_opens, 1);
      assert.equal(svc.served, 1);
      svc.close();
      console.log(JSON.stringify({ stack: pick(c), linux: { RetransSegs: after.RetransSegs! - before.RetransSegs!, InSegs: after.InSegs! - before.InSegs!, OutSegs: after.OutSegs! - before.OutSegs! } }));
      const rep = r.close();
      r = null;
      assert.equal(rep.leaked, 0, "frames leaked");
    } finally {
      r?.close();
      rmSync(dir, { recursive: true, force: true });
      v.destroy();
    }
  });

  test("under loss, reordering and duplication (netem on the Linux side, or iptables + reordering at the stack's receive): 100 MB each way byte-exact", async () => {
    const { v, us } = setup("10.222.0");
    const dir = mkdtempSync(join(tmpdir(), "cnet-tcp-"));
    let r: Rig | null = null;
    try {
      const netem = haveNetem();
      if (netem) nsExec(v.ns, "tc", "qdisc", "add", "dev", v.b, "root", "netem", "delay", "1ms", "loss", "1%", "reorder", "25%", "50%", "duplicate", "1%");
      else {
        // This kernel has no netem: Linux drops 1% each way and duplicates 1% towards the stack (iptables statistic, TEE),
        // the stack's receive side holds 25% of frames back 1-4 walks (reordering).
        const ipt = (...a: string[]) => nsExec(v.ns, "iptables", ...a);
        ipt("-A", "OUTPUT", "-d", us, "-m", "statistic", "--mode", "random", "--probability", "0.01", "-j", "DROP");
        ipt("-A", "OUTPUT", "-d", us, "-m", "statistic", "--mode", "random", "--probability", "0.01", "-j", "TEE", "--gateway", us);
        ipt("-A", "INPUT", "-s", us, "-m", "statistic", "--mode", "random", "--probability", "0.01", "-j", "DROP");
      }
      r = rig(v, us, netem ? 0 : 0.25);
      const svc = echoService(r.ch, 7);
      const before = snmp(v.ns);
      await linuxClientEcho(r, svc, dir, v.ns, us, MB100, 2, 480_000);
      await r.run(() => svc.open === 0, () => svc.step(), 20_000, "the echo connection closed");
      const after = snmp(v.ns);
      const c = r.counters.read() as Record<CounterName, number>;
      let rules = "";
      if (!netem) {
        rules = nsExec(v.ns, "iptables", "-L", "-v", "-n", "-x");
        const hits = rules.split("\n").filter((l) => /statistic/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
        assert.equal(hits.length, 3);
        assert.ok(hits.every((h) => h > 0), `every impairment fired: ${hits.join(", ")}`);
      }
      console.log(JSON.stringify({ netem, stack: pick(c), linux: { RetransSegs: after.RetransSegs! - before.RetransSegs!, InSegs: after.InSegs! - before.InSegs! } }));
      assert.ok(c.tcp_ooo_segs > 0 && c.tcp_rx_dup > 0, "the stack saw reordering and duplicates");
      assert.ok(c.tcp_retransmits > 0, "the stack retransmitted what was dropped");
      assert.ok(after.RetransSegs! - before.RetransSegs! > 0, "Linux retransmitted what was dropped");
      assert.equal(after.InCsumErrors! - before.InCsumErrors!, 0);
      assert.equal(after.EstabResets! - before.EstabResets!, 0);
      // (a duplicate of Linux's last ACK arriving after the connection is gone is answered with a RST)
      assert.equal(c.tcp_estab_resets + c.tcp_rst_in, 0, "no connection reset");
      svc.close();
      const rep = r.close();
      r = null;
      assert.equal(rep.leaked, 0, "frames leaked");
    } finally {
      r?.close();
      rmSync(dir, { recursive: true, force: true });
      v.destroy();
    }
  });

  test("the stack connects to a Linux echo listener and moves 100 MB through it byte-exact", async () => {
    const { v, us, peer } = setup("10.223.0");
    let r: Rig | null = null;
    let server: ChildProcess | null = null;
    try {
      server = spawn("ip", ["netns", "exec", v.ns, "socat", "TCP-LISTEN:9000,reuseaddr", "EXEC:cat"], { stdio: "ignore" });
      for (let i = 0; i < 100 && !/:2328 /.test(nsExec(v.ns, "cat", "/proc/net/tcp")); i++) await new Promise((res) => setTimeout(res, 20));
      r = rig(v, us);
      const ch = r.ch;
      const before = snmp(v.ns);
      const cd = ch.open("tcp");
      ch.connect(cd, parseIp4(peer), 9000);
      const out = pattern(MB100, 3);
      const back = new Uint8Array(MB100 + 1);
      let sent = 0;
      let got = 0;
      let eof = false;
      let shut = false;
      await r.run(() => eof, () => {
        if (ch.tcpState(cd) === "SYN_SENT") return;
        if (sent < out.length) sent += ch.send(cd, out, sent, Math.min(1 << 20, out.length - sent));
        else if (!shut) {
          ch.shutdown(cd);
          shut = true;
        }
        for (let k; !eof && (k = ch.recv(cd, back, got, back.length - got)) !== 0;) {
          if (k < 0) eof = true;
          else got += k;
        }
      }, 240_000, "100 MB through Linux's echo");
      assert.equal(got, MB100);
      assert.equal(sha(back.subarray(0, got)), sha(out), "byte for byte");
      const after = snmp(v.ns);
      assert.equal(after.PassiveOpens! - before.PassiveOpens!, 1, "Linux accepted one connection");
      assert.equal(after.InCsumErrors! - before.InCsumErrors!, 0);
      assert.equal(after.EstabResets! - before.EstabResets!, 0);
      const c = r.counters.read();
      assert.equal(c.tcp_active_opens, 1);
      assert.equal(c.tcp_established, 1);
      await r.run(() => ch.tcpState(cd) === "TIME_WAIT", () => {}, 5000, "TIME_WAIT (we closed first)");
      const t0 = Date.now();
      await r.run(() => Date.now() - t0 > 400, () => {}, 5000, "a table snapshot");
      const row = r.table.list().find((e) => e.remotePort === 9000);
      assert.ok(row, "the connection table lists the connection");
      assert.equal(row.state, "TIME_WAIT");
      assert.equal(row.bytesOut, MB100, "bytes acknowledged by Linux");
      assert.equal(row.bytesIn, MB100);
      ch.close(cd);
      const rep = r.close();
      r = null;
      assert.equal(rep.leaked, 0, "frames leaked");
    } finally {
      r?.close();
      server?.kill();
      v.destroy();
    }
  });
});
