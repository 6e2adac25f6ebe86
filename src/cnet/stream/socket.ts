/**
 * A TCP connection of the stack as a Node `stream.Duplex`, shaped like `net.Socket` (remoteAddress,
 * remotePort, localAddress, localPort, setNoDelay, setKeepAlive, setTimeout, address(), connect,
 * 'connect'/'ready'/'timeout' events), so code written for sockets (Node's http server, a pipe, a
 * protocol library) runs over the stack unchanged.
 *
 * How it maps onto the channel (chnl.ts):
 * - reading: `_read` pulls with `chnl.recv` into a shared 64 KiB slab and pushes views of it (no second
 *   copy) until `push` says stop (backpressure: the data stays in the stack's receive buffer, whose
 *   window then closes) or nothing is left; READABLE brings more. `recv` returning -1 (the peer's FIN,
 *   everything before it read) ends the readable side: 'end'.
 * - writing: `_write` copies with `chnl.send`; what the send buffer does not take waits for WRITABLE,
 *   and the write's callback waits with it, so `write()` returns false and 'drain' comes as the peer
 *   acknowledges (backpressure end to end).
 * - `end()` -> `chnl.shutdown` (FIN after the queued data); `destroy()` -> `chnl.close` (graceful: what
 *   was queued still goes, then FIN); `destroy(err)` and `resetAndDestroy()` -> `chnl.abort` (RST).
 *   Once both sides are done the stream destroys itself (Node's autoDestroy) and the channel is closed.
 * - RESET -> an `ECONNRESET` error (`ECONNREFUSED` while connecting), ERROR -> `ETIMEDOUT`; the error
 *   names the connection (`read ECONNRESET 10.0.0.2:80`).
 * - IPv6: `connect({ host: "fd00::1", port })` (a link-local peer with its scope as an ifindex,
 *   "fe80::1%5") goes through `chnl.connect6`; `remoteFamily`/`localFamily` and `address()` say "IPv6"
 *   for such connections, accepted ones included (a server on any address takes both families).
 *
 * @example
 * import { connect } from "xdplane/cnet";
 * const s = connect(7, "10.0.0.2", () => s.end("hello\n"));
 * s.on("data", (d: Buffer) => console.log(d.toString()));
 */
import { Duplex, type DuplexOptions } from "node:stream";
import { formatIp4, formatIp6, parseIp4, parseIp6 } from "../../lookup/addr.js";
import { StackHost, type HostMember } from "./host.js";
import { CHNL_EV_CONNECTED, CHNL_EV_EOF, CHNL_EV_ERROR, CHNL_EV_READABLE, CHNL_EV_RESET, CHNL_EV_WRITABLE } from "../chnl.js";
import type { TcpChannelApi } from "./types.js";

/** Options of a {@link CnetSocket}. */
export interface CnetSocketOptions extends Pick<DuplexOptions, "allowHalfOpen" | "readableHighWaterMark" | "writableHighWaterMark"> {
  /** The stack host (default: the one running on this thread, {@link StackHost.current}). */
  stackHost?: StackHost;
}

/** Options of {@link CnetSocket.connect}. */
export interface CnetConnectOptions {
  port: number;
  /** Dotted IPv4 or IPv6 ("fd00::1"; link-local with an ifindex scope, "fe80::1%5"); required in practice. */
  host?: string;
  /** Local port to bind first (default: an ephemeral one). */
  localPort?: number;
  /** Local address to bind first (default: the outgoing interface's). */
  localAddress?: string;
  noDelay?: boolean;
  keepAlive?: boolean;
}

const SLAB = 65536;
const MIN_READ = 2048;
/** The receive slab of this thread (views of it are pushed; a full one is left to the views and replaced). */
let slab: Buffer | null = null;
let slabOff = 0;

/** An error like Node's socket errors: `code`, `syscall`, `address`, `port`. */
function sockError(code: string, syscall: string, address: string, port: number, what: string): NodeJS.ErrnoException & { address: string; port: number } {
  const e = new Error(`${syscall} ${code} ${address}:${port} (${what})`) as NodeJS.ErrnoException & { address: string; port: number };
  e.code = code;
  e.syscall = syscall;
  e.address = address;
  e.port = port;
  return e;
}

/**
 * Parses a peer address for the stack: IPv4 (`{ ip }`) or IPv6 (`{ ip: 0, ip6, scope }`; a scope as
 * "%<ifindex>"); throws naming what is wrong.
 *
 * @example
 * const { ip6, scope } = parseHost("fe80::2%5", "connect"); // scope 5
 */
export function parseHost(host: string | undefined, what: string): { ip: number; ip6?: Uint8Array; scope: number } {
  if (host !== undefined && host.includes(":")) {
    const at = host.indexOf("%");
    const addr = at < 0 ? host : host.slice(0, at);
    const sc = at < 0 ? "0" : host.slice(at + 1);
    if (!/^[0-9]+$/.test(sc)) throw new RangeError(`cnet ${what}: the scope of '${host}' is not an ifindex (give it as a number, fe80::1%5)`);
    let ip6: Uint8Array;
    try {
      ip6 = parseIp6(addr);
    } catch {
      throw new RangeError(`cnet ${what}: host '${host}' is not an IPv6 address`);
    }
    return { ip: 0, ip6, scope: Number(sc) };
  }
  return { ip: parseHostIp(host, what), scope: 0 };
}

/** Parses an IPv4 address for the stack ("" and "0.0.0.0": any); throws naming it otherwise. */
export function parseHostIp(host: string | undefined, what: string): number {
  if (host === undefined || host === "" || host === "0.0.0.0") return 0;
  if (host === "::") return 0;
  try {
    return parseIp4(host);
  } catch {
    throw new RangeError(`cnet ${what}: host '${host}' is not a dotted IPv4 address (the stack resolves no names and serves IPv4 here)`);
  }
}

/**
 * A TCP connection over the stack as a `stream.Duplex`. See the module comment.
 *
 * @example
 * import { CnetSocket } from "xdplane/cnet";
 * const s = new CnetSocket().connect(80, "10.0.0.2");
 * s.setNoDelay(true);
 */
export class CnetSocket extends Duplex implements HostMember {
  readonly host: StackHost;
  /** The channel, -1 once closed (or before connect). */
  private cd = -1;
  private readonly ch: TcpChannelApi;
  /** An active open in progress (net.Socket's `connecting`). */
  connecting = false;
  remoteAddress: string | undefined = undefined;
  remotePort: number | undefined = undefined;
  remoteFamily: "IPv4" | "IPv6" | undefined = undefined;
  localFamily: "IPv4" | "IPv6" | undefined = undefined;
  localAddress: string | undefined = undefined;
  localPort: number | undefined = undefined;
  /** Payload bytes read and written (copied to or from the stack). */
  bytesRead = 0;
  bytesWritten = 0;
  private wantRead = false;
  private readEnded = false;
  private pendBuf: Uint8Array | null = null;
  private pendOff = 0;
  private pendCb: ((e?: Error | null) => void) | null = null;
  private finalCb: ((e?: Error | null) => void) | null = null;
  private opts: { nodelay?: boolean; keepalive?: boolean } = {};
  private timeoutMs = 0;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private lastActive = 0;
  private dead = false;
  private readonly onEv = (_cd: number, events: number) => this.onEvents(events);

  /**
   * An unconnected socket (call {@link CnetSocket.connect}); servers make connected ones.
   *
   * @example
   * import { CnetSocket } from "xdplane/cnet";
   * const s = new CnetSocket({ allowHalfOpen: true });
   */
  constructor(o: CnetSocketOptions = {}) {
    const { stackHost, ...rest } = o;
    super({ allowHalfOpen: false, ...rest });
    this.host = stackHost ?? StackHost.current();
    this.ch = this.host.stack.chnl;
  }

  /** @internal A connection a server accepted. */
  static accepted(host: StackHost, cd: number, o: CnetSocketOptions): CnetSocket {
    const s = new CnetSocket({ ...o, stackHost: host });
    s.attach(cd);
    s.fillEnds();
    return s;
  }

  private attach(cd: number): void {
    this.host.adopt(this);
    this.cd = cd;
    this.ch.setCallback(cd, this.onEv);
  }

  private fillEnds(): void {
    const l = this.ch.localOf(this.cd);
    const r = this.ch.peerOf(this.cd);
    const six = (e: { ip: number; family?: 4 | 6; ip6?: Uint8Array }) => e.family === 6 && e.ip6 !== undefined;
    this.localAddress = six(l) ? formatIp6(l.ip6!) : formatIp4(l.ip);
    this.localFamily = six(l) ? "IPv6" : "IPv4";
    this.localPort = l.port;
    this.remoteAddress = six(r) ? formatIp6(r.ip6!) : formatIp4(r.ip);
    this.remoteFamily = six(r) ? "IPv6" : "IPv4";
    this.remotePort = r.port;
  }

  /**
   * Opens the connection (`net.Socket#connect`): `connect(port, host, cb)` or `connect({ port, host }, cb)`.
   * 'connect' and 'ready' follow, or an error (`ECONNREFUSED` when the peer resets the SYN, `ETIMEDOUT`).
   *
   * @example
   * import { CnetSocket } from "xdplane/cnet";
   * const s = new CnetSocket().connect(80, "10.0.0.2", () => s.end("GET / HTTP/1.0\r\n\r\n"));
   */
  connect(port: number | CnetConnectOptions, host?: string | (() => void), cb?: () => void): this {
    const o: CnetConnectOptions = typeof port === "object" ? port : { port, ...(typeof host === "string" ? { host } : {}) };
    const done = typeof host === "function" ? host : cb;
    if (this.cd >= 0 || this.connecting) throw new Error(`cnet connect: the socket is already ${this.connecting ? "connecting" : "connected"}`);
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new RangeError(`cnet connect: port ${String(o.port)} is not 1 to 65535`);
    const peer = parseHost(o.host, "connect");
    const ip = peer.ip;
    if (ip === 0 && peer.ip6 === undefined) throw new RangeError(`cnet connect: no host to connect to (got '${o.host ?? ""}'): give the peer's IPv4 or IPv6 address`);
    if (peer.ip6 !== undefined && this.ch.connect6 === undefined) throw new RangeError(`cnet connect: this stack serves no TCP over IPv6 (host '${o.host}')`);
    this.remoteAddress = peer.ip6 !== undefined ? formatIp6(peer.ip6) : formatIp4(ip);
    this.remoteFamily = peer.ip6 !== undefined ? "IPv6" : "IPv4";
    this.remotePort = o.port;
    if (o.noDelay !== undefined) this.opts.nodelay = o.noDelay;
    if (o.keepAlive !== undefined) this.opts.keepalive = o.keepAlive;
    if (done) this.once("connect", done);
    const cd = this.ch.open("tcp");
    this.connecting = true;
    try {
      this.attach(cd);
      if (o.localPort !== undefined || o.localAddress !== undefined) this.ch.bind(cd, parseHostIp(o.localAddress, "connect"), o.localPort ?? 0);
      if (peer.ip6 !== undefined) this.ch.connect6!(cd, peer.ip6, 0, o.port, peer.scope);
      else this.ch.connect(cd, ip, o.port);
    } catch (e) {
      // Like net: connect errors come as 'error', after this call returns.
      process.nextTick(() => this.destroy(e as Error));
      return this;
    }
    this.host.kick();
    return this;
  }

  /** `net.Socket#readyState`. */
  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.connecting) return "opening";
    if (this.cd < 0) return "closed";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }

  /** Not connected yet (`net.Socket#pending`). */
  get pending(): boolean {
    return this.cd < 0 || this.connecting;
  }

  /** The TCP state (RFC 793 name), or "CLOSED" once the channel is gone. */
  get tcpState(): string {
    return this.cd < 0 ? "CLOSED" : this.ch.tcpState(this.cd);
  }

  /**
   * The local end (`net.Socket#address()`).
   *
   * @example
   * import { connect } from "xdplane/cnet";
   * const sock = connect(80, "10.0.0.2", () => console.log(sock.address()));
   */
  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (this.localPort === undefined) return {};
    return { address: this.localAddress!, family: this.localFamily ?? "IPv4", port: this.localPort };
  }

  /**
   * Nagle off (true) or on (`TCP_NODELAY`).
   *
   * @example
   * import { connect } from "xdplane/cnet";
   * connect(80, "10.0.0.2").setNoDelay(true);
   */
  setNoDelay(noDelay = true): this {
    this.opts.nodelay = noDelay;
    if (this.cd >= 0 && !this.connecting) this.ch.setOption(this.cd, "nodelay", noDelay);
    return this;
  }

  /**
   * Keepalive probes on or off (`SO_KEEPALIVE`; the stack's own timing: the delay is not per socket).
   *
   * @example
   * import { connect } from "xdplane/cnet";
   * connect(80, "10.0.0.2").setKeepAlive(true);
   */
  setKeepAlive(enable = false, _initialDelay?: number): this {
    this.opts.keepalive = enable;
    if (this.cd >= 0 && !this.connecting) this.ch.setOption(this.cd, "keepalive", enable);
    return this;
  }

  /**
   * Emits 'timeout' after `ms` without reads or writes (0: never), as net.Socket; the app decides what to do.
   *
   * @example
   * import { connect } from "xdplane/cnet";
   * const sock = connect(80, "10.0.0.2");
   * sock.setTimeout(30_000, () => sock.destroy());
   */
  setTimeout(ms: number, cb?: () => void): this {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cnet setTimeout: ${ms} is not a finite number of ms >= 0`);
    this.timeoutMs = ms;
    if (cb) ms === 0 ? this.off("timeout", cb) : this.once("timeout", cb);
    if (this.timeoutTimer !== null) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
    if (ms > 0 && !this.destroyed) {
      this.lastActive = performance.now();
      this.armTimeout(ms);
    }
    return this;
  }

  private armTimeout(ms: number): void {
    this.timeoutTimer = setTimeout(() => {
      this.timeoutTimer = null;
      if (this.destroyed || this.timeoutMs === 0) return;
      const idle = performance.now() - this.lastActive;
      if (idle + 1 < this.timeoutMs) this.armTimeout(this.timeoutMs - idle);
      else {
        this.emit("timeout");
        if (!this.destroyed && this.timeoutMs > 0) {
          this.lastActive = performance.now();
          this.armTimeout(this.timeoutMs);
        }
      }
    }, ms);
    this.timeoutTimer.unref();
  }

  /** Keeps the process alive (a no-op: the host does while it runs). */
  ref(): this {
    return this;
  }

  /** A no-op (see {@link StackHost.ref}). */
  unref(): this {
    return this;
  }

  /**
   * Sends an RST and destroys the socket (`net.Socket#resetAndDestroy`).
   *
   * @example
   * import { connect } from "xdplane/cnet";
   * const sock = connect(80, "10.0.0.2", () => sock.resetAndDestroy());
   */
  resetAndDestroy(): this {
    if (this.cd >= 0) {
      const cd = this.cd;
      this.cd = -1;
      this.ch.setCallback(cd, null);
      this.ch.abort(cd);
      this.host.kick();
    }
    return this.destroy();
  }

  /** @internal The host stops: RST. */
  hostStop(): void {
    if (this.cd >= 0) {
      const cd = this.cd;
      this.cd = -1;
      this.ch.setCallback(cd, null);
      this.ch.abort(cd);
    }
    this.destroy();
  }

  private onEvents(events: number): void {
    try {
      this.handle(events);
    } catch (e) {
      // Never unwind through the stack's dispatch: rethrow on the event loop, as an event handler would.
      process.nextTick(() => { throw e; });
    }
  }

  private handle(events: number): void {
    if (this.cd < 0) return;
    const bits = events | this.ch.events(this.cd);
    if (this.connecting) {
      if (bits & CHNL_EV_CONNECTED) this.connected();
      else if (bits & (CHNL_EV_RESET | CHNL_EV_ERROR)) {
        this.fail(bits & CHNL_EV_RESET ? "ECONNREFUSED" : "ETIMEDOUT", "connect", bits & CHNL_EV_RESET ? "the peer refused" : "no answer");
        return;
      } else return;
    }
    // A reset or a failure first: what was received and not read is lost (as Linux's ECONNRESET).
    if (bits & CHNL_EV_RESET) {
      this.fail("ECONNRESET", this.pendBuf !== null ? "write" : "read", "reset by the peer");
      return;
    }
    if (bits & CHNL_EV_ERROR) {
      this.fail("ETIMEDOUT", "read", "the peer stopped answering");
      return;
    }
    if (bits & (CHNL_EV_READABLE | CHNL_EV_EOF)) this.touch();
    if (this.wantRead && bits & (CHNL_EV_READABLE | CHNL_EV_EOF)) this.pull();
    if (this.cd < 0) return;
    if (this.pendBuf !== null && bits & CHNL_EV_WRITABLE) this.flushPending();
  }

  private fail(code: string, syscall: string, what: string): void {
    const err = sockError(code, syscall, this.remoteAddress ?? "?", this.remotePort ?? 0, what);
    const cd = this.cd;
    this.cd = -1;
    this.connecting = false;
    this.ch.setCallback(cd, null);
    this.ch.close(cd);
    this.host.release(this);
    this.dead = true;
    this.destroy(err);
  }

  private connected(): void {
    this.connecting = false;
    this.fillEnds();
    if (this.opts.nodelay !== undefined) this.ch.setOption(this.cd, "nodelay", this.opts.nodelay);
    if (this.opts.keepalive !== undefined) this.ch.setOption(this.cd, "keepalive", this.opts.keepalive);
    this.touch();
    this.emit("connect");
    this.emit("ready");
    if (this.cd >= 0 && this.pendBuf !== null) this.flushPending();
    if (this.cd >= 0 && this.pendBuf === null && this.finalCb !== null) {
      const cb = this.finalCb;
      this.finalCb = null;
      this._final(cb);
    }
    if (this.cd >= 0 && this.wantRead) this.pull();
  }

  private touch(): void {
    if (this.timeoutMs > 0) this.lastActive = performance.now();
  }

  private pull(): void {
    const ch = this.ch;
    while (this.wantRead && this.cd >= 0) {
      if (slab === null || SLAB - slabOff < MIN_READ) {
        slab = Buffer.allocUnsafe(SLAB);
        slabOff = 0;
      }
      const s = slab;
      const at = slabOff;
      const n = ch.recv(this.cd, s, at, SLAB - at);
      if (n > 0) {
        slabOff = at + n;
        this.bytesRead += n;
        this.wantRead = this.push(s.subarray(at, at + n));
      } else {
        if (n < 0 && !this.readEnded) {
          this.readEnded = true;
          this.wantRead = false;
          this.push(null);
        }
        break;
      }
    }
  }

  override _read(_size: number): void {
    this.wantRead = true;
    if (this.cd >= 0 && !this.connecting) this.pull();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.touch();
    this.pendBuf = chunk;
    this.pendOff = 0;
    this.pendCb = cb;
    if (this.cd >= 0 && !this.connecting) this.flushPending();
  }

  /** @internal The host's retry of a write that waits for room (a missed WRITABLE edge cannot stall it). */
  retryWrite(): void {
    if (this.cd >= 0 && !this.connecting && this.pendBuf !== null) this.flushPending();
  }

  private flushPending(): void {
    const buf = this.pendBuf!;
    const len = buf.length - this.pendOff;
    const n = len > 0 ? this.ch.send(this.cd, buf, this.pendOff, len) : 0;
    this.bytesWritten += n;
    this.pendOff += n;
    if (n > 0) this.host.kick();
    if (this.pendOff < buf.length) {
      this.host.waitWritable(this);
      return;
    }
    this.host.doneWritable(this);
    const cb = this.pendCb!;
    this.pendBuf = null;
    this.pendCb = null;
    cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.connecting) {
      this.finalCb = cb;
      return;
    }
    if (this.cd >= 0) {
      this.ch.shutdown(this.cd);
      this.host.kick();
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.timeoutTimer !== null) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
    this.host.doneWritable(this);
    if (this.cd >= 0) {
      const cd = this.cd;
      this.cd = -1;
      this.ch.setCallback(cd, null);
      // An error of the app's (destroy(err)) or a connect never completed: RST; otherwise a graceful close.
      if (err !== null || this.connecting) this.ch.abort(cd);
      else this.ch.close(cd);
      this.host.kick();
    }
    this.connecting = false;
    if (!this.dead) this.host.release(this);
    this.dead = true;
    const pend = this.pendCb;
    this.pendBuf = null;
    this.pendCb = null;
    if (pend) pend(err ?? new Error("cnet: socket destroyed with data not yet taken by the stack"));
    cb(err);
  }
}
