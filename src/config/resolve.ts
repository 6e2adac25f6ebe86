/**
 * Cross-references between sections, checked after all sections are decoded (CNDP's
 * _decode_sections_end and jcfg_lport_group.c): lport → umem and region, thread → lcore-group and
 * lports, one queue per socket, and the expansion of lport-groups into lports dealt round-robin to threads.
 */
import type { Node } from "jsonc-parser";
import type { Reader } from "./reader.js";
import { CNDP_DEFAULTS, LPORT_GROUP_UMEM, type CpuCheck, type Draft, type DraftLport, type Mutable } from "./sections.js";
import type { Lport, LportGroup, Umem } from "./types.js";

/** Counts the queues of a netdev; undefined when the netdev does not exist here. */
export type QueueCounter = (netdev: string) => number | undefined;

/** What resolve checks against this machine. */
export interface HostChecks {
  /** Counts a netdev's queues (undefined: no such netdev). */
  readonly countQueues: QueueCounter;
  /** Whether lports' netdevs must exist here and their queues be in range. */
  readonly netdevs: boolean;
  /** CPUs: a started thread whose lcore-group has no online CPU cannot be pinned (unless "off"). */
  readonly cpus: CpuCheck;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/**
 * Drivers that open an existing netdev: only their lports have a netdev to check (net_null, net_ring,
 * net_pcap do not; net_tap creates its own).
 */
const NETDEV_PMDS: ReadonlySet<string> = new Set(["net_af_xdp", "net_af_packet"]);
/** Drivers whose `qid` is a queue of the netdev (net_af_packet's is its index in a PACKET_FANOUT group). */
const QUEUE_PMDS: ReadonlySet<string> = new Set(["net_af_xdp"]);

/**
 * Checks that an lport's netdev exists here and has its queue; reports at the netdev (or the lport's
 * key, which names it) and at the qid.
 */
function checkNetdev(r: Reader, lp: DraftLport, count: QueueCounter): void {
  const v = lp.value;
  const n = count(v.netdev);
  if (n === undefined) {
    r.error(lp.nodes.netdev ?? lp.keyNode, lp.nodes.netdev ? [...lp.path, "netdev"] : lp.path,
      `netdev ${JSON.stringify(v.netdev)} does not exist in this network namespace`);
  } else if (v.qid >= n && QUEUE_PMDS.has(v.pmd)) {
    r.error(lp.nodes.qid ?? lp.keyNode, [...lp.path, "qid"],
      `qid ${v.qid} is out of range: netdev ${JSON.stringify(v.netdev)} has ${plural(n, "queue")} (0-${n - 1})`);
  }
}

/** Started threads (not "main", with lports) whose lcore-group has no online CPU: they cannot be pinned. */
function checkThreadCpus(r: Reader, d: Draft, cpus: CpuCheck): void {
  if (cpus.mode === "off") return;
  const reported = new Set<string>();
  for (const t of d.threads.values()) {
    const v = t.value;
    if (v.type === "main" || v.lports.length === 0 || v.group === undefined || reported.has(v.group)) continue;
    if (v.lcores.length === 0 || v.lcores.some((c) => cpus.online.has(c))) continue;
    reported.add(v.group);
    const g = d.lcoreGroupNodes.get(v.group);
    r.error(g?.node ?? t.groupNode ?? t.keyNode, g?.path ?? [...t.path, "group"],
      `none of the CPUs of lcore-group ${JSON.stringify(v.group)} (${v.lcores.join(", ")}) is online here (online: ${cpus.onlineText}): thread ${JSON.stringify(v.name)} cannot be pinned to it`);
  }
}

/** Where an lport came from, for "already used by" messages. */
interface Origin {
  name: string;
  at: Node;
}

/** Checks every lport's umem, region, frame size and queue. */
function checkLports(r: Reader, d: Draft, queues: Map<string, Origin>, host: HostChecks): void {
  for (const [name, lp] of d.lports) {
    const v = lp.value;
    if (host.netdevs && NETDEV_PMDS.has(v.pmd)) checkNetdev(r, lp, host.countQueues);
    const umem = d.umems.get(v.umem);
    if (umem === undefined) {
      const known = [...d.umems.keys()];
      if (!d.broken.umems.has(v.umem)) r.error(lp.nodes.umem ?? lp.keyNode, [...lp.path, "umem"],
        `umem ${JSON.stringify(v.umem)} is not defined in "umems"${known.length ? ` (defined: ${known.map((k) => JSON.stringify(k)).join(", ")})` : ""}`);
    } else {
      if (v.region >= umem.regions.length) {
        r.error(lp.nodes.region ?? lp.keyNode, [...lp.path, "region"],
          `umem ${JSON.stringify(umem.name)} has ${umem.regions.length} region${umem.regions.length === 1 ? "" : "s"} (0-${umem.regions.length - 1}), got region ${v.region}`);
      }
      checkFrameSize(r, lp, umem);
    }
    const q = `${v.netdev}\0${v.qid}`;
    const first = queues.get(q);
    if (first !== undefined) {
      r.error(lp.nodes.qid ?? lp.keyNode, [...lp.path, "qid"],
        `queue ${v.qid} of netdev ${JSON.stringify(v.netdev)} is already used by lport ${JSON.stringify(first.name)} (at ${r.where(first.at)}); one socket per queue`);
    } else queues.set(q, { name, at: lp.keyNode });
  }
}

/** Frames that are not a power of two (3072 bytes) need unaligned chunk mode. */
function checkFrameSize(r: Reader, lp: DraftLport, umem: Umem): void {
  if ((umem.bufsz & (umem.bufsz - 1)) !== 0 && !lp.value.unalignedBuffers) {
    r.error(lp.nodes.umem ?? lp.keyNode, [...lp.path, "umem"],
      `umem ${JSON.stringify(umem.name)} has ${umem.bufsz}-byte buffers, which needs "unaligned_buffers": true (aligned AF_XDP frames are 2048 or 4096 bytes)`);
  }
}

/** Checks each thread's lcore-group and lports, and records which thread owns each lport. */
function checkThreads(r: Reader, d: Draft): void {
  const owner = new Map<string, Origin>();
  for (const [name, t] of d.threads) {
    const v = t.value;
    if (v.group !== undefined) {
      const g = d.lcoreGroups.get(v.group);
      if (g === undefined) {
        if (!d.broken.lcoreGroups.has(v.group)) r.error(t.groupNode ?? t.keyNode, [...t.path, "group"],
          `lcore-group ${JSON.stringify(v.group)} is not defined in "lcore-groups"`);
      } else v.lcores = g.lcores;
    } else {
      const g = d.lcoreGroups.get("default");
      if (g !== undefined) [v.group, v.lcores] = ["default", g.lcores];
      else r.warn(t.keyNode, t.path, `no "group" and no lcore-group "default": the thread will not be pinned to CPUs`);
    }
    for (const ref of t.lportRefs) {
      const lp = d.lports.get(ref.value);
      if (lp === undefined) {
        if (!d.broken.lports.has(ref.value)) r.error(ref.node, ref.path, `lport ${JSON.stringify(ref.value)} is not defined in "lports"`);
        continue;
      }
      const first = owner.get(ref.value);
      if (first !== undefined) {
        r.error(ref.node, ref.path,
          `lport ${JSON.stringify(ref.value)} is already polled by thread ${JSON.stringify(first.name)} (at ${r.where(first.at)}); threads cannot share an lport`);
        continue;
      }
      owner.set(ref.value, { name, at: ref.node });
      lp.value.thread = name;
      v.lports.push(ref.value);
    }
  }
}

/** Makes the lports of each lport-group and deals them to its threads (jcfg_decode_lport_groups_end). */
function expandLportGroups(r: Reader, d: Draft, queues: Map<string, Origin>, host: HostChecks): LportGroup[] {
  const countQueues = host.countQueues;
  const out: LportGroup[] = [];
  for (const g of d.lportGroups) {
    let ok = true;
    const netdevs = host.netdevs && NETDEV_PMDS.has(g.settings.pmd ?? "net_af_xdp");
    for (const t of g.threads) {
      if (!d.threads.has(t.value)) {
        if (!d.broken.threads.has(t.value)) r.error(t.node, t.path, `thread ${JSON.stringify(t.value)} is not defined in "threads"`);
        ok = false;
      }
    }
    if (g.umem !== LPORT_GROUP_UMEM && !d.umems.has(g.umem)) {
      if (!d.broken.umems.has(g.umem)) r.error(g.umemNode ?? g.keyNode, [...g.path, "umem"], `umem ${JSON.stringify(g.umem)} is not defined in "umems"`);
      ok = false;
    }
    const perNetdev: number[][] = [];
    for (const n of g.netdevs) {
      if (g.queues !== "all") {
        perNetdev.push(g.queues);
        if (!netdevs) continue;
        const count = countQueues(n.value);
        const top = g.queues[g.queues.length - 1] ?? 0;
        if (count === undefined) {
          r.error(n.node, n.path, `netdev ${JSON.stringify(n.value)} does not exist in this network namespace`);
          ok = false;
        } else if (top >= count && QUEUE_PMDS.has(g.settings.pmd ?? "net_af_xdp")) {
          r.error(g.queuesNode ?? n.node, g.queuesNode ? [...g.path, "queues"] : n.path,
            `queue ${top} is out of range: netdev ${JSON.stringify(n.value)} has ${plural(count, "queue")} (0-${count - 1})`);
          ok = false;
        }
        continue;
      }
      const count = countQueues(n.value);
      if (count === undefined || count <= 0) {
        r.error(n.node, n.path,
          `cannot use every queue of netdev ${JSON.stringify(n.value)}: ${count === undefined ? "no such netdev here" : "it has no queues"} ("queues" absent or "all" means every queue)`);
        ok = false;
        continue;
      }
      perNetdev.push(Array.from({ length: count }, (_, i) => i));
    }
    if (!ok) continue;
    const umem = d.umems.get(g.umem);
    if (umem !== undefined && (umem.bufsz & (umem.bufsz - 1)) !== 0 && !g.settings.unalignedBuffers) {
      r.error(g.umemNode ?? g.keyNode, [...g.path, "umem"],
        `umem ${JSON.stringify(umem.name)} has ${umem.bufsz}-byte buffers, which needs "unaligned_buffers": true (aligned AF_XDP frames are 2048 or 4096 bytes)`);
      continue;
    }
    const made: string[] = [];
    let count = 0;
    g.netdevs.forEach((n, i) => {
      for (const qid of perNetdev[i] ?? []) {
        const name = `${n.value}:${qid}`;
        const threadName = g.threads[count % g.threads.length]?.value as string;
        count++;
        const clash = d.lports.get(name);
        if (clash !== undefined) {
          r.error(n.node, n.path, `lport ${JSON.stringify(name)} made by lport-group ${JSON.stringify(g.name)} is already defined (at ${r.where(clash.keyNode)})`);
          continue;
        }
        const q = `${n.value}\0${qid}`;
        const first = queues.get(q);
        if (first !== undefined) {
          r.error(n.node, n.path, `queue ${qid} of netdev ${JSON.stringify(n.value)} is already used by lport ${JSON.stringify(first.name)} (at ${r.where(first.at)}); one socket per queue`);
          continue;
        }
        if (name.length > 31) {
          r.error(n.node, n.path, `lport name ${JSON.stringify(name)} is longer than 31 characters`);
          continue;
        }
        queues.set(q, { name, at: n.node });
        const value: Mutable<Lport> = {
          name, index: d.lports.size, netdev: n.value, tag: String(qid), ...g.settings, qid, umem: g.umem,
          region: 0, xskPinPath: undefined, udsPath: undefined, description: g.description, lportGroup: g.name,
          thread: threadName,
        };
        d.lports.set(name, { value, keyNode: n.node, path: n.path, nodes: {} });
        d.threads.get(threadName)?.value.lports.push(name);
        made.push(name);
      }
    });
    out.push({
      name: g.name, netdevs: g.netdevs.map((n) => n.value), queues: g.queues, threads: g.threads.map((t) => t.value),
      pmd: g.settings.pmd, umem: g.umem, lports: made, description: g.description,
    });
  }
  return out;
}

/**
 * The UMEM lport-groups use when they name none, sized as CNDP's setup_common_umem does: from
 * `defaults` when given, else 3 × (rx + tx descriptors) buffers per lport.
 */
function addLportGroupUmem(d: Draft): void {
  if (d.umems.has(LPORT_GROUP_UMEM)) return;
  let users = 0;
  for (const lp of d.lports.values()) if (lp.value.umem === LPORT_GROUP_UMEM) users++;
  if (users === 0) return;
  const given = d.defaultsGiven;
  const rxdesc = given.has("rxdesc") ? d.defaults.rxdesc : CNDP_DEFAULTS.rxdesc;
  const txdesc = given.has("txdesc") ? d.defaults.txdesc : CNDP_DEFAULTS.lportGroupTxdesc;
  const bufcnt = given.has("bufcnt") ? d.defaults.bufcnt : (rxdesc * 3 + txdesc * 3) * users;
  d.umems.set(LPORT_GROUP_UMEM, {
    name: LPORT_GROUP_UMEM, index: d.umems.size, bufcnt, bufsz: d.defaults.bufsz, mtype: d.defaults.mtype,
    regions: [bufcnt], regionBase: [0], rxdesc, txdesc, sharedUmem: false,
    description: "UMEM for lport-groups", auto: true,
  });
}

/** Warns about lports no thread polls. */
function warnIdleLports(r: Reader, d: Draft): void {
  if (d.threads.size === 0) return;
  for (const lp of d.lports.values()) {
    if (lp.value.thread === undefined) r.warn(lp.keyNode, lp.path, "no thread polls this lport");
  }
}

/** Runs every cross-section check and the lport-group expansion; returns the expanded groups. */
export function resolve(r: Reader, d: Draft, host: HostChecks): LportGroup[] {
  const queues = new Map<string, Origin>();
  checkLports(r, d, queues, host);
  checkThreads(r, d);
  const groups = expandLportGroups(r, d, queues, host);
  checkThreadCpus(r, d, host.cpus);
  addLportGroupUmem(d);
  checkSharedUmemMultiBuffer(r, d);
  warnIdleLports(r, d);
  return groups;
}

/**
 * AF_XDP sockets sharing a UMEM (shared_umem) inherit the first socket's multi-buffer setting (the kernel
 * takes XDP_USE_SG from the first bind only): every af_xdp lport of such a UMEM must ask the same.
 */
function checkSharedUmemMultiBuffer(r: Reader, d: Draft): void {
  const first = new Map<string, DraftLport>();
  for (const lp of d.lports.values()) {
    const v = lp.value;
    if (v.pmd !== "net_af_xdp" || d.umems.get(v.umem)?.sharedUmem !== true) continue;
    const f = first.get(v.umem);
    if (f === undefined) {
      first.set(v.umem, lp);
    } else if (f.value.multiBuffer !== v.multiBuffer) {
      r.error(lp.keyNode, lp.path,
        `lport ${JSON.stringify(v.name)} has "multi_buffer": ${v.multiBuffer} but lport ${JSON.stringify(f.value.name)} (at ${r.where(f.keyNode)}) on the same shared_umem UMEM ${JSON.stringify(v.umem)} has ${f.value.multiBuffer}: sockets sharing a UMEM take the first one's`);
    }
  }
}
