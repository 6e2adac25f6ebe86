/**
 * Node streams over the stack: the event-loop host that runs a stack on this thread
 * ({@link StackHost}), and the `net`-like face over its TCP channels ({@link createServer},
 * {@link connect}, {@link CnetSocket} a `stream.Duplex`, {@link CnetServer}).
 *
 * @example
 * import * as http from "node:http";
 * import { StackHost, createServer, type CnetStack } from "xdplane/cnet";
 * declare const stack: CnetStack; // over the thread's ports
 * const host = StackHost.start(stack);
 * const web = http.createServer((req, res) => res.end("hello\n"));
 * createServer((sock) => web.emit("connection", sock)).listen(80);
 */
export { StackHost, type StackHostOptions, type StackHostStats } from "./host.js";
export { CnetSocket, type CnetSocketOptions, type CnetConnectOptions } from "./socket.js";
export { CnetServer, type CnetServerOptions, type CnetListenOptions } from "./server.js";
export { createServer, connect, createConnection } from "./net.js";
export type { TcpChannelApi, StreamStack } from "./types.js";
