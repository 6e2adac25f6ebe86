/**
 * AF_XDP constants and structure layouts from linux/if_xdp.h (kernel documentation:
 * Documentation/networking/af_xdp.rst). Layouts are little-endian as on x86_64 and arm64.
 */
export const SOL_XDP = 283;

// setsockopt/getsockopt names
export const XDP_MMAP_OFFSETS = 1;
export const XDP_RX_RING = 2;
export const XDP_TX_RING = 3;
export const XDP_UMEM_REG = 4;
export const XDP_UMEM_FILL_RING = 5;
export const XDP_UMEM_COMPLETION_RING = 6;
export const XDP_STATISTICS = 7;
export const XDP_OPTIONS = 8;
/** Frames one sendto() may send in copy mode (32 by default; up to the TX ring size). Linux 6.17+. */
export const XDP_MAX_TX_SKB_BUDGET = 9;

// sockaddr_xdp.sxdp_flags
/**
 * Bind to the UMEM of another socket (sxdp_shared_umem_fd). The kernel (net/xdp/xsk.c, xsk_bind) refuses
 * it with EINVAL together with any other flag (XDP_COPY, XDP_ZEROCOPY, XDP_USE_NEED_WAKEUP, XDP_USE_SG):
 * the copy mode and need_wakeup come from the first socket's buffer pool. On the SAME netdev queue the
 * new socket uses the first socket's buffer pool and must have no fill or completion ring of its own
 * (EINVAL otherwise); on another queue or netdev it gets a pool of its own and must have both (EINVAL
 * otherwise). Checked on Linux 6.18.
 */
export const XDP_SHARED_UMEM = 1 << 0;
export const XDP_COPY = 1 << 1;
export const XDP_ZEROCOPY = 1 << 2;
export const XDP_USE_NEED_WAKEUP = 1 << 3;
export const XDP_USE_SG = 1 << 4;

// ring flags word
export const XDP_RING_NEED_WAKEUP = 1 << 0;

// xdp_desc.options (RX and TX descriptors)
/**
 * Multi-buffer (XDP_USE_SG): the packet continues in the next descriptor. Set on every descriptor of a
 * packet but the last, on RX by the kernel and on TX by the application; any other option bit makes a TX
 * descriptor invalid (Documentation/networking/af_xdp.rst, "Multi-Buffer Support").
 */
export const XDP_PKT_CONTD = 1 << 0;
/** TX metadata in front of the frame (XDP_UMEM_TX_METADATA_LEN): not used here. */
export const XDP_TX_METADATA = 1 << 1;
/**
 * Descriptors one multi-buffer TX packet may have in copy mode: MAX_SKB_FRAGS (17 by default) + 1 for
 * the skb's linear part. The kernel drops a longer packet (-EOVERFLOW in xsk_build_skb); zero-copy
 * drivers announce their own limit (netlink NETDEV_A_DEV_XDP_ZC_MAX_SEGS).
 */
export const XSK_TX_MAX_SEGS = 18;

// XDP_OPTIONS
export const XDP_OPTIONS_ZEROCOPY = 1 << 0;

// mmap page offsets (fill and completion exceed 2^32: passed as a double, exact)
export const XDP_PGOFF_RX_RING = 0;
export const XDP_PGOFF_TX_RING = 0x80000000;
export const XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
export const XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;

/** sizeof(struct xdp_desc): u64 addr; u32 len; u32 options. */
export const XDP_DESC_SIZE = 16;
/** Fill and completion ring entries: u64 addr. */
export const XDP_UMEM_DESC_SIZE = 8;

/**
 * Copy-mode receive puts the packet XDP_PACKET_HEADROOM bytes into the frame (after the UMEM's own
 * headroom, 0 here): the RX descriptor's addr is the fill address's frame start + 256.
 */
export const XDP_PACKET_HEADROOM = 256;

/*
 * TX descriptors the kernel rejects in aligned chunk mode (xsk_queue.h, xp_aligned_validate_desc): len 0,
 * (addr & (chunk - 1)) + len > chunk (crossing the frame end), addr beyond the UMEM, options with unknown
 * bits. It counts them in xdp_statistics.tx_invalid_descs. Whether their frame comes back depends on the
 * path: the 6.18 copy-mode path we tried puts the address on the completion ring anyway, the zero-copy
 * batch path (xsk_tx_peek_release_desc_batch) and older kernels skip them and the frame is never
 * completed. Lengths from 1 to 13 or above the MTU pass this check; the netdev drops those frames
 * (veth: sendto() answers EBUSY) and they complete normally.
 */

/** struct xdp_ring_offset: producer, consumer, desc, flags (u64 each). */
export interface RingOffsets {
  producer: number;
  consumer: number;
  desc: number;
  flags: number;
}

/**
 * The ring layout Linux reports with XDP_MMAP_OFFSETS on 64-byte-cache-line machines (struct xdp_ring in
 * net/xdp/xsk_queue.h: producer, consumer and flags each on their own cache line, descriptors after them),
 * the same for all four rings. Real sockets always ask the kernel; fake rings built for tests
 * (src/testing/fake-xsk.ts) use this (a root test checks that it matches).
 */
export const KERNEL_RING_OFFSETS: Readonly<RingOffsets> = { producer: 0, consumer: 128, flags: 196, desc: 320 };

/** struct xdp_mmap_offsets: rx, tx, fr (fill), cr (completion); 4 x 32 bytes. */
export interface MmapOffsets {
  rx: RingOffsets;
  tx: RingOffsets;
  fr: RingOffsets;
  cr: RingOffsets;
}

export const MMAP_OFFSETS_SIZE = 128;

export function parseMmapOffsets(b: Uint8Array): MmapOffsets {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ring = (o: number): RingOffsets => ({
    producer: Number(dv.getBigUint64(o, true)),
    consumer: Number(dv.getBigUint64(o + 8, true)),
    desc: Number(dv.getBigUint64(o + 16, true)),
    flags: Number(dv.getBigUint64(o + 24, true)),
  });
  return { rx: ring(0), tx: ring(32), fr: ring(64), cr: ring(96) };
}

/** struct xdp_umem_reg { u64 addr; u64 len; u32 chunk_size; u32 headroom; u32 flags; u32 tx_metadata_len; } */
export function umemReg(addr: number, len: number, chunkSize: number, headroom: number, flags = 0): Uint8Array {
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(addr), true);
  dv.setBigUint64(8, BigInt(len), true);
  dv.setUint32(16, chunkSize, true);
  dv.setUint32(20, headroom, true);
  dv.setUint32(24, flags, true);
  return b;
}

/** struct sockaddr_xdp { u16 family; u16 flags; u32 ifindex; u32 queue_id; u32 shared_umem_fd; } */
export function sockaddrXdp(flags: number, ifindex: number, qid: number, sharedUmemFd = 0): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 44, true);
  dv.setUint16(2, flags, true);
  dv.setUint32(4, ifindex, true);
  dv.setUint32(8, qid, true);
  dv.setUint32(12, sharedUmemFd, true);
  return b;
}

/** struct xdp_statistics: six u64 counters. */
export interface XdpStatistics {
  rxDropped: number;
  rxInvalidDescs: number;
  txInvalidDescs: number;
  rxRingFull: number;
  rxFillRingEmptyDescs: number;
  txRingEmptyDescs: number;
}

export const XDP_STATISTICS_SIZE = 48;

export function parseStatistics(b: Uint8Array, len: number): XdpStatistics {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u = (o: number) => (o + 8 <= len ? Number(dv.getBigUint64(o, true)) : 0);
  return {
    rxDropped: u(0),
    rxInvalidDescs: u(8),
    txInvalidDescs: u(16),
    rxRingFull: u(24),
    rxFillRingEmptyDescs: u(32),
    txRingEmptyDescs: u(40),
  };
}
