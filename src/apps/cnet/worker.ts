/**
 * A cnet worker (a CNF worker module): builds the stack over its thread's ports, the shared tables and
 * its own ARP and ND tables, runs the built-in services, and at the end gives back every frame the
 * stack held.
 *
 * How the stack runs: with only `--udp-echo` (or no service) the thread busy-polls, walking the stack
 * and echoing from the UDP channel between walks (the idle manager blocks in poll() when nothing comes),
 * as every CNF worker. With a TCP, HTTP or iperf3 service the thread runs the stack on its event loop instead (a
 * {@link StackHost}: walks from setImmediate while there is work, sleeps up to 10 ms watching the ports'
 * fds when idle), because the services are Node streams and Node's http server, which run on the event
 * loop: the channels' callbacks then feed the sockets. The host checks `ctx.running()` once per turn, so
 * the thread stops (and pauses) as the busy-poll one does; UDP echo runs in the same turn hook.
 */
import * as http from "node:http";
import type { WorkerContext } from "../../cnf/worker.js";
import { NetTables, type NetTablesShared } from "../../cnet/tables.js";
import { ArpTable, type ArpTableShared } from "../../cnet/arp-table.js";
import { CnetCounters } from "../../cnet/counters.js";
import { NeighbourFeed } from "../../cnet/learn.js";
import type { StackPort } from "../../cnet/context.js";
import type { ArpTimers } from "../../cnet/nodes/arp.js";
import type { RingShared } from "../../ring/ring.js";
import { CnetStack } from "../../cnet/stack.js";
import { NdTable, type NdTableShared } from "../../cnet/ip6/nd-table.js";
import { TcpConnTable, type TcpConnTableShared } from "../../cnet/tcp/conn-table.js";
import { StackHost } from "../../cnet/stream/host.js";
import { CnetServer } from "../../cnet/stream/server.js";
import type { CnetSocket } from "../../cnet/stream/socket.js";
import { TapPort, type TapShared } from "../../pktdev/tap.js";
import type { ReasmOptions } from "../../cnet/frag/reasm.js";
import { Iperf3Server } from "./iperf3.js";

/** What the main thread gives each worker. */
export interface CnetThreadData {
  tables: NetTablesShared;
  arp: ArpTableShared;
  nd: NdTableShared;
  feed: RingShared;
  counters: SharedArrayBuffer;
  tcpTable: TcpConnTableShared;
  stackPorts: StackPort[];
  udpEcho: number | null;
  tcpEcho: number | null;
  tcpDiscard: number | null;
  http: number | null;
  /** An iperf3 server's port (iperf3.ts). */
  iperf3: number | null;
  timers: ArpTimers;
  /** The time in ms, kept current by the main thread (one Float64). */
  clock: SharedArrayBuffer;
  /** The punt TAP (src/cnet/punt.ts) when this thread serves the lport it stands for. */
  punt: { tap: TapShared; pid: number } | null;
  /** IPv4 reassembly options (src/cnet/frag/reasm.ts), null for the defaults. */
  reasm: ReasmOptions | null;
}

export async function run(ctx: WorkerContext<CnetThreadData>): Promise<void> {
  const d = ctx.data;
  const mp = ctx.mempool;
  if (mp === null) throw new Error(`cnet thread '${ctx.name}': its ports have no mempool`);
  const counters = CnetCounters.fromShared(d.counters);
  const punt = d.punt ? { tap: TapPort.fromShared(d.punt.tap, mp), pid: d.punt.pid } : null;
  const stack = CnetStack.create({
    ...(punt ? { punt } : {}),
    ...(d.reasm ? { reasm: d.reasm } : {}),
    ports: ctx.ports, mempool: mp, burst: ctx.burst, stackPorts: d.stackPorts, name: ctx.name.replace(/[^A-Za-z0-9_.:-]/g, "_"),
    tables: NetTables.fromShared(d.tables), arp: ArpTable.fromShared(d.arp), nd: NdTable.fromShared(d.nd), counters,
    feed: NeighbourFeed.fromShared(d.feed), timers: d.timers, clock: new Float64Array(d.clock), tcpTable: TcpConnTable.fromShared(d.tcpTable),
  });
  const ch = stack.chnl;
  const echo = d.udpEcho === null ? -1 : ch.open("udp");
  if (echo >= 0) ch.bind(echo, 0, d.udpEcho!);
  const bufs = new Uint32Array(ctx.burst);
  const udpEcho = (): number => {
    const k = ch.recvBurst(echo, bufs, bufs.length);
    if (k > 0) {
      const sent = ch.replyBurst(echo, bufs, k);
      if (sent < k) mp.freeBulk(bufs, k - sent, sent);
    }
    return k;
  };
  try {
    if (d.tcpEcho === null && d.tcpDiscard === null && d.http === null && d.iperf3 === null) {
      while (ctx.running()) {
        let got = stack.walk();
        if (echo >= 0) got += udpEcho();
        ctx.idle(got);
      }
      return;
    }
    await serve(ctx, stack, counters, echo >= 0 ? udpEcho : null, punt?.tap.pollFd() ?? -1);
  } finally {
    stack.close();
  }
}

/** The TCP/HTTP services on the thread's event loop, until the app stops. */
async function serve(ctx: WorkerContext<CnetThreadData>, stack: CnetStack, counters: CnetCounters, udpEcho: (() => number) | null, tapFd: number): Promise<void> {
  const d = ctx.data;
  const fds = [...ctx.ports.map((p) => p.pollFd()), tapFd].filter((fd) => fd >= 0);
  const host = StackHost.start(stack, {
    fds,
    onTurn: () => {
      if (udpEcho !== null) udpEcho();
      return ctx.running();
    },
  });
  let failed: Error | null = null;
  const servers: CnetServer[] = [];
  const listen = (port: number, what: string, onConn: (s: CnetSocket) => void) => {
    const srv = new CnetServer({ stackHost: host }, (s) => {
      s.on("error", () => {}); // a peer's reset ends that connection only (counted by the stack)
      onConn(s);
    });
    srv.on("error", (e: Error) => {
      failed = new Error(`cnet thread '${ctx.name}': ${what} on port ${port}: ${e.message}`);
      void host.stop();
    });
    srv.listen(port);
    servers.push(srv);
  };
  if (d.tcpEcho !== null) listen(d.tcpEcho, "--tcp-echo", (s) => s.pipe(s));
  if (d.tcpDiscard !== null) listen(d.tcpDiscard, "--tcp-discard", (s) => s.resume());
  if (d.http !== null) {
    const web = http.createServer((req, res) => page(ctx.name, stack, counters, req, res));
    web.on("clientError", (_e, sock) => sock.destroy());
    listen(d.http, "--http", (s) => web.emit("connection", s));
  }
  if (d.iperf3 !== null) {
    const iperf = new Iperf3Server();
    listen(d.iperf3, "--iperf3", (s) => iperf.connection(s));
  }
  await host.whenStopped();
  if (failed !== null) throw failed;
}

/** The --http page: the thread's counters (text, or JSON at /stats.json). */
function page(thread: string, stack: CnetStack, counters: CnetCounters, req: http.IncomingMessage, res: http.ServerResponse): void {
  const all = CnetCounters.sum([counters]);
  const conns = stack.chnl.list().filter((c) => c.proto === "tcp");
  if (req.url === "/stats.json") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ thread, counters: all, channels: conns }));
    return;
  }
  const lines = Object.entries(all).filter(([, v]) => v !== 0).map(([k, v]) => `${k.padEnd(28)} ${v}`);
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.end(`xdplane cnet: ${thread}, served by Node's http over the user-space stack\n\n` +
    `TCP channels open: ${conns.length}\n\nCounters (non-zero):\n${lines.join("\n")}\n`);
}
