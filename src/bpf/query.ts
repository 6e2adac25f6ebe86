/**
 * What XDP program is attached to a netdev, in which mode, and whether by a BPF link (with its id) or the
 * netlink way; and {@link detachAny} to remove whatever is there (the CNI's DEL needs it).
 *
 * Netlink side: RTM_GETLINK's IFLA_XDP nest (IFLA_XDP_ATTACHED, IFLA_XDP_PROG_ID, IFLA_XDP_DRV_PROG_ID,
 * IFLA_XDP_SKB_PROG_ID, IFLA_XDP_HW_PROG_ID; include/uapi/linux/if_link.h). Link side: BPF_LINK_GET_NEXT_ID,
 * BPF_LINK_GET_FD_BY_ID and BPF_OBJ_GET_INFO_BY_FD (`struct bpf_link_info`, xdp.ifindex; uapi/linux/bpf.h).
 *
 * Link ids are global while ifindexes are per namespace: a link belongs to the netdev when its ifindex
 * and program id both match what netlink reports for the netdev.
 *
 * @example
 * const q = queryXdp("eth1");     // { ifindex, name, attachments: [{ mode: "drv", progId: 42, linkId: 7 }] }
 * detachAny("eth1");
 */
import { sys } from "../sys/native.js";
import type { SysError } from "../sys/errno.js";
import { NetlinkSocket } from "../netlink/socket.js";
import { getLink, setLinkXdp, type Dev, type Link } from "../netlink/link.js";
import { BpfCmd, bpfCall, fdById, newAttr, nextIds, objInfo } from "./syscall.js";

/** Where an XDP program runs: in the driver (native), on the skb path (generic), or offloaded. */
export type XdpMode = "drv" | "skb" | "hw";

/** XDP_FLAGS_* of a mode (if_link.h); "auto" lets the kernel choose drv when the driver supports it. */
export function xdpModeFlags(mode: XdpMode | "auto"): number {
  switch (mode) {
    case "skb": return 1 << 1; // XDP_FLAGS_SKB_MODE
    case "drv": return 1 << 2; // XDP_FLAGS_DRV_MODE
    case "hw": return 1 << 3; // XDP_FLAGS_HW_MODE
    case "auto": return 0;
  }
}

/** enum bpf_link_type values. */
export const LinkType = { XDP: 6 } as const;

/** struct bpf_link_info; `ifindex` is set for XDP links (0 once detached or the netdev is gone). */
export interface LinkInfo {
  type: number;
  id: number;
  progId: number;
  ifindex: number;
}

/** Reads struct bpf_link_info of a link fd. */
export function linkInfoByFd(fd: number): LinkInfo {
  const info = new Uint8Array(48); // sizeof(struct bpf_link_info), 6.1
  objInfo(fd, info, "link");
  const dv = new DataView(info.buffer);
  const type = dv.getUint32(0, true);
  return { type, id: dv.getUint32(4, true), progId: dv.getUint32(8, true), ifindex: type === LinkType.XDP ? dv.getUint32(16, true) : 0 };
}

/** Every BPF link of type XDP in the system (of all namespaces). */
export function listXdpLinks(): LinkInfo[] {
  const out: LinkInfo[] = [];
  for (const id of nextIds(BpfCmd.LINK_GET_NEXT_ID, "link")) {
    let fd: number;
    try {
      fd = fdById(BpfCmd.LINK_GET_FD_BY_ID, id, "link");
    } catch (e) {
      // Went away meanwhile (ENOENT), or is being set up or torn down by someone else (EAGAIN: the
      // kernel has cleared or not yet given it its id): not a settled attachment either way.
      const code = (e as SysError).code;
      if (code === "ENOENT" || code === "EAGAIN") continue;
      throw e;
    }
    try {
      const info = linkInfoByFd(fd);
      if (info.type === LinkType.XDP) out.push(info);
    } finally {
      sys.close(fd);
    }
  }
  return out;
}

/** One XDP program on a netdev. */
export interface XdpAttachment {
  mode: XdpMode;
  progId: number;
  /** The BPF link holding it; undefined when it was attached the netlink way. */
  linkId?: number;
}

/** A netdev's XDP state. */
export interface XdpQuery {
  ifindex: number;
  name: string;
  /** Empty when nothing is attached; two entries when drv and skb programs coexist. */
  attachments: XdpAttachment[];
}

/** The programs IFLA_XDP reports for a link message. */
function fromNetlink(link: Link): XdpAttachment[] {
  const x = link.xdp;
  if (!x || x.attached === 0) return [];
  const out: XdpAttachment[] = [];
  if (x.drvProgId) out.push({ mode: "drv", progId: x.drvProgId });
  if (x.skbProgId) out.push({ mode: "skb", progId: x.skbProgId });
  if (x.hwProgId) out.push({ mode: "hw", progId: x.hwProgId });
  return out;
}

function withSocket<T>(nl: NetlinkSocket | undefined, fn: (nl: NetlinkSocket) => T): T {
  if (nl) return fn(nl);
  const own = NetlinkSocket.open();
  try {
    return fn(own);
  } finally {
    own.close();
  }
}

/**
 * What is attached to netdev `dev` (name or ifindex; looked up in the namespace of `opts.nl`, else the
 * calling thread's).
 */
export function queryXdp(dev: Dev, opts: { nl?: NetlinkSocket } = {}): XdpQuery {
  return withSocket(opts.nl, (nl) => {
    const link = getLink(nl, dev);
    const attachments = fromNetlink(link);
    if (attachments.length > 0) {
      const links = listXdpLinks().filter((l) => l.ifindex === link.index);
      for (const a of attachments) {
        const l = links.find((x) => x.progId === a.progId);
        if (l) a.linkId = l.id;
      }
    }
    return { ifindex: link.index, name: link.name, attachments };
  });
}

/** The attachments of an ifindex in the calling thread's namespace (for error messages). */
export function xdpAttachments(ifindex: number): XdpAttachment[] {
  return queryXdp(ifindex).attachments;
}

/** "prog id 42, mode drv, link id 7" for each attachment. */
export function describeAttached(list: XdpAttachment[]): string {
  return list.map((a) => `id ${a.progId}, mode ${a.mode}${a.linkId !== undefined ? `, link id ${a.linkId}` : ", by netlink"}`).join("; ");
}

/**
 * Removes every XDP program from netdev `dev`: link-held ones by BPF_LINK_DETACH (the link turns defunct
 * for whoever holds it), netlink ones by IFLA_XDP_FD = -1 with their mode's flag. Returns what was
 * removed (empty when nothing was attached). Throws if something is still attached afterwards.
 */
export function detachAny(dev: Dev, opts: { nl?: NetlinkSocket } = {}): XdpAttachment[] {
  return withSocket(opts.nl, (nl) => {
    const q = queryXdp(dev, { nl });
    for (const a of q.attachments) {
      if (a.linkId !== undefined) {
        detachLinkById(a.linkId, q.name);
      } else {
        setLinkXdp(nl, q.ifindex, -1, xdpModeFlags(a.mode));
      }
    }
    const left = queryXdp(q.ifindex, { nl }).attachments;
    if (left.length > 0) throw new Error(`detach xdp from netdev ${q.name}: still attached (${describeAttached(left)})`);
    return q.attachments;
  });
}

function detachLinkById(id: number, name: string): void {
  let fd: number;
  try {
    fd = fdById(BpfCmd.LINK_GET_FD_BY_ID, id, "link");
  } catch (e) {
    const code = (e as SysError).code;
    if (code === "ENOENT" || code === "EAGAIN") return; // closed meanwhile (or being freed): detached with it
    throw e;
  }
  try {
    const { attr, dv } = newAttr();
    dv.setUint32(0, fd, true); // link_detach.link_fd
    bpfCall(BpfCmd.LINK_DETACH, attr, () => `detach xdp link id ${id} from netdev ${name}`);
  } finally {
    sys.close(fd);
  }
}
