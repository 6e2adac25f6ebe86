/**
 * One worker's TCP (RFC 9293): connection blocks in typed arrays (one array per field, indexed by slot;
 * a small per-slot object holds the slot's buffers and is reused by the next connection in that slot),
 * a 4-tuple hash, listeners with a bounded backlog, and the whole state machine: three-way handshake,
 * simultaneous open and close, RST checks (RFC 5961 challenge ACKs), TIME_WAIT, options (MSS, window
 * scale, SACK-permitted and SACK blocks, timestamps with PAWS: RFC 7323), RTO (RFC 6298: Karn, backoff),
 * slow start and congestion avoidance (RFC 5681), fast retransmit and NewReno recovery (RFC 6582) with
 * SACK-guided hole retransmission, delayed ACK (every second segment, else after `delackMs`), Nagle,
 * keepalive, the persist timer for zero windows.
 *
 * Receive is zero copy: in-order segments are queued as frame handles (data = payload), out-of-order
 * ones wait in a bounded sorted queue of handles. Send copies bytes into the slot's ring; every segment
 * (first transmission or retransmission) is built from the ring into a new frame, IPv4 header included,
 * and queued on {@link TcpEngine.out} for `ip4_output` (the tcp nodes move it into the graph). Time is
 * `ctx.clock[0]` (ms). All calls on the stack's thread; the hot calls allocate nothing.
 *
 * @example
 * declare const stack: CnetStack;
 * const eng = new TcpEngine(stack.ctx, { timeWaitMs: 1000 });
 */
import { sys } from "../../sys/native.js";
import { setBe16, setBe32 } from "../../wire/bytes.js";
import { cksumFold, onesSum, pseudoSum4, pseudoSum6 } from "../../wire/cksum.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { IP4_CSUM, IP4_DST, IP4_SRC, IPPROTO_TCP, ip4Cksum } from "../../wire/ipv4.js";
import { TCP_CSUM, TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_PSH, TCP_FLAG_RST, TCP_FLAG_SYN, tcp4Cksum } from "../../wire/tcp.js";
import { C } from "../counters.js";
import type { StackCtx } from "../context.js";
import { ConnHash, ConnHash6 } from "./conn-hash.js";
import type { Ip6Ctx } from "../ip6/context.js";
import { HandleQueue } from "../handle-queue.js";
import { connEntryAt, type TcpConnTable } from "./conn-table.js";
import {
  TCP_CLOSED, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_LAST_ACK, TCP_LISTEN,
  TCP_SYN_RECEIVED, TCP_SYN_SENT, TCP_TIME_WAIT,
} from "./states.js";

/** Options of the TCP engine (CnetStackOptions.tcp). */
export interface TcpOptions {
  /** Connection slots (listeners included; default 1024). */
  maxConns?: number;
  /** Send buffer per connection, bytes (a power of two, default 262144). */
  sndBuf?: number;
  /**
   * Receive buffer per connection, bytes (the window we offer; default 1 MiB: at 5 Gbit/s a 256 KiB window
   * covers only 0.4 ms of round trip, and an event-loop turn can take that). At most rcvBuf / 512 + 16
   * frames are held (full-size segments need rcvBuf / MSS), so tiny segments close the window long before
   * one connection could take a large share of the pool.
   */
  rcvBuf?: number;
  /** Out-of-order segments held per connection (default 256). */
  oooMax?: number;
  /** Our MSS (default: 1460, the Ethernet MTU's). */
  mss?: number;
  /** TIME_WAIT lasts this long, ms (2*MSL; default 60000, as Linux). */
  timeWaitMs?: number;
  /** Lowest RTO, ms (default 200, as Linux; RFC 6298 says 1000). */
  minRtoMs?: number;
  /** Highest RTO, ms (default 60000). */
  maxRtoMs?: number;
  /** RTO before any measurement, ms (default 1000). */
  initRtoMs?: number;
  /** Delayed ACK timeout, ms (default 40). */
  delackMs?: number;
  /** SYN retransmissions before connect fails (default 6). */
  synRetries?: number;
  /** SYN-ACK retransmissions before a half-open connection is dropped (default 5). */
  synAckRetries?: number;
  /** Data retransmissions before the connection is aborted (default 15). */
  maxRetries?: number;
  /** Keepalive: idle time before the first probe, between probes, probes before giving up (7200000, 75000, 9). */
  keepIdleMs?: number;
  keepIntvlMs?: number;
  keepCnt?: number;
  /** Offer timestamps, SACK and window scaling (default true each). */
  timestamps?: boolean;
  sack?: boolean;
  windowScaling?: boolean;
  /**
   * SYN cookies (default false): with a listener's backlog full, a SYN is answered with a SYN-ACK whose
   * sequence number encodes the connection (no state kept); the client's ACK proves it and opens the
   * connection (MSS kept to one of 4 values; no window scaling, SACK or timestamps on such a connection).
   */
  synCookies?: boolean;
  /** Connection telemetry table to write (every `tableMs`, default 250 ms). */
  table?: TcpConnTable;
  tableMs?: number;
}

// Per-connection flags.
const F_TS = 1;
const F_SACK = 2;
const F_WS = 4;
const F_NODELAY = 8;
const F_KEEPALIVE = 16;
const F_FIN_QUEUED = 32; // the app shut down its side: FIN after the buffered data
const F_FIN_RCVD = 64;
const F_ACK_NOW = 128;
const F_RECOVERY = 256;
const F_RTT_TIMING = 512;
const F_ORPHAN = 1024; // the app closed its channel
const F_RESET = 2048; // reset by the peer
const F_ERROR = 4096; // timed out, refused, aborted
const F_WANT_WRITE = 8192; // send() found the buffer full
const F_CONNECTED = 16384;
const F_KICKED = 32768; // in the output list
const F_DIRTY = 65536; // in the event list
const F_IN_ACCEPTQ = 131072;
const F_DONE = 262144; // the connection is over (CLOSED event given)
const F_SHUT_WR = 524288; // no more send()
const F_TLP = 1048576; // a tail loss probe is out (RFC 8985 7)

/** The MSS values a SYN cookie can carry (3 bits). */
const COOKIE_MSS = [536, 1200, 1440, 1460, 1460, 1460, 1460, 1460];

/** {@link TcpEngine.input}: the caller frees the frame. */
export const TCP_IN_FREE = 0;
/** {@link TcpEngine.input}: the engine kept the frame. */
export const TCP_IN_KEPT = 1;
/** {@link TcpEngine.input}: to `punt_tap` (punting on, nobody wants the segment). */
export const TCP_IN_PUNT = 2;

/** Event bits (same values as chnl.ts CHNL_EV_*). */
const EV_READABLE = 1;
const EV_WRITABLE = 2;
const EV_ACCEPT = 4;
const EV_CONNECTED = 8;
const EV_EOF = 16;
const EV_RESET = 32;
const EV_CLOSED = 64;
const EV_ERROR = 128;

const IP_HLEN = 20;
const IP6_HLEN = 40;
/** MSS over IPv6 is 20 bytes less than over IPv4 (a 40-byte header: MTU - 60). */
const MSS6_LESS = 20;
const MAX_SACK = 4;

/** Copies this long and longer go through the shim's memcpy (a native call costs about a 256-byte loop). */
const NATIVE_COPY = 256;

function copyBytes(dst: Uint8Array, d: number, src: Uint8Array, s: number, n: number): void {
  if (n >= NATIVE_COPY) {
    sys.copyBytes(dst, d, src, s, n);
    return;
  }
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    dst[d + i] = src[s + i]!; dst[d + i + 1] = src[s + i + 1]!; dst[d + i + 2] = src[s + i + 2]!; dst[d + i + 3] = src[s + i + 3]!;
    dst[d + i + 4] = src[s + i + 4]!; dst[d + i + 5] = src[s + i + 5]!; dst[d + i + 6] = src[s + i + 6]!; dst[d + i + 7] = src[s + i + 7]!;
  }
  for (; i < n; i++) dst[d + i] = src[s + i]!;
}

/**
 * Copies `n` bytes like {@link copyBytes} and returns the one's-complement sum (unfolded, < 2^31 for
 * n <= 65535) of the bytes as 16-bit big-endian words; `odd`: the first byte is the low byte of a word
 * (the chunk starts at an odd offset of the summed range).
 */
function copySum(dst: Uint8Array, d: number, src: Uint8Array, s: number, n: number, odd: boolean): number {
  if (n >= NATIVE_COPY) {
    // Two fast passes (memcpy, then the four-bytes-a-load sum over the copy) beat one byte loop.
    sys.copyBytes(dst, d, src, s, n);
    return odd ? dst[d]! + onesSum(dst, d + 1, n - 1) : onesSum(dst, d, n);
  }
  let sum = 0;
  let i = 0;
  if (odd && n > 0) {
    const b = src[s]!;
    dst[d] = b;
    sum = b;
    i = 1;
  }
  for (; i + 4 <= n; i += 4) {
    const b0 = src[s + i]!;
    const b1 = src[s + i + 1]!;
    const b2 = src[s + i + 2]!;
    const b3 = src[s + i + 3]!;
    dst[d + i] = b0; dst[d + i + 1] = b1; dst[d + i + 2] = b2; dst[d + i + 3] = b3;
    sum += ((b0 << 8) | b1) + ((b2 << 8) | b3);
  }
  for (; i + 2 <= n; i += 2) {
    const b0 = src[s + i]!;
    const b1 = src[s + i + 1]!;
    dst[d + i] = b0; dst[d + i + 1] = b1;
    sum += (b0 << 8) | b1;
  }
  if (i < n) {
    const b = src[s + i]!;
    dst[d + i] = b;
    sum += b << 8;
  }
  return sum;
}

/** The buffers of one slot (made the first time the slot is used, then reused). */
class SlotBufs {
  declare readonly snd: Uint8Array;
  declare readonly rq: Uint32Array;
  declare readonly ooo: Uint32Array;
  /** Listener: children ready to accept (slots; a power of two at least the backlog). */
  declare acq: Int32Array;
  constructor(sndBuf: number, rqCap: number, oooMax: number, acqCap: number) {
    this.snd = new Uint8Array(sndBuf);
    this.rq = new Uint32Array(rqCap);
    this.ooo = new Uint32Array(oooMax);
    this.acq = new Int32Array(acqCap);
  }
}

/**
 * The TCP engine of one stack. See the module comment.
 *
 * @example
 * declare const stack: CnetStack;
 * const eng = stack.tcp;
 */
export class TcpEngine {
  declare private readonly ctx: StackCtx;
  /** The stack's clock word (ms); read inline: a double returned from a call may be boxed. */
  declare private readonly clk: Float64Array;
  declare private readonly u8: Uint8Array;
  declare private readonly c: Float64Array;
  declare readonly maxConns: number;
  declare private readonly sndBuf: number;
  declare private readonly sndMask: number;
  declare private readonly rcvBuf: number;
  declare private readonly rqCap: number;
  declare private readonly oooMax: number;
  declare private readonly ourMss: number;
  declare private readonly rcvWsOffer: number;
  declare private readonly o: Required<Omit<TcpOptions, "table">>;
  declare private readonly table: TcpConnTable | null;
  /** Segments built for ip4_output (the tcp nodes move them into the graph). */
  declare readonly out: HandleQueue;
  declare private readonly hash: ConnHash;
  /** IPv6 connections (ConnHash6: 16-byte addresses), apart so IPv4 lookups stay as they were. */
  declare private readonly hash6: ConnHash6;
  /** Segments built for ip6_output (IPv6 connections and replies). */
  declare readonly out6: HandleQueue;
  /** Per slot: the address family (4 or 6). */
  declare readonly fam: Uint8Array;
  /** Per slot, 16 bytes at `s * 16`: an IPv6 connection's local and remote addresses (lip/rip are 0). */
  declare readonly lip6: Uint8Array;
  declare readonly rip6: Uint8Array;
  /** Per slot: the ifindex an IPv6 connection's link-local peer is on (its segments leave there). */
  declare readonly oif6: Int32Array;
  declare private x6: Ip6Ctx | null;
  /** The segment at hand: its IPv6 header's offset in u8 (-1: IPv4) and the ifindex it came in on. */
  declare private cur6: number;
  declare private curIf: number;
  declare private readonly ourMss6: number;
  /** Listener slot by local port (-1: none). */
  declare private readonly listeners: Int32Array;
  /** Channels bound per local port (bind/listen/connect), so ephemeral ports skip them. */
  declare readonly portRefs: Int32Array;

  // Connection blocks: one typed array per field.
  declare readonly state: Int32Array;
  declare readonly flags: Int32Array;
  declare readonly lip: Int32Array;
  declare readonly rip: Int32Array;
  declare readonly lport: Int32Array;
  declare readonly rport: Int32Array;
  declare private readonly iss: Int32Array;
  declare private readonly irs: Int32Array;
  declare readonly sndUna: Int32Array;
  declare readonly sndNxt: Int32Array;
  declare readonly sndMax: Int32Array;
  declare readonly sndWnd: Int32Array;
  declare private readonly sndWl1: Int32Array;
  declare private readonly sndWl2: Int32Array;
  declare private readonly maxSndWnd: Int32Array;
  declare private readonly sbUna: Int32Array;
  declare private readonly sbEnd: Int32Array;
  declare readonly rcvNxt: Int32Array;
  /** rcv.nxt in the last ACK sent (RFC 7323's Last.ACK.sent). */
  declare private readonly ackSent: Int32Array;
  declare private readonly rcvAdv: Int32Array;
  declare private readonly mss: Int32Array;
  declare private readonly sndWs: Int32Array;
  declare private readonly rcvWs: Int32Array;
  declare private readonly tsRecent: Int32Array;
  declare readonly cwnd: Int32Array;
  declare readonly ssthresh: Int32Array;
  declare private readonly dupacks: Int32Array;
  declare private readonly recover: Int32Array;
  declare private readonly rexmitNxt: Int32Array;
  declare private readonly rttSeq: Int32Array;
  declare private readonly retries: Int32Array;
  declare private readonly segsUnacked: Int32Array;
  declare private readonly caAcked: Int32Array;
  declare private readonly parent: Int32Array;
  /** The channel of each slot (-1: none). */
  declare readonly chanOf: Int32Array;
  declare private readonly ev: Int32Array;
  declare private readonly backlog: Int32Array;
  declare private readonly halfOpen: Int32Array;
  declare private readonly acqHead: Int32Array;
  declare private readonly acqLen: Int32Array;
  declare private readonly rqHead: Int32Array;
  declare private readonly rqLen: Int32Array;
  declare private readonly rqBytes: Int32Array;
  declare private readonly oooLen: Int32Array;
  declare private readonly oooLast: Int32Array;
  declare private readonly probes: Int32Array;
  declare private readonly persistShift: Int32Array;
  declare private readonly sackN: Int32Array;
  /** Per slot, up to MAX_SACK (start, end) blocks the peer last reported. */
  declare private readonly sackBlk: Int32Array;
  declare private readonly rtoAt: Float64Array;
  declare private readonly delackAt: Float64Array;
  declare private readonly persistAt: Float64Array;
  declare private readonly tlpAt: Float64Array;
  declare private readonly keepAt: Float64Array;
  declare private readonly rttTime: Float64Array;
  declare private readonly srtt: Float64Array;
  declare private readonly rttvar: Float64Array;
  declare readonly rto: Float64Array;
  declare readonly retrans: Float64Array;
  declare readonly bytesIn: Float64Array;
  declare readonly bytesOut: Float64Array;
  declare private readonly bufs: (SlotBufs | null)[];

  /** Per frame handle: the sequence number of a queued segment, and whether it carries FIN. */
  declare private readonly segSeq: Int32Array;
  declare private readonly segFin: Uint8Array;

  declare private readonly freeSlots: Int32Array;
  declare private nFree: number;
  /** Slots in use (dense), for the timer scan. */
  declare private readonly active: Int32Array;
  declare private readonly activeAt: Int32Array;
  declare private nActive: number;
  declare private readonly kicks: Int32Array;
  declare private nKicks: number;
  declare private readonly dirty: Int32Array;
  declare private nDirty: number;
  /** Scratch: parsed options of the segment at hand. [0] mss [1] ws (-1 none) [2] sackOk [3] hasTs [4] tsval [5] tsecr [6] nsack, then blocks. */
  declare private readonly opt: Int32Array;
  declare private readonly sackOut: Int32Array;
  declare private readonly tnow: Float64Array;
  declare private ipId: number;
  declare private nextEphemeral: number;
  declare private tsBase: number;
  declare private readonly cookieSecret: number;
  declare private readonly tsEpoch: number;
  declare private readonly nextTable: Float64Array;
  declare private readonly scratch: Uint32Array;
  /** @internal Called when a slot whose channel the app closed is freed (Chnl releases the id). */
  declare onRelease: ((cd: number) => void) | null;

  /** @internal Made by the stack. */
  constructor(ctx: StackCtx, opts: TcpOptions) {
    this.ctx = ctx;
    this.clk = ctx.clock;
    this.u8 = ctx.u8;
    this.c = ctx.c;
    const o = {
      maxConns: opts.maxConns ?? 1024, sndBuf: opts.sndBuf ?? 262144, rcvBuf: opts.rcvBuf ?? 1048576, oooMax: opts.oooMax ?? 256,
      mss: opts.mss ?? 1460, timeWaitMs: opts.timeWaitMs ?? 60000, minRtoMs: opts.minRtoMs ?? 200, maxRtoMs: opts.maxRtoMs ?? 60000,
      initRtoMs: opts.initRtoMs ?? 1000, delackMs: opts.delackMs ?? 40, synRetries: opts.synRetries ?? 6, synAckRetries: opts.synAckRetries ?? 5,
      maxRetries: opts.maxRetries ?? 15, keepIdleMs: opts.keepIdleMs ?? 7200000, keepIntvlMs: opts.keepIntvlMs ?? 75000, keepCnt: opts.keepCnt ?? 9,
      timestamps: opts.timestamps ?? true, sack: opts.sack ?? true, windowScaling: opts.windowScaling ?? true, tableMs: opts.tableMs ?? 250,
      synCookies: opts.synCookies ?? false,
    };
    const sb = o.sndBuf;
    if (!Number.isInteger(sb) || sb < 4096 || sb > 1 << 28 || (sb & (sb - 1)) !== 0) throw new RangeError(`tcp: sndBuf ${sb} is not a power of two from 4096 to 2^28`);
    if (!Number.isInteger(o.rcvBuf) || o.rcvBuf < 4096 || o.rcvBuf > 1 << 28) throw new RangeError(`tcp: rcvBuf ${o.rcvBuf} is not 4096 to 2^28`);
    if (!Number.isInteger(o.maxConns) || o.maxConns < 1 || o.maxConns > 1 << 20) throw new RangeError(`tcp: maxConns ${o.maxConns} is not 1 to 2^20`);
    if (!Number.isInteger(o.mss) || o.mss < 88 || o.mss > 9000) throw new RangeError(`tcp: mss ${o.mss} is not 88 to 9000`);
    if (!Number.isInteger(o.oooMax) || o.oooMax < 1 || o.oooMax > 65536) throw new RangeError(`tcp: oooMax ${o.oooMax} is not 1 to 65536`);
    this.o = o;
    this.table = opts.table ?? null;
    const n = o.maxConns;
    this.maxConns = n;
    this.sndBuf = sb;
    this.sndMask = sb - 1;
    this.rcvBuf = o.rcvBuf;
    this.rqCap = Math.ceil(o.rcvBuf / 512) + 16;
    this.oooMax = o.oooMax;
    this.ourMss = o.mss;
    let ws = 0;
    while (ws < 14 && 65535 * 2 ** ws < o.rcvBuf) ws++;
    this.rcvWsOffer = o.windowScaling ? ws : 0;
    this.out = new HandleQueue(8192);
    this.hash = new ConnHash(n);
    this.hash6 = new ConnHash6(n);
    this.out6 = new HandleQueue(8192);
    this.fam = new Uint8Array(n).fill(4);
    this.lip6 = new Uint8Array(16 * n);
    this.rip6 = new Uint8Array(16 * n);
    this.oif6 = new Int32Array(n);
    this.x6 = null;
    this.cur6 = -1;
    this.curIf = 0;
    this.ourMss6 = o.mss - MSS6_LESS;
    this.listeners = new Int32Array(65536).fill(-1);
    this.portRefs = new Int32Array(65536);
    const i32 = () => new Int32Array(n);
    const f64 = () => new Float64Array(n);
    this.state = i32(); this.flags = i32(); this.lip = i32(); this.rip = i32(); this.lport = i32(); this.rport = i32();
    this.iss = i32(); this.irs = i32(); this.sndUna = i32(); this.sndNxt = i32(); this.sndMax = i32(); this.sndWnd = i32();
    this.sndWl1 = i32(); this.sndWl2 = i32(); this.maxSndWnd = i32(); this.sbUna = i32(); this.sbEnd = i32(); this.rcvNxt = i32(); this.ackSent = i32();
    this.rcvAdv = i32(); this.mss = i32(); this.sndWs = i32(); this.rcvWs = i32(); this.tsRecent = i32(); this.cwnd = i32();
    this.ssthresh = i32(); this.dupacks = i32(); this.recover = i32(); this.rexmitNxt = i32(); this.rttSeq = i32(); this.retries = i32();
    this.segsUnacked = i32(); this.caAcked = i32(); this.parent = i32(); this.chanOf = i32().fill(-1); this.ev = i32();
    this.backlog = i32(); this.halfOpen = i32(); this.acqHead = i32(); this.acqLen = i32(); this.rqHead = i32(); this.rqLen = i32();
    this.rqBytes = i32(); this.oooLen = i32(); this.oooLast = i32(); this.probes = i32(); this.persistShift = i32(); this.sackN = i32();
    this.sackBlk = new Int32Array(n * MAX_SACK * 2);
    this.rtoAt = f64(); this.tlpAt = f64(); this.delackAt = f64(); this.persistAt = f64(); this.keepAt = f64(); this.rttTime = f64(); this.srtt = f64();
    this.rttvar = f64(); this.rto = f64(); this.retrans = f64(); this.bytesIn = f64(); this.bytesOut = f64();
    this.bufs = new Array<SlotBufs | null>(n).fill(null);
    const count = ctx.mp.mbufs.count;
    this.segSeq = new Int32Array(count);
    this.segFin = new Uint8Array(count);
    this.freeSlots = new Int32Array(n);
    for (let i = 0; i < n; i++) this.freeSlots[i] = n - 1 - i;
    this.nFree = n;
    this.active = i32();
    this.activeAt = i32().fill(-1);
    this.nActive = 0;
    this.kicks = i32();
    this.nKicks = 0;
    this.dirty = i32();
    this.nDirty = 0;
    this.opt = new Int32Array(8 + MAX_SACK * 2);
    this.sackOut = new Int32Array(8);
    this.tnow = new Float64Array(1);
    this.ipId = 0;
    this.nextEphemeral = 49152 + Math.floor(Math.random() * 16384);
    this.tsBase = (Math.random() * 0x40000000) | 0;
    this.cookieSecret = (Math.random() * 0x100000000) | 0;
    this.tsEpoch = ctx.clock[0]!;
    this.nextTable = new Float64Array(1);
    this.scratch = new Uint32Array(256);
    this.onRelease = null;
  }

  // ---------------------------------------------------------------------------------------------------
  // Slots


  /** The timestamp clock (ms, int32, wraps). */
  private tsNow(): number {
    return (this.ctx.clock[0]! - this.tsEpoch + this.tsBase) | 0; // ToInt32 wraps modulo 2^32, as TSval does
  }

  private allocSlot(): number {
    if (this.nFree === 0) return -1;
    const s = this.freeSlots[--this.nFree]!;
    if (this.bufs[s] === null) this.bufs[s] = new SlotBufs(this.sndBuf, this.rqCap, this.oooMax, 64);
    this.state[s] = TCP_CLOSED;
    this.flags[s] = 0;
    this.fam[s] = 4;
    this.chanOf[s] = -1;
    this.ev[s] = 0;
    this.parent[s] = -1;
    this.dupacks[s] = 0;
    this.retries[s] = 0;
    this.segsUnacked[s] = 0;
    this.caAcked[s] = 0;
    this.rqHead[s] = 0; this.rqLen[s] = 0; this.rqBytes[s] = 0;
    this.oooLen[s] = 0;
    this.acqHead[s] = 0; this.acqLen[s] = 0; this.halfOpen[s] = 0; this.backlog[s] = 0;
    this.probes[s] = 0; this.persistShift[s] = 0; this.sackN[s] = 0;
    this.rtoAt[s] = 0; this.delackAt[s] = 0; this.persistAt[s] = 0; this.keepAt[s] = 0; this.tlpAt[s] = 0;
    this.srtt[s] = 0; this.rttvar[s] = 0; this.rto[s] = this.o.initRtoMs;
    this.retrans[s] = 0; this.bytesIn[s] = 0; this.bytesOut[s] = 0;
    this.mss[s] = 536; this.sndWs[s] = 0; this.rcvWs[s] = 0; this.tsRecent[s] = 0;
    this.cwnd[s] = 0; this.ssthresh[s] = 0x3fffffff; this.maxSndWnd[s] = 0; this.sndWnd[s] = 0;
    this.activeAt[s] = this.nActive;
    this.active[this.nActive++] = s;
    return s;
  }

  /** Frees the slot: every frame it holds goes back to the pool; the channel hears CLOSED. */
  private freeSlot(s: number): void {
    const st = this.state[s]!;
    if (st !== TCP_CLOSED && st !== TCP_LISTEN) this.hashRemove(s);
    if (st === TCP_LISTEN && this.listeners[this.lport[s]!] === s) this.listeners[this.lport[s]!] = -1;
    this.dropQueues(s);
    this.state[s] = TCP_CLOSED;
    this.rtoAt[s] = 0; this.delackAt[s] = 0; this.persistAt[s] = 0; this.keepAt[s] = 0; this.tlpAt[s] = 0;
    const p = this.parent[s]!;
    if (p >= 0) {
      if ((this.flags[s]! & F_IN_ACCEPTQ) === 0) this.halfOpen[p] = this.halfOpen[p]! - 1;
      this.parent[s] = -1;
    }
    const at = this.activeAt[s]!;
    const last = this.active[--this.nActive]!;
    this.active[at] = last;
    this.activeAt[last] = at;
    this.activeAt[s] = -1;
    this.freeSlots[this.nFree++] = s;
    const cd = this.chanOf[s]!;
    this.chanOf[s] = -1;
    if (cd >= 0 && (this.flags[s]! & F_ORPHAN) !== 0 && this.onRelease !== null) this.onRelease(cd);
    this.flags[s] = F_DONE;
  }

  private dropQueues(s: number): void {
    const b = this.bufs[s];
    if (b === null || b === undefined) return;
    const mp = this.ctx.mp;
    const cap = this.rqCap;
    let head = this.rqHead[s]!;
    for (let k = this.rqLen[s]!; k > 0; k--) {
      mp.free(b.rq[head]!);
      head = head + 1 === cap ? 0 : head + 1;
    }
    this.rqLen[s] = 0; this.rqBytes[s] = 0;
    for (let k = 0; k < this.oooLen[s]!; k++) mp.free(b.ooo[k]!);
    this.oooLen[s] = 0;
  }

  /** Moves the connection to CLOSED for good (after RST, timeout, LAST_ACK done): events, then free. */
  private finish(s: number, evBits: number): void {
    this.raise(s, evBits | EV_CLOSED);
    const cd = this.chanOf[s]!;
    if (cd >= 0 && (this.flags[s]! & F_ORPHAN) === 0) {
      // The app still holds the channel: keep the slot (its data may still be read) until it closes.
      this.hashRemove(s);
      this.state[s] = TCP_CLOSED;
      this.flags[s] = this.flags[s]! | F_DONE;
      this.rtoAt[s] = 0; this.delackAt[s] = 0; this.persistAt[s] = 0; this.keepAt[s] = 0; this.tlpAt[s] = 0;
      return;
    }
    this.freeSlot(s);
  }

  private hashRemove(s: number): void {
    if (this.fam[s] === 6) this.hash6.remove(this.lip6, s << 4, this.lport[s]!, this.rip6, s << 4, this.rport[s]!);
    else this.hash.remove(this.lip[s]!, this.lport[s]!, this.rip[s]!, this.rport[s]!);
  }

  private hashInsert(s: number): void {
    if (this.fam[s] === 6) this.hash6.insert(this.lip6, s << 4, this.lport[s]!, this.rip6, s << 4, this.rport[s]!, s);
    else this.hash.insert(this.lip[s]!, this.lport[s]!, this.rip[s]!, this.rport[s]!, s);
  }

  /** A connection opened by the segment at hand over IPv6: its addresses from the frame, the interface it came in on. */
  private ends6FromSegment(s: number): void {
    if (this.cur6 < 0) return;
    const u8 = this.u8;
    const a = s << 4;
    const ip = this.cur6;
    for (let k = 0; k < 16; k++) {
      this.lip6[a + k] = u8[ip + 24 + k]!;
      this.rip6[a + k] = u8[ip + 8 + k]!;
    }
    this.fam[s] = 6;
    this.lip[s] = 0;
    this.rip[s] = 0;
    this.oif6[s] = this.curIf;
  }

  /** Our MSS for slot `s` (MTU - 40 over IPv4, MTU - 60 over IPv6). */
  private lmss(s: number): number {
    return this.fam[s] === 6 ? this.ourMss6 : this.ourMss;
  }

  /** @internal The stack's IPv6 state (segments of IPv6 connections name their link-local interface there). */
  attach6(x: Ip6Ctx): void {
    this.x6 = x;
  }

  private raise(s: number, bits: number): void {
    this.ev[s] = this.ev[s]! | bits;
    const f = this.flags[s]!;
    if ((f & F_DIRTY) === 0 && this.chanOf[s]! >= 0) {
      this.flags[s] = f | F_DIRTY;
      this.dirty[this.nDirty++] = s;
    }
  }

  private kick(s: number): void {
    const f = this.flags[s]!;
    if ((f & F_KICKED) === 0) {
      this.flags[s] = f | F_KICKED;
      this.kicks[this.nKicks++] = s;
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Control: listen, connect, accept (from the channel API, between walks)

  /** @internal A listener on `ip:port` for channel `cd`; returns its slot. */
  listen(cd: number, ip: number, port: number, backlog: number): number {
    if (this.listeners[port]! >= 0) throw new Error(`chnl_listen ${cd}: TCP port ${port} already has a listener (EADDRINUSE)`);
    const s = this.allocSlot();
    if (s < 0) throw new Error(`chnl_listen ${cd}: all ${this.maxConns} TCP slots are in use`);
    this.state[s] = TCP_LISTEN;
    this.lip[s] = ip | 0;
    this.lport[s] = port;
    this.backlog[s] = Math.max(1, Math.min(backlog, 65536));
    const b = this.bufs[s]!;
    let cap = 64;
    while (cap < this.backlog[s]!) cap *= 2;
    if (b.acq.length < cap) b.acq = new Int32Array(cap);
    this.chanOf[s] = cd;
    this.listeners[port] = s;
    return s;
  }

  /** @internal Starts an active open; returns the slot. */
  connect(cd: number, lip: number, lport: number, rip: number, rport: number): number {
    if (this.hash.lookup(lip, lport, rip, rport) >= 0) throw new Error(`chnl_connect ${cd}: the connection ${lport} -> ${rport} already exists (EADDRINUSE)`);
    const s = this.allocSlot();
    if (s < 0) throw new Error(`chnl_connect ${cd}: all ${this.maxConns} TCP slots are in use`);
    this.lip[s] = lip | 0; this.lport[s] = lport; this.rip[s] = rip | 0; this.rport[s] = rport;
    this.chanOf[s] = cd;
    this.initSend(s);
    this.state[s] = TCP_SYN_SENT;
    this.rcvWs[s] = this.rcvWsOffer;
    this.hash.insert(lip, lport, rip, rport, s);
    this.c[C.TCP_ACTIVE_OPENS]!++;
    this.kick(s);
    return s;
  }

  /**
   * @internal Starts an active open to an IPv6 peer (`rip[ro..+16)`, from `lip[lo..+16)`; `oif` the
   * ifindex a link-local peer is on); returns the slot.
   */
  connect6(cd: number, lip: Uint8Array, lo: number, lport: number, rip: Uint8Array, ro: number, rport: number, oif: number): number {
    if (this.x6 === null) throw new Error(`chnl_connect ${cd}: this stack has no IPv6`);
    if (this.hash6.lookup(lip, lo, lport, rip, ro, rport) >= 0) throw new Error(`chnl_connect ${cd}: the connection ${lport} -> ${rport} already exists (EADDRINUSE)`);
    const s = this.allocSlot();
    if (s < 0) throw new Error(`chnl_connect ${cd}: all ${this.maxConns} TCP slots are in use`);
    const a = s << 4;
    for (let k = 0; k < 16; k++) {
      this.lip6[a + k] = lip[lo + k]!;
      this.rip6[a + k] = rip[ro + k]!;
    }
    this.fam[s] = 6;
    this.oif6[s] = oif;
    this.lip[s] = 0; this.lport[s] = lport; this.rip[s] = 0; this.rport[s] = rport;
    this.chanOf[s] = cd;
    this.initSend(s);
    this.state[s] = TCP_SYN_SENT;
    this.rcvWs[s] = this.rcvWsOffer;
    this.hashInsert(s);
    this.c[C.TCP_ACTIVE_OPENS]!++;
    this.kick(s);
    return s;
  }

  /** @internal Whether `lip:lport -> rip:rport` is in use (ephemeral port choice). */
  inUse(lip: number, lport: number, rip: number, rport: number): boolean {
    return this.hash.lookup(lip, lport, rip, rport) >= 0;
  }

  /** @internal A free ephemeral port (no channel bound to it). */
  ephemeral(): number {
    for (let k = 0; k < 16384; k++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p >= 65535 ? 49152 : p + 1;
      if (this.portRefs[p] === 0 && this.listeners[p] === -1) return p;
    }
    return 0;
  }

  private initSend(s: number): void {
    const iss = (Math.random() * 0x100000000) | 0;
    this.iss[s] = iss;
    this.sndUna[s] = iss; this.sndNxt[s] = iss; this.sndMax[s] = iss;
    this.sbUna[s] = (iss + 1) | 0; this.sbEnd[s] = (iss + 1) | 0;
    this.recover[s] = iss; this.rexmitNxt[s] = iss;
  }

  /** @internal The next connection a listener has ready, or -1. */
  accept(ls: number): number {
    const n = this.acqLen[ls]!;
    if (n === 0) return -1;
    const b = this.bufs[ls]!;
    const h = this.acqHead[ls]!;
    const s = b.acq[h]!;
    this.acqHead[ls] = (h + 1) & (b.acq.length - 1);
    this.acqLen[ls] = n - 1;
    this.flags[s] = this.flags[s]! & ~F_IN_ACCEPTQ;
    this.parent[s] = -1;
    return s;
  }

  /** @internal Binds slot `s` to channel `cd` (after accept); pending events are raised again. */
  adopt(s: number, cd: number): void {
    this.chanOf[s] = cd;
    let bits = EV_CONNECTED;
    if (this.rqLen[s]! > 0) bits |= EV_READABLE;
    if ((this.flags[s]! & F_FIN_RCVD) !== 0) bits |= EV_EOF | EV_READABLE;
    this.raise(s, bits);
  }

  /** @internal Sets or clears an option flag. */
  setFlag(s: number, which: "nodelay" | "keepalive", on: boolean): void {
    const bit = which === "nodelay" ? F_NODELAY : F_KEEPALIVE;
    this.flags[s] = on ? this.flags[s]! | bit : this.flags[s]! & ~bit;
    if (which === "keepalive") this.keepAt[s] = on && this.state[s] === TCP_ESTABLISHED ? this.clk[0]! + this.o.keepIdleMs : 0;
    if (which === "nodelay" && on) this.kick(s);
  }

  // ---------------------------------------------------------------------------------------------------
  // Data calls (channel API)

  /** @internal Copies up to `len` bytes into the send buffer; returns how many (0 when full or not open for sending). */
  send(s: number, src: Uint8Array, off: number, len: number): number {
    const st = this.state[s]!;
    const f = this.flags[s]!;
    if ((f & (F_SHUT_WR | F_DONE)) !== 0) return -1;
    if (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT && st !== TCP_SYN_SENT && st !== TCP_SYN_RECEIVED) return -1;
    const used = (this.sbEnd[s]! - this.sbUna[s]!) | 0;
    const room = this.sndBuf - used;
    const k = Math.min(room, len);
    if (k <= 0) {
      this.flags[s] = f | F_WANT_WRITE;
      return 0;
    }
    const ring = this.bufs[s]!.snd;
    const mask = this.sndMask;
    let pos = (this.sbEnd[s]! - this.iss[s]! - 1) & mask;
    const first = Math.min(k, this.sndBuf - pos);
    copyBytes(ring, pos, src, off, first);
    if (first < k) copyBytes(ring, 0, src, off + first, k - first);
    pos = 0;
    this.sbEnd[s] = (this.sbEnd[s]! + k) | 0;
    if (k < len) this.flags[s] = this.flags[s]! | F_WANT_WRITE;
    this.kick(s);
    return k;
  }

  /** @internal Bytes free in the send buffer. */
  sendRoom(s: number): number {
    return this.sndBuf - ((this.sbEnd[s]! - this.sbUna[s]!) | 0);
  }

  /** @internal Copies up to `max` received bytes out; 0 when none now, -1 at EOF. */
  recv(s: number, dst: Uint8Array, off: number, max: number): number {
    const b = this.bufs[s];
    if (b === null || b === undefined) return -1;
    const cap = this.rqCap;
    const u8 = this.u8;
    const shift = this.ctx.shift;
    const dataOff = this.ctx.dataOff;
    const dataLen = this.ctx.dataLen;
    let got = 0;
    while (got < max && this.rqLen[s]! > 0) {
      const head = this.rqHead[s]!;
      const h = b.rq[head]!;
      const at = ((h << shift) >>> 0) + dataOff[h]!;
      const len = dataLen[h]!;
      const k = Math.min(len, max - got);
      copyBytes(dst, off + got, u8, at, k);
      got += k;
      if (k === len) {
        this.ctx.mp.free(h);
        this.rqHead[s] = head + 1 === cap ? 0 : head + 1;
        this.rqLen[s] = this.rqLen[s]! - 1;
      } else {
        dataOff[h] = dataOff[h]! + k;
        dataLen[h] = len - k;
      }
    }
    if (got === 0) return (this.flags[s]! & (F_FIN_RCVD | F_RESET | F_ERROR)) !== 0 ? -1 : 0;
    this.rqBytes[s] = this.rqBytes[s]! - got;
    this.windowOpened(s);
    return got;
  }

  /** @internal Moves up to `max` in-order payload frames to `bufs` (zero copy); -1 at EOF. */
  recvBurst(s: number, bufs: Uint32Array, max: number): number {
    const b = this.bufs[s];
    if (b === null || b === undefined) return -1;
    const cap = this.rqCap;
    const n = Math.min(max, bufs.length, this.rqLen[s]!);
    if (n === 0) return (this.flags[s]! & (F_FIN_RCVD | F_RESET | F_ERROR)) !== 0 ? -1 : 0;
    let head = this.rqHead[s]!;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const h = b.rq[head]!;
      bufs[i] = h;
      bytes += this.ctx.dataLen[h]!;
      head = head + 1 === cap ? 0 : head + 1;
    }
    this.rqHead[s] = head;
    this.rqLen[s] = this.rqLen[s]! - n;
    this.rqBytes[s] = this.rqBytes[s]! - bytes;
    this.windowOpened(s);
    return n;
  }

  /** After the app read: a window update when the window grew by two segments or half the buffer. */
  private windowOpened(s: number): void {
    const st = this.state[s]!;
    if (st !== TCP_ESTABLISHED && st !== TCP_FIN_WAIT_1 && st !== TCP_FIN_WAIT_2) return;
    const right = (this.rcvNxt[s]! + this.freeWindow(s)) | 0;
    const grow = (right - this.rcvAdv[s]!) | 0;
    if (grow >= 2 * this.ourMss || grow >= this.rcvBuf >> 1) {
      this.flags[s] = this.flags[s]! | F_ACK_NOW;
      this.kick(s);
    }
  }

  /** @internal Bytes readable now. */
  readable(s: number): number {
    return this.rqBytes[s]!;
  }

  /** @internal No more data from the app: FIN after what is buffered. */
  shutdown(s: number): void {
    const st = this.state[s]!;
    this.flags[s] = this.flags[s]! | F_SHUT_WR;
    if (st === TCP_LISTEN || st === TCP_CLOSED) return;
    if (st === TCP_SYN_SENT) {
      this.finish(s, 0);
      return;
    }
    if ((this.flags[s]! & F_FIN_QUEUED) !== 0) return;
    this.flags[s] = this.flags[s]! | F_FIN_QUEUED;
    if (st === TCP_ESTABLISHED || st === TCP_SYN_RECEIVED) this.state[s] = TCP_FIN_WAIT_1;
    else if (st === TCP_CLOSE_WAIT) this.state[s] = TCP_LAST_ACK;
    this.kick(s);
  }

  /** @internal The app closes its channel: graceful (RST instead when unread data is left, as Linux). */
  close(s: number): void {
    const st = this.state[s]!;
    this.flags[s] = this.flags[s]! | F_ORPHAN;
    if (st === TCP_LISTEN) {
      // Children not yet accepted are reset.
      while (this.acqLen[s]! > 0) {
        const child = this.accept(s);
        this.flags[child] = this.flags[child]! | F_ORPHAN;
        this.sendRst(child);
        this.freeSlot(child);
      }
      for (let k = this.nActive - 1; k >= 0; k--) {
        const child = this.active[k]!;
        if (this.parent[child] === s) {
          this.sendRst(child);
          this.freeSlot(child);
        }
      }
      this.freeSlot(s);
      return;
    }
    if ((this.flags[s]! & F_DONE) !== 0 || st === TCP_CLOSED) {
      this.freeSlot(s);
      return;
    }
    if (this.rqLen[s]! > 0) {
      this.abort(s);
      return;
    }
    this.shutdown(s);
  }

  /** @internal RST now; the connection is gone. */
  abort(s: number): void {
    const st = this.state[s]!;
    if (st === TCP_LISTEN) {
      this.close(s);
      return;
    }
    if (st !== TCP_CLOSED && st !== TCP_SYN_SENT && st !== TCP_TIME_WAIT && (this.flags[s]! & F_DONE) === 0) {
      this.sendRst(s);
      if (st === TCP_ESTABLISHED || st === TCP_CLOSE_WAIT) this.c[C.TCP_ESTAB_RESETS]!++;
    }
    this.flags[s] = this.flags[s]! | F_ERROR;
    this.finish(s, 0);
  }

  /** @internal The level event bits of slot `s` (CHNL_EV_*). */
  events(s: number): number {
    const st = this.state[s]!;
    const f = this.flags[s]!;
    let e = 0;
    if (st === TCP_LISTEN) return this.acqLen[s]! > 0 ? EV_ACCEPT : 0;
    if (this.rqLen[s]! > 0) e |= EV_READABLE;
    if ((f & F_FIN_RCVD) !== 0) e |= EV_EOF | EV_READABLE;
    if ((f & F_CONNECTED) !== 0) e |= EV_CONNECTED;
    if ((f & F_RESET) !== 0) e |= EV_RESET | EV_READABLE;
    if ((f & F_ERROR) !== 0) e |= EV_ERROR | EV_READABLE;
    if ((f & F_DONE) !== 0) e |= EV_CLOSED;
    if ((st === TCP_ESTABLISHED || st === TCP_CLOSE_WAIT) && (f & F_SHUT_WR) === 0 && this.sendRoom(s) > 0) e |= EV_WRITABLE;
    return e;
  }

  /** @internal Takes the slots with new events: fills `out` with (slot, raised bits) pairs; returns the pair count. */
  takeDirty(out: Int32Array): number {
    const n = Math.min(this.nDirty, out.length >> 1);
    for (let i = 0; i < n; i++) {
      const s = this.dirty[i]!;
      out[2 * i] = s;
      out[2 * i + 1] = this.ev[s]!;
      this.ev[s] = 0;
      this.flags[s] = this.flags[s]! & ~F_DIRTY;
    }
    if (n < this.nDirty) this.dirty.copyWithin(0, n, this.nDirty);
    this.nDirty -= n;
    return n;
  }

  /** @internal Slot `s`'s peer and local ends. */
  endsOf(s: number): { localIp: number; localPort: number; remoteIp: number; remotePort: number; family: 4 | 6 } {
    return { localIp: this.lip[s]! >>> 0, localPort: this.lport[s]!, remoteIp: this.rip[s]! >>> 0, remotePort: this.rport[s]!, family: this.fam[s] === 6 ? 6 : 4 };
  }

  // ---------------------------------------------------------------------------------------------------
  // Input

  /**
   * @internal One segment (checksum already checked): `ip`, `l4` its IPv4 and TCP offsets in `u8`,
   * `tlen` the TCP length (header + data). Returns {@link TCP_IN_KEPT} when the engine kept the frame
   * (queued data), {@link TCP_IN_PUNT} for a segment no connection or listener wants when punting is on
   * (the frame untouched), else {@link TCP_IN_FREE} (the caller frees it).
   */
  input(h: number, ip: number, l4: number, tlen: number): number {
    this.cur6 = -1;
    return this.segment(h, ip, l4, tlen);
  }

  /**
   * @internal One segment over IPv6 (checksum already checked): `ip6`, `l4` its IPv6 and TCP offsets in
   * `u8` (extension headers between them skipped), `tlen` the TCP length, `ifindex` the interface it came
   * in on. The same state machine as {@link TcpEngine.input}; never punted (the TAP has IPv6 off).
   */
  input6(h: number, ip6: number, l4: number, tlen: number, ifindex: number): number {
    this.cur6 = ip6;
    this.curIf = ifindex;
    return this.segment(h, ip6, l4, tlen);
  }

  /** The 16 bytes at `u8[o]` folded to 32 bits (an IPv6 address in the SYN cookie's hash). */
  private fold6(o: number): number {
    const u8 = this.u8;
    let h = 0;
    for (let k = 0; k < 16; k += 4) h = Math.imul(h ^ ((u8[o + k]! << 24) | (u8[o + k + 1]! << 16) | (u8[o + k + 2]! << 8) | u8[o + k + 3]!), 0x9e3779b1) ^ (h >>> 16);
    return h | 0;
  }

  private segment(h: number, ip: number, l4: number, tlen: number): number {
    const u8 = this.u8;
    const c = this.c;
    const v6 = this.cur6 >= 0;
    const thl = (u8[l4 + 12]! >>> 4) << 2;
    if (thl < 20 || thl > tlen || !this.parseOptions(l4, thl)) {
      c[C.TCP_DROP_BAD]!++;
      return TCP_IN_FREE;
    }
    const fl = u8[l4 + 13]!;
    const sport = (u8[l4]! << 8) | u8[l4 + 1]!;
    const dport = (u8[l4 + 2]! << 8) | u8[l4 + 3]!;
    const seq = (u8[l4 + 4]! << 24) | (u8[l4 + 5]! << 16) | (u8[l4 + 6]! << 8) | u8[l4 + 7]!;
    const ack = (u8[l4 + 8]! << 24) | (u8[l4 + 9]! << 16) | (u8[l4 + 10]! << 8) | u8[l4 + 11]!;
    const win = (u8[l4 + 14]! << 8) | u8[l4 + 15]!;
    // IPv4: the addresses; IPv6: 32-bit folds of them (for SYN cookies; the lookup reads the header).
    const src = v6 ? this.fold6(ip + 8) : (u8[ip + 12]! << 24) | (u8[ip + 13]! << 16) | (u8[ip + 14]! << 8) | u8[ip + 15]!;
    const dst = v6 ? this.fold6(ip + 24) : (u8[ip + 16]! << 24) | (u8[ip + 17]! << 16) | (u8[ip + 18]! << 8) | u8[ip + 19]!;
    const dlen = tlen - thl;
    if ((fl & TCP_FLAG_SYN) !== 0 && (fl & (TCP_FLAG_FIN | TCP_FLAG_RST)) !== 0) {
      c[C.TCP_DROP_BAD]!++;
      return TCP_IN_FREE;
    }
    let s = v6 ? this.hash6.lookup(u8, ip + 24, dport, u8, ip + 8, sport) : this.hash.lookup(dst, dport, src, sport);
    if (s < 0) {
      const ls = this.listeners[dport]!;
      // A listener bound to any address takes both families; one bound to an IPv4 address, IPv4 only.
      const takes = ls >= 0 && (this.lip[ls] === 0 || (!v6 && this.lip[ls] === dst));
      if ((fl & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) === TCP_FLAG_SYN && takes) {
        this.passiveOpen(ls, src, sport, dst, dport, seq, win);
        return TCP_IN_FREE;
      }
      if ((fl & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) === TCP_FLAG_ACK && takes && this.o.synCookies) {
        s = this.cookieOpen(ls, src, sport, dst, dport, seq, ack);
      }
    }
    if (s < 0) {
      const ls = this.listeners[dport]!;
      c[C.TCP_NO_PORT]!++; // every segment no connection takes (punted or answered with a RST)
      if ((fl & TCP_FLAG_RST) !== 0) c[C.TCP_RST_IN]!++;
      if (this.ctx.punt && ls < 0 && !v6) return TCP_IN_PUNT; // the kernel behind the TAP answers (or not; it has no IPv6)
      this.rstFor(src, sport, dst, dport, seq, ack, fl, dlen);
      return TCP_IN_FREE;
    }
    s = s | 0;
    // The payload becomes the frame's data (kept if queued).
    this.ctx.dataOff[h] = l4 + thl - ((h << this.ctx.shift) >>> 0);
    this.ctx.dataLen[h] = dlen;
    if ((this.flags[s]! & F_KEEPALIVE) !== 0) {
      this.keepAt[s] = this.clk[0]! + this.o.keepIdleMs;
      this.probes[s] = 0;
    }
    if (this.state[s] === TCP_SYN_SENT) {
      this.inputSynSent(s, fl, seq, ack, win);
      return TCP_IN_FREE;
    }
    return this.inputSync(s, h, fl, seq, ack, win, dlen) ? TCP_IN_KEPT : TCP_IN_FREE;
  }

  /** Parses the options into `opt`; false when malformed. */
  private parseOptions(l4: number, thl: number): boolean {
    const u8 = this.u8;
    const opt = this.opt;
    opt[0] = 0; opt[1] = -1; opt[2] = 0; opt[3] = 0; opt[6] = 0;
    let i = l4 + 20;
    const end = l4 + thl;
    while (i < end) {
      const kind = u8[i]!;
      if (kind === 0) break;
      if (kind === 1) {
        i++;
        continue;
      }
      if (i + 1 >= end) return false;
      const len = u8[i + 1]!;
      if (len < 2 || i + len > end) return false;
      if (kind === 2 && len === 4) opt[0] = (u8[i + 2]! << 8) | u8[i + 3]!;
      else if (kind === 3 && len === 3) opt[1] = Math.min(u8[i + 2]!, 14);
      else if (kind === 4 && len === 2) opt[2] = 1;
      else if (kind === 8 && len === 10) {
        opt[3] = 1;
        opt[4] = (u8[i + 2]! << 24) | (u8[i + 3]! << 16) | (u8[i + 4]! << 8) | u8[i + 5]!;
        opt[5] = (u8[i + 6]! << 24) | (u8[i + 7]! << 16) | (u8[i + 8]! << 8) | u8[i + 9]!;
      } else if (kind === 5 && len >= 10 && ((len - 2) & 7) === 0) {
        const nb = Math.min((len - 2) >> 3, MAX_SACK);
        for (let b = 0; b < nb; b++) {
          const p = i + 2 + 8 * b;
          opt[8 + 2 * b] = (u8[p]! << 24) | (u8[p + 1]! << 16) | (u8[p + 2]! << 8) | u8[p + 3]!;
          opt[9 + 2 * b] = (u8[p + 4]! << 24) | (u8[p + 5]! << 16) | (u8[p + 6]! << 8) | u8[p + 7]!;
        }
        opt[6] = nb;
      }
      i += len;
    }
    return true;
  }

  /** Applies a SYN's options to slot `s` (both sides offered: on). */
  private synOptions(s: number, offeredByUs: boolean): void {
    const opt = this.opt;
    let f = this.flags[s]!;
    const peerMss = opt[0]! > 0 ? opt[0]! : 536;
    if (this.o.windowScaling && opt[1]! >= 0) {
      f |= F_WS;
      this.sndWs[s] = opt[1]!;
      this.rcvWs[s] = this.rcvWsOffer;
    } else {
      this.sndWs[s] = 0;
      this.rcvWs[s] = 0;
    }
    if (this.o.sack && opt[2] === 1) f |= F_SACK;
    if (this.o.timestamps && opt[3] === 1) {
      f |= F_TS;
      this.tsRecent[s] = opt[4]!;
    }
    this.flags[s] = f;
    void offeredByUs;
    // Payload per segment: the smaller MSS, less the timestamp option when on.
    this.mss[s] = Math.min(peerMss, this.lmss(s)) - ((f & F_TS) !== 0 ? 12 : 0);
    this.cwnd[s] = 10 * this.mss[s]!;
  }

  /** The cookie's 24-bit hash of the 4-tuple and the time slot `t`. */
  private cookieHash(src: number, sport: number, dst: number, dport: number, t: number): number {
    let h = Math.imul(src ^ this.cookieSecret, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15) ^ dst, 0x85ebca77);
    h = Math.imul(h ^ (h >>> 13) ^ ((sport << 16) | dport), 0xc2b2ae3d);
    h = Math.imul(h ^ (h >>> 16) ^ t ^ this.cookieSecret, 0x27d4eb2f);
    return (h ^ (h >>> 15)) & 0xffffff;
  }

  /** A stateless SYN-ACK whose ISS is the cookie: 5 bits of time (64 s), 3 of MSS, 24 of hash. */
  private sendCookie(src: number, sport: number, dst: number, dport: number, seq: number): void {
    const peerMss = this.opt[0]! > 0 ? this.opt[0]! : 536;
    const ours = this.cur6 >= 0 ? this.ourMss6 : this.ourMss;
    let mi = COOKIE_MSS.length - 1;
    while (mi > 0 && COOKIE_MSS[mi]! > Math.min(peerMss, ours)) mi--;
    const t = Math.floor(this.clk[0]! / 64000) & 31;
    const cookie = (t << 27) | (mi << 24) | this.cookieHash(src, sport, dst, dport, t);
    const h = this.replyFrame(sport, dport);
    if (h < 0) return;
    const u8 = this.u8;
    const ip = this.replyIp(h);
    const l4 = ip + (this.cur6 >= 0 ? IP6_HLEN : IP_HLEN);
    setBe32(u8, l4 + 4, cookie);
    setBe32(u8, l4 + 8, (seq + 1) | 0);
    u8[l4 + 12] = 6 << 4;
    u8[l4 + 13] = TCP_FLAG_SYN | TCP_FLAG_ACK;
    setBe16(u8, l4 + 14, 65535);
    u8[l4 + 16] = 0; u8[l4 + 17] = 0; u8[l4 + 18] = 0; u8[l4 + 19] = 0;
    u8[l4 + 20] = 2; u8[l4 + 21] = 4; u8[l4 + 22] = ours >> 8; u8[l4 + 23] = ours & 0xff;
    this.sendReply(h, ip, 24, dst, src, C.TCP_SYNCOOKIES_SENT);
  }

  /** Writes the IPv4 header at `ip` (`total` bytes from it, from `src` to `dst`, DF, TTL 64, checksum). */
  private ip4Header(u8: Uint8Array, ip: number, total: number, src: number, dst: number): void {
    u8[ip] = 0x45;
    u8[ip + 1] = 0;
    setBe16(u8, ip + 2, total);
    this.ipId = (this.ipId + 1) & 0xffff;
    setBe16(u8, ip + 4, this.ipId);
    setBe16(u8, ip + 6, 0x4000);
    u8[ip + 8] = 64;
    u8[ip + 9] = IPPROTO_TCP;
    setBe32(u8, ip + IP4_SRC, src);
    setBe32(u8, ip + IP4_DST, dst);
    setBe16(u8, ip + IP4_CSUM, 0);
    setBe16(u8, ip + IP4_CSUM, ip4Cksum(u8, ip));
  }

  /**
   * Writes an IPv6 header at `ip` (payload `plen` bytes, next header TCP, hop limit 64) from the 16 bytes
   * at `sa[so]` to those at `da[do_]`.
   */
  private ip6Header(u8: Uint8Array, ip: number, plen: number, sa: Uint8Array, so: number, da: Uint8Array, do_: number): void {
    u8[ip] = 0x60; u8[ip + 1] = 0; u8[ip + 2] = 0; u8[ip + 3] = 0;
    setBe16(u8, ip + 4, plen);
    u8[ip + 6] = IPPROTO_TCP;
    u8[ip + 7] = 64;
    for (let k = 0; k < 16; k++) {
      u8[ip + 8 + k] = sa[so + k]!;
      u8[ip + 24 + k] = da[do_ + k]!;
    }
  }

  /**
   * Finishes a reply without a connection (RST, cookie SYN-ACK) in frame `h`: its TCP header of `thl`
   * bytes is written after the IP header at `ip`; adds the IPv4 header (or, for a segment over IPv6, the
   * IPv6 one: the segment at hand's addresses swapped) and the checksum, queues it for ip4_output (or
   * ip6_output) and counts it in `counter` (a full queue frees it and counts that instead).
   */
  private sendReply(h: number, ip: number, thl: number, src: number, dst: number, counter: number): void {
    const u8 = this.u8;
    const ctx = this.ctx;
    if (this.cur6 >= 0) {
      const at = this.cur6;
      this.ip6Header(u8, ip, thl, u8, at + 24, u8, at + 8);
      const l4 = ip + IP6_HLEN;
      setBe16(u8, l4 + TCP_CSUM, 0);
      setBe16(u8, l4 + TCP_CSUM, ~cksumFold(pseudoSum6(u8, ip, IPPROTO_TCP, thl) + onesSum(u8, l4, thl)) & 0xffff);
      ctx.dataLen[h] = ETH_HLEN + IP6_HLEN + thl;
      if (this.x6 !== null) this.x6.oif[h] = this.curIf;
      if (!this.out6.push(h)) {
        ctx.mp.free(h);
        this.c[C.TCP_OUT_QUEUE_FULL]!++;
        return;
      }
      this.c[counter]!++;
      this.c[C.TCP_TX]!++;
      this.c[C.TCP6_TX]!++;
      return;
    }
    this.ip4Header(u8, ip, IP_HLEN + thl, src, dst);
    setBe16(u8, ip + IP_HLEN + TCP_CSUM, tcp4Cksum(u8, ip, ip + IP_HLEN));
    ctx.dataLen[h] = ETH_HLEN + IP_HLEN + thl;
    if (!this.out.push(h)) {
      ctx.mp.free(h);
      this.c[C.TCP_OUT_QUEUE_FULL]!++;
      return;
    }
    this.c[counter]!++;
    this.c[C.TCP_TX]!++;
  }

  /**
   * An ACK to a listener without a connection: a valid cookie (from this or the previous 64 s) opens
   * the connection in SYN_RECEIVED (the ACK then completes it as usual); returns the slot or -1.
   */
  private cookieOpen(ls: number, src: number, sport: number, dst: number, dport: number, seq: number, ack: number): number {
    const c = this.c;
    const cookie = (ack - 1) | 0;
    const t = (cookie >>> 27) & 31;
    const now = Math.floor(this.clk[0]! / 64000) & 31;
    const fresh = t === now || t === ((now + 31) & 31);
    if (!fresh || (cookie & 0xffffff) !== this.cookieHash(src, sport, dst, dport, t)) {
      c[C.TCP_SYNCOOKIES_FAILED]!++;
      return -1;
    }
    if (this.acqLen[ls]! >= this.backlog[ls]!) {
      c[C.TCP_SYN_DROP_BACKLOG]!++;
      return -1;
    }
    const s = this.allocSlot();
    if (s < 0) {
      c[C.TCP_SYN_DROP_TABLE_FULL]!++;
      return -1;
    }
    c[C.TCP_SYNCOOKIES_OK]!++;
    c[C.TCP_PASSIVE_OPENS]!++;
    this.lip[s] = dst; this.lport[s] = dport; this.rip[s] = src; this.rport[s] = sport;
    this.parent[s] = ls;
    this.halfOpen[ls] = this.halfOpen[ls]! + 1;
    this.flags[s] = this.flags[ls]! & (F_NODELAY | F_KEEPALIVE);
    this.iss[s] = cookie;
    this.sndUna[s] = cookie; this.sndNxt[s] = ack; this.sndMax[s] = ack;
    this.sbUna[s] = ack; this.sbEnd[s] = ack;
    this.recover[s] = cookie; this.rexmitNxt[s] = cookie;
    this.mss[s] = COOKIE_MSS[(cookie >>> 24) & 7]!;
    this.cwnd[s] = 10 * this.mss[s]!;
    this.sndWs[s] = 0;
    this.rcvWs[s] = 0;
    this.irs[s] = (seq - 1) | 0;
    this.rcvNxt[s] = seq;
    this.ackSent[s] = seq;
    this.rcvAdv[s] = (seq + 65535) | 0;
    this.sndWl1[s] = (seq - 1) | 0;
    this.sndWl2[s] = cookie;
    this.state[s] = TCP_SYN_RECEIVED;
    this.ends6FromSegment(s);
    this.mss[s] = Math.min(this.mss[s]!, this.lmss(s));
    this.cwnd[s] = 10 * this.mss[s]!;
    this.hashInsert(s);
    return s;
  }

  private passiveOpen(ls: number, src: number, sport: number, dst: number, dport: number, seq: number, win: number): void {
    const c = this.c;
    if (this.halfOpen[ls]! + this.acqLen[ls]! >= this.backlog[ls]!) {
      if (this.o.synCookies) this.sendCookie(src, sport, dst, dport, seq);
      else c[C.TCP_SYN_DROP_BACKLOG]!++;
      return;
    }
    const s = this.allocSlot();
    if (s < 0) {
      c[C.TCP_SYN_DROP_TABLE_FULL]!++;
      return;
    }
    this.lip[s] = dst; this.lport[s] = dport; this.rip[s] = src; this.rport[s] = sport;
    this.ends6FromSegment(s);
    this.parent[s] = ls;
    this.halfOpen[ls] = this.halfOpen[ls]! + 1;
    this.flags[s] = this.flags[ls]! & (F_NODELAY | F_KEEPALIVE);
    this.initSend(s);
    this.synOptions(s, false);
    this.irs[s] = seq;
    this.rcvNxt[s] = (seq + 1) | 0;
    this.rcvAdv[s] = this.rcvNxt[s]!;
    this.ackSent[s] = seq;
    this.sndWnd[s] = win;
    this.maxSndWnd[s] = win;
    this.sndWl1[s] = seq;
    this.sndWl2[s] = this.iss[s]!;
    this.state[s] = TCP_SYN_RECEIVED;
    this.hashInsert(s);
    c[C.TCP_PASSIVE_OPENS]!++;
    this.output(s);
  }

  private inputSynSent(s: number, fl: number, seq: number, ack: number, win: number): void {
    const c = this.c;
    const hasAck = (fl & TCP_FLAG_ACK) !== 0;
    const ackOk = hasAck && ((ack - this.iss[s]!) | 0) > 0 && ((ack - this.sndMax[s]!) | 0) <= 0;
    if (hasAck && !ackOk) {
      if ((fl & TCP_FLAG_RST) === 0) this.rstFor(this.rip[s]!, this.rport[s]!, this.lip[s]!, this.lport[s]!, seq, ack, fl, 0);
      else c[C.TCP_RST_IN]!++;
      return;
    }
    if ((fl & TCP_FLAG_RST) !== 0) {
      c[C.TCP_RST_IN]!++;
      if (ackOk) {
        c[C.TCP_ATTEMPT_FAILS]!++;
        this.flags[s] = this.flags[s]! | F_RESET;
        this.finish(s, EV_RESET);
      }
      return;
    }
    if ((fl & TCP_FLAG_SYN) === 0) return;
    this.synOptions(s, true);
    this.irs[s] = seq;
    this.rcvNxt[s] = (seq + 1) | 0;
    this.rcvAdv[s] = this.rcvNxt[s]!;
    this.ackSent[s] = seq;
    this.sndWl1[s] = seq;
    this.sndWl2[s] = ack;
    this.sndWnd[s] = win;
    this.maxSndWnd[s] = win;
    this.flags[s] = this.flags[s]! | F_ACK_NOW;
    if (ackOk) {
      this.ackAdvance(s, ack);
      this.established(s);
    } else {
      // Simultaneous open: SYN-ACK with our ISS again (RFC 9293 3.5, figure 8).
      this.state[s] = TCP_SYN_RECEIVED;
      this.sndNxt[s] = this.iss[s]!;
      this.sndMax[s] = this.iss[s]!;
      this.rtoAt[s] = 0;
    }
    this.kick(s);
    this.output(s);
  }

  private established(s: number): void {
    this.state[s] = TCP_ESTABLISHED;
    this.retries[s] = 0;
    this.flags[s] = this.flags[s]! | F_CONNECTED;
    this.c[C.TCP_ESTABLISHED]!++;
    if ((this.flags[s]! & F_KEEPALIVE) !== 0) this.keepAt[s] = this.clk[0]! + this.o.keepIdleMs;
    const p = this.parent[s]!;
    if (p >= 0) {
      // To the listener's accept queue.
      const b = this.bufs[p]!;
      if (this.acqLen[p]! >= b.acq.length) {
        this.sendRst(s);
        this.flags[s] = this.flags[s]! | F_ERROR;
        this.freeSlot(s);
        return;
      }
      this.halfOpen[p] = this.halfOpen[p]! - 1;
      b.acq[(this.acqHead[p]! + this.acqLen[p]!) & (b.acq.length - 1)] = s;
      this.acqLen[p] = this.acqLen[p]! + 1;
      this.flags[s] = this.flags[s]! | F_IN_ACCEPTQ;
      this.raise(p, EV_ACCEPT);
    } else {
      this.raise(s, EV_CONNECTED | EV_WRITABLE);
    }
  }

  private challengeAck(s: number): void {
    this.c[C.TCP_CHALLENGE_ACKS]!++;
    this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_ACK);
  }

  /** Input for SYN_RECEIVED and every later state. */
  private inputSync(s: number, h: number, fl0: number, seq0: number, ack: number, win: number, dlen0: number): boolean {
    const c = this.c;
    const opt = this.opt;
    const st = this.state[s]!;
    let fl = fl0;
    let seq = seq0;
    let dlen = dlen0;
    const f = this.flags[s]!;
    // PAWS (RFC 7323 5.3)
    // (one tick of slack, as Linux's TCP_PAWS_WINDOW: a reordered segment sent in the tick before passes)
    if ((f & F_TS) !== 0 && opt[3] === 1 && (fl & TCP_FLAG_RST) === 0 && ((this.tsRecent[s]! - opt[4]!) | 0) > 1) {
      c[C.TCP_DROP_PAWS]!++;
      this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_ACK);
      return false;
    }
    const rcvNxt = this.rcvNxt[s]!;
    if ((fl & TCP_FLAG_SYN) !== 0 && ((seq - rcvNxt) | 0) < 0) {
      // A retransmitted SYN: its SYN is old.
      fl &= ~TCP_FLAG_SYN;
      seq = (seq + 1) | 0;
    }
    let rcvWnd = (this.rcvAdv[s]! - rcvNxt) | 0;
    if (rcvWnd < 0) rcvWnd = 0;
    const fin = (fl & TCP_FLAG_FIN) !== 0 ? 1 : 0;
    const segLen = dlen + fin;
    let ok: boolean;
    if (segLen === 0) ok = seq === rcvNxt || (((seq - rcvNxt) | 0) >= 0 && ((seq - rcvNxt - rcvWnd) | 0) < 0);
    else ok = seq === rcvNxt || (((seq - rcvNxt - rcvWnd) | 0) < 0 && ((seq + segLen - rcvNxt) | 0) > 0);
    if (!ok) {
      if ((fl & TCP_FLAG_RST) !== 0) {
        c[C.TCP_RST_IN]!++;
        return false;
      }
      if (((seq + segLen - rcvNxt) | 0) <= 0) c[C.TCP_RX_DUP]!++;
      else c[C.TCP_DROP_OUT_OF_WINDOW]!++;
      if (st === TCP_TIME_WAIT && fin === 1) this.rtoAt[s] = this.clk[0]! + this.o.timeWaitMs;
      this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_ACK);
      return false;
    }
    let dup = false;
    if (((seq - rcvNxt) | 0) < 0) {
      const d = (rcvNxt - seq) | 0;
      const cut = Math.min(d, dlen);
      this.ctx.dataOff[h] = this.ctx.dataOff[h]! + cut;
      dlen -= cut;
      seq = (seq + cut) | 0;
      if (d > cut) fl &= ~TCP_FLAG_FIN; // (cannot happen: the FIN would have been old too)
      dup = true;
      c[C.TCP_RX_DUP]!++;
    }
    const right = (rcvNxt + rcvWnd) | 0;
    if (((seq + dlen - right) | 0) > 0) {
      dlen = Math.max(0, (right - seq) | 0);
      fl &= ~TCP_FLAG_FIN;
    }
    this.ctx.dataLen[h] = dlen;
    // RST (RFC 5961 3.2)
    if ((fl & TCP_FLAG_RST) !== 0) {
      c[C.TCP_RST_IN]!++;
      if (seq !== rcvNxt) {
        this.challengeAck(s);
        return false;
      }
      if (st === TCP_SYN_RECEIVED && this.parent[s]! >= 0) {
        this.freeSlot(s);
        return false;
      }
      if (st === TCP_ESTABLISHED || st === TCP_CLOSE_WAIT) c[C.TCP_ESTAB_RESETS]!++;
      if (st === TCP_TIME_WAIT || st === TCP_LAST_ACK || st === TCP_CLOSING) {
        this.finish(s, 0);
        return false;
      }
      this.flags[s] = this.flags[s]! | F_RESET;
      this.finish(s, EV_RESET);
      return false;
    }
    // SYN in a synchronized state (RFC 5961 4.2)
    if ((fl & TCP_FLAG_SYN) !== 0) {
      this.challengeAck(s);
      return false;
    }
    if ((fl & TCP_FLAG_ACK) === 0) {
      c[C.TCP_DROP_NO_ACK]!++;
      return false;
    }
    // Timestamp to echo (RFC 7323 4.3): from the segment at the left edge.
    // (Last.ACK.sent, not rcv.nxt: with delayed ACKs a later segment must not move TS.Recent ahead)
    if ((f & F_TS) !== 0 && opt[3] === 1 && ((seq - this.ackSent[s]!) | 0) <= 0 && ((opt[4]! - this.tsRecent[s]!) | 0) > 0) this.tsRecent[s] = opt[4]!;
    if (st === TCP_SYN_RECEIVED) {
      if (((ack - this.sndUna[s]!) | 0) <= 0 || ((ack - this.sndMax[s]!) | 0) > 0) {
        this.rstFor(this.rip[s]!, this.rport[s]!, this.lip[s]!, this.lport[s]!, seq, ack, fl, dlen);
        return false;
      }
      this.sndWnd[s] = win << this.sndWs[s]!;
      this.sndWl1[s] = seq;
      this.sndWl2[s] = ack;
      this.established(s);
      if (this.state[s] !== TCP_ESTABLISHED) return false;
    }
    const una = this.sndUna[s]!;
    if (((ack - this.sndMax[s]!) | 0) > 0) {
      // Acknowledges what we never sent (RFC 5961 5.2).
      this.challengeAck(s);
      return false;
    }
    if (((ack - (una - this.maxSndWnd[s]!)) | 0) < 0) {
      this.challengeAck(s);
      return false;
    }
    const wnd = win << this.sndWs[s]!;
    if (((ack - una) | 0) > 0) {
      this.ackAdvance(s, ack);
      if (this.state[s] === TCP_CLOSED) return false;
    } else if (ack === una && dlen === 0 && (fl & TCP_FLAG_FIN) === 0 && wnd === this.sndWnd[s] && this.sndMax[s] !== una) {
      this.dupAck(s);
    }
    // Window update (RFC 9293 3.10.7.4)
    if (((this.sndWl1[s]! - seq) | 0) < 0 || (this.sndWl1[s] === seq && ((this.sndWl2[s]! - ack) | 0) <= 0)) {
      const was = this.sndWnd[s]!;
      this.sndWnd[s] = wnd;
      this.sndWl1[s] = seq;
      this.sndWl2[s] = ack;
      if (wnd > this.maxSndWnd[s]!) this.maxSndWnd[s] = wnd;
      if (wnd > was) {
        if (this.persistAt[s]! !== 0 && wnd > 0) {
          this.persistAt[s] = 0;
          this.persistShift[s] = 0;
        }
        this.kick(s);
      }
    }
    const st2 = this.state[s]!;
    if (st2 === TCP_TIME_WAIT) {
      if ((fl & TCP_FLAG_FIN) !== 0) {
        this.rtoAt[s] = this.clk[0]! + this.o.timeWaitMs;
        this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_ACK);
      }
      return false;
    }
    let kept = false;
    if (dlen > 0) {
      if (st2 === TCP_ESTABLISHED || st2 === TCP_FIN_WAIT_1 || st2 === TCP_FIN_WAIT_2) {
        if ((this.flags[s]! & F_ORPHAN) !== 0) {
          // Nobody will read it: acknowledge and discard.
          if (seq === this.rcvNxt[s]) {
            this.rcvNxt[s] = (this.rcvNxt[s]! + dlen) | 0;
            this.flags[s] = this.flags[s]! | F_ACK_NOW;
          }
        } else if (seq === this.rcvNxt[s]) {
          kept = this.inOrder(s, h, dlen, (fl & TCP_FLAG_FIN) !== 0);
          if (!kept) return false;
          fl &= ~TCP_FLAG_FIN; // handled with the data
        } else {
          kept = this.outOfOrder(s, h, seq, dlen, (fl & TCP_FLAG_FIN) !== 0);
          return kept;
        }
      }
    }
    if ((fl & TCP_FLAG_FIN) !== 0) {
      const finSeq = (seq + dlen) | 0;
      if (finSeq === this.rcvNxt[s]) this.finReceived(s);
      else if (!kept && dlen === 0 && st2 !== TCP_CLOSE_WAIT && st2 !== TCP_CLOSING && st2 !== TCP_LAST_ACK) {
        return this.outOfOrder(s, h, seq, 0, true);
      }
    }
    if (dup) this.flags[s] = this.flags[s]! | F_ACK_NOW;
    if ((this.flags[s]! & F_ACK_NOW) !== 0 || this.segsUnacked[s]! >= 2) this.kick(s);
    else if (this.segsUnacked[s]! > 0 && this.delackAt[s] === 0) this.delackAt[s] = this.clk[0]! + this.o.delackMs;
    return kept;
  }

  /** In-order data in frame `h`: queued; then the out-of-order queue drains. False: not kept (queue full). */
  private inOrder(s: number, h: number, dlen: number, fin: boolean): boolean {
    const b = this.bufs[s]!;
    if (this.rqLen[s]! >= this.rqCap) {
      this.c[C.TCP_DROP_RXQ_FULL]!++;
      return false;
    }
    let t = this.rqHead[s]! + this.rqLen[s]!;
    if (t >= this.rqCap) t -= this.rqCap;
    b.rq[t] = h;
    this.rqLen[s] = this.rqLen[s]! + 1;
    this.rqBytes[s] = this.rqBytes[s]! + dlen;
    this.rcvNxt[s] = (this.rcvNxt[s]! + dlen) | 0;
    this.bytesIn[s] = this.bytesIn[s]! + dlen;
    this.segsUnacked[s] = this.segsUnacked[s]! + 1;
    this.raise(s, EV_READABLE);
    if (fin) this.finReceived(s);
    if (this.oooLen[s]! > 0) {
      this.drainOoo(s);
      this.flags[s] = this.flags[s]! | F_ACK_NOW; // a hole filled: ACK at once (RFC 5681 4.2)
    }
    return true;
  }

  private drainOoo(s: number): void {
    const b = this.bufs[s]!;
    const ooo = b.ooo;
    const dataOff = this.ctx.dataOff;
    const dataLen = this.ctx.dataLen;
    let k = 0;
    const n = this.oooLen[s]!;
    while (k < n) {
      const h = ooo[k]!;
      const nxt = this.rcvNxt[s]!;
      const sq = this.segSeq[h]!;
      if (((sq - nxt) | 0) > 0) break;
      k++;
      let len = dataLen[h]!;
      const d = (nxt - sq) | 0;
      const fin = this.segFin[h] === 1 && (this.flags[s]! & F_FIN_RCVD) === 0;
      if (d > len || (d === len && !fin)) {
        this.ctx.mp.free(h);
        continue;
      }
      dataOff[h] = dataOff[h]! + d;
      len -= d;
      dataLen[h] = len;
      if (len === 0) this.ctx.mp.free(h);
      else if (!this.inOrderNoDrain(s, h, len)) {
        this.ctx.mp.free(h);
        continue;
      }
      if (fin) {
        // Nothing follows a FIN. finReceived may enter TIME_WAIT, which frees the queue itself.
        ooo.copyWithin(0, k, n);
        this.oooLen[s] = n - k;
        this.finReceived(s);
        this.dropOoo(s);
        return;
      }
    }
    if (k > 0) {
      ooo.copyWithin(0, k, n);
      this.oooLen[s] = n - k;
    }
  }

  private inOrderNoDrain(s: number, h: number, dlen: number): boolean {
    if (this.rqLen[s]! >= this.rqCap) {
      this.c[C.TCP_DROP_RXQ_FULL]!++;
      return false;
    }
    let t = this.rqHead[s]! + this.rqLen[s]!;
    if (t >= this.rqCap) t -= this.rqCap;
    this.bufs[s]!.rq[t] = h;
    this.rqLen[s] = this.rqLen[s]! + 1;
    this.rqBytes[s] = this.rqBytes[s]! + dlen;
    this.rcvNxt[s] = (this.rcvNxt[s]! + dlen) | 0;
    this.bytesIn[s] = this.bytesIn[s]! + dlen;
    return true;
  }

  /** Out-of-order data: into the sorted queue (bounded); a duplicate ACK goes out at once. */
  private outOfOrder(s: number, h: number, seq: number, dlen: number, fin: boolean): boolean {
    const c = this.c;
    c[C.TCP_OOO_SEGS]!++;
    this.flags[s] = this.flags[s]! | F_ACK_NOW;
    const b = this.bufs[s]!;
    const ooo = b.ooo;
    const n = this.oooLen[s]!;
    let i = n;
    while (i > 0 && ((this.segSeq[ooo[i - 1]!]! - seq) | 0) > 0) i--;
    // The same start already held with at least as much data: a duplicate.
    if (i > 0) {
      const p = ooo[i - 1]!;
      const pEnd = (this.segSeq[p]! + this.ctx.dataLen[p]!) | 0;
      if (((pEnd - (seq + dlen)) | 0) >= 0 && (this.segFin[p] === 1 || !fin)) {
        c[C.TCP_RX_DUP]!++;
        this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_ACK);
        this.oooLast[s] = seq;
        return false;
      }
    }
    if (n >= this.oooMax) {
      c[C.TCP_DROP_OOO_FULL]!++;
      this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_ACK);
      return false;
    }
    ooo.copyWithin(i + 1, i, n);
    ooo[i] = h;
    this.oooLen[s] = n + 1;
    this.segSeq[h] = seq;
    this.segFin[h] = fin ? 1 : 0;
    this.oooLast[s] = seq;
    this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_ACK);
    return true;
  }

  private finReceived(s: number): void {
    if ((this.flags[s]! & F_FIN_RCVD) !== 0) return;
    this.rcvNxt[s] = (this.rcvNxt[s]! + 1) | 0;
    this.flags[s] = this.flags[s]! | F_FIN_RCVD | F_ACK_NOW;
    this.raise(s, EV_EOF | EV_READABLE);
    const st = this.state[s]!;
    if (st === TCP_ESTABLISHED || st === TCP_SYN_RECEIVED) this.state[s] = TCP_CLOSE_WAIT;
    else if (st === TCP_FIN_WAIT_1) this.state[s] = TCP_CLOSING;
    else if (st === TCP_FIN_WAIT_2) this.timeWait(s);
  }

  private timeWait(s: number): void {
    this.state[s] = TCP_TIME_WAIT;
    this.c[C.TCP_TIME_WAIT]!++;
    this.rtoAt[s] = this.clk[0]! + this.o.timeWaitMs;
    this.tlpAt[s] = 0;
    this.persistAt[s] = 0;
    this.keepAt[s] = 0;
    this.delackAt[s] = 0;
    this.flags[s] = this.flags[s]! | F_ACK_NOW;
    this.dropOoo(s);
    this.kick(s);
  }

  private dropOoo(s: number): void {
    const b = this.bufs[s]!;
    for (let k = 0; k < this.oooLen[s]!; k++) this.ctx.mp.free(b.ooo[k]!);
    this.oooLen[s] = 0;
  }

  /** New data acknowledged: RTT, congestion window, NewReno, buffer space, FIN acknowledged. */
  private ackAdvance(s: number, ack: number): void {
    const una = this.sndUna[s]!;
    const acked = (ack - una) | 0;
    const mss = this.mss[s]!;
    const f = this.flags[s]!;
    const now = this.clk[0]!;
    // RTT sample (RFC 7323 4.1 with timestamps; Karn's rule without).
    if ((f & F_TS) !== 0 && this.opt[3] === 1 && this.opt[5] !== 0) this.rttSample(s, (this.tsNow() - this.opt[5]!) | 0);
    else if ((f & F_RTT_TIMING) !== 0 && ((ack - this.rttSeq[s]!) | 0) > 0) {
      this.flags[s] = this.flags[s]! & ~F_RTT_TIMING;
      this.rttSample(s, now - this.rttTime[s]!);
    }
    if ((f & F_RECOVERY) !== 0) {
      if (((ack - this.recover[s]!) | 0) >= 0) {
        // Full acknowledgment (RFC 6582 3.2 step 3)
        const flight = (this.sndMax[s]! - ack) | 0;
        this.cwnd[s] = Math.min(this.ssthresh[s]!, Math.max(flight, mss) + mss);
        this.flags[s] = this.flags[s]! & ~F_RECOVERY;
        this.dupacks[s] = 0;
      } else {
        // Partial acknowledgment: the next hole now, cwnd deflated by what was acked.
        this.sndUna[s] = ack;
        this.retransmitHole(s);
        let cw = this.cwnd[s]! - acked;
        if (acked >= mss) cw += mss;
        this.cwnd[s] = Math.max(cw, mss);
      }
    } else {
      this.dupacks[s] = 0;
      if (this.cwnd[s]! < this.ssthresh[s]!) this.cwnd[s] = this.cwnd[s]! + Math.min(acked, 2 * mss);
      else {
        const ca = this.caAcked[s]! + acked;
        if (ca >= this.cwnd[s]!) {
          this.caAcked[s] = ca - this.cwnd[s]!;
          this.cwnd[s] = this.cwnd[s]! + mss;
        } else this.caAcked[s] = ca;
      }
      if (this.cwnd[s]! > 0x3fffffff) this.cwnd[s] = 0x3fffffff;
    }
    this.sndUna[s] = ack;
    if (((this.sndNxt[s]! - ack) | 0) < 0) this.sndNxt[s] = ack;
    if (((this.rexmitNxt[s]! - ack) | 0) < 0) this.rexmitNxt[s] = ack;
    this.retries[s] = 0;
    const sbEnd = this.sbEnd[s]!;
    const newUna = ((ack - sbEnd) | 0) > 0 ? sbEnd : ack;
    if (((newUna - this.sbUna[s]!) | 0) > 0) {
      this.bytesOut[s] = this.bytesOut[s]! + ((newUna - this.sbUna[s]!) | 0);
      this.sbUna[s] = newUna;
      if ((this.flags[s]! & F_WANT_WRITE) !== 0) {
        this.flags[s] = this.flags[s]! & ~F_WANT_WRITE;
        this.raise(s, EV_WRITABLE);
      }
    }
    this.rtoAt[s] = this.sndMax[s] === ack ? 0 : now + this.rto[s]!;
    this.flags[s] = this.flags[s]! & ~F_TLP;
    this.armTlp(s);
    this.kick(s);
    // Our FIN acknowledged?
    if ((this.flags[s]! & F_FIN_QUEUED) !== 0 && ((ack - sbEnd - 1) | 0) >= 0) {
      const st = this.state[s]!;
      if (st === TCP_FIN_WAIT_1) {
        this.state[s] = TCP_FIN_WAIT_2;
        if ((this.flags[s]! & F_ORPHAN) !== 0) this.rtoAt[s] = now + this.o.timeWaitMs; // FIN_WAIT_2 timeout for orphans
      } else if (st === TCP_CLOSING) this.timeWait(s);
      else if (st === TCP_LAST_ACK) this.finish(s, 0);
    }
  }

  /** Tail loss probe timer (RFC 8985 7.2): 2 * SRTT (at least 10 ms; +200 ms for a single segment) while data is out, no recovery. */
  private armTlp(s: number): void {
    if (this.sndMax[s] === this.sndUna[s] || (this.flags[s]! & (F_RECOVERY | F_TLP)) !== 0 || this.srtt[s] === 0) {
      this.tlpAt[s] = 0;
      return;
    }
    // One segment out: its ACK may be delayed (RFC 8985 7.2, WCDelAckT 200 ms).
    const one = ((this.sndMax[s]! - this.sndUna[s]!) | 0) <= this.mss[s]! ? 200 : 0;
    this.tlpAt[s] = this.clk[0]! + Math.max(2 * this.srtt[s]!, 10) + one;
  }

  private onTlp(s: number): void {
    const st = this.state[s]!;
    if (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT && st !== TCP_FIN_WAIT_1 && st !== TCP_LAST_ACK && st !== TCP_CLOSING) return;
    if (this.sndMax[s] === this.sndUna[s] || (this.flags[s]! & (F_RECOVERY | F_TLP)) !== 0) return;
    // The last segment again: its ACK (with SACK) shows what is missing, so recovery starts without an RTO.
    const sbEnd = this.sbEnd[s]!;
    const una = this.sndUna[s]!;
    const dataOut = ((sbEnd - una) | 0) > 0 ? Math.min(this.mss[s]!, (sbEnd - una) | 0) : 0;
    const seq = ((sbEnd - this.sndMax[s]!) | 0) >= 0 ? (this.sndMax[s]! - dataOut) | 0 : (sbEnd - dataOut) | 0;
    this.flags[s] = this.flags[s]! | F_TLP;
    this.c[C.TCP_LOSS_PROBES]!++;
    this.segmentAt(s, ((seq - una) | 0) < 0 ? una : seq);
  }

  private rttSample(s: number, r0: number): void {
    if (r0 < 0 || r0 > 600000) return;
    const r = r0;
    if (this.srtt[s] === 0) {
      this.srtt[s] = r > 0 ? r : 0.5;
      this.rttvar[s] = r / 2;
    } else {
      const d = this.srtt[s]! - r;
      this.rttvar[s] = 0.75 * this.rttvar[s]! + 0.25 * (d < 0 ? -d : d);
      this.srtt[s] = 0.875 * this.srtt[s]! + 0.125 * r;
    }
    const rto = this.srtt[s]! + Math.max(1, 4 * this.rttvar[s]!);
    this.rto[s] = Math.min(this.o.maxRtoMs, Math.max(this.o.minRtoMs, rto));
  }

  private dupAck(s: number): void {
    const d = this.dupacks[s]! + 1;
    this.dupacks[s] = d;
    const mss = this.mss[s]!;
    this.noteSack(s);
    if ((this.flags[s]! & F_RECOVERY) !== 0) {
      this.cwnd[s] = this.cwnd[s]! + mss;
      // With SACK information, fill holes as dupacks arrive.
      if ((this.flags[s]! & F_SACK) !== 0 && this.sackN[s]! > 0) this.retransmitHole(s);
      this.kick(s);
      return;
    }
    const flight = (this.sndMax[s]! - this.sndUna[s]!) | 0;
    // Three duplicate ACKs; with SACK also: fewer than four segments out and all but one acknowledged
    // (early retransmit, RFC 5827), or three segments' worth SACKed above snd.una (RFC 6675 IsLost).
    let lost = d === 3;
    let early = false;
    if (!lost && d < 3 && (this.flags[s]! & F_SACK) !== 0 && this.sackN[s]! > 0) {
      const segs = Math.ceil(flight / mss);
      if (segs < 4 && d >= Math.max(1, segs - 1)) lost = early = true;
      else if (((this.sackHigh(s) - this.sndUna[s]!) | 0) >= 3 * mss) lost = true;
    }
    if (lost && (((this.sndUna[s]! - this.recover[s]!) | 0) > 0 || this.recover[s] === this.iss[s])) {
      if (early) this.c[C.TCP_EARLY_RETRANSMITS]!++;
      this.dupacks[s] = 3;
      this.tlpAt[s] = 0;
      this.ssthresh[s] = Math.max(flight >> 1, 2 * mss);
      this.recover[s] = this.sndMax[s]!;
      this.flags[s] = (this.flags[s]! | F_RECOVERY) & ~F_RTT_TIMING;
      this.c[C.TCP_FAST_RETRANSMITS]!++;
      this.rexmitNxt[s] = this.sndUna[s]!;
      this.retransmitHole(s);
      this.cwnd[s] = this.ssthresh[s]! + 3 * mss;
      this.kick(s);
    }
  }

  /** The highest sequence number the peer SACKed (snd.una when none). */
  private sackHigh(s: number): number {
    let high = this.sndUna[s]!;
    const base = s * MAX_SACK * 2;
    for (let b = 0; b < this.sackN[s]!; b++) if (((this.sackBlk[base + 2 * b + 1]! - high) | 0) > 0) high = this.sackBlk[base + 2 * b + 1]!;
    return high;
  }

  /** Keeps the peer's SACK blocks of the segment at hand (above snd.una). */
  private noteSack(s: number): void {
    const opt = this.opt;
    const nb = opt[6]!;
    if (nb === 0 || (this.flags[s]! & F_SACK) === 0) return;
    const una = this.sndUna[s]!;
    const max = this.sndMax[s]!;
    let k = 0;
    const base = s * MAX_SACK * 2;
    for (let b = 0; b < nb; b++) {
      const st = opt[8 + 2 * b]!;
      const en = opt[9 + 2 * b]!;
      if (((en - st) | 0) <= 0 || ((st - una) | 0) < 0 || ((en - max) | 0) > 0) continue;
      this.sackBlk[base + 2 * k] = st;
      this.sackBlk[base + 2 * k + 1] = en;
      k++;
    }
    this.sackN[s] = k;
  }

  /** Whether `seq` lies in a block the peer SACKed. */
  private sacked(s: number, seq: number): number {
    const base = s * MAX_SACK * 2;
    for (let b = 0; b < this.sackN[s]!; b++) {
      const st = this.sackBlk[base + 2 * b]!;
      const en = this.sackBlk[base + 2 * b + 1]!;
      if (((seq - st) | 0) >= 0 && ((seq - en) | 0) < 0) return en;
    }
    return 0;
  }

  /**
   * Retransmits the next segment the peer lacks: from snd.una, or (with SACK) the first hole after what
   * was already retransmitted in this recovery, skipping SACKed blocks.
   */
  private retransmitHole(s: number): void {
    let seq = this.sndUna[s]!;
    if ((this.flags[s]! & F_SACK) !== 0 && this.sackN[s]! > 0) {
      if (((this.rexmitNxt[s]! - seq) | 0) > 0) seq = this.rexmitNxt[s]!;
      for (let guard = 0; guard < MAX_SACK + 1; guard++) {
        const en = this.sacked(s, seq);
        if (en === 0) break;
        seq = en;
      }
      // Nothing above the highest SACKed byte is known lost.
      let high = this.sndUna[s]!;
      const base = s * MAX_SACK * 2;
      for (let b = 0; b < this.sackN[s]!; b++) if (((this.sackBlk[base + 2 * b + 1]! - high) | 0) > 0) high = this.sackBlk[base + 2 * b + 1]!;
      if (((seq - high) | 0) >= 0 && seq !== this.sndUna[s]) return;
      if (seq !== this.sndUna[s]) this.c[C.TCP_SACK_RECOVERED]!++;
    }
    const len = this.segmentAt(s, seq);
    if (len < 0) return;
    this.rexmitNxt[s] = (seq + Math.max(len, 1)) | 0;
  }

  /** Sends (again) the segment starting at `seq`; returns its data length, or -1 when nothing is there. */
  private segmentAt(s: number, seq: number): number {
    const sbEnd = this.sbEnd[s]!;
    const avail = (sbEnd - seq) | 0;
    const finSent = (this.flags[s]! & F_FIN_QUEUED) !== 0 && ((this.sndMax[s]! - sbEnd) | 0) > 0;
    if (avail < 0) return -1;
    const len = Math.min(avail, this.mss[s]! - this.sackRoom(s));
    let fl = TCP_FLAG_ACK;
    if (len === avail && finSent) fl |= TCP_FLAG_FIN;
    if (len === 0 && (fl & TCP_FLAG_FIN) === 0) return -1;
    if (len > 0) fl |= TCP_FLAG_PSH;
    this.c[C.TCP_RETRANSMITS]!++;
    this.retrans[s] = this.retrans[s]! + 1;
    this.emit(s, seq, len, fl);
    if (this.rtoAt[s] === 0) this.rtoAt[s] = this.clk[0]! + this.rto[s]!;
    return len;
  }

  /** Bytes of SACK option a data segment would carry (room it takes from the payload). */
  private sackRoom(s: number): number {
    if ((this.flags[s]! & F_SACK) === 0 || this.oooLen[s] === 0) return 0;
    const nb = Math.min(this.sackBlocks(s), (this.flags[s]! & F_TS) !== 0 ? 3 : 4);
    return 4 + 8 * nb;
  }

  /** Fills `sackOut` with the blocks we hold out of order (the newest first); returns how many (<= 4). */
  private sackBlocks(s: number): number {
    const ooo = this.bufs[s]!.ooo;
    const n = this.oooLen[s]!;
    const out = this.sackOut;
    let nb = 0;
    let first = -1;
    let i = 0;
    while (i < n) {
      const h0 = ooo[i]!;
      const st = this.segSeq[h0]!;
      let en = (st + this.ctx.dataLen[h0]! + this.segFin[h0]!) | 0;
      let j = i + 1;
      while (j < n && ((this.segSeq[ooo[j]!]! - en) | 0) <= 0) {
        const h = ooo[j]!;
        const e2 = (this.segSeq[h]! + this.ctx.dataLen[h]! + this.segFin[h]!) | 0;
        if (((e2 - en) | 0) > 0) en = e2;
        j++;
      }
      const last = this.oooLast[s]!;
      const holdsLast = ((last - st) | 0) >= 0 && ((last - en) | 0) < 0;
      if (holdsLast && first < 0) {
        // The block with the newest segment goes first (RFC 2018 4).
        if (nb >= 4) nb = 3;
        for (let k = nb; k > 0; k--) {
          out[2 * k] = out[2 * k - 2]!;
          out[2 * k + 1] = out[2 * k - 1]!;
        }
        out[0] = st;
        out[1] = en;
        first = 0;
        nb++;
      } else if (nb < 4) {
        out[2 * nb] = st;
        out[2 * nb + 1] = en;
        nb++;
      }
      i = j;
    }
    return Math.min(nb, 4);
  }

  // ---------------------------------------------------------------------------------------------------
  // Output

  /** The free receive space, bytes (what the window may offer). */
  private freeWindow(s: number): number {
    const room = this.rcvBuf - this.rqBytes[s]!;
    const frames = this.rqCap - this.rqLen[s]! - this.oooLen[s]!;
    const byFrames = frames * this.ourMss;
    const w = Math.min(room, byFrames);
    return w > 0 ? w : 0;
  }

  /** Sends what the windows allow for slot `s`, then an ACK if one is owed. */
  output(s: number): void {
    const st = this.state[s]!;
    if (st === TCP_CLOSED || st === TCP_LISTEN) return;
    if (st === TCP_SYN_SENT || st === TCP_SYN_RECEIVED) {
      if (this.sndMax[s] === this.iss[s]) {
        this.emit(s, this.iss[s]!, 0, st === TCP_SYN_SENT ? TCP_FLAG_SYN : TCP_FLAG_SYN | TCP_FLAG_ACK);
        this.sndNxt[s] = (this.iss[s]! + 1) | 0;
        this.sndMax[s] = this.sndNxt[s]!;
        this.rtoAt[s] = this.clk[0]! + this.rto[s]!;
      }
      return;
    }
    if (st === TCP_TIME_WAIT) {
      if ((this.flags[s]! & F_ACK_NOW) !== 0) this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_ACK);
      return;
    }
    const mss = this.mss[s]!;
    const sbEnd = this.sbEnd[s]!;
    const finQ = (this.flags[s]! & F_FIN_QUEUED) !== 0;
    const nagle = (this.flags[s]! & F_NODELAY) === 0;
    const q = this.fam[s] === 6 ? this.out6 : this.out;
    let sent = 0;
    for (let guard = 0; guard < 4096; guard++) {
      if (q.length >= 8000) {
        this.c[C.TCP_OUT_QUEUE_FULL]!++;
        break;
      }
      const nxt = this.sndNxt[s]!;
      const inflight = (nxt - this.sndUna[s]!) | 0;
      const wnd = Math.min(this.sndWnd[s]!, this.cwnd[s]!);
      const avail = (sbEnd - nxt) | 0;
      const room = wnd - inflight;
      const maxLen = mss - this.sackRoom(s);
      let len = Math.min(avail, maxLen);
      if (len > room) len = room > 0 ? room : 0;
      const fin = finQ && avail >= 0 && len === avail && ((nxt + len - sbEnd) | 0) === 0 && ((this.sndMax[s]! - sbEnd - 1) | 0) <= 0 && (len > 0 || avail === 0);
      if (len > 0) {
        if (len < maxLen && len < avail) {
          // Window-limited to a small piece: wait unless nothing is in flight (sender SWS avoidance).
          if (inflight > 0 || len < (this.maxSndWnd[s]! >> 1)) break;
        } else if (len < maxLen && !fin && nagle && inflight > 0) break; // Nagle
        const isRexmit = ((nxt - this.sndMax[s]!) | 0) < 0;
        let fl = TCP_FLAG_ACK | (len === avail ? TCP_FLAG_PSH : 0);
        if (fin) fl |= TCP_FLAG_FIN;
        if (isRexmit) {
          this.c[C.TCP_RETRANSMITS]!++;
          this.retrans[s] = this.retrans[s]! + 1;
        }
        if (!this.emit(s, nxt, len, fl)) break;
        const adv = (nxt + len + (fin ? 1 : 0)) | 0;
        this.sndNxt[s] = adv;
        if (((adv - this.sndMax[s]!) | 0) > 0) {
          this.sndMax[s] = adv;
          if ((this.flags[s]! & (F_TS | F_RTT_TIMING)) === 0 && !isRexmit) {
            this.flags[s] = this.flags[s]! | F_RTT_TIMING;
            this.rttSeq[s] = nxt;
            this.rttTime[s] = this.clk[0]!;
          }
        }
        if (this.rtoAt[s] === 0) this.rtoAt[s] = this.clk[0]! + this.rto[s]!;
        if (this.tlpAt[s] === 0) this.armTlp(s);
        sent++;
        continue;
      }
      if (fin && avail === 0 && ((nxt - sbEnd) | 0) === 0) {
        if (!this.emit(s, nxt, 0, TCP_FLAG_ACK | TCP_FLAG_FIN)) break;
        this.sndNxt[s] = (nxt + 1) | 0;
        if (((this.sndNxt[s]! - this.sndMax[s]!) | 0) > 0) this.sndMax[s] = this.sndNxt[s]!;
        if (this.rtoAt[s] === 0) this.rtoAt[s] = this.clk[0]! + this.rto[s]!;
        sent++;
      }
      break;
    }
    // Zero window with data waiting and nothing in flight: the persist timer probes it.
    // (or a window too small to use, which receiver SWS avoidance should not offer but a peer may).
    const nxt = this.sndNxt[s]!;
    if (sent === 0 && nxt === this.sndUna[s] && ((sbEnd - nxt) | 0) > 0 && this.sndWnd[s]! < Math.min(mss, (sbEnd - nxt) | 0)) {
      if (this.persistAt[s] === 0) this.persistAt[s] = this.clk[0]! + this.persistDelay(s);
      this.rtoAt[s] = 0;
    }
    if (sent === 0 && ((this.flags[s]! & F_ACK_NOW) !== 0 || this.segsUnacked[s]! >= 2)) {
      if (this.segsUnacked[s]! >= 2 && (this.flags[s]! & F_ACK_NOW) === 0) this.c[C.TCP_DELAYED_ACKS]!++;
      this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_ACK); // pure ACKs carry snd.max (BSD), so a rewound snd.nxt never makes them unacceptable
    }
  }

  private persistDelay(s: number): number {
    const base = Math.max(this.rto[s]!, this.o.minRtoMs);
    return Math.min(base * 2 ** this.persistShift[s]!, this.o.maxRtoMs);
  }

  /**
   * Builds one segment of slot `s` into a new frame and queues it for ip4_output: IPv4 and TCP headers,
   * options, `len` bytes of the send ring from `seq`. Any segment with ACK carries the current window.
   */
  private emit(s: number, seq: number, len: number, fl: number): boolean {
    const c = this.c;
    const ctx = this.ctx;
    const h = ctx.mp.alloc();
    if (h < 0) {
      c[C.TCP_NO_BUF]!++;
      return false;
    }
    const u8 = this.u8;
    const base = ((h << ctx.shift) >>> 0) + ctx.dataOff[h]!;
    const ip = base + ETH_HLEN;
    const v6 = this.fam[s] === 6;
    const l4 = ip + (v6 ? IP6_HLEN : IP_HLEN);
    let o = l4 + 20;
    const f = this.flags[s]!;
    const syn = (fl & TCP_FLAG_SYN) !== 0;
    if (syn) {
      const offerAll = (fl & TCP_FLAG_ACK) === 0;
      const ours = v6 ? this.ourMss6 : this.ourMss;
      u8[o] = 2; u8[o + 1] = 4; u8[o + 2] = ours >> 8; u8[o + 3] = ours & 0xff;
      o += 4;
      if (offerAll ? this.o.sack : (f & F_SACK) !== 0) {
        u8[o] = 1; u8[o + 1] = 1; u8[o + 2] = 4; u8[o + 3] = 2;
        o += 4;
      }
      if (offerAll ? this.o.timestamps : (f & F_TS) !== 0) {
        u8[o] = 1; u8[o + 1] = 1; u8[o + 2] = 8; u8[o + 3] = 10;
        setBe32(u8, o + 4, this.tsNow());
        setBe32(u8, o + 8, offerAll ? 0 : this.tsRecent[s]!);
        o += 12;
      }
      if (offerAll ? this.o.windowScaling : (f & F_WS) !== 0) {
        u8[o] = 1; u8[o + 1] = 3; u8[o + 2] = 3; u8[o + 3] = offerAll ? this.rcvWsOffer : this.rcvWs[s]!;
        o += 4;
      }
    } else {
      if ((f & F_TS) !== 0) {
        u8[o] = 1; u8[o + 1] = 1; u8[o + 2] = 8; u8[o + 3] = 10;
        setBe32(u8, o + 4, this.tsNow());
        setBe32(u8, o + 8, this.tsRecent[s]!);
        o += 12;
      }
      if ((f & F_SACK) !== 0 && this.oooLen[s]! > 0 && (fl & TCP_FLAG_ACK) !== 0) {
        let nb = this.sackBlocks(s);
        if ((f & F_TS) !== 0 && nb > 3) nb = 3;
        u8[o] = 1; u8[o + 1] = 1; u8[o + 2] = 5; u8[o + 3] = 2 + 8 * nb;
        o += 4;
        for (let b = 0; b < nb; b++) {
          setBe32(u8, o, this.sackOut[2 * b]!);
          setBe32(u8, o + 4, this.sackOut[2 * b + 1]!);
          o += 8;
        }
        c[C.TCP_SACK_BLOCKS_OUT] = c[C.TCP_SACK_BLOCKS_OUT]! + nb;
      }
    }
    const thl = o - l4;
    // Payload from the send ring, summed on the way (its offset from the TCP header is even).
    let psum = 0;
    if (len > 0) {
      const ring = this.bufs[s]!.snd;
      const mask = this.sndMask;
      const pos = (seq - this.iss[s]! - 1) & mask;
      const first = Math.min(len, this.sndBuf - pos);
      psum = copySum(u8, o, ring, pos, first, false);
      if (first < len) psum += copySum(u8, o + first, ring, 0, len - first, (first & 1) === 1);
    }
    // TCP header
    setBe16(u8, l4, this.lport[s]!);
    setBe16(u8, l4 + 2, this.rport[s]!);
    setBe32(u8, l4 + 4, seq);
    const hasAck = (fl & TCP_FLAG_ACK) !== 0;
    setBe32(u8, l4 + 8, hasAck ? this.rcvNxt[s]! : 0);
    u8[l4 + 12] = (thl >> 2) << 4;
    u8[l4 + 13] = fl;
    let wnd = 0;
    if (hasAck || syn) {
      let free = this.freeWindow(s);
      const nxt = this.rcvNxt[s]!;
      // Never shrink the right edge already offered (RFC 9293 3.8.6.2.2).
      const adv = (this.rcvAdv[s]! - nxt) | 0;
      if (free < adv) free = adv;
      else if (free - adv < Math.min(this.rcvBuf >> 1, this.ourMss)) free = adv; // receiver SWS avoidance (RFC 1122 4.2.3.3)
      if (syn) wnd = Math.min(free, 65535);
      else {
        const ws = this.rcvWs[s]!;
        wnd = Math.min(free >> ws, 65535);
        const edge = (nxt + (wnd << ws)) | 0;
        if (((edge - this.rcvAdv[s]!) | 0) > 0) this.rcvAdv[s] = edge;
      }
      if (syn) this.rcvAdv[s] = (nxt + wnd) | 0;
    }
    setBe16(u8, l4 + 14, wnd);
    u8[l4 + 16] = 0; u8[l4 + 17] = 0; u8[l4 + 18] = 0; u8[l4 + 19] = 0;
    // IP header and checksum
    let total: number;
    let sum: number;
    if (v6) {
      total = IP6_HLEN + thl + len;
      this.ip6Header(u8, ip, thl + len, this.lip6, s << 4, this.rip6, s << 4);
      sum = cksumFold(pseudoSum6(u8, ip, IPPROTO_TCP, thl + len) + onesSum(u8, l4, thl) + psum);
      if (this.x6 !== null) this.x6.oif[h] = this.oif6[s]!;
    } else {
      total = IP_HLEN + thl + len;
      this.ip4Header(u8, ip, total, this.lip[s]!, this.rip[s]!);
      sum = cksumFold(pseudoSum4(u8, ip, IPPROTO_TCP, thl + len) + onesSum(u8, l4, thl) + psum);
    }
    setBe16(u8, l4 + TCP_CSUM, ~sum & 0xffff);
    ctx.dataLen[h] = ETH_HLEN + total;
    if (!(v6 ? this.out6 : this.out).push(h)) {
      ctx.mp.free(h);
      c[C.TCP_OUT_QUEUE_FULL]!++;
      return false;
    }
    c[C.TCP_TX]!++;
    if (v6) c[C.TCP6_TX]!++;
    if (hasAck) {
      this.ackSent[s] = this.rcvNxt[s]!;
      this.segsUnacked[s] = 0;
      this.delackAt[s] = 0;
      this.flags[s] = this.flags[s]! & ~F_ACK_NOW;
    }
    return true;
  }

  /** RST for slot `s` (abort): seq = snd.nxt. */
  private sendRst(s: number): void {
    const st = this.state[s]!;
    if (st === TCP_CLOSED || st === TCP_LISTEN) return;
    this.c[C.TCP_RST_OUT]!++;
    this.emit(s, this.sndMax[s]!, 0, TCP_FLAG_RST | TCP_FLAG_ACK);
  }

  /**
   * A fresh frame for a connectionless reply (a RST, a cookie SYN-ACK) to the segment being handled, its
   * TCP ports written (from our `dport` back to its `sport`); -1, counted, when the pool is empty.
   */
  private replyFrame(sport: number, dport: number): number {
    const h = this.ctx.mp.alloc();
    if (h < 0) {
      this.c[C.TCP_NO_BUF]!++;
      return -1;
    }
    const l4 = this.replyIp(h) + (this.cur6 >= 0 ? IP6_HLEN : IP_HLEN);
    setBe16(this.u8, l4, dport);
    setBe16(this.u8, l4 + 2, sport);
    return h;
  }

  /** Where the IP header of a reply frame `h` goes (after the Ethernet header). */
  private replyIp(h: number): number {
    return ((h << this.ctx.shift) >>> 0) + this.ctx.dataOff[h]! + ETH_HLEN;
  }

  /** RST answering a segment without a connection (RFC 9293 3.10.7.1); never for a RST. */
  private rstFor(src: number, sport: number, dst: number, dport: number, seq: number, ack: number, fl: number, dlen: number): void {
    if ((fl & TCP_FLAG_RST) !== 0) return;
    const h = this.replyFrame(sport, dport);
    if (h < 0) return;
    const u8 = this.u8;
    const ip = this.replyIp(h);
    const l4 = ip + (this.cur6 >= 0 ? IP6_HLEN : IP_HLEN);
    if ((fl & TCP_FLAG_ACK) !== 0) {
      setBe32(u8, l4 + 4, ack);
      setBe32(u8, l4 + 8, 0);
      u8[l4 + 13] = TCP_FLAG_RST;
    } else {
      const len = dlen + ((fl & TCP_FLAG_SYN) !== 0 ? 1 : 0) + ((fl & TCP_FLAG_FIN) !== 0 ? 1 : 0);
      setBe32(u8, l4 + 4, 0);
      setBe32(u8, l4 + 8, (seq + len) | 0);
      u8[l4 + 13] = TCP_FLAG_RST | TCP_FLAG_ACK;
    }
    u8[l4 + 12] = 5 << 4;
    setBe16(u8, l4 + 14, 0);
    u8[l4 + 16] = 0; u8[l4 + 17] = 0; u8[l4 + 18] = 0; u8[l4 + 19] = 0;
    this.sendReply(h, ip, 20, dst, src, C.TCP_RST_OUT);
  }

  // ---------------------------------------------------------------------------------------------------
  // Timers and deferred output (the tcp_timer node, once per walk)

  /** @internal Output for the connections kicked since the last call. */
  flush(): void {
    for (let i = 0; i < this.nKicks; i++) {
      const s = this.kicks[i]!;
      this.flags[s] = this.flags[s]! & ~F_KICKED;
      this.output(s);
    }
    this.nKicks = 0;
  }

  /** @internal Runs the timers due at the clock's time (at most once per clock tick). */
  timers(): void {
    const now = this.clk[0]!;
    if (now === this.tnow[0]) return;
    this.tnow[0] = now;
    for (let k = this.nActive - 1; k >= 0; k--) {
      const s = this.active[k]!;
      const rt = this.rtoAt[s]!;
      if (rt !== 0 && rt <= now) {
        this.rtoAt[s] = 0;
        this.tlpAt[s] = 0;
        this.onRto(s);
        continue;
      }
      const tl = this.tlpAt[s]!;
      if (tl !== 0 && tl <= now) {
        this.tlpAt[s] = 0;
        this.onTlp(s);
      }
      const da = this.delackAt[s]!;
      if (da !== 0 && da <= now) {
        this.delackAt[s] = 0;
        if (this.segsUnacked[s]! > 0) {
          this.c[C.TCP_DELAYED_ACKS]!++;
          this.flags[s] = this.flags[s]! | F_ACK_NOW;
          this.kick(s);
        }
      }
      const pa = this.persistAt[s]!;
      if (pa !== 0 && pa <= now) this.onPersist(s);
      const ka = this.keepAt[s]!;
      if (ka !== 0 && ka <= now) this.onKeepalive(s);
    }
    if (this.table !== null && now >= this.nextTable[0]!) {
      this.nextTable[0] = now + this.o.tableMs;
      this.writeTable(this.table);
    }
  }

  private onRto(s: number): void {
    const st = this.state[s]!;
    const c = this.c;
    if (st === TCP_TIME_WAIT) {
      this.finish(s, 0);
      return;
    }
    if (st === TCP_FIN_WAIT_2) {
      if ((this.flags[s]! & F_ORPHAN) !== 0) this.finish(s, 0);
      return;
    }
    const r = this.retries[s]! + 1;
    this.retries[s] = r;
    if (st === TCP_SYN_SENT || st === TCP_SYN_RECEIVED) {
      const limit = st === TCP_SYN_SENT ? this.o.synRetries : this.o.synAckRetries;
      if (r > limit) {
        if (this.parent[s]! >= 0) {
          c[C.TCP_SYN_RECV_TIMEOUT]!++;
          this.freeSlot(s);
        } else {
          c[C.TCP_ATTEMPT_FAILS]!++;
          this.flags[s] = this.flags[s]! | F_ERROR;
          this.finish(s, EV_ERROR);
        }
        return;
      }
      c[C.TCP_TIMEOUTS]!++;
      this.rto[s] = Math.min(this.rto[s]! * 2, this.o.maxRtoMs);
      this.sndMax[s] = this.iss[s]!; // output() sends the SYN again
      c[C.TCP_RETRANSMITS]!++;
      this.retrans[s] = this.retrans[s]! + 1;
      this.output(s);
      return;
    }
    if (this.sndMax[s] === this.sndUna[s]) return;
    if (r > this.o.maxRetries) {
      c[C.TCP_TIMEOUTS]!++;
      this.sendRst(s);
      this.flags[s] = this.flags[s]! | F_ERROR;
      this.finish(s, EV_ERROR);
      return;
    }
    c[C.TCP_TIMEOUTS]!++;
    const mss = this.mss[s]!;
    const flight = (this.sndMax[s]! - this.sndUna[s]!) | 0;
    if (r === 1) this.ssthresh[s] = Math.max(flight >> 1, 2 * mss);
    this.cwnd[s] = mss;
    this.caAcked[s] = 0;
    this.flags[s] = this.flags[s]! & ~(F_RECOVERY | F_RTT_TIMING);
    this.recover[s] = this.sndMax[s]!;
    this.dupacks[s] = 0;
    this.sackN[s] = 0;
    this.sndNxt[s] = this.sndUna[s]!;
    this.rexmitNxt[s] = this.sndUna[s]!;
    this.rto[s] = Math.min(this.rto[s]! * 2, this.o.maxRtoMs);
    this.output(s);
    if (this.rtoAt[s] === 0 && this.sndMax[s] !== this.sndUna[s]) this.rtoAt[s] = this.clk[0]! + this.rto[s]!;
  }

  private onPersist(s: number): void {
    this.persistAt[s] = 0;
    const st = this.state[s]!;
    if (this.sndWnd[s]! >= this.mss[s]! || (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT && st !== TCP_FIN_WAIT_1 && st !== TCP_LAST_ACK)) {
      this.kick(s);
      return;
    }
    // A probe below the window (seq = snd.una - 1) asks for the window (Linux's tcp_xmit_probe_skb).
    this.c[C.TCP_PERSIST_PROBES]!++;
    this.emit(s, (this.sndUna[s]! - 1) | 0, 0, TCP_FLAG_ACK);
    if (this.persistShift[s]! < 16) this.persistShift[s] = this.persistShift[s]! + 1;
    this.persistAt[s] = this.clk[0]! + this.persistDelay(s);
  }

  private onKeepalive(s: number): void {
    if (this.state[s] !== TCP_ESTABLISHED || (this.flags[s]! & F_KEEPALIVE) === 0) {
      this.keepAt[s] = 0;
      return;
    }
    if (this.probes[s]! >= this.o.keepCnt) {
      this.c[C.TCP_KEEPALIVE_TIMEOUTS]!++;
      this.sendRst(s);
      this.flags[s] = this.flags[s]! | F_ERROR;
      this.finish(s, EV_ERROR);
      return;
    }
    this.probes[s] = this.probes[s]! + 1;
    this.c[C.TCP_KEEPALIVE_PROBES]!++;
    this.emit(s, (this.sndUna[s]! - 1) | 0, 0, TCP_FLAG_ACK);
    this.keepAt[s] = this.clk[0]! + this.o.keepIntvlMs;
  }

  private writeTable(t: TcpConnTable): void {
    const w = t.w;
    t.begin();
    let n = 0;
    for (let k = 0; k < this.nActive && n < t.capacity; k++) {
      const s = this.active[k]!;
      const st = this.state[s]!;
      if (st === TCP_CLOSED) continue;
      const b = connEntryAt(n++);
      w[b] = this.lip[s]! >>> 0;
      w[b + 1] = this.lport[s]!;
      w[b + 2] = this.rip[s]! >>> 0;
      w[b + 3] = this.rport[s]!;
      w[b + 4] = st;
      w[b + 5] = this.sndNxt[s]! >>> 0;
      w[b + 6] = this.sndUna[s]! >>> 0;
      w[b + 7] = this.rcvNxt[s]! >>> 0;
      w[b + 8] = this.sndWnd[s]!;
      w[b + 9] = Math.max(0, (this.rcvAdv[s]! - this.rcvNxt[s]!) | 0);
      w[b + 10] = this.cwnd[s]!;
      w[b + 11] = this.ssthresh[s]!;
      w[b + 12] = this.srtt[s]!;
      w[b + 13] = this.rto[s]!;
      w[b + 14] = this.retrans[s]!;
      w[b + 15] = this.bytesIn[s]!;
      w[b + 16] = this.bytesOut[s]!;
      const v6 = this.fam[s] === 6;
      w[b + 17] = v6 ? 6 : 4;
      if (v6) {
        const a = s << 4;
        const l6 = this.lip6;
        const r6 = this.rip6;
        for (let k = 0; k < 4; k++) {
          const o = a + 4 * k;
          w[b + 18 + k] = ((l6[o]! << 24) | (l6[o + 1]! << 16) | (l6[o + 2]! << 8) | l6[o + 3]!) >>> 0;
          w[b + 22 + k] = ((r6[o]! << 24) | (r6[o + 1]! << 16) | (r6[o + 2]! << 8) | r6[o + 3]!) >>> 0;
        }
      }
    }
    t.end(n);
  }

  /** @internal Frees every frame held (queues of every slot and the output queue); returns how many. */
  closeAll(): number {
    let freed = 0;
    for (let k = this.nActive - 1; k >= 0; k--) {
      const s = this.active[k]!;
      freed += this.rqLen[s]! + this.oooLen[s]!;
      this.dropQueues(s);
    }
    const scratch = this.scratch;
    for (const q of [this.out, this.out6]) {
      for (let k; (k = q.shift(scratch, 256)) > 0;) {
        this.ctx.mp.freeBulk(scratch, k);
        freed += k;
      }
    }
    return freed;
  }

  /** @internal Connections in use (listeners included). */
  get activeCount(): number {
    return this.nActive;
  }
}
