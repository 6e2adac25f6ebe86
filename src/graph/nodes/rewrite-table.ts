/**
 * The next hops `ip4_rewrite` uses (CNDP's cne_node_ip4_rewrite_add): next-hop index -> (destination MAC,
 * tx lport), in SharedArrayBuffers the control thread writes and the workers read. The FIB maps a prefix
 * to a next-hop index; `ip4_lookup` keeps that index in the frame's `udata`; `ip4_rewrite` reads the entry.
 *
 * An entry is written before any route points to it: {@link RewriteTable.set} clears the port, writes the
 * MAC, then publishes the port with an Atomics store. Changing an entry that routes still point to lets a
 * burst in flight see the old port with the new MAC; give a changed next hop a new index instead.
 */
import { formatMac } from "../../lookup/addr.js";

/** Bytes per entry in {@link RewriteTable.mac} (6 used). */
export const REWRITE_MAC_STRIDE = 8;

/**
 * What a worker needs to read the table.
 *
 * @example
 * const s: RewriteTableShared = RewriteTable.create(16).shared(); // structured-cloneable: post it to a worker
 */
export interface RewriteTableShared {
  readonly mac: SharedArrayBuffer;
  readonly port: SharedArrayBuffer;
  readonly capacity: number;
}

/**
 * The next-hop table.
 *
 * @example
 * const t = RewriteTable.create(256);
 * t.set(0, new Uint8Array([2, 0, 0, 0, 0, 2]), 1); // next hop 0: to 02:00:00:00:00:02 on lport 1
 */
export class RewriteTable {
  readonly capacity: number;
  /** Destination MACs, {@link REWRITE_MAC_STRIDE} bytes per entry. */
  readonly mac: Uint8Array;
  /** Tx lport per entry, -1 when the entry is unset. */
  readonly port: Int32Array;

  private constructor(s: RewriteTableShared) {
    this.capacity = s.capacity;
    this.mac = new Uint8Array(s.mac);
    this.port = new Int32Array(s.port);
  }

  /**
   * An empty table of `capacity` entries (1 to 2^24).
   *
   * @example
   * const t = RewriteTable.create(1024);
   */
  static create(capacity: number): RewriteTable {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) throw new RangeError(`Invalid next-hop table capacity ${capacity}: 1 to ${1 << 24}`);
    const t = new RewriteTable({ mac: new SharedArrayBuffer(capacity * REWRITE_MAC_STRIDE), port: new SharedArrayBuffer(capacity * 4), capacity });
    t.port.fill(-1);
    return t;
  }

  /**
   * The same table in another thread.
   *
   * @example
   * const shared = RewriteTable.create(16).shared(); // control thread
   * const t = RewriteTable.fromShared(shared);       // worker
   */
  static fromShared(s: RewriteTableShared): RewriteTable {
    return new RewriteTable(s);
  }

  /**
   * The plain form for another thread.
   *
   * @example
   * const table = RewriteTable.create(16);
   * const s = table.shared();
   */
  shared(): RewriteTableShared {
    return { mac: this.mac.buffer as SharedArrayBuffer, port: this.port.buffer as SharedArrayBuffer, capacity: this.capacity };
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.capacity) throw new RangeError(`Invalid next-hop index ${index}: 0 to ${this.capacity - 1}`);
  }

  /**
   * Sets next hop `index`: frames routed to it leave on lport `port` with destination MAC `mac`.
   *
   * @example
   * const table = RewriteTable.create(16);
   * table.set(3, new Uint8Array([2, 0, 0, 0, 0, 9]), 0);
   */
  set(index: number, mac: Uint8Array, port: number): void {
    this.check(index);
    if (mac.length !== 6) throw new RangeError(`Invalid MAC for next hop ${index}: ${mac.length} bytes, 6 expected`);
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`Invalid tx lport ${port} for next hop ${index}: 0 to 65535`);
    Atomics.store(this.port, index, -1);
    this.mac.set(mac, index * REWRITE_MAC_STRIDE);
    Atomics.store(this.port, index, port);
  }

  /**
   * Unsets next hop `index` (frames still routed to it are dropped).
   *
   * @example
   * const table = RewriteTable.create(16);
   * table.clear(3);
   */
  clear(index: number): void {
    this.check(index);
    Atomics.store(this.port, index, -1);
  }

  /**
   * Next hop `index` as text fields, or null when unset.
   *
   * @example
   * const table = RewriteTable.create(16);
   * table.set(0, new Uint8Array([2, 0, 0, 0, 0, 2]), 1);
   * console.log(table.get(0)); // { mac: "02:00:00:00:00:02", port: 1 }
   */
  get(index: number): { mac: string; port: number } | null {
    this.check(index);
    const port = Atomics.load(this.port, index);
    return port < 0 ? null : { mac: formatMac(this.mac, index * REWRITE_MAC_STRIDE), port };
  }
}
