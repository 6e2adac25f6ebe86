/**
 * Two Rate Three Color Marker, RFC 2698 (DPDK's rte_meter_trtcm, CNDP's cne_meter_trtcm).
 *
 * Two buckets with their own rates, both full at the start: P (peak, size PBS, refilled at PIR bytes per
 * second) and C (committed, size CBS, refilled at CIR <= PIR). A packet of B bytes is
 * - color-blind: red if P holds fewer than B tokens; else yellow if C does (P -= B); else green
 *   (P -= B, C -= B);
 * - color-aware: red if it came red or P holds fewer than B; else yellow if it came yellow or C holds
 *   fewer than B (P -= B); else green (both -= B).
 * Each bucket refills in whole periods of the caller's clock, as rte_meter does (see token-bucket.ts).
 *
 * Time is a number the caller passes in (ticks of its clock, `hz` per second), never decreasing for one
 * flow. One table holds `flows` meters of one profile in a Float64Array over a SharedArrayBuffer
 * ([timeC, timeP, tc, tp] per flow); one thread updates a given flow. Nothing allocates per packet.
 *
 * @example
 * const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 3000 }, { hz: 1e9, now: 0 });
 * m.colorBlind(0, 0, 800); // COLOR_GREEN: P 2200, C 200
 * m.colorBlind(0, 0, 800); // COLOR_YELLOW: P 1400
 */
import { COLOR_GREEN, COLOR_RED, COLOR_YELLOW, type Color } from "./color.js";
import type { MeterOptions } from "./srtcm.js";
import { checkMeterParam, meterTable, tokenBucketParams } from "./token-bucket.js";

/** trTCM parameters (RFC 2698): rates in bytes per second (PIR >= CIR > 0), bursts in bytes (> 0). */
export interface TrTcmParams {
  /** Committed Information Rate, bytes per second. */
  readonly cir: number;
  /** Peak Information Rate, bytes per second. */
  readonly pir: number;
  /** Committed Burst Size, bytes. */
  readonly cbs: number;
  /** Peak Burst Size, bytes. */
  readonly pbs: number;
}

/** What another thread needs to open the same trTCM table ({@link TrTcm.shared}). */
export interface TrTcmShared {
  readonly params: TrTcmParams;
  readonly hz: number;
  readonly state: SharedArrayBuffer;
}

const STRIDE = 4; // timeC, timeP, tc, tp

/**
 * A table of trTCM meters with one profile. See the module comment.
 *
 * @example
 * const m = TrTcm.create({ cir: 125_000, pir: 250_000, cbs: 10_000, pbs: 20_000 }, { hz: 1e9, now: 0, flows: 8 });
 * const color = m.colorBlind(3, 2_000_000, 1500);
 */
export class TrTcm {
  readonly params: TrTcmParams;
  readonly hz: number;
  readonly flows: number;
  /** C's refill: `cBytesPerPeriod` tokens every `cPeriod` ticks (rte_meter's cir_period, ...). */
  readonly cPeriod: number;
  readonly cBytesPerPeriod: number;
  /** P's refill: `pBytesPerPeriod` tokens every `pPeriod` ticks. */
  readonly pPeriod: number;
  readonly pBytesPerPeriod: number;
  private readonly cbs: number;
  private readonly pbs: number;
  private readonly s: Float64Array;

  private constructor(params: TrTcmParams, hz: number, state: Float64Array) {
    this.params = params;
    this.hz = hz;
    this.s = state;
    this.flows = state.length / STRIDE;
    this.cbs = params.cbs;
    this.pbs = params.pbs;
    const c = tokenBucketParams(hz, params.cir);
    const p = tokenBucketParams(hz, params.pir);
    this.cPeriod = c.period;
    this.cBytesPerPeriod = c.bytesPerPeriod;
    this.pPeriod = p.period;
    this.pBytesPerPeriod = p.bytesPerPeriod;
  }

  /**
   * A table of `opts.flows` meters, each with full buckets at `opts.now`. Throws a RangeError naming
   * the bad parameter (as rte_meter_trtcm_profile_config refuses: a rate or burst 0, PIR < CIR).
   *
   * @example
   * const m = TrTcm.create({ cir: 1_250_000, pir: 2_500_000, cbs: 4096, pbs: 8192 }, { hz: 1e9, now: 0 });
   */
  static create(params: TrTcmParams, opts: MeterOptions): TrTcm {
    const p = checkTrTcm(params);
    const t = meterTable("trTCM", opts, STRIDE);
    const m = new TrTcm(p, t.hz, t.state);
    for (let f = 0; f < t.flows; f++) m.reset(f, t.now);
    return m;
  }

  /**
   * The same table in another thread (the state is shared, not copied).
   *
   * @example
   * const a = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 2000 }, { hz: 1e9, now: 0 });
   * const b = TrTcm.fromShared(a.shared()); // normally in a worker
   */
  static fromShared(s: TrTcmShared): TrTcm {
    return new TrTcm(checkTrTcm(s.params), s.hz, new Float64Array(s.state));
  }

  /**
   * What to post to another thread.
   *
   * @example
   * const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 2000 }, { hz: 1e9, now: 0 });
   * const s = m.shared();
   */
  shared(): TrTcmShared {
    return { params: this.params, hz: this.hz, state: this.s.buffer as SharedArrayBuffer };
  }

  /**
   * Refills `flow`'s buckets to CBS and PBS and restarts its clocks at `now` (rte_meter_trtcm_config).
   *
   * @example
   * const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 2000 }, { hz: 1e9, now: 0 });
   * m.reset(0, 1e9);
   */
  reset(flow: number, now: number): void {
    this.checkFlow(flow);
    const o = flow * STRIDE;
    this.s[o] = now;
    this.s[o + 1] = now;
    this.s[o + 2] = this.cbs;
    this.s[o + 3] = this.pbs;
  }

  /**
   * Tokens in `flow`'s C bucket (as of its last update).
   *
   * @example
   * const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 2000 }, { hz: 1e9, now: 0 });
   * console.log(m.tc(0)); // 1000
   */
  tc(flow: number): number {
    this.checkFlow(flow);
    return this.s[flow * STRIDE + 2]!;
  }

  /**
   * Tokens in `flow`'s P bucket (as of its last update).
   *
   * @example
   * const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 2000 }, { hz: 1e9, now: 0 });
   * console.log(m.tp(0)); // 2000
   */
  tp(flow: number): number {
    this.checkFlow(flow);
    return this.s[flow * STRIDE + 3]!;
  }

  /**
   * Colors a packet of `len` bytes of `flow` at `now`, ignoring any color it had (RFC 2698 color-blind
   * mode). Unchecked flow index (the hot path): 0 to flows - 1.
   *
   * @example
   * const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 1500 }, { hz: 1e9, now: 0 });
   * m.colorBlind(0, 0, 1000); // green
   * m.colorBlind(0, 0, 400); // yellow
   * m.colorBlind(0, 0, 400); // red
   */
  colorBlind(flow: number, now: number, len: number): Color {
    const o = flow * STRIDE;
    this.refill(o, now);
    const s = this.s;
    if (s[o + 3]! < len) return COLOR_RED;
    if (s[o + 2]! < len) {
      s[o + 3] = s[o + 3]! - len;
      return COLOR_YELLOW;
    }
    s[o + 2] = s[o + 2]! - len;
    s[o + 3] = s[o + 3]! - len;
    return COLOR_GREEN;
  }

  /**
   * Colors a packet that arrives with color `color` (RFC 2698 color-aware mode). Unchecked flow index.
   *
   * @example
   * const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 2000 }, { hz: 1e9, now: 0 });
   * m.colorAware(0, 0, 100, COLOR_YELLOW); // yellow: takes from P only
   */
  colorAware(flow: number, now: number, len: number, color: number): Color {
    const o = flow * STRIDE;
    this.refill(o, now);
    const s = this.s;
    if (color === COLOR_RED || s[o + 3]! < len) return COLOR_RED;
    if (color === COLOR_YELLOW || s[o + 2]! < len) {
      s[o + 3] = s[o + 3]! - len;
      return COLOR_YELLOW;
    }
    s[o + 2] = s[o + 2]! - len;
    s[o + 3] = s[o + 3]! - len;
    return COLOR_GREEN;
  }

  /**
   * A burst: packet i of flow `flows[i]` and `lens[i]` bytes gets `colors[i]`, all at time `now`.
   *
   * @example
   * const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 2000 }, { hz: 1e9, now: 0, flows: 2 });
   * const colors = new Uint8Array(2);
   * m.colorBlindBulk(Uint32Array.of(0, 1), Uint32Array.of(64, 64), 2, 0, colors);
   */
  colorBlindBulk(flows: Uint32Array, lens: Uint32Array, n: number, now: number, colors: Uint8Array): void {
    for (let i = 0; i < n; i++) colors[i] = this.colorBlind(flows[i]!, now, lens[i]!);
  }

  /**
   * A burst in color-aware mode: `colors[i]` is the packet's color in, and its color out.
   *
   * @example
   * const m = TrTcm.create({ cir: 1000, pir: 2000, cbs: 1000, pbs: 2000 }, { hz: 1e9, now: 0 });
   * const colors = Uint8Array.of(COLOR_GREEN, COLOR_RED);
   * m.colorAwareBulk(Uint32Array.of(0, 0), Uint32Array.of(64, 64), 2, 0, colors);
   */
  colorAwareBulk(flows: Uint32Array, lens: Uint32Array, n: number, now: number, colors: Uint8Array): void {
    for (let i = 0; i < n; i++) colors[i] = this.colorAware(flows[i]!, now, lens[i]!, colors[i]!);
  }

  /** Adds each bucket's tokens of the whole periods since its own time, up to its size. */
  private refill(o: number, now: number): void {
    const s = this.s;
    const dc = now - s[o]!;
    if (dc >= this.cPeriod) {
      const periods = Math.floor(dc / this.cPeriod);
      s[o] = s[o]! + periods * this.cPeriod;
      const tc = s[o + 2]! + periods * this.cBytesPerPeriod;
      s[o + 2] = tc > this.cbs ? this.cbs : tc;
    }
    const dp = now - s[o + 1]!;
    if (dp >= this.pPeriod) {
      const periods = Math.floor(dp / this.pPeriod);
      s[o + 1] = s[o + 1]! + periods * this.pPeriod;
      const tp = s[o + 3]! + periods * this.pBytesPerPeriod;
      s[o + 3] = tp > this.pbs ? this.pbs : tp;
    }
  }

  private checkFlow(flow: number): void {
    if (!Number.isInteger(flow) || flow < 0 || flow >= this.flows) throw new RangeError(`Invalid trTCM flow ${flow}: 0 to ${this.flows - 1}`);
  }
}

function checkTrTcm(p: TrTcmParams): TrTcmParams {
  if (p === null || typeof p !== "object") throw new RangeError("Invalid trTCM parameters: expected { cir, pir, cbs, pbs }");
  const cir = checkMeterParam("trTCM", "cir", p.cir, 1);
  const pir = checkMeterParam("trTCM", "pir", p.pir, 1);
  const cbs = checkMeterParam("trTCM", "cbs", p.cbs, 1);
  const pbs = checkMeterParam("trTCM", "pbs", p.pbs, 1);
  if (pir < cir) throw new RangeError(`Invalid trTCM parameters: pir ${pir} is below cir ${cir}`);
  return { cir, pir, cbs, pbs };
}
