/**
 * Classic pcap files (libpcap's format, draft-ietf-opsawg-pcap) for net_pcap, in the forms its data path
 * needs: a file read whole into shared memory with an index of its records (offset and length per
 * record, in SharedArrayBuffers a worker thread opens too), and a writer that appends records from any
 * view into a buffer and writes it out in large blocks, allocating nothing per frame.
 *
 * Read: microsecond or nanosecond files, either byte order, link type Ethernet. Written: nanosecond files,
 * little-endian, LINKTYPE_ETHERNET, snaplen 65535.
 *
 * (txgen keeps its own object-per-frame reader/writer in src/apps/txgen/pcap.ts, for its templates: the
 * format code is duplicated there because that one builds a `{ tsNs, data }` object per frame.)
 */
import { readFileSync, openSync, closeSync } from "node:fs";
import { sys } from "../sys/native.js";

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

/** A pcap file in shared memory: the bytes and, per record, where its frame starts and how long it is. */
export interface PcapIndexShared {
  path: string;
  data: SharedArrayBuffer;
  /** Byte offset of each record's frame in `data` (Uint32Array). */
  offsets: SharedArrayBuffer;
  /** Captured length of each record (Uint32Array). */
  lengths: SharedArrayBuffer;
  count: number;
  /** Whether timestamps are in nanoseconds (else microseconds). */
  nano: boolean;
}

/**
 * A pcap file read whole, with its records indexed.
 *
 * @example
 * const f = PcapIndex.read("in.pcap");
 * console.log(f.count, f.lengths[0]); // records, and the first frame's length
 */
export class PcapIndex {
  readonly path: string;
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly count: number;
  readonly nano: boolean;

  private constructor(s: PcapIndexShared) {
    this.path = s.path;
    this.data = new Uint8Array(s.data);
    this.offsets = new Uint32Array(s.offsets);
    this.lengths = new Uint32Array(s.lengths);
    this.count = s.count;
    this.nano = s.nano;
  }

  /** Reads and indexes a file; throws naming the file and what is wrong in it. */
  static read(path: string): PcapIndex {
    let b: Buffer;
    try {
      b = readFileSync(path);
    } catch (e) {
      throw new Error(`Cannot read pcap file '${path}': ${(e as Error).message}`, { cause: e });
    }
    return PcapIndex.parse(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), path);
  }

  /** Indexes pcap bytes (copied into shared memory); `path` names them in messages. */
  static parse(b: Uint8Array, path = "<pcap>"): PcapIndex {
    if (b.length > 0xffffffff) throw new RangeError(`pcap file '${path}' of ${b.length} bytes is larger than 4 GiB`);
    if (b.length < GLOBAL_HEADER) throw new SyntaxError(`Invalid pcap file '${path}': ${b.length} bytes, shorter than the 24-byte header`);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const m = dv.getUint32(0, true);
    let le = true;
    let nano = false;
    if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) nano = m === PCAP_MAGIC_NS;
    else {
      const mb = dv.getUint32(0, false);
      if (mb !== PCAP_MAGIC_US && mb !== PCAP_MAGIC_NS) {
        const hint = m === 0x0a0d0d0a ? " (a pcapng file: convert it with `tcpdump -r in.pcapng -w out.pcap`)" : "";
        throw new SyntaxError(`Invalid pcap file '${path}': magic 0x${m.toString(16)} is not a pcap magic${hint}`);
      }
      le = false;
      nano = mb === PCAP_MAGIC_NS;
    }
    const link = dv.getUint32(20, le) & 0xffff;
    if (link !== LINKTYPE_ETHERNET) throw new RangeError(`Unsupported pcap file '${path}': link type ${link}, only Ethernet (1) can be replayed`);
    const offs: number[] = [];
    const lens: number[] = [];
    let o = GLOBAL_HEADER;
    while (o < b.length) {
      if (o + RECORD_HEADER > b.length) throw new SyntaxError(`Invalid pcap file '${path}': truncated record header at byte ${o} (record ${offs.length})`);
      const incl = dv.getUint32(o + 8, le);
      if (o + RECORD_HEADER + incl > b.length) {
        throw new SyntaxError(`Invalid pcap file '${path}': record ${offs.length} at byte ${o} claims ${incl} bytes, the file ends first`);
      }
      offs.push(o + RECORD_HEADER);
      lens.push(incl);
      o += RECORD_HEADER + incl;
    }
    const data = new SharedArrayBuffer(b.length);
    new Uint8Array(data).set(b);
    const offsets = new SharedArrayBuffer(Math.max(4, offs.length * 4));
    const lengths = new SharedArrayBuffer(Math.max(4, lens.length * 4));
    new Uint32Array(offsets).set(offs);
    new Uint32Array(lengths).set(lens);
    return new PcapIndex({ path, data, offsets, lengths, count: offs.length, nano });
  }

  static fromShared(s: PcapIndexShared): PcapIndex {
    return new PcapIndex(s);
  }

  toShared(): PcapIndexShared {
    return {
      path: this.path, data: this.data.buffer as SharedArrayBuffer, offsets: this.offsets.buffer as SharedArrayBuffer,
      lengths: this.lengths.buffer as SharedArrayBuffer, count: this.count, nano: this.nano,
    };
  }

  /** Record `i`'s frame, as a view (allocates: control path and tests). */
  frame(i: number): Uint8Array {
    const o = this.offsets[i]!;
    return this.data.subarray(o, o + this.lengths[i]!);
  }
}

/** The 24-byte global header of the files {@link PcapWriter} writes. */
export function pcapHeader(): Uint8Array {
  const h = new Uint8Array(GLOBAL_HEADER);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, PCAP_MAGIC_NS, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setInt32(8, 0, true); // thiszone
  dv.setUint32(12, 0, true); // sigfigs
  dv.setUint32(16, 65535, true); // snaplen
  dv.setUint32(20, LINKTYPE_ETHERNET, true);
  return h;
}

/** Writes every byte of `b[off, off + len)` to `fd`; returns 0 or -errno. */
function writeAll(fd: number, b: Uint8Array, off: number, len: number): number {
  while (len > 0) {
    const rc = sys.write(fd, b, off, len);
    if (rc < 0) {
      if (rc === -4) continue; // EINTR
      return rc;
    }
    off += rc;
    len -= rc;
  }
  return 0;
}

/**
 * Appends records to a pcap file through a buffer (default 256 KiB), writing it out when full and at
 * flush/close. One writer object per thread at a time: the buffer is this object's (flush before another
 * thread's writer on the same fd goes on).
 *
 * @example
 * const w = PcapWriter.create("out.pcap");
 * w.append(frame, 0, frame.length, 1_700_000_000, 0);
 * w.close();
 */
export class PcapWriter {
  readonly fd: number;
  readonly path: string;
  private readonly buf: Uint8Array;
  private readonly dv: DataView;
  private len = 0;
  /** The first write error (-errno), 0 when none. */
  error = 0;
  private readonly owner: boolean;
  private closed = false;

  private constructor(fd: number, path: string, bufSize: number, owner: boolean) {
    this.fd = fd;
    this.path = path;
    this.buf = new Uint8Array(bufSize);
    this.dv = new DataView(this.buf.buffer);
    this.owner = owner;
  }

  /** Creates (or truncates) `path` and writes the global header. */
  static create(path: string, bufSize = 256 * 1024): PcapWriter {
    let fd: number;
    try {
      fd = openSync(path, "w");
    } catch (e) {
      throw new Error(`Cannot write pcap file '${path}': ${(e as Error).message}`, { cause: e });
    }
    const w = new PcapWriter(fd, path, bufSize, true);
    const h = pcapHeader();
    const rc = writeAll(fd, h, 0, h.length);
    if (rc < 0) {
      closeSync(fd);
      throw new Error(`Cannot write pcap file '${path}': write error ${-rc}`);
    }
    return w;
  }

  /** A writer on an fd another writer opened (another thread's); it never closes the fd. */
  static onFd(fd: number, path: string, bufSize = 256 * 1024): PcapWriter {
    return new PcapWriter(fd, path, bufSize, false);
  }

  /**
   * Appends one record: `len` bytes of `src` from byte `off`, stamped `sec`.`nsec`. Returns false when the
   * file could not be written (the record is lost, {@link error} says why).
   */
  append(src: ArrayBufferView, off: number, len: number, sec: number, nsec: number): boolean {
    if (this.len + RECORD_HEADER + len > this.buf.length) {
      if (!this.flush()) return false;
      if (RECORD_HEADER + len > this.buf.length) return false;
    }
    const dv = this.dv;
    const o = this.len;
    dv.setUint32(o, sec >>> 0, true);
    dv.setUint32(o + 4, nsec >>> 0, true);
    dv.setUint32(o + 8, len, true);
    dv.setUint32(o + 12, len, true);
    sys.copyBytes(this.buf, o + RECORD_HEADER, src, off, len);
    this.len = o + RECORD_HEADER + len;
    return true;
  }

  /** Writes out what is buffered; false (and {@link error} set) on a write error, the buffer dropped. */
  flush(): boolean {
    if (this.len === 0) return true;
    const rc = writeAll(this.fd, this.buf, 0, this.len);
    this.len = 0;
    if (rc < 0) {
      if (this.error === 0) this.error = rc;
      return false;
    }
    return true;
  }

  /** Flushes; the creating writer also closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    if (this.owner) closeSync(this.fd);
  }
}
