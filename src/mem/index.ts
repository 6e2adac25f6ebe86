/**
 * mem: UMEM, packet buffer metadata (mbufs as struct of arrays), mempools with per-thread caches, and
 * frame ownership tracking. A packet is a handle (u32) into these arrays.
 *
 * @example
 * import { Umem, Mempool } from "xdplane/mem";
 * const umem = Umem.create({ frames: 4096, frameSize: 2048, name: "umem0" });
 * const pool = Mempool.create({ umem, name: "umem0" });
 *
 * @module
 */
export type { UmemOptions, UmemShared } from "./umem.js";
/**
 * A UMEM: frames in a SharedArrayBuffer over mmap, viewed as `u8`/`u16`/`u32`; frame h starts at `h << shift`.
 *
 * @example
 * const umem = Umem.create({ frames: 4096, frameSize: 2048, name: "umem0" });
 * umem.close();
 */
export { Umem } from "./umem.js";
/**
 * Default frame size (2048) and headroom before packet data.
 *
 * @example
 * const umem = Umem.create({ frames: 4096, frameSize: DEFAULT_FRAME_SIZE });
 */
export { DEFAULT_FRAME_SIZE, DEFAULT_HEADROOM } from "./umem.js";
export type { MbufShared } from "./mbuf.js";
/**
 * Per-frame metadata by handle: `dataOff`, `dataLen`, `port`, `ptype`, `udata`; for chains and clones
 * `next`, `nbSegs`, `pktLen`, `refcnt`, `direct`.
 *
 * @example
 * const off = (h << umem.shift) + pool.mbufs.dataOff[h]!;
 */
export { MbufTable } from "./mbuf.js";
/**
 * Packet type values of `mbufs.ptype` (CNDP's PTYPE_*): L2, L3 and L4 each a 4-bit field (L4: 0xf00).
 *
 * @example
 * let udp = 0;
 * if ((pool.mbufs.ptype[h]! & 0xf00) === PTYPE_L4_UDP) udp++;
 */
export { PTYPE_L2_ETHER, PTYPE_L3_IPV4, PTYPE_L3_IPV6, PTYPE_L4_TCP, PTYPE_L4_UDP, PTYPE_L4_ICMP } from "./mbuf.js";
export type { MempoolOptions, MempoolShared } from "./mempool.js";
/**
 * A pool of frame handles (an MP/MC ring plus a per-thread cache); `allocBulk` / `freeBulk` never allocate.
 *
 * @example
 * const n = pool.allocBulk(bufs, 64);
 * pool.freeBulk(bufs, n);
 */
export { Mempool } from "./mempool.js";
/**
 * CNDP's pktmbuf_* operations on a handle: mtod, append, prepend, adj, trim, reset.
 *
 * @example
 * const pm = new Pktmbuf(pool.umem, pool.mbufs);
 * const off = pm.mtod(h); // byte offset of the packet in pool.umem.u8
 */
export { Pktmbuf } from "./pktmbuf.js";
/**
 * Chained packets and clones (DPDK's multi-segment rte_mbuf): nbSegs, pktLen, prepend / append / adj /
 * trim with DPDK's semantics, chain, read, linearize, clone and reference counts. Making one turns on the
 * segment mode of the pool's mbuf table (frees walk chains).
 *
 * @example
 * const pm = new MbufChain(pool);
 * const p = pm.fromBytes(frame);   // one segment per 1792 bytes
 * const c = pm.clone(p);           // a second view of the same bytes
 * pool.free(p);                    // the frames stay while the clone lives
 * pool.free(c);                    // now they are back
 */
export { MbufChain } from "./chain.js";
/**
 * Most segments of one packet (nbSegs is 16 bits; DPDK's RTE_MBUF_MAX_NB_SEGS).
 *
 * @example
 * const pm = new MbufChain(pool);
 * if (pm.nbSegs(h) === MAX_SEGS) console.log("cannot chain more");
 */
export { MAX_SEGS } from "./chain.js";
/**
 * Most references to one frame (refcnt is 16 bits).
 *
 * @example
 * if (new MbufChain(pool).refcnt(h) === MAX_REFCNT) console.log("no more clones of this frame");
 */
export { MAX_REFCNT } from "./clone.js";
/**
 * `next[h]` of the last segment of a packet.
 *
 * @example
 * let segs = 1;
 * for (let s = h; pool.mbufs.next[s] !== MBUF_NO_NEXT; s = pool.mbufs.next[s]!) segs++;
 */
export { MBUF_NO_NEXT } from "./mbuf.js";
export type { TrackerShared } from "./tracker.js";
/**
 * Frame ownership tracking (debug mode): counts double frees, bad allocs and bad kernel returns.
 *
 * @example
 * const pool = Mempool.create({ umem, debug: true });
 * // ... later: pool.tracker!.doubleFrees
 */
export { FrameTracker } from "./tracker.js";
/**
 * Owner states of a tracked frame (FRAME_SHARED: a frame with more than one reference, see chain.ts).
 *
 * @example
 * if (pool.mbufs.owner[h] === FRAME_FREE) console.log("free");
 */
export { FRAME_FREE, FRAME_APP, FRAME_KERNEL, FRAME_SHARED } from "./tracker.js";
/**
 * Counts tracked frames by owner (free, application, kernel).
 *
 * @example
 * const { app, kernel } = countStates(pool.mbufs.owner, pool.first, pool.count);
 */
export { countStates } from "./tracker.js";
export type { FrameReport } from "./tracker.js";
/**
 * Who holds a tracked pool's frames: the application's handles, frames held only by live clones (not
 * leaks while those live), other shared frames, the kernel's count.
 *
 * @example
 * const r = frameReport(pool.mbufs, pool.first, pool.count);
 * if (r.app.length > 0) console.log(`the application holds ${r.app.length} handles`);
 */
export { frameReport } from "./tracker.js";
