import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Acl } from "./acl.js";
import { ACL_MAX_PRIORITY, aclKey, type AclRule } from "./rule.js";
import { gcsDuring, sleep } from "../../testing/gc-probe.js";
import { SharedSlot } from "../shared-slot.js";
import type { AclShared } from "./acl.js";

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the oracle: a plain linear scan over the rules as given -------------------------------------------

const maskOf = (depth: number): number => (depth === 0 ? 0 : (0xffffffff << (32 - depth)) >>> 0);

/** The rules as inclusive ranges (computed with plain arithmetic), in list order. */
interface OracleRule {
  lo: number[];
  hi: number[];
  priority: number;
  userdata: number;
  cats: number;
}

function oracleRules(rules: readonly AclRule[]): OracleRule[] {
  const prefix = (p: { ip: number; depth: number } | undefined): [number, number] => {
    if (p === undefined) return [0, 2 ** 32 - 1];
    const size = 2 ** (32 - p.depth);
    const lo = Math.floor(p.ip / size) * size;
    return [lo, lo + size - 1];
  };
  return rules.map((r) => {
    const src = prefix(r.src);
    const dst = prefix(r.dst);
    return {
      lo: [r.proto ?? 0, src[0], dst[0], r.srcPort?.lo ?? 0, r.dstPort?.lo ?? 0],
      hi: [r.proto ?? 255, src[1], dst[1], r.srcPort?.hi ?? 65535, r.dstPort?.hi ?? 65535],
      priority: r.priority,
      userdata: r.userdata,
      cats: r.categoryMask ?? -1,
    };
  });
}

/** out[c] for one packet: highest priority wins, equal priority the earlier rule, 0 if none. */
function oracle(rules: readonly OracleRule[], categories: number, keys: Uint32Array, i: number, out: Uint32Array, prio: number[]): void {
  const k = i * 4;
  const v = [keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]! >>> 16, keys[k + 3]! & 0xffff];
  out.fill(0);
  prio.fill(0);
  for (const r of rules) {
    let match = true;
    for (let f = 0; f < 5 && match; f++) match = v[f]! >= r.lo[f]! && v[f]! <= r.hi[f]!;
    if (!match) continue;
    for (let c = 0; c < categories; c++) {
      if ((r.cats & (1 << c)) !== 0 && r.priority > prio[c]!) {
        prio[c] = r.priority;
        out[c] = r.userdata;
      }
    }
  }
}

// ---- random rule sets ---------------------------------------------------------------------------------

interface Style {
  /** Prefix depths to draw from (0 = any). */
  depths: number[];
  /** Chance a port range is absent (any). */
  portAny: number;
  /** Chance the proto is absent (any). */
  protoAny: number;
  /** Priorities drawn from 1..this (small: many ties). */
  priorities: number;
  /** Pools of values the rules' addresses come from (small pools: heavy overlap). */
  addrPool: number;
}

const STYLES: Record<string, Style> = {
  classbench: { depths: [8, 16, 24, 32], portAny: 0.5, protoAny: 0.33, priorities: ACL_MAX_PRIORITY, addrPool: 0 },
  wild: { depths: [0, 0, 1, 4, 8, 12, 16, 20, 24, 28, 31, 32], portAny: 0.6, protoAny: 0.6, priorities: 20, addrPool: 16 },
  overlap: { depths: [0, 8, 9, 10, 16, 17, 24, 32], portAny: 0.3, protoAny: 0.5, priorities: 5, addrPool: 4 },
};

function randomRules(rnd: () => number, count: number, style: Style, categories: number): AclRule[] {
  const pool = Array.from({ length: Math.max(1, style.addrPool) }, () => Math.floor(rnd() * 2 ** 32));
  const addr = (): number => (style.addrPool === 0 ? Math.floor(rnd() * 2 ** 32) : (pool[Math.floor(rnd() * pool.length)]! ^ Math.floor(rnd() * 2 ** 12)) >>> 0);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const range = (): { lo: number; hi: number } => {
    const kind = rnd();
    if (kind < 0.2) {
      const p = Math.floor(rnd() * 65536);
      return { lo: p, hi: p };
    }
    if (kind < 0.3) return { lo: 0, hi: Math.floor(rnd() * 65536) };
    if (kind < 0.4) return { lo: Math.floor(rnd() * 65536), hi: 65535 };
    const lo = Math.floor(rnd() * 65536);
    return { lo, hi: Math.min(65535, lo + Math.floor(rnd() * (rnd() < 0.5 ? 64 : 4096))) };
  };
  const rules: AclRule[] = [];
  for (let i = 0; i < count; i++) {
    const r: {
      priority: number;
      userdata: number;
      categoryMask?: number;
      proto?: number;
      src?: { ip: number; depth: number };
      dst?: { ip: number; depth: number };
      srcPort?: { lo: number; hi: number };
      dstPort?: { lo: number; hi: number };
    } = { priority: 1 + Math.floor(rnd() * style.priorities), userdata: i + 1 };
    if (categories > 1) r.categoryMask = 1 + Math.floor(rnd() * ((1 << categories) - 1));
    if (rnd() >= style.protoAny) r.proto = pick([6, 17, 1, 0, 255]);
    const sd = pick(style.depths);
    if (sd > 0 || rnd() < 0.5) r.src = { ip: addr(), depth: sd };
    const dd = pick(style.depths);
    if (dd > 0 || rnd() < 0.5) r.dst = { ip: addr(), depth: dd };
    if (rnd() >= style.portAny) r.srcPort = range();
    if (rnd() >= style.portAny) r.dstPort = range();
    rules.push(r);
  }
  return rules;
}

/**
 * Keys: a third fully random, a third inside a random rule, a third on a random rule's edges (prefix
 * first/last address and one outside, port range ends and one past them, the other proto).
 */
function randomKeys(rnd: () => number, rules: readonly AclRule[], count: number): Uint32Array {
  const keys = new Uint32Array(count * 4);
  const u32 = (): number => Math.floor(rnd() * 2 ** 32);
  const port = (): number => Math.floor(rnd() * 65536);
  const inPrefix = (p: { ip: number; depth: number } | undefined, edge: boolean): number => {
    if (p === undefined) return u32();
    const m = maskOf(p.depth);
    const lo = (p.ip & m) >>> 0;
    const hi = (lo | ~m) >>> 0;
    if (!edge) return (lo | (u32() & ~m)) >>> 0;
    const e = Math.floor(rnd() * 4);
    return e === 0 ? lo : e === 1 ? hi : e === 2 ? (lo - 1) >>> 0 : (hi + 1) >>> 0;
  };
  const inRange = (r: { lo: number; hi: number } | undefined, edge: boolean): number => {
    if (r === undefined) return port();
    if (!edge) return r.lo + Math.floor(rnd() * (r.hi - r.lo + 1));
    const e = Math.floor(rnd() * 4);
    return (e === 0 ? r.lo : e === 1 ? r.hi : e === 2 ? r.lo - 1 : r.hi + 1) & 0xffff;
  };
  for (let i = 0; i < count; i++) {
    const kind = rules.length === 0 ? 0 : Math.floor(rnd() * 3);
    if (kind === 0) {
      aclKey(keys, i, Math.floor(rnd() * 256), u32(), u32(), port(), port());
      continue;
    }
    const r = rules[Math.floor(rnd() * rules.length)]!;
    const edge = kind === 2;
    // On an edge key only some fields sit on the edge, so the others still match.
    const e = (): boolean => edge && rnd() < 0.5;
    const proto = r.proto === undefined ? Math.floor(rnd() * 256) : e() ? (r.proto + 1) & 0xff : r.proto;
    aclKey(keys, i, proto, inPrefix(r.src, e()), inPrefix(r.dst, e()), inRange(r.srcPort, e()), inRange(r.dstPort, e()));
  }
  return keys;
}

/** Classifies `keys` in bursts of 32 and compares every result with the oracle; returns the match count. */
function compare(acl: Acl, aclRules: readonly AclRule[], keys: Uint32Array, what: string): number {
  const rules = oracleRules(aclRules);
  const prio: number[] = Array(acl.categories).fill(0);
  const C = acl.categories;
  const n = keys.length / 4;
  const burst = 32;
  const res = new Uint32Array(burst * C);
  const want = new Uint32Array(C);
  let matched = 0;
  for (let b = 0; b < n; b += burst) {
    const m = Math.min(burst, n - b);
    acl.classifyBulk(keys.subarray(b * 4, (b + m) * 4), m, res);
    for (let j = 0; j < m; j++) {
      oracle(rules, C, keys, b + j, want, prio);
      for (let c = 0; c < C; c++) {
        if (res[j * C + c] !== want[c]) {
          const k = (b + j) * 4;
          assert.fail(
            `${what}: packet ${b + j} [proto ${keys[k]}, src 0x${keys[k + 1]!.toString(16)}, dst 0x${keys[k + 2]!.toString(16)}, ` +
              `sport ${keys[k + 3]! >>> 16}, dport ${keys[k + 3]! & 0xffff}] category ${c}: got ${res[j * C + c]}, want ${want[c]}`,
          );
        }
        if (want[c] !== 0) matched++;
      }
    }
  }
  return matched;
}

describe("lookup/acl: against a linear-scan oracle", () => {
  // [rules, keys, style, categories]: over a million keys in all.
  const cases: [number, number, string, number][] = [
    [1, 40_000, "wild", 1],
    [2, 40_000, "overlap", 1],
    [7, 60_000, "overlap", 1],
    [10, 100_000, "wild", 1],
    [100, 200_000, "classbench", 1],
    [100, 100_000, "overlap", 1],
    [300, 200_000, "wild", 1],
    [1000, 100_000, "classbench", 1],
    [1000, 60_000, "wild", 1],
    [3000, 40_000, "overlap", 1],
    [10_000, 15_000, "classbench", 1],
    [10_000, 8_000, "wild", 1],
    [50, 60_000, "wild", 4],
    [500, 40_000, "overlap", 3],
    [2000, 20_000, "classbench", 16],
    [200, 20_000, "wild", 16],
  ];
  for (const [count, nkeys, style, cats] of cases) {
    it(`${count} ${style} rules, ${cats} categor${cats === 1 ? "y" : "ies"}, ${nkeys} keys`, () => {
      const seed = count * 7919 + nkeys + cats * 31 + style.length;
      const rnd = prng(seed);
      const rules = randomRules(rnd, count, STYLES[style]!, cats);
      const acl = Acl.build(rules, { categories: cats });
      assert.equal(acl.stats.rules, count);
      const keys = randomKeys(rnd, rules, nkeys);
      const matched = compare(acl, rules, keys, `seed ${seed}`);
      // The keys made from rules mostly match something: the comparison is not all zeros.
      assert.ok(matched > nkeys / 3, `only ${matched} of ${nkeys * cats} results matched a rule`);
    });
  }

  it("tuning extremes (leaf of 1 rule, 2-way cuts, no replication room, a tiny word budget) stay exact", () => {
    const rnd = prng(4242);
    const rules = randomRules(rnd, 400, STYLES.overlap!, 2);
    const keys = randomKeys(rnd, rules, 30_000);
    for (const opts of [{ leafSize: 1 }, { maxCutBits: 1 }, { spaceFactor: 1 }, { leafSize: 64, maxCutBits: 16 }, { maxWords: 64 }, { shape: "split" as const }]) {
      const acl = Acl.build(rules, { categories: 2, ...opts });
      compare(acl, rules, keys, JSON.stringify(opts));
      if (opts.maxWords !== undefined) assert.equal(acl.stats.budgetHit, true);
      if (opts.shape === "split") assert.ok(acl.stats.trees > 1, `${acl.stats.trees} trees`);
    }
  });

  it("separable trees (one category): the best rank over the trees wins", () => {
    const rnd = prng(777);
    for (const style of ["overlap", "wild"]) {
      const rules = randomRules(rnd, 1500, STYLES[style]!, 1);
      const keys = randomKeys(rnd, rules, 40_000);
      const split = Acl.build(rules, { shape: "split" });
      assert.ok(split.stats.trees > 1, `${style}: ${split.stats.trees} trees`);
      compare(split, rules, keys, `${style} split`);
      compare(Acl.build(rules, { shape: "single" }), rules, keys, `${style} single`);
    }
  });
});

describe("lookup/acl: semantics", () => {
  const key = (proto: number, src: number, dst: number, sp: number, dp: number): Uint32Array => {
    const k = new Uint32Array(4);
    aclKey(k, 0, proto, src, dst, sp, dp);
    return k;
  };
  const one = (acl: Acl, k: Uint32Array): number[] => {
    const r = new Uint32Array(acl.categories);
    acl.classifyBulk(k, 1, r);
    return [...r];
  };

  it("highest priority wins, equal priority the earlier rule, 0 when nothing matches", () => {
    const rules: AclRule[] = [
      { priority: 5, userdata: 1, dst: { ip: 0x0a000000, depth: 8 } },
      { priority: 9, userdata: 2, dst: { ip: 0x0a010000, depth: 16 } },
      { priority: 9, userdata: 3, dst: { ip: 0x0a010100, depth: 24 } },
      { priority: 1, userdata: 4 },
    ];
    const acl = Acl.build(rules);
    assert.deepEqual(one(acl, key(6, 0, 0x0a020304, 1, 2)), [1]);
    assert.deepEqual(one(acl, key(6, 0, 0x0a010101, 1, 2)), [2], "rule 2 and 3 tie at 9: the earlier wins");
    assert.deepEqual(one(acl, key(6, 0, 0x0b000000, 1, 2)), [4]);
    const none = Acl.build(rules.slice(0, 3));
    assert.deepEqual(one(none, key(6, 0, 0x0b000000, 1, 2)), [0]);
    assert.deepEqual(one(Acl.build([]), key(6, 0, 0, 0, 0)), [0], "no rules at all");
  });

  it("fields: proto exact or any, prefixes (host bits ignored, /0 and /32), inclusive port ranges", () => {
    const acl = Acl.build([
      { priority: 10, userdata: 1, proto: 17, src: { ip: 0xc0a80aff, depth: 24 }, srcPort: { lo: 1000, hi: 1999 }, dstPort: { lo: 53, hi: 53 } },
      { priority: 5, userdata: 2, dst: { ip: 0x01020304, depth: 32 } },
      { priority: 1, userdata: 3, src: { ip: 0xffffffff, depth: 0 }, dstPort: { lo: 0, hi: 0 } },
    ]);
    assert.deepEqual(one(acl, key(17, 0xc0a80a00, 9, 1000, 53)), [1]);
    assert.deepEqual(one(acl, key(17, 0xc0a80aff, 9, 1999, 53)), [1]);
    assert.deepEqual(one(acl, key(17, 0xc0a80b00, 9, 1999, 53)), [0], "next /24");
    assert.deepEqual(one(acl, key(17, 0xc0a809ff, 9, 1999, 53)), [0], "previous /24");
    assert.deepEqual(one(acl, key(6, 0xc0a80a01, 9, 1500, 53)), [0], "proto");
    assert.deepEqual(one(acl, key(17, 0xc0a80a01, 9, 999, 53)), [0], "below the range");
    assert.deepEqual(one(acl, key(17, 0xc0a80a01, 9, 2000, 53)), [0], "above the range");
    assert.deepEqual(one(acl, key(17, 0xc0a80a01, 9, 1500, 54)), [0]);
    assert.deepEqual(one(acl, key(0, 0, 0x01020304, 0, 1)), [2]);
    assert.deepEqual(one(acl, key(0, 0, 0x01020305, 0, 1)), [0]);
    assert.deepEqual(one(acl, key(255, 0xffffffff, 0xffffffff, 65535, 0)), [3]);
  });

  it("categories: per category the best rule of that category; default mask is every category", () => {
    const acl = Acl.build(
      [
        { priority: 3, userdata: 10, categoryMask: 0b0001, proto: 6 },
        { priority: 2, userdata: 20, categoryMask: 0b0110, proto: 6 },
        { priority: 1, userdata: 30 },
        { priority: 4, userdata: 40, categoryMask: 0b1000, dstPort: { lo: 80, hi: 80 } },
        { priority: 9, userdata: 50, categoryMask: 0xffffffff, dstPort: { lo: 443, hi: 443 } },
      ],
      { categories: 4 },
    );
    assert.deepEqual(one(acl, key(6, 0, 0, 0, 80)), [10, 20, 20, 40]);
    assert.deepEqual(one(acl, key(6, 0, 0, 0, 81)), [10, 20, 20, 30]);
    assert.deepEqual(one(acl, key(17, 0, 0, 0, 80)), [30, 30, 30, 40]);
    assert.deepEqual(one(acl, key(17, 0, 0, 0, 443)), [50, 50, 50, 50]);
    const r = new Uint32Array(8).fill(7);
    acl.classifyBulk(new Uint32Array(8), 2, r);
    assert.deepEqual([...r], [30, 30, 30, 30, 30, 30, 30, 30], "every slot written, stale values overwritten");
  });

  it("a result buffer longer than needed: only n x categories slots are written", () => {
    const acl = Acl.build([{ priority: 1, userdata: 5 }], { categories: 2 });
    const r = new Uint32Array(6).fill(9);
    acl.classifyBulk(new Uint32Array(8), 2, r);
    assert.deepEqual([...r], [5, 5, 5, 5, 9, 9]);
  });

  it("build errors name the rule and the field; nothing is built", () => {
    const base: AclRule = { priority: 1, userdata: 1 };
    const bad: [AclRule | unknown, RegExp, number?][] = [
      [{ ...base, src: { ip: 0x0a000000, depth: 33 } }, /Invalid ACL rule #1 \(userdata 1\): src depth 33 is not an integer 0 to 32/],
      [{ ...base, dst: { ip: 0x0a000000, depth: -1 } }, /rule #1 \(userdata 1\): dst depth -1 is not an integer 0 to 32/],
      [{ ...base, dst: { ip: 2 ** 32, depth: 8 } }, /dst ip 4294967296 is not a u32/],
      [{ ...base, srcPort: { lo: 80, hi: 20 } }, /rule #1 \(userdata 1\): srcPort lo 80 > hi 20/],
      [{ ...base, dstPort: { lo: 0, hi: 65536 } }, /dstPort hi 65536 is not a port 0 to 65535/],
      [{ ...base, userdata: 0 }, /rule #1 \(userdata 0\): userdata 0 is not an integer 1 to 2147483647 \(0 means no match\)/],
      [{ ...base, userdata: 2 ** 31 }, /userdata 2147483648 is not an integer 1 to 2147483647/],
      [{ ...base, priority: 0 }, /priority 0 is not an integer 1 to 536870911/],
      [{ ...base, priority: 1.5 }, /priority 1.5 is not an integer/],
      [{ ...base, proto: 256 }, /proto 256 is not an integer 0 to 255/],
      [{ ...base, categoryMask: 0b100 }, /categoryMask 0x4 selects none of the ACL's 2 categories \(bits 0 to 1\)/, 2],
      [null, /Invalid ACL rule #1: not an object/],
    ];
    for (const [rule, re, cats] of bad) {
      assert.throws(() => Acl.build([base, rule as AclRule], { categories: cats ?? 1 }), re);
    }
    assert.throws(() => Acl.build([base], { categories: 17 }), /Invalid ACL category count 17: 1 to 16/);
    assert.throws(() => Acl.build([base], { categories: 0 }), /Invalid ACL category count 0: 1 to 16/);
    const acl = Acl.build([base]);
    assert.throws(() => acl.classifyBulk(new Uint32Array(4), 2, new Uint32Array(2)), /2 packets need 8 key words \(have 4\)/);
    assert.throws(() => acl.classifyBulk(new Uint32Array(8), 2, new Uint32Array(1)), /and 2 results \(have 1\)/);
  });
});

describe("lookup/acl: shared tables and allocation", () => {
  it("a worker classifies with fromShared() and gets the same results", async () => {
    const rnd = prng(99);
    const rules = randomRules(rnd, 800, STYLES.wild!, 2);
    const acl = Acl.build(rules, { categories: 2 });
    const keys = randomKeys(rnd, rules, 4096);
    const here = new Uint32Array(4096 * 2);
    acl.classifyBulk(keys, 4096, here);
    const url = new URL("./acl.js", import.meta.url).href;
    const src = `const { workerData, parentPort } = require("node:worker_threads");
      import(workerData.url).then(({ Acl }) => {
        const acl = Acl.fromShared(workerData.acl);
        const out = new Uint32Array(workerData.n * acl.categories);
        acl.classifyBulk(new Uint32Array(workerData.keys), workerData.n, out);
        parentPort.postMessage(out);
      });`;
    const sharedKeys = new SharedArrayBuffer(keys.byteLength);
    new Uint32Array(sharedKeys).set(keys);
    const worker = new Worker(src, { eval: true, workerData: { url, acl: acl.shared(), keys: sharedKeys, n: 4096 } });
    const there = await new Promise<Uint32Array>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    await new Promise((r) => worker.once("exit", r));
    assert.deepEqual(there, here);
    assert.ok(acl.shared().nodes instanceof SharedArrayBuffer && acl.shared().leaves instanceof SharedArrayBuffer);
  });

  it("a rebuilt ACL published through a SharedSlot reaches a busy-looping worker", async () => {
    // The worker never yields: it polls the slot, and classifies one key with whatever ACL it holds,
    // storing the result in ctl[1]; ctl[0] = 1 stops it.
    const key = new Uint32Array(4);
    aclKey(key, 0, 6, 0x0a000001, 0x0a000002, 1000, 80);
    const build = (userdata: number): AclShared => Acl.build([{ priority: 1, userdata, dst: { ip: 0x0a000000, depth: 8 }, dstPort: { lo: 80, hi: 80 } }]).shared();
    const slot = SharedSlot.create(build(1));
    const ctlBuf = new SharedArrayBuffer(8);
    const ctl = new Int32Array(ctlBuf);
    const src = `const { workerData } = require("node:worker_threads");
      Promise.all([import(workerData.acl), import(workerData.slot)]).then(([{ Acl }, { SharedSlot }]) => {
        const ctl = new Int32Array(workerData.ctl);
        const slot = SharedSlot.fromShared(workerData.s);
        let acl = Acl.fromShared(slot.current);
        const keys = new Uint32Array(workerData.key);
        const out = new Uint32Array(1);
        while (Atomics.load(ctl, 0) === 0) {
          const v = slot.poll();
          if (v !== null) acl = Acl.fromShared(v);
          acl.classifyBulk(keys, 1, out);
          Atomics.store(ctl, 1, out[0]);
        }
        slot.close();
      });`;
    const worker = new Worker(src, {
      eval: true,
      workerData: { acl: new URL("./acl.js", import.meta.url).href, slot: new URL("../shared-slot.js", import.meta.url).href, ctl: ctlBuf, s: slot.shared(), key: Array.from(key) },
    });
    const exited = new Promise((r) => worker.once("exit", r));
    const failed = new Promise((_, reject) => worker.once("error", reject));
    const waitFor = async (v: number): Promise<void> => {
      const end = Date.now() + 10_000;
      while (Atomics.load(ctl, 1) !== v) {
        if (Date.now() > end) assert.fail(`worker result ${Atomics.load(ctl, 1)}, want ${v}`);
        await Promise.race([sleep(1), failed]);
      }
    };
    try {
      await waitFor(1);
      for (let u = 2; u <= 20; u++) {
        slot.publish(build(u));
        await waitFor(u);
      }
      slot.publish(Acl.build([{ priority: 1, userdata: 99, dst: { ip: 0x0b000000, depth: 8 } }]).shared());
      await waitFor(0); // the new rules no longer match the key
    } finally {
      Atomics.store(ctl, 0, 1);
      await exited;
      slot.close();
    }
  });

  it("classifyBulk allocates nothing (a million packets; 1 and 4 categories; one tree and separable trees)", async () => {
    const rnd = prng(7);
    for (const [cats, shape] of [[1, "single"], [4, "single"], [1, "split"], [4, "split"]] as const) {
      const rules = randomRules(rnd, 1000, STYLES.wild!, cats);
      const acl = Acl.build(rules, { categories: cats, shape });
      assert.equal(acl.stats.trees > 1, shape === "split");
      const keys = randomKeys(rnd, rules, 1024);
      const results = new Uint32Array(32 * cats);
      const bursts: Uint32Array[] = [];
      for (let b = 0; b < 1024; b += 32) bursts.push(keys.subarray(b * 4, (b + 32) * 4));
      acl.classifyBulk(bursts[0]!, 32, results); // warm up before counting
      const gcs = await gcsDuring(() => {
        for (let i = 0; i < 1_000_000 / 32; i++) {
          acl.classifyBulk(bursts[i & 31]!, 32, results);
        }
      });
      assert.equal(gcs, 0, `${cats} categories, ${shape}`);
    }
  });
});
