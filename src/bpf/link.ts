/**
 * XDP programs attached to a netdev through a BPF link (BPF_LINK_CREATE with attach type BPF_XDP): the
 * program stays attached while an fd or a pin holds the link, and detaches by itself when the last one
 * goes (so a crashed process leaves nothing behind unless it pinned the link).
 *
 * Layouts: uapi/linux/bpf.h (`link_create`, `link_detach` in `union bpf_attr`, `struct bpf_link_info`),
 * if_link.h (XDP_FLAGS_*). The kernel side is net/core/dev.c (dev_xdp_attach_link, bpf_xdp_link_*).
 *
 * @example
 * const link = XdpLink.attach(prog, "eth1", { mode: "drv" });
 * link.pin("/sys/fs/bpf/eth1_link");    // keep it after exit; XdpLink.fromPin() to reopen
 * link.close();
 */
import { unlinkSync } from "node:fs";
import { sys } from "../sys/native.js";
import { SysError } from "../sys/errno.js";
import { FdHandle } from "../sys/fd-handle.js";
import { ifIndex } from "../sys/netdev.js";
import type { Program } from "./prog.js";
import { BpfCmd, bpfCall, expectFdKind, fdById, newAttr, objGet, objPin } from "./syscall.js";
import { LinkType, describeAttached, linkInfoByFd, xdpAttachments, xdpModeFlags, type LinkInfo, type XdpMode } from "./query.js";

/** BPF_XDP (enum bpf_attach_type). */
export const BPF_XDP = 37;

/** BPF_F_REPLACE (uapi/linux/bpf.h): link_update.old_prog_fd names the program to replace. */
const BPF_F_REPLACE = 1 << 2;

export interface AttachOptions {
  /** Default "auto": drv when the driver has native XDP, else skb. */
  mode?: XdpMode | "auto";
}

/**
 * A BPF link holding an XDP program on a netdev, owning its fd: close it with `close()` or `using`; without
 * a pin or another fd that detaches the program.
 *
 * @example
 * const prog = Program.load({ type: ProgType.XDP, insns: new Asm().mov64(R0, XdpAction.PASS).exit(), name: "pass" });
 * const link = XdpLink.attach(prog, "eth0", { mode: "skb" }); // or "drv"; default "auto"
 * prog.close(); // the link keeps the program loaded
 * // ...
 * link.close(); // detaches it
 */
export class XdpLink extends FdHandle {
  /** The netdev's ifindex in the namespace the link was made in. */
  readonly ifindex: number;
  private pinned: string | undefined;

  private constructor(fd: number, ifindex: number) {
    super(fd);
    this.ifindex = ifindex;
  }

  /**
   * Attaches `prog` to netdev `dev` (name or ifindex, in the calling thread's namespace). Errors say what
   * is in the way: EBUSY/EEXIST name the program already attached and its mode, EOPNOTSUPP in drv mode
   * means the driver has no native XDP, ENODEV a missing netdev.
   */
  static attach(prog: Program | number, dev: string | number, opts: AttachOptions = {}): XdpLink {
    const ifindex = typeof dev === "number" ? dev : ifIndex(dev);
    const name = typeof dev === "string" ? dev : sys.ifIndexToName(ifindex);
    if (typeof name === "number") {
      // The kernel answers EINVAL for an unknown ifindex; say what it means.
      throw new SysError(`attach xdp (BPF_LINK_CREATE) to netdev ifindex ${ifindex}`, 19 /* ENODEV */, "no netdev with that ifindex in this network namespace");
    }
    const mode = opts.mode ?? "auto";
    const progFd = typeof prog === "number" ? prog : prog.fd;
    const { attr, dv } = newAttr();
    dv.setUint32(0, progFd, true); // link_create.prog_fd
    dv.setUint32(4, ifindex, true); // link_create.target_ifindex
    dv.setUint32(8, BPF_XDP, true); // link_create.attach_type
    dv.setUint32(12, xdpModeFlags(mode), true); // link_create.flags
    const fd = bpfCall(BpfCmd.LINK_CREATE, attr, () => `attach xdp (BPF_LINK_CREATE) to netdev ${name} (ifindex ${ifindex}) mode ${mode}`,
      (code) => attachHint(code, ifindex, name, mode));
    return FdHandle.closeOnThrow(fd, () => new XdpLink(fd, ifindex));
  }

  /** Takes ownership of an XDP link fd after checking it is one; when the check fails the fd stays the caller's. */
  static fromFd(fd: number): XdpLink {
    expectFdKind(fd, "link", "XdpLink.fromFd");
    const info = linkInfoByFd(fd);
    if (info.type !== LinkType.XDP) throw new TypeError(`XdpLink.fromFd: fd ${fd} is a BPF link of type ${info.type}, not XDP (${LinkType.XDP})`);
    return new XdpLink(fd, info.ifindex);
  }

  /** Opens the XDP link pinned at `path`. */
  static fromPin(path: string): XdpLink {
    const fd = objGet(path, "link");
    return FdHandle.closeOnThrow(fd, () => {
      const l = XdpLink.fromFd(fd);
      l.pinned = path;
      return l;
    });
  }

  /** Opens an XDP link by id (BPF_LINK_GET_FD_BY_ID). */
  static fromId(id: number): XdpLink {
    const fd = fdById(BpfCmd.LINK_GET_FD_BY_ID, id, "link");
    return FdHandle.closeOnThrow(fd, () => XdpLink.fromFd(fd));
  }

  /** The kernel's view: link id, program id, ifindex (0 after detach or when the netdev is gone). */
  info(): LinkInfo {
    return linkInfoByFd(this.fd);
  }

  /** Pins the link at `path` in a bpffs: the program then stays attached after close() and exit. */
  pin(path: string): void {
    objPin(this.fd, path, `xdp link (ifindex ${this.ifindex})`);
    this.pinned = path;
  }

  /** Removes the pin made by {@link pin} or opened by {@link fromPin} (or the one at `path`). */
  unpin(path = this.pinned): void {
    if (path === undefined) return;
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (path === this.pinned) this.pinned = undefined;
  }

  /**
   * Detaches the program now (BPF_LINK_DETACH), whoever else holds the link; the fd stays open (a
   * defunct link) until close().
   */
  detach(): void {
    const { attr, dv } = newAttr();
    dv.setUint32(0, this.fd, true); // link_detach.link_fd
    bpfCall(BpfCmd.LINK_DETACH, attr, () => `detach xdp link fd ${this.fd} (ifindex ${this.ifindex})`);
  }

  /**
   * Replaces the attached program atomically (BPF_LINK_UPDATE): each frame sees the old program or the
   * new one, the netdev never runs without one. With `expected`, only when that program is the one
   * attached (BPF_F_REPLACE; EPERM otherwise). The new program must be an XDP program loaded for BPF_XDP
   * (EINVAL otherwise).
   */
  update(prog: Program | number, opts: { expected?: Program | number } = {}): void {
    const newFd = typeof prog === "number" ? prog : prog.fd;
    const { attr, dv } = newAttr();
    dv.setUint32(0, this.fd, true); // link_update.link_fd
    dv.setUint32(4, newFd, true); // link_update.new_prog_fd
    if (opts.expected !== undefined) {
      dv.setUint32(8, BPF_F_REPLACE, true); // link_update.flags
      dv.setUint32(12, typeof opts.expected === "number" ? opts.expected : opts.expected.fd, true); // link_update.old_prog_fd
    }
    bpfCall(BpfCmd.LINK_UPDATE, attr, () => `update xdp link fd ${this.fd} (ifindex ${this.ifindex}) to program fd ${newFd}`, (code) =>
      code === "EPERM" && opts.expected !== undefined ? "the program attached is not the expected one"
      : code === "EINVAL" ? "is the new program an XDP program loaded with expected_attach_type BPF_XDP?"
      : code === "ENOLINK" ? "the link is detached (its netdev is gone or it was detached)" : undefined);
  }
}

function attachHint(code: string, ifindex: number, name: string, mode: string): string | undefined {
  switch (code) {
    case "EBUSY":
    case "EEXIST": {
      let what = "";
      try {
        what = describeAttached(xdpAttachments(ifindex));
      } catch { /* the query is only for the message */ }
      return what ? `netdev ${name} already has an XDP program attached (${what})` : `netdev ${name} already has an XDP program attached`;
    }
    case "ENODEV":
      return `netdev ${name} (ifindex ${ifindex}) does not exist in this network namespace`;
    case "EOPNOTSUPP":
      return mode === "drv" ? `netdev ${name} has no native (drv) XDP support; use mode "skb"` : `netdev ${name} does not support XDP mode ${mode}`;
    case "EINVAL":
      return "is the program an XDP program loaded with expected_attach_type BPF_XDP?";
    default:
      return undefined;
  }
}
