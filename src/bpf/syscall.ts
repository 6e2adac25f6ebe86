/**
 * The bpf(2) syscall layer shared by maps, programs and links (as cilium/ebpf's internal/sys): command
 * numbers, the `union bpf_attr` buffer, pointers into it, object info, pins, ids and fd kinds.
 *
 * Layouts from include/uapi/linux/bpf.h (`union bpf_attr`, `struct bpf_{prog,map,link}_info`). Only this
 * folder imports this file.
 */
import { readlinkSync } from "node:fs";
import { sys } from "../sys/native.js";
import { check, SysError } from "../sys/errno.js";

/** enum bpf_cmd (uapi/linux/bpf.h). */
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  LINK_DETACH: 34,
} as const;

/**
 * Bytes of `union bpf_attr` we pass: its size in the 6.1 uapi header. Newer kernels accept a shorter attr
 * (the rest reads as zero); every field we use lies inside.
 */
export const ATTR_SIZE = 144;

/** BPF_OBJ_NAME_LEN: object names are at most 15 characters plus NUL. */
export const OBJ_NAME_LEN = 16;

/** A zeroed `union bpf_attr` with a little-endian DataView over it. */
export function newAttr(): { attr: Uint8Array; dv: DataView } {
  const attr = new Uint8Array(ATTR_SIZE);
  return { attr, dv: new DataView(attr.buffer) };
}

/**
 * Writes the address of `view` (or 0 for null) as an `__aligned_u64` at `off`. The view must stay
 * reachable until the syscall returns (it does: calls are synchronous and the caller holds it).
 */
export function setPtr(dv: DataView, off: number, view: ArrayBufferView | null): void {
  const addr = view === null || view.byteLength === 0 ? 0 : sys.addressOf(view);
  dv.setUint32(off, addr % 0x100000000, true);
  dv.setUint32(off + 4, Math.floor(addr / 0x100000000), true);
}

/** Reads a u64 that fits in a double (ids, counters). */
export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x100000000;
}

/** A NUL-terminated C string from `bytes`. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** A NUL-terminated copy of `s` for a path argument. */
export function cPath(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * Checks an object name for the kernel's rules (bpf_obj_name_cpy: at most 15 of [A-Za-z0-9_.]) and writes
 * it at `off`.
 */
export function setObjName(attr: Uint8Array, off: number, name: string, what: string): void {
  if (name.length >= OBJ_NAME_LEN || !/^[A-Za-z0-9_.]*$/.test(name)) {
    throw new RangeError(`Invalid ${what} name '${name}': at most 15 characters of A-Z a-z 0-9 _ .`);
  }
  for (let i = 0; i < name.length; i++) attr[off + i] = name.charCodeAt(i);
}

/** bpf(cmd, attr); returns the result or throws a SysError naming `what`. */
export function bpfCall(cmd: number, attr: Uint8Array, what: string | (() => string), hint?: (code: string) => string | undefined): number {
  return check(sys.bpf(cmd, attr), what, hint);
}

/** A hint for permission errors, as cilium/ebpf gives. */
export function permHint(code: string): string | undefined {
  if (code === "EPERM") return "bpf() needs CAP_BPF/CAP_SYS_ADMIN (and CAP_NET_ADMIN for XDP); MEMLOCK may be too low";
  return undefined;
}

/** BPF_OBJ_GET_INFO_BY_FD into `info` (a struct bpf_*_info buffer); returns the bytes the kernel wrote. */
export function objInfo(fd: number, info: Uint8Array, what: string): number {
  const { attr, dv } = newAttr();
  dv.setUint32(0, fd, true); // info.bpf_fd
  dv.setUint32(4, info.byteLength, true); // info.info_len
  setPtr(dv, 8, info); // info.info
  bpfCall(BpfCmd.OBJ_GET_INFO_BY_FD, attr, () => `BPF_OBJ_GET_INFO_BY_FD ${what} fd ${fd}`);
  return dv.getUint32(4, true);
}

/** BPF_OBJ_PIN: pins the object behind `fd` at `path` (a file in a bpffs). */
export function objPin(fd: number, path: string, what: string): void {
  const { attr, dv } = newAttr();
  const p = cPath(path);
  setPtr(dv, 0, p); // pathname
  dv.setUint32(8, fd, true); // bpf_fd
  bpfCall(BpfCmd.OBJ_PIN, attr, () => `BPF_OBJ_PIN ${what} at '${path}'`, (code) =>
    code === "EPERM" || code === "EINVAL" ? `is the folder on a bpffs? (mount -t bpf bpf <dir>; see ensureBpffs)`
    : code === "EEXIST" ? "a pin of that name exists; unpin it first" : undefined);
}

/** BPF_F_RDONLY / BPF_F_WRONLY for BPF_OBJ_GET's file_flags. */
export const BPF_F_RDONLY = 1 << 3;
export const BPF_F_WRONLY = 1 << 4;

/** BPF_OBJ_GET: a new fd for the object pinned at `path`. */
export function objGet(path: string, what: string, fileFlags = 0): number {
  const { attr, dv } = newAttr();
  const p = cPath(path);
  setPtr(dv, 0, p);
  dv.setUint32(12, fileFlags, true); // file_flags
  return bpfCall(BpfCmd.OBJ_GET, attr, () => `BPF_OBJ_GET ${what} '${path}'`);
}

/** BPF_{PROG,MAP,LINK}_GET_FD_BY_ID. */
export function fdById(cmd: number, id: number, what: string): number {
  const { attr, dv } = newAttr();
  dv.setUint32(0, id, true);
  return bpfCall(cmd, attr, () => `get fd of ${what} id ${id}`);
}

/**
 * BPF_{PROG,MAP,LINK}_GET_NEXT_ID: the ids after `start`, in order. Stops at ENOENT (the end).
 */
export function* nextIds(cmd: number, what: string): Generator<number> {
  const { attr, dv } = newAttr();
  let id = 0;
  for (;;) {
    attr.fill(0);
    dv.setUint32(0, id, true);
    const rc = sys.bpf(cmd, attr);
    if (rc === -2) return; // ENOENT: no more
    check(rc, () => `get next ${what} id after ${id}`);
    id = dv.getUint32(4, true); // next_id
    yield id;
  }
}

/** What a file descriptor refers to, from /proc/self/fd (anon_inode:bpf-map, bpf-prog, bpf_link or bpf-link). */
export type FdKind = "map" | "prog" | "link" | "other";

export function fdKind(fd: number): FdKind {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    throw new SysError(`fd ${fd} is not open`, 9);
  }
  if (target === "anon_inode:bpf-map") return "map";
  if (target === "anon_inode:bpf-prog") return "prog";
  if (target === "anon_inode:bpf_link" || target === "anon_inode:bpf-link") return "link"; // created / from a pin
  return "other";
}

/** Throws a TypeError unless `fd` refers to a BPF object of kind `kind`. */
export function expectFdKind(fd: number, kind: Exclude<FdKind, "other">, where: string): void {
  const k = fdKind(fd);
  if (k !== kind) {
    throw new TypeError(`${where}: fd ${fd} is ${k === "other" ? "not a BPF object" : `a BPF ${k}`}, expected a BPF ${kind}`);
  }
}
