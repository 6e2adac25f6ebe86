/**
 * BPF maps: a {@link MapSpec} (plain data) that {@link BpfMap.create} turns into a live map with an fd and
 * an explicit `close()`. Element access by bytes, with u32 -> u32 helpers (an XSKMAP maps a queue id to an
 * AF_XDP socket fd). Maps can be pinned in a bpffs and reopened, or taken over from an fd received from
 * elsewhere (the device plugin hands out XSKMAP fds) after checking what it is.
 *
 * Layouts: uapi/linux/bpf.h (`union bpf_attr` for BPF_MAP_*, `struct bpf_map_info`).
 *
 * @example
 * const map = BpfMap.create({ type: MapType.XSKMAP, keySize: 4, valueSize: 4, maxEntries: 64, name: "xsks_map" });
 * try { map.updateU32(0, xskFd); } finally { map.close(); }
 */
import { readFileSync } from "node:fs";
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { FdHandle } from "../sys/fd-handle.js";
import {
  BpfCmd, OBJ_NAME_LEN, bpfCall, cString, expectFdKind, fdById, newAttr, objGet, objInfo, objPin, permHint, setObjName, setPtr,
} from "./syscall.js";

/** enum bpf_map_type (the ones this project uses and a few neighbours). */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LPM_TRIE: 11,
  DEVMAP: 14,
  CPUMAP: 16,
  XSKMAP: 17,
  DEVMAP_HASH: 25,
} as const;

const mapTypeNames: Record<number, string> = Object.fromEntries(
  Object.entries(MapType).map(([k, v]) => [v, k.toLowerCase()]),
);

/** "xskmap (17)", for messages. */
export function mapTypeName(type: number): string {
  return `${mapTypeNames[type] ?? "unknown"} (${type})`;
}

/**
 * BPF_F_NO_PREALLOC (map_flags): allocate elements on update instead of at creation. An LPM trie requires
 * it (kernel/bpf/lpm_trie.c refuses it otherwise with EINVAL).
 */
export const BPF_F_NO_PREALLOC = 1;

/**
 * Whether a map type is per-CPU: a lookup returns one value per possible CPU.
 *
 * @example
 * isPerCpu(MapType.PERCPU_ARRAY); // true
 */
export function isPerCpu(type: number): boolean {
  return type === MapType.PERCPU_ARRAY || type === MapType.PERCPU_HASH || type === 10 /* LRU_PERCPU_HASH */;
}

let possible: number | undefined;

/**
 * The number of possible CPUs (/sys/devices/system/cpu/possible, e.g. "0-3" or "0,2-5", counted as the
 * kernel's num_possible_cpus()): how many values a per-CPU map lookup writes.
 *
 * @example
 * const perCpu = new Uint8Array(16 * possibleCpus()); // a 16-byte value of a PERCPU_ARRAY
 */
export function possibleCpus(): number {
  if (possible !== undefined) return possible;
  const text = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
  let n = 0;
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`Cannot parse /sys/devices/system/cpu/possible '${text}': expected ranges like 0-3,5`);
    n += (m[2] === undefined ? 0 : Number(m[2]) - Number(m[1])) + 1;
  }
  possible = n;
  return n;
}

/** Update flags: BPF_ANY (create or replace), BPF_NOEXIST (create only), BPF_EXIST (replace only). */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

/** What a map is: plain data, checked and turned into a live map by {@link BpfMap.create}. */
export interface MapSpec {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** At most 15 of [A-Za-z0-9_.]; shown by bpftool and in {@link MapInfo}. */
  name?: string;
  /** BPF_F_* map_flags (e.g. BPF_F_NO_PREALLOC = 1). */
  flags?: number;
}

/** struct bpf_map_info, as far as we use it. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
}

/** What to check about a map taken from an fd or a pin (any field left out is not checked). */
export type MapExpect = Partial<Pick<MapInfo, "type" | "keySize" | "valueSize" | "maxEntries" | "name">>;

/** The XSKMAP shape the redirect program and its clients agree on (u32 queue id -> u32 xsk fd). */
export const XSKMAP_EXPECT: MapExpect = { type: MapType.XSKMAP, keySize: 4, valueSize: 4 };

/** Reads struct bpf_map_info of a map fd. */
export function mapInfoByFd(fd: number): MapInfo {
  const info = new Uint8Array(88); // sizeof(struct bpf_map_info), 6.1
  objInfo(fd, info, "map");
  const dv = new DataView(info.buffer);
  return {
    type: dv.getUint32(0, true),
    id: dv.getUint32(4, true),
    keySize: dv.getUint32(8, true),
    valueSize: dv.getUint32(12, true),
    maxEntries: dv.getUint32(16, true),
    flags: dv.getUint32(20, true),
    name: cString(info.subarray(24, 24 + OBJ_NAME_LEN)),
    ifindex: dv.getUint32(40, true),
  };
}

/**
 * A live BPF map, owning its fd: close it with `close()` or `using`. The map goes away with its last fd,
 * pin and program reference.
 *
 * @example
 * const map = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 16, name: "counts" });
 * map.updateU32(3, 42);
 * console.log(map.lookupU32(3), map.keysU32().length); // 42 16
 * map.close();
 *
 * const xsks = BpfMap.fromPin("/sys/fs/bpf/eth0/xsks_map", XSKMAP_EXPECT); // a device plugin's XSKMAP
 */
export class BpfMap extends FdHandle {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly name: string;
  // One attr buffer and scratch key/value per map: element calls allocate nothing but their arguments.
  private readonly attr: Uint8Array;
  private readonly dv: DataView;
  private readonly k32 = new Uint8Array(4);
  private readonly v32 = new Uint8Array(4);
  private readonly k32v: DataView;
  private readonly v32v: DataView;

  private constructor(fd: number, info: Omit<MapInfo, "id" | "flags" | "ifindex">) {
    super(fd);
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.name = info.name;
    const a = newAttr();
    this.attr = a.attr;
    this.dv = a.dv;
    this.k32v = new DataView(this.k32.buffer);
    this.v32v = new DataView(this.v32.buffer);
  }

  /** Creates a map (BPF_MAP_CREATE). */
  static create(spec: MapSpec): BpfMap {
    const name = spec.name ?? "";
    for (const [k, v] of [["keySize", spec.keySize], ["valueSize", spec.valueSize], ["maxEntries", spec.maxEntries]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`Invalid map ${k} ${v} for map '${name}'`);
    }
    const { attr, dv } = newAttr();
    dv.setUint32(0, spec.type, true);
    dv.setUint32(4, spec.keySize, true);
    dv.setUint32(8, spec.valueSize, true);
    dv.setUint32(12, spec.maxEntries, true);
    dv.setUint32(16, spec.flags ?? 0, true);
    setObjName(attr, 28, name, "map"); // map_name
    const fd = bpfCall(BpfCmd.MAP_CREATE, attr,
      () => `BPF_MAP_CREATE ${mapTypeName(spec.type)} '${name}' key ${spec.keySize} value ${spec.valueSize} entries ${spec.maxEntries}`,
      permHint);
    return FdHandle.closeOnThrow(fd, () =>
      new BpfMap(fd, { type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, name }));
  }

  /**
   * Takes ownership of `fd` (e.g. received over a Unix socket) after checking that it is a BPF map and,
   * when `expect` is given, that it has that type and sizes. On a mismatch the fd is left open (it is
   * still the caller's) and a TypeError names what differs.
   */
  static fromFd(fd: number, expect?: MapExpect): BpfMap {
    expectFdKind(fd, "map", "BpfMap.fromFd");
    const info = mapInfoByFd(fd);
    checkExpect(info, expect, `fd ${fd}`);
    return new BpfMap(fd, info);
  }

  /** Opens the map pinned at `path` (BPF_OBJ_GET), checked against `expect` when given. */
  static fromPin(path: string, expect?: MapExpect): BpfMap {
    const fd = objGet(path, "map");
    return FdHandle.closeOnThrow(fd, () => {
      expectFdKind(fd, "map", `pin '${path}'`);
      const info = mapInfoByFd(fd);
      checkExpect(info, expect, `pin '${path}'`);
      return new BpfMap(fd, info);
    });
  }

  /** Opens a map by id (BPF_MAP_GET_FD_BY_ID). */
  static fromId(id: number): BpfMap {
    const fd = fdById(BpfCmd.MAP_GET_FD_BY_ID, id, "map");
    return FdHandle.closeOnThrow(fd, () => new BpfMap(fd, mapInfoByFd(fd)));
  }

  /** The kernel's view of this map (id, type, sizes, name). */
  info(): MapInfo {
    return mapInfoByFd(this.fd);
  }

  /** The map's id. */
  get id(): number {
    return this.info().id;
  }

  private what(op: string): string {
    return `${op} map '${this.name}' (${mapTypeName(this.type)}, fd ${this.fd})`;
  }

  private checkLen(b: Uint8Array, len: number, which: string): void {
    if (b.byteLength !== len) throw new RangeError(`${this.what(which)}: ${which} is ${b.byteLength} bytes, map wants ${len}`);
  }

  private elemAttr(key: Uint8Array | null, value: Uint8Array | null, flags: number): Uint8Array {
    const dv = this.dv;
    this.attr.fill(0);
    dv.setUint32(0, this.fd, true); // map_fd
    setPtr(dv, 8, key); // key
    setPtr(dv, 16, value); // value / next_key
    dv.setUint32(24, flags >>> 0, true); // flags (low word)
    return this.attr;
  }

  /**
   * Sets `key` to `value` (BPF_MAP_UPDATE_ELEM) with {@link UpdateFlag} `flags`. Per-CPU maps take a value
   * per possible CPU ({@link lookupSize} bytes).
   */
  update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    this.checkLen(key, this.keySize, "key");
    this.checkLen(value, this.lookupSize, "value");
    bpfCall(BpfCmd.MAP_UPDATE_ELEM, this.elemAttr(key, value, flags), () => this.what("update"), (code) =>
      code === "EOPNOTSUPP" && this.type === MapType.XSKMAP ? "the value must be an AF_XDP socket fd" : undefined);
  }

  /**
   * Reads `key` into `out`; false when the key is absent. Per-CPU maps write a value per possible CPU
   * ({@link lookupSize} bytes: CPU i's at i * the value size rounded up to 8).
   */
  lookup(key: Uint8Array, out: Uint8Array): boolean {
    this.checkLen(key, this.keySize, "key");
    this.checkLen(out, this.lookupSize, "value");
    const rc = sys.bpf(BpfCmd.MAP_LOOKUP_ELEM, this.elemAttr(key, out, 0));
    if (rc === -2) return false; // ENOENT
    check(rc, () => this.what("lookup"));
    return true;
  }

  /**
   * Bytes a lookup of a per-CPU map writes: the value rounded up to 8 bytes, once per possible CPU
   * (kernel/bpf/syscall.c bpf_map_value_size). For other maps, the value size.
   */
  get lookupSize(): number {
    return isPerCpu(this.type) ? Math.ceil(this.valueSize / 8) * 8 * possibleCpus() : this.valueSize;
  }

  /** Deletes `key`; false when it was absent. */
  delete(key: Uint8Array): boolean {
    this.checkLen(key, this.keySize, "key");
    const rc = sys.bpf(BpfCmd.MAP_DELETE_ELEM, this.elemAttr(key, null, 0));
    if (rc === -2) return false;
    check(rc, () => this.what("delete"));
    return true;
  }

  /** Writes the key after `key` (the first key when `key` is null) into `out`; false at the end. */
  nextKey(key: Uint8Array | null, out: Uint8Array): boolean {
    if (key !== null) this.checkLen(key, this.keySize, "key");
    this.checkLen(out, this.keySize, "next key");
    const rc = sys.bpf(BpfCmd.MAP_GET_NEXT_KEY, this.elemAttr(key, out, 0));
    if (rc === -2) return false;
    check(rc, () => this.what("get next key of"));
    return true;
  }

  /** All keys (copies). Entries changing meanwhile may be skipped or repeated, as with any BPF map walk. */
  keys(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let prev: Uint8Array | null = null;
    for (;;) {
      const k = new Uint8Array(this.keySize);
      if (!this.nextKey(prev, k)) return out;
      out.push(k);
      prev = k;
    }
  }

  private u32Key(key: number): Uint8Array {
    if (this.keySize !== 4 || this.valueSize !== 4) {
      throw new TypeError(`${this.what("u32 access to")}: key ${this.keySize} and value ${this.valueSize} bytes, not 4`);
    }
    this.k32v.setUint32(0, key >>> 0, true);
    return this.k32;
  }

  /** u32 -> u32 maps (XSKMAP: queue id -> AF_XDP socket fd): sets `key` to `value`. */
  updateU32(key: number, value: number, flags: number = UpdateFlag.ANY): void {
    const k = this.u32Key(key);
    this.v32v.setUint32(0, value >>> 0, true);
    this.update(k, this.v32, flags);
  }

  /** u32 -> u32 maps: the value at `key`, or undefined. (XSKMAP lookups from user space fail: EOPNOTSUPP.) */
  lookupU32(key: number): number | undefined {
    return this.lookup(this.u32Key(key), this.v32) ? this.v32v.getUint32(0, true) : undefined;
  }

  /** u32 -> u32 maps: deletes `key`; false when absent (an XSKMAP answers true for empty slots too). */
  deleteU32(key: number): boolean {
    return this.delete(this.u32Key(key));
  }

  /** u32-keyed maps: the keys present, in map order. */
  keysU32(): number[] {
    return this.keys().map((k) => new DataView(k.buffer).getUint32(0, true));
  }

  /** Pins the map at `path` in a bpffs; it then outlives this fd. */
  pin(path: string): void {
    objPin(this.fd, path, `map '${this.name}'`);
  }
}

function checkExpect(info: MapInfo, expect: MapExpect | undefined, where: string): void {
  if (!expect) return;
  const diffs: string[] = [];
  if (expect.type !== undefined && info.type !== expect.type) diffs.push(`type ${mapTypeName(info.type)}, expected ${mapTypeName(expect.type)}`);
  if (expect.keySize !== undefined && info.keySize !== expect.keySize) diffs.push(`key size ${info.keySize}, expected ${expect.keySize}`);
  if (expect.valueSize !== undefined && info.valueSize !== expect.valueSize) diffs.push(`value size ${info.valueSize}, expected ${expect.valueSize}`);
  if (expect.maxEntries !== undefined && info.maxEntries !== expect.maxEntries) diffs.push(`max entries ${info.maxEntries}, expected ${expect.maxEntries}`);
  if (expect.name !== undefined && info.name !== expect.name) diffs.push(`name '${info.name}', expected '${expect.name}'`);
  if (diffs.length > 0) throw new TypeError(`BPF map at ${where} (id ${info.id}, '${info.name}') does not match: ${diffs.join("; ")}`);
}
