import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { COLOR_GREEN as G, COLOR_RED as R, COLOR_YELLOW as Y } from "./color.js";
import { TrTcm } from "./trtcm.js";
import { SrTcm } from "./srtcm.js";
import { tokenBucketParams } from "./token-bucket.js";
import { gcsDuring } from "../../testing/gc-probe.js";

const MS = 1e6;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("lookup/meter: trTCM (RFC 2698)", () => {
  it("RFC 2698 color-blind, worked: token counts after each arrival", () => {
    // CIR 1000 B/s, PIR 2000 B/s, CBS 1000, PBS 3000 on a ns clock.
    const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 3000 }, { hz: 1e9, now: 0 });
    assert.deepEqual([m.cPeriod, m.cBytesPerPeriod, m.pPeriod, m.pBytesPerPeriod], [1_000_000, 1, 500_000, 1]);
    const steps: [number, number, number, number, number][] = [
      // time (ms), bytes, color, Tc after, Tp after
      [0, 800, G, 200, 2200],
      [0, 800, Y, 200, 1400], // C short: yellow, only P pays
      [0, 800, Y, 200, 600],
      [0, 800, R, 200, 600], // P short: red, nobody pays
      [500, 700, G, 0, 900], // +500 C, +1000 P
      [500.4, 1, Y, 0, 899], // 0.4 ms: no whole token in either bucket
      [500.5, 1, Y, 0, 899], // P got one (0.5 ms period), C not yet
      [501, 1, G, 0, 899], // C's 501st token (and one more for P)
      [60_000, 1000, G, 0, 2000], // both full again: 1000 and 3000
      [60_000, 2001, R, 0, 2000],
    ];
    for (const [t, len, color, tc, tp] of steps) {
      assert.equal(m.colorBlind(0, t * MS, len), color, `t ${t} ms, ${len} bytes`);
      assert.deepEqual([m.tc(0), m.tp(0)], [tc, tp], `buckets after t ${t} ms`);
    }
  });

  it("RFC 2698 color-aware: red stays red, yellow never takes C", () => {
    const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 2000 }, { hz: 1e9, now: 0 });
    const steps: [number, number, number, number, number][] = [
      // bytes, color in, color out, Tc, Tp
      [300, R, R, 1000, 2000],
      [300, Y, Y, 1000, 1700],
      [600, G, G, 400, 1100],
      [500, G, Y, 400, 600], // C short
      [700, Y, R, 400, 600], // P short
      [400, G, G, 0, 200],
    ];
    for (const [len, cin, cout, tc, tp] of steps) {
      assert.equal(m.colorAware(0, 0, len, cin), cout, `${len} bytes in ${cin}`);
      assert.deepEqual([m.tc(0), m.tp(0)], [tc, tp]);
    }
  });

  it("matches a byte-at-a-time model of RFC 2698 over random arrivals (blind and aware)", () => {
    const rnd = lcg(2698);
    for (let run = 0; run < 40; run++) {
      const hz = 1e9;
      const cir = [1000, 8000, 50_000, 500_000][run % 4]!;
      const pir = cir * [1, 2, 4][run % 3]!; // hz / rate stays an integer: one token per period
      const cbs = 1 + Math.floor(rnd() * 5000);
      const pbs = 1 + Math.floor(rnd() * 8000);
      const m = TrTcm.create({ cir, pir, cbs, pbs }, { hz, now: 0 });
      let tc = cbs;
      let tp = pbs;
      let gc = 0;
      let gp = 0;
      let t = 0;
      for (let i = 0; i < 2000; i++) {
        t += Math.floor(rnd() * 3 * (hz / cir) * (rnd() < 0.1 ? 1000 : 1));
        const len = Math.floor(rnd() * 1600);
        const aware = rnd() < 0.5;
        const cin = Math.floor(rnd() * 3);
        // RFC 2698 3.: "Tp is incremented by one PIR times per second up to PBS and the token count Tc
        // is incremented by one CIR times per second up to CBS."
        const dc = Math.floor((t * cir) / hz);
        const dp = Math.floor((t * pir) / hz);
        tc = Math.min(cbs, tc + (dc - gc));
        tp = Math.min(pbs, tp + (dp - gp));
        gc = dc;
        gp = dp;
        let want: number;
        if ((aware && cin === R) || tp - len < 0) want = R;
        else if ((aware && cin === Y) || tc - len < 0) {
          want = Y;
          tp -= len;
        } else {
          want = G;
          tp -= len;
          tc -= len;
        }
        const got = aware ? m.colorAware(0, t, len, cin) : m.colorBlind(0, t, len);
        assert.equal(got, want, `run ${run} packet ${i}`);
        assert.deepEqual([m.tc(0), m.tp(0)], [tc, tp], `run ${run} packet ${i}`);
      }
    }
  });

  it("matches DPDK's rte_meter (uint64 arithmetic, chunked refill) for srTCM and trTCM", () => {
    // rte_meter_*_check, transcribed with BigInt as DPDK computes in uint64_t.
    const rnd = lcg(25_11);
    const hz = 2.45e9;
    for (let run = 0; run < 20; run++) {
      const cir = Math.floor(1e5 + rnd() * 2e8);
      const pir = cir + Math.floor(rnd() * 2e8);
      const cbs = 1 + Math.floor(rnd() * 20_000);
      const pbs = 1 + Math.floor(rnd() * 40_000);
      const ebs = Math.floor(rnd() * 20_000);
      const t0 = Math.floor(rnd() * 1e12);
      const sr = SrTcm.create({ cir, cbs, ebs }, { hz, now: t0 });
      const tr = TrTcm.create({ cir, pir, cbs, pbs }, { hz, now: t0 });
      const c = tokenBucketParams(hz, cir);
      const p = tokenBucketParams(hz, pir);
      const [cP, cB, pP, pB] = [BigInt(c.period), BigInt(c.bytesPerPeriod), BigInt(p.period), BigInt(p.bytesPerPeriod)];
      const [CBS, EBS, PBS] = [BigInt(cbs), BigInt(ebs), BigInt(pbs)];
      // srTCM state
      let sTime = BigInt(t0);
      let sTc = CBS;
      let sTe = EBS;
      // trTCM state
      let tTimeC = BigInt(t0);
      let tTimeP = BigInt(t0);
      let tTc = CBS;
      let tTp = PBS;
      let t = t0;
      for (let i = 0; i < 3000; i++) {
        t += Math.floor(rnd() * 2000);
        const T = BigInt(t);
        const len = Math.floor(rnd() * 1600);
        const L = BigInt(len);
        const aware = rnd() < 0.5;
        const cin = Math.floor(rnd() * 3);
        // srTCM
        {
          const n = (T - sTime) / cP;
          sTime += n * cP;
          let tc = sTc + n * cB;
          let te = sTe;
          if (tc > CBS) {
            te += tc - CBS;
            if (te > EBS) te = EBS;
            tc = CBS;
          }
          let want: number;
          if ((!aware || cin === G) && tc >= L) {
            want = G;
            tc -= L;
          } else if ((!aware || cin !== R) && te >= L) {
            want = Y;
            te -= L;
          } else want = R;
          sTc = tc;
          sTe = te;
          const got = aware ? sr.colorAware(0, t, len, cin) : sr.colorBlind(0, t, len);
          assert.equal(got, want, `srTCM run ${run} packet ${i}`);
          assert.deepEqual([BigInt(sr.tc(0)), BigInt(sr.te(0))], [sTc, sTe], `srTCM run ${run} packet ${i}`);
        }
        // trTCM
        {
          const nc = (T - tTimeC) / cP;
          const np = (T - tTimeP) / pP;
          tTimeC += nc * cP;
          tTimeP += np * pP;
          let tc = tTc + nc * cB;
          if (tc > CBS) tc = CBS;
          let tp = tTp + np * pB;
          if (tp > PBS) tp = PBS;
          let want: number;
          if ((aware && cin === R) || tp < L) want = R;
          else if ((aware && cin === Y) || tc < L) {
            want = Y;
            tp -= L;
          } else {
            want = G;
            tc -= L;
            tp -= L;
          }
          tTc = tc;
          tTp = tp;
          const got = aware ? tr.colorAware(0, t, len, cin) : tr.colorBlind(0, t, len);
          assert.equal(got, want, `trTCM run ${run} packet ${i}`);
          assert.deepEqual([BigInt(tr.tc(0)), BigInt(tr.tp(0))], [tTc, tTp], `trTCM run ${run} packet ${i}`);
        }
      }
    }
  });

  it("flows, bursts, shared views, reset", () => {
    const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 100, pbs: 150 }, { hz: 1e9, now: 0, flows: 2 });
    const colors = new Uint8Array(4);
    m.colorBlindBulk(Uint32Array.of(0, 0, 1, 0), Uint32Array.of(100, 50, 10, 1), 4, 0, colors);
    assert.deepEqual([...colors], [G, Y, G, R]);
    const v = TrTcm.fromShared(structuredClone(m.shared()));
    assert.deepEqual([v.tc(0), v.tp(0), v.tc(1), v.tp(1)], [0, 0, 90, 140]);
    const aware = Uint8Array.of(R, Y, G);
    v.colorAwareBulk(Uint32Array.of(1, 1, 1), Uint32Array.of(10, 10, 10), 3, 0, aware);
    assert.deepEqual([...aware], [R, Y, G]);
    assert.deepEqual([m.tc(1), m.tp(1)], [80, 120]);
    m.reset(0, 0);
    assert.deepEqual([m.tc(0), m.tp(0)], [100, 150]);
  });

  it("parameter errors name the value (as rte_meter_trtcm_profile_config refuses)", () => {
    const opts = { hz: 1e9, now: 0 };
    const ok = { cir: 1000, pir: 2000, cbs: 100, pbs: 100 };
    assert.throws(() => TrTcm.create({ ...ok, cir: 0 }, opts), /Invalid trTCM cir 0: an integer 1 to 2\^48/);
    assert.throws(() => TrTcm.create({ ...ok, pir: 0 }, opts), /Invalid trTCM pir 0/);
    assert.throws(() => TrTcm.create({ ...ok, cbs: 0 }, opts), /Invalid trTCM cbs 0/);
    assert.throws(() => TrTcm.create({ ...ok, pbs: 0 }, opts), /Invalid trTCM pbs 0/);
    assert.throws(() => TrTcm.create({ ...ok, pir: 999 }, opts), /pir 999 is below cir 1000/);
    assert.throws(() => TrTcm.create(ok, { ...opts, flows: 2 ** 24 + 1 }), /Invalid trTCM flow count 16777217/);
    assert.throws(() => TrTcm.create(ok, opts).tp(1), /Invalid trTCM flow 1: 0 to 0/);
  });

  it("colorBlindBulk and colorAwareBulk allocate nothing (a million packets)", async () => {
    const m = TrTcm.create({ cir: 125_000_000, pir: 250_000_000, cbs: 64_000, pbs: 128_000 }, { hz: 2.45e9, now: 0, flows: 256 });
    const flows = new Uint32Array(32);
    const lens = new Uint32Array(32);
    for (let i = 0; i < 32; i++) {
      flows[i] = (i * 13) & 255;
      lens[i] = 64 + i * 45;
    }
    const colors = new Uint8Array(32);
    let now = 0;
    const counts = [0, 0, 0];
    const gcs = await gcsDuring(() => {
      for (let b = 0; b < 1_000_000 / 32; b++) {
        now += 700;
        if ((b & 1) === 0) m.colorBlindBulk(flows, lens, 32, now, colors);
        else m.colorAwareBulk(flows, lens, 32, now, colors);
        counts[colors[0]!]!++;
      }
    });
    assert.equal(gcs, 0);
    assert.equal(counts[0]! + counts[1]! + counts[2]!, 31_250);
  });
});
