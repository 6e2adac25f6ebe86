/**
 * Netlink attributes (struct nlattr / struct rtattr: u16 len, u16 type, payload padded to 4 bytes), nested
 * attributes, and the message body they follow (a fixed header such as struct ifinfomsg).
 *
 * Layout from include/uapi/linux/netlink.h (NLA_ALIGNTO, NLA_F_NESTED, NLA_TYPE_MASK) and
 * Documentation/userspace-api/netlink/intro.rst. Host byte order (little-endian) unless noted.
 *
 * @example
 * const w = new AttrWriter();
 * w.fixed(16).setInt32(4, ifindex, true);      // struct ifinfomsg
 * const nest = w.begin(IFLA_XDP);
 * w.s32(IFLA_XDP_FD, -1);
 * w.end(nest);
 * const body = w.finish();
 */

/** Attribute flag: the payload holds attributes. */
export const NLA_F_NESTED = 0x8000;
/** Attribute flag: the payload is in network byte order. */
export const NLA_F_NET_BYTEORDER = 0x4000;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;
const NLA_HDRLEN = 4;

/** Rounds up to the 4-byte netlink alignment. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

const enc = new TextEncoder();

/** Builds a message body: a fixed header and attributes, growing as needed. */
export class AttrWriter {
  private buf: Uint8Array;
  private dv: DataView;
  private len = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const at = this.len;
    const need = at + align4(n);
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, this.buf.length * 2));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.dv = new DataView(next.buffer);
    }
    this.len = need;
    return at;
  }

  /**
   * Reserves `n` zeroed bytes for a fixed header (padded to 4) and returns a view over them. Write to it
   * before adding anything else (the buffer may move when it grows).
   */
  fixed(n: number): DataView {
    const at = this.reserve(n);
    return new DataView(this.buf.buffer, at, n);
  }

  /** Appends an attribute with a raw payload. */
  bytes(type: number, payload: Uint8Array): this {
    const at = this.reserve(NLA_HDRLEN + payload.length);
    this.dv.setUint16(at, NLA_HDRLEN + payload.length, true);
    this.dv.setUint16(at + 2, type, true);
    this.buf.set(payload, at + NLA_HDRLEN);
    return this;
  }

  private num(type: number, size: 1 | 2 | 4 | 8, set: (dv: DataView, at: number) => void): this {
    const at = this.reserve(NLA_HDRLEN + size);
    this.dv.setUint16(at, NLA_HDRLEN + size, true);
    this.dv.setUint16(at + 2, type, true);
    set(this.dv, at + NLA_HDRLEN);
    return this;
  }

  u8(type: number, v: number): this { return this.num(type, 1, (dv, at) => dv.setUint8(at, v)); }
  u16(type: number, v: number): this { return this.num(type, 2, (dv, at) => dv.setUint16(at, v, true)); }
  u32(type: number, v: number): this { return this.num(type, 4, (dv, at) => dv.setUint32(at, v >>> 0, true)); }
  s32(type: number, v: number): this { return this.num(type, 4, (dv, at) => dv.setInt32(at, v, true)); }
  u64(type: number, v: bigint): this { return this.num(type, 8, (dv, at) => dv.setBigUint64(at, v, true)); }
  /** A big-endian u16 (ports, ethertypes). */
  be16(type: number, v: number): this { return this.num(type, 2, (dv, at) => dv.setUint16(at, v, false)); }

  /** A NUL-terminated string. */
  str(type: number, s: string): this {
    const b = enc.encode(s);
    const p = new Uint8Array(b.length + 1);
    p.set(b);
    return this.bytes(type, p);
  }

  /** An attribute without payload (a flag). */
  flag(type: number): this {
    return this.bytes(type, new Uint8Array(0));
  }

  /**
   * Starts a nested attribute; returns the token for {@link end}. `flag` sets NLA_F_NESTED (leave it off
   * for attributes the kernel does not declare nested, such as VETH_INFO_PEER).
   */
  begin(type: number, flag = true): number {
    const at = this.reserve(NLA_HDRLEN);
    this.dv.setUint16(at + 2, flag ? type | NLA_F_NESTED : type, true);
    return at;
  }

  /** Closes the nested attribute started at `token`. */
  end(token: number): this {
    this.dv.setUint16(token, this.len - token, true);
    return this;
  }

  /** The body as written (a copy). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const dec = new TextDecoder();

/**
 * Parsed attributes of one level: by type (flags masked off). A repeated type keeps every payload
 * ({@link all}); {@link get} gives the first.
 */
export class Attrs {
  private readonly map = new Map<number, Uint8Array[]>();

  /** Parses the attributes in `buf[off, end)`; stops at a truncated one. */
  static parse(buf: Uint8Array, off = 0, end = buf.length): Attrs {
    const a = new Attrs();
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = off;
    while (at + NLA_HDRLEN <= end) {
      const len = dv.getUint16(at, true);
      const type = dv.getUint16(at + 2, true) & NLA_TYPE_MASK;
      if (len < NLA_HDRLEN || at + len > end) break;
      const payload = buf.subarray(at + NLA_HDRLEN, at + len);
      const list = a.map.get(type);
      if (list) list.push(payload);
      else a.map.set(type, [payload]);
      at += align4(len);
    }
    return a;
  }

  has(type: number): boolean {
    return this.map.has(type);
  }

  /** The attribute types present. */
  types(): number[] {
    return [...this.map.keys()];
  }

  get(type: number): Uint8Array | undefined {
    return this.map.get(type)?.[0];
  }

  all(type: number): Uint8Array[] {
    return this.map.get(type) ?? [];
  }

  private view(type: number, size: number): DataView | undefined {
    const p = this.get(type);
    if (!p || p.length < size) return undefined;
    return new DataView(p.buffer, p.byteOffset, p.byteLength);
  }

  u8(type: number): number | undefined { return this.view(type, 1)?.getUint8(0); }
  u16(type: number): number | undefined { return this.view(type, 2)?.getUint16(0, true); }
  u32(type: number): number | undefined { return this.view(type, 4)?.getUint32(0, true); }
  s32(type: number): number | undefined { return this.view(type, 4)?.getInt32(0, true); }
  u64(type: number): bigint | undefined { return this.view(type, 8)?.getBigUint64(0, true); }

  /** A string attribute without its NUL. */
  str(type: number): string | undefined {
    const p = this.get(type);
    if (!p) return undefined;
    const z = p.indexOf(0);
    return dec.decode(z < 0 ? p : p.subarray(0, z));
  }

  /** The attributes nested in attribute `type`. */
  nested(type: number): Attrs | undefined {
    const p = this.get(type);
    return p ? Attrs.parse(p) : undefined;
  }
}
