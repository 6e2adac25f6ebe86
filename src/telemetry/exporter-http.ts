/**
 * The exporter's HTTP side: Prometheus `/metrics`, `/healthz` (liveness), `/readyz` (readiness) and a REST
 * API mirroring the app command socket. Errors are JSON `{"error": "...", "status": N}` with proper
 * codes: 404 unknown app/port/thread/route, 405 wrong method (with `Allow`), 400 bad input, 409 an
 * ambiguous app name, 502 the app refused or failed, 503 the app is not connected.
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
 * | POST | /apps/{app}/threads/{thread\|all}/start, .../stop | start or stop threads |
 * | GET | /apps/{app}/commands | the app's socket commands |
 * | GET, POST | /apps/{app}/commands/{path...}?params=a,b | run any socket command, e.g. /apps/fwd/commands/fwd/mode |
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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

type Handler = (ctx: { ex: Exporter; req: IncomingMessage; url: URL; m: string[] }) => Promise<unknown> | unknown;

interface Route {
  re: RegExp;
  methods: Record<string, Handler>;
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
  const name = decodeURIComponent(seg);
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
  const id = decodeURIComponent(seg);
  if (!THREAD_ID_RE.test(id)) throw new HttpError(400, `Invalid thread '${id}': 1-48 letters, digits or '_.:-'`);
  return id;
}

function paramsOf(url: URL): string[] {
  const out: string[] = [];
  for (const v of url.searchParams.getAll("params")) out.push(...v.split(","));
  out.push(...url.searchParams.getAll("param"));
  for (const p of out) if (!PARAM_RE.test(p)) throw new HttpError(400, `Invalid parameter '${p}': 1-200 characters, no ','`);
  const bad = [...url.searchParams.keys()].filter((k) => k !== "params" && k !== "param");
  if (bad.length > 0) throw new HttpError(400, `Unknown query parameter '${bad[0]}': use params=a,b`);
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
          const name = decodeURIComponent(m[2]!);
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
    methods: {
      POST: async ({ ex, m }) => {
        const e = appOf(ex, m[1]!);
        const id = threadParam(m[2]!);
        const action = decodeURIComponent(m[3]!);
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
    methods: {
      GET: ({ ex, m, url }) => runCommand(ex, m, url),
      POST: ({ ex, m, url }) => runCommand(ex, m, url),
    },
  },
];

async function runCommand(ex: Exporter, m: string[], url: URL): Promise<unknown> {
  const e = appOf(ex, m[1]!);
  const cmd = decodeURIComponent(m[2]!);
  const params = paramsOf(url);
  return live(e, async (c) => {
    const cmds = await c.commands();
    const known = cmds.find((x) => x.toLowerCase() === cmd.toLowerCase());
    if (known === undefined) throw new HttpError(404, `App '${e.name}' has no command '${cmd}'`);
    return c.command(known, params);
  });
}

async function handle(ex: Exporter, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://exporter");
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
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
    json(res, 200, await h({ ex, req, url, m: [...m] }));
    return;
  }
  throw new HttpError(404, `No route ${path}`);
}

/** The exporter's HTTP server (not yet listening). */
export function createExporterServer(ex: Exporter, log: Logger = nullLogger): Server {
  return createServer((req, res) => {
    req.resume(); // bodies are not used
    handle(ex, req, res).catch((err: unknown) => {
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
