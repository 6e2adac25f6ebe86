/**
 * The stack's counters for IPv4 fragment reassembly and fragmentation, ICMP errors and the TAP punt (frag/), in word order after the base set (counters.ts appends them).
 *
 * - `ip4_frag_rx`: fragments ip4_input passed to ip4_reasm; `ip4_reasm_ok`: datagrams completed
 *   (`ip4_reasm_chained`: of them, delivered as an mbuf chain, the rest linearised into one buffer);
 *   `ip4_reasm_dup`: exact duplicates dropped (the datagram lives on); `ip4_reasm_drop_overlap`,
 *   `ip4_reasm_drop_bad` (length not a multiple of 8, past 65535, conflicting ends),
 *   `ip4_reasm_drop_too_many_frags` (the per-datagram limit): the whole datagram dropped;
 *   `ip4_reasm_drop_table_full`, `ip4_reasm_drop_held_full`: a fragment of a new datagram (or one more
 *   fragment) refused by the table's bounds; `ip4_reasm_timeout`: datagrams expired (their fragments in
 *   `ip4_reasm_timeout_frags`); `ip4_reasm_drop_proto`: a completed datagram TCP cannot take as a chain.
 * - `ip4_frag_out`: datagrams ip4_output fragmented, `ip4_frag_created`: the fragments made;
 *   `ip4_frag_drop_df`: too big with DF set (TCP); `ip4_frag_drop_no_buf`: the pool ran out.
 * - `icmp_time_exceeded_out` (reassembly timeout, code 1), `icmp_proto_unreach_out`, `icmp_frag_needed_out`;
 *   `icmp_err_rate_limited`: errors the token bucket refused; `icmp_err_suppressed`: errors never sent
 *   (in answer to an ICMP error, a broadcast or multicast, a non-first fragment, a bad source).
 * - `punt_tx`: frames written to the TAP, `punt_drop`: refused by it; `punt_rx`: frames the kernel wrote
 *   to the TAP, `punt_rx_ip4`: of them, IPv4 routed and resolved by the stack, `punt_rx_raw`: sent as they were.
 *
 * @example
 * console.log(FRAG_COUNTER_NAMES.length);
 */
export const FRAG_COUNTER_NAMES = [
  "ip4_frag_rx", "ip4_reasm_ok", "ip4_reasm_chained", "ip4_reasm_dup", "ip4_reasm_drop_overlap", "ip4_reasm_drop_bad",
  "ip4_reasm_drop_too_many_frags", "ip4_reasm_drop_table_full", "ip4_reasm_drop_held_full", "ip4_reasm_timeout",
  "ip4_reasm_timeout_frags", "ip4_reasm_drop_proto",
  "ip4_frag_out", "ip4_frag_created", "ip4_frag_drop_df", "ip4_frag_drop_no_buf",
  "icmp_time_exceeded_out", "icmp_proto_unreach_out", "icmp_frag_needed_out", "icmp_err_rate_limited", "icmp_err_suppressed",
  "punt_tx", "punt_drop", "punt_rx", "punt_rx_ip4", "punt_rx_raw",
] as const;
