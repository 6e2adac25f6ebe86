/**
 * Sending a burst's frames to the app's ports from one worker: one pending buffer per destination port;
 * `flush` sends each buffer on the port when this thread serves it, or hands it to the port's inbox (the
 * thread that serves it sends it: one owner per ring). Frames a TX ring or an inbox does not take are
 * freed and counted as drops. Used by fwd, l3fwd and the ACL modes.
 *
 * @example
 * const d = new Dispatcher(ports, data.dests, burst);
 * d.bufs[dst]![d.count[dst]!] = h; d.count[dst]!++; // per frame
 * d.flush(pool);                                     // per burst
 */
import type { Lport } from "../../pktdev/lport.js";
import type { Mempool } from "../../mem/mempool.js";
import { Ring, type RingShared } from "../../ring/ring.js";

/** How a destination port is reached from this thread. */
export interface DestSpec {
  /** Index in the thread's own ports when it serves the port, else -1. */
  local: number;
  /** The inbox of the thread that serves the port (when `local` is -1). */
  inbox: RingShared | null;
}

/**
 * Per-destination buffers and the flush. Totals (`tx`, `handoff`, `drop`) grow with every flush.
 *
 * @example
 * const d = new Dispatcher([p0, p1], [{ local: 0, inbox: null }, { local: 1, inbox: null }], 64);
 */
export class Dispatcher {
  /** Destination ports (every port of the app, by index). */
  readonly n: number;
  readonly bufs: Uint32Array[] = [];
  readonly count: Int32Array;
  private readonly local: Int32Array;
  private readonly inbox: (Ring | null)[] = [];
  private readonly ports: readonly Lport[];
  /** Frames sent on this thread's ports, handed to other threads, and freed because nothing took them. */
  tx = 0;
  handoff = 0;
  drop = 0;

  constructor(ports: readonly Lport[], dests: readonly DestSpec[], burst: number) {
    this.ports = ports;
    this.n = dests.length;
    this.count = new Int32Array(this.n);
    this.local = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const d = dests[i]!;
      this.bufs.push(new Uint32Array(burst));
      this.local[i] = d.local;
      this.inbox.push(d.local < 0 && d.inbox ? Ring.fromShared(d.inbox) : null);
    }
  }

  /** Sends or hands over every pending buffer; frees what is not taken (into `pool`). */
  flush(pool: Mempool): void {
    for (let d = 0; d < this.n; d++) {
      const c = this.count[d]!;
      if (c === 0) continue;
      this.count[d] = 0;
      const fb = this.bufs[d]!;
      const local = this.local[d]!;
      let taken: number;
      if (local >= 0) {
        taken = this.ports[local]!.txBurst(fb, c);
        this.tx += taken;
      } else {
        const ib = this.inbox[d];
        taken = ib ? ib.enqueueBurst(fb, c) : 0;
        this.handoff += taken;
      }
      if (taken < c) {
        pool.freeBulk(fb, c - taken, taken);
        this.drop += c - taken;
      }
    }
  }
}
