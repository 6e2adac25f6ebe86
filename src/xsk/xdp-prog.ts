/**
 * The XDP side of an AF_XDP port: the XSK redirect program on a netdev, and a socket's slot in its XSKMAP.
 *
 * {@link acquireXdpProgram} attaches the program through a BPF link once per (network namespace, netdev,
 * mode) in this process; the sockets on the netdev's queues share it, and the last release() detaches it.
 * A link also detaches by itself when the process dies, so a crashed forwarder leaves no program behind.
 *
 * @example
 * const prog = acquireXdpProgram("eth1", "drv");
 * const slot = XskMapSlot.insert(prog.mapFd, xsk.qid, xsk.fd, "port0");
 * // ...
 * slot.remove();
 * prog.release();
 */
import { readlinkSync } from "node:fs";
import { BpfMap, XSKMAP_EXPECT } from "../bpf/map.js";
import { XdpLink } from "../bpf/link.js";
import { loadXskRedirect, type XskRedirect } from "../bpf/xsk-redirect.js";
import { trace } from "../sys/trace.js";

/** A reference to the redirect program attached to a netdev; release() drops it (detaching at zero). */
export interface XdpProgramRef {
  readonly ifname: string;
  readonly mode: "drv" | "skb";
  /** The XSKMAP's fd (owned by the program's entry: valid until the last release()). */
  readonly mapFd: number;
  release(): void;
}

interface Attached {
  key: string;
  redirect: XskRedirect;
  link: XdpLink;
  refs: number;
}

// Programs this process attached, by "netns/ifname/mode". Created on first use; nothing runs at import.
let attached: Map<string, Attached> | undefined;

/** "net:[4026531840]": the calling thread's network namespace (netdev names are per namespace). */
function netnsOfThread(): string {
  return readlinkSync("/proc/thread-self/ns/net");
}

/**
 * Attaches the XSK redirect program to netdev `ifname` in the calling thread's namespace, or takes another
 * reference to the one this process already attached there in that mode.
 */
export function acquireXdpProgram(ifname: string, mode: "drv" | "skb", log?: (m: string) => void): XdpProgramRef {
  const table = (attached ??= new Map());
  const key = `${netnsOfThread()}/${ifname}/${mode}`;
  let a = table.get(key);
  if (!a) {
    const redirect = loadXskRedirect();
    let link: XdpLink;
    try {
      link = XdpLink.attach(redirect.prog, ifname, { mode });
    } catch (e) {
      redirect.close();
      throw e;
    }
    a = { key, redirect, link, refs: 0 };
    table.set(key, a);
    log?.(`${ifname}: XSK redirect program attached in ${mode} mode (link fd ${link.fd})`);
    trace("bpf", () => `${ifname}: attached xsk redirect (${mode})`);
  }
  a.refs++;
  const entry = a;
  let released = false;
  return {
    ifname,
    mode,
    mapFd: entry.redirect.map.fd,
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
