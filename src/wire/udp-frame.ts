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

/** The IPv4 header checksum over `len` bytes at `off` (RFC 1071). */
export function ipv4Checksum(f: Uint8Array, off: number, len = 20): number {
  let sum = 0;
  for (let i = off; i < off + len; i += 2) sum += (f[i]! << 8) | f[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A new frame of `size` bytes (buffer rounded up to 4 bytes so it can be copied as 32-bit words). */
export function udpFrame(o: UdpFrameOptions = {}): Uint8Array {
  const size = o.size ?? 64;
  if (!Number.isInteger(size) || size < 60 || size > 9000) throw new RangeError(`Invalid frame size ${size}: 60 to 9000`);
  const f = new Uint8Array(new ArrayBuffer(Math.ceil(size / 4) * 4), 0, size);
  const dv = new DataView(f.buffer);
  putMac(f, 0, o.dst ?? "ff:ff:ff:ff:ff:ff");
  putMac(f, 6, o.src ?? "02:00:00:00:00:01");
  dv.setUint16(12, 0x0800);
  const ipLen = size - 14;
  f[14] = 0x45;
  dv.setUint16(16, ipLen);
  dv.setUint16(18, (o.seq ?? 0) & 0xffff);
  f[22] = o.ttl ?? 64;
  f[23] = 17;
  putIp(f, 26, o.srcIp ?? "198.18.0.1");
  putIp(f, 30, o.dstIp ?? "198.18.1.1");
  dv.setUint16(24, ipv4Checksum(f, 14));
  dv.setUint16(34, o.sport ?? 1234);
  dv.setUint16(36, o.dport ?? 5678);
  dv.setUint16(38, ipLen - 20);
  if (o.seq !== undefined) dv.setUint32(42, o.seq >>> 0);
  return f;
}
