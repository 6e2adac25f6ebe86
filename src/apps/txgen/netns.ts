/**
 * Network namespaces by name (/run/netns/<name>, as `ip netns` makes them) for txgen ports whose netdev
 * lives elsewhere: sockets and XDP attachments are made with the calling thread inside the namespace,
 * and the live-frames threads move into it for good (BPF_PROG_TEST_RUN resolves the ctx's
 * ingress_ifindex in the caller's namespace).
 */
import { closeSync, readFileSync } from "node:fs";
import { netnsPath, openNetns, withNetns } from "../../netlink/netns.js";
import { NetlinkSocket } from "../../netlink/socket.js";
import { getLink, type Link } from "../../netlink/link.js";
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

/**
 * ifindex, MAC and MTU of a netdev over rtnetlink (a socket opened in `ns` when given), and its link
 * speed (Mb/s; 0 when unknown) from sysfs. sysfs shows the namespace it was mounted in, so the speed of a
 * netdev in another namespace is not known here (0: rates in percent assume 10 Gb/s).
 */
export function netdevFacts(ifname: string, ns?: string | null): { ifindex: number; mac: string; mtu: number; speedMbps: number } {
  const where = ns ? ` in namespace '${ns}'` : "";
  let link: Link;
  try {
    const nl = NetlinkSocket.open(ns ? { netns: ns } : {});
    try {
      link = getLink(nl, ifname);
    } finally {
      nl.close();
    }
  } catch (e) {
    throw new Error(`Cannot read netdev '${ifname}'${where}: ${(e as Error).message}`, { cause: e });
  }
  let speedMbps = 0;
  if (!ns) {
    try {
      const v = Number(readFileSync(`/sys/class/net/${ifname}/speed`, "utf8").trim());
      if (Number.isFinite(v) && v > 0) speedMbps = v;
    } catch {
      // No speed (EINVAL while the link is down, or no such attribute): unknown.
    }
  }
  return { ifindex: link.index, mac: link.mac ?? "00:00:00:00:00:00", mtu: link.mtu, speedMbps };
}
