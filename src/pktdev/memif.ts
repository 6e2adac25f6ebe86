/**
 * net_memif: a port on one queue pair of a memif interface (shared-memory packet interface between
 * processes and pods), wire-compatible with VPP's memif and DPDK's net_memif (protocol 2.0, copy mode).
 *
 * Packets are copied between the pool's frames and the memif buffers (zero-copy is not implemented), so
 * the port never lends frames to the peer: a disconnect, a peer that dies, or close() can lose none.
 * While the peer is away the link is down (`linkUp()` false): rxBurst returns nothing and txBurst takes
 * and frees what it is given, counting it in `odropped`; a client reconnects by itself.
 *
 * The control channel lives on the thread that created the port (memif-control.ts); the rings are reached
 * through the region window and control block in shared memory (memif-shm.ts), so `toShared()` /
 * `fromShared()` hand the queue to a worker thread, which follows every later reconnection by itself.
 * One owner per queue (PortClaim). Ring cursors: the client writes every ring's head, the server every
 * tail; each side reads the other's with an atomic load per burst and publishes its own once per burst.
 */
import { Lport, newPortState, type LportInfo, type LportShared } from "./lport.js";
import { PortClaim } from "./port-claim.js";
import { Mempool, type MempoolShared } from "../mem/mempool.js";
import { sys } from "../sys/native.js";
import { POLLIN } from "../sys/consts.js";
import * as S from "../xsk/stats.js";
import {
  RING_FLAGS, RING_HEAD, RING_TAIL, RING_DESC, RING_FLAG_MASK_INT, DESC_SIZE, DESC_REGION, DESC_LENGTH, DESC_OFFSET, DESC_FLAG_NEXT,
} from "./memif-proto.js";
import {
  MAX_REGIONS, W_STATE, W_GEN, W_NREG, W_BSIZE, W_SERVER, W_REG, W_Q, QW, LINK_UP,
  Q_TX_RING, Q_RX_RING, Q_TX_LOG2, Q_RX_LOG2, Q_TX_BUF, Q_RX_BUF, Q_TX_EFD, Q_RX_EFD, Q_BUSY, Q_CLAIM, Q_RX_CUR,
} from "./memif-shm.js";
import { MemifInterface, type MemifConnInfo } from "./memif-control.js";
import { MEMIF_PMD_DEFAULTS, type MemifPmdOptions, type MemifRole } from "./memif-options.js";

/** Options of {@link MemifPort.create}: the pmd options (DPDK's names) plus the lport's. */
export interface MemifOptions extends Partial<MemifPmdOptions> {
  name: string;
  pid: number;
  mempool: Mempool;
  /** Queue pair of the interface this port drives (default 0; below `queues`). */
  qid?: number;
  /** Interface name told to the peer (default: the lport name before ':'). */
  ifName?: string;
  /** Control-path log lines; default: the "memif" tracer (XDPLANE_TRACE=memif). */
  log?: (msg: string) => void;
}

/** Shared form of a memif port. */
export interface MemifShared extends LportShared {
  qid: number;
  role: MemifRole;
  socket: string;
  id: number;
  mempool: MempoolShared;
  window: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
}

/** Frames up to this long are copied by a word loop here; longer ones by the shim's memcpy (a native call costs more than a short loop). */
const SMALL_COPY = 256;

/** Copies `len` bytes between two buffers (the pool's frames and the memif window), allocation-free. */
function copy(d8: Uint8Array, d32: Uint32Array, dOff: number, s8: Uint8Array, s32: Uint32Array, sOff: number, len: number): void {
  if (len > SMALL_COPY || ((dOff | sOff) & 3) !== 0) {
    sys.copyBytes(d8, dOff, s8, sOff, len);
    return;
  }
  const di = dOff >>> 2;
  const si = sOff >>> 2;
  const words = len >>> 2;
  for (let i = 0; i < words; i++) d32[di + i] = s32[si + i]!;
  for (let i = words << 2; i < len; i++) d8[dOff + i] = s8[sOff + i]!;
}

function randomMac(): string {
  const b = new Uint8Array(6);
  for (let i = 0; i < 6; i++) b[i] = Math.floor(Math.random() * 256);
  b[0] = (b[0]! & 0xfe) | 0x02; // locally administered, unicast (as rte_eth_random_addr)
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

export class MemifPort extends Lport {
  readonly pool: Mempool;
  readonly qid: number;
  readonly role: MemifRole;
  readonly socket: string;
  readonly id: number;
  private readonly mempool: Mempool;
  private readonly iface: MemifInterface | null;
  private readonly claim: PortClaim;
  private readonly ctl: Int32Array;
  private readonly window: SharedArrayBuffer;
  private readonly w8: Uint8Array;
  private readonly w16: Uint16Array;
  private readonly w32: Uint32Array;
  private readonly qb: number;
  private readonly busyW: number;
  private readonly server: boolean;
  private readonly u8: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly shift: number;
  private readonly room: number;
  private readonly dataOff: Uint16Array;
  private readonly dataLen: Uint16Array;
  private readonly portOf: Uint16Array;
  // What the last generation published (reloaded when W_GEN moves).
  private gen = -1;
  private linked = false;
  private rxRing = -1;
  private rxMask = 0;
  private txRing = -1;
  private txMask = 0;
  private rxBuf = 0;
  private txBuf = 0;
  private bsize = 0;
  private txEfd = -1;
  private rxEfd = -1;
  private nreg = 0;
  private readonly regBase = new Float64Array(MAX_REGIONS);
  private readonly regSize = new Float64Array(MAX_REGIONS);
  /** Next RX slot (server: the C2S tail; client: its own cursor) and next TX slot (client: head; server: tail). */
  private rxCur = 0;
  private txCur = 0;
  /** Length of the packet the last chain walk gathered (-1: bad chain). */
  private chainLen = 0;
  private readonly one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  private readonly scratch = new Uint8Array(8);
  private readonly pfd = new Int32Array(2);
  private closed = false;

  private constructor(s: MemifShared, mempool: Mempool, iface: MemifInterface | null) {
    super(s);
    this.qid = s.qid;
    this.role = s.role;
    this.socket = s.socket;
    this.id = s.id;
    this.mempool = mempool;
    this.pool = mempool;
    this.iface = iface;
    this.ctl = new Int32Array(s.ctl);
    this.window = s.window;
    this.w8 = new Uint8Array(s.window);
    this.w16 = new Uint16Array(s.window);
    this.w32 = new Uint32Array(s.window);
    this.qb = W_Q + s.qid * QW;
    this.busyW = this.qb + Q_BUSY;
    this.server = this.ctl[W_SERVER] === 1;
    this.claim = new PortClaim(this.ctl, this.qb + Q_CLAIM, `net_memif ${s.name}`);
    const u = mempool.umem;
    this.u8 = u.u8;
    this.u32 = u.u32;
    this.shift = u.shift;
    this.room = u.frameSize - u.headroom;
    this.dataOff = mempool.mbufs.dataOff;
    this.dataLen = mempool.mbufs.dataLen;
    this.portOf = mempool.mbufs.port;
  }

  /**
   * Opens queue `qid` of a memif interface: a server starts listening on `socket` (shared by the server
   * interfaces of the process on that socket, told apart by `id`), a client starts connecting (and keeps
   * trying every `reconnectMs`). Returns at once, link down; `whenUp()` waits for the peer. Call it on a
   * thread with an event loop that keeps running (the control channel is served there).
   */
  static create(o: MemifOptions): MemifPort {
    const { name, pid, mempool, qid = 0, ifName, log, ...rest } = o;
    const opts: MemifPmdOptions = { ...MEMIF_PMD_DEFAULTS, ...(Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<MemifPmdOptions>) };
    const iname = ifName ?? (name.includes(":") ? name.slice(0, name.indexOf(":")) : name);
    const iface = MemifInterface.attach({ ...opts, ifName: iname, ...(log !== undefined ? { log } : {}) }, qid);
    try {
      const port = new MemifPort({
        driver: "net_memif", name, pid, mac: opts.mac ?? randomMac(), ...newPortState(),
        qid, role: opts.role, socket: opts.socket, id: opts.id, mempool: mempool.toShared(),
        window: iface.window.buffer, ctl: iface.ctl.buffer as SharedArrayBuffer,
      }, mempool, iface);
      port.claim.hold();
      return port;
    } catch (e) {
      iface.detach(qid);
      throw e;
    }
  }

  /** Opens the port in another thread and claims its queue (throws while another object drives it). */
  static fromShared(s: MemifShared, mempool?: Mempool): MemifPort {
    const p = new MemifPort(s, mempool ?? Mempool.fromShared(s.mempool), null);
    p.claim.claim();
    return p;
  }

  toShared(): MemifShared {
    return {
      driver: this.driver, name: this.name, pid: this.pid, mac: this.mac,
      stats: this.stats.buffer as SharedArrayBuffer, admin: this.admin.buffer as SharedArrayBuffer,
      qid: this.qid, role: this.role, socket: this.socket, id: this.id, mempool: this.mempool.toShared(),
      window: this.window, ctl: this.ctl.buffer as SharedArrayBuffer,
    };
  }

  /** Whether the peer is connected (the memif link is up). */
  linkUp(): boolean {
    return Atomics.load(this.ctl, W_STATE) === LINK_UP;
  }

  /**
   * Resolves once the link is up; rejects after `ms` naming the last error (a refusal, a failed connect).
   * Polls the shared state, so it works in any thread whose event loop runs.
   */
  async whenUp(ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!this.linkUp()) {
      if (Date.now() >= end) {
        const e = this.iface?.connInfo().lastError;
        throw new Error(`net_memif ${this.name}: not connected after ${ms} ms${e ? `: ${e}` : ""}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The interface's connection state and counters (the creator's object; others see only the link). */
  connInfo(): MemifConnInfo | null {
    return this.iface?.connInfo() ?? null;
  }

  /** Reloads what the current generation of the control block says (link, regions, rings, cursors). */
  private resync(gen: number): void {
    this.gen = gen;
    const ctl = this.ctl;
    const qb = this.qb;
    this.linked = Atomics.load(ctl, W_STATE) === LINK_UP;
    if (!this.linked) {
      this.rxRing = -1;
      this.txRing = -1;
      return;
    }
    this.nreg = ctl[W_NREG]!;
    for (let i = 0; i < this.nreg; i++) {
      this.regBase[i] = ctl[W_REG + 2 * i]!;
      this.regSize[i] = ctl[W_REG + 2 * i + 1]!;
    }
    this.bsize = ctl[W_BSIZE]!;
    this.rxRing = ctl[qb + Q_RX_RING]!;
    this.rxMask = (1 << ctl[qb + Q_RX_LOG2]!) - 1;
    this.txRing = ctl[qb + Q_TX_RING]!;
    this.txMask = (1 << ctl[qb + Q_TX_LOG2]!) - 1;
    this.rxBuf = ctl[qb + Q_RX_BUF]!;
    this.txBuf = ctl[qb + Q_TX_BUF]!;
    this.txEfd = ctl[qb + Q_TX_EFD]!;
    this.rxEfd = ctl[qb + Q_RX_EFD]!;
    const w16 = this.w16;
    if (this.server) {
      this.rxCur = this.rxRing >= 0 ? Atomics.load(w16, (this.rxRing + RING_TAIL) >> 1) : 0;
      this.txCur = this.txRing >= 0 ? Atomics.load(w16, (this.txRing + RING_TAIL) >> 1) : 0;
    } else {
      this.rxCur = ctl[qb + Q_RX_CUR]!;
      this.txCur = this.txRing >= 0 ? Atomics.load(w16, (this.txRing + RING_HEAD) >> 1) : 0;
    }
  }

  /** Receives up to `max` packets, copied out of the memif buffers into frames of the pool. */
  rxBurst(bufs: Uint32Array, max: number): number {
    if (this.admin[0] !== 1) return 0;
    const ctl = this.ctl;
    Atomics.store(ctl, this.busyW, 1);
    const g = Atomics.load(ctl, W_GEN);
    if (g !== this.gen) this.resync(g);
    const n = this.rxRing < 0 || max <= 0 ? 0 : this.rxRingBurst(bufs, max);
    Atomics.store(ctl, this.busyW, 0);
    if (n === 0) this.stats[S.ST_RX_EMPTY_POLLS]!++;
    return n;
  }

  private rxRingBurst(bufs: Uint32Array, max: number): number {
    const w16 = this.w16;
    const w32 = this.w32;
    const ring = this.rxRing;
    const mask = this.rxMask;
    const server = this.server;
    // The producer's cursor: the client's head on a C2S ring, the server's tail on an S2C ring.
    const last = Atomics.load(w16, (ring + (server ? RING_HEAD : RING_TAIL)) >> 1);
    let cur = this.rxCur;
    let avail = (last - cur) & 0xffff;
    if (avail > mask + 1) avail = mask + 1; // a peer's bad cursor: at most one ring
    if (avail === 0) return 0;
    const want = avail < max ? avail : max;
    const got = this.mempool.allocBulk(bufs, want);
    const st = this.stats;
    if (got < want) st[S.ST_FILL_NOBUF]!++;
    const u8 = this.u8;
    const w8 = this.w8;
    const shift = this.shift;
    const room = this.room;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const portOf = this.portOf;
    const pid = this.pid;
    const bsize = this.bsize;
    let n = 0;
    let bytes = 0;
    let errors = 0;
    while (avail > 0 && n < got) {
      const s = cur & mask;
      const d = ring + RING_DESC + s * DESC_SIZE;
      const h = bufs[n]!;
      if ((w16[d >> 1]! & DESC_FLAG_NEXT) !== 0) {
        const used = this.gatherChain(h, cur, avail);
        if (used === 0) break; // the rest of the chain is not there yet
        cur = (cur + used) & 0xffff;
        avail -= used;
        const len = this.chainLen;
        if (len < 0) {
          errors++;
          continue;
        }
        dataLen[h] = len;
        portOf[h] = pid;
        bytes += len;
        n++;
        continue;
      }
      const len = w32[(d + DESC_LENGTH) >> 2]!;
      let src: number;
      if (server) {
        const region = w16[(d + DESC_REGION) >> 1]!;
        const off = w32[(d + DESC_OFFSET) >> 2]!;
        src = region < this.nreg && off + len <= this.regSize[region]! ? this.regBase[region]! + off : -1;
      } else src = len <= bsize ? this.rxBuf + s * bsize : -1;
      cur = (cur + 1) & 0xffff;
      avail--;
      if (src < 0 || len === 0 || len > room) {
        errors++;
        continue;
      }
      copy(u8, this.u32, ((h << shift) >>> 0) + dataOff[h]!, w8, w32, src, len);
      dataLen[h] = len;
      portOf[h] = pid;
      bytes += len;
      n++;
    }
    if (n < got) this.mempool.freeBulk(bufs, got - n, n);
    if (server) {
      Atomics.store(w16, (ring + RING_TAIL) >> 1, cur); // slots given back to the client
    } else {
      // Slots read go back to the server at once: head stays a whole ring ahead of the cursor.
      this.ctl[this.qb + Q_RX_CUR] = cur;
      const headW = (ring + RING_HEAD) >> 1;
      const head = w16[headW]!;
      const target = (cur + mask + 1) & 0xffff;
      for (let k = head; k !== target; k = (k + 1) & 0xffff) {
        const ks = k & mask;
        const d = ring + RING_DESC + ks * DESC_SIZE;
        w16[d >> 1] = 0;
        w16[(d + DESC_REGION) >> 1] = 0;
        w32[(d + DESC_LENGTH) >> 2] = bsize;
        w32[(d + DESC_OFFSET) >> 2] = this.rxBuf + ks * bsize;
      }
      Atomics.store(w16, headW, target);
    }
    this.rxCur = cur;
    st[S.ST_IPACKETS]! += n;
    st[S.ST_IBYTES]! += bytes;
    if (errors !== 0) st[S.ST_IERRORS]! += errors;
    return n;
  }

  /**
   * Copies a chained packet (descriptors with MEMIF_DESC_FLAG_NEXT) starting at slot `cur` into frame `h`.
   * Returns the slots it spans (0: its last descriptor has not arrived); `chainLen` is its length, or -1
   * when a descriptor is bad or the packet does not fit a frame (the slots are consumed all the same).
   */
  private gatherChain(h: number, cur: number, avail: number): number {
    const w16 = this.w16;
    const w32 = this.w32;
    const ring = this.rxRing;
    const mask = this.rxMask;
    const bsize = this.bsize;
    const dst = ((h << this.shift) >>> 0) + this.dataOff[h]!;
    let total = 0;
    let bad = false;
    for (let used = 1; used <= avail; used++) {
      const s = (cur + used - 1) & mask;
      const d = ring + RING_DESC + s * DESC_SIZE;
      const flags = w16[d >> 1]!;
      const len = w32[(d + DESC_LENGTH) >> 2]!;
      let src: number;
      if (this.server) {
        const region = w16[(d + DESC_REGION) >> 1]!;
        const off = w32[(d + DESC_OFFSET) >> 2]!;
        src = region < this.nreg && off + len <= this.regSize[region]! ? this.regBase[region]! + off : -1;
      } else src = len <= bsize ? this.rxBuf + s * bsize : -1;
      if (src < 0 || total + len > this.room) bad = true;
      if (!bad && len > 0) sys.copyBytes(this.u8, dst + total, this.w8, src, len);
      total += len;
      if ((flags & DESC_FLAG_NEXT) === 0) {
        this.chainLen = bad || total === 0 ? -1 : total;
        return used;
      }
    }
    return 0;
  }

  /**
   * Sends up to `n` packets: each is copied into the peer's next free buffer (chained over several when
   * longer than one) and its frame freed. Returns how many it took; the rest did not fit the ring (the
   * caller keeps them; counted in `odropped`). With the link down it takes and frees all, counted in
   * `odropped`.
   */
  txBurst(bufs: Uint32Array, n: number): number {
    if (this.admin[0] !== 1) return 0;
    if (n <= 0) return 0;
    const ctl = this.ctl;
    Atomics.store(ctl, this.busyW, 1);
    const g = Atomics.load(ctl, W_GEN);
    if (g !== this.gen) this.resync(g);
    let k: number;
    if (this.txRing < 0) {
      this.mempool.freeBulk(bufs, n);
      this.stats[S.ST_ODROPPED]! += n;
      k = n;
    } else k = this.txRingBurst(bufs, n);
    Atomics.store(ctl, this.busyW, 0);
    return k;
  }

  private txRingBurst(bufs: Uint32Array, n: number): number {
    const w16 = this.w16;
    const w32 = this.w32;
    const ring = this.txRing;
    const mask = this.txMask;
    const server = this.server;
    let slot = this.txCur;
    // Free slots: the client owns head and sees the server's tail; the server owns tail up to the client's head.
    const other = Atomics.load(w16, (ring + (server ? RING_HEAD : RING_TAIL)) >> 1);
    let free = server ? (other - slot) & 0xffff : mask + 1 - ((slot - other) & 0xffff);
    if (free > mask + 1 || free < 0) free = 0;
    const u8 = this.u8;
    const w8 = this.w8;
    const shift = this.shift;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const bsize = this.bsize;
    let k = 0;
    let bytes = 0;
    let errors = 0;
    for (; k < n && free > 0; k++) {
      const h = bufs[k]!;
      const len = dataLen[h]!;
      const s = slot & mask;
      const d = ring + RING_DESC + s * DESC_SIZE;
      let dst: number;
      let cap: number;
      if (server) {
        const region = w16[(d + DESC_REGION) >> 1]!;
        const off = w32[(d + DESC_OFFSET) >> 2]!;
        cap = w32[(d + DESC_LENGTH) >> 2]!;
        dst = region < this.nreg && off + cap <= this.regSize[region]! ? this.regBase[region]! + off : -1;
        if (dst < 0 || cap === 0) {
          // A descriptor the client filled badly: hand it back empty, try the packet in the next one.
          w16[d >> 1] = 0;
          w32[(d + DESC_LENGTH) >> 2] = 0;
          slot = (slot + 1) & 0xffff;
          free--;
          errors++;
          k--;
          continue;
        }
      } else {
        dst = this.txBuf + s * bsize;
        cap = bsize;
        w16[(d + DESC_REGION) >> 1] = 0;
        w32[(d + DESC_OFFSET) >> 2] = dst;
      }
      if (len <= cap) {
        copy(w8, w32, dst, u8, this.u32, ((h << shift) >>> 0) + dataOff[h]!, len);
        w16[d >> 1] = 0;
        w32[(d + DESC_LENGTH) >> 2] = len;
        slot = (slot + 1) & 0xffff;
        free--;
      } else {
        const used = this.scatterChain(h, len, slot, free);
        if (used === 0) break; // not enough free slots for the whole chain
        slot = (slot + used) & 0xffff;
        free -= used;
      }
      bytes += len;
    }
    if (k > 0 || errors > 0) {
      Atomics.store(w16, (ring + (server ? RING_TAIL : RING_HEAD)) >> 1, slot);
      this.txCur = slot;
      if (k > 0) this.mempool.freeBulk(bufs, k);
      // Wake the receiver unless it polls (MEMIF_RING_FLAG_MASK_INT).
      if ((w16[(ring + RING_FLAGS) >> 1]! & RING_FLAG_MASK_INT) === 0 && this.txEfd >= 0) {
        sys.write(this.txEfd, this.one, 0, 8);
        this.stats[S.ST_TX_KICKS]!++;
      }
    }
    S.countTx(this.stats, k, bytes, errors);
    if (k < n) this.stats[S.ST_ODROPPED]! += n - k;
    return k;
  }

  /** Copies frame `h` (`len` bytes) over descriptors from `slot`, chained; returns the slots used or 0 (not enough room). */
  private scatterChain(h: number, len: number, slot: number, free: number): number {
    const w16 = this.w16;
    const w32 = this.w32;
    const ring = this.txRing;
    const mask = this.txMask;
    const src = ((h << this.shift) >>> 0) + this.dataOff[h]!;
    let done = 0;
    for (let used = 1; used <= free; used++) {
      const s = (slot + used - 1) & mask;
      const d = ring + RING_DESC + s * DESC_SIZE;
      let dst: number;
      let cap: number;
      if (this.server) {
        const region = w16[(d + DESC_REGION) >> 1]!;
        const off = w32[(d + DESC_OFFSET) >> 2]!;
        cap = w32[(d + DESC_LENGTH) >> 2]!;
        dst = region < this.nreg && off + cap <= this.regSize[region]! ? this.regBase[region]! + off : -1;
        if (dst < 0 || cap === 0) return 0;
      } else {
        cap = this.bsize;
        dst = this.txBuf + s * cap;
        w16[(d + DESC_REGION) >> 1] = 0;
        w32[(d + DESC_OFFSET) >> 2] = dst;
      }
      const c = len - done < cap ? len - done : cap;
      sys.copyBytes(this.w8, dst, this.u8, src + done, c);
      done += c;
      w32[(d + DESC_LENGTH) >> 2] = c;
      w16[d >> 1] = done < len ? DESC_FLAG_NEXT : 0;
      if (done === len) return used;
    }
    return 0;
  }

  override readStats(): Record<string, number> {
    const r = super.readStats();
    r["rx_nombuf"] = this.stats[S.ST_FILL_NOBUF]!;
    return r;
  }

  /**
   * Waits up to `ms` for packets: asks the peer for interrupts on the RX ring (clears
   * MEMIF_RING_FLAG_MASK_INT), polls the ring's eventfd, and goes back to polling mode.
   */
  override waitRx(ms: number): boolean {
    const ctl = this.ctl;
    if (this.admin[0] !== 1) return super.waitRx(ms);
    Atomics.store(ctl, this.busyW, 1);
    const g = Atomics.load(ctl, W_GEN);
    if (g !== this.gen) this.resync(g);
    const ring = this.rxRing;
    if (ring < 0 || this.rxEfd < 0) {
      Atomics.store(ctl, this.busyW, 0);
      Atomics.notify(ctl, this.busyW);
      return super.waitRx(ms);
    }
    const w16 = this.w16;
    const flagsW = (ring + RING_FLAGS) >> 1;
    Atomics.store(w16, flagsW, 0);
    const last = Atomics.load(w16, (ring + (this.server ? RING_HEAD : RING_TAIL)) >> 1);
    let ready = last !== this.rxCur;
    if (!ready) {
      this.pfd[0] = this.rxEfd;
      this.pfd[1] = POLLIN;
      ready = sys.poll(this.pfd, 1, ms) > 0;
      if (ready) sys.read(this.rxEfd, this.scratch, 0, 8);
      this.stats[S.ST_RX_WAKEUPS]!++;
    }
    Atomics.store(w16, flagsW, RING_FLAG_MASK_INT);
    Atomics.store(ctl, this.busyW, 0);
    Atomics.notify(ctl, this.busyW);
    return ready;
  }

  override info(): LportInfo {
    const c = this.iface?.connInfo();
    return {
      ...super.info(), qid: this.qid, role: this.role, socket: this.socket, id: this.id, link: this.linkUp() ? "up" : "down",
      ...(c ? { state: c.state, connects: c.connects, disconnects: c.disconnects, lastError: c.lastError, remoteName: c.remoteName, remoteIfName: c.remoteIfName, log2RingSize: c.log2RingSize } : {}),
    };
  }

  /** Gives the queue to another object (one owner per queue). The port holds no frames. */
  override release(): void {
    this.claim.release();
  }

  /**
   * The creator's close detaches its queue from the interface (the last one disconnects the peer with
   * "Device closed", stops listening or reconnecting and releases the shared memory); another thread's
   * object only releases the queue.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.iface === null) {
      this.claim.release();
      return;
    }
    this.claim.close();
    this.iface.detach(this.qid);
  }
}
