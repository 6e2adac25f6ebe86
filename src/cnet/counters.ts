/**
 * The stack's per-protocol counters (rx, tx and every reason a frame is dropped), one Float64 word each in
 * a SharedArrayBuffer: the worker adds to them, the main thread reads them (`/cnet/stats`). One writer
 * per counter set (a worker's stack).
 *
 * @example
 * const c = CnetCounters.create();
 * c.v[C.IP4_RX]! += 1;
 * console.log(c.read().ip4_rx); // 1
 */

import { TCP_COUNTER_NAMES } from "./tcp/counter-names.js";
import { IP6_COUNTER_NAMES } from "./ip6/counter-names.js";
import { FRAG_COUNTER_NAMES } from "./frag/counter-names.js";

/** Counter names, in word order: the base set, then each protocol's own list (tcp/, ip6/, frag/). */
export const COUNTER_NAMES = [
  "eth_rx", "eth_drop_short", "eth_drop_not_ours", "eth_drop_other",
  "arp_rx", "arp_tx", "arp_req_in", "arp_reply_in", "arp_reply_out", "arp_req_out", "arp_gratuitous_out",
  "arp_drop_bad", "arp_ignored", "arp_pending_held", "arp_pending_sent", "arp_pending_drop_full", "arp_pending_timeout",
  "arp_table_full", "arp_no_buf",
  "ip4_rx", "ip4_drop_bad_header", "ip4_drop_not_local", "ip4_drop_fragment", "ip4_drop_proto", "ip4_tx", "ip4_drop_no_route",
  "icmp_rx", "icmp_tx", "icmp_echo_in", "icmp_drop_bad", "icmp_ignored", "icmp_unreach_out",
  "udp_rx", "udp_tx", "udp_drop_bad", "udp_drop_cksum", "udp_no_port", "udp_drop_queue_full",
  ...TCP_COUNTER_NAMES, ...IP6_COUNTER_NAMES, ...FRAG_COUNTER_NAMES,
] as const;

/** A counter's name. */
export type CounterName = (typeof COUNTER_NAMES)[number];

/**
 * Word index of each counter, by its name in capitals (`C.IP4_RX`).
 *
 * @example
 * const c = CnetCounters.create();
 * c.v[C.UDP_NO_PORT]! += 1;
 */
export const C = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n.toUpperCase(), i])) as { readonly [K in CounterName as Uppercase<K>]: number };

/**
 * A stack's counters. See the module comment.
 *
 * @example
 * const c = CnetCounters.fromShared(CnetCounters.create().shared());
 */
export class CnetCounters {
  /** The words, indexed by {@link C}. */
  readonly v: Float64Array;

  private constructor(buf: SharedArrayBuffer) {
    this.v = new Float64Array(buf);
  }

  /**
   * Zeroed counters.
   *
   * @example
   * const c = CnetCounters.create();
   */
  static create(): CnetCounters {
    return new CnetCounters(new SharedArrayBuffer(8 * COUNTER_NAMES.length));
  }

  /**
   * The counters another thread writes.
   *
   * @example
   * const c = CnetCounters.fromShared(CnetCounters.create().shared());
   */
  static fromShared(buf: SharedArrayBuffer): CnetCounters {
    if (buf.byteLength !== 8 * COUNTER_NAMES.length) throw new RangeError(`CnetCounters: buffer of ${buf.byteLength} bytes, expected ${8 * COUNTER_NAMES.length}`);
    return new CnetCounters(buf);
  }

  /**
   * What to post to a worker.
   *
   * @example
   * const buf = CnetCounters.create().shared();
   */
  shared(): SharedArrayBuffer {
    return this.v.buffer as SharedArrayBuffer;
  }

  /**
   * Every counter by name.
   *
   * @example
   * const { udp_rx, udp_tx } = CnetCounters.create().read();
   */
  read(): Record<CounterName, number> {
    const out = {} as Record<CounterName, number>;
    COUNTER_NAMES.forEach((n, i) => { out[n] = this.v[i]!; });
    return out;
  }

  /**
   * The sum of several stacks' counters.
   *
   * @example
   * const total = CnetCounters.sum([CnetCounters.create(), CnetCounters.create()]);
   */
  static sum(all: readonly CnetCounters[]): Record<CounterName, number> {
    const out = {} as Record<CounterName, number>;
    COUNTER_NAMES.forEach((n, i) => { out[n] = all.reduce((s, c) => s + c.v[i]!, 0); });
    return out;
  }
}
