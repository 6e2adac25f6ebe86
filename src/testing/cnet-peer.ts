/**
 * Test fixture for the cnet stack: a veth pair whose both ends live in fresh namespaces, the stack's end
 * (`a`, in `nsA`) and the Linux peer's (`b`, in `ns`), so routes and addresses the tests add clash with
 * nothing on the host. `destroy()` removes both namespaces (and the pair with them). IPv6 is off on both
 * ends unless `ipv6` is set (then the kernel gives each end its link-local address as usual, and the stack
 * learns `a`'s).
 */
import { createNetns, createVethPair, ip, nsExec, type VethPair } from "./netns.js";

/** A pair with the stack's end in its own namespace. */
export interface CnetPair extends VethPair {
  /** The namespace holding `a`. */
  nsA: string;
  /** ifindex of `a` inside `nsA`. */
  ifindexA: number;
}

/** Options of {@link createCnetPair}. */
export interface CnetPairOptions {
  /** Keep IPv6 on for the stack's end (default false: disabled, so IPv4 tests see no IPv6 at all). */
  ipv6?: boolean;
}

/** Creates the pair; the caller runs `destroy()` in a finally. */
export function createCnetPair(o: CnetPairOptions = {}): CnetPair {
  const v = createVethPair();
  const n = createNetns("cnetns");
  const destroy = () => {
    n.destroy();
    v.destroy();
  };
  try {
    ip("link", "set", v.a, "netns", n.ns);
    // Moving `a` gave it the new namespace's defaults (IPv6 on); the peer's end had it switched off.
    if (o.ipv6 !== true) nsExec(n.ns, "sysctl", "-qw", `net.ipv6.conf.${v.a}.disable_ipv6=1`);
    else nsExec(v.ns, "sysctl", "-qw", `net.ipv6.conf.${v.b}.disable_ipv6=0`);
    nsExec(n.ns, "ip", "link", "set", v.a, "up");
    nsExec(n.ns, "ip", "link", "set", "lo", "up");
    const ifindexA = (JSON.parse(nsExec(n.ns, "ip", "-j", "link", "show", v.a)) as { ifindex: number }[])[0]!.ifindex;
    return { ...v, nsA: n.ns, ifindexA, destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}
