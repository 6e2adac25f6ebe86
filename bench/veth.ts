/**
 * veth benchmark: a veth pair between two namespaces ("gen" and "dut"), txgen's live-frames engine as the
 * generator on one end, and on the other the forwarder (FwdApp) in `lb`, `rx-only` and `l3fwd` (one
 * default route back to the generator, in user space and with the XDP fast path), beside the kernel's own
 * XDP_TX (MAC swap) and XDP_DROP programs measured in the same run (the ceilings).
 *
 * Both veth ends run threaded NAPI (GRO on, /sys/class/net/<dev>/threaded = 1) with their kthreads
 * pinned: the generator's end (the return path) always on the generator's CPU; the DUT's end per layout:
 * - layout 1: DUT NAPI on the generator's CPU, the forwarder alone on the other CPU;
 * - layout 2 (the one-core pod): DUT NAPI on the forwarder's CPU, with and without busy polling.
 * Every result carries the offered rate, so a figure limited by the generator shows. Medians of runs.
 * The generator section measures what each txgen engine offers into an XDP drop (both CPUs free).
 *
 * Issue 14: layout 1 also runs paced (PACED_MPPS) beside the kernel's XDP_TX under the same pacing, with
 * the NAPI threads, the paced senders and the forwarder at SCHED_FIFO (Bed.rtPrio says why); layout 2
 * gives the generator end's NAPI SCHED_FIFO (Bed.genRtPrio). Forwarder scenarios report their thread's
 * CPU (user + system) and ns of it per returned packet, xsk statistics, the DUT's XDP and busy-poll
 * counters, and a line on what limits each figure (limitOf). Experiments run any list of FwdSpec:
 * `node dist/bench/veth.js probe <runs> <seconds> '[{"id":"x","layout":2,"what":"x","mode":"lb","busyPoll":{}}]'`.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { startTxgen, type Txgen } from "../src/apps/txgen/txgen.js";
import { CountProgram } from "../src/apps/txgen/live-prog.js";
import { inNamespace } from "../src/apps/txgen/netns.js";
import { FwdApp } from "../src/apps/fwd/app.js";
import { parseConfig } from "../src/config/index.js";
import { Asm, FP, Helper, R0, R1, R2, R3, R4, R5, R6, R7, XdpAction, XdpMd } from "../src/bpf/asm.js";
import { Program, ProgType } from "../src/bpf/prog.js";
import { XdpLink } from "../src/bpf/link.js";
import { ST_IPACKETS, ST_OPACKETS } from "../src/xsk/stats.js";
import { sys } from "../src/sys/native.js";
import { SOL_SOCKET } from "../src/sys/consts.js";

/** getsockopt(SOL_SOCKET, SO_INCOMING_NAPI_ID): the NAPI a socket's busy polling runs (asm-generic/socket.h). */
const SO_INCOMING_NAPI_ID = 56;

export const GEN_CPU = 0;
export const DUT_CPU = 1;

/** Offered rates (Mpps) of the paced layout 1 scenarios. */
export const PACED_MPPS = [0.5, 1, 2] as const;
/** SCHED_FIFO priority of the NAPI kthreads in paced scenarios (see Bed.rtPrio). */
const PACED_NAPI_RT_PRIO = 10;
/** SCHED_FIFO priority of the paced generator's sender threads (below the NAPI threads). */
const PACED_GEN_RT_PRIO = 5;
/** Thread keys of the forwarder that sleeps when idle: poll() after 1 ms without a packet, for at most 1 ms. */
const IDLE_THREAD = { idle_timeout: 1, intr_timeout: 1 };
/**
 * The one-core pod's rings: an 8K RX ring (and fill level) on 32K buffers, so each turn of the NAPI thread
 * on the shared CPU leaves more for the forwarder's turn before the fill ring runs dry.
 */
const SHARED_CORE_RINGS = { rxdesc: 8, txdesc: 2, bufcnt: 32 };

/** Reference figures of the issues (Mpps, 2 vCPU veth, 64-byte frames). */
export const REFERENCES = {
  l1Lb: { kernel: "1.1-1.5", cndp: 0.57, cndpBusyPoll: 0.74, dpdk: "0.62-0.75", target: 0.8 },
  l1RxOnly: { kernel: 6.2, cndp: 1.55, dpdk: 1.98, target: 2.0 },
  l2Lb: { cndp: 0.013, dpdk: 0.16, target: 0.4 },
  /** Issue 14: layout 1 at a paced 1 Mpps: returned >= 0.98 Mpps with the forwarder's CPU below 60%. */
  l1Paced: { at: 1, returned: 0.98, fwdCpuBelow: 0.6 },
  /** l3fwd (issue 9): targets as ratios to our own lb in the same run. */
  l1L3fwd: { userVsLb: 0.9, fastPathVsLb: 3 },
  generator: { xdpTrafficgen: 6.4, cndpTxgen: 1.39, targetLive: 6.0, targetAfxdp: 1.5 },
  nullPipeline: { cndp: 22.2, dpdk: 18.9, target: 20 },
} as const;

export interface Sample {
  /** What the generator sent. */
  offered: number;
  /** What the DUT received (where it can be counted). */
  dutRx: number | null;
  /** What came back to the generator's end. */
  returned: number | null;
  /** Share of a CPU used by the DUT end's NAPI thread (0..1) and by the generator end's. */
  dutNapiCpu: number;
  genNapiCpu: number;
  /** The forwarder's thread(s) (pinned to the DUT's CPU): share of a CPU in user and in system time. */
  fwdUsr?: number;
  fwdSys?: number;
  /** Counters per second over the window: NET_RX softirqs on the DUT's CPU, the DUT NAPI thread's context switches, xsk statistics. */
  counters?: Record<string, number>;
}

export interface ScenarioResult {
  id: string;
  layout: 0 | 1 | 2;
  what: string;
  /** Medians (Mpps). */
  offered: number;
  dutRx: number | null;
  returned: number | null;
  dutNapiCpu: number;
  genNapiCpu: number;
  /** Forwarder scenarios: share of a CPU its thread used (user + system) and ns of it per returned packet. */
  fwdCpu?: number;
  fwdNsPerPkt?: number | null;
  /** Offered rate asked of the paced generator (Mpps; absent: unpaced). */
  pacedMpps?: number;
  /** What limits the figure (one line). */
  limit?: string;
  /** Forwarder scenarios: the socket's NAPI id (SO_INCOMING_NAPI_ID; 0: busy polling cannot run NAPI). */
  napiId?: number;
  runs: Sample[];
}

export interface VethResult {
  machine: { nproc: number; model: string; kernel: string; node: string; loadavgStart: number[]; loadavgEnd: number[] };
  /** Nice value of the benchmark's threads and the NAPI kthreads. */
  nice: number;
  seconds: number;
  runs: number;
  /** Live-frames sender threads in the layouts (0: 1 in layout 1, 2 in layout 2). */
  genThreads: number;
  scenarios: ScenarioResult[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Runs a command, its stderr in the error (bench/ports.ts uses it too). */
export function sh(cmd: string, ...args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${err.stderr?.trim() || err.message}`);
  }
}

export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The kernel's lb: swap the Ethernet addresses and send back (XDP_TX). */
function macSwapTxAsm(): Asm {
  return new Asm()
    .ldx("w", R2, R1, XdpMd.data)
    .ldx("w", R3, R1, XdpMd.data_end)
    .mov64(R4, R2)
    .add64(R4, 14)
    .jgt(R4, R3, "drop")
    .ldx("w", R4, R2, 0).ldx("h", R5, R2, 4).ldx("w", R3, R2, 6).stx("w", R2, 0, R3).ldx("h", R3, R2, 10).stx("h", R2, 4, R3)
    .stx("w", R2, 6, R4).stx("h", R2, 10, R5)
    .mov64(R0, XdpAction.TX)
    .exit()
    .label("drop")
    .mov64(R0, XdpAction.DROP)
    .exit();
}

/**
 * The generator's return path for the l3fwd fast path: txgen's `rx count` program (packets and bytes of
 * IPv4 frames into `mapFd`, then XDP_DROP) that first gives each IPv4 frame its TTL back (+1, checksum by
 * RFC 1624). Live frames are pages the kernel keeps between sends: a frame the fast path redirects back is
 * the generator's own page, and without this its TTL would run down by one per round trip until the
 * forwarder drops it. (Frames through user space are copies; lb's MAC swap is harmless.)
 */
function ttlRestoreCountAsm(mapFd: number): Asm {
  return new Asm()
    .ldx("w", R2, R1, XdpMd.data)
    .ldx("w", R3, R1, XdpMd.data_end)
    .mov64(R4, R2)
    .add64(R4, 34)
    .jgt(R4, R3, "pass")
    .ldx("h", R4, R2, 12)
    .jne(R4, 0x0008, "pass") // 0x0800 as loaded on a little-endian CPU
    .ldx("b", R4, R2, 22)
    .jeq(R4, 255, "count")
    .ldx("h", R4, R2, 22).toBe(R4, 16) // m = TTL << 8 | protocol
    .mov64(R5, R4).add64(R5, 0x100) // m' = TTL + 1
    .ldx("h", R0, R2, 24).toBe(R0, 16) // HC
    .xor64(R0, 0xffff).xor64(R4, 0xffff).add64(R0, R4).add64(R0, R5) // ~HC + ~m + m'
    .mov64(R4, R0).rsh64(R4, 16).and64(R0, 0xffff).add64(R0, R4)
    .mov64(R4, R0).rsh64(R4, 16).and64(R0, 0xffff).add64(R0, R4)
    .xor64(R0, 0xffff) // HC' = ~(...)
    .toBe(R0, 16).stx("h", R2, 24, R0)
    .toBe(R5, 16).stx("h", R2, 22, R5)
    .label("count")
    .mov64(R6, R1)
    .call(188) // xdp_get_buff_len
    .mov64(R7, R0)
    .st("w", FP, -4, 0)
    .mov64(R2, FP)
    .add64(R2, -4)
    .ldMapFd(R1, mapFd)
    .call(Helper.map_lookup_elem)
    .jeq(R0, 0, "out")
    .mov64(R1, 1)
    .atomicAdd("dw", R0, 0, R1)
    .atomicAdd("dw", R0, 8, R7)
    .label("out")
    .mov64(R0, XdpAction.DROP)
    .exit()
    .label("pass")
    .mov64(R0, XdpAction.PASS)
    .exit();
}

/** Two namespaces and the veth pair, threaded NAPI on both ends. */
export class Bed {
  readonly gen = `bgen${process.pid % 10000}`;
  readonly dut = `bdut${process.pid % 10000}`;
  readonly tg = `tg${process.pid % 10000}`;
  readonly fw = `fw${process.pid % 10000}`;
  fwMac = "";
  tgMac = "";

  up(): void {
    for (const tool of ["ethtool", "taskset", "renice", "ps"]) {
      try {
        execFileSync("which", [tool], { stdio: "ignore" });
      } catch {
        throw new Error(`the veth benchmark needs ${tool} (ethtool: apt-get install -y ethtool; taskset, renice: util-linux; ps: procps)`);
      }
    }
    for (const ns of [this.gen, this.dut]) {
      sh("ip", "netns", "add", ns);
      sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
    }
    sh("ip", "link", "add", this.tg, "netns", this.gen, "type", "veth", "peer", "name", this.fw, "netns", this.dut);
    for (const [ns, dev] of [[this.gen, this.tg], [this.dut, this.fw]] as const) {
      sh("ip", "-n", ns, "link", "set", dev, "up");
      sh("ip", "netns", "exec", ns, "ethtool", "-K", dev, "gro", "on");
      sh("ip", "netns", "exec", ns, "sh", "-c", `echo 1 > /sys/class/net/${dev}/threaded`);
    }
    this.fwMac = JSON.parse(sh("ip", "-n", this.dut, "-j", "link", "show", this.fw))[0].address;
    this.tgMac = JSON.parse(sh("ip", "-n", this.gen, "-j", "link", "show", this.tg))[0].address;
  }

  /** NAPI kthread pids by netdev, as last pinned. */
  readonly napiPids = new Map<string, number[]>();

  /** Netdevs whose NAPI a scenario made unthreaded. */
  readonly unthreaded = new Set<string>();

  /** Nice value given to the NAPI kthreads (0: left alone). */
  nice = 0;

  /**
   * SCHED_FIFO priority for the NAPI kthreads (0: SCHED_OTHER at `nice`). The paced layout 1 scenarios
   * use it: a paced live-frames sender sends what is due in one call (a burst every 20 ms: each call
   * costs ~27 ms of kernel setup here, so finer pacing is impossible), and a NAPI thread that preempts
   * the sender at its next batch keeps the burst from overflowing the veth's 256-frame ring.
   */
  rtPrio = 0;

  /** Pins the NAPI kthreads of a netdev (napi/<dev>-<id>) to a CPU. */
  pinNapi(dev: string, cpu: number, rtPrio = this.rtPrio): number {
    const out = sh("ps", "-e", "-o", "pid=,comm=");
    const pids: number[] = [];
    for (const line of out.split("\n")) {
      const m = /^\s*(\d+)\s+napi\/(\S+)-\d+$/.exec(line);
      if (m && m[2] === dev) {
        sh("taskset", "-pc", String(cpu), m[1]!);
        if (rtPrio > 0) sh("chrt", "-f", "-p", String(rtPrio), m[1]!);
        else sh("chrt", "-o", "-p", "0", m[1]!);
        if (this.nice !== 0) sh("renice", "-n", String(this.nice), "-p", m[1]!);
        pids.push(Number(m[1]));
      }
    }
    // Not threaded (a scenario turned it off): NAPI runs in softirq, where the CPU raising it decides.
    if (pids.length === 0 && !this.unthreaded.has(dev)) throw new Error(`no NAPI thread napi/${dev}-N found: is ${dev} threaded?`);
    this.napiPids.set(dev, pids);
    return pids.length;
  }

  /** CPU time (s) the NAPI kthreads of a netdev have used (utime + stime from /proc). */
  napiCpu(dev: string): number {
    let ticks = 0;
    for (const pid of this.napiPids.get(dev) ?? []) {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, "utf8");
        const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
        ticks += Number(rest[11]) + Number(rest[12]);
      } catch { /* gone */ }
    }
    return ticks / 100;
  }

  /**
   * The DUT end's counters: what its NAPI ran XDP on and redirected, what the generator's redirects into
   * its queue lost (veth ring full: tx_queue_0_xdp_xmit_errors), and what NAPI processed inside busy
   * polling (BusyPollRxPackets of the namespace's netstat).
   */
  dutCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    const eth = sh("ip", "netns", "exec", this.dut, "ethtool", "-S", this.fw);
    for (const k of ["rx_queue_0_xdp_packets", "rx_queue_0_xdp_redirect", "rx_queue_0_xdp_drops", "tx_queue_0_xdp_xmit", "tx_queue_0_xdp_xmit_errors"]) {
      const m = new RegExp(`${k}: (\\d+)`).exec(eth);
      out[k.replace("rx_queue_0_", "dut_").replace("tx_queue_0_", "into_dut_")] = m ? Number(m[1]) : 0;
    }
    const ns = sh("ip", "netns", "exec", this.dut, "cat", "/proc/net/netstat").split("\n");
    const h = ns.find((l) => l.startsWith("TcpExt:"))?.split(" ") ?? [];
    const v = ns.filter((l) => l.startsWith("TcpExt:"))[1]?.split(" ") ?? [];
    const i = h.indexOf("BusyPollRxPackets");
    out["busy_poll_rx_packets"] = i > 0 ? Number(v[i]) : 0;
    return out;
  }

  /** Reads a netdev's sysfs attribute in its namespace. */
  sysfs(ns: string, dev: string, name: string): string {
    return sh("ip", "netns", "exec", ns, "cat", `/sys/class/net/${dev}/${name}`).trim();
  }

  /** Writes NAPI knobs of a netdev in its namespace; returns the values they had. */
  setKnobs(ns: string, dev: string, k: NapiKnobs): NapiKnobs {
    const old: NapiKnobs = {};
    for (const [name, v] of Object.entries(k) as [keyof NapiKnobs, number][]) {
      old[name] = Number(this.sysfs(ns, dev, name));
      sh("ip", "netns", "exec", ns, "sh", "-c", `echo ${v} > /sys/class/net/${dev}/${name}`);
      if (name === "threaded") {
        if (v === 0) this.unthreaded.add(dev);
        else this.unthreaded.delete(dev);
      }
    }
    return old;
  }

  /**
   * Layout 2: the generator end's NAPI (the return path, part of the instrument) at SCHED_FIFO, so the
   * senders spinning on its CPU do not hold back what the one-core pod sends (veth then stops the pod's
   * TX queue: its sendto() answers EAGAIN).
   */
  genRtPrio = 0;

  pin(dutCpu: number): void {
    this.pinNapi(this.tg, GEN_CPU, Math.max(this.rtPrio, this.genRtPrio));
    this.pinNapi(this.fw, dutCpu);
  }

  down(): void {
    for (const ns of [this.gen, this.dut]) try { sh("ip", "netns", "del", ns); } catch { /* gone */ }
  }
}

/** Tids of this process's threads pinned to exactly `cpu` (the forwarder's worker in the fwd scenarios). */
function threadsPinnedTo(cpu: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/self/task/${t}/status`, "utf8"));
      if (m && m[1] === String(cpu)) out.push(Number(t));
    } catch { /* gone */ }
  }
  return out;
}

/**
 * Scheduling policy of this process's threads pinned to `cpu` (the generator's senders on GEN_CPU):
 * SCHED_FIFO at `prio` in the paced scenarios (below the NAPI threads, above other tenants), else back to
 * SCHED_OTHER.
 */
function setPinnedPolicy(cpu: number, prio: number): void {
  for (const t of threadsPinnedTo(cpu)) {
    try {
      sh("chrt", ...(prio > 0 ? ["-f", "-p", String(prio)] : ["-o", "-p", "0"]), String(t));
    } catch { /* gone */ }
  }
}

/** User and system CPU time (s) of threads of this process. */
function taskTimes(tids: number[]): { usr: number; sys: number } {
  let usr = 0, sys = 0;
  for (const t of tids) {
    try {
      const f = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
      usr += Number(rest[11]);
      sys += Number(rest[12]);
    } catch { /* gone */ }
  }
  return { usr: usr / 100, sys: sys / 100 };
}

/** A softirq's count on one CPU (/proc/softirqs). */
function softirqs(name: string, cpu: number): number {
  const line = readFileSync("/proc/softirqs", "utf8").split("\n").find((l) => l.trim().startsWith(`${name}:`));
  return line ? Number(line.trim().split(/\s+/)[cpu + 1]) : 0;
}

/** Context switches (voluntary + not) of processes: how often a NAPI thread went to sleep or was preempted. */
function ctxSwitches(pids: number[]): number {
  let n = 0;
  for (const pid of pids) {
    try {
      const st = readFileSync(`/proc/${pid}/status`, "utf8");
      for (const m of st.matchAll(/ctxt_switches:\s*(\d+)/g)) n += Number(m[1]);
    } catch { /* gone */ }
  }
  return n;
}

export interface Getters {
  offered: () => number;
  dutRx?: () => number;
  returned?: () => number;
  /** The forwarder's thread ids (CPU time), and named cumulative counters (rates per second reported). */
  fwdTids?: number[];
  counters?: () => Record<string, number>;
}

/** Measures: warm-up, then `runs` windows of `seconds`; every getter returns a cumulative packet count. */
export async function measure(bed: Bed, seconds: number, runs: number, get: Getters): Promise<Sample[]> {
  await sleep(1000);
  const out: Sample[] = [];
  const napi = () => bed.napiPids.get(bed.fw) ?? [];
  const counters = (): Record<string, number> => ({ ...(get.counters?.() ?? {}), ...bed.dutCounters(), net_rx_softirqs: softirqs("NET_RX", DUT_CPU), net_tx_softirqs: softirqs("NET_TX", DUT_CPU), dut_napi_ctx_switches: ctxSwitches(napi()) });
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const o0 = get.offered(), d0 = get.dutRx?.() ?? 0, b0 = get.returned?.() ?? 0;
    const n0 = bed.napiCpu(bed.fw), g0 = bed.napiCpu(bed.tg);
    const f0 = taskTimes(get.fwdTids ?? []);
    const c0 = counters();
    await sleep(seconds * 1000);
    const dt = (performance.now() - t0) / 1000;
    const o1 = get.offered(), d1 = get.dutRx?.() ?? 0, b1 = get.returned?.() ?? 0;
    const f1 = taskTimes(get.fwdTids ?? []);
    const c1 = counters();
    const rates: Record<string, number> = {};
    for (const k of Object.keys(c1)) rates[k] = Math.round(((c1[k] ?? 0) - (c0[k] ?? 0)) / dt);
    out.push({
      offered: (o1 - o0) / dt / 1e6,
      dutRx: get.dutRx ? (d1 - d0) / dt / 1e6 : null,
      returned: get.returned ? (b1 - b0) / dt / 1e6 : null,
      dutNapiCpu: (bed.napiCpu(bed.fw) - n0) / dt,
      genNapiCpu: (bed.napiCpu(bed.tg) - g0) / dt,
      ...(get.fwdTids ? { fwdUsr: (f1.usr - f0.usr) / dt, fwdSys: (f1.sys - f0.sys) / dt } : {}),
      counters: rates,
    });
  }
  return out;
}

export function summarize(id: string, layout: 0 | 1 | 2, what: string, runs: Sample[]): ScenarioResult {
  const med = (k: keyof Sample) => (runs[0]![k] === null ? null : median(runs.map((s) => s[k] as number)));
  const r: ScenarioResult = { id, layout, what, offered: med("offered")!, dutRx: med("dutRx"), returned: med("returned"), dutNapiCpu: med("dutNapiCpu")!, genNapiCpu: med("genNapiCpu")!, runs };
  if (runs[0]!.fwdUsr !== undefined) {
    r.fwdCpu = median(runs.map((s) => s.fwdUsr! + s.fwdSys!));
    // ns of the forwarder's CPU time per packet it returned (received, in rx-only), the median of the runs'.
    const per = runs.map((s) => { const p = s.returned ?? s.dutRx ?? 0; return p > 0 ? ((s.fwdUsr! + s.fwdSys!) * 1e3) / p : Infinity; });
    r.fwdNsPerPkt = per.some(Number.isFinite) ? median(per) : null;
  }
  return r;
}

/** A forwarder scenario: mode, layout, busy polling, the DUT netdev's NAPI knobs, pacing. */
export interface FwdSpec {
  id: string;
  layout: 1 | 2;
  what: string;
  mode: "lb" | "rx-only" | "l3fwd";
  /** Busy polling on the port (lport busy_poll, busy_timeout µs, busy_budget); absent or false: off. */
  busyPoll?: false | { timeoutUs?: number; budget?: number };
  /** NAPI knobs the benchmark writes on the DUT's netdev before the forwarder opens (restored after). */
  knobs?: NapiKnobs;
  /** The generator paced to this rate (Mpps); absent: unpaced. */
  pacedMpps?: number;
  /** Forwarder burst (default: the config's 64, or XDPLANE_BENCH_BURST). */
  burst?: number;
  xdpFastpath?: boolean;
  /** Live-frames sender threads (default: the layout's). */
  genThreads?: number;
  /** Extra lport, thread and defaults keys (experiments). */
  lport?: Record<string, unknown>;
  thread?: Record<string, unknown>;
  defaults?: Record<string, unknown>;
}

/** The netdev's NAPI knobs in sysfs (a value per key; absent: left alone). */
export interface NapiKnobs {
  threaded?: number;
  napi_defer_hard_irqs?: number;
  gro_flush_timeout?: number;
}

function fwdConfig(bed: Bed, spec: FwdSpec, options: Record<string, unknown> = {}): string {
  const bp = spec.busyPoll ? spec.busyPoll : null;
  const burst = spec.burst ?? (process.env["XDPLANE_BENCH_BURST"] ? Number(process.env["XDPLANE_BENCH_BURST"]) : undefined);
  return JSON.stringify({
    ...(Object.keys(options).length > 0 ? { options } : {}),
    application: { name: "bench-fwd" },
    defaults: { bufcnt: 16, bufsz: 2, rxdesc: 2, txdesc: 2, cache: 256, mtype: "4KB", ...(burst !== undefined ? { burst } : {}), ...(spec.defaults ?? {}) },
    umems: { umem0: { bufcnt: 16, bufsz: 2, mtype: "4KB", ...(spec.defaults ?? {}) } },
    lports: {
      [`${bed.fw}:0`]: {
        pmd: "net_af_xdp", qid: 0, umem: "umem0",
        ...(bp ? { busy_poll: true, ...(bp.timeoutUs !== undefined ? { busy_timeout: bp.timeoutUs } : {}), ...(bp.budget !== undefined ? { busy_budget: bp.budget } : {}) } : {}),
        ...(spec.lport ?? {}),
      },
    },
    "lcore-groups": { initial: [GEN_CPU], fwd: [DUT_CPU] },
    threads: { main: { group: "initial" }, "fwd:0": { group: "fwd", lports: [`${bed.fw}:0`], idle_timeout: 0, ...(spec.thread ?? {}) } },
  });
}

/**
 * One line on what limits a figure, from the same window's counters: the pacing (everything offered came
 * back), a CPU at its limit (the forwarder's thread, the DUT's NAPI thread, or both sharing one CPU in
 * layout 2), or a busy poll that cannot run NAPI (no NAPI id on the socket).
 */
export function limitOf(r: ScenarioResult, napiId = r.napiId): string {
  const main = r.returned ?? r.dutRx ?? 0;
  const parts: string[] = [];
  const counters = r.runs.map((x) => x.counters ?? {});
  const med = (k: string) => median(counters.map((c) => c[k] ?? 0));
  if (r.pacedMpps !== undefined && r.offered < 0.95 * r.pacedMpps) {
    parts.push(`the generator's CPU ${GEN_CPU} (offered ${r.offered.toFixed(2)} of ${r.pacedMpps} Mpps asked): the DUT's NAPI took ${pct(r.dutNapiCpu)} of it and the generator end's ` +
      `${pct(r.genNapiCpu)}${r.fwdCpu !== undefined ? " (turning the forwarder's copy-mode skbs back into XDP frames)" : ""}, both ahead of the senders, beside the machine's other load`);
  }
  else if (r.pacedMpps !== undefined && main >= 0.98 * r.offered) parts.push(`offered load (paced ${r.pacedMpps} Mpps; all of it returned)`);
  if (r.fwdCpu !== undefined && r.returned !== null && med("opackets") > 1.05 * r.returned * 1e6) {
    parts.push(`the return path: the forwarder sent ${(med("opackets") / 1e6).toFixed(2)} Mpps, the generator's end counted ${r.returned.toFixed(2)} (its NAPI on CPU ${GEN_CPU} turns each copy-mode skb back into an XDP frame, sharing the CPU with the senders)`);
  }
  if (r.layout === 2 && r.fwdCpu !== undefined) {
    parts.push(`CPU ${DUT_CPU} shared: DUT NAPI ${pct(r.dutNapiCpu)} + forwarder ${pct(r.fwdCpu)}; the NAPI thread ran XDP on ${(med("dut_xdp_packets") / 1e6).toFixed(2)} Mpps, ` +
      `${(med("rx_fill_ring_empty_descs") / 1e6).toFixed(2)} M/s lost on an empty fill ring and ${(med("rx_ring_full") / 1e6).toFixed(2)} M/s on a full RX ring`);
  } else {
    if (r.fwdCpu !== undefined && r.fwdCpu >= 0.9) parts.push(`forwarder CPU ${pct(r.fwdCpu)} (${r.fwdNsPerPkt?.toFixed(0) ?? "-"} ns/pkt)`);
    if (r.dutNapiCpu >= 0.9) parts.push(`DUT NAPI CPU ${pct(r.dutNapiCpu)}${r.layout === 1 ? `, shared with the generator on CPU ${GEN_CPU}` : ""}`);
  }
  if (napiId === 0 && r.id.includes("busypoll")) parts.push("busy polling cannot run NAPI: the copy-mode socket has no NAPI id (BusyPollRxPackets " + med("busy_poll_rx_packets") + "/s)");
  if (parts.length === 0) {
    parts.push(`no thread of the bed at its CPU's limit (${r.fwdCpu !== undefined ? `forwarder ${pct(r.fwdCpu)}, ` : ""}DUT NAPI ${pct(r.dutNapiCpu)}, ` +
      `generator-end NAPI ${pct(r.genNapiCpu)}): the senders' CPU ${GEN_CPU}, shared with the machine's other load (load average ${loadavg()[0]!.toFixed(1)})`);
  }
  return parts.join("; ");
}

/** What txgen's AF_XDP engine offers into an XDP_DROP (counted) on the far end. */
async function afxdpGenerator(bed: Bed, seconds: number, runs: number, log: (m: string) => void): Promise<ScenarioResult[]> {
  const af = await startTxgen({ log: () => {}, ports: [{ ifname: bed.tg, netns: bed.gen, cpus: [GEN_CPU], settings: ["engine afxdp", "rx on", "size 64", `dst mac ${bed.fwMac}`] }] });
  const count = CountProgram.load();
  let link: XdpLink | null = null;
  try {
    link = inNamespace(bed.dut, () => XdpLink.attach(count.prog, bed.fw, { mode: "drv" }));
    bed.pin(DUT_CPU);
    await af.start();
    const s = await measure(bed, seconds, runs, { offered: () => af.ports[0]!.txTotals()[0], dutRx: () => count.read()[0] });
    await af.stop();
    const r = summarize("gen-afxdp-into-drop", 0, `txgen AF_XDP (copy mode, CPU ${GEN_CPU}) into XDP_DROP`, s);
    r.limit = r.dutNapiCpu >= 0.9 ? `far-end NAPI CPU ${pct(r.dutNapiCpu)}` : `the sender's CPU ${GEN_CPU}: copy-mode TX builds and sends an skb per frame inside sendto()`;
    log(`${r.id}: offered ${r.offered.toFixed(2)} Mpps, dropped ${r.dutRx!.toFixed(2)} Mpps`);
    return [r];
  } finally {
    link?.close();
    count.close();
    await af.close();
  }
}

export async function vethBench(o: { seconds?: number; runs?: number; genThreads?: number; log?: (m: string) => void; only?: string; nice?: number; probes?: FwdSpec[] } = {}): Promise<VethResult> {
  const want = (id: string) => o.only === undefined || o.only.split(",").some((p) => id.startsWith(p));
  const seconds = o.seconds ?? 3;
  const runs = o.runs ?? 3;
  // Live-frames senders: layout 1 shares the generator's CPU with the DUT's NAPI thread, so one sender
  // (its kernel setup pauses leave the CPU to NAPI); layout 2 gives the generator its CPU, so two.
  const threadsFor = (layout: 0 | 1 | 2) => o.genThreads ?? (layout === 1 ? 1 : 2);
  const genThreads = o.genThreads ?? 0;
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const machine = { nproc: cpus().length, model: cpus()[0]?.model ?? "?", kernel: release(), node: process.version, loadavgStart: loadavg(), loadavgEnd: [] as number[] };
  const bed = new Bed();
  // Other work on a shared machine takes CPU from the pinned threads; a lower nice value for this process
  // (its worker threads inherit it) and the NAPI kthreads keeps them ahead without starving anything.
  const nice = o.nice ?? -10;
  if (nice !== 0) {
    sh("renice", "-n", String(nice), "-p", String(process.pid));
    bed.nice = nice;
  }
  const scenarios: ScenarioResult[] = [];
  let tg: Txgen | null = null;
  try {
    bed.up();
    // The AF_XDP engine first (it needs the netdev without the live generator's count program).
    if (!o.probes && want("gen-afxdp")) scenarios.push(...(await afxdpGenerator(bed, seconds, runs, log)));
    // The generator: live frames out of tg, counting (XDP) what comes back to tg.
    tg = await startTxgen({
      log: () => {},
      ports: [{ ifname: bed.tg, netns: bed.gen, cpus: [GEN_CPU], settings: ["engine live", "rx count", `threads ${threadsFor(1)}`, "size 64", `dst mac ${bed.fwMac}`] }],
    });
    const gen = tg;
    const offered = () => gen.ports[0]!.txTotals()[0];
    const returned = () => gen.ports[0]!.rxTotals()[0];

    const kernel = async (id: string, layout: 0 | 1 | 2, what: string, dutCpu: number, kind: "drop" | "tx", threads = threadsFor(layout), pacedMpps?: number) => {
      gen.set(`0 threads ${threads}`);
      gen.set(`0 rate ${pacedMpps !== undefined ? `${pacedMpps}mpps` : "100"}`);
      bed.rtPrio = pacedMpps !== undefined ? PACED_NAPI_RT_PRIO : 0;
      bed.genRtPrio = layout === 2 ? PACED_NAPI_RT_PRIO : 0;
      setPinnedPolicy(GEN_CPU, pacedMpps !== undefined ? PACED_GEN_RT_PRIO : 0);
      const count = kind === "drop" ? CountProgram.load() : null;
      const prog = count ? count.prog : Program.load({ type: ProgType.XDP, name: "bench_macswap", insns: macSwapTxAsm() });
      const link = inNamespace(bed.dut, () => XdpLink.attach(prog, bed.fw, { mode: "drv" }));
      try {
        bed.pin(dutCpu);
        await gen.start();
        const s = await measure(bed, seconds, runs, kind === "drop" ? { offered, dutRx: () => count!.read()[0] } : { offered, returned });
        await gen.stop();
        const r = summarize(id, layout, what, s);
        if (pacedMpps !== undefined) r.pacedMpps = pacedMpps;
        r.limit = limitOf(r);
        log(`${id}: offered ${r.offered.toFixed(2)} Mpps, ${kind === "drop" ? `dropped ${r.dutRx!.toFixed(2)}` : `returned ${r.returned!.toFixed(2)}`} Mpps; NAPI CPU dut ${pct(r.dutNapiCpu)} gen ${pct(r.genNapiCpu)}`);
        return r;
      } finally {
        gen.set("0 rate 100");
        setPinnedPolicy(GEN_CPU, 0);
        link.close();
        if (count) count.close();
        else prog.close();
      }
    };

    const fwd = async (spec: FwdSpec): Promise<ScenarioResult> => {
      const { id, layout, what, mode } = spec;
      const dutCpu = layout === 1 ? GEN_CPU : DUT_CPU;
      const xdpFastpath = spec.xdpFastpath ?? false;
      gen.set(`0 threads ${spec.genThreads ?? threadsFor(layout)}`);
      gen.set(`0 rate ${spec.pacedMpps !== undefined ? `${spec.pacedMpps}mpps` : "100"}`);
      bed.rtPrio = spec.pacedMpps !== undefined ? PACED_NAPI_RT_PRIO : 0;
      bed.genRtPrio = layout === 2 ? PACED_NAPI_RT_PRIO : 0;
      setPinnedPolicy(GEN_CPU, spec.pacedMpps !== undefined ? PACED_GEN_RT_PRIO : 0);
      // l3fwd: one default route, back to the generator's end through the only port.
      const options = mode === "l3fwd" ? { "l3fwd-fib-rules": [`0.0.0.0/0,${bed.tgMac},0`] } : {};
      const { config } = parseConfig(fwdConfig(bed, spec, options), "bench-fwd.jsonc", { cpuCheck: "off" });
      const oldKnobs = spec.knobs ? bed.setKnobs(bed.dut, bed.fw, spec.knobs) : null;
      const before = new Set(threadsPinnedTo(DUT_CPU));
      let app: FwdApp | null = null;
      // The fast path sends the generator's own pages back: its return program restores their TTL.
      const tgPort = gen.ports[0]!;
      let restore: Program | null = null;
      try {
        app = await FwdApp.start({ config, mode, netns: bed.dut, log: process.env["XDPLANE_BENCH_LOG"] ? log : () => {}, ...(xdpFastpath ? { xdpFastpath } : {}) });
        const fwdTids = threadsPinnedTo(DUT_CPU).filter((t) => !before.has(t));
        // Paced layout 1: the forwarder alone on its CPU, at the NAPI threads' real-time priority, so the
        // other tenants of a shared machine do not take its CPU (its cost per packet is the figure).
        if (spec.pacedMpps !== undefined && layout === 1) for (const t of fwdTids) sh("chrt", "-f", "-p", String(PACED_NAPI_RT_PRIO), String(t));
        if (xdpFastpath) {
          if (!tgPort.countProg || !tgPort.countLink) throw new Error("the generator has no rx count program to replace");
          restore = Program.load({ type: ProgType.XDP, name: "bench_ttl_count", insns: ttlRestoreCountAsm(tgPort.countProg.map.fd) });
          tgPort.countLink.update(restore);
        }
        bed.pin(dutCpu);
        await gen.start();
        const port = app.ports[0]!;
        // With the fast path most frames never reach the socket: the DUT's receive count is the program's.
        const fp = app.fastPath;
        const dutRx = fp ? () => { const c = fp.counters(); return c.forwarded + c.redirectFailed + c.toUser; } : () => port.stats[ST_IPACKETS]!;
        const xskCounters = () => {
          const st = port.readStats();
          const out: Record<string, number> = {};
          for (const k of ["opackets", "rx_ring_full", "rx_dropped", "rx_fill_ring_empty_descs", "tx_ring_empty_descs", "rx_empty_polls", "rx_wakeups", "tx_kicks", "tx_kick_again", "busy_polls", "fill_nobuf"]) out[k] = st[k] ?? 0;
          return out;
        };
        const s = await measure(bed, seconds, runs, { offered, dutRx, ...(mode !== "rx-only" ? { returned } : {}), fwdTids, counters: xskCounters });
        // The NAPI the socket would busy-poll (0: none, so busy polling cannot run NAPI).
        const nid = new Int32Array(1);
        const xfd = (port as unknown as { pollFd(): number }).pollFd();
        const nrc = sys.getsockopt(xfd, SOL_SOCKET, SO_INCOMING_NAPI_ID, new Uint8Array(nid.buffer));
        const napiId = nrc >= 0 ? nid[0]! : -1;
        log(`${id}: socket napi id ${nrc >= 0 ? nid[0] : `? (${nrc})`}, NAPI threads ${(bed.napiPids.get(bed.fw) ?? []).map((p) => { try { return readFileSync(`/proc/${p}/comm`, "utf8").trim(); } catch { return "?"; } }).join(",")}`);
        await gen.stop();
        const r = summarize(id, layout, what, s);
        if (spec.pacedMpps !== undefined) r.pacedMpps = spec.pacedMpps;
        r.napiId = napiId;
        r.limit = limitOf(r);
        const c = median(s.map((x) => x.counters!["rx_ring_full"] ?? 0));
        log(`${id}: offered ${r.offered.toFixed(2)} Mpps, forwarder rx ${r.dutRx!.toFixed(2)}${r.returned !== null ? `, returned ${r.returned.toFixed(2)}` : ""} Mpps (tx ${(port.stats[ST_OPACKETS]! / 1e6).toFixed(1)} M total); ` +
          `NAPI CPU dut ${pct(r.dutNapiCpu)} gen ${pct(r.genNapiCpu)}; forwarder CPU ${pct(r.fwdCpu ?? 0)} (${r.fwdNsPerPkt?.toFixed(0) ?? "-"} ns/pkt); rx_ring_full ${(c / 1e6).toFixed(2)} M/s`);
        if (fp) {
          const fc = fp.counters();
          const u = app.portModeCounters(0);
          log(`${id}: XDP fast path: forwarded ${fc.forwarded}, to user space ${fc.toUser} (TTL ${fc.ttlExceeded}, no route ${fc.noRoute}), redirect failed ${fc.redirectFailed}; ` +
            `user space: forwarded ${u["n_l3fwd_forwarded_packets"]}, dropped ${u["n_l3fwd_no_route_packets"]! + u["n_l3fwd_ttl_expired_packets"]! + u["n_l3fwd_invalid_packets"]!}`);
        }
        return r;
      } finally {
        if (restore) {
          tgPort.countLink!.update(tgPort.countProg!.prog);
          restore.close();
        }
        await app?.stop();
        if (oldKnobs) bed.setKnobs(bed.dut, bed.fw, oldKnobs);
        gen.set("0 rate 100");
        setPinnedPolicy(GEN_CPU, 0);
      }
    };

    if (o.probes) {
      for (const p of o.probes) scenarios.push(await fwd(p));
      return { machine, nice, seconds, runs, genThreads, scenarios };
    }
    // Generator engines into an XDP drop, the DUT's NAPI on the other CPU.
    for (const n of [1, 2, 3]) {
      const id = `gen-live${n}-into-drop`;
      if (want(id)) scenarios.push(await kernel(id, 0, `txgen live frames (${n} thread${n > 1 ? "s" : ""}, CPU ${GEN_CPU}) into XDP_DROP`, DUT_CPU, "drop", n));
    }
    // Layout 1: DUT NAPI on the generator's CPU, the forwarder alone on the other.
    if (want("l1-kernel-xdp-tx")) scenarios.push(await kernel("l1-kernel-xdp-tx", 1, "kernel XDP_TX (MAC swap), returned", GEN_CPU, "tx"));
    if (want("l1-kernel-xdp-drop")) scenarios.push(await kernel("l1-kernel-xdp-drop", 1, "kernel XDP_DROP", GEN_CPU, "drop"));
    if (want("l1-fwd-lb")) scenarios.push(await fwd({ id: "l1-fwd-lb", layout: 1, what: "xdplane fwd lb, returned", mode: "lb" }));
    if (want("l1-fwd-rx-only")) scenarios.push(await fwd({ id: "l1-fwd-rx-only", layout: 1, what: "xdplane fwd rx-only", mode: "rx-only" }));
    // net_af_packet (TPACKET_V3, no XDP program) beside it in the same run (issue 12; bench/ports.ts's table).
    if (want("l1-fwd-rx-only-afpacket")) scenarios.push(await fwd({ id: "l1-fwd-rx-only-afpacket", layout: 1, what: "xdplane fwd rx-only on net_af_packet", mode: "rx-only", lport: { pmd: "net_af_packet" } }));
    if (want("l1-fwd-l3fwd-user")) scenarios.push(await fwd({ id: "l1-fwd-l3fwd-user", layout: 1, what: "xdplane fwd l3fwd (user space), returned", mode: "l3fwd" }));
    if (want("l1-fwd-l3fwd-xdp")) scenarios.push(await fwd({ id: "l1-fwd-l3fwd-xdp", layout: 1, what: "xdplane fwd l3fwd --xdp-fastpath, returned", mode: "l3fwd", xdpFastpath: true }));
    // Layout 1 at fixed offered rates: the forwarder, not the generator (issue 14). The kernel's XDP_TX
    // under the same pacing; the forwarder spinning (idle_timeout 0) and sleeping when idle (1 ms).
    for (const rate of PACED_MPPS) {
      const at = `at-${rate}`;
      if (want(`l1-kernel-xdp-tx-${at}`)) scenarios.push(await kernel(`l1-kernel-xdp-tx-${at}`, 1, `kernel XDP_TX, paced ${rate} Mpps`, GEN_CPU, "tx", threadsFor(1), rate));
      if (want(`l1-fwd-lb-${at}`)) scenarios.push(await fwd({ id: `l1-fwd-lb-${at}`, layout: 1, what: `xdplane fwd lb, paced ${rate} Mpps`, mode: "lb", pacedMpps: rate }));
      if (want(`l1-fwd-lb-idle-${at}`)) scenarios.push(await fwd({ id: `l1-fwd-lb-idle-${at}`, layout: 1, what: `xdplane fwd lb, idle_timeout 1 ms, paced ${rate} Mpps`, mode: "lb", pacedMpps: rate, thread: IDLE_THREAD }));
      // issue 9's l3fwd beside lb at the same offered rate (unpaced, each scenario is offered what the
      // generator's CPU has left, which the forwarder's own return traffic decides)
      if (want(`l1-fwd-l3fwd-user-${at}`)) scenarios.push(await fwd({ id: `l1-fwd-l3fwd-user-${at}`, layout: 1, what: `xdplane fwd l3fwd (user space), paced ${rate} Mpps`, mode: "l3fwd", pacedMpps: rate }));
      if (want(`l1-fwd-l3fwd-xdp-${at}`)) scenarios.push(await fwd({ id: `l1-fwd-l3fwd-xdp-${at}`, layout: 1, what: `xdplane fwd l3fwd --xdp-fastpath, paced ${rate} Mpps`, mode: "l3fwd", xdpFastpath: true, pacedMpps: rate }));
    }
    // Layout 2: DUT NAPI on the forwarder's CPU.
    if (want("l2-kernel-xdp-tx")) scenarios.push(await kernel("l2-kernel-xdp-tx", 2, "kernel XDP_TX (MAC swap), returned", DUT_CPU, "tx"));
    if (want("l2-fwd-lb")) scenarios.push(await fwd({ id: "l2-fwd-lb", layout: 2, what: "xdplane fwd lb, returned", mode: "lb" }));
    if (want("l2-fwd-lb-busypoll")) scenarios.push(await fwd({ id: "l2-fwd-lb-busypoll", layout: 2, what: "xdplane fwd lb with busy poll, returned", mode: "lb", busyPoll: {} }));
    if (want("l2-fwd-lb-shared")) scenarios.push(await fwd({ id: "l2-fwd-lb-shared", layout: 2, what: "xdplane fwd lb, one-core settings (idle_timeout 1 ms, 8K RX ring), returned", mode: "lb", thread: IDLE_THREAD, defaults: SHARED_CORE_RINGS }));
    if (want("l2-fwd-l3fwd-user")) scenarios.push(await fwd({ id: "l2-fwd-l3fwd-user", layout: 2, what: "xdplane fwd l3fwd (user space), returned", mode: "l3fwd" }));
    if (want("l2-fwd-l3fwd-xdp")) scenarios.push(await fwd({ id: "l2-fwd-l3fwd-xdp", layout: 2, what: "xdplane fwd l3fwd --xdp-fastpath, returned", mode: "l3fwd", xdpFastpath: true }));
    if (want("l2-fwd-rx-only")) scenarios.push(await fwd({ id: "l2-fwd-rx-only", layout: 2, what: "xdplane fwd rx-only", mode: "rx-only" }));
  } finally {
    await tg?.close();
    bed.down();
  }
  machine.loadavgEnd = loadavg();
  return { machine, nice, seconds, runs, genThreads, scenarios };
}

/** A ratio as "0.85x", or "-" when either side is missing. */
function ratio(a: number | null | undefined, b: number | null | undefined): string {
  return a === null || a === undefined || b === null || b === undefined || b === 0 ? "-" : `${(a / b).toFixed(2)}x`;
}

/** Markdown tables of a veth result, with ratios against the kernel (same run) and the issue's figures. */
export function vethMarkdown(r: VethResult): string {
  const by = (id: string) => r.scenarios.find((s) => s.id === id);
  const v = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x.toFixed(2));
  const main = (s: ScenarioResult | undefined) => (s ? (s.returned ?? s.dutRx) : null);
  const rows: string[] = [];
  const line = (cells: (string | number)[]) => rows.push(`| ${cells.join(" | ")} |`);
  const senders = r.genThreads === 0 ? "1 sender thread in layout 1, 2 in layout 2" : `${r.genThreads} sender thread${r.genThreads > 1 ? "s" : ""}`;
  rows.push(`veth, 64-byte frames, generator: txgen live frames (${senders}, on CPU ${GEN_CPU}); medians of ${r.runs} runs of ${r.seconds} s; ` +
    `benchmark threads and NAPI kthreads at nice ${r.nice}. Mpps. "NAPI CPU": share of a CPU the DUT's / the generator's veth end NAPI thread used.`, "");
  line(["scenario", "offered", "DUT rx", "returned", "vs kernel (same run)", "vs reference", "vs target", "NAPI CPU dut/gen"]);
  line(["---", "---", "---", "---", "---", "---", "---", "---"]);
  const R = REFERENCES;
  const add = (id: string, kernelId: string | null, ref: number | null, refName: string, target: number | null) => {
    const s = by(id);
    if (!s) return;
    const m = main(s);
    line([`${s.what} (layout ${s.layout})`, v(s.offered), v(s.dutRx), v(s.returned), kernelId ? ratio(m, main(by(kernelId))) : "-", ref !== null ? `${ratio(m, ref)} ${refName}` : "-", target !== null ? ratio(m, target) : "-", `${pct(s.dutNapiCpu)}/${pct(s.genNapiCpu)}`]);
  };
  add("l1-kernel-xdp-tx", null, null, "", null);
  add("l1-kernel-xdp-drop", null, R.l1RxOnly.kernel, "of 6.2 ref", null);
  add("l1-fwd-lb", "l1-kernel-xdp-tx", R.l1Lb.cndp, "of CNDP 0.57", R.l1Lb.target);
  add("l1-fwd-lb-busypoll", "l1-kernel-xdp-tx", R.l1Lb.cndpBusyPoll, "of CNDP busy-poll 0.74", R.l1Lb.target);
  add("l1-fwd-rx-only", "l1-kernel-xdp-drop", R.l1RxOnly.cndp, "of CNDP 1.55", R.l1RxOnly.target);
  add("l1-fwd-rx-only-afpacket", "l1-kernel-xdp-drop", null, "", null);
  add("l2-kernel-xdp-tx", null, null, "", null);
  add("l2-fwd-lb", "l2-kernel-xdp-tx", R.l2Lb.dpdk, "of DPDK 0.16", R.l2Lb.target);
  add("l2-fwd-lb-busypoll", "l2-kernel-xdp-tx", R.l2Lb.dpdk, "of DPDK 0.16", R.l2Lb.target);
  add("l2-fwd-lb-shared", "l2-kernel-xdp-tx", R.l2Lb.dpdk, "of DPDK 0.16", R.l2Lb.target);
  add("l2-fwd-rx-only", null, null, "", null);
  const paced = PACED_MPPS.filter((m) => by(`l1-kernel-xdp-tx-at-${m}`) || by(`l1-fwd-lb-at-${m}`) || by(`l1-fwd-lb-idle-at-${m}`));
  if (paced.length > 0) {
    const P = R.l1Paced;
    rows.push("", `Layout 1 at fixed offered rates (the generator paced; the DUT's NAPI on CPU ${GEN_CPU} with it, the forwarder alone on CPU ${DUT_CPU}). ` +
      `"fwd CPU": share of CPU ${DUT_CPU} the forwarder's thread used (user + system); "ns/pkt": that time per returned packet. ` +
      `Target at ${P.at} Mpps: returned >= ${P.returned} Mpps with fwd CPU < ${pct(P.fwdCpuBelow)}.`, "");
    line(["asked", "kernel XDP_TX: offered / returned", "fwd lb (spins): offered / returned", "fwd CPU, ns/pkt", "fwd lb (idle_timeout 1 ms): offered / returned", "fwd CPU, ns/pkt", "DUT NAPI CPU (kernel / spin / idle)"]);
    line(["---", "---", "---", "---", "---", "---", "---"]);
    const or = (x: ScenarioResult | undefined) => (x ? `${v(x.offered)} / ${v(x.returned)}` : "-");
    const cpu = (x: ScenarioResult | undefined) => (x && x.fwdCpu !== undefined ? `${pct(x.fwdCpu)}, ${x.fwdNsPerPkt?.toFixed(0) ?? "-"}` : "-");
    for (const m of paced) {
      const k = by(`l1-kernel-xdp-tx-at-${m}`), f = by(`l1-fwd-lb-at-${m}`), i = by(`l1-fwd-lb-idle-at-${m}`);
      line([`${m} Mpps`, or(k), or(f), cpu(f), or(i), cpu(i), [k, f, i].map((x) => (x ? pct(x.dutNapiCpu) : "-")).join(" / ")]);
    }
  }
  const pacedL3 = PACED_MPPS.filter((m) => by(`l1-fwd-l3fwd-user-at-${m}`) || by(`l1-fwd-l3fwd-xdp-at-${m}`));
  if (pacedL3.length > 0) {
    rows.push("", "l3fwd in layout 1 at fixed offered rates, against our lb and the kernel's XDP_TX under the same pacing (issue 9's targets: user space >= 0.9x lb, fast path >= 3x lb).", "");
    line(["asked", "lb: offered / returned", "l3fwd user: offered / returned", "vs lb", "fast path: offered / returned", "vs lb", "vs kernel XDP_TX"]);
    line(["---", "---", "---", "---", "---", "---", "---"]);
    const or = (x: ScenarioResult | undefined) => (x ? `${v(x.offered)} / ${v(x.returned)}` : "-");
    for (const m of pacedL3) {
      const l = by(`l1-fwd-lb-at-${m}`), u = by(`l1-fwd-l3fwd-user-at-${m}`), x = by(`l1-fwd-l3fwd-xdp-at-${m}`), k = by(`l1-kernel-xdp-tx-at-${m}`);
      line([`${m} Mpps`, or(l), or(u), l && u ? ratio(main(u), main(l)) : "-", or(x), l && x ? ratio(main(x), main(l)) : "-", k && x ? ratio(main(x), main(k)) : "-"]);
    }
  }
  const limits = r.scenarios.filter((s) => s.limit);
  if (limits.length > 0) {
    rows.push("", "What limits each figure (from the same window's counters):", "");
    for (const s of limits) rows.push(`- ${s.id}: ${s.limit}`);
  }
  const lb = by("l1-fwd-lb");
  if (by("l1-fwd-l3fwd-user") || by("l1-fwd-l3fwd-xdp")) {
    rows.push("", "l3fwd (layout 1, one default route back to the generator), against our lb in the same run.", "");
    line(["scenario", "offered", "DUT rx", "returned", "vs our lb (same run)", "target vs lb", "vs kernel XDP_TX (same run)", "NAPI CPU dut/gen"]);
    line(["---", "---", "---", "---", "---", "---", "---", "---"]);
    for (const [id, target] of [["l1-fwd-l3fwd-user", R.l1L3fwd.userVsLb], ["l1-fwd-l3fwd-xdp", R.l1L3fwd.fastPathVsLb]] as const) {
      const s = by(id);
      if (!s) continue;
      line([s.what, v(s.offered), v(s.dutRx), v(s.returned), ratio(main(s), main(lb)), `${target}x`, ratio(main(s), main(by("l1-kernel-xdp-tx"))), `${pct(s.dutNapiCpu)}/${pct(s.genNapiCpu)}`]);
    }
  }
  const lb2 = by("l2-fwd-lb");
  if (by("l2-fwd-l3fwd-user") || by("l2-fwd-l3fwd-xdp")) {
    rows.push("", "l3fwd in layout 2 (the one-core pod: the DUT's NAPI on the forwarder's CPU), against our lb in the same run.", "");
    line(["scenario", "offered", "DUT rx", "returned", "vs our lb (same run)", "vs kernel XDP_TX (same run)", "NAPI CPU dut/gen"]);
    line(["---", "---", "---", "---", "---", "---", "---"]);
    for (const id of ["l2-fwd-l3fwd-user", "l2-fwd-l3fwd-xdp"]) {
      const s = by(id);
      if (!s) continue;
      line([s.what, v(s.offered), v(s.dutRx), v(s.returned), ratio(main(s), main(lb2)), ratio(main(s), main(by("l2-kernel-xdp-tx"))), `${pct(s.dutNapiCpu)}/${pct(s.genNapiCpu)}`]);
    }
  }
  rows.push("", "Generator engines: what txgen offers into an XDP_DROP on the far end (far-end NAPI on the other CPU, except where said).",
    "With the far end's NAPI on the generator's CPU the kernel recycles live-frame pages locally, which is faster.", "");
  line(["engine", "offered", "dropped at the far end", "vs reference", "vs target", "NAPI CPU far end"]);
  line(["---", "---", "---", "---", "---", "---"]);
  const l1d = by("l1-kernel-xdp-drop");
  if (l1d) line([`txgen live frames (${r.genThreads || 1} thread, CPU ${GEN_CPU}), far-end NAPI on CPU ${GEN_CPU} too (layout 1 XDP_DROP)`, v(l1d.offered), v(l1d.dutRx), `${ratio(l1d.offered, R.generator.xdpTrafficgen)} of xdp-trafficgen 6.4`, ratio(l1d.offered, R.generator.targetLive), pct(l1d.dutNapiCpu)]);
  for (const gl of r.scenarios.filter((s) => s.id.startsWith("gen-live"))) {
    line([gl.what, v(gl.offered), v(gl.dutRx), `${ratio(gl.offered, R.generator.xdpTrafficgen)} of xdp-trafficgen 6.4`, ratio(gl.offered, R.generator.targetLive), pct(gl.dutNapiCpu)]);
  }
  const ga = by("gen-afxdp-into-drop");
  if (ga) line([ga.what, v(ga.offered), v(ga.dutRx), `${ratio(ga.offered, R.generator.cndpTxgen)} of CNDP txgen 1.39`, ratio(ga.offered, R.generator.targetAfxdp), pct(ga.dutNapiCpu)]);
  return `${rows.join("\n")}\n`;
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === "probe") {
  // Experiments: node dist/bench/veth.js probe <runs> <seconds> '<FwdSpec JSON array>'
  const r = await vethBench({ runs: Number(process.argv[3]), seconds: Number(process.argv[4]), probes: JSON.parse(process.argv[5]!) as FwdSpec[] });
  for (const s of r.scenarios) {
    const c = s.runs.map((x) => x.counters!);
    const med: Record<string, number> = {};
    for (const k of Object.keys(c[0] ?? {})) med[k] = median(c.map((x) => x[k] ?? 0));
    console.log(JSON.stringify({ id: s.id, offered: +s.offered.toFixed(3), dutRx: s.dutRx && +s.dutRx.toFixed(3), returned: s.returned && +s.returned.toFixed(3), dutNapi: +s.dutNapiCpu.toFixed(2), genNapi: +s.genNapiCpu.toFixed(2),
      fwdCpu: s.fwdCpu && +s.fwdCpu.toFixed(2), fwdUsr: median(s.runs.map((x) => x.fwdUsr!)).toFixed(2), fwdSys: median(s.runs.map((x) => x.fwdSys!)).toFixed(2), nsPerPkt: s.fwdNsPerPkt && Math.round(s.fwdNsPerPkt), ...med }));
  }
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const only = process.argv[5];
  const gt = Number(process.argv[4] ?? 0);
  const r = await vethBench({ runs: Number(process.argv[2] ?? 3), seconds: Number(process.argv[3] ?? 3), ...(gt > 0 ? { genThreads: gt } : {}), ...(only ? { only } : {}) });
  console.log(JSON.stringify(r, null, 1));
  console.log(vethMarkdown(r));
}
