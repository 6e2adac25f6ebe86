/**
 * Netdevs over rtnetlink: list and get (name, index, up, MTU, MAC, kind, queues, XDP state), counters, set
 * up/down, MTU, name, namespace, XDP program; create veth/dummy and delete.
 *
 * Layouts from include/uapi/linux/rtnetlink.h (RTM_*, struct ifinfomsg), if_link.h (IFLA_*, IFLA_XDP_*,
 * XDP_ATTACHED_*, struct rtnl_link_stats64), veth.h (VETH_INFO_PEER), and if.h (IFF_*).
 *
 * A netdev is named by index or by name; names are looked up in the socket's namespace.
 *
 * @example
 * const nl = NetlinkSocket.open();
 * try {
 *   setLinkNetns(nl, "eth1", { netns: "/var/run/netns/pod1" });
 * } finally { nl.close(); }
 */
import { closeSync } from "node:fs";
import { AttrWriter, Attrs } from "./attr.js";
import { NLM_F, type NetlinkSocket, type NlMessage } from "./socket.js";
import { openNetns } from "./netns.js";

export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
} as const;

export const IFLA = {
  ADDRESS: 1, BROADCAST: 2, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, TXQLEN: 13, OPERSTATE: 16,
  LINKINFO: 18, NET_NS_PID: 19, STATS64: 23, NET_NS_FD: 28, NUM_TX_QUEUES: 31, NUM_RX_QUEUES: 32, LINK_NETNSID: 37,
  XDP: 43, ALT_IFNAME: 53, PERM_ADDRESS: 54,
} as const;

const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;

/** IFLA_XDP nested attributes. */
export const IFLA_XDP = { FD: 1, ATTACHED: 2, FLAGS: 3, PROG_ID: 4, DRV_PROG_ID: 5, SKB_PROG_ID: 6, HW_PROG_ID: 7, EXPECTED_FD: 8 } as const;

/** XDP_FLAGS_* (if_link.h), for attaching by netlink or BPF link. */
export const XDP_FLAGS = { UPDATE_IF_NOEXIST: 1, SKB_MODE: 2, DRV_MODE: 4, HW_MODE: 8, REPLACE: 16 } as const;

/** IFLA_XDP_ATTACHED values. */
export const XDP_ATTACHED = { NONE: 0, DRV: 1, SKB: 2, HW: 3, MULTI: 4 } as const;

export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

const IFINFOMSG_LEN = 16;

/** What IFLA_XDP says about a netdev's XDP programs (ids 0 when none). */
export interface LinkXdp {
  /** XDP_ATTACHED_*: 0 none, 1 drv, 2 skb, 3 hw, 4 several modes at once. */
  attached: number;
  /** The program id when exactly one mode is in use. */
  progId: number;
  drvProgId: number;
  skbProgId: number;
  hwProgId: number;
}

/** One netdev as RTM_NEWLINK describes it. */
export interface Link {
  index: number;
  name: string;
  /** IFF_* flags. */
  flags: number;
  up: boolean;
  mtu: number;
  /** "aa:bb:cc:dd:ee:ff", or undefined for netdevs without a hardware address. */
  mac?: string;
  /** IFLA_INFO_KIND ("veth", "dummy", "bridge", ...), undefined for physical netdevs. */
  kind?: string;
  /** IFLA_OPERSTATE (RFC 2863: 2 down, 6 up, 0 unknown). */
  operstate?: number;
  numRxQueues?: number;
  numTxQueues?: number;
  /** The peer's namespace id (veth peer in another namespace), when the kernel reports one. */
  linkNetnsId?: number;
  /** ifindex of the peer/lower device (IFLA_LINK). */
  link?: number;
  master?: number;
  xdp?: LinkXdp;
}

/** The first eight counters of struct rtnl_link_stats64 (IFLA_STATS64); exact up to 2^53. */
export interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

/** A netdev: its ifindex or its name. */
export type Dev = number | string;

function macString(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

function parseMac(s: string): Uint8Array {
  const parts = s.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new SyntaxError(`Cannot parse MAC address '${s}': expected six hex bytes separated by ':'`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Parses one RTM_NEWLINK message. */
export function parseLink(m: NlMessage): Link {
  const dv = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const index = dv.getInt32(4, true);
  const flags = dv.getUint32(8, true);
  const a = Attrs.parse(m.data, IFINFOMSG_LEN);
  const link: Link = { index, name: a.str(IFLA.IFNAME) ?? "", flags, up: (flags & IFF_UP) !== 0, mtu: a.u32(IFLA.MTU) ?? 0 };
  const mac = a.get(IFLA.ADDRESS);
  if (mac && mac.length > 0) link.mac = macString(mac);
  const info = a.nested(IFLA.LINKINFO);
  const kind = info?.str(IFLA_INFO_KIND);
  if (kind !== undefined) link.kind = kind;
  const opt = (k: keyof Link, v: number | undefined) => {
    if (v !== undefined) (link as unknown as Record<string, number>)[k] = v;
  };
  opt("operstate", a.u8(IFLA.OPERSTATE));
  opt("numRxQueues", a.u32(IFLA.NUM_RX_QUEUES));
  opt("numTxQueues", a.u32(IFLA.NUM_TX_QUEUES));
  opt("linkNetnsId", a.s32(IFLA.LINK_NETNSID));
  opt("link", a.u32(IFLA.LINK));
  opt("master", a.u32(IFLA.MASTER));
  const x = a.nested(IFLA.XDP);
  if (x) {
    const attached = x.u8(IFLA_XDP.ATTACHED) ?? 0;
    const progId = x.u32(IFLA_XDP.PROG_ID) ?? 0;
    link.xdp = {
      attached,
      progId,
      drvProgId: x.u32(IFLA_XDP.DRV_PROG_ID) ?? (attached === XDP_ATTACHED.DRV ? progId : 0),
      skbProgId: x.u32(IFLA_XDP.SKB_PROG_ID) ?? (attached === XDP_ATTACHED.SKB ? progId : 0),
      hwProgId: x.u32(IFLA_XDP.HW_PROG_ID) ?? (attached === XDP_ATTACHED.HW ? progId : 0),
    };
  }
  return link;
}

function devName(dev: Dev): string {
  return typeof dev === "number" ? `ifindex ${dev}` : dev;
}

/** A request body: ifinfomsg selecting `dev` (by index, or IFLA_IFNAME when a name). */
function selectDev(dev: Dev, fill?: (hdr: DataView) => void): AttrWriter {
  const w = new AttrWriter();
  const hdr = w.fixed(IFINFOMSG_LEN);
  if (typeof dev === "number") hdr.setInt32(4, dev, true);
  fill?.(hdr);
  if (typeof dev === "string") {
    if (dev.length === 0 || dev.length > 15) throw new RangeError(`Invalid netdev name '${dev}': 1 to 15 characters`);
    w.str(IFLA.IFNAME, dev);
  }
  return w;
}

/** Every netdev in the socket's namespace. */
export function listLinks(nl: NetlinkSocket): Link[] {
  const w = new AttrWriter();
  w.fixed(IFINFOMSG_LEN);
  return nl.dump(RTM.GETLINK, w.finish(), "RTM_GETLINK dump").filter((m) => m.type === RTM.NEWLINK).map(parseLink);
}

function linkMessage(nl: NetlinkSocket, dev: Dev): NlMessage {
  const msgs = nl.request(RTM.GETLINK, 0, selectDev(dev).finish(), `RTM_GETLINK ${devName(dev)}`);
  const m = msgs.find((x) => x.type === RTM.NEWLINK);
  if (!m) throw new Error(`RTM_GETLINK ${devName(dev)}: no RTM_NEWLINK in the reply`);
  return m;
}

/** One netdev; throws a SysError with code ENODEV when it does not exist. */
export function getLink(nl: NetlinkSocket, dev: Dev): Link {
  return parseLink(linkMessage(nl, dev));
}

/**
 * A netdev's packet, byte, error and drop counters (IFLA_STATS64). What a driver counts where is its own
 * business: veth, for one, counts XDP frames its peer failed to queue in the sender's txDropped.
 */
export function linkStats(nl: NetlinkSocket, dev: Dev): LinkStats {
  const p = Attrs.parse(linkMessage(nl, dev).data, IFINFOMSG_LEN).get(IFLA.STATS64);
  if (!p || p.length < 64) throw new Error(`RTM_GETLINK ${devName(dev)}: no IFLA_STATS64 in the reply`);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const at = (i: number) => Number(dv.getBigUint64(i * 8, true));
  return {
    rxPackets: at(0), txPackets: at(1), rxBytes: at(2), txBytes: at(3),
    rxErrors: at(4), txErrors: at(5), rxDropped: at(6), txDropped: at(7),
  };
}

/** One netdev, or undefined when it does not exist. */
export function findLink(nl: NetlinkSocket, dev: Dev): Link | undefined {
  try {
    return getLink(nl, dev);
  } catch (e) {
    if ((e as { code?: string }).code === "ENODEV") return undefined;
    throw e;
  }
}

function change(nl: NetlinkSocket, w: AttrWriter, what: string): void {
  nl.request(RTM.NEWLINK, 0, w.finish(), what);
}

/** Sets a netdev up (or down). */
export function setLinkUp(nl: NetlinkSocket, dev: Dev, up = true): void {
  const w = selectDev(dev, (h) => {
    h.setUint32(8, up ? IFF_UP : 0, true); // ifi_flags
    h.setUint32(12, IFF_UP, true); // ifi_change
  });
  change(nl, w, `RTM_NEWLINK set ${up ? "up" : "down"} ${devName(dev)}`);
}

/** Sets a netdev's MTU. */
export function setLinkMtu(nl: NetlinkSocket, dev: Dev, mtu: number): void {
  change(nl, selectDev(dev).u32(IFLA.MTU, mtu), `RTM_NEWLINK set mtu ${mtu} ${devName(dev)}`);
}

/** Sets a netdev's MAC address. */
export function setLinkMac(nl: NetlinkSocket, dev: Dev, mac: string): void {
  change(nl, selectDev(dev).bytes(IFLA.ADDRESS, parseMac(mac)), `RTM_NEWLINK set address ${mac} ${devName(dev)}`);
}

/** Renames a netdev (it must be down). */
export function renameLink(nl: NetlinkSocket, dev: Dev, newName: string): void {
  if (newName.length === 0 || newName.length > 15) throw new RangeError(`Invalid netdev name '${newName}': 1 to 15 characters`);
  const index = typeof dev === "number" ? dev : getLink(nl, dev).index;
  change(nl, selectDev(index).str(IFLA.IFNAME, newName), `RTM_NEWLINK rename ${devName(dev)} to ${newName}`);
}

/** Where to move a netdev: an open namespace fd, a process's namespace, or a namespace path/name. */
export type NetnsTarget = { fd: number } | { pid: number } | { netns: string };

/** Moves a netdev into another network namespace (IFLA_NET_NS_FD or IFLA_NET_NS_PID). */
export function setLinkNetns(nl: NetlinkSocket, dev: Dev, target: NetnsTarget): void {
  if ("netns" in target) {
    const fd = openNetns(target.netns);
    try {
      change(nl, selectDev(dev).u32(IFLA.NET_NS_FD, fd), `RTM_NEWLINK set netns ${target.netns} ${devName(dev)}`);
    } finally {
      closeSync(fd);
    }
  } else if ("fd" in target) {
    change(nl, selectDev(dev).u32(IFLA.NET_NS_FD, target.fd), `RTM_NEWLINK set netns fd ${target.fd} ${devName(dev)}`);
  } else {
    change(nl, selectDev(dev).u32(IFLA.NET_NS_PID, target.pid), `RTM_NEWLINK set netns pid ${target.pid} ${devName(dev)}`);
  }
}

/**
 * Attaches XDP program `progFd` to a netdev the netlink way (IFLA_XDP_FD), or detaches with -1.
 * `flags` are {@link XDP_FLAGS} (mode, UPDATE_IF_NOEXIST, REPLACE with `expectedFd`).
 */
export function setLinkXdp(nl: NetlinkSocket, dev: Dev, progFd: number, flags = 0, expectedFd?: number): void {
  const w = selectDev(dev);
  const nest = w.begin(IFLA.XDP);
  w.s32(IFLA_XDP.FD, progFd);
  if (flags) w.u32(IFLA_XDP.FLAGS, flags);
  if (expectedFd !== undefined) w.s32(IFLA_XDP.EXPECTED_FD, expectedFd);
  w.end(nest);
  change(nl, w, progFd < 0 ? `RTM_NEWLINK detach xdp (flags 0x${flags.toString(16)}) ${devName(dev)}`
    : `RTM_NEWLINK attach xdp prog fd ${progFd} (flags 0x${flags.toString(16)}) ${devName(dev)}`);
}

/** A netdev to create. */
export interface LinkSpec {
  name: string;
  /** "veth" (needs `peer`), "dummy", or another kind that needs no IFLA_INFO_DATA. */
  kind: string;
  mtu?: number;
  mac?: string;
  numRxQueues?: number;
  numTxQueues?: number;
  /** Create it in another namespace (an open namespace fd). */
  netnsFd?: number;
  /** For veth: the peer's name, and optionally its namespace fd and queue counts. */
  peer?: { name: string; netnsFd?: number; numRxQueues?: number; numTxQueues?: number; mac?: string };
}

function linkAttrs(w: AttrWriter, s: { name: string; mtu?: number; mac?: string; numRxQueues?: number; numTxQueues?: number; netnsFd?: number }): void {
  if (s.name.length === 0 || s.name.length > 15) throw new RangeError(`Invalid netdev name '${s.name}': 1 to 15 characters`);
  w.str(IFLA.IFNAME, s.name);
  if (s.mtu !== undefined) w.u32(IFLA.MTU, s.mtu);
  if (s.mac !== undefined) w.bytes(IFLA.ADDRESS, parseMac(s.mac));
  if (s.numTxQueues !== undefined) w.u32(IFLA.NUM_TX_QUEUES, s.numTxQueues);
  if (s.numRxQueues !== undefined) w.u32(IFLA.NUM_RX_QUEUES, s.numRxQueues);
  if (s.netnsFd !== undefined) w.u32(IFLA.NET_NS_FD, s.netnsFd);
}

/** Creates a netdev (RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL): EEXIST when the name is taken. */
export function addLink(nl: NetlinkSocket, spec: LinkSpec): void {
  const w = new AttrWriter();
  w.fixed(IFINFOMSG_LEN);
  linkAttrs(w, spec);
  const info = w.begin(IFLA.LINKINFO);
  w.str(IFLA_INFO_KIND, spec.kind);
  if (spec.kind === "veth") {
    if (!spec.peer) throw new TypeError(`Cannot create veth '${spec.name}': no peer name`);
    const data = w.begin(IFLA_INFO_DATA);
    const peer = w.begin(VETH_INFO_PEER, false);
    w.fixed(IFINFOMSG_LEN);
    linkAttrs(w, spec.peer);
    w.end(peer);
    w.end(data);
  }
  w.end(info);
  const what = `RTM_NEWLINK create ${spec.kind} ${spec.name}${spec.peer ? ` peer ${spec.peer.name}` : ""}`;
  nl.request(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, w.finish(), what);
}

/** Deletes a netdev (a veth takes its peer with it). */
export function deleteLink(nl: NetlinkSocket, dev: Dev): void {
  nl.request(RTM.DELLINK, 0, selectDev(dev).finish(), `RTM_DELLINK ${devName(dev)}`);
}
