/**
 * Mempool: the free packet buffers of a UMEM (or of a region of it), CNDP's mempool_* on a ring with a
 * per-thread cache (256 by default, as CNDP). The shared store is an MP/MC ring of handles; every
 * thread opens its own Mempool object (its own cache) from the shared form, so the common case touches
 * no shared memory. Bulk get/put move handles between `Uint32Array` bursts and the cache.
 *
 * @example
 * const mp = Mempool.create({ umem, cacheSize: 256 });
 * const burst = new Uint32Array(64);
 * const got = mp.allocBulk(burst, 64);   // handles into burst[0..got)
 * mp.freeBulk(burst, got);
 */
import { Ring, type RingShared } from "../ring/ring.js";
import { Umem, type UmemShared } from "./umem.js";
import { MbufTable, type MbufShared } from "./mbuf.js";
import { FrameTracker, FRAME_APP, FRAME_FREE, type TrackerShared } from "./tracker.js";

export interface MempoolOptions {
  umem: Umem;
  /** Metadata table for the UMEM's frames; one is made when absent. Share it between pools of one UMEM. */
  mbufs?: MbufTable;
  /** First frame and number of frames this pool owns (CNDP's umem regions). Default: the whole UMEM. */
  first?: number;
  count?: number;
  /** Per-thread cache size, default 256 (CNDP's default). 0 disables the cache. */
  cacheSize?: number;
  /** Track frame ownership (double frees, leaks). */
  debug?: boolean;
  name?: string;
}

export interface MempoolShared {
  name: string;
  ring: RingShared;
  umem: UmemShared;
  mbufs: MbufShared;
  tracker: TrackerShared | null;
  /** Error counters shared by every thread (see {@link Mempool.overflows}). */
  errors: SharedArrayBuffer;
  first: number;
  count: number;
  cacheSize: number;
}

export class Mempool {
  readonly name: string;
  readonly umem: Umem;
  readonly mbufs: MbufTable;
  readonly ring: Ring;
  readonly first: number;
  readonly count: number;
  readonly cacheSize: number;
  /** Non-null in debug mode. */
  readonly tracker: FrameTracker | null;
  private readonly cache: Uint32Array;
  private cacheLen = 0;
  private readonly flushAt: number;
  private readonly owner: Int32Array;
  private readonly errors: Int32Array;

  private constructor(s: MempoolShared, umem: Umem, mbufs: MbufTable) {
    this.name = s.name;
    this.umem = umem;
    this.mbufs = mbufs;
    this.ring = Ring.fromShared(s.ring);
    this.first = s.first;
    this.count = s.count;
    this.cacheSize = s.cacheSize;
    this.tracker = s.tracker ? FrameTracker.fromShared(s.tracker) : null;
    this.flushAt = Math.max(1, Math.floor(s.cacheSize * 1.5));
    // The cache holds at most: below flushAt before a put, plus one put of up to cacheSize (larger puts
    // bypass it); or cacheSize + n (n <= cacheSize) after a refill. Sized for the worst of both.
    this.cache = new Uint32Array(this.flushAt + s.cacheSize + 1);
    this.owner = mbufs.owner;
    this.errors = new Int32Array(s.errors);
  }

  /** Creates a pool holding every frame of the region, all free. */
  static create(o: MempoolOptions): Mempool {
    const first = o.first ?? 0;
    const count = o.count ?? o.umem.frames - first;
    const name = o.name ?? `${o.umem.name}-pool`;
    if (first < 0 || count < 1 || first + count > o.umem.frames) {
      throw new RangeError(`Invalid mempool '${name}' region [${first}, ${first + count}) of umem '${o.umem.name}' with ${o.umem.frames} frames`);
    }
    const cacheSize = o.cacheSize ?? 256;
    if (!Number.isInteger(cacheSize) || cacheSize < 0 || cacheSize > 4096) {
      throw new RangeError(`Invalid mempool cache size ${cacheSize} for '${name}': 0 to 4096`);
    }
    const mbufs = o.mbufs ?? MbufTable.create(o.umem.frames);
    let size = 2;
    while (size < count) size *= 2;
    const ring = Ring.create({ size, multiProducer: true, multiConsumer: true, name });
    const all = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      all[i] = first + i;
      mbufs.dataOff[first + i] = o.umem.headroom;
      mbufs.owner[first + i] = FRAME_FREE;
    }
    if (ring.enqueueBulk(all, count) !== count) throw new Error(`mempool '${name}': cannot fill its ring of ${size} with ${count} frames`);
    const tracker = o.debug ? FrameTracker.create() : null;
    return new Mempool(
      { name, ring: ring.toShared(), umem: o.umem.toShared(), mbufs: mbufs.toShared(), tracker: tracker?.toShared() ?? null, errors: new SharedArrayBuffer(16), first, count, cacheSize },
      o.umem,
      mbufs,
    );
  }

  /** Opens the same pool in another thread, with a cache of its own. */
  static fromShared(s: MempoolShared, umem?: Umem, mbufs?: MbufTable): Mempool {
    return new Mempool(s, umem ?? Umem.fromShared(s.umem), mbufs ?? MbufTable.fromShared(s.mbufs));
  }

  toShared(): MempoolShared {
    return {
      name: this.name,
      ring: this.ring.toShared(),
      umem: this.umem.toShared(),
      mbufs: this.mbufs.toShared(),
      tracker: this.tracker?.toShared() ?? null,
      errors: this.errors.buffer as SharedArrayBuffer,
      first: this.first,
      count: this.count,
      cacheSize: this.cacheSize,
    };
  }

  /** Whether `h` is a frame of this pool. */
  owns(h: number): boolean {
    return h >= this.first && h < this.first + this.count;
  }

  /**
   * Takes up to `n` free buffers into `out[off..off+n)`; returns how many (fewer when the pool runs
   * low). Data offset is reset to the headroom; length to 0.
   */
  allocBulk(out: Uint32Array, n: number, off = 0): number {
    let got = 0;
    if (this.cacheSize === 0 || n > this.cacheSize) {
      // Large requests bypass the cache: drain it, then take the rest from the ring.
      while (got < n && this.cacheLen > 0) out[off + got++] = this.cache[--this.cacheLen]!;
      got += this.ring.dequeueBurst(out, n - got, off + got);
    } else {
      if (this.cacheLen < n) {
        this.cacheLen += this.ring.dequeueBurst(this.cache, this.cacheSize + n - this.cacheLen, this.cacheLen);
      }
      const k = n < this.cacheLen ? n : this.cacheLen;
      const cache = this.cache;
      let len = this.cacheLen;
      for (let i = 0; i < k; i++) out[off + i] = cache[--len]!;
      this.cacheLen = len;
      got = k;
    }
    const dataOff = this.mbufs.dataOff;
    const dataLen = this.mbufs.dataLen;
    const hr = this.umem.headroom;
    for (let i = off; i < off + got; i++) {
      const h = out[i]!;
      dataOff[h] = hr;
      dataLen[h] = 0;
    }
    if (this.tracker !== null) this.trackAlloc(out, off, got);
    return got;
  }

  /** Returns `n` buffers from `src[off..off+n)` to the pool. */
  freeBulk(src: Uint32Array, n: number, off = 0): void {
    if (n <= 0) return;
    if (this.tracker !== null) {
      this.freeTracked(src, n, off);
      return;
    }
    if (this.cacheSize === 0 || n > this.cacheSize) {
      this.put(src, n, off);
      return;
    }
    const cache = this.cache;
    let len = this.cacheLen;
    for (let i = 0; i < n; i++) cache[len++] = src[off + i]!;
    this.cacheLen = len;
    if (len >= this.flushAt) {
      this.put(cache, len - this.cacheSize, this.cacheSize);
      this.cacheLen = this.cacheSize;
    }
  }

  /**
   * Puts handles on the shared ring. The ring holds every frame of the pool, so a put that does not fit
   * means more frees than frames (a double free the tracker was not there to see): the excess is counted
   * in {@link overflows} and left out.
   */
  private put(src: Uint32Array, n: number, off: number): void {
    const k = this.ring.enqueueBurst(src, n, off);
    if (k !== n) Atomics.add(this.errors, 0, n - k);
  }

  /**
   * Frames that did not fit back into the pool: freed more often than allocated (double frees), counted
   * also without the tracker. Must be 0.
   */
  get overflows(): number {
    return Atomics.load(this.errors, 0);
  }

  /** One buffer, or -1 when the pool is empty. */
  alloc(): number {
    return this.allocBulk(this.one, 1) === 1 ? this.one[0]! : -1;
  }

  /** Frees one buffer. */
  free(h: number): void {
    this.one[0] = h;
    this.freeBulk(this.one, 1);
  }

  private readonly one = new Uint32Array(1);

  /** Free buffers: in the shared ring plus this thread's cache (a snapshot). */
  available(): number {
    return this.ring.count() + this.cacheLen;
  }

  /** Buffers held in this thread's cache. */
  cached(): number {
    return this.cacheLen;
  }

  /** Returns this thread's cached buffers to the shared ring (call before a thread exits). */
  flushCache(): void {
    if (this.cacheLen > 0) this.put(this.cache, this.cacheLen, 0);
    this.cacheLen = 0;
  }

  private trackAlloc(out: Uint32Array, off: number, n: number): void {
    const owner = this.owner;
    for (let i = off; i < off + n; i++) {
      const h = out[i]!;
      if (owner[h] !== FRAME_FREE) this.tracker!.report(1, h);
      owner[h] = FRAME_APP;
    }
  }

  private freeTracked(src: Uint32Array, n: number, off: number): void {
    const owner = this.owner;
    for (let i = off; i < off + n; i++) {
      const h = src[i]!;
      if (!this.owns(h) || owner[h] !== FRAME_APP) {
        // A double free (or a foreign handle): report and keep it out of the pool.
        this.tracker!.report(0, h);
        continue;
      }
      owner[h] = FRAME_FREE;
      this.cache[this.cacheLen++] = h;
      if (this.cacheLen >= this.cache.length - 1) this.flushCache();
    }
    if (this.cacheLen >= this.flushAt) {
      this.put(this.cache, this.cacheLen - this.cacheSize, this.cacheSize);
      this.cacheLen = this.cacheSize;
    }
  }
}
