/**
 * Netdev discovery for the device plugin: what /sys/class/net says about each netdev (driver, PCI
 * address, MAC, virtual or not) plus its addresses and link kind, and the selection of each pool's devices
 * from the config (pools, node overrides, drivers with primary counts, excludeDevices, excludeAddressed,
 * devices by name, pci or mac).
 *
 * Upstream rules kept: `lo` and the prohibited prefixes (eno, eth, lo, docker, flannel, cni) are never
 * used; netdevs without a `device` link are virtual and skipped unless the pool sets
 * `allowVirtualDevices` (or the config sets `kindCluster`); a netdev belongs to at most one pool.
 * Differences: pci and mac selectors work (upstream's lookup by them is broken); IPv6 link-local
 * addresses do not count for `excludeAddressed` (every netdev that is up has one); selection is
 * deterministic (netdevs in name order); `cdq` pools are reported as unsupported (they need ice
 * subfunctions).
 *
 * @example
 * const netdevs = listNetdevs();
 * const { pools, notes } = selectPools(cfg, netdevs, os.hostname());
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync, existsSync } from "node:fs";
import { NetlinkSocket, listLinks, listAddrs } from "../netlink/index.js";
import { basename, join } from "node:path";
import type { DeviceSelector, DpConfig, DriverSelector, PoolConfig } from "./dp-config.js";

/** Interface name prefixes that are never added to a pool (upstream's list). */
export const PROHIBITED_PREFIXES = ["eno", "eth", "lo", "docker", "flannel", "cni"] as const;

/** What discovery knows about a netdev. */
export interface Netdev {
  name: string;
  ifindex: number;
  /** Lowercase colon form; "" if none. */
  mac: string;
  /** The bound driver (physical: /sys/.../device/driver) or the link kind (virtual: veth, ...); "" unknown. */
  driver: string;
  /** PCI address (domain:bus:dev.fn, lowercase) of the nearest PCI ancestor; "" if none. */
  pci: string;
  /** No /sys/class/net/<if>/device link: a software netdev (veth, bridge, ...). */
  virtual: boolean;
  /** IP addresses (without prefix), link-local IPv6 left out. */
  addresses: string[];
  /** operstate is "up" (or "unknown" with carrier). */
  up: boolean;
  /** NUMA node of the device (/sys/class/net/<if>/device/numa_node), -1 when unknown or virtual. */
  numaNode: number;
}

/** Per-netdev facts that sysfs does not hold: link kind and addresses. */
export interface LinkInfo {
  kind: string;
  addresses: string[];
}

/** Source of link kinds and addresses, keyed by netdev name. */
export type LinkInfoSource = () => Map<string, LinkInfo>;

export interface DiscoveryOptions {
  /** The folder to list netdevs from. Default /sys/class/net; tests pass a fake tree. */
  sysClassNet?: string;
  /** Kinds and addresses. Default: rtnetlink ({@link netlinkLinkInfo}). */
  linkInfo?: LinkInfoSource;
}

const PCI_ADDR_RE = /^[0-9a-f]{4}:[0-9a-f]{2,4}:[0-9a-f]{2}\.[0-9a-f]$/i;

/** Kinds and addresses from rtnetlink (RTM_GETLINK, RTM_GETADDR) in the current network namespace. */
export function netlinkLinkInfo(): Map<string, LinkInfo> {
  const out = new Map<string, LinkInfo>();
  const nl = NetlinkSocket.open();
  try {
    const byIndex = new Map<number, LinkInfo>();
    for (const l of listLinks(nl)) {
      const li: LinkInfo = { kind: l.kind ?? "", addresses: [] };
      out.set(l.name, li);
      byIndex.set(l.index, li);
    }
    for (const a of listAddrs(nl)) {
      // IPv6 link-local addresses (scope link) do not count: every netdev that is up has one.
      if (a.family === 6 && a.scope === RT_SCOPE_LINK) continue;
      byIndex.get(a.index)?.addresses.push(a.address);
    }
  } finally {
    nl.close();
  }
  return out;
}

/** RT_SCOPE_LINK (include/uapi/linux/rtnetlink.h). */
const RT_SCOPE_LINK = 253;

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

function pciOf(deviceLink: string): string {
  let real: string;
  try {
    real = realpathSync(deviceLink);
  } catch {
    // A fake tree may hold a dangling link: use its target's path.
    try {
      real = readlinkSync(deviceLink);
    } catch {
      return "";
    }
  }
  const parts = real.split("/");
  for (let i = parts.length - 1; i >= 0; i--) {
    if (PCI_ADDR_RE.test(parts[i]!)) return parts[i]!.toLowerCase();
  }
  return "";
}

/** Lists the netdevs of the current network namespace (or of a fake sysfs tree). */
export function listNetdevs(opts: DiscoveryOptions = {}): Netdev[] {
  const root = opts.sysClassNet ?? "/sys/class/net";
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (e) {
    throw new Error(`Cannot list netdevs in ${root}: ${(e as Error).message}`);
  }
  const info = (opts.linkInfo ?? netlinkLinkInfo)();
  const out: Netdev[] = [];
  for (const name of names.sort()) {
    const dir = join(root, name);
    const ifindex = Number.parseInt(readText(join(dir, "ifindex")), 10);
    if (!Number.isInteger(ifindex)) continue; // not a netdev folder (or it just went away)
    const deviceLink = join(dir, "device");
    const virtual = !existsSyncLink(deviceLink);
    let driver = "";
    let pci = "";
    let numaNode = -1;
    if (!virtual) {
      const nn = Number.parseInt(readText(join(deviceLink, "numa_node")), 10);
      if (Number.isInteger(nn) && nn >= 0) numaNode = nn;
      try {
        driver = basename(readlinkSync(join(deviceLink, "driver")));
      } catch {
        driver = "";
      }
      pci = pciOf(deviceLink);
    }
    const li = info.get(name);
    if (driver === "" && li) driver = li.kind;
    const oper = readText(join(dir, "operstate"));
    out.push({
      name,
      ifindex,
      mac: readText(join(dir, "address")).toLowerCase(),
      driver,
      pci,
      virtual,
      addresses: li ? [...li.addresses] : [],
      up: oper === "up" || (oper === "unknown" && readText(join(dir, "carrier")) === "1"),
      numaNode,
    });
  }
  return out;
}

function existsSyncLink(p: string): boolean {
  try {
    readlinkSync(p);
    return true;
  } catch {
    return existsSync(p);
  }
}

/** Whether a netdev name is never admitted (lo and upstream's prohibited prefixes). */
export function isProhibited(name: string): boolean {
  return PROHIBITED_PREFIXES.some((p) => name.startsWith(p));
}

/** A pool with the netdevs it serves on this node. */
export interface PoolDevices {
  pool: PoolConfig;
  /** Its netdevs, in the order chosen (each one's device ID is its name). */
  devices: Netdev[];
}

/** The result of pool selection; `notes` say why netdevs or pools were left out (for the log). */
export interface Selection {
  pools: PoolDevices[];
  notes: string[];
}

function matches(sel: DeviceSelector, d: Netdev): boolean {
  if (sel.name !== "") return d.name === sel.name;
  if (sel.pci !== "") return d.pci === sel.pci;
  if (sel.mac !== "") return d.mac === sel.mac;
  return false;
}

function describe(sel: DeviceSelector): string {
  return sel.name !== "" ? `name ${sel.name}` : sel.pci !== "" ? `pci ${sel.pci}` : `mac ${sel.mac}`;
}

/**
 * Chooses each pool's netdevs on node `nodeName` from `netdevs` (see {@link listNetdevs}). Pools are
 * served in config order; a netdev taken by one pool is not offered to the next. Pools left with no
 * device are dropped (with a note), as upstream does.
 */
export function selectPools(cfg: DpConfig, netdevs: readonly Netdev[], nodeName: string): Selection {
  const notes: string[] = [];
  const taken = new Map<string, string>(); // netdev -> pool
  const pools: PoolDevices[] = [];
  for (const pool of cfg.pools) {
    if (pool.mode === "cdq") {
      notes.push(`pool ${pool.name}: mode cdq (ice subfunctions) is not supported; pool skipped`);
      continue;
    }
    const allowVirtual = pool.allowVirtualDevices || cfg.kindCluster;
    let devSel = pool.devices;
    let drvSel = pool.drivers;
    const node = pool.nodes.find((n) => n.hostname === nodeName);
    if (node) {
      devSel = node.devices;
      drvSel = node.drivers;
    }
    const chosen: Netdev[] = [];
    const admissible = (d: Netdev, why: (s: string) => void): boolean => {
      if (d.name === "lo" || isProhibited(d.name)) return (why(`${d.name} has a prohibited name`), false);
      if (d.virtual && !allowVirtual) return (why(`${d.name} is virtual (set allowVirtualDevices to admit it)`), false);
      const owner = taken.get(d.name);
      if (owner !== undefined) return (why(owner === pool.name ? `${d.name} is already in this pool` : `${d.name} is already in pool ${owner}`), false);
      return true;
    };
    for (const sel of devSel) {
      const found = netdevs.filter((d) => matches(sel, d));
      if (found.length === 0) {
        notes.push(`pool ${pool.name}: no netdev with ${describe(sel)} on this node`);
        continue;
      }
      for (const d of found) {
        if (!admissible(d, (s) => notes.push(`pool ${pool.name}: ${s}`))) continue;
        chosen.push(d);
        taken.set(d.name, pool.name);
      }
    }
    for (const drv of drvSel) {
      let count = 0;
      for (const d of netdevs) {
        if (drv.primary > 0 && count >= drv.primary) break;
        if (d.driver !== drv.name) continue;
        if (isExcluded(drv, d)) {
          notes.push(`pool ${pool.name}: ${d.name} excluded by driver ${drv.name}`);
          continue;
        }
        if (drv.excludeAddressed && d.addresses.length > 0) {
          notes.push(`pool ${pool.name}: ${d.name} has addresses (${d.addresses.join(", ")}), excluded by driver ${drv.name}`);
          continue;
        }
        if (!admissible(d, (s) => notes.push(`pool ${pool.name}: ${s}`))) continue;
        chosen.push(d);
        taken.set(d.name, pool.name);
        count++;
      }
    }
    if (chosen.length === 0) {
      notes.push(`pool ${pool.name}: no devices on this node; pool not served`);
      continue;
    }
    pools.push({ pool, devices: chosen });
  }
  return { pools, notes };
}

function isExcluded(drv: DriverSelector, d: Netdev): boolean {
  return drv.excludeDevices.some((sel) => matches(sel, d));
}
