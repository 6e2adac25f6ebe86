/**
 * The exporter sidecar's core, after CNDP's Go agent (lang/go/stats/prometheus): watch the socket folder,
 * connect to every app socket that appears (`app_socket.<pid>`), drop it when it goes, poll each app, and
 * turn what they say into Prometheus metrics (prom-client), health and readiness.
 *
 * Unlike CNDP's agent it needs no config file: counter vs gauge comes from the metric table
 * (model.ts), labels are app, pid, port and thread, it survives apps crashing, and it serves several apps.
 *
 * App-defined metrics: on every poll the exporter also asks `/metrics/app` (see {@link parseAppMetrics} for the
 * reply format) and exports what it gets as `xdplane_app_<name>`. An app that answers `{"error": ...}` (CNDP
 * apps: `invalid cmd`) or anything else than a `metrics` list has none: it is not asked again while the
 * connection lasts (a restarted app is a new socket, a new connection).
 *
 * App lifecycle: a socket file appears -> connect (retried with backoff) -> polled every interval. The
 * connection closing (the app exited or crashed) -> reconnect; a refused reconnect (nobody listens: the
 * file is stale) drops the app. A file removed drops the app at once. An app that is connected but does
 * not answer stays listed as not answering (liveness fails) until it answers or goes.
 *
 * The HTTP side is exporter-http.ts.
 */
import { watch, readdirSync, lstatSync, mkdirSync, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { Registry, Counter, Gauge } from "prom-client";
import { SysError } from "../sys/errno.js";
import { AppClient, AppCommandError, pidFromSocketPath, type AppSnapshot } from "./app-client.js";
import { APP_SOCKET_PREFIX, DEFAULT_SOCKET_DIR } from "./app-socket.js";
import { LPORT_STATS } from "./model.js";
import { nullLogger, type Logger } from "./log.js";

export interface ExporterOptions {
  /** Folder of the app sockets. Default `/var/run/cndp`. */
  socketDir?: string;
  /** Poll interval (ms). Default 1000. */
  intervalMs?: number;
  /** How long an app may take to answer one command (ms). Default 2000. */
  requestTimeoutMs?: number;
  /** An app whose last answer is older than this is "not answering" (ms). Default 3 intervals + timeout. */
  staleAfterMs?: number;
  /** Scrapes and probes poll first when the last poll is older than this (ms). Default 250. */
  freshMs?: number;
  /** At most this many app-defined series (`/metrics/app` samples) per app; the rest are dropped. Default 1000. */
  maxAppSeries?: number;
  log?: Logger;
}

/** The command the exporter asks for app-defined metrics. */
export const APP_METRICS_COMMAND = "/metrics/app";

/** Prometheus' metric name rule. */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Prometheus' label name rule (names starting with `__` are reserved, checked apart). */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One series of an app-defined metric, validated. */
export interface AppSample {
  labels: Record<string, string>;
  value: number;
}

/** One app-defined metric family, validated; `name` is the exported one (`xdplane_app_<name>`). */
export interface AppMetricFamily {
  name: string;
  type: "counter" | "gauge";
  help: string;
  samples: AppSample[];
}

/** What {@link parseAppMetrics} kept and how many series it dropped. */
export interface ParsedAppMetrics {
  families: AppMetricFamily[];
  /** Series dropped as invalid (bad name, type, label or value; duplicates; reserved names). */
  invalid: number;
  /** Series dropped over the per-app cap. */
  overLimit: number;
}

/**
 * Validates a `/metrics/app` reply:
 *
 * ```json
 * { "metrics": [ { "name": "flow_packets_total", "type": "counter", "help": "...",
 *                  "samples": [ { "labels": { "flow": "10.0.0.1:1000->10.0.0.2:2000/udp" }, "value": 42 } ] } ] }
 * ```
 *
 * Returns null when the reply is not one (`{"error": ...}`, no `metrics` list): the app has none. Names
 * follow Prometheus' rules (`[a-zA-Z_:][a-zA-Z0-9_:]*`, labels `[a-zA-Z_][a-zA-Z0-9_]*` not starting with
 * `__`, and not `app` or `pid`, which the exporter sets); `type` is `counter` (a finite value >= 0, the app's
 * running total) or `gauge` (finite); label values are strings (numbers are written as text). A bad family
 * drops all its series, a bad sample only itself, a repeated name or label set the repeat; past `maxSeries`
 * series the rest are dropped. `reserved(name)` refuses exported names the exporter already uses.
 *
 * @example
 * const r = parseAppMetrics({ metrics: [{ name: "flows", type: "gauge", samples: [{ value: 3 }] }] }, 1000);
 * // r.families[0].name === "xdplane_app_flows"
 */
export function parseAppMetrics(reply: Record<string, unknown>, maxSeries: number, reserved: (name: string) => boolean = () => false): ParsedAppMetrics | null {
  const list = reply.metrics;
  if (typeof reply.error === "string" || !Array.isArray(list)) return null;
  const out: ParsedAppMetrics = { families: [], invalid: 0, overLimit: 0 };
  const names = new Set<string>();
  let kept = 0;
  for (const f of list as unknown[]) {
    const fam = (typeof f === "object" && f !== null ? f : {}) as Record<string, unknown>;
    const samples = Array.isArray(fam.samples) ? (fam.samples as unknown[]) : null;
    const name = typeof fam.name === "string" && METRIC_NAME.test(fam.name) ? `xdplane_app_${fam.name}` : null;
    const type = fam.type === "counter" || fam.type === "gauge" ? fam.type : null;
    if (samples === null || name === null || type === null || names.has(name) || reserved(name) ||
        (fam.help !== undefined && typeof fam.help !== "string")) {
      out.invalid += Math.max(1, samples?.length ?? 0);
      continue;
    }
    names.add(name);
    const family: AppMetricFamily = { name, type, help: typeof fam.help === "string" && fam.help !== "" ? fam.help : `App metric '${fam.name as string}'.`, samples: [] };
    const seen = new Set<string>();
    for (const x of samples) {
      const sample = validSample(x, type);
      const key = sample === null ? "" : JSON.stringify(Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      if (sample === null || seen.has(key)) {
        out.invalid++;
        continue;
      }
      if (kept >= maxSeries) {
        out.overLimit++;
        continue;
      }
      seen.add(key);
      kept++;
      family.samples.push(sample);
    }
    if (family.samples.length > 0) out.families.push(family);
  }
  return out;
}

function validSample(x: unknown, type: "counter" | "gauge"): AppSample | null {
  if (typeof x !== "object" || x === null) return null;
  const { labels = {}, value } = x as { labels?: unknown; value?: unknown };
  if (typeof value !== "number" || !Number.isFinite(value) || (type === "counter" && value < 0)) return null;
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_NAME.test(k) || k.startsWith("__") || k === "app" || k === "pid") return null;
    if (typeof v === "string") out[k] = v;
    else if (typeof v === "number" && Number.isFinite(v)) out[k] = String(v);
    else return null;
  }
  return { labels: out, value };
}

/** Connection state of an app. */
export type AppState = "connecting" | "up" | "down";

/** One app socket the exporter knows. */
export interface AppEntry {
  readonly path: string;
  readonly ino: number;
  state: AppState;
  client: AppClient | null;
  /** The app name (`/app/appname`) once connected; "" before. */
  name: string;
  /** The app's pid (`/info`, else from the file name). */
  pid: number;
  version: string;
  snapshot: AppSnapshot | null;
  /** When the app last answered a poll (ms), 0 if never. */
  lastOk: number;
  lastError: string | null;
  /** When the exporter found the socket (ms). */
  readonly found: number;
  refused: number;
  retryAt: number;
  backoffMs: number;
  polling: Promise<void> | null;
  /** Whether the app answers `/metrics/app`: unknown until asked, "none" once it said it has none. */
  appMetricsState: "unknown" | "yes" | "none";
  /** The app-defined metrics of its last `/metrics/app` reply (validated). */
  appMetrics: AppMetricFamily[];
}

/** Readiness of one app and why not. */
export interface Readiness {
  ready: boolean;
  reasons: string[];
}

const LABELS_APP = ["app", "pid"] as const;
const LABELS_PORT = ["app", "pid", "port"] as const;
const LABELS_THREAD = ["app", "pid", "thread"] as const;
const MAX_BACKOFF_MS = 5000;
const REFUSALS_BEFORE_STALE = 3;

/** A Prometheus metric name part from an app-given counter name. */
export function metricPart(s: string): string {
  const t = s.replace(/[^a-zA-Z0-9_]/g, "_").replace(/_+/g, "_").replace(/^_|_$/g, "");
  return /^[0-9]/.test(t) ? `_${t}` : t;
}

/**
 * Finds, polls and exports the apps of a socket folder.
 *
 * @example
 * const ex = new Exporter({ socketDir: "/var/run/cndp" });
 * ex.start();
 * const text = await ex.metricsText();
 * await ex.close();
 */
export class Exporter {
  readonly socketDir: string;
  readonly intervalMs: number;
  readonly registry = new Registry();
  private readonly requestTimeoutMs: number;
  private readonly staleAfterMs: number;
  private readonly freshMs: number;
  private readonly maxAppSeries: number;
  private readonly log: Logger;
  private readonly entries = new Map<string, AppEntry>();
  /** Socket files found stale (path -> inode), skipped until replaced. */
  private readonly stale = new Map<string, number>();
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;
  private lastPoll = 0;
  private pollAllP: Promise<void> | null = null;
  private closed = false;
  private started = false;

  private readonly portCounters = new Map<string, Counter<string>>();
  private readonly dynCounters = new Map<string, Counter<string>>();
  /** The app-defined metrics in the registry now (rebuilt on every update). */
  private readonly appMetricNames = new Set<string>();
  private readonly appMetricsDropped: Counter<string>;
  /** Connections whose unreadable `/metrics/app` reply was logged already. */
  private readonly appMetricsWarned = new WeakSet<AppClient>();
  private readonly gauges: Record<string, Gauge<string>>;
  private readonly polls: Counter<string>;
  private readonly pollErrors: Counter<string>;
  private readonly connects: Counter<string>;
  private readonly disconnects: Counter<string>;

  constructor(opts: ExporterOptions = {}) {
    this.socketDir = opts.socketDir ?? DEFAULT_SOCKET_DIR;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 2000;
    this.staleAfterMs = opts.staleAfterMs ?? 3 * this.intervalMs + this.requestTimeoutMs;
    this.freshMs = opts.freshMs ?? 250;
    this.maxAppSeries = opts.maxAppSeries ?? 1000;
    this.log = opts.log ?? nullLogger;
    const reg = [this.registry];
    for (const m of LPORT_STATS) {
      this.portCounters.set(m.field, new Counter({ name: `${m.prom}_total`, help: m.help, labelNames: LABELS_PORT, registers: reg }));
    }
    const g = (name: string, help: string, labelNames: readonly string[]): Gauge<string> =>
      new Gauge({ name, help, labelNames, registers: reg });
    this.gauges = {
      appInfo: g("xdplane_app_info", "An app the exporter polls (always 1), with its version.", [...LABELS_APP, "version"]),
      appUp: g("xdplane_app_up", "Whether the app answered its last poll in time (1) or not (0).", LABELS_APP),
      appReady: g("xdplane_app_ready", "Whether every port of the app is up and forwarding (1) or not (0).", LABELS_APP),
      portInfo: g("xdplane_port_info", "A port of an app (always 1), with its netdev, queue and driver.", [...LABELS_PORT, "netdev", "qid", "pmd"]),
      portUp: g("xdplane_port_up", "Whether the port is admin up and its link up (1) or not (0).", LABELS_PORT),
      portAdminUp: g("xdplane_port_admin_up", "Whether the port is administratively up (1) or down (0).", LABELS_PORT),
      portLinkUp: g("xdplane_port_link_up", "Whether the port's link is up (1) or down (0), when the app knows.", LABELS_PORT),
      threadInfo: g("xdplane_thread_info", "A thread of an app (always 1), with its type and lcore group.", [...LABELS_THREAD, "type", "group"]),
      threadRunning: g("xdplane_thread_running", "Whether the thread runs (1) or is stopped (0).", LABELS_THREAD),
      apps: g("xdplane_exporter_apps", "App sockets the exporter knows, by state.", ["state"]),
    };
    this.polls = new Counter({ name: "xdplane_exporter_polls_total", help: "Polls of apps.", registers: reg });
    this.pollErrors = new Counter({ name: "xdplane_exporter_poll_errors_total", help: "Polls of apps that failed.", registers: reg });
    this.connects = new Counter({ name: "xdplane_exporter_app_connects_total", help: "Connections made to app sockets.", registers: reg });
    this.disconnects = new Counter({ name: "xdplane_exporter_app_disconnects_total", help: "App connections that closed.", registers: reg });
    this.appMetricsDropped = new Counter({
      name: "xdplane_exporter_app_metrics_dropped_total",
      help: "App-defined series (/metrics/app) dropped: invalid, or over the per-app limit.",
      labelNames: [...LABELS_APP, "reason"],
      registers: reg,
    });
  }

  /** Starts watching and polling. */
  start(): void {
    if (this.started) return;
    this.started = true;
    try {
      mkdirSync(this.socketDir, { recursive: true, mode: 0o755 });
    } catch {
      // not ours to create: poll until it appears
    }
    this.openWatcher();
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Every app socket known, in discovery order. */
  apps(): AppEntry[] {
    return [...this.entries.values()];
  }

  /** Finds apps by name or pid (a string of digits). */
  find(nameOrPid: string): AppEntry[] {
    const all = this.apps();
    if (/^\d+$/.test(nameOrPid)) return all.filter((e) => e.pid === Number(nameOrPid));
    return all.filter((e) => e.name === nameOrPid);
  }

  /** Whether an app answered recently. */
  answering(e: AppEntry, now = Date.now()): boolean {
    return e.state === "up" && e.lastOk > 0 && now - e.lastOk <= this.staleAfterMs;
  }

  /** Readiness of one app: connected, answering, has ports, all ports up, their threads running. */
  readiness(e: AppEntry, now = Date.now()): Readiness {
    const reasons: string[] = [];
    const s = e.snapshot;
    if (e.state !== "up") reasons.push(`${e.state === "connecting" ? "connecting" : "not connected"}`);
    else if (!this.answering(e, now)) reasons.push(e.lastOk === 0 ? "not polled yet" : "not answering");
    if (s !== null) {
      if (s.ports.length === 0) reasons.push("no ports");
      for (const p of s.ports) {
        if (!p.adminUp) reasons.push(`port ${p.name} is admin down`);
        if (p.linkUp === false) reasons.push(`port ${p.name} link is down`);
      }
      for (const t of s.threads) {
        if (!t.running && t.ports.length > 0 && t.type.toLowerCase() !== "main") reasons.push(`thread ${t.name} is stopped`);
      }
    } else if (reasons.length === 0) {
      reasons.push("no data yet");
    }
    return { ready: reasons.length === 0, reasons };
  }

  /** Liveness: every app that is connected or trying answers within staleAfterMs of being found. */
  health(now = Date.now()): { ok: boolean; failing: AppEntry[] } {
    const failing = this.apps().filter((e) => {
      if (this.answering(e, now)) return false;
      const since = Math.max(e.lastOk, e.found);
      return now - since > this.staleAfterMs;
    });
    return { ok: failing.length === 0, failing };
  }

  /** Polls now unless the last poll is fresh; waits at most `maxWaitMs` for it. */
  async refresh(maxWaitMs = 500): Promise<void> {
    if (!this.started || this.closed) return;
    if (Date.now() - this.lastPoll < this.freshMs) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.pollAll(), new Promise<void>((r) => (t = setTimeout(r, maxWaitMs)))]);
    if (t !== undefined) clearTimeout(t);
  }

  /** Polls every connected app (concurrent polls share one round). */
  pollAll(): Promise<void> {
    if (this.pollAllP !== null) return this.pollAllP;
    const p = (async () => {
      await Promise.all(this.apps().filter((e) => e.state === "up").map((e) => this.poll(e)));
      this.lastPoll = Date.now();
    })().finally(() => {
      this.pollAllP = null;
    });
    this.pollAllP = p;
    return p;
  }

  /** Re-reads the socket folder now (the watcher does this on changes). */
  rescan(): void {
    if (this.closed) return;
    let names: string[];
    try {
      names = readdirSync(this.socketDir);
    } catch {
      names = [];
    }
    const seen = new Set<string>();
    for (const n of names) {
      if (!n.startsWith(APP_SOCKET_PREFIX)) continue;
      const path = join(this.socketDir, n);
      let ino: number;
      try {
        const st = lstatSync(path);
        if (!st.isSocket()) continue;
        ino = st.ino;
      } catch {
        continue;
      }
      seen.add(path);
      const e = this.entries.get(path);
      if (e !== undefined && e.ino === ino) continue;
      if (e !== undefined) this.drop(e, "socket file replaced");
      if (this.stale.get(path) === ino) continue;
      this.stale.delete(path);
      this.add(path, ino);
    }
    for (const e of this.apps()) if (!seen.has(e.path)) this.drop(e, "socket file removed");
    for (const p of [...this.stale.keys()]) if (!seen.has(p)) this.stale.delete(p);
    this.retryConnects();
  }

  /** Sets every metric from the latest snapshots; then `registry.metrics()` has them. */
  updateMetrics(now = Date.now()): void {
    for (const c of this.portCounters.values()) c.reset();
    for (const c of this.dynCounters.values()) c.reset();
    for (const g of Object.values(this.gauges)) g.reset();
    const byState: Record<AppState, number> = { connecting: 0, up: 0, down: 0 };
    for (const e of this.entries.values()) {
      byState[e.state]++;
      const s = e.snapshot;
      if (s === null || e.name === "") continue;
      const app = { app: e.name, pid: String(e.pid) };
      this.gauges.appInfo!.set({ ...app, version: e.version }, 1);
      this.gauges.appUp!.set(app, this.answering(e, now) ? 1 : 0);
      this.gauges.appReady!.set(app, this.readiness(e, now).ready ? 1 : 0);
      for (const p of s.ports) {
        const l = { ...app, port: p.name };
        this.gauges.portInfo!.set({ ...l, netdev: p.netdev, qid: String(p.qid), pmd: p.pmd }, 1);
        this.gauges.portUp!.set(l, p.adminUp && p.linkUp !== false ? 1 : 0);
        this.gauges.portAdminUp!.set(l, p.adminUp ? 1 : 0);
        if (p.linkUp !== undefined) this.gauges.portLinkUp!.set(l, p.linkUp ? 1 : 0);
        for (const [field, v] of Object.entries(p.stats)) {
          const c = this.portCounters.get(field);
          if (c !== undefined && v !== undefined && v >= 0 && Number.isFinite(v)) c.inc(l, v);
        }
        for (const [k, v] of Object.entries(p.extra)) {
          this.dynCounter(`xdplane_port_${metricPart(k.replace(/^n_/, ""))}_total`, `Port counter '${k}' the app reports.`, LABELS_PORT)?.inc(l, Math.max(0, v));
        }
      }
      for (const t of s.threads) {
        const l = { ...app, thread: t.name };
        this.gauges.threadInfo!.set({ ...l, type: t.type, group: t.group }, 1);
        this.gauges.threadRunning!.set(l, t.running ? 1 : 0);
        for (const [k, v] of Object.entries(t.counters)) {
          this.dynCounter(`xdplane_thread_${metricPart(k)}_total`, `Thread counter '${k}' the app reports.`, LABELS_THREAD)?.inc(l, Math.max(0, v));
        }
      }
    }
    for (const [state, n] of Object.entries(byState)) this.gauges.apps!.set({ state }, n);
    this.updateAppMetrics();
  }

  /** Fresh metrics in Prometheus text format. */
  async metricsText(): Promise<string> {
    await this.refresh();
    this.updateMetrics();
    return this.registry.metrics();
  }

  /** Stops watching and polling and closes every app connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.rescanTimer !== null) clearTimeout(this.rescanTimer);
    this.watcher?.close();
    this.watcher = null;
    for (const e of this.apps()) this.drop(e, "exporter closing");
    await this.pollAllP?.catch(() => undefined);
  }

  // ---- internals --------------------------------------------------------------------------------

  /**
   * Rebuilds the app-defined metrics from the apps' last replies: series an app no longer reports vanish.
   * Counters carry the app's own totals. A name two apps give different types keeps the first app's.
   */
  private updateAppMetrics(): void {
    for (const n of this.appMetricNames) this.registry.removeSingleMetric(n);
    this.appMetricNames.clear();
    const merged = new Map<string, { type: "counter" | "gauge"; help: string; labelNames: Set<string>; samples: AppSample[] }>();
    for (const e of this.entries.values()) {
      if (e.snapshot === null || e.name === "" || e.appMetrics.length === 0) continue;
      const app = { app: e.name, pid: String(e.pid) };
      for (const f of e.appMetrics) {
        let m = merged.get(f.name);
        if (m === undefined) merged.set(f.name, (m = { type: f.type, help: f.help, labelNames: new Set(LABELS_APP), samples: [] }));
        else if (m.type !== f.type) continue;
        for (const s of f.samples) {
          for (const k of Object.keys(s.labels)) m.labelNames.add(k);
          m.samples.push({ labels: { ...app, ...s.labels }, value: s.value });
        }
      }
    }
    for (const [name, m] of merged) {
      if (this.registry.getSingleMetric(name) !== undefined) continue;
      const opts = { name, help: m.help, labelNames: [...m.labelNames], registers: [this.registry] };
      this.appMetricNames.add(name);
      if (m.type === "counter") {
        const c = new Counter(opts);
        for (const s of m.samples) c.inc(s.labels, s.value);
      } else {
        const g = new Gauge(opts);
        for (const s of m.samples) g.set(s.labels, s.value);
      }
    }
  }

  /** Asks the app for its own metrics unless it said it has none (errors leave it without any this round). */
  private async pollAppMetrics(e: AppEntry, c: AppClient): Promise<void> {
    if (e.appMetricsState === "none") return;
    let reply: Record<string, unknown>;
    const unreadable = (error: unknown): void => {
      // The app has metrics but this reply is unusable (too long, not JSON): none this round, and a
      // warning once per connection. Connection errors are the poll's business (the client reconnects).
      e.appMetrics = [];
      if (this.appMetricsWarned.has(c)) return;
      this.appMetricsWarned.add(c);
      this.log.warning("app metrics unreadable", { app: e.name, pid: e.pid, command: APP_METRICS_COMMAND, error });
    };
    try {
      reply = await c.request(APP_METRICS_COMMAND);
    } catch (err) {
      if (e.client !== c) return;
      if (err instanceof AppCommandError) unreadable(err.message);
      else e.appMetrics = [];
      return;
    }
    if (e.client !== c) return;
    if (typeof reply.error === "string" && /exceeds max_output_len/.test(reply.error)) {
      unreadable(reply.error); // xdplane's AppSocket refusing a reply too long: publish fewer series
      return;
    }
    const p = parseAppMetrics(reply, this.maxAppSeries, (n) => this.registry.getSingleMetric(n) !== undefined && !this.appMetricNames.has(n));
    if (p === null) {
      e.appMetricsState = "none";
      e.appMetrics = [];
      return;
    }
    e.appMetricsState = "yes";
    e.appMetrics = p.families;
    const app = { app: e.name, pid: String(e.pid) };
    if (p.invalid > 0) this.appMetricsDropped.inc({ ...app, reason: "invalid" }, p.invalid);
    if (p.overLimit > 0) this.appMetricsDropped.inc({ ...app, reason: "limit" }, p.overLimit);
  }

  private dynCounter(name: string, help: string, labelNames: readonly string[]): Counter<string> | undefined {
    let c = this.dynCounters.get(name);
    if (c !== undefined) return c;
    if (this.registry.getSingleMetric(name) !== undefined) return undefined; // a standard metric has this name
    c = new Counter({ name, help, labelNames, registers: [this.registry] });
    this.dynCounters.set(name, c);
    return c;
  }

  private openWatcher(): void {
    if (this.watcher !== null || this.closed) return;
    try {
      const w = watch(this.socketDir, { persistent: false }, () => this.scheduleRescan());
      w.on("error", () => {
        w.close();
        if (this.watcher === w) this.watcher = null;
      });
      this.watcher = w;
    } catch {
      this.watcher = null; // the folder is missing: the interval rescans and retries
    }
  }

  private scheduleRescan(): void {
    if (this.rescanTimer !== null || this.closed) return;
    this.rescanTimer = setTimeout(() => {
      this.rescanTimer = null;
      this.rescan();
    }, 10);
    this.rescanTimer.unref();
  }

  private tick(): void {
    if (this.closed) return;
    this.openWatcher();
    this.rescan();
    void this.pollAll();
  }

  private add(path: string, ino: number): void {
    const now = Date.now();
    const e: AppEntry = {
      path,
      ino,
      state: "down",
      client: null,
      name: "",
      pid: pidFromSocketPath(path),
      version: "",
      snapshot: null,
      lastOk: 0,
      lastError: null,
      found: now,
      refused: 0,
      retryAt: now,
      backoffMs: 100,
      polling: null,
      appMetricsState: "unknown",
      appMetrics: [],
    };
    this.entries.set(path, e);
    this.log.debug("app socket found", { path });
  }

  private drop(e: AppEntry, why: string): void {
    if (this.entries.get(e.path) !== e) return;
    this.entries.delete(e.path);
    const c = e.client;
    e.client = null;
    e.state = "down";
    c?.close();
    if (e.name !== "") for (const reason of ["invalid", "limit"]) this.appMetricsDropped.remove({ app: e.name, pid: String(e.pid), reason });
    this.log.info("app dropped", { app: e.name || undefined, pid: e.pid, path: e.path, reason: why });
  }

  private retryConnects(): void {
    const now = Date.now();
    for (const e of this.apps()) {
      if (e.state === "down" && now >= e.retryAt) void this.connect(e);
    }
  }

  private backoff(e: AppEntry): void {
    e.retryAt = Date.now() + e.backoffMs;
    e.backoffMs = Math.min(e.backoffMs * 2, MAX_BACKOFF_MS);
    // Retry soon even when the interval is long.
    const t = setTimeout(() => this.retryConnects(), e.backoffMs / 2 + 5);
    t.unref();
  }

  private async connect(e: AppEntry): Promise<void> {
    e.state = "connecting";
    let c: AppClient;
    try {
      c = await AppClient.connect(e.path, { timeoutMs: this.requestTimeoutMs });
    } catch (err) {
      if (this.entries.get(e.path) !== e) return;
      e.state = "down";
      const code = err instanceof SysError ? err.code : (err as { code?: string }).code;
      e.lastError = (err as Error).message;
      if (code === "ECONNREFUSED" && ++e.refused >= REFUSALS_BEFORE_STALE) {
        // Nobody listens: the app is gone and left its socket file (killed before it could unlink).
        this.stale.set(e.path, e.ino);
        this.drop(e, "stale socket (connection refused)");
        return;
      }
      if (code === "ENOENT") {
        this.drop(e, "socket file removed");
        return;
      }
      this.backoff(e);
      return;
    }
    if (this.entries.get(e.path) !== e || this.closed) {
      c.close();
      return;
    }
    c.unref();
    this.connects.inc();
    e.client = c;
    e.refused = 0;
    e.backoffMs = 100;
    e.appMetricsState = "unknown";
    e.appMetrics = [];
    e.pid = c.info.pid || e.pid;
    e.version = c.info.version;
    c.onClose(() => {
      if (e.client !== c) return;
      this.disconnects.inc();
      e.client = null;
      e.state = "down";
      this.log.info("app disconnected", { app: e.name, pid: e.pid });
      this.backoff(e);
    });
    try {
      e.name = await c.name();
    } catch (err) {
      e.lastError = (err as Error).message;
      c.close();
      return;
    }
    if (e.client !== c) return;
    // "up" once the first poll is in, so that scrapes never see a connected app without data.
    await this.poll(e);
    if (e.client !== c) return;
    e.state = "up";
    this.log.info("app connected", { app: e.name, pid: e.pid, version: e.version, path: e.path });
  }

  private poll(e: AppEntry): Promise<void> {
    if (e.polling !== null) return e.polling;
    const c = e.client;
    if (c === null) return Promise.resolve();
    const p = (async () => {
      this.polls.inc();
      try {
        const s = await c.snapshot();
        if (e.client !== c) return;
        e.snapshot = s;
        e.lastOk = Date.now();
        e.lastError = null;
        await this.pollAppMetrics(e, c);
      } catch (err) {
        this.pollErrors.inc();
        e.lastError = (err as Error).message;
        this.log.warning("poll failed", { app: e.name, pid: e.pid, error: err });
      }
    })().finally(() => {
      e.polling = null;
    });
    e.polling = p;
    return p;
  }
}
