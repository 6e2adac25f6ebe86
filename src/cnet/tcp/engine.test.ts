/**
 * TCP between two stacks over a simulated link (src/testing/tcp-link.ts), without root: handshake,
 * transfers both ways compared by hash (clean link, then loss + reordering + duplication), zero window
 * and persist, simultaneous open and close, RST cases, TIME_WAIT, the listen backlog under a SYN flood,
 * out-of-window and bad-checksum segments counted, and every frame back in the pool after close.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { tcpLink, exchange, seededBytes, stepUntil, IP_A, IP_B, MAC_A, MAC_B, type TcpLink } from "../../testing/tcp-link.js";
import { CHNL_EV_ACCEPT, CHNL_EV_CONNECTED, CHNL_EV_EOF, CHNL_EV_READABLE, CHNL_EV_RESET, CHNL_EV_CLOSED, CHNL_EV_ERROR, type Chnl } from "../chnl.js";
import { cksum, cksumFold, onesSum } from "../../wire/cksum.js";
import { gc, gcsAndGrowthSettled } from "../../testing/gc-probe.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");


/** A listener on B:port, A connects: returns both channels once established. */
function connectPair(L: TcpLink, port = 80, backlog = 16): { acd: number; bcd: number; lcd: number } {
  const A = L.a.chnl;
  const B = L.b.chnl;
  const lcd = B.open("tcp");
  B.bind(lcd, 0, port);
  B.listen(lcd, backlog);
  const acd = A.open("tcp");
  A.connect(acd, IP_B, port);
  let bcd = -1;
  stepUntil(L, () => (bcd < 0 && (bcd = B.accept(lcd)), bcd >= 0 && A.tcpState(acd) === "ESTABLISHED"), "established");
  return { acd, bcd, lcd };
}

/** Moves `ab` from A to B and `ba` from B to A at once; both shut down after sending; returns what each received. */

/** A raw Ethernet + IPv4 + TCP frame (no options) with valid checksums unless `badCksum`. */
function tcpFrame(o: { toB: boolean; sport: number; dport: number; seq: number; ack: number; flags: number; win?: number; payload?: Uint8Array; badCksum?: boolean; srcIp?: number; doff?: number }): Uint8Array {
  const pl = o.payload ?? new Uint8Array(0);
  const f = new Uint8Array(14 + 20 + 20 + pl.length);
  f.set(o.toB ? MAC_B : MAC_A, 0);
  f.set(o.toB ? MAC_A : MAC_B, 6);
  f[12] = 8; f[13] = 0;
  const ip = 14;
  f[ip] = 0x45;
  const tot = 40 + pl.length;
  f[ip + 2] = tot >> 8; f[ip + 3] = tot & 0xff;
  f[ip + 8] = 64; f[ip + 9] = 6;
  const src = o.srcIp ?? (o.toB ? IP_A : IP_B);
  const dst = o.toB ? IP_B : IP_A;
  const w32 = (at: number, v: number) => { f[at] = v >>> 24; f[at + 1] = (v >>> 16) & 0xff; f[at + 2] = (v >>> 8) & 0xff; f[at + 3] = v & 0xff; };
  w32(ip + 12, src);
  w32(ip + 16, dst);
  const ic = cksum(f, ip, 20);
  f[ip + 10] = ic >> 8; f[ip + 11] = ic & 0xff;
  const l4 = 34;
  f[l4] = o.sport >> 8; f[l4 + 1] = o.sport & 0xff;
  f[l4 + 2] = o.dport >> 8; f[l4 + 3] = o.dport & 0xff;
  w32(l4 + 4, o.seq);
  w32(l4 + 8, o.ack);
  f[l4 + 12] = (o.doff ?? 5) << 4;
  f[l4 + 13] = o.flags;
  const win = o.win ?? 65535;
  f[l4 + 14] = win >> 8; f[l4 + 15] = win & 0xff;
  f.set(pl, l4 + 20);
  const len = 20 + pl.length;
  const sum = cksumFold(onesSum(f, ip + 12, 8) + 6 + len + onesSum(f, l4, len));
  const tc = ~sum & 0xffff;
  const bad = o.badCksum ? tc ^ 0x5555 : tc;
  f[l4 + 16] = bad >> 8; f[l4 + 17] = bad & 0xff;
  return f;
}

const SYN = 2, RST = 4, ACK = 16;

/** The engine slot of a channel (the test reads the engine's arrays). */
function slotOf(ch: Chnl, cd: number): number {
  return (ch as unknown as { chans: { slot: number }[] }).chans[cd]!.slot;
}

function closeBoth(L: TcpLink, acd: number, bcd: number, lcd: number): void {
  L.a.chnl.close(acd);
  L.b.chnl.close(bcd);
  L.b.chnl.close(lcd);
}

describe("tcp engine over a simulated link", () => {
  test("handshake, a small exchange, graceful close both ways, TIME_WAIT on the closer, no frame leaked", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 500 } });
    try {
      const { acd, bcd, lcd } = connectPair(L);
      assert.equal(L.b.chnl.tcpState(bcd), "ESTABLISHED");
      assert.deepEqual(L.b.chnl.peerOf(bcd), { ip: IP_A, port: L.a.chnl.localOf(acd).port, family: 4 });
      assert.deepEqual(L.a.chnl.localOf(acd).ip, IP_A);
      const ab = seededBytes(5000, 1);
      const ba = seededBytes(3000, 2);
      const r = exchange(L, acd, bcd, ab, ba, { bWaitsEof: true });
      assert.equal(sha(r.atB), sha(ab));
      assert.equal(sha(r.atA), sha(ba));
      // A shut down first: once B's FIN is acknowledged A lingers in TIME_WAIT, B reaches CLOSED.
      stepUntil(L, () => L.b.chnl.tcpState(bcd) === "CLOSED", "B closed", 100);
      assert.equal(L.a.chnl.tcpState(acd), "TIME_WAIT");
      closeBoth(L, acd, bcd, lcd);
      assert.equal(L.a.tcp!.activeCount, 1, "A's connection lingers in TIME_WAIT after close");
      stepUntil(L, () => L.a.tcp!.activeCount === 0, "TIME_WAIT over", 2000);
      const ca = L.ca();
      const cb = L.cb();
      assert.equal(ca.tcp_active_opens, 1);
      assert.equal(cb.tcp_passive_opens, 1);
      assert.equal(ca.tcp_established, 1);
      assert.equal(cb.tcp_established, 1);
      assert.equal(ca.tcp_time_wait, 1);
      assert.equal(cb.tcp_time_wait, 0);
      assert.equal(ca.tcp_retransmits + cb.tcp_retransmits, 0, "nothing retransmitted on a clean link");
      assert.equal(ca.tcp_drop_cksum + cb.tcp_drop_cksum + ca.tcp_drop_bad + cb.tcp_drop_bad, 0);
      assert.equal(ca.tcp_tx, cb.tcp_rx, "every segment A sent reached B");
      assert.equal(cb.tcp_tx, ca.tcp_rx);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("10 MB each way at once on a clean link, byte-exact (sha256), no retransmission", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100 } });
    try {
      const { acd, bcd, lcd } = connectPair(L);
      const ab = seededBytes(10 << 20, 3);
      const ba = seededBytes(10 << 20, 4);
      const r = exchange(L, acd, bcd, ab, ba);
      assert.equal(r.atB.length, ab.length);
      assert.equal(sha(r.atB), sha(ab));
      assert.equal(sha(r.atA), sha(ba));
      const ca = L.ca();
      const cb = L.cb();
      assert.equal(ca.tcp_retransmits + cb.tcp_retransmits, 0);
      assert.equal(ca.tcp_drop_out_of_window + cb.tcp_drop_out_of_window, 0);
      assert.equal(ca.tcp_no_buf + cb.tcp_no_buf, 0);
      closeBoth(L, acd, bcd, lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 1000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("10 MB each way under 2% loss, 1% duplication, 10% reordering and 2 ms delay: byte-exact", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100 }, seed: 99 });
    try {
      const { acd, bcd, lcd } = connectPair(L);
      const imp = { loss: 0.02, dup: 0.01, reorder: 0.1, reorderMs: 3, delayMs: 2 };
      L.ab = imp;
      L.ba = imp;
      const ab = seededBytes(10 << 20, 5);
      const ba = seededBytes(10 << 20, 6);
      const r = exchange(L, acd, bcd, ab, ba);
      assert.equal(r.atB.length, ab.length);
      assert.equal(sha(r.atB), sha(ab));
      assert.equal(r.atA.length, ba.length);
      assert.equal(sha(r.atA), sha(ba));
      const ca = L.ca();
      const cb = L.cb();
      // The loss paths ran: fast retransmits, SACK-guided holes, out-of-order queueing, duplicates.
      for (const c of [ca, cb]) {
        assert.ok(c.tcp_fast_retransmits > 0, "fast retransmit used");
        assert.ok(c.tcp_ooo_segs > 0, "out-of-order segments queued");
        assert.ok(c.tcp_rx_dup > 0, "duplicates seen");
        assert.ok(c.tcp_sack_blocks_out > 0, "SACK blocks sent");
      }
      L.ab = {};
      L.ba = {};
      closeBoth(L, acd, bcd, lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 5000);
      console.log(JSON.stringify({ a: pick(ca), b: pick(cb) }));
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("zero window: the sender probes (persist timer, backing off), then the reader drains and every byte arrives", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100, rcvBuf: 65536 } });
    try {
      const { acd, bcd, lcd } = connectPair(L);
      const A = L.a.chnl;
      const B = L.b.chnl;
      const msg = seededBytes(300_000, 7);
      let sent = 0;
      for (let i = 0; i < 2000; i++) {
        if (sent < msg.length) sent += A.send(acd, msg, sent, msg.length - sent);
        L.step();
      }
      const as = slotOf(A, acd);
      const eng = L.a.tcp!;
      // B's window closed to less than a segment (receiver SWS avoidance keeps the last sliver shut).
      assert.ok(eng.sndWnd[as]! < 1448, `window ${eng.sndWnd[as]}`);
      const held = L.b.tcp!.readable(slotOf(B, bcd));
      assert.ok(held > 65536 - 1448 && held + eng.sndWnd[as]! <= 65536, `B holds ${held} bytes of its 65536 (all but the sliver)`);
      // The probe interval doubles each time (from the RTO, 200 ms here): note when each probe goes.
      const times: number[] = [];
      let seen = L.ca().tcp_persist_probes;
      assert.ok(seen >= 1, "probing started");
      for (let i = 0; i < 15_000; i++) {
        L.step();
        const p = L.ca().tcp_persist_probes;
        if (p !== seen) times.push(L.clock[0]!);
        seen = p;
      }
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      assert.ok(gaps.length >= 2, `probes at ${times.join(", ")}`);
      gaps.slice(1).forEach((g, i) => assert.ok(Math.abs(g - 2 * gaps[i]!) <= 2, `gaps ${gaps.join(", ")} do not double`));
      assert.equal(L.ca().tcp_retransmits, 0, "probes are not retransmissions");
      const got = new Uint8Array(msg.length);
      let r = 0;
      for (let i = 0; i < 100_000 && r < msg.length; i++) {
        if (sent < msg.length) sent += A.send(acd, msg, sent, msg.length - sent);
        for (let k; (k = B.recv(bcd, got, r, got.length - r)) > 0;) r += k;
        L.step();
      }
      assert.equal(r, msg.length);
      assert.equal(sha(got), sha(msg));
      closeBoth(L, acd, bcd, lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 2000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("simultaneous open (RFC 9293 figure 8) and simultaneous close: both ends pass SYN_RECEIVED, both end in TIME_WAIT", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 300 } });
    try {
      const A = L.a.chnl;
      const B = L.b.chnl;
      const acd = A.open("tcp");
      A.bind(acd, 0, 1000);
      const bcd = B.open("tcp");
      B.bind(bcd, 0, 2000);
      A.connect(acd, IP_B, 2000);
      B.connect(bcd, IP_A, 1000);
      const seen: string[] = [];
      for (let i = 0; i < 50; i++) {
        L.step();
        seen.push(`${A.tcpState(acd)}/${B.tcpState(bcd)}`);
      }
      assert.ok(seen.includes("SYN_RECEIVED/SYN_RECEIVED"), `states went ${[...new Set(seen)].join(" ")}`);
      assert.equal(A.tcpState(acd), "ESTABLISHED");
      assert.equal(B.tcpState(bcd), "ESTABLISHED");
      const r = exchange(L, acd, bcd, seededBytes(20000, 8), seededBytes(30000, 9));
      assert.equal(sha(r.atB), sha(seededBytes(20000, 8)));
      assert.equal(sha(r.atA), sha(seededBytes(30000, 9)));
      stepUntil(L, () => A.tcpState(acd) === "TIME_WAIT" && B.tcpState(bcd) === "TIME_WAIT", "both TIME_WAIT", 100);
      assert.equal(L.ca().tcp_time_wait, 1);
      assert.equal(L.cb().tcp_time_wait, 1);
      assert.equal(L.ca().tcp_passive_opens + L.cb().tcp_passive_opens, 0);
      stepUntil(L, () => A.tcpState(acd) === "CLOSED" && B.tcpState(bcd) === "CLOSED", "TIME_WAIT over", 400);
      A.close(acd);
      B.close(bcd);
      assert.equal(L.a.tcp!.activeCount + L.b.tcp!.activeCount, 0);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("RST: a closed port refuses (RESET event, -1 from recv); abort resets the peer; callbacks see the bits", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100 } });
    try {
      const A = L.a.chnl;
      const B = L.b.chnl;
      const cd = A.open("tcp");
      const evs: number[] = [];
      A.setCallback(cd, (_cd, ev) => evs.push(ev));
      A.connect(cd, IP_B, 81);
      for (let i = 0; i < 10; i++) L.step();
      assert.equal(L.cb().tcp_no_port, 1);
      assert.equal(L.cb().tcp_rst_out, 1);
      assert.equal(L.ca().tcp_rst_in, 1);
      assert.equal(L.ca().tcp_attempt_fails, 1);
      assert.equal(evs.length, 1);
      assert.equal(evs[0]! & (CHNL_EV_RESET | CHNL_EV_CLOSED), CHNL_EV_RESET | CHNL_EV_CLOSED);
      assert.equal(A.recv(cd, new Uint8Array(10), 0, 10), -1);
      assert.throws(() => A.send(cd, new Uint8Array(1), 0, 1), /reset by the peer/);
      A.close(cd);
      // abort of an established connection
      const { acd, bcd, lcd } = connectPair(L);
      const bev: number[] = [];
      B.setCallback(bcd, (_cd, ev) => bev.push(ev));
      A.abort(acd);
      for (let i = 0; i < 5; i++) L.step();
      assert.equal(B.tcpState(bcd), "CLOSED");
      assert.ok(bev.some((e) => (e & CHNL_EV_RESET) !== 0), "B saw RESET");
      assert.equal(L.cb().tcp_estab_resets, 1);
      assert.equal(L.ca().tcp_rst_out, 1);
      B.close(bcd);
      B.close(lcd);
      assert.equal(L.a.tcp!.activeCount + L.b.tcp!.activeCount, 0);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("RFC 5961: RST or SYN with a wrong sequence number draws a challenge ACK and the connection stays; out-of-window data and bad checksums are dropped and counted", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100 } });
    try {
      const { acd, bcd, lcd } = connectPair(L);
      const A = L.a.chnl;
      const B = L.b.chnl;
      const bs = slotOf(B, bcd);
      const eb = L.b.tcp!;
      const aport = A.localOf(acd).port;
      const rcvNxt = eb.rcvNxt[bs]!;
      const base = L.cb();
      const txBefore = base.tcp_tx;
      L.inject("b", tcpFrame({ toB: true, sport: aport, dport: 80, seq: (rcvNxt + 100) | 0, ack: 0, flags: RST }));
      L.inject("b", tcpFrame({ toB: true, sport: aport, dport: 80, seq: (rcvNxt + 200) | 0, ack: 0, flags: SYN }));
      L.inject("b", tcpFrame({ toB: true, sport: aport, dport: 80, seq: (rcvNxt + 50_000_000) | 0, ack: eb.sndUna[bs]!, flags: ACK, payload: new Uint8Array(100) }));
      L.inject("b", tcpFrame({ toB: true, sport: aport, dport: 80, seq: rcvNxt, ack: eb.sndUna[bs]!, flags: ACK, payload: new Uint8Array(100), badCksum: true }));
      L.inject("b", tcpFrame({ toB: true, sport: aport, dport: 80, seq: (rcvNxt - 1_000_000) | 0, ack: 0, flags: RST }));
      L.inject("b", tcpFrame({ toB: true, sport: aport, dport: 80, seq: rcvNxt, ack: eb.sndUna[bs]!, flags: ACK, doff: 4 })); // header shorter than 20
      L.inject("b", tcpFrame({ toB: true, sport: aport, dport: 80, seq: rcvNxt, ack: eb.sndUna[bs]!, flags: ACK, doff: 15 })); // longer than the segment
      L.inject("b", tcpFrame({ toB: true, sport: aport, dport: 80, seq: rcvNxt, ack: (eb.sndMax[bs]! + 100000) | 0, flags: ACK })); // acknowledges the future
      L.step();
      const c = L.cb();
      assert.equal(c.tcp_challenge_acks - base.tcp_challenge_acks, 3, "RST, SYN and the ACK of unsent data challenged");
      assert.equal(c.tcp_drop_bad - base.tcp_drop_bad, 2, "bad header lengths");
      assert.equal(c.tcp_drop_out_of_window - base.tcp_drop_out_of_window, 1);
      assert.equal(c.tcp_drop_cksum - base.tcp_drop_cksum, 1);
      assert.equal(c.tcp_rst_in - base.tcp_rst_in, 2, "both RSTs seen, neither accepted");
      assert.equal(c.tcp_tx - txBefore, 4, "three challenge ACKs and one ACK for the out-of-window segment");
      assert.equal(B.tcpState(bcd), "ESTABLISHED");
      assert.equal(eb.rcvNxt[bs], rcvNxt, "nothing was taken in");
      // An exact RST (seq = rcv.nxt) does reset.
      L.inject("b", tcpFrame({ toB: true, sport: aport, dport: 80, seq: rcvNxt, ack: 0, flags: RST }));
      L.step();
      assert.equal(B.tcpState(bcd), "CLOSED");
      assert.ok((B.events(bcd) & CHNL_EV_RESET) !== 0);
      closeBoth(L, acd, bcd, lcd);
      for (let i = 0; i < 10; i++) L.step();
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("SYN flood: the backlog bounds half-open connections, the excess is dropped and counted, half-opens time out, then a real client gets in", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100 } });
    try {
      const A = L.a.chnl;
      const B = L.b.chnl;
      const lcd = A.open("tcp");
      A.bind(lcd, 0, 8080);
      A.listen(lcd, 8);
      let accepts = 0;
      A.setCallback(lcd, (_cd, ev) => { if (ev & CHNL_EV_ACCEPT) accepts++; });
      L.tapAB = () => false; // the spoofed clients never answer: A's SYN-ACKs vanish
      for (let i = 0; i < 100; i++) L.inject("a", tcpFrame({ toB: false, sport: 20000 + i, dport: 8080, seq: i * 1000, ack: 0, flags: SYN, srcIp: IP_B }));
      for (let i = 0; i < 4; i++) L.step();
      assert.equal(L.ca().tcp_passive_opens, 8);
      assert.equal(L.ca().tcp_syn_drop_backlog, 92);
      assert.equal(L.a.tcp!.activeCount, 9, "listener + 8 half-open");
      // SYN-ACK retransmissions 1+2+4+8+16 s, then the 32 s wait: all half-opens gone.
      stepUntil(L, () => L.ca().tcp_syn_recv_timeout === 8, "half-opens timed out", 100, 1000);
      assert.equal(L.a.tcp!.activeCount, 1);
      assert.equal(L.ca().tcp_retransmits, 8 * 5, "five SYN-ACK retransmissions each");
      L.tapAB = null;
      const ccd = B.open("tcp");
      B.connect(ccd, IP_A, 8080);
      let acd = -1;
      stepUntil(L, () => (acd < 0 && (acd = A.accept(lcd)), acd >= 0), "accepted", 100);
      assert.equal(accepts, 1);
      assert.equal(A.tcpState(acd), "ESTABLISHED");
      A.close(acd);
      B.close(ccd);
      A.close(lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 1000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("the segment path allocates nothing in steady state (bulk transfer A -> B, zero-copy receive)", async () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100 } });
    try {
      const { acd, bcd, lcd } = connectPair(L);
      const A = L.a.chnl;
      const B = L.b.chnl;
      const src = seededBytes(1 << 16, 10);
      const bufs = new Uint32Array(256);
      const got = new Float64Array(1); // a number past 2^31 in a closure slot would be boxed on every store
      const run = (steps: number) => {
        for (let i = 0; i < steps; i++) {
          A.send(acd, src, 0, src.length);
          for (let n; (n = B.recvBurst(bcd, bufs, 256)) > 0;) {
            let k = 0;
            for (let j = 0; j < n; j++) k += L.mp.mbufs.dataLen[bufs[j]!]!;
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
      assert.equal(gcs, 0, `${gcs} garbage collections while moving ${moved} bytes: the segment path allocates`);
      assert.ok(growth < 2 * 1024 * 1024, `the heap grew by ${growth} bytes (first window: ${first.gcs} GCs, ${first.growth} bytes)`); // (optimized code and feedback land in old space too)
      // A received frame names its sender (family 4, address and port).
      A.send(acd, src, 0, 1000);
      let n = 0;
      for (let i = 0; i < 10 && n === 0; i++) {
        L.step();
        n = B.recvBurst(bcd, bufs, 256);
      }
      assert.ok(n > 0);
      assert.deepEqual([B.family(bufs[0]!), B.peerIp(bufs[0]!), B.peerName(bufs[0]!)], [4, IP_A, `10.0.0.1:${A.localOf(acd).port}`]);
      L.mp.freeBulk(bufs, n);
      closeBoth(L, acd, bcd, lcd);
      for (let i = 0; i < 10; i++) L.step();
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("Nagle holds small writes while data is unacknowledged (two segments for ten 1-byte sends); nodelay sends each", () => {
    for (const nodelay of [false, true]) {
      const L = tcpLink({ tcp: { timeWaitMs: 100 } });
      try {
        const { acd, bcd, lcd } = connectPair(L);
        L.ab = { delayMs: 5 };
        L.ba = { delayMs: 5 };
        L.a.chnl.setOption(acd, "nodelay", nodelay);
        let dataSegs = 0;
        L.tapAB = (u8, off, len) => {
          const thl = (u8[off + 34 + 12]! >>> 4) << 2;
          if (len - 34 - thl > 0) dataSegs++;
          return true;
        };
        for (let i = 0; i < 10; i++) {
          assert.equal(L.a.chnl.send(acd, Uint8Array.of(i), 0, 1), 1);
          L.step();
        }
        for (let i = 0; i < 100; i++) L.step();
        assert.equal(dataSegs, nodelay ? 10 : 2, nodelay ? "nodelay: one segment per send" : "Nagle: the first byte, then the other nine together");
        const got = new Uint8Array(16);
        assert.equal(L.b.chnl.recv(bcd, got, 0, 16), 10);
        assert.deepEqual([...got.subarray(0, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        closeBoth(L, acd, bcd, lcd);
        for (let i = 0; i < 200; i++) L.step();
      } finally {
        assert.equal(L.close(), 0, "frames leaked");
      }
    }
  });

  test("delayed ACK: one segment is acknowledged after 40 ms, a second segment at once", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100 } });
    try {
      const { acd, bcd, lcd } = connectPair(L);
      L.a.chnl.setOption(acd, "nodelay", true);
      const acks: number[] = [];
      L.tapBA = (u8, off, len) => {
        const thl = (u8[off + 34 + 12]! >>> 4) << 2;
        if (len - 34 - thl === 0 && (u8[off + 34 + 13]! & ACK) !== 0) acks.push(L.clock[0]!);
        return true;
      };
      for (let i = 0; i < 5; i++) L.step();
      acks.length = 0;
      const t0 = L.clock[0]!;
      L.a.chnl.send(acd, new Uint8Array(100), 0, 100);
      for (let i = 0; i < 100; i++) L.step();
      assert.equal(acks.length, 1, `ACKs at ${acks.map((t) => t - t0).join(", ")} ms`);
      assert.ok(acks[0]! - t0 >= 40 && acks[0]! - t0 <= 42, `the ACK went ${acks[0]! - t0} ms after the send`);
      acks.length = 0;
      const t1 = L.clock[0]!;
      L.a.chnl.send(acd, new Uint8Array(2 * 1448), 0, 2 * 1448);
      for (let i = 0; i < 100; i++) L.step();
      assert.equal(acks.length, 1);
      assert.ok(acks[0]! - t1 <= 2, `two segments acknowledged at once (${acks[0]! - t1} ms)`);
      assert.equal(L.b.chnl.recv(bcd, new Uint8Array(4096), 0, 4096), 100 + 2 * 1448);
      closeBoth(L, acd, bcd, lcd);
      for (let i = 0; i < 200; i++) L.step();
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("keepalive: an idle connection is probed; answered probes keep it, unanswered ones end it with ERROR", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100, keepIdleMs: 1000, keepIntvlMs: 100, keepCnt: 3 } });
    try {
      const { acd, bcd, lcd } = connectPair(L);
      const A = L.a.chnl;
      A.setOption(acd, "keepalive", true);
      const evs: number[] = [];
      A.setCallback(acd, (_cd, ev) => evs.push(ev));
      for (let i = 0; i < 1050; i++) L.step();
      assert.equal(L.ca().tcp_keepalive_probes, 1, "one probe after the idle time");
      assert.equal(A.tcpState(acd), "ESTABLISHED");
      L.tapBA = () => false; // B goes silent
      stepUntil(L, () => A.tcpState(acd) === "CLOSED", "keepalive gave up", 3000);
      assert.equal(L.ca().tcp_keepalive_probes, 1 + 3, "three unanswered probes");
      assert.equal(L.ca().tcp_keepalive_timeouts, 1);
      assert.ok(evs.some((e) => (e & CHNL_EV_ERROR) !== 0), "ERROR reported");
      assert.equal(A.recv(acd, new Uint8Array(1), 0, 1), -1);
      L.tapBA = null;
      A.close(acd);
      for (let i = 0; i < 10; i++) L.step();
      assert.equal(L.cb().tcp_rst_in, 1, "B got the RST that ended it");
      assert.equal(L.b.chnl.tcpState(bcd), "CLOSED");
      L.b.chnl.close(bcd);
      L.b.chnl.close(lcd);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("a backlog of 100: a hundred connections wait to be accepted, the 101st SYN is dropped and counted; all close cleanly", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100, sndBuf: 16384, rcvBuf: 16384 } });
    try {
      const A = L.a.chnl;
      const B = L.b.chnl;
      const lcd = A.open("tcp");
      A.bind(lcd, 0, 7000);
      A.listen(lcd, 100);
      const clients: number[] = [];
      for (let i = 0; i < 101; i++) {
        const cd = B.open("tcp");
        B.connect(cd, IP_A, 7000);
        clients.push(cd);
      }
      for (let i = 0; i < 20; i++) L.step();
      assert.equal(L.ca().tcp_passive_opens, 100);
      assert.equal(L.ca().tcp_established, 100);
      assert.equal(L.ca().tcp_syn_drop_backlog, 1, "the 101st SYN (its retransmissions come later)");
      const accepted: number[] = [];
      for (let cd; (cd = A.accept(lcd)) >= 0;) accepted.push(cd);
      assert.equal(accepted.length, 100);
      // The 101st client's SYN is retransmitted after 1 s and now finds room.
      stepUntil(L, () => { const cd = A.accept(lcd); if (cd >= 0) accepted.push(cd); return accepted.length === 101; }, "the 101st accepted", 2000);
      for (const cd of accepted) A.close(cd);
      for (const cd of clients) B.close(cd);
      A.close(lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 2000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });

  test("SYN cookies: with the backlog full of half-open floods a real client still gets in; a forged cookie is refused", () => {
    const L = tcpLink({ tcp: { timeWaitMs: 100, synCookies: true } });
    try {
      const A = L.a.chnl;
      const B = L.b.chnl;
      const lcd = A.open("tcp");
      A.bind(lcd, 0, 8080);
      A.listen(lcd, 8);
      L.tapAB = () => false; // the flood's SYN-ACKs vanish
      for (let i = 0; i < 100; i++) L.inject("a", tcpFrame({ toB: false, sport: 20000 + i, dport: 8080, seq: i * 1000, ack: 0, flags: SYN, srcIp: IP_B }));
      for (let i = 0; i < 4; i++) L.step();
      assert.equal(L.ca().tcp_passive_opens, 8);
      assert.equal(L.ca().tcp_syncookies_sent, 92);
      assert.equal(L.ca().tcp_syn_drop_backlog, 0);
      assert.equal(L.a.tcp!.activeCount, 9, "the cookies kept no state");
      L.tapAB = null;
      const ccd = B.open("tcp");
      B.connect(ccd, IP_A, 8080);
      let acd = -1;
      stepUntil(L, () => (acd < 0 && (acd = A.accept(lcd)), acd >= 0), "accepted through a cookie", 100);
      assert.equal(L.ca().tcp_syncookies_sent, 93);
      assert.equal(L.ca().tcp_syncookies_ok, 1);
      assert.equal(A.tcpState(acd), "ESTABLISHED");
      const r = exchange(L, acd, ccd, seededBytes(200_000, 11), seededBytes(100_000, 12));
      assert.equal(sha(r.atB), sha(seededBytes(200_000, 11)));
      assert.equal(sha(r.atA), sha(seededBytes(100_000, 12)));
      // A forged ACK (a guessed cookie) is refused with a RST.
      const rstBefore = L.ca().tcp_rst_out;
      L.inject("a", tcpFrame({ toB: false, sport: 30000, dport: 8080, seq: 5, ack: 0x12345678, flags: ACK, srcIp: IP_B }));
      L.step();
      assert.equal(L.ca().tcp_syncookies_failed, 1);
      assert.equal(L.ca().tcp_rst_out - rstBefore, 1);
      A.close(acd);
      B.close(ccd);
      A.close(lcd);
      stepUntil(L, () => L.a.tcp!.activeCount === 0 && L.b.tcp!.activeCount === 0, "all closed", 100_000, 1000);
    } finally {
      assert.equal(L.close(), 0, "frames leaked");
    }
  });
});

function pick(c: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(c).filter(([k, v]) => k.startsWith("tcp_") && v !== 0));
}