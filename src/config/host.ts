/**
 * What this machine gives a configuration: free memory (/proc/meminfo), the locked-memory limit
 * (/proc/self/limits) and whether it applies (CAP_IPC_LOCK in /proc/self/status). The files are read
 * through an injectable function, so tests can hand in fake contents.
 */
import { readFileSync } from "node:fs";

/** Reads a /proc file; throws (or returns undefined) when it cannot be read. */
export type ProcReader = (path: string) => string | undefined;

/** The real /proc. */
export const readProc: ProcReader = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** Memory the UMEMs can come from, in bytes. */
export interface MemoryInfo {
  /** MemAvailable: what can be allocated without swapping. */
  readonly available: number;
  /** Free huge pages of the default size (HugePages_Free x Hugepagesize), and that size. */
  readonly hugeFree: number;
  readonly hugePageSize: number;
}

/** Parses /proc/meminfo ("MemAvailable:   23715544 kB"); undefined without MemAvailable. */
export function parseMeminfo(text: string): MemoryInfo | undefined {
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+)(?:\\s+kB)?\\s*$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const avail = field("MemAvailable");
  if (avail === undefined) return undefined;
  const pageKb = field("Hugepagesize") ?? 0;
  return { available: avail * 1024, hugeFree: (field("HugePages_Free") ?? 0) * pageKb * 1024, hugePageSize: pageKb * 1024 };
}

/** Parses "Max locked memory" (soft limit, bytes) from /proc/self/limits; Infinity for "unlimited". */
export function parseMemlock(text: string): number | undefined {
  const m = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  if (m[1] === "unlimited") return Infinity;
  const v = Number(m[1]);
  return Number.isFinite(v) ? v : undefined;
}

/** CAP_IPC_LOCK (capability 14) in CapEff of /proc/self/status: the locked-memory limit does not apply. */
export const CAP_IPC_LOCK = 14;

/** Whether CapEff of /proc/self/status holds CAP_IPC_LOCK; undefined when the line is missing. */
export function hasIpcLock(status: string): boolean | undefined {
  const m = /^CapEff:\s+([0-9a-fA-F]+)\s*$/m.exec(status);
  if (!m) return undefined;
  return ((BigInt(`0x${m[1]}`) >> BigInt(CAP_IPC_LOCK)) & 1n) === 1n;
}
