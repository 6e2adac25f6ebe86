/**
 * The acl-strict / acl-permissive rule table on the control thread, as cndpfwd's (examples/cndpfwd/acl-func.c):
 * rules `<src ip>/<mask>:<dst ip>/<mask>:<allow|deny>` are added to a list (`/acl/add`), the list is
 * emptied by `/acl/clear`, and `/acl/build` compiles it into a classifier that the workers pick up. Adding
 * or clearing does not change what the workers use until the next build (as in CNDP, where the context
 * is rebuilt only by `/acl/build`).
 *
 * A rule earlier in the list wins over a later one that also matches (CNDP: priority = max - index). The
 * classifier's result (userdata) is odd for allow and even for deny (index * 2 + 1 or + 2), so 0 is "no
 * rule matched".
 *
 * @example
 * const t = new AclRuleTable();
 * t.add("10.0.0.0/8:0.0.0.0/0:deny");
 * const acl = t.build(); // Acl.build over the rules
 */
import { Acl, type AclRule } from "../../lookup/acl/index.js";
import { formatIp4, parseIp4 } from "../../lookup/addr.js";

/** cndpfwd's MAX_ACL_RULE_NUM. */
export const ACL_MAX_RULES = 100000;
/** cndpfwd's ACL_RULES_PER_PAGE (`/acl/rules,p:<page>`). */
export const ACL_RULES_PER_PAGE = 32;

/** One cndpfwd ACL rule. */
export interface CndpAclRule {
  src: { ip: number; depth: number };
  dst: { ip: number; depth: number };
  deny: boolean;
}

/** The parameter text `/acl/add` expects, as cndpfwd's error says it. */
export const ACL_RULE_SYNTAX = "<src IP>/<src mask>:<dst IP>/<dst mask>:<allow|deny>";

function prefix(text: string, what: string, rule: string): { ip: number; depth: number } {
  const slash = text.indexOf("/");
  if (slash < 0) throw new RangeError(`Invalid ACL rule '${rule}': ${what} '${text}' has no /<mask>`);
  let ip: number;
  try {
    ip = parseIp4(text.slice(0, slash).trim());
  } catch (e) {
    throw new RangeError(`Invalid ACL rule '${rule}': ${what} address: ${(e as Error).message}`);
  }
  const m = text.slice(slash + 1).trim();
  if (!/^[0-9]{1,2}$/.test(m) || Number(m) > 32) throw new RangeError(`Invalid ACL rule '${rule}': ${what} mask '${m}' is not 0 to 32`);
  const depth = Number(m);
  return { ip: depth === 0 ? 0 : (ip & ((0xffffffff << (32 - depth)) >>> 0)) >>> 0, depth };
}

/**
 * Parses `src/mask:dst/mask:allow|deny` (the verdict case-insensitive, as cndpfwd's strcasecmp). Throws a
 * RangeError naming the rule and the part that is wrong. Host bits are masked off.
 *
 * @example
 * const r = parseAclRuleText("10.0.0.0/8:192.168.1.0/24:allow"); // { src: { ip: 0x0a000000, depth: 8 }, ..., deny: false }
 */
export function parseAclRuleText(text: string): CndpAclRule {
  const parts = text.split(":");
  if (parts.length !== 3) throw new RangeError(`Invalid ACL rule '${text}': ${parts.length} ':'-separated fields, expected 3 (${ACL_RULE_SYNTAX})`);
  const verdict = parts[2]!.trim().toLowerCase();
  if (verdict !== "allow" && verdict !== "deny") throw new RangeError(`Invalid ACL rule '${text}': '${parts[2]!.trim()}' is neither allow nor deny`);
  return { src: prefix(parts[0]!, "source", text), dst: prefix(parts[1]!, "destination", text), deny: verdict === "deny" };
}

/**
 * The rule as cndpfwd's `/acl/rules` prints it.
 *
 * @example
 * aclRuleJson(parseAclRuleText("10.0.0.0/8:0.0.0.0/0:deny")); // { "src addr": "10.0.0.0/8", "dst addr": "0.0.0.0/0", type: "deny" }
 */
export function aclRuleJson(r: CndpAclRule): Record<string, string> {
  return { "src addr": `${formatIp4(r.src.ip)}/${r.src.depth}`, "dst addr": `${formatIp4(r.dst.ip)}/${r.dst.depth}`, type: r.deny ? "deny" : "allow" };
}

/** The userdata of rule `index`: odd allows, even denies, never 0. */
export function aclUserdata(index: number, deny: boolean): number {
  return index * 2 + (deny ? 2 : 1);
}

/**
 * cndpfwd's rule list. `build()` compiles it; the app publishes the result to its workers.
 *
 * @example
 * const t = new AclRuleTable();
 * t.add("0.0.0.0/0:10.1.0.0/16:allow");
 * console.log(t.length, t.info()); // 1 { "num rules": 1, "max rules": 100000, "rule pages": 1, "rules per page": 32 }
 */
export class AclRuleTable {
  private readonly list: CndpAclRule[] = [];

  /** Rules in the list. */
  get length(): number {
    return this.list.length;
  }

  /**
   * Parses and appends a rule. Throws RangeError for bad text or a full list (100,000 rules, as cndpfwd).
   *
   * @example
   * t.add("10.0.0.0/8:0.0.0.0/0:deny");
   */
  add(text: string): CndpAclRule {
    const r = parseAclRuleText(text);
    if (this.list.length >= ACL_MAX_RULES) throw new RangeError(`Failed to add ACL rule: the list holds ${ACL_MAX_RULES} rules already (cndpfwd's MAX_ACL_RULE_NUM)`);
    this.list.push(r);
    return r;
  }

  /**
   * Empties the list (the workers keep the classifier they have until the next build).
   *
   * @example
   * t.clear();
   */
  clear(): void {
    this.list.length = 0;
  }

  /** The rules, in list order. */
  rules(): readonly CndpAclRule[] {
    return this.list;
  }

  /**
   * The classifier for the list as it is.
   *
   * @example
   * slot.publish(t.build().shared());
   */
  build(): Acl {
    return Acl.build(this.list.map((r, i): AclRule => ({
      priority: ACL_MAX_RULES - i, userdata: aclUserdata(i, r.deny),
      ...(r.src.depth > 0 ? { src: { ip: r.src.ip, depth: r.src.depth } } : {}),
      ...(r.dst.depth > 0 ? { dst: { ip: r.dst.ip, depth: r.dst.depth } } : {}),
    })));
  }

  /**
   * cndpfwd's `/acl/rules` reply without a parameter.
   *
   * @example
   * t.info(); // { "num rules": 0, "max rules": 100000, "rule pages": 0, "rules per page": 32 }
   */
  info(): Record<string, number> {
    return { "num rules": this.list.length, "max rules": ACL_MAX_RULES, "rule pages": Math.ceil(this.list.length / ACL_RULES_PER_PAGE), "rules per page": ACL_RULES_PER_PAGE };
  }

  /**
   * cndpfwd's `/acl/rules,p:<page>` (32 rules) and `/acl/rules,r:<index>` (one rule). Throws with
   * cndpfwd's messages for a bad parameter, page or index.
   *
   * @example
   * t.read("p:0"); // { rules: [{ "src addr": "10.0.0.0/8", "dst addr": "0.0.0.0/0", type: "deny" }] }
   */
  read(param: string): Record<string, unknown> {
    const m = /^([pPrR]):([0-9]+)$/.exec(param.trim());
    if (!m) throw new Error("Parameter must be: 'p:<page num>' or 'r:<rule num>'");
    const n = Number(m[2]);
    if (m[1]!.toLowerCase() === "p") {
      if (n >= Math.ceil(this.list.length / ACL_RULES_PER_PAGE)) throw new Error("Wrong page number");
      return { rules: this.list.slice(n * ACL_RULES_PER_PAGE, (n + 1) * ACL_RULES_PER_PAGE).map(aclRuleJson) };
    }
    const r = this.list[n];
    if (r === undefined) throw new Error("Wrong ACL rule number");
    return aclRuleJson(r);
  }
}
