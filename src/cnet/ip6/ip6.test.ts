/**
 * IPv6 in the stack over ring ports, without root: the peer is the far ring port (p1), frames built here
 * by hand, the clock driven by the test.
 * - DAD at start: one solicitation from :: per address to its solicited-node group; tentative addresses
 *   are not answered; after the retransmit time, preferred and announced (unsolicited NA to all-nodes);
 * - DAD conflicts: an advertisement for a tentative address, or a solicitation from :: for it, makes it
 *   duplicate: never answered, never announced;
 * - a solicitation for our address is answered byte for byte (against a hand-built advertisement) and its
 *   sender cached stale; malformed ND (hop limit, code, :: with a source option, unicast DAD, bad
 *   options, a solicited NA to a group) is dropped and counted;
 * - an echo request to a global address is answered after ND resolution (one multicast solicitation,
 *   the reply held, released by the advertisement) byte for byte; to the link-local address through the
 *   interface it came in on; a stale entry is probed once with a unicast solicitation;
 * - an unanswered neighbour: three solicitations, then the held frames are freed and counted; the queue
 *   is bounded;
 * - bad input, each dropped where it should be and counted exactly; extension headers skipped;
 * - every frame back in the pool; the echo path allocates nothing (GC probe).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { RingPort } from "../../pktdev/ring-port.js";
import { icmp6Cksum, icmp6CksumOk } from "../../wire/icmp6.js";
import { parseIp6, parseMac } from "../../lookup/addr.js";
import { gc, gcsDuring } from "../../testing/gc-probe.js";
import { NetTables } from "../tables.js";
import { ArpTable } from "../arp-table.js";
import { CnetCounters, type CounterName } from "../counters.js";
import { CnetStack } from "../stack.js";
import { NeighbourFeed } from "../learn.js";
import { NdTable, ND_REACHABLE } from "./nd-table.js";
import { Ip6Addrs } from "./addrs.js";
import type { Nd6Timers } from "./timer.js";
import { ringFrameIo, templateFeed } from "../../testing/ring-frames.js";

const MAC_US = parseMac("02:00:00:00:0a:01");
const MAC_PEER = parseMac("02:00:00:00:0b:02");
const US = "2001:db8::1";
const US_LL = "fe80::a:1";
const PEER = "2001:db8::2";
const PEER_LL = "fe80::b:2";
const FRAMES = 4096;
const IF = 5;

function rig(o: { timers6?: Nd6Timers; clock?: Float64Array; feed?: NeighbourFeed; addrs?: string[]; dad?: boolean } = {}) {
  const umem = Umem.create({ frames: FRAMES });
  const mp = Mempool.create({ umem, cacheSize: 64 });
  const [p0, p1] = RingPort.pair({ names: ["p0", "p1"], pids: [0, 1], mbufs: mp.mbufs, size: 1024 });
  const tables = NetTables.create({ maxTbl8Groups: 4 });
  tables.setInterface({ ifindex: IF, pid: 0, mac: MAC_US, mtu: 1500 });
  for (const a of o.addrs ?? [US, US_LL]) tables.addAddress6(parseIp6(a), 64, IF, 0);
  tables.addRoute6(parseIp6("2001:db8::"), 64, null, IF, 256);
  tables.addRoute6(parseIp6("fe80::"), 64, null, IF, 256);
  tables.addRoute6(parseIp6("2001:db8:99::"), 48, parseIp6(PEER_LL), IF, 1024);
  const counters = CnetCounters.create();
  const nd = NdTable.create({ capacity: 64, pendingPerEntry: 8 });
  const addrs = Ip6Addrs.create();
  const clock = o.clock ?? Float64Array.of(1000);
  const stack = CnetStack.create({
    ports: [p0!], mempool: mp, burst: 32, tables, arp: ArpTable.create({ capacity: 64 }), counters,
    stackPorts: [{ pid: 0, ifindex: IF, mac: MAC_US }], timers: { gratuitous: false }, nd, ip6Addrs: addrs, clock,
    timers6: { scanMs: 0, dadTransmits: o.dad === false ? 0 : 1, ...o.timers6 }, ...(o.feed ? { feed: o.feed } : {}),
  });
  const io = ringFrameIo(umem, mp, p1!);
  const drain = io.drain;
  const inject = io.inject;
  const finish = () => {
    stack.close();
    io.finish(FRAMES);
  };
  /** Walks until the addresses are preferred (DAD over: advance the clock past the retransmit time). */
  const settle = () => {
    stack.walk();
    clock[0] = clock[0]! + 1000;
    stack.walk();
    drain();
  };
  return { umem, mp, p1: p1!, stack, tables, nd, addrs, clock, c: () => counters.read(), drain, inject, finish, settle };
}

/** An Ethernet + IPv6 frame; `l4` the upper-layer bytes (after `ext`, extension headers the caller chains). */
function ip6Frame(o: { dstMac?: Uint8Array; srcMac?: Uint8Array; src: string; dst: string; hlim?: number; nxt?: number; ext?: Uint8Array; l4: Uint8Array; version?: number }): Uint8Array {
  const ext = o.ext ?? new Uint8Array(0);
  const f = new Uint8Array(14 + 40 + ext.length + o.l4.length);
  f.set(o.dstMac ?? MAC_US, 0);
  f.set(o.srcMac ?? MAC_PEER, 6);
  f[12] = 0x86; f[13] = 0xdd;
  f[14] = (o.version ?? 6) << 4;
  const plen = ext.length + o.l4.length;
  f[18] = plen >> 8; f[19] = plen & 0xff;
  f[20] = o.nxt ?? 58;
  f[21] = o.hlim ?? 64;
  f.set(parseIp6(o.src), 22);
  f.set(parseIp6(o.dst), 38);
  f.set(ext, 54);
  f.set(o.l4, 54 + ext.length);
  return f;
}

/** Fills in the ICMPv6 checksum of the message at `l4` (default: right after the IPv6 header). */
function fixIcmp6(f: Uint8Array, l4 = 54): Uint8Array {
  f[l4 + 2] = 0; f[l4 + 3] = 0;
  const s = icmp6Cksum(f, 14, l4);
  f[l4 + 2] = s >> 8; f[l4 + 3] = s & 0xff;
  return f;
}

function echo(type: number, id: number, seq: number, data = 40): Uint8Array {
  const m = new Uint8Array(8 + data);
  m[0] = type;
  m[4] = id >> 8; m[5] = id & 0xff; m[6] = seq >> 8; m[7] = seq & 0xff;
  for (let i = 0; i < data; i++) m[8 + i] = (i * 7) & 0xff;
  return m;
}

function echoRequest(o: { src?: string; dst?: string; seq?: number; hlim?: number; dstMac?: Uint8Array } = {}): Uint8Array {
  return fixIcmp6(ip6Frame({ src: o.src ?? PEER, dst: o.dst ?? US, hlim: o.hlim ?? 64, l4: echo(128, 0x1234, o.seq ?? 1), ...(o.dstMac ? { dstMac: o.dstMac } : {}) }));
}

/** What the stack should send for echoRequest(o): addresses swapped, hop limit 64, type 129. */
function echoReply(o: { src?: string; dst?: string; seq?: number } = {}): Uint8Array {
  return fixIcmp6(ip6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: o.dst ?? US, dst: o.src ?? PEER, hlim: 64, l4: echo(129, 0x1234, o.seq ?? 1) }));
}

/** The solicited-node group of `a` and its MAC. */
function solicited(a: string): { ip: string; mac: Uint8Array } {
  const b = parseIp6(a);
  const hex = (x: number) => x.toString(16).padStart(2, "0");
  return { ip: `ff02::1:ff${hex(b[13]!)}:${hex(b[14]!)}${hex(b[15]!)}`, mac: Uint8Array.of(0x33, 0x33, 0xff, b[13]!, b[14]!, b[15]!) };
}

function nsMsg(target: string, slla: Uint8Array | null): Uint8Array {
  const m = new Uint8Array(24 + (slla ? 8 : 0));
  m[0] = 135;
  m.set(parseIp6(target), 8);
  if (slla) { m[24] = 1; m[25] = 1; m.set(slla, 26); }
  return m;
}

function naMsg(target: string, flags: number, tlla: Uint8Array | null): Uint8Array {
  const m = new Uint8Array(24 + (tlla ? 8 : 0));
  m[0] = 136;
  m[4] = flags;
  m.set(parseIp6(target), 8);
  if (tlla) { m[24] = 2; m[25] = 1; m.set(tlla, 26); }
  return m;
}

/** A solicitation from the peer (or from :: when `src` is "::") for `target`. */
function ns(target: string, o: { src?: string; dst?: string; hlim?: number; slla?: Uint8Array | null; code?: number; dstMac?: Uint8Array } = {}): Uint8Array {
  const src = o.src ?? PEER_LL;
  const g = solicited(target);
  const slla = o.slla === undefined ? (src === "::" ? null : MAC_PEER) : o.slla;
  const m = nsMsg(target, slla);
  m[1] = o.code ?? 0;
  return fixIcmp6(ip6Frame({ dstMac: o.dstMac ?? g.mac, src, dst: o.dst ?? g.ip, hlim: o.hlim ?? 255, l4: m }));
}

function na(target: string, o: { src?: string; dst?: string; flags?: number; tlla?: Uint8Array | null; hlim?: number } = {}): Uint8Array {
  const dst = o.dst ?? US_LL;
  const mac = dst.startsWith("ff02") ? Uint8Array.of(0x33, 0x33, 0, 0, 0, 1) : MAC_US;
  return fixIcmp6(ip6Frame({ dstMac: mac, src: o.src ?? PEER_LL, dst, hlim: o.hlim ?? 255, l4: naMsg(target, o.flags ?? 0x60, o.tlla === undefined ? MAC_PEER : o.tlla) }));
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("cnet IPv6 over ring ports", () => {
  test("DAD at start: one NS from :: per address, tentative addresses not answered, then preferred and announced", () => {
    const r = rig();
    try {
      r.stack.walk();
      const out = r.drain();
      assert.equal(out.length, 2, "one DAD solicitation per address");
      for (const [i, a] of [US, US_LL].entries()) {
        const g = solicited(a);
        const want = fixIcmp6(ip6Frame({ dstMac: g.mac, srcMac: MAC_US, src: "::", dst: g.ip, hlim: 255, l4: nsMsg(a, null) }));
        assert.equal(hex(out[i]!), hex(want), `DAD NS for ${a} (no source link-layer option, from ::)`);
      }
      assert.deepEqual(r.addrs.list().map((a) => `${a.ip} ${a.state}`), [`${US} tentative`, `${US_LL} tentative`]);
      // Tentative: an echo request is not answered, a solicitation from a neighbour is ignored.
      r.inject(echoRequest(), ns(US));
      r.stack.walk();
      assert.equal(r.drain().length, 0);
      assert.equal(r.c().ip6_drop_not_local, 1);
      assert.equal(r.c().nd_ignored, 1);
      r.clock[0] = 1999;
      r.stack.walk();
      assert.equal(r.drain().length, 0, "still waiting for a conflict");
      r.clock[0] = 2000;
      r.stack.walk();
      const ann = r.drain();
      assert.equal(ann.length, 2, "an unsolicited NA per address");
      for (const [i, a] of [US, US_LL].entries()) {
        const want = fixIcmp6(ip6Frame({ dstMac: Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), srcMac: MAC_US, src: a, dst: "ff02::1", hlim: 255, l4: naMsg(a, 0x20, MAC_US) }));
        assert.equal(hex(ann[i]!), hex(want), `unsolicited NA for ${a} (override, our MAC)`);
      }
      assert.deepEqual(r.addrs.list().map((a) => a.state), ["preferred", "preferred"]);
      const c = r.c();
      assert.equal(c.nd_dad_ns_out, 2);
      assert.equal(c.nd_dad_ok, 2);
      assert.equal(c.nd_unsolicited_na_out, 2);
      assert.equal(c.nd_dad_duplicate, 0);
      assert.equal(c.icmp6_tx, 4);
      assert.equal(c.ip6_tx, 4);
    } finally {
      r.finish();
    }
  });

  test("DAD conflicts: an NA for a tentative address, or an NS from :: for it, makes it duplicate; never used", () => {
    const r = rig({ addrs: [US, US_LL, "2001:db8::77"] });
    try {
      r.stack.walk();
      assert.equal(r.drain().length, 3);
      // The peer holds US: it answers our DAD NS to all-nodes. Someone else is doing DAD for ::77 at the same time.
      r.inject(na(US, { dst: "ff02::1", flags: 0x20 }), ns("2001:db8::77", { src: "::" }));
      r.stack.walk();
      assert.equal(r.c().nd_dad_duplicate, 2);
      r.clock[0] = 3000;
      r.stack.walk();
      const ann = r.drain();
      assert.equal(ann.length, 1, "only the link-local address is announced");
      assert.equal(hex(ann[0]!.subarray(22, 38)), hex(parseIp6(US_LL)));
      assert.deepEqual(r.addrs.list().map((a) => `${a.ip} ${a.state}`), [`${US} duplicate`, `${US_LL} preferred`, "2001:db8::77 duplicate"]);
      // A duplicate is not answered (echo, ND), and its solicited-node MAC is not taken.
      r.inject(echoRequest(), ns(US), echoRequest({ src: PEER_LL, dst: US_LL }));
      r.stack.walk();
      const out = r.drain();
      assert.equal(out.length, 1, "the neighbour solicitation for the link-local address (to resolve the echo's sender)");
      assert.equal(r.c().ip6_drop_mcast_mac, 1, "the NS for the duplicate address: its group is not ours any more");
      assert.equal(r.c().ip6_drop_not_local, 1, "the echo to the duplicate address");
      assert.equal(r.c().nd_dad_ok, 1);
    } finally {
      r.finish();
    }
  });

  test("an NS for our address is answered byte for byte and its sender cached stale; malformed ND dropped and counted", () => {
    const r = rig();
    try {
      r.settle();
      r.inject(ns(US));
      r.stack.walk();
      const out = r.drain();
      assert.equal(out.length, 1);
      const want = fixIcmp6(ip6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US, dst: PEER_LL, hlim: 255, l4: naMsg(US, 0x60, MAC_US) }));
      assert.equal(hex(out[0]!), hex(want), "solicited + override NA, our MAC, to the sender");
      assert.deepEqual(r.nd.entries(r.clock[0]!).map((e) => `${e.ip} ${e.mac} ${e.state} ${e.ifindex}`), [`${PEER_LL} 02:00:00:00:0b:02 stale ${IF}`]);
      // DAD from another node for our preferred address: answered to all-nodes, not solicited.
      r.inject(ns(US_LL, { src: "::" }));
      r.stack.walk();
      const dad = r.drain();
      const wantDad = fixIcmp6(ip6Frame({ dstMac: Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), srcMac: MAC_US, src: US_LL, dst: "ff02::1", hlim: 255, l4: naMsg(US_LL, 0x20, MAC_US) }));
      assert.equal(hex(dad[0]!), hex(wantDad));
      const before = r.c();
      const badOpt = ns(US); badOpt[54 + 25] = 0; fixIcmp6(badOpt); // an option of length 0
      const badCsum = ns(US); badCsum[54 + 10] = badCsum[54 + 10]! ^ 1;
      const naToGroup = na(PEER_LL, { dst: "ff02::1", flags: 0x60 }); // solicited flag to a group
      const short = ns(US); short[18] = 0; short[19] = 20; fixIcmp6(short); // 20 bytes: no room for the target
      r.inject(
        ns(US, { hlim: 254 }), ns(US, { code: 1 }), ns(US, { src: "::", slla: MAC_PEER }), ns(US, { src: "::", dst: US, dstMac: MAC_US }),
        badOpt, naToGroup, short, badCsum, ns("2001:db8::55", { dstMac: solicited(US).mac, dst: solicited(US).ip }),
      );
      r.stack.walk();
      assert.equal(r.drain().length, 0, "none answered");
      const c = r.c();
      assert.equal(c.nd_drop_bad - before.nd_drop_bad, 7);
      assert.equal(c.icmp6_drop_cksum - before.icmp6_drop_cksum, 1);
      assert.equal(c.nd_ignored - before.nd_ignored, 1, "a target that is not ours");
      assert.equal(c.nd_na_out, 4, "two answers, and the two announcements of settle()");
    } finally {
      r.finish();
    }
  });

  test("echo to the global address: ND resolves the peer (one NS, the reply held, released by the NA) byte for byte", () => {
    const r = rig();
    try {
      r.settle();
      r.inject(echoRequest({ seq: 1 }), echoRequest({ seq: 2 }));
      r.stack.walk();
      const out = r.drain();
      assert.equal(out.length, 1, "one solicitation");
      const g = solicited(PEER);
      const want = fixIcmp6(ip6Frame({ dstMac: g.mac, srcMac: MAC_US, src: US, dst: g.ip, hlim: 255, l4: nsMsg(PEER, MAC_US) }));
      assert.equal(hex(out[0]!), hex(want), "multicast NS from our address, with our MAC");
      assert.equal(r.c().nd_pending_held, 2);
      r.inject(na(PEER, { src: PEER, dst: US, flags: 0x60 }));
      r.stack.walk();
      const replies = r.drain();
      assert.deepEqual(replies.map(hex), [echoReply({ seq: 1 }), echoReply({ seq: 2 })].map(hex));
      for (const f of replies) assert.ok(icmp6CksumOk(f, 14, 54));
      assert.deepEqual(r.nd.entries(r.clock[0]!).map((e) => `${e.ip} ${e.mac} ${e.state}`), [`${PEER} 02:00:00:00:0b:02 reachable`]);
      // Resolved: the next reply goes at once.
      r.inject(echoRequest({ seq: 3 }));
      r.stack.walk();
      assert.deepEqual(r.drain().map(hex), [hex(echoReply({ seq: 3 }))]);
      // Link-local: the sender (cached stale from its NS) is probed once with a unicast NS, the reply goes.
      r.inject(ns(US_LL), echoRequest({ src: PEER_LL, dst: US_LL, seq: 4 }));
      r.stack.walk();
      const ll = r.drain();
      assert.equal(ll.length, 3, "NA, unicast probe, reply");
      const probe = fixIcmp6(ip6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US_LL, dst: PEER_LL, hlim: 255, l4: nsMsg(PEER_LL, MAC_US) }));
      assert.equal(hex(ll[1]!), hex(probe));
      assert.equal(hex(ll[2]!), hex(echoReply({ src: PEER_LL, dst: US_LL, seq: 4 })));
      const c = r.c();
      assert.equal(c.icmp6_echo_in, 4);
      assert.equal(c.nd_pending_sent, 2);
      assert.equal(c.nd_ns_out, 1);
      assert.equal(c.nd_probe_out, 1);
      assert.equal(c.nd_pending_timeout, 0);
    } finally {
      r.finish();
    }
  });

  test("an unanswered neighbour: three solicitations, 8 frames held and 2 dropped, then freed and counted", () => {
    const r = rig({ timers6: { retransMs: 1000, retries: 3 } });
    try {
      r.settle();
      for (let i = 0; i < 10; i++) r.inject(echoRequest({ seq: i }));
      r.stack.walk();
      assert.equal(r.drain().length, 1);
      assert.equal(r.c().nd_pending_held, 8);
      assert.equal(r.c().nd_pending_drop_full, 2);
      for (const t of [3000, 4000]) {
        r.clock[0] = t;
        r.stack.walk();
      }
      assert.equal(r.drain().length, 2, "two retries");
      assert.equal(r.c().nd_pending_timeout, 0);
      r.clock[0] = 5000;
      r.stack.walk();
      assert.equal(r.drain().length, 0);
      assert.equal(r.c().nd_pending_timeout, 8);
      assert.equal(r.c().nd_ns_out, 3);
      assert.equal(r.nd.size, 0);
    } finally {
      r.finish();
    }
  });

  test("a route via a link-local gateway: the gateway is resolved, not the destination", () => {
    const r = rig();
    try {
      r.settle();
      r.inject(echoRequest({ src: "2001:db8:99::5" }));
      r.stack.walk();
      const out = r.drain();
      assert.equal(out.length, 1);
      assert.equal(hex(out[0]!.subarray(54 + 8, 54 + 24)), hex(parseIp6(PEER_LL)), "asks for the gateway");
      assert.equal(hex(out[0]!.subarray(22, 38)), hex(parseIp6(US)), "from the held packet's source (RFC 4861 7.2.2)");
      r.inject(na(PEER_LL, { flags: 0x60 }));
      r.stack.walk();
      const rep = r.drain();
      assert.equal(rep.length, 1);
      assert.equal(hex(rep[0]!.subarray(0, 6)), hex(MAC_PEER));
      assert.equal(hex(rep[0]!.subarray(38, 54)), hex(parseIp6("2001:db8:99::5")));
    } finally {
      r.finish();
    }
  });

  test("bad input dropped where it should be and counted exactly; extension headers skipped", () => {
    const r = rig({ dad: false });
    try {
      r.stack.walk();
      assert.equal(r.drain().length, 0, "no DAD, no announcement");
      // Resolve the peer first, so replies go out at once.
      r.inject(na(PEER, { src: PEER, dst: US, flags: 0x20 }));
      r.stack.walk();
      assert.equal(r.c().nd_ignored, 1, "an unsolicited NA for an address not cached");
      r.nd.learn(parseIp6(PEER), 0, IF, MAC_PEER, 0, r.clock[0]!, true, ND_REACHABLE);
      const e = echo(128, 0x1234, 9);
      const hbh = Uint8Array.of(58, 0, 1, 4, 0, 0, 0, 0); // Hop-by-Hop, PadN
      const withHbh = fixIcmp6(ip6Frame({ src: PEER, dst: US, nxt: 0, ext: hbh, l4: e }), 62);
      const dstDiscard = fixIcmp6(ip6Frame({ src: PEER, dst: US, nxt: 60, ext: Uint8Array.of(58, 0, 0x80, 4, 0, 0, 0, 0), l4: e }), 62);
      const dstSkip = fixIcmp6(ip6Frame({ src: PEER, dst: US, nxt: 60, ext: Uint8Array.of(58, 0, 0x1e, 4, 0, 0, 0, 0), l4: e }), 62);
      const hbhLate = fixIcmp6(ip6Frame({ src: PEER, dst: US, nxt: 60, ext: Uint8Array.of(0, 0, 1, 4, 0, 0, 0, 0, 58, 0, 1, 4, 0, 0, 0, 0), l4: e }), 70);
      const frag = fixIcmp6(ip6Frame({ src: PEER, dst: US, nxt: 44, ext: Uint8Array.of(58, 0, 0, 1, 0, 0, 0, 7), l4: e }), 62);
      const atomic = fixIcmp6(ip6Frame({ src: PEER, dst: US, nxt: 44, ext: Uint8Array.of(58, 0, 0, 0, 0, 0, 0, 8), l4: e }), 62);
      const routing = fixIcmp6(ip6Frame({ src: PEER, dst: US, nxt: 43, ext: Uint8Array.of(58, 2, 0, 1, 0, 0, 0, 0, ...new Uint8Array(16)), l4: e }), 78);
      const extCut = ip6Frame({ src: PEER, dst: US, nxt: 0, l4: Uint8Array.of(58, 1, 0, 0) }); // says 16 bytes, has 4
      const truncated = echoRequest().slice(0, 14 + 30);
      const plenLong = echoRequest(); plenLong[19] = plenLong[19]! + 1;
      const v4 = fixIcmp6(ip6Frame({ src: PEER, dst: US, version: 4, l4: e }));
      const hop0 = echoRequest({ hlim: 0 });
      const mcastSrc = fixIcmp6(ip6Frame({ src: "ff02::5", dst: US, l4: e }));
      const loopSrc = fixIcmp6(ip6Frame({ src: "::1", dst: US, l4: e }));
      const other = echoRequest({ dst: "2001:db8::99" });
      const otherGroup = fixIcmp6(ip6Frame({ dstMac: Uint8Array.of(0x33, 0x33, 0, 0, 0, 2), src: PEER, dst: "ff02::2", l4: e }));
      const otherSolicited = fixIcmp6(ip6Frame({ dstMac: MAC_US, src: PEER, dst: "ff02::1:ff00:99", l4: e }));
      const noNext = ip6Frame({ src: PEER, dst: US, nxt: 59, l4: new Uint8Array(0) });
      const udp = ip6Frame({ src: PEER, dst: US, nxt: 132, l4: new Uint8Array(20) }); // SCTP: not served
      const icmpShort = ip6Frame({ src: PEER, dst: US, l4: Uint8Array.of(128, 0, 0) });
      const badCsum = echoRequest(); badCsum[60] = badCsum[60]! ^ 0x40;
      const toGroup = fixIcmp6(ip6Frame({ dstMac: Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), src: PEER, dst: "ff02::1", l4: e }));
      const padded = new Uint8Array(echoRequest({ seq: 10 }).length + 6); padded.set(echoRequest({ seq: 10 }));
      const before = r.c();
      r.inject(withHbh, dstDiscard, dstSkip, hbhLate, frag, atomic, routing, extCut, truncated, plenLong, v4, hop0, mcastSrc, loopSrc, other,
        otherGroup, otherSolicited, noNext, udp, icmpShort, badCsum, toGroup, padded);
      r.stack.walk();
      const out = r.drain();
      const c = r.c();
      const delta = (k: CounterName) => c[k] - before[k];
      assert.deepEqual({
        ip6_rx: delta("ip6_rx"), ip6_ext_skipped: delta("ip6_ext_skipped"), ip6_drop_option: delta("ip6_drop_option"),
        ip6_drop_ext_bad: delta("ip6_drop_ext_bad"), ip6_drop_fragment: delta("ip6_drop_fragment"), ip6_drop_routing: delta("ip6_drop_routing"),
        ip6_drop_truncated: delta("ip6_drop_truncated"), ip6_drop_version: delta("ip6_drop_version"), ip6_drop_hop_limit: delta("ip6_drop_hop_limit"),
        ip6_drop_bad_src: delta("ip6_drop_bad_src"), ip6_drop_not_local: delta("ip6_drop_not_local"), ip6_drop_mcast_mac: delta("ip6_drop_mcast_mac"),
        ip6_drop_no_next: delta("ip6_drop_no_next"), ip6_drop_proto: delta("ip6_drop_proto"), icmp6_drop_short: delta("icmp6_drop_short"),
        icmp6_drop_cksum: delta("icmp6_drop_cksum"), icmp6_ignored: delta("icmp6_ignored"), icmp6_echo_in: delta("icmp6_echo_in"),
      }, {
        ip6_rx: 22, ip6_ext_skipped: 4, ip6_drop_option: 1, ip6_drop_ext_bad: 2, ip6_drop_fragment: 1, ip6_drop_routing: 1,
        ip6_drop_truncated: 2, ip6_drop_version: 1, ip6_drop_hop_limit: 1, ip6_drop_bad_src: 2, ip6_drop_not_local: 2, ip6_drop_mcast_mac: 1,
        ip6_drop_no_next: 1, ip6_drop_proto: 1, icmp6_drop_short: 1, icmp6_drop_cksum: 1, icmp6_ignored: 0, icmp6_echo_in: 5,
      });
      // Answered: Hop-by-Hop, a skippable destination option, an atomic fragment (their headers not echoed), the
      // request to all-nodes (from our link-local address), the padded frame.
      assert.equal(out.length, 5);
      const fromLl = fixIcmp6(ip6Frame({ dstMac: MAC_PEER, srcMac: MAC_US, src: US_LL, dst: PEER, hlim: 64, l4: echo(129, 0x1234, 9) }));
      assert.deepEqual(out.map(hex), [echoReply({ seq: 9 }), echoReply({ seq: 9 }), echoReply({ seq: 9 }), fromLl, echoReply({ seq: 10 })].map(hex));
    } finally {
      r.finish();
    }
  });

  test("Linux's IPv6 neighbours come through the feed beside ARP's (no ND), deletions resolve again", () => {
    const feed = NeighbourFeed.create();
    const worker = NeighbourFeed.fromShared(feed.shared());
    const r = rig({ feed: worker, dad: false });
    try {
      feed.post(0x0a000002, MAC_PEER, IF, false, false);
      feed.post6(parseIp6(PEER), MAC_PEER, IF, true, false);
      feed.post(0x0a000003, MAC_PEER, IF, false, false);
      r.stack.walk();
      assert.deepEqual(r.nd.entries(r.clock[0]!).map((e) => `${e.ip} ${e.mac} ${e.state}`), [`${PEER} 02:00:00:00:0b:02 permanent`]);
      assert.equal(r.stack.ctx.arp.size, 2, "both IPv4 records reached ARP");
      r.inject(echoRequest());
      r.stack.walk();
      assert.deepEqual(r.drain().map(hex), [hex(echoReply())], "answered without a solicitation");
      feed.post6(parseIp6(PEER), MAC_PEER, IF, false, true);
      r.inject(echoRequest({ seq: 2 }));
      r.stack.walk();
      assert.equal(r.drain().length, 1, "a solicitation again");
      assert.equal(r.c().nd_ns_out, 1);
      assert.equal(worker.dropped, 0);
    } finally {
      r.finish();
    }
  });

  test("the echo path allocates nothing (echo, NS answered, bad checksums)", async () => {
    const r = rig({ dad: false });
    try {
      r.nd.learn(parseIp6(PEER), 0, IF, MAC_PEER, 0, r.clock[0]!, true, ND_REACHABLE);
      r.stack.walk();
      const bad = echoRequest(); bad[60] = bad[60]! ^ 1;
      // Mixed: each kind alone stayed allocation-free even when a word read as unsigned was boxed.
      const tpls = [echoRequest(), bad, ns(US, { src: PEER, slla: MAC_PEER })];
      const feed = templateFeed(r.umem, r.mp, r.p1, tpls);
      const run = (walks: number) => {
        for (let i = 0; i < walks; i++) {
          feed.feed();
          r.stack.walk();
          feed.drainFree();
        }
      };
      run(50_000);
      const gcs = await gcsDuring(() => run(200_000));
      gc();
      assert.equal(gcs, 0, `${gcs} garbage collections over 200000 walks: the IPv6 path allocates`);
      const c = r.c();
      assert.equal(c.icmp6_echo_in, Math.ceil(feed.count() / 3));
      assert.equal(c.icmp6_drop_cksum, Math.floor((feed.count() + 1) / 3));
      assert.equal(c.nd_na_out, Math.floor(feed.count() / 3));
    } finally {
      r.finish();
    }
  });
});
