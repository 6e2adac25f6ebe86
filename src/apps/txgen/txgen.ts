/**
 * The txgen controller (main thread): opens the ports (an AF_XDP socket per port, or for live-frames
 * ports that only count, an XDP count program; a config's sockets, UMEMs and pools are built by the CNF
 * framework's PortSet, ports given in code get their own), starts the data-plane threads, turns settings into plans
 * at `start`, watches count-limited runs finish, and reads rates, latency, loss and captures from shared
 * memory. The CLI (cli.ts) and the benchmarks drive it; {@link startTxgen} is the programmatic entry.
 *
 * @example
 * const tg = await startTxgen({ ports: [{ ifname: "veth0", netns: "gen", cpus: [0], settings: ["engine live"] }] });
 * await tg.start();
 * await sleep(2000);
 * console.log(tg.rates());
 * await tg.close();
 */
import { writeFileSync } from "node:fs";
import type { AppConfig } from "../../config/types.js";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { AfXdpPort } from "../../pktdev/af-xdp.js";
import { PortSet, mergeReports, poolsReport, txRejectedOf, type StopReport } from "../../cnf/index.js";
import { emptyReport } from "../../cnf/ports.js";
import { XdpLink } from "../../bpf/link.js";
import { startThreads, stopThreads, type RunningThread, type ThreadSpec } from "../../runtime/threads.js";
import { errnoName } from "../../sys/errno.js";
import { MonoClock } from "../../sys/clock.js";
import {
  type PortSettings, type Engine, applySet, checkSettings, cloneSettings, defaultSettings, formatSettings,
  parsePortList, targetPps, describeIp, describePort, formatRate, MAX_LIVE_THREADS,
} from "./settings.js";
import { buildFrame, type FramePlan } from "./packet.js";
import { compilePlan } from "./tx-frames.js";
import { LiveProgram, CountProgram } from "./live-prog.js";
import { readPcap, writePcap } from "./pcap.js";
import {
  type PortShm, newPortShm, newCaptureBuffer, readCapture, quantile,
  K_RUN, K_PLAN, K_TX_STATUS, K_PLAN_ACK, K_CAPTURE, K_LIVE, K_LIVE_ERRNO, TX_SENDING, TX_DONE,
  C_TX_PKTS, C_TX_BYTES, C_TX_ERRORS, C_TX_SEQ, C_RX_PKTS, C_RX_BYTES, C_RX_TAGGED, C_RX_REORDER,
  C_LAT_SUM, C_LAT_MIN, C_LAT_MAX, C_CAP_PKTS, C_RX_IP4, C_CAP_DROPPED, C_LIVE, LIVE_SLOTS, HIST_BASE, HIST_BUCKETS,
  FROM_BASE, MAX_PORTS, COUNTER_WORDS,
} from "./shared.js";
import type { AfxdpPlan, RxTxThreadData, WorkerMsg } from "./worker.js";
import type { LivePlan, LiveThreadData } from "./live-worker.js";
import { inNamespace, netdevFacts } from "./netns.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { XSK_TX_MAX_SEGS } from "../../xsk/if-xdp.js";

/** One port as the caller describes it (programmatic use; the CLI builds these from a jsonc config). */
export interface TxgenPortSpec {
  /** The lport name (default "<ifname>:<qid>"). */
  name?: string;
  ifname: string;
  qid?: number;
  /** Named network namespace of the netdev (/run/netns/<name>); default: this thread's. */
  netns?: string | null;
  /** CPUs of the port's RX/TX thread and of its live-frames senders (default: not pinned). */
  cpus?: number[];
  /** CPUs of the live-frames senders, when they should run elsewhere than `cpus`. */
  liveCpus?: number[];
  /** Ports with the same thread name share one RX/TX thread (default: one per port). */
  thread?: string;
  /** UMEM frames of this port (default 8192). */
  frames?: number;
  rxSize?: number;
  txSize?: number;
  skbMode?: boolean;
  busyPoll?: { timeoutUs: number; budget: number };
  /**
   * AF_XDP multi-buffer (as the jsonc's `"multi_buffer"`): frames larger than a buffer (jumbo frames on a
   * netdev with a large MTU) are sent and received as mbuf chains. Without it, sizes above the frame size
   * minus the 256-byte headroom are refused.
   */
  multiBuffer?: boolean;
  /** Unprivileged: the XSKMAP to insert the socket into (the caller keeps the fd). Ports given in code only. */
  xskMapFd?: number;
  /** `set` commands for this port without the port list, e.g. ["size 128", "count 1000"]. */
  settings?: string[];
}

export interface TxgenOptions {
  ports?: TxgenPortSpec[];
  /**
   * A jsonc config naming lports and threads (as the forwarder's); used when `ports` is absent. Its UMEMs,
   * pools and sockets are built by the CNF framework (PortSet: privileged, `xsk_pin_path` or `uds_path`).
   */
  config?: AppConfig;
  /** Track frame ownership: the report of close() then counts double frees, bad allocs, bad kernel returns. */
  debugFrames?: boolean;
  /** `set` commands with a port list ("0 size 128", "all rate 50"), applied before the ports open. */
  sets?: string[];
  /** Bytes of capture buffer per capturing port (default 64 MiB). */
  captureBytes?: number;
  /** RX burst (default 64). */
  rxBurst?: number;
  log?: (msg: string) => void;
}

/** Latency figures of a receiving port, in microseconds. */
export interface LatencyStats {
  samples: number;
  minUs: number;
  avgUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export interface PortStats {
  pid: number;
  name: string;
  engine: Engine;
  running: boolean;
  txPkts: number;
  txBytes: number;
  txErrors: number;
  rxPkts: number;
  rxBytes: number;
  /** Received IPv4 frames (all of them with rx count, which counts only IPv4). */
  rxIp4: number;
  /** Tagged frames this port sent (latency on) that no port received (meaningful once stopped). */
  loss: number | null;
  /** Tagged frames received out of order on this port. */
  reordered: number;
  latency: LatencyStats | null;
  captured: number;
  captureDropped: number;
}

export interface PortRate {
  pid: number;
  name: string;
  txPps: number;
  rxPps: number;
  txMbps: number;
  rxMbps: number;
}

/** A port of the generator (main-thread side). */
export class TxgenPort {
  readonly pid: number;
  readonly name: string;
  readonly ifname: string;
  readonly qid: number;
  readonly netns: string | null;
  readonly cpus: number[];
  readonly liveCpus: number[];
  readonly threadName: string;
  readonly mac: string;
  readonly mtu: number;
  readonly speedMbps: number;
  readonly ifindex: number;
  settings: PortSettings;
  lport: AfXdpPort | null = null;
  countProg: CountProgram | null = null;
  countLink: XdpLink | null = null;
  readonly shm: PortShm;
  readonly ctl: Int32Array;
  readonly c: Float64Array;
  running = false;
  gen = 0;
  runEngine: Engine = "afxdp";
  runLatency = false;
  runStartTx = 0;
  seqNext = 0;
  taggedSent = 0;
  /** Tagged packets sent before the last clear. */
  taggedBase = 0;
  /** Live-frames threads that got a share of the current run. */
  liveActive = 0;
  liveProg: LiveProgram | null = null;
  liveThreads: { thread: RunningThread; mailbox: Int32Array }[] = [];
  captureBuf: SharedArrayBuffer | null = null;
  captureFile: string | null = null;
  /** Counters at the last clear (the threads own the live counters). */
  base: Float64Array;
  countBase: [number, number] = [0, 0];
  lastRate = { t: 0, tx: 0, rx: 0, txb: 0, rxb: 0 };
  error: string | null = null;

  constructor(pid: number, spec: TxgenPortSpec, facts: { mac: string; mtu: number; speedMbps: number }, ifindex: number) {
    this.pid = pid;
    this.ifname = spec.ifname;
    this.qid = spec.qid ?? 0;
    this.name = spec.name ?? `${spec.ifname}:${this.qid}`;
    this.netns = spec.netns ?? null;
    this.cpus = spec.cpus ?? [];
    this.liveCpus = spec.liveCpus ?? this.cpus;
    this.threadName = spec.thread ?? `rxtx:${pid}`;
    this.mac = facts.mac;
    this.mtu = facts.mtu;
    this.speedMbps = facts.speedMbps;
    this.ifindex = ifindex;
    this.settings = defaultSettings(pid);
    this.shm = newPortShm();
    this.ctl = new Int32Array(this.shm.ctl);
    this.c = new Float64Array(this.shm.counters);
    this.base = new Float64Array(COUNTER_WORDS);
    this.base[C_LAT_MIN] = 0;
  }

  /** Packets and bytes sent (all engines), as the threads count them. */
  txTotals(): [number, number, number] {
    const c = this.c;
    let pkts = c[C_TX_PKTS]!, bytes = c[C_TX_BYTES]!, errs = c[C_TX_ERRORS]!;
    for (let i = 0; i < LIVE_SLOTS; i++) {
      pkts += c[C_LIVE + i * 4]!;
      bytes += c[C_LIVE + i * 4 + 1]!;
      errs += c[C_LIVE + i * 4 + 3]!;
    }
    return [pkts, bytes, errs];
  }

  rxTotals(): [number, number] {
    if (this.countProg) {
      const [p, b] = this.countProg.read();
      return [p, b];
    }
    return [this.c[C_RX_PKTS]!, this.c[C_RX_BYTES]!];
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function defaultLog(m: string): void {
  process.stderr.write(`${m}\n`);
}

/** Builds the port specs of a jsonc config: its net_af_xdp lports, grouped by the threads that name them. */
export function specsFromConfig(cfg: AppConfig): { specs: TxgenPortSpec[] } {
  const threadOf = new Map<string, { name: string; cpus: number[] }>();
  for (const t of cfg.threads.values()) {
    if (t.type === "main" || t.type === "cli" || t.type === "stats") continue;
    for (const l of t.lports) threadOf.set(l, { name: t.name, cpus: [...t.lcores] });
  }
  const specs: TxgenPortSpec[] = [];
  for (const lp of cfg.lports.values()) {
    if (lp.pmd !== "net_af_xdp") throw new Error(`lport '${lp.name}': txgen sends through net_af_xdp ports only (pmd is '${lp.pmd}')`);
    const u = cfg.umems.get(lp.umem);
    if (!u) throw new Error(`lport '${lp.name}' names umem '${lp.umem}', which does not exist`);
    const t = threadOf.get(lp.name);
    specs.push({
      name: lp.name, ifname: lp.netdev, qid: lp.qid, rxSize: u.rxdesc, txSize: u.txdesc, skbMode: lp.skbMode,
      ...(t ? { thread: t.name, cpus: t.cpus } : {}),
      ...(lp.busyPoll && lp.busyBudget !== 0xffff ? { busyPoll: { timeoutUs: lp.busyTimeout, budget: lp.busyBudget } } : {}),
    });
  }
  if (specs.length === 0) throw new Error("The config has no lports: txgen needs at least one net_af_xdp lport");
  return { specs };
}

export class Txgen {
  readonly ports: TxgenPort[] = [];
  threads: RunningThread[] = [];
  private readonly rxtx = new Map<number, { thread: RunningThread; mailbox: Int32Array }>();
  /** Ports given in code: their UMEMs and pools, one per port (checked at close like the framework's). */
  private readonly umems: Umem[] = [];
  private readonly ownPools: Mempool[] = [];
  /** Config-defined ports that need a socket: built by the framework. */
  private portSet: PortSet | null = null;
  private readonly debugFrames: boolean;
  private readonly log: (m: string) => void;
  private readonly captureBytes: number;
  private timer: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /** Ports and threads are up (settings changes then act on them). */
  private opened = false;
  /** CLOCK_MONOTONIC, the clock of capture timestamps and latency tags. */
  private readonly clk = new MonoClock();

  private constructor(o: TxgenOptions) {
    this.log = o.log ?? defaultLog;
    this.captureBytes = o.captureBytes ?? 64 << 20;
    this.debugFrames = o.debugFrames ?? false;
  }

  /** Opens the ports, applies the settings and starts the threads (nothing is sent until start()). */
  static async create(o: TxgenOptions): Promise<Txgen> {
    const tg = new Txgen(o);
    try {
      let specs = o.ports;
      const cfg = specs ? null : (o.config ?? null);
      if (!specs) {
        if (!cfg) throw new Error("txgen needs ports: pass `ports` or a `config`");
        specs = specsFromConfig(cfg).specs;
      }
      if (specs.length === 0) throw new Error("txgen needs at least one port");
      if (specs.length > MAX_PORTS) throw new Error(`txgen supports at most ${MAX_PORTS} ports (${specs.length} given)`);
      // Ports, with their settings, before any socket opens (the settings decide what each port needs).
      specs.forEach((sp, pid) => {
        const facts = netdevFacts(sp.ifname, sp.netns);
        tg.ports.push(new TxgenPort(pid, sp, facts, facts.ifindex));
        for (const line of sp.settings ?? []) tg.set(`${pid} ${line}`);
      });
      for (const line of o.sets ?? []) tg.set(line);
      if (cfg) tg.openConfigPorts(cfg, specs);
      else tg.ports.forEach((p, i) => tg.openPort(p, specs![i]!));
      await tg.startRxTx(o.rxBurst ?? 64);
      tg.opened = true;
      for (const p of tg.ports) {
        tg.postRxMode(p);
        if (p.settings.capture !== null) tg.startCapture(p, p.settings.capture);
      }
      return tg;
    } catch (e) {
      await tg.close();
      throw e;
    }
  }

  /** Whether a port's settings need an AF_XDP socket (else a count program, or nothing). */
  private static needsSocket(p: TxgenPort): boolean {
    return !(p.settings.engine === "live" && p.settings.rx !== "on");
  }

  /** A live-frames port that only counts what it receives: the XDP count program on its netdev. */
  private openCount(p: TxgenPort, sp: TxgenPortSpec): void {
    if (p.settings.rx !== "count") return;
    p.countProg = CountProgram.load();
    p.countLink = inNamespace(p.netns, () => XdpLink.attach(p.countProg!.prog, p.ifname, { mode: sp.skbMode ? "skb" : "drv" }));
    this.log(`${p.name}: rx count: XDP count-and-drop program attached`);
  }

  /**
   * Config-defined ports: the framework builds the UMEMs, pools and sockets (PortSet) of the lports whose
   * settings need a socket; the others get a count program or nothing.
   */
  private openConfigPorts(cfg: AppConfig, specs: TxgenPortSpec[]): void {
    const withSocket = new Set(this.ports.filter((p) => Txgen.needsSocket(p)).map((p) => p.name));
    this.portSet = PortSet.build(cfg, { lports: [...withSocket], log: this.log, ...(this.debugFrames ? { debugFrames: true } : {}) });
    this.ports.forEach((p, i) => {
      if (!withSocket.has(p.name)) return this.openCount(p, specs[i]!);
      const lport = this.portSet!.port(p.name);
      if (!(lport instanceof AfXdpPort)) throw new Error(`lport '${p.name}': txgen sends through net_af_xdp ports only`);
      p.lport = lport;
    });
  }

  /** A port given in code: its own UMEM, pool and socket (or a count program, or nothing). */
  private openPort(p: TxgenPort, sp: TxgenPortSpec): void {
    if (!Txgen.needsSocket(p)) return this.openCount(p, sp);
    const umem = Umem.create({ frames: sp.frames ?? 8192, name: `txgen-${p.pid}` });
    this.umems.push(umem);
    const pool = Mempool.create({ umem, name: `txgen-${p.pid}`, debug: this.debugFrames });
    this.ownPools.push(pool);
    p.lport = inNamespace(p.netns, () => AfXdpPort.create({
      name: p.name, pid: p.pid, ifname: p.ifname, qid: p.qid, mempool: pool, log: this.log,
      ...(sp.rxSize !== undefined ? { rxSize: sp.rxSize } : {}),
      ...(sp.txSize !== undefined ? { txSize: sp.txSize } : {}),
      ...(sp.skbMode ? { skbMode: true, copyMode: "copy" as const } : {}),
      ...(sp.busyPoll ? { busyPoll: sp.busyPoll } : {}),
      ...(sp.multiBuffer ? { multiBuffer: true } : {}),
      ...(sp.xskMapFd !== undefined ? { xskMapFd: sp.xskMapFd } : {}),
    }));
    // The socket raised its copy-mode TX budget itself (XskSocket.txBudget: XDP_MAX_TX_SKB_BUDGET).
  }

  private async startRxTx(rxBurst: number): Promise<void> {
    const groups = new Map<string, TxgenPort[]>();
    for (const p of this.ports) {
      if (!p.lport) continue;
      const g = groups.get(p.threadName) ?? [];
      g.push(p);
      groups.set(p.threadName, g);
    }
    const specs: ThreadSpec[] = [];
    const mailboxes: Int32Array[] = [];
    for (const [name, ports] of groups) {
      const mailbox = new SharedArrayBuffer(8);
      mailboxes.push(new Int32Array(mailbox));
      const data: RxTxThreadData = {
        name, mailbox, rxBurst,
        ports: ports.map((p) => ({ pid: p.pid, lport: p.lport!.toShared(), shm: p.shm })),
      };
      specs.push({ name, cpus: ports[0]!.cpus, module: new URL("./worker.js", import.meta.url).href, data });
    }
    if (specs.length === 0) return;
    // One owner per ring: the sockets' data paths go to the RX/TX threads (the main thread only reads stats).
    for (const ports of groups.values()) for (const p of ports) p.lport!.release();
    this.threads = await startThreads(specs);
    this.threads.forEach((t, i) => {
      const ports = groups.get(t.name)!;
      for (const p of ports) this.rxtx.set(p.pid, { thread: t, mailbox: mailboxes[i]! });
      t.done.catch((e: Error) => this.threadFailed(ports, e));
    });
  }

  private post(pid: number, m: WorkerMsg): void {
    const w = this.rxtx.get(pid);
    if (!w) return;
    w.thread.worker.postMessage(m);
    Atomics.add(w.mailbox, 0, 1);
    Atomics.notify(w.mailbox, 0);
  }

  private postRxMode(p: TxgenPort): void {
    this.post(p.pid, { type: "rx", pid: p.pid, parse: p.settings.rx === "on" });
  }

  // ---- settings -----------------------------------------------------------------------------------

  /** Applies "<ports> <setting> <value...>" (e.g. "0 size 128", "all rate 50"); throws on bad input. */
  set(line: string): number[] {
    const words = splitWords(line);
    if (words.length < 2) throw new SyntaxError(`Invalid set '${line}': expected <ports> <setting> <value>`);
    const pids = parsePortList(words[0]!, this.ports.length);
    // All or nothing: check on copies first.
    const next = pids.map((pid) => {
      const p = this.ports[pid]!;
      const s = cloneSettings(p.settings);
      try {
        applySet(s, words.slice(1), { mtu: p.mtu });
        if (this.opened && s.capture !== null && s.capture !== p.settings.capture && (s.rx !== "on" || !p.lport)) {
          throw new RangeError(`capture needs rx on and an AF_XDP socket (port ${pid} has rx ${s.rx}${p.lport ? "" : " and no socket"})`);
        }
      } catch (e) {
        (e as Error).message = `set ${pid} ${words.slice(1).join(" ")}: ${(e as Error).message}`;
        throw e;
      }
      return s;
    });
    const key = words[1]!.toLowerCase();
    pids.forEach((pid, i) => {
      const p = this.ports[pid]!;
      p.settings = next[i]!;
      if (!this.opened) return;
      if (key === "rx") this.postRxMode(p);
      if (key === "capture") {
        // Capture follows the setting at once (txgen's enable/disable capture): off writes the file.
        if (p.settings.capture === null) this.endCapture(p);
        else this.startCapture(p, p.settings.capture);
      }
    });
    return pids;
  }

  /** The settings as a command file (`load` reads it back). */
  saveText(): string {
    const lines = ["# xdplane txgen settings", ...this.ports.flatMap((p) => [`# port ${p.pid}: ${p.name}`, ...formatSettings(p.pid, p.settings)])];
    return `${lines.join("\n")}\n`;
  }

  // ---- start / stop ---------------------------------------------------------------------------------

  /** Starts sending on the given ports (default all). Throws before anything starts when a setting is wrong. */
  async start(pids: number[] = this.ports.map((p) => p.pid)): Promise<void> {
    const todo = pids.map((pid) => this.ports[pid]!).filter((p) => !p.running);
    const errs: string[] = [];
    for (const p of todo) {
      errs.push(...checkSettings(p.settings, p.pid));
      const needSocket = p.settings.engine === "afxdp" || p.settings.rx === "on";
      if (needSocket && !p.lport) {
        errs.push(`port ${p.pid}: opened without an AF_XDP socket (engine live with rx ${p.countProg ? "count" : "off"}); engine afxdp and rx on need one: set them before txgen opens its ports`);
      }
    }
    if (errs.length > 0) throw new RangeError(`Cannot start: ${errs.join("; ")}`);
    // Build every frame first (pcap files, sizes), so that a bad one starts nothing.
    const prepared = todo.map((p) => ({ p, pps: targetPps(p.settings, p.speedMbps || 10000), ...this.prepare(p) }));
    for (const x of prepared) await this.startPort(x.p, x.pps, x.afxdp, x.live);
    this.watch();
  }

  private prepare(p: TxgenPort): { afxdp: AfxdpPlan | null; live: FramePlan | null } {
    const s = p.settings;
    if (s.engine === "afxdp") return { afxdp: this.afxdpPlan(p, 0, 0), live: null };
    return { afxdp: null, live: buildFrame(s, { pid: p.pid, srcMac: s.srcMac ?? p.mac, dstMac: this.dstMac(p) }) };
  }

  private dstMac(p: TxgenPort): string {
    return p.settings.dstMac ?? this.ports[p.pid ^ 1]?.mac ?? "ff:ff:ff:ff:ff:ff";
  }

  private async startPort(p: TxgenPort, pps: number, afxdp: AfxdpPlan | null, fp: FramePlan | null): Promise<void> {
    const s = p.settings;
    p.error = null;
    Atomics.store(p.ctl, K_LIVE_ERRNO, 0);
    if (s.capture !== null && p.captureFile !== s.capture) this.startCapture(p, s.capture);
    const gen = ++p.gen;
    p.runEngine = s.engine;
    p.runLatency = s.latency;
    p.runStartTx = p.txTotals()[0];
    if (afxdp) {
      this.post(p.pid, { ...afxdp, gen, pps, seqStart: Math.max(p.seqNext, p.c[C_TX_SEQ]!) });
    } else if (fp) {
      await this.ensureLiveThreads(p, s.threads);
      p.liveProg = LiveProgram.load(fp, p.seqNext, `txgen_live${p.pid}`);
      // Each sender gets a share of the count and rate; fewer senders than packets when the count is tiny.
      const n = s.count > 0 ? Math.min(s.threads, s.count) : s.threads;
      p.liveActive = n;
      for (let slot = 0; slot < n; slot++) {
        const lt = p.liveThreads[slot]!;
        const plan: LivePlan = {
          type: "live", gen, progFd: p.liveProg.prog.fd, frame: fp.frame, ifindex: p.ifindex, rxQueue: p.qid,
          count: s.count === 0 ? 0 : Math.floor(s.count / n) + (slot < s.count % n ? 1 : 0),
          pps: pps === 0 ? 0 : pps / n, batch: s.burst,
        };
        lt.thread.worker.postMessage(plan);
        Atomics.add(lt.mailbox, 0, 1);
      }
    }
    Atomics.store(p.ctl, K_PLAN, gen);
    Atomics.store(p.ctl, K_RUN, 1);
    Atomics.notify(p.ctl, K_RUN);
    p.running = true;
  }

  private afxdpPlan(p: TxgenPort, gen: number, pps: number): AfxdpPlan {
    const s = p.settings;
    const seqStart = Math.max(p.seqNext, p.c[C_TX_SEQ]!);
    const frameRoom = p.lport!.pool.umem.frameSize - p.lport!.pool.umem.headroom;
    if (s.pcap !== null) {
      const frames = readPcap(s.pcap);
      if (frames.length === 0) throw new RangeError(`pcap file '${s.pcap}' holds no frames`);
      let total = 0;
      frames.forEach((f, i) => {
        if (f.data.length < ETH_HLEN || f.data.length > Math.min(frameRoom, p.mtu + ETH_HLEN)) {
          throw new RangeError(`pcap file '${s.pcap}': frame ${i} is ${f.data.length} bytes; port ${p.pid} sends ${ETH_HLEN} to ${Math.min(frameRoom, p.mtu + ETH_HLEN)}`);
        }
        total += (f.data.length + 3) & ~3;
      });
      const data = new Uint8Array(total);
      const offs: number[] = [];
      const lens: number[] = [];
      let o = 0;
      for (const f of frames) {
        data.set(f.data, o);
        offs.push(o >>> 2);
        lens.push(f.data.length);
        o += (f.data.length + 3) & ~3;
      }
      return { type: "plan", pid: p.pid, gen, frame: null, pcap: { data, offs, lens }, count: s.count, pps, burst: s.burst, seqStart };
    }
    const fp: FramePlan = buildFrame(s, { pid: p.pid, srcMac: s.srcMac ?? p.mac, dstMac: this.dstMac(p) });
    if (fp.len > frameRoom) {
      const segs = Math.ceil(fp.len / frameRoom);
      if (!p.lport!.xsk.multiBuffer) {
        throw new RangeError(`port ${p.pid}: size ${s.size} (${fp.len}-byte frames) does not fit one ${p.lport!.pool.umem.frameSize}-byte buffer (${frameRoom} bytes after the headroom); open the port with multi-buffer ("multi_buffer": true) to send it as ${segs} buffers`);
      }
      if (segs > XSK_TX_MAX_SEGS) throw new RangeError(`port ${p.pid}: size ${s.size} needs ${segs} buffers of ${frameRoom} bytes; AF_XDP sends at most ${XSK_TX_MAX_SEGS} per frame`);
    }
    return {
      type: "plan", pid: p.pid, gen, frame: { data: fp.frame, plan: compilePlan(fp) }, pcap: null, count: s.count, pps,
      burst: s.burst, seqStart,
    };
  }

  private async ensureLiveThreads(p: TxgenPort, n: number): Promise<void> {
    if (n > MAX_LIVE_THREADS) throw new RangeError(`port ${p.pid}: at most ${MAX_LIVE_THREADS} live threads`);
    if (p.liveThreads.length > n) {
      const extra = p.liveThreads.splice(n);
      await stopThreads(extra.map((x) => x.thread));
    }
    const specs: ThreadSpec[] = [];
    const boxes: Int32Array[] = [];
    for (let slot = p.liveThreads.length; slot < n; slot++) {
      const mailbox = new SharedArrayBuffer(8);
      boxes.push(new Int32Array(mailbox));
      const data: LiveThreadData = { name: `live:${p.pid}.${slot}`, pid: p.pid, slot, netns: p.netns, shm: p.shm, mailbox };
      specs.push({ name: data.name, cpus: p.liveCpus, module: new URL("./live-worker.js", import.meta.url).href, data });
    }
    if (specs.length === 0) return;
    const started = await startThreads(specs);
    started.forEach((t, i) => {
      p.liveThreads.push({ thread: t, mailbox: boxes[i]! });
      t.done.catch((e: Error) => this.threadFailed([p], e));
    });
  }

  /** Whether a port's senders have all stopped sending for its current run. */
  private sendersIdle(p: TxgenPort): boolean {
    if (p.runEngine === "afxdp") {
      return !(Atomics.load(p.ctl, K_TX_STATUS) === TX_SENDING && Atomics.load(p.ctl, K_PLAN_ACK) === p.gen);
    }
    for (let i = 0; i < p.liveThreads.length; i++) {
      if (Atomics.load(p.ctl, K_LIVE + 2 * i) === TX_SENDING) return false;
    }
    return true;
  }

  /** Whether a count-limited run has finished (or failed). */
  private finished(p: TxgenPort): boolean {
    if (p.runEngine === "afxdp") return Atomics.load(p.ctl, K_TX_STATUS) === TX_DONE && Atomics.load(p.ctl, K_PLAN_ACK) === p.gen;
    if (Atomics.load(p.ctl, K_LIVE_ERRNO) !== 0) return true;
    for (let i = 0; i < p.liveActive; i++) {
      const st = Atomics.load(p.ctl, K_LIVE + 2 * i);
      const g = Atomics.load(p.ctl, K_LIVE + 2 * i + 1);
      if (g !== p.gen || st === TX_SENDING) return false;
    }
    return true;
  }

  /** A data-plane thread died: its ports stop with the error (and whoever waits for them is told). */
  private threadFailed(ports: TxgenPort[], e: Error): void {
    if (this.closed) return;
    for (const p of ports) {
      p.error = e.message;
      this.log(`port ${p.pid}: ${e.message}`);
      if (p.running) this.finishRun(p);
    }
    if (!this.ports.some((p) => p.running)) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }

  /** Ends a port's run after its senders stopped: sequence numbers, tagged count, the live program. */
  private finishRun(p: TxgenPort): void {
    Atomics.store(p.ctl, K_RUN, 0);
    p.running = false;
    if (p.runEngine === "afxdp") {
      p.seqNext = Math.max(p.seqNext, p.c[C_TX_SEQ]!);
    } else if (p.liveProg) {
      p.seqNext = Math.max(p.seqNext, p.liveProg.readSeq());
      p.liveProg.close();
      p.liveProg = null;
      const errno = Atomics.load(p.ctl, K_LIVE_ERRNO);
      if (errno !== 0) {
        p.error = `live frames on ${p.ifname}: BPF_PROG_TEST_RUN failed with ${errnoName(errno)}`;
        this.log(`port ${p.pid}: ${p.error}`);
      }
    }
    if (p.runLatency) p.taggedSent += p.txTotals()[0] - p.runStartTx;
  }

  private watch(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      let any = false;
      for (const p of this.ports) {
        if (!p.running) continue;
        if (this.finished(p)) this.finishRun(p);
        else any = true;
      }
      if (!any) {
        clearInterval(this.timer!);
        this.timer = null;
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const r of w) r();
      }
    }, 5);
    this.timer.unref();
  }

  /** Resolves when no port is sending any more (count-limited runs done), or after `timeoutMs` (false). */
  waitIdle(timeoutMs = 2 ** 31 - 1): Promise<boolean> {
    if (!this.ports.some((p) => p.running)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Stops sending on the given ports (default all) and waits for their senders; ends captures. */
  async stop(pids: number[] = this.ports.map((p) => p.pid)): Promise<void> {
    const ps = pids.map((pid) => this.ports[pid]!);
    for (const p of ps) if (p.running) Atomics.store(p.ctl, K_RUN, 0);
    const until = performance.now() + 10000;
    while (ps.some((p) => p.running && !this.sendersIdle(p)) && performance.now() < until) await sleep(2);
    for (const p of ps) if (p.running) this.finishRun(p);
    if (ps.some((p) => p.captureBuf !== null)) {
      await sleep(50); // frames still on their way back
      for (const p of ps) if (p.captureBuf !== null) this.endCapture(p);
    }
  }

  // ---- capture ---------------------------------------------------------------------------------------

  private startCapture(p: TxgenPort, file: string): void {
    if (p.settings.rx !== "on" || !p.lport) throw new RangeError(`port ${p.pid}: capture needs rx on and an AF_XDP socket`);
    if (p.captureBuf !== null) this.endCapture(p);
    p.captureBuf = newCaptureBuffer(this.captureBytes);
    p.captureFile = file;
    this.post(p.pid, { type: "capture", pid: p.pid, buf: p.captureBuf });
    Atomics.store(p.ctl, K_CAPTURE, 1);
  }

  /** Stops a capture and writes its pcap file; returns the frames written. */
  private endCapture(p: TxgenPort): number {
    const buf = p.captureBuf;
    const file = p.captureFile;
    if (buf === null || file === null) return 0;
    Atomics.store(p.ctl, K_CAPTURE, 0);
    this.post(p.pid, { type: "capture", pid: p.pid, buf: null });
    p.captureBuf = null;
    p.captureFile = null;
    const wallOff = Date.now() * 1e6 - this.clk.nowNs();
    const frames = readCapture(buf).map((f) => ({ tsNs: f.tsNs + wallOff, data: f.data, origLen: f.origLen }));
    writePcap(file, frames);
    const dropped = p.c[C_CAP_DROPPED]! - p.base[C_CAP_DROPPED]!;
    this.log(`port ${p.pid}: ${frames.length} frames captured to ${file}${dropped > 0 ? ` (${dropped} dropped: capture buffer full)` : ""}`);
    return frames.length;
  }

  // ---- statistics ----------------------------------------------------------------------------------

  /** Totals since the last clear, with latency and loss. */
  stats(): PortStats[] {
    return this.ports.map((p) => {
      const c = p.c;
      const b = p.base;
      const [tx, txb, txe] = p.txTotals();
      const [rx, rxb] = p.rxTotals();
      const d = (i: number) => c[i]! - b[i]!;
      const hist = new Float64Array(HIST_BUCKETS);
      for (let i = 0; i < HIST_BUCKETS; i++) hist[i] = c[HIST_BASE + i]! - b[HIST_BASE + i]!;
      const samples = d(C_RX_TAGGED);
      const latency: LatencyStats | null = samples > 0 ? {
        samples,
        minUs: c[C_LAT_MIN]! / 1000,
        avgUs: d(C_LAT_SUM) / samples / 1000,
        p50Us: Math.min(quantile(hist, 0.5), c[C_LAT_MAX]!) / 1000,
        p99Us: Math.min(quantile(hist, 0.99), c[C_LAT_MAX]!) / 1000,
        maxUs: c[C_LAT_MAX]! / 1000,
      } : null;
      let tagged = p.taggedSent - p.taggedBase;
      if (p.running && p.runLatency) tagged += tx - p.runStartTx;
      let received = 0;
      for (const q of this.ports) received += q.c[FROM_BASE + p.pid]! - q.base[FROM_BASE + p.pid]!;
      return {
        pid: p.pid, name: p.name, engine: p.settings.engine, running: p.running,
        txPkts: tx - b[C_TX_PKTS]!, txBytes: txb - b[C_TX_BYTES]!, txErrors: txe - b[C_TX_ERRORS]!,
        rxPkts: rx - p.countBase[0], rxBytes: rxb - p.countBase[1],
        rxIp4: p.countProg ? rx - p.countBase[0] : d(C_RX_IP4),
        loss: tagged > 0 ? Math.max(0, tagged - received) : null,
        reordered: d(C_RX_REORDER),
        latency,
        captured: d(C_CAP_PKTS), captureDropped: d(C_CAP_DROPPED),
      };
    });
  }

  /** Rates per port since the previous call (the first call measures from the port's opening). */
  rates(): PortRate[] {
    const now = performance.now();
    return this.ports.map((p) => {
      const [tx, txb] = p.txTotals();
      const [rx, rxb] = p.rxTotals();
      const l = p.lastRate;
      const dt = l.t === 0 ? 0 : (now - l.t) / 1000;
      const per = (v: number) => (dt > 0 ? v / dt : 0);
      const r = {
        pid: p.pid, name: p.name,
        txPps: per(tx - l.tx), rxPps: per(rx - l.rx),
        txMbps: per((txb - l.txb) * 8) / 1e6, rxMbps: per((rxb - l.rxb) * 8) / 1e6,
      };
      p.lastRate = { t: now, tx, rx, txb, rxb };
      return r;
    });
  }

  /** Starts counting from zero on the given ports (default all). */
  clear(pids: number[] = this.ports.map((p) => p.pid)): void {
    for (const pid of pids) {
      const p = this.ports[pid]!;
      const [tx, txb, txe] = p.txTotals();
      p.base.set(p.c);
      p.base[C_TX_PKTS] = tx;
      p.base[C_TX_BYTES] = txb;
      p.base[C_TX_ERRORS] = txe;
      p.taggedBase = p.taggedSent + (p.running && p.runLatency ? tx - p.runStartTx : 0);
      p.countBase = p.countProg ? p.countProg.read() : [p.c[C_RX_PKTS]!, p.c[C_RX_BYTES]!];
      // min/max cannot be rebased: the worker's values stay; reset them to the next samples.
      p.c[C_LAT_MIN] = Infinity;
      p.c[C_LAT_MAX] = 0;
    }
  }

  /** A one-line description of each port's settings (screen, logs). */
  describe(): string[] {
    return this.ports.map((p) => {
      const s = p.settings;
      return `${p.pid} ${p.name} ${s.engine} ${s.proto} size ${s.size} rate ${formatRate(s.rate)} count ${s.count} burst ${s.burst} ` +
        `${describeIp(s.srcIp)}:${describePort(s.sport)} -> ${describeIp(s.dstIp)}:${describePort(s.dport)} ttl ${s.ttl}` +
        `${s.latency ? " latency" : ""}${s.pcap ? ` pcap ${s.pcap}` : ""}${s.capture ? ` capture ${s.capture}` : ""} rx ${s.rx}`;
    });
  }

  /**
   * Stops everything, writes open captures, closes ports and programs, checks that every frame is back in
   * its pool and frees memory. Returns the framework's exact frame report (cnf's StopReport: leaks, pool
   * overflows, TX rejects, thread errors; double frees, bad allocs and bad kernel returns with
   * `debugFrames`); each fault is also logged. A second call returns an empty report.
   */
  async close(): Promise<StopReport> {
    if (this.closed) return emptyReport();
    this.closed = true;
    try {
      if (this.ports.some((p) => p.running || p.captureBuf !== null)) await this.stop();
    } catch (e) {
      this.log(`txgen: stopping: ${(e as Error).message}`);
    }
    if (this.timer) clearInterval(this.timer);
    const errs = await stopThreads([...this.threads, ...this.ports.flatMap((p) => p.liveThreads.map((l) => l.thread))]);
    for (const p of this.ports) {
      p.liveProg?.close();
      p.liveProg = null;
      p.countLink?.close();
      p.countProg?.close();
    }
    // Ports given in code: TX rejects, then the sockets, then the frames (as PortSet.close does).
    const own = this.ports.map((p) => p.lport).filter((l): l is AfXdpPort => l !== null && !this.portSet?.ports.includes(l));
    const txRejected = txRejectedOf(own);
    const closeErrs: Error[] = [];
    for (const l of own) {
      try { l.close(); } catch (e) { closeErrs.push(new Error(`closing ${l.name}: ${(e as Error).message}`)); }
    }
    let report = poolsReport(this.ownPools, { txRejected, errors: [...errs, ...closeErrs] });
    for (const u of this.umems) u.close();
    if (this.portSet) report = mergeReports(report, this.portSet.close());
    for (const f of report.faults) this.log(`txgen: ${f}`);
    return report;
  }
}

/** Splits a command line into words; "double quotes" keep spaces. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push(m[1] ?? m[2]!);
  return out;
}

/** Opens a generator (see {@link Txgen}); call `start()` to send and `close()` when done. */
export function startTxgen(o: TxgenOptions): Promise<Txgen> {
  return Txgen.create(o);
}

/** Writes text to a file with a clear error. */
export function writeText(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new Error(`Cannot write '${path}': ${(e as Error).message}`, { cause: e });
  }
}
