/**
 * The stack on the app socket and in Prometheus (what `xdplane cnet` registers besides `/cnet/stats`,
 * `/cnet/interfaces`, `/cnet/addresses`, `/cnet/routes`, `/cnet/arp`):
 *
 * | command | reply |
 * | --- | --- |
 * | `/cnet/nd` | every thread's IPv6 neighbours: `{ "<thread>": [{ ip, mac, state, ifindex, ageMs, pending }] }` |
 * | `/cnet/tcp` | TCP connections and their states: `{ count, states: { ESTABLISHED: 2, ... }, connections: [{ thread, local, remote, state, sndNxt, sndUna, rcvNxt, sndWnd, rcvWnd, cwnd, ssthresh, srttMs, rtoMs, retransmits, bytesIn, bytesOut }] }` |
 * | `/metrics/app` | for the exporter: the counters as `xdplane_app_cnet_<protocol>_total{counter}` (`cnet_tcp_total{counter="passive_opens"}` is `tcp_passive_opens` summed over threads), connections per state as the gauge `xdplane_app_cnet_tcp_connections{state}` |
 *
 * The TCP table is a snapshot the workers write every 250 ms (src/cnet/tcp/conn-table.ts); counters are
 * read live from shared memory. Nothing here sends a message to a worker.
 */
import { COUNTER_NAMES, CnetCounters } from "../../cnet/counters.js";
import type { CommandHandler, Reply } from "../../telemetry/commands.js";
import type { CnetApp } from "./app.js";

/** The most connections `/cnet/tcp` lists (the count and per-state figures cover all). */
export const TCP_LIST_MAX = 256;

/** One TCP connection as `/cnet/tcp` shows it. */
export interface CnetTcpRow {
  thread: string;
  local: string;
  remote: string;
  state: string;
  sndNxt: number;
  sndUna: number;
  rcvNxt: number;
  sndWnd: number;
  rcvWnd: number;
  cwnd: number;
  ssthresh: number;
  srttMs: number;
  rtoMs: number;
  retransmits: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Every thread's TCP connections (listeners included, state "LISTEN").
 *
 * @example
 * for (const c of tcpConnections(app)) console.log(c.state, c.remote);
 */
export function tcpConnections(app: CnetApp): CnetTcpRow[] {
  const out: CnetTcpRow[] = [];
  for (const [thread, t] of app.tcpTables) {
    for (const c of t.list()) {
      out.push({
        thread, local: c.local, remote: c.remote, state: c.state,
        sndNxt: c.sndNxt, sndUna: c.sndUna, rcvNxt: c.rcvNxt, sndWnd: c.sndWnd, rcvWnd: c.rcvWnd, cwnd: c.cwnd, ssthresh: c.ssthresh,
        srttMs: c.srttMs, rtoMs: c.rtoMs, retransmits: c.retransmits, bytesIn: c.bytesIn, bytesOut: c.bytesOut,
      });
    }
  }
  return out;
}

/**
 * The `/metrics/app` reply (see telemetry/exporter.ts, `parseAppMetrics`).
 *
 * @example
 * const m = cnetMetrics(app); // { metrics: [{ name: "cnet_udp_total", type: "counter", samples: [{ labels: { counter: "rx" }, value: 3 }, ...] }, ...] }
 */
export function cnetMetrics(app: CnetApp): Reply {
  // One family per protocol (the counter name's prefix), the rest of the name as a label, summed over
  // the threads: about 7 KB for every counter, well under the socket's 16 KB reply.
  const sums = CnetCounters.sum([...app.threadCounters().values()]);
  const families = new Map<string, Reply[]>();
  for (const name of COUNTER_NAMES) {
    const at = name.indexOf("_");
    const proto = at > 0 ? name.slice(0, at) : name;
    let f = families.get(proto);
    if (f === undefined) families.set(proto, (f = []));
    f.push({ labels: { counter: at > 0 ? name.slice(at + 1) : name }, value: sums[name] });
  }
  const metrics: Reply[] = [...families].map(([proto, samples]) => ({ name: `cnet_${proto}_total`, type: "counter", help: `cnet ${proto} counters (src/cnet/counters.ts), summed over threads.`, samples }));
  const states = new Map<string, number>();
  for (const c of tcpConnections(app)) states.set(c.state, (states.get(c.state) ?? 0) + 1);
  metrics.push({
    name: "cnet_tcp_connections", type: "gauge", help: "TCP connections by state (listeners are LISTEN), from the workers' last snapshot.",
    samples: [...states].map(([state, value]) => ({ labels: { state }, value })),
  });
  return { metrics };
}

/**
 * The commands `xdplane cnet` adds (see the module comment).
 *
 * @example
 * const cmds = cnetCommands(app); // { "/cnet/nd": ..., "/cnet/tcp": ..., "/metrics/app": ... }
 */
export function cnetCommands(app: CnetApp): Record<string, CommandHandler> {
  return {
    "/cnet/nd": () => {
      const now = Date.now();
      return Object.fromEntries([...app.nds].map(([t, nd]) => [t, nd.entries(now)])) as Reply;
    },
    "/cnet/tcp": () => {
      const all = tcpConnections(app);
      const states: Record<string, number> = {};
      for (const c of all) states[c.state] = (states[c.state] ?? 0) + 1;
      return { count: all.length, states, connections: all.slice(0, TCP_LIST_MAX) as unknown as Reply[] };
    },
    "/metrics/app": () => cnetMetrics(app),
  };
}
