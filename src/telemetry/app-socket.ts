/**
 * The app command socket, compatible with CNDP's (lib/usr/app/uds/uds.c, examples/cndpfwd/stats.c): every
 * xdplane app listens on a SEQPACKET socket `<socket-dir>/app_socket.<pid>` (default dir `/var/run/cndp`)
 * and answers JSON:
 *
 * | command | reply |
 * | --- | --- |
 * | `/` | `{"/": ["/", "/info", ...]}` |
 * | `/info` | `{"version": "xdplane 0.1.0", "pid": 42, "max_output_len": 16384, "app": "fwd", "groups": {"/app": [...], ...}}` |
 * | `/app/appname` | `{"name": "fwd"}` |
 * | `/app/hostname` | `{"hostname": "node1"}` |
 * | `/app/ports` | `{"ports": [{"id": 0, "name": "eth0:0", "netdev": "eth0", "qid": 0, "pmd_name": "net_af_xdp", "admin_up": true, "link_up": true}]}` |
 * | `/app/threads` | `{"threads": [{"id": 1, "name": "fwd:0", "group": "g0", "type": "fwd", "ports": ["eth0:0"], "status": "running"}]}` |
 * | `/app/start,<thread\|all>` `/app/stop,<thread\|all>` | `{"threads": [{"name": "fwd:0", "status": "running"}]}` |
 * | `/metrics/port_stats` | `{"eth0:0_n_rx_bytes": 123, "eth0:0_n_rx_packets": 2, ...}` (CNDP's keys) |
 * | `/metrics/thread_stats` | `{"fwd:0_rx_bursts": 10, ...}` (xdplane) |
 * | anything else | `{"error": "invalid cmd (/x)"}` |
 *
 * Extra keys (`admin_up`, `status`, `groups`, ...) are xdplane's; CNDP clients ignore them. Apps add their
 * own commands with {@link AppSocket.registerCommand}.
 */
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sys } from "../sys/native.js";
import { SeqpacketServer, type SeqpacketConn } from "../uds/seqpacket.js";
import { CommandRegistry, UDS_MAX_OUTPUT_LEN, replyText, type CommandHandler, type Reply } from "./commands.js";
import { LPORT_STATS, type AppModel, type ThreadInfo } from "./model.js";
import { nullLogger, type Logger } from "./log.js";

/** CNDP's default runtime dir for app sockets. */
export const DEFAULT_SOCKET_DIR = "/var/run/cndp";
/** The socket file name before `.<pid>`. */
export const APP_SOCKET_PREFIX = "app_socket";
/** The longest request read whole; longer ones get an error reply. */
const MAX_REQUEST = 1024;
/** Default cap on client connections. */
export const DEFAULT_MAX_CONNECTIONS = 64;
/** Default bound of the requests read and not yet answered plus the replies not yet sent, per client. */
export const DEFAULT_MAX_PENDING = 64;

/** `<dir>/app_socket.<pid>`. */
export function appSocketPath(dir: string = DEFAULT_SOCKET_DIR, pid: number = process.pid): string {
  return join(dir, `${APP_SOCKET_PREFIX}.${pid}`);
}

let cachedVersion: string | null = null;

/** `"xdplane <version>"` from package.json. */
export function xdplaneVersion(): string {
  if (cachedVersion !== null) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  let version = "0.0.0";
  for (let i = 0; i < 6; i++) {
    const p = join(dir, "package.json");
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, "utf8")) as { name?: string; version?: string };
        if (pkg.name === "xdplane" && pkg.version) {
          version = pkg.version;
          break;
        }
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir);
  }
  cachedVersion = `xdplane ${version}`;
  return cachedVersion;
}

export interface AppSocketOptions {
  /** Folder of the socket (the apps' `--socket-dir`). Default `/var/run/cndp`; created (0755) if missing. */
  socketDir?: string;
  /** The full socket path instead of `<socketDir>/app_socket.<pid>`. */
  path?: string;
  /** Largest reply in bytes, reported by `/info` as `max_output_len`. Default 16384 (CNDP's). */
  maxOutput?: number;
  /** Mode of the socket file, e.g. 0o666 to let an unprivileged sidecar connect. Default: umask's. */
  mode?: number;
  /** Version string for `/info`. Default `"xdplane <package version>"`. */
  version?: string;
  /**
   * Client connections open at once (default 64). More are accepted and closed at once (the client sees
   * the end of the stream), with a warning at most once a second.
   */
  maxConnections?: number;
  /**
   * Per client: requests read but not yet answered plus replies the client has not read yet (default 64).
   * At the bound the socket stops reading that client until it reads its replies (logged once per client);
   * other clients are served meanwhile. Memory per client stays under maxPending * maxOutput.
   */
  maxPending?: number;
  log?: Logger;
}

/** Counters of the socket (for tests and `/info`-style reports). */
export interface AppSocketStats {
  connections: number;
  /** Connections refused at `maxConnections`. */
  refused: number;
  /** Requests in progress plus unsent replies, summed over the clients, now. */
  queued: number;
  /** The most `queued` one client ever had (never above `maxPending`). */
  queuedHighWater: number;
  maxPending: number;
  /** Clients not being read now because they do not read their replies. */
  paused: number;
}

/**
 * An app's command socket: listens, answers the built-in commands from an {@link AppModel}, and any command
 * the app registers.
 *
 * @example
 * const sock = AppSocket.open(model, { socketDir: "/var/run/cndp" });
 * sock.registerCommand("/fwd/mode", () => ({ mode: "lb" }));
 * // ... later
 * sock.close();
 */
export class AppSocket {
  readonly path: string;
  readonly registry: CommandRegistry;
  private readonly server: SeqpacketServer;
  private readonly log: Logger;
  private readonly onExit: () => void;
  private closed = false;
  private readonly maxPending: number;
  /** Per client: requests read and not yet answered. */
  private readonly inflight = new Map<SeqpacketConn, number>();
  private highWater = 0;

  private constructor(path: string, registry: CommandRegistry, server: SeqpacketServer, log: Logger, maxPending: number) {
    this.path = path;
    this.registry = registry;
    this.server = server;
    this.log = log;
    this.maxPending = maxPending;
    // process.exit() skips close(): leave no socket file behind.
    this.onExit = () => this.server.close();
    process.once("exit", this.onExit);
  }

  /** Opens the socket for `model`. Throws a SysError (EADDRINUSE when another process listens there). */
  static open(model: AppModel, opts: AppSocketOptions = {}): AppSocket {
    const log = opts.log ?? nullLogger;
    const path = opts.path ?? appSocketPath(opts.socketDir ?? DEFAULT_SOCKET_DIR);
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const version = opts.version ?? xdplaneVersion();
    const maxOutput = opts.maxOutput ?? UDS_MAX_OUTPUT_LEN;
    const registry = new CommandRegistry({
      maxOutput,
      info: () => ({ version, pid: process.pid, max_output_len: maxOutput, app: model.name }),
    });
    registerBuiltins(registry, model);
    const maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
    if (!Number.isInteger(maxPending) || maxPending < 1) throw new RangeError(`Invalid maxPending ${maxPending}: an integer from 1`);
    let self: AppSocket | null = null;
    const server = SeqpacketServer.listen(path, (conn) => self?.serve(conn), {
      maxMessage: MAX_REQUEST,
      maxPending,
      maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      whenFull: "refuse",
      backlog: 64,
      // Refusals, accept() at the fd limit (EMFILE: backs off, logged once), a client not reading.
      onWarning: (msg) => log.warning(`app socket: ${msg}`, { path }),
      ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
    });
    self = new AppSocket(path, registry, server, log, maxPending);
    log.info("app socket listening", { path });
    return self;
  }

  /** Adds a command, e.g. `registerCommand("/fwd/mode", () => ({ mode: "lb" }))`. See {@link CommandRegistry.register}. */
  registerCommand(path: string, handler: CommandHandler, help = ""): void {
    this.registry.register(path, handler, help);
  }

  /** Removes a command the app registered. */
  unregisterCommand(path: string): boolean {
    return this.registry.unregister(path);
  }

  /** Runs a request as if it came from the socket; returns the reply text. */
  run(line: string): Promise<string> {
    return this.registry.dispatch(line, process.pid);
  }

  /** Open client connections. */
  get connections(): number {
    return this.server.connections;
  }

  /** Connections, refusals and per-client queues. */
  get stats(): AppSocketStats {
    let queued = 0;
    let paused = 0;
    for (const [conn, n] of this.inflight) {
      queued += n + conn.pending;
      if (conn.readingPaused) paused++;
    }
    return {
      connections: this.server.connections,
      refused: this.server.refused,
      queued,
      queuedHighWater: this.highWater,
      maxPending: this.maxPending,
      paused,
    };
  }

  /** Lets the process exit while the socket is open. */
  unref(): this {
    this.server.unref();
    return this;
  }

  /** Stops listening, closes the connections and removes the socket file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.removeListener("exit", this.onExit);
    this.server.close();
    this.log.info("app socket closed", { path: this.path });
  }

  private serve(conn: SeqpacketConn): void {
    conn.unref(); // a client connection never keeps the app alive by itself
    const peerPid = conn.peer.pid;
    this.log.debug("app socket client", { pid: peerPid });
    // Requests read and not answered yet plus replies not sent yet stay within maxPending: at the bound the
    // connection stops reading this client, until its replies are down to half (the kernel holds its
    // further requests, then blocks its sends). Every request gets exactly one reply, so the bound holds.
    const bound = this.maxPending;
    let inflight = 0;
    let paused = false;
    let warned = false;
    let drainArmed = false;
    this.inflight.set(conn, 0);
    conn.onClose(() => this.inflight.delete(conn));
    const regulate = (): void => {
      if (conn.isClosed) return;
      this.inflight.set(conn, inflight);
      const q = inflight + conn.pending;
      if (q > this.highWater) this.highWater = q;
      if (!paused && q >= bound) {
        paused = true;
        conn.pauseReading();
        if (!warned) {
          warned = true;
          this.log.warning("app socket: a client is not reading its replies; not reading its requests until it does", { pid: peerPid, queued: q });
        }
      } else if (paused && q <= bound >> 1) {
        paused = false;
        conn.resumeReading();
      }
      if (paused && inflight === 0 && !drainArmed) {
        // Only the client's reading can lower the queue now: look again when it has read everything.
        drainArmed = true;
        conn.onDrain(() => {
          drainArmed = false;
          regulate();
        });
      }
    };
    // One reply per request, in order, even when a handler is async.
    let chain: Promise<void> = Promise.resolve();
    const answer = (text: string): void => {
      inflight--;
      try {
        conn.send(text);
      } catch (err) {
        // A reply the socket can never take (EMSGSIZE): answer that instead.
        this.log.warning("app socket reply failed", { error: err });
        conn.send(replyText({ error: (err as Error).message }));
      }
      regulate();
    };
    const request = (run: () => Promise<string> | string): void => {
      inflight++;
      regulate();
      chain = chain.then(async () => {
        let text: string;
        try {
          text = conn.isClosed ? "" : await run();
        } catch (err) {
          text = replyText({ error: (err as Error).message });
        }
        if (conn.isClosed) inflight--;
        else answer(text);
      });
    };
    conn.onError(() => request(() => replyText({ error: `command longer than ${MAX_REQUEST} bytes` })));
    conn.onMessage((msg, fds) => {
      for (const fd of fds) sys.close(fd); // commands carry no fds: do not leak any that came
      const line = msg.toString("utf8");
      request(() => this.registry.dispatch(line, peerPid));
    });
  }
}

function threadJson(t: ThreadInfo): Reply {
  const o: Reply = {
    id: t.id,
    name: t.name,
    group: t.group,
    type: t.type,
    ports: t.ports,
    status: t.running ? "running" : "paused",
  };
  if (t.lcores !== undefined) o.lcores = t.lcores;
  return o;
}

/** Finds threads by `<name|id|all>` (case-insensitive names, as CNDP). */
function selectThreads(model: AppModel, param: string | undefined): ThreadInfo[] {
  if (param === undefined) throw new Error("Command requires thread name (or 'all') as a parameter");
  const threads = model.threads();
  if (param.toLowerCase() === "all") return threads.filter((t) => t.type.toLowerCase() !== "main");
  const lower = param.toLowerCase();
  let t = threads.find((x) => x.name.toLowerCase() === lower);
  if (t === undefined && /^\d+$/.test(param)) t = threads.find((x) => x.id === Number(param));
  if (t === undefined) throw new Error(`Thread '${param}' not found`);
  if (t.type.toLowerCase() === "main") throw new Error(`Thread '${t.name}' is the main thread and cannot be stopped or started`);
  return [t];
}

function registerBuiltins(reg: CommandRegistry, model: AppModel): void {
  reg.register("/app/appname", () => ({ name: model.name }), "The app name.");
  reg.register("/app/hostname", () => ({ hostname: hostname() }), "The host name.");
  reg.register(
    "/app/ports",
    () => ({
      ports: model.ports().map((p) => {
        const o: Reply = { id: p.id, name: p.name, netdev: p.netdev, qid: p.qid, pmd_name: p.pmd, admin_up: p.adminUp };
        if (p.linkUp !== undefined) o.link_up = p.linkUp;
        return o;
      }),
    }),
    "The ports (lports): id, name, netdev, qid, driver, admin and link state.",
  );
  reg.register("/app/threads", () => ({ threads: model.threads().map(threadJson) }), "The threads, their ports and state.");
  const control = (stop: boolean) => (params: string[]): Reply => {
    const sel = selectThreads(model, params[0]);
    for (const t of sel) {
      if (stop) model.stopThread(t.id);
      else model.startThread(t.id);
    }
    return { threads: sel.map((t) => ({ name: t.name, status: stop ? "paused" : "running" })) };
  };
  reg.register("/app/start", control(false), "Start (resume) a thread: /app/start,<thread|all>.");
  reg.register("/app/stop", control(true), "Stop (pause) a thread: /app/stop,<thread|all>.");
  reg.register(
    "/metrics/port_stats",
    () => {
      const out: Reply = {};
      for (const p of model.ports()) {
        for (const m of LPORT_STATS) {
          const v = p.stats[m.field];
          if (v !== undefined) out[`${p.name}_${m.uds}`] = v;
        }
      }
      return out;
    },
    "Port counters, CNDP's keys: <port>_n_rx_packets, ...",
  );
  reg.register(
    "/metrics/thread_stats",
    () => {
      const out: Reply = {};
      for (const t of model.threads()) {
        for (const [k, v] of Object.entries(t.counters ?? {})) out[`${t.name}_${k}`] = v;
      }
      return out;
    },
    "Thread counters: <thread>_<counter>.",
  );
}
