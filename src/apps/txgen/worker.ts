/**
 * A txgen data-plane thread (worker): polls the RX side of its ports (counts, latency tags, capture) and
 * runs the AF_XDP engine's TX for those that send with it: allocate a burst, write the frames
 * (tx-frames.ts: the template with range fields, tag and checksums patched, or the next pcap frames),
 * pace with a token bucket (pacer.ts), send.
 *
 * Plans come from the main thread as messages, read synchronously (receiveMessageOnPort) when the
 * thread's mailbox word changes; everything per packet is typed-array arithmetic on the UMEM.
 *
 * Nothing on the data path allocates (no garbage collections however long it runs): time comes from a
 * MonoClock (clock_gettime into a typed array; performance.now() returns a new heap number per call),
 * read with `read()` and its `ts` array inside the functions that use it (a double passed to or returned
 * from a call the JIT does not inline is boxed: MonoClock.nowNs() too), and pacing sleeps pass
 * Atomics.wait pre-made timeouts.
 */
import { parentPort, receiveMessageOnPort } from "node:worker_threads";
import { openShared } from "../../pktdev/registry.js";
import type { Lport, LportShared } from "../../pktdev/lport.js";
import type { Mempool } from "../../mem/mempool.js";
import { sys } from "../../sys/native.js";
import { POLLIN } from "../../sys/consts.js";
import { ThreadControl, STATE_RUN, STATUS_RUNNING, CTL_STATE } from "../../runtime/control.js";
import { MonoClock } from "../../sys/clock.js";
import {
  type PortShm, K_RUN, K_PLAN, K_TX_STATUS, K_PLAN_ACK, K_CAPTURE, TX_IDLE, TX_SENDING, TX_DONE,
  C_TX_PKTS, C_TX_BYTES, C_TX_ERRORS, C_TX_SEQ, C_RX_PKTS, C_RX_BYTES, C_RX_TAGGED, C_RX_REORDER,
  C_LAT_SUM, C_LAT_MIN, C_LAT_MAX, C_CAP_PKTS, C_CAP_DROPPED, C_LOOPS, C_RX_IP4, C_RXTX_TID, C_TX_PACE_LOST,
  HIST_BASE, FROM_BASE, MAX_PORTS, CAP_HDR, CAP_REC_HDR, CAP_SNAPLEN, IDLE_POLL_MS, histBucket,
} from "./shared.js";
import { TAG_LEN, TAG_MAGIC } from "./settings.js";
import { ETH_HLEN, ETHERTYPE_IPV4, etherType } from "../../wire/ether.js";
import { IP4_HLEN, IP4_PROTO, IP4_VER_IHL, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from "../../wire/ipv4.js";
import { UDP_HLEN } from "../../wire/udp.js";
import { TCP_HLEN } from "../../wire/tcp.js";
import { ICMP_HLEN } from "../../wire/icmp.js";
import { TemplateFrames, PcapFrames } from "./tx-frames.js";
import { Pacer } from "./pacer.js";

export interface RxTxPortData {
  pid: number;
  lport: LportShared;
  shm: PortShm;
}

export interface RxTxThreadData {
  name: string;
  /** Int32Array word 0: bumped by the main thread after each message it posts to this thread. */
  mailbox: SharedArrayBuffer;
  ports: RxTxPortData[];
  /** Packets per RX burst. */
  rxBurst: number;
  /** Tests: return after this many loop iterations (0: until stopped). */
  maxLoops?: number;
}

/** What the AF_XDP engine sends (a message from the main thread). */
export interface AfxdpPlan {
  type: "plan";
  pid: number;
  gen: number;
  /** Template mode: the sequence-0 frame and its plan (tx-frames.ts compilePlan); null in pcap mode. */
  frame: { data: Uint8Array; plan: Uint32Array } | null;
  /** pcap mode: frames packed at 4-byte aligned offsets (word offsets in `offs`). */
  pcap: { data: Uint8Array; offs: number[]; lens: number[] } | null;
  /** Packets to send (0: until stopped). */
  count: number;
  /** Packets per second (0: unpaced). */
  pps: number;
  burst: number;
  /** First sequence number. */
  seqStart: number;
}

/** 0: count only; 1: count, parse tags (latency), capture. */
export interface RxModeMsg {
  type: "rx";
  pid: number;
  parse: boolean;
}

export interface CaptureMsg {
  type: "capture";
  pid: number;
  buf: SharedArrayBuffer | null;
}

export type WorkerMsg = AfxdpPlan | RxModeMsg | CaptureMsg;

const NO_SEQ = -1;

/** The most packets one TX step sends (the burst setting is 1 to 256). */
const MAX_TX_BURST = 256;

/** Per-port state in the thread (one object per port, fixed shape). */
export class PortState {
  readonly pid: number;
  readonly port: Lport;
  readonly pool: Mempool;
  readonly ctl: Int32Array;
  readonly c: Float64Array;
  readonly fd: number;
  parse = true;
  // TX plan
  gen = -1;
  hasPlan = false;
  finished = false;
  sending = false;
  /** What is sent: a template (patched per packet), or the frames of a pcap file. */
  tpl: TemplateFrames | null = null;
  pcap: PcapFrames | null = null;
  /** Whether the frames carry the latency tag (the clock is read per burst). */
  tagged = false;
  /** Buffers per template frame: above 1, frames are mbuf chains (multi-buffer ports). */
  nseg = 1;
  /** The buffers of a burst of chained frames, nseg per frame. */
  segBuf = new Uint32Array(0);
  count = 0;
  burst = 64;
  readonly pacer = new Pacer();
  seq = 0;
  sent = 0;
  // RX
  lastSeq = new Float64Array(MAX_PORTS).fill(NO_SEQ);
  capU8: Uint8Array | null = null;
  capDv: DataView | null = null;
  capHdr: Int32Array | null = null;
  capCap = 0;
  /** The time of the frames being captured (CLOCK_MONOTONIC ns). */
  capNs = 0;

  constructor(d: RxTxPortData, port: Lport, pool: Mempool) {
    this.pid = d.pid;
    this.port = port;
    this.pool = pool;
    this.ctl = new Int32Array(d.shm.ctl);
    this.c = new Float64Array(d.shm.counters);
    this.fd = port.pollFd();
    this.seq = this.c[C_TX_SEQ]!;
  }

  setPlan(p: AfxdpPlan, clk: MonoClock): void {
    this.gen = p.gen;
    this.hasPlan = true;
    this.finished = false;
    this.tpl = p.frame !== null ? new TemplateFrames(p.frame.plan, p.frame.data, p.seqStart) : null;
    this.pcap = p.pcap !== null ? new PcapFrames(p.pcap.data, p.pcap.offs, p.pcap.lens) : null;
    this.tagged = this.tpl !== null && this.tpl.tagged;
    const room = this.pool.umem.frameSize - this.pool.umem.headroom;
    this.nseg = this.tpl !== null ? this.tpl.segments(room) : 1;
    if (this.nseg > 1 && this.segBuf.length < MAX_TX_BURST * this.nseg) this.segBuf = new Uint32Array(MAX_TX_BURST * this.nseg);
    this.count = p.count;
    this.burst = p.burst;
    this.pacer.set(p.pps, p.burst);
    this.pacer.start(clk);
    this.seq = p.seqStart;
    this.c[C_TX_SEQ] = p.seqStart;
    this.c[C_TX_PACE_LOST] = 0;
    this.sent = 0;
  }

  setCapture(buf: SharedArrayBuffer | null): void {
    if (buf === null) {
      this.capU8 = null;
      this.capDv = null;
      this.capHdr = null;
      return;
    }
    this.capU8 = new Uint8Array(buf);
    this.capDv = new DataView(buf);
    this.capHdr = new Int32Array(buf, 0, 4);
    this.capCap = buf.byteLength;
  }
}

export async function run(data: RxTxThreadData, control: ThreadControl): Promise<void> {
  const pools = new Map<string, Mempool>();
  const states: PortState[] = [];
  const ports: Lport[] = [];
  try {
    for (const d of data.ports) {
      // Claims the socket's rings (one owner per ring): the main thread released them before starting us.
      const port = openShared(d.lport, pools);
      ports.push(port);
      if (port.pool === null) throw new Error(`txgen port ${d.pid} ('${d.lport.name}') has no mempool`);
      const st = new PortState(d, port, port.pool);
      st.c[C_RXTX_TID] = sys.gettid();
      states.push(st);
    }
    loop(data, control, states);
    // Drain: let the TX rings finish so counters and frames settle before the main thread closes the ports.
    const none = new Uint32Array(0);
    for (const st of states) {
      for (let i = 0; i < 8; i++) st.port.txBurst(none, 0);
      Atomics.store(st.ctl, K_TX_STATUS, TX_IDLE);
    }
  } finally {
    // Give the rings back: the main thread closes the sockets.
    for (const p of ports) p.release();
    for (const mp of pools.values()) mp.flushCache();
  }
}

function handle(m: WorkerMsg, byPid: Map<number, PortState>, clk: MonoClock): void {
  const st = byPid.get(m.pid);
  if (!st) return;
  if (m.type === "plan") st.setPlan(m, clk);
  else if (m.type === "rx") st.parse = m.parse;
  else if (m.type === "capture") st.setCapture(m.buf);
}

/**
 * Pacing sleeps of 1 to 1000 us, as heap numbers made once: Atomics.wait would box a fractional timeout
 * on every call.
 */
const SLEEP_MS: (number | null)[] = [null];
for (let us = 1; us <= 1000; us++) SLEEP_MS.push(us / 1000);

/** The thread's loop over its ports, until the control state says stop (or `data.maxLoops`). */
export function loop(data: RxTxThreadData, control: ThreadControl, states: PortState[], clk: MonoClock = new MonoClock()): void {
  const ctl = control.ctl;
  const inbox = parentPort;
  const maxLoops = data.maxLoops ?? 0;
  const mb = new Int32Array(data.mailbox);
  let mbSeen = -1;
  const byPid = new Map(states.map((s) => [s.pid, s]));
  const nports = states.length;
  const maxBurst = MAX_TX_BURST;
  const bufs = new Uint32Array(Math.max(maxBurst, data.rxBurst));
  const rxBurst = data.rxBurst;
  const pfds = new Int32Array(Math.max(2, nports * 2));
  let nfds = 0;
  for (const st of states) if (st.fd >= 0) { pfds[nfds * 2] = st.fd; pfds[nfds * 2 + 1] = POLLIN; nfds++; }
  let empty = 0;
  let loops = 0;
  control.setStatus(STATUS_RUNNING);

  for (;;) {
    if (Atomics.load(ctl, CTL_STATE) !== STATE_RUN) break;
    if (maxLoops > 0 && loops >= maxLoops) break;
    const mbNow = Atomics.load(mb, 0);
    if (mbNow !== mbSeen) {
      mbSeen = mbNow;
      for (; inbox !== null;) {
        const m = receiveMessageOnPort(inbox);
        if (m === undefined) break;
        handle(m.message as WorkerMsg, byPid, clk);
      }
    }
    let work = 0;
    let txActive = false;
    let waitMs = Infinity;
    for (let p = 0; p < nports; p++) {
      const st = states[p]!;
      work += rx(st, bufs, rxBurst, clk);
      if (st.hasPlan) {
        const run = Atomics.load(st.ctl, K_RUN) === 1 && Atomics.load(st.ctl, K_PLAN) === st.gen;
        if (run && !st.finished) {
          if (!st.sending) {
            st.sending = true;
            st.pacer.start(clk);
            Atomics.store(st.ctl, K_PLAN_ACK, st.gen);
            Atomics.store(st.ctl, K_TX_STATUS, TX_SENDING);
          }
          txActive = true;
          const sent = tx(st, bufs, clk);
          work += sent;
          if (sent === 0 && st.pacer.waitMs > 0) {
            if (st.pacer.waitMs < waitMs) waitMs = st.pacer.waitMs;
          } else {
            waitMs = 0;
          }
          if (st.finished) {
            st.sending = false;
            Atomics.store(st.ctl, K_TX_STATUS, TX_DONE);
          }
        } else if (st.sending) {
          st.sending = false;
          Atomics.store(st.ctl, K_TX_STATUS, TX_IDLE);
        }
      }
    }
    if ((++loops & 1023) === 0) {
      for (let p = 0; p < nports; p++) states[p]!.c[C_LOOPS] = loops / 1024;
    }
    if (work > 0 || txActive) {
      empty = 0;
      // Every sending port is paced and waits for tokens: sleep until the first is due (or a command comes),
      // rather than spin on the clock.
      if (work === 0 && waitMs > 0.02 && waitMs !== Infinity) {
        const us = Math.ceil(waitMs * 1000);
        Atomics.wait(mb, 0, mbSeen, SLEEP_MS[us < 1000 ? us : 1000]!);
      }
      continue;
    }
    // Nothing to do: after a while, block until RX is readable (or a short timeout, to see commands).
    if (++empty < 512) continue;
    empty = 0;
    if (nfds > 0) {
      for (let i = 0; i < nfds; i++) pfds[i * 2 + 1] = POLLIN;
      sys.poll(pfds, nfds, IDLE_POLL_MS);
    } else {
      Atomics.wait(mb, 0, mbSeen, 20);
    }
    // Keep the fill rings topped up and TX completions reclaimed while idle.
    for (let p = 0; p < nports; p++) states[p]!.port.txBurst(bufs, 0);
  }
}

/** Offsets of the latency tag txgen writes: the payload after Ethernet, IPv4 without options, and the L4 header. */
const TAG_UDP = ETH_HLEN + IP4_HLEN + UDP_HLEN;
const TAG_TCP = ETH_HLEN + IP4_HLEN + TCP_HLEN;
const TAG_ICMP = ETH_HLEN + IP4_HLEN + ICMP_HLEN;

/** Receives one burst on a port; returns how many. */
function rx(st: PortState, bufs: Uint32Array, burst: number, clk: MonoClock): number {
  const n = st.port.rxBurst(bufs, burst);
  if (n === 0) return 0;
  const pool = st.pool;
  const mbufs = pool.mbufs;
  const dataOff = mbufs.dataOff;
  const dataLen = mbufs.dataLen;
  // A chain (multi-buffer port) has its length on its first segment.
  const nbSegs = mbufs.nbSegs;
  const pktLen = mbufs.pktLen;
  const shift = pool.umem.shift;
  const c = st.c;
  const u8 = pool.umem.u8;
  let bytes = 0;
  let ip4 = 0;
  if (!st.parse) {
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = ((h << shift) >>> 0) + dataOff[h]!;
      bytes += nbSegs[h]! > 1 ? pktLen[h]! : dataLen[h]!;
      if (etherType(u8, o) === ETHERTYPE_IPV4) ip4++;
    }
  } else {
    const dv = pool.umem.view;
    // The clock (CLOCK_MONOTONIC, what the tags carry) is read once per burst, when a tag or a capture needs it.
    let nowNs = -1;
    const lastSeq = st.lastSeq;
    const capOn = st.capU8 !== null && Atomics.load(st.ctl, K_CAPTURE) === 1;
    let tagged = 0, reorder = 0, latSum = 0;
    let latMin = c[C_LAT_MIN]!, latMax = c[C_LAT_MAX]!;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = ((h << shift) >>> 0) + dataOff[h]!;
      const len = nbSegs[h]! > 1 ? pktLen[h]! : dataLen[h]!;
      bytes += len;
      if (capOn) {
        if (nowNs < 0) {
          clk.read();
          nowNs = clk.ts[0]! * 1e9 + clk.ts[1]!;
        }
        st.capNs = nowNs;
        capture(st, u8, h, len);
      }
      if (etherType(u8, o) !== ETHERTYPE_IPV4) continue;
      ip4++;
      // A txgen tag: IPv4 without options, UDP/ICMP (payload at 42) or TCP (at 54).
      if (len < TAG_UDP + TAG_LEN || u8[o + ETH_HLEN + IP4_VER_IHL] !== 0x45) continue;
      const proto = u8[o + ETH_HLEN + IP4_PROTO]!;
      const to = proto === IPPROTO_TCP ? TAG_TCP : proto === IPPROTO_UDP ? TAG_UDP : proto === IPPROTO_ICMP ? TAG_ICMP : 0;
      if (to === 0 || to + 16 > len) continue;
      const t = o + to;
      if (((u8[t]! << 8) | u8[t + 1]!) !== TAG_MAGIC) continue;
      const sender = (u8[t + 2]! << 8) | u8[t + 3]!;
      if (sender >= MAX_PORTS) continue;
      const seq = dv.getUint32(t + 4);
      const ts = dv.getUint32(t + 8) * 4294967296 + dv.getUint32(t + 12);
      if (nowNs < 0) {
        clk.read();
        nowNs = clk.ts[0]! * 1e9 + clk.ts[1]!;
      }
      let lat = nowNs - ts;
      if (lat < 0) lat = 0;
      tagged++;
      c[FROM_BASE + sender]!++;
      latSum += lat;
      if (lat < latMin) latMin = lat;
      if (lat > latMax) latMax = lat;
      c[HIST_BASE + histBucket(lat)]!++;
      const last = lastSeq[sender]!;
      if (last !== NO_SEQ && ((seq - last) | 0) < 0) reorder++;
      else lastSeq[sender] = seq;
    }
    if (tagged > 0) {
      c[C_RX_TAGGED]! += tagged;
      c[C_LAT_SUM]! += latSum;
      c[C_LAT_MIN] = latMin;
      c[C_LAT_MAX] = latMax;
      c[C_RX_REORDER]! += reorder;
    }
  }
  c[C_RX_PKTS]! += n;
  c[C_RX_BYTES]! += bytes;
  c[C_RX_IP4]! += ip4;
  pool.freeBulk(bufs, n);
  return n;
}

/**
 * Copies the frame in buffer `h` into the capture buffer (or counts it dropped when full), time
 * `st.capNs`. Takes the handle: an offset of 2^30 or more would be boxed on a call that is not inlined.
 */
function capture(st: PortState, u8: Uint8Array, h: number, len: number): void {
  const o = ((h << st.pool.umem.shift) >>> 0) + st.pool.mbufs.dataOff[h]!;
  const hdr = st.capHdr!;
  const cu8 = st.capU8!;
  const cdv = st.capDv!;
  const used = hdr[0]!;
  let cap = len < CAP_SNAPLEN ? len : CAP_SNAPLEN;
  // Of a chain, the first segment's bytes.
  const first = st.pool.mbufs.dataLen[h]!;
  if (cap > first) cap = first;
  const rec = CAP_REC_HDR + ((cap + 7) & ~7);
  const at = CAP_HDR + used;
  if (at + rec > st.capCap) {
    st.c[C_CAP_DROPPED]!++;
    return;
  }
  cdv.setFloat64(at, st.capNs, true);
  cdv.setUint32(at + 8, cap, true);
  cdv.setUint32(at + 12, len, true);
  const d = at + CAP_REC_HDR;
  for (let j = 0; j < cap; j++) cu8[d + j] = u8[o + j]!;
  Atomics.store(hdr, 0, used + rec);
  hdr[1] = hdr[1]! + 1;
  st.c[C_CAP_PKTS]!++;
}

/** One TX step of the AF_XDP engine; returns packets sent. */
function tx(st: PortState, bufs: Uint32Array, clk: MonoClock): number {
  let budget = st.burst;
  const pacer = st.pacer;
  if (pacer.pps > 0) {
    budget = pacer.grant(clk, budget);
    st.c[C_TX_PACE_LOST] = pacer.lost;
    if (budget === 0) return 0;
  }
  if (st.count > 0) {
    const left = st.count - st.sent;
    if (left < budget) budget = left;
  }
  const pool = st.pool;
  const nseg = st.nseg;
  let n: number;
  if (nseg === 1) {
    n = pool.allocBulk(bufs, budget);
  } else {
    // Jumbo frames: nseg buffers each, whole frames only.
    const got = pool.allocBulk(st.segBuf, budget * nseg);
    n = Math.floor(got / nseg);
    if (got > n * nseg) pool.freeBulk(st.segBuf, got - n * nseg, n * nseg);
  }
  if (n === 0) {
    // No free buffers: reclaim TX completions.
    st.port.txBurst(bufs, 0);
    return 0;
  }
  const umem = pool.umem;
  const mbufs = pool.mbufs;
  const tpl = st.tpl;
  const pcap = st.pcap;
  let bytes = 0;
  if (tpl !== null) bytes = nseg === 1 ? tpl.fill(umem, mbufs, bufs, n, clk) : tpl.fillChains(umem, mbufs, st.segBuf, nseg, bufs, n, clk);
  else if (pcap !== null) bytes = pcap.fill(umem, mbufs, bufs, n);
  const k = st.port.txBurst(bufs, n);
  if (k < n) {
    const dataLen = mbufs.dataLen;
    for (let i = k; i < n; i++) {
      const h = bufs[i]!;
      bytes -= mbufs.nbSegs[h]! > 1 ? mbufs.pktLen[h]! : dataLen[h]!;
    }
    pool.freeBulk(bufs, n - k, k);
    st.c[C_TX_ERRORS]! += n - k;
  }
  if (tpl !== null) tpl.sent(k, n);
  else if (pcap !== null) pcap.sent(k, n);
  pacer.took(k);
  st.seq += k;
  st.sent += k;
  const c = st.c;
  c[C_TX_PKTS]! += k;
  c[C_TX_BYTES]! += bytes;
  c[C_TX_SEQ] = st.seq;
  if (st.count > 0 && st.sent >= st.count) st.finished = true;
  return k;
}
