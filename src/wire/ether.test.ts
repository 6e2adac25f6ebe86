import { test } from "node:test";
import assert from "node:assert/strict";
import { ETH_DST, ETH_SRC, ETHERTYPE_ARP, copyMac, etherType, macIsMulticast, swapMac } from "./ether.js";
import { eth, inBuffer } from "../testing/wire-frames.js";

test("ether: etherType, copyMac, swapMac, macIsMulticast", () => {
  const u8 = inBuffer(eth(ETHERTYPE_ARP, [9, 9]), 3);
  assert.equal(etherType(u8, 3), 0x0806);
  const mac = Uint8Array.from([0xaa, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xbb]);
  copyMac(u8, 3 + ETH_DST, mac, 1);
  assert.deepEqual([...u8.subarray(0, 17)], [0, 0, 0, 1, 2, 3, 4, 5, 6, 2, 0, 0, 0, 0, 1, 8, 6]);
  swapMac(u8, 3);
  assert.deepEqual([...u8.subarray(3 + ETH_DST, 3 + ETH_SRC)], [2, 0, 0, 0, 0, 1]);
  assert.deepEqual([...u8.subarray(3 + ETH_SRC, 3 + 12)], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...u8.subarray(15, 19)], [8, 6, 9, 9], "EtherType and payload untouched");
  assert.equal(macIsMulticast(u8, 3), false);
  assert.equal(macIsMulticast(Uint8Array.of(0xff, 0xff), 0), true, "broadcast");
  assert.equal(macIsMulticast(Uint8Array.of(0x33, 0x33), 0), true, "IPv6 multicast");
  assert.equal(macIsMulticast(Uint8Array.of(0x02), 0), false);
});
