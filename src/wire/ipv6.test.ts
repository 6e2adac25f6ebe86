import { test } from "node:test";
import assert from "node:assert/strict";
import { IP6_HLIM, ip6DecHopLimit, ip6HeaderOk, ip6IsExtension, ip6PayloadLen, swapIp6 } from "./ipv6.js";
import { ip6, udp, inBuffer, FD00_1, FD00_2 } from "../testing/wire-frames.js";

test("ip6HeaderOk: version 6 and the payload within what is available", () => {
  const bytes = ip6(17, udp(1, 2, [1, 2, 3]));
  const u8 = inBuffer(bytes, 4);
  assert.equal(ip6PayloadLen(u8, 4), 11);
  assert.ok(ip6HeaderOk(u8, 4, 51));
  assert.ok(ip6HeaderOk(u8, 4, 60), "padding after the packet");
  assert.equal(ip6HeaderOk(u8, 4, 50), false, "payload beyond the frame");
  assert.equal(ip6HeaderOk(u8, 4, 39), false, "no room for the header");
  u8[4] = 0x40;
  assert.equal(ip6HeaderOk(u8, 4, 51), false, "version 4");
});

test("ip6DecHopLimit, swapIp6, ip6IsExtension", () => {
  const u8 = inBuffer(ip6(17, [], { hlim: 2 }), 0);
  ip6DecHopLimit(u8, 0);
  assert.equal(u8[IP6_HLIM], 1);
  swapIp6(u8, 0);
  assert.deepEqual([...u8.subarray(8, 24)], FD00_2);
  assert.deepEqual([...u8.subarray(24, 40)], FD00_1);
  assert.deepEqual([0, 43, 44, 50, 51, 60].map(ip6IsExtension), [true, true, true, true, true, true]);
  assert.deepEqual([6, 17, 58, 59, 135, 255].map(ip6IsExtension), [false, false, false, false, false, false]);
});
