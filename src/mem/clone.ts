/**
 * Clones and reference counts (DPDK's rte_pktmbuf_clone / rte_pktmbuf_attach / rte_pktmbuf_refcnt_update,
 * lib/mbuf/rte_mbuf.h), over the mbuf table's `refcnt` and `direct` words.
 *
 * The model: a clone is a new handle (from the pool) per segment of the original, each **indirect**: its
 * `direct` word names the frame holding its bytes, its `dataOff`/`dataLen` are offsets in that frame (a
 * view of its own, which adj/trim/prepend may move without touching the original's), and it holds one
 * reference to that frame. The original frame's `refcnt` counts its holders (its own handle, each clone,
 * references added with {@link refcntUpdate}); freeing any of them drops one, and the last returns the
 * frame to the pool. So a frame stays alive while any clone of it lives, whichever is freed first. The
 * bytes are shared: writing through one handle changes what every clone sees (DPDK: "the buffer area of
 * a direct mbuf must be read-only" while it has clones). A clone of a clone attaches to the direct frame.
 *
 * A clone's own frame is unused while it is attached (as an indirect rte_mbuf's buffer). Sending a clone
 * on an AF_XDP socket posts the direct frame's address; the socket frees the clone's handle at once and
 * the kernel keeps the clone's reference until the completion (xsk/socket.ts).
 *
 * Reference counts above 1 change with Atomics (clones may be sent or freed by other threads); a frame
 * held once is freed without an atomic operation, as DPDK does. Nothing here allocates.
 */
import type { Mempool } from "./mempool.js";
import { FRAME_APP, FRAME_SHARED } from "./tracker.js";

/** Most references one frame can have (refcnt is 16 bits). */
export const MAX_REFCNT = 0xffff;

/** Marks frame `d` SHARED for the tracker (a second reference appears). */
function markShared(pool: Mempool, d: number): void {
  const owner = pool.mbufs.owner;
  if (pool.tracker !== null && owner[d] === FRAME_APP) owner[d] = FRAME_SHARED;
}

/**
 * Clones packet `h` (every segment; DPDK's rte_pktmbuf_clone): returns the clone's first handle, or -1
 * when the pool has too few free handles or a frame has {@link MAX_REFCNT} references (nothing changed
 * then). The clone has the original's segment layout, packet length, port, ptype and udata.
 */
export function clonePacket(pool: Mempool, h: number): number {
  const m = pool.mbufs;
  const { next, direct, refcnt, dataOff, dataLen } = m;
  let head = -1;
  let prev = -1;
  let segs = 0;
  let ok = true;
  for (let s = h, k = m.count; s !== -1 && k > 0; s = next[s]!, k--) {
    const d = direct[s] === -1 ? s : direct[s]!;
    if (refcnt[d]! >= MAX_REFCNT) { ok = false; break; }
    const c = pool.alloc();
    if (c < 0) { ok = false; break; }
    Atomics.add(refcnt, d, 1);
    markShared(pool, d);
    direct[c] = d;
    dataOff[c] = dataOff[s]!;
    dataLen[c] = dataLen[s]!;
    if (prev === -1) head = c;
    else next[prev] = c;
    prev = c;
    segs++;
  }
  if (!ok) {
    // Frees what was made: each clone segment gives back its reference.
    if (head !== -1) pool.free(head);
    return -1;
  }
  m.nbSegs[head] = segs;
  m.pktLen[head] = m.nbSegs[h]! > 1 ? m.pktLen[h]! : dataLen[h]!;
  m.port[head] = m.port[h]!;
  m.ptype[head] = m.ptype[h]!;
  m.udata[head] = m.udata[h]!;
  return head;
}

/**
 * Adds `v` (1 or more) references to every segment of packet `h` (DPDK's rte_pktmbuf_refcnt_update with a
 * positive value): each holder frees it once, and the frames return to the pool with the last free.
 * Returns 0, or -1 (nothing changed) when `v` is not a positive integer or a count would pass
 * {@link MAX_REFCNT}. References are dropped by freeing, never by a negative update.
 */
export function refcntUpdate(pool: Mempool, h: number, v: number): number {
  const { next, refcnt } = pool.mbufs;
  if (!Number.isInteger(v) || v < 1) return -1;
  for (let s = h, k = pool.mbufs.count; s !== -1 && k > 0; s = next[s]!, k--) {
    if (refcnt[s]! + v > MAX_REFCNT) return -1;
  }
  for (let s = h, k = pool.mbufs.count; s !== -1 && k > 0; s = next[s]!, k--) {
    Atomics.add(refcnt, s, v);
    markShared(pool, s);
  }
  return 0;
}
