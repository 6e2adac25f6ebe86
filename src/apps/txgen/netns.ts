/**
 * Network namespaces by name (/run/netns/<name>, as `ip netns` makes them) for txgen ports whose netdev
 * lives elsewhere: sockets and XDP attachments are made with the calling thread inside the namespace,
 * and the live-frames threads move into it for good (BPF_PROG_TEST_RUN resolves the ctx's
 * ingress_ifindex in the caller's namespace).
 */
import { closeSync, readFileSync } from "node:fs";
import { netnsPath, openNetns, withNetns } from "../../netlink/netns.js";
import { execFileSync } from "node:child_process";
import { sys } from "../../sys/native.js";
import { check } from "../../sys/errno.js";
import { CLONE_NEWNET } from "../../sys/consts.js";

/** Moves the calling thread into namespace `ns` for good (worker threads). */
export function enterNetns(ns: string): void {
  const fd = openNetns(ns);
  try {
    check(sys.setns(fd, CLONE_NEWNET), () => `setns(${netnsPath(ns)})`);
  } finally {
    closeSync(fd);
  }
}

/** Runs `fn` with the calling thread in `ns` (when given), then returns to the original namespace. */
export function inNamespace<T>(ns: string | null | undefined, fn: () => T): T {
  return ns ? withNetns(ns, fn) : fn();
}

/** MAC, MTU and link speed (Mb/s; 0 when unknown) of a netdev, read from sysfs (in `ns` through `ip netns exec`). */
export function netdevFacts(ifname: string, ns?: string | null): { mac: string; mtu: number; speedMbps: number } {
  const files = ["address", "mtu", "speed"].map((f) => `/sys/class/net/${ifname}/${f}`);
  let lines: string[];
  if (ns) {
    // sysfs shows the namespace it was mounted in; `ip netns exec` mounts the right one.
    let out = "";
    try {
      out = execFileSync("ip", ["netns", "exec", ns, "sh", "-c", `cat ${files.slice(0, 2).join(" ")}; cat ${files[2]} 2>/dev/null || echo 0`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      throw new Error(`Cannot read netdev '${ifname}' in namespace '${ns}': ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`, { cause: e });
    }
    lines = out.trim().split("\n");
  } else {
    lines = files.map((f, i) => {
      try {
        return readFileSync(f, "utf8").trim();
      } catch (e) {
        if (i === 2) return "0";
        throw new Error(`Netdev '${ifname}' not found (${f}): ${(e as Error).message}`, { cause: e });
      }
    });
  }
  const speed = Number(lines[2]);
  return { mac: lines[0]!.trim(), mtu: Number(lines[1]), speedMbps: Number.isFinite(speed) && speed > 0 ? speed : 0 };
}
