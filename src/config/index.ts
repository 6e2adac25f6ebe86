/**
 * config: CNDP-compatible JSON-with-comments configuration (jcfg). A CNDP user's `fwd.jsonc` loads
 * unchanged; the result is typed, defaults applied, units resolved, lport-groups expanded.
 *
 * @example
 * import { loadConfig, ConfigError } from "../config/index.js";
 * try {
 *   const { config, warnings } = loadConfig("fwd.jsonc");
 *   for (const w of warnings) console.warn(w.text);
 *   for (const t of config.threads.values()) console.log(t.name, t.lcores, t.lports);
 * } catch (e) {
 *   if (e instanceof ConfigError) { console.error(e.message); process.exit(1); }
 *   throw e;
 * }
 */
export { parseConfig, loadConfig, sysfsQueueCount, MAX_DEPTH, type ParseOptions, type ParseResult } from "./parse.js";
export type { ProcReader } from "./host.js";
export { ConfigError, configError, type ConfigDiagnostic } from "./errors.js";
export { getOption, optionBool, optionString, optionNumber, optionStrings } from "./options.js";
export { formatPath, type KeyPath, type Position, type SourceLocation } from "./source.js";
export { parseRange, parseRangeList, formatRangeList } from "./ranges.js";
export { CNDP_DEFAULTS, LPORT_GROUP_UMEM } from "./sections.js";
export type { QueueCounter } from "./resolve.js";
export type {
  AppConfig,
  Application,
  ConfigSource,
  Defaults,
  JsonValue,
  LcoreGroup,
  Lport,
  LportGroup,
  MemType,
  OptionValue,
  Thread,
  Umem,
} from "./types.js";
