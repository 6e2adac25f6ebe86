/**
 * Per-port counters of the l3fwd and ACL modes, in one Float64Array over a SharedArrayBuffer: a port's
 * slots are written only by the thread that serves it (counted where the frame was received), read by the
 * main thread for the app socket. cndpfwd keeps its ACL counters per port too and reports them in
 * `/metrics/port_stats` as `<port>_n_acl_prefilter_drop_packets`, `_n_acl_permit_packets` and
 * `_n_acl_deny_packets`; the l3fwd ones follow the same pattern.
 *
 * @example
 * const mc = new Float64Array(new SharedArrayBuffer(nports * MC_WORDS * 8));
 * mc[port * MC_WORDS + MC_L3_NO_ROUTE]! += 1; // in the worker
 * modeCounterKeys(M_L3FWD); // ["n_l3fwd_forwarded_packets", "n_l3fwd_no_route_packets", ...]
 */
import { M_L3FWD, M_ACL_STRICT, M_ACL_PERMISSIVE } from "./modes.js";

/** Float64 slots per port. */
export const MC_WORDS = 4;

/** l3fwd: frames routed (sent or handed to the tx port's thread). */
export const MC_L3_FORWARDED = 0;
/** l3fwd: IPv4 frames no route matched, dropped. */
export const MC_L3_NO_ROUTE = 1;
/** l3fwd: valid IPv4 frames with TTL <= 1, dropped (before the route lookup, as the XDP fast path). */
export const MC_L3_TTL = 2;
/** l3fwd: frames that are not valid IPv4 (ethertype, RFC 1812 header checks), dropped. */
export const MC_L3_INVALID = 3;

/** ACL: frames a rule allowed or (acl-permissive) no rule denied, forwarded. */
export const MC_ACL_PERMIT = 0;
/** ACL: frames a rule denied or (acl-strict) no rule allowed, dropped. */
export const MC_ACL_DENY = 1;
/** ACL: frames that are not valid IPv4, dropped before classification. */
export const MC_ACL_PREFILTER = 2;

/**
 * The `/metrics/port_stats` key suffixes of a mode's counters, by slot (empty for modes without any).
 *
 * @example
 * modeCounterKeys(M_ACL_STRICT)[MC_ACL_DENY]; // "n_acl_deny_packets"
 */
export function modeCounterKeys(mode: number): readonly string[] {
  if (mode === M_L3FWD) return ["n_l3fwd_forwarded_packets", "n_l3fwd_no_route_packets", "n_l3fwd_ttl_expired_packets", "n_l3fwd_invalid_packets"];
  if (mode === M_ACL_STRICT || mode === M_ACL_PERMISSIVE) return ["n_acl_permit_packets", "n_acl_deny_packets", "n_acl_prefilter_drop_packets"];
  return [];
}

/**
 * The thread-counter names of a mode's counters, by slot (`/metrics/thread_stats`, `xdplane stats`).
 *
 * @example
 * modeThreadCounterNames(M_L3FWD)[MC_L3_TTL]; // "l3fwd_ttl_expired"
 */
export function modeThreadCounterNames(mode: number): readonly string[] {
  return modeCounterKeys(mode).map((k) => k.replace(/^n_/, "").replace(/_packets$/, ""));
}
