/**
 * The per-packet functions of the header views allocate nothing: each runs a million times over frames
 * in a UMEM-like buffer with no garbage collection and no heap growth (src/testing/gc-probe.ts counts
 * GCs after a forced full collection). The first test shows the probe fails on code that allocates.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gc, gcsDuring } from "../testing/gc-probe.js";
import { eth, ip4, ip6, ext6, udp, tcp, icmp } from "../testing/wire-frames.js";
import { setBe16 } from "./bytes.js";
import { cksumUpdate16, cksumUpdate32, onesSum } from "./cksum.js";
import { copyMac, l3Offset } from "./ether.js";
import { arpToReply } from "./arp.js";
import { IP4_CSUM, ip4Cksum, ip4DecTtl, ip4HeaderOk, setIp4Src, setIp4Ttl } from "./ipv4.js";
import { ip6L4Offset, swapIp6 } from "./ipv6.js";
import { parsePtype } from "./ptype.js";
import { setUdpSport, udp4Cksum, udp4CksumOk, udp6Cksum, udpCksumAdjust32 } from "./udp.js";
import { setTcpDport, tcp4Cksum, tcp6CksumOk } from "./tcp.js";
import { icmp4Cksum, icmp4CksumOk, icmpEchoToReply } from "./icmp.js";
import { icmp6Cksum } from "./icmp6.js";

const N = 1_000_000;

async function assertNoAlloc(what: string, fn: () => void): Promise<void> {
  fn();
  fn();
  let growth = 0;
  const gcs = await gcsDuring(() => {
    const h0 = process.memoryUsage().heapUsed;
    fn();
    growth = process.memoryUsage().heapUsed - h0;
  });
  gc();
  assert.equal(gcs, 0, `${what}: ${gcs} garbage collections (it allocates)`);
  assert.ok(growth < 1024 * 1024, `${what}: the heap grew by ${growth} bytes`);
}

/** A "UMEM" of 2 KiB frames: IPv4/UDP, IPv4/TCP, IPv6 ext/UDP, VLAN IPv6/TCP, IPv4/ICMP, IPv6/ICMPv6, ARP, IPv4 options. */
function umem(): { u8: Uint8Array; offs: Uint32Array; lens: Uint32Array } {
  const frames = [
    eth(0x0800, ip4({ proto: 17 }, udp(1000, 53, new Array(18).fill(1)))),
    eth(0x0800, ip4({ proto: 6 }, tcp(1000, 80, new Array(7).fill(2)))),
    eth(0x86dd, ip6(0, ext6(17, 0, udp(1, 2, new Array(30).fill(3))))),
    eth(0x86dd, ip6(6, tcp(3, 4)), [[0x8100, 5]]),
    eth(0x0800, ip4({ proto: 1 }, icmp(8, 0, new Array(33).fill(4)))),
    eth(0x86dd, ip6(58, icmp(128, 0, new Array(9).fill(5)))),
    eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]),
    eth(0x0800, ip4({ proto: 17, options: 8 }, udp(5, 6, [1, 2, 3]))),
  ];
  const u8 = new Uint8Array(frames.length * 2048);
  const offs = new Uint32Array(frames.length);
  const lens = new Uint32Array(frames.length);
  frames.forEach((f, i) => {
    offs[i] = i * 2048 + 256;
    lens[i] = f.length;
    u8.set(f, offs[i]!);
  });
  for (const i of [0, 1, 4, 7]) setBe16(u8, offs[i]! + 14 + IP4_CSUM, ip4Cksum(u8, offs[i]! + 14));
  setBe16(u8, offs[0]! + 34 + 6, udp4Cksum(u8, offs[0]! + 14, offs[0]! + 34));
  setBe16(u8, offs[4]! + 34 + 2, icmp4Cksum(u8, offs[4]! + 34, 41)); // TCP over IPv6 (frame 3) keeps a wrong 0
  return { u8, offs, lens };
}

test("the probe catches an allocating loop (it can fail)", async () => {
  const keep: object[] = [];
  const gcs = await gcsDuring(() => {
    for (let i = 0; i < N; i++) {
      keep.push({ i });
      if (keep.length > 1000) keep.length = 0;
    }
  });
  assert.ok(gcs > 0, `an object per iteration caused ${gcs} GCs`);
});

test("parsing and validating allocate nothing: parsePtype, l3Offset, ip6L4Offset, ip4HeaderOk, checksum checks", async () => {
  const { u8, offs, lens } = umem();
  const out = new Uint32Array(2);
  // Sums stay in locals and in int32 (`| 0`): a sum past 2^31 becomes a double, which Node 24's V8 boxes
  // in this loop (the functions under test allocate nothing; the test's own accumulator did).
  const sink = new Float64Array(1);
  await assertNoAlloc("parsePtype/l3Offset/ip6L4Offset", () => {
    let acc = 0;
    for (let i = 0; i < N; i++) {
      const k = i & 7;
      const o = offs[k]!;
      acc = (acc + parsePtype(u8, o, lens[k]!) + l3Offset(u8, o, lens[k]!)) | 0;
      if (k === 2) acc = (acc + ip6L4Offset(u8, o + 14, o + lens[k]!, out) + out[0]!) | 0;
    }
    sink[0] = acc;
  });
  await assertNoAlloc("ip4HeaderOk and checksum checks", () => {
    let acc = 0;
    for (let i = 0; i < N; i++) {
      const k = (i & 1) === 0 ? 0 : 4;
      acc += ip4HeaderOk(u8, offs[k]! + 14, lens[k]! - 14) ? 1 : 0;
      acc += udp4CksumOk(u8, offs[0]! + 14, offs[0]! + 34) ? 1 : 0;
      acc += icmp4CksumOk(u8, offs[4]! + 34, 41) ? 1 : 0;
      acc += tcp6CksumOk(u8, offs[3]! + 18, offs[3]! + 58) ? 1 : 0;
    }
    sink[0] = acc;
  });
  assert.equal(sink[0], 3 * N, "IPv4 header, UDP and ICMP checksums valid, the TCP over IPv6 one (0) not");
});

test("rewriting allocates nothing: ip4DecTtl, setIp4Ttl/Src, copyMac, ports and checksums, full and incremental", async () => {
  const { u8, offs } = umem();
  const mac = Uint8Array.of(2, 0, 0, 0, 0, 9);
  const o0 = offs[0]!, o1 = offs[1]!, o2 = offs[2]!, o3 = offs[3]!, o4 = offs[4]!, o5 = offs[5]!, o6 = offs[6]!;
  const sink = new Float64Array(1);
  await assertNoAlloc("ip4DecTtl/setIp4Ttl/copyMac", () => {
    for (let i = 0; i < N; i++) {
      if (u8[o0 + 22]! > 1) ip4DecTtl(u8, o0 + 14);
      else setIp4Ttl(u8, o0 + 14, 255);
      copyMac(u8, o0, mac, 0);
      copyMac(u8, o0 + 6, u8, o1);
    }
  });
  await assertNoAlloc("addresses, ports, incremental and full checksums", () => {
    let acc = 0;
    for (let i = 0; i < N; i++) {
      udpCksumAdjust32(u8, o0 + 34, i - 1, i);
      setIp4Src(u8, o0 + 14, i);
      setUdpSport(u8, o0 + 34, i & 0xffff);
      setTcpDport(u8, o1 + 34, i & 0xffff);
      acc = (acc + cksumUpdate16(acc & 0xffff, i & 0xffff, 7) + cksumUpdate32(1, i, i + 1)) | 0;
      acc = (acc + udp4Cksum(u8, o0 + 14, o0 + 34) + tcp4Cksum(u8, o1 + 14, o1 + 34) + onesSum(u8, o4 + 34, 41)) | 0;
      acc = (acc + udp6Cksum(u8, o2 + 14, o2 + 62) + icmp6Cksum(u8, o5 + 14, o5 + 54)) | 0;
      swapIp6(u8, o3 + 18);
      icmpEchoToReply(u8, o4 + 34);
      u8[o4 + 34] = 8;
      arpToReply(u8, o6 + 14, mac, 0);
    }
    sink[0] = acc;
  });
  assert.notEqual(sink[0], 0);
});
