/**
 * Port drivers by name, to reopen a port from its shared form in another thread. A registry is a plain
 * object made by whoever needs one (nothing is registered at import time): {@link builtinDrivers} gives
 * one holding net_null, net_ring, net_af_xdp, net_af_packet, net_tap, net_pcap and net_memif, to which an application
 * may add its own drivers.
 */
import type { Lport, LportShared } from "./lport.js";
import { NullPort, type NullShared } from "./null.js";
import { RingPort, type RingPortShared } from "./ring-port.js";
import { AfXdpPort, type AfXdpShared } from "./af-xdp.js";
import { AfPacketPort, type AfPacketShared } from "./af-packet.js";
import { TapPort, type TapShared } from "./tap.js";
import { PcapPort, type PcapShared } from "./pcap.js";
import { MemifPort, type MemifShared } from "./memif.js";
import { Mempool, type MempoolShared } from "../mem/mempool.js";

/** Opens a port of one driver from its shared form; `mempools` caches the thread's pool objects by name. */
export type PortOpener = (s: LportShared, mempools: Map<string, Mempool>) => Lport;

/**
 * Driver openers by pmd name (net_af_xdp, net_ring, net_null, ...).
 *
 * @example
 * // The built-in drivers, net_null's opener replaced (an app adds its own drivers the same way).
 * const drivers = builtinDrivers()
 *   .register("net_null", (s, pools) => NullPort.fromShared(s as NullShared, threadPool((s as NullShared).mempool, pools)));
 * console.log(drivers.names()); // ["net_null", "net_ring", "net_af_xdp", "net_af_packet", "net_tap", "net_pcap", "net_memif"]
 * const port = openShared(shared, new Map(), drivers);
 */
export class DriverRegistry {
  private readonly drivers = new Map<string, PortOpener>();

  /** Adds (or replaces) a driver's opener under its pmd name. */
  register(name: string, open: PortOpener): this {
    this.drivers.set(name, open);
    return this;
  }

  /** Driver names known to this registry. */
  names(): string[] {
    return [...this.drivers.keys()];
  }

  get(name: string): PortOpener | undefined {
    return this.drivers.get(name);
  }
}

/**
 * A pool object for this thread, one per pool name, so that ports of one pool share a cache in a thread.
 */
export function threadPool(ms: MempoolShared, cache: Map<string, Mempool>): Mempool {
  let mp = cache.get(ms.name);
  if (!mp) {
    mp = Mempool.fromShared(ms);
    cache.set(ms.name, mp);
  }
  return mp;
}

/** A new registry with the built-in drivers: net_null, net_ring, net_af_xdp, net_af_packet, net_tap, net_pcap, net_memif. */
export function builtinDrivers(): DriverRegistry {
  return new DriverRegistry()
    .register("net_null", (s, m) => NullPort.fromShared(s as NullShared, threadPool((s as NullShared).mempool, m)))
    .register("net_ring", (s) => RingPort.fromShared(s as RingPortShared))
    .register("net_af_xdp", (s, m) => AfXdpPort.fromShared(s as AfXdpShared, threadPool((s as AfXdpShared).mempool, m)))
    .register("net_af_packet", (s, m) => AfPacketPort.fromShared(s as AfPacketShared, threadPool((s as AfPacketShared).mempool, m)))
    .register("net_tap", (s, m) => TapPort.fromShared(s as TapShared, threadPool((s as TapShared).mempool, m)))
    .register("net_pcap", (s, m) => PcapPort.fromShared(s as PcapShared, threadPool((s as PcapShared).mempool, m)))
    .register("net_memif", (s, m) => MemifPort.fromShared(s as MemifShared, threadPool((s as MemifShared).mempool, m)));
}

/**
 * Opens a port from its shared form with the registry's driver (the built-in ones by default).
 * `mempools` caches per-thread Mempool objects by pool name.
 *
 * @example
 * const port = openShared(shared, new Map(), builtinDrivers());
 */
export function openShared(s: LportShared, mempools = new Map<string, Mempool>(), drivers: DriverRegistry = builtinDrivers()): Lport {
  const open = drivers.get(s.driver);
  if (!open) throw new Error(`Unknown port driver '${s.driver}' for port '${s.name}' (known: ${drivers.names().join(", ")})`);
  return open(s, mempools);
}
