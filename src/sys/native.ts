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

/** The functions of the shim. */
export interface Shim {
  mmap(fd: number, length: number, prot: number, flags: number, offset: number): SharedArrayBuffer | number;
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
  watch(fd: number, events: number, cb: (events: number) => void): object | number;
  unwatch(handle: object): void;
  refWatch(handle: object, ref: boolean): void;
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
