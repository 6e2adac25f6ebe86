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
import { M_DROP, M_LB, M_TXONLY, M_TXONLY_RX, M_FWD, M_L3FWD, M_ACL_STRICT, M_ACL_PERMISSIVE, macSwap, fillTemplate, fwdPort, sendsToAnyPort } from "./modes.js";
import { Dispatcher, type DestSpec } from "./dispatch.js";
import { L3fwdStage } from "./l3fwd.js";
import { AclStage } from "./acl.js";
import { MC_WORDS } from "./mode-counters.js";
import { NextHopTable } from "./next-hops.js";
import type { L3fwdShared } from "./routes.js";
import { Fib4 } from "../../lookup/fib/index.js";
import { Acl, type AclShared } from "../../lookup/acl/index.js";
import { Qsbr, type QsbrShared } from "../../lookup/qsbr.js";
import { SharedSlot, type SharedSlotShared } from "../../lookup/shared-slot.js";

/** l3fwd's tables in a worker. */
export interface L3fwdThreadData {
  routes: L3fwdShared;
  /** Source MAC of every port of the app, 8 bytes each (next-hops.ts NH_MAC_STRIDE). */
  portMacs: SharedArrayBuffer;
  qsbr: QsbrShared;
  /** This thread's QSBR reader slot. */
  qsbrSlot: number;
}

/** The ACL modes' classifier in a worker. */
export interface AclThreadData {
  slot: SharedSlotShared<AclShared>;
  permissive: boolean;
}

export interface FwdThreadData {
  name: string;
  mode: number;
  burst: number;
  /** The thread's ports, in order. */
  ports: LportShared[];
  /**
   * fwd, l3fwd and ACL modes: where each port of the app (by port index, as fwdPort() numbers them) is
   * reached from this thread: `local` is the index in `ports` when this thread serves it, else -1 and
   * `inbox` is the ring of the thread that does. Empty in the other modes.
   */
  dests: DestSpec[];
  /** fwd, l3fwd, ACL: this thread's inbox per port (same order as `ports`), null where no other thread sends. */
  inboxes: (RingShared | null)[];
  /** Index among the app's ports of each of `ports` (default: 0, 1, ...). */
  portIndex?: number[];
  /** l3fwd and ACL modes: per-port counters, MC_WORDS per port of the app (mode-counters.ts). */
  modeCounters?: SharedArrayBuffer | null;
  l3fwd?: L3fwdThreadData | null;
  acl?: AclThreadData | null;
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

/**
 * One small instance of each class whose objects forward() makes per call and reads in its loop, kept for
 * the life of the module (made by the first forward()). V8's optimized code holds the maps (hidden
 * classes) of the objects it reads weakly; once a forward() returns, its Dispatcher, stage, FIB and QSBR
 * views die, and with no other instance left a full GC frees their maps and throws the optimized loop
 * away ("weak objects" deopt, seen with --trace-deopt). The next forward() then starts in unoptimized code,
 * which boxes every Float64Array counter update until it is optimized again: a young-generation GC in a
 * loop that otherwise allocates nothing. A worker calls forward() once; tests and benchmarks call it again.
 */
let shapeAnchors: readonly object[] | null = null;

function anchorShapes(): void {
  if (shapeAnchors !== null) return;
  const sab = new SharedArrayBuffer(8);
  const fib = Fib4.fromShared({ tbl24: sab, tbl8: sab, maxTbl8Groups: 0 });
  const nh = NextHopTable.fromShared({ mac: new SharedArrayBuffer(8), port: new SharedArrayBuffer(4), capacity: 1 });
  shapeAnchors = [new Dispatcher([], [{ local: 0, inbox: null }], 1), fib, nh, new L3fwdStage(fib, nh, new Uint8Array(8), 1), Qsbr.create(1)];
}

/** The loop. Exported for tests and the benchmark, which run it on their own thread. */
export function forward(data: FwdThreadData, control: ThreadControl, ports: Lport[], mempool: Mempool | null, idle: IdleManager | null): void {
  anchorShapes();
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
  // fwd, l3fwd, ACL: one pending burst per destination port; local ports by index, others through inboxes.
  const anyPort = sendsToAnyPort(mode);
  const disp = new Dispatcher(ports, anyPort ? data.dests : [], burst);
  const nall = disp.n;
  const inboxes: (Ring | null)[] = ports.map((_, i) => {
    const s = anyPort ? data.inboxes[i] : null;
    return s ? Ring.fromShared(s) : null;
  });
  const portIndex = Int32Array.from(data.portIndex ?? ports.map((_, i) => i));
  const mc = data.modeCounters ? new Float64Array(data.modeCounters) : new Float64Array(MC_WORDS * Math.max(nall, nports));
  // l3fwd: the FIB and next hops (read-only views), the ports' MACs, and this thread's QSBR slot.
  let l3: L3fwdStage | null = null;
  let qsbr: Qsbr | null = null;
  const qslot = data.l3fwd?.qsbrSlot ?? 0;
  if (mode === M_L3FWD) {
    const l = data.l3fwd;
    if (!l) throw new Error("l3fwd mode: the thread has no route tables (FwdThreadData.l3fwd)");
    l3 = new L3fwdStage(Fib4.fromShared(l.routes.fib), NextHopTable.fromShared(l.routes.nextHops), new Uint8Array(l.portMacs), burst);
    qsbr = Qsbr.fromShared(l.qsbr);
  }
  // ACL modes: the classifier of the last /acl/build, polled once per loop.
  let aclSlot: SharedSlot<AclShared> | null = null;
  let aclStage: AclStage | null = null;
  if (mode === M_ACL_STRICT || mode === M_ACL_PERMISSIVE) {
    const a = data.acl;
    if (!a) throw new Error(`${mode === M_ACL_STRICT ? "acl-strict" : "acl-permissive"} mode: the thread has no ACL (FwdThreadData.acl)`);
    aclSlot = SharedSlot.fromShared(a.slot);
    aclStage = new AclStage(Acl.fromShared(aclSlot.current), mode === M_ACL_PERMISSIVE, burst);
  }
  const idleSleeps = idle !== null && idle.idleTimeoutMs > 0;
  const dropBuf = new Uint32Array(burst);
  const inBuf = new Uint32Array(burst);

  control.setStatus(STATUS_RUNNING);
  qsbr?.online(qslot);
  let loops = 0;
  let paused = false;
  let rxTotal = 0, txTotal = 0, dropTotal = 0;
  try {
    for (;;) {
      const state = Atomics.load(ctl, CTL_STATE);
      if (state !== STATE_RUN) {
        if (state === STATE_PAUSE) {
          // A paused thread holds no table references: the control thread's grace periods go on.
          if (!paused) qsbr?.offline(qslot);
          paused = true;
          Atomics.wait(ctl, CTL_STATE, STATE_PAUSE, 100);
          continue;
        }
        break;
      }
      if (paused) {
        paused = false;
        qsbr?.online(qslot);
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
        if (anyPort) {
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
        } else {
          let nd = 0;
          if (mode === M_FWD) {
            const fb = disp.bufs, fc = disp.count;
            for (let i = 0; i < n; i++) {
              const h = bufs[i]!;
              const dst = fwdPort(u8, dataOff, shift, h);
              if (dst >= nall) {
                dropBuf[nd++] = h;
                continue;
              }
              const c = fc[dst]!;
              fb[dst]![c] = h;
              fc[dst] = c + 1;
            }
          } else if (l3 !== null) {
            nd = l3.run(u8, u16, dataOff, dataLen, shift, bufs, n, disp, dropBuf, mc, portIndex[p]! * MC_WORDS);
          } else if (aclStage !== null) {
            const pi = portIndex[p]!;
            nd = aclStage.run(u8, u16, dataOff, dataLen, shift, bufs, n, pi, disp, dropBuf, mc, pi * MC_WORDS);
          }
          if (nd > 0) {
            pool.freeBulk(dropBuf, nd);
            dropTotal += nd;
          }
          disp.flush(pool);
        }
      }
      if (aclSlot !== null) {
        const v = aclSlot.poll();
        if (v !== null) aclStage!.acl = Acl.fromShared(v);
      }
      if ((++loops & 1023) === 0) {
        tc[TC_LOOPS] = loops;
        tc[TC_RX] = rxTotal;
        tc[TC_TX] = txTotal + disp.tx;
        tc[TC_DROP] = dropTotal + disp.drop;
        tc[TC_HANDOFF] = disp.handoff;
        Atomics.add(ctl, CTL_HEARTBEAT, 1);
      }
      if (idle !== null) {
        // l3fwd: no table reference is held here; offline while idle may sleep in poll().
        if (qsbr !== null && idleSleeps) qsbr.offline(qslot);
        if (idle.update(received)) {
          control.setStatus(STATUS_IDLE);
          tc[TC_IDLE_ENTRIES] = idle.entries;
          tc[TC_IDLE_MS] = idle.idleMs;
          control.setStatus(STATUS_RUNNING);
        }
        if (qsbr !== null && idleSleeps) qsbr.online(qslot);
      }
      qsbr?.quiescent(qslot);
    }
  } finally {
    qsbr?.offline(qslot);
    aclSlot?.close();
  }
  // Drain: let TX rings finish, so stats and frames settle before the main thread closes the ports.
  // Frames still in inboxes (other threads may hand over until they stop) are freed by the main thread.
  for (let p = 0; p < nports; p++) {
    const port = ports[p]!;
    for (let i = 0; i < 4; i++) port.txBurst(bufs, 0);
  }
  tc[TC_LOOPS] = loops;
  tc[TC_RX] = rxTotal;
  tc[TC_TX] = txTotal + disp.tx;
  tc[TC_DROP] = dropTotal + disp.drop;
  tc[TC_HANDOFF] = disp.handoff;
}
