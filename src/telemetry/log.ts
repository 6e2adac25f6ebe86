/**
 * Structured logging with CNDP's levels (cne_log.h: EMERG..DEBUG, the syslog(3) levels), to stderr.
 * Human-readable lines on a terminal, one JSON object per line otherwise (containers, journald, files).
 *
 * Level from `XDPLANE_LOG_LEVEL` (a name or a number 0-7) unless given; default `info`. Format from
 * `XDPLANE_LOG_FORMAT=json|text` unless given; default: text on a TTY, JSON otherwise.
 *
 * Note: lives here because src/runtime/log.ts did not exist when telemetry was written; if runtime gets
 * its own logger, one of the two should re-export the other.
 *
 * @example
 * const log = createLogger({ name: "exporter" });
 * log.info("listening", { address: "0.0.0.0:2112" });
 * // {"time":"2025-01-01T00:00:00.000Z","level":"info","name":"exporter","msg":"listening","address":"0.0.0.0:2112"}
 */

/** The levels, as syslog(3) numbers (CNDP's CNE_LOG_* are these plus one). */
export const LOG_LEVELS = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const;

export type LogLevelName = keyof typeof LOG_LEVELS;

const NAMES: LogLevelName[] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
const ALIASES: Record<string, LogLevelName> = { error: "err", warn: "warning", emergency: "emerg", critical: "crit" };

/** Parses a level name ("info", "warning", aliases "error"/"warn") or number 0-7; throws RangeError. */
export function parseLogLevel(s: string): LogLevelName {
  const t = s.trim().toLowerCase();
  if (/^[0-7]$/.test(t)) return NAMES[Number(t)]!;
  if (t in LOG_LEVELS) return t as LogLevelName;
  const a = ALIASES[t];
  if (a) return a;
  throw new RangeError(`Invalid log level '${s}': one of ${NAMES.join(", ")} or 0-7`);
}

/** Fields attached to a record. Errors are written as their message (and stack at debug level). */
export type LogFields = Record<string, unknown>;

/** A writable text sink (process.stderr by default). */
export interface LogSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface LoggerOptions {
  /** A name for the component (written as `name`). */
  name?: string;
  /** The most verbose level written. Default from XDPLANE_LOG_LEVEL, else "info". */
  level?: LogLevelName;
  /** JSON lines (true) or text (false). Default from XDPLANE_LOG_FORMAT, else !sink.isTTY. */
  json?: boolean;
  /** Default process.stderr. */
  sink?: LogSink;
  /** Fields written with every record. */
  fields?: LogFields;
  /** Clock, for tests. */
  now?: () => Date;
}

/**
 * A logger. `child()` makes one that adds fields.
 *
 * @example
 * const log = new Logger({ name: "echo", level: "debug", json: true });
 * log.info("started", { ports: 2 });
 * const portLog = log.child({ port: "eth0:0" });
 * if (portLog.enabled("debug")) portLog.debug("rx burst", { n: 32 });
 * portLog.err("link down");
 */
export class Logger {
  readonly level: LogLevelName;
  readonly json: boolean;
  private readonly max: number;
  private readonly sink: LogSink;
  private readonly name: string | undefined;
  private readonly fields: LogFields;
  private readonly now: () => Date;

  constructor(opts: LoggerOptions = {}) {
    const envLevel = process.env.XDPLANE_LOG_LEVEL;
    this.level = opts.level ?? (envLevel ? parseLogLevel(envLevel) : "info");
    this.max = LOG_LEVELS[this.level];
    this.sink = opts.sink ?? process.stderr;
    const envFormat = process.env.XDPLANE_LOG_FORMAT;
    this.json = opts.json ?? (envFormat === "json" ? true : envFormat === "text" ? false : !this.sink.isTTY);
    this.name = opts.name;
    this.fields = opts.fields ?? {};
    this.now = opts.now ?? (() => new Date());
  }

  /** Whether records at `level` are written. */
  enabled(level: LogLevelName): boolean {
    return LOG_LEVELS[level] <= this.max;
  }

  /** A logger writing to the same sink with extra fields (and optionally another name). */
  child(fields: LogFields, name?: string): Logger {
    const n = name ?? this.name;
    return new Logger({
      level: this.level,
      json: this.json,
      sink: this.sink,
      fields: { ...this.fields, ...fields },
      now: this.now,
      ...(n !== undefined ? { name: n } : {}),
    });
  }

  log(level: LogLevelName, msg: string, fields?: LogFields): void {
    if (LOG_LEVELS[level] > this.max) return;
    const all: LogFields = { ...this.fields, ...fields };
    const time = this.now().toISOString();
    if (this.json) {
      const rec: LogFields = { time, level };
      if (this.name !== undefined) rec.name = this.name;
      rec.msg = msg;
      for (const [k, v] of Object.entries(all)) rec[k] = plain(v, this.max >= LOG_LEVELS.debug);
      this.sink.write(`${JSON.stringify(rec, bigintReplacer)}\n`);
    } else {
      let line = `${time} ${level.toUpperCase().padEnd(7)} ${this.name !== undefined ? `[${this.name}] ` : ""}${msg}`;
      for (const [k, v] of Object.entries(all)) line += ` ${k}=${textValue(plain(v, false))}`;
      this.sink.write(`${line}\n`);
      if (this.max >= LOG_LEVELS.debug) {
        for (const v of Object.values(all)) if (v instanceof Error && v.stack) this.sink.write(`${v.stack}\n`);
      }
    }
  }

  emerg(msg: string, fields?: LogFields): void {
    this.log("emerg", msg, fields);
  }
  alert(msg: string, fields?: LogFields): void {
    this.log("alert", msg, fields);
  }
  crit(msg: string, fields?: LogFields): void {
    this.log("crit", msg, fields);
  }
  err(msg: string, fields?: LogFields): void {
    this.log("err", msg, fields);
  }
  /** Alias of {@link err}. */
  error(msg: string, fields?: LogFields): void {
    this.log("err", msg, fields);
  }
  warning(msg: string, fields?: LogFields): void {
    this.log("warning", msg, fields);
  }
  /** Alias of {@link warning}. */
  warn(msg: string, fields?: LogFields): void {
    this.log("warning", msg, fields);
  }
  notice(msg: string, fields?: LogFields): void {
    this.log("notice", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }
}

/** Makes a logger (see {@link LoggerOptions}). */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return new Logger(opts);
}

/** A logger that writes nothing. */
export const nullLogger: Logger = new Logger({ level: "emerg", sink: { write: () => true }, json: true });

function plain(v: unknown, withStack: boolean): unknown {
  if (v instanceof Error) {
    const o: LogFields = { message: v.message };
    const code = (v as { code?: unknown }).code;
    if (code !== undefined) o.code = code;
    if (withStack && v.stack) o.stack = v.stack;
    return o;
  }
  return v;
}

function textValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  if (v !== null && typeof v === "object" && "message" in v && Object.keys(v).length <= 2) {
    return JSON.stringify((v as { message: string }).message);
  }
  return JSON.stringify(v, bigintReplacer) ?? String(v);
}

function bigintReplacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
