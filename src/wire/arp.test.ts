import { test } from "node:test";
import assert from "node:assert/strict";
import { be16, be32 } from "./bytes.js";
import { ARP_OP, ARP_OP_REPLY, ARP_SHA, ARP_SPA, ARP_THA, ARP_TPA, arpOk, arpToReply } from "./arp.js";
import { inBuffer } from "../testing/wire-frames.js";

/** An Ethernet/IPv4 ARP request from 02:..:01 / 10.0.0.1 for 10.0.0.2. */
const request = () => [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2];

test("arpOk accepts Ethernet/IPv4 requests and replies and refuses any other field value or a short packet", () => {
  const u8 = inBuffer(request(), 9);
  assert.ok(arpOk(u8, 9, 28));
  assert.equal(arpOk(u8, 9, 27), false, "27 bytes");
  for (const [b, v, what] of [[1, 6, "hardware type 6"], [2, 0x86, "protocol 0x86dd"], [4, 8, "hardware length 8"], [5, 16, "protocol length 16"], [7, 3, "operation 3 (RARP)"], [7, 0, "operation 0"]] as const) {
    const x = inBuffer(request(), 9);
    x[9 + b] = v;
    assert.equal(arpOk(x, 9, 28), false, what);
  }
  u8[9 + 7] = 2;
  assert.ok(arpOk(u8, 9, 28), "a reply");
});

test("arpToReply answers in place", () => {
  const u8 = inBuffer(request(), 9);
  arpToReply(u8, 9, Uint8Array.of(0, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff), 1);
  assert.equal(be16(u8, 9 + ARP_OP), ARP_OP_REPLY);
  assert.deepEqual([...u8.subarray(9 + ARP_SHA, 9 + ARP_SHA + 6)], [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
  assert.equal(be32(u8, 9 + ARP_SPA), 0x0a000002);
  assert.deepEqual([...u8.subarray(9 + ARP_THA, 9 + ARP_THA + 6)], [2, 0, 0, 0, 0, 1]);
  assert.equal(be32(u8, 9 + ARP_TPA), 0x0a000001);
  assert.ok(arpOk(u8, 9, 28));
  assert.deepEqual([...u8.subarray(0, 9)], new Array(9).fill(0));
  assert.deepEqual([...u8.subarray(37)], new Array(u8.length - 37).fill(0));
});
