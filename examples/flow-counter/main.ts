#!/usr/bin/env node
/**
 * A per-flow counter (worker.ts counts, flow-table.ts holds the flows) that publishes its top flows on
 * the app socket and, through `xdplane exporter`, as Prometheus metrics:
 *
 *   node dist/examples/flow-counter/main.js -c examples/flow-counter/flows.jsonc [--socket-dir <dir>] [--debug-frames]
 *   /flows/top,10   -> {"flows": [{"src": "10.0.0.1", "dst": ..., "sport", "dport", "proto", "packets", "bytes"}]}
 *   /flows/stats    -> {"flows": 3, "packets": 1200, "other": 4, "overflow": 0}
 *   /metrics/app    -> the exporter's app-defined metrics (src/telemetry/README.md): packets and bytes of
 *                      the top 10 flows, labelled `flow="10.0.0.1:1000->10.0.0.2:53/udp"`, as
 *                      xdplane_app_flow_{packets,bytes}_total, and xdplane_app_flows (flows in the tables)
 *
 * A flow that falls out of the top 10 leaves /metrics (its series vanish; PromQL rate() copes).
 *
 * `options.flows` sizes each thread's table (a power of two, default 65536).
 */
import { parseArgs } from "node:util";
import { Cnf } from "xdplane/cnf";
import { loadConfig, optionNumber } from "xdplane/config";
import { newFlowTable, flowTable, flows, type Flow, type FlowTable } from "./flow-table.js";
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
const TOP_METRICS = 10;
const PROTOS: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp" };

/** The `flow` label: `10.0.0.1:1000->10.0.0.2:53/udp` (`10.0.0.1->10.0.0.2/icmp` without ports). */
const flowLabel = (f: Flow) => {
  const proto = PROTOS[f.proto] ?? String(f.proto);
  return f.proto === 6 || f.proto === 17 ? `${f.src}:${f.sport}->${f.dst}:${f.dport}/${proto}` : `${f.src}->${f.dst}/${proto}`;
};

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
    // Asked by the exporter on every scrape; exported as xdplane_app_<name> with the labels app and pid.
    "/metrics/app": () => {
      const all = flows(tables);
      const top = all.slice(0, TOP_METRICS);
      const perFlow = (value: (f: Flow) => number) => top.map((f) => ({ labels: { flow: flowLabel(f) }, value: value(f) }));
      return {
        metrics: [
          { name: "flow_packets_total", type: "counter", help: `Packets of the top ${TOP_METRICS} flows.`, samples: perFlow((f) => f.packets) },
          { name: "flow_bytes_total", type: "counter", help: `Bytes of the top ${TOP_METRICS} flows.`, samples: perFlow((f) => f.bytes) },
          { name: "flows", type: "gauge", help: "Flows in the flow tables.", samples: [{ value: all.length }] },
        ],
      };
    },
  },
  onStop: (report) => {
    console.log(JSON.stringify({ stopped: report }));
    process.exitCode = report.faults.length > 0 ? 1 : 0;
  },
});
console.log(JSON.stringify({ ready: true, app: app.name, socket: app.socket?.path ?? null, ports: app.ports.map((p) => p.name) }));
