/**
 * FIB benchmark (issue 9), on DPDK 25.11 dpdk-test-fib's default workload: routes spread evenly over the
 * prefix lengths (test-fib's complete_distrib: depth d gets min(2^d, an even share of what is left), so
 * /0 gets one route, /1 two, ... and the rest the same number each), each depth's prefixes spread evenly
 * over the address space (gen_random_rt_4/6: one random value per step); next hops random 21-bit values;
 * 10 M lookup addresses, the i-th inside route i mod n in generation order with random host bits
 * (gen_rnd_lookup_tbl); bulk lookups in bursts of 64 (test-fib's BURST_SZ). One core, the main thread;
 * the median of `runs`; ns are CPU time (process.cpuUsage) per lookup, wall time beside it. The IPv4 tables are
 * on 2 MB pages where the system allows (src/sys/hugepage.ts, as the fwd app's; the `pages` column). IPv4: 1 k, 100 k and 1 M routes (Fib4, DIR-24-8); IPv6: 100 k routes (Fib6).
 *
 * Beside each, in the same run, naive baselines whose ratio survives another machine: a Map per prefix
 * length probed from the longest length in use down (the obvious JS longest-prefix match), and the RIB's
 * trie lookup (Rib4/Rib6). DPDK's C figures on the reference machine (AMD EPYC 2.45 GHz, scalar paths) and
 * the targets come from the issue.
 *
 * Run: node dist/bench/lookup-fib.js [runs]   (the lead wires lookupFibBench into bench/run.ts)
 */
import { loadavg } from "node:os";
import { Fib4, Fib6, Rib4, Rib6 } from "../src/lookup/fib/index.js";
import { mmapHuge, type HugeKind } from "../src/sys/hugepage.js";

export interface FibBenchRow {
  /** What was measured. */
  name: string;
  family: 4 | 6;
  routes: number;
  /** Nanoseconds of CPU time per lookup, median of the runs. */
  nsPerLookup: number;
  /** Every run's ns per lookup. */
  runs: number[];
  /** Nanoseconds of wall time per lookup, median of the runs (includes time other processes ran). */
  wallNs: number;
  /** Nanoseconds (CPU) per lookup of the naive baseline (a Map per prefix length) in the same run. */
  mapNs: number;
  /** Nanoseconds per lookup of the RIB trie in the same run. */
  ribNs: number;
  /** mapNs / nsPerLookup. */
  vsMap: number;
  /** DPDK C on the reference machine, and the target, ns per lookup. */
  dpdkNs: number;
  targetNs: number;
  /** Seconds to add all routes one by one. */
  buildSeconds: number;
  /** Pages the tables got (IPv4: src/sys/hugepage.ts, as the fwd app; IPv6: plain SharedArrayBuffers). */
  pages: HugeKind;
}

export interface FibBenchResult {
  rows: FibBenchRow[];
  markdown: string;
}

const BURST = 64;
const MAX_NH = (1 << 21) - 1; // test-fib: min(fib's, lpm6's 21 bits)
const REF: Record<string, { dpdk: number; target: number }> = {
  "4/1000": { dpdk: 7.0, target: 14 },
  "4/100000": { dpdk: 11.4, target: 23 },
  "4/1000000": { dpdk: 18.7, target: 37 },
  "6/100000": { dpdk: 336, target: 336 },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A seeded xorshift32. */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Routes per depth 0..maxDepth as test-fib's complete_distrib with no depth configured. */
function routesPerDepth(n: number, maxDepth: number): number[] {
  const per: number[] = [];
  let nr = 0;
  for (let d = 0; d <= maxDepth; d++) {
    const avg = Math.floor((n - nr) / (maxDepth + 1 - d));
    per.push(Math.min(2 ** d, avg));
    nr += per[d]!;
  }
  return per;
}

/** A random value in [lo, hi) as test-fib's get_rnd_rng (lo when the range is empty). */
function rndRange(r: () => number, lo: number, hi: number): number {
  if (hi <= lo) return lo;
  return lo + ((r() * 4294967296 + r()) % (hi - lo));
}

interface Routes4 {
  ip: Uint32Array;
  depth: Uint8Array;
  nh: Uint32Array;
}

function genRoutes4(n: number, r: () => number): Routes4 {
  const per = routesPerDepth(n, 32);
  const total = per.reduce((a, b) => a + b, 0);
  const out: Routes4 = { ip: new Uint32Array(total), depth: new Uint8Array(total), nh: new Uint32Array(total) };
  let k = 0;
  for (let d = 0; d <= 32; d++) {
    const step = 2 ** d / per[d]!;
    for (let j = 0, edge = 0; j < per[d]!; j++, k++, edge += step) {
      const v = d === 0 ? 0 : rndRange(r, Math.floor(edge), Math.floor(edge + step));
      out.ip[k] = d === 0 ? 0 : (v * 2 ** (32 - d)) >>> 0;
      out.depth[k] = d;
      out.nh[k] = r() & MAX_NH;
    }
  }
  return out;
}

interface Routes6 {
  ip: Uint8Array; // 16 bytes per route
  depth: Uint8Array;
  nh: Uint32Array;
}

function genRoutes6(n: number, r: () => number): Routes6 {
  const per = routesPerDepth(n, 128);
  const total = per.reduce((a, b) => a + b, 0);
  const out: Routes6 = { ip: new Uint8Array(16 * total), depth: new Uint8Array(total), nh: new Uint32Array(total) };
  const dv = new DataView(out.ip.buffer);
  let k = 0;
  if (per[0]! > 0) out.nh[k++] = r() & MAX_NH; // ::/0
  for (let a = 0; a < 4; a++) {
    for (let i = 1; i <= 32; i++) {
      const d = a * 32 + i;
      const step = 2 ** i / per[d]!;
      for (let j = 0, edge = 0; j < per[d]!; j++, k++, edge += step) {
        const v = rndRange(r, Math.floor(edge), Math.floor(edge + step));
        for (let w = 0; w < a; w++) dv.setUint32(16 * k + 4 * w, r()); // words before: random
        dv.setUint32(16 * k + 4 * a, (v * 2 ** (32 - i)) >>> 0);
        out.depth[k] = d;
        out.nh[k] = r() & MAX_NH;
      }
    }
  }
  return out;
}

/**
 * ns per lookup of `fn(b)` over `bursts` bursts: CPU time of this process (user + system; the benchmark is
 * one thread that allocates nothing in the loop) and wall time. On a shared machine the wall time also
 * counts the time other processes ran; the CPU time does not.
 */
function time(bursts: number, fn: (b: number) => void): { cpu: number; wall: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < bursts; b++) fn(b);
  const wall = Number(process.hrtime.bigint() - t0);
  const c = process.cpuUsage(c0);
  return { cpu: ((c.user + c.system) * 1000) / (bursts * BURST), wall: wall / (bursts * BURST) };
}

async function bench4(n: number, L: number, runs: number, r: () => number): Promise<FibBenchRow> {
  const rt = genRoutes4(n, r);
  const total = rt.depth.length;
  let deep = 0;
  for (let k = 0; k < total; k++) if (rt.depth[k]! > 24) deep++;
  let pages: HugeKind = "hugetlb";
  const alloc = (bytes: number): SharedArrayBuffer => {
    const m = mmapHuge(bytes);
    if (m.kind === "4KB" || pages === "hugetlb") pages = m.kind;
    return m.buf;
  };
  const fib = Fib4.create({ maxTbl8Groups: deep + 1024, alloc });
  const rib = new Rib4();
  const maps: Map<number, number>[] = Array.from({ length: 33 }, () => new Map());
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < total; k++) fib.add(rt.ip[k]!, rt.depth[k]!, rt.nh[k]!);
  const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (let k = 0; k < total; k++) {
    rib.add(rt.ip[k]!, rt.depth[k]!, rt.nh[k]!);
    maps[rt.depth[k]!]!.set(rt.ip[k]!, rt.nh[k]!);
  }
  const depths = [...maps.keys()].filter((d) => maps[d]!.size > 0).sort((a, b) => b - a);
  const masks = depths.map((d) => (d === 0 ? 0 : (0xffffffff << (32 - d)) >>> 0));
  const dmaps = depths.map((d) => maps[d]!);

  const ips = new Uint32Array(L);
  for (let i = 0, j = 0; i < L; i++, j = j + 1 === total ? 0 : j + 1) {
    const d = rt.depth[j]!;
    ips[i] = d === 32 ? rt.ip[j]! : (rt.ip[j]! | (r() & (0xffffffff >>> d))) >>> 0;
  }
  const views: Uint32Array[] = [];
  for (let b = 0; b < L / BURST; b++) views.push(ips.subarray(b * BURST, (b + 1) * BURST));
  const nhs = new Uint32Array(BURST);
  let sum = 0;
  const fibBulk = (b: number): void => {
    fib.lookupBulk(views[b]!, nhs, BURST);
    sum += nhs[0]!;
  };
  const mapLpm = (b: number): void => {
    const base = b * BURST;
    for (let j = 0; j < BURST; j++) {
      const ip = ips[base + j]!;
      let nh = 0x7fffffff;
      for (let k = 0; k < dmaps.length; k++) {
        const v = dmaps[k]!.get((ip & masks[k]!) >>> 0);
        if (v !== undefined) {
          nh = v;
          break;
        }
      }
      nhs[j] = nh;
    }
    sum += nhs[0]!;
  };
  const ribLpm = (b: number): void => {
    const base = b * BURST;
    for (let j = 0; j < BURST; j++) nhs[j] = rib.lookup(ips[base + j]!);
    sum += nhs[0]!;
  };
  // Correctness on a sample before timing: the FIB agrees with both baselines.
  for (let b = 0; b < 64; b++) {
    fib.lookupBulk(views[b]!, nhs, BURST);
    const got = [...nhs];
    mapLpm(b);
    const m = [...nhs];
    ribLpm(b);
    if (got.join() !== m.join() || got.join() !== [...nhs].join()) throw new Error(`bench: Fib4 (${n} routes) disagrees with the baselines in burst ${b}`);
  }
  const fibRuns: number[] = [];
  const wallRuns: number[] = [];
  const mapRuns: number[] = [];
  const ribRuns: number[] = [];
  const baseBursts = Math.min(L, 1 << 20) / BURST;
  for (let run = 0; run <= runs; run++) {
    const f = time(run === 0 ? L / BURST / 4 : L / BURST, fibBulk);
    const m = time(run === 0 ? baseBursts / 8 : baseBursts, mapLpm);
    const t = time(run === 0 ? baseBursts / 8 : baseBursts, ribLpm);
    if (run > 0) {
      fibRuns.push(f.cpu);
      wallRuns.push(f.wall);
      mapRuns.push(m.cpu);
      ribRuns.push(t.cpu);
    }
    await new Promise((res) => setImmediate(res));
  }
  if (sum < 0) throw new Error("unreachable");
  const ref = REF[`4/${n}`] ?? { dpdk: NaN, target: NaN };
  const ns = median(fibRuns);
  return {
    name: `IPv4 DIR-24-8, ${n} routes`, family: 4, routes: total, nsPerLookup: ns, runs: fibRuns, wallNs: median(wallRuns), mapNs: median(mapRuns), ribNs: median(ribRuns),
    vsMap: median(mapRuns) / ns, dpdkNs: ref.dpdk, targetNs: ref.target, buildSeconds, pages,
  };
}

async function bench6(n: number, L: number, runs: number, r: () => number): Promise<FibBenchRow> {
  const rt = genRoutes6(n, r);
  const total = rt.depth.length;
  const fib = Fib6.create({ maxTbl8Groups: 1 << 17, maxLeaves: 2 * total + 1024 });
  const rib = new Rib6();
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < total; k++) fib.add(rt.ip.subarray(16 * k, 16 * k + 16), rt.depth[k]!, rt.nh[k]!);
  const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // Baseline: a Map per prefix length keyed by the prefix as a BigInt.
  const big = (u8: Uint8Array, o: number): bigint => {
    let x = 0n;
    for (let i = 0; i < 16; i += 4) x = (x << 32n) | BigInt((((u8[o + i]! << 24) | (u8[o + i + 1]! << 16) | (u8[o + i + 2]! << 8) | u8[o + i + 3]!) >>> 0));
    return x;
  };
  const maps = new Map<number, Map<bigint, number>>();
  for (let k = 0; k < total; k++) {
    const d = rt.depth[k]!;
    rib.add(rt.ip.subarray(16 * k, 16 * k + 16), d, rt.nh[k]!);
    if (!maps.has(d)) maps.set(d, new Map());
    maps.get(d)!.set(big(rt.ip, 16 * k) >> BigInt(128 - d), rt.nh[k]!);
  }
  const depths = [...maps.keys()].sort((a, b) => b - a);
  const shifts = depths.map((d) => BigInt(128 - d));
  const dmaps = depths.map((d) => maps.get(d)!);

  const u8 = new Uint8Array(16 * L);
  for (let i = 0, j = 0; i < L; i++, j = j + 1 === total ? 0 : j + 1) {
    const o = 16 * i;
    for (let b = 0; b < 16; b++) u8[o + b] = r() & 0xff;
    let d = rt.depth[j]!;
    for (let b = 0; b < 16 && d > 0; b++, d -= 8) {
      const m = d >= 8 ? 0xff : (0xff << (8 - d)) & 0xff;
      u8[o + b] = (u8[o + b]! & ~m) | (rt.ip[16 * j + b]! & m);
    }
  }
  const offs = new Uint32Array(L);
  for (let i = 0; i < L; i++) offs[i] = 16 * i;
  const views: Uint32Array[] = [];
  for (let b = 0; b < L / BURST; b++) views.push(offs.subarray(b * BURST, (b + 1) * BURST));
  const nhs = new Uint32Array(BURST);
  let sum = 0;
  const fibBulk = (b: number): void => {
    fib.lookupBulk(u8, views[b]!, nhs, BURST);
    sum += nhs[0]!;
  };
  const mapLpm = (b: number): void => {
    for (let j = 0; j < BURST; j++) {
      const a = big(u8, 16 * (b * BURST + j));
      let nh = 0x7fffffff;
      for (let k = 0; k < dmaps.length; k++) {
        const v = dmaps[k]!.get(a >> shifts[k]!);
        if (v !== undefined) {
          nh = v;
          break;
        }
      }
      nhs[j] = nh;
    }
    sum += nhs[0]!;
  };
  const ribLpm = (b: number): void => {
    for (let j = 0; j < BURST; j++) nhs[j] = rib.lookup(u8, 16 * (b * BURST + j));
    sum += nhs[0]!;
  };
  for (let b = 0; b < 64; b++) {
    fib.lookupBulk(u8, views[b]!, nhs, BURST);
    const got = [...nhs];
    mapLpm(b);
    const m = [...nhs];
    ribLpm(b);
    if (got.join() !== m.join() || got.join() !== [...nhs].join()) throw new Error(`bench: Fib6 (${n} routes) disagrees with the baselines in burst ${b}`);
  }
  const fibRuns: number[] = [];
  const wallRuns: number[] = [];
  const mapRuns: number[] = [];
  const ribRuns: number[] = [];
  const mapBursts = Math.min(L, 1 << 16) / BURST;
  const ribBursts = Math.min(L, 1 << 20) / BURST;
  for (let run = 0; run <= runs; run++) {
    const f = time(run === 0 ? L / BURST / 4 : L / BURST, fibBulk);
    const m = time(run === 0 ? mapBursts / 8 : mapBursts, mapLpm);
    const t = time(run === 0 ? ribBursts / 8 : ribBursts, ribLpm);
    if (run > 0) {
      fibRuns.push(f.cpu);
      wallRuns.push(f.wall);
      mapRuns.push(m.cpu);
      ribRuns.push(t.cpu);
    }
    await new Promise((res) => setImmediate(res));
  }
  if (sum < 0) throw new Error("unreachable");
  const ref = REF[`6/${n}`] ?? { dpdk: NaN, target: NaN };
  const ns = median(fibRuns);
  const s = fib.stats();
  return {
    name: `IPv6, ${n} routes (${s.tbl8Used} groups, ${s.leavesUsed} leaves)`, family: 6, routes: total, nsPerLookup: ns, runs: fibRuns, wallNs: median(wallRuns), mapNs: median(mapRuns),
    ribNs: median(ribRuns), vsMap: median(mapRuns) / ns, dpdkNs: ref.dpdk, targetNs: ref.target, buildSeconds, pages: "4KB",
  };
}

export async function lookupFibBench(opts: { lookups?: number; runs?: number; v4Routes?: number[]; v6Routes?: number[] } = {}): Promise<FibBenchResult> {
  const L = Math.floor((opts.lookups ?? 10_000_000) / BURST) * BURST;
  const runs = opts.runs ?? 3;
  const r = rng(20261201);
  const rows: FibBenchRow[] = [];
  for (const n of opts.v4Routes ?? [1000, 100_000, 1_000_000]) rows.push(await bench4(n, L, runs, r));
  for (const n of opts.v6Routes ?? [100_000]) rows.push(await bench6(n, L, runs, r));
  const f = (x: number): string => (Number.isNaN(x) ? "" : x < 10 ? x.toFixed(1) : x.toFixed(0));
  const md = [
    `### FIB: dpdk-test-fib's default workload, ${(L / 1e6).toFixed(0)} M lookups per run in bursts of ${BURST}, median of ${runs}`,
    "",
    "Routes spread evenly over the prefix lengths (/0../32, /0../128), lookups inside the routes in turn with random host bits. " +
      "Baselines in the same run: a Map per prefix length probed from the longest down, and the RIB trie. " +
      `ns are CPU time per lookup (wall time beside it: it also counts other processes; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")} at the end).`,
    "",
    "| workload | ns per lookup | wall ns | Map per length, ns | vs Map | RIB trie, ns | DPDK C, ns | target, ns | vs target | build, s | pages |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((x) =>
      `| ${x.name} | ${f(x.nsPerLookup)} | ${f(x.wallNs)} | ${f(x.mapNs)} | ${x.vsMap.toFixed(1)}x | ${f(x.ribNs)} | ${f(x.dpdkNs)} | ${f(x.targetNs)} | ` +
        `${Number.isNaN(x.targetNs) ? "" : `${(x.targetNs / x.nsPerLookup).toFixed(2)}x`} | ${x.buildSeconds.toFixed(1)} | ${x.pages} |`),
    "",
  ].join("\n");
  return { rows, markdown: md };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await lookupFibBench({ runs: Number(process.argv[2] ?? 3) });
  console.log(res.markdown);
}
