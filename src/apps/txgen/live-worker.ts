/**
 * A live-frames sender thread (worker): moves into the port's network namespace, then sends the port's
 * frame with BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES in large repeat counts (each call has a fixed
 * setup cost of tens of milliseconds in the kernel, so calls are sized to last about 100 ms; pacing sends
 * what is due, at most every 20 ms). Several threads on one port overlap one call's setup with another's
 * sending.
 */
import { parentPort, receiveMessageOnPort } from "node:worker_threads";
import { LiveFrames } from "../../bpf/test-run.js";
import { ThreadControl, STATE_RUN, STATUS_RUNNING, CTL_STATE } from "../../runtime/control.js";
import { MonoClock } from "../../sys/clock.js";
import { enterNetns } from "./netns.js";
import { type PortShm, K_RUN, K_PLAN, K_LIVE, K_LIVE_ERRNO, TX_IDLE, TX_SENDING, TX_DONE, C_LIVE } from "./shared.js";

export interface LiveThreadData {
  name: string;
  pid: number;
  /** This sender's slot among the port's live threads (its counters and state words). */
  slot: number;
  /** The netdev's namespace (/run/netns/<name>), or null for the thread's own. */
  netns: string | null;
  shm: PortShm;
  mailbox: SharedArrayBuffer;
}

export interface LivePlan {
  type: "live";
  gen: number;
  /** The live-frames program (its fd is process-wide). */
  progFd: number;
  frame: Uint8Array;
  ifindex: number;
  rxQueue: number;
  /** This thread's share: packets (0: until stopped) and packets per second (0: unpaced). */
  count: number;
  pps: number;
  /** Frames per kernel batch (1-256; 0: the kernel's 64). */
  batch: number;
}

const MIN_CHUNK = 4096;
const MAX_CHUNK = 1 << 22;

export async function run(data: LiveThreadData, control: ThreadControl): Promise<void> {
  if (data.netns) enterNetns(data.netns);
  const ctl = new Int32Array(data.shm.ctl);
  const c = new Float64Array(data.shm.counters);
  const mb = new Int32Array(data.mailbox);
  const stateW = K_LIVE + 2 * data.slot;
  const base = C_LIVE + 4 * data.slot;
  let mbSeen = -1;
  let plan: LivePlan | null = null;
  let lf: LiveFrames | null = null;
  let doneGen = -1;
  let chunkMax = 1 << 18;
  const clk = new MonoClock();
  control.setStatus(STATUS_RUNNING);
  for (;;) {
    if (Atomics.load(control.ctl, CTL_STATE) !== STATE_RUN) break;
    const mbNow = Atomics.load(mb, 0);
    if (mbNow !== mbSeen) {
      mbSeen = mbNow;
      for (;;) {
        const m = receiveMessageOnPort(parentPort!);
        if (m === undefined) break;
        plan = m.message as LivePlan;
        lf = new LiveFrames(plan.progFd, plan.frame, { ifindex: plan.ifindex, rxQueueIndex: plan.rxQueue, batchSize: plan.batch });
      }
    }
    const runWord = Atomics.load(ctl, K_RUN);
    if (plan === null || lf === null || runWord !== 1 || Atomics.load(ctl, K_PLAN) !== plan.gen || doneGen === plan.gen) {
      Atomics.wait(ctl, K_RUN, runWord, 20);
      continue;
    }
    const gen = plan.gen;
    Atomics.store(ctl, stateW + 1, gen);
    Atomics.store(ctl, stateW, TX_SENDING);
    const len = plan.frame.length;
    const t0 = clk.nowMs();
    let sent = 0;
    const minDue = plan.pps > 0 ? Math.max(1, Math.floor(plan.pps * 0.02)) : 0;
    while (Atomics.load(ctl, K_RUN) === 1 && Atomics.load(ctl, K_PLAN) === gen && Atomics.load(control.ctl, CTL_STATE) === STATE_RUN) {
      let n = chunkMax;
      if (plan.pps > 0) {
        const due = (plan.pps * (clk.nowMs() - t0)) / 1000 - sent;
        if (due < minDue) {
          Atomics.wait(ctl, K_RUN, 1, Math.min(50, Math.max(1, ((minDue - due) * 1000) / plan.pps)));
          continue;
        }
        if (due < n) n = due;
      }
      if (plan.count > 0 && plan.count - sent < n) n = plan.count - sent;
      n = Math.floor(n);
      if (n <= 0) break;
      const t1 = clk.nowMs();
      const rc = lf.send(n);
      const dt = clk.nowMs() - t1;
      c[base + 2]!++;
      if (rc < 0) {
        c[base + 3]!++;
        if (rc === -4) continue; // EINTR: a signal landed on this thread; try again
        Atomics.store(ctl, K_LIVE_ERRNO, -rc);
        break;
      }
      sent += n;
      c[base]! += n;
      c[base + 1]! += n * len;
      if (plan.pps === 0 && dt > 0) {
        // Calls of about 100 ms: long enough to hide the setup cost, short enough to stop promptly.
        const want = Math.round((n / dt) * 100);
        chunkMax = want < MIN_CHUNK ? MIN_CHUNK : want > MAX_CHUNK ? MAX_CHUNK : want;
      }
    }
    doneGen = gen;
    Atomics.store(ctl, stateW, plan.count > 0 && sent >= plan.count ? TX_DONE : TX_IDLE);
  }
  Atomics.store(ctl, stateW, TX_IDLE);
}
