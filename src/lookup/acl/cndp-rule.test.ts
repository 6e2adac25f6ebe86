import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Acl } from "./acl.js";
import { aclKey, ACL_MAX_PRIORITY } from "./rule.js";
import { CNDP_ACL_DENY, cndpAclRules, formatCndpAclRule, parseCndpAclRule } from "./cndp-rule.js";

describe("lookup/acl: CNDP cndpfwd ACL rules", () => {
  it("parses <src>/<mask>:<dst>/<mask>:<allow|deny> as cndpfwd does", () => {
    assert.deepEqual(parseCndpAclRule("10.1.0.0/16:0.0.0.0/0:deny"), { src: { ip: 0x0a010000, depth: 16 }, dst: { ip: 0, depth: 0 }, allow: false });
    assert.deepEqual(parseCndpAclRule("210.0.1.2/32:110.0.1.2/32:allow"), {
      src: { ip: 0xd2000102, depth: 32 },
      dst: { ip: 0x6e000102, depth: 32 },
      allow: true,
    });
    assert.deepEqual(parseCndpAclRule(" 100.7.0.9/24:1.2.3.4/8:DENY "), { src: { ip: 0x64070000, depth: 24 }, dst: { ip: 0x01000000, depth: 8 }, allow: false }, "host bits masked, verdict in any case");
    assert.equal(parseCndpAclRule("1.2.3.4/32:5.6.7.8/32:Allow").allow, true);
  });

  it("errors name the text and the part", () => {
    const bad: [string, RegExp][] = [
      ["10.0.0.0/8:0.0.0.0/0", /Invalid ACL rule '10.0.0.0\/8:0.0.0.0\/0': expected <src IP>\/<src mask>:<dst IP>\/<dst mask>:<allow\|deny>/],
      ["10.0.0.0/8:0.0.0.0/0:deny:x", /expected <src IP>/],
      ["10.0.0.0/33:0.0.0.0/0:deny", /'10.0.0.0\/33:0.0.0.0\/0:deny': source .*depth '33' is not 0 to 32/],
      ["10.0.0.0:0.0.0.0/0:deny", /source .*expected <address>\/<depth>/],
      ["10.0.0/8:0.0.0.0/0:deny", /source .*'10.0.0'/],
      ["10.0.0.0/8:0.0.0.256/0:allow", /destination .*octet 256 is above 255/],
      ["10.0.0.0/8:0.0.0.0/0:permit", /verdict 'permit' is not allow or deny/],
      ["", /expected <src IP>/],
    ];
    for (const [text, re] of bad) assert.throws(() => parseCndpAclRule(text), re, text);
  });

  it("formats back to the text /acl/add takes", () => {
    for (const t of ["10.0.0.0/8:0.0.0.0/0:deny", "210.0.15.255/32:110.0.15.255/32:allow"]) assert.equal(formatCndpAclRule(parseCndpAclRule(t)), t);
    assert.equal(formatCndpAclRule(parseCndpAclRule("10.9.9.9/8:1.2.3.4/32:ALLOW")), "10.0.0.0/8:1.2.3.4/32:allow");
  });

  it("as ACL rules: the earlier rule wins, results carry the index and the verdict", () => {
    const list = [
      "100.5.0.0/24:0.0.0.0/0:deny", // cndpfwd's initial deny rules look like these
      "10.0.0.0/8:0.0.0.0/0:deny",
      "10.1.0.0/16:0.0.0.0/0:allow", // shadowed by the /8 deny above: earlier wins, not longer
      "0.0.0.0/0:110.0.1.2/32:allow",
    ].map(parseCndpAclRule);
    const rules = cndpAclRules(list);
    assert.deepEqual(
      rules.map((r) => [r.priority, r.userdata]),
      [
        [ACL_MAX_PRIORITY, 3],
        [ACL_MAX_PRIORITY - 1, 5],
        [ACL_MAX_PRIORITY - 2, 6],
        [ACL_MAX_PRIORITY - 3, 8],
      ],
    );
    const acl = Acl.build(rules);
    const cases: [number, number, number][] = [
      // src, dst, want
      [0x64050001, 0x6e000102, 3], // rule 0, deny
      [0x0a010203, 0x6e000102, 5], // rule 1 (deny) before rule 2 and rule 3
      [0x0b000001, 0x6e000102, 8], // rule 3, allow
      [0x0b000001, 0x6e000103, 0], // no rule
    ];
    const keys = new Uint32Array(4 * cases.length);
    cases.forEach(([s, d], i) => aclKey(keys, i, 17, s, d, 1234, 80));
    const res = new Uint32Array(cases.length);
    acl.classifyBulk(keys, cases.length, res);
    assert.deepEqual([...res], cases.map((c) => c[2]));
    assert.deepEqual([...res].map((r) => (r === 0 ? "none" : (r & CNDP_ACL_DENY) !== 0 ? `deny #${(r >>> 1) - 1}` : `allow #${(r >>> 1) - 1}`)), ["deny #0", "deny #1", "allow #3", "none"]);
  });
});
