/**
 * The `net`-like face of the stack: {@link createServer} and {@link connect} (alias
 * {@link createConnection}), as `node:net`'s, over the stack host running on this thread (or the one
 * given as `host`).
 *
 * @example
 * import * as http from "node:http";
 * import { createServer } from "xdplane/cnet";
 * const web = http.createServer((req, res) => res.end("hello over cnet\n"));
 * createServer((sock) => web.emit("connection", sock)).listen(80);
 */
import { CnetServer, type CnetServerOptions } from "./server.js";
import { CnetSocket, type CnetConnectOptions, type CnetSocketOptions } from "./socket.js";

/**
 * A TCP server on the stack (`net.createServer`): `createServer(onConnection)` or
 * `createServer(options, onConnection)`.
 *
 * @example
 * import { createServer } from "xdplane/cnet";
 * createServer((sock) => sock.pipe(sock)).listen(7);
 */
export function createServer(opts?: CnetServerOptions | ((sock: CnetSocket) => void), onConnection?: (sock: CnetSocket) => void): CnetServer {
  if (typeof opts === "function") return new CnetServer({}, opts);
  return new CnetServer(opts ?? {}, onConnection);
}

/**
 * Opens a TCP connection over the stack (`net.connect`): `connect(port, host, cb?)` or
 * `connect({ port, host, noDelay, stackHost, ... }, cb?)`.
 *
 * @example
 * import { connect } from "xdplane/cnet";
 * const s = connect(80, "10.0.0.2", () => s.write("GET / HTTP/1.0\r\n\r\n"));
 */
export function connect(port: number | (CnetConnectOptions & CnetSocketOptions), host?: string | (() => void), cb?: () => void): CnetSocket {
  if (typeof port === "object") {
    const { stackHost, allowHalfOpen, readableHighWaterMark, writableHighWaterMark, ...co } = port;
    const so: CnetSocketOptions = {
      ...(stackHost !== undefined ? { stackHost } : {}),
      ...(allowHalfOpen !== undefined ? { allowHalfOpen } : {}),
      ...(readableHighWaterMark !== undefined ? { readableHighWaterMark } : {}),
      ...(writableHighWaterMark !== undefined ? { writableHighWaterMark } : {}),
    };
    return new CnetSocket(so).connect(co, typeof host === "function" ? host : cb);
  }
  return new CnetSocket().connect(port, host, cb);
}

/**
 * `net.createConnection`: the same as {@link connect}.
 *
 * @example
 * import { createConnection } from "xdplane/cnet";
 * const s = createConnection(7, "10.0.0.2");
 */
export const createConnection = connect;
