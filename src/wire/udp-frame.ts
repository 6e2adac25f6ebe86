import { setBe16, setBe32 } from "./bytes.js";
import { cksum } from "./cksum.js";
import { ETH_DST, ETH_HLEN, ETH_SRC, ETH_TYPE, ETHERTYPE_IPV4 } from "./ether.js";
import { IP4_CSUM, IP4_DST, IP4_HLEN, IP4_ID, IP4_PROTO, IP4_SRC, IP4_TOTLEN, IP4_TTL, IP4_VER_IHL, IPPROTO_UDP } from "./ipv4.js";
import { UDP_DPORT, UDP_HLEN, UDP_LEN, UDP_SPORT } from "./udp.js";

/**
 * Builds an Ethernet/IPv4/UDP frame (RFC 791, RFC 768) for generators and tests: addresses, ports, TTL,
 * an optional 32-bit sequence number at payload offset 0, the IPv4 header checksum, no UDP checksum.
 */
export interface UdpFrameOptions {
  /** Frame size in bytes without the FCS (60 to 9000; default 64). */
  size?: number;
  dst?: string;
  src?: string;
  srcIp?: string;
  dstIp?: string;
  sport?: number;
  dport?: number;
  ttl?: number;
  /** Written big-endian at the start of the UDP payload and as the IPv4 id (low 16 bits). */
  seq?: number;
}

function putMac(f: Uint8Array, off: number, mac: string): void {
  const parts = mac.split(":");
  if (parts.length !== 6) throw new SyntaxError(`Cannot parse MAC address '${mac}': expected six hex octets`);
  parts.forEach((h, i) => (f[off + i] = Number.parseInt(h, 16)));
}

function putIp(f: Uint8Array, off: number, ip: string): void {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new SyntaxError(`Cannot parse IPv4 address '${ip}'`);
  }
  parts.forEach((o, i) => (f[off + i] = o));
}

/** The IPv4 header checksum over `len` bytes at `off` (RFC 1071): 0 over a header whose checksum is right. */
export function ipv4Checksum(f: Uint8Array, off: number, len = 20): number {
  return cksum(f, off, len);
}

/** A new frame of `size` bytes (buffer rounded up to 4 bytes so it can be copied as 32-bit words). */
export function udpFrame(o: UdpFrameOptions = {}): Uint8Array {
  const size = o.size ?? 64;
  if (!Number.isInteger(size) || size < 60 || size > 9000) throw new RangeError(`Invalid frame size ${size}: 60 to 9000`);
  const f = new Uint8Array(new ArrayBuffer(Math.ceil(size / 4) * 4), 0, size);
  putMac(f, ETH_DST, o.dst ?? "ff:ff:ff:ff:ff:ff");
  putMac(f, ETH_SRC, o.src ?? "02:00:00:00:00:01");
  setBe16(f, ETH_TYPE, ETHERTYPE_IPV4);
  const ip = ETH_HLEN;
  const ipLen = size - ETH_HLEN;
  f[ip + IP4_VER_IHL] = 0x45;
  setBe16(f, ip + IP4_TOTLEN, ipLen);
  setBe16(f, ip + IP4_ID, (o.seq ?? 0) & 0xffff);
  f[ip + IP4_TTL] = o.ttl ?? 64;
  f[ip + IP4_PROTO] = IPPROTO_UDP;
  putIp(f, ip + IP4_SRC, o.srcIp ?? "198.18.0.1");
  putIp(f, ip + IP4_DST, o.dstIp ?? "198.18.1.1");
  setBe16(f, ip + IP4_CSUM, cksum(f, ip, IP4_HLEN));
  const l4 = ip + IP4_HLEN;
  setBe16(f, l4 + UDP_SPORT, o.sport ?? 1234);
  setBe16(f, l4 + UDP_DPORT, o.dport ?? 5678);
  setBe16(f, l4 + UDP_LEN, ipLen - IP4_HLEN);
  if (o.seq !== undefined) setBe32(f, l4 + UDP_HLEN, o.seq >>> 0);
  return f;
}
