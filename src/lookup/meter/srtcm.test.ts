import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { COLOR_GREEN as G, COLOR_RED as R, COLOR_YELLOW as Y } from "./color.js";
import { SrTcm } from "./srtcm.js";
import { gcsDuring } from "../../testing/gc-probe.js";

const MS = 1e6; // ns per ms on the hz 1e9 clock

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("lookup/meter: srTCM (RFC 2697)", () => {
  it("RFC 2697 color-blind, worked: token counts after each arrival", () => {
    // CIR 1000 B/s (one token a ms on a ns clock), CBS 3000, EBS 5000; both buckets full at t = 0.
    const m = SrTcm.create({ cir: 1000, cbs: 3000, ebs: 5000 }, { hz: 1e9, now: 0 });
    assert.equal(m.period, 1_000_000);
    assert.equal(m.bytesPerPeriod, 1);
    const steps: [number, number, number, number, number][] = [
      // time (ms), bytes, color, Tc after, Te after
      [0, 1500, G, 1500, 5000],
      [0, 1500, G, 0, 5000],
      [0, 1500, Y, 0, 3500],
      [0, 1500, Y, 0, 2000],
      [0, 1500, Y, 0, 500],
      [0, 1500, R, 0, 500], // neither bucket changes on red
      [500, 400, G, 100, 500], // 500 tokens in 0.5 s, all into C (not full)
      [500.9, 101, Y, 100, 399], // 0.9 ms: no whole token yet; C has 100 < 101, E pays
      [501, 101, G, 0, 399], // the 501st token
      [10_000, 0, G, 3000, 5000], // 9499 tokens: C fills to 3000, 6499 overflow into E, capped at 5000
      [10_000, 3001, Y, 3000, 1999], // one byte over CBS: yellow
      [12_000, 4000, R, 3000, 3999], // C full: the 2000 new tokens all went to E (1999 + 2000); 4000 > both
      [12_000, 3999, Y, 3000, 0],
      [12_000, 1, G, 2999, 0],
    ];
    for (const [t, len, color, tc, te] of steps) {
      assert.equal(m.colorBlind(0, t * MS, len), color, `t ${t} ms, ${len} bytes`);
      assert.deepEqual([m.tc(0), m.te(0)], [tc, te], `buckets after t ${t} ms`);
    }
  });

  it("RFC 2697 color-aware: a packet keeps or worsens its color", () => {
    const m = SrTcm.create({ cir: 1000, cbs: 1000, ebs: 1000 }, { hz: 1e9, now: 0 });
    const steps: [number, number, number, number, number][] = [
      // bytes, color in, color out, Tc, Te
      [300, Y, Y, 1000, 700], // yellow never takes C, even with C full
      [300, R, R, 1000, 700], // red stays red and takes nothing
      [600, G, G, 400, 700],
      [500, G, Y, 400, 200], // green but C short: yellow from E
      [300, G, G, 100, 200],
      [300, G, R, 100, 200], // neither holds 300
      [100, Y, Y, 100, 100],
      [100, G, G, 0, 100],
    ];
    for (const [len, cin, cout, tc, te] of steps) {
      assert.equal(m.colorAware(0, 0, len, cin), cout, `${len} bytes in ${cin}`);
      assert.deepEqual([m.tc(0), m.te(0)], [tc, te]);
    }
  });

  it("DPDK rte_meter arithmetic: refill in whole periods of several bytes, the rest of the time carried", () => {
    // 1 Gbit/s on a 2.45 GHz cycle counter: 6 bytes every 117 cycles.
    const m = SrTcm.create({ cir: 125_000_000, cbs: 1000, ebs: 0 }, { hz: 2.45e9, now: 1000 });
    assert.deepEqual([m.period, m.bytesPerPeriod], [117, 6]);
    assert.equal(m.colorBlind(0, 1000, 1000), G);
    assert.equal(m.colorBlind(0, 1000 + 116, 1), R, "116 cycles: no period yet");
    assert.equal(m.tc(0), 0);
    assert.equal(m.colorBlind(0, 1000 + 117, 7), R, "one period: 6 bytes, not 7");
    assert.equal(m.tc(0), 6);
    assert.equal(m.colorBlind(0, 1000 + 117 * 10 + 116, 54), G, "10 periods: 60 bytes; 116 cycles carried");
    assert.equal(m.tc(0), 6);
    assert.equal(m.colorBlind(0, 1000 + 117 * 11, 0), G, "the carried cycles count toward the next period");
    assert.equal(m.tc(0), 12);
  });

  it("matches a byte-at-a-time model of RFC 2697 over random arrivals (blind and aware)", () => {
    const rnd = lcg(2697);
    for (let run = 0; run < 40; run++) {
      const cir = [1000, 8000, 50_000, 1_000_000][run % 4]!; // hz / cir is an integer: one token per period
      const cbs = Math.floor(rnd() * 5000);
      const ebs = cbs === 0 ? 1 + Math.floor(rnd() * 5000) : Math.floor(rnd() * 5000);
      const hz = 1e9;
      const m = SrTcm.create({ cir, cbs, ebs }, { hz, now: 0 });
      let tc = cbs;
      let te = ebs;
      let given = 0; // tokens generated so far
      let t = 0;
      for (let i = 0; i < 2000; i++) {
        t += Math.floor(rnd() * 3 * (hz / cir) * (rnd() < 0.1 ? 1000 : 1));
        const len = Math.floor(rnd() * 1600);
        const aware = rnd() < 0.5;
        const cin = Math.floor(rnd() * 3);
        // RFC 2697 2.: "Tc and Te are updated CIR times per second ... if Tc < CBS, Tc is incremented by
        // one, else if Te < EBS, Te is incremented by one, else neither".
        const due = Math.floor((t * cir) / hz);
        for (let k = given; k < due && (tc < cbs || te < ebs); k++) {
          if (tc < cbs) tc++;
          else te++;
        }
        given = due;
        let want: number;
        if ((!aware || cin === G) && tc - len >= 0) {
          want = G;
          tc -= len;
        } else if ((!aware || cin !== R) && te - len >= 0) {
          want = Y;
          te -= len;
        } else want = R;
        const got = aware ? m.colorAware(0, t, len, cin) : m.colorBlind(0, t, len);
        assert.equal(got, want, `run ${run} packet ${i}`);
        assert.deepEqual([m.tc(0), m.te(0)], [tc, te], `run ${run} packet ${i}`);
      }
    }
  });

  it("flows are independent; bursts color in order; an earlier time adds nothing", () => {
    const m = SrTcm.create({ cir: 1000, cbs: 100, ebs: 100 }, { hz: 1e9, now: 0, flows: 3 });
    const colors = new Uint8Array(6);
    m.colorBlindBulk(Uint32Array.of(0, 1, 0, 0, 2, 0), Uint32Array.of(60, 60, 60, 60, 200, 60), 6, 0, colors);
    assert.deepEqual([...colors], [G, G, Y, R, R, R]);
    assert.deepEqual([m.tc(0), m.te(0), m.tc(1), m.te(1), m.tc(2), m.te(2)], [40, 40, 40, 100, 100, 100]);
    const aware = Uint8Array.of(Y, G, R);
    m.colorAwareBulk(Uint32Array.of(1, 1, 1), Uint32Array.of(10, 10, 10), 3, 0, aware);
    assert.deepEqual([...aware], [Y, G, R]);
    assert.deepEqual([m.tc(1), m.te(1)], [30, 90]);
    m.colorBlind(2, 50 * MS, 0);
    assert.equal(m.tc(2), 100);
    m.colorBlind(2, 10 * MS, 100); // earlier than the flow's time: no tokens, no change of time
    assert.equal(m.tc(2), 0);
    m.colorBlind(2, 51 * MS, 0);
    assert.equal(m.tc(2), 1, "one token since 50 ms");
    m.reset(2, 51 * MS);
    assert.deepEqual([m.tc(2), m.te(2)], [100, 100]);
  });

  it("another thread's view shares the state", () => {
    const m = SrTcm.create({ cir: 1000, cbs: 100, ebs: 0 }, { hz: 1e9, now: 0, flows: 2 });
    const v = SrTcm.fromShared(structuredClone(m.shared()));
    assert.equal(v.colorBlind(1, 0, 70), G);
    assert.equal(m.tc(1), 30);
    assert.equal(m.colorBlind(1, 0, 70), R);
    assert.equal(v.flows, 2);
  });

  it("parameter errors name the value (as rte_meter_srtcm_profile_config refuses)", () => {
    const opts = { hz: 1e9, now: 0 };
    assert.throws(() => SrTcm.create({ cir: 0, cbs: 1, ebs: 1 }, opts), /Invalid srTCM cir 0: an integer 1 to 2\^48/);
    assert.throws(() => SrTcm.create({ cir: 1000, cbs: 0, ebs: 0 }, opts), /cbs and ebs are both 0/);
    assert.throws(() => SrTcm.create({ cir: 1000, cbs: -1, ebs: 0 }, opts), /Invalid srTCM cbs -1/);
    assert.throws(() => SrTcm.create({ cir: 1000, cbs: 1.5, ebs: 0 }, opts), /Invalid srTCM cbs 1.5/);
    assert.throws(() => SrTcm.create({ cir: 1000, cbs: 1, ebs: 0 }, { hz: 0, now: 0 }), /Invalid srTCM hz 0/);
    assert.throws(() => SrTcm.create({ cir: 1000, cbs: 1, ebs: 0 }, { hz: 1e9, now: NaN }), /Invalid srTCM start time NaN/);
    assert.throws(() => SrTcm.create({ cir: 1000, cbs: 1, ebs: 0 }, { ...opts, flows: 0 }), /Invalid srTCM flow count 0: 1 to 2\^24/);
    const m = SrTcm.create({ cir: 1000, cbs: 1, ebs: 0 }, { ...opts, flows: 2 });
    assert.throws(() => m.tc(2), /Invalid srTCM flow 2: 0 to 1/);
    assert.throws(() => m.reset(-1, 0), /Invalid srTCM flow -1: 0 to 1/);
  });

  it("colorBlindBulk and colorAwareBulk allocate nothing (a million packets)", async () => {
    const m = SrTcm.create({ cir: 125_000_000, cbs: 64_000, ebs: 128_000 }, { hz: 1e9, now: 0, flows: 1024 });
    const flows = new Uint32Array(32);
    const lens = new Uint32Array(32);
    for (let i = 0; i < 32; i++) {
      flows[i] = (i * 37) & 1023;
      lens[i] = 64 + i * 40;
    }
    const colors = new Uint8Array(32);
    let now = 0;
    const counts = [0, 0, 0];
    const gcs = await gcsDuring(() => {
      for (let b = 0; b < 1_000_000 / 32; b++) {
        now += 300;
        if ((b & 1) === 0) m.colorBlindBulk(flows, lens, 32, now, colors);
        else m.colorAwareBulk(flows, lens, 32, now, colors);
        counts[colors[31]!]!++;
      }
    });
    assert.equal(gcs, 0);
    assert.equal(counts[0]! + counts[1]! + counts[2]!, 31_250);
  });
});
