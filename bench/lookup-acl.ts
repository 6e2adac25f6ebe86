/**
 * ACL benchmark (issue 9), on DPDK 25.11 dpdk-test-acl's workload: the ClassBench-format rule and trace
 * files in ../shared/bench-data/acl/ (rules1000, rules10000 and their traces of 65,536 packets; see its
 * README). As test-acl: one category, rule n of the file (from 1) gets priority RTE_ACL_MAX_PRIORITY - n
 * and userdata n, so an earlier rule wins; the trace is classified in bursts (test-acl's --tracestep,
 * default 256; 32 beside it, a typical rx burst), over and over. One core, the main thread; the median of
 * `runs`; ns are CPU time (process.cpuUsage) per classified packet, wall time beside it.
 *
 * Beside it, in the same run: a naive linear scan (the rules as typed arrays, first match wins) over the
 * 1 k rules, whose ratio survives another machine. Every trace packet's result is also checked against
 * the linear scan (the trace files carry no expected rule ids), for both rule sets.
 *
 * Run: node dist/bench/lookup-acl.js [runs]   (the lead wires lookupAclBench into bench/run.ts)
 */
import { readFileSync, existsSync } from "node:fs";
import { loadavg } from "node:os";
import { Acl, ACL_MAX_PRIORITY, type AclRule } from "../src/lookup/acl/index.js";
import { parsePrefix4 } from "../src/lookup/addr.js";

export interface AclBenchRow {
  /** What was measured. */
  name: string;
  rules: number;
  /** Packets per classifyBulk call. */
  burst: number;
  /** Nanoseconds of CPU time per classified packet, median of the runs. */
  nsPerPacket: number;
  runs: number[];
  /** Nanoseconds of wall time per packet, median (includes time other processes ran). */
  wallNs: number;
  /** Nanoseconds per packet of the linear scan in the same run (1 k rules only), else NaN. */
  linearNs: number;
  /** linearNs / nsPerPacket. */
  vsLinear: number;
  /** DPDK C on the reference machine (scalar) and the target, ns per packet. */
  dpdkNs: number;
  targetNs: number;
  buildSeconds: number;
  /** Trace packets whose result differs from the linear scan (must be 0), and those matching a rule. */
  mismatches: number;
  matched: number;
  trees: number;
  bytes: number;
}

export interface AclBenchResult {
  rows: AclBenchRow[];
  markdown: string;
}

const REF: Record<number, { dpdk: number; target: number }> = {
  1000: { dpdk: 52, target: 104 },
  10000: { dpdk: 179, target: 358 },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * ClassBench rules as dpdk-test-acl reads them:
 * `@<src>/<len> <dst>/<len> <sport lo> : <sport hi> <dport lo> : <dport hi> <proto>/<mask>`.
 */
export function parseClassBenchRules(text: string, file: string): AclRule[] {
  const rules: AclRule[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `${file}:${i + 1}`;
    if (!line.startsWith("@")) throw new Error(`${where}: a rule starts with '@'`);
    const f = line.slice(1).trim().split(/\s+/);
    if (f.length !== 9 || f[3] !== ":" || f[6] !== ":") throw new Error(`${where}: expected 9 fields, '<src>/<len> <dst>/<len> <lo> : <hi> <lo> : <hi> <proto>/<mask>'`);
    const prefix = (t: string): { ip: number; depth: number } => {
      try {
        return parsePrefix4(t);
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`);
      }
    };
    const [pv, pm] = f[8]!.split("/").map((x) => Number(x));
    if (pm !== 0 && pm !== 0xff) throw new Error(`${where}: proto mask ${f[8]} (only 0 and 0xff are supported)`);
    const n = rules.length + 1; // test-acl: the rule's number, from 1
    rules.push({
      priority: ACL_MAX_PRIORITY - n,
      userdata: n,
      src: prefix(f[0]!),
      dst: prefix(f[1]!),
      srcPort: { lo: Number(f[2]), hi: Number(f[4]) },
      dstPort: { lo: Number(f[5]), hi: Number(f[7]) },
      ...(pm === 0 ? {} : { proto: pv! }),
    });
  });
  return rules;
}

/** A ClassBench trace (`<src> <dst> <sport> <dport> <proto>`, decimal) as classifier keys. */
export function parseClassBenchTrace(text: string, file: string): Uint32Array {
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  const keys = new Uint32Array(lines.length * 4);
  lines.forEach((l, i) => {
    const f = l.trim().split(/\s+/).map(Number);
    if (f.length < 5 || f.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(`${file}: bad trace line ${i + 1}: '${l}'`);
    keys[i * 4] = f[4]!;
    keys[i * 4 + 1] = f[0]!;
    keys[i * 4 + 2] = f[1]!;
    keys[i * 4 + 3] = ((f[2]! << 16) | f[3]!) >>> 0;
  });
  return keys;
}

/** The naive baseline: every rule in file order as ranges, first match wins. */
class LinearAcl {
  private readonly lo: Uint32Array;
  private readonly hi: Uint32Array;
  private readonly userdata: Uint32Array;
  private readonly n: number;
  constructor(rules: readonly AclRule[]) {
    // Rules are in priority order already (the file's order), so the first match is the answer.
    this.n = rules.length;
    this.lo = new Uint32Array(5 * this.n);
    this.hi = new Uint32Array(5 * this.n);
    this.userdata = new Uint32Array(this.n);
    rules.forEach((r, i) => {
      const mask = (d: number): number => (d === 0 ? 0 : (0xffffffff << (32 - d)) >>> 0);
      const sm = mask(r.src?.depth ?? 0);
      const dm = mask(r.dst?.depth ?? 0);
      const o = i * 5;
      this.lo.set([r.proto ?? 0, ((r.src?.ip ?? 0) & sm) >>> 0, ((r.dst?.ip ?? 0) & dm) >>> 0, r.srcPort?.lo ?? 0, r.dstPort?.lo ?? 0], o);
      this.hi.set([r.proto ?? 255, ((r.src?.ip ?? 0) | ~sm) >>> 0, ((r.dst?.ip ?? 0) | ~dm) >>> 0, r.srcPort?.hi ?? 65535, r.dstPort?.hi ?? 65535], o);
      this.userdata[i] = r.userdata;
    });
  }
  classifyBulk(keys: Uint32Array, n: number, results: Uint32Array): void {
    const lo = this.lo;
    const hi = this.hi;
    for (let i = 0, k = 0; i < n; i++, k += 4) {
      const p = keys[k]!;
      const s = keys[k + 1]!;
      const d = keys[k + 2]!;
      const sp = keys[k + 3]! >>> 16;
      const dp = keys[k + 3]! & 0xffff;
      let res = 0;
      for (let r = 0, o = 0; r < this.n; r++, o += 5) {
        if (s >= lo[o + 1]! && s <= hi[o + 1]! && d >= lo[o + 2]! && d <= hi[o + 2]! && dp >= lo[o + 4]! && dp <= hi[o + 4]! && sp >= lo[o + 3]! && sp <= hi[o + 3]! && p >= lo[o]! && p <= hi[o]!) {
          res = this.userdata[r]!;
          break;
        }
      }
      results[i] = res;
    }
  }
}

interface Classifier {
  classifyBulk(keys: Uint32Array, n: number, results: Uint32Array): void;
}

/** Bursts of the trace as subarrays made once (no allocation while timing). */
function bursts(keys: Uint32Array, burst: number): { keys: Uint32Array[]; sizes: number[] } {
  const n = keys.length / 4;
  const out: Uint32Array[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < n; i += burst) {
    const m = Math.min(burst, n - i);
    out.push(keys.subarray(i * 4, (i + m) * 4));
    sizes.push(m);
  }
  return { keys: out, sizes };
}

/** Classifies `packets` packets (the trace over and over); returns ns per packet (CPU and wall). */
function timeIt(c: Classifier, b: { keys: Uint32Array[]; sizes: number[] }, packets: number, results: Uint32Array): { cpu: number; wall: number; sink: number } {
  let done = 0;
  let sink = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  while (done < packets) {
    for (let j = 0; j < b.keys.length && done < packets; j++) {
      c.classifyBulk(b.keys[j]!, b.sizes[j]!, results);
      sink += results[0]!;
      done += b.sizes[j]!;
    }
  }
  const wall = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return { cpu: ((cpu.user + cpu.system) * 1000) / done, wall: wall / done, sink };
}

function readData(dir: string, file: string): string {
  const path = `${dir}/${file}`;
  if (!existsSync(path)) throw new Error(`ACL benchmark data missing: ${path} (the ClassBench files of ../shared/bench-data/acl/)`);
  return readFileSync(path, "utf8");
}

/**
 * Runs the ACL benchmark; `packets` classified per timed run and classifier.
 *
 * @example
 * const { markdown } = await lookupAclBench({ runs: 3 });
 */
export async function lookupAclBench(opts: { runs?: number; packets?: number; dataDir?: string; sizes?: number[]; bursts?: number[] } = {}): Promise<AclBenchResult> {
  const runs = opts.runs ?? 5;
  const packets = opts.packets ?? 4_000_000;
  const dir = opts.dataDir ?? new URL("../../../shared/bench-data/acl", import.meta.url).pathname;
  const rows: AclBenchRow[] = [];
  let sink = 0;
  for (const size of opts.sizes ?? [1000, 10_000]) {
    const rules = parseClassBenchRules(readData(dir, `rules${size}`), `rules${size}`);
    const keys = parseClassBenchTrace(readData(dir, `trace-rules${size}`), `trace-rules${size}`);
    const n = keys.length / 4;
    const t0 = performance.now();
    const acl = Acl.build(rules);
    const buildSeconds = (performance.now() - t0) / 1000;
    const linear = new LinearAcl(rules);

    // Results against the linear scan, every trace packet.
    const got = new Uint32Array(n);
    const want = new Uint32Array(n);
    acl.classifyBulk(keys, n, got);
    linear.classifyBulk(keys, n, want);
    let mismatches = 0;
    let matched = 0;
    for (let i = 0; i < n; i++) {
      if (got[i] !== want[i]) mismatches++;
      if (want[i] !== 0) matched++;
    }

    for (const burst of opts.bursts ?? [256, 32]) {
      const b = bursts(keys, burst);
      const results = new Uint32Array(burst);
      const aclRuns: number[] = [];
      const wallRuns: number[] = [];
      const linRuns: number[] = [];
      const linearToo = size === 1000;
      timeIt(acl, b, Math.min(packets, 500_000), results); // warm up
      if (linearToo) timeIt(linear, b, 20_000, results);
      for (let r = 0; r < runs; r++) {
        const a = timeIt(acl, b, packets, results);
        aclRuns.push(a.cpu);
        wallRuns.push(a.wall);
        sink += a.sink;
        if (linearToo) {
          const l = timeIt(linear, b, Math.max(20_000, Math.floor(packets / 50)), results);
          linRuns.push(l.cpu);
          sink += l.sink;
        }
        await new Promise((res) => setImmediate(res));
      }
      const ns = median(aclRuns);
      const linearNs = linearToo ? median(linRuns) : NaN;
      const ref = REF[size] ?? { dpdk: NaN, target: NaN };
      rows.push({
        name: `${size} rules, bursts of ${burst}`,
        rules: size,
        burst,
        nsPerPacket: ns,
        runs: aclRuns,
        wallNs: median(wallRuns),
        linearNs,
        vsLinear: linearNs / ns,
        dpdkNs: ref.dpdk,
        targetNs: ref.target,
        buildSeconds,
        mismatches,
        matched,
        trees: acl.stats.trees,
        bytes: acl.stats.bytes,
      });
    }
  }
  if (sink < 0) throw new Error("unreachable");
  const f = (x: number): string => (Number.isNaN(x) ? "" : x < 10 ? x.toFixed(1) : x.toFixed(0));
  const md = [
    `### ACL: dpdk-test-acl's ClassBench rule and trace files, one category, ${(packets / 1e6).toFixed(0)} M packets per run, median of ${runs}`,
    "",
    "Rule n of the file gets priority RTE_ACL_MAX_PRIORITY - n (an earlier rule wins); the trace's 65,536 packets (half inside a rule, half random) " +
      "are classified in bursts over and over. Baseline in the same run: a linear scan of the 1 k rules (first match). " +
      "Every trace packet's result is checked against the linear scan. " +
      `ns are CPU time per packet (wall time beside it: it also counts other processes; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")} at the end).`,
    "",
    "| workload | ns per packet | wall ns | linear scan, ns | vs linear | DPDK C (scalar), ns | target, ns | vs target | mismatches | matched | build, s | trees | MiB |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((x) =>
      `| ${x.name} | ${f(x.nsPerPacket)} | ${f(x.wallNs)} | ${f(x.linearNs)} | ${Number.isNaN(x.vsLinear) ? "" : `${x.vsLinear.toFixed(0)}x`} | ${f(x.dpdkNs)} | ${f(x.targetNs)} | ` +
        `${(x.targetNs / x.nsPerPacket).toFixed(2)}x | ${x.mismatches} | ${x.matched} | ${x.buildSeconds.toFixed(2)} | ${x.trees} | ${(x.bytes / 2 ** 20).toFixed(1)} |`),
    "",
  ].join("\n");
  return { rows, markdown: md };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await lookupAclBench({ runs: Number(process.argv[2] ?? 5) });
  console.log(res.markdown);
  if (res.rows.some((r) => r.mismatches !== 0)) {
    console.error("ACL results differ from the linear scan");
    process.exit(1);
  }
}
