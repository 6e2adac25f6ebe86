import { test } from "node:test";
import assert from "node:assert/strict";
import { isIPv6 } from "node:net";
import { formatIp4, formatIp6, formatMac, parseIp4, parseIp6, parseMac, parsePrefix4, parsePrefix6 } from "./addr.js";

test("parseIp4 / formatIp4 round trip and exact values", () => {
  assert.equal(parseIp4("10.0.0.1"), 0x0a000001);
  assert.equal(parseIp4("0.0.0.0"), 0);
  assert.equal(parseIp4("255.255.255.255"), 0xffffffff);
  assert.equal(parseIp4("192.168.1.254"), 0xc0a801fe);
  assert.equal(formatIp4(0xc0a801fe), "192.168.1.254");
  assert.equal(formatIp4(0xffffffff), "255.255.255.255");
  assert.equal(formatIp4(-1), "255.255.255.255");
  let x = 12345;
  for (let i = 0; i < 10000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    assert.equal(parseIp4(formatIp4(x)), x);
  }
});

test("parseIp4 rejects bad text naming it", () => {
  for (const s of ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d", "1..2.3", " 1.2.3.4", "1.2.3.4/8", "1.2.3.0x4"]) {
    assert.throws(() => parseIp4(s), (e: unknown) => e instanceof RangeError && e.message.includes(`'${s}'`), s);
  }
});

test("parsePrefix4 masks host bits and checks depth", () => {
  assert.deepEqual(parsePrefix4("10.1.2.3/8"), { ip: 0x0a000000, depth: 8 });
  assert.deepEqual(parsePrefix4("198.18.0.0/24"), { ip: 0xc6120000, depth: 24 });
  assert.deepEqual(parsePrefix4("1.2.3.4/32"), { ip: 0x01020304, depth: 32 });
  assert.deepEqual(parsePrefix4("255.255.255.255/0"), { ip: 0, depth: 0 });
  assert.deepEqual(parsePrefix4("255.255.255.255/1"), { ip: 0x80000000, depth: 1 });
  assert.deepEqual(parsePrefix4("255.255.255.255/31"), { ip: 0xfffffffe, depth: 31 });
  for (const s of ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/08", "10.0.0/8", "10.0.0.0/8/8"]) {
    assert.throws(() => parsePrefix4(s), (e: unknown) => e instanceof RangeError && e.message.includes(`'${s}'`), s);
  }
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

test("parseIp6 exact values", () => {
  assert.equal(hex(parseIp6("::")), "0".repeat(32));
  assert.equal(hex(parseIp6("::1")), "0".repeat(31) + "1");
  assert.equal(hex(parseIp6("fd00::1")), "fd00" + "0".repeat(27) + "1");
  assert.equal(hex(parseIp6("1::")), "0001" + "0".repeat(28));
  assert.equal(hex(parseIp6("2001:db8:0:0:1:0:0:1")), "20010db8000000000001000000000001");
  assert.equal(hex(parseIp6("::ffff:192.168.1.2")), "00000000000000000000ffffc0a80102");
  assert.equal(hex(parseIp6("1:2:3:4:5:6:1.2.3.4")), "00010002000300040005000601020304");
  assert.equal(hex(parseIp6("FFFF:ffff:FfFf:ffff:ffff:ffff:ffff:ffff")), "f".repeat(32));
  assert.equal(hex(parseIp6("1:2:3:4:5:6:7::")), "00010002000300040005000600070000");
  assert.equal(hex(parseIp6("::2:3:4:5:6:7:8")), "00000002000300040005000600070008");
});

test("parseIp6 rejects bad text naming it", () => {
  const bad = ["", ":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::", "g::", ":1::2", "1::2:",
    "1:2:3:4:5:6:7:8::", "::1.2.3", "1.2.3.4::", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4"];
  for (const s of bad) {
    assert.equal(isIPv6(s), false, `node agrees ${s} is bad`);
    assert.throws(() => parseIp6(s), (e: unknown) => e instanceof RangeError && e.message.includes(`'${s}'`), s);
  }
  // A zone id (node's isIPv6 accepts it) has no meaning in a route table.
  assert.throws(() => parseIp6("fe80::1%eth0"), /'fe80::1%eth0'/);
});

test("formatIp6 is RFC 5952 and round-trips random addresses", () => {
  assert.equal(formatIp6(parseIp6("2001:0db8:0000:0000:0001:0000:0000:0001")), "2001:db8::1:0:0:1");
  assert.equal(formatIp6(parseIp6("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1"); // one zero group stays
  assert.equal(formatIp6(parseIp6("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1"); // longest run
  assert.equal(formatIp6(parseIp6("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1"); // first of equal runs
  assert.equal(formatIp6(parseIp6("::")), "::");
  assert.equal(formatIp6(parseIp6("::1")), "::1");
  assert.equal(formatIp6(parseIp6("1::")), "1::");
  const buf = new Uint8Array(20);
  buf.set(parseIp6("fd00::abcd"), 3);
  assert.equal(formatIp6(buf, 3), "fd00::abcd");
  assert.throws(() => formatIp6(buf, 5), /offset 5 \+ 16 bytes outside 20 bytes/);
  let x = 99;
  const b = new Uint8Array(16);
  for (let i = 0; i < 5000; i++) {
    for (let j = 0; j < 16; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      b[j] = (x >>> 16) & 3 ? 0 : x >>> 24; // many zero groups
    }
    const s = formatIp6(b);
    assert.equal(isIPv6(s), true, s);
    assert.equal(hex(parseIp6(s)), hex(b), s);
  }
});

test("parsePrefix6 masks host bits and checks depth", () => {
  const p = parsePrefix6("fd00:1::5/32");
  assert.equal(p.depth, 32);
  assert.equal(formatIp6(p.ip), "fd00:1::");
  assert.equal(formatIp6(parsePrefix6("ffff:ffff::/13").ip), "fff8::");
  assert.equal(formatIp6(parsePrefix6("ffff:ffff::/0").ip), "::");
  assert.equal(hex(parsePrefix6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127").ip), "f".repeat(31) + "e");
  assert.equal(hex(parsePrefix6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128").ip), "f".repeat(32));
  for (const s of ["fd00::", "fd00::/129", "fd00::/", "fd00:::/8", "fd00::/1a"]) {
    assert.throws(() => parsePrefix6(s), (e: unknown) => e instanceof RangeError && e.message.includes(`'${s}'`), s);
  }
});

test("parseMac / formatMac", () => {
  assert.deepEqual([...parseMac("02:00:01:02:03:04")], [2, 0, 1, 2, 3, 4]);
  assert.deepEqual([...parseMac("AA-bb-CC-dd-EE-ff")], [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
  assert.deepEqual([...parseMac("2:0:1:2:3:4")], [2, 0, 1, 2, 3, 4]);
  assert.equal(formatMac(new Uint8Array([2, 0, 1, 2, 0xab, 0xff])), "02:00:01:02:ab:ff");
  assert.equal(formatMac(new Uint8Array([9, 9, 2, 0, 1, 2, 3, 4]), 2), "02:00:01:02:03:04");
  assert.throws(() => formatMac(new Uint8Array(6), 1), /offset 1 \+ 6 bytes outside 6 bytes/);
  for (const s of ["", "02:00:01:02:03", "02:00:01:02:03:04:05", "02:00:01-02:03:04", "02:00:01:02:03:004", "0g:00:01:02:03:04", "020001020304"]) {
    assert.throws(() => parseMac(s), (e: unknown) => e instanceof RangeError && e.message.includes(`'${s}'`), s);
  }
});
