/**
 * TCP connections for telemetry, in shared memory: the worker's engine writes a snapshot of its
 * connections every few hundred milliseconds (typed-array stores only), the main thread reads it with
 * {@link TcpConnTable.list} (`/cnet/tcp`). A version word (odd while the writer is mid-snapshot) lets a
 * reader retry instead of seeing half a snapshot.
 *
 * @example
 * const table = TcpConnTable.create(1024);
 * const view = TcpConnTable.fromShared(table.shared()); // on another thread
 * for (const c of view.list()) console.log(c.state, c.remotePort);
 */
import { formatIp4, formatIp6 } from "../../lookup/addr.js";
import { TCP_STATE_NAMES } from "./states.js";

/** One connection as {@link TcpConnTable.list} reports it. */
export interface TcpConnInfo {
  /** 4 or 6; for 6, localIp and remoteIp are 0 and the addresses are in `local`/`remote`. */
  family: number;
  /** The local end as text: "10.0.0.1:80" or "[fd00::1]:80". */
  local: string;
  /** The remote end as text. */
  remote: string;
  localIp: number;
  localPort: number;
  remoteIp: number;
  remotePort: number;
  /** RFC 793 name: "ESTABLISHED", "TIME_WAIT", ... */
  state: string;
  sndNxt: number;
  sndUna: number;
  rcvNxt: number;
  /** The peer's window, bytes (scaled). */
  sndWnd: number;
  /** The window we advertise, bytes. */
  rcvWnd: number;
  cwnd: number;
  ssthresh: number;
  srttMs: number;
  rtoMs: number;
  retransmits: number;
  bytesIn: number;
  bytesOut: number;
}

/** The fields of an entry, in word order. */
const FIELDS = ["localIp", "localPort", "remoteIp", "remotePort", "state", "sndNxt", "sndUna", "rcvNxt", "sndWnd", "rcvWnd", "cwnd", "ssthresh", "srttMs", "rtoMs", "retransmits", "bytesIn", "bytesOut", "family"] as const;
/** Words per entry: the fields, then an IPv6 connection's local and remote addresses (4 words each). */
export const TCP_CONN_WORDS = FIELDS.length + 8;

/** The IPv6 address in words `w[at..+4)` (big-endian u32s) as text. */
function ip6At(w: Float64Array, at: number): string {
  const b = new Uint8Array(16);
  for (let k = 0; k < 4; k++) {
    const v = w[at + k]!;
    b[4 * k] = (v >>> 24) & 0xff; b[4 * k + 1] = (v >>> 16) & 0xff; b[4 * k + 2] = (v >>> 8) & 0xff; b[4 * k + 3] = v & 0xff;
  }
  return formatIp6(b);
}
const HDR = 2; // [0] count, [1] capacity

/** What {@link TcpConnTable.shared} returns: post it to another thread. */
export interface TcpConnTableShared {
  words: SharedArrayBuffer;
  version: SharedArrayBuffer;
}

/**
 * See the module comment.
 *
 * @example
 * const table = TcpConnTable.create(256);
 * console.log(table.format().join("\n"));
 */
export class TcpConnTable {
  /** @internal The words: a header, then {@link TCP_CONN_WORDS} per entry. */
  declare readonly w: Float64Array;
  /** @internal [0]: the version (odd while writing). */
  declare readonly ver: Int32Array;
  /** Most entries a snapshot holds. */
  declare readonly capacity: number;

  private constructor(s: TcpConnTableShared) {
    this.w = new Float64Array(s.words);
    this.ver = new Int32Array(s.version);
    this.capacity = this.w[1]!;
  }

  /**
   * An empty table for up to `max` connections.
   *
   * @example
   * const table = TcpConnTable.create(256);
   */
  static create(max: number): TcpConnTable {
    if (!Number.isInteger(max) || max < 1 || max > 1 << 20) throw new RangeError(`TcpConnTable.create: max ${max} is not 1 to ${1 << 20}`);
    const words = new SharedArrayBuffer(8 * (HDR + max * TCP_CONN_WORDS));
    new Float64Array(words)[1] = max;
    return new TcpConnTable({ words, version: new SharedArrayBuffer(4) });
  }

  /**
   * The table another thread writes or reads.
   *
   * @example
   * const view = TcpConnTable.fromShared(TcpConnTable.create(16).shared());
   */
  static fromShared(s: TcpConnTableShared): TcpConnTable {
    if (!(s.words instanceof SharedArrayBuffer) || !(s.version instanceof SharedArrayBuffer) || s.version.byteLength !== 4) throw new TypeError("TcpConnTable.fromShared: not a TcpConnTable's shared()");
    const cap = new Float64Array(s.words)[1]!;
    if (s.words.byteLength !== 8 * (HDR + cap * TCP_CONN_WORDS)) throw new RangeError(`TcpConnTable.fromShared: ${s.words.byteLength} bytes for ${cap} entries`);
    return new TcpConnTable(s);
  }

  /**
   * What to post to another thread.
   *
   * @example
   * declare const worker: import("node:worker_threads").Worker;
   * worker.postMessage({ tcp: TcpConnTable.create(16).shared() });
   */
  shared(): TcpConnTableShared {
    return { words: this.w.buffer as SharedArrayBuffer, version: this.ver.buffer as SharedArrayBuffer };
  }

  /** @internal Writer: a snapshot starts. */
  begin(): void {
    Atomics.add(this.ver, 0, 1);
  }

  /** @internal Writer: the snapshot holds `count` entries. */
  end(count: number): void {
    this.w[0] = count;
    Atomics.add(this.ver, 0, 1);
  }

  /**
   * The connections of the last snapshot (control path: allocates).
   *
   * @example
   * console.log(TcpConnTable.create(4).list()); // []
   */
  list(): TcpConnInfo[] {
    for (let attempt = 0; ; attempt++) {
      const v0 = Atomics.load(this.ver, 0);
      if ((v0 & 1) !== 0 && attempt < 1000) continue;
      const n = Math.min(this.w[0]!, this.capacity);
      const out: TcpConnInfo[] = [];
      for (let i = 0; i < n; i++) {
        const b = HDR + i * TCP_CONN_WORDS;
        const e = {} as Record<string, number | string>;
        FIELDS.forEach((f, k) => { e[f] = this.w[b + k]!; });
        e.state = TCP_STATE_NAMES[this.w[b + 4]!] ?? `state ${this.w[b + 4]}`;
        if (e.family === 6) {
          e.local = `[${ip6At(this.w, b + FIELDS.length)}]:${e.localPort}`;
          e.remote = `[${ip6At(this.w, b + FIELDS.length + 4)}]:${e.remotePort}`;
        } else {
          e.family = 4;
          e.local = `${formatIp4(e.localIp as number)}:${e.localPort}`;
          e.remote = `${formatIp4(e.remoteIp as number)}:${e.remotePort}`;
        }
        out.push(e as unknown as TcpConnInfo);
      }
      if (Atomics.load(this.ver, 0) === v0 || attempt >= 1000) return out;
    }
  }

  /**
   * The connections as text rows (control path), `10.0.0.1:80 10.0.0.2:40000 ESTABLISHED ...`.
   *
   * @example
   * console.log(TcpConnTable.create(4).format().join("\n"));
   */
  format(): string[] {
    return this.list().map((c) => `${c.local} ${c.remote} ${c.state} cwnd=${c.cwnd} srtt=${c.srttMs}ms rto=${c.rtoMs}ms retrans=${c.retransmits} in=${c.bytesIn} out=${c.bytesOut}`);
  }
}

/** @internal Word offset of entry `i`. */
export function connEntryAt(i: number): number {
  return HDR + i * TCP_CONN_WORDS;
}
