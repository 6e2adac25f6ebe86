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
/** The shim passes at most this many fds in one message (native/shim.cc). */
export const MAX_FDS_PER_MESSAGE = 16;
/** Messages read per readiness callback before yielding to the event loop. */
const READ_BUDGET = 64;
/** Messages kept for a connection that has no `onMessage` handler yet. */
const EARLY_QUEUE_MAX = 256;

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
  private wqueue: Pending[] = [];
  private cred: PeerCred | null = null;
  private closed = false;
  private closeNotified = false;

  /** @internal Wraps a connected non-blocking fd; use {@link connectSeqpacket} or a server. */
  constructor(fd: number, opts: ConnOptions = {}, private readonly onGone?: (c: SeqpacketConn) => void) {
    this.fd = fd;
    this.rbuf = Buffer.allocUnsafe(checkMaxMessage(opts.maxMessage ?? DEFAULT_MAX_MESSAGE));
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
      this.wqueue.push({ bytes, fds: f });
      return true;
    }
    const rc = sys.sendmsg(this.fd, bytes, f, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (rc >= 0) return true;
    if (rc === -EAGAIN || rc === -EINTR) {
      this.wqueue.push({ bytes, fds: f });
      this.setWatch(3);
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
    this.wqueue = [];
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

  private setWatch(events: number): void {
    if (this.closed || events === this.watchEvents) return;
    if (this.watch !== null) sys.unwatch(this.watch);
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
      const m = this.wqueue[0]!;
      const rc = sys.sendmsg(this.fd, m.bytes, m.fds, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (rc === -EAGAIN || rc === -EINTR) return;
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
    this.setWatch(1);
    const cbs = this.drainCbs.splice(0);
    for (const cb of cbs) cb();
  }

  private readSome(): void {
    for (let i = 0; i < READ_BUDGET && !this.closed; i++) {
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

  private constructor(
    path: string,
    fd: number,
    private readonly onConnection: (conn: SeqpacketConn) => void,
    private readonly maxMessage: number,
  ) {
    this.path = path;
    this.fd = fd;
  }

  /** Binds and listens on `path`, calling `onConnection` for each accepted connection. */
  static listen(
    path: string,
    onConnection: (conn: SeqpacketConn) => void,
    opts: ListenOptions = {},
  ): SeqpacketServer {
    const addr = sockaddrUn(path);
    const maxMessage = checkMaxMessage(opts.maxMessage ?? DEFAULT_MAX_MESSAGE);
    const fd = check(sys.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket(AF_UNIX, SOCK_SEQPACKET)");
    const server = new SeqpacketServer(path, fd, onConnection, maxMessage);
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
      const w = sys.watch(fd, 1, (ev) => server.onAcceptable(ev));
      if (typeof w === "number") check(w, () => `watch(seqpacket '${path}')`);
      server.watch = w as object;
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

  /** Stops listening, unlinks the socket file (if it is still ours) and closes every connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watch !== null) {
      sys.unwatch(this.watch);
      this.watch = null;
    }
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
    if (this.watch !== null) sys.refWatch(this.watch, true);
    return this;
  }

  /** Lets the process exit while the server listens (connections keep their own setting). */
  unref(): this {
    if (this.watch !== null) sys.refWatch(this.watch, false);
    return this;
  }

  private onAcceptable(ev: number): void {
    if (this.closed || ev < 0) return;
    for (let i = 0; i < READ_BUDGET && !this.closed; i++) {
      const fd = sys.accept4(this.fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd === -EAGAIN) return;
      if (fd === -EINTR) continue;
      if (fd < 0) {
        // ECONNABORTED, EMFILE, ...: skip this round; level-triggered polling retries.
        trace(`accept ${this.path}: ${errnoName(-fd)}`);
        return;
      }
      let conn: SeqpacketConn;
      try {
        conn = new SeqpacketConn(fd, { maxMessage: this.maxMessage }, (c) => this.conns.delete(c));
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
