/**
 * l3fwd's next-hop table: next-hop index -> (destination MAC, tx port), in SharedArrayBuffers that the
 * workers read while the control thread changes routes. The FIB's next hop is an index into this table
 * (CNDP packs MAC and port into a 64-bit next hop; our FIB's next hops are u32 indices).
 *
 * Routes with the same (MAC, port) share one entry (reference counted on the control thread). An entry is
 * written before any route points at it and never changed while one does; an entry whose last route went
 * away is reused only after a QSBR grace period (every worker has passed a quiescent state since), so a
 * worker that looked a route up just before its deletion still reads the entry it found.
 *
 * Layout: `mac` 8 bytes per entry (6 used), `port` one Int32 per entry (-1 until first used; a released
 * entry keeps its values until it is reused).
 *
 * @example
 * const nh = NextHopTable.create({ capacity: 1024, qsbr: Qsbr.create(1) });
 * const i = nh.acquire(parseMac("02:00:00:00:00:01"), 1); // index for fib.add(ip, depth, i)
 * // worker: const v = NextHopTable.fromShared(nh.shared()); v.port[i], v.mac[i * 8 .. i * 8 + 5]
 * nh.release(i);
 */
import type { Qsbr } from "../../lookup/qsbr.js";
import { formatMac } from "../../lookup/addr.js";

/** Bytes per entry in {@link NextHopTable.mac}. */
export const NH_MAC_STRIDE = 8;

/** What a worker needs to read the table ({@link NextHopTable.shared}). */
export interface NextHopShared {
  mac: SharedArrayBuffer;
  port: SharedArrayBuffer;
  capacity: number;
}

/**
 * The next-hop table. The control thread acquires and releases entries; workers read `mac` and `port`.
 *
 * @example
 * const nh = NextHopTable.create({ capacity: 16, qsbr: Qsbr.create(1) });
 * const a = nh.acquire(new Uint8Array([2, 0, 0, 0, 0, 1]), 0);
 * const b = nh.acquire(new Uint8Array([2, 0, 0, 0, 0, 1]), 0); // the same entry: a === b
 */
export class NextHopTable {
  readonly capacity: number;
  /** Destination MACs, {@link NH_MAC_STRIDE} bytes per entry. */
  readonly mac: Uint8Array;
  /** Tx port (lport index) per entry, -1 until first used. */
  readonly port: Int32Array;
  private readonly qsbr: Qsbr | null;
  private readonly refs: Int32Array;
  private readonly byKey = new Map<string, number>();
  /** Never-used indices are handed out from `next`; released ones wait for their grace period. */
  private next = 0;
  private readonly free: number[] = [];
  private readonly pending: { index: number; token: number }[] = [];

  private constructor(mac: SharedArrayBuffer, port: SharedArrayBuffer, capacity: number, qsbr: Qsbr | null, writer: boolean) {
    this.capacity = capacity;
    this.mac = new Uint8Array(mac);
    this.port = new Int32Array(port);
    this.qsbr = qsbr;
    this.refs = new Int32Array(writer ? capacity : 0);
  }

  /**
   * A table of `capacity` entries (default 65536) on the control thread. Without `qsbr` a released entry
   * is reused at once (for single-threaded use and tests).
   *
   * @example
   * const nh = NextHopTable.create({ capacity: 4096, qsbr });
   */
  static create(o: { capacity?: number; qsbr?: Qsbr } = {}): NextHopTable {
    const capacity = o.capacity ?? 65536;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) throw new RangeError(`Invalid next-hop capacity ${capacity}: 1 to ${1 << 24}`);
    const t = new NextHopTable(new SharedArrayBuffer(capacity * NH_MAC_STRIDE), new SharedArrayBuffer(capacity * 4), capacity, o.qsbr ?? null, true);
    t.port.fill(-1);
    return t;
  }

  /**
   * A read-only view in a worker thread.
   *
   * @example
   * const nh = NextHopTable.fromShared(data.nextHops);
   * const port = nh.port[nextHop]!;
   */
  static fromShared(s: NextHopShared): NextHopTable {
    return new NextHopTable(s.mac, s.port, s.capacity, null, false);
  }

  /**
   * What to post to a worker.
   *
   * @example
   * const data = { nextHops: nh.shared() };
   */
  shared(): NextHopShared {
    return { mac: this.mac.buffer as SharedArrayBuffer, port: this.port.buffer as SharedArrayBuffer, capacity: this.capacity };
  }

  /** Entries in use (at least one route points at them). */
  get size(): number {
    return this.byKey.size;
  }

  /**
   * The entry for (mac, port), shared with the routes that already use it, or a new one; one more
   * reference. Throws RangeError when every entry is in use or still in its grace period.
   *
   * @example
   * const i = nh.acquire(parseMac("02:00:00:00:00:01"), 1);
   */
  acquire(mac: Uint8Array, port: number): number {
    if (this.refs.length === 0) throw new Error("NextHopTable.acquire: a worker's view is read-only");
    if (mac.length !== 6) throw new RangeError(`Invalid next-hop MAC: ${mac.length} bytes, expected 6`);
    if (!Number.isInteger(port) || port < 0 || port > 0x7fffffff) throw new RangeError(`Invalid next-hop port ${port}`);
    const key = `${formatMac(mac)}|${port}`;
    const have = this.byKey.get(key);
    if (have !== undefined) {
      this.refs[have]!++;
      return have;
    }
    const i = this.take();
    if (i < 0) {
      throw new RangeError(`Next-hop table full: ${this.capacity} distinct (MAC, port) next hops in use or waiting for the workers' grace period`);
    }
    // Written before any route can point here (the FIB add that follows publishes the index).
    this.mac.set(mac, i * NH_MAC_STRIDE);
    Atomics.store(this.port, i, port);
    this.refs[i] = 1;
    this.byKey.set(key, i);
    return i;
  }

  /**
   * Drops one reference; the last one frees the entry after the grace period.
   *
   * @example
   * nh.release(i); // after fib.delete / fib.add that no longer points at i
   */
  release(i: number): void {
    if (this.refs.length === 0) throw new Error("NextHopTable.release: a worker's view is read-only");
    if (!(i >= 0 && i < this.next) || this.refs[i]! <= 0) throw new RangeError(`Next hop ${i} is not in use`);
    if (--this.refs[i]! > 0) return;
    this.byKey.delete(`${formatMac(this.mac, i * NH_MAC_STRIDE)}|${this.port[i]!}`);
    if (this.qsbr === null) this.free.push(i);
    else this.pending.push({ index: i, token: this.qsbr.start() });
  }

  /** References of an entry (0 when free). */
  refCount(i: number): number {
    return this.refs[i] ?? 0;
  }

  /** The entry's MAC as text and its port. */
  entry(i: number): { mac: string; port: number } {
    return { mac: formatMac(this.mac, i * NH_MAC_STRIDE), port: this.port[i]! };
  }

  private take(): number {
    // Released entries whose grace period is over come back first, in release order.
    while (this.pending.length > 0 && this.qsbr!.check(this.pending[0]!.token)) this.free.push(this.pending.shift()!.index);
    const f = this.free.shift();
    if (f !== undefined) return f;
    if (this.next < this.capacity) return this.next++;
    return -1;
  }
}
