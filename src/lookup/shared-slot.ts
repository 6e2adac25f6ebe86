/**
 * A slot holding one value (e.g. a rebuilt ACL's SharedArrayBuffers) that the control thread replaces and
 * busy-looping worker threads pick up without ever running their event loop.
 *
 * How: a version word in a SharedArrayBuffer plus a BroadcastChannel. {@link SharedSlot.publish} posts
 * `{ version, value }` on the channel FIRST and then stores the version (so a reader that sees the new
 * version finds the message already queued: Node dispatches a BroadcastChannel message into every other
 * instance's queue synchronously inside postMessage). A worker's {@link SharedSlot.poll} loads the word;
 * when it equals the version it holds, that is all (one `Atomics.load`, no allocation). Otherwise it drains
 * its channel with `worker_threads.receiveMessageOnPort` (which works on a BroadcastChannel in Node 20 and
 * 24) and adopts the newest value.
 *
 * What was checked on Node 20.20 and 24.22 (see shared-slot.test.ts), and how it is handled:
 * - post-then-store: in 40,000 publishes the message was never missing once the word had changed;
 *   store-then-post (the wrong order) shows the message late almost every time. If a message is ever
 *   late, poll() returns null and keeps its old value until the message is there (the next poll retries).
 * - A worker whose event loop runs (an `await` between loops) has its BroadcastChannel messages dispatched
 *   as events and gone from the queue, listener or not: the view keeps a listener that records them.
 * - A view opened after a publish it has not received (the value changed between `shared()` and
 *   `fromShared()`, or a message posted before the worker's channel existed) asks the creator to send the
 *   current value again; the creator answers from its event loop (the control thread runs one).
 * Versions are 32-bit and compared with wrap-around.
 *
 * @example
 * const slot = SharedSlot.create({ table: new SharedArrayBuffer(64) });
 * // worker: const s = SharedSlot.fromShared<{ table: SharedArrayBuffer }>(data.slot);
 * //         loop { const v = s.poll(); if (v !== null) useTable(v.table); ... }
 * slot.publish({ table: new SharedArrayBuffer(128) });
 */
import { BroadcastChannel, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { randomUUID } from "node:crypto";

/** What a worker needs to open the same slot ({@link SharedSlot.shared}); structured-cloneable. */
export interface SharedSlotShared<T> {
  /** Int32 word 0: the newest published version. */
  readonly words: SharedArrayBuffer;
  /** The BroadcastChannel's name. */
  readonly channel: string;
  /** The value when shared() was called, and its version. */
  readonly value: T;
  readonly version: number;
}

interface ValueMessage {
  readonly slotVersion: number;
  readonly value: unknown;
}

function isValueMessage(m: unknown): m is ValueMessage {
  return typeof m === "object" && m !== null && typeof (m as ValueMessage).slotVersion === "number" && "value" in m;
}

function isResendRequest(m: unknown): boolean {
  return typeof m === "object" && m !== null && typeof (m as { resend?: unknown }).resend === "number";
}

/**
 * One value, replaced by the control thread, polled by workers. See the module comment.
 *
 * @example
 * const slot = SharedSlot.create({ generation: 1 });
 * slot.publish({ generation: 2 });
 * console.log(slot.current.generation); // 2
 * slot.close();
 */
export class SharedSlot<T> {
  private readonly w: Int32Array;
  private readonly name: string;
  private readonly writer: boolean;
  private bc: BroadcastChannel | null;
  private value: T;
  private ver: number;
  /** Newest message seen (from the queue or the event loop) but not yet adopted. */
  private pendingVer: number;
  private pendingValue: T | null = null;
  private hasPending = false;
  /** The version word's value a resend was last asked for (asked once per value). */
  private askedFor: number;

  private constructor(words: SharedArrayBuffer, channel: string, value: T, version: number, writer: boolean) {
    this.w = new Int32Array(words);
    this.name = channel;
    this.writer = writer;
    this.value = value;
    this.ver = version;
    this.pendingVer = version;
    this.askedFor = version;
    const bc = new BroadcastChannel(channel);
    bc.onmessage = writer ? (e: unknown) => this.onRequest((e as MessageEvent).data) : (e: unknown) => this.onValue((e as MessageEvent).data);
    bc.unref();
    this.bc = bc;
  }

  /**
   * A new slot holding `initial` (version 1), on the control thread.
   *
   * @example
   * const slot = SharedSlot.create({ rules: new SharedArrayBuffer(16) });
   */
  static create<T>(initial: T): SharedSlot<T> {
    if (initial === null || initial === undefined) throw new TypeError(`SharedSlot value must not be ${initial}`);
    const words = new SharedArrayBuffer(4);
    const s = new SharedSlot<T>(words, `xdplane-shared-slot-${randomUUID()}`, initial, 1, true);
    Atomics.store(s.w, 0, 1);
    return s;
  }

  /**
   * The same slot in a worker thread: starts with the value shared() carried and picks up every later one
   * through {@link SharedSlot.poll}.
   *
   * @example
   * const slot = SharedSlot.create({ rules: new SharedArrayBuffer(16) });
   * const s = SharedSlot.fromShared<{ rules: SharedArrayBuffer }>(slot.shared()); // normally in a worker
   */
  static fromShared<T>(s: SharedSlotShared<T>): SharedSlot<T> {
    return new SharedSlot<T>(s.words, s.channel, s.value, s.version | 0, false);
  }

  /**
   * What to post to a worker (SharedArrayBuffers stay shared).
   *
   * @example
   * import { Worker } from "node:worker_threads";
   * const slot = SharedSlot.create({ rules: new SharedArrayBuffer(16) });
   * const worker = new Worker("./worker.js", { workerData: { slot: slot.shared() } });
   */
  shared(): SharedSlotShared<T> {
    return { words: this.w.buffer as SharedArrayBuffer, channel: this.name, value: this.value, version: this.ver };
  }

  /**
   * The newest value this view holds (the creator: the last published).
   *
   * @example
   * const slot = SharedSlot.create({ rules: new SharedArrayBuffer(16) });
   * const rules = new Int32Array(slot.current.rules);
   */
  get current(): T {
    return this.value;
  }

  /**
   * The version of {@link SharedSlot.current} (1 for the initial value, one more per publish).
   *
   * @example
   * const slot = SharedSlot.create({ n: 1 });
   * console.log(slot.version); // 1
   */
  get version(): number {
    return this.ver;
  }

  /**
   * Creator only: replaces the value. Workers see it at their next poll() after this returns.
   * Throws on a worker's view, after close(), or for null/undefined (poll's "nothing new").
   *
   * @example
   * const slot = SharedSlot.create({ rules: new SharedArrayBuffer(16) });
   * slot.publish({ rules: new SharedArrayBuffer(32) });
   */
  publish(value: T): void {
    if (!this.writer) throw new Error("SharedSlot.publish: only the thread that created the slot publishes (this view came from fromShared)");
    if (this.bc === null) throw new Error("SharedSlot.publish: the slot is closed");
    if (value === null || value === undefined) throw new TypeError(`SharedSlot value must not be ${value}`);
    const v = (this.ver + 1) | 0;
    const next = v === 0 ? 1 : v; // 0 never used: a fresh SharedArrayBuffer reads 0
    this.bc.postMessage({ slotVersion: next, value } satisfies ValueMessage); // throws (nothing changed) if not cloneable
    this.value = value;
    this.ver = next;
    Atomics.store(this.w, 0, next); // after the post: a reader seeing `next` finds the message queued
  }

  /**
   * Worker, once per loop: null when nothing changed (one Atomics load, no allocation); otherwise the
   * newest value published since (also the new {@link SharedSlot.current}). Always null on the creator.
   *
   * @example
   * import { workerData } from "node:worker_threads";
   * const slot = SharedSlot.fromShared<{ rules: SharedArrayBuffer }>(workerData.slot); // in a worker
   * const v = slot.poll();
   * if (v !== null) console.log("new rules", v.rules.byteLength, slot.version);
   */
  poll(): T | null {
    const g = Atomics.load(this.w, 0);
    if (g === this.ver) return null;
    return this.catchUp(g);
  }

  private catchUp(g: number): T | null {
    if (this.writer || this.bc === null) return null;
    // receiveMessageOnPort takes a BroadcastChannel too (Node >= 15.12); @types/node declares MessagePort only.
    const port = this.bc as unknown as MessagePort;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) this.onValue(m.message);
    if (this.hasPending && ((this.pendingVer - this.ver) | 0) > 0) {
      this.ver = this.pendingVer;
      this.value = this.pendingValue as T;
      this.hasPending = false;
      this.pendingValue = null;
      return this.value;
    }
    if (this.askedFor !== g) {
      // Nothing newer queued: either a message that is late, or one posted before this view's channel
      // existed. Ask the creator once per version word value; it answers from its event loop.
      this.askedFor = g;
      this.bc.postMessage({ resend: g });
    }
    return null;
  }

  private onValue(m: unknown): void {
    if (!isValueMessage(m)) return;
    const base = this.hasPending ? this.pendingVer : this.ver;
    if (((m.slotVersion - base) | 0) <= 0) return;
    this.pendingVer = m.slotVersion;
    this.pendingValue = m.value as T;
    this.hasPending = true;
  }

  private onRequest(m: unknown): void {
    if (!isResendRequest(m) || this.bc === null) return;
    this.bc.postMessage({ slotVersion: this.ver, value: this.value } satisfies ValueMessage);
  }

  /**
   * Closes this view's channel (idempotent). The creator's close stops answering late workers' requests.
   *
   * @example
   * const slot = SharedSlot.create({ n: 1 });
   * slot.close();
   */
  close(): void {
    if (this.bc === null) return;
    this.bc.close();
    this.bc = null;
    this.pendingValue = null;
    this.hasPending = false;
  }
}
