import { test } from "node:test";
import assert from "node:assert/strict";
import { formatIp, networkOf, parseCidr, parseIp } from "./ip.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("IPv4 and IPv6 text to bytes", () => {
  assert.equal(hex(parseIp("10.1.2.3")), "0a010203");
  assert.equal(hex(parseIp("::")), "0".repeat(32));
  assert.equal(hex(parseIp("::1")), "0".repeat(31) + "1");
  assert.equal(hex(parseIp("fe80::1:2")), "fe80" + "0".repeat(20) + "00010002");
  assert.equal(hex(parseIp("2001:db8:0:0:1:0:0:1")), "20010db8000000000001000000000001");
  assert.equal(hex(parseIp("::ffff:1.2.3.4")), "00000000000000000000ffff01020304");
  assert.equal(hex(parseIp("fd00::")), "fd00" + "0".repeat(28));
  assert.throws(() => parseIp("10.1.2"), /Cannot parse IP address '10.1.2'/);
  assert.throws(() => parseIp("1::2::3"), SyntaxError);
});

test("IPv6 prints in RFC 5952 form", () => {
  const canon = (s: string) => formatIp(parseIp(s));
  assert.equal(canon("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  assert.equal(canon("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1"); // first of equal runs
  assert.equal(canon("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1"); // one zero group stays
  assert.equal(canon("2001:db8:0:0:0:1:0:0"), "2001:db8::1:0:0"); // longest run wins
  assert.equal(canon("::"), "::");
  assert.equal(canon("::1"), "::1");
  assert.equal(canon("fe80::"), "fe80::");
  assert.equal(canon("FD00::ABCD"), "fd00::abcd");
  assert.equal(formatIp(Uint8Array.of(192, 168, 0, 1)), "192.168.0.1");
});

test("CIDR prefixes", () => {
  assert.deepEqual(parseCidr("10.1.2.3/24"), { family: 4, address: "10.1.2.3", prefixLen: 24 });
  assert.deepEqual(parseCidr("fd00::1/64"), { family: 6, address: "fd00::1", prefixLen: 64 });
  assert.deepEqual(parseCidr("10.0.0.1"), { family: 4, address: "10.0.0.1", prefixLen: 32 });
  assert.throws(() => parseCidr("10.0.0.1/33"), /length must be 0 to 32/);
  assert.throws(() => parseCidr("10.0.0.1/x"), SyntaxError);
  assert.throws(() => parseCidr("10.0.0.1/"), SyntaxError);
  assert.equal(networkOf(parseCidr("10.1.2.3/20")), "10.1.0.0/20");
  assert.equal(networkOf(parseCidr("fd00::1:2/112")), "fd00::1:0/112");
  assert.equal(networkOf(parseCidr("1.2.3.4/0")), "0.0.0.0/0");
});
