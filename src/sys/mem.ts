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

/**
 * Releases a whole mapping made by {@link mmapShared} / {@link mmapAnon}; views over it read zeros
 * afterwards (the garbage collector frees the address range later). `buf` is the mapping's
 * SharedArrayBuffer or a typed array over it starting at its first byte. Releasing it again is a no-op.
 * Throws a SysError (EINVAL) naming what was passed for anything else, and then touches nothing:
 * memory the shim did not map, or a view that starts inside a mapping.
 */
export function munmap(buf: SharedArrayBuffer | ArrayBufferView, what = "munmap"): void {
  const view = ArrayBuffer.isView(buf) ? buf : new Uint8Array(buf);
  if (view instanceof DataView) {
    munmap(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), what);
    return;
  }
  check(sys.munmap(view), () => `${what}(${describeView(buf)})`, (code) =>
    code === "EINVAL"
      ? view.byteOffset !== 0
        ? "the view does not start at a mapping's first byte; pass the mapping's SharedArrayBuffer or a view at byteOffset 0"
        : "not a mapping made by the shim's mmap (mmapShared/mmapAnon)"
      : undefined,
  );
}

function describeView(buf: SharedArrayBuffer | ArrayBufferView): string {
  const b = ArrayBuffer.isView(buf) ? buf.buffer : buf;
  const kind = b instanceof SharedArrayBuffer ? "SharedArrayBuffer" : "ArrayBuffer";
  if (!ArrayBuffer.isView(buf)) return `${kind} byteLength=${b.byteLength}`;
  return `${buf.constructor.name} byteOffset=${buf.byteOffset} byteLength=${buf.byteLength} over ${kind} byteLength=${b.byteLength}`;
}
