/**
 * The stack's counters for TCP (tcp/), in word order after the base set (counters.ts appends them).
 * tcp_rx/tcp_tx count segments; drops name their reason; opens, resets and retransmissions follow
 * Linux's /proc/net/snmp and netstat names where one exists.
 *
 * @example
 * console.log(TCP_COUNTER_NAMES.length);
 */
export const TCP_COUNTER_NAMES = [
  "tcp_rx", "tcp_tx", "tcp_drop_cksum", "tcp_drop_bad", "tcp_drop_out_of_window", "tcp_rx_dup", "tcp_drop_paws",
  "tcp_drop_no_ack", "tcp_drop_ooo_full", "tcp_drop_rxq_full", "tcp_no_port", "tcp_rst_in", "tcp_rst_out",
  "tcp_challenge_acks", "tcp_retransmits", "tcp_fast_retransmits", "tcp_timeouts", "tcp_syn_drop_backlog",
  "tcp_syn_drop_table_full", "tcp_syn_recv_timeout", "tcp_active_opens", "tcp_passive_opens", "tcp_established",
  "tcp_attempt_fails", "tcp_estab_resets", "tcp_ooo_segs", "tcp_delayed_acks", "tcp_persist_probes",
  "tcp_keepalive_probes", "tcp_keepalive_timeouts", "tcp_time_wait", "tcp_no_buf", "tcp_out_queue_full",
  "tcp_sack_blocks_out", "tcp_sack_recovered", "tcp_loss_probes", "tcp_early_retransmits",
  "tcp_syncookies_sent", "tcp_syncookies_ok", "tcp_syncookies_failed",
  // TCP over IPv6 (ip6/tcp6.ts): segments in and out over IPv6 (also in tcp_rx/tcp_tx; drops of either
  // family in tcp_drop_cksum/tcp_drop_bad), and segments to a multicast address (dropped).
  "tcp6_rx", "tcp6_tx", "tcp6_drop_mcast",
] as const;
