/**
 * A client of an app command socket (ours or a CNDP app's): requests in order on one SEQPACKET connection,
 * a timeout per request, and a structured view of the app (ports with counters, threads) built from the
 * CNDP commands `/app/ports`, `/metrics/port_stats`, `/app/threads` and xdplane's `/metrics/thread_stats`.
 */
import { basename } from "node:path";
import { sys } from "../sys/native.js";
import { connectSeqpacket, type SeqpacketConn } from "../uds/seqpacket.js";
import { UDS_MAX_OUTPUT_LEN } from "./commands.js";
import { LPORT_STATS, LPORT_STAT_BY_UDS, type PortStats, type ThreadInfo } from "./model.js";

/** What `/info` says. */
export interface AppInfo {
  version: string;
  pid: number;
  maxOutput: number;
}

/** A port as read from an app: the model's port, plus counters beyond CNDP's standard ones. */
export interface PortView extends PortStats {
  /** Counters in `/metrics/port_stats` that are not CNDP's standard ones (e.g. `n_acl_permit_packets`). */
  extra: Record<string, number>;
}

/** A thread as read from an app: the model's thread, with counters always present. */
export interface ThreadView extends ThreadInfo {
  counters: Record<string, number>;
}

/** Everything the exporter and `xdplane stats` show about one app at one time. */
export interface AppSnapshot {
  name: string;
  pid: number;
  version: string;
  /** When it was taken (Date.now()). */
  time: number;
  ports: PortView[];
  threads: ThreadView[];
}

/**
 * An app answered a command with `{"error": ...}`.
 *
 * @example
 * try {
 *   await client.stopThread("nosuchthread");
 * } catch (e) {
 *   if (!(e instanceof AppCommandError)) throw e;
 *   console.error(`${e.command} refused: ${e.message}`);
 * }
 */
export class AppCommandError extends Error {
  readonly command: string;
  constructor(command: string, message: string) {
    super(`${command}: ${message}`);
    this.name = "AppCommandError";
    this.command = command;
  }
}

/**
 * The connection is gone or a reply did not come in time.
 *
 * @example
 * const client = await AppClient.connect("/var/run/cndp/app_socket.1234", { timeoutMs: 500 });
 * try {
 *   console.log(await client.ports());
 * } catch (e) {
 *   if (!(e instanceof AppConnectionError)) throw e;
 *   console.error(e.code === "ETIMEDOUT" ? "the app did not answer" : "the app went away");
 * }
 */
export class AppConnectionError extends Error {
  readonly code: "ECLOSED" | "ETIMEDOUT";
  constructor(message: string, code: "ECLOSED" | "ETIMEDOUT") {
    super(message);
    this.name = "AppConnectionError";
    this.code = code;
  }
}

interface Waiter {
  cmd: string;
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

export interface AppClientOptions {
  /** How long a reply may take (ms). A late reply closes the connection (it would answer the wrong request). Default 2000. */
  timeoutMs?: number;
}

/** The pid in a socket name `app_socket.<pid>`, or 0. */
export function pidFromSocketPath(path: string): number {
  const m = /\.(\d+)$/.exec(basename(path));
  return m ? Number(m[1]) : 0;
}

/**
 * A connection to one app socket.
 *
 * @example
 * const app = await AppClient.connect("/var/run/cndp/app_socket.42");
 * const snap = await app.snapshot();
 * app.close();
 */
export class AppClient {
  readonly path: string;
  info: AppInfo = { version: "", pid: 0, maxOutput: UDS_MAX_OUTPUT_LEN };
  private readonly conn: SeqpacketConn;
  private readonly waiting: Waiter[] = [];
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  private closeCbs: (() => void)[] = [];
  private closed = false;
  private commandList: string[] | null = null;
  private appName: string | null = null;

  private constructor(path: string, conn: SeqpacketConn, opts: AppClientOptions) {
    this.path = path;
    this.conn = conn;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    conn.maxMessage = Math.max(UDS_MAX_OUTPUT_LEN, 64 * 1024);
    conn.onMessage((msg, fds) => this.onReply(msg, fds));
    conn.onError(() => {
      // The kernel dropped a reply longer than our buffer: it answered the oldest request.
      const w = this.waiting.shift();
      this.disarm();
      this.arm();
      w?.reject(new AppCommandError(w.cmd, `reply longer than ${conn.maxMessage} bytes`));
    });
    conn.onClose(() => this.fail(new AppConnectionError(`${this.path}: connection closed`, "ECLOSED")));
  }

  /** Connects and reads `/info`. Throws a SysError (ENOENT, ECONNREFUSED) or an AppConnectionError. */
  static async connect(path: string, opts: AppClientOptions = {}): Promise<AppClient> {
    const c = new AppClient(path, connectSeqpacket(path), opts);
    try {
      const info = await c.request("/info");
      c.info = {
        version: typeof info.version === "string" ? info.version : "",
        pid: typeof info.pid === "number" ? info.pid : pidFromSocketPath(path),
        maxOutput: typeof info.max_output_len === "number" ? info.max_output_len : UDS_MAX_OUTPUT_LEN,
      };
      if (c.info.maxOutput + 1 > c.conn.maxMessage) c.conn.maxMessage = c.info.maxOutput + 1;
      if (typeof info.app === "string") c.appName = info.app;
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /** Whether the connection is closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Adds a handler called once when the connection closes. */
  onClose(cb: () => void): void {
    if (this.closed) queueMicrotask(cb);
    else this.closeCbs.push(cb);
  }

  /** Lets the process exit while connected. */
  unref(): this {
    this.conn.unref();
    return this;
  }

  /**
   * Sends `cmd` (with `params` joined by ',') and resolves with the parsed reply, `{"error"}` replies
   * included. Rejects with AppConnectionError when closed or late.
   */
  request(cmd: string, params: readonly string[] = []): Promise<Record<string, unknown>> {
    const line = params.length > 0 ? `${cmd},${params.join(",")}` : cmd;
    if (this.closed) return Promise.reject(new AppConnectionError(`${this.path}: connection closed`, "ECLOSED"));
    return new Promise((resolve, reject) => {
      // Replies come from the event loop, so registering the waiter after send() keeps the order.
      if (!this.conn.send(line)) {
        reject(new AppConnectionError(`${this.path}: connection closed`, "ECLOSED"));
        return;
      }
      this.waiting.push({ cmd: line, resolve, reject });
      this.arm();
    });
  }

  /** Like {@link request}, but an `{"error"}` reply throws an AppCommandError. */
  async command(cmd: string, params: readonly string[] = []): Promise<Record<string, unknown>> {
    const r = await this.request(cmd, params);
    if (typeof r.error === "string") throw new AppCommandError(params.length ? `${cmd},${params.join(",")}` : cmd, r.error);
    return r;
  }

  /** The app's commands (`/`), read once. */
  async commands(): Promise<string[]> {
    if (this.commandList === null) {
      const r = await this.command("/");
      this.commandList = Array.isArray(r["/"]) ? (r["/"] as unknown[]).map(String) : [];
    }
    return this.commandList;
  }

  /** The app name (`/app/appname`), read once. Falls back to "app" when the app has no such command. */
  async name(): Promise<string> {
    if (this.appName === null) {
      const r = await this.request("/app/appname");
      this.appName = typeof r.name === "string" && r.name !== "" ? r.name : "app";
    }
    return this.appName;
  }

  /** Ports with their counters. */
  async ports(): Promise<PortView[]> {
    const cmds = await this.commands();
    const list = cmds.includes("/app/ports") ? await this.command("/app/ports") : { ports: [] };
    const stats = cmds.includes("/metrics/port_stats") ? await this.command("/metrics/port_stats") : {};
    return joinPorts(list.ports, stats);
  }

  /** Threads with their counters. */
  async threads(): Promise<ThreadView[]> {
    const cmds = await this.commands();
    const list = cmds.includes("/app/threads") ? await this.command("/app/threads") : { threads: [] };
    const stats = cmds.includes("/metrics/thread_stats") ? await this.command("/metrics/thread_stats") : {};
    return joinThreads(list.threads, stats);
  }

  /** Stops (pauses) `<thread|all>`; resolves with the threads touched. AppCommandError when the app refuses. */
  async stopThread(which: string): Promise<{ name: string; status: string }[]> {
    return threadResult(await this.command("/app/stop", [which]));
  }

  /** Starts (resumes) `<thread|all>`. */
  async startThread(which: string): Promise<{ name: string; status: string }[]> {
    return threadResult(await this.command("/app/start", [which]));
  }

  /** Everything at once. */
  async snapshot(): Promise<AppSnapshot> {
    const name = await this.name();
    const ports = await this.ports();
    const threads = await this.threads();
    return { name, pid: this.info.pid, version: this.info.version, time: Date.now(), ports, threads };
  }

  /** Closes the connection; pending requests reject. */
  close(): void {
    this.conn.close();
    this.fail(new AppConnectionError(`${this.path}: connection closed`, "ECLOSED"));
  }

  private arm(): void {
    if (this.timer !== null || this.waiting.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const w = this.waiting[0];
      this.conn.close();
      this.fail(new AppConnectionError(`${this.path}: no reply to '${w?.cmd ?? "?"}' within ${this.timeoutMs} ms`, "ETIMEDOUT"));
    }, this.timeoutMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private onReply(msg: Buffer, fds: number[]): void {
    for (const fd of fds) sys.close(fd); // replies carry no fds
    const w = this.waiting.shift();
    this.disarm();
    this.arm();
    if (w === undefined) return; // unsolicited (e.g. DPDK-style greeting): ignore
    let v: unknown;
    try {
      v = JSON.parse(msg.toString("utf8"));
    } catch {
      w.reject(new AppCommandError(w.cmd, `reply is not JSON: ${JSON.stringify(msg.subarray(0, 80).toString())}`));
      return;
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      w.reject(new AppCommandError(w.cmd, "reply is not a JSON object"));
      return;
    }
    w.resolve(v as Record<string, unknown>);
  }

  private fail(err: Error): void {
    this.disarm();
    const ws = this.waiting.splice(0);
    for (const w of ws) w.reject(err);
    if (!this.closed && this.conn.isClosed) {
      this.closed = true;
      const cbs = this.closeCbs.splice(0);
      for (const cb of cbs) cb();
    }
  }
}

function num(v: unknown, dflt = 0): number {
  return typeof v === "number" && Number.isFinite(v) ? v : dflt;
}
function str(v: unknown, dflt = ""): string {
  return typeof v === "string" ? v : dflt;
}

/** Joins `/app/ports` entries with the flat `/metrics/port_stats` keys (`<port>_<suffix>`). */
export function joinPorts(list: unknown, flat: Record<string, unknown>): PortView[] {
  const ports: PortView[] = [];
  const byName = new Map<string, PortView>();
  for (const raw of Array.isArray(list) ? list : []) {
    const o = (raw ?? {}) as Record<string, unknown>;
    const p: PortView = {
      id: num(o.id, ports.length),
      name: str(o.name),
      netdev: str(o.netdev),
      qid: num(o.qid),
      pmd: str(o.pmd_name),
      adminUp: o.admin_up !== false,
      stats: {},
      extra: {},
    };
    if (typeof o.link_up === "boolean") p.linkUp = o.link_up;
    ports.push(p);
    byName.set(p.name, p);
  }
  // Ports missing from /app/ports (or an app without it, like a CNDP app): found by a known key suffix.
  for (const key of Object.keys(flat)) {
    if ([...byName.keys()].some((n) => key.startsWith(`${n}_`))) continue;
    const meta = LPORT_STATS.find((m) => key.endsWith(`_${m.uds}`));
    if (meta === undefined) continue;
    const name = key.slice(0, key.length - meta.uds.length - 1);
    const p: PortView = { id: ports.length, name, netdev: name.split(":")[0] ?? name, qid: 0, pmd: "", adminUp: true, stats: {}, extra: {} };
    ports.push(p);
    byName.set(name, p);
  }
  // Longest names first so that "eth0_x" wins over "eth0" for "eth0_x_n_rx_bytes".
  const names = [...byName.keys()].sort((a, b) => b.length - a.length);
  for (const [key, v] of Object.entries(flat)) {
    if (typeof v !== "number") continue;
    const n = names.find((x) => key.startsWith(`${x}_`));
    if (n === undefined) continue;
    const port = byName.get(n)!;
    const suffix = key.slice(n.length + 1);
    const meta = LPORT_STAT_BY_UDS.get(suffix);
    if (meta !== undefined) port.stats[meta.field] = v;
    else port.extra[suffix] = v;
  }
  return ports;
}

/** Joins `/app/threads` entries with the flat `/metrics/thread_stats` keys (`<thread>_<counter>`). */
export function joinThreads(list: unknown, flat: Record<string, unknown>): ThreadView[] {
  const threads: ThreadView[] = [];
  for (const raw of Array.isArray(list) ? list : []) {
    const o = (raw ?? {}) as Record<string, unknown>;
    const t: ThreadView = {
      id: num(o.id, threads.length),
      name: str(o.name),
      group: str(o.group),
      type: str(o.type),
      ports: Array.isArray(o.ports) ? o.ports.map(String) : [],
      running: o.status !== "paused",
      counters: {},
    };
    if (Array.isArray(o.lcores)) t.lcores = o.lcores.map(Number);
    threads.push(t);
  }
  const sorted = [...threads].sort((a, b) => b.name.length - a.name.length);
  for (const [key, v] of Object.entries(flat)) {
    if (typeof v !== "number") continue;
    const t = sorted.find((x) => key.startsWith(`${x.name}_`));
    if (t !== undefined) t.counters[key.slice(t.name.length + 1)] = v;
  }
  return threads;
}

function threadResult(r: Record<string, unknown>): { name: string; status: string }[] {
  const list = Array.isArray(r.threads) ? r.threads : [];
  return list.map((x) => {
    const o = (x ?? {}) as Record<string, unknown>;
    return { name: str(o.name), status: str(o.status) };
  });
}
