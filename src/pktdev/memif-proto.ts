/**
 * The memif protocol, version 2.0, as VPP, libmemif and DPDK's net_memif speak it: the 128-byte control
 * messages exchanged on a Unix SOCK_SEQPACKET socket, and the layout of the rings and descriptors in the
 * shared regions. Layouts follow DPDK's drivers/net/memif/memif.h (and libmemif's memif.h): packed
 * little-endian structures, the ring header aligned to 64-byte cache lines as on x86 (an arm64 build of
 * DPDK with 128-byte cache lines lays the ring header out differently and cannot talk to x86 peers either).
 *
 * Roles: the **client** (formerly "slave") connects, creates the shared memory (regions, rings, buffers,
 * one eventfd per ring) and sends it; the **server** ("master") listens, maps what it is sent, and copies
 * packets in and out of the client's buffers. Ring directions are named from the client: C2S rings
 * (client to server, "S2M" in the protocol's flags) and S2C rings ("M2S").
 *
 * Handshake (one message answered at a time):
 * ```
 * server -> HELLO      (name, versions, limits: max regions, max rings each way, max log2 ring size)
 * client -> INIT       (version, interface id, mode, secret, name)      <- ACK
 * client -> ADD_REGION (index, size; the region's fd as SCM_RIGHTS)    <- ACK   (per region)
 * client -> ADD_RING   (flags, index, region, offset, log2 size; eventfd) <- ACK (per ring, C2S first)
 * client -> CONNECT    (interface name)                               <- CONNECTED (interface name)
 * either -> DISCONNECT (code, reason) and closes
 * ```
 * Pure encoding and decoding: no system calls here.
 */

/** MEMIF_COOKIE: every ring header starts with it. */
export const MEMIF_COOKIE = 0x3e31f20;
/** Protocol version 2.0 as the messages carry it ((major << 8) | minor). */
export const MEMIF_VERSION = (2 << 8) | 0;
/** Every control message is exactly this long. */
export const MSG_SIZE = 128;
/** Length of the name fields (NUL-terminated within it). */
export const NAME_SIZE = 32;
/** Length of the secret field (NUL-terminated within it: 23 characters at most). */
export const SECRET_SIZE = 24;
/** Length of a DISCONNECT reason. */
export const REASON_SIZE = 96;
/** The largest ring the protocol's peers accept (DPDK's ETH_MEMIF_MAX_LOG2_RING_SIZE). */
export const MAX_LOG2_RING_SIZE = 14;

/** Message types (memif_msg_type_t). */
export const MSG_ACK = 1;
export const MSG_HELLO = 2;
export const MSG_INIT = 3;
export const MSG_ADD_REGION = 4;
export const MSG_ADD_RING = 5;
export const MSG_CONNECT = 6;
export const MSG_CONNECTED = 7;
export const MSG_DISCONNECT = 8;

/** ADD_RING flag: the ring carries packets from the client to the server (MEMIF_MSG_ADD_RING_FLAG_S2M). */
export const ADD_RING_FLAG_C2S = 1;
/** MEMIF_INTERFACE_MODE_ETHERNET: the only mode spoken here (as DPDK). */
export const MODE_ETHERNET = 0;

// Ring header (memif_ring_t): cookie u32 @0, flags u16 @4, head u16 @6, tail u16 @64 (second cache
// line), descriptors from @128 (third cache line).
export const RING_COOKIE = 0;
export const RING_FLAGS = 4;
export const RING_HEAD = 6;
export const RING_TAIL = 64;
export const RING_DESC = 128;
/** MEMIF_RING_FLAG_MASK_INT: the ring's receiver polls; its sender need not write the eventfd. */
export const RING_FLAG_MASK_INT = 1;

// Descriptor (memif_desc_t, 16 bytes): flags u16 @0, region u16 @2, length u32 @4, offset u32 @8,
// metadata u32 @12.
export const DESC_SIZE = 16;
export const DESC_FLAGS = 0;
export const DESC_REGION = 2;
export const DESC_LENGTH = 4;
export const DESC_OFFSET = 8;
/** MEMIF_DESC_FLAG_NEXT: the packet goes on in the next descriptor (a chained buffer). */
export const DESC_FLAG_NEXT = 1;

/** Bytes of one ring with 2^log2 descriptors. */
export function ringBytes(log2: number): number {
  return RING_DESC + DESC_SIZE * (1 << log2);
}

/** A decoded control message. */
export type MemifMsg =
  | { type: "ack" }
  | { type: "hello"; name: string; minVersion: number; maxVersion: number; maxRegion: number; maxS2cRing: number; maxC2sRing: number; maxLog2RingSize: number }
  | { type: "init"; version: number; id: number; mode: number; secret: Uint8Array; name: string }
  | { type: "add_region"; index: number; size: number }
  | { type: "add_ring"; flags: number; index: number; region: number; offset: number; log2RingSize: number; privateHdrSize: number }
  | { type: "connect"; ifName: string }
  | { type: "connected"; ifName: string }
  | { type: "disconnect"; code: number; reason: string };

/** Why a message cannot be decoded (the text for a DISCONNECT and for the log). */
export class MemifProtocolError extends Error {}

function putString(b: Uint8Array, at: number, size: number, s: string | Uint8Array): void {
  const bytes = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  b.set(bytes.subarray(0, size - 1), at); // strlcpy: always NUL-terminated
}

function getString(b: Uint8Array, at: number, size: number): string {
  let end = at;
  while (end < at + size && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + at, end - at).toString("utf8");
}

/**
 * Encodes a control message into a new 128-byte buffer (unused bytes zero; strings cut to their field
 * and NUL-terminated, as strlcpy). `secret` bytes beyond 23 are cut the same way.
 *
 * @example
 * const bytes = encodeMsg({ type: "connect", ifName: "memif0" });
 * decodeMsg(bytes); // { type: "connect", ifName: "memif0" }
 */
export function encodeMsg(m: MemifMsg): Uint8Array {
  const b = new Uint8Array(MSG_SIZE);
  const v = new DataView(b.buffer);
  switch (m.type) {
    case "ack":
      v.setUint16(0, MSG_ACK, true);
      break;
    case "hello":
      v.setUint16(0, MSG_HELLO, true);
      putString(b, 2, NAME_SIZE, m.name);
      v.setUint16(34, m.minVersion, true);
      v.setUint16(36, m.maxVersion, true);
      v.setUint16(38, m.maxRegion, true);
      v.setUint16(40, m.maxS2cRing, true); // max_m2s_ring
      v.setUint16(42, m.maxC2sRing, true); // max_s2m_ring
      v.setUint8(44, m.maxLog2RingSize);
      break;
    case "init":
      v.setUint16(0, MSG_INIT, true);
      v.setUint16(2, m.version, true);
      v.setUint32(4, m.id >>> 0, true);
      v.setUint8(8, m.mode);
      putString(b, 9, SECRET_SIZE, m.secret);
      putString(b, 33, NAME_SIZE, m.name);
      break;
    case "add_region":
      v.setUint16(0, MSG_ADD_REGION, true);
      v.setUint16(2, m.index, true);
      v.setUint32(4, m.size % 2 ** 32, true);
      v.setUint32(8, Math.floor(m.size / 2 ** 32), true);
      break;
    case "add_ring":
      v.setUint16(0, MSG_ADD_RING, true);
      v.setUint16(2, m.flags, true);
      v.setUint16(4, m.index, true);
      v.setUint16(6, m.region, true);
      v.setUint32(8, m.offset >>> 0, true);
      v.setUint8(12, m.log2RingSize);
      v.setUint16(13, m.privateHdrSize, true);
      break;
    case "connect":
    case "connected":
      v.setUint16(0, m.type === "connect" ? MSG_CONNECT : MSG_CONNECTED, true);
      putString(b, 2, NAME_SIZE, m.ifName);
      break;
    case "disconnect":
      v.setUint16(0, MSG_DISCONNECT, true);
      v.setUint32(2, m.code >>> 0, true);
      putString(b, 6, REASON_SIZE, m.reason);
      break;
  }
  return b;
}

/**
 * Decodes a received control message. Throws a {@link MemifProtocolError} for a message that is not
 * exactly 128 bytes or whose type is unknown (the peer is then sent DISCONNECT with that text).
 *
 * @example
 * const m = decodeMsg(encodeMsg({ type: "ack" })); // { type: "ack" }
 */
export function decodeMsg(b: Uint8Array): MemifMsg {
  if (b.length !== MSG_SIZE) throw new MemifProtocolError(`Invalid message size ${b.length} (a memif message is ${MSG_SIZE} bytes)`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = v.getUint16(0, true);
  switch (type) {
    case MSG_ACK:
      return { type: "ack" };
    case MSG_HELLO:
      return {
        type: "hello", name: getString(b, 2, NAME_SIZE), minVersion: v.getUint16(34, true), maxVersion: v.getUint16(36, true),
        maxRegion: v.getUint16(38, true), maxS2cRing: v.getUint16(40, true), maxC2sRing: v.getUint16(42, true), maxLog2RingSize: v.getUint8(44),
      };
    case MSG_INIT:
      return { type: "init", version: v.getUint16(2, true), id: v.getUint32(4, true), mode: v.getUint8(8), secret: b.slice(9, 9 + SECRET_SIZE), name: getString(b, 33, NAME_SIZE) };
    case MSG_ADD_REGION:
      return { type: "add_region", index: v.getUint16(2, true), size: v.getUint32(4, true) + v.getUint32(8, true) * 2 ** 32 };
    case MSG_ADD_RING:
      return {
        type: "add_ring", flags: v.getUint16(2, true), index: v.getUint16(4, true), region: v.getUint16(6, true),
        offset: v.getUint32(8, true), log2RingSize: v.getUint8(12), privateHdrSize: v.getUint16(13, true),
      };
    case MSG_CONNECT:
      return { type: "connect", ifName: getString(b, 2, NAME_SIZE) };
    case MSG_CONNECTED:
      return { type: "connected", ifName: getString(b, 2, NAME_SIZE) };
    case MSG_DISCONNECT:
      return { type: "disconnect", code: v.getUint32(2, true), reason: getString(b, 6, REASON_SIZE) };
    default:
      throw new MemifProtocolError(`Unknown message type ${type}`);
  }
}

/**
 * Whether an INIT's secret matches ours, as DPDK compares them (strncmp over the 24-byte field): an
 * empty `ours` accepts anything.
 *
 * @example
 * secretMatches("s3cret", new TextEncoder().encode("s3cret")); // true
 */
export function secretMatches(ours: string, theirs: Uint8Array): boolean {
  const want = Buffer.from(ours, "utf8");
  if (want.length === 0) return true;
  for (let i = 0; i < SECRET_SIZE; i++) {
    const a = i < want.length ? want[i]! : 0;
    const c = i < theirs.length ? theirs[i]! : 0;
    if (a !== c) return false;
    if (a === 0) return true;
  }
  return true;
}

/** A version as "major.minor". */
export function versionString(v: number): string {
  return `${v >> 8}.${v & 0xff}`;
}
