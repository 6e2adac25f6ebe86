/**
 * A FIFO queue on a growable ring buffer: O(1) push and shift (Array.prototype.shift is O(n) once an
 * array leaves V8's fast path, which stalled the event loop on a queue of millions).
 */
export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private len = 0;

  constructor(capacity = 16) {
    let c = 1;
    while (c < capacity) c *= 2;
    this.buf = new Array<T | undefined>(c);
  }

  get length(): number {
    return this.len;
  }

  push(v: T): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) & (this.buf.length - 1)] = v;
    this.len++;
  }

  /** The first item, or undefined when empty. */
  peek(): T | undefined {
    return this.len === 0 ? undefined : this.buf[this.head];
  }

  shift(): T | undefined {
    if (this.len === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.len--;
    return v;
  }

  /** Removes and returns every item, in order. */
  drain(): T[] {
    const out: T[] = [];
    while (this.len > 0) out.push(this.shift() as T);
    return out;
  }

  private grow(): void {
    const old = this.buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.len; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.buf = next;
    this.head = 0;
  }
}
