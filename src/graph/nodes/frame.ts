/**
 * Where a frame's data starts in the UMEM: the views nodes read packets through, taken once per graph.
 */
import type { Mempool } from "../../mem/mempool.js";

/**
 * The UMEM byte view and per-handle metadata arrays a node needs; byte offset of handle `h`'s data:
 * `((h << shift) >>> 0) + dataOff[h]`.
 *
 * @example
 * const f = frameViews(mempool);
 * const at = ((h << f.shift) >>> 0) + f.dataOff[h]!; // frame h's first byte in f.u8
 */
export interface FrameViews {
  readonly u8: Uint8Array;
  readonly shift: number;
  readonly dataOff: Uint16Array;
  readonly dataLen: Uint16Array;
  readonly ptype: Uint32Array;
  /** 32 bits per frame for the application: the graph keeps the next-hop index here (CNDP's udata64). */
  readonly udata: Uint32Array;
}

/**
 * The views of a mempool's UMEM and metadata.
 *
 * @example
 * const f = frameViews(mempool);
 */
export function frameViews(mp: Mempool): FrameViews {
  return { u8: mp.umem.u8, shift: mp.umem.shift, dataOff: mp.mbufs.dataOff, dataLen: mp.mbufs.dataLen, ptype: mp.mbufs.ptype, udata: mp.mbufs.udata };
}
