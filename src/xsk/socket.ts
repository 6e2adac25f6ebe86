/**
 * xskdev: an AF_XDP socket on (netdev, queue) with its four rings (kernel document
 * Documentation/networking/af_xdp.rst; CNDP lib/core/xskdev).
 *
 * Buffers come from a {@link Mempool} over a registered {@link Umem}. A packet is a frame handle:
 * - RX: the kernel fills frames we gave it on the fill ring and posts (addr, len) on the RX ring;
 *   `rxBurst` turns descriptors into handles with dataOff/dataLen set, and refills the fill ring.
 * - TX: `txBurst` posts (addr, len) on the TX ring and kicks the kernel; completed frames come back on
 *   the completion ring and return to the mempool.
 *
 * One owner per ring: every ring has one producer and one consumer on each side, and this side keeps
 * private cached positions. So exactly one XskSocket object drives a socket's data path at a time. A
 * claim word in shared memory (`XskShared.ctl`) records which: the creator holds it from create();
 * {@link XskSocket.release} gives it up, {@link XskSocket.fromShared} (another thread) and
 * {@link XskSocket.claim} take it with a compare-and-swap and throw while another object holds it. The
 * data-path methods (rxBurst, txBurst, reclaim) do not check the claim per burst: calling them on an
 * object that does not hold it is a programming error that corrupts the rings.
 *
 * The data path reads and publishes ring indices with Atomics once per burst and allocates nothing.
 * Copy mode (veth) sends at most `txBudget` frames per sendto() and answers EAGAIN for the rest: the TX
 * kick loops.
 */
import { threadId } from "node:worker_threads";
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { mmapShared, munmap } from "../sys/mem.js";
import { ifIndex } from "../sys/netdev.js";
import {
  AF_XDP, SOCK_RAW, SOCK_CLOEXEC, MSG_DONTWAIT, SOL_SOCKET, SO_BUSY_POLL, SO_PREFER_BUSY_POLL,
  SO_BUSY_POLL_BUDGET, POLLIN,
} from "../sys/consts.js";
import type { Mempool } from "../mem/mempool.js";
import { FRAME_APP, FRAME_KERNEL, FRAME_SHARED } from "../mem/tracker.js";
import * as X from "./if-xdp.js";
import * as S from "./stats.js";
import { trace } from "../sys/trace.js";

/** getsockopt(SOL_SOCKET) only: the NAPI id a socket's busy polling runs, 0 when none (asm-generic/socket.h). */
const SO_INCOMING_NAPI_ID = 56;

export type CopyMode = "auto" | "copy" | "zerocopy";

export interface XskOptions {
  /** Netdev name. */
  ifname: string;
  /** Queue id on the netdev. */
  qid: number;
  /** Buffers for RX fill and TX; its UMEM is registered with the first socket that uses it. */
  mempool: Mempool;
  /** Ring sizes (powers of two). Defaults: rx/tx 2048, fill = 2 x rx, completion = 2 x tx. */
  rxSize?: number;
  txSize?: number;
  fillSize?: number;
  compSize?: number;
  /**
   * Zero-copy when the driver has it ("auto", default), or force one mode. A socket sharing a UMEM has
   * the first socket's mode; asking for the other one is an error.
   */
  copyMode?: CopyMode;
  /**
   * Frames kept on the fill ring (default: the RX ring size, at most half the mempool), so that TX and
   * the application keep buffers of their own.
   */
  fillLevel?: number;
  /**
   * Use the need_wakeup flags (default true). A socket sharing a UMEM inherits the first socket's setting
   * (the kernel takes it from the first socket's buffer pool); asking for the other one is an error.
   */
  needWakeup?: boolean;
  /**
   * Another socket on the same UMEM: this one binds with XDP_SHARED_UMEM to it. On another queue or
   * netdev this socket has fill and completion rings of its own. On the SAME netdev queue it has none
   * (the kernel requires it): the first socket's fill ring feeds both sockets' RX and its completion
   * ring returns both sockets' TX frames. The first socket (its data-path owner) then keeps the fill ring
   * at its level and reclaims completions for both: it must keep polling (rxBurst on an empty ring does
   * both, so does {@link XskSocket.service}), and be closed after this one.
   */
  shareUmemWith?: XskSocket;
  /**
   * Busy polling: SO_PREFER_BUSY_POLL, SO_BUSY_POLL (timeout, us) and SO_BUSY_POLL_BUDGET. The data path
   * busy-polls (one recvfrom/sendto per loop) only where the kernel gave the socket a NAPI to poll
   * ({@link XskSocket.napiId}): Linux 6.13+ resolves it at bind for zero-copy sockets only, so a copy-mode
   * socket (veth) keeps the options but runs its NAPI as without them (measured on 6.18: BusyPollRxPackets
   * stays 0); the socket logs it and `busyPoll` reads false.
   */
  busyPoll?: { timeoutUs: number; budget: number };
  /**
   * Multi-buffer (jumbo) frames: bind with XDP_USE_SG. A frame larger than one buffer arrives as a
   * descriptor chain (XDP_PKT_CONTD on all but the last), which rxBurst assembles into an mbuf chain
   * (src/mem/chain.ts); txBurst sends chains as descriptor sequences. The XDP program must be
   * frags-aware (xsk-redirect.ts `frags`). A socket sharing a UMEM inherits the first socket's setting
   * (XDP_SHARED_UMEM takes no other flag). Default false.
   */
  multiBuffer?: boolean;
  /**
   * CNDP's force_wakeup: kick RX with recvfrom() on every empty poll and TX with sendto() on every
   * txBurst that posted frames, whatever the need_wakeup flags say.
   */
  forceWakeup?: boolean;
  /** Port id written to mbuf.port of received packets. */
  portId?: number;
  /** A tag for messages ("eth0:0"). */
  name?: string;
  /** Called with a line for notable events (zero-copy fallback, ...). */
  log?: (msg: string) => void;
}

let nextSocketId = 1;

/** One ring mapping: index words and descriptor base (in u32 units). */
export interface RingMap {
  buf: SharedArrayBuffer;
  u32: Uint32Array;
  prod: number;
  cons: number;
  flags: number;
  desc: number;
  size: number;
  mask: number;
}

/** A ring's words over `buf` at the kernel's offsets (bytes): for mapped rings and for fake ones. */
export function ringMap(buf: SharedArrayBuffer, off: X.RingOffsets, size: number, descBytes: number): RingMap {
  const len = off.desc + size * descBytes;
  if (buf.byteLength < len) throw new RangeError(`Ring of ${size} x ${descBytes}-byte entries needs ${len} bytes; the buffer has ${buf.byteLength}`);
  return {
    buf,
    u32: new Uint32Array(buf, 0, len >>> 2),
    prod: off.producer >>> 2,
    cons: off.consumer >>> 2,
    flags: off.flags >>> 2,
    desc: off.desc >>> 2,
    size,
    mask: size - 1,
  };
}

// Words of the control block (`XskShared.ctl`, an Int32Array).
/** The token of the object driving the data path; 0 when nobody does, CLAIM_CLOSED after close(). */
const CTL_CLAIM = 0;
/** Open sockets bound to this socket's queue with XDP_SHARED_UMEM (they use its fill/completion rings). */
const CTL_DEPENDENTS = 1;
/** Their TX frames posted and not yet completed on this socket's completion ring (int32, wrapping). */
const CTL_DEP_TX = 2;
/** tx producer - completion consumer when the rings were set up (0 for the kernel's rings). */
const CTL_TX_BASE = 3;
const CTL_WORDS = 4;
const CLAIM_CLOSED = -1;

/** How long close() waits, after closing the fd, for TX frames the kernel took to show on the completion ring. */
const CLOSE_COMPLETION_WAIT_MS = 250;

/** What a worker thread needs to drive this socket (structured-cloneable; the fd is process-wide). */
export interface XskShared {
  fd: number;
  id: number;
  name: string;
  ifname: string;
  ifindex: number;
  qid: number;
  zeroCopy: boolean;
  needWakeup: boolean;
  busyPoll: boolean;
  /** The NAPI id the kernel gave the socket (SO_INCOMING_NAPI_ID; 0: none). */
  napiId?: number;
  forceWakeup: boolean;
  portId: number;
  /** Frames the kernel sends per kick in copy mode (32, or more where XDP_MAX_TX_SKB_BUDGET works). */
  txBudget: number;
  /** Bound with XDP_USE_SG: packets may span several descriptors (XDP_PKT_CONTD). */
  multiBuffer: boolean;
  /** Frames kept on the fill ring; 0 for a socket without a fill ring of its own. */
  fillLevel: number;
  /** fill and comp are null for a socket that uses another socket's (see `ringOwner`). */
  rings: { rx: RingMap; tx: RingMap; fill: RingMap | null; comp: RingMap | null };
  stats: SharedArrayBuffer;
  /** Control block: the data-path claim and shared-ring bookkeeping (Int32 words). */
  ctl: SharedArrayBuffer;
  /**
   * For a socket bound with XDP_SHARED_UMEM to the same netdev queue as another: that socket, whose fill
   * and completion rings serve both (its fill ring's need_wakeup flag tells this one when to wake RX).
   */
  ringOwner: { id: number; name: string; ctl: SharedArrayBuffer; fill: RingMap } | null;
  /** False for rings that are not a kernel socket's ({@link XskSocket.overRings}): no XDP_STATISTICS. */
  kernel: boolean;
}

/**
 * Rings set up by someone else, for {@link XskSocket.overRings}: a test's fake kernel
 * (src/testing/fake-xsk.ts), or a port that maps a socket's rings itself.
 */
export interface XskRingSetup {
  /**
   * A file descriptor standing for the socket: TX kicks are sendto(fd, NULL, 0) and RX wakeups
   * recvfrom(fd, NULL, 0), both MSG_DONTWAIT; close() closes it.
   */
  fd: number;
  name: string;
  /** The four rings, laid out as the kernel's; close() unmaps their buffers (munmap). */
  rings: { rx: RingMap; tx: RingMap; fill: RingMap; comp: RingMap };
  ifname?: string;
  ifindex?: number;
  qid?: number;
  zeroCopy?: boolean;
  needWakeup?: boolean;
  forceWakeup?: boolean;
  portId?: number;
  txBudget?: number;
  /** Default: the RX ring size, at most half the mempool (as create()). */
  fillLevel?: number;
  /** Descriptor chains (XDP_USE_SG) on the rings; default false. */
  multiBuffer?: boolean;
}

function mapRing(fd: number, off: X.RingOffsets, size: number, descBytes: number, pgoff: number, what: string): RingMap {
  const buf = mmapShared(off.desc + size * descBytes, fd, pgoff, `mmap(${what} ring)`);
  return ringMap(buf, off, size, descBytes);
}

/** A ring that is never driven, for the fill and completion rings of a socket that uses another's. */
function emptyRing(): RingMap {
  return ringMap(new SharedArrayBuffer(32), { producer: 0, consumer: 4, flags: 8, desc: 16 }, 2, 8);
}

function pow2(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0 || n > 1 << 20) {
    throw new RangeError(`Invalid ${what} size ${n}: a power of two from 2 to 1048576`);
  }
  return n;
}

let tokenSeq = 0;
/** A claim token unique to this object within the process: (thread id << 16) | sequence, never 0. */
function newToken(): number {
  tokenSeq = (tokenSeq % 0xffff) + 1;
  return ((threadId & 0x7fff) << 16) | tokenSeq;
}

/** Sleeps the calling thread (control path only). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export class XskSocket {
  readonly fd: number;
  readonly id: number;
  readonly name: string;
  readonly ifname: string;
  readonly ifindex: number;
  readonly qid: number;
  readonly zeroCopy: boolean;
  readonly needWakeup: boolean;
  /** Busy polling runs in the data path: asked for, and the kernel gave the socket a NAPI to poll. */
  readonly busyPoll: boolean;
  /**
   * The NAPI the socket's busy polling runs (SO_INCOMING_NAPI_ID), 0 when it has none: read at create
   * when busy polling is asked for, else 0.
   */
  readonly napiId: number;
  readonly forceWakeup: boolean;
  readonly portId: number;
  readonly fillLevel: number;
  readonly txBudget: number;
  /** Bound with XDP_USE_SG: packets may be descriptor chains (see {@link XskOptions.multiBuffer}). */
  readonly multiBuffer: boolean;
  private readonly txShift: number;
  readonly mempool: Mempool;
  /** Counters (see stats.ts), shared with other threads. */
  readonly stats: Float64Array;
  /**
   * TX frames close() gave up on: taken by the kernel and never completed within its wait. Without the
   * frame tracker they are lost to the mempool; with it they were returned (the owner words name them).
   */
  framesLostAtClose = 0;
  /** Whether this object made the socket (create/overRings): its close() releases the socket. */
  private readonly creator: boolean;
  private readonly token: number;
  private holds = false;
  private closed = false;
  private readonly ctl: Int32Array;
  private readonly shared: XskShared;
  /** The control block of the socket whose fill/completion rings this one uses, or null. */
  private readonly ownerCtl: Int32Array | null;
  /** FRAME_KERNEL + the id of the socket whose fill ring frames come from (tracker owner words). */
  private readonly kid: number;
  private readonly frameSize: number;

  // Hot-path state: ring words and cached indices.
  private readonly rxU32: Uint32Array; private readonly rxProd: number; private readonly rxCons: number; private readonly rxDesc: number; private readonly rxMask: number;
  private readonly txU32: Uint32Array; private readonly txProd: number; private readonly txCons: number; private readonly txDesc: number; private readonly txMask: number; private readonly txSize: number; private readonly txFlags: number;
  private readonly fqU32: Uint32Array; private readonly fqProd: number; private readonly fqCons: number; private readonly fqDesc: number; private readonly fqMask: number; private readonly fqSize: number;
  private readonly cqU32: Uint32Array; private readonly cqProd: number; private readonly cqCons: number; private readonly cqDesc: number; private readonly cqMask: number;
  /** The fill ring whose need_wakeup flag says when to wake RX (this socket's, or its ring owner's). */
  private readonly wakeU32: Uint32Array; private readonly wakeFlags: number;
  private rxHead = 0;
  private txHead = 0;
  private txConsCache = 0;
  private fqHead = 0;
  private fqConsCache = 0;
  private cqHead = 0;
  /**
   * Frames posted on our TX ring minus frames taken off our completion ring (int32, wrapping). Below zero
   * when the completion ring also returns the frames of sockets sharing it (see `pendingTx`).
   */
  private txOutstanding = 0;
  /** Busy polling: a sendto() ran the queue's NAPI since the last RX burst (see busyPollRx). */
  private kickedSinceRx = false;
  private readonly scratch: Uint32Array;
  private readonly dataOff: Uint16Array;
  private readonly dataLen: Uint16Array;
  private readonly port: Uint16Array;
  private readonly shift: number;
  private readonly frameMask: number;
  private readonly pfd = new Int32Array(2);
  // Chains and clones (mem/chain.ts): read once the mbuf table's segment mode is on.
  private readonly segFlags: Int32Array;
  private readonly next: Int32Array;
  private readonly direct: Int32Array;
  private readonly refcnt: Uint16Array;
  private readonly nbSegs: Uint16Array;
  private readonly pktLen: Uint32Array;
  /** Clone handles a TX burst frees once their descriptors are posted. */
  private readonly cloneScratch: Uint32Array;

  private constructor(s: XskShared, mempool: Mempool, creator: boolean, token: number) {
    this.fd = s.fd;
    this.id = s.id;
    this.name = s.name;
    this.ifname = s.ifname;
    this.ifindex = s.ifindex;
    this.qid = s.qid;
    this.zeroCopy = s.zeroCopy;
    this.needWakeup = s.needWakeup;
    this.busyPoll = s.busyPoll;
    this.napiId = s.napiId ?? 0;
    this.forceWakeup = s.forceWakeup;
    this.portId = s.portId;
    this.fillLevel = s.fillLevel;
    this.txBudget = s.txBudget;
    this.multiBuffer = s.multiBuffer;
    this.txShift = Math.max(5, Math.floor(Math.log2(s.txBudget)));
    this.mempool = mempool;
    this.stats = new Float64Array(s.stats);
    this.creator = creator;
    this.token = token;
    this.shared = s;
    this.ctl = new Int32Array(s.ctl);
    this.ownerCtl = s.ringOwner ? new Int32Array(s.ringOwner.ctl) : null;
    this.kid = FRAME_KERNEL + (s.ringOwner ? s.ringOwner.id : s.id);
    const { rx, tx } = s.rings;
    const fill = s.rings.fill ?? emptyRing();
    const comp = s.rings.comp ?? emptyRing();
    const wake = s.ringOwner ? s.ringOwner.fill : fill;
    this.rxU32 = new Uint32Array(rx.buf); this.rxProd = rx.prod; this.rxCons = rx.cons; this.rxDesc = rx.desc; this.rxMask = rx.mask;
    this.txU32 = new Uint32Array(tx.buf); this.txProd = tx.prod; this.txCons = tx.cons; this.txDesc = tx.desc; this.txMask = tx.mask; this.txSize = tx.size; this.txFlags = tx.flags;
    this.fqU32 = new Uint32Array(fill.buf); this.fqProd = fill.prod; this.fqCons = fill.cons; this.fqDesc = fill.desc; this.fqMask = fill.mask; this.fqSize = fill.size;
    this.cqU32 = new Uint32Array(comp.buf); this.cqProd = comp.prod; this.cqCons = comp.cons; this.cqDesc = comp.desc; this.cqMask = comp.mask;
    this.wakeU32 = new Uint32Array(wake.buf); this.wakeFlags = wake.flags;
    this.scratch = new Uint32Array(Math.max(fill.size, comp.size, 1024));
    this.dataOff = mempool.mbufs.dataOff;
    this.dataLen = mempool.mbufs.dataLen;
    this.port = mempool.mbufs.port;
    this.shift = mempool.umem.shift;
    this.frameSize = mempool.umem.frameSize;
    this.frameMask = mempool.umem.frameSize - 1;
    const m = mempool.mbufs;
    this.segFlags = m.segFlags;
    this.next = m.next;
    this.direct = m.direct;
    this.refcnt = m.refcnt;
    this.nbSegs = m.nbSegs;
    this.pktLen = m.pktLen;
    this.cloneScratch = new Uint32Array(tx.size);
    // Multi-buffer RX makes chains: the pools' frees must walk them from the first one on.
    if (s.multiBuffer) m.enableSegments();
  }

  /**
   * Creates the socket, registers (or shares) the UMEM, maps the rings, binds to (ifname, qid) and fills
   * the fill ring. It does not touch XDP programs: insert `fd` into an XSKMAP (see xsk/xdp-prog.ts or the
   * unprivileged path) so that the queue's packets reach it. The returned object holds the data path
   * (see {@link release}). Everything is released on failure.
   */
  static create(o: XskOptions): XskSocket {
    const name = o.name ?? `${o.ifname}:${o.qid}`;
    const log = o.log ?? (() => {});
    const rxSize = pow2(o.rxSize ?? 2048, `${name} rx ring`);
    const txSize = pow2(o.txSize ?? 2048, `${name} tx ring`);
    const fillSize = pow2(o.fillSize ?? rxSize * 2, `${name} fill ring`);
    const compSize = pow2(o.compSize ?? txSize * 2, `${name} completion ring`);
    if (!Number.isInteger(o.qid) || o.qid < 0) throw new RangeError(`Invalid queue id ${o.qid} for ${name}`);
    const ifindex = ifIndex(o.ifname);
    const umem = o.mempool.umem;
    const share = o.shareUmemWith;
    const sameQueue = share !== undefined && share.ifindex === ifindex && share.qid === o.qid;
    if (share) {
      if (share.closed) throw new Error(`${name}: cannot share the UMEM of ${share.name}: it is closed`);
      if (!share.shared.kernel) throw new Error(`${name}: cannot share the UMEM of ${share.name}: its rings are not a kernel socket's`);
      if (share.mempool.umem.address() !== umem.address()) throw new Error(`${name}: the mempool's UMEM '${umem.name}' is not the one ${share.name} registered ('${share.mempool.umem.name}')`);
      if (o.needWakeup !== undefined && o.needWakeup !== share.needWakeup) {
        throw new RangeError(`${name}: needWakeup ${o.needWakeup} differs from ${share.name}'s (${share.needWakeup}); a socket sharing a UMEM inherits it (the kernel refuses XDP_USE_NEED_WAKEUP with XDP_SHARED_UMEM)`);
      }
      if (o.multiBuffer !== undefined && o.multiBuffer !== share.multiBuffer) {
        throw new RangeError(`${name}: multiBuffer ${o.multiBuffer} differs from ${share.name}'s (${share.multiBuffer}); a socket sharing a UMEM inherits it (the kernel refuses XDP_USE_SG with XDP_SHARED_UMEM and gives it the first socket's)`);
      }
      if ((o.copyMode === "copy" && share.zeroCopy) || (o.copyMode === "zerocopy" && !share.zeroCopy)) {
        throw new RangeError(`${name}: copyMode '${o.copyMode}' differs from ${share.name}'s (${share.zeroCopy ? "zero-copy" : "copy"}); a socket sharing a UMEM inherits it`);
      }
    }
    const fd = check(sys.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0), `socket(AF_XDP) for ${name}`,
      (c) => (c === "EAFNOSUPPORT" ? "the kernel lacks CONFIG_XDP_SOCKETS" : c === "EPERM" ? "needs CAP_NET_RAW" : undefined));
    const maps: SharedArrayBuffer[] = [];
    try {
      const u32opt = (opt: number, v: number, what: string) =>
        check(sys.setsockopt(fd, X.SOL_XDP, opt, new Uint32Array([v])), () => `setsockopt(${name} ${what}=${v})`);
      if (!share) {
        check(sys.setsockopt(fd, X.SOL_XDP, X.XDP_UMEM_REG, X.umemReg(umem.address(), umem.length, umem.frameSize, 0)),
          () => `setsockopt(${name} XDP_UMEM_REG ${umem.frames}x${umem.frameSize})`,
          (c) => (c === "ENOMEM" || c === "EPERM" ? "RLIMIT_MEMLOCK too low or CAP_IPC_LOCK missing" : undefined));
      }
      if (!sameQueue) {
        u32opt(X.XDP_UMEM_FILL_RING, fillSize, "XDP_UMEM_FILL_RING");
        u32opt(X.XDP_UMEM_COMPLETION_RING, compSize, "XDP_UMEM_COMPLETION_RING");
      }
      u32opt(X.XDP_RX_RING, rxSize, "XDP_RX_RING");
      u32opt(X.XDP_TX_RING, txSize, "XDP_TX_RING");
      const ob = new Uint8Array(X.MMAP_OFFSETS_SIZE);
      check(sys.getsockopt(fd, X.SOL_XDP, X.XDP_MMAP_OFFSETS, ob), `getsockopt(${name} XDP_MMAP_OFFSETS)`);
      const off = X.parseMmapOffsets(ob);
      const rx = mapRing(fd, off.rx, rxSize, X.XDP_DESC_SIZE, X.XDP_PGOFF_RX_RING, `${name} rx`); maps.push(rx.buf);
      const tx = mapRing(fd, off.tx, txSize, X.XDP_DESC_SIZE, X.XDP_PGOFF_TX_RING, `${name} tx`); maps.push(tx.buf);
      let fill: RingMap | null = null;
      let comp: RingMap | null = null;
      if (!sameQueue) {
        fill = mapRing(fd, off.fr, fillSize, X.XDP_UMEM_DESC_SIZE, X.XDP_UMEM_PGOFF_FILL_RING, `${name} fill`); maps.push(fill.buf);
        comp = mapRing(fd, off.cr, compSize, X.XDP_UMEM_DESC_SIZE, X.XDP_UMEM_PGOFF_COMPLETION_RING, `${name} completion`); maps.push(comp.buf);
      }

      if (o.busyPoll) {
        const i32 = (opt: number, v: number, what: string) =>
          check(sys.setsockopt(fd, SOL_SOCKET, opt, new Int32Array([v])), () => `setsockopt(${name} ${what}=${v})`);
        i32(SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL");
        i32(SO_BUSY_POLL, o.busyPoll.timeoutUs, "SO_BUSY_POLL");
        i32(SO_BUSY_POLL_BUDGET, o.busyPoll.budget, "SO_BUSY_POLL_BUDGET");
      }

      const needWakeup = share ? share.needWakeup : o.needWakeup ?? true;
      const mode = o.copyMode ?? "auto";
      let zeroCopy = false;
      const bindWith = (flags: number) => sys.bind(fd, X.sockaddrXdp(flags, ifindex, o.qid, share?.fd ?? 0));
      const what = (flags: number) =>
        `bind(xsk ${o.ifname} ifindex=${ifindex} queue=${o.qid}${flags & X.XDP_ZEROCOPY ? " zero-copy" : flags & X.XDP_COPY ? " copy" : ""}${o.multiBuffer && !share ? " multi-buffer" : ""}${share ? ` shared-umem fd=${share.fd}${sameQueue ? " same queue" : ""}` : ""})`;
      const hint = (c: string) =>
        c === "ENXIO" || c === "EINVAL" ? `does ${o.ifname} have queue ${o.qid}? (ethtool -l ${o.ifname})` :
        c === "EBUSY" ? `another socket is bound to ${o.ifname} queue ${o.qid}` : undefined;
      const multiBuffer = share ? share.multiBuffer : o.multiBuffer ?? false;
      const wake = (needWakeup ? X.XDP_USE_NEED_WAKEUP : 0) | (multiBuffer ? X.XDP_USE_SG : 0);
      if (share) {
        // XDP_SHARED_UMEM takes no other flag: copy mode and need_wakeup come from the first socket's pool.
        check(bindWith(X.XDP_SHARED_UMEM), () => what(X.XDP_SHARED_UMEM), hint);
        zeroCopy = share.zeroCopy;
      } else if (mode === "copy") {
        check(bindWith(X.XDP_COPY | wake), () => what(X.XDP_COPY), hint);
      } else {
        const rc = bindWith(X.XDP_ZEROCOPY | wake);
        if (rc >= 0) {
          zeroCopy = true;
        } else if (mode === "auto" && (rc === -95 || rc === -524 || rc === -22)) {
          log(`${name}: ${o.ifname} does not support AF_XDP zero-copy (${rc === -22 ? "EINVAL" : "EOPNOTSUPP"}); using copy mode`);
          check(bindWith(X.XDP_COPY | wake), () => what(X.XDP_COPY), hint);
        } else {
          check(rc, () => what(X.XDP_ZEROCOPY), (c) => (c === "EOPNOTSUPP" ? `${o.ifname} has no zero-copy AF_XDP support` : hint(c)));
        }
      }
      // Copy mode sends 32 frames per sendto() unless told otherwise (6.17+): let one kick send a burst
      // of up to the TX ring size. Older kernels answer ENOPROTOOPT and keep 32 (the kick loop copes).
      let txBudget = 32;
      if (!zeroCopy && sys.setsockopt(fd, X.SOL_XDP, X.XDP_MAX_TX_SKB_BUDGET, new Uint32Array([Math.min(txSize, 256)])) === 0) {
        txBudget = Math.min(txSize, 256);
      }
      // On the same queue the kernel gives this socket the first one's buffer pool: its fill and
      // completion rings (those of the socket `share` itself uses, when `share` is such a socket too).
      const ringOwner = sameQueue && share
        ? share.shared.ringOwner ?? { id: share.id, name: share.name, ctl: share.shared.ctl, fill: share.shared.rings.fill! }
        : null;
      // Busy polling runs NAPI only when the socket has a NAPI id (see XskOptions.busyPoll).
      let napiId = 0;
      if (o.busyPoll) {
        const nid = new Int32Array(1);
        if (sys.getsockopt(fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, nid) >= 0) napiId = nid[0]!;
        if (napiId === 0) {
          log(`${name}: busy polling cannot run ${o.ifname}'s NAPI: the kernel gave this ${zeroCopy ? "" : "copy-mode "}socket no NAPI id ` +
            `(SO_INCOMING_NAPI_ID 0; Linux 6.13+ sets it at bind for zero-copy sockets only); NAPI runs as without busy polling`);
        }
      }
      const s = new XskSocket({
        fd, id: nextSocketId++, name, ifname: o.ifname, ifindex, qid: o.qid, zeroCopy, needWakeup, napiId,
        busyPoll: !!o.busyPoll && napiId !== 0, forceWakeup: o.forceWakeup ?? false, portId: o.portId ?? 0,
        txBudget, multiBuffer,
        fillLevel: ringOwner ? 0 : Math.max(1, Math.min(fillSize, o.fillLevel ?? Math.min(rxSize, Math.floor(o.mempool.count / 2)))),
        rings: { rx, tx, fill, comp }, stats: S.newStats().buffer as SharedArrayBuffer,
        ctl: new SharedArrayBuffer(CTL_WORDS * 4), ringOwner, kernel: true,
      }, o.mempool, true, newToken());
      if (ringOwner) Atomics.add(new Int32Array(ringOwner.ctl), CTL_DEPENDENTS, 1);
      s.start();
      trace("xsk", () => `${name}: fd ${fd} bound, ${zeroCopy ? "zero-copy" : "copy"} mode, rx ${rxSize} tx ${txSize}` +
        (ringOwner ? `, fill and completion rings of ${ringOwner.name}` : ` fill ${fillSize} comp ${compSize}`));
      return s;
    } catch (e) {
      for (const b of maps) munmap(b);
      sys.close(fd);
      throw e;
    }
  }

  /**
   * Opens a socket over rings that someone else set up, as their creator (holding the data path, filling
   * the fill ring). Meant for tests, whose fake kernel plays the other side of plain shared-memory rings
   * (src/testing/fake-xsk.ts), and for ports that create and map an AF_XDP socket themselves. Nothing is
   * checked against a kernel: the rings must have the kernel's layout, with equal TX producer and
   * completion consumer progress behind them (no frames in flight), and `fd` only gets sendto/recvfrom
   * kicks. close() unmaps the rings and closes `fd`. Takes ownership of the setup even when it throws.
   */
  static overRings(setup: XskRingSetup, mempool: Mempool): XskSocket {
    try {
      const { rx, tx, fill, comp } = setup.rings;
      for (const [r, what] of [[rx, "rx"], [tx, "tx"], [fill, "fill"], [comp, "completion"]] as const) pow2(r.size, `${setup.name} ${what} ring`);
      const ctl = new SharedArrayBuffer(CTL_WORDS * 4);
      new Int32Array(ctl)[CTL_TX_BASE] = (Atomics.load(tx.u32, tx.prod) - Atomics.load(comp.u32, comp.cons)) | 0;
      const s = new XskSocket({
        fd: setup.fd, id: nextSocketId++, name: setup.name, ifname: setup.ifname ?? setup.name,
        ifindex: setup.ifindex ?? 0, qid: setup.qid ?? 0, zeroCopy: setup.zeroCopy ?? false,
        needWakeup: setup.needWakeup ?? true, busyPoll: false, forceWakeup: setup.forceWakeup ?? false,
        portId: setup.portId ?? 0, txBudget: setup.txBudget ?? 32, multiBuffer: setup.multiBuffer ?? false,
        fillLevel: Math.max(1, Math.min(fill.size, setup.fillLevel ?? Math.min(rx.size, Math.floor(mempool.count / 2)))),
        rings: { rx, tx, fill, comp }, stats: S.newStats().buffer as SharedArrayBuffer, ctl, ringOwner: null, kernel: false,
      }, mempool, true, newToken());
      s.start();
      return s;
    } catch (e) {
      for (const r of Object.values(setup.rings)) {
        try { munmap(r.buf); } catch { /* not a mapping */ }
      }
      sys.close(setup.fd);
      throw e;
    }
  }

  /** The creator takes the data path and fills the fill ring. */
  private start(): void {
    Atomics.store(this.ctl, CTL_CLAIM, this.token);
    this.holds = true;
    this.resync();
    this.refill(this.fqSize);
  }

  /**
   * Opens this socket in another thread and claims its data path (see {@link claim}): throws while
   * another object holds it (the creator holds it until it calls {@link release}).
   */
  static fromShared(s: XskShared, mempool: Mempool): XskSocket {
    const x = new XskSocket(s, mempool, false, newToken());
    x.claim();
    return x;
  }

  toShared(): XskShared {
    return this.shared;
  }

  /**
   * Takes the data path: from now on this object, and only it, may call rxBurst/txBurst/reclaim/service.
   * Reloads the ring positions the previous owner published. Throws, naming the socket, while another
   * object holds the data path or after the socket was closed. Nothing to do when this object holds it.
   */
  claim(): void {
    if (this.holds) return;
    if (this.closed) throw new Error(`xsk ${this.name}: this object was closed; open the socket again with XskSocket.fromShared()`);
    const prev = Atomics.compareExchange(this.ctl, CTL_CLAIM, 0, this.token);
    if (prev === CLAIM_CLOSED) throw new Error(`xsk ${this.name}: the socket is closed`);
    if (prev !== 0) {
      throw new Error(`xsk ${this.name}: its rings are already driven by another object (thread ${prev >>> 16}); ` +
        "one owner per ring: call release() on that object (or close it) first");
    }
    this.holds = true;
    this.resync();
  }

  /**
   * Gives up the data path without closing anything, so that another object (another thread) can claim
   * it. The ring positions need no saving: every burst publishes them. This object must not call the
   * data-path methods again until it claims the data path back.
   */
  release(): void {
    if (!this.holds) return;
    this.holds = false;
    Atomics.compareExchange(this.ctl, CTL_CLAIM, this.token, 0);
  }

  /** Whether close() was called on this object. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether this object holds the data path. */
  get drivesRings(): boolean {
    return this.holds && Atomics.load(this.ctl, CTL_CLAIM) === this.token;
  }

  /**
   * Reloads the cached ring positions from the shared ring words: a socket object picks up where
   * another thread's object on the same socket left off (claim, and close() in the creator).
   */
  private resync(): void {
    this.rxHead = Atomics.load(this.rxU32, this.rxCons);
    this.txHead = Atomics.load(this.txU32, this.txProd);
    this.txConsCache = Atomics.load(this.txU32, this.txCons);
    this.fqHead = Atomics.load(this.fqU32, this.fqProd);
    this.fqConsCache = Atomics.load(this.fqU32, this.fqCons);
    this.cqHead = Atomics.load(this.cqU32, this.cqCons);
    this.txOutstanding = this.ownerCtl === null ? (this.txHead - this.cqHead - this.ctl[CTL_TX_BASE]!) | 0 : 0;
  }

  /**
   * Receives up to `max` packets into `bufs`; returns how many. Each handle has dataOff/dataLen/port set.
   * Tops the fill ring up to its level. On an empty ring it also reclaims TX completions and wakes the
   * kernel's RX when asked to (need_wakeup flag on the fill ring, or forceWakeup). On a multi-buffer
   * socket a packet of several descriptors is one handle, the first segment of an mbuf chain (see
   * rxBurstChains below).
   */
  rxBurst(bufs: Uint32Array, max: number): number {
    if (this.multiBuffer) return this.rxBurstChains(bufs, max);
    const u32 = this.rxU32;
    // Preferred busy polling: the application drives the queue's NAPI from its own loop (recvfrom runs
    // it for up to twice the busy-poll budget), so NAPI works only as fast as the application consumes.
    // A TX kick since the last call (sendto busy-polls too) already did: one system call per loop.
    if (this.busyPoll) this.busyPollRx();
    const head = this.rxHead;
    const avail = (Atomics.load(u32, this.rxProd) - head) >>> 0;
    const n = avail < max ? avail : max;
    const stats = this.stats;
    if (n === 0) {
      stats[S.ST_RX_EMPTY_POLLS]!++;
      this.refill(this.fqSize);
      this.reclaim();
      if (this.forceWakeup || (this.needWakeup && (Atomics.load(this.wakeU32, this.wakeFlags) & X.XDP_RING_NEED_WAKEUP) !== 0)) {
        stats[S.ST_RX_WAKEUPS]!++;
        sys.recvfrom(this.fd, null, MSG_DONTWAIT);
      }
      return 0;
    }
    const mask = this.rxMask;
    const desc = this.rxDesc;
    const shift = this.shift;
    const fmask = this.frameMask;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const port = this.port;
    const pid = this.portId;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const d = desc + (((head + i) & mask) << 2);
      const addr = u32[d]!;
      const len = u32[d + 2]!;
      const h = addr >>> shift;
      bufs[i] = h;
      dataOff[h] = addr & fmask;
      dataLen[h] = len;
      port[h] = pid;
      bytes += len;
    }
    this.rxHead = (head + n) >>> 0;
    Atomics.store(u32, this.rxCons, this.rxHead);
    stats[S.ST_IPACKETS]! += n;
    stats[S.ST_IBYTES]! += bytes;
    const got = this.mempool.tracker !== null ? this.trackFromKernel(bufs, 0, n) : n;
    this.refill(this.fqSize);
    return got;
  }

  /**
   * Busy polling: runs the queue's NAPI (recvfrom), unless a TX kick did since the last RX burst. On this
   * kernel a non-blocking busy poll runs NAPI twice (the poll and busy_poll_stop's), up to the socket's
   * budget each; sendto() busy-polls the same way before it transmits.
   */
  private busyPollRx(): void {
    if (this.kickedSinceRx) {
      this.kickedSinceRx = false;
      return;
    }
    this.stats[S.ST_BUSY_POLLS]!++;
    sys.recvfrom(this.fd, null, MSG_DONTWAIT);
  }

  /** An empty RX poll: refill, reclaim, and wake the kernel's RX when it asks. Returns 0. */
  private emptyPoll(): number {
    this.stats[S.ST_RX_EMPTY_POLLS]!++;
    this.refill(this.fqSize);
    this.reclaim();
    if (this.forceWakeup || (this.needWakeup && (Atomics.load(this.wakeU32, this.wakeFlags) & X.XDP_RING_NEED_WAKEUP) !== 0)) {
      this.stats[S.ST_RX_WAKEUPS]!++;
      sys.recvfrom(this.fd, null, MSG_DONTWAIT);
    }
    return 0;
  }

  /**
   * rxBurst of a multi-buffer socket: assembles each packet's descriptors (XDP_PKT_CONTD on all but the
   * last) into an mbuf chain, segment by segment in ring order (`next`, and on the first segment `nbSegs`
   * and `pktLen` when there are several), and returns the first segments. A packet whose last descriptor
   * is not on the ring yet stays there, whole, for the next burst (the kernel publishes whole packets,
   * so this happens only with a producer that does not). ipackets counts packets, ibytes their bytes.
   */
  private rxBurstChains(bufs: Uint32Array, max: number): number {
    const u32 = this.rxU32;
    if (this.busyPoll) this.busyPollRx();
    const head = this.rxHead;
    const avail = (Atomics.load(u32, this.rxProd) - head) >>> 0;
    if (avail === 0 || max <= 0) return this.emptyPoll();
    const mask = this.rxMask;
    const desc = this.rxDesc;
    const shift = this.shift;
    const fmask = this.frameMask;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const port = this.port;
    const next = this.next;
    const pid = this.portId;
    const tracked = this.mempool.tracker !== null;
    let i = 0;
    let pkts = 0;
    let bytes = 0;
    while (pkts < max && i < avail) {
      let j = i;
      while (j < avail && (u32[desc + (((head + j) & mask) << 2) + 3]! & X.XDP_PKT_CONTD) !== 0) j++;
      if (j === avail) break;
      let first = -1;
      let prev = -1;
      let segs = 0;
      let total = 0;
      for (let k = i; k <= j; k++) {
        const d = desc + (((head + k) & mask) << 2);
        const addr = u32[d]!;
        const len = u32[d + 2]!;
        const h = addr >>> shift;
        if (tracked && !this.trackOneFromKernel(h)) continue;
        dataOff[h] = addr & fmask;
        dataLen[h] = len;
        port[h] = pid;
        if (first === -1) first = h;
        else next[prev] = h;
        prev = h;
        segs++;
        total += len;
      }
      i = j + 1;
      if (first === -1) continue;
      if (segs > 1) {
        this.nbSegs[first] = segs;
        this.pktLen[first] = total;
      }
      bufs[pkts++] = first;
      bytes += total;
    }
    if (i === 0) return this.emptyPoll();
    this.rxHead = (head + i) >>> 0;
    Atomics.store(u32, this.rxCons, this.rxHead);
    this.stats[S.ST_IPACKETS]! += pkts;
    this.stats[S.ST_IBYTES]! += bytes;
    this.refill(this.fqSize);
    return pkts;
  }

  /**
   * Sends packets from `bufs[0..n)`; returns how many it took, k: the caller still owns `bufs[k..n)` and
   * must free or retry them (they did not fit the TX ring). Of the k taken, frames the kernel would reject
   * (dataLen 0, or dataOff + dataLen beyond the frame) are not posted: they are freed into the mempool at
   * once and counted in `tx_invalid`; the others are posted and come back through the completion ring.
   * Reclaims completed frames into the mempool first, and kicks the kernel when the need_wakeup flag asks
   * for it (always with forceWakeup and frames posted). Once the mbuf table's segment mode is on (chains
   * or clones may exist: mem/chain.ts) packets go through txBurstChains (below).
   */
  txBurst(bufs: Uint32Array, n: number): number {
    if (this.segFlags[0] !== 0) return this.txBurstChains(bufs, n);
    this.reclaim();
    const u32 = this.txU32;
    let free = this.txSize - ((this.txHead - this.txConsCache) >>> 0);
    if (free < n) {
      this.txConsCache = Atomics.load(u32, this.txCons);
      free = this.txSize - ((this.txHead - this.txConsCache) >>> 0);
    }
    const head = this.txHead;
    const mask = this.txMask;
    const desc = this.txDesc;
    const shift = this.shift;
    const fsize = this.frameSize;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    let bytes = 0;
    let posted = 0;
    let i = 0;
    for (; i < n && posted < free; i++) {
      const h = bufs[i]!;
      const off = dataOff[h]!;
      const len = dataLen[h]!;
      if (len === 0 || off + len > fsize) {
        // The kernel would count it in tx_invalid_descs and might never complete it (zero-copy).
        this.mempool.freeBulk(bufs, 1, i);
        this.stats[S.ST_TX_INVALID]!++;
        continue;
      }
      const d = desc + (((head + posted) & mask) << 2);
      u32[d] = ((h << shift) >>> 0) + off;
      u32[d + 1] = 0;
      u32[d + 2] = len;
      u32[d + 3] = 0;
      bytes += len;
      posted++;
    }
    const stats = this.stats;
    if (i < n) stats[S.ST_ODROPPED]! += n - i;
    if (posted > 0) {
      if (this.mempool.tracker !== null) this.trackTxToKernel(head, posted);
      this.txHead = (head + posted) >>> 0;
      Atomics.store(u32, this.txProd, this.txHead);
      this.txOutstanding = (this.txOutstanding + posted) | 0;
      if (this.ownerCtl !== null) Atomics.add(this.ownerCtl, CTL_DEP_TX, posted);
      stats[S.ST_OPACKETS]! += posted;
      stats[S.ST_OBYTES]! += bytes;
    }
    if (posted > 0 || this.txHead !== this.txConsCache || (this.busyPoll && this.txOutstanding !== 0)) this.kick(posted);
    return i;
  }

  /**
   * txBurst once chains or clones may exist. Each packet is posted whole or not at all: its segments as
   * consecutive descriptors with XDP_PKT_CONTD on all but the last; a packet that does not fit the ring's
   * free entries ends the burst (it and those after it stay the caller's, as in txBurst). Refused (freed,
   * every segment, and counted in tx_invalid): a segment of length 0 or crossing its frame's end, more
   * than XSK_TX_MAX_SEGS segments, or more than one on a socket without multiBuffer.
   *
   * Ownership: a segment's frame goes to the kernel with the caller's reference. A frame held once has
   * its segment words reset now (it comes back alone, on the completion ring); a shared frame keeps them
   * (its other holders' chain). A clone posts the address of the frame it views; the kernel takes the
   * clone's reference to that frame and the clone's own handle is freed at once. opackets counts packets.
   */
  private txBurstChains(bufs: Uint32Array, n: number): number {
    this.reclaim();
    const u32 = this.txU32;
    const head = this.txHead;
    let free = this.txSize - ((head - this.txConsCache) >>> 0);
    let fresh = false;
    const mask = this.txMask;
    const desc = this.txDesc;
    const shift = this.shift;
    const fsize = this.frameSize;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const next = this.next;
    const direct = this.direct;
    const refcnt = this.refcnt;
    const nbSegs = this.nbSegs;
    const tracker = this.mempool.tracker;
    const owner = this.mempool.mbufs.owner;
    const kid = this.kid;
    const maxSegs = this.multiBuffer ? X.XSK_TX_MAX_SEGS : 1;
    const clones = this.cloneScratch;
    let nclones = 0;
    let bytes = 0;
    let posted = 0;
    let pkts = 0;
    let i = 0;
    for (; i < n; i++) {
      const h = bufs[i]!;
      let k = 0;
      let bad = false;
      for (let s = h; s !== -1; s = next[s]!) {
        if (++k > maxSegs) { bad = true; break; }
        const len = dataLen[s]!;
        if (len === 0 || dataOff[s]! + len > fsize) { bad = true; break; }
      }
      if (bad) {
        this.mempool.freeBulk(bufs, 1, i);
        this.stats[S.ST_TX_INVALID]!++;
        continue;
      }
      if (posted + k > free) {
        if (!fresh) {
          fresh = true;
          this.txConsCache = Atomics.load(u32, this.txCons);
          free = this.txSize - ((head - this.txConsCache) >>> 0);
        }
        if (posted + k > free) break;
      }
      let s = h;
      for (let q = 0; q < k; q++) {
        const nx = next[s]!;
        const dd = direct[s]!;
        const frame = dd === -1 ? s : dd;
        const len = dataLen[s]!;
        const d = desc + (((head + posted) & mask) << 2);
        u32[d] = ((frame << shift) >>> 0) + dataOff[s]!;
        u32[d + 1] = 0;
        u32[d + 2] = len;
        u32[d + 3] = q < k - 1 ? X.XDP_PKT_CONTD : 0;
        bytes += len;
        posted++;
        if (dd !== -1) {
          // A clone: the kernel holds a reference to `frame` until the completion; the clone's handle goes.
          if (refcnt[s] === 1) {
            direct[s] = -1;
            next[s] = -1;
            nbSegs[s] = 1;
          } else {
            Atomics.add(refcnt, frame, 1);
          }
          clones[nclones++] = s;
        } else if (refcnt[s] === 1) {
          next[s] = -1;
          nbSegs[s] = 1;
          if (tracker !== null) {
            const st = owner[s]!;
            if (st !== FRAME_APP && st !== FRAME_SHARED) tracker.report(0, s);
            if (st !== FRAME_SHARED) owner[s] = kid;
          }
        } else if (tracker !== null && owner[s] !== FRAME_SHARED) {
          tracker.report(0, s);
        }
        s = nx;
      }
      pkts++;
    }
    const stats = this.stats;
    if (i < n) stats[S.ST_ODROPPED]! += n - i;
    if (posted > 0) {
      this.txHead = (head + posted) >>> 0;
      Atomics.store(u32, this.txProd, this.txHead);
      this.txOutstanding = (this.txOutstanding + posted) | 0;
      if (this.ownerCtl !== null) Atomics.add(this.ownerCtl, CTL_DEP_TX, posted);
      stats[S.ST_OPACKETS]! += pkts;
      stats[S.ST_OBYTES]! += bytes;
    }
    if (nclones > 0) this.mempool.freeSegments(clones, nclones);
    if (posted > 0 || this.txHead !== this.txConsCache || (this.busyPoll && this.txOutstanding !== 0)) this.kick(posted);
    return i;
  }

  /**
   * Wakes the kernel's TX path: when the need_wakeup flag of the TX ring is set (or need_wakeup is off)
   * and frames wait on the ring, or whenever frames were posted with forceWakeup. In copy mode each
   * sendto() sends at most `txBudget` frames (32 on kernels before 6.17) and answers EAGAIN while more
   * wait, so it loops (bounded), reclaiming completions between calls.
   */
  private kick(posted: number): void {
    if (!(this.forceWakeup && posted > 0)) {
      if (this.needWakeup && !this.busyPoll && (Atomics.load(this.txU32, this.txFlags) & X.XDP_RING_NEED_WAKEUP) === 0) return;
      // Nothing left on the TX ring (only completions outstanding): no system call.
      if (!this.busyPoll) {
        this.txConsCache = Atomics.load(this.txU32, this.txCons);
        if (this.txConsCache === this.txHead) return;
      }
    }
    const stats = this.stats;
    const tries = (posted >>> this.txShift) + 2;
    for (let i = 0; i < tries; i++) {
      stats[S.ST_TX_KICKS]!++;
      const rc = sys.sendto(this.fd, null, MSG_DONTWAIT, null);
      this.kickedSinceRx = this.busyPoll;
      if (rc >= 0) return;
      if (rc !== -11 && rc !== -16 && rc !== -105) {
        // ENETDOWN, ENXIO...: the netdev is down or gone; the frames stay in the ring.
        stats[S.ST_OERRORS]!++;
        return;
      }
      stats[S.ST_TX_KICK_AGAIN]!++;
      this.reclaim();
    }
  }

  /**
   * Returns completed TX frames to the mempool; returns how many. A socket that uses another socket's
   * completion ring (same queue, shared UMEM) has nothing to reclaim: that socket's reclaim() returns
   * its frames.
   */
  reclaim(): number {
    const u32 = this.cqU32;
    const head = this.cqHead;
    const avail = (Atomics.load(u32, this.cqProd) - head) >>> 0;
    if (avail === 0) return 0;
    const scratch = this.scratch;
    const n = avail < scratch.length ? avail : scratch.length;
    const mask = this.cqMask;
    const desc = this.cqDesc;
    const shift = this.shift;
    for (let i = 0; i < n; i++) scratch[i] = u32[desc + (((head + i) & mask) << 1)]! >>> shift;
    this.cqHead = (head + n) >>> 0;
    Atomics.store(u32, this.cqCons, this.cqHead);
    this.txOutstanding = (this.txOutstanding - n) | 0;
    this.stats[S.ST_COMPLETED]! += n;
    const m = this.mempool.tracker !== null ? this.trackFromKernel(scratch, 0, n) : n;
    // One reference per descriptor: a completed segment does not free the chain it was sent in.
    this.mempool.freeSegments(scratch, m);
    return n;
  }

  /**
   * Tops the fill ring up to its level and reclaims TX completions; returns the completions. For the
   * owner of fill and completion rings that other sockets on its queue use, when it is not polled
   * otherwise (rxBurst does the same on every empty poll).
   */
  service(): number {
    this.refill(this.fqSize);
    return this.reclaim();
  }

  /** Adds up to `max` buffers from the mempool to the fill ring, never above its fill level. */
  private refill(max: number): void {
    const target = this.fillLevel;
    if (target === 0) return;
    const u32 = this.fqU32;
    let level = (this.fqHead - this.fqConsCache) >>> 0;
    if (target - level < max) {
      this.fqConsCache = Atomics.load(u32, this.fqCons);
      level = (this.fqHead - this.fqConsCache) >>> 0;
    }
    const free = level < target ? target - level : 0;
    let want = max < free ? max : free;
    if (want === 0) return;
    const scratch = this.scratch;
    if (want > scratch.length) want = scratch.length;
    const got = this.mempool.allocBulk(scratch, want);
    if (got < want) this.stats[S.ST_FILL_NOBUF]!++;
    if (got === 0) return;
    if (this.mempool.tracker !== null) this.trackToKernel(scratch, 0, got);
    const head = this.fqHead;
    const mask = this.fqMask;
    const desc = this.fqDesc;
    const shift = this.shift;
    for (let i = 0; i < got; i++) {
      const d = desc + (((head + i) & mask) << 1);
      u32[d] = (scratch[i]! << shift) >>> 0;
      u32[d + 1] = 0;
    }
    this.fqHead = (head + got) >>> 0;
    Atomics.store(u32, this.fqProd, this.fqHead);
  }

  /**
   * TX frames posted and not yet completed. For a socket whose completion ring also serves sockets on its
   * queue, theirs are included (they complete here); for such a socket, only the frames its TX ring still
   * holds (the kernel has not taken them yet).
   */
  get pendingTx(): number {
    if (this.ownerCtl !== null) return (this.txHead - Atomics.load(this.txU32, this.txCons)) >>> 0;
    return (this.txOutstanding + Atomics.load(this.ctl, CTL_DEP_TX)) | 0;
  }

  /** Waits until the socket has something to read (idle mode); returns false on timeout. */
  waitReadable(timeoutMs: number): boolean {
    this.pfd[0] = this.fd;
    this.pfd[1] = POLLIN;
    return sys.poll(this.pfd, 1, timeoutMs) > 0;
  }

  /** The kernel's XDP_STATISTICS counters (control path). */
  kernelStats(): X.XdpStatistics {
    if (!this.shared.kernel) throw new Error(`xsk ${this.name}: not a kernel socket (rings set up by overRings); no XDP_STATISTICS`);
    const b = new Uint8Array(X.XDP_STATISTICS_SIZE);
    const len = check(sys.getsockopt(this.fd, X.SOL_XDP, X.XDP_STATISTICS, b), () => `getsockopt(${this.name} XDP_STATISTICS)`);
    return X.parseStatistics(b, len);
  }

  /**
   * Counters by name (control path), with the kernel's statistics: imissed, ierrors, the raw
   * rx_invalid_descs / tx_invalid_descs, and tx_invalid = frames txBurst refused + descriptors the kernel
   * rejected (the latter should stay 0); oerrors includes tx_invalid.
   */
  readStats(): Record<string, number> {
    const r: Record<string, number> = {};
    S.STAT_NAMES.forEach((n, i) => (r[n] = this.stats[i]!));
    if (!this.closed && this.shared.kernel) {
      try {
        const k = this.kernelStats();
        r["imissed"] = k.rxDropped + k.rxRingFull;
        r["ierrors"] = k.rxInvalidDescs;
        r["rx_invalid_descs"] = k.rxInvalidDescs;
        r["tx_invalid_descs"] = k.txInvalidDescs;
        r["tx_invalid"] = (r["tx_invalid"] ?? 0) + k.txInvalidDescs;
        r["rx_fill_ring_empty_descs"] = k.rxFillRingEmptyDescs;
        r["tx_ring_empty_descs"] = k.txRingEmptyDescs;
        r["rx_ring_full"] = k.rxRingFull;
        r["rx_dropped"] = k.rxDropped;
      } catch { /* socket closed by another thread */ }
    }
    r["oerrors"] = (r["oerrors"] ?? 0) + (r["tx_invalid"] ?? 0);
    return r;
  }

  /** Debug mode: frames going to the kernel on the fill ring must be the application's. */
  private trackToKernel(bufs: Uint32Array, off: number, n: number): void {
    const owner = this.mempool.mbufs.owner;
    const t = this.mempool.tracker!;
    const k = this.kid;
    for (let i = off; i < off + n; i++) {
      const h = bufs[i]!;
      if (owner[h] !== FRAME_APP) t.report(0, h);
      owner[h] = k;
    }
  }

  /** Debug mode: the `n` descriptors just written on the TX ring from `head`. */
  private trackTxToKernel(head: number, n: number): void {
    const owner = this.mempool.mbufs.owner;
    const t = this.mempool.tracker!;
    const k = this.kid;
    const u32 = this.txU32;
    for (let i = 0; i < n; i++) {
      const h = u32[this.txDesc + (((head + i) & this.txMask) << 2)]! >>> this.shift;
      if (owner[h] !== FRAME_APP) t.report(0, h);
      owner[h] = k;
    }
  }

  /**
   * Debug mode: frames coming back from the kernel must be ones it had from this socket (or the socket
   * whose fill ring it uses). Others are reported (badKernelReturns) and dropped from `bufs`, which is
   * compacted: returns how many remain in bufs[off..).
   */
  private trackFromKernel(bufs: Uint32Array, off: number, n: number): number {
    const owner = this.mempool.mbufs.owner;
    const t = this.mempool.tracker!;
    const k = this.kid;
    let j = off;
    for (let i = off; i < off + n; i++) {
      const h = bufs[i]!;
      const st = owner[h]!;
      if (st !== k && st !== FRAME_SHARED) {
        t.report(2, h);
        continue;
      }
      // A shared frame (clones, refcntUpdate) keeps its state: the free that follows drops one reference.
      if (st === k) owner[h] = FRAME_APP;
      bufs[j++] = h;
    }
    return j - off;
  }

  /** Debug mode, one RX segment: the kernel must have had it; false (reported) otherwise. */
  private trackOneFromKernel(h: number): boolean {
    const owner = this.mempool.mbufs.owner;
    if (owner[h] !== this.kid) {
      this.mempool.tracker!.report(2, h);
      return false;
    }
    owner[h] = FRAME_APP;
    return true;
  }

  /**
   * Closes the object. For an object opened with fromShared: releases the data path, nothing else (the
   * socket stays with its creator). For the creator: takes the data path back (the threads that drove it
   * must have stopped), lets the kernel send what the TX ring holds, closes the fd, unmaps the rings and
   * returns to the mempool every frame the kernel still had: RX ring entries not read, TX ring entries
   * the kernel did not take, TX frames it took that complete within a short wait, and fill ring entries
   * not consumed. With the frame tracker (debug mode) the owner words name the exact set, which also
   * covers frames the kernel kept in caches of its own and TX frames that never completed; without it
   * those are lost and counted in {@link framesLostAtClose} (the completion part). A socket whose fill and
   * completion rings serve other sockets on its queue throws while those are open: close them first.
   */
  close(): void {
    if (this.closed) return;
    if (!this.creator) {
      this.release();
      this.closed = true;
      return;
    }
    const dependents = this.ownerCtl === null ? Atomics.load(this.ctl, CTL_DEPENDENTS) : 0;
    if (dependents > 0) {
      throw new Error(`xsk ${this.name}: cannot close: ${dependents} socket(s) bound to ${this.ifname} queue ${this.qid} with its UMEM use its fill and completion rings; close them first`);
    }
    this.closed = true;
    Atomics.store(this.ctl, CTL_CLAIM, this.token);
    this.holds = true;
    this.resync();
    const tracked = this.mempool.tracker !== null;
    const own = this.ownerCtl === null;
    // Let the kernel send what waits on the TX ring (copy mode sends txBudget frames per call).
    for (let i = 0; i < 100 && this.pendingTx > 0; i++) {
      this.reclaim();
      if (this.txHead !== Atomics.load(this.txU32, this.txCons)) sys.sendto(this.fd, null, MSG_DONTWAIT, null);
      else if (!own) break;
    }
    sys.close(this.fd);
    // The socket is gone: the ring words are final, except completions of TX frames the kernel took
    // (their skbs complete when the netdev frees them, also after close).
    const unsent = (this.txHead - Atomics.load(this.txU32, this.txCons)) >>> 0;
    if (own) {
      const t0 = Date.now();
      while (this.pendingTx - unsent > 0 && Date.now() - t0 < CLOSE_COMPLETION_WAIT_MS) {
        if (this.reclaim() === 0) sleepMs(1);
      }
      this.framesLostAtClose = tracked ? 0 : Math.max(0, this.pendingTx - unsent);
    }
    const onRings = this.framesOnRings();
    const owner = this.mempool.mbufs.owner;
    let back: number[];
    if (tracked) {
      // Frames on the rings must be the kernel's; the owner words then name every frame it still had.
      back = [];
      for (const h of onRings) {
        if (owner[h] === FRAME_SHARED) back.push(h); // a shared frame on the TX ring: one reference
        else if (owner[h] !== this.kid) this.mempool.tracker!.report(2, h);
        else { owner[h] = FRAME_APP; back.push(h); }
      }
      if (own) {
        for (let h = 0; h < owner.length; h++) {
          if (owner[h] === this.kid) { owner[h] = FRAME_APP; back.push(h); }
        }
      }
    } else {
      back = onRings;
    }
    if (this.ownerCtl !== null) {
      // Our TX frames the kernel never took will not complete on the ring owner's completion ring.
      Atomics.sub(this.ownerCtl, CTL_DEP_TX, unsent);
      Atomics.sub(this.ownerCtl, CTL_DEPENDENTS, 1);
    }
    Atomics.store(this.ctl, CTL_CLAIM, CLAIM_CLOSED);
    this.holds = false;
    const { rx, tx, fill, comp } = this.shared.rings;
    for (const r of [rx, tx, fill, comp]) if (r !== null) munmap(r.buf);
    // One reference per frame: RX entries the application never read were never chained.
    if (back.length > 0) this.mempool.freeSegments(Uint32Array.from(back), back.length);
    trace("xsk", () => `${this.name}: closed, ${back.length} frames returned from the kernel` +
      (this.framesLostAtClose > 0 ? `, ${this.framesLostAtClose} TX frames never completed` : ""));
  }

  /**
   * After close: the frames on our rings that the kernel had and did not return (each once, except a
   * shared frame the TX ring holds several times: once per reference): RX entries not read, TX entries
   * not taken, fill entries not consumed (rings of our own only).
   */
  private framesOnRings(): number[] {
    const seen = new Set<number>();
    const out: number[] = [];
    const refcnt = this.refcnt;
    const take = (u32: Uint32Array, desc: number, mask: number, size: number, from: number, to: number, words: number) => {
      const n = Math.min((to - from) >>> 0, size);
      for (let i = 0; i < n; i++) {
        const h = u32[desc + (((from + i) & mask) * words)]! >>> this.shift;
        if (!seen.has(h) || refcnt[h]! > 1) { seen.add(h); out.push(h); }
      }
    };
    const rxSize = this.rxMask + 1;
    take(this.rxU32, this.rxDesc, this.rxMask, rxSize, this.rxHead, Atomics.load(this.rxU32, this.rxProd), 4);
    take(this.txU32, this.txDesc, this.txMask, this.txSize, Atomics.load(this.txU32, this.txCons), this.txHead, 4);
    if (this.fillLevel > 0) take(this.fqU32, this.fqDesc, this.fqMask, this.fqSize, Atomics.load(this.fqU32, this.fqCons), this.fqHead, 2);
    return out;
  }
}
