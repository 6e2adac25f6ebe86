/** CPU affinity of the calling thread, and CPU list parsing ("0-3,6"). */
import { sys } from "./native.js";
import { check } from "./errno.js";

/** Pins the calling thread (main or worker) to the given CPUs. */
export function setAffinity(cpus: readonly number[]): void {
  check(sys.setAffinity(Int32Array.from(cpus)), () => `sched_setaffinity(cpus=${cpus.join(",")})`);
}

/** The CPUs the calling thread may run on. */
export function getAffinity(): number[] {
  const out = new Int32Array(1024);
  const n = check(sys.getAffinity(out), "sched_getaffinity");
  return Array.from(out.subarray(0, n));
}

/** Parses "0-3,6" or [0, "2-3"] into a sorted list of CPU numbers. */
export function parseCpuList(spec: string | ReadonlyArray<number | string>): number[] {
  const parts = typeof spec === "string" ? spec.split(",") : spec.map(String);
  const set = new Set<number>();
  for (const raw of parts) {
    const p = raw.trim();
    if (p === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) throw new SyntaxError(`Cannot parse CPU list entry '${p}': expected N or A-B`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new RangeError(`Invalid CPU range '${p}': end before start`);
    for (let c = a; c <= b; c++) set.add(c);
  }
  return [...set].sort((x, y) => x - y);
}
