import { test } from "node:test";
import assert from "node:assert/strict";
import { udpFrame, ipv4Checksum } from "./udp-frame.js";
import {
  ETH_HLEN, IP4_TTL, IP4_PROTO, IP4_CSUM, IPPROTO_UDP, be16, be32, setBe16, ipv4At, ipv4Payload, udpAt,
  swapMac, swapIp4, swapUdpPorts, cksumUpdate16, setIp4Ttl,
} from "./headers.js";

/** A UDP frame at offset `at` of a bigger buffer, as in a UMEM frame with headroom. */
function inBuffer(at: number, size = 64): Uint8Array {
  const u8 = new Uint8Array(at + size + 8);
  u8.set(udpFrame({ dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", srcIp: "10.0.0.1", dstIp: "10.0.0.2", sport: 1000, dport: 53, ttl: 5, size }), at);
  return u8;
}

test("wire headers: big-endian accessors", () => {
  const u8 = new Uint8Array(8);
  setBe16(u8, 1, 0xabcd);
  assert.deepEqual([...u8.subarray(0, 4)], [0, 0xab, 0xcd, 0]);
  assert.equal(be16(u8, 1), 0xabcd);
  u8.set([0xff, 0x01, 0x02, 0x03], 4);
  assert.equal(be32(u8, 4), 0xff010203, "unsigned");
});

test("wire headers: ipv4At, ipv4Payload and udpAt find the headers and refuse what is not IPv4/UDP", () => {
  const u8 = inBuffer(100);
  assert.equal(ipv4At(u8, 100, 64), 100 + ETH_HLEN);
  assert.equal(ipv4Payload(u8, 114), 134);
  assert.equal(udpAt(u8, 100, 64), 134);
  assert.equal(udpAt(u8, 100, 41), -1, "shorter than Ethernet + IPv4 + UDP");
  assert.equal(ipv4At(u8, 100, 33), -1, "shorter than Ethernet + IPv4");
  u8[100 + 14] = 0x46; // IHL 6: the UDP header moves 4 bytes
  assert.equal(udpAt(u8, 100, 64), 138);
  assert.equal(udpAt(u8, 100, 45), -1, "the UDP header does not fit");
  u8[100 + 14] = 0x45;
  u8[114 + IP4_PROTO] = 6;
  assert.equal(ipv4At(u8, 100, 64), 114, "TCP is IPv4");
  assert.equal(udpAt(u8, 100, 64), -1, "TCP is not UDP");
  u8[114 + IP4_PROTO] = IPPROTO_UDP;
  u8[100 + 14] = 0x65;
  assert.equal(ipv4At(u8, 100, 64), -1, "IP version 6");
  u8[100 + 14] = 0x45;
  u8[100 + 13] = 0x06;
  assert.equal(ipv4At(u8, 100, 64), -1, "ARP");
});

test("wire headers: swapMac, swapIp4 and swapUdpPorts swap in place and keep the IPv4 checksum", () => {
  const u8 = inBuffer(4);
  const before = Uint8Array.from(u8);
  swapMac(u8, 4);
  swapIp4(u8, 4 + ETH_HLEN);
  swapUdpPorts(u8, 4 + 34);
  const f = u8.subarray(4, 68);
  const b = before.subarray(4, 68);
  assert.deepEqual(f.subarray(0, 6), b.subarray(6, 12));
  assert.deepEqual(f.subarray(6, 12), b.subarray(0, 6));
  assert.deepEqual(f.subarray(26, 30), b.subarray(30, 34));
  assert.deepEqual(f.subarray(30, 34), b.subarray(26, 30));
  assert.equal(be16(f, 34), 53);
  assert.equal(be16(f, 36), 1000);
  assert.deepEqual(f.subarray(12, 26), b.subarray(12, 26), "EtherType and the IPv4 header to the addresses unchanged");
  assert.deepEqual(f.subarray(38), b.subarray(38), "UDP length, checksum and payload unchanged");
  assert.equal(ipv4Checksum(f, ETH_HLEN), 0, "the IPv4 checksum still holds");
  assert.deepEqual([...u8.subarray(0, 4)], [0, 0, 0, 0], "nothing written before the frame");
});

test("wire headers: cksumUpdate16 equals a full recomputation (RFC 1624), setIp4Ttl keeps the header valid", () => {
  for (const ttl of [0, 1, 63, 64, 128, 255]) {
    for (const from of [1, 5, 64, 255]) {
      const f = udpFrame({ ttl: from, seq: ttl * 7 + from });
      const ip = ETH_HLEN;
      const sum = cksumUpdate16(be16(f, ip + IP4_CSUM), be16(f, ip + IP4_TTL), (ttl << 8) | f[ip + IP4_PROTO]!);
      f[ip + IP4_TTL] = ttl;
      f[ip + IP4_CSUM] = 0;
      f[ip + IP4_CSUM + 1] = 0;
      assert.equal(sum, ipv4Checksum(f, ip), `TTL ${from} -> ${ttl}`);
      const g = udpFrame({ ttl: from, seq: ttl * 7 + from });
      setIp4Ttl(g, ip, ttl);
      assert.equal(g[ip + IP4_TTL], ttl);
      assert.equal(ipv4Checksum(g, ip), 0, `setIp4Ttl ${from} -> ${ttl}`);
    }
  }
  // RFC 1624 section 4's example: eqn. 3 gives 0x0000 where eqn. 2 gave 0xffff.
  assert.equal(cksumUpdate16(0xdd2f, 0x5555, 0x3285), 0x0000);
});
