/**
 * IPv4 and IPv6 routes over rtnetlink: list, add, delete (destination prefix, gateway, device, metric,
 * preferred source, table).
 *
 * Layouts from include/uapi/linux/rtnetlink.h (struct rtmsg, RTA_*, RTN_*, RTPROT_*, RT_SCOPE_*,
 * RT_TABLE_*).
 *
 * @example
 * addRoute(nl, { dst: "default", gateway: "10.56.0.1", dev: "eth1" });
 * addRoute(nl, { dst: "10.57.0.0/16", dev: "eth1" });   // on-link: scope link
 */
import { AttrWriter, Attrs } from "./attr.js";
import { NLM_F, type NetlinkSocket, type NlMessage } from "./socket.js";
import { RTM, getLink, type Dev } from "./link.js";
import { afOf, familyOfAf, formatIp, parseCidr, parseIp, type IpFamily } from "./ip.js";

const RTA = { DST: 1, SRC: 2, IIF: 3, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;
export const RT_TABLE = { UNSPEC: 0, COMPAT: 252, DEFAULT: 253, MAIN: 254, LOCAL: 255 } as const;
export const RT_SCOPE = { UNIVERSE: 0, SITE: 200, LINK: 253, HOST: 254, NOWHERE: 255 } as const;
export const RTPROT = { UNSPEC: 0, KERNEL: 2, BOOT: 3, STATIC: 4 } as const;
export const RTN = { UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5, BLACKHOLE: 6, UNREACHABLE: 7, PROHIBIT: 8 } as const;
const RTM_F_CLONED = 0x200;
const RTMSG_LEN = 12;

/** One route as RTM_NEWROUTE describes it. */
export interface Route {
  family: IpFamily;
  /** "10.0.0.0/24"; the default route is "0.0.0.0/0" or "::/0". */
  dst: string;
  gateway?: string;
  /** ifindex of the output netdev. */
  oif?: number;
  table: number;
  protocol: number;
  scope: number;
  /** RTN_* route type. */
  type: number;
  priority?: number;
  prefsrc?: string;
}

/** Parses one RTM_NEWROUTE message (undefined for other families). */
export function parseRoute(m: NlMessage): Route | undefined {
  const dv = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const family = familyOfAf(dv.getUint8(0));
  if (!family) return undefined;
  const dstLen = dv.getUint8(1);
  const a = Attrs.parse(m.data, RTMSG_LEN);
  const dstBytes = a.get(RTA.DST);
  const dst = dstBytes ? formatIp(dstBytes) : family === 4 ? "0.0.0.0" : "::";
  const r: Route = {
    family,
    dst: `${dst}/${dstLen}`,
    table: a.u32(RTA.TABLE) ?? dv.getUint8(4),
    protocol: dv.getUint8(5),
    scope: dv.getUint8(6),
    type: dv.getUint8(7),
  };
  const gw = a.get(RTA.GATEWAY);
  if (gw) r.gateway = formatIp(gw);
  const oif = a.u32(RTA.OIF);
  if (oif !== undefined) r.oif = oif;
  const prio = a.u32(RTA.PRIORITY);
  if (prio !== undefined) r.priority = prio;
  const src = a.get(RTA.PREFSRC);
  if (src) r.prefsrc = formatIp(src);
  return r;
}

function indexOf(nl: NetlinkSocket, dev: Dev): number {
  return typeof dev === "number" ? dev : getLink(nl, dev).index;
}

/** Routes in the socket's namespace: table main unless `table` says otherwise (0 = all tables). */
export function listRoutes(nl: NetlinkSocket, filter: { family?: IpFamily; table?: number; dev?: Dev } = {}): Route[] {
  const w = new AttrWriter();
  const hdr = w.fixed(RTMSG_LEN);
  if (filter.family) hdr.setUint8(0, afOf(filter.family));
  const table = filter.table ?? RT_TABLE.MAIN;
  const oif = filter.dev === undefined ? undefined : indexOf(nl, filter.dev);
  return nl.dump(RTM.GETROUTE, w.finish(), "RTM_GETROUTE dump")
    .filter((m) => m.type === RTM.NEWROUTE && !(new DataView(m.data.buffer, m.data.byteOffset).getUint32(8, true) & RTM_F_CLONED))
    .map(parseRoute)
    .filter((r): r is Route => r !== undefined
      && (table === 0 || r.table === table)
      && (!filter.family || r.family === filter.family)
      && (oif === undefined || r.oif === oif));
}

/** A route to add or delete. */
export interface RouteSpec {
  /** "10.0.0.0/24", "fd00::/64", or "default" (family from the gateway, else IPv4). */
  dst: string;
  gateway?: string;
  dev?: Dev;
  /** Metric (RTA_PRIORITY). */
  metric?: number;
  /** Preferred source address. */
  src?: string;
  /** Routing table, default main (254). */
  table?: number;
  /** Scope; default link for on-link routes (no gateway), universe otherwise. */
  scope?: number;
  /** Protocol, default RTPROT_BOOT as `ip route add`. */
  protocol?: number;
}

function routeBody(nl: NetlinkSocket, spec: RouteSpec, del: boolean): AttrWriter {
  let family: IpFamily;
  let dstLen: number;
  let dstBytes: Uint8Array | undefined;
  if (spec.dst === "default") {
    family = spec.gateway ? parseCidr(spec.gateway).family : 4;
    dstLen = 0;
  } else {
    const c = parseCidr(spec.dst);
    family = c.family;
    dstLen = c.prefixLen;
    dstBytes = parseIp(c.address);
  }
  const table = spec.table ?? RT_TABLE.MAIN;
  const w = new AttrWriter();
  const hdr = w.fixed(RTMSG_LEN);
  hdr.setUint8(0, afOf(family));
  hdr.setUint8(1, dstLen);
  hdr.setUint8(4, table < 256 ? table : RT_TABLE.COMPAT);
  if (del) {
    hdr.setUint8(6, spec.scope ?? RT_SCOPE.NOWHERE); // any scope, as `ip route del`
  } else {
    hdr.setUint8(5, spec.protocol ?? RTPROT.BOOT);
    hdr.setUint8(6, spec.scope ?? (spec.gateway ? RT_SCOPE.UNIVERSE : RT_SCOPE.LINK));
    hdr.setUint8(7, RTN.UNICAST);
  }
  if (dstBytes && dstLen > 0) w.bytes(RTA.DST, dstBytes);
  if (spec.gateway) {
    const gw = parseIp(spec.gateway);
    if ((gw.length === 4 ? 4 : 6) !== family) throw new TypeError(`Route ${spec.dst}: gateway ${spec.gateway} is not IPv${family}`);
    w.bytes(RTA.GATEWAY, gw);
  }
  if (spec.dev !== undefined) w.u32(RTA.OIF, indexOf(nl, spec.dev));
  if (spec.metric !== undefined) w.u32(RTA.PRIORITY, spec.metric);
  if (spec.src) w.bytes(RTA.PREFSRC, parseIp(spec.src));
  if (table >= 256) w.u32(RTA.TABLE, table);
  return w;
}

function describe(spec: RouteSpec): string {
  return `${spec.dst}${spec.gateway ? ` via ${spec.gateway}` : ""}${spec.dev !== undefined ? ` dev ${spec.dev}` : ""}${spec.table ? ` table ${spec.table}` : ""}`;
}

/** Adds a route; EEXIST when the same route exists unless `replace`. */
export function addRoute(nl: NetlinkSocket, spec: RouteSpec, opts: { replace?: boolean } = {}): void {
  const flags = NLM_F.CREATE | (opts.replace ? NLM_F.REPLACE : NLM_F.EXCL);
  nl.request(RTM.NEWROUTE, flags, routeBody(nl, spec, false).finish(), `RTM_NEWROUTE ${describe(spec)}`);
}

/** Deletes a route; ESRCH when no route matches. */
export function deleteRoute(nl: NetlinkSocket, spec: RouteSpec): void {
  nl.request(RTM.DELROUTE, 0, routeBody(nl, spec, true).finish(), `RTM_DELROUTE ${describe(spec)}`);
}
