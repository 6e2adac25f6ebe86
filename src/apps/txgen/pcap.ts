/**
 * Classic pcap files (the libpcap format, draft-ietf-opsawg-pcap): a 24-byte global header, then per
 * frame a 16-byte record header (seconds, micro- or nanoseconds, captured and original length) and the
 * bytes. We write microsecond files with LINKTYPE_ETHERNET, little-endian; we read both resolutions in
 * either byte order.
 *
 * @example
 * writePcap("out.pcap", [{ tsNs: Date.now() * 1e6, data: frame }]);
 * const frames = readPcap("out.pcap");
 */
import { readFileSync, writeFileSync } from "node:fs";

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;

export interface PcapFrame {
  /** Wall-clock time in nanoseconds since the epoch. */
  tsNs: number;
  data: Uint8Array;
  /** Length on the wire (>= data.length); data.length when absent. */
  origLen?: number;
}

/** The bytes of a pcap file holding `frames` (microsecond timestamps, Ethernet, snaplen 65535). */
export function encodePcap(frames: readonly PcapFrame[]): Uint8Array {
  let total = 24;
  for (const f of frames) total += 16 + f.data.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, PCAP_MAGIC_US, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setInt32(8, 0, true); // thiszone
  dv.setUint32(12, 0, true); // sigfigs
  dv.setUint32(16, 65535, true); // snaplen
  dv.setUint32(20, LINKTYPE_ETHERNET, true);
  let o = 24;
  for (const f of frames) {
    const us = Math.floor(f.tsNs / 1000);
    const sec = Math.floor(us / 1e6);
    dv.setUint32(o, sec >>> 0, true);
    dv.setUint32(o + 4, us - sec * 1e6, true);
    dv.setUint32(o + 8, f.data.length, true);
    dv.setUint32(o + 12, f.origLen ?? f.data.length, true);
    out.set(f.data, o + 16);
    o += 16 + f.data.length;
  }
  return out;
}

/** Writes a pcap file. */
export function writePcap(path: string, frames: readonly PcapFrame[]): void {
  try {
    writeFileSync(path, encodePcap(frames));
  } catch (e) {
    throw new Error(`Cannot write pcap file '${path}': ${(e as Error).message}`, { cause: e });
  }
}

/** Parses pcap bytes; `name` is for messages. Only Ethernet captures are accepted. */
export function decodePcap(b: Uint8Array, name = "<pcap>"): PcapFrame[] {
  if (b.length < 24) throw new SyntaxError(`Invalid pcap file '${name}': ${b.length} bytes, shorter than the 24-byte header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const m = dv.getUint32(0, true);
  let le: boolean;
  let nano: boolean;
  if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) {
    le = true;
    nano = m === PCAP_MAGIC_NS;
  } else {
    const mb = dv.getUint32(0, false);
    if (mb !== PCAP_MAGIC_US && mb !== PCAP_MAGIC_NS) {
      const hint = m === 0x0a0d0d0a ? " (a pcapng file: convert it with `tcpdump -r in.pcapng -w out.pcap`)" : "";
      throw new SyntaxError(`Invalid pcap file '${name}': magic 0x${m.toString(16)} is not a pcap magic${hint}`);
    }
    le = false;
    nano = mb === PCAP_MAGIC_NS;
  }
  const link = dv.getUint32(20, le) & 0xffff;
  if (link !== LINKTYPE_ETHERNET) throw new RangeError(`Unsupported pcap file '${name}': link type ${link}, only Ethernet (1) can be replayed`);
  const out: PcapFrame[] = [];
  let o = 24;
  while (o < b.length) {
    if (o + 16 > b.length) throw new SyntaxError(`Invalid pcap file '${name}': truncated record header at byte ${o}`);
    const sec = dv.getUint32(o, le);
    const frac = dv.getUint32(o + 4, le);
    const incl = dv.getUint32(o + 8, le);
    const orig = dv.getUint32(o + 12, le);
    if (o + 16 + incl > b.length) throw new SyntaxError(`Invalid pcap file '${name}': record ${out.length} at byte ${o} claims ${incl} bytes, the file ends first`);
    out.push({ tsNs: sec * 1e9 + frac * (nano ? 1 : 1000), data: b.slice(o + 16, o + 16 + incl), origLen: orig });
    o += 16 + incl;
  }
  return out;
}

/** Reads a pcap file. */
export function readPcap(path: string): PcapFrame[] {
  let b: Uint8Array;
  try {
    b = readFileSync(path);
  } catch (e) {
    throw new Error(`Cannot read pcap file '${path}': ${(e as Error).message}`, { cause: e });
  }
  return decodePcap(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), path);
}
