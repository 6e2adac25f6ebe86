/**
 * IPv4 and IPv6 addresses on netdevs over rtnetlink: list, add, delete.
 *
 * Layouts from include/uapi/linux/if_addr.h (struct ifaddrmsg, IFA_*, IFA_F_*) and rtnetlink.h.
 *
 * @example
 * addAddr(nl, "eth1", "10.56.0.5/24");
 * const mine = listAddrs(nl, { dev: "eth1", family: 4 });
 */
import { AttrWriter, Attrs } from "./attr.js";
import { NLM_F, type NetlinkSocket, type NlMessage } from "./socket.js";
import { RTM, getLink, type Dev } from "./link.js";
import { afOf, familyOfAf, formatIp, parseCidr, parseIp, type IpFamily } from "./ip.js";

const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, CACHEINFO: 6, FLAGS: 8 } as const;
/** IFA_F_* address flags. */
export const IFA_F = { SECONDARY: 0x01, NODAD: 0x02, DADFAILED: 0x08, TENTATIVE: 0x40, PERMANENT: 0x80, NOPREFIXROUTE: 0x200 } as const;

const IFADDRMSG_LEN = 8;

/** One address as RTM_NEWADDR describes it. */
export interface Addr {
  family: IpFamily;
  /** ifindex of the netdev. */
  index: number;
  /** The local address ("10.0.0.1", "fd00::1"). */
  address: string;
  prefixLen: number;
  /** "10.0.0.1/24". */
  cidr: string;
  /** RT_SCOPE_* (0 universe, 253 link, 254 host). */
  scope: number;
  /** IFA_F_* (from IFA_FLAGS when present: it has the bits that do not fit ifa_flags). */
  flags: number;
  label?: string;
  /** The peer address of a point-to-point address, when it differs from `address`. */
  peer?: string;
  broadcast?: string;
}

/** Parses one RTM_NEWADDR message (undefined for families other than IPv4/IPv6). */
export function parseAddr(m: NlMessage): Addr | undefined {
  const dv = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const family = familyOfAf(dv.getUint8(0));
  if (!family) return undefined;
  const prefixLen = dv.getUint8(1);
  const a = Attrs.parse(m.data, IFADDRMSG_LEN);
  const local = a.get(IFA.LOCAL);
  const addr = a.get(IFA.ADDRESS);
  const main = local ?? addr;
  if (!main) return undefined;
  const address = formatIp(main);
  const out: Addr = {
    family,
    index: dv.getUint32(4, true),
    address,
    prefixLen,
    cidr: `${address}/${prefixLen}`,
    scope: dv.getUint8(3),
    flags: a.u32(IFA.FLAGS) ?? dv.getUint8(2),
  };
  const label = a.str(IFA.LABEL);
  if (label !== undefined) out.label = label;
  if (local && addr && formatIp(addr) !== address) out.peer = formatIp(addr);
  const brd = a.get(IFA.BROADCAST);
  if (brd) out.broadcast = formatIp(brd);
  return out;
}

function indexOf(nl: NetlinkSocket, dev: Dev): number {
  return typeof dev === "number" ? dev : getLink(nl, dev).index;
}

/** Addresses in the socket's namespace, optionally of one netdev and/or family. */
export function listAddrs(nl: NetlinkSocket, filter: { dev?: Dev; family?: IpFamily } = {}): Addr[] {
  const w = new AttrWriter();
  const hdr = w.fixed(IFADDRMSG_LEN);
  if (filter.family) hdr.setUint8(0, afOf(filter.family));
  const index = filter.dev === undefined ? undefined : indexOf(nl, filter.dev);
  const what = `RTM_GETADDR dump${filter.dev !== undefined ? ` ${filter.dev}` : ""}`;
  return nl.dump(RTM.GETADDR, w.finish(), what)
    .filter((m) => m.type === RTM.NEWADDR)
    .map(parseAddr)
    .filter((a): a is Addr => a !== undefined && (index === undefined || a.index === index) && (!filter.family || a.family === filter.family));
}

export interface AddrOptions {
  /** IPv6: skip duplicate address detection (the address is usable at once). */
  nodad?: boolean;
  /** Replace an existing address instead of failing with EEXIST. */
  replace?: boolean;
  /** IPv4: the broadcast address, or "auto" for the prefix's last address. */
  broadcast?: string;
  /** Address scope (RT_SCOPE_*), default universe (0). */
  scope?: number;
  /** IFA_F_NOPREFIXROUTE: do not add the prefix route. */
  noPrefixRoute?: boolean;
}

function addrBody(index: number, cidr: string, opts: AddrOptions = {}): AttrWriter {
  const c = parseCidr(cidr);
  const w = new AttrWriter();
  const hdr = w.fixed(IFADDRMSG_LEN);
  hdr.setUint8(0, afOf(c.family));
  hdr.setUint8(1, c.prefixLen);
  hdr.setUint8(3, opts.scope ?? 0);
  hdr.setUint32(4, index, true);
  const ip = parseIp(c.address);
  w.bytes(IFA.LOCAL, ip);
  w.bytes(IFA.ADDRESS, ip);
  if (c.family === 4 && opts.broadcast !== undefined) {
    let brd: Uint8Array;
    if (opts.broadcast === "auto") {
      brd = ip.slice();
      const host = 32 - c.prefixLen;
      const v = ((((brd[0] ?? 0) << 24) | ((brd[1] ?? 0) << 16) | ((brd[2] ?? 0) << 8) | (brd[3] ?? 0)) | (host === 32 ? -1 : (1 << host) - 1)) >>> 0;
      brd = Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    } else {
      brd = parseIp(opts.broadcast);
    }
    w.bytes(IFA.BROADCAST, brd);
  }
  let flags = 0;
  if (opts.nodad) flags |= IFA_F.NODAD;
  if (opts.noPrefixRoute) flags |= IFA_F.NOPREFIXROUTE;
  if (flags) w.u32(IFA.FLAGS, flags);
  return w;
}

/** Adds an address ("10.0.0.1/24") to a netdev; EEXIST when present unless `replace`. */
export function addAddr(nl: NetlinkSocket, dev: Dev, cidr: string, opts: AddrOptions = {}): void {
  const w = addrBody(indexOf(nl, dev), cidr, opts);
  const flags = NLM_F.CREATE | (opts.replace ? NLM_F.REPLACE : NLM_F.EXCL);
  nl.request(RTM.NEWADDR, flags, w.finish(), `RTM_NEWADDR ${cidr} dev ${dev}`);
}

/** Deletes an address from a netdev; EADDRNOTAVAIL when absent. */
export function deleteAddr(nl: NetlinkSocket, dev: Dev, cidr: string): void {
  const w = addrBody(indexOf(nl, dev), cidr);
  nl.request(RTM.DELADDR, 0, w.finish(), `RTM_DELADDR ${cidr} dev ${dev}`);
}
