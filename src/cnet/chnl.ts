/**
 * Channels, CNDP's `chnl_*` socket-like API over the stack, UDP for now: open, bind, connect, burst
 * receive and send of packet buffers (zero copy: a received buffer's data is the datagram's payload, and
 * a buffer to send carries its payload with room before it for the headers), close. Channels live on the
 * worker thread that runs the stack and are used from it (between graph walks): handles, never copies.
 *
 * Receive: `udp4_input` queues each datagram on its channel (a bounded queue; a full queue drops and
 * counts), with the payload as the buffer's data and the peer and local address/port per handle
 * ({@link Chnl.peerIp} ...). Send: {@link Chnl.sendBurst} (to the connected peer), {@link Chnl.sendTo},
 * {@link Chnl.replyBurst} (each buffer back to the peer it came from: an echo without a copy); the
 * buffers are queued for the `chnl_tx` node, which prepends UDP and IPv4 headers and hands them to
 * `ip4_output` on the next walk. A buffer given to a send call belongs to the stack, one not accepted
 * (queue full: the returned count is lower) stays the caller's.
 *
 * @example
 * const ch = stack.chnl;
 * const cd = ch.open("udp");
 * ch.bind(cd, 0, 7777);
 * const bufs = new Uint32Array(64);
 * const n = ch.recvBurst(cd, bufs, 64);
 * const sent = ch.replyBurst(cd, bufs, n);
 * if (sent < n) mempool.freeBulk(bufs, n - sent, sent);
 */
import { formatIp4 } from "../lookup/addr.js";
import type { StackCtx } from "./context.js";

/** Most channels per stack. */
export const MAX_CHANNELS = 256;
/** Bytes reserved before a payload to send: Ethernet, IPv4 and UDP headers. */
export const UDP_HEADROOM = 42;

const FIRST_EPHEMERAL = 49152;

/**
 * A bounded FIFO of frame handles (one thread).
 *
 * @example
 * const q = new HandleQueue(1024);
 * q.push(7);
 */
export class HandleQueue {
  private readonly q: Uint32Array;
  private readonly mask: number;
  private head = 0;
  private tail = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`HandleQueue: capacity ${capacity} is not a power of two >= 2`);
    this.q = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  /** Handles queued. */
  get length(): number {
    return this.tail - this.head;
  }

  /** Appends `h`; false when full. */
  push(h: number): boolean {
    if (this.tail - this.head > this.mask) return false;
    this.q[this.tail & this.mask] = h;
    this.tail++;
    return true;
  }

  /** Moves up to `max` handles to `out[off..)`; returns how many. */
  shift(out: Uint32Array, max: number, off = 0): number {
    const k = Math.min(max, this.tail - this.head);
    for (let i = 0; i < k; i++) out[off + i] = this.q[(this.head + i) & this.mask]!;
    this.head += k;
    return k;
  }
}

/** One channel's state. */
interface Channel {
  open: boolean;
  localIp: number;
  localPort: number;
  peerIp: number;
  peerPort: number;
  rx: HandleQueue;
}

/**
 * The channels of one stack. See the module comment.
 *
 * @example
 * const cd = stack.chnl.open("udp");
 */
export class Chnl {
  private readonly ctx: StackCtx;
  private readonly chans: (Channel | null)[] = [];
  private nextEphemeral = FIRST_EPHEMERAL;
  /** Datagrams waiting for chnl_tx. */
  readonly txq: HandleQueue;
  private readonly rxDepth: number;

  /** @internal Made by the stack. */
  constructor(ctx: StackCtx, o: { rxDepth?: number; txDepth?: number } = {}) {
    this.ctx = ctx;
    this.rxDepth = o.rxDepth ?? 1024;
    this.txq = new HandleQueue(o.txDepth ?? 4096);
  }

  private chan(cd: number, op: string): Channel {
    const c = Number.isInteger(cd) ? this.chans[cd] : undefined;
    if (!c || !c.open) throw new RangeError(`chnl_${op}: channel ${cd} is not open`);
    return c;
  }

  /**
   * Opens a channel (`"udp"`; TCP is for later) and returns its descriptor.
   *
   * @example
   * const cd = stack.chnl.open("udp");
   */
  open(proto: "udp"): number {
    if (proto !== "udp") throw new RangeError(`chnl_open: protocol '${String(proto)}' is not supported (udp)`);
    let cd = this.chans.findIndex((c) => c === null || !c.open);
    if (cd < 0) {
      if (this.chans.length >= MAX_CHANNELS) throw new RangeError(`chnl_open: already ${MAX_CHANNELS} channels open`);
      cd = this.chans.length;
      this.chans.push(null);
    }
    this.chans[cd] = { open: true, localIp: 0, localPort: 0, peerIp: 0, peerPort: 0, rx: new HandleQueue(this.rxDepth) };
    return cd;
  }

  /**
   * Binds a channel to a local address (0: any of ours) and port (0: an ephemeral one); returns the port.
   * EADDRINUSE-like error when another channel has the port.
   *
   * @example
   * stack.chnl.bind(cd, 0, 7777);
   */
  bind(cd: number, ip: number, port: number): number {
    const c = this.chan(cd, "bind");
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`chnl_bind ${cd}: port ${port} is not 0 to 65535`);
    if (c.localPort !== 0) throw new Error(`chnl_bind ${cd}: already bound to port ${c.localPort}`);
    let p = port;
    if (p === 0) {
      for (let k = 0; k < 16384 && p === 0; k++) {
        const cand = this.nextEphemeral;
        this.nextEphemeral = cand === 65535 ? FIRST_EPHEMERAL : cand + 1;
        if (this.ctx.udpBound[cand] === -1) p = cand;
      }
      if (p === 0) throw new Error(`chnl_bind ${cd}: no ephemeral port free`);
    } else if (this.ctx.udpBound[p] !== -1) {
      throw new Error(`chnl_bind ${cd}: UDP port ${p} is in use (EADDRINUSE) by channel ${this.ctx.udpBound[p]}`);
    }
    c.localIp = ip >>> 0;
    c.localPort = p;
    this.ctx.udpBound[p] = cd;
    return p;
  }

  /**
   * Sets the channel's peer (binding an ephemeral port first when unbound): {@link Chnl.sendBurst} goes there.
   *
   * @example
   * stack.chnl.connect(cd, 0x0a000002, 9000);
   */
  connect(cd: number, ip: number, port: number): void {
    const c = this.chan(cd, "connect");
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`chnl_connect ${cd}: port ${port} is not 1 to 65535`);
    if (c.localPort === 0) this.bind(cd, 0, 0);
    c.peerIp = ip >>> 0;
    c.peerPort = port;
  }

  /** @internal udp4_input: queues datagram `h` (payload as data, ends noted) on the channel of `port`. */
  deliver(cd: number, h: number, dstIp: number): boolean {
    const c = this.chans[cd];
    if (!c || !c.open || (c.localIp !== 0 && c.localIp !== dstIp)) return false;
    return c.rx.push(h);
  }

  /** @internal Whether channel `cd` would take a datagram to `dstIp` (bound to any or to it). */
  accepts(cd: number, dstIp: number): boolean {
    const c = this.chans[cd];
    return c !== null && c !== undefined && c.open && (c.localIp === 0 || c.localIp === dstIp);
  }

  /**
   * Moves up to `max` received datagrams into `bufs`; returns how many (allocation-free). Each buffer's
   * data is the payload; its sender is {@link Chnl.peerIp}/{@link Chnl.peerPort}.
   *
   * @example
   * const k = stack.chnl.recvBurst(cd, bufs, 64);
   */
  recvBurst(cd: number, bufs: Uint32Array, max: number): number {
    return this.chan(cd, "recv").rx.shift(bufs, Math.min(max, bufs.length));
  }

  /**
   * The sender address of received buffer `h`.
   *
   * @example
   * console.log(stack.chnl.peerIp(h));
   */
  peerIp(h: number): number {
    return this.ctx.peerIp[h]!;
  }

  /**
   * The sender port of received buffer `h`.
   *
   * @example
   * console.log(stack.chnl.peerPort(h));
   */
  peerPort(h: number): number {
    return this.ctx.peerPort[h]!;
  }

  /**
   * Byte offset of buffer `h`'s data (the payload) in `mempool.umem.u8`.
   *
   * @example
   * const at = stack.chnl.payloadAt(h);
   */
  payloadAt(h: number): number {
    return ((h << this.ctx.shift) >>> 0) + this.ctx.dataOff[h]!;
  }

  /**
   * Allocates up to `n` buffers to send, each with room for the headers before its data and length 0
   * (write the payload at {@link Chnl.payloadAt}, set `mbufs.dataLen`); returns how many.
   *
   * @example
   * const k = stack.chnl.allocBurst(bufs, 8);
   */
  allocBurst(bufs: Uint32Array, n: number): number {
    const k = this.ctx.mp.allocBulk(bufs, Math.min(n, bufs.length));
    for (let i = 0; i < k; i++) {
      const h = bufs[i]!;
      this.ctx.dataOff[h] = this.ctx.dataOff[h]! + UDP_HEADROOM;
      this.ctx.dataLen[h] = 0;
    }
    return k;
  }

  private queue(c: Channel, bufs: Uint32Array, n: number, ip: number, port: number, reply: boolean): number {
    const ctx = this.ctx;
    let i = 0;
    for (; i < n; i++) {
      const h = bufs[i]!;
      if (ctx.dataOff[h]! < UDP_HEADROOM || ctx.dataLen[h]! > 65507) break;
      if (!reply) {
        ctx.peerIp[h] = ip;
        ctx.peerPort[h] = port;
        ctx.localIp[h] = c.localIp;
      } // a reply goes back to the peer it came from, from the address it was sent to (both noted at receive)
      ctx.localPort[h] = c.localPort;
      if (!this.txq.push(h)) break;
    }
    return i;
  }

  /**
   * Sends up to `n` buffers to the connected peer; returns how many the stack took.
   *
   * @example
   * const k = stack.chnl.sendBurst(cd, bufs, n);
   */
  sendBurst(cd: number, bufs: Uint32Array, n: number): number {
    const c = this.chan(cd, "send");
    if (c.peerPort === 0) throw new Error(`chnl_send ${cd}: not connected (use sendTo or connect)`);
    return this.queue(c, bufs, n, c.peerIp, c.peerPort, false);
  }

  /**
   * Sends up to `n` buffers to `ip`:`port` (binding an ephemeral port first when unbound).
   *
   * @example
   * const k = stack.chnl.sendTo(cd, bufs, n, 0x0a000002, 9000);
   */
  sendTo(cd: number, bufs: Uint32Array, n: number, ip: number, port: number): number {
    const c = this.chan(cd, "sendto");
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`chnl_sendto ${cd}: port ${port} to ${formatIp4(ip >>> 0)} is not 1 to 65535`);
    if (c.localPort === 0) this.bind(cd, 0, 0);
    return this.queue(c, bufs, n, ip >>> 0, port, false);
  }

  /**
   * Sends each received buffer back to its sender, from the address it was sent to (an echo without a
   * copy); returns how many the stack took.
   *
   * @example
   * const k = stack.chnl.replyBurst(cd, bufs, stack.chnl.recvBurst(cd, bufs, 64));
   */
  replyBurst(cd: number, bufs: Uint32Array, n: number): number {
    return this.queue(this.chan(cd, "send"), bufs, n, 0, 0, true);
  }

  /**
   * Closes a channel: its port is free again and datagrams still queued are freed.
   *
   * @example
   * stack.chnl.close(cd);
   */
  close(cd: number): void {
    const c = this.chan(cd, "close");
    const scratch = new Uint32Array(256);
    for (let k; (k = c.rx.shift(scratch, 256)) > 0;) this.ctx.mp.freeBulk(scratch, k);
    if (c.localPort !== 0 && this.ctx.udpBound[c.localPort] === cd) this.ctx.udpBound[c.localPort] = -1;
    c.open = false;
  }

  /** @internal Closes every channel (stack close). */
  closeAll(): void {
    this.chans.forEach((c, cd) => { if (c?.open) this.close(cd); });
  }

  /**
   * The open channels (control path).
   *
   * @example
   * console.log(stack.chnl.list());
   */
  list(): { cd: number; proto: "udp"; local: string; peer: string; queued: number }[] {
    const out: { cd: number; proto: "udp"; local: string; peer: string; queued: number }[] = [];
    this.chans.forEach((c, cd) => {
      if (c?.open) out.push({ cd, proto: "udp", local: `${formatIp4(c.localIp)}:${c.localPort}`, peer: c.peerPort ? `${formatIp4(c.peerIp)}:${c.peerPort}` : "", queued: c.rx.length });
    });
    return out;
  }
}
