/**
 * The event-loop host: runs a stack on the current thread's event loop (the main thread or a worker), so
 * that its channels' callbacks, and the Node streams over them, run where the app's code runs.
 *
 * A turn (one `setImmediate` callback) walks the stack up to `walksPerTurn` times, stopping early at a
 * walk that did nothing; `stack.walk()` also runs the channels' callbacks (the stack's `chnl.dispatch()`
 * step), which is where sockets read, write and emit. While turns find work the host keeps turning from
 * `setImmediate` (other callbacks, timers and I/O run between turns). After `idleTurns` empty turns in a
 * row it backs off: it sleeps on a timer, 1 ms first, doubling up to `maxSleepMs`, and watches the ports'
 * fds (uv_poll on the AF_XDP sockets) so a frame arriving wakes it at once; {@link StackHost.kick} (what
 * the sockets call when the app writes, ends or connects) wakes it too. The stack's own timers (ARP
 * retries, TCP's retransmission and delayed ACKs) run in walks, so `maxSleepMs` bounds their lateness.
 *
 * {@link StackHost.stop} closes what was opened through the host (servers, sockets: aborted), walks a
 * few more times so the resets go out, then stops: no timer, immediate or fd watch is left behind. The
 * stack stays the caller's: close it after (`stack.close()` returns the frames it held).
 *
 * @example
 * import { StackHost, createServer, type CnetStack } from "xdplane/cnet";
 * declare const stack: CnetStack; // built over the thread's ports
 * const host = StackHost.start(stack, { fds: ports.map((p) => p.pollFd()).filter((fd) => fd >= 0) });
 * createServer((sock) => sock.pipe(sock)).listen(7);
 * await host.stop();
 * stack.close();
 */
import { sys } from "../../sys/native.js";
import { POLLIN } from "../../sys/consts.js";
import type { StreamStack } from "./types.js";

/** Options of {@link StackHost.start}. */
export interface StackHostOptions {
  /** Fds to watch (readable) while idle: the ports' `pollFd()`s. None: the timer alone wakes the host. */
  fds?: readonly number[];
  /** Most walks per turn (default 32). */
  walksPerTurn?: number;
  /** Empty turns in a row before sleeping (default 16). */
  idleTurns?: number;
  /** Longest sleep in ms (default 10). */
  maxSleepMs?: number;
  /**
   * Called once per turn before the walks (a worker's `ctx.running()` check, for one); a false return
   * stops the host.
   */
  onTurn?: () => boolean;
}

/** What a host counts (control path). */
export interface StackHostStats {
  turns: number;
  walks: number;
  /** Walks that did something. */
  busyWalks: number;
  sleeps: number;
  /** Sleeps ended by a port's fd. */
  fdWakeups: number;
  /** Sleeps ended by {@link StackHost.kick}. */
  kicks: number;
}

/** Something opened through a host: closed by {@link StackHost.stop}. */
export interface HostMember {
  /** Aborts or closes at once (the host is stopping). */
  hostStop(): void;
}

/** A socket with data the stack has not taken yet. */
export interface HostWriter {
  /** Tries again to hand its data to the stack. */
  retryWrite(): void;
}

const running: StackHost[] = [];

/**
 * Runs a stack on this thread's event loop. See the module comment.
 *
 * @example
 * import { StackHost, type StreamStack } from "xdplane/cnet";
 * declare const stack: StreamStack;
 * const host = StackHost.start(stack);
 * await host.stop();
 */
export class StackHost {
  readonly stack: StreamStack;
  readonly stats: StackHostStats = { turns: 0, walks: 0, busyWalks: 0, sleeps: 0, fdWakeups: 0, kicks: 0 };
  private readonly fds: readonly number[];
  private readonly walksPerTurn: number;
  private readonly idleTurns: number;
  private readonly maxSleepMs: number;
  private readonly onTurn: (() => boolean) | null;
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private watches: object[] = [];
  private empty = 0;
  private sleepMs = 1;
  private state: "running" | "stopping" | "stopped" = "running";
  private refd = true;
  private readonly members = new Set<HostMember>();
  private readonly writers = new Set<HostWriter>();
  private stopped: Promise<void> | null = null;
  private resolveStopped: (() => void) | null = null;
  private readonly turnFn = () => this.turn();
  private readonly wakeFn = () => this.wake(false);
  private readonly fdFn = () => this.wake(true);

  private constructor(stack: StreamStack, o: StackHostOptions) {
    this.stack = stack;
    this.fds = o.fds ?? [];
    this.walksPerTurn = o.walksPerTurn ?? 32;
    this.idleTurns = o.idleTurns ?? 16;
    this.maxSleepMs = o.maxSleepMs ?? 10;
    this.onTurn = o.onTurn ?? null;
  }

  /**
   * Starts walking `stack` from this thread's event loop.
   *
   * @example
   * import { StackHost, type StreamStack } from "xdplane/cnet";
   * declare const stack: StreamStack;
   * const host = StackHost.start(stack, { maxSleepMs: 5 });
   */
  static start(stack: StreamStack, o: StackHostOptions = {}): StackHost {
    const int = (v: number | undefined, name: string, lo: number, hi: number) => {
      if (v !== undefined && (!Number.isInteger(v) || v < lo || v > hi)) throw new RangeError(`StackHost: ${name} ${v} is not an integer from ${lo} to ${hi}`);
    };
    int(o.walksPerTurn, "walksPerTurn", 1, 1 << 20);
    int(o.idleTurns, "idleTurns", 0, 1 << 20);
    int(o.maxSleepMs, "maxSleepMs", 1, 1000);
    for (const fd of o.fds ?? []) int(fd, "fd", 0, 1 << 30);
    const h = new StackHost(stack, o);
    running.push(h);
    h.immediate = setImmediate(h.turnFn);
    return h;
  }

  /**
   * The one host running on this thread (what `createServer`/`connect` use without a `host` option).
   * Throws when none or several run.
   *
   * @example
   * import { StackHost } from "xdplane/cnet";
   * const host = StackHost.current();
   */
  static current(): StackHost {
    const live = running.filter((h) => h.state === "running");
    if (live.length !== 1) throw new Error(`cnet: ${live.length === 0 ? "no stack host runs on this thread (StackHost.start(stack) first)" : `${live.length} stack hosts run on this thread: pass { stackHost } to choose one`}`);
    return live[0]!;
  }

  /**
   * Resolves once the host has stopped (by {@link StackHost.stop}, or its `onTurn` returning false).
   *
   * @example
   * import { StackHost } from "xdplane/cnet";
   * await StackHost.current().whenStopped();
   */
  whenStopped(): Promise<void> {
    if (this.state === "stopped") return Promise.resolve();
    this.stopped ??= new Promise<void>((r) => { this.resolveStopped = r; });
    return this.stopped;
  }

  /** Whether the host still walks. */
  get running(): boolean {
    return this.state === "running";
  }

  /** @internal A socket or server opened through the host. */
  adopt(m: HostMember): void {
    if (this.state !== "running") throw new Error("cnet: the stack host is stopped");
    this.members.add(m);
  }

  /** @internal Closed on its own. */
  release(m: HostMember): void {
    this.members.delete(m);
  }

  /** @internal A socket waits for room in its send buffer: retried after every turn's walks. */
  waitWritable(w: HostWriter): void {
    this.writers.add(w);
  }

  /** @internal It no longer waits. */
  doneWritable(w: HostWriter): void {
    this.writers.delete(w);
  }

  /**
   * Walk soon: the app queued something (data, a FIN, a connect) while the host may be sleeping.
   *
   * @example
   * import { StackHost } from "xdplane/cnet";
   * StackHost.current().kick();
   */
  kick(): void {
    if (this.state === "stopped") return;
    this.empty = 0;
    if (this.timer !== null) {
      // Never walk from inside the caller (a write() would re-enter the app): the next turn walks.
      this.stats.kicks++;
      clearTimeout(this.timer);
      this.timer = null;
      this.unwatchAll();
      this.sleepMs = 1;
      this.immediate = setImmediate(this.turnFn);
      if (!this.refd) this.immediate.unref();
    }
  }

  /**
   * Whether the host keeps the process alive (default: yes, while it runs), like a net.Server's ref/unref.
   *
   * @example
   * import { StackHost } from "xdplane/cnet";
   * StackHost.current().ref(false);
   */
  ref(on: boolean): void {
    this.refd = on;
    if (this.timer !== null) on ? this.timer.ref() : this.timer.unref();
    if (this.immediate !== null) on ? this.immediate.ref() : this.immediate.unref();
    for (const w of this.watches) sys.refWatch(w, on);
  }

  private turn(): void {
    this.immediate = null;
    if (this.state === "stopped") return;
    if (this.onTurn !== null && this.state === "running" && !this.onTurn()) {
      void this.stop();
      return;
    }
    const st = this.stats;
    st.turns++;
    let busy = 0;
    const max = this.walksPerTurn;
    const stack = this.stack;
    for (let i = 0; i < max; i++) {
      const w = stack.walk();
      st.walks++;
      if (w <= 0) break;
      busy++;
    }
    st.busyWalks += busy;
    if (!this.running) return; // a callback stopped the host
    // WRITABLE is an edge; a write waiting for room also retries once per turn, so an edge the app
    // could not see (it came while the write was being queued) costs a turn, never a stall.
    if (this.writers.size > 0) for (const w of [...this.writers]) w.retryWrite();
    if (busy > 0) {
      this.empty = 0;
      this.sleepMs = 1;
    } else {
      this.empty++;
    }
    if (this.empty <= this.idleTurns) {
      this.immediate = setImmediate(this.turnFn);
      if (!this.refd) this.immediate.unref();
      return;
    }
    this.sleep();
  }

  private sleep(): void {
    this.stats.sleeps++;
    this.timer = setTimeout(this.wakeFn, this.sleepMs);
    if (!this.refd) this.timer.unref();
    this.sleepMs = Math.min(this.maxSleepMs, this.sleepMs * 2);
    for (const fd of this.fds) {
      const w = sys.watch(fd, POLLIN, this.fdFn);
      if (typeof w === "number") continue; // not pollable (a ring port): the timer wakes the host
      if (!this.refd) sys.refWatch(w, false);
      this.watches.push(w);
    }
  }

  private wake(byFd: boolean): void {
    if (this.timer === null) return;
    if (byFd) {
      this.stats.fdWakeups++;
      this.sleepMs = 1;
    }
    clearTimeout(this.timer);
    this.timer = null;
    this.unwatchAll();
    this.empty = byFd ? 0 : this.empty;
    this.turn();
  }

  private unwatchAll(): void {
    for (const w of this.watches) sys.unwatch(w);
    this.watches.length = 0;
  }

  /**
   * Stops: servers stop listening and open connections are aborted (RST), a few more walks send them,
   * then the host leaves nothing on the event loop. Idempotent; the stack is still the caller's to close.
   *
   * @example
   * import { StackHost } from "xdplane/cnet";
   * await StackHost.current().stop();
   */
  stop(): Promise<void> {
    if (this.state !== "running") return this.stopped ?? Promise.resolve();
    this.stopped ??= new Promise<void>((r) => { this.resolveStopped = r; });
    this.state = "stopping";
    for (const m of [...this.members]) {
      try {
        m.hostStop();
      } catch {
        // a member that fails to close must not keep the host from stopping
      }
    }
    this.members.clear();
    // Flush: the resets and FINs just queued go out.
    for (let i = 0; i < 8; i++) this.stack.walk();
    this.finish();
    return this.stopped;
  }

  private finish(): void {
    this.state = "stopped";
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.unwatchAll();
    const i = running.indexOf(this);
    if (i >= 0) running.splice(i, 1);
    this.resolveStopped?.();
  }
}
