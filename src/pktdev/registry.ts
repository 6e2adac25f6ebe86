/**
 * Port drivers by name, to reopen a port from its shared form in another thread. Drivers register
 * themselves here; `openShared` picks the right one.
 */
import type { Lport, LportShared } from "./lport.js";
import { NullPort, type NullShared } from "./null.js";
import { RingPort, type RingPortShared } from "./ring-port.js";
import { AfXdpPort, type AfXdpShared } from "./af-xdp.js";
import type { Mempool } from "../mem/mempool.js";

type Opener = (s: LportShared, mempools: Map<string, Mempool>) => Lport;

const drivers = new Map<string, Opener>();

/** Registers a driver's opener under its pmd name (net_af_xdp, net_ring, net_null, ...). */
export function registerDriver(name: string, open: Opener): void {
  drivers.set(name, open);
}

/** Driver names known to this process. */
export function driverNames(): string[] {
  return [...drivers.keys()];
}

/**
 * Opens a port from its shared form. `mempools` caches per-thread Mempool objects by pool name, so
 * ports of one pool share a cache in a thread.
 */
export function openShared(s: LportShared, mempools = new Map<string, Mempool>()): Lport {
  const open = drivers.get(s.driver);
  if (!open) throw new Error(`Unknown port driver '${s.driver}' for port '${s.name}' (known: ${driverNames().join(", ")})`);
  return open(s, mempools);
}

import { Mempool as MP, type MempoolShared } from "../mem/mempool.js";
function pool(ms: MempoolShared, cache: Map<string, Mempool>): Mempool {
  let mp = cache.get(ms.name);
  if (!mp) {
    mp = MP.fromShared(ms);
    cache.set(ms.name, mp);
  }
  return mp;
}

registerDriver("net_null", (s, m) => NullPort.fromShared(s as NullShared, pool((s as NullShared).mempool, m)));
registerDriver("net_ring", (s) => RingPort.fromShared(s as RingPortShared));
registerDriver("net_af_xdp", (s, m) => AfXdpPort.fromShared(s as AfXdpShared, pool((s as AfXdpShared).mempool, m)));
