/**
 * A cnet worker (a CNF worker module): builds the stack over its thread's ports, the shared tables and
 * its own ARP table, runs the built-in services (UDP echo) on channels between walks, and at the end
 * gives back every frame the stack held.
 */
import type { WorkerContext } from "../../cnf/worker.js";
import { NetTables, type NetTablesShared } from "../../cnet/tables.js";
import { ArpTable, type ArpTableShared } from "../../cnet/arp-table.js";
import { CnetCounters } from "../../cnet/counters.js";
import { NeighbourFeed } from "../../cnet/learn.js";
import type { StackPort } from "../../cnet/context.js";
import type { ArpTimers } from "../../cnet/nodes/arp.js";
import type { RingShared } from "../../ring/ring.js";
import { CnetStack } from "../../cnet/stack.js";

/** What the main thread gives each worker. */
export interface CnetThreadData {
  tables: NetTablesShared;
  arp: ArpTableShared;
  feed: RingShared;
  counters: SharedArrayBuffer;
  stackPorts: StackPort[];
  udpEcho: number | null;
  timers: ArpTimers;
  /** The time in ms, kept current by the main thread (one Float64). */
  clock: SharedArrayBuffer;
}

export function run(ctx: WorkerContext<CnetThreadData>): void {
  const d = ctx.data;
  const mp = ctx.mempool;
  if (mp === null) throw new Error(`cnet thread '${ctx.name}': its ports have no mempool`);
  const stack = CnetStack.create({
    ports: ctx.ports, mempool: mp, burst: ctx.burst, stackPorts: d.stackPorts, name: ctx.name.replace(/[^A-Za-z0-9_.:-]/g, "_"),
    tables: NetTables.fromShared(d.tables), arp: ArpTable.fromShared(d.arp), counters: CnetCounters.fromShared(d.counters),
    feed: NeighbourFeed.fromShared(d.feed), timers: d.timers, clock: new Float64Array(d.clock),
  });
  const ch = stack.chnl;
  const echo = d.udpEcho === null ? -1 : ch.open("udp");
  if (echo >= 0) ch.bind(echo, 0, d.udpEcho!);
  const bufs = new Uint32Array(ctx.burst);
  try {
    while (ctx.running()) {
      let got = stack.walk();
      if (echo >= 0) {
        const k = ch.recvBurst(echo, bufs, bufs.length);
        if (k > 0) {
          const sent = ch.replyBurst(echo, bufs, k);
          if (sent < k) mp.freeBulk(bufs, k - sent, sent);
          got += k;
        }
      }
      ctx.idle(got);
    }
  } finally {
    stack.close();
  }
}
