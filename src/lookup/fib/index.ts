/**
 * FIB/RIB: longest-prefix-match tables for IPv4 (DIR-24-8) and IPv6 (a 24-bit first level, 8-bit strides and
 * compressed leaves), each with a RIB beside it, shared with worker threads; and CNDP's l3fwd rule format.
 *
 * @example
 * const fib = Fib4.create();
 * const r = parseFibRule("198.18.0.0/24,02:00:01:02:03:04,1");
 * fib.add(r.ip, r.depth, r.port);
 */
export { FIB_NO_ROUTE } from "./entry.js";
export { Fib4, type Fib4Options, type Fib4Shared, type Fib4Stats, type Route4 } from "./fib4.js";
export { Fib6, type Fib6Options, type Fib6Shared, type Fib6Stats } from "./fib6.js";
export { Rib4 } from "./rib4.js";
export { Rib6, type Route6 } from "./rib6.js";
export { parseFibRule, formatFibRule, FIB_RULE_MAX_PORT, type FibRule } from "./rules.js";
