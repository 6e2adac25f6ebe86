/**
 * UDP over IPv6 in the stack over ring ports, without root: the peer is the far ring port (p1), frames
 * built here by hand with an independent (naive) checksum, the clock driven by the test.
 * - echo through a channel (recvBurst / replyBurst): the reply waits for ND, then leaves byte for byte;
 *   IPv4 and IPv6 datagrams in one burst on one channel each go back in their own family;
 * - bad input (truncated header, UDP length beyond or under 8, zero and wrong checksums, to a group) dropped
 *   and counted exactly, nothing delivered; a shorter UDP length trims the datagram (as Linux);
 * - a port with no channel: ICMPv6 port unreachable byte for byte (a long datagram quoted up to 1280 bytes),
 *   suppressed where RFC 4443 says so, rate limited by the ICMP token bucket;
 * - a link-local peer: the reply leaves from our link-local address on the interface it came in on;
 *   sendTo6 / connect6 pick the source address (link-local with a scope, global by the route), refuse
 *   what cannot go (no scope, IPv4-bound channel), count what has no source;
 * - every frame back in the pool; the echo path allocates nothing (GC probe).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { RingPort } from "../../pktdev/ring-port.js";
import { parseIp6, parseMac } from "../../lookup/addr.js";
import { gc, gcsDuring } from "../../testing/gc-probe.js";
import { NetTables } from "../tables.js";
import { ArpTable } from "../arp-table.js";
import { CnetCounters, type CounterName } from "../counters.js";
import { CnetStack } from "../stack.js";
import { UDP6_HEADROOM } from "../chnl.js";
import { NdTable, ND_REACHABLE } from "./nd-table.js";
import { Ip6Addrs } from "./addrs.js";
import type { IcmpRateOptions } from "../frag/icmp-rate.js";
import { ringFrameIo, templateFeed } from "../../testing/ring-frames.js";

const MAC_US = parseMac("02:00:00:00:0a:01");
const MAC_PEER = parseMac("02:00:00:00:0b:02");
const US = "2001:db8::1";
const US_LL = "fe80::a:1";
const PEER = "2001:db8::2";
const PEER_LL = "fe80::b:2";
const US4 = 0x0a000001;
const PEER4 = 0x0a000002;
const FRAMES = 4096;
const IF = 5;
const PORT = 7777;

function rig(o: { icmpRate?: IcmpRateOptions; chnlRxDepth?: number } = {}) {
  const umem = Umem.create({ frames: FRAMES });
  const mp = Mempool.create({ umem, cacheSize: 64 });
  const [p0, p1] = RingPort.pair({ names: ["p0", "p1"], pids: [0, 1], mbufs: mp.mbufs, size: 1024 });
  const tables = NetTables.create({ maxTbl8Groups: 4 });
  tables.setInterface({ ifindex: IF, pid: 0, mac: MAC_US, mtu: 1500 });
  for (const a of [US, US_LL]) tables.addAddress6(parseIp6(a), 64, IF, 0);
  tables.addRoute6(parseIp6("2001:db8::"), 64, null, IF, 256);
  tables.addRoute6(parseIp6("fe80::"), 64, null, IF, 256);
  tables.addAddress4(US4, 24, IF);
  tables.addRoute4(0x0a000000, 24, 0, IF, 0);
  const counters = CnetCounters.create();
  const nd = NdTable.create({ capacity: 64, pendingPerEntry: 8 });
  const arp = ArpTable.create({ capacity: 64 });
  const addrs = Ip6Addrs.create();
  const clock = Float64Array.of(1000);
  const stack = CnetStack.create({
    ports: [p0!], mempool: mp, burst: 32, tables, arp, counters, stackPorts: [{ pid: 0, ifindex: IF, mac: MAC_US }],
    timers: { gratuitous: false }, nd, ip6Addrs: addrs, clock, timers6: { scanMs: 0, dadTransmits: 0, unsolicitedNa: false }, tcp: false,
    ...(o.icmpRate ? { icmpRate: o.icmpRate } : {}), ...(o.chnlRxDepth ? { chnlRxDepth: o.chnlRxDepth } : {}),
  });
  const io = ringFrameIo(umem, mp, p1!);
  const drain = io.drain;
  const inject = io.inject;
  const finish = () => {
    stack.close();
    io.finish(FRAMES);
  };
  /** Addresses preferred (no DAD here), the unsolicited NAs gone. */
  stack.walk();
  drain();
  const knowPeer = (ip = PEER) => nd.learn(parseIp6(ip), 0, IF, MAC_PEER, 0, clock[0]!, true, ND_REACHABLE);
  return { umem, mp, p1: p1!, stack, ch: stack.chnl, tables, nd, arp, addrs, clock, c: () => counters.read(), drain, inject, finish, knowPeer };
}

/** The Internet checksum of `parts`, summed naively, one 16-bit word at a time (the oracle). */
function naiveCksum(...parts: Uint8Array[]): number {
  const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

function pseudo6(src: Uint8Array, dst: Uint8Array, len: number, nxt: number): Uint8Array {
  const p = new Uint8Array(40);
  p.set(src, 0); p.set(dst, 16);
  p[32] = len >>> 24; p[33] = (len >>> 16) & 0xff; p[34] = (len >>> 8) & 0xff; p[35] = len & 0xff;
  p[39] = nxt;
  return p;
}

function payloadOf(n: number, seed = 1): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 13 + seed) & 0xff;
  return p;
}

/** An Ethernet + IPv6 + UDP frame; the checksum computed unless `csum` says; `ulen` overrides the UDP length. */
function udp6Frame(o: {
  dstMac?: Uint8Array; srcMac?: Uint8Array; src: string; dst: string; sport: number; dport: number; payload: Uint8Array;
  hlim?: number; csum?: number; ulen?: number; extra?: number;
}): Uint8Array {
  const plen = 8 + o.payload.length + (o.extra ?? 0);
  const f = new Uint8Array(14 + 40 + plen);
  f.set(o.dstMac ?? MAC_US, 0); f.set(o.srcMac ?? MAC_PEER, 6); f[12] = 0x86; f[13] = 0xdd;
  f[14] = 0x60; f[18] = plen >> 8; f[19] = plen & 0xff; f[20] = 17; f[21] = o.hlim ?? 64;
  const src = parseIp6(o.src), dst = parseIp6(o.dst);
  f.set(src, 22); f.set(dst, 38);
  const ulen = o.ulen ?? 8 + o.payload.length;
  const u = 54;
  f[u] = o.sport >> 8; f[u + 1] = o.sport & 0xff; f[u + 2] = o.dport >> 8; f[u + 3] = o.dport & 0xff;
  f[u + 4] = ulen >> 8; f[u + 5] = ulen & 0xff;
  f.set(o.payload, u + 8);
  let s = o.csum ?? naiveCksum(pseudo6(src, dst, ulen, 17), f.subarray(u, u + Math.min(ulen, plen)));
  if (o.csum === undefined && s === 0) s = 0xffff;
  f[u + 6] = s >> 8; f[u + 7] = s & 0xff;
  return f;
}

/** An Ethernet + IPv4 + UDP frame (checksum 0: none). */
function udp4Frame(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + payload.length);
  f.set(MAC_US, 0); f.set(MAC_PEER, 6); f[12] = 0x08; f[13] = 0x00;
  const ip = 14;
  const tot = 28 + payload.length;
  f[ip] = 0x45; f[ip + 2] = tot >> 8; f[ip + 3] = tot & 0xff; f[ip + 8] = 64; f[ip + 9] = 17;
  new DataView(f.buffer).setUint32(ip + 12, PEER4);
  new DataView(f.buffer).setUint32(ip + 16, US4);
  const hc = naiveCksum(f.subarray(ip, ip + 20));
  f[ip + 10] = hc >> 8; f[ip + 11] = hc & 0xff;
  f[34] = sport >> 8; f[35] = sport & 0xff; f[36] = dport >> 8; f[37] = dport & 0xff;
  f[38] = (8 + payload.length) >> 8; f[39] = (8 + payload.length) & 0xff;
  f.set(payload, 42);
  return f;
}

/** The ICMPv6 error the stack should send for `invoking` (an IPv6 frame to us), quoting up to 1232 bytes. */
function unreach6(invoking: Uint8Array, code: number): Uint8Array {
  const pkt = invoking.subarray(14);
  const quote = pkt.subarray(0, Math.min(pkt.length, 1232));
  const src = pkt.slice(24, 40), dst = pkt.slice(8, 24);
  const f = new Uint8Array(14 + 48 + quote.length);
  f.set(MAC_PEER, 0); f.set(MAC_US, 6); f[12] = 0x86; f[13] = 0xdd;
  const plen = 8 + quote.length;
  f[14] = 0x60; f[18] = plen >> 8; f[19] = plen & 0xff; f[20] = 58; f[21] = 64;
  f.set(src, 22); f.set(dst, 38);
  f[54] = 1; f[55] = code;
  f.set(quote, 62);
  const s = naiveCksum(pseudo6(src, dst, plen, 58), f.subarray(54));
  f[56] = s >> 8; f[57] = s & 0xff;
  return f;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("cnet UDP over IPv6 over ring ports", () => {
  test("echo through a channel: the reply waits for ND, then leaves byte for byte; IPv4 and IPv6 in one burst each answered in kind", () => {
    const r = rig();
    try {
      const cd = r.ch.open("udp");
      r.ch.bind(cd, 0, PORT);
      const q1 = udp6Frame({ src: PEER, dst: US, sport: 40000, dport: PORT, payload: payloadOf(100) });
      const q2 = udp6Frame({ src: PEER, dst: US, sport: 40001, dport: PORT, payload: payloadOf(1, 5) });
      r.inject(q1, q2);
      r.stack.walk();
      assert.equal(r.drain().length, 0);
      const bufs = new Uint32Array(8);
      const k = r.ch.recvBurst(cd, bufs, 8);
      assert.equal(k, 2);
      const peer = new Uint8Array(16);
      for (const [i, [want, pl]] of ([[40000, payloadOf(100)], [40001, payloadOf(1, 5)]] as const).entries()) {
        const h = bufs[i]!;
        assert.equal(r.ch.family(h), 6);
        r.ch.peerIp6(h, peer, 0);
        assert.equal(hex(peer), hex(parseIp6(PEER)));
        assert.equal(r.ch.peerPort(h), want);
        assert.equal(r.ch.peerName(h), `[${PEER}]:${want}`);
        const at = r.ch.payloadAt(h);
        assert.equal(hex(r.umem.u8.subarray(at, at + r.mp.mbufs.dataLen[h]!)), hex(pl));
      }
      assert.equal(r.ch.replyBurst(cd, bufs, k), 2);
      r.stack.walk();
      const nsOut = r.drain();
      assert.equal(nsOut.length, 1, "one neighbour solicitation for the peer");
      assert.equal(nsOut[0]![54], 135);
      assert.equal(r.c().nd_pending_held, 2);
      // The peer's advertisement releases both replies.
      const na = new Uint8Array(32);
      na[0] = 136; na[4] = 0x60; na.set(parseIp6(PEER), 8); na[24] = 2; na[25] = 1; na.set(MAC_PEER, 26);
      const naf = new Uint8Array(54 + 32);
      naf.set(MAC_US, 0); naf.set(MAC_PEER, 6); naf[12] = 0x86; naf[13] = 0xdd; naf[14] = 0x60; naf[19] = 32; naf[20] = 58; naf[21] = 255;
      naf.set(parseIp6(PEER), 22); naf.set(parseIp6(US), 38); naf.set(na, 54);
      const s = naiveCksum(pseudo6(parseIp6(PEER), parseIp6(US), 32, 58), na);
      naf[56] = s >> 8; naf[57] = s & 0xff;
      r.inject(naf);
      r.stack.walk();
      const out = r.drain();
      const want1 = udp6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US, dst: PEER, sport: PORT, dport: 40000, payload: payloadOf(100) });
      const want2 = udp6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US, dst: PEER, sport: PORT, dport: 40001, payload: payloadOf(1, 5) });
      assert.deepEqual(out.map(hex), [want1, want2].map(hex));

      // One burst of both families on the same channel (bound to any address).
      r.arp.learn(PEER4, MAC_PEER, 0, IF, r.clock[0]!, true);
      r.inject(udp4Frame(5000, PORT, payloadOf(20, 9)), udp6Frame({ src: PEER, dst: US, sport: 5001, dport: PORT, payload: payloadOf(30, 3) }), udp4Frame(5002, PORT, payloadOf(4, 2)));
      r.stack.walk();
      assert.equal(r.ch.recvBurst(cd, bufs, 8), 3);
      // ip4_input runs before ip6_input in a walk: the IPv4 datagrams are queued first.
      assert.deepEqual([0, 1, 2].map((i) => `${r.ch.family(bufs[i]!)} ${r.ch.peerName(bufs[i]!)}`), ["4 10.0.0.2:5000", "4 10.0.0.2:5002", `6 [${PEER}]:5001`]);
      assert.equal(r.ch.replyBurst(cd, bufs, 3), 3);
      r.stack.walk();
      const mixed = r.drain();
      assert.equal(mixed.length, 3);
      const v4 = mixed.filter((f) => f[12] === 0x08);
      const v6 = mixed.filter((f) => f[12] === 0x86);
      assert.deepEqual(v4.map((f) => (f[36]! << 8) | f[37]!), [5000, 5002], "IPv4 replies to their ports");
      assert.deepEqual(v6.map(hex), [hex(udp6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US, dst: PEER, sport: PORT, dport: 5001, payload: payloadOf(30, 3) }))]);
      const c = r.c();
      assert.deepEqual({ rx: c.udp6_rx, tx: c.udp6_tx, urx: c.udp_rx, utx: c.udp_tx, ip6tx: c.ip6_tx }, { rx: 3, tx: 3, urx: 2, utx: 2, ip6tx: 4 });
    } finally {
      r.finish();
    }
  });

  test("bad input dropped and counted exactly; a shorter UDP length trims the datagram", () => {
    const r = rig();
    try {
      r.knowPeer();
      const cd = r.ch.open("udp");
      r.ch.bind(cd, 0, PORT);
      const base = { src: PEER, dst: US, sport: 1234, dport: PORT };
      const good = udp6Frame({ ...base, payload: payloadOf(40) });
      const badCsum = udp6Frame({ ...base, payload: payloadOf(40) }); badCsum[60] = badCsum[60]! ^ 0x01;
      const badData = udp6Frame({ ...base, payload: payloadOf(40) }); badData[70] = badData[70]! ^ 0x80;
      const zero = udp6Frame({ ...base, payload: payloadOf(40), csum: 0 });
      // Truncated: the IPv6 payload holds 4 bytes of a UDP header.
      const trunc = udp6Frame({ ...base, payload: new Uint8Array(0) }).slice(0, 58); trunc[19] = 4;
      const tooLong = udp6Frame({ ...base, payload: payloadOf(40), ulen: 49 }); // one more than the payload holds
      const under8 = udp6Frame({ ...base, payload: payloadOf(40), ulen: 7 });
      const jumbo = udp6Frame({ ...base, payload: payloadOf(40), ulen: 0 });
      const toGroup = udp6Frame({ ...base, dst: "ff02::1", dstMac: Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), payload: payloadOf(8) });
      // 10 bytes of trailing data past the UDP length: trimmed, the checksum over the UDP length.
      const trailing = udp6Frame({ ...base, payload: payloadOf(12, 7), extra: 10 });
      r.inject(badCsum, badData, zero, trunc, tooLong, under8, jumbo, toGroup, good, trailing);
      r.stack.walk();
      assert.equal(r.drain().length, 0, "nothing answered (no ICMPv6 for bad datagrams)");
      const c = r.c();
      const got = Object.fromEntries((["udp6_rx", "udp6_drop_cksum", "udp6_drop_zero_cksum", "udp6_drop_bad", "udp6_drop_mcast", "udp6_no_port", "ip6_drop_proto", "icmp6_tx"] as CounterName[]).map((k) => [k, c[k]]));
      assert.deepEqual(got, { udp6_rx: 10, udp6_drop_cksum: 2, udp6_drop_zero_cksum: 1, udp6_drop_bad: 4, udp6_drop_mcast: 1, udp6_no_port: 0, ip6_drop_proto: 0, icmp6_tx: 0 });
      const bufs = new Uint32Array(8);
      assert.equal(r.ch.recvBurst(cd, bufs, 8), 2, "the good datagram and the trimmed one");
      const lens = [0, 1].map((i) => r.mp.mbufs.dataLen[bufs[i]!]!);
      assert.deepEqual(lens, [40, 12]);
      const at = r.ch.payloadAt(bufs[1]!);
      assert.equal(hex(r.umem.u8.subarray(at, at + 12)), hex(payloadOf(12, 7)));
      r.mp.freeBulk(bufs, 2);
    } finally {
      r.finish();
    }
  });

  test("a port with no channel: ICMPv6 port unreachable byte for byte, suppressed where it must be, rate limited", () => {
    const r = rig({ icmpRate: { perSec: 1, burst: 2 } });
    try {
      r.knowPeer();
      const q = (sport: number, n = 16) => udp6Frame({ src: PEER, dst: US, sport, dport: 9999, payload: payloadOf(n, sport) });
      // A long datagram first: the quote stops at 1280 bytes in all.
      const long = q(1, 1400);
      r.inject(long, q(2));
      r.stack.walk();
      const out = r.drain();
      assert.equal(out.length, 2);
      assert.equal(out[0]!.length, 14 + 1280, "the error fits the minimum MTU");
      assert.equal(hex(out[0]!), hex(unreach6(long, 4)));
      assert.equal(hex(out[1]!), hex(unreach6(q(2), 4)));
      // The bucket is empty: three more are refused; a second later, one token.
      r.inject(q(3), q(4), q(5));
      r.stack.walk();
      assert.equal(r.drain().length, 0);
      r.clock[0] = r.clock[0]! + 1000;
      r.inject(q(6), q(7));
      r.stack.walk();
      assert.deepEqual(r.drain().map(hex), [hex(unreach6(q(6), 4))]);
      // Never answered: from :: (to us), or to us behind a link-layer multicast.
      r.clock[0] = r.clock[0]! + 10_000;
      const fromNobody = udp6Frame({ src: "::", dst: US, sport: 8, dport: 9999, payload: payloadOf(4) });
      const mcastMac = udp6Frame({ src: PEER, dst: US, sport: 9, dport: 9999, payload: payloadOf(4), dstMac: Uint8Array.of(0x33, 0x33, 0xff, 0, 0, 1) });
      r.inject(fromNobody, mcastMac);
      r.stack.walk();
      assert.equal(r.drain().length, 0);
      const c = r.c();
      assert.deepEqual(
        { no: c.udp6_no_port, out: c.icmp6_unreach_out, lim: c.icmp6_err_rate_limited, sup: c.icmp6_err_suppressed, tx: c.icmp6_tx, v4: c.icmp_unreach_out },
        { no: 9, out: 3, lim: 4, sup: 2, tx: 3, v4: 0 },
      );
      // The bucket is shared with IPv4's errors and was full again: the suppressed ones took no token.
      r.inject(q(10), q(11), q(12));
      r.stack.walk();
      assert.equal(r.drain().length, 2);
    } finally {
      r.finish();
    }
  });

  test("a link-local peer: the reply leaves from our link-local address on its interface; sendTo6/connect6 pick sources", () => {
    const r = rig();
    try {
      r.knowPeer(PEER_LL);
      r.knowPeer(PEER);
      const cd = r.ch.open("udp");
      r.ch.bind(cd, 0, PORT);
      r.inject(udp6Frame({ src: PEER_LL, dst: US_LL, sport: 3333, dport: PORT, payload: payloadOf(64) }));
      r.stack.walk();
      const bufs = new Uint32Array(8);
      assert.equal(r.ch.recvBurst(cd, bufs, 8), 1);
      assert.equal(r.ch.replyBurst(cd, bufs, 1), 1);
      r.stack.walk();
      assert.deepEqual(r.drain().map(hex), [hex(udp6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US_LL, dst: PEER_LL, sport: PORT, dport: 3333, payload: payloadOf(64) }))]);

      // sendTo6: to the link-local peer (scope: its ifindex) from our link-local address; to the global
      // peer from the global address (by the route); to an address without a route: counted.
      const send = (to: string, port: number, scope: number, seed: number) => {
        assert.equal(r.ch.allocBurst(bufs, 1), 1);
        const h = bufs[0]!;
        assert.ok(r.ch.payloadAt(h) - ((h << r.umem.shift) >>> 0) >= UDP6_HEADROOM);
        r.umem.u8.set(payloadOf(10, seed), r.ch.payloadAt(h));
        r.mp.mbufs.dataLen[h] = 10;
        return r.ch.sendTo6(cd, bufs, 1, parseIp6(to), 0, port, scope);
      };
      assert.equal(send(PEER_LL, 4000, IF, 1), 1);
      assert.equal(send(PEER, 4001, 0, 2), 1);
      assert.equal(send("2001:db9::5", 4002, 0, 3), 1);
      r.stack.walk();
      assert.deepEqual(r.drain().map(hex), [
        hex(udp6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US_LL, dst: PEER_LL, sport: PORT, dport: 4000, payload: payloadOf(10, 1) })),
        hex(udp6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US, dst: PEER, sport: PORT, dport: 4001, payload: payloadOf(10, 2) })),
      ]);
      assert.equal(r.c().udp6_drop_no_source, 1);
      // To all-nodes on the interface: from the link-local address, hop limit 1, to 33:33:00:00:00:01.
      assert.equal(send("ff02::1", 4003, IF, 4), 1);
      r.stack.walk();
      assert.deepEqual(r.drain().map(hex), [hex(udp6Frame({ dstMac: Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), srcMac: MAC_US, src: US_LL, dst: "ff02::1", hlim: 1, sport: PORT, dport: 4003, payload: payloadOf(10, 4) }))]);
      // connect6 + sendBurst; the channel list shows the peer.
      const cd2 = r.ch.open("udp");
      r.ch.connect6(cd2, parseIp6(PEER), 0, 4444);
      assert.match(r.ch.list().find((l) => l.cd === cd2)!.peer, /^\[2001:db8::2\]:4444$/);
      r.ch.allocBurst(bufs, 1);
      r.mp.mbufs.dataLen[bufs[0]!] = 0;
      assert.equal(r.ch.sendBurst(cd2, bufs, 1), 1);
      r.stack.walk();
      const e = r.drain();
      assert.equal(e.length, 1);
      assert.equal(e[0]!.length, 62, "an empty datagram");
      // Refused with a clear error, the buffers stay the caller's.
      assert.throws(() => r.ch.sendTo6(cd, bufs, 0, parseIp6(PEER_LL), 0, 1), /link-local peer fe80::b:2 needs a scope/);
      assert.throws(() => r.ch.sendTo6(cd, bufs, 0, new Uint8Array(8), 0, 1), /16 bytes at 0 of a buffer of 8/);
      const cd4 = r.ch.open("udp");
      r.ch.bind(cd4, US4, 0);
      assert.throws(() => r.ch.sendTo6(cd4, bufs, 0, parseIp6(PEER), 0, 1), /bound to the IPv4 address 10\.0\.0\.1/);
      // A channel bound to an IPv4 address takes no IPv6 datagram.
      const p4 = r.ch.bind(r.ch.open("udp"), US4, 6000);
      r.inject(udp6Frame({ src: PEER, dst: US, sport: 1, dport: p4, payload: payloadOf(4) }));
      r.stack.walk();
      assert.equal(r.drain().length, 1, "port unreachable");
      assert.equal(r.c().udp6_no_port, 1);
      assert.equal(r.c().udp6_tx, 5);
    } finally {
      r.finish();
    }
  });

  test("a datagram behind a Destination Options header is delivered (the reply carries none); a full channel queue drops and counts", () => {
    const r = rig({ chnlRxDepth: 2 });
    try {
      r.knowPeer();
      const cd = r.ch.open("udp");
      r.ch.bind(cd, 0, PORT);
      const plain = udp6Frame({ src: PEER, dst: US, sport: 2222, dport: PORT, payload: payloadOf(33) });
      // The same datagram with 8 bytes of Destination Options (PadN) before it: its checksum is the same.
      const ext = new Uint8Array(plain.length + 8);
      ext.set(plain.subarray(0, 54));
      ext.set(Uint8Array.of(17, 0, 1, 4, 0, 0, 0, 0), 54);
      ext.set(plain.subarray(54), 62);
      ext[20] = 60;
      ext[19] = ext[19]! + 8;
      r.inject(ext, plain, plain);
      r.stack.walk();
      const bufs = new Uint32Array(8);
      assert.equal(r.ch.recvBurst(cd, bufs, 8), 2);
      assert.equal(r.c().udp6_drop_queue_full, 1, "the third datagram: the queue holds 2");
      assert.equal(r.c().ip6_ext_skipped, 1);
      assert.equal(r.ch.replyBurst(cd, bufs, 2), 2);
      r.stack.walk();
      const want = hex(udp6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US, dst: PEER, sport: PORT, dport: 2222, payload: payloadOf(33) }));
      assert.deepEqual(r.drain().map(hex), [want, want]);
    } finally {
      r.finish();
    }
  });

  test("the IPv6 echo path allocates nothing", async () => {
    const r = rig();
    try {
      r.knowPeer();
      const cd = r.ch.open("udp");
      r.ch.bind(cd, 0, PORT);
      const tpls = [udp6Frame({ src: PEER, dst: US, sport: 1000, dport: PORT, payload: payloadOf(64) })];
      const bad = udp6Frame({ src: PEER, dst: US, sport: 1000, dport: PORT, payload: payloadOf(64) }); bad[60] = bad[60]! ^ 1;
      tpls.push(bad, udp6Frame({ src: PEER, dst: US, sport: 1000, dport: 9, payload: payloadOf(64) }));
      const feed = templateFeed(r.umem, r.mp, r.p1, tpls);
      const rb = new Uint32Array(64);
      const run = (walks: number) => {
        for (let i = 0; i < walks; i++) {
          feed.feed();
          r.stack.walk();
          const n = r.ch.recvBurst(cd, rb, 64);
          const back = r.ch.replyBurst(cd, rb, n);
          if (back < n) r.mp.freeBulk(rb, n - back, back);
          feed.drainFree();
        }
      };
      run(30_000);
      const gcs = await gcsDuring(() => run(150_000));
      gc();
      r.stack.walk();
      feed.drainFree();
      assert.equal(gcs, 0, `${gcs} garbage collections over 150000 walks: the UDP over IPv6 path allocates`);
      const c = r.c();
      assert.equal(c.udp6_rx, feed.count());
      assert.equal(c.udp6_tx, Math.ceil(feed.count() / 3));
      assert.equal(c.udp6_drop_cksum, Math.floor((feed.count() + 1) / 3));
      assert.equal(c.udp6_no_port, Math.floor(feed.count() / 3));
    } finally {
      r.finish();
    }
  });
});
