/**
 * Decoders for each jcfg section (CNDP lib/usr/app/jcfg/jcfg_*.c): they check types and ranges, apply
 * defaults and convert units. References between sections are checked afterwards (resolve.ts), so the
 * sections may come in any order, as in CNDP.
 */
import type { Node } from "jsonc-parser";
import { describe, type Entry, type Reader } from "./reader.js";
import { parseRange, parseRangeList } from "./ranges.js";
import type { KeyPath } from "./source.js";
import { pmdOptionsError } from "../pktdev/pmd-options.js";
import type {
  Application,
  Defaults,
  JsonValue,
  LcoreGroup,
  Lport,
  MemType,
  OptionValue,
  Thread,
  Umem,
} from "./types.js";

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** An lport being built, with the nodes later checks point at. */
export interface DraftLport {
  value: Mutable<Lport>;
  keyNode: Node;
  path: KeyPath;
  nodes: { qid?: Node; umem?: Node; region?: Node; netdev?: Node };
}

/** A thread being built: its lports grow as lport-groups are expanded. */
export interface DraftThread {
  value: Omit<Mutable<Thread>, "lports"> & { lports: string[] };
  keyNode: Node;
  path: KeyPath;
  groupNode: Node | undefined;
  lportRefs: { value: string; node: Node; path: KeyPath }[];
}

/** Settings an lport-group hands to each lport it makes. */
export interface PortSettings {
  pmd: string;
  pmdOpts: string | undefined;
  busyPoll: boolean;
  busyTimeout: number;
  busyBudget: number;
  forceWakeup: boolean;
  skbMode: boolean;
  unalignedBuffers: boolean;
  unprivileged: boolean;
  multiBuffer: boolean;
}

/** Where each settings object got `"multi_buffer": true`, for the check that needs its pmd. */
const multiBufferAt = new WeakMap<PortSettings, Entry>();

/**
 * Checks that need every key of an lport or lport-group read: `multi_buffer` only for net_af_xdp.
 * Returns false after reporting an error.
 */
function checkPortSettings(r: Reader, s: PortSettings): boolean {
  const mb = multiBufferAt.get(s);
  if (s.multiBuffer && mb !== undefined && s.pmd !== "net_af_xdp") {
    r.error(mb.value, mb.path, `"multi_buffer" applies to net_af_xdp lports (AF_XDP multi-buffer sockets), not to pmd ${JSON.stringify(s.pmd)}`);
    return false;
  }
  return true;
}

/** An lport-group as written, before expansion. */
export interface DraftLportGroup {
  name: string;
  keyNode: Node;
  path: KeyPath;
  netdevs: { value: string; node: Node; path: KeyPath }[];
  queues: number[] | "all";
  queuesNode: Node | undefined;
  threads: { value: string; node: Node; path: KeyPath }[];
  umem: string;
  umemNode: Node | undefined;
  settings: PortSettings;
  description: string;
}

/** Everything decoded, before cross-references are checked. */
export interface Draft {
  application: Application;
  defaults: Defaults;
  /** Keys present in `defaults` (the lport-group UMEM sizes itself differently when absent). */
  defaultsGiven: Set<string>;
  umems: Map<string, Umem>;
  lports: Map<string, DraftLport>;
  lcoreGroups: Map<string, LcoreGroup>;
  options: Map<string, OptionValue>;
  threads: Map<string, DraftThread>;
  lportGroups: DraftLportGroup[];
  users: Map<string, JsonValue>;
  /** Where each umem of `umems` and its bufcnt are written, for checks that point at them. */
  umemNodes: Map<string, UmemNodes>;
  /** Where each lcore-group's CPU list is written. */
  lcoreGroupNodes: Map<string, { node: Node; path: KeyPath }>;
  /**
   * Names written in the file whose entry had an error: references to them are not reported again as
   * "not defined".
   */
  broken: { umems: Set<string>; lports: Set<string>; lcoreGroups: Set<string>; threads: Set<string> };
}

/** Where a umem is written: its key, and its bufcnt (or undefined when it comes from defaults). */
export interface UmemNodes {
  keyNode: Node;
  path: KeyPath;
  bufcnt: Node | undefined;
}

/** How to check CPU numbers against this machine. */
export interface CpuCheck {
  readonly mode: "error" | "warn" | "off";
  /** CPUs online on this machine. */
  readonly online: ReadonlySet<number>;
  /** The same as a CPU list ("0-1"), for messages. */
  readonly onlineText: string;
}

// Limits from CNDP: LPORT_NAME_LEN 32, UMEM_MAX_REGIONS 128, CPU_SETSIZE 1024, u16 qid and busy values,
// jcfg_umem_t.rxdesc is a u16 holding rxdesc * 1024 (so at most 32), mempool cache at most 256.
const MAX_LPORT_NAME = 31;
const MAX_REGIONS = 128;
const MAX_CPU = 1023;
const MAX_U16 = 65535;
const MAX_U32 = 4294967295;
const MAX_BUFCNT = 4096;
const UNITS = 1024;
/** A UMEM is one mapping addressed with 32-bit offsets (mem/umem.ts refuses more). */
const MAX_UMEM_BYTES = 2 ** 32;

/** Bytes for messages: "4.0 GiB", "512.0 MiB", "640 KiB". */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.ceil(n / 1024)} KiB`;
}

/** CNDP's defaults: DEFAULT_MBUF_COUNT 16K, DEFAULT_MBUF_SIZE 2048, XSK_RING_*__DEFAULT_NUM_DESCS 2048. */
export const CNDP_DEFAULTS = {
  bufcnt: 16 * UNITS,
  bufsz: 2048,
  rxdesc: 2048,
  txdesc: 2048,
  cache: 256,
  mtype: "4KB" as MemType,
  burst: 64,
  /** AF_XDP_DFLT_BUSY_TIMEOUT and AF_XDP_DFLT_BUSY_BUDGET in CNDP's xskdev.h. */
  busyTimeout: 20,
  busyBudget: 64,
  /** LPORT_DFLT_TX_NUM_DESCS, used by the lport-group UMEM when defaults give no txdesc. */
  lportGroupTxdesc: 4096,
} as const;

/** The UMEM name lport-groups use when they name none (LPORT_GROUP_UMEM_NAME). */
export const LPORT_GROUP_UMEM = "lport-group";

const BUFCNT_RULE = {
  min: 1,
  max: MAX_BUFCNT,
  hint: "bufcnt counts units of 1024 buffers: 16 means 16384 buffers",
};
const BUFSZ_RULE = {
  min: 2,
  max: 4,
  hint: "bufsz counts units of 1024 bytes: 2 means 2048-byte frames, 4 means 4096",
};
const DESC_RULE = {
  min: 0,
  max: 32,
  hint: "rxdesc and txdesc count units of 1024 descriptors: 2 means 2048",
};

/** Reads rxdesc/txdesc: 0 (use the default) or a power of two up to 32, in units of 1024. */
function readDesc(r: Reader, node: Node, path: KeyPath): number | undefined {
  const v = r.int(node, path, DESC_RULE);
  if (v === undefined) return undefined;
  if (v !== 0 && (v & (v - 1)) !== 0) {
    r.error(node, path, `must be 0 or a power of two (1, 2, 4, 8, 16, 32), got ${v}: ring sizes are powers of two`);
    return undefined;
  }
  return v;
}

/** Reads mtype: "4KB", "2MB", "1GB" or "default", any case; "" means the default. */
function readMemType(r: Reader, node: Node, path: KeyPath): MemType | "" | undefined {
  const s = r.string(node, path);
  if (s === undefined) return undefined;
  switch (s.toLowerCase()) {
    case "":
    case "default":
      return "";
    case "4kb":
      return "4KB";
    case "2mb":
      return "2MB";
    case "1gb":
      return "1GB";
    default:
      r.error(node, path, `expected "4KB", "2MB" or "1GB", got ${describe(node)}`);
      return undefined;
  }
}

/**
 * Reads an option value (CNDP's obj_value_t): boolean, integer, string, an array whose elements are all
 * of one of those kinds, or an object (kept as JSON).
 */
export function readOption(r: Reader, node: Node, path: KeyPath): OptionValue | undefined {
  switch (node.type) {
    case "boolean":
    case "string":
      return node.value as boolean | string;
    case "number":
      if (!Number.isInteger(node.value)) {
        r.error(node, path, `expected a boolean, integer, string or array, got ${node.value as number}: jcfg has no decimal numbers`);
        return undefined;
      }
      return node.value as number;
    case "null":
      r.error(node, path, "expected a boolean, integer, string or array, got null");
      return undefined;
    case "object":
      return r.json(node) as { [key: string]: JsonValue };
    case "array": {
      const els = node.children ?? [];
      const first = els[0];
      let ok = true;
      els.forEach((el, i) => {
        const p = [...path, i];
        if (el.type !== "boolean" && el.type !== "string" && el.type !== "number") {
          r.error(el, p, `array elements must be booleans, integers or strings, got ${describe(el)}`);
          ok = false;
        } else if (el.type === "number" && !Number.isInteger(el.value)) {
          r.error(el, p, `expected an integer, got ${el.value as number}`);
          ok = false;
        } else if (first !== undefined && el.type !== first.type) {
          r.error(el, p, `array elements must all be of one kind: the first is a ${first.type}, this one a ${el.type}`);
          ok = false;
        }
      });
      if (!ok) return undefined;
      return els.map((el) => el.value as boolean | number | string) as OptionValue;
    }
  }
}

/** `application`: name, description | desc; anything else is kept with a warning. */
export function decodeApplication(r: Reader, node: Node, path: KeyPath): Application {
  let name = "";
  let description = "";
  const extra = new Map<string, OptionValue>();
  if (!r.isObject(node, path)) return { name, description, extra };
  for (const e of r.entries(node, path)) {
    if (e.key === "name") name = r.string(e.value, e.path) ?? name;
    else if (e.key === "description" || e.key === "desc") description = r.string(e.value, e.path) ?? description;
    else {
      r.unknownKey(e, ["name", "description", "desc"], "kept for the app");
      const v = readOption(r, e.value, e.path);
      if (v !== undefined) extra.set(e.key, v);
    }
  }
  return { name, description, extra };
}

/** `defaults`: CNDP's values when absent; counts in units of 1024. */
export function decodeDefaults(r: Reader, node: Node | undefined, path: KeyPath): { defaults: Defaults; given: Set<string> } {
  const extra = new Map<string, OptionValue>();
  const c = CNDP_DEFAULTS;
  const d: Mutable<Defaults> = {
    bufcnt: c.bufcnt, bufsz: c.bufsz, rxdesc: c.rxdesc, txdesc: c.txdesc, cache: c.cache, mtype: c.mtype,
    burst: c.burst, extra,
  };
  const given = new Set<string>();
  if (node === undefined || !r.isObject(node, path)) return { defaults: d, given };
  for (const e of r.entries(node, path)) {
    let ok = true;
    switch (e.key) {
      case "bufcnt": {
        const v = r.int(e.value, e.path, BUFCNT_RULE);
        if (v === undefined) ok = false;
        else d.bufcnt = v * UNITS;
        break;
      }
      case "bufsz": {
        const v = r.int(e.value, e.path, BUFSZ_RULE);
        if (v === undefined) ok = false;
        else d.bufsz = v * UNITS;
        break;
      }
      case "rxdesc":
      case "txdesc": {
        const v = readDesc(r, e.value, e.path);
        if (v === undefined) ok = false;
        else d[e.key] = v === 0 ? CNDP_DEFAULTS[e.key] : v * UNITS;
        break;
      }
      case "cache": {
        const v = r.int(e.value, e.path, { min: 0, max: 256, hint: "the mempool cache holds at most 256 buffers" });
        if (v === undefined) ok = false;
        else d.cache = v;
        break;
      }
      case "mtype": {
        const v = readMemType(r, e.value, e.path);
        if (v === undefined) ok = false;
        else d.mtype = v === "" ? CNDP_DEFAULTS.mtype : v;
        break;
      }
      case "burst": {
        const v = r.int(e.value, e.path, { min: 1, max: 256 });
        if (v === undefined) ok = false;
        else d.burst = v;
        break;
      }
      default: {
        r.unknownKey(e, ["bufcnt", "bufsz", "rxdesc", "txdesc", "cache", "mtype", "burst"], "kept for the app");
        const v = readOption(r, e.value, e.path);
        if (v !== undefined) extra.set(e.key, v);
        ok = false;
      }
    }
    if (ok) given.add(e.key);
  }
  return { defaults: d, given };
}

const UMEM_KEYS = ["bufcnt", "bufsz", "mtype", "regions", "rxdesc", "txdesc", "shared_umem", "description", "desc"];

/** `umems`: each a UMEM with regions; absent sizes come from defaults. */
export function decodeUmems(r: Reader, node: Node, path: KeyPath, defaults: Defaults, nodes?: Map<string, UmemNodes>): Map<string, Umem> {
  const umems = new Map<string, Umem>();
  if (!r.isObject(node, path)) return umems;
  for (const u of r.entries(node, path)) {
    if (u.key === "") {
      r.error(u.keyNode, u.path, "a umem needs a name");
      continue;
    }
    if (!r.isObject(u.value, u.path)) continue;
    let bufcnt = defaults.bufcnt;
    let bufsz = defaults.bufsz;
    let rxdesc = defaults.rxdesc;
    let txdesc = defaults.txdesc;
    let mtype = defaults.mtype;
    let regions: number[] | undefined;
    let regionsNode: Node | undefined;
    let bufcntGiven = false;
    let bufcntNode: Node | undefined;
    let sharedUmem = false;
    let description = "";
    let ok = true;
    for (const e of r.entries(u.value, u.path)) {
      switch (e.key) {
        case "bufcnt": {
          const v = r.int(e.value, e.path, BUFCNT_RULE);
          if (v === undefined) ok = false;
          else [bufcnt, bufcntGiven, bufcntNode] = [v * UNITS, true, e.value];
          break;
        }
        case "bufsz": {
          const v = r.int(e.value, e.path, BUFSZ_RULE);
          if (v === undefined) ok = false;
          else bufsz = v * UNITS;
          break;
        }
        case "rxdesc":
        case "txdesc": {
          const v = readDesc(r, e.value, e.path);
          if (v === undefined) ok = false;
          else if (v !== 0) {
            if (e.key === "rxdesc") rxdesc = v * UNITS;
            else txdesc = v * UNITS;
          }
          break;
        }
        case "mtype": {
          const v = readMemType(r, e.value, e.path);
          if (v === undefined) ok = false;
          else if (v !== "") mtype = v;
          break;
        }
        case "regions": {
          regionsNode = e.value;
          if (e.value.type !== "array") {
            r.error(e.value, e.path, `expected an array of region sizes, got ${describe(e.value)}`);
            ok = false;
            break;
          }
          const els = e.value.children ?? [];
          if (els.length === 0 || els.length > MAX_REGIONS) {
            r.error(e.value, e.path, `a umem has 1 to ${MAX_REGIONS} regions, got ${els.length}`);
            ok = false;
            break;
          }
          regions = [];
          els.forEach((el, i) => {
            const v = r.int(el, [...e.path, i], { ...BUFCNT_RULE, hint: "region sizes count units of 1024 buffers" });
            if (v === undefined) ok = false;
            else regions?.push(v * UNITS);
          });
          break;
        }
        case "shared_umem": {
          const v = r.bool(e.value, e.path);
          if (v === undefined) ok = false;
          else sharedUmem = v;
          break;
        }
        case "description":
        case "desc":
          description = r.string(e.value, e.path) ?? description;
          break;
        default:
          r.unknownKey(e, UMEM_KEYS);
      }
    }
    if (!ok) continue;
    regions ??= [bufcnt];
    const sum = regions.reduce((a, b) => a + b, 0);
    if (sum !== bufcnt && regionsNode !== undefined) {
      r.error(regionsNode, [...u.path, "regions"],
        `regions add up to ${sum / UNITS} (${sum} buffers) but bufcnt${bufcntGiven ? "" : " (from defaults)"} is ${bufcnt / UNITS} (${bufcnt} buffers)`);
      continue;
    }
    if (bufcnt * bufsz > MAX_UMEM_BYTES) {
      r.error(bufcntNode ?? u.keyNode, [...u.path, "bufcnt"],
        `${bufcnt / UNITS} x1024 frames of ${bufsz} bytes make ${formatBytes(bufcnt * bufsz)}${bufcntGiven ? "" : " (bufcnt from defaults)"}: a umem holds at most 4 GiB`);
      continue;
    }
    nodes?.set(u.key, { keyNode: u.keyNode, path: u.path, bufcnt: bufcntNode });
    const regionBase: number[] = [];
    regions.reduce((base, n) => (regionBase.push(base), base + n), 0);
    umems.set(u.key, {
      name: u.key, index: umems.size, bufcnt, bufsz, mtype, regions, regionBase, rxdesc, txdesc, sharedUmem,
      description, auto: false,
    });
  }
  return umems;
}

/** Why a netdev name is not one Linux accepts (dev_valid_name), or undefined when fine. */
export function badNetdevName(name: string): string | undefined {
  if (name.length === 0) return "the netdev name is empty";
  if (name.length > 15) return `the netdev name "${name}" is longer than 15 characters`;
  if (name === "." || name === "..") return `"${name}" is not a netdev name`;
  if (/[\s/:]/.test(name)) return `the netdev name "${name}" contains '/', ':' or a space`;
  return undefined;
}

/** Splits an lport name "<netdev>:<tag>" and says what is wrong with it, if anything. */
export function splitLportName(name: string): { netdev: string; tag: string } | { reason: string } {
  if (name.length > MAX_LPORT_NAME) return { reason: `longer than ${MAX_LPORT_NAME} characters` };
  const colon = name.indexOf(":");
  const netdev = colon < 0 ? name : name.slice(0, colon);
  const tag = colon < 0 ? "" : name.slice(colon + 1);
  const bad = badNetdevName(netdev);
  if (bad !== undefined) return { reason: bad };
  if (colon >= 0 && tag === "") return { reason: "the tag after ':' is empty" };
  return { netdev, tag };
}

/** Splits "net_af_xdp:opts" into the driver and its options, as CNDP does. */
function splitPmd(pmd: string): { pmd: string; pmdOpts: string | undefined } {
  const i = pmd.indexOf(":");
  if (i < 0) return { pmd, pmdOpts: undefined };
  const opts = pmd.slice(i + 1);
  return { pmd: pmd.slice(0, i), pmdOpts: opts === "" ? undefined : opts };
}

/** Keys common to lports and lport-groups, read into `s`; returns false when the key is not one. */
function readPortSetting(r: Reader, e: Entry, s: PortSettings): "ok" | "bad" | "unknown" {
  const fail = (v: unknown): "ok" | "bad" => (v === undefined ? "bad" : "ok");
  switch (e.key) {
    case "pmd": {
      const v = r.string(e.value, e.path, true);
      if (v !== undefined) {
        const p = splitPmd(v);
        if (p.pmd === "") {
          r.error(e.value, e.path, "the driver name before ':' is empty");
          return "bad";
        }
        const bad = pmdOptionsError(p.pmd, p.pmdOpts);
        if (bad !== undefined) {
          r.error(e.value, e.path, bad);
          return "bad";
        }
        [s.pmd, s.pmdOpts] = [p.pmd, p.pmdOpts];
      }
      return fail(v);
    }
    case "busy_poll":
    case "busy_polling": {
      const v = r.bool(e.value, e.path);
      if (v !== undefined) s.busyPoll = v;
      return fail(v);
    }
    case "busy_timeout": {
      const v = r.int(e.value, e.path, { min: 0, max: MAX_U16 });
      if (v !== undefined) s.busyTimeout = v === 0 ? CNDP_DEFAULTS.busyTimeout : v;
      return fail(v);
    }
    case "busy_budget": {
      const v = r.int(e.value, e.path, { min: 0, max: MAX_U16, hint: "0 means the default 64, 65535 disables" });
      if (v !== undefined) s.busyBudget = v === 0 ? CNDP_DEFAULTS.busyBudget : v;
      return fail(v);
    }
    case "force_wakeup": {
      const v = r.bool(e.value, e.path);
      if (v !== undefined) s.forceWakeup = v;
      return fail(v);
    }
    case "skb_mode": {
      const v = r.bool(e.value, e.path);
      if (v !== undefined) s.skbMode = v;
      return fail(v);
    }
    case "unaligned_buffers": {
      const v = r.bool(e.value, e.path);
      if (v !== undefined) s.unalignedBuffers = v;
      return fail(v);
    }
    case "multi_buffer": {
      const v = r.bool(e.value, e.path);
      if (v !== undefined) {
        s.multiBuffer = v;
        multiBufferAt.set(s, e);
      }
      return fail(v);
    }
    case "unprivileged":
    case "inhibit_prog_load": {
      const v = r.bool(e.value, e.path);
      if (v !== undefined) s.unprivileged ||= v;
      return fail(v);
    }
    default:
      return "unknown";
  }
}

function defaultSettings(): PortSettings {
  return {
    pmd: "net_af_xdp", pmdOpts: undefined, busyPoll: false, busyTimeout: CNDP_DEFAULTS.busyTimeout,
    busyBudget: CNDP_DEFAULTS.busyBudget, forceWakeup: false, skbMode: false, unalignedBuffers: false,
    unprivileged: false, multiBuffer: false,
  };
}

const PORT_KEYS = [
  "pmd", "busy_poll", "busy_polling", "busy_timeout", "busy_budget", "force_wakeup", "skb_mode",
  "unaligned_buffers", "unprivileged", "inhibit_prog_load", "description", "desc", "multi_buffer",
];
const LPORT_KEYS = [...PORT_KEYS, "netdev", "qid", "umem", "region", "xsk_pin_path", "uds_path"];
const SUN_PATH_MAX = 107;

/** `lports`: "<netdev>:<tag>" keys; pmd, qid and umem are required. */
export function decodeLports(r: Reader, node: Node, path: KeyPath): Map<string, DraftLport> {
  const lports = new Map<string, DraftLport>();
  if (!r.isObject(node, path)) return lports;
  for (const p of r.entries(node, path)) {
    const split = splitLportName(p.key);
    if ("reason" in split) {
      r.error(p.keyNode, p.path, `invalid lport name ${JSON.stringify(p.key)}: ${split.reason} (expected "<netdev>:<tag>", e.g. "eth0:0")`);
      continue;
    }
    if (!r.isObject(p.value, p.path)) continue;
    const s = defaultSettings();
    let pmdGiven = false;
    let qid: number | undefined;
    let umem: string | undefined;
    let region = 0;
    let xskPinPath: string | undefined;
    let udsPath: string | undefined;
    let pathNode: Node | undefined;
    let description = "";
    let ok = true;
    const nodes: DraftLport["nodes"] = {};
    for (const e of r.entries(p.value, p.path)) {
      const res = readPortSetting(r, e, s);
      if (res === "bad") ok = false;
      if (res !== "unknown") {
        if (e.key === "pmd") pmdGiven = true;
        continue;
      }
      switch (e.key) {
        case "qid":
          nodes.qid = e.value;
          qid = r.int(e.value, e.path, { min: 0, max: MAX_U16 });
          if (qid === undefined) ok = false;
          break;
        case "umem":
          nodes.umem = e.value;
          umem = r.string(e.value, e.path, true);
          if (umem === undefined) ok = false;
          break;
        case "region": {
          nodes.region = e.value;
          const v = r.int(e.value, e.path, { min: 0, max: MAX_REGIONS - 1 });
          if (v === undefined) ok = false;
          else region = v;
          break;
        }
        case "netdev": {
          nodes.netdev = e.value;
          const v = r.string(e.value, e.path);
          if (v === undefined) ok = false;
          else if (v !== split.netdev) {
            r.error(e.value, e.path, `netdev ${JSON.stringify(v)} does not match the lport name ${JSON.stringify(p.key)}: the part before ':' is the netdev`);
            ok = false;
          }
          break;
        }
        case "xsk_pin_path":
        case "uds_path": {
          const v = r.string(e.value, e.path, true);
          if (v === undefined) {
            ok = false;
            break;
          }
          if (pathNode !== undefined) {
            r.error(e.keyNode, e.path, `give either "uds_path" or "xsk_pin_path", not both (the other is at ${r.where(pathNode)})`);
            ok = false;
            break;
          }
          pathNode = e.keyNode;
          if (e.key === "uds_path") {
            if (Buffer.byteLength(v) > SUN_PATH_MAX) {
              r.error(e.value, e.path, `a Unix socket path has at most ${SUN_PATH_MAX} bytes, got ${Buffer.byteLength(v)}`);
              ok = false;
            }
            udsPath = v;
          } else xskPinPath = v;
          s.unprivileged = true;
          break;
        }
        case "description":
        case "desc":
          description = r.string(e.value, e.path) ?? description;
          break;
        default:
          r.unknownKey(e, LPORT_KEYS);
      }
    }
    if (!checkPortSettings(r, s)) ok = false;
    for (const [key, present] of [["pmd", pmdGiven], ["qid", nodes.qid !== undefined], ["umem", nodes.umem !== undefined]] as const) {
      if (!present) {
        r.error(p.keyNode, p.path, `missing required key "${key}"`);
        ok = false;
      }
    }
    if (!ok || qid === undefined || umem === undefined) continue;
    lports.set(p.key, {
      value: {
        name: p.key, index: lports.size, netdev: split.netdev, tag: split.tag, ...s, qid, umem, region,
        xskPinPath, udsPath, description, lportGroup: undefined, thread: undefined,
      },
      keyNode: p.keyNode,
      path: p.path,
      nodes,
    });
  }
  return lports;
}

/** `lcore-groups`: arrays of CPU numbers and "a-b" ranges. */
export function decodeLcoreGroups(r: Reader, node: Node, path: KeyPath, cpus: CpuCheck, nodes?: Map<string, { node: Node; path: KeyPath }>): Map<string, LcoreGroup> {
  const groups = new Map<string, LcoreGroup>();
  if (!r.isObject(node, path)) return groups;
  for (const g of r.entries(node, path)) {
    if (g.value.type !== "array") {
      r.error(g.value, g.path, `expected an array of CPU numbers or "a-b" ranges, got ${describe(g.value)}`);
      continue;
    }
    const set = new Set<number>();
    let ok = true;
    (g.value.children ?? []).forEach((el, i) => {
      const p = [...g.path, i];
      let values: number[] = [];
      if (el.type === "number") {
        const v = r.int(el, p, { min: 0, max: MAX_CPU });
        if (v === undefined) return void (ok = false);
        values = [v];
      } else if (el.type === "string") {
        const s = el.value as string;
        if (s.trim() === "") {
          r.warn(el, p, "an empty CPU string; read as CPU 0, as CNDP does");
          values = [0];
        } else {
          const res = parseRangeList(s, MAX_CPU);
          if (!res.ok) {
            r.error(el, p, `bad CPU list: ${res.reason}`);
            return void (ok = false);
          }
          values = res.values;
        }
      } else {
        r.error(el, p, `expected a CPU number or a "a-b" range, got ${describe(el)}`);
        return void (ok = false);
      }
      for (const cpu of values) {
        if (set.has(cpu)) r.warn(el, p, `CPU ${cpu} is listed more than once`);
        set.add(cpu);
        if (cpus.mode !== "off" && !cpus.online.has(cpu)) {
          const msg = `CPU ${cpu} is not online on this machine (online: ${cpus.onlineText})`;
          if (cpus.mode === "error") {
            r.error(el, p, msg);
            ok = false;
          } else r.warn(el, p, msg);
        }
      }
    });
    if (!ok) continue;
    if (set.size === 0) {
      r.error(g.value, g.path, "an lcore group needs at least one CPU");
      continue;
    }
    groups.set(g.key, { name: g.key, lcores: [...set].sort((a, b) => a - b) });
    nodes?.set(g.key, { node: g.value, path: g.path });
  }
  return groups;
}

/**
 * Options whose type CNDP's apps fix (cndpfwd's `mode` and `pkt_api` are strings): a value of another kind is an error here, in the file, rather than a silent default in the
 * app. Keys are matched without case, as jcfg_option_get does. Which string values an app accepts is
 * the app's to check (`configError` points at the value).
 */
export const OPTION_TYPES: ReadonlyMap<string, { type: "string"; hint: string }> = new Map([
  ["mode", { type: "string", hint: "one of drop, rx-only, lb, loopback, tx-only, tx-only-rx, fwd" }],
  ["pkt_api", { type: "string", hint: "xskdev or pktdev" }],
]);

/** `options`: free keys, values checked to be what jcfg can hold (and the type of the known ones). */
export function decodeOptions(r: Reader, node: Node, path: KeyPath): Map<string, OptionValue> {
  const options = new Map<string, OptionValue>();
  if (!r.isObject(node, path)) return options;
  for (const e of r.entries(node, path)) {
    const known = OPTION_TYPES.get(e.key.toLowerCase());
    if (known !== undefined && e.value.type !== known.type) {
      r.error(e.value, e.path, `expected a string (${known.hint}), got ${describe(e.value)}`);
      continue;
    }
    const v = readOption(r, e.value, e.path);
    if (v !== undefined) options.set(e.key, v);
  }
  return options;
}

const THREAD_KEYS = ["group", "lports", "idle_timeout", "intr_timeout", "description", "desc"];

/** `threads`: "<type>[:<id>]" keys; keys inside are matched without case, as CNDP does. */
export function decodeThreads(r: Reader, node: Node, path: KeyPath): Map<string, DraftThread> {
  const threads = new Map<string, DraftThread>();
  if (!r.isObject(node, path)) return threads;
  for (const t of r.entries(node, path)) {
    const colon = t.key.indexOf(":");
    const type = colon < 0 ? t.key : t.key.slice(0, colon);
    const id = colon < 0 ? undefined : t.key.slice(colon + 1);
    if (type === "" || id === "") {
      r.error(t.keyNode, t.path, `invalid thread name ${JSON.stringify(t.key)}: expected "<type>" or "<type>:<id>", e.g. "fwd:0"`);
      continue;
    }
    if (!r.isObject(t.value, t.path)) continue;
    let group: string | undefined;
    let groupNode: Node | undefined;
    let lportRefs: DraftThread["lportRefs"] = [];
    let idleTimeout = 0;
    let intrTimeout = 0;
    let description = "";
    let ok = true;
    for (const e of r.entries(t.value, t.path)) {
      switch (e.key.toLowerCase()) {
        case "group":
          groupNode = e.value;
          group = r.string(e.value, e.path, true);
          if (group === undefined) ok = false;
          break;
        case "lports": {
          const v = r.strings(e.value, e.path);
          if (v === undefined) ok = false;
          else lportRefs = v;
          break;
        }
        case "idle_timeout":
        case "intr_timeout": {
          const v = r.int(e.value, e.path, { min: 0, max: MAX_U32, hint: "milliseconds" });
          if (v === undefined) ok = false;
          else if (e.key.toLowerCase() === "idle_timeout") idleTimeout = v;
          else intrTimeout = v;
          break;
        }
        case "description":
        case "desc":
          description = r.string(e.value, e.path) ?? description;
          break;
        default:
          r.unknownKey(e, THREAD_KEYS);
      }
    }
    if (!ok) continue;
    threads.set(t.key, {
      value: {
        name: t.key, index: threads.size, type, id, group, lcores: [], lports: [], idleTimeout, intrTimeout,
        description,
      },
      keyNode: t.keyNode,
      path: t.path,
      groupNode,
      lportRefs,
    });
  }
  return threads;
}

/** Reads `queues`: an integer, "a-b", "all", or an array of integers and ranges; sorted, unique. */
function readQueues(r: Reader, node: Node, path: KeyPath): number[] | "all" | undefined {
  const set = new Set<number>();
  const one = (el: Node, p: KeyPath, inArray: boolean): boolean => {
    if (el.type === "number") {
      const v = r.int(el, p, { min: 0, max: MAX_U16 });
      if (v === undefined) return false;
      set.add(v);
      return true;
    }
    if (el.type === "string") {
      const res = parseRange(el.value as string, MAX_U16);
      if (!res.ok) {
        const all = (el.value as string).trim() === "all";
        r.error(el, p, all && inArray ? `"all" cannot be part of a list` : `bad queue list: ${res.reason}${inArray ? "" : ` (or "all")`}`);
        return false;
      }
      for (const v of res.values) set.add(v);
      return true;
    }
    r.error(el, p, `expected a queue number, a "a-b" range${inArray ? "" : `, "all" or an array of these`}, got ${describe(el)}`);
    return false;
  };
  if (node.type === "string" && (node.value as string) === "all") return "all";
  if (node.type === "array") {
    const els = node.children ?? [];
    if (els.length === 0) {
      r.error(node, path, "an empty queue list");
      return undefined;
    }
    let ok = true;
    els.forEach((el, i) => {
      if (!one(el, [...path, i], true)) ok = false;
    });
    if (!ok) return undefined;
  } else if (!one(node, path, false)) return undefined;
  return [...set].sort((a, b) => a - b);
}

const LPORT_GROUP_KEYS = [...PORT_KEYS, "netdevs", "queues", "threads", "umem"];

/** `lport-groups`: decoded here, expanded into lports and thread assignments by resolve.ts. */
export function decodeLportGroups(r: Reader, node: Node, path: KeyPath): DraftLportGroup[] {
  const groups: DraftLportGroup[] = [];
  if (!r.isObject(node, path)) return groups;
  for (const g of r.entries(node, path)) {
    if (!r.isObject(g.value, g.path)) continue;
    const settings = defaultSettings();
    let netdevs: DraftLportGroup["netdevs"] | undefined;
    let threads: DraftLportGroup["threads"] | undefined;
    let queues: number[] | "all" | undefined = "all";
    let queuesNode: Node | undefined;
    let umem = LPORT_GROUP_UMEM;
    let umemNode: Node | undefined;
    let description = "";
    let ok = true;
    const given = new Set<string>();
    for (const e of r.entries(g.value, g.path)) {
      given.add(e.key);
      const res = readPortSetting(r, e, settings);
      if (res === "bad") ok = false;
      if (res !== "unknown") continue;
      switch (e.key) {
        case "netdevs": {
          netdevs = r.strings(e.value, e.path);
          if (netdevs === undefined) {
            ok = false;
            break;
          }
          const seen = new Set<string>();
          for (const n of netdevs) {
            const bad = badNetdevName(n.value);
            if (bad !== undefined) {
              r.error(n.node, n.path, bad);
              ok = false;
            } else if (seen.has(n.value)) {
              r.error(n.node, n.path, `netdev ${JSON.stringify(n.value)} is listed twice`);
              ok = false;
            }
            seen.add(n.value);
          }
          break;
        }
        case "queues":
          queuesNode = e.value;
          queues = readQueues(r, e.value, e.path);
          if (queues === undefined) ok = false;
          break;
        case "threads":
          threads = r.strings(e.value, e.path);
          if (threads === undefined) ok = false;
          break;
        case "umem": {
          umemNode = e.value;
          const v = r.string(e.value, e.path, true);
          if (v === undefined) ok = false;
          else umem = v;
          break;
        }
        case "description":
        case "desc":
          description = r.string(e.value, e.path) ?? description;
          break;
        default:
          r.unknownKey(e, LPORT_GROUP_KEYS);
      }
    }
    if (!checkPortSettings(r, settings)) ok = false;
    for (const [key, list] of [["netdevs", netdevs], ["threads", threads]] as const) {
      if (!given.has(key)) {
        r.error(g.keyNode, g.path, `missing required key "${key}"`);
        ok = false;
      } else if (list !== undefined && list.length === 0) {
        r.error(g.keyNode, [...g.path, key], `an lport-group needs at least one ${key === "netdevs" ? "netdev" : "thread"}`);
        ok = false;
      }
    }
    if (!ok || netdevs === undefined || threads === undefined || queues === undefined) continue;
    groups.push({
      name: g.key, keyNode: g.keyNode, path: g.path, netdevs, queues, queuesNode, threads, umem, umemNode,
      settings, description,
    });
  }
  return groups;
}
