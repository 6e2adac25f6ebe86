/**
 * The stack's counters for IPv6, ND and ICMPv6 (ip6/), in word order after the base set (counters.ts appends them).
 *
 * @example
 * console.log(IP6_COUNTER_NAMES.length);
 */
export const IP6_COUNTER_NAMES = [] as const;
