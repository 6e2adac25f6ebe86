#!/usr/bin/env node
/**
 * A per-flow counter (worker.ts counts, flow-table.ts holds the flows) that publishes its top flows on
 * the app socket:
 *
 *   node dist/examples/flow-counter/main.js -c examples/flow-counter/flows.jsonc [--socket-dir <dir>] [--debug-frames]
 *   /flows/top,10   -> {"flows": [{"src": "10.0.0.1", "dst": ..., "sport", "dport", "proto", "packets", "bytes"}]}
 *   /flows/stats    -> {"flows": 3, "packets": 1200, "other": 4, "overflow": 0}
 *
 * `options.flows` sizes each thread's table (a power of two, default 65536).
 */
import { parseArgs } from "node:util";
import { Cnf } from "xdplane/cnf";
import { loadConfig, optionNumber } from "xdplane/config";
import { newFlowTable, flowTable, flows, type FlowTable } from "./flow-table.js";
import type { FlowData } from "./worker.js";

const { values: args } = parseArgs({
  options: { config: { type: "string", short: "c" }, "socket-dir": { type: "string" }, "debug-frames": { type: "boolean" } },
});
if (args.config === undefined) throw new Error("usage: main.js -c <config.jsonc> [--socket-dir <dir>] [--debug-frames]");
const { config, warnings } = loadConfig(args.config);
for (const w of warnings) console.error(w.text);
const slots = optionNumber(config, "flows", 65536)!;
const tables: FlowTable[] = [];
const others: Float64Array[] = [];

const app: Cnf = await Cnf.start({
  config,
  worker: new URL("./worker.js", import.meta.url),
  threadData: (): FlowData => {
    const data = { table: newFlowTable(slots), other: new SharedArrayBuffer(8) };
    tables.push(flowTable(data.table));
    others.push(new Float64Array(data.other));
    return data;
  },
  debugFrames: args["debug-frames"] ?? false,
  socket: args["socket-dir"] !== undefined ? { socketDir: args["socket-dir"] } : true,
  commands: {
    "/flows/top": ([n = "10"]) => {
      const top = Number(n);
      if (!Number.isInteger(top) || top < 1 || top > 100) throw new RangeError(`Invalid count '${n}': 1 to 100`);
      return { flows: flows(tables).slice(0, top) };
    },
    "/flows/stats": () => {
      const all = flows(tables);
      return { flows: all.length, packets: all.reduce((s, f) => s + f.packets, 0), other: others.reduce((s, o) => s + o[0]!, 0),
        overflow: tables.reduce((s, t) => s + t.stats[t.slots * 2]!, 0) };
    },
  },
  onStop: (report) => {
    console.log(JSON.stringify({ stopped: report }));
    process.exitCode = report.faults.length > 0 ? 1 : 0;
  },
});
console.log(JSON.stringify({ ready: true, app: app.name, socket: app.socket?.path ?? null, ports: app.ports.map((p) => p.name) }));
