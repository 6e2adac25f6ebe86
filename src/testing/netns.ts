/**
 * Test fixtures: network namespaces and veth pairs with unique names, always removed (also on failure).
 *
 * Only tests and the demo use this folder. Setup uses iproute2 (`ip`), the tool a person would use.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { withNetns } from "../netlink/netns.js";

let counter = 0;

/** A name unique to this process and call, at most 15 characters (netdev limit). */
export function uniqueName(prefix: string): string {
  const id = `${(process.pid % 100000).toString(36)}${(counter++).toString(36)}`;
  return `${prefix.slice(0, 15 - id.length - 1)}-${id}`;
}

/** Runs `ip` with the arguments; throws with ip's stderr on failure. */
export function ip(...args: string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(" ")}: ${err.stderr?.trim() || err.message}`);
  }
}

/** Runs a command inside a namespace (`ip netns exec`). */
export function nsExec(ns: string, cmd: string, ...args: string[]): string {
  return ip("netns", "exec", ns, cmd, ...args);
}

/** Whether this process can create namespaces and veths (root with CAP_NET_ADMIN). */
export function canUseNetns(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Runs `fn` with the calling thread inside namespace `ns`, then returns to the original one. Sockets
 * created inside keep belonging to `ns` and can be used from anywhere afterwards. Synchronous only.
 */
export function inNetns<T>(ns: string, fn: () => T): T {
  return withNetns(ns, fn);
}

/** A veth pair: `a` stays in this process's namespace, `b` lives in namespace `ns`. */
export interface VethPair {
  /** The end in the current namespace (where xdplane runs in tests). */
  a: string;
  /** The peer end, inside `ns`. */
  b: string;
  /** The namespace holding `b` (the traffic source's side). */
  ns: string;
  macA: string;
  macB: string;
  /** Removes the pair and the namespace; safe to call twice. */
  destroy(): void;
}

export interface VethOptions {
  /** Queues on each end (numrxqueues/numtxqueues), default 1. */
  queues?: number;
  /** MTU, default 1500. */
  mtu?: number;
  /** Put `a` in its own namespace too (named `${ns}a`): returned as `nsA`. */
  prefix?: string;
}

/** Creates a veth pair with one end in a fresh namespace. Remove it with `destroy()` (use try/finally). */
export function createVethPair(opts: VethOptions = {}): VethPair {
  const p = opts.prefix ?? "xdp";
  const ns = uniqueName(`${p}ns`);
  const a = uniqueName(`${p}a`);
  const b = uniqueName(`${p}b`);
  const q = String(opts.queues ?? 1);
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    try { ip("link", "del", a); } catch { /* gone with the namespace */ }
    try { ip("netns", "del", ns); } catch { /* already gone */ }
  };
  try {
    ip("netns", "add", ns);
    ip("link", "add", a, "numrxqueues", q, "numtxqueues", q, "type", "veth", "peer", "name", b,
      "numrxqueues", q, "numtxqueues", q);
    ip("link", "set", b, "netns", ns);
    if (opts.mtu) {
      ip("link", "set", a, "mtu", String(opts.mtu));
      nsExec(ns, "ip", "link", "set", b, "mtu", String(opts.mtu));
    }
    // No IPv6 on test veths: router solicitations and MLD reports would add frames tests do not send.
    execFileSync("sysctl", ["-qw", `net.ipv6.conf.${a}.disable_ipv6=1`]);
    nsExec(ns, "sysctl", "-qw", `net.ipv6.conf.${b}.disable_ipv6=1`);
    ip("link", "set", a, "up");
    nsExec(ns, "ip", "link", "set", b, "up");
    nsExec(ns, "ip", "link", "set", "lo", "up");
    const macA = JSON.parse(ip("-j", "link", "show", a))[0].address as string;
    const macB = JSON.parse(nsExec(ns, "ip", "-j", "link", "show", b))[0].address as string;
    return { a, b, ns, macA, macB, destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** Creates a namespace with a unique name; returns it and a remover. */
export function createNetns(prefix = "xdpns"): { ns: string; destroy(): void } {
  const ns = uniqueName(prefix);
  ip("netns", "add", ns);
  let done = false;
  return {
    ns,
    destroy() {
      if (done) return;
      done = true;
      try { ip("netns", "del", ns); } catch { /* gone */ }
    },
  };
}

/** Whether a netns of that name exists. */
export function netnsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

/**
 * The paths a simulated pod must still see after it mounts its own /tmp: this checkout and the Node
 * binary's folder, when they live under /tmp (a clone in /tmp, CI's scratch space). Tests bind them
 * aside before the tmpfs and move them back after.
 */
export function pathsUnderTmp(): string[] {
  const pkg = new URL("../../..", import.meta.url).pathname.replace(/\/$/, "");
  const node = process.execPath.slice(0, process.execPath.lastIndexOf("/bin/")) || process.execPath;
  return [...new Set([pkg, node])].filter((p) => p.startsWith("/tmp/"));
}

/** Shell lines that stage `paths` under `stage` (a fresh tmpfs) before /tmp is replaced. */
export function keepPathsBefore(paths: string[], stage: string): string[] {
  return paths.map((p, i) => `mkdir -p ${stage}/keep${i} && mount --bind '${p}' ${stage}/keep${i}`);
}

/** Shell lines that put the staged paths back at their places in the new /tmp. */
export function keepPathsAfter(paths: string[], stage: string): string[] {
  return paths.map((p, i) => `mkdir -p '${p}' && mount --move ${stage}/keep${i} '${p}'`);
}
