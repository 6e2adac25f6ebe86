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

/** See the module comment. */
export class ConnHash {
  declare private readonly val: Int32Array;
  declare private readonly lip: Int32Array;
  declare private readonly rip: Int32Array;
  declare private readonly ports: Int32Array;
  declare private readonly mask: number;

  /** A table for up to `slots` connections. */
  constructor(slots: number) {
    let size = 16;
    while (size < slots * 2) size *= 2;
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
