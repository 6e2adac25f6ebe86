/**
 * The stack's counters for IPv6, ND, ICMPv6 and UDP over IPv6 (ip6/), in word order after the base set (counters.ts appends them).
 *
 * @example
 * console.log(IP6_COUNTER_NAMES.length);
 */
export const IP6_COUNTER_NAMES = [
  // ip6_input / ip6_output (eth_input counts IPv6 multicast MACs we do not listen to)
  "ip6_rx", "ip6_tx", "ip6_drop_truncated", "ip6_drop_version", "ip6_drop_hop_limit", "ip6_drop_bad_src",
  "ip6_drop_not_local", "ip6_drop_mcast_mac", "ip6_drop_ext_bad", "ip6_drop_option", "ip6_drop_fragment",
  "ip6_drop_routing", "ip6_drop_proto", "ip6_drop_no_next", "ip6_ext_skipped", "ip6_drop_no_route",
  // icmp6_input
  "icmp6_rx", "icmp6_tx", "icmp6_echo_in", "icmp6_echo_reply_in", "icmp6_drop_short", "icmp6_drop_cksum",
  "icmp6_error_in", "icmp6_ignored",
  // neighbour discovery (RFC 4861) and duplicate address detection (RFC 4862)
  "nd_ns_in", "nd_na_in", "nd_ns_out", "nd_na_out", "nd_probe_out", "nd_drop_bad", "nd_ignored",
  "nd_dad_ns_out", "nd_dad_ok", "nd_dad_duplicate", "nd_unsolicited_na_out",
  "nd_pending_held", "nd_pending_sent", "nd_pending_drop_full", "nd_pending_timeout", "nd_table_full",
  "nd_no_source", "nd_no_buf",
  // udp6_input / udp6_output (ip6/udp6.ts) and the ICMPv6 errors they send (ip6/icmp6-error.ts)
  "udp6_rx", "udp6_tx", "udp6_drop_bad", "udp6_drop_cksum", "udp6_drop_zero_cksum", "udp6_drop_mcast",
  "udp6_no_port", "udp6_drop_queue_full", "udp6_drop_no_source",
  "icmp6_unreach_out", "icmp6_err_suppressed", "icmp6_err_rate_limited",
] as const;
