/**
 * telemetry: the app command socket (CNDP-compatible), its client, the Prometheus exporter with health,
 * readiness and a REST API, and structured logging.
 *
 * @module
 */
export type { AppModel, PortStats, ThreadInfo, LportStats, LportStatName } from "./model.js";
export type { CommandHandler, CommandContext, Reply } from "./commands.js";
export type { AppSocketOptions } from "./app-socket.js";
export type { AppSnapshot, PortView, ThreadView, AppInfo } from "./app-client.js";
export type { ExporterOptions, AppEntry, Readiness } from "./exporter.js";
export type { LogLevelName, LoggerOptions } from "./log.js";
/**
 * CNDP's port counters (names, help, UDS keys) as the exporter publishes them.
 *
 * @example
 * for (const m of LPORT_STATS) console.log(m.field);
 */
export { LPORT_STATS } from "./model.js";
/**
 * Whether a port counts as up: admin up and link up (or unknown).
 *
 * @example
 * portUp({ adminUp: true }); // true
 */
export { portUp } from "./model.js";
/**
 * Port counters from `port.readStats()` under CNDP's names.
 *
 * @example
 * const stats = lportStatsFrom(port.readStats());
 */
export { lportStatsFrom } from "./model.js";
/**
 * Commands by path, with CNDP's limits.
 *
 * @example
 * const reg = new CommandRegistry({ info: () => ({ version: "echo 1.0", pid: process.pid }) });
 * reg.register("/echo/stats", () => ({ rx: 1 }), "the echo counters");
 */
export { CommandRegistry } from "./commands.js";
/**
 * CNDP's command and reply length limits.
 *
 * @example
 * const cmd = "/echo/stats";
 * if (cmd.length > UDS_MAX_CMD_LEN) throw new RangeError("too long");
 */
export { UDS_MAX_CMD_LEN, UDS_MAX_OUTPUT_LEN } from "./commands.js";
/**
 * An app's CNDP command socket (`/var/run/cndp/app_socket.<pid>`): built-ins from an AppModel plus the app's commands.
 *
 * @example
 * const sock = AppSocket.open(model, { socketDir: "/var/run/cndp" });
 * sock.registerCommand("/echo/stats", () => ({ rx: 1 }));
 * sock.close();
 */
export { AppSocket } from "./app-socket.js";
/**
 * The socket path of a process's app socket.
 *
 * @example
 * appSocketPath("/var/run/cndp", 1234); // "/var/run/cndp/app_socket.1234"
 * appSocketPath(); // this process's, in DEFAULT_SOCKET_DIR
 */
export { appSocketPath, DEFAULT_SOCKET_DIR, APP_SOCKET_PREFIX } from "./app-socket.js";
/**
 * A client of an app socket (xdplane's or CNDP's).
 *
 * @example
 * const c = await AppClient.connect("/var/run/cndp/app_socket.1234");
 * console.log(await c.command("/echo/stats"));
 * c.close();
 */
export { AppClient } from "./app-client.js";
/**
 * Errors of {@link AppClient}: a command the app refused, a connection lost or timed out.
 *
 * @example
 * const c = await AppClient.connect("/var/run/cndp/app_socket.1234");
 * try {
 *   await c.command("/x");
 * } catch (e) {
 *   if (e instanceof AppCommandError) console.error(`${e.command}: ${e.message}`); // the app refused
 *   else if (e instanceof AppConnectionError) console.error(`${e.code}: ${e.message}`); // ECLOSED, ETIMEDOUT
 *   else throw e;
 * }
 */
export { AppCommandError, AppConnectionError } from "./app-client.js";
/**
 * The Prometheus exporter: finds app sockets in a folder and publishes their ports and threads.
 *
 * @example
 * const ex = new Exporter({ socketDir: "/var/run/cndp" });
 */
export { Exporter } from "./exporter.js";
/**
 * The exporter's HTTP server (/metrics, /healthz, /readyz, REST).
 *
 * @example
 * const exporter = new Exporter({ socketDir: "/var/run/cndp" });
 * const server = createExporterServer(exporter, createLogger({ name: "exporter" }));
 * server.listen(2112);
 */
export { createExporterServer, parseListen } from "./exporter-http.js";
/**
 * Runs the exporter in this process, as `xdplane exporter` does.
 *
 * @example
 * const running = await startExporter(parseExporterArgs(["--listen", ":2112"]), createLogger({ name: "exporter" }));
 */
export { startExporter, parseExporterArgs } from "./exporter-cli.js";
/**
 * Logging with CNDP's levels; JSON lines when stderr is not a terminal (`XDPLANE_LOG_LEVEL`).
 *
 * @example
 * const log = createLogger({ name: "echo" });
 * log.log("info", "started");
 */
export { Logger, createLogger, parseLogLevel, nullLogger, LOG_LEVELS } from "./log.js";
