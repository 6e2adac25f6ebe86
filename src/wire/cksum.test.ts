/**
 * Checksums against an independent slow oracle (the one's-complement sum as the plain sum of the words
 * modulo 0xffff, RFC 1071 section 2), over random packets; incremental updates (RFC 1624) against a full
 * recomputation over random packets and random field changes, the 0x0000/0xffff corner cases included.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  onesSum, cksumFold, cksum, cksumUpdate16, cksumUpdate32, cksumAdjust16, cksumAdjust32, pseudoSum4, pseudoSum6,
} from "./cksum.js";
import { be16, be32, setBe16 } from "./bytes.js";
import { ETH_HLEN } from "./ether.js";
import {
  IP4_CSUM, IP4_SRC, IP4_DST, IP4_TTL, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ip4Cksum, ip4DecTtl, ip4HeaderOk,
  setIp4Dst, setIp4Src, setIp4Ttl,
} from "./ipv4.js";
import { IP6_HLEN, IPPROTO_DSTOPTS, IPPROTO_HOPOPTS, IPPROTO_ICMPV6 } from "./ipv6.js";
import { UDP_CSUM, udp4Cksum, udp4CksumOk, udp6Cksum, udp6CksumOk, udpCksumAdjust16, udpCksumAdjust32, setUdpDport, setUdpSport } from "./udp.js";
import { TCP_CSUM, tcp4Cksum, tcp4CksumOk, tcp6Cksum, tcp6CksumOk, setTcpDport, setTcpSport } from "./tcp.js";
import { ICMP_CSUM, ICMP_ECHO_REQUEST, icmp4Cksum, icmp4CksumOk, icmp4Len, icmpEchoToReply } from "./icmp.js";
import { icmp6Cksum, icmp6CksumOk } from "./icmp6.js";
import { eth, ip4, ip6, ext6, udp, tcp, icmp, prng, randomBytes, inBuffer, type Bytes } from "../testing/wire-frames.js";

const SEED = Number(process.env.WIRE_SEED ?? 0x5eed);

// ---- the oracle: plain integer sums, modulo 0xffff ----
function oSum(bytes: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < bytes.length; i += 2) total += bytes[i]! * 256 + (i + 1 < bytes.length ? bytes[i + 1]! : 0);
  if (total === 0) return 0;
  const r = total % 0xffff;
  return r === 0 ? 0xffff : r;
}
const oCksum = (bytes: ArrayLike<number>): number => ~oSum(bytes) & 0xffff;
const w16 = (v: number) => [(v >>> 8) & 0xff, v & 0xff];
/** The checksum of `msg` with its field at `at` zeroed, behind `pseudo`. */
function oL4(pseudo: number[], msg: ArrayLike<number>, at: number): number {
  const m = Array.from(msg);
  m[at] = 0;
  m[at + 1] = 0;
  return oCksum([...pseudo, ...m]);
}
const pseudo4 = (f: ArrayLike<number>, ip: number, proto: number, len: number) =>
  [...Array.from(f).slice(ip + 12, ip + 20), 0, proto, ...w16(len)];
const pseudo6 = (f: ArrayLike<number>, ip6: number, proto: number, len: number) =>
  [...Array.from(f).slice(ip6 + 8, ip6 + 40), ...w16(len >>> 16), ...w16(len & 0xffff), 0, 0, 0, proto];

test("onesSum and cksumFold equal the modulo-0xffff oracle (odd lengths and offsets, long ranges)", () => {
  const rnd = prng(SEED);
  const buf = Uint8Array.from(randomBytes(4096, rnd));
  for (let k = 0; k < 3000; k++) {
    const off = Math.floor(rnd() * 1000);
    const len = Math.floor(rnd() * 400);
    assert.equal(onesSum(buf, off, len), oSum(buf.subarray(off, off + len)), `seed ${SEED} off ${off} len ${len}`);
  }
  assert.equal(onesSum(buf, 5, 0), 0, "nothing");
  assert.equal(onesSum(new Uint8Array(100), 0, 100), 0, "all zero");
  const ff = new Uint8Array(1 << 20).fill(0xff); // 2^19 words of 0xffff: the loop folds on the way
  assert.equal(onesSum(ff, 0, ff.length), 0xffff);
  const big = Uint8Array.from(randomBytes(200_001, rnd));
  assert.equal(onesSum(big, 0, big.length), oSum(big));
  // RFC 1071 section 3's example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
  assert.equal(onesSum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0, 8), 0xddf2);
  assert.equal(cksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0, 8), 0x220d);
  for (const x of [0, 1, 0xffff, 0x10000, 0x1fffe, 0xffffffff, 2 ** 32, 2 ** 40 + 12345, 2 ** 53 - 1]) {
    const want = x === 0 ? 0 : x % 0xffff === 0 ? 0xffff : x % 0xffff;
    assert.equal(cksumFold(x), want, `fold ${x}`);
  }
  for (let k = 0; k < 1000; k++) {
    const x = Math.floor(rnd() * 2 ** 53);
    assert.equal(cksumFold(x), x === 0 ? 0 : x % 0xffff || 0xffff, `fold ${x}`);
  }
});

test("the four-bytes-a-load sum (64 bytes and more) equals the oracle: every offset mod 4, views at any byte offset of their buffer, buffers in turn", () => {
  const rnd = prng(SEED + 1);
  const backing = Uint8Array.from(randomBytes(8192, rnd));
  // Views starting 0-4 bytes into their buffer, used in turn so the view cache is refilled on the way.
  const views = [0, 1, 2, 3, 4].map((at) => new Uint8Array(backing.buffer, at, 8000));
  for (let k = 0; k < 4000; k++) {
    const v = views[k % views.length]!;
    const off = Math.floor(rnd() * 128);
    const len = 56 + Math.floor(rnd() * 1600);
    assert.equal(onesSum(v, off, len), oSum(v.subarray(off, off + len)), `view +${v.byteOffset} off ${off} len ${len}`);
  }
  for (let off = 0; off < 8; off++) for (let len = 60; len < 80; len++) {
    assert.equal(onesSum(views[0]!, off, len), oSum(views[0]!.subarray(off, off + len)), `off ${off} len ${len}`);
  }
  const shared = new Uint8Array(new SharedArrayBuffer(4096));
  shared.set(backing.subarray(0, 4096));
  assert.equal(onesSum(shared, 2, 1450), oSum(shared.subarray(2, 1452)), "over a SharedArrayBuffer");
  assert.equal(onesSum(new Uint8Array(4096).fill(0xff), 2, 4000), 0xffff);
  assert.equal(onesSum(new Uint8Array(4096), 2, 4000), 0, "all zero");
  // A length field larger than the frame (bad input the Ok checks see): bytes past the view count as
  // zero in both loops, nothing throws.
  const short = views[1]!.subarray(0, 301);
  for (const len of [10, 100, 1000]) assert.equal(onesSum(short, 250, len), oSum(short.subarray(250, 250 + len)), `past the end, len ${len}`);
});

test("pseudo-header sums equal the oracle, IPv6 with 32-bit lengths", () => {
  const rnd = prng(SEED + 1);
  for (let k = 0; k < 500; k++) {
    const f = Uint8Array.from(randomBytes(60, rnd));
    const len = Math.floor(rnd() * 2 ** 20);
    const proto = Math.floor(rnd() * 256);
    assert.equal(pseudoSum4(f, 0, proto, len & 0xffff), oSum(pseudo4(f, 0, proto, len & 0xffff)));
    assert.equal(pseudoSum6(f, 0, proto, len), oSum(pseudo6(f, 0, proto, len)));
  }
});

/** A random IPv4 packet (options, protocol, payload length all random) in a buffer at an odd offset. */
function random4(rnd: () => number, proto: number): { f: Uint8Array; ip: number; l4: number } {
  const payload = randomBytes(Math.floor(rnd() * 120), rnd);
  const l4b = proto === IPPROTO_UDP ? udp(Math.floor(rnd() * 65536), Math.floor(rnd() * 65536), payload)
    : proto === IPPROTO_TCP ? tcp(Math.floor(rnd() * 65536), 80, payload, 4 * Math.floor(rnd() * 11))
    : icmp(ICMP_ECHO_REQUEST, 0, payload, Math.floor(rnd() * 65536), Math.floor(rnd() * 65536));
  const opts = 4 * Math.floor(rnd() * 11);
  const bytes = eth(0x0800, ip4({ proto, options: opts, ttl: 1 + Math.floor(rnd() * 255), id: Math.floor(rnd() * 65536),
    src: Math.floor(rnd() * 2 ** 32), dst: Math.floor(rnd() * 2 ** 32) }, l4b));
  const at = 1 + 2 * Math.floor(rnd() * 40);
  const f = inBuffer(bytes, at);
  const ip = at + ETH_HLEN;
  setBe16(f, ip + IP4_CSUM, oL4([], f.subarray(ip, ip + 20 + opts), IP4_CSUM));
  return { f, ip, l4: ip + 20 + opts };
}

/** A random IPv6 packet with 0-2 extension headers before `l4b`. */
function random6(rnd: () => number, proto: number, l4b: Bytes): { f: Uint8Array; ip6: number; l4: number } {
  let inner = l4b;
  let nh = proto;
  let extLen = 0;
  const exts = Math.floor(rnd() * 3);
  for (let e = 0; e < exts; e++) {
    const len8 = Math.floor(rnd() * 3);
    const type = e === 0 ? IPPROTO_DSTOPTS : IPPROTO_HOPOPTS;
    inner = ext6(nh, len8, inner);
    nh = type;
    extLen += (len8 + 1) * 8;
  }
  const src = randomBytes(16, rnd), dst = randomBytes(16, rnd);
  const at = 2 * Math.floor(rnd() * 40);
  const f = inBuffer(eth(0x86dd, ip6(nh, inner, { src, dst })), at);
  const ip6o = at + ETH_HLEN;
  return { f, ip6: ip6o, l4: ip6o + IP6_HLEN + extLen };
}

test("full checksums of IPv4 headers and UDP, TCP, ICMP over IPv4 equal the oracle; the Ok checks catch any flipped bit", () => {
  const rnd = prng(SEED + 2);
  for (let k = 0; k < 600; k++) {
    const proto = [IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP][k % 3]!;
    const { f, ip, l4 } = random4(rnd, proto);
    const hl = l4 - ip;
    const end = ip + be16(f, ip + 2);
    assert.equal(ip4Cksum(f, ip), oL4([], f.subarray(ip, l4), IP4_CSUM), `seed ${SEED + 2} #${k} IPv4 header`);
    assert.ok(ip4HeaderOk(f, ip, end - ip));
    const msg = f.subarray(l4, end);
    let at: number;
    if (proto === IPPROTO_UDP) {
      at = UDP_CSUM;
      const want = oL4(pseudo4(f, ip, 17, end - l4), msg, at) || 0xffff;
      assert.equal(udp4Cksum(f, ip, l4), want, `#${k} UDP`);
      setBe16(f, l4 + at, want);
      assert.ok(udp4CksumOk(f, ip, l4));
    } else if (proto === IPPROTO_TCP) {
      at = TCP_CSUM;
      const want = oL4(pseudo4(f, ip, 6, end - l4), msg, at);
      assert.equal(tcp4Cksum(f, ip, l4), want, `#${k} TCP`);
      setBe16(f, l4 + at, want);
      assert.ok(tcp4CksumOk(f, ip, l4));
    } else {
      at = ICMP_CSUM;
      const want = oL4([], msg, at);
      assert.equal(icmp4Len(f, ip, l4), end - l4);
      assert.equal(icmp4Cksum(f, l4, end - l4), want, `#${k} ICMP`);
      setBe16(f, l4 + at, want);
      assert.ok(icmp4CksumOk(f, l4, end - l4));
    }
    const ok = () => proto === IPPROTO_UDP ? udp4CksumOk(f, ip, l4) : proto === IPPROTO_TCP ? tcp4CksumOk(f, ip, l4) : icmp4CksumOk(f, l4, end - l4);
    // One flipped bit anywhere the checksum covers (the pseudo-header's addresses too for UDP and TCP).
    const covered = proto === IPPROTO_ICMP ? [] : [ip + IP4_SRC + Math.floor(rnd() * 8)];
    covered.push(l4 + Math.floor(rnd() * (end - l4)));
    for (const b of covered) {
      if (proto === IPPROTO_UDP && b >= l4 + at && b < l4 + at + 2) continue; // 0 would mean "no checksum"
      const bit = 1 << Math.floor(rnd() * 8);
      f[b]! ^= bit;
      assert.equal(ok(), false, `#${k} bit ${bit} of byte ${b - l4} flipped`);
      f[b]! ^= bit;
    }
    const hb = ip + Math.floor(rnd() * hl);
    f[hb]! ^= 0x10;
    assert.equal(ip4HeaderOk(f, ip, end - ip), false, `#${k} IPv4 header byte ${hb - ip} flipped`);
    f[hb]! ^= 0x10;
  }
});

test("a UDP checksum that computes to 0 is sent as 0xffff; 0 means none over IPv4 and is invalid over IPv6", () => {
  // Choose the last payload word so that the sum is 0xffff (the checksum computes to 0).
  const f = inBuffer(eth(0x0800, ip4({ proto: 17 }, udp(1000, 53, [0, 0]))));
  const ip = 64 + ETH_HLEN, l4 = ip + 20;
  setBe16(f, l4 + 8, oL4(pseudo4(f, ip, 17, 10), f.subarray(l4, l4 + 10), UDP_CSUM));
  assert.equal(oL4(pseudo4(f, ip, 17, 10), f.subarray(l4, l4 + 10), UDP_CSUM), 0, "the sum is 0xffff");
  assert.equal(udp4Cksum(f, ip, l4), 0xffff);
  setBe16(f, l4 + UDP_CSUM, 0xffff);
  assert.ok(udp4CksumOk(f, ip, l4));
  setBe16(f, l4 + UDP_CSUM, 0);
  assert.ok(udp4CksumOk(f, ip, l4), "0: no checksum");
  const g = inBuffer(eth(0x86dd, ip6(17, udp(1000, 53, [1, 2, 3]))));
  const i6 = 64 + ETH_HLEN;
  assert.equal(udp6CksumOk(g, i6, i6 + 40), false, "0 over IPv6");
  setBe16(g, i6 + 40 + UDP_CSUM, udp6Cksum(g, i6, i6 + 40));
  assert.ok(udp6CksumOk(g, i6, i6 + 40));
});

test("full checksums of UDP, TCP, ICMPv6 over IPv6 (with extension headers) equal the oracle", () => {
  const rnd = prng(SEED + 3);
  for (let k = 0; k < 600; k++) {
    const kind = k % 3;
    const payload = randomBytes(Math.floor(rnd() * 150), rnd);
    const l4b = kind === 0 ? udp(Math.floor(rnd() * 65536), 53, payload) : kind === 1 ? tcp(443, Math.floor(rnd() * 65536), payload, 12) : icmp(128, 0, payload);
    const proto = [17, 6, IPPROTO_ICMPV6][kind]!;
    const { f, ip6, l4 } = random6(rnd, proto, l4b);
    const end = ip6 + 40 + be16(f, ip6 + 4);
    const at = [UDP_CSUM, TCP_CSUM, ICMP_CSUM][kind]!;
    let want = oL4(pseudo6(f, ip6, proto, end - l4), f.subarray(l4, end), at);
    if (kind === 0 && want === 0) want = 0xffff;
    const got = kind === 0 ? udp6Cksum(f, ip6, l4) : kind === 1 ? tcp6Cksum(f, ip6, l4) : icmp6Cksum(f, ip6, l4);
    assert.equal(got, want, `seed ${SEED + 3} #${k} kind ${kind}`);
    setBe16(f, l4 + at, got);
    const ok = () => kind === 0 ? udp6CksumOk(f, ip6, l4) : kind === 1 ? tcp6CksumOk(f, ip6, l4) : icmp6CksumOk(f, ip6, l4);
    assert.ok(ok());
    const b = rnd() < 0.5 ? ip6 + 8 + Math.floor(rnd() * 32) : l4 + Math.floor(rnd() * (end - l4));
    if (kind === 0 && b >= l4 + at && b < l4 + at + 2) continue;
    f[b]! ^= 0x80;
    assert.equal(ok(), false, `#${k} byte ${b - ip6} of the IPv6 packet flipped`);
  }
});

test("RFC 1624: its example, and eqn. 3 equals a full recomputation over a grid of corner values", () => {
  assert.equal(cksumUpdate16(0xdd2f, 0x5555, 0x3285), 0x0000, "RFC 1624 section 4's example");
  const special = [0x0000, 0x0001, 0x00ff, 0x7fff, 0x8000, 0xfffe, 0xffff];
  const rnd = prng(SEED + 4);
  const values = [...special, ...Array.from({ length: 6 }, () => Math.floor(rnd() * 65536))];
  let n = 0;
  for (const r of values) for (const m of values) for (const m2 of values) {
    // A message of two words [r, m] (r: the rest of a header); m changes to m2.
    if (r === 0 && m2 === 0) continue; // an all-zero message: no real header is (version, protocol, ...)
    const hc = oCksum([...w16(r), ...w16(m)]);
    assert.equal(cksumUpdate16(hc, m, m2), oCksum([...w16(r), ...w16(m2)]), `r ${r} m ${m} -> ${m2}`);
    const hi = Math.floor(rnd() * 65536);
    assert.equal(cksumUpdate32(oCksum([...w16(r), ...w16(hi), ...w16(m)]), hi * 65536 + m, m2 * 65536 + hi),
      oCksum([...w16(r), ...w16(m2), ...w16(hi)]), `32-bit ${hi}:${m} -> ${m2}:${hi} over ${r}`);
    n++;
  }
  assert.equal(n, values.length ** 3 - values.length);
});

test("incremental updates equal a full recomputation over random packets and random field changes", () => {
  const rnd = prng(SEED + 5);
  let zeroAfter = 0;
  let zeroBefore = 0;
  for (let k = 0; k < 3000; k++) {
    const { f, ip, l4 } = random4(rnd, k % 2 === 0 ? IPPROTO_UDP : IPPROTO_TCP);
    const udpP = k % 2 === 0;
    const end = ip + be16(f, ip + 2);
    const csAt = l4 + (udpP ? UDP_CSUM : TCP_CSUM);
    const l4Full = () => (udpP ? udp4Cksum(f, ip, l4) : tcp4Cksum(f, ip, l4));
    // A word of the IPv4 header (not its checksum) changes; one time in 4 to the value that makes the new
    // checksum 0x0000 (sum 0xffff), one time in 4 from a header whose checksum is 0x0000.
    const words = (l4 - ip) >>> 1;
    let wi = Math.floor(rnd() * words);
    if (wi === IP4_CSUM >>> 1) wi = 0;
    if (wi === 0 && k % 4 !== 0) wi = 2; // the version/IHL word only with a random value that keeps them
    const at = ip + 2 * wi;
    if (k % 4 === 1) {
      setBe16(f, at, 0);
      setBe16(f, at, oL4([], f.subarray(ip, l4), IP4_CSUM)); // rest + this word = 0xffff
      setBe16(f, ip + IP4_CSUM, ip4Cksum(f, ip));
      assert.equal(be16(f, ip + IP4_CSUM), 0);
      zeroBefore++;
    }
    const old = be16(f, at);
    let nw = Math.floor(rnd() * 65536);
    if (k % 4 === 3) {
      setBe16(f, at, 0);
      nw = oL4([], f.subarray(ip, l4), IP4_CSUM);
      setBe16(f, at, old);
    }
    if (wi === 0 && (nw >>> 12) !== 4) nw = (nw & 0x0fff) | (be16(f, ip) & 0xf000); // keep version and IHL
    if (wi === 0) nw = (nw & 0xff) | (be16(f, ip) & 0xff00);
    const s = cksumUpdate16(be16(f, ip + IP4_CSUM), old, nw);
    setBe16(f, at, nw);
    assert.equal(s, ip4Cksum(f, ip), `seed ${SEED + 5} #${k}: IPv4 word ${wi} ${old} -> ${nw}`);
    if (s === 0) zeroAfter++;
    setBe16(f, ip + IP4_CSUM, s);
    // And back (the word may be an address or the length the layer 4 checksum depends on).
    const back = cksumUpdate16(s, nw, old);
    setBe16(f, at, old);
    assert.equal(back, ip4Cksum(f, ip), `#${k}: IPv4 word ${wi} ${nw} -> ${old}`);
    setBe16(f, ip + IP4_CSUM, back);
    // Addresses (IPv4 header and the pseudo-header of the layer 4 checksum).
    setBe16(f, csAt, l4Full());
    const a = Math.floor(rnd() * 2 ** 32);
    if (udpP) udpCksumAdjust32(f, l4, be32(f, ip + IP4_SRC), a);
    else cksumAdjust32(f, csAt, be32(f, ip + IP4_SRC), a);
    setIp4Src(f, ip, a);
    assert.equal(be32(f, ip + IP4_SRC), a);
    assert.equal(be16(f, ip + IP4_CSUM), ip4Cksum(f, ip), `#${k} setIp4Src`);
    assert.equal(be16(f, csAt), l4Full(), `#${k} L4 after the source address`);
    const d = Math.floor(rnd() * 2 ** 32);
    if (udpP) udpCksumAdjust32(f, l4, be32(f, ip + IP4_DST), d);
    else cksumAdjust32(f, csAt, be32(f, ip + IP4_DST), d);
    setIp4Dst(f, ip, d);
    assert.equal(be16(f, ip + IP4_CSUM), ip4Cksum(f, ip), `#${k} setIp4Dst`);
    assert.equal(be16(f, csAt), l4Full(), `#${k} L4 after the destination address`);
    // Ports.
    const sp = Math.floor(rnd() * 65536), dp = Math.floor(rnd() * 65536);
    if (udpP) { setUdpSport(f, l4, sp); setUdpDport(f, l4, dp); } else { setTcpSport(f, l4, sp); setTcpDport(f, l4, dp); }
    assert.deepEqual([be16(f, l4), be16(f, l4 + 2)], [sp, dp]);
    assert.equal(be16(f, csAt), l4Full(), `#${k} ports`);
    // A payload word, through the generic field update.
    if (end - l4 > 22) {
      const pw = l4 + 20 + 2 * Math.floor(rnd() * ((end - l4 - 21) >>> 1));
      const nv = Math.floor(rnd() * 65536);
      if (udpP) udpCksumAdjust16(f, l4, be16(f, pw), nv);
      else cksumAdjust16(f, csAt, be16(f, pw), nv);
      setBe16(f, pw, nv);
      assert.equal(be16(f, csAt), l4Full(), `#${k} payload word`);
    }
    // TTL.
    setIp4Ttl(f, ip, Math.floor(rnd() * 256));
    assert.equal(be16(f, ip + IP4_CSUM), ip4Cksum(f, ip), `#${k} setIp4Ttl`);
  }
  assert.ok(zeroAfter >= 700 && zeroBefore === 750, `corner cases ran: ${zeroAfter} to 0x0000, ${zeroBefore} from 0x0000`);
});

test("a UDP checksum of 0 (none) stays 0 through incremental updates; a computed 0 becomes 0xffff", () => {
  const f = inBuffer(eth(0x0800, ip4({ proto: 17 }, udp(1000, 53, [1, 2, 3, 4]))));
  const ip = 64 + ETH_HLEN, l4 = ip + 20;
  setUdpSport(f, l4, 2000);
  udpCksumAdjust32(f, l4, be32(f, ip + IP4_SRC), 0x01020304);
  assert.equal(be16(f, l4 + UDP_CSUM), 0);
  setBe16(f, l4 + UDP_CSUM, udp4Cksum(f, ip, l4));
  // The destination port that makes the sum 0xffff.
  setBe16(f, l4 + 2, 0);
  const port = oL4(pseudo4(f, ip, 17, 12), f.subarray(l4, l4 + 12), UDP_CSUM);
  setBe16(f, l4 + 2, 53);
  setUdpDport(f, l4, port);
  assert.equal(be16(f, l4 + UDP_CSUM), 0xffff);
  assert.equal(udp4Cksum(f, ip, l4), 0xffff);
  assert.ok(udp4CksumOk(f, ip, l4));
});

test("ip4DecTtl from 255 down to 1 keeps the header checksum equal to a full recomputation", () => {
  const rnd = prng(SEED + 6);
  for (let k = 0; k < 50; k++) {
    const { f, ip } = random4(rnd, IPPROTO_UDP);
    f[ip + IP4_TTL] = 255;
    setBe16(f, ip + IP4_CSUM, ip4Cksum(f, ip));
    for (let ttl = 255; ttl > 1; ttl--) {
      ip4DecTtl(f, ip);
      assert.equal(f[ip + IP4_TTL], ttl - 1);
      assert.equal(be16(f, ip + IP4_CSUM), ip4Cksum(f, ip), `#${k} TTL ${ttl} -> ${ttl - 1}`);
    }
  }
});

test("icmpEchoToReply keeps the ICMP checksum equal to a full recomputation", () => {
  const rnd = prng(SEED + 7);
  for (let k = 0; k < 500; k++) {
    const { f, ip, l4 } = random4(rnd, IPPROTO_ICMP);
    const len = icmp4Len(f, ip, l4);
    setBe16(f, l4 + ICMP_CSUM, icmp4Cksum(f, l4, len));
    icmpEchoToReply(f, l4);
    assert.equal(f[l4], 0);
    assert.equal(be16(f, l4 + ICMP_CSUM), icmp4Cksum(f, l4, len), `#${k}`);
  }
});
