/**
 * An AF_XDP socket without a kernel, for tests that need no root: the test plays the kernel's side of the
 * four rings.
 *
 * {@link FakeKernel.create} maps four plain shared-memory rings with the kernel's layout (producer,
 * consumer and flags words, then descriptors: if-xdp.ts KERNEL_RING_OFFSETS) and opens an
 * {@link XskSocket} over them with `XskSocket.overRings`. The socket's fd is one end of a pair of
 * AF_UNIX datagram sockets (abstract addresses, connected to each other; no privilege needed): a TX kick,
 * sendto(fd, NULL, 0), queues an empty datagram that the fake kernel reads and counts; an RX wakeup,
 * recvfrom(fd, NULL, 0), takes one of the empty datagrams the fake kernel keeps queued on the socket's
 * end, so the fake counts wakeups by the ones missing. (So the socket's fd polls readable while that
 * stock is there.)
 *
 * The fake kernel keeps no positions of its own: it reads and writes the ring words, so tests can start
 * the rings at any index (2^32 - 5 to test wrapping) and hand the kernel's side to another thread: the
 * fake wire ({@link startFakeWire}) moves frames between fake sockets like a veth in copy mode, for
 * multi-threaded tests of the forwarder without root.
 *
 * @example
 * const fk = FakeKernel.create({ mempool, start: 2 ** 32 - 5 });
 * fk.receive([frame]);                       // the kernel takes a fill frame, copies, posts RX
 * const n = fk.xsk.rxBurst(burst, 32);       // the socket reads it
 * fk.xsk.txBurst(burst, n);                  // sends it back
 * const sent = fk.transmit();                // [{ addr, len, bytes, valid }]
 * fk.complete();                             // completion ring; the next burst reclaims
 * fk.xsk.close(); fk.close();
 */
import { Worker, threadId } from "node:worker_threads";
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { mmapAnon } from "../sys/mem.js";
import { AF_UNIX, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_CLOEXEC, MSG_DONTWAIT, SOL_SOCKET, SO_SNDBUF } from "../sys/consts.js";
import { XskSocket, ringMap, type RingMap, type XskShared } from "../xsk/socket.js";
import * as X from "../xsk/if-xdp.js";
import type { Mempool } from "../mem/mempool.js";
import type { Umem, UmemShared } from "../mem/umem.js";

export type FakeRing = "rx" | "tx" | "fill" | "comp";

export interface FakeXskOptions {
  mempool: Mempool;
  /** Ring sizes, powers of two. Defaults: rx/tx 64, fill/comp 128. */
  rxSize?: number;
  txSize?: number;
  fillSize?: number;
  compSize?: number;
  /** Where the producer and consumer indices of the rings start (default 0): one value or per ring. */
  start?: number | Partial<Record<FakeRing, number>>;
  needWakeup?: boolean;
  forceWakeup?: boolean;
  fillLevel?: number;
  portId?: number;
  name?: string;
  /**
   * The socket is multi-buffer (XDP_USE_SG): {@link FakeKernel.receive} splits a frame larger than a
   * buffer into a descriptor chain, as copy mode does, and TX descriptors may carry XDP_PKT_CONTD.
   */
  multiBuffer?: boolean;
}

/** A TX descriptor the fake kernel took off the TX ring. */
export interface SentFrame {
  addr: number;
  len: number;
  /** A copy of the frame's bytes (empty when the descriptor is invalid). */
  bytes: Uint8Array;
  /**
   * Whether the kernel would accept it (aligned mode: len > 0, not crossing the frame end, inside the
   * UMEM; options 0, or XDP_PKT_CONTD on a multi-buffer socket).
   */
  valid: boolean;
  /** The descriptor's options word (XDP_PKT_CONTD: the packet goes on in the next descriptor). */
  options: number;
}

/** A packet made of consecutive TX descriptors (see {@link assemblePackets}). */
export interface SentPacket {
  /** Its descriptors, the last one without XDP_PKT_CONTD. */
  descs: SentFrame[];
  /** The bytes of every descriptor, in order. */
  bytes: Uint8Array;
  /** Whether every descriptor is valid. */
  valid: boolean;
}

/**
 * Groups TX descriptors (from {@link FakeKernel.transmit}) into packets: a packet ends at a descriptor
 * without XDP_PKT_CONTD. Descriptors after the last such one (a packet not finished) are left out and
 * counted in `pending`.
 */
export function assemblePackets(sent: readonly SentFrame[]): { packets: SentPacket[]; pending: number } {
  const packets: SentPacket[] = [];
  let cur: SentFrame[] = [];
  for (const f of sent) {
    cur.push(f);
    if ((f.options & X.XDP_PKT_CONTD) !== 0) continue;
    const bytes = new Uint8Array(cur.reduce((a, d) => a + d.bytes.length, 0));
    let at = 0;
    for (const d of cur) { bytes.set(d.bytes, at); at += d.bytes.length; }
    packets.push({ descs: cur, bytes, valid: cur.every((d) => d.valid) });
    cur = [];
  }
  return { packets, pending: cur.length };
}

/** What another thread needs to play the kernel of a fake socket (structured-cloneable). */
export interface FakePortShared {
  xsk: XskShared;
  umem: UmemShared;
  /** The fake kernel's end of the kick socket pair (TX kicks arrive there). */
  peerFd: number;
}

/** RX wakeup tokens kept queued on the socket's end. */
const TOKENS = 32;

let pairSeq = 0;

function unixAddr(name: string): Uint8Array {
  // struct sockaddr_un { u16 family; char path[] }, abstract: path[0] = 0; length = 2 + 1 + name.
  const b = new Uint8Array(3 + name.length);
  b[0] = AF_UNIX;
  for (let i = 0; i < name.length; i++) b[3 + i] = name.charCodeAt(i);
  return b;
}

/** Two AF_UNIX datagram sockets bound to abstract addresses and connected to each other. */
function kickPair(tag: string): { sock: number; peer: number } {
  const base = `xdplane-fake-${process.pid}-${threadId}-${pairSeq++}-${tag}`.slice(0, 100);
  const open = () => check(sys.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket(AF_UNIX, SOCK_DGRAM)");
  const fds: number[] = [];
  try {
    const sock = open(); fds.push(sock);
    const peer = open(); fds.push(peer);
    const a = unixAddr(`${base}-s`);
    const b = unixAddr(`${base}-k`);
    check(sys.bind(sock, a), `bind(AF_UNIX @${base}-s)`);
    check(sys.bind(peer, b), `bind(AF_UNIX @${base}-k)`);
    check(sys.connect(sock, b), `connect(AF_UNIX @${base}-s to @${base}-k)`);
    check(sys.connect(peer, a), `connect(AF_UNIX @${base}-k to @${base}-s)`);
    // Room for many kicks between two reads (capped at net.core.wmem_max without privileges).
    sys.setsockopt(sock, SOL_SOCKET, SO_SNDBUF, new Int32Array([1 << 20]));
    return { sock, peer };
  } catch (e) {
    for (const fd of fds) sys.close(fd);
    throw e;
  }
}

function fakeRing(size: number, descBytes: number, start: number): RingMap {
  const off = X.KERNEL_RING_OFFSETS;
  const r = ringMap(mmapAnon(off.desc + size * descBytes).buf, off, size, descBytes);
  r.u32[r.prod] = start >>> 0;
  r.u32[r.cons] = start >>> 0;
  return r;
}

/** Entries between consumer and producer. */
function count(r: RingMap): number {
  return (Atomics.load(r.u32, r.prod) - Atomics.load(r.u32, r.cons)) >>> 0;
}

/** The kernel's side of one fake socket, driven synchronously by the test (one thread). */
export class FakeKernel {
  /** The socket under test (its creator object; close it with xsk.close()). */
  readonly xsk: XskSocket;
  readonly umem: Umem;
  readonly rings: { rx: RingMap; tx: RingMap; fill: RingMap; comp: RingMap };
  /** TX descriptors the kernel rejected (see {@link SentFrame.valid}); completed anyway, as Linux 6.18 copy mode does. */
  invalidTx = 0;
  /** Multi-buffer socket (see {@link FakeXskOptions.multiBuffer}). */
  readonly multiBuffer: boolean;
  private readonly sockFd: number;
  private readonly peerFd: number;
  /** Fill addresses taken off the fill ring and not used yet (the kernel's cache). */
  private readonly heldFill: number[] = [];
  /** TX addresses taken off the TX ring and not completed yet. */
  private readonly heldTx: number[] = [];
  private kicks = 0;
  private wakeups = 0;
  private tokensOut = 0;
  private lent = false;
  private closed = false;

  private constructor(xsk: XskSocket, rings: FakeKernel["rings"], sockFd: number, peerFd: number) {
    this.xsk = xsk;
    this.multiBuffer = xsk.multiBuffer;
    this.umem = xsk.mempool.umem;
    this.rings = rings;
    this.sockFd = sockFd;
    this.peerFd = peerFd;
    this.sync();
  }

  /** Maps the rings, opens the socket over them (it fills the fill ring) and stocks the wakeup tokens. */
  static create(o: FakeXskOptions): FakeKernel {
    const name = o.name ?? `fake${pairSeq}`;
    const at = (r: FakeRing) => (typeof o.start === "number" ? o.start : o.start?.[r] ?? 0);
    const rings = {
      rx: fakeRing(o.rxSize ?? 64, X.XDP_DESC_SIZE, at("rx")),
      tx: fakeRing(o.txSize ?? 64, X.XDP_DESC_SIZE, at("tx")),
      fill: fakeRing(o.fillSize ?? 128, X.XDP_UMEM_DESC_SIZE, at("fill")),
      comp: fakeRing(o.compSize ?? 128, X.XDP_UMEM_DESC_SIZE, at("comp")),
    };
    // As the kernel: the TX ring asks to be woken up the first time.
    rings.tx.u32[rings.tx.flags] = X.XDP_RING_NEED_WAKEUP;
    let pair: { sock: number; peer: number };
    try {
      pair = kickPair(name);
    } catch (e) {
      for (const r of Object.values(rings)) sys.munmap(new Uint8Array(r.buf));
      throw e;
    }
    let xsk: XskSocket;
    try {
      xsk = XskSocket.overRings({
        fd: pair.sock, name, rings, ifname: name,
        ...(o.needWakeup !== undefined ? { needWakeup: o.needWakeup } : {}),
        ...(o.forceWakeup !== undefined ? { forceWakeup: o.forceWakeup } : {}),
        ...(o.fillLevel !== undefined ? { fillLevel: o.fillLevel } : {}),
        ...(o.portId !== undefined ? { portId: o.portId } : {}),
        ...(o.multiBuffer !== undefined ? { multiBuffer: o.multiBuffer } : {}),
      }, o.mempool);
    } catch (e) {
      sys.close(pair.peer); // overRings released the rings and the socket's end
      throw e;
    }
    return new FakeKernel(xsk, rings, pair.sock, pair.peer);
  }

  // ---- fill ring -------------------------------------------------------------------------------

  /** Entries on the fill ring the kernel has not taken. */
  fillCount(): number {
    return count(this.rings.fill);
  }

  /** Takes up to `max` fill entries into the kernel's cache (as a driver does); returns their addresses. */
  takeFill(max = Infinity): number[] {
    const r = this.rings.fill;
    const cons = Atomics.load(r.u32, r.cons);
    const n = Math.min(count(r), max);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(r.u32[r.desc + (((cons + i) & r.mask) << 1)]!);
    Atomics.store(r.u32, r.cons, (cons + n) >>> 0);
    this.heldFill.push(...out);
    return out;
  }

  // ---- RX ring ---------------------------------------------------------------------------------

  /**
   * Receives frames as copy mode does: for each, a frame from the kernel's cache or the fill ring, the
   * bytes copied XDP_PACKET_HEADROOM into it, an RX descriptor (frame start + 256, length). On a
   * multi-buffer socket a frame longer than a buffer (frame size - 256) takes several, each filled up
   * to that size, their descriptors carrying XDP_PKT_CONTD but the last (as Linux 6.18's __xsk_rcv);
   * such a frame is posted whole or not at all. Stops when no buffer is left or the RX ring is full;
   * returns how many frames were posted.
   */
  receive(frames: readonly Uint8Array[]): number {
    const rx = this.rings.rx;
    const fsize = this.umem.frameSize;
    const room = fsize - X.XDP_PACKET_HEADROOM;
    let prod = Atomics.load(rx.u32, rx.prod);
    let posted = 0;
    for (const f of frames) {
      if (f.length > room && !this.multiBuffer) throw new RangeError(`frame of ${f.length} bytes does not fit a ${fsize}-byte frame after the ${X.XDP_PACKET_HEADROOM}-byte headroom`);
      const nseg = Math.max(1, Math.ceil(f.length / room));
      if (rx.size - ((prod - Atomics.load(rx.u32, rx.cons)) >>> 0) < nseg) break;
      if (this.heldFill.length < nseg) this.takeFill(nseg - this.heldFill.length);
      if (this.heldFill.length < nseg) break;
      for (let k = 0; k < nseg; k++) {
        const addr = this.heldFill.shift()!;
        const base = addr - (addr % fsize);
        const part = f.subarray(k * room, Math.min(f.length, (k + 1) * room));
        this.umem.u8.set(part, base + X.XDP_PACKET_HEADROOM);
        this.writeRx(prod, base + X.XDP_PACKET_HEADROOM, part.length, k < nseg - 1 ? X.XDP_PKT_CONTD : 0);
        prod = (prod + 1) >>> 0;
      }
      posted++;
    }
    Atomics.store(rx.u32, rx.prod, prod);
    return posted;
  }

  /**
   * Posts one raw RX descriptor (for frames the kernel never had, or a chain built by hand with
   * `options` XDP_PKT_CONTD); false when the ring is full.
   */
  postRx(addr: number, len: number, options = 0): boolean {
    const rx = this.rings.rx;
    const prod = Atomics.load(rx.u32, rx.prod);
    if (((prod - Atomics.load(rx.u32, rx.cons)) >>> 0) >= rx.size) return false;
    this.writeRx(prod, addr, len, options);
    Atomics.store(rx.u32, rx.prod, (prod + 1) >>> 0);
    return true;
  }

  /**
   * Takes a fill buffer (from the kernel's cache or the fill ring), copies `bytes` XDP_PACKET_HEADROOM
   * into it and posts one RX descriptor with `options`: a piece of a chain, for tests that need a chain
   * cut off at a chosen point. False (nothing taken) without a buffer or RX room.
   */
  receivePart(bytes: Uint8Array, options: number): boolean {
    const rx = this.rings.rx;
    const prod = Atomics.load(rx.u32, rx.prod);
    if (((prod - Atomics.load(rx.u32, rx.cons)) >>> 0) >= rx.size) return false;
    if (this.heldFill.length === 0 && this.takeFill(1).length === 0) return false;
    const fsize = this.umem.frameSize;
    if (bytes.length > fsize - X.XDP_PACKET_HEADROOM) throw new RangeError(`a part of ${bytes.length} bytes does not fit a ${fsize}-byte frame after the headroom`);
    const addr = this.heldFill.shift()!;
    const base = addr - (addr % fsize);
    this.umem.u8.set(bytes, base + X.XDP_PACKET_HEADROOM);
    this.writeRx(prod, base + X.XDP_PACKET_HEADROOM, bytes.length, options);
    Atomics.store(rx.u32, rx.prod, (prod + 1) >>> 0);
    return true;
  }

  private writeRx(prod: number, addr: number, len: number, options = 0): void {
    const rx = this.rings.rx;
    const d = rx.desc + ((prod & rx.mask) << 2);
    rx.u32[d] = addr >>> 0;
    rx.u32[d + 1] = Math.floor(addr / 2 ** 32);
    rx.u32[d + 2] = len;
    rx.u32[d + 3] = options;
  }

  /** Entries on the RX ring the socket has not read. */
  rxCount(): number {
    return count(this.rings.rx);
  }

  // ---- TX and completion rings -----------------------------------------------------------------

  /** Entries on the TX ring the kernel has not taken. */
  txCount(): number {
    return count(this.rings.tx);
  }

  /**
   * Takes up to `max` TX descriptors (the kernel then holds their frames until {@link complete}); returns
   * them with a copy of their bytes.
   */
  transmit(max = Infinity): SentFrame[] {
    const r = this.rings.tx;
    const cons = Atomics.load(r.u32, r.cons);
    const n = Math.min(count(r), max);
    const fsize = this.umem.frameSize;
    const out: SentFrame[] = [];
    for (let i = 0; i < n; i++) {
      const d = r.desc + (((cons + i) & r.mask) << 2);
      const addr = r.u32[d]! + r.u32[d + 1]! * 2 ** 32;
      const len = r.u32[d + 2]!;
      const options = r.u32[d + 3]!;
      const okOptions = options === 0 || (this.multiBuffer && options === X.XDP_PKT_CONTD);
      const valid = len > 0 && (addr % fsize) + len <= fsize && addr + len <= this.umem.length && okOptions;
      if (!valid) this.invalidTx++;
      out.push({ addr, len, valid, options, bytes: valid ? this.umem.u8.slice(addr, addr + len) : new Uint8Array(0) });
      this.heldTx.push(addr);
    }
    Atomics.store(r.u32, r.cons, (cons + n) >>> 0);
    return out;
  }

  /** Posts completions for up to `max` held TX frames, oldest first, as room allows; returns how many. */
  complete(max = Infinity): number {
    let n = 0;
    while (n < max && this.heldTx.length > 0 && this.postCompletion(this.heldTx[0]!)) {
      this.heldTx.shift();
      n++;
    }
    return n;
  }

  /** Posts one raw completion (for frames the kernel never had); false when the ring is full. */
  postCompletion(addr: number): boolean {
    const r = this.rings.comp;
    const prod = Atomics.load(r.u32, r.prod);
    if (((prod - Atomics.load(r.u32, r.cons)) >>> 0) >= r.size) return false;
    const d = r.desc + ((prod & r.mask) << 1);
    r.u32[d] = addr >>> 0;
    r.u32[d + 1] = Math.floor(addr / 2 ** 32);
    Atomics.store(r.u32, r.prod, (prod + 1) >>> 0);
    return true;
  }

  /** Entries on the completion ring the socket has not reclaimed. */
  compCount(): number {
    return count(this.rings.comp);
  }

  /**
   * Completes the held TX frames from another thread after `delayMs`, for close() tests (the main thread
   * is blocked in close() meanwhile, as with a kernel completing skbs after the fd is gone). `ready`
   * resolves once that thread runs; `done` gives how many it posted.
   */
  completeLater(delayMs = 5): { ready: Promise<void>; done: Promise<number> } {
    const addrs = this.heldTx.splice(0);
    const w = new Worker(new URL("./fake-xsk-worker.js", import.meta.url), {
      workerData: { mode: "complete", comp: this.rings.comp, addrs, delayMs } satisfies FakeCompleteStart,
    });
    const ready = new Promise<void>((res, rej) => {
      w.once("message", () => res());
      w.once("error", rej);
    });
    ready.catch(() => {}); // the error also rejects `done`
    const done = new Promise<number>((res, rej) => {
      let posted = 0;
      w.on("message", (m: { posted?: number }) => { if (m.posted !== undefined) posted = m.posted; });
      w.once("error", rej);
      w.once("exit", () => res(posted));
    });
    return { ready, done };
  }

  // ---- need_wakeup flags and kicks ---------------------------------------------------------------

  /** Sets or clears XDP_RING_NEED_WAKEUP on the fill ring (RX) or the TX ring. */
  setNeedWakeup(ring: "fill" | "tx", on: boolean): void {
    const r = this.rings[ring];
    if (on) Atomics.or(r.u32, r.flags, X.XDP_RING_NEED_WAKEUP);
    else Atomics.and(r.u32, r.flags, ~X.XDP_RING_NEED_WAKEUP);
  }

  /** TX kicks (sendto) the socket made so far. */
  get txKicks(): number {
    this.sync();
    return this.kicks;
  }

  /** RX wakeups (recvfrom) the socket made so far. */
  get rxWakeups(): number {
    if (this.lent) throw new Error("FakeKernel: RX wakeups are not counted once the kernel side was handed over with toShared()");
    this.sync();
    return this.wakeups;
  }

  /** Reads the kicks queued for us; counts the wakeup tokens the socket took and restocks them. */
  private sync(): void {
    while (sys.recvfrom(this.peerFd, null, MSG_DONTWAIT) >= 0) this.kicks++;
    if (this.lent || this.xsk.isClosed) return;
    let left = 0;
    while (sys.recvfrom(this.sockFd, null, MSG_DONTWAIT) >= 0) left++;
    this.wakeups += this.tokensOut - left;
    this.tokensOut = 0;
    while (this.tokensOut < TOKENS && sys.sendto(this.peerFd, null, MSG_DONTWAIT, null) >= 0) this.tokensOut++;
  }

  // ---- accounting --------------------------------------------------------------------------------

  /** Frames the kernel holds off the rings: fill frames taken and not used, TX frames not completed. */
  held(): number {
    return this.heldFill.length + this.heldTx.length;
  }

  /** Entries on all four rings (fill + RX + TX + completion). */
  inRings(): number {
    return this.fillCount() + this.rxCount() + this.txCount() + this.compCount();
  }

  /**
   * The kernel's side for another thread (the fake wire). From then on only that thread plays the kernel
   * (the synchronous methods here must not be used while it runs); the wakeup tokens are withdrawn.
   * The kernel's cache must be empty: nothing held.
   */
  toShared(): FakePortShared {
    if (this.held() > 0) throw new Error(`FakeKernel ${this.xsk.name}: ${this.held()} frames held by the kernel; complete or post them before handing over`);
    this.sync();
    if (!this.lent && !this.xsk.isClosed) {
      let left = 0;
      while (sys.recvfrom(this.sockFd, null, MSG_DONTWAIT) >= 0) left++;
      this.wakeups += this.tokensOut - left;
      this.tokensOut = 0;
    }
    this.lent = true;
    return { xsk: this.xsk.toShared(), umem: this.umem.toShared(), peerFd: this.peerFd };
  }

  /** Closes the kernel's end of the kick pair (the socket is closed with xsk.close()). */
  close(): void {
    if (this.closed) return;
    this.sync();
    this.closed = true;
    sys.close(this.peerFd);
  }
}

/** Counts of a fake wire. */
export interface FakeWireCounts {
  /** Frames copied from a TX ring to an RX ring. */
  moved: number;
  /** TX frames dropped (completed, not delivered) because the receiving socket had no fill buffer. */
  droppedNoFill: number;
  /** TX frames dropped because the receiving socket's RX ring was full. */
  droppedRxFull: number;
  /** TX frames dropped because they do not fit a frame after the receive headroom. */
  droppedTooLong: number;
  /** TX frames of sockets wired to nothing (wiring -1): completed. */
  sunk: number;
  /** TX descriptors the kernel would reject: completed, not delivered. */
  txInvalid: number;
  /** TX kicks read from the sockets. */
  kicks: number;
  /** Per socket: frames taken from its TX ring, frames posted on its RX ring. */
  sent: number[];
  received: number[];
}

export interface FakeWire {
  /** Resolves once the wire's thread runs. */
  readonly ready: Promise<void>;
  /** Counts so far (read while it runs, approximate). */
  counts(): FakeWireCounts;
  /** Stops the thread and gives the final counts. Stop the wire before closing its sockets. */
  stop(): Promise<FakeWireCounts>;
}

/** @internal What the worker module gets. */
export interface FakeWireStart {
  mode: "wire";
  ports: FakePortShared[];
  wiring: number[];
  ctl: SharedArrayBuffer;
  counts: SharedArrayBuffer;
}

/** @internal */
export interface FakeCompleteStart {
  mode: "complete";
  comp: RingMap;
  addrs: number[];
  delayMs: number;
}

/** Slots of the wire's counts (Float64Array); sent/received per port follow. */
export const WIRE_COUNT_NAMES = ["moved", "droppedNoFill", "droppedRxFull", "droppedTooLong", "sunk", "txInvalid", "kicks"] as const;

function readCounts(c: Float64Array, n: number): FakeWireCounts {
  const k = WIRE_COUNT_NAMES.length;
  const r = Object.fromEntries(WIRE_COUNT_NAMES.map((name, i) => [name, c[i]!])) as Omit<FakeWireCounts, "sent" | "received">;
  return { ...r, sent: Array.from(c.subarray(k, k + n)), received: Array.from(c.subarray(k + n, k + 2 * n)) };
}

/**
 * Starts a thread that plays the kernel for several fake sockets at once, like veths in copy mode:
 * `wiring[i] = j` sends what socket i transmits to socket j (j may be i; -1 drops it). For each TX
 * descriptor of i it takes a fill frame of j, copies the bytes XDP_PACKET_HEADROOM into it, posts an RX
 * descriptor on j and completes the TX frame on i; with no fill frame or no RX room on j the frame is
 * dropped (completed, counted). It never sets need_wakeup flags (the sockets need not kick; kicks are
 * read and counted), and it makes a socket's fd readable while its RX ring holds frames (for
 * waitReadable). Get the ports with {@link FakeKernel.toShared}; stop the wire before closing them.
 */
export function startFakeWire(ports: readonly FakePortShared[], wiring: readonly number[]): FakeWire {
  if (wiring.length !== ports.length) throw new RangeError(`fake wire: ${wiring.length} wiring entries for ${ports.length} ports`);
  wiring.forEach((j, i) => {
    if (!Number.isInteger(j) || j < -1 || j >= ports.length) throw new RangeError(`fake wire: port ${i} wired to ${j}: a port index or -1`);
  });
  const ctl = new SharedArrayBuffer(4);
  const countsBuf = new SharedArrayBuffer((WIRE_COUNT_NAMES.length + 2 * ports.length) * 8);
  const counts = new Float64Array(countsBuf);
  const w = new Worker(new URL("./fake-xsk-worker.js", import.meta.url), {
    workerData: { mode: "wire", ports: [...ports], wiring: [...wiring], ctl, counts: countsBuf } satisfies FakeWireStart,
  });
  let failure: Error | null = null;
  w.on("error", (e) => (failure = e));
  const exited = new Promise<void>((res) => w.once("exit", () => res()));
  const ready = new Promise<void>((res, rej) => {
    w.once("message", () => res());
    w.once("error", rej);
    w.once("exit", () => rej(new Error("fake wire: the thread exited before it started")));
  });
  ready.catch(() => {}); // a failure also rejects stop()
  let stopping: Promise<FakeWireCounts> | null = null;
  return {
    ready,
    counts: () => readCounts(counts, ports.length),
    stop() {
      stopping ??= (async () => {
        const flag = new Int32Array(ctl);
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
        await exited;
        if (failure) throw failure;
        return readCounts(counts, ports.length);
      })();
      return stopping;
    },
  };
}
