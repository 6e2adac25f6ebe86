/**
 * A path-compressed binary trie of prefixes up to 128 bits (DPDK's rte_rib structure): the control-plane
 * index behind {@link Rib4}, {@link Rib6} and the FIBs. Keys are four big-endian u32 words (an IPv4 address
 * is word 0, the rest 0). Every node is either a route (its next hop >= 0) or a glue node with exactly two
 * children, so the trie has at most 2 * routes - 1 nodes, and a node's subtree holds exactly the routes
 * inside its prefix. Control path only: nodes are objects.
 *
 * Besides insert/remove/exact/longest-match it answers the two questions the FIBs rebuild from:
 * {@link PrefixTrie.blockInfo} (for an aligned block: the longest route no deeper than the block that covers
 * it, and how many routes lie strictly inside it) and {@link PrefixTrie.cover} (the top-level routes inside a
 * prefix: the holes to leave when painting that prefix's next hop).
 *
 * @example
 * const t = new PrefixTrie(32);
 * t.insert(Uint32Array.of(0x0a000000, 0, 0, 0), 8, 1);
 * console.log(t.lpm(Uint32Array.of(0x0a010203, 0, 0, 0), 32)?.nh); // 1
 */

/** A trie node; `nh` is the route's next hop, or -1 for a glue node. */
export class TrieNode {
  k0: number;
  k1: number;
  k2: number;
  k3: number;
  depth: number;
  nh: number;
  l: TrieNode | null = null;
  r: TrieNode | null = null;
  p: TrieNode | null = null;

  /**
   * A node for the (already masked) key.
   *
   * @example
   * const n = new TrieNode(Uint32Array.of(0x0a000000, 0, 0, 0), 8, 1);
   */
  constructor(k: Uint32Array, depth: number, nh: number) {
    this.k0 = k[0] as number;
    this.k1 = k[1] as number;
    this.k2 = k[2] as number;
    this.k3 = k[3] as number;
    this.depth = depth;
    this.nh = nh;
  }
}

/**
 * Word `w` (0..3) of a node's key.
 *
 * @example
 * const w0 = nodeWord(new TrieNode(Uint32Array.of(1, 2, 3, 4), 128, 0), 0); // 1
 */
export function nodeWord(n: TrieNode, w: number): number {
  return w === 0 ? n.k0 : w === 1 ? n.k1 : w === 2 ? n.k2 : n.k3;
}

/**
 * The u32 mask of the first `bits` bits of a word (`bits` clamped to 0..32).
 *
 * @example
 * maskBits(8); // 0xff000000
 */
export function maskBits(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Clears the bits of `k` after the first `depth` (in place) and returns `k`.
 *
 * @example
 * maskKey(Uint32Array.of(0x0a0b0c0d, 1, 2, 3), 16); // [0x0a0b0000, 0, 0, 0]
 */
export function maskKey(k: Uint32Array, depth: number): Uint32Array {
  for (let w = 0; w < 4; w++) k[w] = ((k[w] as number) & maskBits(depth - 32 * w)) >>> 0;
  return k;
}

/** Bit `i` (0 = the most significant of word 0) of a key. */
function keyBit(k: Uint32Array, i: number): number {
  return ((k[i >>> 5] as number) >>> (31 - (i & 31))) & 1;
}

function nodeBit(n: TrieNode, i: number): number {
  return (nodeWord(n, i >>> 5) >>> (31 - (i & 31))) & 1;
}

/** Length of the common prefix of a node's key and `k`, at most `lim`. */
function cpl(n: TrieNode, k: Uint32Array, lim: number): number {
  let x = (n.k0 ^ (k[0] as number)) >>> 0;
  if (x !== 0) return Math.min(Math.clz32(x), lim);
  if (lim <= 32) return lim;
  x = (n.k1 ^ (k[1] as number)) >>> 0;
  if (x !== 0) return Math.min(32 + Math.clz32(x), lim);
  if (lim <= 64) return lim;
  x = (n.k2 ^ (k[2] as number)) >>> 0;
  if (x !== 0) return Math.min(64 + Math.clz32(x), lim);
  if (lim <= 96) return lim;
  x = (n.k3 ^ (k[3] as number)) >>> 0;
  if (x !== 0) return Math.min(96 + Math.clz32(x), lim);
  return lim;
}

/** Routes in a subtree, counted up to 2 (a glue node has at least two routes below it). */
function count2(n: TrieNode | null): number {
  if (n === null) return 0;
  if (n.nh < 0) return 2;
  return n.l !== null || n.r !== null ? 2 : 1;
}

/**
 * The trie. See the module comment.
 *
 * @example
 * const t = new PrefixTrie(128);
 * t.insert(Uint32Array.of(0xfd000000, 0, 0, 0), 8, 7);
 * console.log(t.size); // 1
 */
export class PrefixTrie {
  root: TrieNode | null = null;
  /** Number of routes. */
  size = 0;
  /** Set by {@link PrefixTrie.blockInfo}: the covering next hop (-1 when none), its depth (-1), the count, the route. */
  infoNh = -1;
  infoDepth = -1;
  infoCount = 0;
  infoRoute: TrieNode | null = null;
  private readonly scratch = new Uint32Array(4);
  private readonly scratch2 = new Uint32Array(4);

  /**
   * An empty trie for keys of up to `maxDepth` bits (32 or 128).
   *
   * @example
   * const t = new PrefixTrie(32);
   */
  constructor(readonly maxDepth: number) {}

  private replace(parent: TrieNode | null, old: TrieNode, n: TrieNode | null): void {
    if (n !== null) n.p = parent;
    if (parent === null) this.root = n;
    else if (parent.l === old) parent.l = n;
    else parent.r = n;
  }

  private setChild(parent: TrieNode, side: number, n: TrieNode): void {
    if (side === 0) parent.l = n;
    else parent.r = n;
    n.p = parent;
  }

  /**
   * Adds or replaces the route (`k` masked to `depth` first; `k` itself is not changed). Returns the previous
   * next hop of that prefix, or -1 when it is new.
   *
   * @example
   * const t = new PrefixTrie(32);
   * t.insert(Uint32Array.of(0x0a000000, 0, 0, 0), 8, 1); // -1
   */
  insert(key: Uint32Array, depth: number, nh: number): number {
    const k = this.scratch;
    k.set(key);
    maskKey(k, depth);
    let parent: TrieNode | null = null;
    let side = 0;
    let cur = this.root;
    while (cur !== null) {
      const c = cpl(cur, k, Math.min(cur.depth, depth));
      if (c === cur.depth) {
        if (cur.depth === depth) {
          const prev = cur.nh;
          cur.nh = nh;
          if (prev < 0) this.size++;
          return prev;
        }
        parent = cur;
        side = keyBit(k, cur.depth);
        cur = side === 0 ? cur.l : cur.r;
        continue;
      }
      // The new prefix and cur diverge at bit c (or the new one is a prefix of cur when c === depth).
      const n = new TrieNode(k, depth, nh);
      if (c === depth) {
        this.replace(parent, cur, n);
        this.setChild(n, nodeBit(cur, depth), cur);
      } else {
        const gk = this.scratch2;
        gk.set(k);
        const g = new TrieNode(maskKey(gk, c), c, -1);
        this.replace(parent, cur, g);
        this.setChild(g, keyBit(k, c), n);
        this.setChild(g, nodeBit(cur, c), cur);
      }
      this.size++;
      return -1;
    }
    const n = new TrieNode(k, depth, nh);
    if (parent === null) this.root = n;
    else this.setChild(parent, side, n);
    this.size++;
    return -1;
  }

  /**
   * The node of exactly this prefix (a route or a glue node), or null.
   *
   * @example
   * const n = new PrefixTrie(32).node(Uint32Array.of(0x0a000000, 0, 0, 0), 8); // null
   */
  node(k: Uint32Array, depth: number): TrieNode | null {
    let cur = this.root;
    while (cur !== null && cur.depth <= depth) {
      if (cpl(cur, k, cur.depth) < cur.depth) return null;
      if (cur.depth === depth) return cpl(cur, k, depth) === depth ? cur : null;
      cur = keyBit(k, cur.depth) === 0 ? cur.l : cur.r;
    }
    return null;
  }

  /**
   * The next hop of exactly this route, or -1.
   *
   * @example
   * const nh = new PrefixTrie(32).exact(Uint32Array.of(0x0a000000, 0, 0, 0), 8); // -1
   */
  exact(k: Uint32Array, depth: number): number {
    const n = this.node(k, depth);
    return n === null ? -1 : n.nh;
  }

  /**
   * Removes the route; returns its next hop, or -1 when there was none.
   *
   * @example
   * const t = new PrefixTrie(32);
   * t.remove(Uint32Array.of(0x0a000000, 0, 0, 0), 8); // -1
   */
  remove(k: Uint32Array, depth: number): number {
    const n = this.node(k, depth);
    if (n === null || n.nh < 0) return -1;
    const prev = n.nh;
    n.nh = -1;
    this.size--;
    this.prune(n);
    return prev;
  }

  /** Drops a glue node with fewer than two children (and its parent, when that becomes one). */
  private prune(n: TrieNode): void {
    if (n.nh >= 0 || (n.l !== null && n.r !== null)) return;
    const child = n.l ?? n.r;
    const parent = n.p;
    this.replace(parent, n, child);
    n.p = n.l = n.r = null;
    if (child === null && parent !== null) this.prune(parent);
  }

  /**
   * The longest route of depth <= `maxDepth` whose prefix contains `k`, or null.
   *
   * @example
   * const n = new PrefixTrie(32).lpm(Uint32Array.of(0x0a000001, 0, 0, 0), 32); // null
   */
  lpm(k: Uint32Array, maxDepth: number): TrieNode | null {
    let best: TrieNode | null = null;
    let cur = this.root;
    while (cur !== null && cur.depth <= maxDepth) {
      if (cpl(cur, k, cur.depth) < cur.depth) break;
      if (cur.nh >= 0) best = cur;
      if (cur.depth >= this.maxDepth) break;
      cur = keyBit(k, cur.depth) === 0 ? cur.l : cur.r;
    }
    return best;
  }

  /**
   * For the aligned block of addresses with prefix (`k`, `depth`): sets {@link PrefixTrie.infoNh} /
   * {@link PrefixTrie.infoDepth} to the longest route of depth <= `depth` covering the block (-1 / -1 when
   * none), {@link PrefixTrie.infoCount} to the number of routes strictly deeper than `depth` inside the block
   * (0, 1, or 2 meaning "two or more") and {@link PrefixTrie.infoRoute} to that route when there is one.
   *
   * @example
   * const t = new PrefixTrie(32);
   * t.blockInfo(Uint32Array.of(0x0a000000, 0, 0, 0), 24);
   * console.log(t.infoCount); // 0
   */
  blockInfo(k: Uint32Array, depth: number): void {
    this.infoNh = -1;
    this.infoDepth = -1;
    this.infoCount = 0;
    this.infoRoute = null;
    let cur = this.root;
    while (cur !== null) {
      if (cur.depth > depth) {
        if (cpl(cur, k, depth) === depth) this.setInside(cur);
        return;
      }
      if (cpl(cur, k, cur.depth) < cur.depth) return;
      if (cur.nh >= 0) {
        this.infoNh = cur.nh;
        this.infoDepth = cur.depth;
      }
      if (cur.depth === depth) {
        const c = Math.min(2, count2(cur.l) + count2(cur.r));
        this.infoCount = c;
        if (c === 1) this.infoRoute = cur.l ?? cur.r;
        return;
      }
      cur = keyBit(k, cur.depth) === 0 ? cur.l : cur.r;
    }
  }

  private setInside(top: TrieNode): void {
    const c = count2(top);
    this.infoCount = c;
    if (c === 1) this.infoRoute = top;
  }

  /**
   * The top-level routes strictly inside the prefix (`k`, `depth`) (routes deeper than `depth` not inside
   * another such route), in address order, appended to `out`.
   *
   * @example
   * const subs: TrieNode[] = [];
   * new PrefixTrie(32).cover(Uint32Array.of(0x0a000000, 0, 0, 0), 8, subs);
   */
  cover(k: Uint32Array, depth: number, out: TrieNode[]): void {
    let cur = this.root;
    const stack: TrieNode[] = [];
    while (cur !== null) {
      if (cur.depth > depth) {
        if (cpl(cur, k, depth) === depth) stack.push(cur);
        break;
      }
      if (cpl(cur, k, cur.depth) < cur.depth) break;
      if (cur.depth === depth) {
        if (cur.r !== null) stack.push(cur.r);
        if (cur.l !== null) stack.push(cur.l);
        break;
      }
      cur = keyBit(k, cur.depth) === 0 ? cur.l : cur.r;
    }
    while (stack.length > 0) {
      const n = stack.pop() as TrieNode;
      if (n.nh >= 0) {
        out.push(n);
        continue;
      }
      if (n.r !== null) stack.push(n.r);
      if (n.l !== null) stack.push(n.l);
    }
  }

  /**
   * The highest node whose prefix lies inside (`k`, `depth`): its subtree holds exactly the routes inside
   * that prefix (null when there are none).
   *
   * @example
   * const top = new PrefixTrie(32).top(Uint32Array.of(0x0a000000, 0, 0, 0), 8); // null
   */
  top(k: Uint32Array, depth: number): TrieNode | null {
    let cur = this.root;
    while (cur !== null) {
      if (cur.depth >= depth) return cpl(cur, k, depth) === depth ? cur : null;
      if (cpl(cur, k, cur.depth) < cur.depth) return null;
      cur = keyBit(k, cur.depth) === 0 ? cur.l : cur.r;
    }
    return null;
  }

  /**
   * The routes of a subtree (the whole trie by default) in address order (a prefix before the routes
   * inside it).
   *
   * @example
   * for (const n of new PrefixTrie(32).nodes()) console.log(n.k0, n.depth, n.nh);
   */
  *nodes(from: TrieNode | null | undefined = this.root): Generator<TrieNode> {
    const stack: TrieNode[] = [];
    if (from !== null && from !== undefined) stack.push(from);
    while (stack.length > 0) {
      const n = stack.pop() as TrieNode;
      if (n.nh >= 0) yield n;
      if (n.r !== null) stack.push(n.r);
      if (n.l !== null) stack.push(n.l);
    }
  }

  /**
   * Removes every route.
   *
   * @example
   * new PrefixTrie(32).clear();
   */
  clear(): void {
    this.root = null;
    this.size = 0;
  }
}

/**
 * Loads the 16-byte address at `b[off]` into `k` as four big-endian words; returns `k`.
 *
 * @example
 * const k = keyFromBytes(parseIp6("fd00::1"), 0, new Uint32Array(4)); // [0xfd000000, 0, 0, 1]
 */
export function keyFromBytes(b: Uint8Array, off: number, k: Uint32Array): Uint32Array {
  for (let w = 0; w < 4; w++) {
    const o = off + 4 * w;
    k[w] = (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
  }
  return k;
}

/**
 * A node's key as 16 bytes (an IPv6 address).
 *
 * @example
 * const b = bytesOfNode(new TrieNode(Uint32Array.of(0xfd000000, 0, 0, 1), 128, 0)); // fd00::1
 */
export function bytesOfNode(n: TrieNode): Uint8Array {
  const b = new Uint8Array(16);
  for (let w = 0; w < 4; w++) {
    const v = nodeWord(n, w);
    b[4 * w] = v >>> 24;
    b[4 * w + 1] = v >>> 16;
    b[4 * w + 2] = v >>> 8;
    b[4 * w + 3] = v;
  }
  return b;
}
