/**
 * Test helpers for the CNI (tests only): run `xdplane cni` (or another executable) as a container runtime
 * does, with the CNI environment and the config on stdin; and a host-local IPAM config in a temp folder.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

export const CLI = new URL("../cli/main.js", import.meta.url).pathname;
export const CNI_BIN_DIR = "/usr/lib/cni";

export interface CniRun {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout as JSON (undefined when empty). */
  json: Record<string, unknown> | undefined;
  ms: number;
}

export interface CniCall {
  command: string;
  conf?: unknown;
  containerID?: string | undefined;
  netns?: string | undefined;
  ifname?: string | undefined;
  path?: string | undefined;
  /** Extra or overriding variables; `undefined` removes one. */
  env?: Record<string, string | undefined>;
  /** An executable to run instead of `node dist/src/cli/main.js cni`. */
  exe?: string;
  stdin?: string;
}

/** Runs one CNI invocation. */
export function runCniProcess(c: CniCall): CniRun {
  const env: Record<string, string | undefined> = {
    PATH: process.env["PATH"],
    CNI_COMMAND: c.command,
    CNI_PATH: c.path ?? CNI_BIN_DIR,
    ...(c.containerID !== undefined ? { CNI_CONTAINERID: c.containerID } : {}),
    ...(c.netns !== undefined ? { CNI_NETNS: c.netns } : {}),
    ...(c.ifname !== undefined ? { CNI_IFNAME: c.ifname } : {}),
    ...c.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const stdin = c.stdin ?? (c.conf === undefined ? "" : JSON.stringify(c.conf));
  const t0 = performance.now();
  const r = c.exe
    ? spawnSync(c.exe, [], { input: stdin, env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60000 })
    : spawnSync(process.execPath, [CLI, "cni"], { input: stdin, env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60000 });
  const ms = performance.now() - t0;
  let json: Record<string, unknown> | undefined;
  const out = (r.stdout ?? "").trim();
  if (out !== "") {
    try {
      json = JSON.parse(out) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
  }
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "", json, ms };
}

/** Whether the reference host-local IPAM plugin is installed. */
export function haveHostLocal(): boolean {
  return existsSync(join(CNI_BIN_DIR, "host-local"));
}

/** A host-local IPAM section with its allocations kept in `dataDir`. */
export function hostLocal(dataDir: string, subnet: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: "host-local", subnet, dataDir, ...extra };
}

/** The addresses host-local has reserved in `dataDir` for network `name`. */
export function reservedIps(dataDir: string, name: string): string[] {
  try {
    return readdirSync(join(dataDir, name)).filter((f) => /^[0-9a-f.:]+$/.test(f) && f.includes("."));
  } catch {
    return [];
  }
}
