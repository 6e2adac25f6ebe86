/**
 * TCP over IPv6 between two stacks over the simulated link (src/testing/tcp-link.ts with `ipv6: true`),
 * without root: the handshake to a global and to a link-local address (scope), transfers both ways
 * compared by hash on a clean link and under loss + duplication + reordering, a RST for a closed port
 * (the client sees RESET), bad segments (checksum over the IPv6 pseudo-header, a header cut short, a
 * multicast destination) dropped and counted exactly, one listener taking IPv4 and IPv6 clients at once,
 * SYN cookies over IPv6, the segments checked on the wire (IPv6 header, MSS 1440, checksum by a naive
 * oracle), the connection table's IPv6 rows, and every frame back in the pool.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { tcpLink, exchange, seededBytes, stepUntil, IP_B, IP6_A, IP6_B, LL_A, LL_B, IFINDEX_A, MAC_A, MAC_B, type TcpLink } from "../../testing/tcp-link.js";
import { CHNL_EV_RESET, type Chnl } from "../chnl.js";
import { formatIp6 } from "../../lookup/addr.js";
import { TcpConnTable } from "../tcp/conn-table.js";
import { gc, gcsAndGrowthSettled } from "../../testing/gc-probe.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");


/** A listener on B (any address), A connects over IPv6 to `to` (B's global by default). */
function connect6Pair(L: TcpLink, o: { port?: number; to?: Uint8Array; scope?: number } = {}): { acd: number; bcd: number; lcd: number } {
  const port = o.port ?? 80;
  const A = L.a.chnl;
  const B = L.b.chnl;
  const lcd = B.open("tcp");
  B.bind(lcd, 0, port);
  B.listen(lcd, 16);
  const acd = A.open("tcp");
  A.connect6(acd, o.to ?? IP6_B, 0, port, o.scope ?? 0);
  let bcd = -1;
  stepUntil(L, () => (bcd < 0 && (bcd = B.accept(lcd)), bcd >= 0 && A.tcpState(acd) === "ESTABLISHED"), "established");
  return { acd, bcd, lcd };
}

/** Moves `ab` A -> B and `ba` B -> A at once, both shut down after sending; returns what each received. */

/** The Internet checksum of `parts`, one 16-bit word at a time (the oracle). */
function naiveCksum(...parts: Uint8Array[]): number {
  const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

function pseudo6(src: Uint8Array, dst: Uint8Array, len: number): Uint8Array {
  const p = new Uint8Array(40);
  p.set(src, 0); p.set(dst, 16);
  p[34] = len >> 8; p[35] = len & 0xff; p[39] = 6;
  return p;
}

/** An Ethernet + IPv6 + TCP frame (no options) to B from A's global address; `csum` overrides the checksum. */
function tcp6Frame(o: { sport: number; dport: number; seq: number; ack: number; flags: number; dst?: Uint8Array; csum?: number; cut?: number }): Uint8Array {
  const tl = 20 - (o.cut ?? 0);
  const f = new Uint8Array(14 + 40 + tl);
  f.set(MAC_B, 0); f.set(MAC_A, 6); f[12] = 0x86; f[13] = 0xdd;
  f[14] = 0x60; f[18] = tl >> 8; f[19] = tl & 0xff; f[20] = 6; f[21] = 64;
  const dst = o.dst ?? IP6_B;
  f.set(IP6_A, 22); f.set(dst, 38);
  const t = new Uint8Array(20);
  t[0] = o.sport >> 8; t[1] = o.sport & 0xff; t[2] = o.dport >> 8; t[3] = o.dport & 0xff;
  const w32 = (at: number, v: number) => { t[at] = v >>> 24; t[at + 1] = (v >>> 16) & 0xff; t[at + 2] = (v >>> 8) & 0xff; t[at + 3] = v & 0xff; };
  w32(4, o.seq); w32(8, o.ack);
  t[12] = 5 << 4; t[13] = o.flags; t[14] = 0xff; t[15] = 0xff;
  const cs = o.csum ?? naiveCksum(pseudo6(IP6_A, dst, 20), t);
  t[16] = cs >> 8; t[17] = cs & 0xff;
  f.set(t.subarray(0, tl), 54);
  return f;
}

const SYN = 2, ACK = 16;

function pick(c: Record<string, number>, ...names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, c[n]!]));
}

describe("TCP over IPv6 (two stacks, simulated link)", () => {
  test("handshake to the global address, 1 MB each way byte-exact; segments on the wire are IPv6 with MSS 1440 and a valid checksum", () => {
    const L = tcpLink({ ipv6: true, tcp: { timeWaitMs: 200 } });
    try {
      let syn: Uint8Array | null = null;
      let bad = 0;
      let v4 = 0;
      L.tapAB = (u8, off, len) => {
        if (u8[off + 12] !== 0x86 || u8[off + 13] !== 0xdd || u8[off + 20] !== 6) {
          v4++;
          return true;
        }
        const f = u8.slice(off, off + len);
        const tl = (f[18]! << 8) | f[19]!;
        const t = f.slice(54, 54 + tl);
        const want = (t[16]! << 8) | t[17]!;
        t[16] = 0; t[17] = 0;
        if (naiveCksum(pseudo6(f.subarray(22, 38), f.subarray(38, 54), tl), t) !== want) bad++;
        if ((f[54 + 13]! & SYN) !== 0 && syn === null) syn = f;
        return true;
      };
      const { acd, bcd, lcd } = connect6Pair(L);
      const A = L.a.chnl;
      const B = L.b.chnl;
      assert.ok(syn !== null);
      const s = syn as Uint8Array;
      assert.equal(formatIp6(s.subarray(22, 38)), "fd00::1");
      assert.equal(formatIp6(s.subarray(38, 54)), "fd00::2");
      assert.equal(s[21], 64, "hop limit");
      assert.deepEqual([s[54 + 20], s[54 + 21], (s[54 + 22]! << 8) | s[54 + 23]!], [2, 4, 1440], "MSS option = MTU - 60");
      assert.equal(B.familyOf(bcd), 6);
      assert.equal(A.familyOf(acd), 6);
      assert.equal(B.peerNameOf(bcd), `[fd00::1]:${A.localOf(acd).port}`);
      assert.equal(A.peerNameOf(acd), "[fd00::2]:80");
      assert.equal(formatIp6(A.localOf(acd).ip6!), "fd00::1");
      assert.equal(formatIp6(B.localOf(bcd).ip6!), "fd00::2");
      assert.equal(formatIp6(B.peerOf(bcd).ip6!), "fd00::1");
      const ab = seededBytes(1 << 20, 1);
      const ba = seededBytes(1 << 20, 2);
      const r = exchange(L, acd, bcd, ab, ba);
      assert.equal(sha(r.atB), sha(ab));
      assert.equal(sha(r.atA), sha(ba));
      assert.equal(bad, 0, "checksums by the oracle");
      assert.equal(v4, 0, "nothing but IPv6 TCP on the link");
      for (let i = 0; i < 5; i++) L.step(); // the last ACKs cross
      const ca = L.ca();
      const cb = L.cb();
      assert.equal(ca.tcp6_rx, ca.tcp_rx, "every segment A got was over IPv6");
      assert.equal(cb.tcp6_tx, cb.tcp_tx);
      assert.equal(cb.tcp6_rx, cb.tcp_rx);
      assert.equal(cb.tcp6_rx, ca.tcp6_tx, "clean link: B got all A sent");
      assert.deepEqual(pick(cb, "tcp_drop_cksum", "tcp_drop_bad", "tcp_rst_out", "tcp_retransmits", "ip6_drop_proto", "tcp_no_port"), { tcp_drop_cksum: 0, tcp_drop_bad: 0, tcp_rst_out: 0, tcp_retransmits: 0, ip6_drop_proto: 0, tcp_no_port: 0 });
      assert.equal(cb.tcp_passive_opens, 1);
      assert.equal(ca.tcp_active_opens, 1);
      A.close(acd);
      B.close(bcd);
      B.close(lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 10_000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("the IPv6 segment path allocates nothing in steady state (bulk A -> B, zero-copy receive; each frame says family 6 and its peer)", async () => {
    const L = tcpLink({ ipv6: true, tcp: { timeWaitMs: 100 } });
    try {
      const { acd, bcd, lcd } = connect6Pair(L);
      const A = L.a.chnl;
      const B = L.b.chnl;
      const src = seededBytes(1 << 16, 10);
      const bufs = new Uint32Array(256);
      const peer = new Uint8Array(16);
      const got = new Float64Array(1);
      const wrong = new Int32Array(1);
      const run = (steps: number) => {
        for (let i = 0; i < steps; i++) {
          A.send(acd, src, 0, src.length);
          for (let n; (n = B.recvBurst(bcd, bufs, 256)) > 0;) {
            let k = 0;
            for (let j = 0; j < n; j++) {
              const h = bufs[j]!;
              k += L.mp.mbufs.dataLen[h]!;
              if (B.family(h) !== 6) wrong[0]!++;
              B.peerIp6(h, peer, 0);
              if (peer[0] !== 0xfd || peer[15] !== 1) wrong[0]!++;
            }
            got[0] = got[0]! + k;
            L.mp.freeBulk(bufs, n);
          }
          L.step();
        }
      };
      run(2000);
      run(2000);
      const before = got[0]!;
      const { gcs, growth, first } = await gcsAndGrowthSettled(() => run(6000), 2 * 1024 * 1024);
      gc();
      const moved = got[0]! - before;
      assert.ok(moved > 100 << 20, `moved ${moved} bytes`);
      assert.equal(wrong[0], 0, "every received frame: family 6, peer fd00::1");
      assert.equal(gcs, 0, `${gcs} garbage collections while moving ${moved} bytes: the IPv6 segment path allocates`);
      assert.ok(growth < 2 * 1024 * 1024, `the heap grew by ${growth} bytes (first window: ${first.gcs} GCs, ${first.growth} bytes)`);
      // A received frame names its sender (control path).
      A.send(acd, src, 0, 1000);
      let n = 0;
      for (let i = 0; i < 10 && n === 0; i++) {
        L.step();
        n = B.recvBurst(bcd, bufs, 256);
      }
      assert.ok(n > 0);
      assert.equal(B.peerName(bufs[0]!), `[fd00::1]:${A.localOf(acd).port}`);
      L.mp.freeBulk(bufs, n);
      A.close(acd);
      B.close(bcd);
      B.close(lcd);
      for (let i = 0; i < 10; i++) L.step();
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("2 MB each way under loss, duplication and reordering: byte-exact", () => {
    const L = tcpLink({ ipv6: true, tcp: { timeWaitMs: 200 }, seed: 777 });
    try {
      const { acd, bcd, lcd } = connect6Pair(L);
      const imp = { loss: 0.01, dup: 0.01, reorder: 0.02, reorderMs: 3, delayMs: 1 };
      L.ab = imp;
      L.ba = imp;
      const ab = seededBytes(2 << 20, 3);
      const ba = seededBytes(2 << 20, 4);
      const r = exchange(L, acd, bcd, ab, ba);
      assert.equal(sha(r.atB), sha(ab));
      assert.equal(sha(r.atA), sha(ba));
      assert.ok(L.ca().tcp_retransmits > 0 && L.cb().tcp_retransmits > 0, "losses were repaired");
      assert.equal(L.cb().tcp_drop_cksum, 0);
      L.ab = {};
      L.ba = {};
      L.a.chnl.close(acd);
      L.b.chnl.close(bcd);
      L.b.chnl.close(lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 100_000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("link-local: connect6 to fe80::2 with a scope; segments from fe80::1 on that interface; a link-local peer without scope is refused", () => {
    const L = tcpLink({ ipv6: true, tcp: { timeWaitMs: 200 } });
    try {
      let src = "";
      L.tapAB = (u8, off) => {
        if (src === "") src = formatIp6(u8.subarray(off + 22, off + 38));
        return true;
      };
      assert.throws(() => L.a.chnl.connect6(L.a.chnl.open("tcp"), LL_B, 0, 80), /needs a scope/);
      const { acd, bcd, lcd } = connect6Pair(L, { to: LL_B, scope: IFINDEX_A });
      assert.equal(src, "fe80::1");
      assert.equal(L.b.chnl.peerNameOf(bcd), `[fe80::1]:${L.a.chnl.localOf(acd).port}`);
      const r = exchange(L, acd, bcd, seededBytes(100_000, 5), seededBytes(50_000, 6));
      assert.equal(sha(r.atB), sha(seededBytes(100_000, 5)));
      assert.equal(sha(r.atA), sha(seededBytes(50_000, 6)));
      L.a.chnl.close(acd);
      L.b.chnl.close(bcd);
      L.b.chnl.close(lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 10_000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("a closed port answers a RST over IPv6: the client sees RESET, counted on both sides", () => {
    const L = tcpLink({ ipv6: true });
    try {
      const A = L.a.chnl;
      const cd = A.open("tcp");
      let ev = 0;
      A.setCallback(cd, (_cd, e) => { ev |= e; });
      A.connect6(cd, IP6_B, 0, 9999);
      stepUntil(L, () => (ev & CHNL_EV_RESET) !== 0, "reset", 100);
      assert.equal(A.tcpState(cd), "CLOSED");
      assert.deepEqual(pick(L.cb(), "tcp_no_port", "tcp_rst_out", "tcp6_rx", "tcp6_tx"), { tcp_no_port: 1, tcp_rst_out: 1, tcp6_rx: 1, tcp6_tx: 1 });
      assert.deepEqual(pick(L.ca(), "tcp_rst_in", "tcp_attempt_fails", "tcp6_rx", "tcp6_tx"), { tcp_rst_in: 1, tcp_attempt_fails: 1, tcp6_rx: 1, tcp6_tx: 1 });
      A.close(cd);
      L.step();
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("a listener bound to an IPv4 address takes no IPv6 client (RST); a channel bound to an IPv4 address cannot connect6", () => {
    const L = tcpLink({ ipv6: true });
    try {
      const B = L.b.chnl;
      const A = L.a.chnl;
      const lcd = B.open("tcp");
      B.bind(lcd, IP_B, 81);
      B.listen(lcd, 4);
      const cd = A.open("tcp");
      let ev = 0;
      A.setCallback(cd, (_cd, e) => { ev |= e; });
      A.connect6(cd, IP6_B, 0, 81);
      stepUntil(L, () => (ev & CHNL_EV_RESET) !== 0, "reset", 100);
      assert.deepEqual(pick(L.cb(), "tcp_no_port", "tcp_rst_out", "tcp_passive_opens"), { tcp_no_port: 1, tcp_rst_out: 1, tcp_passive_opens: 0 });
      const bound = A.open("tcp");
      A.bind(bound, 0x0a000001, 0);
      assert.throws(() => A.connect6(bound, IP6_B, 0, 81), /bound to the IPv4 address 10\.0\.0\.1/);
      for (const c of [cd, bound]) A.close(c);
      B.close(lcd);
      L.step();
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("bad segments: wrong checksum, a header cut short, a multicast destination: dropped and counted, nothing sent", () => {
    const L = tcpLink({ ipv6: true });
    try {
      const lcd = L.b.chnl.open("tcp");
      L.b.chnl.bind(lcd, 0, 80);
      L.b.chnl.listen(lcd, 4);
      const good = tcp6Frame({ sport: 40000, dport: 80, seq: 1, ack: 0, flags: SYN });
      const want = (good[54 + 16]! << 8) | good[54 + 17]!;
      L.inject("b", tcp6Frame({ sport: 40000, dport: 80, seq: 1, ack: 0, flags: SYN, csum: want ^ 0x0101 }));
      L.inject("b", tcp6Frame({ sport: 40000, dport: 80, seq: 1, ack: 0, flags: SYN, cut: 4 }));
      L.inject("b", tcp6Frame({ sport: 40000, dport: 80, seq: 1, ack: 0, flags: SYN, dst: Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1) }));
      let sent = 0;
      L.tapBA = () => { sent++; return false; };
      for (let i = 0; i < 5; i++) L.step();
      assert.deepEqual(pick(L.cb(), "tcp_rx", "tcp6_rx", "tcp_drop_cksum", "tcp_drop_bad", "tcp6_drop_mcast", "tcp_passive_opens", "tcp_tx"),
        { tcp_rx: 3, tcp6_rx: 3, tcp_drop_cksum: 1, tcp_drop_bad: 1, tcp6_drop_mcast: 1, tcp_passive_opens: 0, tcp_tx: 0 });
      assert.equal(sent, 0);
      // The same SYN with the right checksum opens a connection (the oracle and the stack agree).
      L.inject("b", good);
      L.step();
      assert.equal(L.cb().tcp_passive_opens, 1);
      assert.equal(sent, 1, "the SYN-ACK");
      L.b.chnl.close(lcd);
      L.step();
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("one listener on any address takes IPv4 and IPv6 clients at once; the connection table shows both", () => {
    const tb = TcpConnTable.create(16);
    const L = tcpLink({ ipv6: true, tcp: { timeWaitMs: 200, table: tb, tableMs: 10 } });
    try {
      const A = L.a.chnl;
      const B = L.b.chnl;
      const lcd = B.open("tcp");
      B.bind(lcd, 0, 8080);
      B.listen(lcd, 16);
      const c4 = A.open("tcp");
      const c6 = A.open("tcp");
      A.connect(c4, IP_B, 8080);
      A.connect6(c6, IP6_B, 0, 8080);
      const got: number[] = [];
      stepUntil(L, () => { for (let cd; (cd = B.accept(lcd)) >= 0;) got.push(cd); return got.length === 2; }, "both accepted", 1000);
      const fams = got.map((cd) => B.familyOf(cd)).sort();
      assert.deepEqual(fams, [4, 6]);
      const b4 = got.find((cd) => B.familyOf(cd) === 4)!;
      const b6 = got.find((cd) => B.familyOf(cd) === 6)!;
      assert.equal(B.peerNameOf(b4), `10.0.0.1:${A.localOf(c4).port}`);
      assert.equal(B.peerNameOf(b6), `[fd00::1]:${A.localOf(c6).port}`);
      for (let i = 0; i < 20; i++) L.step();
      const rows = tb.list().map((c) => `${c.family} ${c.local} ${c.remote} ${c.state}`).sort();
      assert.deepEqual(rows, [
        `4 0.0.0.0:8080 0.0.0.0:0 LISTEN`,
        `4 10.0.0.2:8080 10.0.0.1:${A.localOf(c4).port} ESTABLISHED`,
        `6 [fd00::2]:8080 [fd00::1]:${A.localOf(c6).port} ESTABLISHED`,
      ]);
      const list = B.list().filter((r) => r.state === "ESTABLISHED").map((r) => r.local).sort();
      assert.deepEqual(list, ["10.0.0.2:8080", "[fd00::2]:8080"]);
      // Both transfer at once.
      const x4 = seededBytes(300_000, 7), x6 = seededBytes(300_000, 8);
      let s4 = 0, s6 = 0;
      const r4 = new Uint8Array(x4.length + 1), r6 = new Uint8Array(x6.length + 1);
      let n4 = 0, n6 = 0;
      stepUntil(L, () => {
        if (s4 < x4.length) s4 += A.send(c4, x4, s4, x4.length - s4);
        if (s6 < x6.length) s6 += A.send(c6, x6, s6, x6.length - s6);
        for (let k; (k = B.recv(b4, r4, n4, r4.length - n4)) > 0;) n4 += k;
        for (let k; (k = B.recv(b6, r6, n6, r6.length - n6)) > 0;) n6 += k;
        return n4 === x4.length && n6 === x6.length;
      }, "both transfers", 100_000);
      assert.equal(sha(r4.subarray(0, n4)), sha(x4));
      assert.equal(sha(r6.subarray(0, n6)), sha(x6));
      for (const cd of [c4, c6]) A.close(cd);
      for (const cd of [...got, lcd]) B.close(cd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 10_000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("SYN cookies over IPv6: a backlog full of half-open floods, a real IPv6 client still gets in", () => {
    const L = tcpLink({ ipv6: true, tcp: { timeWaitMs: 100, synCookies: true } });
    try {
      const B = L.b.chnl;
      const lcd = B.open("tcp");
      B.bind(lcd, 0, 8080);
      B.listen(lcd, 4);
      L.tapBA = () => false; // the flood's SYN-ACKs vanish
      for (let i = 0; i < 10; i++) L.inject("b", tcp6Frame({ sport: 20000 + i, dport: 8080, seq: i * 1000, ack: 0, flags: SYN }));
      for (let i = 0; i < 3; i++) L.step();
      assert.deepEqual(pick(L.cb(), "tcp_passive_opens", "tcp_syncookies_sent", "tcp6_tx"), { tcp_passive_opens: 4, tcp_syncookies_sent: 6, tcp6_tx: 10 });
      L.tapBA = null;
      const A = L.a.chnl;
      const cd = A.open("tcp");
      A.connect6(cd, IP6_B, 0, 8080);
      let bcd = -1;
      stepUntil(L, () => (bcd < 0 && (bcd = B.accept(lcd)), bcd >= 0), "accepted through a cookie", 100);
      assert.deepEqual(pick(L.cb(), "tcp_syncookies_sent", "tcp_syncookies_ok"), { tcp_syncookies_sent: 7, tcp_syncookies_ok: 1 });
      assert.equal(B.familyOf(bcd), 6);
      const r = exchange(L, cd, bcd, seededBytes(100_000, 9), seededBytes(50_000, 10));
      assert.equal(sha(r.atB), sha(seededBytes(100_000, 9)));
      assert.equal(sha(r.atA), sha(seededBytes(50_000, 10)));
      // A forged cookie over IPv6 is refused with a RST.
      const rst = L.cb().tcp_rst_out;
      L.inject("b", tcp6Frame({ sport: 30000, dport: 8080, seq: 5, ack: 0x12345678, flags: ACK }));
      L.step();
      assert.equal(L.cb().tcp_syncookies_failed, 1);
      assert.equal(L.cb().tcp_rst_out - rst, 1);
      A.close(cd);
      B.close(bcd);
      B.close(lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 100_000, 1000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });
});
