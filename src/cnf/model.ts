/**
 * A CNF as telemetry sees it (telemetry/model.ts): ports and threads read from the shared counters the
 * workers fill, thread pause/resume through their control words. The app socket answers CNDP's built-in
 * commands from it, so `xdplane stats` and the Prometheus exporter work for every CNF.
 */
import type { AppModel, PortStats, ThreadInfo } from "../telemetry/model.js";
import { lportStatsFrom } from "../telemetry/model.js";
import { STATE_RUN, TC_RX, TC_TX, TC_DROP, TC_IDLE_ENTRIES, TC_IDLE_MS, TC_LOOPS } from "../runtime/control.js";
import { NetlinkSocket } from "../netlink/socket.js";
import { findLink } from "../netlink/link.js";
import { withNetns } from "../netlink/netns.js";
import type { Cnf } from "./cnf.js";

/** RFC 2863 operstates as IFLA_OPERSTATE gives them. */
const OPER_UNKNOWN = 0;
const OPER_UP = 6;

/**
 * Whether a netdev is up (operstate up or unknown), asked over rtnetlink in `netns` (sysfs may show
 * another namespace). False when the netdev is gone; undefined when it cannot be asked (EMFILE, ...).
 *
 * @example
 * linkUp("eth0", undefined); // true, false or undefined
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

/**
 * The telemetry model of a running CNF (what {@link Cnf.start} gives its app socket).
 *
 * @example
 * const app = await Cnf.start({ config: "echo.jsonc", worker: new URL("./worker.js", import.meta.url) });
 * const sock = AppSocket.open(cnfModel(app), { socketDir: "/tmp/cndp" }); // a second socket, elsewhere
 */
export function cnfModel(app: Cnf): AppModel {
  const threadOf = (id: number) => {
    const t = app.threads[id];
    if (!t) throw new RangeError(`Unknown thread ${id}: 0 to ${app.threads.length - 1}`);
    return t;
  };
  return {
    name: app.name,
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
          id, name: t.name, group: cfg?.group ?? "", type: cfg?.type ?? app.name, ports: [...(cfg?.lports ?? [])],
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
