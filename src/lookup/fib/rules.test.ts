import { test } from "node:test";
import assert from "node:assert/strict";
import { formatFibRule, parseFibRule } from "./rules.js";

test("parseFibRule reads CNDP's l3fwd-fib-rules entries", () => {
  const r = parseFibRule("198.18.0.0/24,02:00:01:02:03:04,1");
  assert.equal(r.ip, 0xc6120000);
  assert.equal(r.depth, 24);
  assert.deepEqual([...r.mac], [2, 0, 1, 2, 3, 4]);
  assert.equal(r.port, 1);
  assert.equal(formatFibRule(r), "198.18.0.0/24,02:00:01:02:03:04,1");
  const s = parseFibRule(" 198.18.1.7/16 , AA:BB:CC:DD:EE:FF , 65535 ");
  assert.deepEqual({ ...s, mac: [...s.mac] }, { ip: 0xc6120000, depth: 16, mac: [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff], port: 65535 });
  assert.equal(formatFibRule(s), "198.18.0.0/16,aa:bb:cc:dd:ee:ff,65535");
  const d = parseFibRule("0.0.0.0/0,02:00:00:00:00:09,0");
  assert.equal(d.ip, 0);
  assert.equal(d.depth, 0);
});

test("parseFibRule names the bad part", () => {
  const cases: [string, RegExp][] = [
    ["198.18.0.0/24,02:00:01:02:03:04", /2 comma-separated fields, expected 3/],
    ["198.18.0.0/24,02:00:01:02:03:04,1,2", /4 comma-separated fields/],
    ["198.18.0.0,02:00:01:02:03:04,1", /prefix: .*expected <address>\/<depth>/],
    ["198.18.0.0/33,02:00:01:02:03:04,1", /prefix: .*depth '33' is not 0 to 32/],
    ["198.18.0.256/24,02:00:01:02:03:04,1", /prefix: .*octet 256/],
    ["198.18.0.0/24,02:00:01:02:03,1", /next-hop MAC: .*'02:00:01:02:03'/],
    ["198.18.0.0/24,02:00:01:02:03:04,x", /tx port 'x' is not an lport index 0 to 65535/],
    ["198.18.0.0/24,02:00:01:02:03:04,-1", /tx port '-1'/],
    ["198.18.0.0/24,02:00:01:02:03:04,65536", /tx port '65536'/],
    ["198.18.0.0/24,02:00:01:02:03:04,", /tx port ''/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseFibRule(text), (e: unknown) => e instanceof RangeError && e.message.includes(`'${text}'`) && re.test(e.message), text);
  }
});
