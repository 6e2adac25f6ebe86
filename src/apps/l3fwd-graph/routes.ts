/**
 * l3fwd-graph's routes: the jsonc's `options."l3fwd-fib-rules"` (CNDP's format
 * `"<ip>/<depth>,<next-hop MAC>,<tx lport index>"`), or, when the option is absent, the routes CNDP's
 * l3fwd-graph example builds in: 198.18.<i>.0/24 to lport i with next-hop MAC 02:00:00:00:00:<i>, for
 * the first eight lports. Rules sharing a (MAC, lport) share a next hop. Checked before anything is built:
 * a bad rule, an lport index the config lacks, or a prefix given twice names the rule and where it is.
 */
import type { AppConfig } from "../../config/types.js";
import { configError } from "../../config/errors.js";
import { parseFibRule, type FibRule } from "../../lookup/fib/rules.js";
import { formatIp4, formatMac } from "../../lookup/addr.js";

/** The option holding the rules (cndpfwd's). */
export const FIB_RULES_OPTION = "l3fwd-fib-rules";

/** A route: the parsed rule, its text, and its next-hop index. */
export interface L3fwdRoute extends FibRule {
  text: string;
  nextHop: number;
}

/** The routes and the next hops they use. */
export interface L3fwdRoutes {
  routes: L3fwdRoute[];
  /** Next hop i: destination MAC and tx lport index. */
  nextHops: { mac: Uint8Array; port: number }[];
  /** True when the config gave no rules and CNDP's built-in routes are used. */
  builtIn: boolean;
}

/** CNDP l3fwd-graph's built-in routes for `nports` lports (198.18.0.0/16 is the RFC 2544 benchmark range). */
function builtInRules(nports: number): string[] {
  return Array.from({ length: Math.min(8, nports) }, (_, i) => `198.18.${i}.0/24,02:00:00:00:00:${i.toString(16).padStart(2, "0")},${i}`);
}

/** The config's routes; throws a ConfigError naming the rule (file:line:col) and what is wrong. */
export function routesFromConfig(cfg: AppConfig): L3fwdRoutes {
  const opt = cfg.options.get(FIB_RULES_OPTION);
  const nports = cfg.lports.size;
  let texts: string[];
  let builtIn = false;
  if (opt === undefined) {
    texts = builtInRules(nports);
    builtIn = true;
  } else if (Array.isArray(opt) && opt.every((r) => typeof r === "string")) {
    texts = opt as string[];
  } else {
    throw configError(cfg, ["options", FIB_RULES_OPTION], `expected an array of rules "<ip>/<depth>,<next-hop MAC>,<tx lport index>", got ${JSON.stringify(opt)}`);
  }
  const routes: L3fwdRoute[] = [];
  const nextHops: { mac: Uint8Array; port: number }[] = [];
  const nhByKey = new Map<string, number>();
  const byPrefix = new Map<string, number>();
  texts.forEach((text, i) => {
    const where = ["options", FIB_RULES_OPTION, i];
    let r: FibRule;
    try {
      r = parseFibRule(text);
    } catch (e) {
      throw configError(cfg, where, (e as Error).message);
    }
    if (r.port >= nports) {
      throw configError(cfg, where, `FIB rule '${text}': tx lport ${r.port} does not exist (the config has ${nports} lport${nports === 1 ? "" : "s"}: 0 to ${nports - 1})`);
    }
    const prefix = `${formatIp4(r.ip)}/${r.depth}`;
    const prev = byPrefix.get(prefix);
    if (prev !== undefined) throw configError(cfg, where, `FIB rule '${text}': prefix ${prefix} is already routed by rule ${prev} ('${texts[prev]}')`);
    byPrefix.set(prefix, i);
    const key = `${formatMac(r.mac)},${r.port}`;
    let nh = nhByKey.get(key);
    if (nh === undefined) {
      nh = nextHops.length;
      nextHops.push({ mac: r.mac, port: r.port });
      nhByKey.set(key, nh);
    }
    routes.push({ ...r, text, nextHop: nh });
  });
  return { routes, nextHops, builtIn };
}
