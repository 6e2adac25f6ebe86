/**
 * A bounded FIFO of frame handles, used on one thread: channel receive queues, the channels' send
 * queue, TCP's segments waiting for `ip4_output`.
 *
 * @example
 * const q = new HandleQueue(1024);
 * q.push(7);
 */
export class HandleQueue {
  // `declare` fields: class-field declarations slow V8's hot paths (NOTES.md).
  declare private readonly q: Uint32Array;
  declare private readonly mask: number;
  declare private head: number;
  declare private tail: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`HandleQueue: capacity ${capacity} is not a power of two >= 2`);
    this.q = new Uint32Array(capacity);
    this.mask = capacity - 1;
    this.head = 0;
    this.tail = 0;
  }

  /** Handles queued. */
  get length(): number {
    return this.tail - this.head;
  }

  /** Appends `h`; false when full. */
  push(h: number): boolean {
    if (this.tail - this.head > this.mask) return false;
    this.q[this.tail & this.mask] = h;
    this.tail++;
    return true;
  }

  /** Moves up to `max` handles to `out[off..)`; returns how many. Empty, it starts again at 0. */
  shift(out: Uint32Array, max: number, off = 0): number {
    const k = Math.min(max, this.tail - this.head);
    for (let i = 0; i < k; i++) out[off + i] = this.q[(this.head + i) & this.mask]!;
    this.head += k;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    }
    return k;
  }
}
