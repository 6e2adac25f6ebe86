/**
 * Configuration diagnostics: every error and warning names `file:line:column`, the key path and what is
 * wrong, e.g. `fwd.jsonc:14:23: lports."eth0:0".qid: expected a number, got "x"`.
 */
import { formatPath, type KeyPath, type SourceLocation } from "./source.js";
import type { AppConfig } from "./types.js";

/** One error or warning about a configuration file. */
export interface ConfigDiagnostic extends SourceLocation {
  /** The key path printed as in the file (`lports."eth0:0".qid`); "" for the whole file. */
  readonly path: string;
  /** What is wrong, in a sentence without the location. */
  readonly message: string;
  /** The full line: `file:line:column: path: message`. */
  readonly text: string;
}

/** Builds a diagnostic and its printed form. */
export function diagnostic(loc: SourceLocation, path: string, message: string): ConfigDiagnostic {
  const text = `${loc.file}:${loc.line}:${loc.column}: ${path === "" ? "" : `${path}: `}${message}`;
  return { file: loc.file, line: loc.line, column: loc.column, path, message, text };
}

/**
 * A configuration file that cannot be used. `file`, `line`, `column` and `path` name the first problem;
 * `errors` holds every problem found (the message lists them all, one a line, first one first).
 *
 * @example
 * try { loadConfig("fwd.jsonc"); }
 * catch (e) { if (e instanceof ConfigError) console.error(e.message); else throw e; }
 * // fwd.jsonc:14:23: lports."eth0:0".qid: expected a number, got "x"
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly errors: readonly ConfigDiagnostic[];

  constructor(errors: readonly ConfigDiagnostic[]) {
    const first = errors[0];
    if (first === undefined) throw new RangeError("ConfigError needs at least one diagnostic");
    super(errors.map((d) => d.text).join("\n"));
    this.name = "ConfigError";
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.path = first.path;
    this.errors = errors;
  }
}

/**
 * An error about a key of a parsed configuration, located in its file: for apps that check their own
 * options or users ("unknown mode") after parsing. Points at the nearest enclosing key that exists.
 *
 * @example
 * throw configError(config, ["options", "mode"], `unknown mode "fast"; expected drop, lb, fwd, ...`);
 * // fwd.jsonc:131:17: options.mode: unknown mode "fast"; expected drop, lb, fwd, ...
 */
export function configError(config: AppConfig, path: KeyPath, message: string): ConfigError {
  let loc: SourceLocation | undefined;
  for (let n = path.length; n >= 0 && loc === undefined; n--) loc = config.source.locate(path.slice(0, n));
  return new ConfigError([diagnostic(loc ?? { file: config.source.file, line: 1, column: 1 }, formatPath(path), message)]);
}
