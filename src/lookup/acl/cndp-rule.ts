/**
 * CNDP's cndpfwd ACL rules (examples/cndpfwd/acl-func.c): the app-socket command
 * `/acl/add,<src ip>/<mask>:<dst ip>/<mask>:<allow|deny>` adds one, `/acl/build` rebuilds the classifier
 * from the list. Each rule matches on the source and destination prefixes only (any protocol, any port);
 * an earlier rule wins over a later one. In `acl-strict` mode a packet is forwarded only when its rule
 * allows it; in `acl-permissive` mode unless its rule denies it.
 *
 * {@link parseCndpAclRule} reads the parameter text; {@link cndpAclRules} turns a list into ACL rules
 * whose results encode the verdict: 0 no rule, bit 0 set deny, clear allow, `(result >>> 1) - 1` the
 * rule's index in the list.
 *
 * @example
 * const list = ["10.0.0.0/8:0.0.0.0/0:deny", "0.0.0.0/0:192.168.1.0/24:allow"].map(parseCndpAclRule);
 * const acl = Acl.build(cndpAclRules(list));
 */
import { formatIp4, parsePrefix4 } from "../addr.js";
import { ACL_MAX_PRIORITY, type AclPrefix, type AclRule } from "./rule.js";

/** One cndpfwd ACL rule: source and destination prefixes and the verdict. */
export interface CndpAclRule {
  readonly src: AclPrefix;
  readonly dst: AclPrefix;
  readonly allow: boolean;
}

/** The verdict bit of a {@link cndpAclRules} result: set for deny. */
export const CNDP_ACL_DENY = 1;

/**
 * Parses `<src ip>/<mask>:<dst ip>/<mask>:<allow|deny>` (the parameter of CNDP's `/acl/add`; masks 0 to
 * 32, host bits ignored, the verdict in any case). Throws a RangeError naming the text and the part that
 * is wrong.
 *
 * @example
 * const r = parseCndpAclRule("10.1.0.0/16:0.0.0.0/0:deny");
 * // { src: { ip: 0x0a010000, depth: 16 }, dst: { ip: 0, depth: 0 }, allow: false }
 */
export function parseCndpAclRule(text: string): CndpAclRule {
  if (typeof text !== "string") throw new RangeError(`Invalid ACL rule ${String(text)}: not a string`);
  const usage = "expected <src IP>/<src mask>:<dst IP>/<dst mask>:<allow|deny>";
  const parts = text.trim().split(":");
  if (parts.length !== 3) throw new RangeError(`Invalid ACL rule '${text}': ${usage}`);
  const [srcText, dstText, verdict] = parts as [string, string, string];
  const prefix = (p: string, which: string): AclPrefix => {
    try {
      return parsePrefix4(p.trim());
    } catch (e) {
      throw new RangeError(`Invalid ACL rule '${text}': ${which} ${(e as Error).message}`);
    }
  };
  const src = prefix(srcText, "source");
  const dst = prefix(dstText, "destination");
  const v = verdict.trim().toLowerCase();
  if (v !== "allow" && v !== "deny") throw new RangeError(`Invalid ACL rule '${text}': verdict '${verdict.trim()}' is not allow or deny`);
  return { src, dst, allow: v === "allow" };
}

/**
 * The text form of a rule, as `/acl/add` takes it.
 *
 * @example
 * console.log(formatCndpAclRule(parseCndpAclRule("10.0.0.1/8:1.2.3.4/32:ALLOW"))); // "10.0.0.0/8:1.2.3.4/32:allow"
 */
export function formatCndpAclRule(r: CndpAclRule): string {
  return `${formatIp4(r.src.ip)}/${r.src.depth}:${formatIp4(r.dst.ip)}/${r.dst.depth}:${r.allow ? "allow" : "deny"}`;
}

/**
 * ACL rules for a cndpfwd rule list: rule i gets priority ACL_MAX_PRIORITY - i (earlier wins, as
 * cndpfwd does) and userdata `((i + 1) << 1) | deny` (read the verdict with {@link CNDP_ACL_DENY}).
 * Build with one category.
 *
 * @example
 * const list = [parseCndpAclRule("10.0.0.0/8:0.0.0.0/0:deny")];
 * const acl = Acl.build(cndpAclRules(list));
 * const keys = new Uint32Array(4);
 * aclKey(keys, 0, 6, 0x0a000001, 0x01010101, 1, 2);
 * const res = new Uint32Array(1);
 * acl.classifyBulk(keys, 1, res);
 * const permissive = true; // acl-permissive forwards what no rule matches, acl-strict drops it
 * const forward = res[0] === 0 ? permissive : (res[0]! & CNDP_ACL_DENY) === 0; // false: denied
 */
export function cndpAclRules(list: readonly CndpAclRule[]): AclRule[] {
  if (list.length > ACL_MAX_PRIORITY) throw new RangeError(`Too many ACL rules: ${list.length} (at most ${ACL_MAX_PRIORITY})`);
  return list.map((r, i) => ({
    priority: ACL_MAX_PRIORITY - i,
    userdata: ((i + 1) << 1) | (r.allow ? 0 : CNDP_ACL_DENY),
    src: r.src,
    dst: r.dst,
  }));
}
