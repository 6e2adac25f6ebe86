/**
 * The ACL classifier (DPDK's rte_acl, CNDP's cne_acl): build once from a rule list, classify bursts of
 * keys into per-category results. The built tables live in SharedArrayBuffers: {@link Acl.shared} in the
 * control thread, {@link Acl.fromShared} in a worker. An ACL is immutable; to change the rules, build a
 * new one and hand it to the workers (src/lookup/shared-slot.ts does that for busy-looping workers).
 *
 * The structure is a decision tree with small leaves, or a few of them for rule sets that would replicate
 * too much in one (see tree.ts); classifying walks a few nodes per tree and checks the leaf's rules in
 * priority order. Nothing is allocated per packet.
 *
 * @example
 * const acl = Acl.build([
 *   { priority: 10, userdata: 1, proto: 6, dstPort: { lo: 22, hi: 22 } },
 *   { priority: 5, userdata: 2, src: { ip: 0x0a000000, depth: 8 } },
 * ]);
 * const keys = new Uint32Array(4 * 2);
 * aclKey(keys, 0, 6, 0x0a000001, 0xc0a80001, 40000, 22); // ssh from 10.0.0.1: rule 1
 * aclKey(keys, 1, 17, 0x0a000001, 0xc0a80001, 40000, 53); // udp from 10/8: rule 2
 * const results = new Uint32Array(2);
 * acl.classifyBulk(keys, 2, results); // [1, 2]
 */
import { ACL_KEY_WORDS, ACL_MAX_CATEGORIES, aclRuleRanges, type AclRule } from "./rule.js";
import {
  buildAclTrees,
  LEAF_RULE_WORDS,
  LR_CATS,
  LR_DPORT,
  LR_DST,
  LR_PROTO,
  LR_RANK,
  LR_SPORT,
  LR_SRC,
  LR_USERDATA,
  type AclTreeOptions,
  type AclTreeStats,
} from "./tree.js";

/** What a worker needs to open the same ACL ({@link Acl.shared}); structured-cloneable. */
export interface AclShared {
  readonly nodes: SharedArrayBuffer;
  readonly leaves: SharedArrayBuffer;
  readonly roots: SharedArrayBuffer;
  readonly categories: number;
  readonly stats: AclTreeStats;
}

/** Build options: the category count (default 1) and the tree's tuning. */
export interface AclBuildOptions extends AclTreeOptions {
  /** Results per packet, 1 to 16. Default 1. */
  readonly categories?: number;
}

/**
 * A built ACL. See the module comment.
 *
 * @example
 * const acl = Acl.build([{ priority: 1, userdata: 9, dst: { ip: 0xc0a80000, depth: 16 } }]);
 * const keys = new Uint32Array(4);
 * aclKey(keys, 0, 17, 0x01020304, 0xc0a80505, 1000, 2000);
 * const results = new Uint32Array(1);
 * acl.classifyBulk(keys, 1, results);
 * console.log(results[0]); // 9
 */
export class Acl {
  /** Results per packet. */
  readonly categories: number;
  /** What the build made. */
  readonly stats: AclTreeStats;
  private readonly nodes: Int32Array;
  private readonly leaves: Int32Array;
  /** Per tree: root ref, best rank. */
  private readonly roots: Int32Array;
  /** Per category: the best rank so far (classifyN's scratch; an Acl is used by one thread). */
  private readonly bestRank: Int32Array;

  private constructor(nodes: Int32Array, leaves: Int32Array, roots: Int32Array, categories: number, stats: AclTreeStats) {
    this.nodes = nodes;
    this.leaves = leaves;
    this.roots = roots;
    this.categories = categories;
    this.stats = stats;
    this.bestRank = new Int32Array(categories);
  }

  /**
   * Builds an ACL from `rules` (checked first: a bad rule throws a RangeError naming its index, its
   * userdata and the field, and nothing is built).
   *
   * @example
   * const acl = Acl.build(
   *   [
   *     { priority: 2, userdata: 1, categoryMask: 0b01, proto: 17 },
   *     { priority: 1, userdata: 2, categoryMask: 0b11 },
   *   ],
   *   { categories: 2 },
   * );
   */
  static build(rules: readonly AclRule[], opts: AclBuildOptions = {}): Acl {
    const categories = opts.categories ?? 1;
    if (!Number.isInteger(categories) || categories < 1 || categories > ACL_MAX_CATEGORIES) {
      throw new RangeError(`Invalid ACL category count ${String(categories)}: 1 to ${ACL_MAX_CATEGORIES}`);
    }
    if (!Array.isArray(rules)) throw new TypeError("Acl.build: rules must be an array of AclRule");
    const ranges = rules.map((r, i) => aclRuleRanges(r, i, categories));
    const t = buildAclTrees(ranges, categories, opts);
    return new Acl(t.nodes, t.leaves, t.roots, categories, t.stats);
  }

  /**
   * The same ACL in another thread (read-only views of the shared tables).
   *
   * @example
   * const a = Acl.build([{ priority: 1, userdata: 1 }]);
   * const b = Acl.fromShared(a.shared()); // normally in a worker, from a message
   */
  static fromShared(s: AclShared): Acl {
    return new Acl(new Int32Array(s.nodes), new Int32Array(s.leaves), new Int32Array(s.roots), s.categories, s.stats);
  }

  /**
   * What to post to a worker (or publish through a SharedSlot).
   *
   * @example
   * import { Worker } from "node:worker_threads";
   * const acl = Acl.build([{ priority: 1, userdata: 1 }]);
   * const worker = new Worker("./worker.js", { workerData: { acl: acl.shared() } });
   */
  shared(): AclShared {
    return {
      nodes: this.nodes.buffer as SharedArrayBuffer,
      leaves: this.leaves.buffer as SharedArrayBuffer,
      roots: this.roots.buffer as SharedArrayBuffer,
      categories: this.categories,
      stats: this.stats,
    };
  }

  /**
   * Classifies `n` packets. `keys` holds 4 words per packet, [proto, srcIp, dstIp,
   * (srcPort << 16 | dstPort) >>> 0] (see aclKey); `results[i * categories + c]` gets the userdata of the
   * highest-priority rule of category c matching packet i (equal priorities: the earlier rule), or 0.
   * Allocates nothing; throws a RangeError only when the arrays are too short for `n`.
   *
   * @example
   * const acl = Acl.build([{ priority: 1, userdata: 3, proto: 1 }]);
   * const keys = new Uint32Array(4 * 32);
   * const results = new Uint32Array(32);
   * for (let i = 0; i < 32; i++) aclKey(keys, i, i % 2, 0, 0, 0, 0);
   * acl.classifyBulk(keys, 32, results); // 0, 3, 0, 3, ...
   */
  classifyBulk(keys: Uint32Array, n: number, results: Uint32Array): void {
    if (!(n >= 0 && n * ACL_KEY_WORDS <= keys.length && n * this.categories <= results.length)) {
      throw new RangeError(`Acl.classifyBulk: ${n} packets need ${n * ACL_KEY_WORDS} key words (have ${keys.length}) and ${n * this.categories} results (have ${results.length})`);
    }
    if (this.categories === 1) {
      if (this.roots.length === 2) classify1(this.nodes, this.leaves, this.roots[0]!, keys, n, results);
      else classify1Trees(this.nodes, this.leaves, this.roots, keys, n, results);
    } else classifyN(this.nodes, this.leaves, this.roots, this.categories, this.bestRank, keys, n, results);
  }
}

function classify1(nodes: Int32Array, leaves: Int32Array, root: number, keys: Uint32Array, n: number, results: Uint32Array): void {
  for (let i = 0, k = 0; i < n; i++, k += ACL_KEY_WORDS) {
    let ref = root;
    while (ref >= 0) {
      const h = nodes[ref]!;
      ref = nodes[ref + 2 + ((keys[k + (h & 3)]! >>> (h >>> 2)) & nodes[ref + 1]!)]!;
    }
    const l = ~ref;
    let res = 0;
    const cnt = leaves[l]!;
    if (cnt !== 0) {
      const s = keys[k + 1]! | 0;
      const d = keys[k + 2]! | 0;
      const ports = keys[k + 3]!;
      const sp = ports >>> 16;
      const dp = ports & 0xffff;
      const p = keys[k]! | 0;
      for (let e = l + 1, end = l + 1 + cnt * LEAF_RULE_WORDS; e < end; e += LEAF_RULE_WORDS) {
        if (
          (s & leaves[e + LR_SRC + 1]!) === leaves[e + LR_SRC] &&
          (d & leaves[e + LR_DST + 1]!) === leaves[e + LR_DST] &&
          dp >= leaves[e + LR_DPORT]! &&
          dp <= leaves[e + LR_DPORT + 1]! &&
          sp >= leaves[e + LR_SPORT]! &&
          sp <= leaves[e + LR_SPORT + 1]! &&
          (p & leaves[e + LR_PROTO + 1]!) === leaves[e + LR_PROTO]
        ) {
          res = leaves[e + LR_USERDATA]!;
          break;
        }
      }
    }
    results[i] = res;
  }
}

/** One category, several trees: the best rank over the trees (trees that cannot beat it are skipped). */
function classify1Trees(nodes: Int32Array, leaves: Int32Array, roots: Int32Array, keys: Uint32Array, n: number, results: Uint32Array): void {
  const trees = roots.length;
  for (let i = 0, k = 0; i < n; i++, k += ACL_KEY_WORDS) {
    const s = keys[k + 1]! | 0;
    const d = keys[k + 2]! | 0;
    const ports = keys[k + 3]!;
    const sp = ports >>> 16;
    const dp = ports & 0xffff;
    const p = keys[k]! | 0;
    let best = 0x7fffffff;
    let res = 0;
    for (let t = 0; t < trees && roots[t + 1]! < best; t += 2) {
      let ref = roots[t]!;
      while (ref >= 0) {
        const h = nodes[ref]!;
        ref = nodes[ref + 2 + ((keys[k + (h & 3)]! >>> (h >>> 2)) & nodes[ref + 1]!)]!;
      }
      const l = ~ref;
      for (let e = l + 1, end = l + 1 + leaves[l]! * LEAF_RULE_WORDS; e < end; e += LEAF_RULE_WORDS) {
        if (leaves[e + LR_RANK]! >= best) break;
        if (
          (s & leaves[e + LR_SRC + 1]!) === leaves[e + LR_SRC] &&
          (d & leaves[e + LR_DST + 1]!) === leaves[e + LR_DST] &&
          dp >= leaves[e + LR_DPORT]! &&
          dp <= leaves[e + LR_DPORT + 1]! &&
          sp >= leaves[e + LR_SPORT]! &&
          sp <= leaves[e + LR_SPORT + 1]! &&
          (p & leaves[e + LR_PROTO + 1]!) === leaves[e + LR_PROTO]
        ) {
          best = leaves[e + LR_RANK]!;
          res = leaves[e + LR_USERDATA]!;
          break;
        }
      }
    }
    results[i] = res;
  }
}

/** Several categories: per category the best rank over the trees. */
function classifyN(
  nodes: Int32Array,
  leaves: Int32Array,
  roots: Int32Array,
  categories: number,
  best: Int32Array,
  keys: Uint32Array,
  n: number,
  results: Uint32Array,
): void {
  const trees = roots.length;
  for (let i = 0, k = 0, o = 0; i < n; i++, k += ACL_KEY_WORDS, o += categories) {
    for (let c = 0; c < categories; c++) {
      results[o + c] = 0;
      best[c] = 0x7fffffff;
    }
    const s = keys[k + 1]! | 0;
    const d = keys[k + 2]! | 0;
    const ports = keys[k + 3]!;
    const sp = ports >>> 16;
    const dp = ports & 0xffff;
    const p = keys[k]! | 0;
    let worst = 0x7fffffff; // the worst best rank over the categories: nothing ranked at or after it can help
    for (let t = 0; t < trees && roots[t + 1]! < worst; t += 2) {
      let ref = roots[t]!;
      while (ref >= 0) {
        const h = nodes[ref]!;
        ref = nodes[ref + 2 + ((keys[k + (h & 3)]! >>> (h >>> 2)) & nodes[ref + 1]!)]!;
      }
      const l = ~ref;
      for (let e = l + 1, end = l + 1 + leaves[l]! * LEAF_RULE_WORDS; e < end; e += LEAF_RULE_WORDS) {
        const rank = leaves[e + LR_RANK]!;
        if (rank >= worst) break;
        if (
          (s & leaves[e + LR_SRC + 1]!) === leaves[e + LR_SRC] &&
          (d & leaves[e + LR_DST + 1]!) === leaves[e + LR_DST] &&
          dp >= leaves[e + LR_DPORT]! &&
          dp <= leaves[e + LR_DPORT + 1]! &&
          sp >= leaves[e + LR_SPORT]! &&
          sp <= leaves[e + LR_SPORT + 1]! &&
          (p & leaves[e + LR_PROTO + 1]!) === leaves[e + LR_PROTO]
        ) {
          const u = leaves[e + LR_USERDATA]!;
          for (let m = leaves[e + LR_CATS]!; m !== 0; m &= m - 1) {
            const c = 31 - Math.clz32(m & -m);
            if (rank < best[c]!) {
              best[c] = rank;
              results[o + c] = u;
            }
          }
          worst = 0;
          for (let c = 0; c < categories; c++) if (best[c]! > worst) worst = best[c]!;
        }
      }
    }
  }
}
