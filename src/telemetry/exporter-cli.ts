/**
 * `xdplane exporter [--socket-dir <dir>] [--listen <host:port>] [--interval <ms>] [--log-level <level>]
 * [--control-token-file <file>]`: the Prometheus exporter sidecar. Runs until SIGINT or SIGTERM.
 */
import type { Server } from "node:http";
import { Exporter } from "./exporter.js";
import { createExporterServer, listen, parseListen, readControlToken, MIN_TOKEN_LEN } from "./exporter-http.js";
import { cliValues, str } from "./cli-args.js";
import { DEFAULT_SOCKET_DIR } from "./app-socket.js";
import { createLogger, parseLogLevel, type Logger, type LogLevelName } from "./log.js";

export const EXPORTER_USAGE = `Usage: xdplane exporter [options]

Watches the app sockets in a folder, polls every app and serves:
  /metrics   Prometheus text format          /healthz, /readyz   probes
  /apps/...  a REST API mirroring the app command socket: GET routes read (open to anyone who
             reaches the port); POST routes (threads start/stop, any socket command) are the control
             API, off (403) unless --control-token-file is given

Options:
  --socket-dir <dir>    app socket folder (default ${DEFAULT_SOCKET_DIR})
  --listen <host:port>  HTTP address (default 0.0.0.0:2112; port 0 picks one)
  --interval <ms>       poll interval (default 1000)
  --timeout <ms>        reply timeout per command (default 2000)
  --log-level <level>   emerg..debug (default info, or XDPLANE_LOG_LEVEL)
  --control-token-file <file>
                        turn the control API on: POST requests need 'Authorization: Bearer <token>',
                        the token being this file's content (${MIN_TOKEN_LEN}+ characters of [A-Za-z0-9-._~+/],
                        e.g. a mounted Kubernetes Secret); read on every control request
  -h, --help            this text
`;

export interface ExporterArgs {
  socketDir: string;
  host: string;
  port: number;
  intervalMs: number;
  timeoutMs: number;
  logLevel?: LogLevelName;
  /** The control API's token file; the control API is off without it. */
  controlTokenFile?: string;
  help: boolean;
}

/** Parses the exporter's arguments; throws RangeError with a message for the user. */
export function parseExporterArgs(argv: readonly string[]): ExporterArgs {
  const v = cliValues(argv, {
    "socket-dir": { type: "string" }, listen: { type: "string" }, interval: { type: "string" },
    timeout: { type: "string" }, "log-level": { type: "string" }, "control-token-file": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const ms = (name: string, x: string | undefined, dflt: number): number => {
    if (x === undefined) return dflt;
    const n = Number(x);
    if (x === "" || !Number.isInteger(n) || n < 10 || n > 3_600_000) throw new RangeError(`Invalid --${name} '${x}': milliseconds, 10 to 3600000`);
    return n;
  };
  const l = parseListen(str(v["listen"]) ?? "0.0.0.0:2112");
  const a: ExporterArgs = {
    socketDir: str(v["socket-dir"]) ?? DEFAULT_SOCKET_DIR, host: l.host, port: l.port,
    intervalMs: ms("interval", str(v["interval"]), 1000), timeoutMs: ms("timeout", str(v["timeout"]), 2000),
    help: v["help"] === true,
  };
  const level = str(v["log-level"]);
  if (level !== undefined) a.logLevel = parseLogLevel(level);
  const tokenFile = str(v["control-token-file"]);
  if (tokenFile !== undefined) {
    if (tokenFile === "") throw new RangeError("Invalid --control-token-file '': a file path");
    a.controlTokenFile = tokenFile;
  }
  return a;
}

/** A running exporter: its HTTP address and a way to stop it. */
export interface RunningExporter {
  exporter: Exporter;
  server: Server;
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts an exporter with parsed arguments (no signal handling). */
export async function startExporter(args: ExporterArgs, log: Logger): Promise<RunningExporter> {
  const exporter = new Exporter({ socketDir: args.socketDir, intervalMs: args.intervalMs, requestTimeoutMs: args.timeoutMs, log });
  if (args.controlTokenFile !== undefined) {
    // Not fatal: a Kubernetes Secret may be created after the pod; control requests answer 503 until then.
    await readControlToken(args.controlTokenFile).catch((e: unknown) =>
      log.warning("control API enabled but its token is unusable: control requests answer 503 until it is fixed", { error: e }),
    );
  }
  exporter.start();
  const server = createExporterServer(exporter, log, args.controlTokenFile !== undefined ? { tokenFile: args.controlTokenFile } : {});
  let addr;
  try {
    addr = await listen(server, args.host, args.port);
  } catch (e) {
    await exporter.close();
    throw e;
  }
  log.info("exporter listening", {
    address: `${addr.address}:${addr.port}`,
    socket_dir: args.socketDir,
    control: args.controlTokenFile !== undefined ? `on (token file ${args.controlTokenFile})` : "off",
  });
  return {
    exporter,
    server,
    host: addr.address,
    port: addr.port,
    async stop() {
      await exporter.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      log.info("exporter stopped");
    },
  };
}

/**
 * Runs `xdplane exporter` until SIGINT or SIGTERM; resolves with the exit code (0, 1 on failure to start,
 * 2 on bad arguments).
 */
export async function main(argv: readonly string[]): Promise<number> {
  let args: ExporterArgs;
  try {
    args = parseExporterArgs(argv);
  } catch (e) {
    process.stderr.write(`xdplane exporter: ${(e as Error).message}\n\n${EXPORTER_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(EXPORTER_USAGE);
    return 0;
  }
  const log = createLogger({ name: "exporter", ...(args.logLevel !== undefined ? { level: args.logLevel } : {}) });
  let running: RunningExporter;
  try {
    running = await startExporter(args, log);
  } catch (e) {
    log.err("cannot start", { error: e });
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      log.info("stopping", { signal: sig });
      resolve();
    };
    const onInt = (): void => stop("SIGINT");
    const onTerm = (): void => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  await running.stop();
  return 0;
}
