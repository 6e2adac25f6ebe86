/**
 * The XDP side of an AF_XDP port: the XSK redirect program on a netdev, and a socket's slot in its XSKMAP.
 *
 * {@link acquireXdpProgram} attaches the program through a BPF link once per (network namespace, netdev,
 * mode) in this process; the sockets on the netdev's queues share it, and the last release() detaches it.
 * A link also detaches by itself when the process dies, so a crashed forwarder leaves no program behind.
 * Another program over the same XSKMAP (the l3fwd XDP fast path) can take the redirect program's place
 * behind the link with `replace()` (BPF_LINK_UPDATE, atomic) and give it back with `restore()`.
 *
 * @example
 * const ref = acquireXdpProgram("eth1", "drv");
 * const slot = XskMapSlot.insert(ref.mapFd, xsk.qid, xsk.fd, "port0");
 * // ...
 * ref.replace(prog);   // a program over ref.mapFd (the l3fwd fast path) runs instead
 * ref.restore();       // the redirect program again
 * slot.remove();
 * ref.release();
 */
import { readlinkSync } from "node:fs";
import { BpfMap, XSKMAP_EXPECT } from "../bpf/map.js";
import { XdpLink } from "../bpf/link.js";
import { progInfoByFd, type Program } from "../bpf/prog.js";
import { loadXskRedirect, type XskRedirect } from "../bpf/xsk-redirect.js";
import { trace } from "../sys/trace.js";

/** A reference to the redirect program attached to a netdev; release() drops it (detaching at zero). */
export interface XdpProgramRef {
  readonly ifname: string;
  readonly mode: "drv" | "skb";
  /** The XSKMAP's fd (owned by the program's entry: valid until the last release()). */
  readonly mapFd: number;
  /** Whether the redirect program was loaded frags-aware (multi-buffer frames; see acquireXdpProgram). */
  readonly frags: boolean;
  /**
   * Puts `prog` on the netdev in place of the XSK redirect program, through the same link (BPF_LINK_UPDATE:
   * atomic, every frame runs one program or the other). `prog` must use this netdev's XSKMAP ({@link mapFd})
   * to hand frames to the sockets (checked: TypeError otherwise). It applies to every reference of the
   * attachment; the link keeps `prog` loaded until {@link restore} or the last release().
   */
  replace(prog: Program | number): void;
  /** Puts the XSK redirect program back (nothing to do when it is there). */
  restore(): void;
  /** The id of the program replacing the redirect program, or undefined when the redirect program runs. */
  readonly replacedBy: number | undefined;
  release(): void;
}

interface Attached {
  key: string;
  redirect: XskRedirect;
  link: XdpLink;
  refs: number;
  /** The id of the program replace() put there; undefined while the redirect program runs. */
  replacedBy: number | undefined;
  frags: boolean;
}

// Programs this process attached, by "netns/ifname/mode". Created on first use; nothing runs at import.
let attached: Map<string, Attached> | undefined;

/** "net:[4026531840]": the calling thread's network namespace (netdev names are per namespace). */
function netnsOfThread(): string {
  return readlinkSync("/proc/thread-self/ns/net");
}

/**
 * Attaches the XSK redirect program to netdev `ifname` in the calling thread's namespace, or takes another
 * reference to the one this process already attached there in that mode. `frags` loads it frags-aware
 * (BPF_F_XDP_HAS_FRAGS) for multi-buffer sockets: a frags-aware program also serves single-buffer
 * sockets, but one attached without it cannot serve a multi-buffer socket, so asking for frags where this
 * process attached a program without them is an error (open a netdev's multi-buffer ports first).
 */
export function acquireXdpProgram(ifname: string, mode: "drv" | "skb", log?: (m: string) => void, opts: { frags?: boolean } = {}): XdpProgramRef {
  const table = (attached ??= new Map());
  const key = `${netnsOfThread()}/${ifname}/${mode}`;
  let a = table.get(key);
  const frags = opts.frags ?? false;
  if (a && frags && !a.frags) {
    throw new Error(`${ifname}: the XSK redirect program this process attached in ${mode} mode is not frags-aware, and a multi-buffer socket needs one; open the netdev's multi_buffer ports before its other ports`);
  }
  if (!a) {
    const redirect = loadXskRedirect({ frags });
    let link: XdpLink;
    try {
      link = XdpLink.attach(redirect.prog, ifname, { mode });
    } catch (e) {
      redirect.close();
      throw e;
    }
    a = { key, redirect, link, refs: 0, replacedBy: undefined, frags };
    table.set(key, a);
    log?.(`${ifname}: XSK redirect program attached in ${mode} mode${frags ? ", frags-aware" : ""} (link fd ${link.fd})`);
    trace("bpf", () => `${ifname}: attached xsk redirect (${mode})`);
  }
  a.refs++;
  const entry = a;
  let released = false;
  const live = (op: string): void => {
    if (released) throw new Error(`XdpProgramRef.${op} (${ifname}, ${mode}): the reference was released`);
  };
  return {
    ifname,
    mode,
    mapFd: entry.redirect.map.fd,
    frags: entry.frags,
    get replacedBy() {
      return entry.replacedBy;
    },
    replace(prog: Program | number) {
      live("replace");
      const fd = typeof prog === "number" ? prog : prog.fd;
      const info = progInfoByFd(fd);
      const mapId = entry.redirect.map.id;
      if (!info.mapIds.includes(mapId)) {
        throw new TypeError(`replace the XSK redirect program on ${ifname} (${mode}) with program '${info.name}' (id ${info.id}): it does not use the netdev's XSKMAP (map id ${mapId}; it uses ${info.mapIds.length > 0 ? info.mapIds.join(", ") : "no maps"})`);
      }
      if (entry.replacedBy === info.id) return;
      entry.link.update(fd);
      entry.replacedBy = info.id;
      log?.(`${ifname}: program '${info.name}' (id ${info.id}) replaces the XSK redirect program (${mode})`);
      trace("bpf", () => `${ifname}: replaced xsk redirect by prog id ${info.id} (${mode})`);
    },
    restore() {
      live("restore");
      if (entry.replacedBy === undefined) return;
      entry.link.update(entry.redirect.prog);
      entry.replacedBy = undefined;
      log?.(`${ifname}: XSK redirect program restored (${mode})`);
      trace("bpf", () => `${ifname}: restored xsk redirect (${mode})`);
    },
    release() {
      if (released) return;
      released = true;
      if (--entry.refs > 0) return;
      table.delete(entry.key);
      entry.link.close();
      entry.redirect.close();
      trace("bpf", () => `${ifname}: detached xsk redirect (${mode})`);
    },
  };
}

/** The programs this process holds attached, as "net:[inode]/ifname/mode" (for tests and shutdown checks). */
export function attachedPrograms(): string[] {
  return attached ? [...attached.keys()] : [];
}

/**
 * A socket's entry in an XSKMAP: key = queue id, value = socket fd. remove() deletes it.
 *
 * @example
 * // mapFd: an XSKMAP from the device plugin (or BpfMap.fromPin(...).fd)
 * const xsk = XskSocket.create({ ifname: "eth0", qid: 3, mempool });
 * const slot = XskMapSlot.insert(mapFd, xsk.qid, xsk.fd, "eth0:3"); // frames of queue 3 -> this socket
 * // ...
 * slot.remove();
 * xsk.close();
 */
export class XskMapSlot {
  private removed = false;
  private constructor(private readonly map: BpfMap, private readonly qid: number) {}

  /** Inserts `xskFd` at `qid` in the XSKMAP `mapFd` (the fd stays the caller's). */
  static insert(mapFd: number, qid: number, xskFd: number, name: string): XskMapSlot {
    // fromFd checks that the fd is an XSKMAP. The BpfMap is a view over the caller's fd: it is never
    // closed here (neither on failure nor by remove()); the fd's owner closes it.
    const map = BpfMap.fromFd(mapFd, XSKMAP_EXPECT);
    try {
      map.updateU32(qid, xskFd);
    } catch (e) {
      const err = e as Error;
      err.message = `insert ${name} (queue ${qid}) into XSKMAP fd ${mapFd}: ${err.message}`;
      throw err;
    }
    return new XskMapSlot(map, qid);
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    try {
      this.map.deleteU32(this.qid);
    } catch { /* the map or program is already gone */ }
  }
}
