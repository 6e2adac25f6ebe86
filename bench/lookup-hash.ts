/**
 * Hash benchmark (issue 9): 1 M keys of 13 bytes (IPv4 5-tuples: addresses, ports, protocol) in a
 * CuckooHash, looked up in bursts of 32 in random order, read in place from a key array by byte offset
 * (as from frames in the UMEM); beside it, in the same run, a JS Map over the same keys packed into
 * strings: the string built from the 13 bytes per lookup (what a packet path has to do), and, as a lower
 * bound that no packet path gets, strings built in advance. Also the hash functions' ns per 13-byte key.
 * One core, the main thread; the rows take turns, `runs` rounds after a warm-up round, median per row.
 * Time is the process's CPU time (process.cpuUsage): on a shared machine, time spent descheduled is not
 * counted (on a quiet one it equals the wall time of this single busy thread).
 *
 * Run: node dist/bench/lookup-hash.js [runs]   (the lead wires lookupHashBench into bench/run.ts)
 */
import { CuckooHash } from "../src/lookup/hash/cuckoo.js";
import { jhash } from "../src/lookup/hash/jhash.js";
import { crc32c } from "../src/lookup/hash/crc32c.js";
import { toeplitz, ToeplitzHash } from "../src/lookup/hash/toeplitz.js";

export interface HashBenchRow {
  /** What was measured. */
  name: string;
  /** Nanoseconds per key, median of the runs. */
  nsPerKey: number;
  /** Every run's ns per key. */
  runs: number[];
  /** The Map baseline's ns per key divided by this row's (bulk lookup rows only). */
  vsMap?: number;
}

export interface HashBenchResult {
  rows: HashBenchRow[];
  markdown: string;
}

const KEY_LEN = 13;
const BURST = 32;

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

/** The string a Map would key a 5-tuple by: one char per byte. */
function keyString(u8: Uint8Array, o: number): string {
  return String.fromCharCode(u8[o]!, u8[o + 1]!, u8[o + 2]!, u8[o + 3]!, u8[o + 4]!, u8[o + 5]!, u8[o + 6]!,
    u8[o + 7]!, u8[o + 8]!, u8[o + 9]!, u8[o + 10]!, u8[o + 11]!, u8[o + 12]!);
}

/** CPU nanoseconds per key of `fn()`, which handles `keys` keys. */
function time(keys: number, fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / keys;
}

export async function lookupHashBench(opts: { keys?: number; lookups?: number; runs?: number; entries?: number } = {}): Promise<HashBenchResult> {
  const K = opts.keys ?? 1_000_000;
  const L = Math.floor((opts.lookups ?? 4_000_000) / BURST) * BURST;
  const runs = opts.runs ?? 3;
  const entries = opts.entries ?? K;
  const r = rng(20261130);

  // 1 M distinct 5-tuples: random addresses and ports, protocol 6 or 17
  const keys = new Uint8Array(K * KEY_LEN);
  const seen = new Set<string>();
  for (let i = 0; i < K; ) {
    const o = i * KEY_LEN;
    for (let j = 0; j < 12; j++) keys[o + j] = r() & 0xff;
    keys[o + 12] = r() & 1 ? 6 : 17;
    const s = keyString(keys, o);
    if (seen.has(s)) continue;
    seen.add(s);
    i++;
  }
  seen.clear();
  const table = CuckooHash.create({ entries, keyLen: KEY_LEN });
  const roomy = CuckooHash.create({ entries: 2 * entries, keyLen: KEY_LEN });
  const map = new Map<string, number>();
  const strings: string[] = new Array<string>(K);
  for (let i = 0; i < K; i++) {
    if (table.add(keys, i, i * KEY_LEN) < 0) throw new Error(`bench: the table refused key ${i} of ${K} (${entries} entries)`);
    roomy.add(keys, i, i * KEY_LEN);
    strings[i] = keyString(keys, i * KEY_LEN);
    map.set(strings[i]!, i);
  }
  // the lookup order: random keys, as byte offsets into `keys`
  const order = new Uint32Array(L);
  for (let i = 0; i < L; i++) order[i] = (r() % K) * KEY_LEN;
  const hashes = new Uint32Array(L);
  for (let i = 0; i < L; i++) hashes[i] = table.hash(keys, order[i]!);

  const values = new Uint32Array(BURST);
  const offs = new Uint32Array(BURST);
  const hs = new Uint32Array(BURST);
  let check = 0;
  const cuckooBulk = (n: number) => {
    for (let base = 0; base < n; base += BURST) {
      for (let j = 0; j < BURST; j++) offs[j] = order[base + j]!;
      check += table.lookupBulk(keys, offs, BURST, values);
    }
  };
  const cuckooBulkHashed = (n: number) => {
    for (let base = 0; base < n; base += BURST) {
      for (let j = 0; j < BURST; j++) {
        offs[j] = order[base + j]!;
        hs[j] = hashes[base + j]!;
      }
      check += table.lookupBulkWithHash(keys, offs, hs, BURST, values);
    }
  };
  const roomyBulk = (n: number) => {
    for (let base = 0; base < n; base += BURST) {
      for (let j = 0; j < BURST; j++) offs[j] = order[base + j]!;
      check += roomy.lookupBulk(keys, offs, BURST, values);
    }
  };
  const mapBuilt = (n: number) => {
    for (let base = 0; base < n; base += BURST) {
      for (let j = 0; j < BURST; j++) {
        const v = map.get(keyString(keys, order[base + j]!));
        values[j] = v ?? 0xffffffff;
        if (v !== undefined) check++;
      }
    }
  };
  const mapPrebuilt = (n: number) => {
    for (let base = 0; base < n; base += BURST) {
      for (let j = 0; j < BURST; j++) {
        const v = map.get(strings[order[base + j]! / KEY_LEN]!);
        values[j] = v ?? 0xffffffff;
        if (v !== undefined) check++;
      }
    }
  };

  // the hash functions over the keys in order (each its own loop, so that the call is inlined)
  const rss = ToeplitzHash.create(undefined, 36);
  const H = Math.min(K, 2_000_000);
  let sink = 0;
  const hashFns: [string, (n: number) => void][] = [
    ["jhash", (n) => { let x = 0; for (let i = 0; i < n; i++) x ^= jhash(keys, i * KEY_LEN, KEY_LEN, 0); sink ^= x; }],
    ["crc32c", (n) => { let x = 0; for (let i = 0; i < n; i++) x ^= crc32c(keys, i * KEY_LEN, KEY_LEN, 0); sink ^= x; }],
    ["Toeplitz, table (ToeplitzHash)", (n) => { let x = 0; for (let i = 0; i < n; i++) x ^= rss.hash(keys, i * KEY_LEN, KEY_LEN); sink ^= x; }],
    ["Toeplitz, bit by bit (toeplitz)", (n) => { let x = 0; for (let i = 0; i < n; i++) x ^= toeplitz(keys, i * KEY_LEN, KEY_LEN); sink ^= x; }],
  ];

  const lookupRows: [string, (n: number) => void][] = [
    [`CuckooHash.lookupBulk, bursts of ${BURST}`, cuckooBulk],
    [`CuckooHash.lookupBulkWithHash (hashes given), bursts of ${BURST}`, cuckooBulkHashed],
    [`CuckooHash.lookupBulk, bursts of ${BURST}, table of ${2 * entries} entries`, roomyBulk],
    ["Map<string>.get, string built from the 13 bytes per lookup", mapBuilt],
    ["Map<string>.get, strings built in advance (lower bound)", mapPrebuilt],
  ];
  const lookupRuns = lookupRows.map(() => [] as number[]);
  const hashRuns = hashFns.map(() => [] as number[]);
  for (let run = 0; run < runs + 1; run++) {
    // run 0 warms up (JIT); the rows take turns so that load from other processes spreads over all
    lookupRows.forEach(([name, fn], k) => {
      check = 0;
      const n = run === 0 ? L / 4 : L;
      const ns = time(n, () => fn(n));
      if (check !== n) throw new Error(`bench: ${name} found ${check} of ${n} keys`);
      if (run > 0) lookupRuns[k]!.push(ns);
    });
    hashFns.forEach(([, fn], k) => {
      const n = run === 0 ? H / 4 : H;
      const ns = time(n, () => fn(n));
      if (run > 0) hashRuns[k]!.push(ns);
    });
    await new Promise((res) => setImmediate(res));
  }
  if (sink === 0.5) throw new Error("unreachable");
  const mapNs = median(lookupRuns[3]!);
  const rows: HashBenchRow[] = [
    ...lookupRows.map(([name], k) => ({ name, nsPerKey: median(lookupRuns[k]!), runs: lookupRuns[k]!, vsMap: mapNs / median(lookupRuns[k]!) })),
    ...hashFns.map(([name], k) => ({ name: `${name}, one 13-byte key`, nsPerKey: median(hashRuns[k]!), runs: hashRuns[k]! })),
  ];
  const load = ((K / (table.numBuckets * 8)) * 100).toFixed(1);
  const md = [
    `### Hash: ${(K / 1e6).toFixed(K % 1e6 === 0 ? 0 : 2)} M keys of ${KEY_LEN} bytes (5-tuples), ${(L / 1e6).toFixed(0)} M random lookups per run, median of ${runs}`,
    "",
    `CuckooHash with ${entries} entries (${table.numBuckets} buckets of 8, ${load}% full), crc32c; keys read in place from a ${((K * KEY_LEN) / 1e6).toFixed(0)} MB array. ` +
      "Map baseline in the same run; target: at least 3x the Map with strings built per lookup. CPU ns per key (process.cpuUsage).",
    "",
    "| | ns per key | vs Map (string built per lookup) |",
    "| --- | --- | --- |",
    ...rows.map((row) => `| ${row.name} | ${row.nsPerKey.toFixed(1)} | ${row.vsMap !== undefined ? `${row.vsMap.toFixed(2)}x` : ""} |`),
    "",
  ].join("\n");
  return { rows, markdown: md };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await lookupHashBench({ runs: Number(process.argv[2] ?? 3) });
  console.log(res.markdown);
}
