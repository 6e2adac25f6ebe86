/**
 * Memory for large tables read at random addresses (the FIB's 64 MiB DIR-24-8 first level and its tbl8
 * groups) on 2 MB pages: one TLB entry then covers 512 times what a 4 KB page does, so a lookup's random
 * loads miss the TLB far less (what DPDK gets from its hugepage heap).
 *
 * {@link mmapHuge} tries, in order:
 * 1. `thp`, when /sys/kernel/mm/transparent_hugepage/enabled is `madvise` or `always`: transparent huge
 *    pages: private anonymous memory (shared by the worker threads of this process like any other; the
 *    kernel's THP for shared anonymous memory, shmem_enabled, is usually off) starting on a 2 MB boundary,
 *    advised MADV_HUGEPAGE before its first touch, so the page faults that follow map whole 2 MB pages
 *    (AnonHugePages in /proc/<pid>/smaps shows what it got; where no free 2 MB page is found at a fault
 *    the kernel maps 4 KB pages instead);
 * 2. `hugetlb`: MAP_HUGETLB 2 MB pages, when the administrator reserved some (/proc/sys/vm/nr_hugepages;
 *    HugePages_Free in /proc/meminfo). Second, because those are what a UMEM on 2 MB pages (`mtype`)
 *    needs, and a pod's hugetlb limit may be small;
 * 3. `4KB`: a plain `new SharedArrayBuffer`.
 * Every kind is zero-filled and committed as it is touched (a 2 MB page at a time for the first two).
 * The shim's mappings are unmapped when their SharedArrayBuffer is garbage collected, or at once with
 * {@link munmap}.
 *
 * @example
 * const { buf, kind } = mmapHuge(64 << 20); // kind: "hugetlb", "thp" or "4KB"
 * const t24 = new Int32Array(buf);
 */
import { readFileSync } from "node:fs";
import { sys } from "./native.js";
import { MAP_ANONYMOUS, MAP_HUGETLB, MAP_HUGE_2MB, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "./consts.js";

/**
 * madvise(2) advice: back the range with transparent huge pages (uapi asm-generic/mman-common.h).
 *
 * @example
 * const b = sys.mmap(-1, HUGE_2MB, C.PROT_READ | C.PROT_WRITE, C.MAP_PRIVATE | C.MAP_ANONYMOUS, 0, HUGE_2MB);
 * if (typeof b !== "number") sys.madvise(new Uint8Array(b), MADV_HUGEPAGE); // 0, before the first touch
 */
export const MADV_HUGEPAGE = 14;
/**
 * madvise(2) advice: collapse the range into transparent huge pages now (Linux 6.1).
 *
 * @example
 * const { buf } = mmapHuge(HUGE_2MB);
 * sys.madvise(new Uint8Array(buf), MADV_COLLAPSE); // 0, or -errno where the kernel cannot
 */
export const MADV_COLLAPSE = 25;
/**
 * Bytes of a 2 MB huge page.
 *
 * @example
 * const pages = Math.ceil((64 << 20) / HUGE_2MB); // 32
 */
export const HUGE_2MB = 2 << 20;

/**
 * What {@link mmapHuge} got: hugetlb pages, advised transparent huge pages, or 4 KB pages.
 *
 * @example
 * const kind: HugeKind = mmapHuge(HUGE_2MB).kind;
 */
export type HugeKind = "hugetlb" | "thp" | "4KB";

/**
 * `length` zero-filled bytes on 2 MB pages where the system allows (see the module comment), else on
 * 4 KB pages. Throws a RangeError for a length that is not a positive safe integer.
 *
 * @example
 * const { buf, kind } = mmapHuge(4 << 20);
 * console.log(kind, buf.byteLength); // thp 4194304 (with THP enabled = madvise)
 */
export function mmapHuge(length: number): { buf: SharedArrayBuffer; kind: HugeKind } {
  if (!Number.isSafeInteger(length) || length <= 0) throw new RangeError(`mmapHuge: length ${length} is not a positive integer`);
  const rounded = Math.ceil(length / HUGE_2MB) * HUGE_2MB;
  const mode = thpMode();
  if (mode === "always" || mode === "madvise") {
    const t = sys.mmap(-1, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0, HUGE_2MB);
    if (typeof t !== "number") {
      if (sys.madvise(new Uint8Array(t, 0, 1), MADV_HUGEPAGE) === 0) return { buf: t, kind: "thp" };
      return { buf: t, kind: "4KB" };
    }
  }
  const h = sys.mmap(-1, rounded, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, 0);
  if (typeof h !== "number") return { buf: h, kind: "hugetlb" };
  return { buf: new SharedArrayBuffer(length), kind: "4KB" };
}

/**
 * The transparent huge page mode (`always`, `madvise` or `never`), or null where the kernel has none.
 *
 * @example
 * if (thpMode() === "never") console.log("tables on 4 KB pages unless hugetlb pages are reserved");
 */
export function thpMode(): string | null {
  try {
    return /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * An allocator for tables that take one (`Fib4.create({ alloc })`): {@link mmapHuge}'s buffer. The buffer
 * may be longer than asked (whole 2 MB pages).
 *
 * @example
 * const fib = Fib4.create({ alloc: hugeAlloc });
 */
export function hugeAlloc(bytes: number): SharedArrayBuffer {
  return mmapHuge(bytes).buf;
}
