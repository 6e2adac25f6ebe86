/**
 * telemetry: the app command socket (CNDP-compatible), its client, the Prometheus exporter with health,
 * readiness and a REST API, `xdplane stats`, and structured logging.
 */
export { type AppModel, type PortStats, type ThreadInfo, type LportStats, type LportStatName, LPORT_STATS, portUp, lportStatsFrom } from "./model.js";
export { CommandRegistry, type CommandHandler, type CommandContext, type Reply, UDS_MAX_CMD_LEN, UDS_MAX_OUTPUT_LEN } from "./commands.js";
export { AppSocket, type AppSocketOptions, appSocketPath, DEFAULT_SOCKET_DIR, APP_SOCKET_PREFIX, xdplaneVersion } from "./app-socket.js";
export {
  AppClient,
  AppCommandError,
  AppConnectionError,
  type AppSnapshot,
  type PortView,
  type ThreadView,
  type AppInfo,
} from "./app-client.js";
export { Exporter, type ExporterOptions, type AppEntry, type Readiness } from "./exporter.js";
export { createExporterServer, parseListen } from "./exporter-http.js";
export { main as exporterMain, startExporter, parseExporterArgs, EXPORTER_USAGE } from "./exporter-cli.js";
export { main as statsMain, parseStatsArgs, STATS_USAGE } from "./stats-cli.js";
export { Logger, createLogger, parseLogLevel, nullLogger, LOG_LEVELS, type LogLevelName, type LoggerOptions } from "./log.js";
