/**
 * The jsonc options of the l3fwd and ACL modes, checked before anything is built; a bad value is a
 * ConfigError naming `file:line:column` and the key (`options."l3fwd-fib-rules"[1]`):
 *
 * | key | mode | value |
 * | --- | --- | --- |
 * | `l3fwd-fib-rules` | l3fwd (CNDP's) | array of `"<ip>/<depth>,<next-hop MAC>,<tx lport index>"` |
 * | `acl-rules` | acl-strict, acl-permissive (xdplane) | array of `"<src ip>/<mask>:<dst ip>/<mask>:<allow\|deny>"`, built at start |
 *
 * @example
 * const rules = l3fwdRulesOf(config); // FibRule[], tx ports checked against the config's lports
 */
import type { AppConfig } from "../../config/types.js";
import { configError } from "../../config/errors.js";
import { parseFibRule, type FibRule } from "../../lookup/fib/rules.js";
import { parseAclRuleText } from "./acl-rules.js";

/** CNDP's option key for l3fwd's static routes. */
export const FIB_RULES_KEY = "l3fwd-fib-rules";
/** xdplane's option key for the ACL modes' rules at start. */
export const ACL_RULES_KEY = "acl-rules";

function stringsOf(cfg: AppConfig, key: string, what: string): readonly string[] {
  const v = cfg.options.get(key);
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw configError(cfg, ["options", key], `expected an array of ${what} strings, got ${JSON.stringify(v)}`);
  }
  return v as readonly string[];
}

/**
 * The routes of `options."l3fwd-fib-rules"`, each checked (format, and a tx port among the config's
 * lports). Throws a ConfigError at the first bad rule.
 *
 * @example
 * for (const r of l3fwdRulesOf(config)) routes.add(r);
 */
export function l3fwdRulesOf(cfg: AppConfig): FibRule[] {
  const nports = cfg.lports.size;
  return stringsOf(cfg, FIB_RULES_KEY, '"<ip>/<depth>,<next-hop MAC>,<tx lport index>"').map((text, i) => {
    let r: FibRule;
    try {
      r = parseFibRule(text);
    } catch (e) {
      throw configError(cfg, ["options", FIB_RULES_KEY, i], (e as Error).message);
    }
    if (r.port >= nports) {
      throw configError(cfg, ["options", FIB_RULES_KEY, i], `Invalid FIB rule '${text}': tx port ${r.port} does not exist (the config has ${nports} lport${nports === 1 ? "" : "s"}, 0 to ${nports - 1})`);
    }
    return r;
  });
}

/**
 * The rule texts of `options."acl-rules"`, each checked. Throws a ConfigError at the first bad rule.
 *
 * @example
 * for (const text of aclRulesOf(config)) table.add(text);
 */
export function aclRulesOf(cfg: AppConfig): readonly string[] {
  const list = stringsOf(cfg, ACL_RULES_KEY, '"<src ip>/<mask>:<dst ip>/<mask>:<allow|deny>"');
  list.forEach((text, i) => {
    try {
      parseAclRuleText(text);
    } catch (e) {
      throw configError(cfg, ["options", ACL_RULES_KEY, i], (e as Error).message);
    }
  });
  return list;
}
