/**
 * ACL: classify IPv4 5-tuples against prioritized rules in categories (DPDK's rte_acl, CNDP's cne_acl),
 * and cndpfwd's ACL rule text.
 *
 * @example
 * const acl = Acl.build([{ priority: 1, userdata: 1, proto: 17, dstPort: { lo: 53, hi: 53 } }]);
 * const keys = new Uint32Array(4);
 * aclKey(keys, 0, 17, 0x0a000001, 0x08080808, 5353, 53);
 * const results = new Uint32Array(1);
 * acl.classifyBulk(keys, 1, results); // results[0] === 1
 */
export { Acl, type AclShared, type AclBuildOptions } from "./acl.js";
export {
  ACL_KEY_WORDS,
  ACL_MAX_CATEGORIES,
  ACL_MAX_PRIORITY,
  ACL_MAX_USERDATA,
  ACL_MIN_PRIORITY,
  aclKey,
  aclRuleRanges,
  type AclPrefix,
  type AclRange,
  type AclRule,
  type AclRuleRanges,
} from "./rule.js";
export type { AclTreeOptions, AclTreeStats } from "./tree.js";
export { CNDP_ACL_DENY, cndpAclRules, formatCndpAclRule, parseCndpAclRule, type CndpAclRule } from "./cndp-rule.js";
