/**
 * Test helpers for allocation checks (not part of the library): a forced full GC, and counting the
 * garbage collections code causes. `--expose-gc` is switched on at the first call, not at import.
 */
import { PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gcFn: (() => void) | null = null;

/** A full garbage collection (the `gc` that --expose-gc gives, without the flag on the command line). */
export function gc(): void {
  if (gcFn === null) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `cond()` holds, collecting garbage and turning the event loop; rejects after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    gc();
    await sleep(5);
  }
}

/**
 * How many garbage collections (of any kind) happened while `fn` ran synchronously: 'gc' performance
 * entries that start inside the call. The heap is collected first, so the count is what `fn` allocated.
 */
export async function gcsDuring(fn: () => void): Promise<number> {
  gc();
  await sleep(20); // let the entry of that collection be delivered before observing
  const seen: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  obs.observe({ entryTypes: ["gc"] });
  const t0 = performance.now();
  fn();
  const t1 = performance.now();
  await sleep(50); // entries are delivered asynchronously
  obs.disconnect();
  return seen.filter((e) => e.startTime >= t0 && e.startTime <= t1).length;
}

/**
 * {@link gcsDuring}, and how much the used heap grew across `fn` (optimized code and type feedback land
 * in old space too, so allocation tests allow a little).
 */
export async function gcsAndGrowth(fn: () => void): Promise<{ gcs: number; growth: number }> {
  let growth = 0;
  const gcs = await gcsDuring(() => {
    const h0 = process.memoryUsage().heapUsed;
    fn();
    growth = process.memoryUsage().heapUsed - h0;
  });
  return { gcs, growth };
}

/**
 * {@link gcsAndGrowth}, measured once more when the first window saw a collection or grew the heap by
 * `limit` bytes or more: late JIT work (optimized code and type feedback land in old space) can fall
 * into one window on a slow machine, while an allocation per iteration shows in every window. The
 * second window's figures are what a test asserts; the first's come along for its message.
 */
export async function gcsAndGrowthSettled(fn: () => void, limit: number): Promise<{ gcs: number; growth: number; first: { gcs: number; growth: number } }> {
  const first = await gcsAndGrowth(fn);
  if (first.gcs === 0 && first.growth < limit) return { ...first, first };
  return { ...(await gcsAndGrowth(fn)), first };
}
