#!/usr/bin/env node
// A per-flow counter (worker.ts): main.js -c flows.jsonc [--socket-dir <dir>] [--debug-frames]; `options.flows`
// sizes each thread's table. /flows/top,N and /flows/stats on the app socket; /metrics/app for the exporter.
import { parseArgs } from "node:util";
import { Cnf } from "xdplane/cnf";
import { loadConfig, optionNumber } from "xdplane/config";
import { FlowCounter, flowName, type Flow } from "xdplane/wire";

const { values: args } = parseArgs({
  options: { config: { type: "string", short: "c" }, "socket-dir": { type: "string" }, "debug-frames": { type: "boolean" } },
});
if (args.config === undefined) throw new Error("usage: main.js -c <config.jsonc> [--socket-dir <dir>] [--debug-frames]");
const { config, warnings } = loadConfig(args.config);
for (const w of warnings) console.error(w.text);
const slots = optionNumber(config, "flows", 65536)!;
const tables: FlowCounter[] = []; // one per thread
const TOP = 10; // flows published as metrics (a flow that leaves the top 10 leaves /metrics)

const app: Cnf = await Cnf.start({
  config,
  worker: new URL("./worker.js", import.meta.url),
  threadData: () => {
    const table = FlowCounter.create(slots);
    tables.push(table);
    return table.buffer; // the worker's ctx.data
  },
  debugFrames: args["debug-frames"] ?? false,
  socket: args["socket-dir"] !== undefined ? { socketDir: args["socket-dir"] } : true,
  commands: {
    "/flows/top": ([n = "10"]) => {
      const top = Number(n);
      if (!Number.isInteger(top) || top < 1 || top > 100) throw new RangeError(`Invalid count '${n}': 1 to 100`);
      return { flows: FlowCounter.flows(tables).slice(0, top) };
    },
    "/flows/stats": () => FlowCounter.totals(tables),
    // Asked by the exporter on every scrape, exported as xdplane_app_<name> (src/telemetry/README.md).
    "/metrics/app": () => {
      const all = FlowCounter.flows(tables);
      const perFlow = (v: (f: Flow) => number) => all.slice(0, TOP).map((f) => ({ labels: { flow: flowName(f) }, value: v(f) }));
      return { metrics: [
        { name: "flow_packets_total", type: "counter", help: `Packets of the top ${TOP} flows.`, samples: perFlow((f) => f.packets) },
        { name: "flow_bytes_total", type: "counter", help: `Bytes of the top ${TOP} flows.`, samples: perFlow((f) => f.bytes) },
        { name: "flows", type: "gauge", help: "Flows in the flow tables.", samples: [{ value: all.length }] },
      ] };
    },
  },
  onStop: (report) => { console.log(JSON.stringify({ stopped: report })); process.exitCode = report.faults.length > 0 ? 1 : 0; },
});
console.log(JSON.stringify({ ready: true, app: app.name, socket: app.socket?.path ?? null, ports: app.ports.map((p) => p.name) }));
