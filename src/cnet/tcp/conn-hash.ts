/**
 * The engine's 4-tuple lookup: open addressing with linear probing over typed arrays, keyed by (local
 * address, local port, remote address, remote port), valued by a connection slot. Deleted entries leave
 * tombstones, reclaimed when an insert reuses them; the table is sized at twice the slots, so probes stay
 * short. One thread; nothing allocates.
 *
 * @example
 * const h = new ConnHash(1024);
 * h.insert(0x0a000001, 80, 0x0a000002, 40000, 7);
 * h.lookup(0x0a000001, 80, 0x0a000002, 40000); // 7
 */

const EMPTY = 0;

/** Buckets for `slots` connections: a power of two, at least twice as many (16 at least). */
function tableSize(slots: number): number {
  let size = 16;
  while (size < slots * 2) size *= 2;
  return size;
}

/** See the module comment. */
export class ConnHash {
  declare private readonly val: Int32Array;
  declare private readonly lip: Int32Array;
  declare private readonly rip: Int32Array;
  declare private readonly ports: Int32Array;
  declare private readonly mask: number;

  /** A table for up to `slots` connections. */
  constructor(slots: number) {
    const size = tableSize(slots);
    this.val = new Int32Array(size);
    this.lip = new Int32Array(size);
    this.rip = new Int32Array(size);
    this.ports = new Int32Array(size);
    this.mask = size - 1;
  }

  private start(lip: number, lport: number, rip: number, rport: number): number {
    let h = Math.imul(lip ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ rip ^ (h >>> 13), 0xc2b2ae35);
    h = Math.imul(h ^ ((lport << 16) | rport) ^ (h >>> 16), 0x27d4eb2f);
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** The slot of the connection, or -1. */
  lookup(lip: number, lport: number, rip: number, rport: number): number {
    const key = (lport << 16) | rport;
    const lipi = lip | 0;
    const ripi = rip | 0;
    let i = this.start(lipi, lport, ripi, rport);
    for (;;) {
      const v = this.val[i]!;
      if (v === EMPTY) return -1;
      if (this.ports[i] === key && this.rip[i] === ripi && this.lip[i] === lipi) return v - 1;
      i = (i + 1) & this.mask;
    }
  }

  /** Adds the connection (the caller checked it is absent). */
  insert(lip: number, lport: number, rip: number, rport: number, slot: number): void {
    const lipi = lip | 0;
    const ripi = rip | 0;
    let i = this.start(lipi, lport, ripi, rport);
    while (this.val[i]! !== EMPTY) i = (i + 1) & this.mask;
    this.val[i] = slot + 1;
    this.lip[i] = lipi;
    this.rip[i] = ripi;
    this.ports[i] = (lport << 16) | rport;
  }

  /** Removes the connection; false when absent. */
  remove(lip: number, lport: number, rip: number, rport: number): boolean {
    const key = (lport << 16) | rport;
    const lipi = lip | 0;
    const ripi = rip | 0;
    let i = this.start(lipi, lport, ripi, rport);
    for (;;) {
      const v = this.val[i]!;
      if (v === EMPTY) return false;
      if (this.ports[i] === key && this.rip[i] === ripi && this.lip[i] === lipi) {
        this.shiftBack(i);
        return true;
      }
      i = (i + 1) & this.mask;
    }
  }

  private shiftBack(hole: number): void {
    const mask = this.mask;
    let i = hole;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (this.val[j] === EMPTY) break;
      const p = this.ports[j]!;
      const k = this.start(this.lip[j]!, p >>> 16, this.rip[j]!, p & 0xffff);
      // Entry j may move into the hole when its home k is not cyclically within (i, j].
      const between = i <= j ? k > i && k <= j : k > i || k <= j;
      if (between) continue;
      this.val[i] = this.val[j]!;
      this.lip[i] = this.lip[j]!;
      this.rip[i] = this.rip[j]!;
      this.ports[i] = p;
      i = j;
    }
    this.val[i] = EMPTY;
  }
}

/** The big-endian word at `u8[o..+4)` as an int32. */
function word(u8: Uint8Array, o: number): number {
  return (u8[o]! << 24) | (u8[o + 1]! << 16) | (u8[o + 2]! << 8) | u8[o + 3]!;
}

/**
 * The engine's lookup for IPv6 connections: the same open addressing (linear probing, backward-shift
 * deletion) keyed by the two 16-byte addresses, read in place from any byte array (a frame's IPv6
 * header, or the engine's per-slot address arrays), and the ports. Kept apart from {@link ConnHash} so
 * IPv4 lookups stay as they are. One thread; nothing allocates.
 *
 * @example
 * const h = new ConnHash6(1024);
 * const a = new Uint8Array(32); a[0] = 0xfd; a[15] = 1; a[16] = 0xfd; a[31] = 2;
 * h.insert(a, 0, 80, a, 16, 40000, 7);
 * h.lookup(a, 0, 80, a, 16, 40000); // 7
 */
export class ConnHash6 {
  declare private readonly val: Int32Array;
  /** 8 words per entry: local address, then remote address. */
  declare private readonly addr: Int32Array;
  declare private readonly ports: Int32Array;
  declare private readonly home: Int32Array;
  declare private readonly mask: number;

  /** A table for up to `slots` connections. */
  constructor(slots: number) {
    const size = tableSize(slots);
    this.val = new Int32Array(size);
    this.addr = new Int32Array(size * 8);
    this.ports = new Int32Array(size);
    this.home = new Int32Array(size);
    this.mask = size - 1;
  }

  private start(la: Uint8Array, lo: number, lport: number, ra: Uint8Array, ro: number, rport: number): number {
    let h = Math.imul(word(la, lo) ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ word(la, lo + 4) ^ (h >>> 13), 0xc2b2ae35);
    h = Math.imul(h ^ word(la, lo + 8) ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ word(la, lo + 12) ^ (h >>> 13), 0xc2b2ae35);
    h = Math.imul(h ^ word(ra, ro) ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ word(ra, ro + 4) ^ (h >>> 13), 0xc2b2ae35);
    h = Math.imul(h ^ word(ra, ro + 8) ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ word(ra, ro + 12) ^ (h >>> 13), 0xc2b2ae35);
    h = Math.imul(h ^ ((lport << 16) | rport) ^ (h >>> 16), 0x27d4eb2f);
    return (h ^ (h >>> 15)) & this.mask;
  }

  private same(i: number, la: Uint8Array, lo: number, ra: Uint8Array, ro: number): boolean {
    const a = this.addr;
    const b = i << 3;
    return a[b] === word(la, lo) && a[b + 1] === word(la, lo + 4) && a[b + 2] === word(la, lo + 8) && a[b + 3] === word(la, lo + 12) &&
      a[b + 4] === word(ra, ro) && a[b + 5] === word(ra, ro + 4) && a[b + 6] === word(ra, ro + 8) && a[b + 7] === word(ra, ro + 12);
  }

  /** The slot of the connection (local address at `la[lo..+16)`, remote at `ra[ro..+16)`), or -1. */
  lookup(la: Uint8Array, lo: number, lport: number, ra: Uint8Array, ro: number, rport: number): number {
    const key = (lport << 16) | rport;
    let i = this.start(la, lo, lport, ra, ro, rport);
    for (;;) {
      const v = this.val[i]!;
      if (v === 0) return -1;
      if (this.ports[i] === key && this.same(i, la, lo, ra, ro)) return v - 1;
      i = (i + 1) & this.mask;
    }
  }

  /** Adds the connection (the caller checked it is absent). */
  insert(la: Uint8Array, lo: number, lport: number, ra: Uint8Array, ro: number, rport: number, slot: number): void {
    const home = this.start(la, lo, lport, ra, ro, rport);
    let i = home;
    while (this.val[i]! !== 0) i = (i + 1) & this.mask;
    this.val[i] = slot + 1;
    this.home[i] = home;
    this.ports[i] = (lport << 16) | rport;
    const a = this.addr;
    const b = i << 3;
    for (let k = 0; k < 4; k++) {
      a[b + k] = word(la, lo + 4 * k);
      a[b + 4 + k] = word(ra, ro + 4 * k);
    }
  }

  /** Removes the connection; false when absent. */
  remove(la: Uint8Array, lo: number, lport: number, ra: Uint8Array, ro: number, rport: number): boolean {
    const key = (lport << 16) | rport;
    let i = this.start(la, lo, lport, ra, ro, rport);
    for (;;) {
      const v = this.val[i]!;
      if (v === 0) return false;
      if (this.ports[i] === key && this.same(i, la, lo, ra, ro)) {
        this.shiftBack(i);
        return true;
      }
      i = (i + 1) & this.mask;
    }
  }

  private shiftBack(hole: number): void {
    const mask = this.mask;
    const a = this.addr;
    let i = hole;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (this.val[j] === 0) break;
      const k = this.home[j]!;
      const between = i <= j ? k > i && k <= j : k > i || k <= j;
      if (between) continue;
      this.val[i] = this.val[j]!;
      this.home[i] = k;
      this.ports[i] = this.ports[j]!;
      a.copyWithin(i << 3, j << 3, (j << 3) + 8);
      i = j;
    }
    this.val[i] = 0;
  }
}
