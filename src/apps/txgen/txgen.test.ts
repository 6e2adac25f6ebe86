/**
 * txgen on real veth pairs between two fresh namespaces (port 0 in one, port 1 or a kernel XDP_TX
 * reflector in the other): exact counts, paced rates, range flows seen in a capture, pcap files that
 * tcpdump reads, byte-exact replay, latency figures, and the command line.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ip, nsExec, uniqueName, inNetns, canUseNetns } from "../../testing/netns.js";
import { Asm, R0, XdpAction } from "../../bpf/asm.js";
import { Program, ProgType } from "../../bpf/prog.js";
import { XdpLink } from "../../bpf/link.js";
import { startTxgen, type Txgen } from "./txgen.js";
import { Commands } from "./commands.js";
import { renderPage } from "./screen.js";
import { readPcap, writePcap } from "./pcap.js";
import { verifyChecksums } from "./packet.js";
import { applySet, defaultSettings } from "./settings.js";
import { buildFrame, DPORT_OFF, IP_SRC_OFF } from "./packet.js";
import { ETHERTYPE_IPV4, etherType } from "../../wire/ether.js";
import { C_RXTX_TID, C_TX_PACE_LOST, K_PLAN_ACK } from "./shared.js";
import { Pacer } from "./pacer.js";
import { netdevFacts } from "./netns.js";
import { NetlinkSocket } from "../../netlink/socket.js";
import { linkStats, type LinkStats } from "../../netlink/link.js";

const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two namespaces joined by a veth pair (va in g, vb in d), IPv6 off so that nothing else talks. */
function pair(): { g: string; d: string; destroy(): void } {
  const g = uniqueName("tgg");
  const d = uniqueName("tgd");
  const destroy = () => {
    for (const ns of [g, d]) try { ip("netns", "del", ns); } catch { /* gone */ }
  };
  try {
    for (const ns of [g, d]) {
      ip("netns", "add", ns);
      nsExec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
    }
    ip("link", "add", "va", "netns", g, "type", "veth", "peer", "name", "vb", "netns", d);
    ip("-n", g, "link", "set", "va", "up");
    ip("-n", d, "link", "set", "vb", "up");
    return { g, d, destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** The kernel's XDP_TX on vb: every frame goes back to va as it came. */
function reflector(ns: string): { close(): void } {
  const prog = Program.load({ type: ProgType.XDP, name: "reflect", insns: new Asm().mov64(R0, XdpAction.TX).exit() });
  try {
    const link = inNetns(ns, () => XdpLink.attach(prog, "vb", { mode: "drv" }));
    return { close: () => { link.close(); prog.close(); } };
  } catch (e) {
    prog.close();
    throw e;
  }
}

let net: ReturnType<typeof pair>;
let dir: string;
const quiet = () => {};

before(() => {
  if (skip) return;
  net = pair();
  dir = mkdtempSync(join(tmpdir(), "txgen-"));
});
after(() => {
  net?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Port 0 on va (CPU 0), port 1 on vb (CPU 1, with a deep RX ring: it must not lose frames while preempted). */
async function two(p0: string[], p1: string[] = []): Promise<Txgen> {
  return startTxgen({
    log: quiet,
    debugFrames: true,
    ports: [
      { ifname: "va", netns: net.g, cpus: [0], settings: p0 },
      { ifname: "vb", netns: net.d, cpus: [1], settings: p1, frames: 16384, rxSize: 4096 },
    ],
  });
}

test("AF_XDP engine: a count-limited run sends and delivers exactly that many", { skip }, async () => {
  const tg = await two(["count 20000", "rate 50kpps", "latency on"]);
  try {
    await tg.start([0]);
    assert.equal(await tg.waitIdle(10000), true);
    await sleep(100);
    const [s0, s1] = tg.stats();
    assert.equal(s0!.txPkts, 20000);
    assert.equal(s0!.txBytes, 20000 * 60);
    const why = () => `va ${JSON.stringify(tg.ports[0]!.lport!.readStats())} vb ${JSON.stringify(tg.ports[1]!.lport!.readStats())} ${ip("-n", net.d, "-s", "link", "show", "vb")}`;
    assert.equal(s1!.rxPkts, 20000, why());
    assert.equal(s1!.rxIp4, 20000);
    assert.equal(s0!.loss, 0, "every tagged frame arrived");
    assert.equal(s1!.reordered, 0);
    // A second run continues the sequence numbers.
    tg.set("0 count 1000");
    await tg.start([0]);
    assert.equal(await tg.waitIdle(10000), true);
    await sleep(100);
    assert.equal(tg.stats()[1]!.rxPkts, 21000);
    assert.equal(tg.stats()[1]!.reordered, 0);
    // Every frame back in its pool, none freed twice or returned by the kernel unasked.
    const rep = await tg.close();
    assert.deepEqual(rep.faults, []);
    assert.equal(rep.leakedFrames, 0);
    assert.equal(rep.doubleFrees, 0);
    assert.equal(rep.badKernelReturns, 0);
    assert.deepEqual((await tg.close()).faults, [], "a second close reports nothing");
  } finally {
    await tg.close();
  }
});

test("live-frames engine: exact counts through a kernel counter on the far end", { skip }, async () => {
  const tg = await two(["engine live", "rx off", "count 300000", "threads 2"], ["engine live", "rx count"]);
  try {
    assert.equal(tg.ports[0]!.lport, null, "live with rx off opens no socket");
    assert.notEqual(tg.ports[1]!.countProg, null);
    await tg.start([0]);
    assert.equal(await tg.waitIdle(20000), true);
    await sleep(50);
    const [s0, s1] = tg.stats();
    assert.equal(s0!.txPkts, 300000);
    assert.equal(s1!.rxPkts, 300000);
    assert.equal(s1!.rxBytes, 300000 * 60);
  } finally {
    await tg.close();
  }
});

/** Time thread `tid` of this process has spent runnable but waiting for a CPU (ms), or null when not known. */
function runDelayMs(tid: number): number | null {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
  } catch {
    return null;
  }
}

/**
 * Samples the frames a port has sent, every few ms for `ms`, checking each against the schedule started
 * at `t0`: frames released by time t never exceed rate x (t - t0) plus `slack`, whatever the load (the
 * counter is read before the clock, so a late read can only make the bound looser).
 */
async function neverAhead(tg: Txgen, pps: number, t0: number, ms: number, slack: number, what: string): Promise<number> {
  const port = tg.ports[0]!;
  let samples = 0;
  while (performance.now() < t0 + ms) {
    const sent = port.txTotals()[0];
    const t = performance.now();
    const due = (pps * (t - t0)) / 1000;
    assert.ok(sent <= due + slack, `${what}: ${sent} frames sent ${(t - t0).toFixed(2)} ms after the start, ${due.toFixed(0)} due`);
    samples++;
    await sleep(3);
  }
  return samples;
}

test("paced AF_XDP sending: never ahead of the schedule, and behind it only by time its thread waited for a CPU", { skip }, async (t) => {
  const pps = 100_000;
  const burst = 64;
  const pacer = new Pacer(); // the worker's pacer: its send slice and backlog cap
  pacer.set(pps, burst);
  const tg = await two(["rate 100kpps", `burst ${burst}`], ["rx count"]);
  try {
    const port = tg.ports[0]!;
    for (const until = performance.now() + 5000; port.c[C_RXTX_TID] === 0 && performance.now() < until;) await sleep(2);
    const tid = port.c[C_RXTX_TID]!;
    assert.ok(tid > 0, "the RX/TX thread published its tid");
    const rq0 = runDelayMs(tid);
    const t0 = performance.now();
    await tg.start([0]);
    // When the thread acknowledged the start (its schedule began before that).
    while (Atomics.load(port.ctl, K_PLAN_ACK) !== port.gen && performance.now() < t0 + 5000);
    const tAck = performance.now();
    const samples = await neverAhead(tg, pps, t0, 1200, burst, "afxdp");
    const tStop = performance.now();
    await tg.stop([0]);
    const rq1 = runDelayMs(tid);
    const sent = port.txTotals()[0];
    const lost = port.c[C_TX_PACE_LOST]!;
    assert.ok(samples > 20);
    // Not idle-limited. Since its start the pacer has released everything due but what it holds (at most
    // its backlog cap, and only for time the thread did not run) and what it gave up at the cap (only for
    // stalls, i.e. time the thread waited for a CPU).
    if (rq0 === null || rq1 === null) {
      t.diagnostic("no /proc/<pid>/task/<tid>/schedstat (CONFIG_SCHED_INFO): the lower bound was not checked");
      return;
    }
    const waitedMs = rq1 - rq0;
    const owed = (pps * (tStop - tAck)) / 1000 - sent;
    const held = Math.min(pacer.cap, (pps * waitedMs) / 1000 + pacer.minSend + burst);
    t.diagnostic(`afxdp: ${owed.toFixed(0)} frames behind after ${(tStop - tAck).toFixed(0)} ms, ${lost.toFixed(0)} given up; the thread waited ${waitedMs.toFixed(1)} ms for a CPU`);
    assert.ok(lost <= (pps * waitedMs) / 1000 + burst, `afxdp: ${lost} frames given up at the backlog cap, the thread waited only ${waitedMs.toFixed(1)} ms`);
    assert.ok(owed <= lost + held + burst, `afxdp: ${sent} sent in ${(tStop - tAck).toFixed(1)} ms, ${owed.toFixed(0)} behind the schedule, ` +
      `${lost} of them given up at the cap; the thread waited ${waitedMs.toFixed(1)} ms for a CPU, which excuses holding ${held.toFixed(0)}`);
  } finally {
    await tg.close();
  }
});

test("paced live-frames sending: never ahead of the schedule", { skip }, async () => {
  const pps = 400_000;
  const tg = await two(["engine live", "rx off", "rate 400kpps", "threads 2"], ["engine live", "rx count"]);
  try {
    const t0 = performance.now();
    await tg.start([0]);
    // Each thread sends its share only once due (whole frames), its counter after the call.
    assert.ok(await neverAhead(tg, pps, t0, 1200, 0, "live") > 20);
    await tg.stop([0]);
    assert.ok(tg.ports[0]!.txTotals()[0] > 0);
  } finally {
    await tg.close();
  }
});

/** Flows (last octet of the source IP : destination port) of the IPv4 frames in a capture. */
function flows(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of readPcap(file)) {
    if (etherType(f.data, 0) !== ETHERTYPE_IPV4) continue;
    assert.equal(verifyChecksums(f.data), null);
    const dv = new DataView(f.data.buffer, f.data.byteOffset);
    const k = `${f.data[IP_SRC_OFF + 3]}:${dv.getUint16(DPORT_OFF)}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

test("ranges produce the expected flows (captured), and tcpdump reads the capture", { skip }, async (t) => {
  const cap = join(dir, "flows.pcap");
  const capLive = join(dir, "flows-live.pcap");
  const tg = await two(["count 64", "rate 100kpps", "src ip 10.0.0.1-10.0.0.4", "dport 5000-5001"], [`capture ${cap}`]);
  try {
    await tg.start([0]);
    assert.equal(await tg.waitIdle(10000), true);
    await tg.stop();
    assert.deepEqual(Object.fromEntries(flows(cap)), { "1:5000": 16, "2:5001": 16, "3:5000": 16, "4:5001": 16 });
    // The live-frames program makes the same flows.
    tg.set("0 engine live");
    tg.set("0 dport 5000-5003:3");
    tg.set(`1 capture ${capLive}`);
    await tg.start([0]);
    assert.equal(await tg.waitIdle(10000), true);
    await tg.stop();
    assert.deepEqual(Object.fromEntries(flows(capLive)), { "1:5000": 16, "2:5003": 16, "3:5000": 16, "4:5003": 16 });
  } finally {
    await tg.close();
  }
  const which = spawnSync("which", ["tcpdump"]);
  if (which.status !== 0) {
    t.skip("tcpdump is not installed (apt-get install -y tcpdump): the capture was not checked with it");
    return;
  }
  const out = execFileSync("tcpdump", ["-nn", "-r", cap], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const lines = out.trim().split("\n").filter((l) => l.includes("UDP"));
  assert.equal(lines.length, 64);
  assert.match(lines[0]!, /10\.0\.0\.1\.1234 > 192\.168\.1\.1\.5000: UDP, length 18/);
});

test("a replayed pcap reproduces its frames byte for byte, looped", { skip }, async () => {
  const src = join(dir, "replay.pcap");
  const cap = join(dir, "replayed.pcap");
  const macs = { srcMac: "02:00:00:00:00:0a", dstMac: "02:00:00:00:00:0b" };
  const frames = ["proto udp,size 64", "proto tcp,size 200", "proto icmp,size 99", "proto udp,size 1518,pattern zero", "proto udp,size 65,src ip 1.2.3.4"].map((spec, i) => {
    const s = defaultSettings(0);
    for (const kv of spec.split(",")) applySet(s, kv.split(" "), { mtu: 1500 });
    const f = buildFrame(s, { pid: i, ...macs }).frame;
    if (i === 0) for (let j = 42; j < f.length; j++) f[j] = (j * 37) & 0xff; // odd payload bytes
    return { tsNs: Date.now() * 1e6 + i * 1000, data: f };
  });
  writePcap(src, frames);
  const tg = await two([`pcap ${src}`, "count 15", "rate 50kpps"], [`capture ${cap}`]);
  try {
    await tg.start([0]);
    assert.equal(await tg.waitIdle(10000), true);
    await tg.stop();
  } finally {
    await tg.close();
  }
  const got = readPcap(cap).filter((f) => etherType(f.data, 0) === ETHERTYPE_IPV4);
  assert.equal(got.length, 15);
  got.forEach((f, i) => assert.deepEqual(f.data, frames[i % 5]!.data, `frame ${i}`));
});

/** A netdev's per-queue counters (`ethtool -S`), by name. */
function ethtoolStats(ns: string, dev: string): Record<string, number> {
  const out = execFileSync("ip", ["netns", "exec", ns, "ethtool", "-S", dev], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const m: Record<string, number> = {};
  for (const l of out.split("\n")) {
    const x = /^\s+(\w+):\s+(\d+)$/.exec(l);
    if (x) m[x[1]!] = Number(x[2]);
  }
  return m;
}

/** A netdev's device counters, over rtnetlink in its namespace. */
function devStats(ns: string, dev: string): LinkStats {
  const nl = NetlinkSocket.open({ netns: ns });
  try {
    return linkStats(nl, dev);
  } finally {
    nl.close();
  }
}

/**
 * Every place a frame can be dropped on the way va -> vb (XDP_TX) -> va -> txgen's socket, each counted
 * once (veth, drivers/net/veth.c: ethtool's tx_queue_0_xdp_xmit_errors on va is vb's count of frames va
 * could not queue by XDP; va's device tx_dropped adds that and va's own XDP_TX errors to the frames its
 * skb path could not queue).
 */
function pathDrops(): Record<string, number> {
  const va = ethtoolStats(net.g, "va");
  const vb = ethtoolStats(net.d, "vb");
  const xmitErrors = va["tx_queue_0_xdp_xmit_errors"]!;
  return {
    "va into vb, XDP (live frames)": xmitErrors,
    "va into vb, skb (AF_XDP)": devStats(net.g, "va").txDropped - xmitErrors - va["rx_queue_0_xdp_tx_errors"]!,
    "vb XDP_TX into va": vb["rx_queue_0_xdp_tx_errors"]!,
    "vb XDP drops": vb["rx_queue_0_drops"]!,
    "va XDP drops (redirect into the socket)": va["rx_queue_0_drops"]!,
  };
}

test("latency through a reflector: 0 < p50 <= p99 <= max; every frame sent came back or is counted dropped, for both engines", { skip }, async (t) => {
  if (spawnSync("which", ["ethtool"]).status !== 0) {
    t.skip("ethtool is not installed (apt-get install -y ethtool): the drop counters cannot be read");
    return;
  }
  const r = reflector(net.d);
  const tg = await startTxgen({ log: quiet, ports: [{ ifname: "va", netns: net.g, cpus: [0], settings: ["latency on"] }] });
  try {
    let lastSamples = 0;
    // The live engine at a rate whose calls overrun the rings on the way back (frames get dropped).
    for (const [engine, count, rate] of [["afxdp", 5000, "50kpps"], ["live", 50000, "1mpps"]] as const) {
      tg.set(`0 engine ${engine}`);
      tg.set(`0 count ${count}`);
      tg.set(`0 rate ${rate}`);
      tg.clear();
      const before = pathDrops();
      const xskBefore = tg.ports[0]!.lport!.readStats()["imissed"]!;
      await tg.start();
      assert.equal(await tg.waitIdle(10000), true);
      await sleep(100);
      const s = tg.stats()[0]!;
      const after = pathDrops();
      const counted = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));
      const drops = Object.values(counted).reduce((a, b) => a + b, 0);
      const l = s.latency;
      assert.ok(l, `${engine}: latency measured`);
      assert.equal(s.txPkts, count);
      // A live-frames call emits its whole repeat count at line rate (pacing is between calls), so frames
      // are dropped wherever a ring is full when a NAPI run is late. Whatever the load, each is counted.
      const why = `${engine}: ${l.samples} came back, drops ${JSON.stringify(counted)}`;
      t.diagnostic(why);
      assert.equal(s.txPkts, l.samples + drops, why);
      assert.equal(s.loss, drops, `${engine}: the loss counter counts the dropped frames; ${why}`);
      assert.equal(tg.ports[0]!.lport!.readStats()["imissed"]! - xskBefore, counted["va XDP drops (redirect into the socket)"], `${engine}: the socket's own count; ${why}`);
      // The AF_XDP engine has no more frames in flight than the rings hold: it loses none.
      if (engine === "afxdp") assert.equal(drops, 0, why);
      assert.ok(l.p50Us > 0 && l.p50Us <= l.p99Us && l.p99Us <= l.maxUs, `${engine}: p50 ${l.p50Us} p99 ${l.p99Us} max ${l.maxUs}`);
      assert.ok(l.minUs > 0 && l.minUs <= l.p50Us && l.maxUs < 1e6, `${engine}: min ${l.minUs} max ${l.maxUs}`);
      assert.equal(s.reordered, 0, `${engine}: reordered`);
      lastSamples = l.samples;
    }
    const page = renderPage(tg, "latency", 0, tg.rates(), tg.stats());
    // The screen shows the last engine's figures.
    assert.match(page.join("\n"), new RegExp(`Samples\\s+ ${lastSamples.toLocaleString("en-US")}\\s`));
  } finally {
    await tg.close();
    r.close();
  }
});

test("netdev facts come over rtnetlink in the port's namespace, without spawning ip", { skip }, () => {
  const shown = JSON.parse(execFileSync("ip", ["-n", net.g, "-j", "link", "show", "va"], { encoding: "utf8" })) as { ifindex: number; address: string; mtu: number }[];
  const path = process.env["PATH"];
  process.env["PATH"] = "/nonexistent"; // a spawned `ip` would fail
  try {
    const f = netdevFacts("va", net.g);
    assert.deepEqual(f, { ifindex: shown[0]!.ifindex, mac: shown[0]!.address, mtu: shown[0]!.mtu, speedMbps: 0 });
    assert.throws(() => netdevFacts("nosuchdev", net.g), new RegExp(`Cannot read netdev 'nosuchdev' in namespace '${net.g}': `));
  } finally {
    process.env["PATH"] = path;
  }
});

test("commands: set, start, stop, clear, save and load, with errors naming the line", { skip }, async () => {
  const tg = await two([], ["engine live", "rx count"]);
  const printed: string[] = [];
  const cmd = new Commands(tg, { print: (s) => printed.push(s) });
  try {
    await cmd.run("set all size 128");
    await cmd.run("set 0 src ip 10.0.0.1-10.0.0.9");
    await cmd.run("set 0 count 100");
    await cmd.run("start 0");
    assert.equal(await tg.waitIdle(5000), true);
    await cmd.run("clr");
    assert.equal(tg.stats()[0]!.txPkts, 0);
    const file = join(dir, "saved.txt");
    await cmd.run(`save ${file}`);
    tg.set("all size 64");
    await cmd.run(`load ${file}`);
    assert.equal(tg.ports[0]!.settings.size, 128);
    assert.equal(tg.ports[0]!.settings.srcIp.max & 0xff, 9);
    await assert.rejects(cmd.run("set 0 size 20"), /set 0 size 20: Invalid size 20: expected 64 to 1518/);
    await assert.rejects(cmd.run("set 7 size 100"), /port 7 does not exist/);
    await assert.rejects(cmd.run("frobnicate"), /unknown command 'frobnicate'/);
    writeFileSync(join(dir, "bad.txt"), "set all count 5\n\nset 0 ttl 300\n");
    await assert.rejects(cmd.run(`load ${join(dir, "bad.txt")}`), /bad.txt:3: set 0 ttl 300: Invalid ttl 300: expected 0 to 255/);
    tg.set("0 size 64");
    tg.set("0 proto tcp");
    tg.set("0 latency on");
    await assert.rejects(tg.start([0]), /Cannot start: port 0: latency with tcp needs size >= 74/);
    tg.set("0 proto udp");
    tg.set("0 latency off");
    tg.set("1 engine afxdp");
    await assert.rejects(tg.start([1]), /port 1: opened without an AF_XDP socket/);
    assert.match(renderPage(tg, "main", 0, tg.rates(), tg.stats()).join("\n"), /Port\s+ 0: va:0\s+ 1: vb:0/);
  } finally {
    await tg.close();
  }
});

test("command line: --duration --json, exit 1 when nothing comes back, 2 on a bad setting", { skip }, () => {
  const cfg = join(dir, "txgen.jsonc");
  writeFileSync(cfg, `{
    // one port, one RX/TX thread on CPU 1
    "umems": { "umem0": { "bufcnt": 8, "bufsz": 2 } },
    "lports": { "va:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "umem0" } },
    "lcore-groups": { "initial": [0], "g1": [1] },
    "threads": { "main": { "group": "initial" }, "rxtx:0": { "group": "g1", "lports": ["va:0"] } }
  }`);
  const cli = new URL("../../cli/main.js", import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync("ip", ["netns", "exec", net.g, process.execPath, cli, "txgen", "-c", cfg, ...args], { encoding: "utf8", timeout: 30000 });
  const r = reflector(net.d);
  try {
    const ok = run("--duration", "5", "--json", "--debug-frames", "--set", "0 count 2000", "--set", "0 rate 100kpps", "--set", "0 latency on");
    assert.equal(ok.status, 0, ok.stderr);
    const sum = JSON.parse(ok.stdout.trim().split("\n").pop()!);
    assert.equal(sum.type, "summary");
    assert.equal(sum.ok, true);
    assert.equal(sum.ports[0].txPkts, 2000);
    assert.equal(sum.ports[0].rxIp4, 2000);
    assert.ok(sum.ports[0].latency.p50Us > 0);
    assert.ok(sum.seconds < 5, "a count-limited run ends when its count is sent");
    // The framework's frame report (PortSet built the config's ports): exact and clean.
    assert.deepEqual(sum.frames.faults, []);
    assert.equal(sum.frames.leakedFrames, 0);
    assert.equal(sum.frames.doubleFrees, 0);
    assert.equal(sum.frames.badKernelReturns, 0);
  } finally {
    r.close();
  }
  const none = run("--duration", "0.5", "--json", "--set", "0 rate 10kpps");
  assert.equal(none.status, 1, none.stderr);
  assert.match(none.stdout, /"ok":false,"reason":"no IPv4 frame received on ports 0 \(rx on\) after \d+ packets sent"/);
  const bad = run("--duration", "1", "--set", "0 size 20");
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /xdplane txgen: set 0 size 20: Invalid size 20: expected 64 to 1518/);
});
