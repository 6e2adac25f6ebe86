/**
 * A txgen data-plane thread (worker): polls the RX side of its ports (counts, latency tags, capture) and
 * runs the AF_XDP engine's TX for those that send with it: allocate a burst, copy the frame (or the next
 * pcap frames), patch range fields, the tag and checksums in place, pace with a token bucket, send.
 *
 * Plans come from the main thread as messages, read synchronously (receiveMessageOnPort) when the
 * thread's mailbox word changes; everything per packet is typed-array arithmetic on the UMEM.
 */
import { parentPort, receiveMessageOnPort } from "node:worker_threads";
import { openShared } from "../../pktdev/registry.js";
import type { Lport, LportShared } from "../../pktdev/lport.js";
import type { Mempool } from "../../mem/mempool.js";
import { sys } from "../../sys/native.js";
import { POLLIN } from "../../sys/consts.js";
import { ThreadControl, STATE_RUN, STATUS_RUNNING, CTL_STATE } from "../../runtime/control.js";
import {
  type PortShm, K_RUN, K_PLAN, K_TX_STATUS, K_PLAN_ACK, K_CAPTURE, TX_IDLE, TX_SENDING, TX_DONE,
  C_TX_PKTS, C_TX_BYTES, C_TX_ERRORS, C_TX_SEQ, C_RX_PKTS, C_RX_BYTES, C_RX_TAGGED, C_RX_REORDER,
  C_LAT_SUM, C_LAT_MIN, C_LAT_MAX, C_CAP_PKTS, C_CAP_DROPPED, C_LOOPS, C_RX_IP4, HIST_BASE, FROM_BASE, MAX_PORTS,
  CAP_HDR, CAP_REC_HDR, CAP_SNAPLEN, histBucket, monotonicOffsetNs,
} from "./shared.js";
import { TAG_MAGIC } from "./settings.js";

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
}

/** What the AF_XDP engine sends (a message from the main thread). */
export interface AfxdpPlan {
  type: "plan";
  pid: number;
  gen: number;
  /** The frame (template mode) or null (pcap mode). */
  frame: Uint8Array | null;
  len: number;
  /** Range fields, 6 numbers each: offset, bytes, min, n, step, flags (packet.ts F_*). */
  fields: number[];
  tagOff: number;
  ipBase: number;
  l4CsumOff: number;
  l4Base: number;
  l4Udp: boolean;
  varies: boolean;
  /** pcap mode: frames packed at 4-byte aligned offsets. */
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

/** Per-port state in the thread (one object per port, fixed shape). */
class PortState {
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
  tpl: Uint32Array = new Uint32Array(0);
  tpl8: Uint8Array = new Uint8Array(0);
  tplWords = 0;
  len = 0;
  fields = new Float64Array(0);
  nfields = 0;
  tagOff = -1;
  ipBase = 0;
  l4CsumOff = -1;
  l4Base = 0;
  l4Udp = false;
  varies = false;
  pcapWords: Uint32Array = new Uint32Array(0);
  pcap8: Uint8Array = new Uint8Array(0);
  pcapOffs = new Uint32Array(0);
  pcapLens = new Uint32Array(0);
  pcapN = 0;
  pcapNext = 0;
  count = 0;
  pps = 0;
  burst = 64;
  minSend = 1;
  tokenCap = 128;
  /** Paced: milliseconds until enough tokens for a send (0: none to wait). */
  waitMs = 0;
  seq = 0;
  sent = 0;
  tokens = 0;
  lastT = 0;
  // RX
  lastSeq = new Float64Array(MAX_PORTS).fill(NO_SEQ);
  capU8: Uint8Array | null = null;
  capDv: DataView | null = null;
  capHdr: Int32Array | null = null;
  capCap = 0;

  constructor(d: RxTxPortData, port: Lport, pool: Mempool) {
    this.pid = d.pid;
    this.port = port;
    this.pool = pool;
    this.ctl = new Int32Array(d.shm.ctl);
    this.c = new Float64Array(d.shm.counters);
    this.fd = port.pollFd();
    this.seq = this.c[C_TX_SEQ]!;
  }

  setPlan(p: AfxdpPlan, now: number): void {
    this.gen = p.gen;
    this.hasPlan = true;
    this.finished = false;
    this.len = p.len;
    if (p.frame !== null) {
      const words = (p.len + 3) >>> 2;
      this.tpl = new Uint32Array(words);
      this.tpl8 = new Uint8Array(this.tpl.buffer);
      this.tpl8.set(p.frame.subarray(0, p.len));
      this.tplWords = words;
    }
    this.fields = Float64Array.from(p.fields);
    this.nfields = p.fields.length / 6;
    this.tagOff = p.tagOff;
    this.ipBase = p.ipBase;
    this.l4CsumOff = p.l4CsumOff;
    this.l4Base = p.l4Base;
    this.l4Udp = p.l4Udp;
    this.varies = p.varies;
    if (p.pcap !== null) {
      const d = p.pcap.data;
      this.pcapWords = new Uint32Array(d.buffer, d.byteOffset, d.byteLength >>> 2);
      this.pcap8 = d;
      this.pcapOffs = Uint32Array.from(p.pcap.offs);
      this.pcapLens = Uint32Array.from(p.pcap.lens);
      this.pcapN = p.pcap.offs.length;
    } else {
      this.pcapN = 0;
    }
    this.pcapNext = 0;
    this.count = p.count;
    this.pps = p.pps;
    this.burst = p.burst;
    // Paced: send when a slice of the burst has accumulated (about every 100 us at most).
    this.minSend = p.pps > 0 ? Math.max(1, Math.min(p.burst, Math.floor(p.pps / 10000))) : 1;
    this.tokenCap = Math.max(p.burst * 2, p.pps * 0.05);
    this.seq = p.seqStart;
    this.c[C_TX_SEQ] = p.seqStart;
    this.sent = 0;
    this.tokens = 0;
    this.lastT = now;
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
  for (const d of data.ports) {
    const port = openShared(d.lport, pools);
    if (port.pool === null) throw new Error(`txgen port ${d.pid} ('${d.lport.name}') has no mempool`);
    states.push(new PortState(d, port, port.pool));
  }
  loop(data, control, states);
  // Drain: let the TX rings finish so counters and frames settle before the main thread closes the ports.
  const none = new Uint32Array(0);
  for (const st of states) {
    for (let i = 0; i < 8; i++) st.port.txBurst(none, 0);
    Atomics.store(st.ctl, K_TX_STATUS, TX_IDLE);
  }
  for (const mp of pools.values()) mp.flushCache();
}

function handle(m: WorkerMsg, byPid: Map<number, PortState>, now: number): void {
  const st = byPid.get(m.pid);
  if (!st) return;
  if (m.type === "plan") st.setPlan(m, now);
  else if (m.type === "rx") st.parse = m.parse;
  else if (m.type === "capture") st.setCapture(m.buf);
}

function loop(data: RxTxThreadData, control: ThreadControl, states: PortState[]): void {
  const ctl = control.ctl;
  const mb = new Int32Array(data.mailbox);
  let mbSeen = -1;
  const byPid = new Map(states.map((s) => [s.pid, s]));
  const nports = states.length;
  const maxBurst = 256;
  const bufs = new Uint32Array(Math.max(maxBurst, data.rxBurst));
  const rxBurst = data.rxBurst;
  const pfds = new Int32Array(Math.max(2, nports * 2));
  let nfds = 0;
  for (const st of states) if (st.fd >= 0) { pfds[nfds * 2] = st.fd; pfds[nfds * 2 + 1] = POLLIN; nfds++; }
  const offNs = monotonicOffsetNs();
  let empty = 0;
  let loops = 0;
  control.setStatus(STATUS_RUNNING);

  for (;;) {
    if (Atomics.load(ctl, CTL_STATE) !== STATE_RUN) break;
    const mbNow = Atomics.load(mb, 0);
    if (mbNow !== mbSeen) {
      mbSeen = mbNow;
      const now = performance.now();
      for (;;) {
        const m = receiveMessageOnPort(parentPort!);
        if (m === undefined) break;
        handle(m.message as WorkerMsg, byPid, now);
      }
    }
    let work = 0;
    let txActive = false;
    let waitMs = Infinity;
    for (let p = 0; p < nports; p++) {
      const st = states[p]!;
      work += rx(st, bufs, rxBurst, offNs);
      if (st.hasPlan) {
        const run = Atomics.load(st.ctl, K_RUN) === 1 && Atomics.load(st.ctl, K_PLAN) === st.gen;
        if (run && !st.finished) {
          if (!st.sending) {
            st.sending = true;
            st.lastT = performance.now();
            st.tokens = 0;
            Atomics.store(st.ctl, K_PLAN_ACK, st.gen);
            Atomics.store(st.ctl, K_TX_STATUS, TX_SENDING);
          }
          txActive = true;
          const sent = tx(st, bufs, offNs);
          work += sent;
          if (sent === 0 && st.waitMs > 0) {
            if (st.waitMs < waitMs) waitMs = st.waitMs;
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
      if (work === 0 && waitMs > 0.02 && waitMs !== Infinity) Atomics.wait(mb, 0, mbSeen, waitMs > 1 ? 1 : waitMs);
      continue;
    }
    // Nothing to do: after a while, block until RX is readable (or a short timeout, to see commands).
    if (++empty < 512) continue;
    empty = 0;
    if (nfds > 0) {
      for (let i = 0; i < nfds; i++) pfds[i * 2 + 1] = POLLIN;
      sys.poll(pfds, nfds, 5);
    } else {
      Atomics.wait(mb, 0, mbSeen, 20);
    }
    // Keep the fill rings topped up and TX completions reclaimed while idle.
    for (let p = 0; p < nports; p++) states[p]!.port.txBurst(bufs, 0);
  }
}

/** Receives one burst on a port; returns how many. */
function rx(st: PortState, bufs: Uint32Array, burst: number, offNs: number): number {
  const n = st.port.rxBurst(bufs, burst);
  if (n === 0) return 0;
  const pool = st.pool;
  const mbufs = pool.mbufs;
  const dataOff = mbufs.dataOff;
  const dataLen = mbufs.dataLen;
  const shift = pool.umem.shift;
  const c = st.c;
  const u8 = pool.umem.u8;
  let bytes = 0;
  let ip4 = 0;
  if (!st.parse) {
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = (h << shift) + dataOff[h]!;
      bytes += dataLen[h]!;
      if (u8[o + 12] === 0x08 && u8[o + 13] === 0x00) ip4++;
    }
  } else {
    const dv = pool.umem.view;
    // The clock is read once per burst, and only when a tag or a capture needs it (each read allocates a
    // heap number: performance.now() is the only clock a worker has without a native call).
    let nowNs = -1;
    const lastSeq = st.lastSeq;
    const capOn = st.capU8 !== null && Atomics.load(st.ctl, K_CAPTURE) === 1;
    let tagged = 0, reorder = 0, latSum = 0;
    let latMin = c[C_LAT_MIN]!, latMax = c[C_LAT_MAX]!;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = (h << shift) + dataOff[h]!;
      const len = dataLen[h]!;
      bytes += len;
      if (capOn) {
        if (nowNs < 0) nowNs = performance.now() * 1e6 + offNs;
        capture(st, u8, o, len, nowNs);
      }
      if (u8[o + 12] !== 0x08 || u8[o + 13] !== 0x00) continue;
      ip4++;
      // A txgen tag: IPv4 without options, UDP/ICMP (payload at 42) or TCP (at 54).
      if (len < 58 || u8[o + 14] !== 0x45) continue;
      const proto = u8[o + 23]!;
      const to = proto === 6 ? 54 : proto === 17 || proto === 1 ? 42 : 0;
      if (to === 0 || to + 16 > len) continue;
      const t = o + to;
      if (((u8[t]! << 8) | u8[t + 1]!) !== TAG_MAGIC) continue;
      const sender = (u8[t + 2]! << 8) | u8[t + 3]!;
      if (sender >= MAX_PORTS) continue;
      const seq = dv.getUint32(t + 4);
      const ts = dv.getUint32(t + 8) * 4294967296 + dv.getUint32(t + 12);
      if (nowNs < 0) nowNs = performance.now() * 1e6 + offNs;
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

/** Copies a received frame into the capture buffer (or counts it dropped when full). */
function capture(st: PortState, u8: Uint8Array, o: number, len: number, nowNs: number): void {
  const hdr = st.capHdr!;
  const cu8 = st.capU8!;
  const cdv = st.capDv!;
  const used = hdr[0]!;
  const cap = len < CAP_SNAPLEN ? len : CAP_SNAPLEN;
  const rec = CAP_REC_HDR + ((cap + 7) & ~7);
  const at = CAP_HDR + used;
  if (at + rec > st.capCap) {
    st.c[C_CAP_DROPPED]!++;
    return;
  }
  cdv.setFloat64(at, nowNs, true);
  cdv.setUint32(at + 8, cap, true);
  cdv.setUint32(at + 12, len, true);
  const d = at + CAP_REC_HDR;
  for (let j = 0; j < cap; j++) cu8[d + j] = u8[o + j]!;
  Atomics.store(hdr, 0, used + rec);
  hdr[1] = hdr[1]! + 1;
  st.c[C_CAP_PKTS]!++;
}

/** One TX step of the AF_XDP engine; returns packets sent. */
function tx(st: PortState, bufs: Uint32Array, offNs: number): number {
  let budget = st.burst;
  st.waitMs = 0;
  if (st.pps > 0) {
    const now = performance.now();
    let tokens = st.tokens + ((now - st.lastT) * st.pps) / 1000;
    st.lastT = now;
    // Up to 50 ms of backlog: a thread that lost the CPU for a while catches up, so the average holds.
    const cap = st.tokenCap;
    if (tokens > cap) tokens = cap;
    st.tokens = tokens;
    if (tokens < st.minSend) {
      st.waitMs = ((st.minSend - tokens) * 1000) / st.pps;
      return 0;
    }
    const whole = Math.floor(tokens);
    if (whole < budget) budget = whole;
  }
  if (st.count > 0) {
    const left = st.count - st.sent;
    if (left < budget) budget = left;
  }
  const pool = st.pool;
  const n = pool.allocBulk(bufs, budget);
  if (n === 0) {
    // No free buffers: reclaim TX completions.
    st.port.txBurst(bufs, 0);
    return 0;
  }
  const umem = pool.umem;
  const u32 = umem.u32;
  const u8 = umem.u8;
  const dv = umem.view;
  const shift = umem.shift;
  const dataOff = pool.mbufs.dataOff;
  const dataLen = pool.mbufs.dataLen;
  let bytes = 0;
  if (st.pcapN > 0) {
    const words = st.pcapWords;
    const offs = st.pcapOffs;
    const lens = st.pcapLens;
    let k = st.pcapNext;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = (h << shift) + dataOff[h]!;
      const len = lens[k]!;
      const src = offs[k]!;
      const nw = (len + 3) >>> 2;
      if ((o & 3) === 0) {
        const w = o >>> 2;
        for (let j = 0; j < nw; j++) u32[w + j] = words[src + j]!;
      } else {
        const sb = src << 2;
        const s8 = st.pcap8;
        for (let j = 0; j < len; j++) u8[o + j] = s8[sb + j]!;
      }
      dataLen[h] = len;
      bytes += len;
      if (++k === st.pcapN) k = 0;
    }
    // pcapNext advances only for frames actually sent (below).
  } else {
    const tpl = st.tpl;
    const words = st.tplWords;
    const len = st.len;
    const varies = st.varies;
    const F = st.fields;
    const nf = st.nfields;
    const tagOff = st.tagOff;
    let tsHi = 0, tsLo = 0, tsSum = 0;
    if (tagOff >= 0) {
      const ts = performance.now() * 1e6 + offNs;
      tsHi = Math.floor(ts / 4294967296);
      tsLo = ts - tsHi * 4294967296;
      tsSum = (tsHi >>> 16) + (tsHi & 0xffff) + (tsLo >>> 16) + (tsLo & 0xffff);
    }
    let seq = st.seq;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = (h << shift) + dataOff[h]!;
      if ((o & 3) === 0) {
        const w = o >>> 2;
        for (let j = 0; j < words; j++) u32[w + j] = tpl[j]!;
      } else {
        const t8 = st.tpl8;
        for (let j = 0; j < len; j++) u8[o + j] = t8[j]!;
      }
      dataLen[h] = len;
      if (varies) {
        let ip = st.ipBase;
        let l4 = st.l4Base;
        for (let f = 0; f < nf; f++) {
          const b = f * 6;
          const v = F[b + 2]! + (seq % F[b + 3]!) * F[b + 4]!;
          let w: number;
          if (F[b + 1] === 4) {
            dv.setUint32(o + F[b]!, v);
            w = (v >>> 16) + (v & 0xffff);
          } else {
            dv.setUint16(o + F[b]!, v);
            w = v;
          }
          const fl = F[b + 5]!;
          if (fl & 1) ip += w;
          if (fl & 2) l4 += w;
        }
        if (tagOff >= 0) {
          const s32 = seq % 4294967296;
          dv.setUint32(o + tagOff + 4, s32);
          dv.setUint32(o + tagOff + 8, tsHi);
          dv.setUint32(o + tagOff + 12, tsLo);
          l4 += (s32 >>> 16) + (s32 & 0xffff) + tsSum;
        }
        while (ip > 0xffff) ip = (ip & 0xffff) + (ip >>> 16);
        dv.setUint16(o + 24, ~ip & 0xffff);
        if (st.l4CsumOff >= 0) {
          while (l4 > 0xffff) l4 = (l4 & 0xffff) + (l4 >>> 16);
          let cs = ~l4 & 0xffff;
          if (cs === 0 && st.l4Udp) cs = 0xffff;
          dv.setUint16(o + st.l4CsumOff, cs);
        }
      }
      seq++;
    }
    bytes = n * len;
  }
  const k = st.port.txBurst(bufs, n);
  if (k < n) {
    if (st.pcapN > 0) for (let i = k; i < n; i++) bytes -= dataLen[bufs[i]!]!;
    else bytes = k * st.len;
    pool.freeBulk(bufs, n - k, k);
    st.c[C_TX_ERRORS]! += n - k;
  }
  if (st.pcapN > 0) st.pcapNext = (st.pcapNext + k) % st.pcapN;
  st.seq += k;
  st.sent += k;
  if (st.pps > 0) st.tokens -= k;
  const c = st.c;
  c[C_TX_PKTS]! += k;
  c[C_TX_BYTES]! += bytes;
  c[C_TX_SEQ] = st.seq;
  if (st.count > 0 && st.sent >= st.count) st.finished = true;
  return k;
}
