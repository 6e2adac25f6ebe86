/**
 * A logical port (CNDP's pktdev lport): one burst API over drivers (net_af_xdp, net_ring, net_null).
 *
 * rxBurst/txBurst move packet handles in Uint32Array bursts. txBurst returns how many the port took; the
 * caller still owns the rest (free or retry them), as with CNDP's pktdev_tx_burst. An admin-down port
 * receives and sends nothing. Counters live in a shared Float64Array (indices in xsk/stats.ts) so that
 * other threads read them without stopping the data path.
 */
import * as S from "../xsk/stats.js";
import type { Mempool } from "../mem/mempool.js";

export interface LportInfo {
  name: string;
  pid: number;
  driver: string;
  netdev: string | null;
  qid: number;
  mac: string;
  /** Driver-specific details (zero-copy, ring sizes, ...). */
  [k: string]: unknown;
}

/** Plain, structured-cloneable form of a port, to open it in a worker thread. */
export interface LportShared {
  driver: string;
  name: string;
  pid: number;
  stats: SharedArrayBuffer;
  admin: SharedArrayBuffer;
  mac: string;
  [k: string]: unknown;
}

export abstract class Lport {
  readonly name: string;
  readonly pid: number;
  readonly driver: string;
  readonly stats: Float64Array;
  /** `admin[0]`: 1 = admin up, 0 = down. */
  protected readonly admin: Int32Array;
  protected readonly mac: string;
  /** Where this port's buffers come from and go back to (null for ports that only pass handles on). */
  abstract readonly pool: Mempool | null;

  protected constructor(s: LportShared) {
    this.name = s.name;
    this.pid = s.pid;
    this.driver = s.driver;
    this.stats = new Float64Array(s.stats);
    this.admin = new Int32Array(s.admin);
    this.mac = s.mac;
  }

  /** Receives up to `max` packets into `bufs[0..)`; returns the count. */
  abstract rxBurst(bufs: Uint32Array, max: number): number;
  /** Sends up to `n` packets from `bufs[0..n)`; returns how many were taken. */
  abstract txBurst(bufs: Uint32Array, n: number): number;
  /** The plain form for another thread. */
  abstract toShared(): LportShared;
  /** Releases what the port holds (sockets, programs, rings). */
  abstract close(): void;

  /**
   * Gives up this object's hold on the port's data path without closing the port, so that one object in
   * another thread may drive it (one owner per ring). A port opened with `fromShared` releases it in
   * close() too. Ports without exclusive rings do nothing.
   */
  release(): void {}

  /** Counters by name (control path). */
  readStats(): Record<string, number> {
    const r: Record<string, number> = {};
    S.STAT_NAMES.forEach((n, i) => (r[n] = this.stats[i]!));
    return r;
  }

  resetStats(): void {
    this.stats.fill(0);
  }

  isUp(): boolean {
    return Atomics.load(this.admin, 0) === 1;
  }

  /** Admin state (CNDP's pktdev_admin_state_up/down). */
  setAdmin(up: boolean): void {
    Atomics.store(this.admin, 0, up ? 1 : 0);
  }

  macAddr(): string {
    return this.mac;
  }

  info(): LportInfo {
    return { name: this.name, pid: this.pid, driver: this.driver, netdev: null, qid: 0, mac: this.mac };
  }

  /** An fd to poll() for RX readiness (idle mode), or -1. */
  pollFd(): number {
    return -1;
  }

  /** Blocks up to `ms` for RX readiness; ports without an fd just sleep. Returns true when ready. */
  waitRx(ms: number): boolean {
    Atomics.wait(this.admin, 1, 0, ms);
    return false;
  }
}

/** Shared state for a new port: counters and admin word (up). */
export function newPortState(): { stats: SharedArrayBuffer; admin: SharedArrayBuffer } {
  const admin = new SharedArrayBuffer(8);
  new Int32Array(admin)[0] = 1;
  return { stats: new SharedArrayBuffer(S.ST_COUNT * 8), admin };
}
