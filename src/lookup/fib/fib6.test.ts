import { test } from "node:test";
import assert from "node:assert/strict";
import { Qsbr } from "../qsbr.js";
import { formatIp6, parseIp6 } from "../addr.js";
import { FIB_NO_ROUTE, Fib6, Rib6, type Route6 } from "./index.js";

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const hex = (b: Uint8Array, off = 0): string => Buffer.from(b.subarray(off, off + 16)).toString("hex");

/** Whether the address at u8[off] is inside prefix/depth (bit by bit: the naive way). */
function inside(u8: Uint8Array, off: number, prefix: Uint8Array, depth: number): boolean {
  for (let i = 0; i < depth; i++) {
    const bit = 7 - (i & 7);
    if ((((u8[off + (i >> 3)]! >> bit) ^ (prefix[i >> 3]! >> bit)) & 1) !== 0) return false;
  }
  return true;
}

/** The oracle: linear longest-prefix match. */
function linearLpm(routes: Route6[], u8: Uint8Array, off: number): number {
  let best = -1;
  let nh = FIB_NO_ROUTE;
  for (const r of routes) if (r.depth > best && inside(u8, off, r.ip, r.depth)) [best, nh] = [r.depth, r.nextHop];
  return nh;
}

/** A faster naive oracle: a Map keyed by "depth/bits as text", probed from the deepest depth in use down. */
class DepthMaps {
  readonly m = new Map<string, number>();
  readonly depths = new Map<number, number>(); // depth -> routes
  static key(u8: Uint8Array, off: number, depth: number): string {
    let s = "";
    for (let i = 0; i < depth; i++) s += (u8[off + (i >> 3)]! >> (7 - (i & 7))) & 1;
    return `${depth}/${s}`;
  }
  set(ip: Uint8Array, d: number, nh: number): void {
    const k = DepthMaps.key(ip, 0, d);
    if (!this.m.has(k)) this.depths.set(d, (this.depths.get(d) ?? 0) + 1);
    this.m.set(k, nh);
  }
  del(ip: Uint8Array, d: number): boolean {
    const k = DepthMaps.key(ip, 0, d);
    if (!this.m.delete(k)) return false;
    this.depths.set(d, this.depths.get(d)! - 1);
    return true;
  }
  lpm(u8: Uint8Array, off: number): number {
    const full = DepthMaps.key(u8, off, 128).slice(4);
    for (let d = 128; d >= 0; d--) {
      if (!this.depths.get(d)) continue;
      const v = this.m.get(`${d}/${full.slice(0, d)}`);
      if (v !== undefined) return v;
    }
    return FIB_NO_ROUTE;
  }
}

/** A random prefix of the given depth (host bits clear), under `base` bytes when given. */
function randPrefix(rand: () => number, depth: number, base?: Uint8Array, baseDepth = 0): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Math.floor(rand() * 256);
  if (base) for (let i = 0; i < baseDepth; i++) {
    const m = 0x80 >> (i & 7);
    b[i >> 3] = (b[i >> 3]! & ~m) | (base[i >> 3]! & m);
  }
  for (let i = 0; i < 16; i++) {
    const keep = depth - 8 * i;
    if (keep <= 0) b[i] = 0;
    else if (keep < 8) b[i] = b[i]! & (0xff << (8 - keep));
  }
  return b;
}

/** Probe addresses for a route: its first and last address, random ones inside, and the neighbours. */
function probesOf(r: Route6, rand: () => number, out: Uint8Array[]): void {
  const first = r.ip.slice();
  const last = r.ip.slice();
  for (let i = r.depth; i < 128; i++) last[i >> 3]! |= 0x80 >> (i & 7);
  const mid = randPrefix(rand, 128, r.ip, r.depth);
  out.push(first, last, mid);
  const before = first.slice();
  for (let i = 15; i >= 0; i--) if (before[i]!-- !== 0) break; // first - 1 (wraps at ::)
  const after = last.slice();
  for (let i = 15; i >= 0; i--) if (++after[i]! !== 256) break;
  out.push(before, after);
}

test("Fib6 basics: longest match, leaves, groups, ::/0, /128, replace, delete", () => {
  const fib = Fib6.create({ maxTbl8Groups: 64, maxLeaves: 64 });
  const ip = parseIp6;
  assert.equal(fib.lookup(ip("::1"), 0), FIB_NO_ROUTE);
  fib.add(ip("fd00::"), 16, 1);
  fib.add(ip("fd00:1:2:3::"), 64, 2); // a leaf under l0
  assert.deepEqual([fib.stats().tbl8Used, fib.stats().leavesUsed], [0, 1]);
  assert.equal(fib.lookup(ip("fd00:1:2:3::42"), 0), 2);
  assert.equal(fib.lookup(ip("fd00:1:2:4::42"), 0), 1);
  assert.equal(fib.lookup(ip("fd01::"), 0), FIB_NO_ROUTE);
  // Shares 64 bits with the /64: groups at /24../56, and at /64 a leaf for the /80 whose default is the /64.
  fib.add(ip("fd00:1:2:3:4::"), 80, 3);
  assert.deepEqual([fib.stats().tbl8Used, fib.stats().leavesUsed], [5, 1]);
  assert.equal(fib.lookup(ip("fd00:1:2:3:4::1"), 0), 3);
  assert.equal(fib.lookup(ip("fd00:1:2:3:5::1"), 0), 2);
  assert.equal(fib.lookup(ip("fd00:1:2:2::1"), 0), 1);
  fib.add(ip("fd00:1:2:3:4:5:6:7"), 128, 4);
  assert.deepEqual([fib.stats().tbl8Used, fib.stats().leavesUsed], [7, 1]);
  assert.equal(fib.lookup(ip("fd00:1:2:3:4:5:6:7"), 0), 4);
  assert.equal(fib.lookup(ip("fd00:1:2:3:4:5:6:6"), 0), 3);
  fib.add(ip("fd00:1:2:3::ffff"), 64, 5); // replace
  assert.equal(fib.lookup(ip("fd00:1:2:3:5::1"), 0), 5);
  fib.add(ip("::"), 0, 9);
  assert.equal(fib.lookup(ip("fd01::"), 0), 9);
  assert.equal(fib.lookup(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 0), 9);
  assert.equal(fib.delete(ip("fd00:1:2:3:4::"), 80), true);
  assert.equal(fib.lookup(ip("fd00:1:2:3:4::1"), 0), 5);
  assert.equal(fib.lookup(ip("fd00:1:2:3:4:5:6:7"), 0), 4);
  assert.equal(fib.delete(ip("fd00:1:2:3:4::"), 80), false);
  assert.equal(fib.delete(ip("fd00:1:2:3::"), 64), true);
  assert.deepEqual([fib.stats().tbl8Used, fib.stats().leavesUsed], [0, 1]); // only the /128's leaf is left
  assert.equal(fib.lookup(ip("fd00:1:2:3:4::1"), 0), 1);
  assert.equal(fib.delete(ip("fd00:1:2:3:4:5:6:7"), 128), true);
  assert.equal(fib.delete(ip("::"), 0), true);
  assert.equal(fib.lookup(ip("fd01::"), 0), FIB_NO_ROUTE);
  assert.deepEqual(fib.routes().map((r) => [formatIp6(r.ip), r.depth, r.nextHop]), [["fd00::", 16, 1]]);
  assert.deepEqual([fib.stats().tbl8Used, fib.stats().leavesUsed], [0, 0]);
  // Lookups at an offset inside a bigger buffer, bulk == single.
  const u8 = new Uint8Array(100);
  u8.set(ip("fd00::7"), 3);
  u8.set(ip("fe00::7"), 40);
  const nhs = new Uint32Array(2);
  fib.lookupBulk(u8, Uint32Array.of(3, 40), nhs, 2);
  assert.deepEqual([...nhs], [1, FIB_NO_ROUTE]);
});

test("Fib6 and Rib6 against the oracle: random tables, depths 0..128, bulk == single", () => {
  const rand = rng(11);
  let lookups = 0;
  for (const size of [1, 20, 300, 5000]) {
    const fib = Fib6.create({ maxTbl8Groups: 8192, maxLeaves: 16384 });
    const rib = new Rib6();
    const oracle = new DepthMaps();
    const linear = new Map<string, Route6>();
    const anchors: Uint8Array[] = []; // clusters, so prefixes nest and share groups
    for (let i = 0; i < 8; i++) anchors.push(randPrefix(rand, 40 + Math.floor(rand() * 60)));
    for (let i = 0; i < size; i++) {
      const depth = rand() < 0.01 ? 0 : 1 + Math.floor(rand() * 128);
      const anchor = anchors[Math.floor(rand() * anchors.length)]!;
      const ip = rand() < 0.5 ? randPrefix(rand, depth, anchor, Math.min(depth, 96)) : randPrefix(rand, depth);
      const nh = Math.floor(rand() * FIB_NO_ROUTE);
      fib.add(ip, depth, nh);
      rib.add(ip, depth, nh);
      oracle.set(ip, depth, nh);
      linear.set(`${hex(ip)}/${depth}`, { ip, depth, nextHop: nh });
    }
    const routes = [...linear.values()].sort((a, b) => Buffer.compare(a.ip, b.ip) || a.depth - b.depth);
    const norm = (rs: Route6[]): string[] => rs.map((r) => `${hex(r.ip)}/${r.depth}=${r.nextHop}`);
    assert.deepEqual(norm(fib.routes()), norm(routes));
    assert.deepEqual(norm(rib.routes()), norm(routes));
    assert.equal(fib.size, routes.length);
    const probes: Uint8Array[] = [];
    for (const r of routes) probesOf(r, rand, probes);
    for (let i = 0; i < 40000; i++) {
      const r = routes[Math.floor(rand() * routes.length)]!;
      probes.push(rand() < 0.5 ? randPrefix(rand, 128, r.ip, r.depth) : randPrefix(rand, 128));
    }
    const u8 = new Uint8Array(16 * probes.length);
    probes.forEach((p, i) => u8.set(p, 16 * i));
    const offs = Uint32Array.from(probes, (_, i) => 16 * i);
    const nhs = new Uint32Array(probes.length);
    fib.lookupBulk(u8, offs, nhs, probes.length);
    for (let i = 0; i < probes.length; i++) {
      const off = 16 * i;
      const want = size <= 300 && i % 4 === 0 ? linearLpm(routes, u8, off) : oracle.lpm(u8, off);
      const single = fib.lookup(u8, off);
      if (nhs[i] !== want || single !== want || rib.lookup(u8, off) !== want) {
        assert.fail(`size ${size}: ${formatIp6(u8, off)}: bulk ${nhs[i]} single ${single} rib ${rib.lookup(u8, off)} oracle ${want}`);
      }
    }
    lookups += 3 * probes.length;
  }
  assert.ok(lookups > 400_000, `${lookups}`);
});

test("Fib6 interleaved adds, replaces and deletes with lookups, and no group or leaf leaks", () => {
  const rand = rng(5);
  const fib = Fib6.create({ maxTbl8Groups: 4096, maxLeaves: 4096 });
  const oracle = new DepthMaps();
  const live = new Map<string, Route6>();
  const base = parseIp6("2001:db8:aa00::");
  let checked = 0;
  for (let op = 0; op < 3000; op++) {
    const keys = [...live.keys()];
    if (rand() < 0.55 || keys.length === 0) {
      // Inside 2001:db8:aa00::/40 mostly, deep and shallow, so blocks fill, split and collapse.
      const depth = rand() < 0.05 ? Math.floor(rand() * 40) : 40 + Math.floor(rand() * 89);
      const ip = randPrefix(rand, depth, base, Math.min(depth, rand() < 0.8 ? 60 : 40));
      const nh = Math.floor(rand() * 1000);
      fib.add(ip, depth, nh);
      oracle.set(ip, depth, nh);
      live.set(`${hex(ip)}/${depth}`, { ip, depth, nextHop: nh });
    } else {
      const k = keys[Math.floor(rand() * keys.length)]!;
      const r = live.get(k)!;
      live.delete(k);
      assert.equal(fib.delete(r.ip, r.depth), true);
      assert.equal(oracle.del(r.ip, r.depth), true);
      assert.equal(fib.delete(r.ip, r.depth), false);
    }
    const probes: Uint8Array[] = [];
    const rs = [...live.values()];
    for (let j = 0; j < 4 && rs.length > 0; j++) probesOf(rs[Math.floor(rand() * rs.length)]!, rand, probes);
    for (let j = 0; j < 10; j++) probes.push(randPrefix(rand, 128, base, 40 + Math.floor(rand() * 30)));
    for (const p of probes) {
      const want = oracle.lpm(p, 0);
      if (fib.lookup(p, 0) !== want) assert.fail(`op ${op}: ${formatIp6(p)} = ${fib.lookup(p, 0)}, oracle ${want}`);
      checked++;
    }
  }
  assert.equal(fib.size, live.size);
  for (const r of [...live.values()]) assert.equal(fib.delete(r.ip, r.depth), true);
  assert.equal(fib.size, 0);
  const s = fib.stats();
  assert.deepEqual([s.tbl8Used, s.leavesUsed], [0, 0], "every group and leaf is back");
  assert.equal(fib.lookup(base, 0), FIB_NO_ROUTE);
  assert.ok(checked > 60_000, `${checked}`);
});

test("Fib6 bad input throws a RangeError naming it and changes nothing; out of groups or leaves", () => {
  const fib = Fib6.create({ maxTbl8Groups: 3, maxLeaves: 2 });
  fib.add(parseIp6("fd00::"), 16, 1);
  const bad: [() => void, RegExp][] = [
    [() => fib.add(parseIp6("fd00::"), 129, 1), /Fib6\.add fd00::\/129 -> 1: depth 129 is not an integer 0 to 128/],
    [() => fib.add(parseIp6("fd00::"), 16, FIB_NO_ROUTE), /next hop 2147483647 is not an integer 0 to 2147483646/],
    [() => fib.add(new Uint8Array(4), 16, 1), /Fib6\.add \(bad address\)\/16 -> 1: address is not a 16-byte Uint8Array \(4 bytes\)/],
    [() => fib.delete(parseIp6("fd00::"), -1), /Fib6\.delete fd00::\/-1: depth -1/],
  ];
  for (const [f, re] of bad) assert.throws(f, (e: unknown) => e instanceof RangeError && re.test(e.message), String(re));
  fib.add(parseIp6("fd00:100::"), 64, 2); // l0 block fd0001: leaf 1
  fib.add(parseIp6("fd00:200::"), 64, 3); // l0 block fd0002: leaf 2
  const before = fib.routes();
  // A third deep route in another l0 block needs a leaf: none left.
  assert.throws(() => fib.add(parseIp6("fd00:300::"), 64, 4), /Fib6\.add fd00:300::\/64 -> 4: needs 0 tbl8 groups and 1 leaves; free: 3 of 3 groups .* 0 of 2 leaves/);
  // Beside fd00:100::/64 a /65 needs groups at /24, /32, /40, /48, /56 and a leaf at /64.
  assert.throws(() => fib.add(parseIp6("fd00:100:0:0:8000::"), 65, 4), /needs 5 tbl8 groups and 1 leaves/);
  assert.deepEqual(fib.routes(), before);
  assert.equal(fib.lookup(parseIp6("fd00:100:0:0:8000::1"), 0), 2);
  assert.equal(fib.lookup(parseIp6("fd00:300::1"), 0), 1);
  assert.deepEqual([fib.stats().tbl8Used, fib.stats().leavesUsed], [0, 2]);
  fib.delete(parseIp6("fd00:200::"), 64);
  fib.add(parseIp6("fd00:300::"), 64, 4); // the freed leaf is reused (never shared, no Qsbr)
  assert.equal(fib.lookup(parseIp6("fd00:300::1"), 0), 4);
  assert.throws(() => Fib6.create({ maxLeaves: 0 }), /Fib6\.create: maxLeaves 0 is not an integer 1 to 134217728/);
});

test("Fib6 with a Qsbr: unpublished groups and leaves wait for quiescence; the read-only view", () => {
  const q = Qsbr.create(1);
  const fib = Fib6.create({ maxTbl8Groups: 8, maxLeaves: 3, qsbr: q });
  const view = Fib6.fromShared(structuredClone(fib.shared()));
  q.online(0);
  fib.add(parseIp6("fd00:1::"), 64, 1);
  fib.add(parseIp6("fd00:1::1"), 128, 2);
  assert.equal(view.lookup(parseIp6("fd00:1::1"), 0), 2);
  assert.equal(view.lookup(parseIp6("fd00:1::2"), 0), 1);
  let s = fib.stats(); // five groups (/24../56) and the /128's leaf; the /64's first leaf waits
  assert.deepEqual([s.tbl8Used, s.leavesUsed, s.tbl8Pending, s.leavesPending], [5, 1, 0, 1]);
  fib.delete(parseIp6("fd00:1::1"), 128); // the group chain goes, the /64 gets a new leaf
  s = fib.stats();
  assert.deepEqual([s.tbl8Used, s.leavesUsed, s.tbl8Pending, s.leavesPending], [0, 1, 5, 2]);
  assert.throws(() => fib.add(parseIp6("fd00:900::"), 64, 3), /needs 0 tbl8 groups and 1 leaves; free: 3 of 8 groups \(5 waiting.*0 of 3 leaves \(2 waiting/);
  q.quiescent(0);
  fib.add(parseIp6("fd00:900::"), 64, 3);
  s = fib.stats();
  assert.deepEqual([s.tbl8Used, s.leavesUsed, s.tbl8Pending, s.leavesPending], [0, 2, 0, 0]);
  assert.equal(view.lookup(parseIp6("fd00:900::1"), 0), 3);
  assert.equal(view.lookup(parseIp6("fd00:1::1"), 0), 1);
  assert.throws(() => view.add(parseIp6("fd00::"), 8, 1), /Fib6\.add: this FIB is a read-only view/);
});

test("Rib6 lookups: exact, parent, route, routes inside a prefix", () => {
  const rib = new Rib6();
  assert.equal(rib.add(parseIp6("fd00::"), 8, 1), undefined);
  rib.add(parseIp6("fd00:1::"), 32, 2);
  rib.add(parseIp6("fd00:1:2::"), 48, 3);
  rib.add(parseIp6("fe00::"), 8, 4);
  assert.equal(rib.add(parseIp6("fd00:1::"), 32, 5), 2);
  assert.equal(rib.size, 4);
  assert.equal(rib.lookupExact(parseIp6("fd00:1::"), 32), 5);
  assert.equal(rib.lookupExact(parseIp6("fd00:1::"), 33), undefined);
  const p = rib.lookupParent(parseIp6("fd00:1:2::"), 48)!;
  assert.deepEqual([formatIp6(p.ip), p.depth, p.nextHop], ["fd00:1::", 32, 5]);
  assert.equal(rib.lookupParent(parseIp6("fd00::"), 8), null);
  const r = rib.lookupRoute(parseIp6("fd00:1:2::9"))!;
  assert.deepEqual([formatIp6(r.ip), r.depth], ["fd00:1:2::", 48]);
  assert.deepEqual(rib.routes(parseIp6("fd00::"), 16).map((x) => `${formatIp6(x.ip)}/${x.depth}`), ["fd00:1::/32", "fd00:1:2::/48"]);
  assert.deepEqual(rib.routes().map((x) => `${formatIp6(x.ip)}/${x.depth}`), ["fd00::/8", "fd00:1::/32", "fd00:1:2::/48", "fe00::/8"]);
  assert.equal(rib.delete(parseIp6("fd00:1::"), 32), true);
  assert.equal(rib.lookup(parseIp6("fd00:1::9")), 1);
  assert.throws(() => rib.add(parseIp6("fd00::"), 200, 1), /Rib6\.add fd00::\/200: depth 200 is not an integer 0 to 128/);
  rib.clear();
  assert.equal(rib.size, 0);
});
