/** mem: UMEM, packet buffer metadata, mempools with per-thread caches, and frame ownership tracking. */
export { Umem, DEFAULT_FRAME_SIZE, DEFAULT_HEADROOM, type UmemOptions, type UmemShared } from "./umem.js";
export { MbufTable, type MbufShared } from "./mbuf.js";
export * from "./mbuf.js";
export { Mempool, type MempoolOptions, type MempoolShared } from "./mempool.js";
export { Pktmbuf } from "./pktmbuf.js";
export { FrameTracker, FRAME_FREE, FRAME_APP, FRAME_KERNEL, countStates, type TrackerShared } from "./tracker.js";
