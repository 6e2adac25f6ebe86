#!/usr/bin/env node
// A VLAN bridge (worker.ts does the frames): port A untagged, port B tagged with `options.vid`.
// main.js -c bridge.jsonc [--socket-dir <dir>] [--debug-frames]; `/vlan/stats`: tagged, untagged, dropped.
import { parseArgs } from "node:util";
import { Cnf } from "xdplane/cnf";
import { loadConfig, optionNumber, configError } from "xdplane/config";
import type { BridgeData } from "./worker.js";

const { values: args } = parseArgs({
  options: { config: { type: "string", short: "c" }, "socket-dir": { type: "string" }, "debug-frames": { type: "boolean" } },
});
if (args.config === undefined) throw new Error("usage: main.js -c <config.jsonc> [--socket-dir <dir>] [--debug-frames]");
const { config, warnings } = loadConfig(args.config);
for (const w of warnings) console.error(w.text);
const vid = optionNumber(config, "vid");
if (vid === undefined || !Number.isInteger(vid) || vid < 1 || vid > 4094) throw configError(config, ["options", "vid"], "expected a VLAN id, 1 to 4094");
const counters = new Float64Array(new SharedArrayBuffer(3 * 8)); // tagged, untagged, dropped: shared with the worker

const app: Cnf = await Cnf.start({
  config,
  worker: new URL("./worker.js", import.meta.url),
  beforeStart: (_app, plan) => {
    if (plan.length !== 1 || plan[0]!.ports.length !== 2) throw new Error("vlan-bridge: one thread serving two lports, A (untagged) then B (tagged)");
  },
  threadData: (): BridgeData => ({ vid, counters }),
  debugFrames: args["debug-frames"] ?? false,
  socket: args["socket-dir"] !== undefined ? { socketDir: args["socket-dir"] } : true,
  commands: { "/vlan/stats": () => ({ vid, tagged: counters[0], untagged: counters[1], dropped: counters[2] }) },
  onStop: (report) => { console.log(JSON.stringify({ stopped: report })); process.exitCode = report.faults.length > 0 ? 1 : 0; },
});
console.log(JSON.stringify({ ready: true, app: app.name, socket: app.socket?.path ?? null, ports: app.ports.map((p) => p.name) }));
