/**
 * Which graph each thread of the config runs: one per thread that lists lports (the framework's
 * planThreads, from the config alone: `--dot` needs no port). A thread receives from its own lports and
 * may send to every lport; with several threads, frames for a port another thread serves go into that
 * port's inbox, which its owner drains (one owner per ring), so every lport must be served by a thread.
 */
import type { AppConfig } from "../../config/types.js";
import type { L3fwdGraphDesc } from "../../graph/l3fwd.js";

/** The graphs of the app, one per thread, in the framework's thread order. */
export function l3fwdPlan(cfg: AppConfig): L3fwdGraphDesc[] {
  const index = new Map([...cfg.lports.values()].map((l) => [l.name, l.index]));
  const threads = [...cfg.threads.values()].filter((t) => t.type !== "main" && t.lports.length > 0);
  if (threads.length === 0) throw new Error(`No thread polls any lport: add "lports" to a thread in the config's "threads" section`);
  const served = new Set(threads.flatMap((t) => t.lports));
  for (const l of cfg.lports.values()) {
    if (!served.has(l.name)) {
      throw new Error(`l3fwd-graph: lport '${l.name}' (index ${l.index}) is served by no thread, so no thread could send the frames routed to it: add it to the "lports" of a thread in the config's "threads" section`);
    }
  }
  const tx = [...cfg.lports.values()].map((l) => l.index).sort((a, b) => a - b);
  return threads.map((t) => {
    const rx = t.lports.map((n) => {
      const i = index.get(n);
      if (i === undefined) throw new Error(`thread '${t.name}' names lport '${n}', which is not in the config`);
      return i;
    });
    return { name: t.name, rx, tx, inbox: threads.length > 1 ? rx : [] };
  });
}
