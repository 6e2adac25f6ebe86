/**
 * Idle mode as CNDP's idlemgr: after `idleTimeoutMs` without packets, block in poll() on the thread's
 * port fds until traffic returns or `intrTimeoutMs` passes, so an idle forwarder does not burn a core.
 * Ports without an fd (ring, null) sleep for the interval instead. Time is read only every 256 empty
 * loops, so the busy path costs a counter increment.
 */
import { sys } from "../sys/native.js";
import { POLLIN } from "../sys/consts.js";
import { MonoClock } from "../sys/clock.js";

export class IdleManager {
  readonly idleTimeoutMs: number;
  readonly intrTimeoutMs: number;
  private empty = 0;
  private idleSince = 0;
  private readonly pfds: Int32Array;
  private readonly nfds: number;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  /** Read in place (read() + ts): performance.now() would allocate a heap number per reading. */
  private readonly clock = new MonoClock();
  /** Times the thread went idle, and milliseconds spent blocked. */
  entries = 0;
  idleMs = 0;

  /** `fds`: the pollable fds of the thread's ports (may be empty). 0 disables idle mode. */
  constructor(idleTimeoutMs: number, intrTimeoutMs: number, fds: readonly number[]) {
    this.idleTimeoutMs = idleTimeoutMs;
    this.intrTimeoutMs = intrTimeoutMs > 0 ? intrTimeoutMs : 100;
    this.nfds = fds.length;
    this.pfds = new Int32Array(Math.max(2, fds.length * 2));
    fds.forEach((fd, i) => {
      this.pfds[i * 2] = fd;
      this.pfds[i * 2 + 1] = POLLIN;
    });
  }

  /**
   * Call once per loop with the packets received in it. Returns true when the thread blocked (went idle)
   * during this call.
   */
  update(received: number): boolean {
    if (received > 0 || this.idleTimeoutMs <= 0) {
      this.empty = 0;
      this.idleSince = 0;
      return false;
    }
    if (++this.empty < 256) return false;
    this.empty = 0;
    const now = this.nowMs();
    if (this.idleSince === 0) {
      this.idleSince = now;
      return false;
    }
    if (now - this.idleSince < this.idleTimeoutMs) return false;
    this.entries++;
    if (this.nfds > 0) {
      for (let i = 0; i < this.nfds; i++) this.pfds[i * 2 + 1] = POLLIN;
      sys.poll(this.pfds, this.nfds, this.intrTimeoutMs);
    } else {
      Atomics.wait(this.sleeper, 0, 0, this.intrTimeoutMs);
    }
    const after = this.nowMs();
    this.idleMs += after - now;
    this.idleSince = after;
    return true;
  }

  private nowMs(): number {
    const c = this.clock;
    c.read();
    return c.ts[0]! * 1e3 + c.ts[1]! / 1e6;
  }
}
