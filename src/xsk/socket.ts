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
 * The data path reads and publishes ring indices with Atomics once per burst and allocates nothing.
 * Copy mode (veth) sends at most 32 frames per sendto() and answers EAGAIN for the rest: the TX kick loops.
 */
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { mmapShared, munmap } from "../sys/mem.js";
import { ifIndex } from "../sys/netdev.js";
import {
  AF_XDP, SOCK_RAW, SOCK_CLOEXEC, MSG_DONTWAIT, SOL_SOCKET, SO_BUSY_POLL, SO_PREFER_BUSY_POLL,
  SO_BUSY_POLL_BUDGET, POLLIN,
} from "../sys/consts.js";
import type { Mempool } from "../mem/mempool.js";
import { FRAME_APP, FRAME_KERNEL } from "../mem/tracker.js";
import * as X from "./if-xdp.js";
import * as S from "./stats.js";
import { trace } from "../sys/trace.js";

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
  /** Zero-copy when the driver has it ("auto", default), or force one mode. */
  copyMode?: CopyMode;
  /**
   * Frames kept on the fill ring (default: the RX ring size, at most half the mempool), so that TX and
   * the application keep buffers of their own.
   */
  fillLevel?: number;
  /** Use the need_wakeup flags (default true). */
  needWakeup?: boolean;
  /** Another socket on the same UMEM: this one binds with XDP_SHARED_UMEM to it. */
  shareUmemWith?: XskSocket;
  /** Busy polling: SO_PREFER_BUSY_POLL, SO_BUSY_POLL (timeout, us) and SO_BUSY_POLL_BUDGET. */
  busyPoll?: { timeoutUs: number; budget: number };
  /** Kick RX with recvfrom() on every empty poll even without need_wakeup (CNDP's force_wakeup). */
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
interface RingMap {
  buf: SharedArrayBuffer;
  u32: Uint32Array;
  prod: number;
  cons: number;
  flags: number;
  desc: number;
  size: number;
  mask: number;
}

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
  forceWakeup: boolean;
  portId: number;
  /** Frames the kernel sends per kick in copy mode (32, or more where XDP_MAX_TX_SKB_BUDGET works). */
  txBudget: number;
  fillLevel: number;
  rings: { rx: RingMap; tx: RingMap; fill: RingMap; comp: RingMap };
  stats: SharedArrayBuffer;
}

function mapRing(fd: number, off: X.RingOffsets, size: number, descBytes: number, pgoff: number, what: string): RingMap {
  const len = off.desc + size * descBytes;
  const buf = mmapShared(len, fd, pgoff, `mmap(${what} ring)`);
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

function pow2(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0 || n > 1 << 20) {
    throw new RangeError(`Invalid ${what} size ${n}: a power of two from 2 to 1048576`);
  }
  return n;
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
  readonly busyPoll: boolean;
  readonly forceWakeup: boolean;
  readonly portId: number;
  readonly fillLevel: number;
  readonly txBudget: number;
  private readonly txShift: number;
  readonly mempool: Mempool;
  /** Counters (see stats.ts), shared with other threads. */
  readonly stats: Float64Array;
  private readonly owner: boolean;
  private closed = false;

  // Hot-path state: ring words and cached indices.
  private readonly rxU32: Uint32Array; private readonly rxProd: number; private readonly rxCons: number; private readonly rxDesc: number; private readonly rxMask: number;
  private readonly txU32: Uint32Array; private readonly txProd: number; private readonly txCons: number; private readonly txDesc: number; private readonly txMask: number; private readonly txSize: number; private readonly txFlags: number;
  private readonly fqU32: Uint32Array; private readonly fqProd: number; private readonly fqCons: number; private readonly fqDesc: number; private readonly fqMask: number; private readonly fqSize: number; private readonly fqFlags: number;
  private readonly cqU32: Uint32Array; private readonly cqProd: number; private readonly cqCons: number; private readonly cqDesc: number; private readonly cqMask: number;
  private rxHead = 0;
  private txHead = 0;
  private txConsCache = 0;
  private fqHead = 0;
  private fqConsCache = 0;
  private cqHead = 0;
  /** Frames given to the kernel on the TX ring and not yet completed. */
  private txOutstanding = 0;
  private readonly scratch: Uint32Array;
  private readonly rings: XskShared["rings"];
  private readonly dataOff: Uint16Array;
  private readonly dataLen: Uint16Array;
  private readonly port: Uint16Array;
  private readonly shift: number;
  private readonly frameMask: number;
  private readonly pfd = new Int32Array(2);

  private constructor(s: XskShared, mempool: Mempool, owner: boolean) {
    this.fd = s.fd;
    this.id = s.id;
    this.name = s.name;
    this.ifname = s.ifname;
    this.ifindex = s.ifindex;
    this.qid = s.qid;
    this.zeroCopy = s.zeroCopy;
    this.needWakeup = s.needWakeup;
    this.busyPoll = s.busyPoll;
    this.forceWakeup = s.forceWakeup;
    this.portId = s.portId;
    this.fillLevel = s.fillLevel;
    this.txBudget = s.txBudget;
    this.txShift = Math.max(5, Math.floor(Math.log2(s.txBudget)));
    this.mempool = mempool;
    this.stats = new Float64Array(s.stats);
    this.owner = owner;
    this.rings = s.rings;
    const { rx, tx, fill, comp } = s.rings;
    this.rxU32 = new Uint32Array(rx.buf); this.rxProd = rx.prod; this.rxCons = rx.cons; this.rxDesc = rx.desc; this.rxMask = rx.mask;
    this.txU32 = new Uint32Array(tx.buf); this.txProd = tx.prod; this.txCons = tx.cons; this.txDesc = tx.desc; this.txMask = tx.mask; this.txSize = tx.size; this.txFlags = tx.flags;
    this.fqU32 = new Uint32Array(fill.buf); this.fqProd = fill.prod; this.fqCons = fill.cons; this.fqDesc = fill.desc; this.fqMask = fill.mask; this.fqSize = fill.size; this.fqFlags = fill.flags;
    this.cqU32 = new Uint32Array(comp.buf); this.cqProd = comp.prod; this.cqCons = comp.cons; this.cqDesc = comp.desc; this.cqMask = comp.mask;
    this.resync();
    this.scratch = new Uint32Array(Math.max(fill.size, comp.size, 1024));
    this.dataOff = mempool.mbufs.dataOff;
    this.dataLen = mempool.mbufs.dataLen;
    this.port = mempool.mbufs.port;
    this.shift = mempool.umem.shift;
    this.frameMask = mempool.umem.frameSize - 1;
  }

  /**
   * Creates the socket, registers (or shares) the UMEM, maps the rings, binds to (ifname, qid) and fills
   * the fill ring. It does not touch XDP programs: insert `fd` into an XSKMAP (see xsk/xdp-prog.ts or the
   * unprivileged path) so that the queue's packets reach it. Everything is released on failure.
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
    const fd = check(sys.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0), `socket(AF_XDP) for ${name}`,
      (c) => (c === "EAFNOSUPPORT" ? "the kernel lacks CONFIG_XDP_SOCKETS" : c === "EPERM" ? "needs CAP_NET_RAW" : undefined));
    const maps: SharedArrayBuffer[] = [];
    try {
      const u32opt = (opt: number, v: number, what: string) =>
        check(sys.setsockopt(fd, X.SOL_XDP, opt, new Uint32Array([v])), () => `setsockopt(${name} ${what}=${v})`);
      if (!o.shareUmemWith) {
        check(sys.setsockopt(fd, X.SOL_XDP, X.XDP_UMEM_REG, X.umemReg(umem.address(), umem.length, umem.frameSize, 0)),
          () => `setsockopt(${name} XDP_UMEM_REG ${umem.frames}x${umem.frameSize})`,
          (c) => (c === "ENOMEM" || c === "EPERM" ? "RLIMIT_MEMLOCK too low or CAP_IPC_LOCK missing" : undefined));
      }
      u32opt(X.XDP_UMEM_FILL_RING, fillSize, "XDP_UMEM_FILL_RING");
      u32opt(X.XDP_UMEM_COMPLETION_RING, compSize, "XDP_UMEM_COMPLETION_RING");
      u32opt(X.XDP_RX_RING, rxSize, "XDP_RX_RING");
      u32opt(X.XDP_TX_RING, txSize, "XDP_TX_RING");
      const ob = new Uint8Array(X.MMAP_OFFSETS_SIZE);
      check(sys.getsockopt(fd, X.SOL_XDP, X.XDP_MMAP_OFFSETS, ob), `getsockopt(${name} XDP_MMAP_OFFSETS)`);
      const off = X.parseMmapOffsets(ob);
      const rx = mapRing(fd, off.rx, rxSize, X.XDP_DESC_SIZE, X.XDP_PGOFF_RX_RING, `${name} rx`); maps.push(rx.buf);
      const tx = mapRing(fd, off.tx, txSize, X.XDP_DESC_SIZE, X.XDP_PGOFF_TX_RING, `${name} tx`); maps.push(tx.buf);
      const fill = mapRing(fd, off.fr, fillSize, 8, X.XDP_UMEM_PGOFF_FILL_RING, `${name} fill`); maps.push(fill.buf);
      const comp = mapRing(fd, off.cr, compSize, 8, X.XDP_UMEM_PGOFF_COMPLETION_RING, `${name} completion`); maps.push(comp.buf);

      if (o.busyPoll) {
        const i32 = (opt: number, v: number, what: string) =>
          check(sys.setsockopt(fd, SOL_SOCKET, opt, new Int32Array([v])), () => `setsockopt(${name} ${what}=${v})`);
        i32(SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL");
        i32(SO_BUSY_POLL, o.busyPoll.timeoutUs, "SO_BUSY_POLL");
        i32(SO_BUSY_POLL_BUDGET, o.busyPoll.budget, "SO_BUSY_POLL_BUDGET");
      }

      const needWakeup = o.needWakeup ?? true;
      const mode = o.copyMode ?? "auto";
      let zeroCopy = false;
      const bindWith = (flags: number) => sys.bind(fd, X.sockaddrXdp(flags, ifindex, o.qid, o.shareUmemWith?.fd ?? 0));
      const what = (flags: number) =>
        `bind(xsk ${o.ifname} ifindex=${ifindex} queue=${o.qid}${flags & X.XDP_ZEROCOPY ? " zero-copy" : flags & X.XDP_COPY ? " copy" : ""}${o.shareUmemWith ? ` shared-umem fd=${o.shareUmemWith.fd}` : ""})`;
      const hint = (c: string) =>
        c === "ENXIO" || c === "EINVAL" ? `does ${o.ifname} have queue ${o.qid}? (ethtool -l ${o.ifname})` :
        c === "EBUSY" ? `another socket is bound to ${o.ifname} queue ${o.qid}` : undefined;
      const wake = needWakeup ? X.XDP_USE_NEED_WAKEUP : 0;
      if (o.shareUmemWith) {
        // A socket sharing the UMEM inherits the copy mode of the first one.
        check(bindWith(X.XDP_SHARED_UMEM), () => what(X.XDP_SHARED_UMEM), hint);
        zeroCopy = o.shareUmemWith.zeroCopy;
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
      const s = new XskSocket({
        fd, id: nextSocketId++, name, ifname: o.ifname, ifindex, qid: o.qid, zeroCopy, needWakeup,
        busyPoll: !!o.busyPoll, forceWakeup: o.forceWakeup ?? false, portId: o.portId ?? 0,
        txBudget,
        fillLevel: Math.max(1, Math.min(fillSize, o.fillLevel ?? Math.min(rxSize, Math.floor(o.mempool.count / 2)))),
        rings: { rx, tx, fill, comp }, stats: S.newStats().buffer as SharedArrayBuffer,
      }, o.mempool, true);
      s.refill(fillSize);
      trace("xsk", () => `${name}: fd ${fd} bound, ${zeroCopy ? "zero-copy" : "copy"} mode, rx ${rxSize} tx ${txSize} fill ${fillSize} comp ${compSize}`);
      return s;
    } catch (e) {
      for (const b of maps) munmap(b);
      sys.close(fd);
      throw e;
    }
  }

  /**
   * Reloads the cached ring positions from the shared ring words: a socket object picks up where
   * another thread's object on the same socket left off (worker start, and close() in the main thread).
   */
  private resync(): void {
    this.rxHead = Atomics.load(this.rxU32, this.rxCons);
    this.txHead = Atomics.load(this.txU32, this.txProd);
    this.txConsCache = Atomics.load(this.txU32, this.txCons);
    this.fqHead = Atomics.load(this.fqU32, this.fqProd);
    this.fqConsCache = Atomics.load(this.fqU32, this.fqCons);
    this.cqHead = Atomics.load(this.cqU32, this.cqCons);
    this.txOutstanding = (this.txHead - this.cqHead) >>> 0;
  }

  /** Opens this socket in another thread (it then owns the data path; do not use both at once). */
  static fromShared(s: XskShared, mempool: Mempool): XskSocket {
    return new XskSocket(s, mempool, false);
  }

  toShared(): XskShared {
    return {
      fd: this.fd, id: this.id, name: this.name, ifname: this.ifname, ifindex: this.ifindex, qid: this.qid,
      zeroCopy: this.zeroCopy, needWakeup: this.needWakeup, busyPoll: this.busyPoll, forceWakeup: this.forceWakeup,
      portId: this.portId, txBudget: this.txBudget, fillLevel: this.fillLevel, rings: this.rings, stats: this.stats.buffer as SharedArrayBuffer,
    };
  }

  /**
   * Receives up to `max` packets into `bufs`; returns how many. Each handle has dataOff/dataLen/port set.
   * Refills the fill ring with as many fresh buffers as were taken.
   */
  rxBurst(bufs: Uint32Array, max: number): number {
    const u32 = this.rxU32;
    // Preferred busy polling: the application drives the queue's NAPI from its own loop (recvfrom runs
    // it for up to the busy-poll budget), so NAPI works only as fast as the application consumes.
    if (this.busyPoll) sys.recvfrom(this.fd, null, MSG_DONTWAIT);
    const head = this.rxHead;
    const avail = (Atomics.load(u32, this.rxProd) - head) >>> 0;
    const n = avail < max ? avail : max;
    const stats = this.stats;
    if (n === 0) {
      stats[S.ST_RX_EMPTY_POLLS]!++;
      this.refill(this.fqSize);
      if (this.forceWakeup || (this.needWakeup && (Atomics.load(this.fqU32, this.fqFlags) & X.XDP_RING_NEED_WAKEUP) !== 0)) {
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
    if (this.mempool.tracker !== null) this.trackFromKernel(bufs, 0, n);
    this.refill(n);
    return n;
  }

  /**
   * Sends `n` packets from `bufs`; returns how many the TX ring took (the caller still owns the rest and
   * must free or retry them). Reclaims completed frames into the mempool first and kicks the kernel.
   */
  txBurst(bufs: Uint32Array, n: number): number {
    this.reclaim();
    const u32 = this.txU32;
    let free = this.txSize - ((this.txHead - this.txConsCache) >>> 0);
    if (free < n) {
      this.txConsCache = Atomics.load(u32, this.txCons);
      free = this.txSize - ((this.txHead - this.txConsCache) >>> 0);
    }
    const k = n < free ? n : free;
    const stats = this.stats;
    if (k < n) stats[S.ST_ODROPPED]! += n - k;
    if (k > 0) {
      const head = this.txHead;
      const mask = this.txMask;
      const desc = this.txDesc;
      const shift = this.shift;
      const dataOff = this.dataOff;
      const dataLen = this.dataLen;
      let bytes = 0;
      for (let i = 0; i < k; i++) {
        const h = bufs[i]!;
        const d = desc + (((head + i) & mask) << 2);
        const len = dataLen[h]!;
        u32[d] = (h << shift) + dataOff[h]!;
        u32[d + 1] = 0;
        u32[d + 2] = len;
        u32[d + 3] = 0;
        bytes += len;
      }
      if (this.mempool.tracker !== null) this.trackToKernel(bufs, 0, k);
      this.txHead = (head + k) >>> 0;
      Atomics.store(u32, this.txProd, this.txHead);
      this.txOutstanding += k;
      stats[S.ST_OPACKETS]! += k;
      stats[S.ST_OBYTES]! += bytes;
    }
    if (this.txOutstanding > 0) this.kick(k);
    return k;
  }

  /**
   * Wakes the kernel's TX path. In copy mode each sendto() sends at most `txBudget` frames (32 on kernels
   * before 6.17) and answers EAGAIN while more wait, so it loops (bounded), reclaiming completions between
   * calls.
   */
  private kick(posted: number): void {
    if (this.needWakeup && !this.busyPoll && (Atomics.load(this.txU32, this.txFlags) & X.XDP_RING_NEED_WAKEUP) === 0) return;
    // Nothing left on the TX ring (only completions outstanding): no system call.
    if (!this.busyPoll && Atomics.load(this.txU32, this.txCons) === this.txHead) return;
    const stats = this.stats;
    const tries = (posted >>> this.txShift) + 2;
    for (let i = 0; i < tries; i++) {
      stats[S.ST_TX_KICKS]!++;
      const rc = sys.sendto(this.fd, null, MSG_DONTWAIT, null);
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

  /** Returns completed TX frames to the mempool; returns how many. */
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
    this.txOutstanding -= n;
    this.stats[S.ST_COMPLETED]! += n;
    if (this.mempool.tracker !== null) this.trackFromKernel(scratch, 0, n);
    this.mempool.freeBulk(scratch, n);
    return n;
  }

  /** Adds up to `max` buffers from the mempool to the fill ring, never above its fill level. */
  private refill(max: number): void {
    const u32 = this.fqU32;
    const target = this.fillLevel;
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
      u32[d] = scratch[i]! << shift;
      u32[d + 1] = 0;
    }
    this.fqHead = (head + got) >>> 0;
    Atomics.store(u32, this.fqProd, this.fqHead);
  }

  /** Frames on the TX ring not yet completed. */
  get pendingTx(): number {
    return this.txOutstanding;
  }

  /** Waits until the socket has something to read (idle mode); returns false on timeout. */
  waitReadable(timeoutMs: number): boolean {
    this.pfd[0] = this.fd;
    this.pfd[1] = POLLIN;
    return sys.poll(this.pfd, 1, timeoutMs) > 0;
  }

  /** The kernel's XDP_STATISTICS counters (control path). */
  kernelStats(): X.XdpStatistics {
    const b = new Uint8Array(X.XDP_STATISTICS_SIZE);
    const len = check(sys.getsockopt(this.fd, X.SOL_XDP, X.XDP_STATISTICS, b), () => `getsockopt(${this.name} XDP_STATISTICS)`);
    return X.parseStatistics(b, len);
  }

  /** Counters by name, with imissed from the kernel's statistics (control path). */
  readStats(): Record<string, number> {
    const r: Record<string, number> = {};
    S.STAT_NAMES.forEach((n, i) => (r[n] = this.stats[i]!));
    if (!this.closed) {
      try {
        const k = this.kernelStats();
        r["imissed"] = k.rxDropped + k.rxRingFull;
        r["ierrors"] = k.rxInvalidDescs;
        r["oerrors"] = (r["oerrors"] ?? 0) + k.txInvalidDescs;
        r["rx_fill_ring_empty_descs"] = k.rxFillRingEmptyDescs;
        r["tx_ring_empty_descs"] = k.txRingEmptyDescs;
        r["rx_ring_full"] = k.rxRingFull;
        r["rx_dropped"] = k.rxDropped;
      } catch { /* socket closed by another thread */ }
    }
    return r;
  }

  private trackToKernel(bufs: Uint32Array, off: number, n: number): void {
    const owner = this.mempool.mbufs.owner;
    const t = this.mempool.tracker!;
    const k = FRAME_KERNEL + this.id;
    for (let i = off; i < off + n; i++) {
      const h = bufs[i]!;
      if (owner[h] !== FRAME_APP) t.report(0, h);
      owner[h] = k;
    }
  }

  private trackFromKernel(bufs: Uint32Array, off: number, n: number): void {
    const owner = this.mempool.mbufs.owner;
    const t = this.mempool.tracker!;
    const k = FRAME_KERNEL + this.id;
    for (let i = off; i < off + n; i++) {
      const h = bufs[i]!;
      if (owner[h] !== k) t.report(2, h);
      owner[h] = FRAME_APP;
    }
  }

  /**
   * Closes the socket: waits briefly for TX to complete, unmaps the rings, closes the fd, and returns to
   * the mempool the frames the kernel held (fill ring and unfinished TX) so that none leak.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.owner) return;
    this.resync();
    for (let i = 0; i < 100 && this.txOutstanding > 0; i++) {
      this.reclaim();
      if (this.txOutstanding > 0) sys.sendto(this.fd, null, MSG_DONTWAIT, null);
    }
    this.reclaim();
    // Frames still in the kernel's hands come back once the socket is gone: those posted on the fill ring
    // and not received, and TX frames never completed. Which ones they are is known exactly in debug mode
    // (owner words); otherwise the fill ring's unconsumed slots are taken back.
    const inKernel = this.collectKernelFrames();
    sys.close(this.fd);
    const { rx, tx, fill, comp } = this.rings;
    for (const r of [rx, tx, fill, comp]) munmap(r.buf);
    if (inKernel.length > 0) {
      const owner = this.mempool.mbufs.owner;
      if (this.mempool.tracker !== null) for (const h of inKernel) owner[h] = FRAME_APP;
      this.mempool.freeBulk(inKernel, inKernel.length);
    }
    trace("xsk", () => `${this.name}: closed, ${inKernel.length} frames returned from the kernel`);
  }

  private collectKernelFrames(): Uint32Array {
    if (this.mempool.tracker !== null) {
      const owner = this.mempool.mbufs.owner;
      const k = FRAME_KERNEL + this.id;
      const out: number[] = [];
      for (let h = 0; h < owner.length; h++) if (owner[h] === k) out.push(h);
      return Uint32Array.from(out);
    }
    // Without tracking, only the fill ring's unconsumed slots are known to be ours; frames the kernel
    // already took into its own cache are not (the UMEM is usually freed with the socket anyway).
    const u32 = this.fqU32;
    const cons = Atomics.load(u32, this.fqCons);
    const n = Math.min((this.fqHead - cons) >>> 0, this.fqSize);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = u32[this.fqDesc + (((cons + i) & this.fqMask) << 1)]! >>> this.shift;
    return out;
  }
}

