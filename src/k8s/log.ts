/**
 * The device plugin's log: leveled lines on stderr (and optionally a file), as upstream's config asks
 * (`logLevel`: debug|info|warning|error, `logFile`). Silent below the level. `XDPLANE_TRACE=k8s` forces
 * debug.
 *
 * @example
 * const log = createLogger({ level: "info" });
 * log.info("pool afxdp/p1 registered");
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export type Level = "debug" | "info" | "warning" | "error";
const ORDER: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface LoggerOptions {
  level?: Level;
  /** Also append lines to this file (its folder is created). */
  file?: string;
  /** Where lines go besides the file; default stderr. Tests pass a collector. */
  sink?: (line: string) => void;
}

function traceOn(): boolean {
  return (process.env["XDPLANE_TRACE"] ?? "").split(",").some((t) => t.trim() === "k8s" || t.trim() === "all");
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = traceOn() ? 0 : ORDER[opts.level ?? "info"];
  const sink = opts.sink ?? ((line: string) => process.stderr.write(line + "\n"));
  if (opts.file) mkdirSync(dirname(opts.file), { recursive: true });
  const emit = (lvl: Level, msg: string) => {
    if (ORDER[lvl] < min) return;
    const line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(7)} ${msg}`;
    sink(line);
    if (opts.file) {
      try {
        appendFileSync(opts.file, line + "\n");
      } catch {
        // a full or read-only disk must not stop the plugin
      }
    }
  };
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warning", m),
    error: (m) => emit("error", m),
  };
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
