/** Memory mappings handed to JavaScript as SharedArrayBuffers (shareable with worker threads). */
import { sys } from "./native.js";
import { check } from "./errno.js";
import { MAP_ANONYMOUS, MAP_HUGETLB, MAP_HUGE_1GB, MAP_HUGE_2MB, MAP_POPULATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "./consts.js";

/** Page kinds for anonymous memory, as CNDP's `mtype`. */
export type PageKind = "4KB" | "2MB" | "1GB";

/**
 * Maps `length` bytes: anonymous memory when `fd` is -1, else the object behind `fd` at `offset`.
 * Free it with {@link munmap}; the garbage collector only releases the address range afterwards.
 */
export function mmapShared(length: number, fd = -1, offset = 0, what = "mmap"): SharedArrayBuffer {
  const flags = MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0) | MAP_POPULATE;
  const r = sys.mmap(fd, length, PROT_READ | PROT_WRITE, flags, offset);
  if (typeof r === "number") check(r, () => `${what}(length=${length} fd=${fd} offset=0x${offset.toString(16)})`);
  return r as SharedArrayBuffer;
}

/**
 * Anonymous memory on the given page kind, falling back to 4 KB pages when huge pages are not available
 * (as CNDP's mmap_alloc). Returns the buffer and the page kind it got.
 */
export function mmapAnon(length: number, kind: PageKind = "4KB"): { buf: SharedArrayBuffer; kind: PageKind } {
  if (kind !== "4KB") {
    const huge = kind === "2MB" ? MAP_HUGE_2MB : MAP_HUGE_1GB;
    const page = kind === "2MB" ? 2 << 20 : 1 << 30;
    const len = Math.ceil(length / page) * page;
    const r = sys.mmap(-1, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | huge, 0);
    if (typeof r !== "number") return { buf: r, kind };
  }
  return { buf: mmapShared(length), kind: "4KB" };
}

/** Releases a mapping made by {@link mmapShared}; views over it read zeros afterwards. */
export function munmap(buf: SharedArrayBuffer): void {
  check(sys.munmap(new Uint8Array(buf)), "munmap");
}
