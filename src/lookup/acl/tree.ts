/**
 * The ACL's decision trees: HiCuts-style trees (Gupta and McKeown, "Packet classification using
 * hierarchical intelligent cuttings", Hot Interconnects 1999) over the five fields, with leaves holding a
 * few rules in priority order that are checked in full; when one tree would replicate rules too much,
 * the rules are split into separable trees as EffiCuts does (Vamanan, Voskuilen and Vijaykumar,
 * SIGCOMM 2010) and a packet walks each tree, keeping the best-ranked match.
 *
 * Each internal node cuts one field of its region (an aligned power-of-two box per field) into 2^k equal
 * parts; a packet goes to child `(keyWord >>> shift) & (2^k - 1)`, so a node is two words plus its
 * children and a level costs one load of the key and two of the node. Building, per node:
 * - rules shadowed in the node's region are dropped: once a higher-priority rule covers the whole region
 *   for a category, a later rule can never win that category there (this keeps leaves small);
 * - a node with at most `leafSize` rules left becomes a leaf, and so does one with at most 4 x leafSize
 *   rules that no cut separates well (its fullest child would keep over 3/4 of them);
 * - otherwise each field is tried with the most cuts whose total of rules in the children stays within
 *   `spaceFactor` x the node's rules, and the field whose fullest child is smallest wins (a field that
 *   no rule only partly covers is not cut: that would separate nothing);
 * - sibling children with the same rules, each covering the whole child along the cut field, share one
 *   subtree, and leaves with the same rules are stored once.
 * Regions shrink at every level, so the recursion ends. A tree that grows past its word budget turns its
 * remaining nodes into leaves: still exact, only slower.
 *
 * Which shape: one tree over all rules first; if it replicates rules more than `replicationLimit` times
 * on average, hit its budget, or is deeper than 8, the rules are also partitioned by the fields they
 * cover more than half of (source, destination, source port, destination port: 16 signatures, small
 * groups merged into a group that is large in more fields) into one tree per group, and the shape with
 * the fewer steps over a fixed sample of keys (made from the rules) is kept.
 *
 * Layout (Int32Arrays over SharedArrayBuffers):
 * - nodes: internal node at offset o: [o] = keyWord | shift << 2, [o+1] = mask, [o+2+i] = child ref.
 *   A ref >= 0 is an internal node's offset, a ref < 0 is a leaf at offset ~ref.
 * - leaves: at offset l: [l] = rule count, then per rule LEAF_RULE_WORDS words (see LR_*), best rank
 *   first. Offset 0 is the shared empty leaf.
 * - roots: per tree its root ref and the best (lowest) rank of its rules, trees in that order.
 * A rule's rank is its position in priority order (priority descending, then list order).
 *
 * @example
 * const t = buildAclTrees([aclRuleRanges({ priority: 1, userdata: 5, proto: 6 }, 0, 1)], 1);
 * console.log(t.roots.length / 2, t.leaves[0]); // one tree; the empty leaf first
 */
import type { AclRuleRanges } from "./rule.js";

/** Words per rule in a leaf. */
export const LEAF_RULE_WORDS = 13;
/** Offsets inside a leaf rule: source value, then mask. */
export const LR_SRC = 0;
/** Destination value, then mask. */
export const LR_DST = 2;
/** Source port lo, then hi. */
export const LR_SPORT = 4;
/** Destination port lo, then hi. */
export const LR_DPORT = 6;
/** Proto value, then mask (0: any). */
export const LR_PROTO = 8;
export const LR_USERDATA = 10;
export const LR_CATS = 11;
export const LR_RANK = 12;

/** Bits per field: proto, src, dst, srcPort, dstPort. */
const FIELD_BITS = [8, 32, 32, 16, 16] as const;
/** Key word of each field, and the extra shift inside it (the ports share word 3). */
const FIELD_WORD = [0, 1, 2, 3, 3] as const;
const FIELD_SHIFT = [0, 0, 0, 16, 0] as const;

/**
 * Tuning of the trees (the defaults fit rule sets of 1 to 100 k rules).
 *
 * @example
 * const acl = Acl.build([{ priority: 1, userdata: 1 }], { leafSize: 4 });
 */
export interface AclTreeOptions {
  /** A node with at most this many rules (after shadowing) is a leaf. Default 8. */
  readonly leafSize?: number;
  /** Total rules in a node's children at most this times the node's rules. Default 8. */
  readonly spaceFactor?: number;
  /** Most cuts of one node, as a power of two. Default 8 (256 children). */
  readonly maxCutBits?: number;
  /** Word budget of one tree's nodes + leaves. Default max(2^20, 256 x its rules), at most 2^26. */
  readonly maxWords?: number;
  /** Leaf entries per rule above which separable trees are tried too. Default 4. */
  readonly replicationLimit?: number;
  /** "single": one tree only; "split": separable trees only; "auto" (default): see the module comment. */
  readonly shape?: "auto" | "single" | "split";
}

/**
 * What the build made (for tuning and the benchmark).
 *
 * @example
 * const acl = Acl.build([{ priority: 1, userdata: 1 }]);
 * console.log(acl.stats.trees, acl.stats.leaves, acl.stats.maxLeafRules);
 */
export interface AclTreeStats {
  readonly rules: number;
  readonly trees: number;
  readonly internalNodes: number;
  readonly leaves: number;
  /** Rule entries over all leaves (replication: this / rules). */
  readonly leafRules: number;
  readonly maxLeafRules: number;
  readonly maxDepth: number;
  readonly bytes: number;
  /** True when a word budget stopped the cutting somewhere. */
  readonly budgetHit: boolean;
}

/** The built trees. */
export interface AclTrees {
  readonly nodes: Int32Array;
  readonly leaves: Int32Array;
  /** Per tree: root ref, best rank. */
  readonly roots: Int32Array;
  readonly stats: AclTreeStats;
}

class Growable {
  a: Int32Array;
  n = 0;
  constructor(cap: number) {
    this.a = new Int32Array(cap);
  }
  reserve(extra: number): number {
    if (this.n + extra > this.a.length) {
      let cap = this.a.length * 2;
      while (cap < this.n + extra) cap *= 2;
      const b = new Int32Array(cap);
      b.set(this.a.subarray(0, this.n));
      this.a = b;
    }
    const at = this.n;
    this.n += extra;
    return at;
  }
}

/** The rules in rank order, as columns. */
interface Ranked {
  readonly n: number;
  readonly lo: Float64Array; // [d * n + rank]
  readonly hi: Float64Array;
  readonly cats: Int32Array;
  readonly userdata: Int32Array;
  readonly allCats: number;
}

/** Builds trees into one pair of arrays (one shape: single or split). */
class Forest {
  readonly nodes = new Growable(1024);
  readonly leaves = new Growable(1024);
  private readonly leafMemo = new Map<string, number>();
  readonly roots: number[] = [];
  internalNodes = 0;
  leafCount = 1;
  leafRules = 0;
  maxLeafRules = 0;
  maxDepth = 0;
  budgetHit = false;

  constructor(
    private readonly r: Ranked,
    private readonly leafSize: number,
    private readonly spaceFactor: number,
    private readonly maxCutBits: number,
  ) {
    this.leaves.reserve(1); // the empty leaf at 0
  }

  /** Adds a tree over `list` (ranks, ascending) with a word budget. */
  addTree(list: Int32Array, budget: number): void {
    const root = this.build(list, new Float64Array(5), Int8Array.from(FIELD_BITS), 0, budget);
    this.roots.push(root, list.length === 0 ? 0x7fffffff : list[0]!);
  }

  private emitLeaf(list: Int32Array): number {
    if (list.length === 0) return ~0;
    const key = list.join(",");
    const known = this.leafMemo.get(key);
    if (known !== undefined) return ~known;
    const { n, lo, hi } = this.r;
    const at = this.leaves.reserve(1 + list.length * LEAF_RULE_WORDS);
    const a = this.leaves.a;
    a[at] = list.length;
    for (let j = 0; j < list.length; j++) {
      const x = list[j]!;
      const e = at + 1 + j * LEAF_RULE_WORDS;
      a[e + LR_SRC] = lo[n + x]! | 0;
      a[e + LR_SRC + 1] = ~(hi[n + x]! - lo[n + x]!) | 0; // a prefix: hi - lo = 2^(32 - depth) - 1
      a[e + LR_DST] = lo[2 * n + x]! | 0;
      a[e + LR_DST + 1] = ~(hi[2 * n + x]! - lo[2 * n + x]!) | 0;
      a[e + LR_SPORT] = lo[3 * n + x]!;
      a[e + LR_SPORT + 1] = hi[3 * n + x]!;
      a[e + LR_DPORT] = lo[4 * n + x]!;
      a[e + LR_DPORT + 1] = hi[4 * n + x]!;
      const any = lo[x] === 0 && hi[x] === 0xff;
      a[e + LR_PROTO] = any ? 0 : lo[x]!;
      a[e + LR_PROTO + 1] = any ? 0 : 0xff;
      a[e + LR_USERDATA] = this.r.userdata[x]!;
      a[e + LR_CATS] = this.r.cats[x]!;
      a[e + LR_RANK] = x;
    }
    this.leafMemo.set(key, at);
    this.leafCount++;
    this.leafRules += list.length;
    if (list.length > this.maxLeafRules) this.maxLeafRules = list.length;
    return ~at;
  }

  /** Region: per field the base and the log2 of the size. */
  private build(list0: Int32Array, base: Float64Array, bits: Int8Array, depth: number, budgetWords: number): number {
    const { n, lo: LO, hi: HI, cats: CAT, allCats } = this.r;
    if (depth > this.maxDepth) this.maxDepth = depth;
    // Drop rules shadowed in this region.
    const kept: number[] = [];
    let covered = 0;
    for (let j = 0; j < list0.length; j++) {
      const x = list0[j]!;
      const cats = CAT[x]!;
      if ((cats & ~covered) === 0) continue;
      kept.push(x);
      let full = true;
      for (let d = 0; d < 5 && full; d++) {
        if (LO[d * n + x]! > base[d]! || HI[d * n + x]! < base[d]! + 2 ** bits[d]! - 1) full = false;
      }
      if (full) {
        covered |= cats;
        if (covered === allCats) break;
      }
    }
    const list = Int32Array.from(kept);
    const m = list.length;
    if (m <= this.leafSize) return this.emitLeaf(list);
    if (budgetWords < 2 * m * LEAF_RULE_WORDS) {
      this.budgetHit = true;
      return this.emitLeaf(list);
    }

    // Choose the field and the number of cuts.
    let bestD = -1;
    let bestK = 0;
    let bestMax = Infinity;
    let bestSum = Infinity;
    const budget = this.spaceFactor * m;
    for (let d = 0; d < 5; d++) {
      const b = bits[d]!;
      if (b === 0) continue;
      const lo0 = base[d]!;
      const hi0 = lo0 + 2 ** b - 1;
      let partial = false;
      for (let j = 0; j < m && !partial; j++) {
        const x = list[j]!;
        if (LO[d * n + x]! > lo0 || HI[d * n + x]! < hi0) partial = true;
      }
      if (!partial) continue;
      let chosenMax = 0;
      let chosenSum = 0;
      let chosenK = 0;
      for (let k = 1; k <= Math.min(b, this.maxCutBits); k++) {
        const cuts = 2 ** k;
        const size = 2 ** (b - k);
        const diff = new Int32Array(cuts + 1);
        let sum = 0;
        for (let j = 0; j < m; j++) {
          const x = list[j]!;
          const first = Math.floor((Math.max(LO[d * n + x]!, lo0) - lo0) / size);
          const last = Math.floor((Math.min(HI[d * n + x]!, hi0) - lo0) / size);
          sum += last - first + 1;
          diff[first]!++;
          diff[last + 1]!--;
        }
        if (k > 1 && sum + cuts > budget) break;
        let run = 0;
        let max = 0;
        for (let c = 0; c < cuts; c++) {
          run += diff[c]!;
          if (run > max) max = run;
        }
        chosenK = k;
        chosenMax = max;
        chosenSum = sum;
      }
      if (chosenMax < bestMax || (chosenMax === bestMax && chosenSum < bestSum)) {
        bestD = d;
        bestK = chosenK;
        bestMax = chosenMax;
        bestSum = chosenSum;
      }
    }
    if (bestD < 0) return this.emitLeaf(list); // every rule covers the region in every field
    // Little progress (the fullest child keeps over 3/4 of the rules) on a node a leaf scan of
    // which is still short: a leaf. Cutting such overlapping rules further mostly replicates them.
    if (m <= 4 * this.leafSize && 4 * bestMax > 3 * m) return this.emitLeaf(list);

    const d = bestD;
    const cuts = 2 ** bestK;
    const childBits = bits[d]! - bestK;
    const childSize = 2 ** childBits;
    const lo0 = base[d]!;
    const hi0 = lo0 + 2 ** bits[d]! - 1;
    const lists: number[][] = Array.from({ length: cuts }, () => []);
    const partialIn = new Uint8Array(cuts); // some rule only partly covers the child along d
    for (let j = 0; j < m; j++) {
      const x = list[j]!;
      const rlo = Math.max(LO[d * n + x]!, lo0);
      const rhi = Math.min(HI[d * n + x]!, hi0);
      const first = Math.floor((rlo - lo0) / childSize);
      const last = Math.floor((rhi - lo0) / childSize);
      for (let c = first; c <= last; c++) lists[c]!.push(x);
      if (rlo > lo0 + first * childSize) partialIn[first] = 1;
      if (rhi < lo0 + (last + 1) * childSize - 1) partialIn[last] = 1;
    }
    this.internalNodes++;
    const at = this.nodes.reserve(2 + cuts);
    this.nodes.a[at] = FIELD_WORD[d]! | ((FIELD_SHIFT[d]! + childBits) << 2);
    this.nodes.a[at + 1] = cuts - 1;
    const sibling = new Map<string, number>();
    // The children share what is left of the budget in proportion to their rules; what a child does
    // not use goes to the ones after it.
    let left = budgetWords - (2 + cuts);
    let leftRules = bestSum;
    const childBase = Float64Array.from(base);
    const childBitsArr = Int8Array.from(bits);
    childBitsArr[d] = childBits;
    for (let c = 0; c < cuts; c++) {
      const l = lists[c]!;
      let ref: number;
      const used0 = this.nodes.n + this.leaves.n;
      if (l.length === 0) ref = ~0;
      else {
        const key = partialIn[c] === 0 ? l.join(",") : null;
        const known = key === null ? undefined : sibling.get(key);
        if (known !== undefined) ref = known;
        else {
          childBase[d] = lo0 + c * childSize;
          ref = this.build(Int32Array.from(l), childBase, childBitsArr, depth + 1, (left * l.length) / leftRules);
          if (key !== null) sibling.set(key, ref);
        }
      }
      this.nodes.a[at + 2 + c] = ref; // nodes.a may have been reallocated by the recursion
      left -= this.nodes.n + this.leaves.n - used0;
      leftRules -= l.length;
    }
    return at;
  }

  /**
   * Lookup steps over `keys` (nodes walked + leaf rules looked at), as classification does with one
   * category: trees in rank order, a tree skipped when it cannot beat the best match so far.
   */
  cost(keys: Uint32Array): number {
    const nodes = this.nodes.a;
    const leaves = this.leaves.a;
    let steps = 0;
    for (let k = 0; k < keys.length; k += 4) {
      let best = 0x7fffffff;
      for (let t = 0; t < this.roots.length; t += 2) {
        if (this.roots[t + 1]! >= best) break;
        let ref = this.roots[t]!;
        while (ref >= 0) {
          const h = nodes[ref]!;
          ref = nodes[ref + 2 + ((keys[k + (h & 3)]! >>> (h >>> 2)) & nodes[ref + 1]!)]!;
          steps++;
        }
        const l = ~ref;
        for (let e = l + 1, end = l + 1 + leaves[l]! * LEAF_RULE_WORDS; e < end; e += LEAF_RULE_WORDS) {
          if (leaves[e + LR_RANK]! >= best) break;
          steps++;
          if (leafRuleMatches(leaves, e, keys, k)) {
            best = leaves[e + LR_RANK]!;
            break;
          }
        }
      }
    }
    return steps;
  }

  finish(rules: number): AclTrees {
    const nodes = new Int32Array(new SharedArrayBuffer(Math.max(4, this.nodes.n * 4)));
    nodes.set(this.nodes.a.subarray(0, this.nodes.n));
    const leaves = new Int32Array(new SharedArrayBuffer(this.leaves.n * 4));
    leaves.set(this.leaves.a.subarray(0, this.leaves.n));
    const roots = new Int32Array(new SharedArrayBuffer(this.roots.length * 4));
    roots.set(this.roots);
    return {
      nodes,
      leaves,
      roots,
      stats: {
        rules,
        trees: this.roots.length / 2,
        internalNodes: this.internalNodes,
        leaves: this.leafCount,
        leafRules: this.leafRules,
        maxLeafRules: this.maxLeafRules,
        maxDepth: this.maxDepth,
        bytes: (this.nodes.n + this.leaves.n + this.roots.length) * 4,
        budgetHit: this.budgetHit,
      },
    };
  }
}

/** True when the leaf rule at `e` matches the key at `keys[k]` (the build's cost model and tests). */
function leafRuleMatches(leaves: Int32Array, e: number, keys: Uint32Array, k: number): boolean {
  const ports = keys[k + 3]!;
  const sp = ports >>> 16;
  const dp = ports & 0xffff;
  return (
    ((keys[k + 1]! | 0) & leaves[e + LR_SRC + 1]!) === leaves[e + LR_SRC] &&
    ((keys[k + 2]! | 0) & leaves[e + LR_DST + 1]!) === leaves[e + LR_DST] &&
    dp >= leaves[e + LR_DPORT]! &&
    dp <= leaves[e + LR_DPORT + 1]! &&
    sp >= leaves[e + LR_SPORT]! &&
    sp <= leaves[e + LR_SPORT + 1]! &&
    ((keys[k]! | 0) & leaves[e + LR_PROTO + 1]!) === leaves[e + LR_PROTO]
  );
}

/** Signature bits: the rule covers more than half of src (1), dst (2), srcPort (4), dstPort (8). */
function signature(r: Ranked, x: number): number {
  let s = 0;
  for (let d = 1; d < 5; d++) if (r.hi[d * r.n + x]! - r.lo[d * r.n + x]! + 1 > 2 ** (FIELD_BITS[d]! - 1)) s |= 1 << (d - 1);
  return s;
}

const popcount = (v: number): number => {
  let c = 0;
  for (; v !== 0; v &= v - 1) c++;
  return c;
};

/** EffiCuts-style groups: rules by signature, groups smaller than `min` merged into a superset group. */
function partition(r: Ranked, min: number): Int32Array[] {
  const bySig: number[][] = Array.from({ length: 16 }, () => []);
  for (let x = 0; x < r.n; x++) bySig[signature(r, x)]!.push(x);
  const sigs = [...Array(16).keys()].sort((a, b) => popcount(a) - popcount(b) || a - b);
  for (const s of sigs) {
    const g = bySig[s]!;
    if (g.length === 0 || g.length >= min || s === 15) continue;
    // Into the closest non-empty superset group (fewest extra large fields, then the biggest), else 15.
    let into = 15;
    for (const t of sigs) {
      if (t === s || (t & s) !== s || bySig[t]!.length === 0) continue;
      if (into === 15 || popcount(t) < popcount(into) || (popcount(t) === popcount(into) && bySig[t]!.length > bySig[into]!.length)) into = t;
    }
    bySig[into]!.push(...g);
    bySig[s] = [];
  }
  return bySig
    .filter((g) => g.length > 0)
    .map((g) => Int32Array.from(g).sort())
    .sort((a, b) => a[0]! - b[0]!);
}

/** A fixed sample of keys for choosing the shape: from the rules (corners and middles) and random. */
function sampleKeys(r: Ranked, count: number): Uint32Array {
  const keys = new Uint32Array(count * 4);
  let seed = 0x9e3779b9;
  const rnd = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const pick = (x: number, d: number): number => {
    const lo = r.lo[d * r.n + x]!;
    const hi = r.hi[d * r.n + x]!;
    const w = rnd();
    return w < 0.25 ? lo : w < 0.5 ? hi : lo + Math.floor(rnd() * (hi - lo + 1));
  };
  for (let i = 0; i < count; i++) {
    const k = i * 4;
    if (r.n === 0 || i % 4 === 3) {
      keys[k] = Math.floor(rnd() * 256);
      keys[k + 1] = Math.floor(rnd() * 2 ** 32);
      keys[k + 2] = Math.floor(rnd() * 2 ** 32);
      keys[k + 3] = Math.floor(rnd() * 2 ** 32);
      continue;
    }
    const x = Math.floor(rnd() * r.n);
    keys[k] = pick(x, 0);
    keys[k + 1] = pick(x, 1);
    keys[k + 2] = pick(x, 2);
    keys[k + 3] = ((pick(x, 3) << 16) | pick(x, 4)) >>> 0;
  }
  return keys;
}

/**
 * Builds the trees over `rules` (any order; ranked here by priority, then list order).
 *
 * @example
 * const t = buildAclTrees([aclRuleRanges({ priority: 1, userdata: 5 }, 0, 1)], 1, { leafSize: 4 });
 */
export function buildAclTrees(rules: readonly AclRuleRanges[], categories: number, opts: AclTreeOptions = {}): AclTrees {
  const leafSize = opts.leafSize ?? 8;
  const spaceFactor = opts.spaceFactor ?? 8;
  const maxCutBits = opts.maxCutBits ?? 8;
  const replicationLimit = opts.replicationLimit ?? 4;
  const shape = opts.shape ?? "auto";
  const budgetOf = (m: number): number => opts.maxWords ?? Math.min(2 ** 26, Math.max(2 ** 20, 256 * m));
  const n = rules.length;

  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => rules[b]!.priority - rules[a]!.priority || a - b);
  const r: Ranked = {
    n,
    lo: new Float64Array(5 * n),
    hi: new Float64Array(5 * n),
    cats: new Int32Array(n),
    userdata: new Int32Array(n),
    allCats: (1 << categories) - 1,
  };
  order.forEach((src, x) => {
    const rule = rules[src]!;
    for (let d = 0; d < 5; d++) {
      r.lo[d * n + x] = rule.lo[d]!;
      r.hi[d * n + x] = rule.hi[d]!;
    }
    r.cats[x] = rule.categoryMask;
    r.userdata[x] = rule.userdata;
  });

  let single: Forest | null = null;
  if (shape !== "split") {
    single = new Forest(r, leafSize, spaceFactor, maxCutBits);
    single.addTree(Int32Array.from({ length: n }, (_, i) => i), budgetOf(n));
    const good = !single.budgetHit && single.leafRules <= replicationLimit * Math.max(1, n) && single.maxDepth <= 8;
    if (shape === "single" || good) return single.finish(n);
  }
  const split = new Forest(r, leafSize, spaceFactor, maxCutBits);
  for (const g of partition(r, Math.max(16, n >>> 5))) split.addTree(g, budgetOf(g.length));
  if (single === null || split.roots.length === 2) return split.finish(n);
  const sample = sampleKeys(r, 4096);
  return split.cost(sample) < single.cost(sample) ? split.finish(n) : single.finish(n);
}
