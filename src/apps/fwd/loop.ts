/**
 * The forwarder's data-plane thread (a worker): opens its ports from their shared form and runs the mode
 * over them until told to stop. Per packet: handle arithmetic and in-place header rewrites only.
 *
 * One owner per ring: a port is served by exactly one thread, which alone reads its RX ring and writes its
 * TX ring (the app refuses a config that lists a port in two threads). In fwd mode a frame bound for a
 * port that another thread serves is handed to that thread through the port's inbox, a multi-producer,
 * single-consumer ring of handles; the owner drains its inboxes into its TX rings on every loop (CNDP's
 * way: a port is served by one thread). A frame that finds the inbox full is freed and counted as a drop.
 */
import { openShared, builtinDrivers } from "../../pktdev/registry.js";
import type { Lport, LportShared } from "../../pktdev/lport.js";
import type { Mempool } from "../../mem/mempool.js";
import { Ring, type RingShared } from "../../ring/ring.js";
import { IdleManager } from "../../runtime/idle.js";
import {
  ThreadControl, STATE_RUN, STATE_PAUSE, STATUS_RUNNING, STATUS_IDLE, CTL_STATE, CTL_HEARTBEAT,
  TC_LOOPS, TC_IDLE_ENTRIES, TC_IDLE_MS, TC_RX, TC_TX, TC_DROP, TC_HANDOFF,
} from "../../runtime/control.js";
import { M_DROP, M_LB, M_TXONLY, M_TXONLY_RX, M_FWD, macSwap, fillTemplate, fwdPort } from "./modes.js";

export interface FwdThreadData {
  name: string;
  mode: number;
  burst: number;
  /** The thread's ports, in order. */
  ports: LportShared[];
  /**
   * fwd mode: where each port of the app (by port index, as fwdPort() numbers them) is reached from this
   * thread: `local` is the index in `ports` when this thread serves it, else -1 and `inbox` is the ring
   * of the thread that does. Empty in the other modes.
   */
  dests: { local: number; inbox: RingShared | null }[];
  /** fwd mode: this thread's inbox per port (same order as `ports`), null where no other thread sends. */
  inboxes: (RingShared | null)[];
  idleTimeoutMs: number;
  intrTimeoutMs: number;
  /** tx-only template (32-bit words) and packet size. */
  template: Uint32Array | null;
  pktSize: number;
  /** Stop after this many loops (tests and benchmarks); 0 runs until told to stop. */
  maxLoops?: number;
}

/** Worker entry: opens the ports (claiming their rings), forwards, then releases them. */
export async function run(data: FwdThreadData, control: ThreadControl): Promise<void> {
  const pools = new Map<string, Mempool>();
  const drivers = builtinDrivers();
  const ports: Lport[] = [];
  try {
    for (const s of data.ports) ports.push(openShared(s, pools, drivers));
    const mempool = ports.find((p) => p.pool !== null)?.pool ?? firstPool(pools);
    const fds = ports.map((p) => p.pollFd()).filter((fd) => fd >= 0);
    // A thread that other threads hand frames to cannot be woken by them (its poll() waits on its own
    // sockets only): idle, it checks its inboxes every millisecond, a thousand cheap wake-ups a second.
    const hasInbox = data.inboxes.some((r) => r !== null);
    const intr = hasInbox ? Math.min(data.intrTimeoutMs > 0 ? data.intrTimeoutMs : 100, 1) : data.intrTimeoutMs;
    const idle = new IdleManager(data.idleTimeoutMs, intr, fds);
    forward(data, control, ports, mempool, idle);
  } finally {
    // A worker's port objects give the rings back (the main thread closes the sockets themselves).
    for (const p of ports) p.release();
    for (const mp of pools.values()) mp.flushCache();
  }
}

function firstPool(pools: Map<string, Mempool>): Mempool | null {
  for (const mp of pools.values()) return mp;
  return null;
}

/** The loop. Exported for tests and the benchmark, which run it on their own thread. */
export function forward(data: FwdThreadData, control: ThreadControl, ports: Lport[], mempool: Mempool | null, idle: IdleManager | null): void {
  const ctl = control.ctl;
  const tc = control.counters;
  const burst = data.burst;
  const mode = data.mode;
  const maxLoops = data.maxLoops ?? 0;
  const bufs = new Uint32Array(burst);
  const nports = ports.length;
  const u8 = mempool?.umem.u8 ?? new Uint8Array(0);
  const u16 = mempool?.umem.u16 ?? new Uint16Array(0);
  const u32 = mempool?.umem.u32 ?? new Uint32Array(0);
  const shift = mempool?.umem.shift ?? 11;
  const dataOff = mempool?.mbufs.dataOff ?? new Uint16Array(0);
  const dataLen = mempool?.mbufs.dataLen ?? new Uint16Array(0);
  const tpl = data.template ?? new Uint32Array(16);
  const tpl8 = new Uint8Array(tpl.buffer, tpl.byteOffset, tpl.byteLength);
  const pktSize = data.pktSize;
  // fwd mode: one pending burst per destination port; local ports by index, others through inboxes.
  const nall = mode === M_FWD ? data.dests.length : 0;
  const fwdBufs: Uint32Array[] = [];
  const fwdCount = new Int32Array(nall);
  const destLocal = new Int32Array(nall);
  const destInbox: (Ring | null)[] = [];
  for (let i = 0; i < nall; i++) {
    fwdBufs.push(new Uint32Array(burst));
    const d = data.dests[i]!;
    destLocal[i] = d.local;
    destInbox.push(d.inbox ? Ring.fromShared(d.inbox) : null);
  }
  const inboxes: (Ring | null)[] = ports.map((_, i) => {
    const s = mode === M_FWD ? data.inboxes[i] : null;
    return s ? Ring.fromShared(s) : null;
  });
  const dropBuf = new Uint32Array(burst);
  const inBuf = new Uint32Array(burst);

  control.setStatus(STATUS_RUNNING);
  let loops = 0;
  let rxTotal = 0, txTotal = 0, dropTotal = 0, handoffTotal = 0;
  for (;;) {
    const state = Atomics.load(ctl, CTL_STATE);
    if (state !== STATE_RUN) {
      if (state === STATE_PAUSE) {
        Atomics.wait(ctl, CTL_STATE, STATE_PAUSE, 100);
        continue;
      }
      break;
    }
    if (maxLoops > 0 && loops >= maxLoops) break;
    let received = 0;
    for (let p = 0; p < nports; p++) {
      const port = ports[p]!;
      const pool = port.pool ?? mempool!;
      if (mode === M_TXONLY || mode === M_TXONLY_RX) {
        if (mode === M_TXONLY_RX) {
          const r = port.rxBurst(bufs, burst);
          if (r > 0) {
            received += r;
            rxTotal += r;
            pool.freeBulk(bufs, r);
          }
        }
        const n = pool.allocBulk(bufs, burst);
        if (n === 0) continue;
        fillTemplate(u8, u32, dataOff, dataLen, shift, tpl, tpl8, pktSize, bufs, n);
        const sent = port.txBurst(bufs, n);
        txTotal += sent;
        if (sent < n) pool.freeBulk(bufs, n - sent, sent);
        if (mode === M_TXONLY) received += sent;
        continue;
      }
      if (mode === M_FWD) {
        // Frames other threads handed over for this port.
        const inbox = inboxes[p];
        if (inbox !== null && inbox !== undefined) {
          const k = inbox.dequeueBurst(inBuf, burst);
          if (k > 0) {
            received += k;
            const sent = port.txBurst(inBuf, k);
            txTotal += sent;
            if (sent < k) {
              pool.freeBulk(inBuf, k - sent, sent);
              dropTotal += k - sent;
            }
          }
        }
      }
      const n = port.rxBurst(bufs, burst);
      if (n === 0) continue;
      received += n;
      rxTotal += n;
      if (mode === M_DROP) {
        pool.freeBulk(bufs, n);
        dropTotal += n;
      } else if (mode === M_LB) {
        macSwap(u8, u16, dataOff, shift, bufs, n);
        const sent = port.txBurst(bufs, n);
        txTotal += sent;
        if (sent < n) {
          pool.freeBulk(bufs, n - sent, sent);
          dropTotal += n - sent;
        }
      } else if (mode === M_FWD) {
        let nd = 0;
        for (let i = 0; i < n; i++) {
          const h = bufs[i]!;
          const dst = fwdPort(u8, dataOff, shift, h);
          if (dst >= nall) {
            dropBuf[nd++] = h;
            continue;
          }
          const fb = fwdBufs[dst]!;
          fb[fwdCount[dst]!] = h;
          fwdCount[dst] = fwdCount[dst]! + 1;
        }
        if (nd > 0) {
          pool.freeBulk(dropBuf, nd);
          dropTotal += nd;
        }
        for (let d = 0; d < nall; d++) {
          const c = fwdCount[d]!;
          if (c === 0) continue;
          fwdCount[d] = 0;
          const fb = fwdBufs[d]!;
          const local = destLocal[d]!;
          let taken: number;
          if (local >= 0) {
            taken = ports[local]!.txBurst(fb, c);
            txTotal += taken;
          } else {
            taken = destInbox[d]!.enqueueBurst(fb, c);
            handoffTotal += taken;
          }
          if (taken < c) {
            pool.freeBulk(fb, c - taken, taken);
            dropTotal += c - taken;
          }
        }
      }
    }
    if ((++loops & 1023) === 0) {
      tc[TC_LOOPS] = loops;
      tc[TC_RX] = rxTotal;
      tc[TC_TX] = txTotal;
      tc[TC_DROP] = dropTotal;
      tc[TC_HANDOFF] = handoffTotal;
      Atomics.add(ctl, CTL_HEARTBEAT, 1);
    }
    if (idle !== null && idle.update(received)) {
      control.setStatus(STATUS_IDLE);
      tc[TC_IDLE_ENTRIES] = idle.entries;
      tc[TC_IDLE_MS] = idle.idleMs;
      control.setStatus(STATUS_RUNNING);
    }
  }
  // Drain: let TX rings finish, so stats and frames settle before the main thread closes the ports.
  // Frames still in inboxes (other threads may hand over until they stop) are freed by the main thread.
  for (let p = 0; p < nports; p++) {
    const port = ports[p]!;
    for (let i = 0; i < 4; i++) port.txBurst(bufs, 0);
  }
  tc[TC_LOOPS] = loops;
  tc[TC_RX] = rxTotal;
  tc[TC_TX] = txTotal;
  tc[TC_DROP] = dropTotal;
  tc[TC_HANDOFF] = handoffTotal;
}
