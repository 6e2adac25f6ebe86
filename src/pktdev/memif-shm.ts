/**
 * net_memif's shared memory, and how it reaches worker threads.
 *
 * An interface reserves one range of address space when it is created (anonymous, no memory behind it
 * until written: zero pages) and hands it to JavaScript as a SharedArrayBuffer: the **region window**.
 * Each connection's regions are mapped *into* that window at fixed places (the shim's `mmapFixed`), and a
 * disconnect puts zero pages back. The window's address never changes, so a worker thread that received
 * the SharedArrayBuffer once (in the port's shared form) sees every later connection's memory through the
 * same views: nothing is posted to workers when the peer connects, leaves or comes back.
 *
 * What the data path needs to find its rings is in a small shared control block (`ctl`, an Int32Array):
 * the link state, a generation bumped on every connect and disconnect, each region's place and size in the
 * window, and per queue pair the two rings' places, sizes, buffer bases (client) and eventfds. A port reads
 * the generation once per burst and reloads its fields when it changed. Around every burst it raises its
 * queue's busy word; the control thread, before it unmaps anything or closes an eventfd, lowers the link
 * state and waits for the busy words to fall (Dekker: both sides use sequentially consistent atomics), so
 * a burst never runs on memory that is being replaced.
 *
 * Client layout (as DPDK's and libmemif's, one region): the C2S rings, then the S2C rings, then the
 * buffers, `bsize` bytes per descriptor of every ring in the same order.
 */
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { munmap } from "../sys/mem.js";
import { MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../sys/consts.js";
import { ringBytes } from "./memif-proto.js";

/** Regions a peer may add (region indices 0..MAX_REGIONS-1). */
export const MAX_REGIONS = 16;
/** Placement granularity of regions in the window (a multiple of every page size Linux uses). */
export const REGION_ALIGN = 64 * 1024;

// ---- the control block (Int32Array words) ----------------------------------------------------------
/** Link state: LINK_DOWN / LINK_UP. */
export const W_STATE = 0;
/** Bumped (after the rest is written) on every connect and disconnect. */
export const W_GEN = 1;
export const W_NREG = 2;
export const W_NQ = 3;
/** The client's packet buffer size. */
export const W_BSIZE = 4;
/** 1: this end is the server. */
export const W_SERVER = 5;
/** Region i: place in the window at W_REG + 2i, size at W_REG + 2i + 1. */
export const W_REG = 8;
/** Queue pair q's words start at W_Q + q * QW. */
export const W_Q = W_REG + 2 * MAX_REGIONS;
export const QW = 16;
/** Place of the TX / RX ring header in the window, or -1 (no ring: not connected, or not negotiated). */
export const Q_TX_RING = 0;
export const Q_RX_RING = 1;
export const Q_TX_LOG2 = 2;
export const Q_RX_LOG2 = 3;
/** Client: place of the ring's first buffer in the window (buffer of slot s at base + s * bsize). */
export const Q_TX_BUF = 4;
export const Q_RX_BUF = 5;
/** Eventfd of the TX ring (written to wake the peer) and of the RX ring (polled while idle), or -1. */
export const Q_TX_EFD = 6;
export const Q_RX_EFD = 7;
/** 1 while the queue's owner runs a burst or waits for RX. */
export const Q_BUSY = 8;
/** One owner per queue (PortClaim). */
export const Q_CLAIM = 9;
/** Client RX: the next slot to read (the receiver's cursor is not in the ring). */
export const Q_RX_CUR = 10;

export const LINK_DOWN = 0;
export const LINK_UP = 1;

/** A new control block for `queues` queue pairs, link down, no rings. */
export function newCtl(queues: number, server: boolean): Int32Array {
  const ctl = new Int32Array(new SharedArrayBuffer((W_Q + queues * QW) * 4));
  ctl[W_NQ] = queues;
  ctl[W_SERVER] = server ? 1 : 0;
  clearRings(ctl);
  return ctl;
}

/** Forgets the regions and rings (the link must be down and no burst running). */
export function clearRings(ctl: Int32Array): void {
  ctl[W_NREG] = 0;
  for (let i = 0; i < MAX_REGIONS; i++) {
    ctl[W_REG + 2 * i] = 0;
    ctl[W_REG + 2 * i + 1] = 0;
  }
  for (let q = 0; q < ctl[W_NQ]!; q++) {
    const b = W_Q + q * QW;
    for (const w of [Q_TX_RING, Q_RX_RING, Q_TX_BUF, Q_RX_BUF, Q_TX_EFD, Q_RX_EFD]) ctl[b + w] = -1;
    ctl[b + Q_TX_LOG2] = 0;
    ctl[b + Q_RX_LOG2] = 0;
    ctl[b + Q_RX_CUR] = 0;
  }
}

/** Where a client puts its rings and buffers in its one region. */
export interface ClientLayout {
  c2s: number;
  s2c: number;
  log2: number;
  bsize: number;
  /** Offset of C2S ring i (S2C ring i: `ring(1, i)`). */
  ring(type: 0 | 1, i: number): number;
  /** Offset of the first buffer of that ring. */
  buffers(type: 0 | 1, i: number): number;
  /** The region's size. */
  size: number;
}

/**
 * The client's region layout for `c2s` + `s2c` rings of 2^log2 descriptors and `bsize`-byte buffers.
 *
 * @example
 * const l = clientLayout(1, 1, 10, 2048); // l.ring(1, 0) === 16512, l.size === 4227328
 */
export function clientLayout(c2s: number, s2c: number, log2: number, bsize: number): ClientLayout {
  const rb = ringBytes(log2);
  const bufOff = (c2s + s2c) * rb;
  const per = (1 << log2) * bsize;
  return {
    c2s, s2c, log2, bsize,
    ring: (type, i) => (type === 0 ? i : c2s + i) * rb,
    buffers: (type, i) => bufOff + (type === 0 ? i : c2s + i) * per,
    size: bufOff + (c2s + s2c) * per,
  };
}

/** Rounds up to the region placement granularity. */
export function alignRegion(n: number): number {
  return Math.ceil(n / REGION_ALIGN) * REGION_ALIGN;
}

/**
 * The region window: a reserved range of address space shared with worker threads, into which regions
 * are mapped and from which they are removed in place.
 */
export class RegionWindow {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  private readonly u8: Uint8Array;
  private closed = false;

  /**
   * Reserves `size` bytes (rounded up to the placement granularity): zero pages, no memory used.
   *
   * @example
   * const w = RegionWindow.reserve(8 << 20);
   * w.close();
   */
  static reserve(size: number): RegionWindow {
    const len = alignRegion(size);
    const r = sys.mmap(-1, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, 0);
    if (typeof r === "number") check(r, () => `mmap(net_memif region window, ${len} bytes reserved)`);
    return new RegionWindow(r as SharedArrayBuffer);
  }

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.size = buffer.byteLength;
    this.u8 = new Uint8Array(buffer);
  }

  /** Maps `length` bytes of the file behind `fd` at place `at` (a multiple of REGION_ALIGN). */
  map(at: number, length: number, fd: number, what: string): void {
    check(sys.mmapFixed(this.u8, at, length, fd, 0), () => `mmap(${what}: fd=${fd} ${length} bytes at window offset ${at})`);
  }

  /** Puts zero pages over the whole window again (the regions' files are no longer mapped). */
  clear(): void {
    if (this.closed) return;
    check(sys.mmapFixed(this.u8, 0, this.size, -1, 0), () => `mmap(net_memif region window: zero pages over ${this.size} bytes)`);
  }

  /** Releases the window (views read zeros afterwards). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    munmap(this.buffer, "munmap(net_memif region window)");
  }
}
