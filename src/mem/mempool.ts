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
import { FrameTracker, FRAME_APP, FRAME_FREE, FRAME_SHARED, type TrackerShared } from "./tracker.js";

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
  // Chains and clones (mbuf.ts): read only once the table's segment mode is on.
  private readonly segFlags: Int32Array;
  private readonly next: Int32Array;
  private readonly direct: Int32Array;
  private readonly refcnt: Uint16Array;
  private readonly nbSegs: Uint16Array;

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
    this.segFlags = mbufs.segFlags;
    this.next = mbufs.next;
    this.direct = mbufs.direct;
    this.refcnt = mbufs.refcnt;
    this.nbSegs = mbufs.nbSegs;
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

  /**
   * Returns `n` packets from `src[off..off+n)` to the pool (DPDK's rte_pktmbuf_free_bulk). Once chains or
   * clones may exist (the mbuf table's segment mode, see chain.ts), each packet is walked: every segment
   * of a chain is freed, a frame with other references only loses one, and a clone releases the frame
   * it views. Before that, nothing but the handles is touched.
   */
  freeBulk(src: Uint32Array, n: number, off = 0): void {
    if (n <= 0) return;
    if (this.tracker !== null) {
      this.freeTracked(src, n, off, true);
      return;
    }
    if (this.segFlags[0] !== 0) {
      this.freeSegmented(src, n, off, true);
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
   * Releases one reference to each of the `n` frames in `src[off..off+n)`, not the segments chained after
   * them (DPDK's rte_pktmbuf_free_seg): for frames handed back one by one, as a socket's completions.
   * Equal to {@link freeBulk} while the mbuf table's segment mode is off.
   */
  freeSegments(src: Uint32Array, n: number, off = 0): void {
    if (n <= 0) return;
    if (this.tracker !== null) this.freeTracked(src, n, off, false);
    else if (this.segFlags[0] !== 0) this.freeSegmented(src, n, off, false);
    else this.freeBulk(src, n, off);
  }

  /** Segment mode, no tracker: walks chains (`walk`) or releases single frames. */
  private freeSegmented(src: Uint32Array, n: number, off: number, walk: boolean): void {
    const next = this.next;
    const refcnt = this.refcnt;
    const direct = this.direct;
    for (let i = off; i < off + n; i++) {
      let h = src[i]!;
      if (next[h] === -1 && refcnt[h] === 1 && direct[h] === -1) {
        // A plain frame: as freeBulk.
        this.cache[this.cacheLen++] = h;
        if (this.cacheLen >= this.cache.length - 1) this.flushCache();
        continue;
      }
      if (!walk) {
        this.releaseSeg(h);
        continue;
      }
      // At most every frame of the table: a corrupted cycle cannot hold the thread.
      for (let k = this.mbufs.count; h !== -1 && k > 0; k--) {
        const nx = next[h]!;
        this.releaseSeg(h);
        h = nx;
      }
    }
    this.trimCache();
  }

  /** Drops one reference to frame `h` (no tracker); on the last, resets its segment words and pools it. */
  private releaseSeg(h: number): void {
    const refcnt = this.refcnt;
    if (refcnt[h] !== 1) {
      if (Atomics.sub(refcnt, h, 1) !== 1) return;
      refcnt[h] = 1;
    }
    this.next[h] = -1;
    this.nbSegs[h] = 1;
    const d = this.direct[h]!;
    this.cache[this.cacheLen++] = h;
    if (this.cacheLen >= this.cache.length - 1) this.flushCache();
    if (d === -1) return;
    // A clone: its handle is free; it releases its reference to the frame holding its bytes.
    this.direct[h] = -1;
    this.releaseSeg(d);
  }

  /** After frees that pushed into the cache one by one: back to the cache size once at flushAt. */
  private trimCache(): void {
    if (this.cacheLen >= this.flushAt) {
      this.put(this.cache, this.cacheLen - this.cacheSize, this.cacheSize);
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

  private freeTracked(src: Uint32Array, n: number, off: number, walk: boolean): void {
    const owner = this.owner;
    const seg = this.segFlags[0] !== 0;
    for (let i = off; i < off + n; i++) {
      let h = src[i]!;
      if (!seg) {
        if (!this.owns(h) || owner[h] !== FRAME_APP) {
          // A double free (or a foreign handle): report and keep it out of the pool.
          this.tracker!.report(0, h);
          continue;
        }
        owner[h] = FRAME_FREE;
        this.cache[this.cacheLen++] = h;
        if (this.cacheLen >= this.cache.length - 1) this.flushCache();
        continue;
      }
      if (!walk) {
        this.releaseSegTracked(h);
        continue;
      }
      for (let k = this.mbufs.count; h !== -1 && k > 0; k--) {
        const nx = this.next[h]!;
        // A segment that was not the application's: its next word cannot be trusted, stop there.
        if (!this.releaseSegTracked(h)) break;
        h = nx;
      }
    }
    this.trimCache();
  }

  /**
   * Debug mode, segment mode: drops one reference to frame `h`, which must be the application's (APP,
   * or SHARED with references left); anything else is a double free (reported, false).
   */
  private releaseSegTracked(h: number): boolean {
    const owner = this.owner;
    const st = owner[h]!;
    if (!this.owns(h) || (st !== FRAME_APP && st !== FRAME_SHARED)) {
      this.tracker!.report(0, h);
      return false;
    }
    const refcnt = this.refcnt;
    if (refcnt[h] !== 1) {
      if (Atomics.sub(refcnt, h, 1) !== 1) return true;
      refcnt[h] = 1;
    }
    owner[h] = FRAME_FREE;
    this.next[h] = -1;
    this.nbSegs[h] = 1;
    const d = this.direct[h]!;
    this.cache[this.cacheLen++] = h;
    if (this.cacheLen >= this.cache.length - 1) this.flushCache();
    if (d !== -1) {
      this.direct[h] = -1;
      this.releaseSegTracked(d);
    }
    return true;
  }
}
