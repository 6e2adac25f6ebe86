/**
 * TCP between two stacks over a simulated link (src/testing/tcp-link.ts), without root: handshake,
 * transfers both ways compared by hash (clean link, then loss + reordering + duplication), zero window
 * and persist, simultaneous open and close, RST cases, TIME_WAIT, the listen backlog under a SYN flood,
 * out-of-window and bad-checksum segments counted, and every frame back in the pool after close.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { tcpLink, IP_A, IP_B, MAC_A, MAC_B, type TcpLink } from "../../testing/tcp-link.js";
import { CHNL_EV_ACCEPT, CHNL_EV_CONNECTED, CHNL_EV_EOF, CHNL_EV_READABLE, CHNL_EV_RESET, CHNL_EV_CLOSED, CHNL_EV_ERROR, type Chnl } from "../chnl.js";
import { cksum } from "../../wire/cksum.js";

function data(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function stepUntil(L: TcpLink, cond: () => boolean, what: string, max = 200_000, ms = 1): void {
  for (let i = 0; i < max; i++) {
    if (cond()) return;
    L.step(ms);
  }
  throw new Error(`not reached after ${max} steps: ${what}`);
}

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
function exchange(L: TcpLink, acd: number, bcd: number, ab: Uint8Array, ba: Uint8Array, o: { bWaitsEof?: boolean; maxSteps?: number } = {}): { atB: Uint8Array; atA: Uint8Array } {
  const maxSteps = o.maxSteps ?? 2_000_000;
  const A = L.a.chnl;
  const B = L.b.chnl;
  const gotB = new Uint8Array(ab.length + 1);
  const gotA = new Uint8Array(ba.length + 1);
  let sa = 0, sb = 0, ra = 0, rb = 0;
  let eofA = false, eofB = false, shA = false, shB = false;
  const pump = (ch: Chnl, cd: number, src: Uint8Array, sent: number): number => sent < src.length ? sent + ch.send(cd, src, sent, Math.min(65536, src.length - sent)) : sent;
  for (let i = 0; i < maxSteps && !(eofA && eofB); i++) {
    sa = pump(A, acd, ab, sa);
    sb = pump(B, bcd, ba, sb);
    if (sa === ab.length && !shA) { A.shutdown(acd); shA = true; }
    if (sb === ba.length && !shB && (!o.bWaitsEof || eofB)) { B.shutdown(bcd); shB = true; }
    for (let k; !eofB && (k = B.recv(bcd, gotB, rb, gotB.length - rb)) !== 0;) {
      if (k < 0) eofB = true;
      else rb += k;
    }
    for (let k; !eofA && (k = A.recv(acd, gotA, ra, gotA.length - ra)) !== 0;) {
      if (k < 0) eofA = true;
      else ra += k;
    }
    L.step();
  }
  assert.ok(eofA && eofB, `transfer did not finish: A sent ${sa}/${ab.length}, B got ${rb}; B sent ${sb}/${ba.length}, A got ${ra}`);
  return { atB: gotB.subarray(0, rb), atA: gotA.subarray(0, ra) };
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
      assert.deepEqual(L.b.chnl.peerOf(bcd), { ip: IP_A, port: L.a.chnl.localOf(acd).port });
      assert.deepEqual(L.a.chnl.localOf(acd).ip, IP_A);
      const ab = data(5000, 1);
      const ba = data(3000, 2);
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
      const ab = data(10 << 20, 3);
      const ba = data(10 << 20, 4);
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
      const ab = data(10 << 20, 5);
      const ba = data(10 << 20, 6);
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
});

function pick(c: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(c).filter(([k, v]) => k.startsWith("tcp_") && v !== 0));
}
