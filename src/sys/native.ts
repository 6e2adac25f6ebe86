/**
 * The native syscall shim (native/shim.cc), loaded once per thread.
 *
 * Every call returns the kernel's result: >= 0 on success, -errno on failure. Callers on the control path
 * wrap results with {@link check} (src/sys/errno.ts); the data path compares against 0 and counts.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A typed array or Buffer: the shim reads its bytes in place. */
export type Bytes = ArrayBufferView;

/**
 * A handle from {@link Shim.watch}. Keep it and call {@link Shim.unwatch}. An open watch holds its callback
 * (like a node:net handle, it is a GC root), so a callback that reaches its handle keeps the watch open
 * until unwatch. A handle nothing reaches any more (not even its callback) is closed by its finalizer when
 * collected, and the callback is let go: a safety net against leaks, not a way to close.
 */
export interface WatchHandle {
  /** The watched fd (the shim never closes it). */
  readonly fd: number;
}

/** The functions of the shim. */
export interface Shim {
  /**
   * A SharedArrayBuffer over the new mapping (recorded in the shim's registry), or -errno. With `align` (a
   * power of two above the page size, anonymous memory only) the mapping starts at a multiple of it.
   */
  mmap(fd: number, length: number, prot: number, flags: number, offset: number, align?: number): SharedArrayBuffer | number;
  /**
   * Releases a whole mapping made by {@link Shim.mmap}, given a typed array over it that starts at its first
   * byte (any length): 0, also when it was already released (a no-op); -EINVAL, touching nothing, for
   * memory the shim did not map or a view starting inside a mapping. Views read zeros afterwards.
   * Use {@link munmap} in src/sys/mem.ts, which names what was passed when it refuses.
   */
  munmap(view: Bytes): number;
  addressOf(view: Bytes): number;
  socket(domain: number, type: number, protocol: number): number;
  close(fd: number): number;
  bind(fd: number, addr: Bytes): number;
  connect(fd: number, addr: Bytes): number;
  listen(fd: number, backlog: number): number;
  accept4(fd: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, value: Bytes): number;
  getsockopt(fd: number, level: number, name: number, out: Bytes): number;
  sendto(fd: number, buf: Bytes | null, flags: number, addr: Bytes | null): number;
  recvfrom(fd: number, buf: Bytes | null, flags: number): number;
  sendmsg(fd: number, buf: Bytes, fds: Int32Array | null, flags: number): number;
  recvmsg(fd: number, buf: Bytes, fdsOut: Int32Array, flags: number): number;
  poll(pollfds: Int32Array, nfds: number, timeoutMs: number): number;
  bpf(cmd: number, attr: Bytes): number;
  ifNameToIndex(name: string): number;
  ifIndexToName(index: number): string | number;
  setAffinity(cpus: Int32Array): number;
  getAffinity(out: Int32Array): number;
  gettid(): number;
  setns(fd: number, nstype: number): number;
  /**
   * Calls `cb(events)` on the event loop while `fd` is ready (events: 1 readable, 2 writable, 3 both; `cb`
   * gets the ready events, or -errno on a poll error). Returns a handle, or -errno when the fd cannot be
   * watched (-EBADF for a bad fd, -EPERM for a regular file), leaving nothing behind. Throws a TypeError /
   * RangeError for a non-function callback or events outside 1..3.
   */
  watch(fd: number, events: number, cb: (events: number) => void): WatchHandle | number;
  /** Stops watching (the fd stays open). A no-op on a handle already unwatched; TypeError for a non-handle. */
  unwatch(handle: object): void;
  /** Whether the watch keeps the process alive (default true). A no-op after unwatch. */
  refWatch(handle: object, ref: boolean): void;
  /** Watches alive in the process (open, or closed and waiting for libuv's close callback): for leak tests. */
  watchCount(): number;
  /**
   * clock_gettime(clockId): out[0] = tv_sec, out[1] = tv_nsec (both exact). Returns 0 or -errno (-EINVAL
   * for an unknown clock). Allocates nothing on the JavaScript heap: use it on the data path (see clock.ts).
   * Throws a TypeError unless `out` is a Float64Array of at least 2 elements.
   */
  clockGettime(clockId: number, out: Float64Array): number;
  /**
   * ioctl(fd, request, arg): `arg` is a typed array (the kernel gets its address: a struct in or out) or a
   * number (passed as the value, for requests such as TUNSETPERSIST). Returns the result or -errno.
   */
  ioctl(fd: number, request: number, arg: Bytes | number): number;
  /**
   * read(2) into `view` bytes [offset, offset + length): the count read or -errno (-EAGAIN on an empty
   * non-blocking fd). Allocates nothing on the JavaScript heap; RangeError for a range outside the view.
   */
  read(fd: number, view: Bytes, offset: number, length: number): number;
  /** write(2) from `view` bytes [offset, offset + length): the count written or -errno. As {@link Shim.read}. */
  write(fd: number, view: Bytes, offset: number, length: number): number;
  /**
   * Copies `length` bytes from `src` at byte `srcOffset` to `dst` at byte `dstOffset` (memmove: the two
   * may be different buffers, mappings or overlapping ranges of one). Returns `length`. Allocates nothing
   * on the JavaScript heap (no subarray per packet); RangeError, copying nothing, for a range outside a view.
   */
  copyBytes(dst: Bytes, dstOffset: number, src: Bytes, srcOffset: number, length: number): number;
  /** memfd_create(2): an anonymous file to share by fd (MFD_CLOEXEC, MFD_ALLOW_SEALING in `flags`): the fd or -errno. */
  memfdCreate(name: string, flags: number): number;
  /** eventfd(2) (EFD_NONBLOCK, EFD_CLOEXEC in `flags`): the fd or -errno. Read and write it with {@link Shim.read}/{@link Shim.write}. */
  eventfd(initval: number, flags: number): number;
  /** fcntl(2) for commands taking an int (F_GETFL, F_ADD_SEALS, F_GET_SEALS, ...): the result or -errno. */
  fcntl(fd: number, cmd: number, arg: number): number;
  /**
   * Replaces the memory of bytes [at, at + length) of a mapping made by {@link Shim.mmap} in place (same
   * address, so every view of its SharedArrayBuffer, in any thread, sees the new memory): `fd` >= 0 maps
   * that file at `offset` there (MAP_SHARED, read/write), `fd` = -1 puts zero pages (no memory) there
   * again. `view` starts at the mapping's first byte; `at` is a multiple of the page size. 0, or -errno
   * (-EINVAL, touching nothing, for memory the shim did not map, a released mapping or a range past it).
   */
  mmapFixed(view: Bytes, at: number, length: number, fd: number, offset: number): number;
  /**
   * madvise(2) over the whole of a mapping made by {@link Shim.mmap} (`view` starts at its first byte):
   * 0 or -errno (-EINVAL, touching nothing, for memory the shim did not map or a released mapping).
   */
  madvise(view: Bytes, advice: number): number;
}

function findShim(): string {
  // dist/src/sys/native.js -> <root>/build/Release/xdplane_shim.node (also from src/sys when run as TS).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, "build", "Release", "xdplane_shim.node");
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error(
    "Cannot find the native shim build/Release/xdplane_shim.node: run `npm install` (it builds the shim with node-gyp)",
  );
}

/** The loaded shim. */
export const sys: Shim = createRequire(import.meta.url)(findShim()) as Shim;
