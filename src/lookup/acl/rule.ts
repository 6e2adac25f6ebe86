/**
 * ACL rules over the IPv4 5-tuple (proto, source prefix, destination prefix, source and destination port
 * ranges) with DPDK's rte_acl / CNDP's cne_acl meaning: a rule matches a packet when every field matches
 * (an absent field matches anything); per category, the packet's result is the `userdata` of the matching
 * rule with the highest `priority`; among equal priorities the rule earlier in the list wins; 0 when no
 * rule of that category matches (so `userdata` 0 is refused, as rte_acl does).
 *
 * Limits as rte_acl's: priority 1 to 2^29 - 1 (RTE_ACL_MIN_PRIORITY, RTE_ACL_MAX_PRIORITY), at most 16
 * categories (RTE_ACL_MAX_CATEGORIES). Fields are host-order numbers: "10.0.0.1" is 0x0a000001.
 *
 * The classifier's key, 4 u32 words per packet: [proto, srcIp, dstIp, (srcPort << 16 | dstPort) >>> 0],
 * written by {@link aclKey} or straight from the headers.
 *
 * @example
 * const rules: AclRule[] = [
 *   { priority: 10, userdata: 1, proto: 6, dst: { ip: 0x0a000000, depth: 8 }, dstPort: { lo: 80, hi: 80 } },
 *   { priority: 5, userdata: 2, src: { ip: 0xc0a80000, depth: 16 } },
 * ];
 */

/** The lowest rule priority (rte_acl's RTE_ACL_MIN_PRIORITY). */
export const ACL_MIN_PRIORITY = 1;
/** The highest rule priority (rte_acl's RTE_ACL_MAX_PRIORITY, 2^29 - 1). */
export const ACL_MAX_PRIORITY = 0x1fffffff;
/** The most categories an ACL classifies into at once (rte_acl's RTE_ACL_MAX_CATEGORIES). */
export const ACL_MAX_CATEGORIES = 16;
/** The largest `userdata` (results are u32 and 0 means "no match"; kept below 2^31 for small integers). */
export const ACL_MAX_USERDATA = 0x7fffffff;
/** u32 words per packet in a classifier key. */
export const ACL_KEY_WORDS = 4;

/** An IPv4 prefix (host bits are ignored). Depth 0 matches any address. */
export interface AclPrefix {
  readonly ip: number;
  readonly depth: number;
}

/** An inclusive port range, 0 to 65535. */
export interface AclRange {
  readonly lo: number;
  readonly hi: number;
}

/**
 * One ACL rule. Absent fields match anything.
 *
 * @example
 * const web: AclRule = { priority: 100, userdata: 7, proto: 6, dstPort: { lo: 80, hi: 443 } };
 */
export interface AclRule {
  /** 1 (lowest) to 2^29 - 1; among equal priorities the earlier rule wins. */
  readonly priority: number;
  /** The result when this rule wins: 1 to 2^31 - 1. */
  readonly userdata: number;
  /** Bit c: the rule takes part in category c. Default: every category. */
  readonly categoryMask?: number;
  /** IP protocol number 0 to 255; absent: any. */
  readonly proto?: number;
  readonly src?: AclPrefix;
  readonly dst?: AclPrefix;
  readonly srcPort?: AclRange;
  readonly dstPort?: AclRange;
}

/** A rule as inclusive ranges per field (the builder's and the tests' form). */
export interface AclRuleRanges {
  /** [lo, hi] per dimension: proto, src, dst, srcPort, dstPort. */
  readonly lo: readonly [number, number, number, number, number];
  readonly hi: readonly [number, number, number, number, number];
  readonly priority: number;
  readonly userdata: number;
  /** Category bits, already restricted to the ACL's categories (never 0). */
  readonly categoryMask: number;
}

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;

function prefixRange(r: AclRule, name: "src" | "dst", where: string): [number, number] {
  const p = r[name];
  if (p === undefined) return [0, 0xffffffff];
  if (typeof p !== "object" || p === null) throw new RangeError(`${where}: ${name} must be { ip, depth }, got ${String(p)}`);
  if (!isInt(p.depth, 0, 32)) throw new RangeError(`${where}: ${name} depth ${String(p.depth)} is not an integer 0 to 32`);
  if (!isInt(p.ip, 0, 0xffffffff)) throw new RangeError(`${where}: ${name} ip ${String(p.ip)} is not a u32 (0 to 4294967295)`);
  const mask = p.depth === 0 ? 0 : (0xffffffff << (32 - p.depth)) >>> 0;
  const lo = (p.ip & mask) >>> 0;
  return [lo, (lo | ~mask) >>> 0];
}

function portRange(r: AclRule, name: "srcPort" | "dstPort", where: string): [number, number] {
  const p = r[name];
  if (p === undefined) return [0, 0xffff];
  if (typeof p !== "object" || p === null) throw new RangeError(`${where}: ${name} must be { lo, hi }, got ${String(p)}`);
  if (!isInt(p.lo, 0, 0xffff)) throw new RangeError(`${where}: ${name} lo ${String(p.lo)} is not a port 0 to 65535`);
  if (!isInt(p.hi, 0, 0xffff)) throw new RangeError(`${where}: ${name} hi ${String(p.hi)} is not a port 0 to 65535`);
  if (p.lo > p.hi) throw new RangeError(`${where}: ${name} lo ${p.lo} > hi ${p.hi}`);
  return [p.lo, p.hi];
}

/**
 * Checks one rule and returns it as ranges; throws a RangeError naming the rule (#index, userdata) and the
 * field. `categories` is the ACL's category count.
 *
 * @example
 * const r = aclRuleRanges({ priority: 1, userdata: 1, dstPort: { lo: 53, hi: 53 } }, 0, 1);
 * console.log(r.lo[4], r.hi[4]); // 53 53
 */
export function aclRuleRanges(r: AclRule, index: number, categories: number): AclRuleRanges {
  const where = `Invalid ACL rule #${index}${r !== null && typeof r === "object" && r.userdata !== undefined ? ` (userdata ${String(r.userdata)})` : ""}`;
  if (r === null || typeof r !== "object") throw new RangeError(`${where}: not an object`);
  if (!isInt(r.priority, ACL_MIN_PRIORITY, ACL_MAX_PRIORITY)) {
    throw new RangeError(`${where}: priority ${String(r.priority)} is not an integer ${ACL_MIN_PRIORITY} to ${ACL_MAX_PRIORITY}`);
  }
  if (!isInt(r.userdata, 1, ACL_MAX_USERDATA)) {
    throw new RangeError(`${where}: userdata ${String(r.userdata)} is not an integer 1 to ${ACL_MAX_USERDATA} (0 means no match)`);
  }
  const all = (1 << categories) - 1; // categories <= 16
  let cats = all;
  if (r.categoryMask !== undefined) {
    if (!isInt(r.categoryMask, -0x80000000, 0xffffffff)) throw new RangeError(`${where}: categoryMask ${String(r.categoryMask)} is not a 32-bit integer`);
    cats = (r.categoryMask & all) >>> 0;
    if (cats === 0) {
      throw new RangeError(`${where}: categoryMask 0x${(r.categoryMask >>> 0).toString(16)} selects none of the ACL's ${categories} categories (bits 0 to ${categories - 1})`);
    }
  }
  let proto: [number, number] = [0, 0xff];
  if (r.proto !== undefined) {
    if (!isInt(r.proto, 0, 0xff)) throw new RangeError(`${where}: proto ${String(r.proto)} is not an integer 0 to 255`);
    proto = [r.proto, r.proto];
  }
  const src = prefixRange(r, "src", where);
  const dst = prefixRange(r, "dst", where);
  const sp = portRange(r, "srcPort", where);
  const dp = portRange(r, "dstPort", where);
  return {
    lo: [proto[0], src[0], dst[0], sp[0], dp[0]],
    hi: [proto[1], src[1], dst[1], sp[1], dp[1]],
    priority: r.priority,
    userdata: r.userdata,
    categoryMask: cats,
  };
}

/**
 * Writes packet `i`'s key into `keys` (4 words per packet).
 *
 * @example
 * const keys = new Uint32Array(4 * 32);
 * aclKey(keys, 0, 17, 0x0a000001, 0x0a000002, 5000, 53);
 */
export function aclKey(keys: Uint32Array, i: number, proto: number, srcIp: number, dstIp: number, srcPort: number, dstPort: number): void {
  const k = i * ACL_KEY_WORDS;
  keys[k] = proto & 0xff;
  keys[k + 1] = srcIp;
  keys[k + 2] = dstIp;
  keys[k + 3] = ((srcPort & 0xffff) << 16) | (dstPort & 0xffff);
}
