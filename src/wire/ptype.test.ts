/**
 * parsePtype over a table of frames (Ethernet, ARP, VLAN, QinQ, IPv4 with options and fragments, IPv6 with
 * extension headers and fragments), each also truncated to every length: the type drops layers exactly
 * when a header no longer fits, and no byte at or past the given length is read (a Proxy records reads).
 * l3Offset and ip6L4Offset over the same frames.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  parsePtype, PTYPE_UNKNOWN, PTYPE_L2_ETHER, PTYPE_L2_ETHER_ARP, PTYPE_L2_ETHER_VLAN, PTYPE_L2_ETHER_QINQ,
  PTYPE_L3_IPV4, PTYPE_L3_IPV4_EXT, PTYPE_L3_IPV6, PTYPE_L3_IPV6_EXT, PTYPE_L4_TCP, PTYPE_L4_UDP, PTYPE_L4_FRAG,
  PTYPE_L4_SCTP, PTYPE_L4_ICMP, PTYPE_L2_MASK, PTYPE_L3_MASK, PTYPE_L4_MASK,
} from "./ptype.js";
import * as mbuf from "../mem/mbuf.js";
import { l3Offset } from "./ether.js";
import { IP6_FIRST_FRAGMENT, IP6_LATER_FRAGMENT, IP6_NOT_FRAGMENT, ip6L4Offset } from "./ipv6.js";
import { eth, ip4, ip6, ext6, frag6, ah6, udp, tcp, icmp, inBuffer, readTracker, type Bytes } from "../testing/wire-frames.js";

const E = PTYPE_L2_ETHER;
const V = PTYPE_L2_ETHER_VLAN;
const Q = PTYPE_L2_ETHER_QINQ;
const pay = (n: number) => Array.from({ length: n }, (_, i) => i & 0xff);
const V4 = 0x0800, V6 = 0x86dd;
const sctp = (n: number) => [0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, ...pay(n)];

interface Row { name: string; bytes: Bytes; type: number; need: number; l3?: number; l4?: number; proto?: number; frag?: number }

const TABLE: Row[] = [
  { name: "LLDP (another EtherType)", bytes: eth(0x88cc, pay(46)), type: E, need: 14, l3: 14 },
  { name: "ARP", bytes: eth(0x0806, pay(28)), type: PTYPE_L2_ETHER_ARP, need: 14, l3: 14 },
  { name: "IPv4/UDP", bytes: eth(V4, ip4({ proto: 17 }, udp(1, 2, pay(18)))), type: E | PTYPE_L3_IPV4 | PTYPE_L4_UDP, need: 42, l3: 14 },
  { name: "IPv4/TCP", bytes: eth(V4, ip4({ proto: 6 }, tcp(1, 2, pay(6)))), type: E | PTYPE_L3_IPV4 | PTYPE_L4_TCP, need: 54, l3: 14 },
  { name: "IPv4/ICMP", bytes: eth(V4, ip4({ proto: 1 }, icmp(8, 0, pay(18)))), type: E | PTYPE_L3_IPV4 | PTYPE_L4_ICMP, need: 38, l3: 14 },
  { name: "IPv4/SCTP", bytes: eth(V4, ip4({ proto: 132 }, sctp(8))), type: E | PTYPE_L3_IPV4 | PTYPE_L4_SCTP, need: 46, l3: 14 },
  { name: "IPv4/GRE (no layer 4 type)", bytes: eth(V4, ip4({ proto: 47 }, pay(26))), type: E | PTYPE_L3_IPV4, need: 34, l3: 14 },
  { name: "IPv4 with 12 bytes of options/UDP", bytes: eth(V4, ip4({ proto: 17, options: 12 }, udp(1, 2, pay(4)))), type: E | PTYPE_L3_IPV4_EXT | PTYPE_L4_UDP, need: 54, l3: 14 },
  { name: "IPv4 with 40 bytes of options/TCP", bytes: eth(V4, ip4({ proto: 6, options: 40 }, tcp(1, 2))), type: E | PTYPE_L3_IPV4_EXT | PTYPE_L4_TCP, need: 94, l3: 14 },
  { name: "IPv4 first fragment (MF)", bytes: eth(V4, ip4({ proto: 17, frag: 0x2000 }, udp(1, 2, pay(18)))), type: E | PTYPE_L3_IPV4 | PTYPE_L4_FRAG, need: 34, l3: 14 },
  { name: "IPv4 later fragment (offset 185)", bytes: eth(V4, ip4({ proto: 17, frag: 185 }, pay(26))), type: E | PTYPE_L3_IPV4 | PTYPE_L4_FRAG, need: 34, l3: 14 },
  { name: "IPv4 last fragment with options", bytes: eth(V4, ip4({ proto: 6, frag: 3, options: 4 }, pay(22))), type: E | PTYPE_L3_IPV4_EXT | PTYPE_L4_FRAG, need: 34, l3: 14 },
  { name: "IPv4 DF set (not a fragment)", bytes: eth(V4, ip4({ proto: 17, frag: 0x4000 }, udp(1, 2, pay(18)))), type: E | PTYPE_L3_IPV4 | PTYPE_L4_UDP, need: 42, l3: 14 },
  { name: "IPv4 version 5", bytes: eth(V4, ip4({ proto: 17, verIhl: 0x55 }, udp(1, 2, pay(18)))), type: E, need: 14, l3: 14 },
  { name: "IPv4 IHL 4", bytes: eth(V4, ip4({ proto: 17, verIhl: 0x44 }, udp(1, 2, pay(18)))), type: E, need: 14, l3: 14 },
  { name: "VLAN/IPv4/UDP", bytes: eth(V4, ip4({ proto: 17 }, udp(1, 2, pay(14))), [[0x8100, 100]]), type: V | PTYPE_L3_IPV4 | PTYPE_L4_UDP, need: 46, l3: 18 },
  { name: "802.1ad tag/IPv4/TCP", bytes: eth(V4, ip4({ proto: 6 }, tcp(1, 2)), [[0x88a8, 7]]), type: V | PTYPE_L3_IPV4 | PTYPE_L4_TCP, need: 58, l3: 18 },
  { name: "QinQ/IPv4/TCP", bytes: eth(V4, ip4({ proto: 6 }, tcp(1, 2)), [[0x88a8, 7], [0x8100, 100]]), type: Q | PTYPE_L3_IPV4 | PTYPE_L4_TCP, need: 62, l3: 22 },
  { name: "QinQ/IPv6/UDP", bytes: eth(V6, ip6(17, udp(1, 2)), [[0x8100, 7], [0x8100, 100]]), type: Q | PTYPE_L3_IPV6 | PTYPE_L4_UDP, need: 70, l3: 22 },
  { name: "VLAN/ARP", bytes: eth(0x0806, pay(28), [[0x8100, 5]]), type: V, need: 14, l3: 18 },
  { name: "three tags", bytes: eth(V4, ip4({ proto: 17 }, udp(1, 2)), [[0x88a8, 1], [0x8100, 2], [0x8100, 3]]), type: Q, need: 18, l3: -1 },
  { name: "IPv6/UDP", bytes: eth(V6, ip6(17, udp(1, 2, pay(4)))), type: E | PTYPE_L3_IPV6 | PTYPE_L4_UDP, need: 62, l3: 14, l4: 54, proto: 17 },
  { name: "IPv6/TCP", bytes: eth(V6, ip6(6, tcp(1, 2))), type: E | PTYPE_L3_IPV6 | PTYPE_L4_TCP, need: 74, l3: 14, l4: 54, proto: 6 },
  { name: "IPv6/ICMPv6", bytes: eth(V6, ip6(58, icmp(128, 0, pay(4)))), type: E | PTYPE_L3_IPV6 | PTYPE_L4_ICMP, need: 58, l3: 14, l4: 54, proto: 58 },
  { name: "IPv6 with next header 1 (not ICMPv6)", bytes: eth(V6, ip6(1, icmp(8, 0))), type: E | PTYPE_L3_IPV6, need: 54, l3: 14, l4: 54, proto: 1 },
  { name: "IPv6 no next header", bytes: eth(V6, ip6(59, pay(8))), type: E | PTYPE_L3_IPV6, need: 54, l3: 14, l4: 54, proto: 59 },
  { name: "IPv6 Hop-by-Hop + Destination Options (16 bytes)/UDP", bytes: eth(V6, ip6(0, ext6(60, 0, ext6(17, 1, udp(1, 2))))),
    type: E | PTYPE_L3_IPV6_EXT | PTYPE_L4_UDP, need: 86, l3: 14, l4: 78, proto: 17 },
  { name: "IPv6 Routing/TCP", bytes: eth(V6, ip6(43, ext6(6, 2, tcp(1, 2)))), type: E | PTYPE_L3_IPV6_EXT | PTYPE_L4_TCP, need: 98, l3: 14, l4: 78, proto: 6 },
  { name: "IPv6 first fragment/UDP", bytes: eth(V6, ip6(44, frag6(17, 0, true, udp(1, 2, pay(8))))), type: E | PTYPE_L3_IPV6_EXT | PTYPE_L4_FRAG, need: 62, l3: 14, l4: 62, proto: 17, frag: IP6_FIRST_FRAGMENT },
  { name: "IPv6 later fragment", bytes: eth(V6, ip6(44, frag6(17, 100, false, pay(16)))), type: E | PTYPE_L3_IPV6_EXT | PTYPE_L4_FRAG, need: 62, l3: 14, l4: 62, proto: 17, frag: IP6_LATER_FRAGMENT },
  { name: "IPv6 atomic fragment (RFC 6946)/UDP", bytes: eth(V6, ip6(44, frag6(17, 0, false, udp(1, 2)))), type: E | PTYPE_L3_IPV6_EXT | PTYPE_L4_UDP, need: 70, l3: 14, l4: 62, proto: 17, frag: IP6_NOT_FRAGMENT },
  { name: "IPv6 Hop-by-Hop + first fragment + Destination Options/TCP", bytes: eth(V6, ip6(0, ext6(44, 0, frag6(60, 0, true, ext6(6, 0, tcp(1, 2)))))),
    type: E | PTYPE_L3_IPV6_EXT | PTYPE_L4_FRAG, need: 78, l3: 14, l4: 78, proto: 6, frag: IP6_FIRST_FRAGMENT },
  { name: "IPv6 AH/TCP", bytes: eth(V6, ip6(51, ah6(6, 6, tcp(1, 2)))), type: E | PTYPE_L3_IPV6_EXT | PTYPE_L4_TCP, need: 98, l3: 14, l4: 78, proto: 6 },
  { name: "IPv6 ESP (not walked)", bytes: eth(V6, ip6(50, pay(32))), type: E | PTYPE_L3_IPV6_EXT, need: 54, l3: 14, l4: 54, proto: 50 },
  { name: "IPv6 Destination Options/ESP", bytes: eth(V6, ip6(60, ext6(50, 0, pay(24)))), type: E | PTYPE_L3_IPV6_EXT, need: 54, l3: 14, l4: 62, proto: 50 },
  { name: "IPv6 version 4", bytes: eth(V6, [0x40, ...ip6(17, udp(1, 2)).slice(1)]), type: E, need: 14, l3: 14 },
  { name: "VLAN/IPv6 Hop-by-Hop/ICMPv6", bytes: eth(V6, ip6(0, ext6(58, 0, icmp(135, 0, pay(16)))), [[0x8100, 9]]),
    type: V | PTYPE_L3_IPV6_EXT | PTYPE_L4_ICMP, need: 70, l3: 18, l4: 66, proto: 58 },
];

test("the packet type constants are DPDK's (rte_mbuf_ptype.h) and mem's", () => {
  assert.deepEqual([PTYPE_UNKNOWN, PTYPE_L2_ETHER, PTYPE_L2_ETHER_ARP, PTYPE_L2_ETHER_VLAN, PTYPE_L2_ETHER_QINQ, PTYPE_L2_MASK],
    [0, 0x1, 0x3, 0x6, 0x7, 0xf]);
  assert.deepEqual([PTYPE_L3_IPV4, PTYPE_L3_IPV4_EXT, PTYPE_L3_IPV6, PTYPE_L3_IPV6_EXT, PTYPE_L3_MASK], [0x10, 0x30, 0x40, 0xc0, 0xf0]);
  assert.deepEqual([PTYPE_L4_TCP, PTYPE_L4_UDP, PTYPE_L4_FRAG, PTYPE_L4_SCTP, PTYPE_L4_ICMP, PTYPE_L4_MASK], [0x100, 0x200, 0x300, 0x400, 0x500, 0xf00]);
  assert.deepEqual([mbuf.PTYPE_L2_ETHER, mbuf.PTYPE_L3_IPV4, mbuf.PTYPE_L3_IPV6, mbuf.PTYPE_L4_TCP, mbuf.PTYPE_L4_UDP, mbuf.PTYPE_L4_ICMP],
    [PTYPE_L2_ETHER, PTYPE_L3_IPV4, PTYPE_L3_IPV6, PTYPE_L4_TCP, PTYPE_L4_UDP, PTYPE_L4_ICMP]);
});

test("parsePtype: the table of frames", () => {
  assert.equal(new Set(TABLE.map((r) => r.name)).size, TABLE.length);
  for (const r of TABLE) {
    for (const at of [0, 64, 131]) {
      const u8 = inBuffer(r.bytes, at);
      assert.equal(parsePtype(u8, at, r.bytes.length).toString(16), r.type.toString(16), `${r.name} at ${at}`);
    }
  }
  assert.equal(parsePtype(new Uint8Array(13), 0, 13), PTYPE_UNKNOWN);
});

test("parsePtype over every truncated length reads nothing past it and drops layers exactly below the length needed", () => {
  let calls = 0;
  for (const r of TABLE) {
    assert.ok(r.need <= r.bytes.length, `${r.name}: need ${r.need} of ${r.bytes.length}`);
    const at = 33;
    const u8 = inBuffer(r.bytes, at);
    u8.fill(0xff, at + r.bytes.length); // whatever follows the frame
    const t = readTracker(u8);
    for (let len = 0; len <= r.bytes.length; len++) {
      t.reset();
      const pt = parsePtype(t.view, at, len);
      calls++;
      if (len > 0 && t.max() !== -Infinity) {
        assert.ok(t.max() < at + len && t.min() >= at, `${r.name}, length ${len}: read bytes ${t.min() - at}..${t.max() - at}`);
      }
      if (len < 14) assert.equal(pt, PTYPE_UNKNOWN, `${r.name}, length ${len}`);
      else if (len >= r.need) assert.equal(pt, r.type, `${r.name}, length ${len}`);
      else {
        assert.notEqual(pt, r.type, `${r.name}, length ${len} < ${r.need}`);
        // What is reported is a prefix of the full type: layer 2 always (one tag until the second shows),
        // each other field either right or 0.
        const l2 = (r.type & PTYPE_L2_MASK) === Q && len < 18 ? V : r.type & PTYPE_L2_MASK;
        assert.equal(pt & PTYPE_L2_MASK, l2, `${r.name}, length ${len}: L2`);
        for (const m of [PTYPE_L3_MASK, PTYPE_L4_MASK]) assert.ok((pt & m) === 0 || (pt & m) === (r.type & m), `${r.name}, length ${len}: field ${m.toString(16)}`);
        if ((pt & PTYPE_L3_MASK) === 0) assert.equal(pt & PTYPE_L4_MASK, 0, `${r.name}, length ${len}: L4 without L3`);
      }
    }
  }
  assert.equal(calls, TABLE.reduce((s, r) => s + r.bytes.length + 1, 0));
});

test("l3Offset finds the layer 3 header after 0, 1 or 2 tags, and refuses 3 tags and truncated tags", () => {
  for (const r of TABLE) {
    const u8 = inBuffer(r.bytes, 10);
    assert.equal(l3Offset(u8, 10, r.bytes.length), r.l3! < 0 ? -1 : 10 + r.l3!, r.name);
  }
  const q = inBuffer(eth(0x0800, [], [[0x8100, 1], [0x8100, 2]]), 0);
  assert.equal(l3Offset(q, 0, 22), 22);
  assert.equal(l3Offset(q, 0, 21), -1);
  assert.equal(l3Offset(q, 0, 17), -1);
  assert.equal(l3Offset(q, 0, 13), -1);
});

test("ip6L4Offset walks the extension headers to the upper layer, says which fragment, and stops at a short header", () => {
  const out = new Uint32Array(2);
  for (const r of TABLE.filter((x) => x.l4 !== undefined)) {
    const at = 7;
    const u8 = inBuffer(r.bytes, at);
    const ip6 = at + r.l3!;
    out.fill(99);
    assert.equal(ip6L4Offset(u8, ip6, at + r.bytes.length, out), at + r.l4!, r.name);
    assert.equal(out[0], r.proto, `${r.name}: protocol`);
    assert.equal(out[1], r.frag ?? IP6_NOT_FRAGMENT, `${r.name}: fragment`);
    // Short frames: the walk refuses a header that does not fit, and reads nothing past the end.
    const t = readTracker(u8);
    for (let end = ip6; end < at + r.bytes.length; end++) {
      t.reset();
      const l4 = ip6L4Offset(t.view, ip6, end, out);
      if (t.max() !== -Infinity) assert.ok(t.max() < end, `${r.name}: end ${end - ip6} read ${t.max() - ip6}`);
      if (end - ip6 < 40) assert.equal(l4, -1, `${r.name}: end ${end - ip6}`);
      else if (l4 >= 0) assert.equal(l4, at + r.l4!, `${r.name}: end ${end - ip6}`);
    }
  }
});
