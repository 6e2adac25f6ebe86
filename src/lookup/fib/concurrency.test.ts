/**
 * A worker thread looks up in a loop while the main thread adds, replaces and deletes routes (with small
 * group/leaf pools, so unpublished parts are reused all the time, behind a Qsbr). Every next hop is a
 * fresh route id whose prefix is recorded before the route is added, and the op number at which an id
 * stopped being a route is recorded before it is removed, so the worker checks every result:
 * - it is the id of a route that covers the address (not a torn word, not a half-filled group, not a
 *   group or leaf reused for another block while the worker could still read it),
 * - at least as deep as the deepest permanent route covering the address (never a shorter one),
 * - alive at some point during the burst: not removed by an operation that completed before the burst began.
 * Once per burst the worker also runs the lookup by hand with a 200 us pause after every pointer it loads (a
 * preempted reader), which is what early reuse of a group or leaf would break.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Qsbr } from "../qsbr.js";
import { parseIp4, parseIp6 } from "../addr.js";
import { FIB_NO_ROUTE, Fib4, Fib6 } from "./index.js";

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const MAX_IDS = 1 << 20;
const BURST = 64;

/** ctl words: 0 stop, 1 bursts done, 2 errors, 3 ops completed. */
const WORKER = `
const { workerData: d, parentPort } = require("node:worker_threads");
(async () => {
  const { Fib4, Fib6, FIB_NO_ROUTE } = await import(d.fibUrl);
  const { Qsbr } = await import(d.qsbrUrl);
  const q = Qsbr.fromShared(d.qsbr);
  const ctl = new Int32Array(d.ctl);
  const rt = new Int32Array(d.routes); // per id: 4 prefix words, depth (-1 until set)
  const gone = new Int32Array(d.gone); // per id: op number that removed it, 0 while alive
  const minDepth = new Int32Array(d.minDepth);
  const v6 = d.family === 6;
  const fib = v6 ? Fib6.fromShared(d.fib) : Fib4.fromShared(d.fib);
  const P = minDepth.length;
  const ips4 = v6 ? null : new Uint32Array(d.probes);
  const u8 = v6 ? new Uint8Array(d.probes) : null;
  const offs = [];
  for (let b = 0; b < P; b += ${BURST}) offs.push(v6 ? Uint32Array.from({ length: ${BURST} }, (_, i) => 16 * (b + i)) : ips4.subarray(b, b + ${BURST}));
  const nhs = new Uint32Array(${BURST});
  const word = (i, w) => v6 ? ((u8[16 * i + 4 * w] << 24) | (u8[16 * i + 4 * w + 1] << 16) | (u8[16 * i + 4 * w + 2] << 8) | u8[16 * i + 4 * w + 3]) : (w === 0 ? ips4[i] | 0 : 0);
  let errors = 0, first = "", bursts = 0;
  const fail = (i, nh, why) => { if (errors++ === 0) { first = "probe " + i + " got " + nh + ": " + why; Atomics.store(ctl, 2, 1); } };
  function check(i, nh, s0) {
    if (nh < 0 || nh === FIB_NO_ROUTE || nh >= ${MAX_IDS}) return fail(i, nh, "not a route id");
    let depth = Atomics.load(rt, 5 * nh + 4);
    for (let spin = 0; depth < 0 && spin < 1e6; spin++) depth = Atomics.load(rt, 5 * nh + 4);
    if (depth < 0) return fail(i, nh, "an id never added");
    for (let w = 0, left = depth; left > 0; w++, left -= 32) {
      const m = left >= 32 ? -1 : ~(-1 >>> left);
      if (((word(i, w) ^ Atomics.load(rt, 5 * nh + w)) & m) !== 0) return fail(i, nh, "route /" + depth + " does not cover the address");
    }
    if (depth < minDepth[i]) fail(i, nh, "/" + depth + " is shorter than a permanent /" + minDepth[i]);
    const g = Atomics.load(gone, nh);
    if (g !== 0 && g <= s0) fail(i, nh, "removed by op " + g + ", before the lookup began after op " + s0);
  }
  let pausing = false;
  const pause = () => { if (!pausing) return; const t = performance.now(); while (performance.now() - t < 0.2); };
  // The lookup of src/lookup/fib (entry encoding in entry.ts), with a pause after every pointer load.
  const sh = d.fib, NO = 0x7fffffff;
  const t24 = new Int32Array(v6 ? sh.l0 : sh.tbl24), t8 = new Int32Array(sh.tbl8);
  const lf = v6 ? new Int32Array(sh.leaves) : null;
  function slowLookup(i) {
    if (!v6) {
      const ip = ips4[i];
      let e = t24[ip >>> 8];
      pause();
      if (e < 0) e = t8[(e & 0x7fffffff) | (ip & 0xff)];
      return e ^ NO;
    }
    const off = 16 * i;
    let e = t24[(u8[off] << 16) | (u8[off + 1] << 8) | u8[off + 2]], p = 3;
    pause();
    while (e < 0) {
      if ((e & 0x40000000) === 0) { e = t8[(e & 0x3fffff00) | u8[off + p++]]; pause(); continue; }
      const L = e & 0x3fffffff, depth = lf[L + 4];
      let ok = true;
      for (let w = 0, left = depth; left > 0 && ok; w++, left -= 32) ok = ((word(i, w) ^ lf[L + w]) & (left >= 32 ? -1 : ~(-1 >>> left))) === 0;
      e = ok ? lf[L + 5] : lf[L + 6];
    }
    return e ^ NO;
  }
  // The hand-written lookup agrees with the library's on the table as it is before the updates start.
  for (let i = 0; i < P; i++) {
    const want = v6 ? fib.lookup(u8, 16 * i) : fib.lookup(ips4[i]);
    if (slowLookup(i) !== want) fail(i, slowLookup(i), "the hand-written lookup differs from the library's " + want);
  }
  pausing = true;
  q.online(0);
  while (Atomics.load(ctl, 0) === 0 && errors === 0) {
    for (let b = 0, k = 0; b < P; b += ${BURST}, k++) {
      const s0 = Atomics.load(ctl, 3);
      if (v6) fib.lookupBulk(u8, offs[k], nhs, ${BURST}); else fib.lookupBulk(offs[k], nhs, ${BURST});
      for (let j = 0; j < ${BURST}; j++) check(b + j, nhs[j], s0);
      // A reader preempted in the middle of a lookup: it holds a pointer for ~200 us before following it.
      {
        const i = (bursts * 7919) % P, s1 = Atomics.load(ctl, 3);
        const nh = slowLookup(i);
        check(i, nh, s1);
      }
      q.quiescent(0);
      Atomics.store(ctl, 1, ++bursts);
    }
  }
  q.offline(0);
  parentPort.postMessage({ errors, first, bursts });
})();
`;

interface Shared {
  ctl: Int32Array;
  rt: Int32Array;
  gone: Int32Array;
}

function sharedState(): Shared {
  const rt = new Int32Array(new SharedArrayBuffer(4 * 5 * MAX_IDS));
  for (let i = 0; i < MAX_IDS; i++) rt[5 * i + 4] = -1;
  return { ctl: new Int32Array(new SharedArrayBuffer(16)), rt, gone: new Int32Array(new SharedArrayBuffer(4 * MAX_IDS)) };
}

function startWorker(s: Shared, family: 4 | 6, fib: unknown, qsbr: Qsbr, probes: SharedArrayBuffer, minDepth: Int32Array): Promise<{ errors: number; first: string; bursts: number }> {
  const w = new Worker(WORKER, {
    eval: true,
    workerData: {
      fibUrl: new URL("./index.js", import.meta.url).href,
      qsbrUrl: new URL("../qsbr.js", import.meta.url).href,
      qsbr: qsbr.shared(),
      ctl: s.ctl.buffer,
      routes: s.rt.buffer,
      gone: s.gone.buffer,
      minDepth: minDepth.buffer,
      family,
      fib,
      probes,
    },
  });
  return new Promise((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  });
}

/**
 * Runs `op` (numbered from 1) until at least `minOps` operations ran and the worker did `minBursts` bursts,
 * letting the worker finish a burst every 8 operations so updates and lookups interleave on a busy machine.
 */
async function churn(s: Shared, done: Promise<{ errors: number; first: string; bursts: number }>, op: (k: number) => void, minOps: number, minBursts: number): Promise<{ errors: number; first: string; bursts: number; ops: number }> {
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  while (Atomics.load(s.ctl, 1) === 0) await tick(); // the worker is looking up
  let k = 1;
  for (; ; k++) {
    op(k);
    Atomics.store(s.ctl, 3, k);
    if (k % 8 === 0) {
      const b = Atomics.load(s.ctl, 1);
      while (Atomics.load(s.ctl, 1) === b && Atomics.load(s.ctl, 2) === 0) await tick();
    }
    if (Atomics.load(s.ctl, 2) !== 0 || (k >= minOps && Atomics.load(s.ctl, 1) >= minBursts)) break;
  }
  Atomics.store(s.ctl, 0, 1);
  return { ...(await done), ops: k };
}

test("Fib4: lookups in a worker while the main thread adds and deletes see only old or new next hops", async () => {
  const rand = rng(42);
  const s = sharedState();
  const q = Qsbr.create(1);
  const fib = Fib4.create({ maxTbl8Groups: 24, qsbr: q });
  let nextId = 0;
  const setId = (ip: number, depth: number): number => {
    const id = nextId++;
    Atomics.store(s.rt, 5 * id, ip | 0);
    Atomics.store(s.rt, 5 * id + 4, depth);
    return id;
  };
  const permanent: [string, number][] = [["0.0.0.0", 0], ["10.0.0.0", 8], ["10.0.0.0", 16], ["10.0.4.0", 24], ["10.0.5.128", 25], ["10.0.6.7", 32]];
  const perm = permanent.map(([a, d]) => ({ ip: parseIp4(a), depth: d }));
  for (const r of perm) fib.add(r.ip, r.depth, setId(r.ip, r.depth));
  // Probes in 10.0.0.0/21 (48 blocks of churn below), plus a few outside.
  const P = 2048;
  const probes = new Uint32Array(new SharedArrayBuffer(4 * P));
  const minDepth = new Int32Array(new SharedArrayBuffer(4 * P));
  const mask = (d: number): number => (d === 0 ? 0 : (0xffffffff << (32 - d)) >>> 0);
  for (let i = 0; i < P; i++) {
    const ip = i < 16 ? (0x0b000000 + i * 977) >>> 0 : (0x0a000000 + Math.floor(rand() * 48 * 256)) >>> 0;
    probes[i] = ip;
    minDepth[i] = Math.max(...perm.filter((r) => ((ip & mask(r.depth)) >>> 0) === r.ip).map((r) => r.depth));
  }
  const done = startWorker(s, 4, fib.shared(), q, probes.buffer as SharedArrayBuffer, minDepth);
  const live = new Map<string, { ip: number; depth: number; id: number }>();
  let refused = 0;
  const res = await churn(s, done, (k) => {
    const keys = [...live.keys()];
    if (rand() < 0.55 || keys.length === 0) {
      const depth = rand() < 0.1 ? 9 + Math.floor(rand() * 15) : 24 + Math.floor(rand() * 9);
      const ip = ((0x0a000000 + Math.floor(rand() * 48 * 256)) & mask(depth)) >>> 0;
      const key = `${ip}/${depth}`;
      if (perm.some((r) => r.ip === ip && r.depth === depth)) return;
      const old = live.get(key);
      const id = setId(ip, depth);
      if (old) Atomics.store(s.gone, old.id, k);
      try {
        fib.add(ip, depth, id);
        live.set(key, { ip, depth, id });
      } catch (e) {
        assert.match((e as Error).message, /out of tbl8 groups \(24 in the table, \d+ waiting for a grace period/);
        if (old) Atomics.store(s.gone, old.id, 0);
        refused++;
      }
    } else {
      const key = keys[Math.floor(rand() * keys.length)]!;
      const r = live.get(key)!;
      Atomics.store(s.gone, r.id, k);
      assert.equal(fib.delete(r.ip, r.depth), true);
      live.delete(key);
    }
  }, 4000, 500);
  assert.equal(res.errors, 0, res.first);
  assert.ok(res.bursts >= 500 && res.ops >= 4000, `${res.bursts} bursts, ${res.ops} ops`);
  // The worker is offline now: every unpublished group is reusable; the table is canonical.
  fib.reclaim();
  const st = fib.stats();
  assert.equal(st.tbl8Pending, 0);
  const deepBlocks = new Set(fib.routes().filter((r) => r.depth > 24).map((r) => r.ip >>> 8));
  assert.equal(st.tbl8Used, deepBlocks.size);
  for (let i = 0; i < P; i++) {
    const ip = probes[i]!;
    let best = -1;
    let want: number = FIB_NO_ROUTE;
    for (const r of fib.routes()) if (r.depth > best && ((ip & mask(r.depth)) >>> 0) === r.ip) [best, want] = [r.depth, r.nextHop];
    assert.equal(fib.lookup(ip), want);
  }
  console.log(`# Fib4: ${res.bursts * BURST} concurrent lookups checked, ${res.ops} updates, ${refused} adds refused while groups waited for quiescence`);
});

test("Fib6: lookups in a worker while the main thread adds and deletes see only old or new next hops", async () => {
  const rand = rng(43);
  const s = sharedState();
  const q = Qsbr.create(1);
  const fib = Fib6.create({ maxTbl8Groups: 48, maxLeaves: 64, qsbr: q });
  let nextId = 0;
  const setId = (ip: Uint8Array, depth: number): number => {
    const id = nextId++;
    const dv = new DataView(ip.buffer, ip.byteOffset, 16);
    for (let w = 0; w < 4; w++) Atomics.store(s.rt, 5 * id + w, dv.getInt32(4 * w));
    Atomics.store(s.rt, 5 * id + 4, depth);
    return id;
  };
  const inside = (u8: Uint8Array, off: number, p: Uint8Array, depth: number): boolean => {
    for (let i = 0; i < depth; i++) if ((((u8[off + (i >> 3)]! ^ p[i >> 3]!) >> (7 - (i & 7))) & 1) !== 0) return false;
    return true;
  };
  const randIn = (base: Uint8Array, baseDepth: number, depth: number): Uint8Array => {
    const b = new Uint8Array(16);
    for (let i = 0; i < 16; i++) b[i] = Math.floor(rand() * 256);
    for (let i = 0; i < baseDepth; i++) {
      const m = 0x80 >> (i & 7);
      b[i >> 3] = (b[i >> 3]! & ~m) | (base[i >> 3]! & m);
    }
    for (let i = depth; i < 128; i++) b[i >> 3]! &= ~(0x80 >> (i & 7));
    return b;
  };
  const perm = [["::", 0], ["fd00::", 16], ["fd00:1::", 32], ["fd00:1:2::", 48], ["fd00:1:2:3::", 64], ["fd00:1:2:3::9", 128]].map(([a, d]) => ({ ip: parseIp6(a as string), depth: d as number }));
  for (const r of perm) fib.add(r.ip, r.depth, setId(r.ip, r.depth));
  // Churn inside fd00:1:2::/48 around a few anchors (so routes share groups), probes there too.
  const anchors = Array.from({ length: 6 }, () => randIn(perm[3]!.ip, 48, 96));
  anchors.push(perm[4]!.ip);
  const P = 2048;
  const probesBuf = new SharedArrayBuffer(16 * P);
  const u8 = new Uint8Array(probesBuf);
  const minDepth = new Int32Array(new SharedArrayBuffer(4 * P));
  for (let i = 0; i < P; i++) {
    const a = anchors[Math.floor(rand() * anchors.length)]!;
    u8.set(i < 16 ? randIn(new Uint8Array(16), 0, 128) : randIn(a, 48 + Math.floor(rand() * 49), 128), 16 * i);
    minDepth[i] = Math.max(...perm.filter((r) => inside(u8, 16 * i, r.ip, r.depth)).map((r) => r.depth));
  }
  const done = startWorker(s, 6, fib.shared(), q, probesBuf, minDepth);
  const live = new Map<string, { ip: Uint8Array; depth: number; id: number }>();
  let refused = 0;
  const res = await churn(s, done, (k) => {
    const keys = [...live.keys()];
    if (rand() < 0.55 || keys.length === 0) {
      const depth = rand() < 0.1 ? 17 + Math.floor(rand() * 31) : 49 + Math.floor(rand() * 80);
      const ip = randIn(anchors[Math.floor(rand() * anchors.length)]!, Math.min(depth, 48 + Math.floor(rand() * 49)), depth);
      const key = `${Buffer.from(ip).toString("hex")}/${depth}`;
      if (perm.some((r) => r.depth === depth && Buffer.compare(r.ip, ip) === 0)) return;
      const old = live.get(key);
      const id = setId(ip, depth);
      if (old) Atomics.store(s.gone, old.id, k);
      try {
        fib.add(ip, depth, id);
        live.set(key, { ip, depth, id });
      } catch (e) {
        assert.match((e as Error).message, /needs \d+ tbl8 groups and \d+ leaves; free/);
        if (old) Atomics.store(s.gone, old.id, 0);
        refused++;
      }
    } else {
      const key = keys[Math.floor(rand() * keys.length)]!;
      const r = live.get(key)!;
      Atomics.store(s.gone, r.id, k);
      try {
        assert.equal(fib.delete(r.ip, r.depth), true);
        live.delete(key);
      } catch (e) {
        assert.match((e as Error).message, /needs a leaf and none of 64 is free/);
        Atomics.store(s.gone, r.id, 0);
        refused++;
      }
    }
  }, 4000, 500);
  assert.equal(res.errors, 0, res.first);
  assert.ok(res.bursts >= 500 && res.ops >= 4000, `${res.bursts} bursts, ${res.ops} ops`);
  fib.reclaim();
  const st = fib.stats();
  assert.deepEqual([st.tbl8Pending, st.leavesPending], [0, 0]);
  const routes = fib.routes();
  for (let i = 0; i < P; i++) {
    let best = -1;
    let want: number = FIB_NO_ROUTE;
    for (const r of routes) if (r.depth > best && inside(u8, 16 * i, r.ip, r.depth)) [best, want] = [r.depth, r.nextHop];
    assert.equal(fib.lookup(u8, 16 * i), want);
  }
  for (const r of routes) fib.delete(r.ip, r.depth);
  fib.reclaim();
  assert.deepEqual([fib.stats().tbl8Used, fib.stats().leavesUsed], [0, 0]);
  console.log(`# Fib6: ${res.bursts * BURST} concurrent lookups checked, ${res.ops} updates, ${refused} operations refused while parts waited for quiescence`);
});
