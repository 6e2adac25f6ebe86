/**
 * Free lists of fixed-size table parts (tbl8 groups, IPv6 leaves) with deferred reuse: a part the writer
 * has unpublished may still be read by a worker that loaded the old pointer, so it is not handed out again
 * until that is impossible:
 * - with a {@link Qsbr}: the part waits on a pending list with a token taken after unpublishing, and is
 *   reused once every online reader has reported a quiescent state since (checked on allocation, or by
 *   {@link IndexPool.reclaim});
 * - without a Qsbr, before the table was ever shared with another thread: reused at once (no other reader
 *   exists, and a lookup on the writer's thread never overlaps an update);
 * - without a Qsbr after the table was shared: never reused (counted in {@link IndexPool.retired}); the
 *   capacity shrinks by one part per unpublished part, so a table updated at run time wants a Qsbr.
 * Control path only.
 *
 * @example
 * const pool = new IndexPool(4, null);
 * const g = pool.alloc();
 * pool.retire(g);
 */
import type { Qsbr } from "../qsbr.js";

/**
 * A pool of indices 0 .. capacity - 1. See the module comment.
 *
 * @example
 * const pool = new IndexPool(1024, Qsbr.create(2));
 */
export class IndexPool {
  /** Set once the table was posted to another thread (no Qsbr: unpublished parts are never reused). */
  shared = false;
  /** Parts unpublished while shared without a Qsbr: lost for good. */
  retired = 0;
  private readonly free: number[] = [];
  private readonly pendIdx: number[] = [];
  private readonly pendTok: number[] = [];
  private pendHead = 0;
  private inUse = 0;

  /**
   * A pool of `capacity` free parts.
   *
   * @example
   * const pool = new IndexPool(16, null);
   */
  constructor(
    readonly capacity: number,
    private readonly qsbr: Qsbr | null,
  ) {
    for (let i = capacity - 1; i >= 0; i--) this.free.push(i);
  }

  /**
   * Parts in use (allocated and not retired).
   *
   * @example
   * console.log(new IndexPool(4, null).used); // 0
   */
  get used(): number {
    return this.inUse;
  }

  /**
   * Parts waiting for a grace period.
   *
   * @example
   * console.log(new IndexPool(4, null).pending); // 0
   */
  get pending(): number {
    return this.pendIdx.length - this.pendHead;
  }

  /**
   * Parts that can be allocated now (reclaiming those whose grace period passed first).
   *
   * @example
   * console.log(new IndexPool(4, null).available()); // 4
   */
  available(): number {
    this.reclaim();
    return this.free.length;
  }

  /**
   * Moves pending parts whose grace period passed to the free list; returns how many.
   *
   * @example
   * const n = new IndexPool(4, null).reclaim(); // 0
   */
  reclaim(): number {
    const q = this.qsbr;
    if (q === null) return 0;
    let n = 0;
    // Tokens grow in list order: stop at the first one not yet passed.
    while (this.pendHead < this.pendIdx.length && q.check(this.pendTok[this.pendHead] as number)) {
      this.free.push(this.pendIdx[this.pendHead] as number);
      this.pendHead++;
      n++;
    }
    if (this.pendHead === this.pendIdx.length) {
      this.pendIdx.length = 0;
      this.pendTok.length = 0;
      this.pendHead = 0;
    }
    return n;
  }

  /**
   * A free part; throws when none is left (callers check {@link IndexPool.available} before changing anything).
   *
   * @example
   * const i = new IndexPool(4, null).alloc(); // 0
   */
  alloc(): number {
    if (this.free.length === 0) this.reclaim();
    const i = this.free.pop();
    if (i === undefined) throw new RangeError(`Table pool exhausted: ${this.capacity} parts, ${this.pending} waiting for a grace period`);
    this.inUse++;
    return i;
  }

  /**
   * Gives back a part the writer has just unpublished (call after the store that removed the last pointer).
   *
   * @example
   * const pool = new IndexPool(4, null);
   * pool.retire(pool.alloc());
   */
  retire(i: number): void {
    this.inUse--;
    if (this.qsbr !== null) {
      this.pendIdx.push(i);
      this.pendTok.push(this.qsbr.start());
    } else if (!this.shared) {
      this.free.push(i);
    } else {
      this.retired++;
    }
  }
}
