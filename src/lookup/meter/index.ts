/**
 * Traffic meters: srTCM (RFC 2697) and trTCM (RFC 2698), color-blind and color-aware, with DPDK's
 * rte_meter / CNDP's cne_meter refill arithmetic; state in typed arrays, time from the caller's clock.
 *
 * @example
 * const m = TrTcm.create({ cir: 125_000, pir: 250_000, cbs: 3000, pbs: 6000 }, { hz: 1e9, now: 0, flows: 16 });
 * if (m.colorBlind(7, 1_000_000, 1500) === COLOR_RED) console.log("drop");
 */
export { COLOR_GREEN, COLOR_RED, COLOR_YELLOW, colorName, type Color } from "./color.js";
export { SrTcm, type MeterOptions, type SrTcmParams, type SrTcmShared } from "./srtcm.js";
export { TrTcm, type TrTcmParams, type TrTcmShared } from "./trtcm.js";
export { MIN_PERIOD, tokenBucketParams, type TokenBucketParams } from "./token-bucket.js";
