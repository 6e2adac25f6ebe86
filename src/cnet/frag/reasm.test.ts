/**
 * IPv4 reassembly and fragmentation in the stack over ring ports (no root), against a naive oracle
 * (datagrams built, fragmented and reassembled here as byte arrays):
 * - a 4000-byte ping in fragments, in order, reversed, shuffled and with duplicates: reassembled (a
 *   chain in 2048-byte frames), answered with an echo reply the stack fragments to the MTU, which the
 *   oracle reassembles byte for byte;
 * - an 8000-byte UDP datagram delivered to a channel as one chain holding the whole payload, echoed
 *   back with replyBurst, fragmented on the way out; a 1400-byte one in two fragments linearised;
 * - overlaps drop the datagram, exact duplicates only themselves; bad lengths; the bounds (datagrams in
 *   progress, fragments per datagram, frames held) refuse and count;
 * - timeouts: ICMP time exceeded (code 1) quoting the first fragment, none without it, none for an ICMP
 *   error; protocol unreachable; the ICMP error rate limit;
 * - every frame back in the pool (leaks = 0), and reassembly of 3-fragment datagrams allocates nothing.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { MbufChain } from "../../mem/chain.js";
import { RingPort } from "../../pktdev/ring-port.js";
import { cksum } from "../../wire/cksum.js";
import { gc, gcsAndGrowth } from "../../testing/gc-probe.js";
import { NetTables } from "../tables.js";
import { ArpTable } from "../arp-table.js";
import { CnetCounters, type CounterName } from "../counters.js";
import { CnetStack } from "../stack.js";
import type { ReasmOptions } from "./reasm.js";
import type { IcmpRateOptions } from "./icmp-rate.js";
import { ringFrameIo } from "../../testing/ring-frames.js";

const MAC_US = [2, 0, 0, 0, 0xa, 1];
const MAC_PEER = [2, 0, 0, 0, 0xb, 2];
const US = [10, 0, 0, 1];
const PEER = [10, 0, 0, 2];
const FRAMES = 4096;

function rig(o: { reasm?: ReasmOptions; icmpRate?: IcmpRateOptions; clock?: Float64Array; mtu?: number } = {}) {
  const umem = Umem.create({ frames: FRAMES });
  const mp = Mempool.create({ umem, cacheSize: 64 });
  const [p0, p1] = RingPort.pair({ names: ["p0", "p1"], pids: [0, 1], mbufs: mp.mbufs, size: 2048 });
  const tables = NetTables.create({ maxTbl8Groups: 4 });
  tables.setInterface({ ifindex: 5, pid: 0, mac: Uint8Array.from(MAC_US), mtu: o.mtu ?? 1500 });
  tables.addAddress4(0x0a000001, 24, 5);
  tables.addRoute4(0x0a000000, 24, 0, 5, 0);
  const counters = CnetCounters.create();
  const arp = ArpTable.create({ capacity: 64, pendingPerEntry: 64 });
  const clock = o.clock ?? Float64Array.of(1_000_000);
  const stack = CnetStack.create({
    ports: [p0!], mempool: mp, burst: 32, tables, arp, counters, stackPorts: [{ pid: 0, ifindex: 5, mac: Uint8Array.from(MAC_US) }],
    timers: { gratuitous: false }, clock, icmpRate: o.icmpRate ?? { perSec: 1_000_000, burst: 1_000_000 },
    ...(o.reasm ? { reasm: o.reasm } : {}),
  });
  const bufs = new Uint32Array(64);
  const io = ringFrameIo(umem, mp, p1!);
  const drain = io.drain;
  const inject = (frames: Uint8Array[]) => io.inject(...frames);
  /** Sends `n` frames of `b` from the peer's port (allocation-free; what the port refuses is freed). */
  const injectBurst = (b: Uint32Array, n: number) => {
    const sent = p1!.txBurst(b, n);
    if (sent < n) mp.freeBulk(b, n - sent, sent);
  };
  /** Frees what the stack sent (allocation-free). */
  const drainFree = () => { for (let n; (n = p1!.rxBurst(bufs, 64)) > 0;) mp.freeBulk(bufs, n); };
  /** Walks until nothing moves. */
  const settle = () => { for (let i = 0; i < 8; i++) stack.walk(); };
  const finish = () => {
    stack.close();
    io.finish(FRAMES);
  };
  // The peer's MAC is known (as after its first ARP).
  inject([arpReply()]);
  settle();
  drain();
  return { umem, mp, stack, clock, c: () => counters.read(), drain, inject, injectBurst, drainFree, settle, finish };
}

function arpReply(): Uint8Array {
  const f = new Uint8Array(42);
  f.set(MAC_US, 0); f.set(MAC_PEER, 6); f[12] = 8; f[13] = 6;
  f.set([0, 1, 8, 0, 6, 4, 0, 2], 14);
  f.set(MAC_PEER, 22); f.set(PEER, 28); f.set(MAC_US, 32); f.set(US, 38);
  return f;
}

const be16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const put16 = (b: Uint8Array, o: number, v: number) => { b[o] = v >> 8; b[o + 1] = v & 0xff; };

/** An IPv4 datagram (header without options) carrying `l4`. */
function datagram(proto: number, l4: Uint8Array, id: number, src = PEER, dst = US): Uint8Array {
  const d = new Uint8Array(20 + l4.length);
  d[0] = 0x45; put16(d, 2, d.length); put16(d, 4, id); d[8] = 64; d[9] = proto;
  d.set(src, 12); d.set(dst, 16);
  put16(d, 10, cksum(d, 0, 20));
  d.set(l4, 20);
  return d;
}

function l4Sum(d: Uint8Array, proto: number): number {
  const len = d.length - 20;
  const p = new Uint8Array(12 + len + (len & 1));
  p.set(d.subarray(12, 20), 0); p[9] = proto; put16(p, 10, len);
  p.set(d.subarray(20), 12);
  return cksum(p, 0, p.length);
}

function echoRequest(size: number, id: number, seq = 1): Uint8Array {
  const m = new Uint8Array(8 + size);
  m[0] = 8; put16(m, 4, 0x1234); put16(m, 6, seq);
  for (let i = 8; i < m.length; i++) m[i] = (i * 7 + id) & 0xff;
  put16(m, 2, cksum(m, 0, m.length));
  return datagram(1, m, id);
}

function udpDatagram(payload: Uint8Array, id: number, dport: number, sport = 40000): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  put16(u, 0, sport); put16(u, 2, dport); put16(u, 4, u.length);
  u.set(payload, 8);
  const d = datagram(17, u, id);
  const ck = l4Sum(d, 17);
  put16(d, 26, ck === 0 ? 0xffff : ck);
  return d;
}

/** Fragments of `d` with `size` payload bytes each (a multiple of 8), as Ethernet frames to the stack. */
function fragments(d: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const data = d.subarray(20);
  for (let at = 0; at < data.length; at += size) {
    const part = data.subarray(at, Math.min(data.length, at + size));
    out.push(fragment(d, at, part, at + size < data.length));
  }
  return out;
}

/** One fragment of `d`: payload `part` at byte offset `at`. */
function fragment(d: Uint8Array, at: number, part: Uint8Array, more: boolean): Uint8Array {
  const f = new Uint8Array(14 + 20 + part.length);
  f.set(MAC_US, 0); f.set(MAC_PEER, 6); f[12] = 8;
  f.set(d.subarray(0, 20), 14);
  put16(f, 16, 20 + part.length);
  put16(f, 20, (more ? 0x2000 : 0) | (at >> 3));
  put16(f, 24, 0); put16(f, 24, cksum(f, 14, 20));
  f.set(part, 34);
  return f;
}

/** The oracle: datagrams (IP bytes) reassembled from the frames the stack sent, by id. */
function reassemble(frames: Uint8Array[]): Uint8Array[] {
  const byId = new Map<number, { hdr: Uint8Array; parts: [number, Uint8Array][]; end: number }>();
  const whole: Uint8Array[] = [];
  for (const f of frames) {
    assert.equal(be16(f, 12), 0x0800, "IPv4");
    assert.deepEqual([...f.subarray(0, 12)], [...MAC_PEER, ...MAC_US]);
    const ip = f.subarray(14);
    assert.equal(cksum(ip, 0, 20), 0, "header checksum");
    const tot = be16(ip, 2);
    assert.ok(tot <= 1500, `fragment of ${tot} bytes within the MTU`);
    const fw = be16(ip, 6);
    const off = (fw & 0x1fff) * 8;
    if ((fw & 0x3fff) === 0) { whole.push(ip.slice(0, tot)); continue; }
    assert.equal(fw & 0x4000, 0, "no DF on a fragment");
    const e = byId.get(be16(ip, 4)) ?? { hdr: ip.slice(0, 20), parts: [], end: -1 };
    e.parts.push([off, ip.slice(20, tot)]);
    if ((fw & 0x2000) === 0) e.end = off + tot - 20;
    byId.set(be16(ip, 4), e);
  }
  for (const e of byId.values()) {
    const d = new Uint8Array(20 + e.end);
    d.set(e.hdr);
    let got = 0;
    for (const [off, p] of e.parts.sort((a, b) => a[0] - b[0])) { assert.equal(off, got, "contiguous"); d.set(p, 20 + off); got += p.length; }
    assert.equal(got, e.end);
    put16(d, 2, d.length); put16(d, 6, 0);
    whole.push(d);
  }
  return whole;
}

function shuffle<T>(a: T[], seed: number): T[] {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [a[i], a[j]] = [a[j]!, a[i]!]; }
  return a;
}

function pick(c: Record<CounterName, number>, names: CounterName[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, c[n]]));
}

describe("IPv4 reassembly and fragmentation", () => {
  test("a 4000-byte ping in fragments (in order, reversed, shuffled, duplicated): one fragmented echo reply each, byte for byte", () => {
    const r = rig();
    try {
      const orders: ((f: Uint8Array[]) => Uint8Array[])[] = [
        (f) => f, (f) => [...f].reverse(), (f) => shuffle([...f], 7), (f) => [f[2]!, f[0]!, f[2]!, f[0]!, f[1]!],
      ];
      orders.forEach((order, k) => {
        const req = echoRequest(4000, 100 + k, k);
        r.inject(order(fragments(req, 1480)));
        r.settle();
        const out = r.drain();
        assert.equal(out.length, 3, "the reply in three fragments");
        const [rep] = reassemble(out);
        // The oracle's reply: addresses swapped, type 0, checksum adjusted, TTL 64.
        const want = req.slice();
        want.set(US, 12); want.set(PEER, 16); want[8] = 64; want[20] = 0;
        put16(want, 22, 0); put16(want, 22, cksum(want, 20, want.length - 20));
        put16(want, 10, 0); put16(want, 10, cksum(want, 0, 20));
        const got = rep!.slice(); put16(got, 10, 0); put16(got, 10, cksum(got, 0, 20));
        assert.deepEqual(got, want, `reply ${k} byte for byte`);
      });
      assert.deepEqual(pick(r.c(), ["ip4_frag_rx", "ip4_reasm_ok", "ip4_reasm_chained", "ip4_reasm_dup", "icmp_echo_in", "ip4_frag_out", "ip4_frag_created", "ip4_reasm_drop_overlap"]),
        { ip4_frag_rx: 14, ip4_reasm_ok: 4, ip4_reasm_chained: 4, ip4_reasm_dup: 2, icmp_echo_in: 4, ip4_frag_out: 4, ip4_frag_created: 12, ip4_reasm_drop_overlap: 0 });
      assert.equal(r.stack.reasm.nActive, 0);
      assert.equal(r.stack.reasm.held, 0);
    } finally {
      r.finish();
    }
  });

  test("UDP: 8000 bytes reach a channel as one chain and are echoed back in fragments; 1400 bytes in two fragments are linearised", () => {
    const r = rig();
    try {
      const ch = r.stack.chnl;
      const cd = ch.open("udp");
      ch.bind(cd, 0, 7777);
      const pm = new MbufChain(r.mp);
      const payload = Uint8Array.from({ length: 8000 }, (_, i) => (i * 13 + 5) & 0xff);
      const d = udpDatagram(payload, 0x4242, 7777);
      r.inject(shuffle(fragments(d, 1480), 11));
      r.settle();
      const bufs = new Uint32Array(4);
      assert.equal(ch.recvBurst(cd, bufs, 4), 1, "one datagram");
      const h = bufs[0]!;
      assert.ok(pm.nbSegs(h) > 1, "a chain");
      assert.equal(pm.pktLen(h), 8000);
      assert.deepEqual(pm.bytes(h), payload, "the whole payload");
      assert.equal(ch.peerPort(h), 40000);
      assert.equal(ch.replyBurst(cd, bufs, 1), 1);
      r.settle();
      const [back] = reassemble(r.drain());
      assert.equal(back!.length, 20 + 8 + 8000);
      assert.deepEqual(back!.subarray(28), payload, "echoed byte for byte");
      assert.equal(be16(back!, 20), 7777); assert.equal(be16(back!, 22), 40000);
      assert.equal(l4Sum(back!, 17), 0, "UDP checksum over the whole datagram");
      // 1400 bytes: fits one 2048-byte frame, linearised.
      const small = Uint8Array.from({ length: 1400 }, (_, i) => i & 0xff);
      r.inject(fragments(udpDatagram(small, 0x4343, 7777), 704));
      r.settle();
      assert.equal(ch.recvBurst(cd, bufs, 4), 1);
      assert.equal(pm.nbSegs(bufs[0]!), 1, "one buffer");
      assert.deepEqual(pm.bytes(bufs[0]!), small);
      r.mp.free(bufs[0]!);
      const c = r.c();
      assert.deepEqual(pick(c, ["ip4_reasm_ok", "ip4_reasm_chained", "udp_rx", "udp_drop_cksum", "udp_tx", "ip4_frag_out", "ip4_frag_created"]),
        { ip4_reasm_ok: 2, ip4_reasm_chained: 1, udp_rx: 2, udp_drop_cksum: 0, udp_tx: 1, ip4_frag_out: 1, ip4_frag_created: 6 });
      // To a closed port: the chain is cut to its first segment and answered port unreachable.
      r.inject(fragments(udpDatagram(payload, 0x4545, 7778), 1480));
      r.settle();
      const un = r.drain();
      assert.equal(un.length, 1);
      assert.deepEqual([un[0]![34], un[0]![35]], [3, 3], "port unreachable");
      assert.equal(be16(un[0]!, 14 + 28 + 2), 8028, "quoting the reassembled header");
      assert.equal(un[0]!.length, 14 + 20 + 8 + 28);
      // A corrupted byte in a middle fragment: the checksum across segments catches it.
      const bad = fragments(udpDatagram(payload, 0x4444, 7777), 1480);
      bad[2]![500] = bad[2]![500]! ^ 0x40;
      r.inject(bad);
      r.settle();
      assert.equal(r.c().udp_drop_cksum, 1);
      assert.equal(ch.recvBurst(cd, bufs, 4), 0);
    } finally {
      r.finish();
    }
  });

  test("overlaps drop the datagram, exact duplicates only themselves; bad lengths are dropped", () => {
    const r = rig();
    try {
      const d = echoRequest(3000, 7);
      const f = fragments(d, 1480); // 0..1480, 1480..2960, 2960..3008
      // An overlap: bytes 1472..2952 collide with the first fragment.
      const over = fragment(d, 1472, d.subarray(20 + 1472, 20 + 2952), true);
      r.inject([f[0]!, f[0]!, over, f[1]!, f[2]!]);
      r.settle();
      assert.equal(r.drain().length, 0, "no reply: the datagram was dropped at the overlap");
      let c = r.c();
      assert.deepEqual(pick(c, ["ip4_reasm_dup", "ip4_reasm_drop_overlap", "ip4_reasm_ok"]), { ip4_reasm_dup: 1, ip4_reasm_drop_overlap: 1, ip4_reasm_ok: 0 });
      // f[1] and f[2] started a new datagram of the same id: held until it times out.
      assert.equal(r.stack.reasm.held, 2);
      // Bad: MF with a length not a multiple of 8; past 65535.
      const odd = fragment(d, 0, d.subarray(20, 20 + 1001), true);
      const past = fragment(d, 65528, d.subarray(20, 20 + 16), false);
      r.inject([odd, past]);
      r.settle();
      c = r.c();
      assert.equal(c.ip4_reasm_drop_bad, 2);
      // A last fragment that moves the end of a datagram in progress: dropped whole.
      const e = echoRequest(2000, 8);
      const g = fragments(e, 1480);
      r.inject([g[1]!, fragment(e, 1480, e.subarray(20 + 1480, 20 + 1496), false)]);
      r.settle();
      assert.equal(r.c().ip4_reasm_drop_bad, 3);
      assert.equal(r.stack.reasm.held, 2, "only the earlier datagram's two");
    } finally {
      r.finish();
    }
  });

  test("bounds: datagrams in progress, fragments per datagram, frames held", () => {
    const r = rig({ reasm: { maxDatagrams: 2, maxFragsPerDatagram: 4, maxHeld: 5 } });
    try {
      const a = fragments(echoRequest(4000, 1), 1480);
      const b = fragments(echoRequest(4000, 2), 1480);
      const c3 = fragments(echoRequest(4000, 3), 1480);
      r.inject([a[0]!, b[0]!, c3[0]!]);
      r.settle();
      assert.equal(r.c().ip4_reasm_drop_table_full, 1, "a third datagram refused");
      const tiny = echoRequest(200, 9);
      const t = fragments(tiny, 40); // 6 fragments: 5th one over the limit of 4
      r.inject([a[1]!, ...t.slice(0, 2)]); // a1 held; tiny's two refused: two datagrams in progress already
      r.settle();
      assert.equal(r.c().ip4_reasm_drop_table_full, 3);
      r.inject([b[1]!, b[2]!, a[2]!]);
      r.settle();
      assert.equal(r.drain().length, 6, "both pings answered (3 fragments each)");
      r.inject(t.slice(0, 5));
      r.settle();
      assert.equal(r.c().ip4_reasm_drop_too_many_frags, 1);
      assert.equal(r.stack.reasm.held, 0);
      r.inject([...fragments(echoRequest(8000, 4), 1480).slice(0, 4), ...fragments(echoRequest(8000, 5), 1480).slice(0, 2)]);
      r.settle();
      assert.equal(r.stack.reasm.held, 5);
      assert.equal(r.c().ip4_reasm_drop_held_full, 1, "the sixth fragment over maxHeld");
      assert.equal(r.c().ip4_reasm_drop_too_many_frags, 1);
      assert.equal(r.c().ip4_reasm_ok, 2);
    } finally {
      r.finish();
    }
  });

  test("timeouts: ICMP time exceeded (code 1) quoting the first fragment; none without it or for an ICMP error; protocol unreachable; the rate limit", () => {
    const clock = Float64Array.of(1_000_000);
    const r = rig({ clock, reasm: { timeoutMs: 500 }, icmpRate: { perSec: 1, burst: 3 } });
    try {
      const d = echoRequest(3000, 0x77);
      const f = fragments(d, 1480);
      r.inject([f[0]!, f[2]!]);
      const late = fragments(echoRequest(3000, 0x78), 1480);
      r.inject([late[1]!]); // no first fragment
      // An ICMP error message in fragments: its expiry is answered with nothing.
      const err = new Uint8Array(1600); err[0] = 3; err[1] = 1;
      const errD = datagram(1, err, 0x79);
      r.inject(fragments(errD, 1480).slice(0, 1));
      r.settle();
      clock[0] = 1_000_499;
      r.settle();
      assert.equal(r.c().ip4_reasm_timeout, 0);
      clock[0] = 1_000_500;
      r.settle();
      const out = r.drain();
      assert.equal(out.length, 1, "one time exceeded");
      const ip = out[0]!.subarray(14);
      assert.equal(ip[9], 1);
      assert.deepEqual([...ip.subarray(16, 20)], PEER);
      assert.deepEqual([ip[20], ip[21]], [11, 1], "time exceeded, fragment reassembly");
      assert.equal(cksum(ip, 20, be16(ip, 2) - 20), 0);
      assert.deepEqual([...ip.subarray(28, 28 + 28)], [...f[0]!.subarray(14, 14 + 28)], "quotes the first fragment's header and 8 bytes");
      assert.deepEqual(pick(r.c(), ["ip4_reasm_timeout", "ip4_reasm_timeout_frags", "icmp_time_exceeded_out", "icmp_err_suppressed"]),
        { ip4_reasm_timeout: 3, ip4_reasm_timeout_frags: 4, icmp_time_exceeded_out: 1, icmp_err_suppressed: 1 });
      // Protocol unreachable: proto 200; the bucket had 3 tokens, 1 used: two more, then refused.
      for (let i = 0; i < 4; i++) {
        const p = datagram(200, new Uint8Array(16), 0x100 + i);
        const fr = new Uint8Array(14 + p.length); fr.set(MAC_US); fr.set(MAC_PEER, 6); fr[12] = 8; fr.set(p, 14);
        r.inject([fr]);
      }
      r.settle();
      const un = r.drain();
      assert.equal(un.length, 2);
      assert.deepEqual([un[0]![34], un[0]![35]], [3, 2], "protocol unreachable");
      assert.deepEqual(pick(r.c(), ["icmp_proto_unreach_out", "icmp_err_rate_limited", "ip4_drop_proto"]), { icmp_proto_unreach_out: 2, icmp_err_rate_limited: 2, ip4_drop_proto: 4 });
      clock[0] += 1000; // one token back
      const p = datagram(200, new Uint8Array(16), 0x200);
      const fr = new Uint8Array(14 + p.length); fr.set(MAC_US); fr.set(MAC_PEER, 6); fr[12] = 8; fr.set(p, 14);
      r.inject([fr, fr]);
      r.settle();
      assert.equal(r.drain().length, 1, "a second later: one more");
      // To a broadcast MAC: never answered.
      const bc = fr.slice(); bc.fill(0xff, 0, 6);
      clock[0] += 5000;
      r.inject([bc]);
      r.settle();
      assert.equal(r.drain().length, 0);
      assert.equal(r.c().icmp_err_suppressed, 2);
    } finally {
      r.finish();
    }
  });

  test("reassembly allocates nothing (3-fragment UDP datagrams to a channel, linearised, and a 3-fragment ping chained)", async () => {
    const r = rig();
    try {
      const ch = r.stack.chnl;
      const cd = ch.open("udp");
      ch.bind(cd, 0, 9);
      const udp = fragments(udpDatagram(new Uint8Array(1200).fill(3), 0x500, 9), 400);
      const ping = fragments(echoRequest(3000, 0x501), 1000);
      const tpls = [...udp, ...ping];
      const u8 = r.umem.u8;
      const bufs = new Uint32Array(8);
      const { dataOff, dataLen } = r.mp.mbufs;
      const run = (rounds: number) => {
        for (let i = 0; i < rounds; i++) {
          for (let t = 0; t < tpls.length; t++) {
            const h = r.mp.alloc();
            const f = tpls[t]!;
            u8.set(f, ((h << r.umem.shift) >>> 0) + dataOff[h]!);
            dataLen[h] = f.length;
            bufs[t] = h;
          }
          r.injectBurst(bufs, tpls.length);
          r.stack.walk();
          r.stack.walk();
          for (let k; (k = ch.recvBurst(cd, bufs, 8)) > 0;) r.mp.freeBulk(bufs, k);
          r.drainFree();
        }
      };
      run(20_000);
      const { gcs, growth } = await gcsAndGrowth(() => run(50_000));
      gc();
      assert.equal(gcs, 0, `${gcs} garbage collections over 50000 rounds: reassembly allocates`);
      assert.ok(growth < 256 * 1024, `the heap grew by ${growth} bytes`);
      const c = r.c();
      assert.equal(c.ip4_reasm_ok, 2 * 70_000);
      assert.equal(c.ip4_frag_rx, 8 * 70_000);
      assert.equal(c.icmp_echo_in, 70_000);
    } finally {
      r.finish();
    }
  });
});
