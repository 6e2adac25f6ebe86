/**
 * Delegated plugins (IPAM): found by name in CNI_PATH, run with the CNI environment (CNI_COMMAND set to
 * the delegated command) and the whole network configuration on stdin, as libcni's invoke package does
 * (SPEC.md "Delegated plugins (IPAM)", 1.1.0). A delegate's CNI error keeps its code; a delegate that
 * is missing, dies without an error object, or prints something we cannot decode is code 101.
 *
 * Older delegates: when the delegate answers code 1 (incompatible version) for the config's cniVersion,
 * it is asked VERSION and run again with the highest version both support (the result is read in that
 * version). Debian 12's host-local (plugins 1.1.1) stops at 1.0.0, so a 1.1.0 network still gets its IPAM.
 *
 * @example
 * const r = ipamAdd({ type: "host-local", conf, env });   // CniResult in the 1.1.0 shape
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import { CNI_ERR, CniError } from "./errors.js";
import { parseResult, type CniResult } from "./result.js";
import { highestCommon, atLeast } from "./version.js";
import type { Command } from "./env.js";

/** The executable `name` in the first CNI_PATH folder holding one; undefined when none does. */
export function findInPath(name: string, path: readonly string[]): string | undefined {
  if (name.includes("/")) return undefined;
  for (const dir of path) {
    const p = join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface DelegateCall {
  /** The delegate's name (ipam.type). */
  type: string;
  /** The network configuration to send (stdin). */
  conf: Record<string, unknown>;
  /** The environment to pass (CNI_COMMAND is set here). */
  env: NodeJS.ProcessEnv;
  /** CNI_PATH folders. */
  path: readonly string[];
  timeoutMs?: number;
}

interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

function run(exe: string, command: Command, stdin: string, env: NodeJS.ProcessEnv, timeoutMs: number): Outcome {
  const r = spawnSync(exe, [], {
    input: stdin,
    env: { ...env, CNI_COMMAND: command },
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 4 << 20,
  });
  // EPIPE: the plugin exited without reading all of stdin (VERSION does not read it); its answer stands.
  const epipe = (r.error as NodeJS.ErrnoException | undefined)?.code === "EPIPE" && r.status !== null;
  if (r.error && !epipe) throw new CniError(CNI_ERR.IPAM_FAILED, `Cannot run ${exe} ${command}: ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Turns a failed run into the delegate's CNI error (its code kept), or code 101. */
function failure(type: string, command: Command, o: Outcome): CniError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(o.stdout);
  } catch {
    parsed = undefined;
  }
  const e = parsed as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
  if (e && typeof e.code === "number" && e.code > 0) {
    return new CniError(e.code, `IPAM plugin ${type} ${command}: ${typeof e.msg === "string" ? e.msg : "failed"}`,
      typeof e.details === "string" ? e.details : "");
  }
  const detail = (o.stderr || o.stdout).trim().slice(0, 2000);
  return new CniError(CNI_ERR.IPAM_FAILED, `IPAM plugin ${type} ${command} failed (exit ${o.status})`, detail);
}

function locate(c: DelegateCall): string {
  const exe = findInPath(c.type, c.path);
  if (!exe) {
    throw new CniError(CNI_ERR.IPAM_FAILED, `IPAM plugin '${c.type}' not found in CNI_PATH`, `searched ${c.path.join(":") || "(empty CNI_PATH)"}`);
  }
  return exe;
}

/** The versions the delegate supports (its VERSION answer). */
export function delegateVersions(c: Omit<DelegateCall, "conf">): string[] {
  const exe = locate({ ...c, conf: {} });
  const o = run(exe, "VERSION", JSON.stringify({ cniVersion: "0.3.0" }), c.env, c.timeoutMs ?? 10000);
  if (o.status !== 0) throw failure(c.type, "VERSION", o);
  try {
    const v = JSON.parse(o.stdout) as { supportedVersions?: unknown };
    if (Array.isArray(v.supportedVersions) && v.supportedVersions.every((x) => typeof x === "string")) return v.supportedVersions as string[];
  } catch { /* below */ }
  throw new CniError(CNI_ERR.IPAM_FAILED, `IPAM plugin ${c.type} VERSION: cannot decode its answer`, o.stdout.slice(0, 500));
}

/**
 * Runs the delegate for `command`; returns its stdout. On code 1 (incompatible version) retries once
 * with the highest common version; `onVersion` learns the version finally used.
 */
export function runDelegate(c: DelegateCall, command: Command, onVersion?: (v: string) => void): string {
  const exe = locate(c);
  const timeout = c.timeoutMs ?? 30000;
  const version = typeof c.conf["cniVersion"] === "string" ? (c.conf["cniVersion"] as string) : "0.1.0";
  let o = run(exe, command, JSON.stringify(c.conf), c.env, timeout);
  let used = version;
  if (o.status !== 0) {
    const err = failure(c.type, command, o);
    if (err.code !== CNI_ERR.INCOMPATIBLE_VERSION) throw err;
    const theirs = delegateVersions(c);
    const common = highestCommon(theirs, version);
    if (common === undefined || common === version) throw err;
    // The config as that version has it: prevResult (in the newer format) is not the delegate's business.
    const { prevResult: _drop, ...rest } = c.conf;
    used = common;
    o = run(exe, command, JSON.stringify({ ...rest, cniVersion: common }), c.env, timeout);
    if (o.status !== 0) throw failure(c.type, command, o);
  }
  onVersion?.(used);
  return o.stdout;
}

/** IPAM ADD: the allocated addresses, routes and DNS (code 101 when the result has no address). */
export function ipamAdd(c: DelegateCall): CniResult {
  let used = "";
  const out = runDelegate(c, "ADD", (v) => (used = v));
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch {
    throw new CniError(CNI_ERR.IPAM_FAILED, `IPAM plugin ${c.type} ADD: its result is not JSON`, out.slice(0, 500));
  }
  const version = typeof (json as { cniVersion?: unknown }).cniVersion === "string" ? (json as { cniVersion: string }).cniVersion : used;
  if (!atLeast(version, "0.3.0")) throw new CniError(CNI_ERR.IPAM_FAILED, `IPAM plugin ${c.type} ADD: result version ${version} is older than 0.3.0`);
  let r: CniResult;
  try {
    r = parseResult(json, version, `the result of IPAM plugin ${c.type}`);
  } catch (e) {
    throw new CniError(CNI_ERR.IPAM_FAILED, (e as Error).message);
  }
  if (r.ips.length === 0) throw new CniError(CNI_ERR.IPAM_FAILED, `IPAM plugin ${c.type} returned no IP address`);
  return r;
}

/** IPAM DEL (or CHECK, GC, STATUS): success or a CniError. */
export function ipamCall(c: DelegateCall, command: Exclude<Command, "ADD" | "VERSION">): void {
  runDelegate(c, command);
}
