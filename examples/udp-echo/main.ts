#!/usr/bin/env node
// A UDP echo responder (worker.ts does the packets): main.js -c echo.jsonc [--socket-dir <dir>] [--debug-frames].
// Prints {"ready": ...}, then {"stopped": <stop report>} after SIGTERM/SIGINT; exits 1 when it names a fault.
import { parseArgs } from "node:util";
import { Cnf } from "xdplane/cnf";

const { values: args } = parseArgs({
  options: { config: { type: "string", short: "c" }, "socket-dir": { type: "string" }, "debug-frames": { type: "boolean" } },
});
if (args.config === undefined) throw new Error("usage: main.js -c <config.jsonc> [--socket-dir <dir>] [--debug-frames]");

const app: Cnf = await Cnf.start({
  config: args.config,
  worker: new URL("./worker.js", import.meta.url),
  debugFrames: args["debug-frames"] ?? false,
  socket: args["socket-dir"] !== undefined ? { socketDir: args["socket-dir"] } : true,
  // Our own command beside CNDP's built-in ones: `/echo/stats` answers every thread's counters.
  commands: { "/echo/stats": () => ({ threads: app.threadStats() }) },
  onStop: (report) => { console.log(JSON.stringify({ stopped: report })); process.exitCode = report.faults.length > 0 ? 1 : 0; },
});
console.log(JSON.stringify({ ready: true, app: app.name, socket: app.socket?.path ?? null, ports: app.ports.map((p) => p.name) }));
