/**
 * A listening TCP channel of the stack shaped like `net.Server`: `listen(port, host?, backlog?, cb?)`,
 * 'listening', 'connection' (a {@link CnetSocket}), 'close', 'error', `close()`, `address()`,
 * `getConnections()`, `maxConnections`. Connections are accepted when the channel says ACCEPT, all that
 * are ready at once. Node's HTTP server serves over it by taking its connections:
 *
 * ```ts
 * const web = http.createServer((req, res) => res.end("hi\n"));
 * createServer((sock) => web.emit("connection", sock)).listen(80);
 * ```
 *
 * @example
 * import { createServer } from "xdplane/cnet";
 * const echo = createServer((sock) => sock.pipe(sock)).listen(7, () => console.log(echo.address()));
 */
import { EventEmitter } from "node:events";
import { formatIp4 } from "../../lookup/addr.js";
import { StackHost, type HostMember } from "./host.js";
import { CnetSocket, parseHostIp, type CnetSocketOptions } from "./socket.js";

/** Options of {@link CnetServer} (net.createServer's that apply). */
export interface CnetServerOptions extends Pick<CnetSocketOptions, "allowHalfOpen" | "readableHighWaterMark" | "writableHighWaterMark"> {
  /** The stack host (default: the one running on this thread). */
  stackHost?: StackHost;
  /** Nagle off on accepted connections. */
  noDelay?: boolean;
  /** Keepalive on accepted connections. */
  keepAlive?: boolean;
  /** Accepted connections start paused (as net's `pauseOnConnect`). */
  pauseOnConnect?: boolean;
}

/** Options of {@link CnetServer.listen} in object form. */
export interface CnetListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

/**
 * A TCP server on the stack. See the module comment.
 *
 * @example
 * import { CnetServer } from "xdplane/cnet";
 * const srv = new CnetServer({}, (sock) => sock.end("hello\n")).listen(7000);
 */
export class CnetServer extends EventEmitter implements HostMember {
  readonly host: StackHost;
  /** Connections past this many are reset at once (net's `maxConnections`). */
  maxConnections = Infinity;
  private cd = -1;
  private addr: { address: string; family: string; port: number } | null = null;
  private readonly conns = new Set<CnetSocket>();
  private readonly sockOpts: CnetSocketOptions;
  private readonly o: CnetServerOptions;
  private closing = false;
  private closeEmitted = false;
  /** Connections accepted, and those refused over `maxConnections`. */
  accepted = 0;
  refused = 0;

  /**
   * A server; `onConnection` becomes a 'connection' listener.
   *
   * @example
   * import { CnetServer } from "xdplane/cnet";
   * const srv = new CnetServer({ noDelay: true });
   */
  constructor(o: CnetServerOptions = {}, onConnection?: (sock: CnetSocket) => void) {
    super();
    this.o = o;
    this.host = o.stackHost ?? StackHost.current();
    this.sockOpts = {
      ...(o.allowHalfOpen !== undefined ? { allowHalfOpen: o.allowHalfOpen } : {}),
      ...(o.readableHighWaterMark !== undefined ? { readableHighWaterMark: o.readableHighWaterMark } : {}),
      ...(o.writableHighWaterMark !== undefined ? { writableHighWaterMark: o.writableHighWaterMark } : {}),
    };
    if (onConnection) this.on("connection", onConnection);
  }

  /** Whether it listens. */
  get listening(): boolean {
    return this.cd >= 0;
  }

  /**
   * Listens: `listen(port, host?, backlog?, cb?)` or `listen({ port, host, backlog }, cb?)`. Port 0 picks
   * an ephemeral one ({@link CnetServer.address}). An error (the port is taken, a bad address) comes as
   * 'error', after the call returns, as with net.
   *
   * @example
   * import { createServer } from "xdplane/cnet";
   * createServer().listen(8080, "10.0.0.1", () => console.log("listening"));
   */
  listen(port?: number | CnetListenOptions, host?: string | number | (() => void), backlog?: number | (() => void), cb?: () => void): this {
    const o: CnetListenOptions = typeof port === "object" ? port : { ...(port !== undefined ? { port } : {}) };
    const args = [host, backlog, cb];
    const done = args.find((a): a is () => void => typeof a === "function");
    if (typeof port !== "object") {
      if (typeof host === "string") o.host = host;
      else if (typeof host === "number") o.backlog = host;
      if (typeof backlog === "number") o.backlog = backlog;
    }
    if (done) this.once("listening", done);
    try {
      if (this.cd >= 0) throw new Error(`cnet listen: the server already listens on ${this.addr!.address}:${this.addr!.port}`);
      const p = o.port ?? 0;
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`cnet listen: port ${String(p)} is not 0 to 65535`);
      const bl = o.backlog ?? 511;
      if (!Number.isInteger(bl) || bl < 1) throw new RangeError(`cnet listen: backlog ${bl} is not a positive integer`);
      const ip = parseHostIp(o.host, "listen");
      const ch = this.host.stack.chnl;
      const cd = ch.open("tcp");
      try {
        ch.bind(cd, ip, p);
        ch.listen(cd, bl);
      } catch (e) {
        ch.close(cd);
        throw e;
      }
      const local = ch.localOf(cd);
      this.cd = cd;
      this.closing = false;
      this.closeEmitted = false;
      // "::" (any address, both families, as Linux's dual-stack listener) reads back as Node shows it.
      this.addr = o.host === "::" ? { address: "::", family: "IPv6", port: local.port } : { address: formatIp4(local.ip), family: "IPv4", port: local.port };
      this.host.adopt(this);
      ch.setCallback(cd, (_cd, ev) => this.onEvents(ev));
      this.host.kick();
      process.nextTick(() => this.emit("listening"));
    } catch (e) {
      process.nextTick(() => this.emit("error", e));
    }
    return this;
  }

  /**
   * The bound address (`{ address, family, port }`), or null when not listening.
   *
   * @example
   * import { createServer } from "xdplane/cnet";
   * const srv = createServer().listen(0, () => console.log(srv.address()?.port));
   */
  address(): { address: string; family: string; port: number } | null {
    return this.cd >= 0 ? { ...this.addr! } : null;
  }

  /**
   * Counts open connections (`net.Server#getConnections`).
   *
   * @example
   * import { createServer } from "xdplane/cnet";
   * createServer().listen(80).getConnections((_err: Error | null, n: number) => console.log(n));
   */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.conns.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  /**
   * Stops accepting; 'close' (and `cb`) once every connection has ended, as net.Server.
   *
   * @example
   * import { createServer } from "xdplane/cnet";
   * createServer().listen(80).close(() => console.log("all connections done"));
   */
  close(cb?: (err?: Error) => void): this {
    if (cb) {
      if (this.cd < 0 && !this.closing) process.nextTick(() => cb(Object.assign(new Error("Server is not running."), { code: "ERR_SERVER_NOT_RUNNING" })));
      else this.once("close", () => cb());
    }
    if (this.cd >= 0) {
      const cd = this.cd;
      this.cd = -1;
      this.closing = true;
      const ch = this.host.stack.chnl;
      ch.setCallback(cd, null);
      ch.close(cd);
      this.host.kick();
    }
    this.maybeClosed();
    return this;
  }

  /** Keeps the process alive (a no-op: the host does while it runs). */
  ref(): this {
    return this;
  }

  /** A no-op (see StackHost.ref). */
  unref(): this {
    return this;
  }

  /** @internal The host stops: stop listening, reset the connections. */
  hostStop(): void {
    for (const s of [...this.conns]) s.hostStop();
    this.close();
  }

  private maybeClosed(): void {
    if (!this.closing || this.closeEmitted || this.conns.size > 0) return;
    this.closeEmitted = true;
    this.host.release(this);
    process.nextTick(() => this.emit("close"));
  }

  private onEvents(_events: number): void {
    // Whatever rose, take every connection that is ready (accept() says -1 when none is).
    if (this.cd < 0) return;
    const ch = this.host.stack.chnl;
    for (let cd = ch.accept(this.cd); cd >= 0; cd = this.cd >= 0 ? ch.accept(this.cd) : -1) {
      if (this.conns.size >= this.maxConnections) {
        ch.abort(cd);
        this.refused++;
        continue;
      }
      this.accepted++;
      const s = CnetSocket.accepted(this.host, cd, this.sockOpts);
      if (this.o.noDelay) s.setNoDelay(true);
      if (this.o.keepAlive) s.setKeepAlive(true);
      this.conns.add(s);
      s.once("close", () => {
        this.conns.delete(s);
        this.maybeClosed();
      });
      if (this.o.pauseOnConnect) s.pause();
      try {
        this.emit("connection", s);
      } catch (e) {
        process.nextTick(() => { throw e; });
      }
    }
  }
}
