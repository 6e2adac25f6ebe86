#!/usr/bin/env node
// Node's own http server over xdplane's user-space TCP/IP stack: main.js -c cnet.jsonc [--netns <ns>] [--port <n>]
import * as http from "node:http";
import { parseArgs } from "node:util";
import { LocalStack } from "xdplane";
import { createServer } from "xdplane/cnet";

const { values: args } = parseArgs({ options: { config: { type: "string", short: "c" }, netns: { type: "string" }, port: { type: "string" } } });
if (args.config === undefined) throw new Error("usage: main.js -c <cnet.jsonc> [--netns <ns>] [--port <n>]");
// The lports open on this thread; their netdevs' addresses come from Linux; the stack runs on the event loop.
const local = await LocalStack.open({ config: args.config, ...(args.netns !== undefined ? { netns: args.netns } : {}) });

const web = http.createServer((req, res) => res.end(`hello ${req.socket.remoteAddress}, this is Node's http over xdplane's stack\n`));
const server = createServer((sock) => web.emit("connection", sock)).listen(Number(args.port ?? 80), () =>
  console.log(JSON.stringify({ ready: true, addresses: local.tables.describe().addresses, port: server.address()?.port })));

process.once("SIGTERM", () => void local.close().then((report) => {
  console.log(JSON.stringify({ stopped: report, tcp: { passive_opens: local.stats().tcp_passive_opens } }));
  process.exitCode = report.faults.length > 0 ? 1 : 0;
}));
