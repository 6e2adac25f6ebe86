/**
 * Typed reads of `options` (CNDP's jcfg_option_get: keys matched without case). A value of the wrong
 * kind throws a ConfigError pointing at it in the file.
 */
import { configError } from "./errors.js";
import type { AppConfig, OptionValue } from "./types.js";

/** An option by name, matched without case as CNDP does; the key as written in the file. */
export function getOption(config: AppConfig, name: string): { key: string; value: OptionValue } | undefined {
  const exact = config.options.get(name);
  if (exact !== undefined) return { key: name, value: exact };
  const lower = name.toLowerCase();
  for (const [key, value] of config.options) if (key.toLowerCase() === lower) return { key, value };
  return undefined;
}

function kind(v: OptionValue): string {
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return JSON.stringify(v);
}

/**
 * A boolean option, or `fallback` when absent.
 *
 * @example
 * const cli = optionBool(config, "cli", false);
 */
export function optionBool(config: AppConfig, name: string, fallback: boolean): boolean {
  const o = getOption(config, name);
  if (o === undefined) return fallback;
  if (typeof o.value !== "boolean") throw configError(config, ["options", o.key], `expected true or false, got ${kind(o.value)}`);
  return o.value;
}

/**
 * A string option, or `fallback` when absent.
 *
 * @example
 * const mode = optionString(config, "mode") ?? "drop";
 */
export function optionString(config: AppConfig, name: string, fallback?: string): string | undefined {
  const o = getOption(config, name);
  if (o === undefined) return fallback;
  if (typeof o.value !== "string") throw configError(config, ["options", o.key], `expected a string, got ${kind(o.value)}`);
  return o.value;
}

/** An integer option, or `fallback` when absent. */
export function optionNumber(config: AppConfig, name: string, fallback?: number): number | undefined {
  const o = getOption(config, name);
  if (o === undefined) return fallback;
  if (typeof o.value !== "number") throw configError(config, ["options", o.key], `expected an integer, got ${kind(o.value)}`);
  return o.value;
}

/**
 * An array-of-strings option (e.g. "l3fwd-fib-rules"), or undefined when absent.
 *
 * @example
 * const rules = optionStrings(config, "l3fwd-fib-rules") ?? [];
 */
export function optionStrings(config: AppConfig, name: string): readonly string[] | undefined {
  const o = getOption(config, name);
  if (o === undefined) return undefined;
  const v = o.value;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw configError(config, ["options", o.key], `expected an array of strings, got ${kind(v)}`);
  }
  return v as readonly string[];
}
