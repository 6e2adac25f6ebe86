/**
 * ring: lockless rings of u32 handles between threads (SP/SC and MP/MC, burst and bulk), CNDP's ring.
 *
 * @module
 */
export type { RingOptions, RingShared } from "./ring.js";
/**
 * A ring of u32 handles in a SharedArrayBuffer; `toShared()` / `Ring.fromShared()` cross threads.
 *
 * @example
 * import { Ring } from "xdplane/ring";
 * const ring = Ring.create({ size: 1024, multiProducer: true, multiConsumer: false, name: "inbox" });
 * ring.enqueueBurst(bufs, n); // how many fit
 * const out = new Uint32Array(64);
 * const got = ring.dequeueBurst(out, out.length);
 */
export { Ring } from "./ring.js";
