/**
 * cnet benchmark (issue 10): the user-space stack against a Linux peer on a veth pair, beside the Linux
 * kernel's own stack on the same veth in the same run. The peer runs on the generator CPU (0), the DUT
 * on CPU 1; medians of the runs. The peer's socket tools are compiled from bench/cnet-peer.c with
 * `cc -O2` at the start.
 *
 * Where the kernel runs each side's packet work matters as much as the code: a veth runs its receive
 * side on the CPU that transmitted (the peer's CPU does the kernel DUT's IP/TCP/UDP input and the
 * stack's XDP copy into the UMEM; the DUT's transmissions make the DUT's CPU run the peer's input). So
 * each DUT runs in two placements, "default" (as veth does it) and "on the DUT core" (the kernel: RPS
 * steers its input to CPU 1; the stack: the veth's NAPI threaded, its kthread pinned to CPU 1, so the
 * XDP copy runs there), and the ratios compare each DUT's best figure (and the same placement).
 *
 * - TCP goodput (one connection, MSS-sized segments: the veth's MTU 1500, TSO off on the peer so Linux
 *   sends 1448-byte payloads plus timestamps, as the stack does): the peer's `tcpsend` (64 KiB writes,
 *   then shutdown and wait for the receiver's close: every byte delivered) into `xdplane cnet
 *   --tcp-discard` (Node streams on the worker's event loop), then into the kernel's `tcpsink` pinned
 *   to the DUT CPU, GRO off (every segment, as the stack sees them) and on. The peer's input (its ACKs)
 *   is steered to the peer's CPU (RPS).
 * - UDP echo capacity (pps, one core): txgen on the peer with the kernel's XDP live frames (the cheapest
 *   generator this machine has: the kernel builds the frames) offers 64-byte datagrams at a sweep of
 *   rates; an XDP program on the peer's veth counts the echoes (its NAPI a kthread on the peer's CPU).
 *   The figure is the echoed rate at the sweep's best offered rate, measured again `runs` times. DUTs:
 *   `xdplane cnet --udp-echo` (one busy-polling worker, AF_XDP copy mode) and a kernel UDP echo
 *   (`udpecho`: recvmmsg/sendmmsg, 64 a batch) pinned to the same CPU.
 * - UDP ping-pong: the kernel-socket peer (`udpflood`: 256 datagrams in flight, sendmmsg/recvmmsg)
 *   against both echoes, default placement. The peer's CPU is the limit here (it also runs the DUT's
 *   veth input); kept to show it.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCnetPair } from "../src/testing/cnet-peer.js";
import { nsExec } from "../src/testing/netns.js";
import { fwdConfig } from "../src/testing/fwd-config.js";
import { parseConfig } from "../src/config/index.js";
import { CnetApp } from "../src/apps/cnet/app.js";

/** One result. */
export interface CnetBenchRow {
  id: string;
  what: string;
  value: number;
  unit: "Mpps" | "Gbit/s";
  /** Every run's figure. */
  runs: number[];
  note: string;
}

/** What {@link cnetBench} returns. */
export interface CnetBenchResult {
  rows: CnetBenchRow[];
  markdown: string;
}

const GEN_CPU = "0";
const DUT_CPU = "1";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function peerTool(dir: string): string {
  const src = fileURLToPath(new URL("../../bench/cnet-peer.c", import.meta.url));
  const bin = join(dir, "cnet-peer");
  execFileSync("cc", ["-O2", "-o", bin, src]);
  return bin;
}

/** Runs a peer tool without blocking this thread (its timers keep the stacks' clock current). */
function runJson(ns: string, cpu: string, args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const p = spawn("ip", ["netns", "exec", ns, "taskset", "-c", cpu, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("close", (code) => {
      const lines = out.trim().split("\n");
      if (code !== 0) reject(new Error(`${args.join(" ")}: exit ${code}`));
      else resolve(JSON.parse(lines[lines.length - 1]!) as Record<string, number>);
    });
  });
}

function startIn(ns: string, cpu: string, args: string[]): ChildProcess {
  return spawn("ip", ["netns", "exec", ns, "taskset", "-c", cpu, ...args], { stdio: ["ignore", "pipe", "inherit"] });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** RPS: the receive work of every rx queue of `dev` on the CPUs of `mask` (hex). */
function setRps(ns: string, dev: string, mask: string): void {
  const qs = nsExec(ns, "ls", `/sys/class/net/${dev}/queues`).split(/\s+/).filter((q) => q.startsWith("rx-"));
  for (const q of qs) nsExec(ns, "sh", "-c", `echo ${mask} > /sys/class/net/${dev}/queues/${q}/rps_cpus`);
}

/**
 * Threaded NAPI for `dev` (it has NAPI while an XDP program is attached, or with GRO on) with its
 * kthreads pinned to `cpu` at real-time priority 1; returns how many were pinned (0 means the placement
 * did not take: the caller says so).
 */
async function pinNapi(ns: string, dev: string, cpu: string): Promise<number> {
  nsExec(ns, "sh", "-c", `echo 1 > /sys/class/net/${dev}/threaded`);
  await sleep(50);
  const comm = `napi/${dev}-`.slice(0, 15); // kthreads are "napi/<dev>-<napi id>", cut to 15 characters
  const pids = execFileSync("ps", ["-eo", "pid=,comm="]).toString().split("\n")
    .map((l) => l.trim().split(/\s+/)).filter(([, c]) => c !== undefined && c.startsWith(comm)).map(([p]) => p!);
  for (const pid of pids) {
    execFileSync("taskset", ["-p", "-c", cpu, pid], { stdio: "ignore" });
    // Real-time, as softirq NAPI is: it preempts the busy-polling thread on its core when frames come.
    execFileSync("chrt", ["-f", "-p", "1", pid], { stdio: "ignore" });
  }
  return pids.length;
}

/** What txgen printed for one point of a sweep. */
interface EchoPoint {
  /** Requested rate (Mpps). */
  rate: number;
  /** Sent and echoed rates (Mpps). */
  offered: number;
  echoed: number;
}

/** One point: txgen with the kernel's XDP live frames on the peer, `seconds` at `rate` Mpps, echoes counted by its XDP program. */
function txgenPoint(ns: string, cfg: string, macs: { dut: string; peer: string }, rate: number, seconds: number): Promise<EchoPoint> {
  const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
  const set = (x: string) => ["--set", `all ${x}`];
  const args = [process.execPath, cli, "txgen", "-c", cfg, "--duration", String(seconds), "--json",
    ...set(`dst mac ${macs.dut}`), ...set(`src mac ${macs.peer}`), ...set("src ip 10.215.0.2"), ...set("dst ip 10.215.0.1"),
    ...set("dport 7"), ...set("sport 5000"), ...set("size 64"), ...set("cksum on"), ...set("engine live"), ...set("rx count"), ...set(`rate ${rate}mpps`)];
  return new Promise((resolve, reject) => {
    const p = spawn("ip", ["netns", "exec", ns, "taskset", "-c", GEN_CPU, ...args], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("close", (code) => {
      // txgen exits 1 when nothing came back: that is a figure (0) here, not an error.
      const last = out.trim().split("\n").pop() ?? "";
      if (!last.startsWith("{")) return reject(new Error(`txgen at ${rate} Mpps: exit ${code}, no summary`));
      const port = (JSON.parse(last) as { ports: { txPps: number; rxPps: number }[] }).ports[0]!;
      resolve({ rate, offered: port.txPps / 1e6, echoed: port.rxPps / 1e6 });
    });
  });
}

/**
 * Runs the scenarios (root): see the module comment.
 *
 * @example
 * const { rows, markdown } = await cnetBench({ seconds: 3, runs: 3 });
 */
export async function cnetBench(o: { seconds?: number; runs?: number; log?: (m: string) => void } = {}): Promise<CnetBenchResult> {
  const seconds = o.seconds ?? 3;
  const runs = o.runs ?? 3;
  const log = o.log ?? ((m: string) => console.error(m));
  const dir = mkdtempSync(join(tmpdir(), "cnet-bench-"));
  const v = createCnetPair();
  const rows: CnetBenchRow[] = [];
  const notes: string[] = [];
  const sweeps: string[] = [];
  try {
    const tool = peerTool(dir);
    nsExec(v.nsA, "ip", "addr", "add", "10.215.0.1/24", "dev", v.a);
    nsExec(v.ns, "ip", "addr", "add", "10.215.0.2/24", "dev", v.b);
    // Software checksums and no TSO on the peer: what the stack gets is what a NIC would give it, and
    // Linux's segments are MSS-sized for both receivers.
    nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off", "tso", "off", "gso", "off");
    const dutMask = (1 << Number(DUT_CPU)).toString(16);
    const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }], cpus: [Number(DUT_CPU)] }), "cnet-bench.jsonc");

    const udpFlood = async (): Promise<number> => {
      const r = await runJson(v.ns, GEN_CPU, [tool, "udpflood", "10.215.0.1", "7", String(seconds), "256", "64"]);
      return r.pps! / 1e6;
    };
    const tcp = async (): Promise<number> => {
      const r = await runJson(v.ns, GEN_CPU, [tool, "tcpsend", "10.215.0.1", "9", String(seconds)]);
      return r.gbps!;
    };
    const repeat = async (f: () => Promise<number>): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < runs; i++) out.push(await f());
      return out;
    };
    const add = (id: string, what: string, xs: number[], unit: "Mpps" | "Gbit/s", note: string) => {
      rows.push({ id, what, value: median(xs), unit, runs: xs, note });
      log(`${what}: ${median(xs).toFixed(3)} ${unit}`);
    };
    const withStack = async <T>(svc: { udpEcho?: number; tcpDiscard?: number }, onDut: boolean, f: () => Promise<T>): Promise<T> => {
      const app = await CnetApp.start({ config, netns: v.nsA, ...svc, socket: false, log: () => {} });
      try {
        if (onDut && (await pinNapi(v.nsA, v.a, DUT_CPU)) === 0) notes.push("the veth's NAPI kthreads were not found: a stack 'DUT core' row ran in the default placement");
        return await f();
      } finally {
        // Back to softirq NAPI while the NAPI still exists (the setting outlives XDP's detach, and the
        // next attach would make an unpinned kthread).
        if (onDut) nsExec(v.nsA, "sh", "-c", `echo 0 > /sys/class/net/${v.a}/threaded`);
        await app.stop();
      }
    };
    const withKernel = async <T>(args: string[], ready: (p: ChildProcess) => Promise<void>, f: () => Promise<T>): Promise<T> => {
      const p = startIn(v.nsA, DUT_CPU, [tool, ...args]);
      try {
        await ready(p);
        return await f();
      } finally {
        p.kill("SIGKILL");
      }
    };
    const kernTcp = async (): Promise<number[]> => {
      const xs: number[] = [];
      for (let i = 0; i <= runs; i++) xs.push(await withKernel(["tcpsink", "9"], (p) => new Promise<void>((r) => p.stdout!.once("data", () => r())), tcp));
      return xs.slice(1); // the first is a warm-up, as for the stack
    };
    const place = (onDut: boolean, kernel: boolean) => (!onDut ? "default placement" : kernel ? "input on the DUT core (RPS)" : "NAPI on the DUT core");

    // 1. TCP goodput. The peer's input (the ACKs) stays on the peer's CPU (RPS).
    setRps(v.ns, v.b, (1 << Number(GEN_CPU)).toString(16));
    for (const onDut of [false, true]) {
      const xs = await withStack({ tcpDiscard: 9 }, onDut, async () => {
        await tcp(); // warm-up: ARP, JIT
        return repeat(tcp);
      });
      add(`tcp-rx-cnet${onDut ? "-dut" : ""}`, `TCP goodput into xdplane cnet --tcp-discard (Node streams), ${place(onDut, false)}`, xs, "Gbit/s", "one connection, every segment through the stack");
    }
    for (const onDut of [false, true]) {
      setRps(v.nsA, v.a, onDut ? dutMask : "0");
      // The issue's comparison: 1460-byte segments through both receivers. The stack sees every segment
      // (AF_XDP takes frames before GRO); with GRO off the kernel does too.
      nsExec(v.nsA, "ethtool", "-K", v.a, "gro", "off");
      add(`tcp-rx-kernel${onDut ? "-dut" : ""}`, `TCP goodput into the Linux kernel (read() loop), GRO off (every segment), ${place(onDut, true)}`, await kernTcp(), "Gbit/s", "same peer, same CPU");
      nsExec(v.nsA, "ethtool", "-K", v.a, "gro", "on");
      add(`tcp-rx-kernel-gro${onDut ? "-dut" : ""}`, `TCP goodput into the Linux kernel (read() loop), GRO on (up to 64 KB coalesced), ${place(onDut, true)}`, await kernTcp(), "Gbit/s", "same peer, same CPU");
    }
    setRps(v.nsA, v.a, "0");
    setRps(v.ns, v.b, "0");
    nsExec(v.nsA, "ethtool", "-K", v.a, "gro", "off");

    // 2. UDP ping-pong with the kernel-socket peer (256 in flight): bound by the peer's CPU, which also
    //    runs the DUT's input (veth) in both cases; default placement.
    let xs = await withStack({ udpEcho: 7 }, false, async () => {
      await udpFlood(); // warm-up: ARP both ways, JIT
      return repeat(udpFlood);
    });
    add("udp-pingpong-cnet", "UDP ping-pong, xdplane cnet --udp-echo, kernel-socket peer (peer-bound)", xs, "Mpps", "64-byte datagrams, 256 in flight");
    xs = await withKernel(["udpecho", "7"], () => sleep(200), async () => {
      await udpFlood();
      return repeat(udpFlood);
    });
    add("udp-pingpong-kernel", "UDP ping-pong, Linux kernel sockets (recvmmsg/sendmmsg), kernel-socket peer (peer-bound)", xs, "Mpps", "same peer, same CPU");

    // 3. UDP echo capacity: the kernel's XDP live frames (txgen --engine live) offer a rate, an XDP
    //    program on the peer counts the echoes; the peer's NAPI is a kthread on the peer's CPU, the peer's
    //    neighbour entry is static (its XDP program takes ARP). A sweep of rates, then the best rate again.
    const mac = (ns: string, dev: string) => (JSON.parse(execFileSync("ip", ["-n", ns, "-j", "link", "show", dev]).toString()) as { address: string }[])[0]!.address;
    const macs = { dut: mac(v.nsA, v.a), peer: mac(v.ns, v.b) };
    nsExec(v.nsA, "ip", "neigh", "replace", "10.215.0.2", "lladdr", macs.peer, "dev", v.a, "nud", "permanent");
    nsExec(v.ns, "ethtool", "-K", v.b, "gro", "on"); // NAPI on the peer's veth without XDP: it can be threaded
    if ((await pinNapi(v.ns, v.b, GEN_CPU)) === 0) notes.push("the peer veth's NAPI kthread was not found: the echoes' input ran where the DUT sent them");
    const cfg = join(dir, "peer.jsonc");
    writeFileSync(cfg, fwdConfig({ ports: [{ netdev: v.b }], cpus: [Number(GEN_CPU)] }));
    const rates = [0.1, 0.2, 0.3, 0.45, 0.6, 0.9, 1.2, 2.4];
    const sweep = async (name: string): Promise<number[]> => {
      const pts: EchoPoint[] = [];
      for (const r of rates) {
        pts.push(await txgenPoint(v.ns, cfg, macs, r, Math.min(seconds, 2)));
        if (process.env.XDPLANE_BENCH_DEBUG) {
          const st = (ns: string, dev: string) => nsExec(ns, "ethtool", "-S", dev).split("\n").filter((l) => /drop|xdp/.test(l) && !/: 0$/.test(l)).join(" ");
          log(`${name} ${r}: ${JSON.stringify(pts[pts.length - 1])} peer: ${st(v.ns, v.b)} dut: ${st(v.nsA, v.a)}`);
        }
      }
      const top = pts.reduce((a, b) => (b.echoed > a.echoed ? b : a));
      sweeps.push(`| ${name} | ${pts.map((p) => `${p.offered.toFixed(2)} → ${p.echoed.toFixed(3)}`).join(" · ")} |`);
      const again: number[] = [];
      for (let i = 0; i < runs; i++) again.push((await txgenPoint(v.ns, cfg, macs, top.rate, seconds)).echoed);
      return again;
    };
    for (const onDut of [false, true]) {
      const what = `UDP echo capacity, xdplane cnet --udp-echo (one busy-polling worker), ${place(onDut, false)}`;
      add(`udp-echo-cnet${onDut ? "-dut" : ""}`, what, await withStack({ udpEcho: 7 }, onDut, () => sweep(what)), "Mpps", "echoed rate at the sweep's best offered rate");
    }
    nsExec(v.nsA, "ethtool", "-K", v.a, "gro", "on"); // NAPI: XDP frames from the peer reach the kernel's stack
    for (const onDut of [false, true]) {
      setRps(v.nsA, v.a, onDut ? dutMask : "0");
      const what = `UDP echo capacity, Linux kernel sockets (recvmmsg/sendmmsg, one thread), ${place(onDut, true)}`;
      add(`udp-echo-kernel${onDut ? "-dut" : ""}`, what, await withKernel(["udpecho", "7"], () => sleep(200), () => sweep(what)), "Mpps", "echoed rate at the sweep's best offered rate");
    }
  } finally {
    v.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const val = (id: string) => rows.find((r) => r.id === id)!.value;
  const best = (...ids: string[]) => ids.reduce((a, b) => (val(b) > val(a) ? b : a));
  const where = (id: string) => (id.endsWith("-dut") ? "DUT core" : "default");
  const bu = best("udp-echo-cnet", "udp-echo-cnet-dut");
  const bku = best("udp-echo-kernel", "udp-echo-kernel-dut");
  const bt = best("tcp-rx-cnet", "tcp-rx-cnet-dut");
  const bkt = best("tcp-rx-kernel", "tcp-rx-kernel-dut");
  const bkg = best("tcp-rx-kernel-gro", "tcp-rx-kernel-gro-dut");
  const md = [
    "## cnet: the user-space stack against a Linux peer (veth)",
    "",
    `Peer on CPU ${GEN_CPU}, DUT on CPU ${DUT_CPU}; ${runs} runs of ${seconds} s, medians. Placements (where the kernel runs each side's packet work) and the generators: bench/cnet.ts.`,
    ...notes.map((n) => `Note: ${n}.`),
    "",
    "| scenario | result | runs | note |",
    "| --- | ---: | --- | --- |",
    ...rows.map((r) => `| ${r.what} | ${r.value.toFixed(3)} ${r.unit} | ${r.runs.map((x) => x.toFixed(3)).join(", ")} | ${r.note} |`),
    "",
    "UDP echo sweeps (offered → echoed, Mpps):",
    "",
    "| DUT | points |",
    "| --- | --- |",
    ...sweeps,
    "",
    `UDP echo capacity, best of each: cnet ${val(bu).toFixed(3)} (${where(bu)}) / kernel ${val(bku).toFixed(3)} (${where(bku)}) = ${(val(bu) / val(bku)).toFixed(2)}x (target 1.5x); ` +
      `same placement: default ${(val("udp-echo-cnet") / val("udp-echo-kernel")).toFixed(2)}x, DUT core ${(val("udp-echo-cnet-dut") / val("udp-echo-kernel-dut")).toFixed(2)}x. ` +
      `Ping-pong with the kernel-socket peer (bound by the peer's CPU): ${(val("udp-pingpong-cnet") / val("udp-pingpong-kernel")).toFixed(2)}x.`,
    `TCP goodput, every segment through both: cnet best ${val(bt).toFixed(3)} (${where(bt)}) / kernel best ${val(bkt).toFixed(3)} (${where(bkt)}) = ${(val(bt) / val(bkt)).toFixed(2)}x (target 1x); ` +
      `same placement: default ${(val("tcp-rx-cnet") / val("tcp-rx-kernel")).toFixed(2)}x, DUT core ${(val("tcp-rx-cnet-dut") / val("tcp-rx-kernel-dut")).toFixed(2)}x; ` +
      `against the kernel's best with GRO (${where(bkg)}): ${(val(bt) / val(bkg)).toFixed(2)}x.`,
    "",
  ].join("\n");
  return { rows, markdown: md };
}
