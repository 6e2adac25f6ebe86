/**
 * The stack's counters for TCP (tcp/), in word order after the base set (counters.ts appends them).
 *
 * @example
 * console.log(TCP_COUNTER_NAMES.length);
 */
export const TCP_COUNTER_NAMES = [] as const;
