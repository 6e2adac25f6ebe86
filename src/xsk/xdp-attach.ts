/**
 * Loads the XSK redirect program on a netdev through a BPF link, once per (netdev, mode) in this process,
 * shared by the sockets on its queues; the last release() detaches it. A link detaches by itself when
 * the process dies, so a crashed forwarder leaves no program behind.
 */
import { loadXskRedirect, type XskRedirect } from "../bpf/xsk-redirect.js";
import { XdpLink } from "../bpf/link.js";
import { setXdpProgramProvider, type XdpProgramRef } from "./xdp-prog.js";
import { trace } from "../sys/trace.js";

interface Attached {
  key: string;
  redirect: XskRedirect;
  link: XdpLink;
  refs: number;
}

const attached = new Map<string, Attached>();

function acquire(ifname: string, mode: "drv" | "skb", log?: (m: string) => void): XdpProgramRef {
  const key = `${ifname}/${mode}`;
  let a = attached.get(key);
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
    attached.set(key, a);
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
      attached.delete(entry.key);
      entry.link.close();
      entry.redirect.close();
      trace("bpf", () => `${ifname}: detached xsk redirect (${mode})`);
    },
  };
}

setXdpProgramProvider(acquire);

/** Netdevs with a program attached by this process (for tests and shutdown checks). */
export function attachedPrograms(): string[] {
  return [...attached.keys()];
}
