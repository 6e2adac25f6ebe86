#!/usr/bin/env node
/**
 * The UDP echo responder (../udp-echo/worker.ts) as an unprivileged Kubernetes pod: the ports come from
 * the AF_XDP device plugin's environment (`AFXDP_DEVICES_<POOL>`, one lport per netdev) and each lport's
 * XSKMAP fd from the plugin's Unix socket (`/tmp/afxdp_dp/<netdev>/afxdp.sock`, `uds_path`), so it runs
 * with CAP_NET_RAW and CAP_IPC_LOCK only: no program is loaded, nothing is attached.
 *
 *   AFXDP_DEVICES_POOL1=eth0 node dist/examples/pod-echo/main.js [--socket-dir /var/run/cndp] [--root <dir>]
 *
 * `--root` looks for the container paths under a folder (tests). JSON lines as udp-echo's main prints.
 */
import { parseArgs } from "node:util";
import { configFromEnv } from "xdplane";
import { parseConfig } from "xdplane/config";
import { Cnf } from "xdplane/cnf";

const { values: args } = parseArgs({
  options: { root: { type: "string" }, "socket-dir": { type: "string" }, "debug-frames": { type: "boolean" } },
});
// The same jsonc `xdplane config from-env` writes: an lport with uds_path per device, a thread per lport.
const { text, devices } = configFromEnv(args.root !== undefined ? { root: args.root } : {});
const { config } = parseConfig(text, "from-env.jsonc");

const app: Cnf = await Cnf.start({
  config,
  name: "pod-echo",
  worker: new URL("../udp-echo/worker.js", import.meta.url),
  debugFrames: args["debug-frames"] ?? false,
  socket: args["socket-dir"] !== undefined ? { socketDir: args["socket-dir"] } : true,
  commands: { "/echo/stats": () => ({ threads: app.threadStats() }) },
  onStop: (report) => {
    console.log(JSON.stringify({ stopped: report }));
    process.exitCode = report.faults.length > 0 ? 1 : 0;
  },
});
console.log(JSON.stringify({
  ready: true, app: app.name, socket: app.socket?.path ?? null, ports: app.ports.map((p) => p.name),
  devices: devices.map((d) => ({ netdev: d.netdev, env: d.env, udsPath: d.udsPath ?? null })),
}));
