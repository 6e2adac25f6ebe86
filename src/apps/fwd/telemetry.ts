/**
 * The forwarder as telemetry sees it (src/telemetry/model.ts): ports and threads read from the shared
 * counters the workers fill, thread start/stop through their control words, plus the forwarder's own
 * commands on the app socket:
 *
 * | command | mode | reply |
 * | --- | --- | --- |
 * | `/fwd/mode`, `/fwd/threads`, `/fwd/admin,<port>,<up\|down>` | all | |
 * | `/l3fwd/route/add,<ip>/<depth>,<MAC>,<tx port>` | l3fwd | `{"route": "10.0.0.0/8", "mac": ..., "port": 1, "replaced": false}` |
 * | `/l3fwd/route/del,<ip>/<depth>` | l3fwd | `{"deleted": "10.0.0.0/8"}` |
 * | `/l3fwd/routes[,<page>]` | l3fwd | `{"count": 2, "page": 0, "pages": 1, "routes": [{"prefix", "mac", "port"}]}` |
 * | `/l3fwd/fastpath` | l3fwd --xdp-fastpath | the XDP program's state and counters |
 * | `/acl/add,<src>/<m>:<dst>/<m>:<allow\|deny>`, `/acl/clear`, `/acl/build`, `/acl/rules[,p:<page>\|r:<rule>]` | acl-* | cndpfwd's |
 *
 * The modes' per-port counters are added to `/metrics/port_stats` (cndpfwd's `<port>_n_acl_permit_packets`
 * and the like: the exporter publishes them as `xdplane_port_acl_permit_packets_total`), and summed per
 * thread in `/metrics/thread_stats` (`xdplane stats` shows them).
 */
import type { AppModel, ThreadInfo } from "../../telemetry/model.js";
import { LPORT_STATS } from "../../telemetry/model.js";
import { AppSocket } from "../../telemetry/app-socket.js";
import type { Reply } from "../../telemetry/commands.js";
import { cnfModel } from "../../cnf/model.js";
import { parseFibRule } from "../../lookup/fib/rules.js";
import { parsePrefix4 } from "../../lookup/addr.js";
import { ACL_RULE_SYNTAX } from "./acl-rules.js";
import { MC_WORDS, modeThreadCounterNames } from "./mode-counters.js";
import type { FwdApp } from "./app.js";

/** Routes per page of `/l3fwd/routes` (a reply stays well under CNDP's 16 KB). */
export const ROUTES_PER_PAGE = 64;

/** The forwarder's telemetry model: the framework's (ports, threads, pause/resume), threads with the mode's counters. */
export function fwdModel(app: FwdApp): AppModel {
  const cnf = app.framework;
  if (cnf === null) throw new Error("The forwarder is not running: start it before opening its socket");
  const base = cnfModel(cnf);
  const names = modeThreadCounterNames(app.modeId);
  if (names.length === 0) return base;
  return {
    name: base.name,
    ports: () => base.ports(),
    threads(): ThreadInfo[] {
      const index = new Map(app.ports.map((p, i) => [p.name, i]));
      return base.threads().map((t) => {
        const sums = names.map(() => 0);
        for (const name of t.ports) {
          const i = index.get(name);
          if (i !== undefined) names.forEach((_, k) => { sums[k]! += app.modeCounters[i * MC_WORDS + k]!; });
        }
        const extra: Record<string, number> = {};
        names.forEach((n, k) => { extra[n] = sums[k]!; });
        return { ...t, counters: { ...(t.counters ?? {}), ...extra } };
      });
    },
    startThread: (id) => base.startThread(id),
    stopThread: (id) => base.stopThread(id),
  };
}

/** Opens the app socket for a running forwarder and registers its commands. */
export function openFwdSocket(app: FwdApp, opts: { socketDir?: string; log?: (m: string) => void } = {}): AppSocket {
  const model = fwdModel(app);
  const sock = AppSocket.open(model, { ...(opts.socketDir ? { socketDir: opts.socketDir } : {}) });
  try {
    registerFwdCommands(sock, app, model);
  } catch (e) {
    sock.close();
    throw e;
  }
  return sock;
}

/** Registers the forwarder's commands (and its mode's) on a socket. */
export function registerFwdCommands(sock: AppSocket, app: FwdApp, model: AppModel): void {
  sock.registerCommand("/fwd/mode", () => ({ mode: app.mode }));
  sock.registerCommand("/fwd/threads", () => ({ threads: app.threadStats().map((t) => ({ ...t })) }));
  sock.registerCommand("/fwd/admin", (params) => {
    const [name, state] = params;
    const port = app.ports.find((p) => p.name === name || String(p.pid) === name);
    if (!port) return { error: `unknown port '${name ?? ""}'` };
    if (state !== "up" && state !== "down") return { error: `expected up or down, got '${state ?? ""}'` };
    port.setAdmin(state === "up");
    return { port: port.name, adminUp: port.isUp() };
  });
  if (app.routes !== null) registerL3fwd(sock, app);
  if (app.aclRules !== null) registerAcl(sock, app);
  if (Object.keys(app.portModeCounters(0)).length > 0) {
    // cndpfwd's /metrics/port_stats plus the mode's per-port counters.
    sock.unregisterCommand("/metrics/port_stats");
    sock.registerCommand("/metrics/port_stats", () => {
      const out: Reply = {};
      model.ports().forEach((p, i) => {
        for (const m of LPORT_STATS) {
          const v = p.stats[m.field];
          if (v !== undefined) out[`${p.name}_${m.uds}`] = v;
        }
        for (const [k, v] of Object.entries(app.portModeCounters(i))) out[`${p.name}_${k}`] = v;
      });
      return out;
    }, "Port counters, CNDP's keys (<port>_n_rx_packets, ...) and the mode's (<port>_n_acl_permit_packets, ...).");
  }
}

function registerL3fwd(sock: AppSocket, app: FwdApp): void {
  const routes = app.routes!;
  sock.registerCommand("/l3fwd/route/add", (params) => {
    // The rule has commas of its own: the socket split it into parameters.
    const text = params.join(",");
    if (text === "") throw new Error("Command expects parameter: <ip>/<depth>,<next-hop MAC>,<tx lport index>");
    const rule = parseFibRule(text);
    const r = routes.add(rule);
    const e = routes.get(rule.ip, rule.depth)!;
    return { route: e.prefix, mac: e.mac, port: e.port, replaced: r.replaced };
  }, "Add or replace a route: /l3fwd/route/add,<ip>/<depth>,<next-hop MAC>,<tx lport index>.");
  sock.registerCommand("/l3fwd/route/del", (params) => {
    if (params.length !== 1) throw new Error("Command expects parameter: <ip>/<depth>");
    const { ip, depth } = parsePrefix4(params[0]!);
    const e = routes.get(ip, depth);
    if (!e || !routes.delete(ip, depth)) throw new Error(`No route ${params[0]}`);
    return { deleted: e.prefix };
  }, "Delete a route: /l3fwd/route/del,<ip>/<depth>.");
  sock.registerCommand("/l3fwd/routes", (params) => {
    const all = routes.list();
    const pages = Math.ceil(all.length / ROUTES_PER_PAGE);
    const p = params[0] ?? "0";
    if (!/^[0-9]+$/.test(p) || (Number(p) >= pages && !(pages === 0 && p === "0"))) throw new Error(`Wrong page number '${p}': 0 to ${Math.max(0, pages - 1)}`);
    const page = Number(p);
    return {
      count: all.length, page, pages, "routes per page": ROUTES_PER_PAGE,
      routes: all.slice(page * ROUTES_PER_PAGE, (page + 1) * ROUTES_PER_PAGE).map((r) => ({ prefix: r.prefix, mac: r.mac, port: r.port })),
    };
  }, "The routes, 64 a page: /l3fwd/routes[,<page>].");
  sock.registerCommand("/l3fwd/fastpath", () => {
    const fp = app.fastPath;
    if (fp === null) return { attached: false, ...(app.fastPathFinal ? { counters: app.fastPathFinal } : {}) };
    return { attached: true, netdevs: fp.netdevs, counters: fp.counters() };
  }, "The XDP fast path (--xdp-fastpath): where it runs and its counters (frames by what it did with them).");
  if (app.fastPath !== null) {
    // Prometheus (the exporter asks /metrics/app): xdplane_app_l3fwd_fastpath_packets_total{reason}, bytes.
    sock.registerCommand("/metrics/app", () => {
      const fp = app.fastPath;
      if (fp === null) return { metrics: [] };
      const c = fp.counters();
      const snake = (k: string) => k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
      const reasons = Object.entries(c).filter(([k]) => k !== "forwardedBytes" && k !== "toUser" && k !== "toUserBytes");
      return {
        metrics: [
          {
            name: "l3fwd_fastpath_packets_total", type: "counter",
            help: "Frames the l3fwd XDP fast path saw, by what it did: forwarded in the kernel, or the reason it sent them to user space.",
            samples: reasons.map(([k, v]) => ({ labels: { reason: snake(k) }, value: v })),
          },
          { name: "l3fwd_fastpath_forwarded_bytes_total", type: "counter", help: "Bytes the l3fwd XDP fast path forwarded.", samples: [{ value: c.forwardedBytes }] },
          { name: "l3fwd_fastpath_to_user_packets_total", type: "counter", help: "Frames the l3fwd XDP fast path handed to the AF_XDP sockets.", samples: [{ value: c.toUser }] },
          { name: "l3fwd_fastpath_to_user_bytes_total", type: "counter", help: "Bytes the l3fwd XDP fast path handed to the AF_XDP sockets.", samples: [{ value: c.toUserBytes }] },
        ],
      };
    }, "App-defined metrics for the exporter: the XDP fast path's counters.");
  }
}

function registerAcl(sock: AppSocket, app: FwdApp): void {
  const table = app.aclRules!;
  sock.registerCommand("/acl/add", (params) => {
    if (params.length !== 1) throw new Error(`Command expects parameter: ${ACL_RULE_SYNTAX}`);
    try {
      table.add(params[0]!);
    } catch (e) {
      throw new Error(`Command expects parameter: ${ACL_RULE_SYNTAX} (${(e as Error).message})`);
    }
    return { "num rules": table.length };
  }, `Add an ACL rule (takes effect at /acl/build): /acl/add,${ACL_RULE_SYNTAX}.`);
  sock.registerCommand("/acl/clear", () => {
    table.clear();
    return { "num rules": 0 };
  }, "Empty the rule list (the workers keep the last build until /acl/build).");
  sock.registerCommand("/acl/build", () => ({ "built rules": app.buildAcl() }), "Build the rule list and hand it to the workers.");
  sock.registerCommand("/acl/rules", (params) => {
    if (params.length === 0) return { ...table.info(), "built rules": app.aclBuiltRules };
    return table.read(params[0]!);
  }, "Rule list info, or /acl/rules,p:<page> (32 rules), /acl/rules,r:<rule>.");
}
