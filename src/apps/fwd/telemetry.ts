/**
 * The forwarder as telemetry sees it (src/telemetry/model.ts): ports and threads read from the shared
 * counters the workers fill, thread start/stop through their control words, plus the forwarder's own
 * commands on the app socket (`/fwd/mode`, `/fwd/threads`, `/fwd/admin,<port>,<up|down>`).
 */
import type { AppModel, PortStats, ThreadInfo } from "../../telemetry/model.js";
import { lportStatsFrom } from "../../telemetry/model.js";
import { AppSocket } from "../../telemetry/app-socket.js";
import { STATE_RUN, TC_RX, TC_TX, TC_DROP, TC_IDLE_ENTRIES, TC_IDLE_MS, TC_LOOPS } from "../../runtime/control.js";
import type { FwdApp } from "./app.js";
import { NetlinkSocket } from "../../netlink/socket.js";
import { findLink } from "../../netlink/link.js";
import { withNetns } from "../../netlink/netns.js";

/**
 * Whether the port's netdev is up (operstate up or unknown), asked over rtnetlink in the namespace the
 * ports were opened in (sysfs may show another namespace). False when the netdev is gone; undefined
 * when it cannot be asked (EMFILE, ...): a resource error is not link state.
 */
export function linkUp(netdev: string | null, netns: string | undefined): boolean | undefined {
  if (!netdev) return undefined;
  const ask = (): boolean | undefined => {
    let nl: NetlinkSocket | null = null;
    try {
      nl = NetlinkSocket.open();
      const l = findLink(nl, netdev);
      if (l === undefined) return false;
      return l.operstate === undefined || l.operstate === OPER_UP || l.operstate === OPER_UNKNOWN;
    } catch {
      return undefined;
    } finally {
      nl?.close();
    }
  };
  try {
    return netns ? withNetns(netns, ask) : ask();
  } catch {
    return undefined;
  }
}

/** RFC 2863 operstates as IFLA_OPERSTATE gives them. */
const OPER_UNKNOWN = 0;
const OPER_UP = 6;

export function fwdModel(app: FwdApp): AppModel {
  const threadOf = (id: number) => {
    const t = app.threads[id];
    if (!t) throw new RangeError(`Unknown thread ${id}: 0 to ${app.threads.length - 1}`);
    return t;
  };
  return {
    name: app.config.application.name || "fwd",
    ports(): PortStats[] {
      return app.ports.map((p) => {
        const info = p.info();
        const lu = linkUp(info.netdev, app.netns);
        return {
          id: p.pid, name: p.name, netdev: info.netdev ?? "", qid: info.qid, pmd: p.driver,
          adminUp: p.isUp(), ...(lu !== undefined ? { linkUp: lu } : {}), stats: lportStatsFrom(p.readStats()),
        };
      });
    },
    threads(): ThreadInfo[] {
      return app.threads.map((t, id) => {
        const cfg = app.config.threads.get(t.name);
        const c = t.control.counters;
        return {
          id, name: t.name, group: cfg?.group ?? "", type: cfg?.type ?? "fwd", ports: [...(cfg?.lports ?? [])],
          running: t.control.state === STATE_RUN, lcores: t.cpus,
          counters: { rx: c[TC_RX]!, tx: c[TC_TX]!, drop: c[TC_DROP]!, loops: c[TC_LOOPS]!, idle_entries: c[TC_IDLE_ENTRIES]!, idle_ms: c[TC_IDLE_MS]! },
        };
      });
    },
    startThread(id: number): void {
      app.pause(threadOf(id).name, false);
    },
    stopThread(id: number): void {
      app.pause(threadOf(id).name, true);
    },
  };
}

/** Opens the app socket for a running forwarder and registers its commands. */
export function openFwdSocket(app: FwdApp, opts: { socketDir?: string; log?: (m: string) => void } = {}): AppSocket {
  const sock = AppSocket.open(fwdModel(app), { ...(opts.socketDir ? { socketDir: opts.socketDir } : {}) });
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
  return sock;
}
