/**
 * The netdev side of the CNI over rtnetlink (src/netlink): move a netdev into a pod's network namespace
 * keeping its name, set it up, configure IPAM's addresses and routes inside (as libcni's
 * ipam.ConfigureIface does: a route without a gateway takes the gateway of its family's address); move
 * it back home; and look at it for CHECK.
 *
 * Moving a netdev between namespaces takes it down and drops its addresses; its XDP program stays
 * attached (a BPF link follows the netdev). When a namespace is destroyed, the kernel sends physical
 * netdevs back to the initial namespace, renamed `dev<N>` if their name is taken there, and deletes
 * virtual ones (veth): DEL finds a refunded netdev by its MAC and names it back.
 *
 * @example
 * const before = moveIn("ens1f0", "/var/run/netns/cni-1234");
 * configureInside("/var/run/netns/cni-1234", "ens1f0", result);
 * moveHome("ens1f0", "/var/run/netns/cni-1234", { mac: before.mac, hostUp: before.up });
 */
import { closeSync, existsSync, openSync } from "node:fs";
import { isIPv4 } from "node:net";
import { NetlinkSocket } from "../../netlink/socket.js";
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

/** Opens a namespace path for use as IFLA_NET_NS_FD; code 3 (unknown container) when it cannot be. */
export function openPodNetns(netns: string): number {
  try {
    return openSync(netns, "r");
  } catch (e) {
    throw new CniError(CNI_ERR.UNKNOWN_CONTAINER, `Cannot open the container's network namespace '${netns}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
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

/**
 * Brings `dev` back to this (the host) namespace from `netnsPath` (when that still exists and holds it),
 * restores its up state, and names it back if the kernel renamed it. "home" when it already was on the
 * host, "gone" when it is nowhere to be found (a veth dies with its namespace).
 */
export function moveHome(dev: string, netnsPath: string | undefined, opts: { mac?: string; hostUp?: boolean } = {}): HomeOutcome {
  const hostFd = openSync("/proc/thread-self/ns/net", "r");
  try {
    return withSocket(undefined, (host) => {
      let moved = false;
      if (netnsPath && existsSync(netnsPath)) {
        let inPod: NetlinkSocket | undefined;
        try {
          inPod = NetlinkSocket.open({ netns: netnsPath });
        } catch {
          inPod = undefined; // not a namespace any more
        }
        if (inPod) {
          try {
            const l = findLink(inPod, dev);
            if (l) {
              if (findLink(host, dev)) {
                throw new CniError(CNI_ERR.NETDEV_FAILED, `Cannot move '${dev}' home from ${netnsPath}: the host already has a netdev named '${dev}'`);
              }
              try {
                setLinkNetns(inPod, l.index, { fd: hostFd });
              } catch (e) {
                throw netdevError(`Cannot move '${dev}' home from ${netnsPath}`, e);
              }
              moved = true;
            }
          } finally {
            inPod.close();
          }
        }
      }
      let h = findLink(host, dev);
      if (!h && opts.mac) {
        // Refunded by the kernel under another name when its namespace died.
        const r = listLinks(host).find((l) => l.mac === opts.mac && /^dev\d+$/.test(l.name));
        if (r) {
          try {
            if (r.up) setLinkUp(host, r.index, false);
            renameLink(host, r.index, dev);
          } catch (e) {
            throw netdevError(`Cannot name '${r.name}' (MAC ${opts.mac}) back to '${dev}'`, e);
          }
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
      return moved ? "moved" : "home";
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
