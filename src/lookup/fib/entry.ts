/**
 * The 32-bit table entry shared by {@link Fib4} and {@link Fib6}, and the checks of route arguments.
 *
 * An entry is one aligned Int32 word:
 * - `>= 0`: a next hop, stored as `nh ^ FIB_NO_ROUTE`, so that a zero-filled (fresh) table means "no route"
 *   everywhere without writing it: a lookup returns `entry ^ FIB_NO_ROUTE`;
 * - `< 0` with bit 30 clear: a tbl8 group, `0x80000000 | group << 8` (the group's first index);
 * - `< 0` with bit 30 set (IPv6 only): a leaf, `0xc0000000 | leaf << 3` (the leaf's first word).
 *
 * @example
 * console.log(FIB_NO_ROUTE); // 2147483647: what a lookup returns on a miss
 */

/**
 * What a lookup returns when no route matches. Valid next hops are the integers 0 .. FIB_NO_ROUTE - 1.
 *
 * @example
 * const fib = Fib4.create();
 * if (fib.lookup(0x0a000001) === FIB_NO_ROUTE) console.log("no route");
 */
export const FIB_NO_ROUTE = 0x7fffffff;

/** Pointer flag (the sign bit). */
export const ENTRY_PTR = 0x80000000 | 0;
/** Leaf flag (with the pointer flag). */
export const ENTRY_LEAF = 0x40000000;
/** Mask of a group pointer's first index. */
export const GROUP_MASK = 0x3fffff00;
/** Mask of a leaf pointer's first word. */
export const LEAF_MASK = 0x3fffffff;
/** Most tbl8 groups a table can have (the group index has 22 bits). */
export const MAX_TBL8_GROUPS = 1 << 22;

/** A route argument check failed: throws a RangeError naming the call, the route and the bad value. */
function bad(where: string, what: string): never {
  throw new RangeError(`${where}: ${what}`);
}

/**
 * Checks a depth (0 .. max).
 *
 * @example
 * checkDepth("Fib4.add 10.0.0.0/8", 8, 32);
 */
export function checkDepth(where: string, depth: number, max: number): void {
  if (!Number.isInteger(depth) || depth < 0 || depth > max) bad(where, `depth ${depth} is not an integer 0 to ${max}`);
}

/**
 * Checks a next hop (0 .. FIB_NO_ROUTE - 1).
 *
 * @example
 * checkNextHop("Fib4.add 10.0.0.0/8", 5);
 */
export function checkNextHop(where: string, nh: number): void {
  if (!Number.isInteger(nh) || nh < 0 || nh >= FIB_NO_ROUTE) {
    bad(where, `next hop ${nh} is not an integer 0 to ${FIB_NO_ROUTE - 1} (FIB_NO_ROUTE - 1)`);
  }
}

/**
 * Checks an IPv4 address given as a u32 number.
 *
 * @example
 * checkIp4("Fib4.add", 0x0a000000);
 */
export function checkIp4(where: string, ip: number): void {
  if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff) bad(where, `address ${ip} is not a u32 (0 to 4294967295)`);
}

/**
 * Checks an IPv6 address given as 16 bytes.
 *
 * @example
 * checkIp6("Fib6.add", new Uint8Array(16));
 */
export function checkIp6(where: string, ip: Uint8Array): void {
  if (!(ip instanceof Uint8Array) || ip.length !== 16) {
    bad(where, `address is not a 16-byte Uint8Array (${ip instanceof Uint8Array ? `${ip.length} bytes` : typeof ip})`);
  }
}

/**
 * Checks a table size option.
 *
 * @example
 * checkCount("Fib4.create", "maxTbl8Groups", 256, 1, MAX_TBL8_GROUPS);
 */
export function checkCount(where: string, name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) bad(where, `${name} ${v} is not an integer ${min} to ${max}`);
}
