/**
 * The netdev side of the CNI over rtnetlink (src/netlink): move a netdev into a pod's network namespace
 * keeping its name, set it up, configure IPAM's addresses and routes inside (as libcni's
 * ipam.ConfigureIface does: a route without a gateway takes the gateway of its family's address); move
 * it back home; and look at it for CHECK.
 *
 * Moving a netdev between namespaces takes it down and drops its addresses; its XDP program stays
 * attached (a BPF link follows the netdev). When a namespace is destroyed, the kernel sends physical
 * netdevs back to the initial namespace, renamed `dev<N>` if their name is taken there, and deletes
 * virtual ones (veth): DEL finds a refunded netdev by its MAC and names it back. It finds one the pod
 * renamed by its MAC too, and names it back.
 *
 * @example
 * const before = moveIn("ens1f0", "/var/run/netns/cni-1234");
 * configureInside("/var/run/netns/cni-1234", "ens1f0", result);
 * moveHome("ens1f0", "/var/run/netns/cni-1234", { mac: before.mac, hostUp: before.up });
 */
import { closeSync, constants, existsSync, openSync, readdirSync, statSync, type Stats } from "node:fs";
import { isIPv4 } from "node:net";
import { NetlinkSocket } from "../../netlink/socket.js";
import { withNetns } from "../../netlink/netns.js";
import { findLink, listLinks, renameLink, setLinkNetns, setLinkUp, type Link } from "../../netlink/link.js";
import { addAddr, listAddrs, type Addr } from "../../netlink/addr.js";
import { addRoute, listRoutes, type Route } from "../../netlink/route.js";
import { CNI_ERR, CniError } from "./errors.js";
import type { CniIp, CniRoute } from "./result.js";

function netdevError(what: string, e: unknown, hint = ""): CniError {
  return new CniError(CNI_ERR.NETDEV_FAILED, `${what}: ${(e as Error).message}${hint ? `; ${hint}` : ""}`);
}

function withSocket<T>(netns: string | undefined, fn: (nl: NetlinkSocket) => T): T {
  const nl = NetlinkSocket.open(netns ? { netns } : {});
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}

/** stat of the plugin's own (the host's) network namespace: nsfs's device and the namespace's inode. */
function hostNetnsStat(): Stats {
  return statSync("/proc/self/ns/net");
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Whether `netns` is the host's own network namespace (false when it cannot be looked at). */
export function isHostNetns(netns: string): boolean {
  try {
    return sameFile(statSync(netns), hostNetnsStat());
  } catch {
    return false;
  }
}

/** What a file that is not a network namespace is, for the error message. */
function kindOf(path: string, st: Stats, nsfs: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.dev !== nsfs.dev) return "a regular file";
  // A namespace of another kind: name it when it is one of ours (/proc/self/ns/mnt, say).
  try {
    for (const k of readdirSync("/proc/self/ns")) {
      if (sameFile(statSync(`/proc/self/ns/${k}`), st)) return `a ${k} namespace`;
    }
  } catch {
    // unnamed below
  }
  return `a namespace of another kind (${path})`;
}

/**
 * Opens CNI_NETNS for use as IFLA_NET_NS_FD, before anything is done (IPAM included). Code 3 (unknown
 * container) when it does not exist or cannot be opened; code 4 (invalid environment variable) when it is
 * not a network namespace (a file, a folder, another kind of namespace) or is the host's own one, into
 * which the netdev cannot be "moved" (and from which no DEL could bring it home).
 */
export function openPodNetns(netns: string): number {
  const cannot = (e: unknown) => new CniError(CNI_ERR.UNKNOWN_CONTAINER, `Cannot open the container's network namespace '${netns}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  const notNet = (what: string) => new CniError(CNI_ERR.INVALID_ENV, `CNI_NETNS '${netns}' is not a network namespace: it is ${what}`);
  let st: Stats;
  try {
    st = statSync(netns);
  } catch (e) {
    throw cannot(e);
  }
  const host = hostNetnsStat();
  // Namespace files are regular (empty) files of nsfs: never open a FIFO or a device to find out.
  if (!st.isFile() || st.dev !== host.dev) throw notNet(kindOf(netns, st, host));
  if (sameFile(st, host)) {
    throw new CniError(CNI_ERR.INVALID_ENV, `CNI_NETNS '${netns}' is the host's network namespace (the plugin's own): the netdev cannot be moved into the container`);
  }
  let fd: number;
  try {
    fd = openSync(netns, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw cannot(e);
  }
  try {
    // setns(CLONE_NEWNET) refuses (EINVAL) any other kind of namespace.
    withNetns(netns, () => undefined);
  } catch (e) {
    closeSync(fd);
    if ((e as { code?: string }).code === "EINVAL") throw notNet(kindOf(netns, st, host));
    throw cannot(e);
  }
  return fd;
}

/** Code 100 for `dev` missing on the host, saying where it is when that is known. */
export function notOnHost(dev: string, netnsPath: string, holder?: string): CniError {
  const inPod = safeFind(netnsPath, dev);
  const where = inPod ? `it is already in ${netnsPath}` : holder ? `it is attached to ${holder}` : "no netdev of that name";
  return new CniError(CNI_ERR.DEVICE_NOT_FOUND, `Device '${dev}' is not in the host network namespace: ${where}`);
}

/**
 * Moves `dev` from this (the host) namespace into `netnsFd`'s and sets it up there. Returns the netdev
 * as it was on the host. Code 100 when it is not on the host, 102 when netlink refuses.
 */
export function moveIn(dev: string, netnsFd: number, netnsPath: string): Link {
  return withSocket(undefined, (nl) => {
    const link = findLink(nl, dev);
    if (!link) throw notOnHost(dev, netnsPath);
    try {
      setLinkNetns(nl, link.index, { fd: netnsFd });
    } catch (e) {
      const hint = (e as { code?: string }).code === "EEXIST" ? `the container already has a netdev named '${dev}'` : "";
      throw netdevError(`Cannot move '${dev}' into ${netnsPath}`, e, hint);
    }
    try {
      withSocket(netnsPath, (nlIn) => setLinkUp(nlIn, dev));
    } catch (e) {
      throw netdevError(`Cannot set '${dev}' up in ${netnsPath}`, e);
    }
    return link;
  });
}

function safeFind(netns: string, dev: string): Link | undefined {
  try {
    return withSocket(netns, (nl) => findLink(nl, dev));
  } catch {
    return undefined;
  }
}

/** Adds IPAM's addresses and routes to `dev` inside `netnsPath`. */
export function configureInside(netnsPath: string, dev: string, r: { ips: CniIp[]; routes: CniRoute[] }): void {
  withSocket(netnsPath, (nl) => {
    let gw4: string | undefined;
    let gw6: string | undefined;
    for (const ip of r.ips) {
      const v4 = isIPv4(ip.address.slice(0, ip.address.indexOf("/")));
      const len = Number(ip.address.slice(ip.address.indexOf("/") + 1));
      try {
        addAddr(nl, dev, ip.address, v4 ? (len < 31 ? { broadcast: "auto" } : {}) : { nodad: true });
      } catch (e) {
        throw netdevError(`Cannot add address ${ip.address} to '${dev}' in ${netnsPath}`, e);
      }
      if (ip.gateway !== undefined) {
        if (v4) gw4 ??= ip.gateway;
        else gw6 ??= ip.gateway;
      }
    }
    for (const rt of r.routes) {
      const v4 = isIPv4(rt.dst.slice(0, rt.dst.indexOf("/")));
      const gateway = rt.gw ?? (v4 ? gw4 : gw6);
      try {
        addRoute(nl, {
          dst: rt.dst, dev,
          ...(gateway !== undefined ? { gateway } : {}),
          ...(rt.priority !== undefined ? { metric: rt.priority } : {}),
          ...(rt.table !== undefined ? { table: rt.table } : {}),
          ...(rt.scope !== undefined ? { scope: rt.scope } : {}),
        });
      } catch (e) {
        if ((e as { code?: string }).code === "EEXIST") continue;
        throw netdevError(`Cannot add route ${rt.dst}${gateway ? ` via ${gateway}` : ""} on '${dev}' in ${netnsPath}`, e);
      }
    }
  });
}

export type HomeOutcome = "moved" | "home" | "gone";

function sameMac(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}

/**
 * The netdev with MAC `mac` among `links`, whatever its name: the one not stacked on another match (a
 * VLAN shares its parent's MAC), preferring the one named `dev`; undefined when none or ambiguous.
 */
function byMac(links: Link[], mac: string, dev: string): Link | undefined {
  const all = links.filter((l) => sameMac(l.mac, mac));
  const roots = all.filter((l) => !all.some((p) => p !== l && p.index === l.link && l.linkNetnsId === undefined));
  return roots.find((l) => l.name === dev) ?? (roots.length === 1 ? roots[0] : undefined);
}

/** Renames `l` to `dev` (taking it down first: the kernel renames only netdevs that are down). */
function nameBack(nl: NetlinkSocket, l: Link, dev: string, where: string): void {
  try {
    if (l.up) setLinkUp(nl, l.index, false);
    renameLink(nl, l.index, dev);
  } catch (e) {
    throw netdevError(`Cannot name '${l.name}' (MAC ${l.mac ?? "?"}) back to '${dev}' ${where}`, e);
  }
}

/**
 * Brings `dev` back to this (the host) namespace from `netnsPath` (when that still exists, is not the
 * host's own, and holds it), restores its up state, and names it back if it was renamed in the pod or by
 * the kernel on the way home. With `mac`, the netdev is found by its MAC first (the pod may have renamed
 * it), then by name. "home" when it already was on the host, "gone" when it is nowhere to be found (a veth
 * dies with its namespace). Without `mac` and `hostUp`, a netdev already on the host is left as it is.
 */
export function moveHome(dev: string, netnsPath: string | undefined, opts: { mac?: string; hostUp?: boolean } = {}): HomeOutcome {
  const hostFd = openSync("/proc/thread-self/ns/net", "r");
  try {
    return withSocket(undefined, (host) => {
      let moved: string | undefined; // the name it came home under
      if (netnsPath && existsSync(netnsPath) && !isHostNetns(netnsPath)) {
        let inPod: NetlinkSocket | undefined;
        try {
          inPod = NetlinkSocket.open({ netns: netnsPath });
        } catch {
          inPod = undefined; // not a namespace any more
        }
        if (inPod) {
          try {
            let l = (opts.mac ? byMac(listLinks(inPod), opts.mac, dev) : undefined) ?? findLink(inPod, dev);
            if (l) {
              if (l.name !== dev && !findLink(inPod, dev)) {
                nameBack(inPod, l, dev, `in ${netnsPath}`);
                l = findLink(inPod, l.index) ?? l;
              }
              if (findLink(host, l.name)) {
                throw new CniError(CNI_ERR.NETDEV_FAILED, `Cannot move '${dev}'${l.name !== dev ? ` (renamed '${l.name}' in the pod)` : ""} home from ${netnsPath}: the host already has a netdev named '${l.name}'`);
              }
              try {
                setLinkNetns(inPod, l.index, { fd: hostFd });
              } catch (e) {
                throw netdevError(`Cannot move '${dev}'${l.name !== dev ? ` (renamed '${l.name}' in the pod)` : ""} home from ${netnsPath}`, e);
              }
              moved = l.name;
            }
          } finally {
            inPod.close();
          }
        }
      }
      let h = findLink(host, dev);
      if (!h && moved !== undefined) {
        const m = findLink(host, moved);
        if (!m) throw new CniError(CNI_ERR.NETDEV_FAILED, `'${dev}' (as '${moved}') left ${netnsPath} but is not on the host`);
        nameBack(host, m, dev, "on the host");
        h = findLink(host, dev);
      }
      if (!h && opts.mac) {
        // Handed back by the kernel when its namespace died: under its pod name, or `dev<N>` if taken.
        // Masters take a port's MAC: never theirs.
        const r = byMac(listLinks(host).filter((l) => !["bridge", "bond", "team", "openvswitch"].includes(l.kind ?? "")), opts.mac, dev);
        if (r) {
          nameBack(host, r, dev, "on the host");
          h = findLink(host, dev);
        }
      }
      if (!h) return "gone";
      if (opts.hostUp !== undefined && h.up !== opts.hostUp) {
        try {
          setLinkUp(host, h.index, opts.hostUp);
        } catch (e) {
          throw netdevError(`Cannot set '${dev}' ${opts.hostUp ? "up" : "down"} on the host`, e);
        }
      }
      return moved !== undefined ? "moved" : "home";
    });
  } finally {
    closeSync(hostFd);
  }
}

/** Whether the host namespace has `dev`. */
export function onHost(dev: string): Link | undefined {
  return withSocket(undefined, (nl) => findLink(nl, dev));
}

/** `dev` inside `netnsPath`: the netdev, its addresses and routes; undefined when it is not there. */
export function inspectInside(netnsPath: string, dev: string): { link: Link; addrs: Addr[]; routes: Route[] } | undefined {
  return withSocket(netnsPath, (nl) => {
    const link = findLink(nl, dev);
    if (!link) return undefined;
    return { link, addrs: listAddrs(nl, { dev: link.index }), routes: listRoutes(nl, { dev: link.index }) };
  });
}
