/**
 * Checks, before anything is allocated, that the UMEMs a configuration asks for fit this machine: the
 * memory available (MemAvailable, plus free huge pages when a umem asks for them) and the locked-memory
 * limit the kernel charges UMEM registration to (RLIMIT_MEMLOCK, unless the process has CAP_IPC_LOCK).
 * A misfit is an error at the umem's bufcnt: 2048 x1024 frames otherwise take minutes and gigabytes to
 * fail.
 */
import type { Node } from "jsonc-parser";
import { hasIpcLock, parseMeminfo, parseMemlock, type ProcReader } from "./host.js";
import type { Reader } from "./reader.js";
import { formatBytes, LPORT_GROUP_UMEM, type Draft } from "./sections.js";
import type { KeyPath } from "./source.js";
import type { Umem } from "./types.js";

/** Bytes of JS-side bookkeeping per frame (mbuf table, free ring), on top of the frame itself. */
export const MBUF_OVERHEAD = 18;

/** Where the need of one umem is pointed at, and what it is. */
interface Need {
  umem: Umem;
  at: Node | number;
  path: KeyPath;
  frames: number;
  locked: number;
}

/** Where an error about a umem's size points: its bufcnt, else where its size comes from. */
function locate(d: Draft, u: Umem, defaultsBufcnt: { node: Node; path: KeyPath } | undefined, fallback: Node | number): { at: Node | number; path: KeyPath } {
  const n = d.umemNodes.get(u.name);
  if (n !== undefined) {
    if (n.bufcnt !== undefined) return { at: n.bufcnt, path: [...n.path, "bufcnt"] };
    if (defaultsBufcnt !== undefined) return { at: defaultsBufcnt.node, path: defaultsBufcnt.path };
    return { at: n.keyNode, path: n.path };
  }
  if (u.name === LPORT_GROUP_UMEM) {
    if (defaultsBufcnt !== undefined && d.defaultsGiven.has("bufcnt")) return { at: defaultsBufcnt.node, path: defaultsBufcnt.path };
    const g = d.lportGroups[0];
    if (g !== undefined) return { at: g.keyNode, path: g.path };
  }
  return { at: fallback, path: ["umems", u.name] };
}

/**
 * Reports, as an error at the largest umem's bufcnt, UMEMs (those some lport uses, as the apps allocate
 * them) that need more memory than is available or more locked memory than RLIMIT_MEMLOCK allows.
 */
export function checkMemory(r: Reader, d: Draft, proc: ProcReader, defaultsBufcnt: { node: Node; path: KeyPath } | undefined, root: Node): void {
  const used = new Set<string>();
  for (const lp of d.lports.values()) used.add(lp.value.umem);
  const needs: Need[] = [];
  for (const u of d.umems.values()) {
    if (!used.has(u.name)) continue;
    const { at, path } = locate(d, u, defaultsBufcnt, root);
    needs.push({ umem: u, at, path, frames: u.bufcnt, locked: u.bufcnt * u.bufsz });
  }
  if (needs.length === 0) return;
  needs.sort((a, b) => b.locked - a.locked);
  const big = needs[0] as Need;
  const total = needs.reduce((s, n) => s + n.locked + n.frames * MBUF_OVERHEAD, 0);
  const locked = needs.reduce((s, n) => s + n.locked, 0);
  const what = (need: number) => {
    const u = big.umem;
    const one = `${u.bufcnt % 1024 === 0 ? `${u.bufcnt / 1024} x1024` : String(u.bufcnt)} frames of ${u.bufsz} bytes`;
    return needs.length === 1
      ? `${one} need ${formatBytes(need)}`
      : `${one} and the other umems in use (${needs.slice(1).map((n) => n.umem.name).join(", ")}) need ${formatBytes(need)}`;
  };

  const mem = parseMeminfo(proc("/proc/meminfo") ?? "");
  if (mem !== undefined) {
    const huge = needs.some((n) => n.umem.mtype !== "4KB") ? mem.hugeFree : 0;
    const avail = mem.available + huge;
    if (total > avail) {
      r.error(big.at, big.path, `${what(total)}; only ${formatBytes(avail)} available (MemAvailable${huge > 0 ? " + free huge pages" : ""})`);
      return;
    }
  }
  const status = proc("/proc/self/status");
  const ipcLock = status === undefined ? undefined : hasIpcLock(status);
  if (ipcLock === true) return;
  const limit = parseMemlock(proc("/proc/self/limits") ?? "");
  if (limit !== undefined && locked > limit) {
    r.error(big.at, big.path,
      `${what(locked)} of locked memory (the kernel pins a UMEM); RLIMIT_MEMLOCK allows ${formatBytes(limit)} ("Max locked memory" in /proc/self/limits) and the process has no CAP_IPC_LOCK: raise the limit (ulimit -l, LimitMEMLOCK=) or grant CAP_IPC_LOCK`);
  }
}
