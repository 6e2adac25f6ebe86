/**
 * Single Rate Three Color Marker, RFC 2697 (DPDK's rte_meter_srtcm, CNDP's cne_meter_srtcm).
 *
 * Two buckets share one rate, CIR: C (committed, size CBS) and E (excess, size EBS), both full at the
 * start. Tokens arrive at CIR bytes per second into C; when C is full they go to E; when both are full
 * they are lost. A packet of B bytes is
 * - color-blind: green if C holds B tokens (C -= B), else yellow if E does (E -= B), else red;
 * - color-aware: green only if it came green and C holds B; yellow if it came green or yellow and E holds
 *   B; red otherwise (a red packet stays red and takes no tokens).
 * The refill follows rte_meter: whole periods of the caller's clock (see token-bucket.ts).
 *
 * Time is a number the caller passes in: ticks of its own clock, `hz` of them per second (nanoseconds with
 * hz 1e9, CPU cycles, ...), never decreasing for one flow (an earlier time adds no tokens). One table
 * holds the state of `flows` meters with the same profile in a Float64Array over a SharedArrayBuffer
 * ([time, tc, te] per flow); one thread updates a given flow. Nothing allocates per packet.
 *
 * @example
 * const m = SrTcm.create({ cir: 1000, cbs: 3000, ebs: 5000 }, { hz: 1e9, now: 0 });
 * m.colorBlind(0, 0, 1500); // COLOR_GREEN, C: 1500 left
 * m.colorBlind(0, 0, 2000); // COLOR_YELLOW, E: 3000 left
 */
import { COLOR_GREEN, COLOR_RED, COLOR_YELLOW, type Color } from "./color.js";
import { checkMeterParam, meterTable, tokenBucketParams } from "./token-bucket.js";

/** srTCM parameters (RFC 2697): rate in bytes per second, bursts in bytes; CBS or EBS above 0. */
export interface SrTcmParams {
  /** Committed Information Rate, bytes per second (of IP packets, as RFC 2697 counts). */
  readonly cir: number;
  /** Committed Burst Size, bytes. */
  readonly cbs: number;
  /** Excess Burst Size, bytes. */
  readonly ebs: number;
}

/** The meter table's clock and size. */
export interface MeterOptions {
  /** Clock ticks per second of the times passed in. */
  readonly hz: number;
  /** The current time: every flow starts full at it. */
  readonly now: number;
  /** Meters in the table (flows 0 .. flows - 1). Default 1. */
  readonly flows?: number;
}

/** What another thread needs to open the same srTCM table ({@link SrTcm.shared}). */
export interface SrTcmShared {
  readonly params: SrTcmParams;
  readonly hz: number;
  readonly state: SharedArrayBuffer;
}

const STRIDE = 3; // time, tc, te

/**
 * A table of srTCM meters with one profile. See the module comment.
 *
 * @example
 * const m = SrTcm.create({ cir: 125_000, cbs: 10_000, ebs: 20_000 }, { hz: 1e9, now: 0, flows: 64 });
 * const color = m.colorAware(5, 1_000_000, 1500, COLOR_YELLOW);
 */
export class SrTcm {
  readonly params: SrTcmParams;
  readonly hz: number;
  /** Meters in the table. */
  readonly flows: number;
  /** Refill: `bytesPerPeriod` tokens every `period` ticks (rte_meter's cir_period, cir_bytes_per_period). */
  readonly period: number;
  readonly bytesPerPeriod: number;
  private readonly cbs: number;
  private readonly ebs: number;
  private readonly s: Float64Array;

  private constructor(params: SrTcmParams, hz: number, state: Float64Array) {
    this.params = params;
    this.hz = hz;
    this.s = state;
    this.flows = state.length / STRIDE;
    this.cbs = params.cbs;
    this.ebs = params.ebs;
    const tb = tokenBucketParams(hz, params.cir);
    this.period = tb.period;
    this.bytesPerPeriod = tb.bytesPerPeriod;
  }

  /**
   * A table of `opts.flows` meters, each with full buckets at `opts.now`. Throws a RangeError naming
   * the bad parameter (as rte_meter_srtcm_profile_config refuses: CIR 0, CBS and EBS both 0).
   *
   * @example
   * const m = SrTcm.create({ cir: 1_250_000, cbs: 2048, ebs: 4096 }, { hz: 1e9, now: Math.round(performance.now() * 1e6) });
   */
  static create(params: SrTcmParams, opts: MeterOptions): SrTcm {
    const p = checkSrTcm(params);
    const t = meterTable("srTCM", opts, STRIDE);
    const m = new SrTcm(p, t.hz, t.state);
    for (let f = 0; f < t.flows; f++) m.reset(f, t.now);
    return m;
  }

  /**
   * The same table in another thread (the state is shared, not copied).
   *
   * @example
   * const a = SrTcm.create({ cir: 1000, cbs: 1000, ebs: 0 }, { hz: 1e9, now: 0 });
   * const b = SrTcm.fromShared(a.shared()); // normally in a worker
   */
  static fromShared(s: SrTcmShared): SrTcm {
    return new SrTcm(checkSrTcm(s.params), s.hz, new Float64Array(s.state));
  }

  /**
   * What to post to another thread.
   *
   * @example
   * const m = SrTcm.create({ cir: 1000, cbs: 1000, ebs: 0 }, { hz: 1e9, now: 0 });
   * const s = m.shared();
   */
  shared(): SrTcmShared {
    return { params: this.params, hz: this.hz, state: this.s.buffer as SharedArrayBuffer };
  }

  /**
   * Refills `flow`'s buckets to CBS and EBS and restarts its clock at `now` (rte_meter_srtcm_config).
   *
   * @example
   * const m = SrTcm.create({ cir: 1000, cbs: 1000, ebs: 0 }, { hz: 1e9, now: 0 });
   * m.reset(0, 5e9);
   */
  reset(flow: number, now: number): void {
    this.checkFlow(flow);
    const o = flow * STRIDE;
    this.s[o] = now;
    this.s[o + 1] = this.cbs;
    this.s[o + 2] = this.ebs;
  }

  /**
   * Tokens in `flow`'s C bucket (as of its last update).
   *
   * @example
   * const m = SrTcm.create({ cir: 1000, cbs: 1000, ebs: 0 }, { hz: 1e9, now: 0 });
   * console.log(m.tc(0)); // 1000
   */
  tc(flow: number): number {
    this.checkFlow(flow);
    return this.s[flow * STRIDE + 1]!;
  }

  /**
   * Tokens in `flow`'s E bucket (as of its last update).
   *
   * @example
   * const m = SrTcm.create({ cir: 1000, cbs: 1000, ebs: 500 }, { hz: 1e9, now: 0 });
   * console.log(m.te(0)); // 500
   */
  te(flow: number): number {
    this.checkFlow(flow);
    return this.s[flow * STRIDE + 2]!;
  }

  /**
   * Colors a packet of `len` bytes of `flow` at time `now`, ignoring any color it had (RFC 2697 color-blind
   * mode). Unchecked flow index (the hot path): 0 to flows - 1.
   *
   * @example
   * const m = SrTcm.create({ cir: 1000, cbs: 1500, ebs: 1500 }, { hz: 1e9, now: 0 });
   * m.colorBlind(0, 0, 1500); // green
   * m.colorBlind(0, 0, 1500); // yellow
   * m.colorBlind(0, 0, 1500); // red
   */
  colorBlind(flow: number, now: number, len: number): Color {
    const o = flow * STRIDE;
    this.refill(o, now);
    const s = this.s;
    if (s[o + 1]! >= len) {
      s[o + 1] = s[o + 1]! - len;
      return COLOR_GREEN;
    }
    if (s[o + 2]! >= len) {
      s[o + 2] = s[o + 2]! - len;
      return COLOR_YELLOW;
    }
    return COLOR_RED;
  }

  /**
   * Colors a packet that arrives with color `color` (RFC 2697 color-aware mode): it can only keep or
   * worsen its color. Unchecked flow index.
   *
   * @example
   * const m = SrTcm.create({ cir: 1000, cbs: 1500, ebs: 1500 }, { hz: 1e9, now: 0 });
   * m.colorAware(0, 0, 100, COLOR_YELLOW); // yellow: takes from E, not C
   */
  colorAware(flow: number, now: number, len: number, color: number): Color {
    const o = flow * STRIDE;
    this.refill(o, now);
    const s = this.s;
    if (color === COLOR_GREEN && s[o + 1]! >= len) {
      s[o + 1] = s[o + 1]! - len;
      return COLOR_GREEN;
    }
    if (color !== COLOR_RED && s[o + 2]! >= len) {
      s[o + 2] = s[o + 2]! - len;
      return COLOR_YELLOW;
    }
    return COLOR_RED;
  }

  /**
   * A burst: packet i of flow `flows[i]` and `lens[i]` bytes gets `colors[i]`, all at time `now`.
   *
   * @example
   * const m = SrTcm.create({ cir: 1000, cbs: 3000, ebs: 0 }, { hz: 1e9, now: 0, flows: 2 });
   * const colors = new Uint8Array(2);
   * m.colorBlindBulk(Uint32Array.of(0, 1), Uint32Array.of(64, 64), 2, 1000, colors);
   */
  colorBlindBulk(flows: Uint32Array, lens: Uint32Array, n: number, now: number, colors: Uint8Array): void {
    for (let i = 0; i < n; i++) colors[i] = this.colorBlind(flows[i]!, now, lens[i]!);
  }

  /**
   * A burst in color-aware mode: `colors[i]` is the packet's color in, and its color out.
   *
   * @example
   * const m = SrTcm.create({ cir: 1000, cbs: 3000, ebs: 3000 }, { hz: 1e9, now: 0 });
   * const colors = Uint8Array.of(COLOR_GREEN, COLOR_YELLOW);
   * m.colorAwareBulk(Uint32Array.of(0, 0), Uint32Array.of(64, 64), 2, 0, colors);
   */
  colorAwareBulk(flows: Uint32Array, lens: Uint32Array, n: number, now: number, colors: Uint8Array): void {
    for (let i = 0; i < n; i++) colors[i] = this.colorAware(flows[i]!, now, lens[i]!, colors[i]!);
  }

  /** Adds the tokens of the whole periods since the flow's time; C first, its overflow into E. */
  private refill(o: number, now: number): void {
    const s = this.s;
    const diff = now - s[o]!;
    if (!(diff >= this.period)) return; // also an earlier time: nothing
    const periods = Math.floor(diff / this.period);
    s[o] = s[o]! + periods * this.period;
    let tc = s[o + 1]! + periods * this.bytesPerPeriod;
    if (tc > this.cbs) {
      let te = s[o + 2]! + (tc - this.cbs);
      if (te > this.ebs) te = this.ebs;
      s[o + 2] = te;
      tc = this.cbs;
    }
    s[o + 1] = tc;
  }

  private checkFlow(flow: number): void {
    if (!Number.isInteger(flow) || flow < 0 || flow >= this.flows) throw new RangeError(`Invalid srTCM flow ${flow}: 0 to ${this.flows - 1}`);
  }
}

function checkSrTcm(p: SrTcmParams): SrTcmParams {
  if (p === null || typeof p !== "object") throw new RangeError("Invalid srTCM parameters: expected { cir, cbs, ebs }");
  const cir = checkMeterParam("srTCM", "cir", p.cir, 1);
  const cbs = checkMeterParam("srTCM", "cbs", p.cbs);
  const ebs = checkMeterParam("srTCM", "ebs", p.ebs);
  if (cbs === 0 && ebs === 0) throw new RangeError("Invalid srTCM parameters: cbs and ebs are both 0 (one must be above 0)");
  return { cir, cbs, ebs };
}
