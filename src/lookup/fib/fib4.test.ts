import { test } from "node:test";
import assert from "node:assert/strict";
import { Qsbr } from "../qsbr.js";
import { parseIp4 } from "../addr.js";
import { FIB_NO_ROUTE, Fib4, type Route4 } from "./fib4.js";

/** Seeded xorshift32: the same tables every run. */
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

/** The oracle: a linear scan for the longest matching route. */
function linearLpm(routes: Route4[], ip: number): number {
  let best = -1;
  let nh = FIB_NO_ROUTE;
  for (const r of routes) {
    if (r.depth > best && ((ip & mask(r.depth)) >>> 0) === r.ip) {
      best = r.depth;
      nh = r.nextHop;
    }
  }
  return nh;
}

/** A faster naive oracle for big tables: one Map per depth, probed from /32 down (checked against linearLpm). */
class DepthMaps {
  readonly maps: Map<number, number>[] = Array.from({ length: 33 }, () => new Map());
  set(ip: number, d: number, nh: number): void {
    this.maps[d]!.set(ip, nh);
  }
  del(ip: number, d: number): boolean {
    return this.maps[d]!.delete(ip);
  }
  lpm(ip: number): number {
    for (let d = 32; d >= 0; d--) {
      const v = this.maps[d]!.get((ip & mask(d)) >>> 0);
      if (v !== undefined) return v;
    }
    return FIB_NO_ROUTE;
  }
  routes(): Route4[] {
    const out: Route4[] = [];
    this.maps.forEach((m, depth) => m.forEach((nextHop, ip) => out.push({ ip, depth, nextHop })));
    return out.sort((a, b) => a.ip - b.ip || a.depth - b.depth);
  }
}

/** Addresses worth probing for a route: its edges, just outside them, and random ones inside. */
function probesOf(r: Route4, rand: () => number, out: number[]): void {
  const size = 2 ** (32 - r.depth);
  out.push(r.ip, r.ip + size - 1, (r.ip + Math.floor(rand() * size)) >>> 0);
  if (r.ip > 0) out.push(r.ip - 1);
  if (r.ip + size <= 0xffffffff) out.push(r.ip + size);
}

test("Fib4 basics: longest match, /0, /32, replace, delete falls back to the covering route", () => {
  const fib = Fib4.create({ maxTbl8Groups: 16 });
  assert.equal(fib.lookup(0), FIB_NO_ROUTE);
  fib.add(parseIp4("10.0.0.0"), 8, 1);
  fib.add(parseIp4("10.1.0.0"), 16, 2);
  fib.add(parseIp4("10.1.2.128"), 25, 3);
  fib.add(parseIp4("10.1.2.200"), 32, 4);
  assert.equal(fib.lookup(parseIp4("10.9.9.9")), 1);
  assert.equal(fib.lookup(parseIp4("10.1.9.9")), 2);
  assert.equal(fib.lookup(parseIp4("10.1.2.127")), 2);
  assert.equal(fib.lookup(parseIp4("10.1.2.128")), 3);
  assert.equal(fib.lookup(parseIp4("10.1.2.200")), 4);
  assert.equal(fib.lookup(parseIp4("10.1.2.201")), 3);
  assert.equal(fib.lookup(parseIp4("11.0.0.0")), FIB_NO_ROUTE);
  assert.equal(fib.stats().tbl8Used, 1);
  fib.add(0x0a0102ff, 25, 5); // host bits ignored: replaces 10.1.2.128/25
  assert.equal(fib.size, 4);
  assert.equal(fib.lookup(parseIp4("10.1.2.201")), 5);
  fib.add(0, 0, 9);
  assert.equal(fib.lookup(parseIp4("11.0.0.0")), 9);
  assert.equal(fib.lookup(0xffffffff), 9);
  assert.equal(fib.delete(parseIp4("10.1.2.128"), 25), true);
  assert.equal(fib.lookup(parseIp4("10.1.2.201")), 2);
  assert.equal(fib.lookup(parseIp4("10.1.2.200")), 4);
  assert.equal(fib.stats().tbl8Used, 1); // the /32 still needs the group
  assert.equal(fib.delete(parseIp4("10.1.2.200"), 32), true);
  assert.equal(fib.stats().tbl8Used, 0);
  assert.equal(fib.lookup(parseIp4("10.1.2.200")), 2);
  assert.equal(fib.delete(parseIp4("10.1.2.200"), 32), false);
  assert.equal(fib.delete(parseIp4("10.1.0.0"), 16), true);
  assert.equal(fib.lookup(parseIp4("10.1.2.200")), 1);
  assert.equal(fib.delete(0, 0), true);
  assert.equal(fib.lookup(parseIp4("11.0.0.0")), FIB_NO_ROUTE);
  assert.deepEqual(fib.routes(), [{ ip: 0x0a000000, depth: 8, nextHop: 1 }]);
  fib.add(0xffffffff, 32, FIB_NO_ROUTE - 1);
  assert.equal(fib.lookup(0xffffffff), FIB_NO_ROUTE - 1);
  assert.equal(fib.lookup(0xfffffffe), FIB_NO_ROUTE);
});

test("Fib4 against the oracle: random tables of several sizes, depths 0..32, bulk == single", () => {
  const rand = rng(7);
  let lookups = 0;
  for (const size of [1, 10, 100, 1000, 20000]) {
    const fib = Fib4.create({ maxTbl8Groups: 8192 });
    const oracle = new DepthMaps();
    const linear: Route4[] = [];
    for (let i = 0; i < size; i++) {
      const depth = rand() < 0.01 ? 0 : 1 + Math.floor(rand() * 32);
      const ip = (Math.floor(rand() * 4294967296) & mask(depth)) >>> 0;
      const nh = Math.floor(rand() * FIB_NO_ROUTE);
      fib.add(ip, depth, nh);
      oracle.set(ip, depth, nh);
    }
    const routes = oracle.routes();
    linear.push(...routes);
    assert.deepEqual(fib.routes(), routes);
    assert.equal(fib.size, routes.length);
    const deepBlocks = new Set(routes.filter((r) => r.depth > 24).map((r) => r.ip >>> 8));
    assert.equal(fib.stats().tbl8Used, deepBlocks.size, "one group per /24 block holding a route deeper than /24");
    const probes: number[] = [];
    for (const r of routes) probesOf(r, rand, probes);
    for (let i = 0; i < 200000; i++) probes.push(Math.floor(rand() * 4294967296));
    const ips = Uint32Array.from(probes);
    const nhs = new Uint32Array(ips.length);
    fib.lookupBulk(ips, nhs, ips.length);
    for (let i = 0; i < ips.length; i++) {
      const ip = ips[i]!;
      const want = size <= 1000 && i % 8 === 0 ? linearLpm(linear, ip) : oracle.lpm(ip);
      if (nhs[i] !== want || fib.lookup(ip) !== want) assert.fail(`size ${size}: lookup ${ip.toString(16)}: bulk ${nhs[i]}, single ${fib.lookup(ip)}, oracle ${want}`);
    }
    lookups += 2 * ips.length;
  }
  assert.ok(lookups > 1_000_000, `${lookups} lookups`);
});

test("Fib4 interleaved adds, replaces and deletes with lookups (nested prefixes in a small space)", () => {
  const rand = rng(99);
  const fib = Fib4.create({ maxTbl8Groups: 4096 });
  const oracle = new DepthMaps();
  const live: Route4[] = [];
  let checked = 0;
  for (let op = 0; op < 6000; op++) {
    const r = rand();
    if (r < 0.55 || live.length === 0) {
      // Routes inside 10.0.0.0/14 so they nest and share blocks; some shorter ones cover everything.
      const depth = rand() < 0.05 ? Math.floor(rand() * 14) : 14 + Math.floor(rand() * 19);
      const ip = ((0x0a000000 | Math.floor(rand() * 0x40000)) & mask(depth)) >>> 0;
      const nh = Math.floor(rand() * 1000);
      fib.add(ip, depth, nh);
      if (!oracle.maps[depth]!.has(ip)) live.push({ ip, depth, nextHop: nh });
      oracle.set(ip, depth, nh);
    } else {
      const i = Math.floor(rand() * live.length);
      const victim = live[i]!;
      live[i] = live[live.length - 1]!;
      live.pop();
      assert.equal(fib.delete(victim.ip, victim.depth), true);
      oracle.del(victim.ip, victim.depth);
      assert.equal(fib.delete(victim.ip, victim.depth), false);
    }
    // After every operation: probes around a few live routes and random addresses in the space.
    const probes: number[] = [];
    for (let j = 0; j < 4 && live.length > 0; j++) probesOf(live[Math.floor(rand() * live.length)]!, rand, probes);
    for (let j = 0; j < 40; j++) probes.push(0x0a000000 + Math.floor(rand() * 0x40000));
    for (const ip of probes) {
      const want = oracle.lpm(ip);
      if (fib.lookup(ip) !== want) assert.fail(`op ${op}: lookup ${ip.toString(16)} = ${fib.lookup(ip)}, oracle ${want}`);
      checked++;
    }
  }
  const routes = oracle.routes();
  assert.deepEqual(fib.routes(), routes);
  const deepBlocks = new Set(routes.filter((r) => r.depth > 24).map((r) => r.ip >>> 8));
  assert.equal(fib.stats().tbl8Used, deepBlocks.size);
  for (let ip = 0x0a000000; ip < 0x0a040000; ip++) {
    if (fib.lookup(ip) !== oracle.lpm(ip)) assert.fail(`final sweep ${ip.toString(16)}`);
  }
  // Deleting everything leaves an empty table and no groups.
  for (const r of routes) assert.equal(fib.delete(r.ip, r.depth), true);
  assert.equal(fib.size, 0);
  assert.equal(fib.stats().tbl8Used, 0);
  for (let ip = 0x09ff0000; ip < 0x0a050000; ip += 7) assert.equal(fib.lookup(ip), FIB_NO_ROUTE);
  assert.ok(checked > 250_000, `${checked}`);
});

test("Fib4 bad input throws a RangeError naming it and changes nothing", () => {
  const fib = Fib4.create({ maxTbl8Groups: 2 });
  fib.add(parseIp4("10.0.0.0"), 8, 1);
  const bad: [() => void, RegExp][] = [
    [() => fib.add(parseIp4("10.0.0.0"), 33, 1), /Fib4\.add 10\.0\.0\.0\/33 -> 1: depth 33 is not an integer 0 to 32/],
    [() => fib.add(parseIp4("10.0.0.0"), -1, 1), /depth -1 is not/],
    [() => fib.add(parseIp4("10.0.0.0"), 8.5, 1), /depth 8\.5 is not/],
    [() => fib.add(parseIp4("10.0.0.0"), 8, FIB_NO_ROUTE), /next hop 2147483647 is not an integer 0 to 2147483646/],
    [() => fib.add(parseIp4("10.0.0.0"), 8, -1), /next hop -1/],
    [() => fib.add(-1, 8, 1), /address -1 is not a u32/],
    [() => fib.add(2 ** 32, 8, 1), /address 4294967296 is not a u32/],
    [() => fib.delete(1.5, 8), /Fib4\.delete 1\.5\/8: address 1\.5/],
    [() => fib.delete(0, 40), /depth 40/],
  ];
  for (const [f, re] of bad) assert.throws(f, (e: unknown) => e instanceof RangeError && re.test(e.message), String(re));
  assert.deepEqual(fib.routes(), [{ ip: 0x0a000000, depth: 8, nextHop: 1 }]);
  // Out of tbl8 groups: two blocks take both groups; a third block fails and leaves everything as it was.
  fib.add(parseIp4("10.0.1.0"), 25, 2);
  fib.add(parseIp4("10.0.2.0"), 26, 3);
  fib.add(parseIp4("10.0.2.64"), 26, 4); // same block: no new group
  const before = fib.routes();
  assert.throws(() => fib.add(parseIp4("10.0.3.0"), 30, 5), /Fib4\.add 10\.0\.3\.0\/30 -> 5: out of tbl8 groups \(2 in the table, 0 waiting/);
  assert.deepEqual(fib.routes(), before);
  assert.equal(fib.lookup(parseIp4("10.0.3.1")), 1);
  assert.deepEqual(fib.stats(), { routes: 4, maxTbl8Groups: 2, tbl8Used: 2, tbl8Pending: 0, tbl8Retired: 0 });
  // Replacing a route in a block that has a group needs none.
  fib.add(parseIp4("10.0.1.0"), 25, 6);
  assert.equal(fib.lookup(parseIp4("10.0.1.5")), 6);
  // Freeing a block's group makes room (not shared, no Qsbr: reused at once).
  fib.delete(parseIp4("10.0.1.0"), 25);
  fib.add(parseIp4("10.0.3.0"), 30, 5);
  assert.equal(fib.lookup(parseIp4("10.0.3.1")), 5);
  assert.throws(() => Fib4.create({ maxTbl8Groups: 0 }), /Fib4\.create: maxTbl8Groups 0 is not an integer 1 to 4194304/);
});

test("Fib4.fromShared is a read-only view of the same tables", () => {
  const fib = Fib4.create({ maxTbl8Groups: 4 });
  fib.add(parseIp4("10.0.0.0"), 8, 1);
  const view = Fib4.fromShared(structuredClone(fib.shared()));
  fib.add(parseIp4("10.0.0.128"), 25, 2);
  assert.equal(view.lookup(parseIp4("10.0.0.200")), 2);
  assert.equal(view.lookup(parseIp4("10.0.1.200")), 1);
  assert.throws(() => view.add(0, 0, 1), /Fib4\.add: this FIB is a read-only view/);
  assert.throws(() => view.delete(0, 0), /read-only view/);
  assert.throws(() => view.routes(), /read-only view/);
  // Shared without a Qsbr: an unpublished group is never handed out again.
  fib.delete(parseIp4("10.0.0.128"), 25);
  assert.deepEqual(fib.stats(), { routes: 1, maxTbl8Groups: 4, tbl8Used: 0, tbl8Pending: 0, tbl8Retired: 1 });
});

test("Fib4.lookupBulk: every count 0..40 and the entries past n untouched (eight at a time plus a tail)", () => {
  const rand = rng(5);
  const fib = Fib4.create({ maxTbl8Groups: 512 });
  for (let i = 0; i < 3000; i++) {
    const depth = 16 + Math.floor(rand() * 17);
    fib.add((0x0a000000 | (rand() & 0xffffff)) & mask(depth), depth, i);
  }
  const ips = new Uint32Array(48);
  const nhs = new Uint32Array(48);
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < ips.length; i++) ips[i] = rand() & 3 ? (0x0a000000 | (rand() & 0xffffff)) >>> 0 : rand();
    const n = round % 41;
    nhs.fill(0xdead);
    fib.lookupBulk(ips, nhs, n);
    for (let i = 0; i < ips.length; i++) {
      const want = i < n ? fib.lookup(ips[i]!) : 0xdead;
      if (nhs[i] !== want) assert.fail(`n ${n}: nextHops[${i}] ${nhs[i]}, expected ${want}`);
    }
  }
});

test("Fib4 takes its tables from opts.alloc and refuses a buffer that is too short or not shared", () => {
  const asked: number[] = [];
  const fib = Fib4.create({ maxTbl8Groups: 8, alloc: (bytes) => (asked.push(bytes), new SharedArrayBuffer(bytes + 4096)) });
  assert.deepEqual(asked, [4 << 24, 4 * 256 * 8]);
  fib.add(parseIp4("10.0.0.0"), 8, 1);
  fib.add(parseIp4("10.0.0.128"), 25, 2);
  const view = Fib4.fromShared(fib.shared());
  assert.equal(view.lookup(parseIp4("10.0.0.129")), 2);
  assert.equal(view.lookup(parseIp4("10.0.0.1")), 1);
  assert.equal(fib.shared().tbl24.byteLength, (4 << 24) + 4096);
  assert.throws(() => Fib4.create({ alloc: (bytes) => new SharedArrayBuffer(bytes - 4) }),
    /Fib4\.create: opts\.alloc\(67108864\) for tbl24 gave 67108860 bytes; it must return a zero-filled SharedArrayBuffer of at least 67108864 bytes/);
  assert.throws(() => Fib4.create({ maxTbl8Groups: 1, alloc: (bytes) => (bytes === 1024 ? (new ArrayBuffer(bytes) as unknown as SharedArrayBuffer) : new SharedArrayBuffer(bytes)) }),
    /opts\.alloc\(1024\) for tbl8 gave no SharedArrayBuffer/);
});

test("Fib4 with a Qsbr reuses an unpublished group only after every online reader was quiescent", () => {
  const q = Qsbr.create(2);
  const fib = Fib4.create({ maxTbl8Groups: 2, qsbr: q });
  fib.shared();
  q.online(0); // reader 0 is busy; reader 1 stays offline
  fib.add(parseIp4("10.0.1.0"), 25, 1);
  fib.add(parseIp4("10.0.2.0"), 25, 2);
  fib.delete(parseIp4("10.0.1.0"), 25);
  assert.deepEqual(fib.stats(), { routes: 1, maxTbl8Groups: 2, tbl8Used: 1, tbl8Pending: 1, tbl8Retired: 0 });
  assert.throws(() => fib.add(parseIp4("10.0.3.0"), 25, 3), /out of tbl8 groups \(2 in the table, 1 waiting for a grace period/);
  assert.equal(fib.reclaim(), 0);
  q.quiescent(0);
  fib.add(parseIp4("10.0.3.0"), 25, 3); // reclaims the group on demand
  assert.deepEqual(fib.stats(), { routes: 2, maxTbl8Groups: 2, tbl8Used: 2, tbl8Pending: 0, tbl8Retired: 0 });
  assert.equal(fib.lookup(parseIp4("10.0.3.1")), 3);
  assert.equal(fib.lookup(parseIp4("10.0.1.1")), FIB_NO_ROUTE);
  q.offline(0);
  fib.delete(parseIp4("10.0.3.0"), 25);
  assert.equal(fib.stats().tbl8Pending, 1);
  assert.equal(fib.reclaim(), 1); // no reader online: the grace period is over at once
});
