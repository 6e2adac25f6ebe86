/**
 * Channels, CNDP's `chnl_*` socket-like API over the stack, UDP and TCP: open, bind, connect, burst
 * receive and send of packet buffers (zero copy: a received buffer's data is the datagram's payload, and
 * a buffer to send carries its payload with room before it for the headers), close. Channels live on the
 * worker thread that runs the stack and are used from it (between graph walks): handles, never copies.
 *
 * Receive: `udp4_input` and `udp6_input` queue each datagram on its channel (a bounded queue; a full
 * queue drops and counts), with the payload as the buffer's data and the peer and local address/port per
 * handle ({@link Chnl.family} says which: {@link Chnl.peerIp} for IPv4, {@link Chnl.peerIp6} for IPv6).
 * A channel bound to any address (ip 0) receives both families; one bound to an IPv4 address only IPv4.
 * Send: {@link Chnl.sendBurst} (to the connected peer), {@link Chnl.sendTo} / {@link Chnl.sendTo6},
 * {@link Chnl.replyBurst} (each buffer back to the peer it came from, in its family: an echo without a
 * copy); the buffers are queued for the `chnl_tx` node, which prepends UDP and IPv4 headers and hands
 * them to `ip4_output` on the next walk, or passes IPv6 ones to `udp6_output` (UDP and IPv6 headers, to
 * `ip6_output`). A buffer given to a send call belongs to the stack, one not accepted (queue full, no
 * room before its data, too long, a chain to an IPv6 peer: the returned count is lower) stays the caller's.
 *
 * TCP (tcp/engine.ts does the protocol): `open("tcp")`, `bind`, `listen`, `accept` (a new channel, or -1),
 * `connect` (the handshake starts; CONNECTED or RESET/ERROR follows), `send` (bytes copied into the
 * send buffer; 0 when full: wait for WRITABLE), `recv` (bytes copied out; -1 at EOF), `recvBurst` (zero
 * copy: frames whose data is the next payload; the caller frees them), `shutdown`, `close`, `abort`.
 * Events: {@link Chnl.setCallback} and {@link Chnl.events} with the CHNL_EV_* bits; `stack.walk()` calls
 * {@link Chnl.dispatch} after the graph walk: a channel's callback runs once when any bit rose, or new
 * data, room or a connection arrived, since its last call.
 *
 * @example
 * declare const stack: CnetStack;
 * const ch = stack.chnl;
 * const cd = ch.open("udp");
 * ch.bind(cd, 0, 7777);
 * const bufs = new Uint32Array(64);
 * const n = ch.recvBurst(cd, bufs, 64);
 * const sent = ch.replyBurst(cd, bufs, n);
 * if (sent < n) mempool.freeBulk(bufs, n - sent, sent);
 */
import { formatIp4, formatIp6 } from "../lookup/addr.js";
import { FIB_NO_ROUTE } from "./tables.js";
import type { StackCtx } from "./context.js";
import type { TcpEngine } from "./tcp/engine.js";
import { TCP_STATE_NAMES } from "./tcp/states.js";
import { HandleQueue } from "./handle-queue.js";
import type { Ip6Ctx } from "./ip6/context.js";

export { HandleQueue };

/** Most channels per stack. */
export const MAX_CHANNELS = 4096;

/** Event bit: data to read (or EOF / an error to report: recv returns -1). */
export const CHNL_EV_READABLE = 1;
/** Event bit: room in the send buffer. */
export const CHNL_EV_WRITABLE = 2;
/** Event bit: a listener has a connection to accept. */
export const CHNL_EV_ACCEPT = 4;
/** Event bit: the connection is established. */
export const CHNL_EV_CONNECTED = 8;
/** Event bit: the peer closed its side (FIN); recv returns -1 once the data is read. */
export const CHNL_EV_EOF = 16;
/** Event bit: the peer reset the connection (RST). */
export const CHNL_EV_RESET = 32;
/** Event bit: the connection is over (closed both ways, reset, or failed). */
export const CHNL_EV_CLOSED = 64;
/** Event bit: the connection failed (timeout, refused while connecting, aborted). */
export const CHNL_EV_ERROR = 128;

/** A channel's event callback: `events` holds the current CHNL_EV_* bits. */
export type ChnlCallback = (cd: number, events: number) => void;
/** Bytes needed before a payload to send to an IPv4 peer: Ethernet, IPv4 and UDP headers. */
export const UDP_HEADROOM = 42;
/**
 * Bytes needed before a payload to send to an IPv6 peer: Ethernet, IPv6 and UDP headers
 * ({@link Chnl.allocBurst} leaves this much, enough for either family).
 *
 * @example
 * declare const stack: CnetStack;
 * const room = stack.chnl.payloadAt(h) - ((h << mempool.umem.shift) >>> 0); // >= UDP6_HEADROOM
 */
export const UDP6_HEADROOM = 62;
/** The largest UDP payload to an IPv6 peer (no jumbograms). */
const MAX_PAYLOAD6 = 65535 - 8;

const FIRST_EPHEMERAL = 49152;

/** One channel's state. */
interface Channel {
  open: boolean;
  proto: "udp" | "tcp";
  localIp: number;
  localPort: number;
  peerIp: number;
  peerPort: number;
  /** An IPv6 peer (UDP: set by connect6; TCP: the connection's, connect6 or accepted; null: IPv4). */
  peer6: Uint8Array | null;
  /** The ifindex of a link-local IPv6 peer (connect6). */
  scope: number;
  rx: HandleQueue | null;
  /** TCP: the engine slot (-1: none yet). */
  slot: number;
  /** TCP: the channel was closed by the app, the id waits for the connection to end. */
  closing: boolean;
  cb: ChnlCallback | null;
  /** The bits the callback last saw. */
  last: number;
  nodelay: boolean;
  keepalive: boolean;
}

/**
 * The channels of one stack. See the module comment.
 *
 * @example
 * declare const stack: CnetStack;
 * const cd = stack.chnl.open("udp");
 */
export class Chnl {
  private readonly ctx: StackCtx;
  private readonly chans: (Channel | null)[] = [];
  private nextEphemeral = FIRST_EPHEMERAL;
  /** Datagrams waiting for chnl_tx. */
  readonly txq: HandleQueue;
  private readonly rxDepth: number;
  private readonly tcp: TcpEngine | null;
  private readonly dirty = new Int32Array(512);
  /**
   * @internal Per frame handle: the address family (4 or 6) of a UDP datagram's ends, set where they are
   * (udp4_input, udp6_input, the send calls); chnl_tx sends family 6 to udp6_output.
   */
  readonly fam: Uint8Array;
  /** @internal The stack's IPv6 state (null without IPv6: IPv6 peers are refused). */
  readonly ip6: Ip6Ctx | null;

  /** @internal Made by the stack. */
  constructor(ctx: StackCtx, o: { rxDepth?: number; txDepth?: number; tcp?: TcpEngine; ip6?: Ip6Ctx } = {}) {
    this.ctx = ctx;
    this.fam = new Uint8Array(ctx.mp.mbufs.count).fill(4);
    this.ip6 = o.ip6 ?? null;
    this.rxDepth = o.rxDepth ?? 1024;
    this.txq = new HandleQueue(o.txDepth ?? 4096);
    this.tcp = o.tcp ?? null;
    if (this.tcp !== null) this.tcp.onRelease = (cd) => this.release(cd);
  }

  private chan(cd: number, op: string): Channel {
    const c = Number.isInteger(cd) ? this.chans[cd] : undefined;
    if (!c || !c.open || c.closing) throw new RangeError(`chnl_${op}: channel ${cd} is not open`);
    return c;
  }

  private tcpChan(cd: number, op: string): Channel {
    const c = this.chan(cd, op);
    if (c.proto !== "tcp") throw new RangeError(`chnl_${op}: channel ${cd} is not a TCP channel`);
    return c;
  }

  private engine(op: string): TcpEngine {
    if (this.tcp === null) throw new Error(`chnl_${op}: this stack has no TCP engine`);
    return this.tcp;
  }

  private newChannel(proto: "udp" | "tcp"): number {
    let cd = this.chans.findIndex((c) => c === null || !c.open);
    if (cd < 0) {
      if (this.chans.length >= MAX_CHANNELS) throw new RangeError(`chnl_open: already ${MAX_CHANNELS} channels open`);
      cd = this.chans.length;
      this.chans.push(null);
    }
    this.chans[cd] = {
      open: true, proto, localIp: 0, localPort: 0, peerIp: 0, peerPort: 0, peer6: null, scope: 0, rx: proto === "udp" ? new HandleQueue(this.rxDepth) : null,
      slot: -1, closing: false, cb: null, last: 0, nodelay: false, keepalive: false,
    };
    return cd;
  }

  /**
   * Opens a channel (`"udp"` or `"tcp"`) and returns its descriptor.
   *
   * @example
   * declare const stack: CnetStack;
   * const cd = stack.chnl.open("udp");
   */
  open(proto: "udp" | "tcp"): number {
    if (proto !== "udp" && proto !== "tcp") throw new RangeError(`chnl_open: protocol '${String(proto)}' is not supported (udp, tcp)`);
    if (proto === "tcp") this.engine("open");
    return this.newChannel(proto);
  }

  /**
   * Binds a channel to a local address (0: any of ours) and port (0: an ephemeral one); returns the port.
   * EADDRINUSE-like error when another channel has the port.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * stack.chnl.bind(cd, 0, 7777);
   */
  bind(cd: number, ip: number, port: number): number {
    const c = this.chan(cd, "bind");
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`chnl_bind ${cd}: port ${port} is not 0 to 65535`);
    if (c.localPort !== 0) throw new Error(`chnl_bind ${cd}: already bound to port ${c.localPort}`);
    if (c.proto === "tcp") {
      const eng = this.engine("bind");
      let p = port;
      if (p === 0) {
        p = eng.ephemeral();
        if (p === 0) throw new Error(`chnl_bind ${cd}: no ephemeral TCP port free`);
      } else if (eng.portRefs[p]! > 0) {
        throw new Error(`chnl_bind ${cd}: TCP port ${p} is in use (EADDRINUSE)`);
      }
      eng.portRefs[p] = eng.portRefs[p]! + 1;
      c.localIp = ip >>> 0;
      c.localPort = p;
      return p;
    }
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
   * declare const stack: CnetStack;
   * declare const cd: number;
   * stack.chnl.connect(cd, 0x0a000002, 9000);
   */
  connect(cd: number, ip: number, port: number): void {
    const c = this.chan(cd, "connect");
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`chnl_connect ${cd}: port ${port} is not 1 to 65535`);
    if (c.proto === "tcp") {
      this.tcpConnect(cd, c, ip >>> 0, port);
      return;
    }
    if (c.localPort === 0) this.bind(cd, 0, 0);
    c.peerIp = ip >>> 0;
    c.peerPort = port;
    c.peer6 = null;
    c.scope = 0;
  }

  private check6(cd: number, op: string, ip6: Uint8Array, off: number, port: number, scope: number): void {
    if (this.ip6 === null) throw new Error(`chnl_${op} ${cd}: this stack has no IPv6`);
    if (!Number.isInteger(off) || off < 0 || off + 16 > ip6.length) throw new RangeError(`chnl_${op} ${cd}: an IPv6 address is 16 bytes at ${off} of a buffer of ${ip6.length}`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`chnl_${op} ${cd}: port ${port} is not 1 to 65535`);
    if (!Number.isInteger(scope) || scope < 0) throw new RangeError(`chnl_${op} ${cd}: scope (ifindex) ${scope} is not a non-negative integer`);
    const ll = ip6[off] === 0xfe && (ip6[off + 1]! & 0xc0) === 0x80;
    if (ll && scope === 0) throw new RangeError(`chnl_${op} ${cd}: the link-local peer ${formatIp6(ip6.subarray(off, off + 16))} needs a scope (the ifindex it is on)`);
  }

  /**
   * Sets an IPv6 peer (16 bytes at `ip6[off]`; a link-local one needs `scope`, the ifindex it is on),
   * binding an ephemeral port first when unbound. UDP: {@link Chnl.sendBurst} goes there. TCP: the
   * handshake starts (as {@link Chnl.connect}), from a preferred address of the interface the route (or
   * `scope`) names; ENETUNREACH-like error when there is none.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * stack.chnl.connect6(cd, parseIp6("2001:db8::2"), 0, 9000);
   */
  connect6(cd: number, ip6: Uint8Array, off: number, port: number, scope = 0): void {
    const c = this.chan(cd, "connect");
    this.check6(cd, "connect", ip6, off, port, scope);
    if (c.proto === "tcp") {
      this.tcpConnect6(cd, c, ip6, off, port, scope);
      return;
    }
    if (c.localIp !== 0) throw new Error(`chnl_connect ${cd}: bound to the IPv4 address ${formatIp4(c.localIp)}, cannot reach an IPv6 peer`);
    if (c.localPort === 0) this.bind(cd, 0, 0);
    c.peer6 = ip6.slice(off, off + 16);
    c.scope = scope;
    c.peerIp = 0;
    c.peerPort = port;
  }

  /** @internal udp4_input: queues datagram `h` (payload as data, ends noted) on the channel of `port`. */
  deliver(cd: number, h: number, dstIp: number): boolean {
    const c = this.chans[cd];
    if (!c || !c.open || c.rx === null || (c.localIp !== 0 && c.localIp !== dstIp)) return false;
    return c.rx.push(h);
  }

  /** @internal udp6_input: queues datagram `h` on channel `cd` (which {@link Chnl.accepts6}). */
  deliver6(cd: number, h: number): boolean {
    return this.chans[cd]!.rx!.push(h);
  }

  /** @internal Whether channel `cd` would take an IPv6 datagram (a UDP channel bound to any address). */
  accepts6(cd: number): boolean {
    const c = this.chans[cd];
    return c !== null && c !== undefined && c.open && c.rx !== null && c.localIp === 0;
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
   * declare const stack: CnetStack;
   * declare const cd: number;
   * const k = stack.chnl.recvBurst(cd, bufs, 64);
   */
  recvBurst(cd: number, bufs: Uint32Array, max: number): number {
    const c = this.chan(cd, "recv");
    if (c.proto === "tcp") return c.slot < 0 ? 0 : this.tcp!.recvBurst(c.slot, bufs, max);
    return c.rx!.shift(bufs, Math.min(max, bufs.length));
  }

  /**
   * The IPv4 sender address of received buffer `h` (0 for an IPv6 sender: {@link Chnl.peerIp6}). The
   * per-buffer calls (this, peerPort, family, peerIp6, peerName) also name the sender of a TCP frame
   * taken with recvBurst.
   *
   * @example
   * declare const stack: CnetStack;
   * console.log(stack.chnl.peerIp(h));
   */
  peerIp(h: number): number {
    return this.ctx.peerIp[h]!;
  }

  /**
   * The sender port of received buffer `h`.
   *
   * @example
   * declare const stack: CnetStack;
   * console.log(stack.chnl.peerPort(h));
   */
  peerPort(h: number): number {
    return this.ctx.peerPort[h]!;
  }

  /**
   * The address family of received buffer `h`'s sender: 4 ({@link Chnl.peerIp}) or 6 ({@link Chnl.peerIp6}).
   *
   * @example
   * declare const stack: CnetStack;
   * if (stack.chnl.family(h) === 6) console.log("an IPv6 peer");
   */
  family(h: number): 4 | 6 {
    return this.fam[h] === 6 ? 6 : 4;
  }

  /**
   * Copies the IPv6 sender address of received buffer `h` (family 6) to `dst[off..+16)` (allocation-free).
   *
   * @example
   * declare const stack: CnetStack;
   * const peer = new Uint8Array(16);
   * stack.chnl.peerIp6(h, peer, 0);
   */
  peerIp6(h: number, dst: Uint8Array, off: number): void {
    const x = this.ip6;
    if (x === null || this.fam[h] !== 6) throw new RangeError(`chnl_peer_ip6: buffer ${h} is not from an IPv6 peer`);
    const a = h << 4;
    for (let k = 0; k < 16; k++) dst[off + k] = x.peer6[a + k]!;
  }

  /**
   * The sender of received buffer `h` as text, "10.0.0.2:9000" or "[2001:db8::2]:9000" (control path: allocates).
   *
   * @example
   * declare const stack: CnetStack;
   * console.log(stack.chnl.peerName(h));
   */
  peerName(h: number): string {
    const port = this.ctx.peerPort[h]!;
    if (this.fam[h] !== 6 || this.ip6 === null) return `${formatIp4(this.ctx.peerIp[h]!)}:${port}`;
    return `[${formatIp6(this.ip6.peer6.subarray(h << 4, (h << 4) + 16))}]:${port}`;
  }

  /**
   * Byte offset of buffer `h`'s data (the payload) in `mempool.umem.u8`.
   *
   * @example
   * declare const stack: CnetStack;
   * const at = stack.chnl.payloadAt(h);
   */
  payloadAt(h: number): number {
    return ((h << this.ctx.shift) >>> 0) + this.ctx.dataOff[h]!;
  }

  /**
   * Allocates up to `n` buffers to send, each with room for the headers of either family
   * ({@link UDP6_HEADROOM}) before its data and length 0 (write the payload at {@link Chnl.payloadAt},
   * set `mbufs.dataLen`); returns how many.
   *
   * @example
   * declare const stack: CnetStack;
   * const k = stack.chnl.allocBurst(bufs, 8);
   */
  allocBurst(bufs: Uint32Array, n: number): number {
    const k = this.ctx.mp.allocBulk(bufs, Math.min(n, bufs.length));
    for (let i = 0; i < k; i++) {
      const h = bufs[i]!;
      this.ctx.dataOff[h] = this.ctx.dataOff[h]! + UDP6_HEADROOM;
      this.ctx.dataLen[h] = 0;
    }
    return k;
  }

  private queue(c: Channel, bufs: Uint32Array, n: number, ip: number, port: number, reply: boolean): number {
    const ctx = this.ctx;
    const fam = this.fam;
    const nbSegs = ctx.mp.mbufs.nbSegs;
    let i = 0;
    for (; i < n; i++) {
      const h = bufs[i]!;
      if (reply && fam[h] === 6) {
        // An IPv6 peer: no fragmentation (no chains), 62 bytes of headers.
        if (ctx.dataOff[h]! < UDP6_HEADROOM || ctx.dataLen[h]! > MAX_PAYLOAD6 || nbSegs[h]! > 1) break;
      } else {
        if (ctx.dataOff[h]! < UDP_HEADROOM || ctx.dataLen[h]! > 65507) break;
        if (!reply) {
          ctx.peerIp[h] = ip;
          ctx.peerPort[h] = port;
          ctx.localIp[h] = c.localIp;
          fam[h] = 4;
        }
      } // a reply goes back to the peer it came from, from the address it was sent to (both noted at receive)
      ctx.localPort[h] = c.localPort;
      if (!this.txq.push(h)) break;
    }
    return i;
  }

  private queue6(c: Channel, bufs: Uint32Array, n: number, ip6: Uint8Array, ipOff: number, port: number, scope: number): number {
    const ctx = this.ctx;
    const x = this.ip6!;
    const nbSegs = ctx.mp.mbufs.nbSegs;
    let i = 0;
    for (; i < n; i++) {
      const h = bufs[i]!;
      if (ctx.dataOff[h]! < UDP6_HEADROOM || ctx.dataLen[h]! > MAX_PAYLOAD6 || nbSegs[h]! > 1) break;
      const a = h << 4;
      for (let k = 0; k < 16; k++) {
        x.peer6[a + k] = ip6[ipOff + k]!;
        x.local6[a + k] = 0;
      }
      this.fam[h] = 6;
      x.oif[h] = scope;
      ctx.peerIp[h] = 0;
      ctx.localIp[h] = 0;
      ctx.peerPort[h] = port;
      ctx.localPort[h] = c.localPort;
      if (!this.txq.push(h)) break;
    }
    return i;
  }

  /**
   * Sends up to `n` buffers to the connected peer; returns how many the stack took.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * const k = stack.chnl.sendBurst(cd, bufs, n);
   */
  sendBurst(cd: number, bufs: Uint32Array, n: number): number {
    const c = this.chan(cd, "send");
    if (c.peerPort === 0) throw new Error(`chnl_send ${cd}: not connected (use sendTo or connect)`);
    if (c.peer6 !== null) return this.queue6(c, bufs, n, c.peer6, 0, c.peerPort, c.scope);
    return this.queue(c, bufs, n, c.peerIp, c.peerPort, false);
  }

  /**
   * Sends up to `n` buffers to `ip`:`port` (binding an ephemeral port first when unbound).
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * const k = stack.chnl.sendTo(cd, bufs, n, 0x0a000002, 9000);
   */
  sendTo(cd: number, bufs: Uint32Array, n: number, ip: number, port: number): number {
    const c = this.chan(cd, "sendto");
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`chnl_sendto ${cd}: port ${port} to ${formatIp4(ip >>> 0)} is not 1 to 65535`);
    if (c.localPort === 0) this.bind(cd, 0, 0);
    return this.queue(c, bufs, n, ip >>> 0, port, false);
  }

  /**
   * Sends up to `n` buffers to the IPv6 address at `ip6[off..+16)`, port `port` (binding an ephemeral
   * port first when unbound); a link-local peer needs `scope`, the ifindex it is on. The source is a
   * preferred address of the interface the datagrams leave by. Allocation-free; returns how many the
   * stack took (a chain, a payload over 65527 bytes or less than {@link UDP6_HEADROOM} before the data
   * stops there).
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * const peer = parseIp6("2001:db8::2");
   * const k = stack.chnl.sendTo6(cd, bufs, n, peer, 0, 9000);
   */
  sendTo6(cd: number, bufs: Uint32Array, n: number, ip6: Uint8Array, off: number, port: number, scope = 0): number {
    const c = this.chan(cd, "sendto");
    if (c.proto !== "udp") throw new RangeError(`chnl_sendto ${cd}: not a UDP channel`);
    this.check6(cd, "sendto", ip6, off, port, scope);
    if (c.localIp !== 0) throw new Error(`chnl_sendto ${cd}: bound to the IPv4 address ${formatIp4(c.localIp)}, cannot reach an IPv6 peer`);
    if (c.localPort === 0) this.bind(cd, 0, 0);
    return this.queue6(c, bufs, n, ip6, off, port, scope);
  }

  /**
   * Sends each received buffer back to its sender, from the address it was sent to (an echo without a
   * copy); returns how many the stack took.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * const k = stack.chnl.replyBurst(cd, bufs, stack.chnl.recvBurst(cd, bufs, 64));
   */
  replyBurst(cd: number, bufs: Uint32Array, n: number): number {
    return this.queue(this.chan(cd, "send"), bufs, n, 0, 0, true);
  }

  /**
   * Closes a channel: its port is free again and datagrams still queued are freed.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * stack.chnl.close(cd);
   */
  close(cd: number): void {
    const c = this.chan(cd, "close");
    if (c.proto === "tcp") {
      this.tcpClose(cd, c, false);
      return;
    }
    const scratch = new Uint32Array(256);
    for (let k; (k = c.rx!.shift(scratch, 256)) > 0;) this.ctx.mp.freeBulk(scratch, k);
    if (c.localPort !== 0 && this.ctx.udpBound[c.localPort] === cd) this.ctx.udpBound[c.localPort] = -1;
    c.open = false;
  }

  /** @internal Closes every channel (stack close): TCP channels without a word on the wire. */
  closeAll(): void {
    this.chans.forEach((c, cd) => {
      if (!c?.open) return;
      if (c.proto === "tcp") {
        if (c.localPort !== 0 && this.tcp!.portRefs[c.localPort]! > 0) this.tcp!.portRefs[c.localPort] = this.tcp!.portRefs[c.localPort]! - 1;
        c.open = false;
      } else if (!c.closing) this.close(cd);
    });
  }

  /**
   * The open channels (control path).
   *
   * @example
   * declare const stack: CnetStack;
   * console.log(stack.chnl.list());
   */
  list(): { cd: number; proto: "udp" | "tcp"; local: string; peer: string; queued: number; state?: string }[] {
    const out: { cd: number; proto: "udp" | "tcp"; local: string; peer: string; queued: number; state?: string }[] = [];
    this.chans.forEach((c, cd) => {
      if (!c?.open || c.closing) return;
      if (c.proto === "tcp") {
        const peer = c.slot >= 0 ? this.peerOf(cd) : { ip: 0, port: 0 };
        const local = c.slot >= 0 ? this.localOf(cd) : { ip: c.localIp, port: c.localPort };
        const name = (e: { ip: number; port: number; ip6?: Uint8Array }) => e.ip6 ? `[${formatIp6(e.ip6)}]:${e.port}` : `${formatIp4(e.ip)}:${e.port}`;
        out.push({ cd, proto: "tcp", local: name(local), peer: peer.port ? name(peer) : "", queued: c.slot >= 0 ? this.tcp!.readable(c.slot) : 0, state: this.tcpState(cd) });
        return;
      }
      const peer = c.peerPort === 0 ? "" : c.peer6 !== null ? `[${formatIp6(c.peer6)}]:${c.peerPort}` : `${formatIp4(c.peerIp)}:${c.peerPort}`;
      out.push({ cd, proto: "udp", local: `${formatIp4(c.localIp)}:${c.localPort}`, peer, queued: c.rx!.length });
    });
    return out;
  }

  // -----------------------------------------------------------------------------------------------------
  // TCP

  private tcpConnect6(cd: number, c: Channel, ip6: Uint8Array, off: number, port: number, scope: number): void {
    const eng = this.engine("connect");
    const x = this.ip6!;
    if (c.slot >= 0) throw new Error(`chnl_connect ${cd}: already ${this.tcpState(cd)}`);
    if (c.localIp !== 0) throw new Error(`chnl_connect ${cd}: bound to the IPv4 address ${formatIp4(c.localIp)}, cannot reach an IPv6 peer`);
    const peer = ip6.slice(off, off + 16);
    const ll = peer[0] === 0xfe && (peer[1]! & 0xc0) === 0x80;
    let ifindex = scope;
    if (!ll) {
      const nh = this.ctx.tables.route6(peer, 0);
      ifindex = nh === FIB_NO_ROUTE ? 0 : this.ctx.tables.nextHop6Ifindex(nh);
    }
    const src = new Uint8Array(16);
    if (ifindex === 0 || !x.addrs.sourceFor(ifindex, ll, src, 0)) {
      throw new Error(`chnl_connect ${cd}: no route to ${formatIp6(peer)}${ll ? `%${scope}` : ""} or no usable address on its interface (ENETUNREACH)`);
    }
    const bound = c.localPort !== 0;
    if (!bound) this.bind(cd, 0, 0);
    try {
      c.slot = eng.connect6(cd, src, 0, c.localPort, peer, 0, port, ifindex);
    } catch (e) {
      if (!bound) {
        eng.portRefs[c.localPort] = eng.portRefs[c.localPort]! - 1;
        c.localPort = 0;
      }
      throw e;
    }
    c.peerIp = 0;
    c.peer6 = peer;
    c.scope = ll ? scope : 0;
    c.peerPort = port;
    if (c.nodelay) eng.setFlag(c.slot, "nodelay", true);
    if (c.keepalive) eng.setFlag(c.slot, "keepalive", true);
  }

  private tcpConnect(cd: number, c: Channel, ip: number, port: number): void {
    const eng = this.engine("connect");
    if (c.slot >= 0) throw new Error(`chnl_connect ${cd}: already ${this.tcpState(cd)}`);
    let src = c.localIp;
    if (src === 0) {
      const nh = this.ctx.tables.route4(ip);
      src = nh === FIB_NO_ROUTE ? 0 : this.ctx.tables.sourceFor(this.ctx.tables.nextHopIfindex(nh));
      if (src === 0) throw new Error(`chnl_connect ${cd}: no route to ${formatIp4(ip)} (ENETUNREACH)`);
    }
    const bound = c.localPort !== 0;
    if (!bound) this.bind(cd, c.localIp, 0);
    try {
      c.slot = eng.connect(cd, src, c.localPort, ip, port);
    } catch (e) {
      if (!bound) {
        eng.portRefs[c.localPort] = eng.portRefs[c.localPort]! - 1;
        c.localPort = 0;
      }
      throw e;
    }
    c.peerIp = ip;
    c.peerPort = port;
    if (c.nodelay) eng.setFlag(c.slot, "nodelay", true);
    if (c.keepalive) eng.setFlag(c.slot, "keepalive", true);
  }

  /**
   * Makes a bound TCP channel a listener with a backlog (half-open plus not yet accepted connections);
   * SYNs beyond it are dropped and counted (`tcp_syn_drop_backlog`).
   *
   * @example
   * declare const stack: CnetStack;
   * const cd = stack.chnl.open("tcp");
   * stack.chnl.bind(cd, 0, 80);
   * stack.chnl.listen(cd, 128);
   */
  listen(cd: number, backlog: number): void {
    const c = this.tcpChan(cd, "listen");
    if (!Number.isInteger(backlog) || backlog < 1) throw new RangeError(`chnl_listen ${cd}: backlog ${backlog} is not a positive integer`);
    if (c.localPort === 0) throw new Error(`chnl_listen ${cd}: bind a port first`);
    if (c.slot >= 0) throw new Error(`chnl_listen ${cd}: already ${this.tcpState(cd)}`);
    c.slot = this.engine("listen").listen(cd, c.localIp, c.localPort, backlog);
    if (c.nodelay) this.tcp!.setFlag(c.slot, "nodelay", true);
    if (c.keepalive) this.tcp!.setFlag(c.slot, "keepalive", true);
  }

  /**
   * The next established connection of a listener as a new channel, or -1 when none is ready.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const lcd: number;
   * const conn = stack.chnl.accept(lcd);
   */
  accept(cd: number): number {
    const c = this.tcpChan(cd, "accept");
    if (c.slot < 0 || this.tcp!.state[c.slot] !== 1) throw new Error(`chnl_accept ${cd}: not listening`);
    const eng = this.tcp!;
    const s = eng.accept(c.slot);
    if (s < 0) return -1;
    let ncd: number;
    try {
      ncd = this.newChannel("tcp");
    } catch (e) {
      eng.abort(s);
      throw e;
    }
    const n = this.chans[ncd]!;
    const ends = eng.endsOf(s);
    n.slot = s;
    n.localIp = ends.localIp;
    n.localPort = ends.localPort;
    n.peerIp = ends.remoteIp;
    n.peerPort = ends.remotePort;
    if (ends.family === 6) {
      n.peer6 = eng.rip6.slice(s << 4, (s << 4) + 16);
      const ll = n.peer6[0] === 0xfe && (n.peer6[1]! & 0xc0) === 0x80;
      n.scope = ll ? eng.oif6[s]! : 0;
    }
    n.nodelay = c.nodelay;
    n.keepalive = c.keepalive;
    eng.adopt(s, ncd);
    return ncd;
  }

  /**
   * Copies up to `len` bytes of `src` from `off` into the connection's send buffer; returns how many
   * (0 when full: wait for CHNL_EV_WRITABLE). Throws when the channel cannot send (not connected, shut
   * down, reset).
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * declare const bytes: Uint8Array;
   * const k = stack.chnl.send(cd, bytes, 0, bytes.length);
   */
  send(cd: number, src: Uint8Array, off: number, len: number): number {
    const c = this.tcpChan(cd, "send");
    if (off < 0 || len < 0 || off + len > src.length) throw new RangeError(`chnl_send ${cd}: bytes ${off}..${off + len} outside a buffer of ${src.length}`);
    if (c.slot < 0) throw new Error(`chnl_send ${cd}: not connected`);
    const k = this.tcp!.send(c.slot, src, off, len);
    if (k < 0) throw new Error(`chnl_send ${cd}: cannot send in state ${this.tcpState(cd)}${(this.tcp!.events(c.slot) & CHNL_EV_RESET) !== 0 ? " (reset by the peer)" : ""}`);
    return k;
  }

  /**
   * Copies up to `max` received bytes into `dst` at `off`; returns how many, 0 when nothing is there now,
   * -1 at EOF (the peer's FIN reached and everything read, or the connection reset/failed).
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * declare const buf: Uint8Array;
   * const k = stack.chnl.recv(cd, buf, 0, buf.length);
   */
  recv(cd: number, dst: Uint8Array, off: number, max: number): number {
    const c = this.tcpChan(cd, "recv");
    if (off < 0 || max < 0 || off + max > dst.length) throw new RangeError(`chnl_recv ${cd}: bytes ${off}..${off + max} outside a buffer of ${dst.length}`);
    if (c.slot < 0) return 0;
    return this.tcp!.recv(c.slot, dst, off, max);
  }

  /**
   * No more data from us: FIN once the send buffer drains (the peer sees EOF); receiving goes on.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * stack.chnl.shutdown(cd);
   */
  shutdown(cd: number): void {
    const c = this.tcpChan(cd, "shutdown");
    if (c.slot >= 0) this.tcp!.shutdown(c.slot);
  }

  /** @internal The engine freed a slot whose channel the app had closed. */
  private release(cd: number): void {
    const c = this.chans[cd];
    if (!c || !c.open || !c.closing) return;
    if (c.localPort !== 0 && this.tcp!.portRefs[c.localPort]! > 0) this.tcp!.portRefs[c.localPort] = this.tcp!.portRefs[c.localPort]! - 1;
    c.open = false;
    c.closing = false;
    c.slot = -1;
  }

  private tcpClose(cd: number, c: Channel, abort: boolean): void {
    c.cb = null;
    if (c.slot < 0) {
      c.closing = true;
      this.release(cd);
      return;
    }
    c.closing = true;
    if (abort) this.tcp!.abort(c.slot);
    this.tcp!.close(c.slot);
  }

  /**
   * Resets the connection (RST) and closes the channel.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * stack.chnl.abort(cd);
   */
  abort(cd: number): void {
    this.tcpClose(cd, this.tcpChan(cd, "abort"), true);
  }

  /**
   * Sets (or clears, with null) the channel's event callback; `stack.walk()` calls it after the graph walk.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * stack.chnl.setCallback(cd, (cd, ev) => { if (ev & CHNL_EV_READABLE) console.log("data on", cd); });
   */
  setCallback(cd: number, fn: ChnlCallback | null): void {
    const c = this.chan(cd, "set_callback");
    c.cb = fn;
    c.last = 0;
  }

  /**
   * The channel's current event bits (CHNL_EV_*).
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * declare const bytes: Uint8Array;
   * if (stack.chnl.events(cd) & CHNL_EV_WRITABLE) stack.chnl.send(cd, bytes, 0, bytes.length);
   */
  events(cd: number): number {
    const c = this.chan(cd, "events");
    if (c.proto === "udp") return (c.rx!.length > 0 ? CHNL_EV_READABLE : 0) | CHNL_EV_WRITABLE;
    return c.slot < 0 ? 0 : this.tcp!.events(c.slot);
  }

  /**
   * Turns a TCP option on or off: "nodelay" (Nagle off), "keepalive".
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * stack.chnl.setOption(cd, "nodelay", true);
   */
  setOption(cd: number, name: "nodelay" | "keepalive", on: boolean): void {
    const c = this.tcpChan(cd, "set_option");
    if (name !== "nodelay" && name !== "keepalive") throw new RangeError(`chnl_set_option ${cd}: unknown option '${String(name)}' (nodelay, keepalive)`);
    if (name === "nodelay") c.nodelay = on;
    else c.keepalive = on;
    if (c.slot >= 0) this.tcp!.setFlag(c.slot, name, on);
  }

  /**
   * The connection's state by its RFC 793 name ("LISTEN", "ESTABLISHED", ...; "CLOSED" before listen or
   * connect and after the end).
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * console.log(stack.chnl.tcpState(cd));
   */
  tcpState(cd: number): string {
    const c = this.tcpChan(cd, "state");
    return c.slot < 0 ? "CLOSED" : TCP_STATE_NAMES[this.tcp!.state[c.slot]!]!;
  }

  /**
   * The remote end: family, address (IPv4 as a u32, 0 for IPv6: then `ip6` holds its 16 bytes), port.
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * const { ip, port, family } = stack.chnl.peerOf(cd);
   */
  peerOf(cd: number): { ip: number; port: number; family: 4 | 6; ip6?: Uint8Array } {
    const c = this.tcpChan(cd, "peer");
    if (c.peer6 !== null) return { ip: 0, port: c.peerPort, family: 6, ip6: c.peer6.slice() };
    return { ip: c.peerIp, port: c.peerPort, family: 4 };
  }

  /**
   * A TCP channel's address family: 6 for a connection with an IPv6 peer, else 4 (listeners and
   * unconnected channels too).
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * if (stack.chnl.familyOf(cd) === 6) console.log("over IPv6");
   */
  familyOf(cd: number): 4 | 6 {
    return this.tcpChan(cd, "family").peer6 !== null ? 6 : 4;
  }

  /**
   * The remote end as text, "10.0.0.2:40000" or "[fd00::2]:40000" ("" before connect; allocates).
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * console.log(stack.chnl.peerNameOf(cd));
   */
  peerNameOf(cd: number): string {
    const c = this.tcpChan(cd, "peer");
    if (c.peerPort === 0) return "";
    return c.peer6 !== null ? `[${formatIp6(c.peer6)}]:${c.peerPort}` : `${formatIp4(c.peerIp)}:${c.peerPort}`;
  }

  /**
   * The local end (address as a u32: the one the connection uses, port).
   *
   * @example
   * declare const stack: CnetStack;
   * declare const cd: number;
   * const { ip, port } = stack.chnl.localOf(cd);
   */
  localOf(cd: number): { ip: number; port: number; family: 4 | 6; ip6?: Uint8Array } {
    const c = this.tcpChan(cd, "local");
    if (c.slot >= 0 && this.tcp!.state[c.slot] !== 1 && this.tcp!.fam[c.slot] === 6) {
      return { ip: 0, port: c.localPort, family: 6, ip6: this.tcp!.lip6.slice(c.slot << 4, (c.slot << 4) + 16) };
    }
    if (c.slot >= 0 && this.tcp!.state[c.slot] !== 1) {
      const lip = this.tcp!.lip[c.slot]! >>> 0;
      if (lip !== 0) return { ip: lip, port: c.localPort, family: 4 };
    }
    return { ip: c.localIp, port: c.localPort, family: 4 };
  }

  /**
   * Calls the callbacks of channels with new events (stack.walk() does, after the graph walk); returns
   * how many were called. Allocation-free when nothing happened.
   *
   * @example
   * declare const stack: CnetStack;
   * stack.walk(); // calls stack.chnl.dispatch()
   */
  dispatch(): number {
    const eng = this.tcp;
    if (eng === null) return 0;
    let called = 0;
    for (let round = 0; round < 4; round++) {
      const n = eng.takeDirty(this.dirty);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        const s = this.dirty[2 * i]!;
        const raised = this.dirty[2 * i + 1]!;
        const cd = eng.chanOf[s]!;
        if (cd < 0) continue;
        const c = this.chans[cd];
        if (!c || !c.open || c.closing || c.cb === null || c.slot !== s) continue;
        const cur = eng.events(s);
        const rose = (cur & ~c.last) | (raised & cur) | (raised & (CHNL_EV_CLOSED | CHNL_EV_RESET | CHNL_EV_ERROR));
        c.last = cur;
        if (rose !== 0) {
          called++;
          c.cb(cd, cur | (raised & (CHNL_EV_CLOSED | CHNL_EV_RESET | CHNL_EV_ERROR)));
        }
      }
    }
    return called;
  }
}
