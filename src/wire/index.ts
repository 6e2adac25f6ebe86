/**
 * wire: building and checking frames (RFC 791 IPv4, RFC 768 UDP): test and generator frames, header
 * checksums, frame templates copied into UMEM frames without allocation.
 *
 * @module
 */
export type { UdpFrameOptions } from "./udp-frame.js";
/**
 * An Ethernet/IPv4/UDP frame with addresses, ports and a sequence number (allocates: control path).
 *
 * @example
 * import { udpFrame } from "xdplane/wire";
 * const f = udpFrame({ dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", size: 64, seq: 1 });
 */
export { udpFrame } from "./udp-frame.js";
/**
 * The IPv4 header checksum (RFC 791) of `len` bytes at `off`.
 *
 * @example
 * const sum = ipv4Checksum(frame, 14); // 0 when the header's checksum is right
 */
export { ipv4Checksum } from "./udp-frame.js";
/**
 * Copies a template frame into a UMEM frame at byte offset `o` (32-bit words, then the tail).
 *
 * @example
 * const t8 = udpFrame({ size: 64 });
 * const t32 = new Uint32Array(t8.buffer);
 * copyTemplate(umem.u8, umem.u32, off, t32, t8, 64);
 */
export { copyTemplate } from "./frame-template.js";
