/**
 * net_pcap (xdplane's own driver): RX replays a pcap file, TX writes what the port sends to a pcap file.
 * Replaying captures through any app, and tests without root.
 *
 * RX copies the file's frames in order into buffers from the pool, `loop` times (0: forever), at `rate`
 * packets per second when paced: frame k (counted from the first rxBurst, over all loops) is released once
 * k / rate seconds have passed on the port's clock, so a receiver that falls behind catches up with full
 * bursts. When the replay is over, rxBurst returns 0. TX appends each frame, stamped with the wall clock
 * of its burst, to the `tx` file (buffered; written out when the buffer fills, at release and at close) and
 * frees it; without `tx` sent frames are counted and freed. The replay position lives in shared memory, so
 * a worker thread's object goes on where the creator's stopped.
 */
import { Lport, newPortState, type LportInfo, type LportShared } from "./lport.js";
import { PortClaim } from "./port-claim.js";
import { PcapIndex, PcapWriter, type PcapIndexShared } from "./pcap-file.js";
import { Mempool, type MempoolShared } from "../mem/mempool.js";
import { Clock, MonoClock, CLOCK_REALTIME } from "../sys/clock.js";
import { sys } from "../sys/native.js";
import * as S from "../xsk/stats.js";

/** A clock as the port reads it: `read()` puts seconds and nanoseconds in `ts` (see src/sys/clock.ts). */
export type PcapClock = Pick<Clock, "read" | "ts">;

// Shared state: Int32 word 0 is the claim; Float64 words from byte 8.
const W_CLAIM = 0;
const F_INDEX = 1;
const F_LOOPS = 2;
const F_T0 = 3;
const F_RELEASED = 4;
const STATE_BYTES = 8 * 6;

export interface PcapOptions {
  name: string;
  pid: number;
  mempool: Mempool;
  /** pcap file to replay on RX. */
  rx?: string;
  /** pcap file to write the frames sent (created or truncated). */
  tx?: string;
  /** Packets per second; 0 (default): as fast as rxBurst is called. */
  rate?: number;
  /** Times to play the file; 0: forever. Default 1. */
  loop?: number;
  /** The pacing clock (default CLOCK_MONOTONIC); tests pass their own. Not carried to other threads. */
  clock?: PcapClock;
  /** The clock stamped on written frames (default CLOCK_REALTIME). Not carried to other threads. */
  wallClock?: PcapClock;
  mac?: string;
}

export interface PcapShared extends LportShared {
  mempool: MempoolShared;
  rxFile: PcapIndexShared | null;
  txPath: string | null;
  txFd: number;
  rate: number;
  loop: number;
  state: SharedArrayBuffer;
}

export class PcapPort extends Lport {
  readonly pool: Mempool;
  readonly rate: number;
  readonly loop: number;
  readonly rxFile: PcapIndex | null;
  readonly txPath: string | null;
  private readonly mempool: Mempool;
  private readonly writer: PcapWriter | null;
  private readonly clock: PcapClock;
  private readonly wall: PcapClock;
  private readonly st: Int32Array;
  private readonly fs: Float64Array;
  private readonly claim: PortClaim;
  private readonly creator: boolean;
  private readonly data: Uint8Array;
  private readonly offsets: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly count: number;
  private readonly u8: Uint8Array;
  private readonly shift: number;
  private readonly dataOff: Uint16Array;
  private readonly dataLen: Uint16Array;
  private readonly portOf: Uint16Array;
  private closed = false;

  private constructor(s: PcapShared, mempool: Mempool, writer: PcapWriter | null, creator: boolean, clock: PcapClock, wall: PcapClock) {
    super(s);
    this.mempool = mempool;
    this.pool = mempool;
    this.rate = s.rate;
    this.loop = s.loop;
    this.rxFile = s.rxFile ? PcapIndex.fromShared(s.rxFile) : null;
    this.txPath = s.txPath;
    this.writer = writer;
    this.creator = creator;
    this.clock = clock;
    this.wall = wall;
    this.st = new Int32Array(s.state, 0, 2);
    this.fs = new Float64Array(s.state);
    this.claim = new PortClaim(this.st, W_CLAIM, `net_pcap ${s.name}`);
    this.data = this.rxFile?.data ?? new Uint8Array(0);
    this.offsets = this.rxFile?.offsets ?? new Uint32Array(0);
    this.lengths = this.rxFile?.lengths ?? new Uint32Array(0);
    this.count = this.rxFile?.count ?? 0;
    const u = mempool.umem;
    this.u8 = u.u8;
    this.shift = u.shift;
    this.dataOff = mempool.mbufs.dataOff;
    this.dataLen = mempool.mbufs.dataLen;
    this.portOf = mempool.mbufs.port;
  }

  /**
   * Reads the `rx` file (every frame must fit a buffer: 1 byte to frame size - headroom) and creates the
   * `tx` file. Throws naming the file and the record at fault, leaving no file open.
   */
  static create(o: PcapOptions): PcapPort {
    const rate = o.rate ?? 0;
    const loop = o.loop ?? 1;
    if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`net_pcap ${o.name}: rate ${rate} must be 0 (unpaced) or more packets per second`);
    if (!Number.isInteger(loop) || loop < 0) throw new RangeError(`net_pcap ${o.name}: loop ${loop} must be an integer, 0 for forever`);
    if (o.rx !== undefined && o.rx === o.tx) throw new RangeError(`net_pcap ${o.name}: rx and tx name the same file '${o.rx}'`);
    const rxFile = o.rx !== undefined ? PcapIndex.read(o.rx) : null;
    if (rxFile) {
      const room = o.mempool.umem.frameSize - o.mempool.umem.headroom;
      for (let i = 0; i < rxFile.count; i++) {
        const len = rxFile.lengths[i]!;
        if (len === 0 || len > room) {
          throw new RangeError(`net_pcap ${o.name}: record ${i} of '${o.rx}' is ${len} bytes; frames of 1 to ${room} bytes fit a ${o.mempool.umem.frameSize}-byte buffer`);
        }
      }
    }
    const writer = o.tx !== undefined ? PcapWriter.create(o.tx) : null;
    const state = new SharedArrayBuffer(STATE_BYTES);
    const f = new Float64Array(state);
    f[F_T0] = -1;
    const port = new PcapPort({
      driver: "net_pcap", name: o.name, pid: o.pid, mac: o.mac ?? "00:00:00:00:00:00", ...newPortState(),
      mempool: o.mempool.toShared(), rxFile: rxFile?.toShared() ?? null, txPath: o.tx ?? null, txFd: writer?.fd ?? -1,
      rate, loop, state,
    }, o.mempool, writer, true, o.clock ?? new MonoClock(), o.wallClock ?? new Clock(CLOCK_REALTIME));
    port.claim.hold();
    return port;
  }

  /** Opens the port in another thread and claims it (throws while another object drives it). */
  static fromShared(s: PcapShared, mempool?: Mempool, clock?: PcapClock): PcapPort {
    const writer = s.txFd >= 0 ? PcapWriter.onFd(s.txFd, s.txPath ?? "") : null;
    const p = new PcapPort(s, mempool ?? Mempool.fromShared(s.mempool), writer, false, clock ?? new MonoClock(), new Clock(CLOCK_REALTIME));
    p.claim.claim();
    return p;
  }

  toShared(): PcapShared {
    return {
      driver: this.driver, name: this.name, pid: this.pid, mac: this.mac,
      stats: this.stats.buffer as SharedArrayBuffer, admin: this.admin.buffer as SharedArrayBuffer,
      mempool: this.mempool.toShared(), rxFile: this.rxFile?.toShared() ?? null, txPath: this.txPath,
      txFd: this.writer?.fd ?? -1, rate: this.rate, loop: this.loop, state: this.fs.buffer as SharedArrayBuffer,
    };
  }

  /** Frames the schedule allows now, at most `max` (paced ports: due since the first rxBurst, less released). */
  private allowed(max: number): number {
    if (this.rate === 0) return max;
    const c = this.clock;
    c.read();
    const now = c.ts[0]! * 1e9 + c.ts[1]!;
    const fs = this.fs;
    if (fs[F_T0]! < 0) fs[F_T0] = now;
    const due = Math.floor(((now - fs[F_T0]!) * this.rate) / 1e9) + 1 - fs[F_RELEASED]!;
    return due < max ? due : max;
  }

  /** The next frames of the file, as many as the schedule allows (see the module comment). */
  rxBurst(bufs: Uint32Array, max: number): number {
    if (this.admin[0] !== 1) return 0;
    const fs = this.fs;
    const count = this.count;
    const loopMax = this.loop;
    let loops = fs[F_LOOPS]!;
    if (count === 0 || (loopMax !== 0 && loops >= loopMax)) {
      this.stats[S.ST_RX_EMPTY_POLLS]!++;
      return 0;
    }
    const want = this.allowed(max);
    if (want <= 0) {
      this.stats[S.ST_RX_EMPTY_POLLS]!++;
      return 0;
    }
    const got = this.mempool.allocBulk(bufs, want);
    const u8 = this.u8;
    const data = this.data;
    const offsets = this.offsets;
    const lengths = this.lengths;
    const shift = this.shift;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const portOf = this.portOf;
    const pid = this.pid;
    let idx = fs[F_INDEX]!;
    let n = 0;
    let bytes = 0;
    while (n < got) {
      const h = bufs[n]!;
      const len = lengths[idx]!;
      sys.copyBytes(u8, ((h << shift) >>> 0) + dataOff[h]!, data, offsets[idx]!, len);
      dataLen[h] = len;
      portOf[h] = pid;
      bytes += len;
      n++;
      if (++idx === count) {
        idx = 0;
        loops++;
        if (loopMax !== 0 && loops >= loopMax) break;
      }
    }
    if (got > n) this.mempool.freeBulk(bufs, got - n, n);
    fs[F_INDEX] = idx;
    fs[F_LOOPS] = loops;
    fs[F_RELEASED] = fs[F_RELEASED]! + n;
    S.countRx(this.stats, n, bytes, 0, want - got);
    return n;
  }

  /** Writes the frames to the `tx` file (when there is one) and frees them; takes them all. */
  txBurst(bufs: Uint32Array, n: number): number {
    if (this.admin[0] !== 1) return 0;
    const dataLen = this.dataLen;
    let bytes = 0;
    let errors = 0;
    const w = this.writer;
    if (w !== null && n > 0) {
      const wall = this.wall;
      wall.read();
      const sec = wall.ts[0]!;
      const nsec = wall.ts[1]!;
      const u8 = this.u8;
      const shift = this.shift;
      const dataOff = this.dataOff;
      for (let i = 0; i < n; i++) {
        const h = bufs[i]!;
        const len = dataLen[h]!;
        if (w.append(u8, ((h << shift) >>> 0) + dataOff[h]!, len, sec, nsec)) bytes += len;
        else errors++;
      }
    } else {
      for (let i = 0; i < n; i++) bytes += dataLen[bufs[i]!]!;
    }
    if (n > 0) this.mempool.freeBulk(bufs, n);
    S.countTx(this.stats, n - errors, bytes, errors);
    return n;
  }

  /** Whether the replay is over: every loop played (never with `loop` 0), or nothing to replay. */
  replayDone(): boolean {
    return this.count === 0 || (this.loop !== 0 && this.fs[F_LOOPS]! >= this.loop);
  }

  /** Frames replayed so far (over all loops). */
  replayed(): number {
    return this.fs[F_RELEASED]!;
  }

  override readStats(): Record<string, number> {
    const r = super.readStats();
    r["rx_nombuf"] = this.stats[S.ST_FILL_NOBUF]!;
    return r;
  }

  override info(): LportInfo {
    return {
      ...super.info(), rx: this.rxFile?.path ?? null, tx: this.txPath, rate: this.rate, loop: this.loop,
      records: this.count, loopsDone: this.fs[F_LOOPS]!, replayed: this.fs[F_RELEASED]!,
    };
  }

  /** Writes out the frames this object buffered to the `tx` file (the data path writes when the buffer fills). */
  flush(): void {
    this.writer?.flush();
  }

  /** Writes out the frames this object buffered and gives the port to another object. */
  override release(): void {
    this.writer?.flush();
    this.claim.release();
  }

  /** Writes out what is buffered; the creator's close also closes the `tx` file. Holds no frames. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.creator) {
      this.writer?.flush();
      this.claim.release();
      return;
    }
    this.claim.close();
    this.writer?.close();
  }
}
