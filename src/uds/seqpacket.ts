/**
 * SOCK_SEQPACKET Unix sockets on the Node event loop: a server, connections and a client, with file
 * descriptors passed as SCM_RIGHTS. node:net cannot do SEQPACKET, so this drives the raw syscalls of the
 * shim and gets readiness from `sys.watch` (uv_poll).
 *
 * References: unix(7) (sockaddr_un, SCM_RIGHTS, SO_PEERCRED), include/uapi/linux/un.h,
 * include/linux/socket.h (struct ucred).
 *
 * Every fd is non-blocking and close-on-exec. A message is one `sendmsg`/`recvmsg`; message boundaries are
 * kept by the kernel. A received message longer than `maxMessage` is dropped by the kernel's truncation
 * (the shim answers -EMSGSIZE and closes any fds that came with it); the connection survives and counts it.
 *
 * Limits: a connection's send queue is a ring (O(1) dequeue); at `maxPending` queued messages the
 * connection stops polling the peer for reading until the queue is down to half, so a peer that sends
 * without reading cannot grow the queue (and the kernel then blocks its sends). A server caps its
 * connections (`maxConnections`: refuse or wait), stops watching the listener for a while when accept()
 * runs out of fds or memory (EMFILE, ENFILE: level-triggered polling would spin), and can re-create its
 * socket file when someone unlinks it (`rebindCheckMs`).
 *
 * @example
 * const server = SeqpacketServer.listen("/run/x.sock", (conn) => {
 *   conn.onMessage((msg) => conn.send(`echo ${msg}`));
 * });
 * const client = connectSeqpacket("/run/x.sock");
 * client.onMessage((msg) => console.log(msg.toString()));
 * client.send("hello");
 */
import { trace as sysTrace } from "../sys/trace.js";
import { lstatSync, unlinkSync, chmodSync } from "node:fs";
import { Deque } from "./deque.js";
import { sys } from "../sys/native.js";
import { check, SysError, errnoName } from "../sys/errno.js";
import {
  AF_UNIX,
  SOCK_SEQPACKET,
  SOCK_NONBLOCK,
  SOCK_CLOEXEC,
  SOL_SOCKET,
  SO_PEERCRED,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  POLLIN,
  POLLHUP,
  EAGAIN,
  EINTR,
  ENOBUFS,
} from "../sys/consts.js";

// ---- layouts and constants ----------------------------------------------------------------------

/** include/uapi/linux/un.h: `struct sockaddr_un { __kernel_sa_family_t sun_family; char sun_path[108]; }` */
const UNIX_PATH_MAX = 108;
const SUN_PATH_OFFSET = 2;
/** poll(2): the peer shut down its writing half (include/uapi/asm-generic/poll.h). */
const POLLRDHUP = 0x2000;
/** include/uapi/asm-generic/errno-base.h and errno.h */
const EMSGSIZE = 90;
const EADDRINUSE = 98;
const ECONNREFUSED = 111;
const ENOMEM = 12;
const ENFILE = 23;
const EMFILE = 24;
/** The shim passes at most this many fds in one message (native/shim.cc). */
export const MAX_FDS_PER_MESSAGE = 16;
/** Messages read per readiness callback before yielding to the event loop. */
const READ_BUDGET = 64;
/** Messages kept for a connection that has no `onMessage` handler yet. */
const EARLY_QUEUE_MAX = 256;
/** Default bound of a connection's send queue (see {@link ConnOptions.maxPending}). */
const DEFAULT_MAX_PENDING = 1024;
/** Default cap on a server's open connections. */
const DEFAULT_MAX_CONNECTIONS = 256;
/** How long a server stops accepting after accept() ran out of fds or memory. */
const DEFAULT_ACCEPT_BACKOFF_MS = 200;

/** The "uds" tracer (XDPLANE_TRACE=uds), read at the first message, not at import. */
function trace(msg: string): void {
  sysTrace("uds", () => msg);
}

/**
 * Encodes a `struct sockaddr_un` for `path`. A path starting with "@" names the abstract namespace
 * (sun_path[0] = 0, unix(7)); others are filesystem paths, NUL-terminated.
 */
export function sockaddrUn(path: string): Buffer {
  const abstract = path.startsWith("@");
  const name = Buffer.from(abstract ? path.slice(1) : path, "utf8");
  const room = UNIX_PATH_MAX - 1; // abstract: a leading NUL; filesystem path: a trailing NUL
  if (name.length === 0) throw new RangeError(`Invalid unix socket path '${path}': empty`);
  if (name.length > room) {
    throw new RangeError(`Invalid unix socket path '${path}': ${name.length} bytes, at most ${room}`);
  }
  // Abstract names are exact-length (no trailing NUL); filesystem paths carry their NUL.
  const len = SUN_PATH_OFFSET + (abstract ? 1 + name.length : name.length + 1);
  const b = Buffer.alloc(len);
  b.writeUInt16LE(AF_UNIX, 0); // sa_family_t is host-endian; x86_64 and arm64 are little-endian
  name.copy(b, SUN_PATH_OFFSET + (abstract ? 1 : 0));
  return b;
}

/** Peer credentials (`struct ucred`, SO_PEERCRED). */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

function readPeerCred(fd: number): PeerCred {
  const u = new Int32Array(3); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  const rc = sys.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, u);
  if (rc < 0) return { pid: 0, uid: -1, gid: -1 };
  return { pid: u[0]!, uid: u[1]! >>> 0, gid: u[2]! >>> 0 };
}

function closeFds(fds: readonly number[]): void {
  for (const fd of fds) sys.close(fd);
}

// ---- connections --------------------------------------------------------------------------------

interface Pending {
  bytes: Uint8Array;
  fds: Int32Array | null;
}

/** Options of a connection. */
export interface ConnOptions {
  /** The longest message received whole (bytes); longer ones are dropped and counted. Default 64 KiB. */
  maxMessage?: number;
  /**
   * Bound of the send queue (messages the peer's socket could not take yet). When the queue reaches it,
   * the connection stops reading the peer (its fd leaves the poll for reading: the peer's requests wait in
   * the kernel, then its sends block) until the queue is down to half. A handler that answers each message
   * with one reply before returning therefore never queues more than this. Default 1024.
   */
  maxPending?: number;
  /** Called with a line to log when the connection stops reading a peer that does not read its replies. */
  onWarning?: (msg: string) => void;
}

const DEFAULT_MAX_MESSAGE = 64 * 1024;

/**
 * One SEQPACKET connection, accepted by a {@link SeqpacketServer} or made by {@link connectSeqpacket}.
 * Messages that arrive before `onMessage` is set are kept (up to 256) and delivered when it is.
 */
export class SeqpacketConn {
  /** The socket fd (owned by this object). -1 once closed. */
  fd: number;
  /** Messages dropped because they were longer than `maxMessage`. */
  oversize = 0;
  private rbuf: Buffer;
  private readonly fdsOut = new Int32Array(1 + MAX_FDS_PER_MESSAGE);
  private watch: object | null = null;
  private watchEvents = 0;
  private refd = true;
  private msgCb: ((msg: Buffer, fds: number[]) => void) | null = null;
  private closeCbs: (() => void)[] = [];
  private errorCb: ((err: SysError) => void) | null = null;
  private drainCbs: (() => void)[] = [];
  private early: { msg: Buffer; fds: number[] }[] = [];
  private wqueue = new Deque<Pending>();
  private readonly maxPendingN: number;
  private readonly warn: ((msg: string) => void) | undefined;
  /** Reading stopped because the send queue is full / because the owner asked. */
  private queuePaused = false;
  private userPaused = false;
  private highWater = 0;
  private pauses = 0;
  private cred: PeerCred | null = null;
  private closed = false;
  private closeNotified = false;

  /** @internal Wraps a connected non-blocking fd; use {@link connectSeqpacket} or a server. */
  constructor(fd: number, opts: ConnOptions = {}, private readonly onGone?: (c: SeqpacketConn) => void) {
    this.fd = fd;
    this.rbuf = Buffer.allocUnsafe(checkMaxMessage(opts.maxMessage ?? DEFAULT_MAX_MESSAGE));
    this.maxPendingN = checkMaxPending(opts.maxPending ?? DEFAULT_MAX_PENDING);
    this.warn = opts.onWarning;
    this.setWatch(1);
  }

  /** Peer credentials (SO_PEERCRED): the pid, uid and gid of the process at the other end at connect time. */
  get peer(): PeerCred {
    if (this.cred === null) this.cred = this.closed ? { pid: 0, uid: -1, gid: -1 } : readPeerCred(this.fd);
    return this.cred;
  }

  /** Whether the connection is closed (by either side). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Messages waiting to be sent because the socket was full. */
  get pending(): number {
    return this.wqueue.length;
  }

  /** The most messages the send queue ever held. */
  get pendingHighWater(): number {
    return this.highWater;
  }

  /** The bound of the send queue ({@link ConnOptions.maxPending}). */
  get maxPending(): number {
    return this.maxPendingN;
  }

  /** Whether the connection is not reading the peer (send queue full, or {@link pauseReading}). */
  get readingPaused(): boolean {
    return this.queuePaused || this.userPaused;
  }

  /** Times reading stopped because the send queue was full. */
  get backpressurePauses(): number {
    return this.pauses;
  }

  /**
   * Stops reading the peer (for an owner whose replies are asynchronous and has enough requests in
   * progress); messages wait in the kernel. The handler is not called again until {@link resumeReading}.
   */
  pauseReading(): void {
    if (this.userPaused) return;
    this.userPaused = true;
    this.updateWatch();
  }

  /** Undoes {@link pauseReading}. */
  resumeReading(): void {
    if (!this.userPaused) return;
    this.userPaused = false;
    this.updateWatch();
  }

  /** The longest message received whole. May be changed at any time (e.g. after learning the peer's limit). */
  get maxMessage(): number {
    return this.rbuf.length;
  }
  set maxMessage(n: number) {
    this.rbuf = Buffer.allocUnsafe(checkMaxMessage(n));
  }

  /**
   * Sets the message handler. `msg` is a copy the handler may keep. `fds` came with the message as
   * SCM_RIGHTS (close-on-exec); the handler owns them and must close them.
   */
  onMessage(cb: (msg: Buffer, fds: number[]) => void): void {
    this.msgCb = cb;
    if (this.early.length > 0) {
      const early = this.early;
      this.early = [];
      for (const m of early) {
        if (this.closed) closeFds(m.fds);
        else cb(m.msg, m.fds);
      }
    }
  }

  /** Adds a handler called once when the connection closes (peer gone, error, or `close()`). */
  onClose(cb: () => void): void {
    if (this.closeNotified) queueMicrotask(cb);
    else this.closeCbs.push(cb);
  }

  /** Sets a handler for receive errors that do not end the connection (EMSGSIZE: a message was too long). */
  onError(cb: (err: SysError) => void): void {
    this.errorCb = cb;
  }

  /** Adds a handler called once when the send queue has emptied (see {@link send}). */
  onDrain(cb: () => void): void {
    if (this.wqueue.length === 0) queueMicrotask(cb);
    else this.drainCbs.push(cb);
  }

  /**
   * Sends one message, with `fds` (at most 16) as SCM_RIGHTS. The kernel duplicates the fds when the
   * message goes out, so the caller keeps owning them. When the peer's queue is full the message waits
   * in a send queue: then the fds are read when it goes out, so keep them open until `pending` is 0 (or
   * `onDrain`). Returns false when the connection is closed (nothing is sent). Throws a SysError for a
   * message the kernel can never take (EMSGSIZE: longer than the socket's send buffer).
   */
  send(msg: string | Uint8Array, fds?: readonly number[]): boolean {
    if (this.closed) return false;
    if (fds !== undefined && fds.length > MAX_FDS_PER_MESSAGE) {
      throw new RangeError(`Cannot send ${fds.length} fds in one message: at most ${MAX_FDS_PER_MESSAGE}`);
    }
    const bytes = typeof msg === "string" ? Buffer.from(msg, "utf8") : msg;
    const f = fds !== undefined && fds.length > 0 ? Int32Array.from(fds) : null;
    if (this.wqueue.length > 0) {
      this.enqueue({ bytes, fds: f });
      return true;
    }
    const rc = sys.sendmsg(this.fd, bytes, f, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (rc >= 0) return true;
    if (rc === -EAGAIN || rc === -EINTR) {
      this.enqueue({ bytes, fds: f });
      return true;
    }
    if (rc === -EMSGSIZE) check(rc, () => `sendmsg(seqpacket fd=${this.fd} bytes=${bytes.length})`);
    trace(`send fd=${this.fd}: ${errnoName(-rc)}, closing`);
    this.close();
    return false;
  }

  /** Closes the connection (idempotent). Queued messages are dropped; `onClose` handlers run. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watch !== null) {
      sys.unwatch(this.watch);
      this.watch = null;
    }
    sys.close(this.fd);
    trace(`close fd=${this.fd}`);
    this.fd = -1;
    this.wqueue = new Deque<Pending>();
    for (const m of this.early.splice(0)) closeFds(m.fds);
    this.onGone?.(this);
    this.closeNotified = true;
    const cbs = this.closeCbs.splice(0);
    for (const cb of cbs) cb();
  }

  /** Whether this connection keeps the process alive (default true), like `net.Socket.ref()`. */
  ref(): this {
    this.refd = true;
    if (this.watch !== null) sys.refWatch(this.watch, true);
    return this;
  }

  /** Lets the process exit while this connection is open. */
  unref(): this {
    this.refd = false;
    if (this.watch !== null) sys.refWatch(this.watch, false);
    return this;
  }

  private enqueue(m: Pending): void {
    this.wqueue.push(m);
    const n = this.wqueue.length;
    if (n > this.highWater) this.highWater = n;
    if (n >= this.maxPendingN && !this.queuePaused) {
      this.queuePaused = true;
      this.pauses++;
      const msg = `seqpacket fd=${this.fd} (pid ${this.peer.pid}): the peer is not reading its replies (${n} queued); not reading it until it does`;
      trace(msg);
      if (this.pauses === 1) this.warn?.(msg); // once per connection: a slow reader pauses often
    }
    this.updateWatch();
  }

  /** Polls for reading unless paused, for writing while the send queue is not empty. */
  private updateWatch(): void {
    this.setWatch((this.readingPaused ? 0 : 1) | (this.wqueue.length > 0 ? 2 : 0));
  }

  private setWatch(events: number): void {
    if (this.closed || events === this.watchEvents) return;
    if (this.watch !== null) sys.unwatch(this.watch);
    if (events === 0) {
      this.watch = null;
      this.watchEvents = 0;
      return;
    }
    const w = sys.watch(this.fd, events, (ev) => this.onReady(ev));
    if (typeof w === "number") {
      this.watch = null;
      this.watchEvents = 0;
      check(w, () => `watch(seqpacket fd=${this.fd})`);
      return;
    }
    this.watch = w;
    this.watchEvents = events;
    if (!this.refd) sys.refWatch(w, false);
  }

  private onReady(ev: number): void {
    if (this.closed) return;
    if (ev < 0) {
      trace(`poll error fd=${this.fd}: ${ev}`);
      this.close();
      return;
    }
    if (ev & 2) this.flush();
    if (!this.closed && ev & 1) this.readSome();
  }

  private flush(): void {
    while (this.wqueue.length > 0 && !this.closed) {
      const m = this.wqueue.peek()!;
      const rc = sys.sendmsg(this.fd, m.bytes, m.fds, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (rc === -EAGAIN || rc === -EINTR) break;
      this.wqueue.shift();
      if (rc === -EMSGSIZE) {
        trace(`send fd=${this.fd}: queued message of ${m.bytes.length} bytes too long, dropped`);
        continue;
      }
      if (rc < 0) {
        trace(`send fd=${this.fd}: ${errnoName(-rc)}, closing`);
        this.close();
        return;
      }
    }
    if (this.closed) return;
    if (this.queuePaused && this.wqueue.length <= this.maxPendingN >> 1) {
      this.queuePaused = false;
      trace(`seqpacket fd=${this.fd}: send queue down to ${this.wqueue.length}, reading again`);
    }
    this.updateWatch();
    if (this.wqueue.length > 0) return;
    const cbs = this.drainCbs.splice(0);
    for (const cb of cbs) cb();
  }

  private readSome(): void {
    // Stop as soon as a handler's reply fills the send queue (or the owner pauses): the bound holds.
    for (let i = 0; i < READ_BUDGET && !this.closed && !this.readingPaused; i++) {
      const rc = sys.recvmsg(this.fd, this.rbuf, this.fdsOut, MSG_DONTWAIT);
      if (rc === -EAGAIN) return;
      if (rc === -EINTR) continue;
      if (rc === -EMSGSIZE) {
        this.oversize++;
        trace(`recv fd=${this.fd}: message longer than ${this.rbuf.length} bytes dropped`);
        this.errorCb?.(new SysError(`recvmsg(seqpacket fd=${this.fd} max=${this.rbuf.length})`, EMSGSIZE));
        continue;
      }
      if (rc < 0) {
        trace(`recv fd=${this.fd}: ${errnoName(-rc)}, closing`);
        this.close();
        return;
      }
      const nfds = this.fdsOut[0]!;
      // End of stream reads 0 bytes and carries no fds; a 0-byte message with fds is a message.
      if (rc === 0 && nfds === 0 && this.peerGone()) {
        this.close();
        return;
      }
      const fds: number[] = [];
      for (let k = 0; k < nfds; k++) fds.push(this.fdsOut[1 + k]!);
      const msg = Buffer.from(this.rbuf.subarray(0, rc));
      if (this.msgCb !== null) {
        this.msgCb(msg, fds);
      } else if (this.early.length < EARLY_QUEUE_MAX) {
        this.early.push({ msg, fds });
      } else {
        closeFds(fds);
        trace(`recv fd=${this.fd}: no handler and ${EARLY_QUEUE_MAX} messages waiting, dropped one`);
      }
    }
  }

  /**
   * A 0-byte read without fds is either an empty message or end of stream; the poll flags tell which. (An
   * empty message without fds sent just before a hang-up reads as the end: nothing is lost but the empty
   * message itself.)
   */
  private peerGone(): boolean {
    const p = new Int32Array([this.fd, POLLIN | POLLRDHUP]);
    if (sys.poll(p, 1, 0) <= 0) return false;
    return ((p[1]! >>> 16) & (POLLHUP | POLLRDHUP)) !== 0;
  }
}

function checkMaxPending(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Invalid maxPending ${n}: an integer from 1`);
  return n;
}

function checkMaxMessage(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 64 * 1024 * 1024) {
    throw new RangeError(`Invalid maxMessage ${n}: an integer from 1 to 64 MiB`);
  }
  return n;
}

// ---- server -------------------------------------------------------------------------------------

/** Options of {@link SeqpacketServer.listen}. */
export interface ListenOptions {
  /** File mode of the socket file (chmod after bind), e.g. 0o660. Default: as the umask leaves it. */
  mode?: number;
  /** listen(2) backlog. Default 16. */
  backlog?: number;
  /** The longest message received whole on each connection. Default 64 KiB. */
  maxMessage?: number;
  /** Bound of each connection's send queue ({@link ConnOptions.maxPending}). Default 1024. */
  maxPending?: number;
  /** Connections open at once. Default 256. What happens to more: {@link whenFull}. */
  maxConnections?: number;
  /**
   * At `maxConnections`: "refuse" accepts a new connection and closes it at once (the client sees the end
   * of the stream; a warning is logged, at most once a second with a count); "wait" stops accepting, so
   * new clients wait in the listen backlog until a connection closes. Default "refuse".
   */
  whenFull?: "refuse" | "wait";
  /** Pause of accepting after accept() failed for lack of fds or memory (EMFILE, ENFILE, ...). Default 200 ms. */
  acceptBackoffMs?: number;
  /**
   * Checks every this many ms that the socket file is still there and, when it has disappeared (someone
   * unlinked it), binds a new listening socket at the same path (open connections go on). A file of
   * someone else's put at the path is left alone. 0 (default) = no check.
   */
  rebindCheckMs?: number;
  /** Called with a line to log: refused connections, accept failures, a re-bound path, a peer not reading. */
  onWarning?: (msg: string) => void;
}

/**
 * A listening SEQPACKET socket. A stale socket file at `path` (nobody listening) is replaced; a live one
 * makes `listen` throw EADDRINUSE.
 */
export class SeqpacketServer {
  readonly path: string;
  private fd: number;
  private watch: object | null = null;
  private readonly conns = new Set<SeqpacketConn>();
  private ino = -1;
  private closed = false;
  private refd = true;
  private readonly maxConns: number;
  private readonly whenFull: "refuse" | "wait";
  private readonly backoffMs: number;
  private readonly warn: (msg: string) => void;
  private readonly connOpts: ConnOptions;
  /** accept() ran out of resources: not watching the listener until the timer fires. */
  private backoff: NodeJS.Timeout | null = null;
  private backoffLogged = false;
  private fullLogged = false;
  private refusedUnlogged = 0;
  private lastRefuseLog = 0;
  private rebindTimer: NodeJS.Timeout | null = null;
  private foreignLogged = false;
  /** Connections refused at maxConnections; times the socket file was re-created. */
  refused = 0;
  rebinds = 0;

  private constructor(
    path: string,
    fd: number,
    private readonly onConnection: (conn: SeqpacketConn) => void,
    private readonly opts: ListenOptions,
  ) {
    this.path = path;
    this.fd = fd;
    this.maxConns = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!Number.isInteger(this.maxConns) || this.maxConns < 1) {
      throw new RangeError(`Invalid maxConnections ${this.maxConns}: an integer from 1`);
    }
    this.whenFull = opts.whenFull ?? "refuse";
    this.backoffMs = opts.acceptBackoffMs ?? DEFAULT_ACCEPT_BACKOFF_MS;
    const onWarning = opts.onWarning;
    this.warn = (msg) => {
      trace(msg);
      onWarning?.(msg);
    };
    this.connOpts = {
      maxMessage: checkMaxMessage(opts.maxMessage ?? DEFAULT_MAX_MESSAGE),
      maxPending: checkMaxPending(opts.maxPending ?? DEFAULT_MAX_PENDING),
      ...(onWarning !== undefined ? { onWarning } : {}),
    };
  }

  /** Binds and listens on `path`, calling `onConnection` for each accepted connection. */
  static listen(
    path: string,
    onConnection: (conn: SeqpacketConn) => void,
    opts: ListenOptions = {},
  ): SeqpacketServer {
    const addr = sockaddrUn(path);
    checkMaxMessage(opts.maxMessage ?? DEFAULT_MAX_MESSAGE);
    checkMaxPending(opts.maxPending ?? DEFAULT_MAX_PENDING);
    const fd = check(sys.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket(AF_UNIX, SOCK_SEQPACKET)");
    let server: SeqpacketServer;
    try {
      server = new SeqpacketServer(path, fd, onConnection, opts);
    } catch (e) {
      sys.close(fd);
      throw e;
    }
    try {
      let rc = sys.bind(fd, addr);
      if (rc === -EADDRINUSE && !path.startsWith("@") && isStale(path)) {
        trace(`listen ${path}: replacing a stale socket file`);
        unlinkSync(path);
        rc = sys.bind(fd, addr);
      }
      check(rc, () => `bind(seqpacket '${path}')`);
      if (!path.startsWith("@")) {
        server.ino = lstatSync(path).ino;
        if (opts.mode !== undefined) chmodSync(path, opts.mode);
      }
      check(sys.listen(fd, opts.backlog ?? 16), () => `listen(seqpacket '${path}')`);
      server.updateListener();
      const every = opts.rebindCheckMs ?? 0;
      if (every > 0 && !path.startsWith("@")) {
        server.rebindTimer = setInterval(() => server.checkPath(), every);
        server.rebindTimer.unref(); // checking is no reason to stay alive
      }
    } catch (e) {
      server.close();
      throw e;
    }
    trace(`listen ${path} fd=${fd}`);
    return server;
  }

  /** Open connections. */
  get connections(): number {
    return this.conns.size;
  }

  /** Whether the server is accepting (false while at the cap in "wait" mode or backing off after EMFILE). */
  get accepting(): boolean {
    return this.watch !== null;
  }

  /** Stops listening, unlinks the socket file (if it is still ours) and closes every connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watch !== null) {
      sys.unwatch(this.watch);
      this.watch = null;
    }
    if (this.backoff !== null) clearTimeout(this.backoff);
    this.backoff = null;
    if (this.rebindTimer !== null) clearInterval(this.rebindTimer);
    this.rebindTimer = null;
    sys.close(this.fd);
    this.fd = -1;
    if (this.ino >= 0) {
      try {
        if (lstatSync(this.path).ino === this.ino) unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
    for (const c of [...this.conns]) c.close();
    trace(`closed server ${this.path}`);
  }

  /** Whether the listening socket keeps the process alive (default true). */
  ref(): this {
    this.refd = true;
    if (this.watch !== null) sys.refWatch(this.watch, true);
    this.backoff?.ref();
    return this;
  }

  /** Lets the process exit while the server listens (connections keep their own setting). */
  unref(): this {
    this.refd = false;
    if (this.watch !== null) sys.refWatch(this.watch, false);
    this.backoff?.unref();
    return this;
  }

  /** Checks now that the socket file is still there; re-creates it if it has disappeared (see `rebindCheckMs`). */
  checkPath(): void {
    if (this.closed || this.path.startsWith("@")) return;
    let ino: number;
    try {
      ino = lstatSync(this.path).ino;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") this.rebind();
      return;
    }
    if (ino === this.ino) {
      this.foreignLogged = false;
      return;
    }
    if (!this.foreignLogged) {
      this.foreignLogged = true;
      this.warn(`${this.path}: the socket file was replaced by another file; leaving it alone`);
    }
  }

  private full(): boolean {
    return this.conns.size >= this.maxConns;
  }

  /** Watches the listener unless closed, backing off, or full in "wait" mode. */
  private updateListener(): void {
    const want = !this.closed && this.backoff === null && !(this.whenFull === "wait" && this.full());
    if (want && this.watch === null) {
      const w = sys.watch(this.fd, 1, (ev) => this.onAcceptable(ev));
      if (typeof w === "number") check(w, () => `watch(seqpacket '${this.path}')`);
      this.watch = w as object;
      if (!this.refd) sys.refWatch(this.watch, false);
    } else if (!want && this.watch !== null) {
      sys.unwatch(this.watch);
      this.watch = null;
    }
  }

  private onAcceptable(ev: number): void {
    if (this.closed || ev < 0) return;
    for (let i = 0; i < READ_BUDGET && !this.closed; i++) {
      if (this.whenFull === "wait" && this.full()) {
        if (!this.fullLogged) {
          this.fullLogged = true;
          this.warn(`${this.path}: ${this.conns.size} connections open (the most allowed); new ones wait until one closes`);
        }
        this.updateListener();
        return;
      }
      const fd = sys.accept4(this.fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd === -EAGAIN) return;
      if (fd === -EINTR) continue;
      if (fd < 0) {
        if (fd === -EMFILE || fd === -ENFILE || fd === -ENOBUFS || fd === -ENOMEM) {
          // The listener stays readable: polling it now would spin. Stop watching it for a while.
          if (!this.backoffLogged) {
            this.backoffLogged = true;
            this.warn(`accept ${this.path}: ${errnoName(-fd)}; not accepting for ${this.backoffMs} ms at a time until it passes`);
          }
          this.backoff = setTimeout(() => {
            this.backoff = null;
            this.updateListener();
          }, this.backoffMs);
          if (!this.refd) this.backoff.unref();
          this.updateListener();
          return;
        }
        // ECONNABORTED, ...: that one client is gone; go on.
        trace(`accept ${this.path}: ${errnoName(-fd)}`);
        continue;
      }
      this.backoffLogged = false;
      if (this.full()) {
        sys.close(fd);
        this.refused++;
        this.refusedUnlogged++;
        const now = Date.now();
        if (now - this.lastRefuseLog >= 1000) {
          this.warn(`${this.path}: ${this.conns.size} connections open (the most allowed); refused ${this.refusedUnlogged} new connection(s)`);
          this.lastRefuseLog = now;
          this.refusedUnlogged = 0;
        }
        continue;
      }
      let conn: SeqpacketConn;
      try {
        conn = new SeqpacketConn(fd, this.connOpts, (c) => this.gone(c));
      } catch (e) {
        sys.close(fd);
        trace(`accept ${this.path}: ${(e as Error).message}`);
        return;
      }
      this.conns.add(conn);
      trace(`accept ${this.path} fd=${fd}`);
      this.onConnection(conn);
    }
  }

  private gone(c: SeqpacketConn): void {
    this.conns.delete(c);
    if (this.closed) return;
    if (!this.full()) this.fullLogged = false;
    this.updateListener();
  }

  /** The socket file is gone: listen on a new socket at the same path, then retire the old one. */
  private rebind(): void {
    const addr = sockaddrUn(this.path);
    const fd = sys.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      this.warn(`${this.path}: the socket file disappeared; cannot re-create it: socket: ${errnoName(-fd)}`);
      return;
    }
    let rc = sys.bind(fd, addr);
    let ino = -1;
    if (rc === 0) {
      try {
        ino = lstatSync(this.path).ino;
        if (this.opts.mode !== undefined) chmodSync(this.path, this.opts.mode);
      } catch (e) {
        this.warn(`${this.path}: re-created socket file: ${(e as Error).message}`);
      }
      rc = sys.listen(fd, this.opts.backlog ?? 16);
    }
    if (rc < 0) {
      sys.close(fd);
      this.warn(`${this.path}: the socket file disappeared; cannot re-create it: ${errnoName(-rc)}`);
      return;
    }
    // Clients already in the old socket's backlog are still served.
    const old = this.fd;
    if (this.watch !== null) {
      this.onAcceptable(0);
      if (this.watch !== null) sys.unwatch(this.watch);
      this.watch = null;
    }
    sys.close(old);
    this.fd = fd;
    this.ino = ino;
    this.rebinds++;
    this.updateListener();
    this.warn(`${this.path}: the socket file disappeared (unlinked); listening on a new one at the same path`);
  }
}

/** Whether `path` is a socket file nobody listens on. */
function isStale(path: string): boolean {
  try {
    if (!lstatSync(path).isSocket()) return false;
  } catch {
    return false;
  }
  const fd = sys.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const rc = sys.connect(fd, sockaddrUn(path));
  sys.close(fd);
  return rc === -ECONNREFUSED;
}

// ---- client -------------------------------------------------------------------------------------

/**
 * Connects to a SEQPACKET server at `path`. Throws a SysError: ENOENT (no such file), ECONNREFUSED
 * (nobody listening: a stale socket file), EAGAIN (the server's backlog is full), EACCES.
 */
export function connectSeqpacket(path: string, opts: ConnOptions = {}): SeqpacketConn {
  const addr = sockaddrUn(path);
  const fd = check(sys.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket(AF_UNIX, SOCK_SEQPACKET)");
  const rc = sys.connect(fd, addr);
  if (rc < 0) {
    sys.close(fd);
    check(rc, () => `connect(seqpacket '${path}')`);
  }
  trace(`connect ${path} fd=${fd}`);
  try {
    return new SeqpacketConn(fd, opts);
  } catch (e) {
    sys.close(fd);
    throw e;
  }
}
