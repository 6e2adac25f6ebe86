/**
 * txgen on real veth pairs between two fresh namespaces (port 0 in one, port 1 or a kernel XDP_TX
 * reflector in the other): exact counts, paced rates, range flows seen in a capture, pcap files that
 * tcpdump reads, byte-exact replay, latency figures, and the command line.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
import { buildFrame } from "./packet.js";

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

/**
 * The sent rate over 1.5 s after a warm-up, as a fraction of `pps`. The machine is shared (2 vCPUs,
 * other test files run beside this one): an attempt whose thread was starved is tried again, up to 3.
 */
async function pacedRate(tg: Txgen, pps: number): Promise<number[]> {
  const seen: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    await tg.start([0]);
    await sleep(400);
    tg.rates();
    await sleep(1500);
    const r = tg.rates()[0]!;
    await tg.stop([0]);
    seen.push(r.txPps / pps);
    if (Math.abs(r.txPps / pps - 1) < 0.05) break;
  }
  return seen;
}

test("paced rates stay within 5% of the target", { skip }, async () => {
  const tg = await two(["rate 100kpps"], ["rx count"]);
  const pct = (v: number[]) => v.map((x) => `${(x * 100).toFixed(1)}%`).join(", ");
  try {
    const afxdp = await pacedRate(tg, 100_000);
    assert.ok(Math.abs(afxdp.at(-1)! - 1) < 0.05, `afxdp at 100 kpps: ${pct(afxdp)}`);
    tg.set("0 engine live");
    tg.set("0 rate 400kpps");
    const live = await pacedRate(tg, 400_000);
    assert.ok(Math.abs(live.at(-1)! - 1) < 0.05, `live at 400 kpps: ${pct(live)}`);
  } finally {
    await tg.close();
  }
});

/** Flows (last octet of the source IP : destination port) of the IPv4 frames in a capture. */
function flows(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of readPcap(file)) {
    if (f.data[12] !== 0x08 || f.data[13] !== 0x00) continue;
    assert.equal(verifyChecksums(f.data), null);
    const dv = new DataView(f.data.buffer, f.data.byteOffset);
    const k = `${f.data[29]}:${dv.getUint16(36)}`;
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
  const got = readPcap(cap).filter((f) => f.data[12] === 0x08);
  assert.equal(got.length, 15);
  got.forEach((f, i) => assert.deepEqual(f.data, frames[i % 5]!.data, `frame ${i}`));
});

test("latency through a reflector: 0 < p50 <= p99 <= max, loss accounted, for both engines", { skip }, async () => {
  const r = reflector(net.d);
  const tg = await startTxgen({ log: quiet, ports: [{ ifname: "va", netns: net.g, cpus: [0], settings: ["latency on", "count 5000", "rate 50kpps"] }] });
  try {
    let lastSamples = 0;
    for (const engine of ["afxdp", "live"]) {
      tg.set(`0 engine ${engine}`);
      tg.clear();
      await tg.start();
      assert.equal(await tg.waitIdle(10000), true);
      await sleep(100);
      const s = tg.stats()[0]!;
      const l = s.latency;
      assert.ok(l, `${engine}: latency measured`);
      // A live-frames call emits its whole repeat count at line rate (pacing is between calls), so the
      // reflector's 256-slot veth ring overflows whenever its NAPI loses the CPU (10% seen with only the
      // other test files running): require enough samples for percentiles, and a loss counter that
      // accounts for exactly the missing frames. The AF_XDP engine must lose nothing.
      if (engine === "live") assert.ok(l.samples >= 1000, `${engine}: ${l.samples} of 5000 frames came back`);
      else assert.equal(l.samples, 5000, `${engine}: every frame came back`);
      assert.ok(l.p50Us > 0 && l.p50Us <= l.p99Us && l.p99Us <= l.maxUs, `${engine}: p50 ${l.p50Us} p99 ${l.p99Us} max ${l.maxUs}`);
      assert.ok(l.minUs > 0 && l.minUs <= l.p50Us && l.maxUs < 1e6, `${engine}: min ${l.minUs} max ${l.maxUs}`);
      assert.equal(s.loss, 5000 - l.samples, `${engine}: loss counts the missing frames`);
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
    const ok = run("--duration", "5", "--json", "--set", "0 count 2000", "--set", "0 rate 100kpps", "--set", "0 latency on");
    assert.equal(ok.status, 0, ok.stderr);
    const sum = JSON.parse(ok.stdout.trim().split("\n").pop()!);
    assert.equal(sum.type, "summary");
    assert.equal(sum.ok, true);
    assert.equal(sum.ports[0].txPkts, 2000);
    assert.equal(sum.ports[0].rxIp4, 2000);
    assert.ok(sum.ports[0].latency.p50Us > 0);
    assert.ok(sum.seconds < 5, "a count-limited run ends when its count is sent");
  } finally {
    r.close();
  }
  const none = run("--duration", "0.5", "--json", "--set", "0 rate 10kpps");
  assert.equal(none.status, 1, none.stderr);
  assert.match(none.stdout, /"ok":false,"reason":"no IPv4 frame received on ports 0 \(rx on\) after \d+ packets sent"/);
  const bad = run("--duration", "1", "--set", "0 size 20");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /xdplane txgen: set 0 size 20: Invalid size 20: expected 64 to 1518/);
});
