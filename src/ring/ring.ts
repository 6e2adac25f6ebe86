/**
 * Lockless rings of u32 handles over a SharedArrayBuffer, for passing packets between threads
 * (CNDP's cne_ring, DPDK's rte_ring). Single- or multi-producer and -consumer; burst (as many as fit)
 * and bulk (all or nothing) operations. Indices are free-running u32 values; a slot is `index & mask`.
 *
 * Layout (Int32 words): [0] prod.head, [16] prod.tail, [32] cons.head, [48] cons.tail (each on its own
 * 64-byte line), then `size` u32 slots from byte 256.
 *
 * The multi-producer path reserves slots with a compare-and-swap on prod.head, writes them, waits for
 * earlier producers to publish, then moves prod.tail (DPDK's algorithm). Single-producer skips the CAS.
 * Everything is per burst: one or two Atomics operations, no allocation.
 *
 * @example
 * const r = Ring.create({ size: 1024, multiProducer: true });
 * const handles = new Uint32Array([1, 2, 3]), out = new Uint32Array(32);
 * r.enqueueBurst(handles, handles.length); const got = r.dequeueBurst(out, 32); // 3
 */

const PROD_HEAD = 0;
const PROD_TAIL = 16;
const CONS_HEAD = 32;
const CONS_TAIL = 48;
const HEADER_BYTES = 256;

export interface RingOptions {
  /** Number of slots, a power of two; all of them are usable. */
  size: number;
  multiProducer?: boolean;
  multiConsumer?: boolean;
  name?: string;
}

/** What a worker needs to open the same ring (structured-cloneable). */
export interface RingShared {
  buf: SharedArrayBuffer;
  size: number;
  multiProducer: boolean;
  multiConsumer: boolean;
  name: string;
}

export class Ring {
  readonly name: string;
  readonly size: number;
  readonly mask: number;
  readonly multiProducer: boolean;
  readonly multiConsumer: boolean;
  readonly buf: SharedArrayBuffer;
  private readonly idx: Int32Array;
  private readonly slots: Uint32Array;

  private constructor(s: RingShared) {
    if (!Number.isInteger(s.size) || s.size < 2 || (s.size & (s.size - 1)) !== 0 || s.size > 1 << 30) {
      throw new RangeError(`Invalid ring size ${s.size} for ring '${s.name}': a power of two from 2 to 2^30`);
    }
    this.name = s.name;
    this.size = s.size;
    this.mask = s.size - 1;
    this.multiProducer = s.multiProducer;
    this.multiConsumer = s.multiConsumer;
    this.buf = s.buf;
    this.idx = new Int32Array(s.buf, 0, HEADER_BYTES / 4);
    this.slots = new Uint32Array(s.buf, HEADER_BYTES, s.size);
  }

  /** Creates a ring in a new SharedArrayBuffer. */
  static create(opts: RingOptions): Ring {
    const size = opts.size;
    const ok = Number.isInteger(size) && size >= 2 && (size & (size - 1)) === 0 && size <= 1 << 30;
    const buf = new SharedArrayBuffer(HEADER_BYTES + (ok ? size : 2) * 4);
    return new Ring({
      buf,
      size,
      multiProducer: opts.multiProducer ?? false,
      multiConsumer: opts.multiConsumer ?? false,
      name: opts.name ?? "ring",
    });
  }

  /** Opens a ring created elsewhere (another thread) from its {@link toShared} form. */
  static fromShared(s: RingShared): Ring {
    return new Ring(s);
  }

  toShared(): RingShared {
    return { buf: this.buf, size: this.size, multiProducer: this.multiProducer, multiConsumer: this.multiConsumer, name: this.name };
  }

  /** Entries currently in the ring (a snapshot). */
  count(): number {
    return (Atomics.load(this.idx, PROD_TAIL) - Atomics.load(this.idx, CONS_TAIL)) >>> 0;
  }

  /** Free slots (a snapshot). */
  freeCount(): number {
    return this.size - this.count();
  }

  /** Enqueues up to `n` handles from `src` (starting at `off`); returns how many were enqueued. */
  enqueueBurst(src: Uint32Array, n: number, off = 0): number {
    return this.enqueue(src, n, false, off);
  }

  /** Enqueues all `n` handles or none; returns n or 0. */
  enqueueBulk(src: Uint32Array, n: number, off = 0): number {
    return this.enqueue(src, n, true, off);
  }

  /** Dequeues up to `max` handles into `dst` (starting at `off`); returns how many. */
  dequeueBurst(dst: Uint32Array, max: number, off = 0): number {
    return this.dequeue(dst, max, false, off);
  }

  /** Dequeues exactly `n` handles or none; returns n or 0. */
  dequeueBulk(dst: Uint32Array, n: number, off = 0): number {
    return this.dequeue(dst, n, true, off);
  }

  /** Enqueues one handle; returns false when full. */
  enqueue1(h: number): boolean {
    this.one[0] = h;
    return this.enqueue(this.one, 1, true, 0) === 1;
  }

  /** Dequeues one handle, or -1 when empty. */
  dequeue1(): number {
    return this.dequeue(this.one, 1, true, 0) === 1 ? this.one[0]! : -1;
  }

  private readonly one = new Uint32Array(1);

  private enqueue(src: Uint32Array, n: number, bulk: boolean, off: number): number {
    const idx = this.idx;
    const size = this.size;
    let head: number;
    let k: number;
    if (this.multiProducer) {
      for (;;) {
        head = Atomics.load(idx, PROD_HEAD) >>> 0;
        const free = size - ((head - (Atomics.load(idx, CONS_TAIL) >>> 0)) >>> 0);
        k = n <= free ? n : bulk ? 0 : free;
        if (k === 0) return 0;
        if (Atomics.compareExchange(idx, PROD_HEAD, head | 0, (head + k) | 0) === (head | 0)) break;
      }
    } else {
      head = idx[PROD_HEAD]! >>> 0;
      const free = size - ((head - (Atomics.load(idx, CONS_TAIL) >>> 0)) >>> 0);
      k = n <= free ? n : bulk ? 0 : free;
      if (k === 0) return 0;
      idx[PROD_HEAD] = (head + k) | 0;
    }
    const slots = this.slots;
    const mask = this.mask;
    for (let i = 0; i < k; i++) slots[(head + i) & mask] = src[off + i]!;
    if (this.multiProducer) {
      // Wait for earlier producers to publish their slots, then publish ours in order.
      while ((Atomics.load(idx, PROD_TAIL) >>> 0) !== head) { /* spin: the other producer is mid-copy */ }
    }
    Atomics.store(idx, PROD_TAIL, (head + k) | 0);
    return k;
  }

  private dequeue(dst: Uint32Array, n: number, bulk: boolean, off: number): number {
    const idx = this.idx;
    let head: number;
    let k: number;
    if (this.multiConsumer) {
      for (;;) {
        head = Atomics.load(idx, CONS_HEAD) >>> 0;
        const avail = ((Atomics.load(idx, PROD_TAIL) >>> 0) - head) >>> 0;
        k = n <= avail ? n : bulk ? 0 : avail;
        if (k === 0) return 0;
        if (Atomics.compareExchange(idx, CONS_HEAD, head | 0, (head + k) | 0) === (head | 0)) break;
      }
    } else {
      head = idx[CONS_HEAD]! >>> 0;
      const avail = ((Atomics.load(idx, PROD_TAIL) >>> 0) - head) >>> 0;
      k = n <= avail ? n : bulk ? 0 : avail;
      if (k === 0) return 0;
      idx[CONS_HEAD] = (head + k) | 0;
    }
    const slots = this.slots;
    const mask = this.mask;
    for (let i = 0; i < k; i++) dst[off + i] = slots[(head + i) & mask]!;
    if (this.multiConsumer) {
      while ((Atomics.load(idx, CONS_TAIL) >>> 0) !== head) { /* spin: the other consumer is mid-copy */ }
    }
    Atomics.store(idx, CONS_TAIL, (head + k) | 0);
    return k;
  }
}
