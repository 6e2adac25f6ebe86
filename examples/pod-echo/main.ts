#!/usr/bin/env node
// udp-echo's worker in an unprivileged pod: ports from AFXDP_DEVICES_<POOL>, XSKMAP fds from the device plugin.
// AFXDP_DEVICES_POOL1=eth0 main.js [--socket-dir <dir>] [--root <dir>: container paths under it, for tests]
import { parseArgs } from "node:util";
import { configFromEnv } from "xdplane";
import { parseConfig } from "xdplane/config";
import { Cnf } from "xdplane/cnf";

const { values: args } = parseArgs({
  options: { root: { type: "string" }, "socket-dir": { type: "string" }, "debug-frames": { type: "boolean" } },
});
// What `xdplane config from-env` writes: an lport with uds_path per device, a thread per lport.
const { text, devices } = configFromEnv(args.root !== undefined ? { root: args.root } : {});
const { config } = parseConfig(text, "from-env.jsonc");

const app: Cnf = await Cnf.start({
  config,
  name: "pod-echo",
  worker: new URL("../udp-echo/worker.js", import.meta.url),
  debugFrames: args["debug-frames"] ?? false,
  socket: args["socket-dir"] !== undefined ? { socketDir: args["socket-dir"] } : true,
  commands: { "/echo/stats": () => ({ threads: app.threadStats() }) },
  onStop: (report) => { console.log(JSON.stringify({ stopped: report })); process.exitCode = report.faults.length > 0 ? 1 : 0; },
});
console.log(JSON.stringify({
  ready: true, app: app.name, socket: app.socket?.path ?? null, ports: app.ports.map((p) => p.name),
  devices: devices.map((d) => ({ netdev: d.netdev, env: d.env, udsPath: d.udsPath ?? null })),
}));
