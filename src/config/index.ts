/**
 * config: CNDP-compatible JSON-with-comments configuration (jcfg). A CNDP user's `fwd.jsonc` loads
 * unchanged; the result is typed, defaults applied, units resolved, lport-groups expanded.
 *
 * @example
 * import { loadConfig, ConfigError } from "xdplane/config";
 * try {
 *   const { config, warnings } = loadConfig("fwd.jsonc");
 *   for (const w of warnings) console.warn(w.text);
 *   for (const t of config.threads.values()) console.log(t.name, t.lcores, t.lports);
 * } catch (e) {
 *   if (e instanceof ConfigError) { console.error(e.message); process.exit(1); }
 *   throw e;
 * }
 *
 * @module
 */
export type { ParseOptions, ParseResult } from "./parse.js";
export type { ProcReader } from "./host.js";
export type { ConfigDiagnostic } from "./errors.js";
export type { KeyPath, Position, SourceLocation } from "./source.js";
export type { QueueCounter } from "./resolve.js";
export type {
  AppConfig, Application, ConfigSource, Defaults, JsonValue, LcoreGroup, Lport, LportGroup, MemType, OptionValue, Thread, Umem,
} from "./types.js";
/**
 * Parses a CNDP jsonc text (`name` for error locations); checks lcores, netdevs (off by default) and memory.
 *
 * @example
 * const { config, warnings } = parseConfig(text, "fwd.jsonc");
 */
export { parseConfig } from "./parse.js";
/**
 * Reads and parses a CNDP jsonc file, checking netdevs and their queues in this namespace.
 *
 * @example
 * const { config } = loadConfig("/etc/cndp/fwd.jsonc");
 */
export { loadConfig } from "./parse.js";
/**
 * Largest nesting depth accepted (64).
 *
 * @example
 * console.log(`jsonc nests at most ${MAX_DEPTH} levels`); // deeper: a ConfigError
 */
export { MAX_DEPTH } from "./parse.js";
/**
 * A config error naming `file:line:col` and the key.
 *
 * @example
 * try { loadConfig(path); } catch (e) { if (e instanceof ConfigError) console.error(e.message); }
 */
export { ConfigError } from "./errors.js";
/**
 * A ConfigError located at a key of the parsed config (for an app's own options).
 *
 * @example
 * throw configError(config, ["options", "mode"], "Unknown mode 'x'");
 */
export { configError } from "./errors.js";
/**
 * An app's `options` value by key, typed (CNDP's jcfg options).
 *
 * @example
 * const burst = optionNumber(config, "burst", 64);
 * const mode = optionString(config, "mode", "lb");
 */
export { getOption, optionBool, optionString, optionNumber, optionStrings } from "./options.js";
/**
 * CNDP's lcore/CPU ranges ("1-3,5").
 *
 * @example
 * parseRangeList("1-3,5", 1023); // { ok: true, values: [1, 2, 3, 5] }
 * formatRangeList([1, 2, 3, 5]); // "1-3,5"
 */
export { parseRange, parseRangeList, formatRangeList } from "./ranges.js";
/**
 * CNDP's defaults section values.
 *
 * @example
 * const bufcnt = config.defaults.bufcnt ?? CNDP_DEFAULTS.bufcnt;
 */
export { CNDP_DEFAULTS, LPORT_GROUP_UMEM } from "./sections.js";
/**
 * The queue count of a netdev from sysfs.
 *
 * @example
 * sysfsQueueCount("eth0");
 */
export { sysfsQueueCount } from "./parse.js";
/**
 * A key path as text (`threads.fwd:0.lports`).
 *
 * @example
 * formatPath(["threads", "fwd:0"]);
 */
export { formatPath } from "./source.js";
