/**
 * Bad input for the whole stack, table-driven, over ring ports (no root): truncated headers of every
 * kind (Ethernet, ARP, IPv4, fragments, ICMP, UDP, TCP, IPv6), bad checksums, bogus lengths and header
 * fields. Each frame alone: exactly one drop counter (by reason) moves, by one; nothing is sent; nothing
 * throws; at the end every frame is back in the pool (leaks = 0, no double free).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { RingPort } from "../pktdev/ring-port.js";
import { cksum } from "../wire/cksum.js";
import { NetTables } from "./tables.js";
import { ArpTable } from "./arp-table.js";
import { CnetCounters, COUNTER_NAMES, type CounterName } from "./counters.js";
import { CnetStack } from "./stack.js";

const MAC_US = [2, 0, 0, 0, 0xa, 1];
const MAC_PEER = [2, 0, 0, 0, 0xb, 2];
const US = [10, 0, 0, 1];
const PEER = [10, 0, 0, 2];
const FRAMES = 1024;

const put16 = (b: Uint8Array, o: number, v: number) => { b[o] = (v >> 8) & 0xff; b[o + 1] = v & 0xff; };

function eth(type: number, body: Uint8Array, dst = MAC_US): Uint8Array {
  const f = new Uint8Array(14 + body.length);
  f.set(dst, 0); f.set(MAC_PEER, 6); put16(f, 12, type); f.set(body, 14);
  return f;
}

/** An IPv4 frame: header fields overridable, checksums right unless told. */
function ip4(proto: number, l4: Uint8Array, o: { dst?: number[]; frag?: number; tot?: number; ihl?: number; ver?: number; badCsum?: boolean; l4csum?: number } = {}): Uint8Array {
  const d = new Uint8Array(20 + l4.length);
  d[0] = ((o.ver ?? 4) << 4) | (o.ihl ?? 5); put16(d, 2, o.tot ?? d.length); put16(d, 4, 0x1234); put16(d, 6, o.frag ?? 0);
  d[8] = 64; d[9] = proto; d.set(PEER, 12); d.set(o.dst ?? US, 16);
  d.set(l4, 20);
  if (o.l4csum !== undefined) {
    // The layer 4 checksum (pseudo-header) at l4csum, computed over the whole l4.
    const p = new Uint8Array(12 + l4.length + (l4.length & 1));
    p.set(d.subarray(12, 20)); p[9] = proto; put16(p, 10, l4.length); p.set(d.subarray(20), 12);
    put16(d, 20 + o.l4csum, cksum(p, 0, p.length));
  }
  put16(d, 10, cksum(d, 0, 20));
  if (o.badCsum) d[10] = d[10]! ^ 0x55;
  return eth(0x0800, d);
}

function udp(len: number, payload = 8, ck = true): Uint8Array {
  const u = new Uint8Array(8 + payload);
  put16(u, 0, 1000); put16(u, 2, 7); put16(u, 4, len);
  if (!ck) put16(u, 6, 0x1234);
  return u;
}

function icmp(type: number, n = 8, good = true): Uint8Array {
  const m = new Uint8Array(n);
  m[0] = type;
  if (n >= 4) { put16(m, 2, 0); put16(m, 2, cksum(m, 0, n)); if (!good) m[3] = m[3]! ^ 1; }
  return m;
}

function tcp(hdrWords: number, len = 20): Uint8Array {
  const t = new Uint8Array(len);
  put16(t, 0, 1000); put16(t, 2, 80); t[12] = hdrWords << 4; t[13] = 0x02; put16(t, 14, 1024);
  return t;
}

function arp(o: { hlen?: number; len?: number } = {}): Uint8Array {
  const a = new Uint8Array(o.len ?? 28);
  a.set([0, 1, 8, 0, o.hlen ?? 6, 4, 0, 1].slice(0, a.length));
  if (a.length >= 28) { a.set(MAC_PEER, 8); a.set(PEER, 14); a.set(US, 24); }
  return eth(0x0806, a, [255, 255, 255, 255, 255, 255]);
}

const udpOk = (o: Parameters<typeof ip4>[2] = {}) => ip4(17, udp(16), { l4csum: 6, ...o });

/** [what, frame, the one drop counter it must move]. */
const CASES: [string, Uint8Array, CounterName][] = [
  ["Ethernet: 10 bytes", new Uint8Array(10), "eth_drop_short"],
  ["Ethernet: another host's MAC", eth(0x0800, new Uint8Array(46), [2, 0, 0, 0, 0xa, 9]), "eth_drop_not_ours"],
  ["Ethernet: LLDP (another EtherType)", eth(0x88cc, new Uint8Array(46)), "eth_drop_other"],
  ["ARP: truncated", arp({ len: 10 }), "arp_drop_bad"],
  ["ARP: hardware length 7", arp({ hlen: 7 }), "arp_drop_bad"],
  ["IPv4: 12 bytes of header", eth(0x0800, Uint8Array.of(0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0)), "ip4_drop_bad_header"],
  ["IPv4: version 6 under EtherType 0x0800", udpOk({ ver: 6 }), "ip4_drop_bad_header"],
  ["IPv4: IHL 4", udpOk({ ihl: 4 }), "ip4_drop_bad_header"],
  ["IPv4: IHL 15 past the frame", eth(0x0800, (() => { const d = ip4(17, udp(16)).subarray(14, 14 + 40).slice(); d[0] = 0x4f; return d; })()), "ip4_drop_bad_header"],
  ["IPv4: total length past the frame", udpOk({ tot: 200 }), "ip4_drop_bad_header"],
  ["IPv4: total length under the header", udpOk({ tot: 12 }), "ip4_drop_bad_header"],
  ["IPv4: bad header checksum", udpOk({ badCsum: true }), "ip4_drop_bad_header"],
  ["IPv4: not our address", udpOk({ dst: [10, 0, 0, 77] }), "ip4_drop_not_local"],
  ["fragment: MF with 13 bytes", ip4(17, new Uint8Array(13), { frag: 0x2000 }), "ip4_reasm_drop_bad"],
  ["fragment: past 65535", ip4(17, new Uint8Array(16), { frag: 0x1fff }), "ip4_reasm_drop_bad"],
  ["fragment: no payload", ip4(17, new Uint8Array(0), { frag: 0x2001 }), "ip4_reasm_drop_bad"],
  ["UDP: 4 bytes of header", ip4(17, new Uint8Array(4)), "udp_drop_bad"],
  ["UDP: length past the datagram", ip4(17, udp(64)), "udp_drop_bad"],
  ["UDP: length 6", ip4(17, udp(6)), "udp_drop_bad"],
  ["UDP: bad checksum", ip4(17, udp(16, 8, false)), "udp_drop_cksum"],
  ["ICMP: 3 bytes", ip4(1, icmp(8, 3)), "icmp_drop_bad"],
  ["ICMP: bad checksum", ip4(1, icmp(8, 16, false)), "icmp_drop_bad"],
  ["ICMP: type 42", ip4(1, icmp(42, 16)), "icmp_ignored"],
  ["TCP: 10 bytes of header", ip4(6, tcp(5, 10), { l4csum: 16 }), "tcp_drop_bad"],
  ["TCP: data offset 4", ip4(6, tcp(4), { l4csum: 16 }), "tcp_drop_bad"],
  ["TCP: data offset past the segment", ip4(6, tcp(15), { l4csum: 16 }), "tcp_drop_bad"],
  ["TCP: bad checksum", ip4(6, tcp(5)), "tcp_drop_cksum"],
  ["IPv6: 20 bytes of header", eth(0x86dd, Uint8Array.of(0x60, ...new Uint8Array(19))), "ip6_drop_truncated"],
  ["IPv6: version 4 under EtherType 0x86dd", eth(0x86dd, Uint8Array.of(0x40, ...new Uint8Array(47))), "ip6_drop_version"],
];

/** Counters that name a drop (or an ignored message): exactly one must move per bad frame. */
const DROPS = COUNTER_NAMES.filter((n) => /drop|ignored|no_port|suppressed|rate_limited/.test(n));

describe("bad input, every kind", () => {
  test("each frame dropped and counted by its reason, nothing sent, nothing leaked", () => {
    const umem = Umem.create({ frames: FRAMES });
    const mp = Mempool.create({ umem, cacheSize: 32 });
    const [p0, p1] = RingPort.pair({ names: ["p0", "p1"], pids: [0, 1], mbufs: mp.mbufs, size: 256 });
    const tables = NetTables.create({ maxTbl8Groups: 4 });
    tables.setInterface({ ifindex: 5, pid: 0, mac: Uint8Array.from(MAC_US), mtu: 1500 });
    tables.addAddress4(0x0a000001, 24, 5);
    tables.addRoute4(0x0a000000, 24, 0, 5, 0);
    const counters = CnetCounters.create();
    const stack = CnetStack.create({
      ports: [p0!], mempool: mp, burst: 32, tables, arp: ArpTable.create({ capacity: 16 }), counters,
      stackPorts: [{ pid: 0, ifindex: 5, mac: Uint8Array.from(MAC_US) }], timers: { gratuitous: false }, clock: Float64Array.of(1000),
    });
    const bufs = new Uint32Array(64);
    try {
      for (let i = 0; i < 4; i++) stack.walk();
      for (let n; (n = p1!.rxBurst(bufs, 64)) > 0;) mp.freeBulk(bufs, n); // IPv6 DAD and the like at start
      const got: Record<string, string> = {};
      const want: Record<string, string> = {};
      for (const [what, f, reason] of CASES) {
        const before = counters.read();
        const h = mp.alloc();
        umem.u8.set(f, ((h << umem.shift) >>> 0) + mp.mbufs.dataOff[h]!);
        mp.mbufs.dataLen[h] = f.length;
        bufs[0] = h;
        assert.equal(p1!.txBurst(bufs, 1), 1);
        for (let i = 0; i < 4; i++) stack.walk();
        let sent = 0;
        for (let n; (n = p1!.rxBurst(bufs, 64)) > 0;) { sent += n; mp.freeBulk(bufs, n); }
        const after = counters.read();
        const moved = DROPS.filter((n) => after[n] !== before[n]).map((n) => `${n}+${after[n] - before[n]}`);
        got[what] = `${moved.join(" ")}${sent ? ` sent ${sent}` : ""}`;
        want[what] = `${reason}+1`;
      }
      assert.deepEqual(got, want);
      assert.equal(stack.reasm.held, 0);
    } finally {
      stack.close();
      for (let n; (n = p1!.rxBurst(bufs, 64)) > 0;) mp.freeBulk(bufs, n);
      mp.flushCache();
      assert.equal(mp.available(), FRAMES, "every frame back in the pool");
      assert.equal(mp.overflows, 0);
      umem.close();
    }
  });
});
