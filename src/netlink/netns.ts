/**
 * Network namespaces by path: running a synchronous function with the calling thread inside one
 * (setns(2) with CLONE_NEWNET, then back). Sockets created inside stay in that namespace, so this is how
 * a netlink socket, a BPF link or an AF_XDP socket is made for a netdev in a pod's namespace.
 *
 * A namespace is named by a path (`/var/run/netns/x`, `/proc/<pid>/ns/net`, CNI's CNI_NETNS) or by a bare
 * name, which means `/run/netns/<name>` (as `ip netns` makes them).
 *
 * @example
 * const nl = withNetns(process.env.CNI_NETNS!, () => NetlinkSocket.open());
 */
import { closeSync, openSync } from "node:fs";
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { CLONE_NEWNET } from "../sys/consts.js";

/** The path of namespace `ns`: itself when it contains a slash, else `/run/netns/<ns>`. */
export function netnsPath(ns: string): string {
  return ns.includes("/") ? ns : `/run/netns/${ns}`;
}

/** Opens a namespace file for reading (to pass as IFLA_NET_NS_FD, or to setns). Close it with closeSync. */
export function openNetns(ns: string): number {
  const path = netnsPath(ns);
  try {
    return openSync(path, "r");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`Cannot open network namespace '${path}': ${err.code ?? err.message}`), { code: err.code });
  }
}

/**
 * Runs `fn` with the calling thread in namespace `ns`, then returns to the thread's original namespace
 * (also when `fn` throws). Synchronous only: an await inside would run later code in the wrong namespace.
 */
export function withNetns<T>(ns: string, fn: () => T): T {
  const self = openSync("/proc/thread-self/ns/net", "r");
  try {
    const target = openNetns(ns);
    try {
      check(sys.setns(target, CLONE_NEWNET), () => `setns(${netnsPath(ns)})`);
    } finally {
      closeSync(target);
    }
    try {
      return fn();
    } finally {
      check(sys.setns(self, CLONE_NEWNET), "setns(back to the original network namespace)");
    }
  } finally {
    closeSync(self);
  }
}
