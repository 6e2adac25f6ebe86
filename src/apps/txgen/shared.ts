/**
 * Shared memory of one txgen port: control words the main thread writes (Int32Array), and counters,
 * a latency histogram and per-sender receive counts the data-plane threads write (Float64Array). Each
 * counter has one writer; the main thread only reads them (clearing keeps a baseline on the main side).
 *
 * The latency histogram is log-linear: exact below 64 ns, then 32 buckets per power of two (at most
 * 1.6% error), up to 2^32 ns; {@link quantile} reads it back.
 */

/** Ports a txgen instance may have (the tag carries the sender's id). */
export const MAX_PORTS = 64;

// ---- control words (Int32Array) -------------------------------------------------------------------
/** 1 while the port should transmit (main sets it at start, clears it at stop; a finished count clears it too). */
export const K_RUN = 0;
/** Bumped by the main thread whenever it posts a new plan for the port. */
export const K_PLAN = 1;
/** Transmit status, written by the sender: 0 idle, 1 sending, 2 finished its count. */
export const K_TX_STATUS = 2;
/** Live-frames threads that have finished the current run. */
export const K_LIVE_DONE = 3;
/** 1 while received frames are copied into the capture buffer. */
export const K_CAPTURE = 4;
/** The plan generation the sender runs (acknowledges K_PLAN). */
export const K_PLAN_ACK = 5;
/** The errno of the last failed live-frames run (0: none). */
export const K_LIVE_ERRNO = 6;
/** Live-frames thread i: state at K_LIVE + 2i (TX_* values), plan generation it ran at K_LIVE + 2i + 1. */
export const K_LIVE = 8;
export const CTL_WORDS = 8 + 2 * 8;

export const TX_IDLE = 0;
export const TX_SENDING = 1;
export const TX_DONE = 2;

// ---- counters (Float64Array) ------------------------------------------------------------------------
export const C_TX_PKTS = 0;
export const C_TX_BYTES = 1;
/** Packets the TX ring did not take (afxdp) or test runs that failed (live). */
export const C_TX_ERRORS = 2;
/** The next sequence number of this port (afxdp engine). */
export const C_TX_SEQ = 3;
export const C_RX_PKTS = 4;
export const C_RX_BYTES = 5;
/** Received frames carrying a txgen tag. */
export const C_RX_TAGGED = 6;
/** Tagged frames whose sequence number was below one already seen from the same sender. */
export const C_RX_REORDER = 7;
export const C_LAT_SUM = 8;
export const C_LAT_MIN = 9;
export const C_LAT_MAX = 10;
export const C_CAP_PKTS = 11;
export const C_CAP_DROPPED = 12;
/** Loop iterations of the RX/TX thread / 1024 (liveness). */
export const C_LOOPS = 13;
/** Received IPv4 frames (what a return path of txgen traffic carries; IPv6 neighbour chatter is not). */
export const C_RX_IP4 = 14;
/** The Linux thread id of the port's RX/TX thread (/proc/<pid>/task/<tid>: its CPU and scheduler figures). */
export const C_RXTX_TID = 15;
/** Live-frames threads: pkts, bytes, calls, errors for thread i at C_LIVE + i * 4. */
export const C_LIVE = 16;
export const LIVE_SLOTS = 8;
export const HIST_BASE = C_LIVE + LIVE_SLOTS * 4;
export const HIST_BUCKETS = 896;
/** Tagged frames received from sender port i at FROM_BASE + i. */
export const FROM_BASE = HIST_BASE + HIST_BUCKETS;
/** AF_XDP engine, paced: frames the schedule gave up because the sender did not run for over 50 ms (pacer.ts). */
export const C_TX_PACE_LOST = FROM_BASE + MAX_PORTS;
export const COUNTER_WORDS = C_TX_PACE_LOST + 1;

/** Histogram bucket of a latency in ns (clamped to [0, 2^32)). Allocation-free. */
export function histBucket(ns: number): number {
  if (ns < 64) return ns < 0 ? 0 : ns | 0;
  const v = ns >= 4294967295 ? 4294967295 : ns >>> 0;
  const e = 31 - Math.clz32(v);
  return 64 + (e - 6) * 32 + ((v >>> (e - 5)) & 31);
}

/** The lower bound and width of a bucket, in ns. */
export function bucketRange(i: number): { lo: number; width: number } {
  if (i < 64) return { lo: i, width: 1 };
  const e = 6 + Math.floor((i - 64) / 32);
  const m = (i - 64) % 32;
  const width = 2 ** (e - 5);
  return { lo: (32 + m) * width, width };
}

/** The q-quantile (0..1) of a histogram, as the middle of its bucket, or 0 when empty. */
export function quantile(hist: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < HIST_BUCKETS; i++) total += hist[i]!;
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < HIST_BUCKETS; i++) {
    seen += hist[i]!;
    if (seen >= rank) {
      const { lo, width } = bucketRange(i);
      return lo + (width - 1) / 2;
    }
  }
  return 0;
}

/**
 * How long an idle RX/TX thread blocks in poll(2) on its sockets before it looks at its mailbox again: the
 * longest a start (or any command) waits for the thread to notice it.
 */
export const IDLE_POLL_MS = 5;

/** What the threads of a port share (structured-cloneable). */
export interface PortShm {
  ctl: SharedArrayBuffer;
  counters: SharedArrayBuffer;
}

export function newPortShm(): PortShm {
  const counters = new SharedArrayBuffer(COUNTER_WORDS * 8);
  new Float64Array(counters)[C_LAT_MIN] = Infinity;
  return { ctl: new SharedArrayBuffer(CTL_WORDS * 4), counters };
}

// ---- capture buffer -----------------------------------------------------------------------------
/**
 * Received frames copied by the RX thread for a pcap file: a header of Int32 words ([0] bytes used,
 * [1] frames, [2] frames dropped for lack of room), then records of {tsNs f64, caplen u32, origlen u32,
 * data padded to 8}. The main thread reads it after capture stops.
 */
export const CAP_HDR = 16;
export const CAP_REC_HDR = 16;
export const CAP_SNAPLEN = 2048;

export function newCaptureBuffer(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(CAP_HDR + bytes);
}

/** Reads the frames of a capture buffer (control path): [{tsNs, data, origLen}]. */
export function readCapture(buf: SharedArrayBuffer): { tsNs: number; data: Uint8Array; origLen: number }[] {
  const hdr = new Int32Array(buf, 0, 4);
  const used = Atomics.load(hdr, 0);
  const dv = new DataView(buf);
  const u8 = new Uint8Array(buf);
  const out: { tsNs: number; data: Uint8Array; origLen: number }[] = [];
  let o = CAP_HDR;
  while (o + CAP_REC_HDR <= CAP_HDR + used) {
    const tsNs = dv.getFloat64(o, true);
    const cap = dv.getUint32(o + 8, true);
    const orig = dv.getUint32(o + 12, true);
    out.push({ tsNs, data: u8.slice(o + CAP_REC_HDR, o + CAP_REC_HDR + cap), origLen: orig });
    o += CAP_REC_HDR + ((cap + 7) & ~7);
  }
  return out;
}
