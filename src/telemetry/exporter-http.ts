/**
 * The exporter's HTTP side: Prometheus `/metrics`, `/healthz` (liveness), `/readyz` (readiness) and a REST
 * API mirroring the app command socket. Errors are JSON `{"error": "...", "status": N}` with proper
 * codes: 400 bad input (malformed percent-encoding included), 401 a control request without the right
 * bearer token, 403 a control request while the control API is off, 404 unknown app/port/thread/route
 * (paths with empty segments included), 405 wrong method (with `Allow`), 409 an ambiguous app name, 502
 * the app refused or failed, 503 the app is not connected (or the control token file cannot be read).
 *
 * | method | path | |
 * | --- | --- | --- |
 * | GET | /metrics | Prometheus text format |
 * | GET | /healthz | 200 when every app answers, else 503 |
 * | GET | /readyz | 200 when there are apps and every app is ready, else 503 |
 * | GET | /apps | the apps |
 * | GET | /apps/{app} | one app: info, commands, readiness (`{app}` is a name or a pid) |
 * | GET | /apps/{app}/ports | ports with counters (live) |
 * | GET | /apps/{app}/ports/{port} | one port |
 * | GET | /apps/{app}/threads | threads with counters (live) |
 * | GET | /apps/{app}/threads/{thread} | one thread (name or id) |
 * | GET | /apps/{app}/commands | the app's socket commands |
 * | GET | /apps/{app}/commands/{path...} | a read-only command ({@link READ_ONLY_COMMANDS}) without parameters |
 * | POST | /apps/{app}/threads/{thread\|all}/start, .../stop | control: start or stop threads |
 * | POST | /apps/{app}/commands/{path...}?params=a,b | control: run any socket command, e.g. /apps/fwd/commands/fwd/admin |
 *
 * The control API (every POST) is off unless a token file is configured ({@link ControlOptions}); then a
 * request needs `Authorization: Bearer <token>`. The GET routes never change an app's state and are open.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { AppCommandError, AppConnectionError, type AppClient } from "./app-client.js";
import type { Exporter, AppEntry } from "./exporter.js";
import { nullLogger, type Logger } from "./log.js";

/** An error with an HTTP status. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

const THREAD_ID_RE = /^[A-Za-z0-9_.:-]{1,48}$/;
const PARAM_RE = /^[^,\0\r\n]{1,200}$/;

/**
 * The socket commands GET may run (lower case; CNDP's read-only built-ins and the forwarder's), and only
 * without parameters: a command with parameters, or any other command (`/app/stop`, `/app/start`,
 * `/fwd/admin`, what an app registers), may change state and is POST only, through the control API.
 * An app cannot declare a command read-only over CNDP's socket protocol, so the list is the exporter's.
 */
export const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  "/", "/info", "/app/appname", "/app/hostname", "/app/ports", "/app/threads",
  "/metrics/port_stats", "/metrics/thread_stats", "/metrics/app", "/fwd/mode", "/fwd/threads",
  "/l3fwd/routes", "/l3fwd/fastpath", "/acl/rules",
  "/cnet/interfaces", "/cnet/addresses", "/cnet/routes", "/cnet/arp", "/cnet/nd", "/cnet/tcp", "/cnet/stats",
]);

/** A bearer token may hold these (RFC 6750 b64token); at least this many characters. */
const TOKEN_RE = /^[A-Za-z0-9\-._~+/]+=*$/;
export const MIN_TOKEN_LEN = 16;

/** The control API's settings; absent (or `tokenFile` undefined): the control API is off. */
export interface ControlOptions {
  /**
   * A file holding the bearer token (surrounding whitespace ignored), e.g. a mounted Kubernetes Secret.
   * Read on every control request, so a rotated Secret takes effect without a restart.
   */
  tokenFile?: string;
}

/** Reads and checks a control token file; throws an Error naming the file and the problem. */
export async function readControlToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new Error(`Cannot read the control token file '${file}': ${(e as Error).message}`);
  }
  const t = text.trim();
  if (t.length < MIN_TOKEN_LEN) throw new Error(`The control token in '${file}' is ${t.length === 0 ? "empty" : `${t.length} characters`}: at least ${MIN_TOKEN_LEN} required`);
  if (!TOKEN_RE.test(t)) throw new Error(`The control token in '${file}' holds characters a bearer token cannot: use letters, digits and '-._~+/' (e.g. hex or base64)`);
  return t;
}

/** Equal strings, in a time that does not depend on where they differ (digests of the same length). */
function sameToken(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

const REALM = 'Bearer realm="xdplane-exporter"';

/** Lets a control request through, or throws 403 (control off), 401 (no or wrong token), 503 (no token file). */
async function authorize(ctl: ControlOptions, req: IncomingMessage, log: Logger): Promise<void> {
  if (ctl.tokenFile === undefined) {
    throw new HttpError(403, "The control API is off: start the exporter with --control-token-file <file> to allow POST requests");
  }
  const h = req.headers.authorization;
  const m = /^Bearer +([^\s]+) *$/i.exec(h ?? "");
  if (m === null) {
    throw new HttpError(401, h === undefined ? "Authorization required: 'Authorization: Bearer <token>'" : "Authorization must be 'Bearer <token>'", {
      "www-authenticate": REALM,
    });
  }
  let token: string;
  try {
    token = await readControlToken(ctl.tokenFile);
  } catch (e) {
    log.err("control token unavailable", { error: e });
    throw new HttpError(503, `The control API is unavailable: ${(e as Error).message}`);
  }
  if (!sameToken(m[1]!, token)) {
    log.notice("control request refused: invalid token", { method: req.method, url: req.url, remote: req.socket.remoteAddress });
    throw new HttpError(401, "Invalid token", { "www-authenticate": `${REALM}, error="invalid_token"` });
  }
  log.info("control request", { method: req.method, url: req.url, remote: req.socket.remoteAddress });
}

/** Percent-decodes one path segment or query component, or throws 400 naming `what`. */
function decode(s: string, what: string): string {
  const bad = /%(?![0-9A-Fa-f]{2})/.exec(s);
  if (bad !== null) throw new HttpError(400, `Malformed percent-encoding in ${what}: '${s.slice(bad.index, bad.index + 3)}' is not '%' and two hex digits`);
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `Malformed percent-encoding in ${what}: the bytes are not UTF-8`);
  }
}

/** A request target taken apart: the raw path (one trailing '/' dropped) and the decoded query. */
interface Target {
  path: string;
  query: [string, string][];
}

/**
 * Parses the request target by hand: `new URL()` would read `//apps` as a host and resolve `.`/`..`.
 * Throws 400 for anything but an origin-form target or for malformed percent-encoding, 404 for a path
 * with an empty segment (`//apps`, `/apps//x`).
 */
function parseTarget(raw: string): Target {
  if (!raw.startsWith("/")) throw new HttpError(400, `Invalid request target '${raw.slice(0, 100)}': a path starting with '/'`);
  const hash = raw.indexOf("#");
  const t = hash < 0 ? raw : raw.slice(0, hash);
  const qm = t.indexOf("?");
  let path = qm < 0 ? t : t.slice(0, qm);
  const rawQuery = qm < 0 ? "" : t.slice(qm + 1);
  decode(path, "the path");
  if (path.includes("//")) throw new HttpError(404, `No route ${path}: empty path segment`);
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  const query: [string, string][] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const k = decode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "), "the query");
    const v = decode((eq < 0 ? "" : part.slice(eq + 1)).replace(/\+/g, " "), `query parameter '${k}'`);
    query.push([k, v]);
  }
  return { path, query };
}

interface Ctx {
  ex: Exporter;
  req: IncomingMessage;
  query: [string, string][];
  m: string[];
}

type Handler = (ctx: Ctx) => Promise<unknown> | unknown;

interface Route {
  re: RegExp;
  methods: Record<string, Handler>;
  /** The methods that belong to the control API (authorized before the handler runs). */
  control?: readonly string[];
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(text);
}

function appSummary(ex: Exporter, e: AppEntry): Record<string, unknown> {
  const r = ex.readiness(e);
  return {
    name: e.name,
    pid: e.pid,
    version: e.version,
    socket: e.path,
    state: e.state,
    answering: ex.answering(e),
    ready: r.ready,
    reasons: r.reasons,
    ports: e.snapshot?.ports.length ?? 0,
    threads: e.snapshot?.threads.length ?? 0,
    last_poll: e.lastOk > 0 ? new Date(e.lastOk).toISOString() : null,
    last_error: e.lastError,
  };
}

/** The one app named by a path segment (name or pid), or an HttpError. */
function appOf(ex: Exporter, seg: string): AppEntry {
  const name = decode(seg, "the path");
  const found = ex.find(name);
  if (found.length === 0) throw new HttpError(404, `App '${name}' not found`);
  if (found.length > 1) {
    throw new HttpError(409, `App name '${name}' is ambiguous: pids ${found.map((e) => e.pid).join(", ")}; use the pid`);
  }
  return found[0]!;
}

function clientOf(e: AppEntry): AppClient {
  if (e.client === null || e.state !== "up") throw new HttpError(503, `App '${e.name || e.pid}' is not connected (${e.state})`);
  return e.client;
}

/** Maps app-side failures to HTTP errors. */
async function live<T>(e: AppEntry, fn: (c: AppClient) => Promise<T>): Promise<T> {
  const c = clientOf(e);
  try {
    return await fn(c);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof AppConnectionError) throw new HttpError(503, err.message);
    if (err instanceof AppCommandError) {
      if (/not found/i.test(err.message)) throw new HttpError(404, err.message);
      throw new HttpError(502, err.message);
    }
    throw err;
  }
}

function threadParam(seg: string): string {
  const id = decode(seg, "the path");
  if (!THREAD_ID_RE.test(id)) throw new HttpError(400, `Invalid thread '${id}': 1-48 letters, digits or '_.:-'`);
  return id;
}

function paramsOf(query: [string, string][]): string[] {
  const bad = query.find(([k]) => k !== "params" && k !== "param");
  if (bad !== undefined) throw new HttpError(400, `Unknown query parameter '${bad[0]}': use params=a,b`);
  const out: string[] = [];
  for (const [k, v] of query) {
    if (k === "params") out.push(...v.split(","));
    else out.push(v);
  }
  for (const p of out) if (!PARAM_RE.test(p)) throw new HttpError(400, `Invalid parameter '${p}': 1-200 characters, no ','`);
  return out;
}

const ROUTES: Route[] = [
  {
    re: /^\/$/,
    methods: {
      GET: () => ({
        endpoints: ["/metrics", "/healthz", "/readyz", "/apps", "/apps/{app}", "/apps/{app}/ports", "/apps/{app}/threads", "/apps/{app}/commands"],
      }),
    },
  },
  {
    re: /^\/apps$/,
    methods: {
      GET: async ({ ex }) => {
        await ex.refresh();
        return { apps: ex.apps().map((e) => appSummary(ex, e)) };
      },
    },
  },
  {
    re: /^\/apps\/([^/]+)$/,
    methods: {
      GET: async ({ ex, m }) => {
        const e = appOf(ex, m[1]!);
        const info = appSummary(ex, e);
        if (e.client !== null && e.state === "up") {
          info.commands = await live(e, (c) => c.commands());
          info.max_output_len = e.client.info.maxOutput;
        }
        return info;
      },
    },
  },
  {
    re: /^\/apps\/([^/]+)\/ports$/,
    methods: { GET: ({ ex, m }) => live(appOf(ex, m[1]!), async (c) => ({ ports: await c.ports() })) },
  },
  {
    re: /^\/apps\/([^/]+)\/ports\/([^/]+)$/,
    methods: {
      GET: ({ ex, m }) =>
        live(appOf(ex, m[1]!), async (c) => {
          const name = decode(m[2]!, "the path");
          const p = (await c.ports()).find((x) => x.name === name);
          if (p === undefined) throw new HttpError(404, `Port '${name}' not found`);
          return p;
        }),
    },
  },
  {
    re: /^\/apps\/([^/]+)\/threads$/,
    methods: { GET: ({ ex, m }) => live(appOf(ex, m[1]!), async (c) => ({ threads: await c.threads() })) },
  },
  {
    re: /^\/apps\/([^/]+)\/threads\/([^/]+)$/,
    methods: {
      GET: ({ ex, m }) =>
        live(appOf(ex, m[1]!), async (c) => {
          const id = threadParam(m[2]!);
          const threads = await c.threads();
          const t = threads.find((x) => x.name.toLowerCase() === id.toLowerCase()) ?? (/^\d+$/.test(id) ? threads.find((x) => x.id === Number(id)) : undefined);
          if (t === undefined) throw new HttpError(404, `Thread '${id}' not found`);
          return t;
        }),
    },
  },
  {
    re: /^\/apps\/([^/]+)\/threads\/([^/]+)\/([^/]+)$/,
    control: ["POST"],
    methods: {
      POST: async ({ ex, m }) => {
        const e = appOf(ex, m[1]!);
        const id = threadParam(m[2]!);
        const action = decode(m[3]!, "the path");
        if (action !== "start" && action !== "stop") throw new HttpError(400, `Invalid action '${action}': start or stop`);
        const threads = await live(e, (c) => (action === "stop" ? c.stopThread(id) : c.startThread(id)));
        await ex.pollAll();
        return { threads };
      },
    },
  },
  {
    re: /^\/apps\/([^/]+)\/commands$/,
    methods: { GET: ({ ex, m }) => live(appOf(ex, m[1]!), async (c) => ({ commands: await c.commands() })) },
  },
  {
    re: /^\/apps\/([^/]+)\/commands(\/.+)$/,
    control: ["POST"],
    methods: {
      GET: ({ ex, m, query }) => {
        const cmd = decode(m[2]!, "the path");
        const params = paramsOf(query);
        if (params.length > 0 || !READ_ONLY_COMMANDS.has(cmd.toLowerCase())) {
          throw new HttpError(
            405,
            `GET runs only read-only commands without parameters (${[...READ_ONLY_COMMANDS].join(", ")}); '${cmd}'${params.length > 0 ? " with parameters" : ""} is POST only (control API)`,
            { allow: "POST" },
          );
        }
        return runCommand(ex, m, cmd, params);
      },
      POST: ({ ex, m, query }) => runCommand(ex, m, decode(m[2]!, "the path"), paramsOf(query)),
    },
  },
];

async function runCommand(ex: Exporter, m: string[], cmd: string, params: string[]): Promise<unknown> {
  const e = appOf(ex, m[1]!);
  return live(e, async (c) => {
    const cmds = await c.commands();
    const known = cmds.find((x) => x.toLowerCase() === cmd.toLowerCase());
    if (known === undefined) throw new HttpError(404, `App '${e.name}' has no command '${cmd}'`);
    return c.command(known, params);
  });
}

async function handle(ex: Exporter, ctl: ControlOptions, log: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { path, query } = parseTarget(req.url ?? "/");
  const method = req.method ?? "GET";
  if (path === "/metrics") {
    if (method !== "GET") throw new HttpError(405, `Method ${method} not allowed on /metrics`, { allow: "GET" });
    const text = await ex.metricsText();
    res.writeHead(200, { "content-type": ex.registry.contentType });
    res.end(text);
    return;
  }
  if (path === "/healthz") {
    if (method !== "GET") throw new HttpError(405, `Method ${method} not allowed on /healthz`, { allow: "GET" });
    await ex.refresh();
    const h = ex.health();
    json(res, h.ok ? 200 : 503, {
      status: h.ok ? "ok" : "failing",
      apps: ex.apps().length,
      failing: h.failing.map((e) => ({ name: e.name, pid: e.pid, state: e.state, last_error: e.lastError })),
    });
    return;
  }
  if (path === "/readyz") {
    if (method !== "GET") throw new HttpError(405, `Method ${method} not allowed on /readyz`, { allow: "GET" });
    await ex.refresh();
    const apps = ex.apps().map((e) => ({ name: e.name, pid: e.pid, ...ex.readiness(e) }));
    const ready = apps.length > 0 && apps.every((a) => a.ready);
    json(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready", reasons: apps.length === 0 ? ["no apps"] : [], apps });
    return;
  }
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m === null) continue;
    const h = r.methods[method];
    if (h === undefined) {
      const allow = Object.keys(r.methods).join(", ");
      throw new HttpError(405, `Method ${method} not allowed on ${path}: ${allow}`, { allow });
    }
    if (r.control?.includes(method) === true) await authorize(ctl, req, log);
    json(res, 200, await h({ ex, req, query, m: [...m] }));
    return;
  }
  throw new HttpError(404, `No route ${path}`);
}

/** The exporter's HTTP server (not yet listening); the control API is off unless `control.tokenFile` is set. */
export function createExporterServer(ex: Exporter, log: Logger = nullLogger, ctl: ControlOptions = {}): Server {
  return createServer((req, res) => {
    req.resume(); // bodies are not used
    handle(ex, ctl, log, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        json(res, err.status, { error: err.message, status: err.status }, err.headers);
        return;
      }
      log.err("request failed", { method: req.method, url: req.url, error: err });
      if (!res.headersSent) json(res, 500, { error: (err as Error)?.message ?? String(err), status: 500 });
      else res.end();
    });
  });
}

/** Parses `host:port`, `:port`, `port` or `[v6]:port`. Port 0 picks a free one. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s) ?? /^()()(\d+)$/.exec(s);
  if (m === null) throw new RangeError(`Invalid listen address '${s}': host:port, :port or [v6]:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`Invalid listen address '${s}': port ${port} > 65535`);
  const host = m[1] || m[2] || "0.0.0.0";
  return { host, port };
}

/** Listens; resolves with the bound address. */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
