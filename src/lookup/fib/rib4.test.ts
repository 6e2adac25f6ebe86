import { test } from "node:test";
import assert from "node:assert/strict";
import { parseIp4 } from "../addr.js";
import { FIB_NO_ROUTE, Rib4, type Route4 } from "./index.js";
import { PrefixTrie } from "./trie.js";

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}
const mask = (d: number): number => (d === 0 ? 0 : (0xffffffff << (32 - d)) >>> 0);
const covers = (r: Route4, ip: number, depth = 32): boolean => r.depth <= depth && ((ip & mask(r.depth)) >>> 0) === r.ip;

/** Linear oracles over the list of live routes. */
function lpm(routes: Route4[], ip: number, maxDepth = 32): Route4 | null {
  let best: Route4 | null = null;
  for (const r of routes) if (covers(r, ip, maxDepth) && (best === null || r.depth > best.depth)) best = r;
  return best;
}
const byAddr = (a: Route4, b: Route4): number => a.ip - b.ip || a.depth - b.depth;

test("Rib4 against a linear oracle with interleaved adds and deletes", () => {
  const rand = rng(3);
  const rib = new Rib4();
  let live: Route4[] = [];
  for (let op = 0; op < 4000; op++) {
    if (rand() < 0.6 || live.length === 0) {
      const depth = Math.floor(rand() * 33);
      const ip = ((0xc0a80000 | Math.floor(rand() * 0x10000)) & mask(depth)) >>> 0;
      const nh = Math.floor(rand() * 100);
      const old = live.find((r) => r.ip === ip && r.depth === depth);
      assert.equal(rib.add((ip | (depth < 32 ? 1 : 0)) >>> 0, depth, nh), old?.nextHop, "host bits ignored; previous next hop returned");
      if (old) old.nextHop = nh;
      else live.push({ ip, depth, nextHop: nh });
    } else {
      const i = Math.floor(rand() * live.length);
      const r = live[i]!;
      live = live.filter((_, j) => j !== i);
      assert.equal(rib.delete(r.ip, r.depth), true);
      assert.equal(rib.delete(r.ip, r.depth), false);
    }
    if (op % 50 === 0) {
      assert.equal(rib.size, live.length);
      assert.deepEqual(rib.routes(), [...live].sort(byAddr));
    }
    for (let j = 0; j < 20; j++) {
      const ip = (0xc0a80000 | Math.floor(rand() * 0x10000)) >>> 0;
      const want = lpm(live, ip);
      assert.equal(rib.lookup(ip), want === null ? FIB_NO_ROUTE : want.nextHop);
      assert.deepEqual(rib.lookupRoute(ip), want);
    }
    const r = live[Math.floor(rand() * live.length)];
    if (r) {
      assert.equal(rib.lookupExact(r.ip, r.depth), r.nextHop);
      const parent = r.depth === 0 ? null : lpm(live, r.ip, r.depth - 1);
      assert.deepEqual(rib.lookupParent(r.ip, r.depth), parent);
      const inside = live.filter((x) => x.depth >= r.depth && covers(r, x.ip)).sort(byAddr);
      assert.deepEqual(rib.routes(r.ip, r.depth), inside);
    }
  }
});

test("Rib4 edge cases and bad input", () => {
  const rib = new Rib4();
  assert.equal(rib.lookup(0), FIB_NO_ROUTE);
  rib.add(0, 0, 1);
  rib.add(0xffffffff, 32, 2);
  assert.equal(rib.lookup(0xffffffff), 2);
  assert.equal(rib.lookup(0xfffffffe), 1);
  assert.equal(rib.lookupExact(0xffffffff, 31), undefined);
  assert.deepEqual(rib.lookupParent(0xffffffff, 32), { ip: 0, depth: 0, nextHop: 1 });
  assert.deepEqual(rib.routes(parseIp4("10.0.0.0"), 8), []);
  assert.throws(() => rib.add(0, 33, 1), /Rib4\.add 0\.0\.0\.0\/33: depth 33 is not an integer 0 to 32/);
  assert.throws(() => rib.add(0, 8, FIB_NO_ROUTE), /Rib4\.add 0\.0\.0\.0\/8: next hop 2147483647/);
  assert.throws(() => rib.lookup(-5), /Rib4\.lookup -5\/32: address -5 is not a u32/);
  rib.clear();
  assert.equal(rib.size, 0);
  assert.equal(rib.lookup(0), FIB_NO_ROUTE);
});

test("PrefixTrie keeps at most 2n-1 nodes and answers blockInfo", () => {
  const t = new PrefixTrie(32);
  const k = (ip: number): Uint32Array => Uint32Array.of(ip, 0, 0, 0);
  t.insert(k(0x0a000000), 8, 1);
  t.insert(k(0x0a010100), 24, 2);
  t.insert(k(0x0a010180), 25, 3);
  t.insert(k(0x0a0101c0), 26, 4);
  t.insert(k(0x0a020000), 16, 5);
  const count = (): number => {
    let n = 0;
    const walk = (x: typeof t.root): void => {
      if (x === null) return;
      n++;
      walk(x.l);
      walk(x.r);
    };
    walk(t.root);
    return n;
  };
  assert.ok(count() <= 2 * t.size - 1, `${count()} nodes for ${t.size} routes`);
  t.blockInfo(k(0x0a010100), 24);
  assert.deepEqual([t.infoNh, t.infoDepth, t.infoCount], [2, 24, 2]);
  t.blockInfo(k(0x0a010180), 25);
  assert.deepEqual([t.infoNh, t.infoDepth, t.infoCount, t.infoRoute?.depth], [3, 25, 1, 26]);
  t.blockInfo(k(0x0a030000), 24);
  assert.deepEqual([t.infoNh, t.infoDepth, t.infoCount], [1, 8, 0]);
  t.blockInfo(k(0x0b000000), 8);
  assert.deepEqual([t.infoNh, t.infoDepth, t.infoCount], [-1, -1, 0]);
  t.blockInfo(k(0), 0);
  assert.deepEqual([t.infoNh, t.infoCount], [-1, 2]);
  for (const [ip, d] of [[0x0a000000, 8], [0x0a010100, 24], [0x0a010180, 25], [0x0a0101c0, 26], [0x0a020000, 16]] as const) {
    assert.ok(t.remove(k(ip), d) >= 0);
    assert.ok(count() <= Math.max(0, 2 * t.size - 1));
  }
  assert.equal(t.root, null);
});
