/**
 * Which thread serves which ports: the config's threads (other than `main`) that list lports, each port
 * served by one thread alone (one owner per ring: the config parser refuses a port in two threads; a
 * config built in code is checked here too).
 */
import type { AppConfig } from "../config/types.js";
import type { Lport } from "../pktdev/lport.js";

/** A thread to start: its name, CPUs, ports (served by it alone) and idle settings. */
export interface ThreadPlan {
  name: string;
  cpus: number[];
  ports: Lport[];
  /** The config's `idle_timeout` (ms; 0: never idle) and `intr_timeout` (ms). */
  idleTimeout: number;
  intrTimeout: number;
}

/**
 * The threads to start for a config and its built ports. Threads without lports are skipped (logged).
 *
 * @example
 * const set = PortSet.build(config);
 * const plan = planThreads(config, set.ports, console.log);
 * for (const t of plan) console.log(t.name, t.cpus, t.ports.map((p) => p.name));
 */
export function planThreads(cfg: AppConfig, ports: readonly Lport[], log: (m: string) => void): ThreadPlan[] {
  const byName = new Map(ports.map((p) => [p.name, p]));
  const servedBy = new Map<string, string>();
  const plan: ThreadPlan[] = [];
  for (const t of cfg.threads.values()) {
    if (t.type === "main") continue;
    if (t.lports.length === 0) {
      log(`thread '${t.name}' has no lports: not started`);
      continue;
    }
    const mine: Lport[] = [];
    for (const n of t.lports) {
      const p = byName.get(n);
      if (!p) throw new Error(`thread '${t.name}' names lport '${n}', which was not created`);
      const other = servedBy.get(n);
      if (other !== undefined) {
        throw new Error(`lport '${n}' is listed by thread '${other}'${other === t.name ? " twice" : ` and by thread '${t.name}'`}: a port is served by one thread (its rings have one owner)`);
      }
      servedBy.set(n, t.name);
      mine.push(p);
    }
    plan.push({ name: t.name, cpus: [...t.lcores], ports: mine, idleTimeout: t.idleTimeout, intrTimeout: t.intrTimeout });
  }
  return plan;
}
