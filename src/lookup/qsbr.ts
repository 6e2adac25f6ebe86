/**
 * Quiescent-state-based reclamation (DPDK's rte_rcu_qsbr, CNDP's use of it in the FIB): how a writer on the
 * control thread knows that no worker still reads memory it has unpublished, so it can reuse it.
 *
 * Readers are worker threads, one slot each. A reader reports a quiescent state once per loop (it holds no
 * reference into the shared tables across that point), and goes offline before it sleeps. The writer
 * unpublishes (e.g. points an entry elsewhere), takes a token with {@link Qsbr.start}, and reuses the old
 * memory once {@link Qsbr.check} says every online reader has passed the token. One `Atomics` load and one
 * store per loop on the reader side; nothing allocates.
 *
 * Layout: an Int32Array over a SharedArrayBuffer: word 0 the token (starts at 1, grows, wraps safely),
 * word 1 + slot the last token the reader saw, or 0 while it is offline.
 *
 * @example
 * const q = Qsbr.create(2);            // control thread: two worker slots
 * // worker i: const q = Qsbr.fromShared(shared); q.online(i); loop { ...; q.quiescent(i); } q.offline(i);
 * const t = q.start();                 // after unpublishing a table group
 * if (q.check(t)) console.log("safe to reuse");
 */

/** What a worker needs to open the same QSBR state ({@link Qsbr.shared}). */
export interface QsbrShared {
  readonly words: SharedArrayBuffer;
  readonly readers: number;
}

const OFFLINE = 0;

/**
 * A QSBR variable over shared memory. See the module comment.
 *
 * @example
 * const q = Qsbr.create(1);
 * q.online(0);
 * const t = q.start();
 * q.quiescent(0);
 * console.log(q.check(t)); // true
 */
export class Qsbr {
  readonly readers: number;
  private readonly w: Int32Array;

  private constructor(words: SharedArrayBuffer, readers: number) {
    this.readers = readers;
    this.w = new Int32Array(words);
  }

  /**
   * A new QSBR variable with `readers` reader slots (0 to readers - 1), every reader offline.
   *
   * @example
   * const q = Qsbr.create(4);
   */
  static create(readers: number): Qsbr {
    if (!Number.isInteger(readers) || readers < 1 || readers > 1024) throw new RangeError(`Invalid QSBR reader count ${readers}: 1 to 1024`);
    const q = new Qsbr(new SharedArrayBuffer(4 * (readers + 1)), readers);
    q.w[0] = 1;
    return q;
  }

  /**
   * The same variable in another thread.
   *
   * @example
   * const q = Qsbr.fromShared(Qsbr.create(2).shared()); // in a worker: from its workerData
   */
  static fromShared(s: QsbrShared): Qsbr {
    return new Qsbr(s.words, s.readers);
  }

  /**
   * What to post to a worker.
   *
   * @example
   * const q = Qsbr.create(2);
   * const forWorker = { qsbr: q.shared() }; // post it, or pass it in workerData
   */
  shared(): QsbrShared {
    return { words: this.w.buffer as SharedArrayBuffer, readers: this.readers };
  }

  private slot(i: number): number {
    if (!(i >= 0 && i < this.readers && Number.isInteger(i))) throw new RangeError(`Invalid QSBR reader slot ${i}: 0 to ${this.readers - 1}`);
    return i + 1;
  }

  /**
   * Reader: from now on this reader may hold references (call before the first lookup, and after a sleep).
   *
   * @example
   * const q = Qsbr.create(1);
   * q.online(0);
   */
  online(i: number): void {
    Atomics.store(this.w, this.slot(i), Atomics.load(this.w, 0));
  }

  /**
   * Reader: holds no references until {@link Qsbr.online} (call before sleeping in poll()).
   *
   * @example
   * const q = Qsbr.create(1);
   * q.offline(0);
   */
  offline(i: number): void {
    Atomics.store(this.w, this.slot(i), OFFLINE);
  }

  /**
   * Reader, once per loop: holds no references across this point. Unchecked slot (the hot path).
   *
   * @example
   * const q = Qsbr.create(1);
   * q.quiescent(0);
   */
  quiescent(i: number): void {
    Atomics.store(this.w, i + 1, Atomics.load(this.w, 0));
  }

  /**
   * Writer: call after unpublishing; returns the token to pass to {@link Qsbr.check}.
   *
   * @example
   * const q = Qsbr.create(1);
   * const t = q.start();
   */
  start(): number {
    let t = (Atomics.add(this.w, 0, 1) + 1) | 0;
    if (t === OFFLINE) t = (Atomics.add(this.w, 0, 1) + 1) | 0; // never hand out the offline marker
    return t;
  }

  /**
   * Writer: true when every online reader has reported a quiescent state since `token` was taken.
   *
   * @example
   * const q = Qsbr.create(1);
   * const t = q.start();
   * while (!q.check(t)) await new Promise((r) => setTimeout(r, 1));
   */
  check(token: number): boolean {
    for (let i = 1; i <= this.readers; i++) {
      const v = Atomics.load(this.w, i);
      if (v !== OFFLINE && ((v - token) | 0) < 0) return false;
    }
    return true;
  }

  /**
   * Writer: waits (asynchronously, polling every millisecond) until `token` is passed, or `timeoutMs`.
   * Resolves true when passed, false on timeout (a reader stuck online without reporting).
   *
   * @example
   * const q = Qsbr.create(1);
   * if (!(await q.synchronize(q.start(), 1000))) throw new Error("a worker is stuck");
   */
  async synchronize(token: number, timeoutMs = 1000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.check(token)) {
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 1));
    }
    return true;
  }
}
