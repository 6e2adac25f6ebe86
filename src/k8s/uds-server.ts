/**
 * The UDS handshake server of one allocation: it hands the XSKMAP fds of the devices allocated to one
 * container to the (unprivileged) pod, over SOCK_SEQPACKET with SCM_RIGHTS, after validating the pod
 * through kubelet's PodResources `List`. Wire contract: ../shared/reference/afxdp-k8s-protocol.md.
 *
 * Upstream behaviour kept: the strings; a first message that does not contain `/connect` ends the
 * connection without a reply; a malformed or unknown `/connect` gets `/host_nak` and the connection ends;
 * a PodResources failure gets `/error` then `/host_nak` and the connection ends; after `/connect` unknown
 * requests get `/nak` and the connection stays; `/fin` gets `/fin_ack` and the connection ends; busy poll
 * sets SO_PREFER_BUSY_POLL=1, SO_BUSY_POLL=timeout, SO_BUSY_POLL_BUDGET=budget on the socket whose fd came
 * with the request, rolling back on failure; `UdsTimeout` bounds the wait for the pod.
 *
 * Upstream faults fixed: exactly one reply per request (upstream may answer busy poll twice, or close
 * without a reply on a bad number); every received fd is closed (upstream keeps them); the socket accepts
 * any number of connections from the validated pod, one after the other or at once (DPDK handshakes once
 * per queue), until the plugin closes the server; the server can be re-created for a pod already running
 * (plugin restart) with its pod binding; requests are handled strictly in order, also when validation is
 * still waiting for kubelet; oversize requests (over 512 bytes) get `/nak`; the pod's namespace is kept
 * once known. Busy poll is applied only to AF_XDP sockets (`/config_busy_poll_nak` otherwise).
 *
 * Limits: a connection must send its first request within `firstMessageMs` (2 s) or is closed and logged,
 * so idle connections cannot hold the 64 slots; connections past the cap wait in the listen backlog and are
 * served when a slot frees; a client that does not read its replies is not read (at `maxPending` queued
 * replies) until it does, others are served meanwhile; a socket file someone unlinked (CNDP's client does
 * after a failed handshake) is re-created at the same path within `socketCheckMs` (1 s).
 *
 * @example
 * const srv = new UdsServer({
 *   resource: "afxdp/pool1", devices: new Map([["ens1f0", mapFd]]),
 *   paths: ["/tmp/afxdp_dp/afxdp_pool1/3f.../ens1f0/afxdp.sock"], pods: podResourcesClient,
 *   timeoutSeconds: 30,
 * });
 * srv.start();
 */
import { SeqpacketServer, type SeqpacketConn } from "../uds/seqpacket.js";
import { Deque } from "../uds/deque.js";
import { sys } from "../sys/native.js";
import { errnoName } from "../sys/errno.js";
import { SOL_SOCKET, SO_BUSY_POLL, SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET, AF_XDP } from "../sys/consts.js";
import * as P from "./uds-protocol.js";
import { findPod, type PodLister, type PodMatch } from "./pod-resources.js";
import { silentLogger, type Logger } from "./log.js";

/** include/uapi/asm-generic/socket.h: SO_DOMAIN (getsockopt only). */
const SO_DOMAIN = 39;
/**
 * Requests waiting on one connection (while `/connect` is validated) at which the server stops reading it
 * until they are answered; replies the client has not read are bounded the same way (`maxPending`).
 */
const MAX_QUEUED = 64;
/** Default: connections open at once on one path; more wait in the listen backlog until one closes. */
const DEFAULT_MAX_CONNECTIONS = 64;
/** Default: replies a client has not read yet at which the server stops reading its requests. */
const DEFAULT_MAX_PENDING = 64;
/** Default: ms a new connection has to send its first request. */
const DEFAULT_FIRST_MESSAGE_MS = 2000;
/** Default: ms between checks that the socket files are still there. */
const DEFAULT_SOCKET_CHECK_MS = 1000;
/** busy poll budget: the kernel's limit (net/core/sock.c: U16_MAX). */
const MAX_BUDGET = 0xffff;

export interface UdsServerOptions {
  /** `afxdp/<pool>`: the resource whose devices a pod must hold. */
  resource: string;
  /** netdev name -> XSKMAP fd. The caller owns the fds and keeps them open while the server runs. */
  devices: ReadonlyMap<string, number>;
  /**
   * Called before an XSKMAP fd is sent for a netdev of this allocation (the device plugin checks that
   * its program is still attached and re-attaches it). A throw is logged; the fd is sent anyway.
   */
  beforeMapFd?: (netdev: string) => void;
  /** Socket paths to serve (one per device in the current layout, one per container in the older). */
  paths: readonly string[];
  /** kubelet's PodResources (a {@link PodResourcesClient} in the plugin). */
  pods: PodLister;
  /**
   * Seconds the pod has, from `start()`, to complete a valid `/connect`; a connection must also send
   * its first request within it. 0 = no limit. After the pod is validated there is no timeout.
   */
  timeoutSeconds: number;
  /** The pod this allocation is bound to, when known (restored after a plugin restart). */
  pod?: PodMatch;
  /** File mode of the socket files (default 0o666: the folder's mount decides who sees them). */
  mode?: number;
  /** Called when a pod is validated the first time (the plugin persists the binding). */
  onBound?: (pod: PodMatch) => void;
  /** Called once when the timeout expires without a validated pod; the server is closed by then. */
  onExpire?: () => void;
  /**
   * Ms a new connection has to send its first request; one that sends nothing is closed (and logged), so
   * idle connections cannot hold every slot. Default 2000; 0 = no limit.
   */
  firstMessageMs?: number;
  /**
   * Connections open at once per path (default 64). More wait in the listen backlog (64) until one closes
   * (an idle one does at `firstMessageMs`), then are served.
   */
  maxConnections?: number;
  /** Per connection, replies the client has not read at which the server stops reading it (default 64). */
  maxPending?: number;
  /**
   * Ms between checks that each socket file is still there; one that disappeared (CNDP's client unlinks it
   * after a failed handshake) is re-created at the same path. Default 1000; 0 = no check.
   */
  socketCheckMs?: number;
  log?: Logger;
  /** Prefix of log lines (e.g. "afxdp/pool1 3f2a..."). */
  name?: string;
}

/** Counters, for tests and the log. */
export interface UdsServerStats {
  connections: number;
  requests: number;
  replies: number;
  fdsReceived: number;
  fdsClosed: number;
  /** The most requests waiting plus replies unsent one connection ever had. */
  queuedHighWater: number;
  /** Connections closed because they sent nothing within `firstMessageMs`. */
  idleClosed: number;
}

type Item = { kind: "msg"; text: string; fds: number[] } | { kind: "oversize" };

interface ConnState {
  connected: boolean;
  busy: boolean;
  queue: Deque<Item>;
  timer: NodeJS.Timeout | null;
  /** The first-message deadline. */
  first: NodeJS.Timeout | null;
  /** Reading stopped because MAX_QUEUED requests wait. */
  paused: boolean;
}

/** The handshake server of one allocation. */
export class UdsServer {
  readonly stats: UdsServerStats = {
    connections: 0, requests: 0, replies: 0, fdsReceived: 0, fdsClosed: 0, queuedHighWater: 0, idleClosed: 0,
  };
  private readonly opts: UdsServerOptions;
  private readonly log: Logger;
  private readonly servers: SeqpacketServer[] = [];
  private readonly conns = new Set<SeqpacketConn>();
  private readonly deviceSet: ReadonlySet<string>;
  private podMatch: PodMatch | null;
  private expiry: NodeJS.Timeout | null = null;
  private closed = false;
  private started = false;

  constructor(opts: UdsServerOptions) {
    this.opts = opts;
    this.log = opts.log ?? silentLogger;
    this.deviceSet = new Set(opts.devices.keys());
    this.podMatch = opts.pod ?? null;
  }

  /** The pod bound to this allocation (after the first valid `/connect`, or restored). */
  get pod(): PodMatch | null {
    return this.podMatch;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Listens on every path. Throws (and listens on none) if one cannot be bound. */
  start(): void {
    if (this.started) throw new Error("UdsServer already started");
    this.started = true;
    try {
      for (const p of this.opts.paths) {
        this.servers.push(SeqpacketServer.listen(p, (c) => this.accept(c), {
          mode: this.opts.mode ?? 0o666,
          maxMessage: P.SERVER_MAX_MESSAGE,
          backlog: 64,
          maxConnections: this.opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
          whenFull: "wait",
          maxPending: this.opts.maxPending ?? DEFAULT_MAX_PENDING,
          rebindCheckMs: this.opts.socketCheckMs ?? DEFAULT_SOCKET_CHECK_MS,
          onWarning: (msg) => this.log.warn(`${this.prefix()}${msg}`),
        }));
      }
    } catch (e) {
      this.close();
      throw e;
    }
    const t = this.opts.timeoutSeconds;
    if (t > 0 && this.podMatch === null) {
      this.expiry = setTimeout(() => this.expire(), t * 1000);
      this.expiry.unref();
    }
    this.log.debug(`${this.prefix()}listening on ${this.opts.paths.join(", ")}`);
  }

  /** Stops listening, removes the socket files and closes every connection (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = null;
    for (const s of this.servers) s.close();
    this.servers.length = 0;
    for (const c of [...this.conns]) c.close();
  }

  /** Whether the process may exit while this server listens. */
  unref(): void {
    for (const s of this.servers) s.unref();
  }

  private prefix(): string {
    return this.opts.name ? `${this.opts.name}: ` : "";
  }

  private expire(): void {
    this.expiry = null;
    if (this.closed || this.podMatch !== null) return;
    this.log.warn(`${this.prefix()}no pod connected within ${this.opts.timeoutSeconds} s; closing the socket`);
    this.close();
    this.opts.onExpire?.();
  }

  private accept(conn: SeqpacketConn): void {
    if (this.closed) {
      conn.close();
      return;
    }
    this.stats.connections++;
    this.conns.add(conn);
    const st: ConnState = { connected: false, busy: false, queue: new Deque<Item>(), timer: null, first: null, paused: false };
    const firstMs = this.opts.firstMessageMs ?? DEFAULT_FIRST_MESSAGE_MS;
    if (firstMs > 0) {
      st.first = setTimeout(() => {
        st.first = null;
        if (conn.isClosed) return;
        this.stats.idleClosed++;
        this.log.warn(`${this.prefix()}connection from pid ${conn.peer.pid} sent nothing within ${firstMs} ms; closing it`);
        conn.close();
      }, firstMs);
      st.first.unref();
    }
    const t = this.opts.timeoutSeconds;
    if (t > 0) {
      // The first request must come in time; after a valid /connect there is no limit.
      st.timer = setTimeout(() => {
        if (!st.connected) {
          this.log.warn(`${this.prefix()}connection idle for ${t} s before /connect; closing it`);
          conn.close();
        }
      }, t * 1000);
      st.timer.unref();
    }
    conn.onClose(() => {
      this.conns.delete(conn);
      if (st.timer) clearTimeout(st.timer);
      if (st.first) clearTimeout(st.first);
      for (const it of st.queue.drain()) if (it.kind === "msg") this.closeFds(it.fds);
    });
    conn.onError(() => this.enqueue(conn, st, { kind: "oversize" }));
    conn.onMessage((msg, fds) => {
      this.stats.fdsReceived += fds.length;
      this.enqueue(conn, st, { kind: "msg", text: msg.toString("latin1"), fds });
    });
  }

  private enqueue(conn: SeqpacketConn, st: ConnState, it: Item): void {
    if (conn.isClosed) {
      if (it.kind === "msg") this.closeFds(it.fds);
      return;
    }
    if (st.first) clearTimeout(st.first);
    st.first = null;
    st.queue.push(it);
    if (!st.busy) void this.drain(conn, st);
    this.regulate(conn, st);
  }

  /** Stops reading a connection while MAX_QUEUED requests wait (validation pending); resumes at half. */
  private regulate(conn: SeqpacketConn, st: ConnState): void {
    const q = st.queue.length + conn.pending;
    if (q > this.stats.queuedHighWater) this.stats.queuedHighWater = q;
    if (!st.paused && st.queue.length >= MAX_QUEUED) {
      st.paused = true;
      conn.pauseReading();
    } else if (st.paused && st.queue.length <= MAX_QUEUED >> 1) {
      st.paused = false;
      conn.resumeReading();
    }
  }

  private async drain(conn: SeqpacketConn, st: ConnState): Promise<void> {
    st.busy = true;
    try {
      while (st.queue.length > 0 && !conn.isClosed) {
        const it = st.queue.shift()!;
        this.regulate(conn, st);
        this.stats.requests++;
        try {
          const r = this.handleSync(conn, st, it);
          if (r !== null) await r;
        } catch (e) {
          // A bug must not take the plugin down: log, end this connection.
          this.log.error(`${this.prefix()}handshake error: ${(e as Error).stack ?? String(e)}`);
          conn.close();
        } finally {
          if (it.kind === "msg") this.closeFds(it.fds);
        }
      }
    } finally {
      st.busy = false;
      if (conn.isClosed) for (const it of st.queue.drain()) if (it.kind === "msg") this.closeFds(it.fds);
    }
  }

  private reply(conn: SeqpacketConn, text: string, fds?: number[]): void {
    this.stats.replies++;
    try {
      conn.send(text, fds);
      if (conn.pending > this.stats.queuedHighWater) this.stats.queuedHighWater = conn.pending;
    } catch (e) {
      this.log.warn(`${this.prefix()}send '${text}': ${(e as Error).message}`);
      conn.close();
    }
  }

  private closeFds(fds: number[]): void {
    for (const fd of fds.splice(0)) {
      sys.close(fd);
      this.stats.fdsClosed++;
    }
  }

  /** Handles one request; returns a promise only for `/connect` (validation asks kubelet). */
  private handleSync(conn: SeqpacketConn, st: ConnState, it: Item): Promise<void> | null {
    if (!st.connected) {
      if (it.kind === "oversize" || !it.text.includes(P.REQ_CONNECT)) {
        this.log.warn(`${this.prefix()}first request is not ${P.REQ_CONNECT}; closing the connection`);
        conn.close();
        return null;
      }
      return this.connect(conn, st, it.text);
    }
    if (it.kind === "oversize") {
      this.reply(conn, P.RES_NAK);
      return null;
    }
    const text = it.text;
    const words = text.split(",");
    const cmd = words[0];
    if (text === P.REQ_VERSION) {
      this.reply(conn, P.HANDSHAKE_VERSION);
    } else if (text === P.REQ_FIN) {
      this.reply(conn, P.RES_FIN_ACK);
      conn.close();
    } else if (cmd === P.REQ_XSK_MAP_FD) {
      if (words.length !== 2) {
        this.reply(conn, P.RES_NAK);
        return null;
      }
      const iface = words[1]!.replaceAll(" ", "");
      const fd = this.opts.devices.get(iface);
      if (fd === undefined) {
        this.log.warn(`${this.prefix()}pod ${this.podMatch?.name}: ${iface} is not in this allocation`);
        this.reply(conn, P.RES_FD_NAK);
      } else {
        try {
          this.opts.beforeMapFd?.(iface);
        } catch (e) {
          this.log.warn(`${this.prefix()}pod ${this.podMatch?.name}: before sending the XSKMAP fd of ${iface}: ${(e as Error).message}`);
        }
        this.log.info(`${this.prefix()}pod ${this.podMatch?.name}: XSKMAP fd of ${iface} sent`);
        this.reply(conn, P.RES_FD_ACK, [fd]);
      }
    } else if (cmd === P.REQ_BUSY_POLL) {
      if (words.length !== 3) {
        this.reply(conn, P.RES_NAK);
        return null;
      }
      this.reply(conn, this.busyPoll(words[1]!, words[2]!, it.fds) ? P.RES_BUSY_POLL_ACK : P.RES_BUSY_POLL_NAK);
    } else {
      this.reply(conn, P.RES_NAK);
    }
    return null;
  }

  private async connect(conn: SeqpacketConn, st: ConnState, text: string): Promise<void> {
    const words = text.split(",");
    const podName = words.length === 2 && words[0] === P.REQ_CONNECT ? words[1]!.replaceAll(" ", "") : "";
    if (podName === "") {
      this.reply(conn, P.RES_HOST_NAK);
      conn.close();
      return;
    }
    let match: PodMatch | null;
    try {
      const pods = await this.opts.pods.list();
      match = findPod(pods, podName, this.opts.resource, this.deviceSet, this.podMatch?.namespace);
    } catch (e) {
      this.log.error(`${this.prefix()}pod ${podName}: PodResources List failed: ${(e as Error).message}`);
      if (!conn.isClosed) {
        this.reply(conn, P.RES_ERROR);
        this.reply(conn, P.RES_HOST_NAK);
        conn.close();
      }
      return;
    }
    if (conn.isClosed || this.closed) return;
    if (match === null || (this.podMatch !== null && this.podMatch.name !== match.name)) {
      this.log.warn(`${this.prefix()}pod ${podName} does not hold exactly ${[...this.deviceSet].join(" ")} of ${this.opts.resource}`);
      this.reply(conn, P.RES_HOST_NAK);
      conn.close();
      return;
    }
    st.connected = true;
    if (st.timer) clearTimeout(st.timer);
    st.timer = null;
    if (this.podMatch === null) {
      this.podMatch = match;
      if (this.expiry) clearTimeout(this.expiry);
      this.expiry = null;
      this.log.info(`${this.prefix()}pod ${match.namespace}/${match.name} (container ${match.container}) validated`);
      this.opts.onBound?.(match);
    }
    this.reply(conn, P.RES_HOST_OK);
  }

  /** Applies busy poll on the first received fd; true on success. Rolls back on a failure. */
  private busyPoll(timeoutArg: string, budgetArg: string, fds: number[]): boolean {
    const timeout = parseInt32(timeoutArg.replaceAll(" ", ""));
    const budget = parseInt32(budgetArg.replaceAll(" ", ""));
    const fd = fds[0];
    if (fd === undefined) {
      this.log.warn(`${this.prefix()}busy poll request without a socket fd`);
      return false;
    }
    if (timeout === null || budget === null || timeout < 0 || budget < 0 || budget > MAX_BUDGET) {
      this.log.warn(`${this.prefix()}busy poll: invalid timeout '${timeoutArg}' or budget '${budgetArg}'`);
      return false;
    }
    const val = new Int32Array(1);
    if (sys.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, val) < 0 || val[0] !== AF_XDP) {
      this.log.warn(`${this.prefix()}busy poll: the fd sent is not an AF_XDP socket`);
      return false;
    }
    const opts = [
      [SO_PREFER_BUSY_POLL, 1],
      [SO_BUSY_POLL, timeout],
      [SO_BUSY_POLL_BUDGET, budget],
    ] as const;
    // The budget is set last and cannot be read back (getsockopt has no SO_BUSY_POLL_BUDGET): only the
    // first two need their previous values for a rollback.
    const before: number[] = [];
    for (const [name] of opts.slice(0, 2)) {
      if (sys.getsockopt(fd, SOL_SOCKET, name, val) < 0) {
        this.log.warn(`${this.prefix()}busy poll: cannot read socket option ${name}`);
        return false;
      }
      before.push(val[0]!);
    }
    for (let i = 0; i < opts.length; i++) {
      const [name, v] = opts[i]!;
      val[0] = v;
      const rc = sys.setsockopt(fd, SOL_SOCKET, name, val);
      if (rc < 0) {
        this.log.warn(`${this.prefix()}busy poll: setsockopt(${name}=${v}): ${errnoName(-rc)}; rolling back`);
        for (let k = i - 1; k >= 0; k--) {
          val[0] = before[k]!;
          sys.setsockopt(fd, SOL_SOCKET, opts[k]![0], val);
        }
        return false;
      }
    }
    this.log.info(`${this.prefix()}pod ${this.podMatch?.name}: busy poll timeout ${timeout} budget ${budget}`);
    return true;
  }
}

/** A decimal int32 as Go's strconv.Atoi reads it (optional sign), or null. */
function parseInt32(s: string): number | null {
  if (!/^[+-]?\d{1,10}$/.test(s)) return null;
  const n = Number(s);
  return n >= -0x80000000 && n <= 0x7fffffff ? n : null;
}
