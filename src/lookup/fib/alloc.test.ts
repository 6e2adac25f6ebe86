/**
 * The lookups allocate nothing: Fib4/Fib6 lookupBulk (and lookup) run over a million addresses with no
 * garbage collection and no heap growth (the GC-count probe of src/testing/gc-probe.ts). The first test
 * shows the probe catches an allocating loop.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gc, gcsDuring } from "../../testing/gc-probe.js";
import { parseIp6 } from "../addr.js";
import { Fib4, Fib6 } from "./index.js";

const N = 1_000_000;
const BURST = 64;

async function assertNoAlloc(what: string, fn: () => void): Promise<void> {
  fn();
  fn();
  let growth = 0;
  const gcs = await gcsDuring(() => {
    const h0 = process.memoryUsage().heapUsed;
    fn();
    growth = process.memoryUsage().heapUsed - h0;
  });
  gc();
  assert.equal(gcs, 0, `${what}: ${gcs} garbage collections (it allocates)`);
  assert.ok(growth < 1024 * 1024, `${what}: the heap grew by ${growth} bytes`);
}

function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

test("the probe catches an allocating loop", async () => {
  const keep: number[][] = [];
  const gcs = await gcsDuring(() => {
    for (let i = 0; i < N; i++) keep.push([i]);
  });
  assert.ok(gcs > 0, "allocating a million arrays collects garbage");
});

test("Fib4.lookupBulk and lookup allocate nothing", async () => {
  const r = rng(1);
  const fib = Fib4.create({ maxTbl8Groups: 4096 });
  for (let i = 0; i < 3000; i++) {
    const depth = 1 + (r() % 32);
    fib.add((r() & (depth === 32 ? -1 : ~(-1 >>> depth))) >>> 0, depth, r() % 1000);
  }
  const ips = new Uint32Array(N);
  for (let i = 0; i < N; i++) ips[i] = r();
  const bursts: Uint32Array[] = [];
  for (let i = 0; i < N; i += BURST) bursts.push(ips.subarray(i, i + BURST));
  const nhs = new Uint32Array(BURST);
  let sink = 0;
  await assertNoAlloc("Fib4.lookupBulk", () => {
    for (const b of bursts) fib.lookupBulk(b, nhs, BURST);
  });
  await assertNoAlloc("Fib4.lookup", () => {
    for (let i = 0; i < N; i++) sink ^= fib.lookup(ips[i] as number);
  });
  assert.equal(typeof sink, "number");
});

test("Fib6.lookupBulk and lookup allocate nothing", async () => {
  const r = rng(2);
  const fib = Fib6.create({ maxTbl8Groups: 4096, maxLeaves: 8192 });
  const base = parseIp6("2001:db8::");
  for (let i = 0; i < 3000; i++) {
    const ip = base.slice();
    for (let j = 4; j < 16; j++) ip[j] = r() & (i % 3 === 0 ? 0x3 : 0xff); // some shared bytes: groups too
    fib.add(ip, 33 + (r() % 96), r() % 1000);
  }
  const u8 = new Uint8Array(16 * BURST * 16);
  for (let i = 0; i < u8.length; i += 16) {
    u8.set(base, i);
    for (let j = 4; j < 16; j++) u8[i + j] = r() & (i % 3 === 0 ? 0x3 : 0xff);
  }
  const offs: Uint32Array[] = [];
  for (let b = 0; b < 16; b++) offs.push(Uint32Array.from({ length: BURST }, (_, i) => 16 * (b * BURST + i)));
  const nhs = new Uint32Array(BURST);
  let sink = 0;
  await assertNoAlloc("Fib6.lookupBulk", () => {
    for (let i = 0; i < N / BURST; i++) fib.lookupBulk(u8, offs[i & 15] as Uint32Array, nhs, BURST);
  });
  await assertNoAlloc("Fib6.lookup", () => {
    for (let i = 0; i < N; i++) sink ^= fib.lookup(u8, (i & (16 * BURST - 1)) * 16);
  });
  assert.equal(typeof sink, "number");
});
