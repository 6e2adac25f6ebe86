/**
 * Command-line options for the telemetry commands, parsed by Node's own `util.parseArgs` (strict: an
 * unknown option or a missing value is an error naming it, thrown as a RangeError for the user).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

export function cliValues(argv: readonly string[], options: Options): Record<string, string | boolean | (string | boolean)[] | undefined> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const err = e as Error & { code?: string };
    const m = /'([^']+)'/.exec(err.message);
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new RangeError(`Unknown option '${m?.[1] ?? "?"}'`);
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new RangeError(`Option ${m?.[1]?.split(" ")[0] ?? ""} needs a value`);
    throw new RangeError(err.message);
  }
}

/** The value of a string option (the last one when repeated). */
export function str(v: string | boolean | (string | boolean)[] | undefined): string | undefined {
  if (Array.isArray(v)) v = v[v.length - 1];
  return typeof v === "string" ? v : undefined;
}
