/** ring: lockless rings of u32 handles between threads (SP/SC and MP/MC, burst and bulk). */
export { Ring, type RingOptions, type RingShared } from "./ring.js";
