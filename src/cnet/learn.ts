/**
 * Learning from Linux (CNDP's cnet netlink agent): the stack's interfaces' IPv4 and IPv6 addresses
 * (link-local ones too), routes and neighbours (ARP and ND) are read over rtnetlink at start (dumps) and
 * followed live through a second NETLINK_ROUTE socket subscribed to the RTNLGRP_IPV4_IFADDR,
 * RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE and RTNLGRP_NEIGH multicast groups,
 * drained without blocking by {@link LinuxLearner.poll} (the app calls it every 100 ms, so an
 * `ip addr add` on the netdev is answered within a second). Only objects of the stack's own interfaces
 * (ifindexes) and routes of the main table are taken. When the kernel drops notifications (ENOBUFS: the
 * socket's queue overflowed) everything is dumped again.
 *
 * Addresses and routes go into {@link NetTables}; neighbours go to every worker's {@link NeighbourFeed}
 * (a worker alone writes its ARP and ND tables).
 *
 * Layouts: include/uapi/linux/rtnetlink.h (RTMGRP_*, RTM_*), neighbour.h (struct ndmsg, NDA_*, NUD_*).
 *
 * @example
 * const tables = NetTables.create();
 * const learner = LinuxLearner.open({ tables, interfaces: [{ ifindex: 5, pid: 0, mac: new Uint8Array(6), mtu: 1500 }] });
 * const timer = setInterval(() => learner.poll(), 100);
 * // ...
 * clearInterval(timer);
 * learner.close();
 */
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { FdHandle } from "../sys/fd-handle.js";
import { AF_NETLINK, SOCK_CLOEXEC, SOCK_RAW, MSG_DONTWAIT } from "../sys/consts.js";
import { NetlinkSocket, NETLINK_ROUTE, type NlMessage } from "../netlink/socket.js";
import { Attrs, AttrWriter, align4 } from "../netlink/attr.js";
import { RTM } from "../netlink/link.js";
import { parseAddr } from "../netlink/addr.js";
import { parseRoute, RT_TABLE, RTN } from "../netlink/route.js";
import { withNetns } from "../netlink/netns.js";
import { parseIp4, parseIp6 } from "../lookup/addr.js";
import { Ring, type RingShared } from "../ring/ring.js";
import type { NetIface, NetTables } from "./tables.js";

const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const RTM_GETNEIGH = 30;
/** Legacy group bits of sockaddr_nl.nl_groups (rtnetlink.h RTMGRP_*). */
const RTMGRP_NEIGH = 0x4;
const RTMGRP_IPV4_IFADDR = 0x10;
const RTMGRP_IPV4_ROUTE = 0x40;
const RTMGRP_IPV6_IFADDR = 0x100;
const RTMGRP_IPV6_ROUTE = 0x400;
const NDA_DST = 1;
const NDA_LLADDR = 2;
const NDMSG_LEN = 12;
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const NUD_INCOMPLETE = 0x01;
const NUD_FAILED = 0x20;
const NUD_NOARP = 0x40;
const NUD_PERMANENT = 0x80;
const EAGAIN = 11;
const ENOBUFS = 105;
const NLMSG_HDRLEN = 16;

/** Words of one neighbour record in a feed. */
export const FEED_WORDS = 4;
/** Flag of a record: Linux holds the entry as permanent. */
export const FEED_PERMANENT = 1 << 24;
/** Flag of a record: the entry was deleted (or failed). */
export const FEED_DELETE = 2 << 24;
/** Flag of a record: an IPv6 neighbour (the record is 8 words: see {@link NeighbourFeed.take6}). */
export const FEED_IP6 = 4 << 24;
/** Words of one IPv6 neighbour record ({@link NeighbourFeed.take6}). */
export const FEED6_WORDS = 8;
/** Records each kind may wait for its reader on the worker (the ring's size). */
const FEED_STASH = 1024;

/**
 * A single-producer ring of neighbour records from the learner to one worker: an IPv4 record is 4 words
 * (IPv4 address, MAC bytes 0-1, MAC bytes 2-5, ifindex | FEED_* flags), an IPv6 record 8 (MAC bytes 0-1,
 * MAC bytes 2-5, 0, ifindex | FEED_* flags | FEED_IP6, then the address as 4 big-endian words), each
 * enqueued all at once. The worker has two readers on one thread, ARP's ({@link NeighbourFeed.take}) and
 * ND's ({@link NeighbourFeed.take6}): each keeps what it dequeues for the other in a stash (allocated once).
 *
 * @example
 * const feed = NeighbourFeed.create();
 * feed.post(0x0a000002, new Uint8Array([2, 0, 0, 0, 0, 2]), 5, false, false);
 */
export class NeighbourFeed {
  readonly ring: Ring;
  private readonly rec = new Uint32Array(FEED6_WORDS);
  /** Records that did not fit (the worker was not draining), or a reader's stash overflowed (worker side). */
  dropped = 0;
  /** Worker side: IPv4 records take6 dequeued, IPv6 records take dequeued, as FIFOs. */
  private stash4: Uint32Array | null = null;
  private stash6: Uint32Array | null = null;
  private readonly heads = new Int32Array(4); // head4, count4, head6, count6

  private constructor(ring: Ring) {
    this.ring = ring;
  }

  /**
   * A feed of 1024 records.
   *
   * @example
   * const s = NeighbourFeed.create().shared(); // to the worker
   */
  static create(): NeighbourFeed {
    return new NeighbourFeed(Ring.create({ size: 4096, multiProducer: false, multiConsumer: false, name: "cnet-neigh" }));
  }

  /**
   * The worker's end.
   *
   * @example
   * const feed = NeighbourFeed.fromShared(NeighbourFeed.create().shared());
   */
  static fromShared(s: RingShared): NeighbourFeed {
    return new NeighbourFeed(Ring.fromShared(s));
  }

  /**
   * What to post to the worker.
   *
   * @example
   * const s = NeighbourFeed.create().shared();
   */
  shared(): RingShared {
    return this.ring.toShared();
  }

  /**
   * Posts one record; false (counted in `dropped`) when the ring is full.
   *
   * @example
   * NeighbourFeed.create().post(0x0a000002, new Uint8Array(6), 5, true, false);
   */
  post(ip: number, mac: Uint8Array, ifindex: number, permanent: boolean, del: boolean): boolean {
    const r = this.rec;
    r[0] = ip >>> 0;
    r[1] = ((mac[0] ?? 0) << 8) | (mac[1] ?? 0);
    r[2] = (((mac[2] ?? 0) << 24) | ((mac[3] ?? 0) << 16) | ((mac[4] ?? 0) << 8) | (mac[5] ?? 0)) >>> 0;
    r[3] = (ifindex & 0xffffff) | (permanent ? FEED_PERMANENT : 0) | (del ? FEED_DELETE : 0);
    if (this.ring.enqueueBulk(r, FEED_WORDS) === FEED_WORDS) return true;
    this.dropped++;
    return false;
  }

  /**
   * Takes one record into `out[0..4)`; false when there is none (worker side, allocation-free).
   *
   * @example
   * const out = new Uint32Array(4);
   * while (NeighbourFeed.create().take(out)) console.log(out[0]);
   */
  take(out: Uint32Array): boolean {
    const hd = this.heads;
    if (hd[1]! > 0) {
      const s = this.stash4!;
      const at = hd[0]! * FEED_WORDS;
      for (let k = 0; k < FEED_WORDS; k++) out[k] = s[at + k]!;
      hd[0] = (hd[0]! + 1) & (FEED_STASH - 1);
      hd[1] = hd[1]! - 1;
      return true;
    }
    for (;;) {
      if (this.ring.dequeueBulk(out, FEED_WORDS) !== FEED_WORDS) return false;
      if ((out[3]! & FEED_IP6) === 0) return true;
      this.stashOther(out, 6);
    }
  }

  /**
   * Posts one IPv6 neighbour record (`ip` 16 bytes); false (counted in `dropped`) when the ring is full.
   *
   * @example
   * NeighbourFeed.create().post6(parseIp6("fe80::2"), new Uint8Array(6), 5, false, false);
   */
  post6(ip: Uint8Array, mac: Uint8Array, ifindex: number, permanent: boolean, del: boolean): boolean {
    const r = this.rec;
    r[0] = ((mac[0] ?? 0) << 8) | (mac[1] ?? 0);
    r[1] = (((mac[2] ?? 0) << 24) | ((mac[3] ?? 0) << 16) | ((mac[4] ?? 0) << 8) | (mac[5] ?? 0)) >>> 0;
    r[2] = 0;
    r[3] = (ifindex & 0xffffff) | (permanent ? FEED_PERMANENT : 0) | (del ? FEED_DELETE : 0) | FEED_IP6;
    for (let w = 0; w < 4; w++) r[4 + w] = ((ip[4 * w]! << 24) | (ip[4 * w + 1]! << 16) | (ip[4 * w + 2]! << 8) | ip[4 * w + 3]!) >>> 0;
    if (this.ring.enqueueBulk(r, FEED6_WORDS) === FEED6_WORDS) return true;
    this.dropped++;
    return false;
  }

  /**
   * Takes one IPv6 record into `out[0..8)` (MAC words, 0, ifindex | flags, address words); false when
   * there is none (worker side, allocation-free).
   *
   * @example
   * const out = new Uint32Array(FEED6_WORDS);
   * while (NeighbourFeed.create().take6(out)) console.log(out[3]! & 0xffffff);
   */
  take6(out: Uint32Array): boolean {
    const hd = this.heads;
    if (hd[3]! > 0) {
      const s = this.stash6!;
      const at = hd[2]! * FEED6_WORDS;
      for (let k = 0; k < FEED6_WORDS; k++) out[k] = s[at + k]!;
      hd[2] = (hd[2]! + 1) & (FEED_STASH - 1);
      hd[3] = hd[3]! - 1;
      return true;
    }
    for (;;) {
      if (this.ring.dequeueBulk(out, FEED_WORDS) !== FEED_WORDS) return false;
      if ((out[3]! & FEED_IP6) === 0) {
        this.stashOther(out, 4);
        continue;
      }
      // The address follows: enqueued with the first half in one bulk.
      if (this.ring.dequeueBulk(out, FEED_WORDS, FEED_WORDS) !== FEED_WORDS) return false;
      return true;
    }
  }

  /** Keeps a record the current reader does not want for the other reader (the first call allocates). */
  private stashOther(rec: Uint32Array, kind: 4 | 6): void {
    const hd = this.heads;
    if (kind === 6) {
      // An IPv6 record's second half is still in the ring.
      this.stash6 ??= new Uint32Array(FEED_STASH * FEED6_WORDS);
      const tmp = this.rec;
      for (let k = 0; k < FEED_WORDS; k++) tmp[k] = rec[k]!;
      this.ring.dequeueBulk(tmp, FEED_WORDS, FEED_WORDS);
      if (hd[3]! >= FEED_STASH) {
        this.dropped++;
        return;
      }
      const at = ((hd[2]! + hd[3]!) & (FEED_STASH - 1)) * FEED6_WORDS;
      for (let k = 0; k < FEED6_WORDS; k++) this.stash6[at + k] = tmp[k]!;
      hd[3] = hd[3]! + 1;
      return;
    }
    this.stash4 ??= new Uint32Array(FEED_STASH * FEED_WORDS);
    if (hd[1]! >= FEED_STASH) {
      this.dropped++;
      return;
    }
    const at = ((hd[0]! + hd[1]!) & (FEED_STASH - 1)) * FEED_WORDS;
    for (let k = 0; k < FEED_WORDS; k++) this.stash4[at + k] = rec[k]!;
    hd[1] = hd[1]! + 1;
  }
}

/** Options of {@link LinuxLearner.open}. */
export interface LearnerOptions {
  tables: NetTables;
  /** The stack's interfaces (set into the tables first). */
  interfaces: NetIface[];
  /** Where neighbours go (one per worker). */
  feeds?: NeighbourFeed[];
  /** The namespace the netdevs are in. */
  netns?: string;
  log?: (msg: string) => void;
}

/** What the learner has applied (for tests and `/cnet/stats`). */
export interface LearnerCounters {
  addrAdd: number;
  addrDel: number;
  routeAdd: number;
  routeDel: number;
  neighAdd: number;
  neighDel: number;
  resyncs: number;
  errors: number;
}

/** The multicast socket: its fd, owned. */
class Monitor extends FdHandle {
  static open(netns: string | undefined): Monitor {
    const make = () => check(sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), "socket(AF_NETLINK, NETLINK_ROUTE) for the cnet monitor");
    const fd = netns ? withNetns(netns, make) : make();
    return FdHandle.closeOnThrow(fd, () => {
      const sa = new Uint8Array(12);
      const dv = new DataView(sa.buffer);
      dv.setUint16(0, AF_NETLINK, true);
      dv.setUint32(8, RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE, true);
      check(sys.bind(fd, sa), "bind(netlink RTMGRP_NEIGH|IPV4_IFADDR|IPV4_ROUTE|IPV6_IFADDR|IPV6_ROUTE)");
      return new Monitor(fd);
    });
  }
}

/**
 * The learner. See the module comment.
 *
 * @example
 * const learner = LinuxLearner.open({ tables: NetTables.create(), interfaces: [] });
 * learner.close();
 */
export class LinuxLearner {
  readonly counters: LearnerCounters = { addrAdd: 0, addrDel: 0, routeAdd: 0, routeDel: 0, neighAdd: 0, neighDel: 0, resyncs: 0, errors: 0 };
  private readonly o: LearnerOptions;
  private readonly ifindexes: Set<number>;
  private readonly nl: NetlinkSocket;
  private readonly mon: Monitor;
  private readonly buf = new Uint8Array(65536);
  /** Neighbours posted, by "ip/ifindex": what was posted ("" once deleted). */
  private readonly neighs = new Map<string, string>();

  private constructor(o: LearnerOptions, nl: NetlinkSocket, mon: Monitor) {
    this.o = o;
    this.nl = nl;
    this.mon = mon;
    this.ifindexes = new Set(o.interfaces.map((i) => i.ifindex));
  }

  /**
   * Subscribes first (so nothing between the dump and the subscription is missed), then dumps addresses,
   * routes and neighbours into the tables and feeds. On failure closes what it opened.
   *
   * @example
   * const learner = LinuxLearner.open({ tables: NetTables.create(), interfaces: [], netns: "pod1" });
   */
  static open(o: LearnerOptions): LinuxLearner {
    for (const i of o.interfaces) o.tables.setInterface(i);
    const mon = Monitor.open(o.netns);
    let nl: NetlinkSocket | null = null;
    try {
      nl = NetlinkSocket.open(o.netns !== undefined ? { netns: o.netns } : {});
      const l = new LinuxLearner(o, nl, mon);
      l.dumpAll();
      return l;
    } catch (e) {
      nl?.close();
      mon.close();
      throw e;
    }
  }

  /** Dumps everything (at start and after a lost notification). */
  private dumpAll(): void {
    for (const m of this.nl.dump(RTM.GETADDR, ifaddrmsg(), "RTM_GETADDR dump (cnet)")) this.apply(m);
    for (const m of this.nl.dump(RTM.GETROUTE, rtmsg(), "RTM_GETROUTE dump (cnet)")) this.apply(m);
    for (const m of this.nl.dump(RTM_GETNEIGH, ndmsg(), "RTM_GETNEIGH dump (cnet)")) this.apply(m);
  }

  /**
   * Applies every notification waiting on the monitor socket, without blocking; returns how many
   * messages were read.
   *
   * @example
   * const learner = LinuxLearner.open({ tables: NetTables.create(), interfaces: [] });
   * setInterval(() => learner.poll(), 100);
   */
  poll(): number {
    let got = 0;
    for (;;) {
      const n = sys.recvfrom(this.mon.fd, this.buf, MSG_DONTWAIT);
      if (n === -EAGAIN) return got;
      if (n === -ENOBUFS) {
        this.counters.resyncs++;
        this.dumpAll();
        continue;
      }
      if (n < 0) {
        this.counters.errors++;
        return got;
      }
      const dv = new DataView(this.buf.buffer, 0, n);
      let at = 0;
      while (at + NLMSG_HDRLEN <= n) {
        const len = dv.getUint32(at, true);
        if (len < NLMSG_HDRLEN || at + len > n) break;
        const m: NlMessage = { type: dv.getUint16(at + 4, true), flags: dv.getUint16(at + 6, true), data: this.buf.slice(at + NLMSG_HDRLEN, at + len) };
        this.apply(m);
        got++;
        at += align4(len);
      }
    }
  }

  private apply(m: NlMessage): void {
    const t = this.o.tables;
    if (m.type === RTM.NEWADDR || m.type === RTM.DELADDR) {
      const a = parseAddr(m);
      if (!a || !this.ifindexes.has(a.index)) return;
      if (a.family === 6) {
        const ip6 = parseIp6(a.address);
        if (m.type === RTM.NEWADDR) {
          if (t.addAddress6(ip6, a.prefixLen, a.index, a.flags)) this.counters.addrAdd++;
        } else if (t.deleteAddress6(ip6, a.index)) {
          this.counters.addrDel++;
        }
        return;
      }
      const ip = parseIp4(a.address);
      if (m.type === RTM.NEWADDR) {
        if (t.addAddress4(ip, a.prefixLen, a.index)) this.counters.addrAdd++;
      } else if (t.deleteAddress4(ip, a.index)) {
        this.counters.addrDel++;
      }
      return;
    }
    if (m.type === RTM.NEWROUTE || m.type === RTM.DELROUTE) {
      const r = parseRoute(m);
      if (!r || r.table !== RT_TABLE.MAIN || r.type !== RTN.UNICAST || r.oif === undefined || !this.ifindexes.has(r.oif)) return;
      const [dst, len] = r.dst.split("/") as [string, string];
      if (r.family === 6) {
        const p6 = parseIp6(dst);
        if (m.type === RTM.NEWROUTE) {
          try {
            t.addRoute6(p6, Number(len), r.gateway ? parseIp6(r.gateway) : null, r.oif, r.priority ?? 0);
            this.counters.routeAdd++;
          } catch (e) {
            this.counters.errors++;
            this.o.log?.(`cnet: route ${r.dst} not taken: ${(e as Error).message}`);
          }
        } else if (t.deleteRoute6(p6, Number(len), r.oif, r.priority ?? 0)) {
          this.counters.routeDel++;
        }
        return;
      }
      const ip = parseIp4(dst);
      const depth = Number(len);
      if (m.type === RTM.NEWROUTE) {
        try {
          t.addRoute4(ip, depth, r.gateway ? parseIp4(r.gateway) : 0, r.oif, r.priority ?? 0);
          this.counters.routeAdd++;
        } catch (e) {
          this.counters.errors++;
          this.o.log?.(`cnet: route ${r.dst} not taken: ${(e as Error).message}`);
        }
      } else if (t.deleteRoute4(ip, depth, r.oif, r.priority ?? 0)) {
        this.counters.routeDel++;
      }
      return;
    }
    if (m.type === RTM_NEWNEIGH || m.type === RTM_DELNEIGH) {
      if (m.data.length < NDMSG_LEN) return;
      const dv = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      const af = dv.getUint8(0);
      if (af !== AF_INET && af !== AF_INET6) return;
      const ifindex = dv.getInt32(4, true);
      if (!this.ifindexes.has(ifindex)) return;
      const state = dv.getUint16(8, true);
      const a = Attrs.parse(m.data, NDMSG_LEN);
      const dst = a.get(NDA_DST);
      const ll = a.get(NDA_LLADDR);
      if (!dst || dst.length !== (af === AF_INET ? 4 : 16)) return;
      const ip = af === AF_INET ? ((dst[0]! << 24) | (dst[1]! << 16) | (dst[2]! << 8) | dst[3]!) >>> 0 : 0;
      const del = m.type === RTM_DELNEIGH || (state & (NUD_FAILED | NUD_INCOMPLETE)) !== 0;
      if (!del && (!ll || ll.length !== 6 || (state & NUD_NOARP) !== 0 && (state & NUD_PERMANENT) === 0)) return;
      // Linux may notify one change twice (a deleted entry: NUD_FAILED, then RTM_DELNEIGH): post changes only.
      const key = af === AF_INET ? `${ip}/${ifindex}` : `${Array.from(dst).join(".")}/${ifindex}`;
      const perm = (state & NUD_PERMANENT) !== 0;
      const desc = del ? "" : `${perm ? "p" : ""}${Array.from(ll!).join(":")}`;
      if ((this.neighs.get(key) ?? "") === desc) return;
      if (del) this.neighs.delete(key);
      else this.neighs.set(key, desc);
      for (const f of this.o.feeds ?? []) {
        if (af === AF_INET) f.post(ip, ll ?? new Uint8Array(6), ifindex, perm, del);
        else f.post6(dst, ll ?? new Uint8Array(6), ifindex, perm, del);
      }
      if (del) this.counters.neighDel++;
      else this.counters.neighAdd++;
    }
  }

  /**
   * Closes both sockets (idempotent).
   *
   * @example
   * LinuxLearner.open({ tables: NetTables.create(), interfaces: [] }).close();
   */
  close(): void {
    this.nl.close();
    this.mon.close();
  }
}

function ifaddrmsg(): Uint8Array {
  const w = new AttrWriter();
  w.fixed(8).setUint8(0, AF_UNSPEC); // both families
  return w.finish();
}

function rtmsg(): Uint8Array {
  const w = new AttrWriter();
  w.fixed(12).setUint8(0, AF_UNSPEC);
  return w.finish();
}

function ndmsg(): Uint8Array {
  const w = new AttrWriter();
  w.fixed(NDMSG_LEN).setUint8(0, AF_UNSPEC);
  return w.finish();
}
