/**
 * `xdplane fwd l3fwd --xdp-fastpath`: the XDP fast path (src/bpf/l3fwd-fastpath.ts) in front of the
 * user-space l3fwd. It takes the place of each netdev's XSK redirect program behind the same BPF link
 * (the af_xdp ports' XSKMAP stays), mirrors every route and next hop of the user-space tables, forwards in
 * the kernel what it can (untagged IPv4 without options, not a fragment, TTL > 1, a route to one of the
 * app's ports) and hands the rest to the AF_XDP sockets, where the user-space l3fwd routes, drops and
 * counts it. Route changes go to both (routes.ts: all or nothing). `detach()` puts the redirect program
 * back before the ports close (they detach it with the last port, as without the fast path).
 *
 * Needs af_xdp ports that attached their own program (not the unprivileged modes, whose program belongs
 * to the device plugin).
 *
 * @example
 * const fp = FwdFastPath.attach(app.ports, app.netns, routes);
 * fp.counters(); // { forwarded, noRoute, ..., toUser }
 * fp.detach();
 */
import { AfXdpPort } from "../../pktdev/af-xdp.js";
import type { Lport } from "../../pktdev/lport.js";
import { acquireXdpProgram, type XdpProgramRef } from "../../xsk/xdp-prog.js";
import { L3fwdFastPath, type FastPathCounters, type FastPathPort } from "../../bpf/l3fwd-fastpath.js";
import { withNetns } from "../../netlink/netns.js";
import { sys } from "../../sys/native.js";
import { check } from "../../sys/errno.js";
import { parseMac } from "../../lookup/addr.js";
import type { L3fwdRoutes, RouteMirror } from "./routes.js";

/** One netdev the fast path runs on. */
export interface FastPathNetdev {
  netdev: string;
  mode: "drv" | "skb";
  /** The id of the fast path program on it. */
  progId: number;
}

/**
 * The fast path of a running l3fwd forwarder.
 *
 * @example
 * const fp = FwdFastPath.attach(ports, undefined, routes);
 * console.log(fp.netdevs); // [{ netdev: "eth0", mode: "drv", progId: 42 }]
 */
export class FwdFastPath implements RouteMirror {
  private readonly fp: L3fwdFastPath;
  private readonly refs: XdpProgramRef[];
  private readonly routes: L3fwdRoutes;
  private readonly netns: string | undefined;
  /** Where it runs. */
  readonly netdevs: FastPathNetdev[];
  private detached = false;

  private constructor(fp: L3fwdFastPath, refs: XdpProgramRef[], routes: L3fwdRoutes, netns: string | undefined, netdevs: FastPathNetdev[]) {
    this.fp = fp;
    this.refs = refs;
    this.routes = routes;
    this.netns = netns;
    this.netdevs = netdevs;
  }

  /**
   * Loads the fast path over the ports' netdevs, copies `routes` into it, then swaps it in on every
   * netdev. Throws (and leaves the redirect programs, the routes and the ports as they were) when a port
   * is not a privileged af_xdp port or anything fails.
   */
  static attach(ports: readonly Lport[], netns: string | undefined, routes: L3fwdRoutes, log?: (m: string) => void): FwdFastPath {
    const afx: AfXdpPort[] = ports.map((p, i) => {
      if (!(p instanceof AfXdpPort)) throw new Error(`--xdp-fastpath needs af_xdp ports: lport '${p.name}' (port ${i}) is ${p.driver}`);
      if (p.unprivileged) {
        throw new Error(`--xdp-fastpath needs ports whose XDP program this process attached: lport '${p.name}' (port ${i}) uses an XSKMAP it was given (xsk_pin_path / uds_path), whose program belongs to someone else`);
      }
      return p;
    });
    const inNs = <T>(fn: () => T): T => (netns ? withNetns(netns, fn) : fn());
    return inNs(() => {
      const refs: XdpProgramRef[] = [];
      const byKey = new Map<string, XdpProgramRef>();
      let fp: L3fwdFastPath | null = null;
      try {
        const txPorts: FastPathPort[] = afx.map((p) => ({
          ifindex: check(sys.ifNameToIndex(p.ifname), `if_nametoindex(${p.ifname})`),
          mac: parseMac(p.macAddr()),
        }));
        for (const p of afx) {
          const mode = p.skbMode ? "skb" : "drv";
          const key = `${p.ifname}/${mode}`;
          if (byKey.has(key)) continue;
          // Another reference to the attachment the port made (same namespace, netdev, mode).
          const ref = acquireXdpProgram(p.ifname, mode, log);
          refs.push(ref);
          byKey.set(key, ref);
        }
        fp = L3fwdFastPath.load({ xskMapFd: refs[0]!.mapFd, ports: txPorts, maxNextHops: routes.nextHops.capacity });
        const progs = refs.map((r) => fp!.programFor(r.mapFd));
        const self = new FwdFastPath(fp, refs, routes, netns, refs.map((r, i) => ({ netdev: r.ifname, mode: r.mode, progId: progs[i]!.id })));
        routes.setMirror(self);
        try {
          refs.forEach((r, i) => r.replace(progs[i]!));
        } catch (e) {
          routes.setMirror(null);
          for (const r of refs) r.restore();
          throw e;
        }
        return self;
      } catch (e) {
        fp?.close();
        for (const r of refs) r.release();
        throw e;
      }
    });
  }

  setNextHop(index: number, mac: Uint8Array, port: number): void {
    this.fp.setNextHop(index, mac, port);
  }

  addRoute(ip: number, depth: number, nextHop: number): void {
    this.fp.addRoute(ip, depth, nextHop);
  }

  deleteRoute(ip: number, depth: number): void {
    this.fp.deleteRoute(ip, depth);
  }

  /** The kernel side's counters (summed over CPUs). */
  counters(): FastPathCounters {
    return this.fp.counters();
  }

  /** The fast path's routes (to compare with the user-space table). */
  kernelRoutes(): { ip: number; depth: number; nextHop: number }[] {
    return this.fp.routes();
  }

  /** Whether the fast path still runs. */
  get attached(): boolean {
    return !this.detached;
  }

  /**
   * Puts the XSK redirect programs back, stops mirroring and frees the fast path (idempotent). Errors are
   * collected and thrown after everything was tried.
   */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    const errs: Error[] = [];
    this.routes.setMirror(null);
    const inNs = (fn: () => void): void => {
      try {
        if (this.netns) withNetns(this.netns, fn);
        else fn();
      } catch (e) {
        errs.push(e as Error);
      }
    };
    for (const r of this.refs) inNs(() => r.restore());
    this.fp.close();
    for (const r of this.refs) inNs(() => r.release());
    if (errs.length > 0) throw new Error(`--xdp-fastpath: restoring the XSK redirect program failed: ${errs.map((e) => e.message).join("; ")}`);
  }
}
