/**
 * Test fixture for TCP without root: two cnet stacks (A 10.0.0.1, B 10.0.0.2) on one mempool, each on a
 * ring port, joined by a simulated link the test drives (`step()`): it moves the frames each stack sent
 * to the other, with loss, duplication, reordering and delay from a seeded generator, and optional taps
 * that see (and may change or drop) each frame. Time is a fake clock (ms) the test advances: `step()`
 * adds `msPerStep`. Neighbours are permanent ARP entries, so no ARP crosses the link.
 *
 * With `ipv6: true` both stacks also have IPv6 (off by default, so IPv4 runs exactly as without it): A is
 * fd00::1 and fe80::1, B fd00::2 and fe80::2 (preferred at once, no DAD), each knows the other as a
 * permanent ND neighbour, so no ND crosses the link either.
 */
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { RingPort } from "../pktdev/ring-port.js";
import { NetTables } from "../cnet/tables.js";
import { ArpTable } from "../cnet/arp-table.js";
import { CnetCounters, type CounterName } from "../cnet/counters.js";
import { CnetStack } from "../cnet/stack.js";
import type { TcpOptions } from "../cnet/tcp/engine.js";
import { NdTable, ND_PERMANENT } from "../cnet/ip6/nd-table.js";
import { Ip6Addrs } from "../cnet/ip6/addrs.js";
import type { Chnl } from "../cnet/chnl.js";

export const IP_A = 0x0a000001;
export const IP_B = 0x0a000002;
export const MAC_A = Uint8Array.of(2, 0, 0, 0, 0xa, 1);
export const MAC_B = Uint8Array.of(2, 0, 0, 0, 0xb, 2);
/** With `ipv6: true`: A's and B's global (fd00::1, fd00::2) and link-local (fe80::1, fe80::2) addresses. */
export const IP6_A = Uint8Array.of(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
export const IP6_B = Uint8Array.of(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
export const LL_A = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
export const LL_B = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
/** The ifindexes of A's and B's interfaces (a link-local peer's scope). */
export const IFINDEX_A = 5;
export const IFINDEX_B = 6;

/** Impairments of one direction (probabilities 0..1, delays in ms). */
export interface LinkImpair {
  loss?: number;
  dup?: number;
  /** Probability a frame is held back `reorderMs` more than the rest. */
  reorder?: number;
  reorderMs?: number;
  delayMs?: number;
}

/** What a tap returns: keep the frame, or drop it. */
export type Tap = (u8: Uint8Array, off: number, len: number, h: number) => boolean;

/** One rig: see the module comment. */
export interface TcpLink {
  umem: Umem;
  mp: Mempool;
  a: CnetStack;
  b: CnetStack;
  clock: Float64Array;
  frames: number;
  /** Impairments A -> B and B -> A. */
  ab: LinkImpair;
  ba: LinkImpair;
  tapAB: Tap | null;
  tapBA: Tap | null;
  /** Walks both stacks and moves frames; advances the clock by `ms` (default 1). */
  step(ms?: number): void;
  /** Frames on the link now (held for delay). */
  inFlight(): number;
  /** Counters of A or B. */
  ca(): Record<CounterName, number>;
  cb(): Record<CounterName, number>;
  /** Injects a raw frame (Ethernet) towards A or B. */
  inject(to: "a" | "b", f: Uint8Array): void;
  /** Closes both stacks, frees the link's frames; returns frames missing from the pool (leaks). */
  close(): number;
}

/**
 * Builds the rig.
 *
 * @example
 * const L = tcpLink({ tcp: { timeWaitMs: 100 } });
 */
export function tcpLink(o: { tcp?: TcpOptions; frames?: number; seed?: number; burst?: number; ipv6?: boolean } = {}): TcpLink {
  const frames = o.frames ?? 16384;
  const umem = Umem.create({ frames });
  const mp = Mempool.create({ umem, cacheSize: 64 });
  const [pa, xa] = RingPort.pair({ names: ["pa", "xa"], pids: [0, 1], mbufs: mp.mbufs, size: 8192 });
  const [pb, xb] = RingPort.pair({ names: ["pb", "xb"], pids: [2, 3], mbufs: mp.mbufs, size: 8192 });
  const clock = Float64Array.of(1_000_000);
  const mk = (pid: number, port: RingPort, ifindex: number, mac: Uint8Array, us: number, peer: number, peerMac: Uint8Array, name: string, v6: Uint8Array[]) => {
    const tables = NetTables.create({ maxTbl8Groups: 4 });
    tables.setInterface({ ifindex, pid, mac, mtu: 1500 });
    tables.addAddress4(us, 24, ifindex);
    tables.addRoute4(0x0a000000, 24, 0, ifindex, 0);
    const arp = ArpTable.create({ capacity: 64 });
    arp.setFromLinux(peer, peerMac, 0, ifindex, clock[0]!, true);
    const counters = CnetCounters.create();
    let six = {};
    if (o.ipv6) {
      const [g, ll, pg, pll] = v6 as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
      tables.addAddress6(g, 64, ifindex, 0);
      tables.addAddress6(ll, 64, ifindex, 0);
      tables.addRoute6(Uint8Array.of(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 64, null, ifindex, 256);
      tables.addRoute6(Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 64, null, ifindex, 256);
      const nd = NdTable.create({ capacity: 64, pendingPerEntry: 8 });
      nd.learn(pg, 0, ifindex, peerMac, 0, clock[0]!, true, ND_PERMANENT);
      nd.learn(pll, 0, ifindex, peerMac, 0, clock[0]!, true, ND_PERMANENT);
      six = { nd, ip6Addrs: Ip6Addrs.create(), timers6: { scanMs: 0, dadTransmits: 0, unsolicitedNa: false } };
    }
    const stack = CnetStack.create({
      ports: [port], mempool: mp, burst: o.burst ?? 64, tables, arp, counters, stackPorts: [{ pid, ifindex, mac }], clock, name,
      timers: { gratuitous: false }, ipv6: o.ipv6 === true, ...six, ...(o.tcp ? { tcp: o.tcp } : {}),
    });
    return { stack, counters };
  };
  const A = mk(0, pa!, IFINDEX_A, MAC_A, IP_A, IP_B, MAC_B, "A", [IP6_A, LL_A, IP6_B, LL_B]);
  const B = mk(2, pb!, IFINDEX_B, MAC_B, IP_B, IP_A, MAC_A, "B", [IP6_B, LL_B, IP6_A, LL_A]);
  let seed = (o.seed ?? 12345) >>> 0;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) / 16777216;
  };
  // Held frames per direction (typed arrays: stepping a clean link allocates nothing).
  const HCAP = 1 << 16;
  const heldH = [new Uint32Array(HCAP), new Uint32Array(HCAP)];
  const heldDue = [new Float64Array(HCAP), new Float64Array(HCAP)];
  const heldN = new Int32Array(2);
  const bufs = new Uint32Array(256);
  const one = new Uint32Array(1);
  const u8 = umem.u8;
  const at = (h: number) => ((h << umem.shift) >>> 0) + mp.mbufs.dataOff[h]!;
  const hold = (d: number, h: number, due: number) => {
    const n = heldN[d]!;
    if (n >= HCAP) {
      mp.free(h);
      return;
    }
    heldH[d]![n] = h;
    heldDue[d]![n] = due;
    heldN[d] = n + 1;
  };
  const move = (d: number, from: RingPort, to: RingPort, imp: LinkImpair, tap: Tap | null) => {
    const hh = heldH[d]!;
    const hd = heldDue[d]!;
    for (let n; (n = from.rxBurst(bufs, 256)) > 0;) {
      for (let i = 0; i < n; i++) {
        const h = bufs[i]!;
        if (tap !== null && !tap(u8, at(h), mp.mbufs.dataLen[h]!, h)) {
          mp.free(h);
          continue;
        }
        if (imp.loss !== undefined && rnd() < imp.loss) {
          mp.free(h);
          continue;
        }
        const base = clock[0]! + (imp.delayMs ?? 0);
        if (imp.dup !== undefined && rnd() < imp.dup) {
          const c = mp.alloc();
          if (c >= 0) {
            const len = mp.mbufs.dataLen[h]!;
            u8.copyWithin(at(c), at(h), at(h) + len);
            mp.mbufs.dataLen[c] = len;
            hold(d, c, base + (imp.reorder !== undefined && rnd() < imp.reorder ? imp.reorderMs ?? 5 : 0));
          }
        }
        hold(d, h, base + (imp.reorder !== undefined && rnd() < imp.reorder ? imp.reorderMs ?? 5 : 0));
      }
    }
    // Deliver what is due, in arrival order among the due ones.
    let w = 0;
    const n = heldN[d]!;
    const now = clock[0]!;
    for (let i = 0; i < n; i++) {
      const h = hh[i]!;
      if (hd[i]! <= now) {
        one[0] = h;
        if (to.txBurst(one, 1) !== 1) mp.free(h);
      } else {
        hh[w] = h;
        hd[w] = hd[i]!;
        w++;
      }
    }
    heldN[d] = w;
  };
  if (o.ipv6) {
    // The addresses become preferred at the first walk; whatever that sends (nothing expected) is dropped.
    A.stack.walk();
    B.stack.walk();
    for (const p of [xa!, xb!]) for (let n; (n = p.rxBurst(bufs, 256)) > 0;) mp.freeBulk(bufs, n);
  }
  const link: TcpLink = {
    umem, mp, a: A.stack, b: B.stack, clock, frames, ab: {}, ba: {}, tapAB: null, tapBA: null,
    step(ms = 1) {
      A.stack.walk();
      B.stack.walk();
      move(0, xa!, xb!, link.ab, link.tapAB);
      move(1, xb!, xa!, link.ba, link.tapBA);
      clock[0] = clock[0]! + ms;
    },
    inFlight: () => heldN[0]! + heldN[1]!,
    ca: () => A.counters.read(),
    cb: () => B.counters.read(),
    inject(to, f) {
      const h = mp.alloc();
      if (h < 0) throw new Error("tcpLink.inject: pool empty");
      u8.set(f, at(h));
      mp.mbufs.dataLen[h] = f.length;
      one[0] = h;
      if ((to === "a" ? xa! : xb!).txBurst(one, 1) !== 1) throw new Error("tcpLink.inject: ring full");
    },
    close() {
      A.stack.close();
      B.stack.close();
      for (const p of [xa!, xb!, pa!, pb!]) for (let n; (n = p.rxBurst(bufs, 256)) > 0;) mp.freeBulk(bufs, n);
      for (let d = 0; d < 2; d++) for (let i = 0; i < heldN[d]!; i++) mp.free(heldH[d]![i]!);
      heldN.fill(0);
      mp.flushCache();
      const leaked = frames - mp.available();
      umem.close();
      return leaked;
    },
  };
  return link;
}

/**
 * `n` pseudo-random bytes from `seed` (a linear congruential generator: the same bytes every run).
 *
 * @example
 * const ab = seededBytes(1 << 20, 1);
 */
export function seededBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

/**
 * Steps the link (`ms` each) until `cond` holds; throws naming `what` after `max` steps.
 *
 * @example
 * stepUntil(L, () => A.tcpState(acd) === "ESTABLISHED", "established");
 */
export function stepUntil(L: TcpLink, cond: () => boolean, what: string, max = 200_000, ms = 1): void {
  for (let i = 0; i < max; i++) {
    if (cond()) return;
    L.step(ms);
  }
  throw new Error(`not reached after ${max} steps: ${what}`);
}

/**
 * Moves `ab` from A to B and `ba` from B to A at once over connected channels `acd`/`bcd`; each side
 * shuts down once it has sent all (B only after A's FIN with `bWaitsEof`); returns what each received
 * once both saw EOF (asserts they did within `maxSteps`, default 2 million).
 *
 * @example
 * const { atB, atA } = exchange(L, acd, bcd, seededBytes(1 << 20, 1), seededBytes(1 << 20, 2));
 */
export function exchange(L: TcpLink, acd: number, bcd: number, ab: Uint8Array, ba: Uint8Array, o: { bWaitsEof?: boolean; maxSteps?: number } = {}): { atB: Uint8Array; atA: Uint8Array } {
  const maxSteps = o.maxSteps ?? 2_000_000;
  const A = L.a.chnl;
  const B = L.b.chnl;
  const gotB = new Uint8Array(ab.length + 1);
  const gotA = new Uint8Array(ba.length + 1);
  let sa = 0, sb = 0, ra = 0, rb = 0;
  let eofA = false, eofB = false, shA = false, shB = false;
  const pump = (ch: Chnl, cd: number, src: Uint8Array, sent: number): number => sent < src.length ? sent + ch.send(cd, src, sent, Math.min(65536, src.length - sent)) : sent;
  for (let i = 0; i < maxSteps && !(eofA && eofB); i++) {
    sa = pump(A, acd, ab, sa);
    sb = pump(B, bcd, ba, sb);
    if (sa === ab.length && !shA) { A.shutdown(acd); shA = true; }
    if (sb === ba.length && !shB && (!o.bWaitsEof || eofB)) { B.shutdown(bcd); shB = true; }
    for (let k; !eofB && (k = B.recv(bcd, gotB, rb, gotB.length - rb)) !== 0;) {
      if (k < 0) eofB = true;
      else rb += k;
    }
    for (let k; !eofA && (k = A.recv(acd, gotA, ra, gotA.length - ra)) !== 0;) {
      if (k < 0) eofA = true;
      else ra += k;
    }
    L.step();
  }
  assert.ok(eofA && eofB, `transfer did not finish: A sent ${sa}/${ab.length}, B got ${rb}; B sent ${sb}/${ba.length}, A got ${ra}`);
  return { atB: gotB.subarray(0, rb), atA: gotA.subarray(0, ra) };
}
