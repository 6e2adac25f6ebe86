/**
 * The device plugin's config.json, as the upstream AF_XDP device plugin for Kubernetes reads it: keys are
 * matched case-insensitively, unknown keys are ignored, and the same limits apply. Every error names the
 * field (`pools[0].drivers[1].primary: ...`).
 *
 * Our additions (pool fields): `allowVirtualDevices` (admit veth and other netdevs without a
 * /sys/class/net/<if>/device link) and `legacyPaths` (mounts and env of the older layout: `/tmp/afxdp.sock`,
 * `/tmp/xsks_map`, `AFXDP_DEVICES`, used by DPDK 23.03-23.11), and `napiDeferHardIrqs` / `groFlushTimeout`
 * (ns): the pool's netdevs' NAPI knobs for preferred busy polling, which an unprivileged pod cannot set
 * (its `/config_busy_poll` sets only the socket's options); written at start where they are 0, restored
 * at stop (src/xsk/napi-knobs.ts).
 *
 * @example
 * const cfg = parseDpConfig(readFileSync("config.json", "utf8"), "config.json");
 * for (const pool of cfg.pools) console.log(pool.name, pool.udsTimeoutSeconds);
 */
import { readFileSync } from "node:fs";

/** Limits of the upstream plugin (constants/constants.go there). */
export const LIMITS = {
  poolNameMin: 1,
  poolNameMax: 20,
  deviceNameMin: 1,
  deviceNameMax: 50,
  driverNameMin: 1,
  driverNameMax: 50,
  primaryMin: 1,
  primaryMax: 10,
  secondaryMin: 1,
  secondaryMax: 64,
  hostnameMin: 1,
  hostnameMax: 63,
  udsTimeoutMin: 30,
  udsTimeoutMax: 300,
  /** Default UdsTimeout (seconds) when the field is 0 or absent. */
  udsTimeoutDefault: 30,
  uidMin: 1000,
  uidMax: 256000,
} as const;

export const MODES = ["primary", "cdq"] as const;
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;
export type PoolMode = (typeof MODES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

const NAME_RE = /^[a-zA-Z0-9_-]+$/;
const POOL_NAME_RE = /^[a-zA-Z0-9]+$/;
// Upstream allows [a-zA-Z0-9-]; we also allow dots (FQDN node names are valid Linux hostnames).
const HOSTNAME_RE = /^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$/;
const PCI_RE = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2,4}:[0-9a-fA-F]{2}\.[0-9a-fA-F]$/;
const LOG_FILE_RE = /^[a-zA-Z0-9_-]+(\.log|\.txt)$/;
const MAC_RE = /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$|^([0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}$/;

/** A device selector: exactly one of name, pci, mac. */
export interface DeviceSelector {
  name: string;
  pci: string;
  /** Lowercase, colon-separated (normalised from any accepted form). */
  mac: string;
  /** Secondary devices per primary (cdq mode), 0 = unset. */
  secondary: number;
}

export interface DriverSelector {
  name: string;
  /** How many primaries of this driver the pool takes on a node, 0 = all. */
  primary: number;
  secondary: number;
  excludeDevices: DeviceSelector[];
  /** Skip netdevs that have an IP address. */
  excludeAddressed: boolean;
}

export interface NodeOverride {
  hostname: string;
  devices: DeviceSelector[];
  drivers: DriverSelector[];
}

export interface PoolConfig {
  name: string;
  mode: PoolMode;
  drivers: DriverSelector[];
  devices: DeviceSelector[];
  nodes: NodeOverride[];
  udsServerDisable: boolean;
  bpfMapPinningEnable: boolean;
  /** The field as written: -1 (never), 0 (default) or 30..300. */
  udsTimeout: number;
  /** Effective timeout in seconds: 0 = never, else 30..300 (0 in the file means 30). */
  udsTimeoutSeconds: number;
  udsFuzz: boolean;
  requiresUnprivilegedBpf: boolean;
  /** The pod user that gets access to the sockets (0 = none). */
  uid: number;
  /** Ours: admit virtual netdevs (veth, ...). */
  allowVirtualDevices: boolean;
  /** Ours: mounts and env of the older layout (/tmp/afxdp.sock, /tmp/xsks_map, AFXDP_DEVICES). */
  legacyPaths: boolean;
  /**
   * Ours: napi_defer_hard_irqs and gro_flush_timeout (ns) for the pool's netdevs (preferred busy polling
   * by the pods); 0 and 0 leave them alone. Both or neither.
   */
  napiDeferHardIrqs: number;
  groFlushTimeout: number;
}

export interface DpConfig {
  logLevel: LogLevel | "";
  logFile: string;
  kindCluster: boolean;
  pools: PoolConfig[];
}

/** A config error; `field` is the path of the offending field (`pools[0].name`). */
export class ConfigError extends Error {
  readonly field: string;
  constructor(source: string, field: string, message: string) {
    super(`${source}: ${field ? `${field}: ` : ""}${message}`);
    this.name = "ConfigError";
    this.field = field;
  }
}

type Obj = Record<string, unknown>;

/** Reads and validates a config file. */
export function loadDpConfig(path: string): DpConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(path, "", `cannot read: ${(e as Error).message}`);
  }
  return parseDpConfig(text, path);
}

/** Parses and validates config text; `source` names it in errors. */
export function parseDpConfig(text: string, source = "config.json"): DpConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(source, "", `not valid JSON: ${(e as Error).message}`);
  }
  const r = new Reader(source);
  const top = r.object(raw, "");
  const logLevel = r.string(top, "logLevel", "");
  if (logLevel !== "" && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    r.fail("logLevel", `must be one of ${LOG_LEVELS.join(", ")}`);
  }
  const logFile = r.string(top, "logFile", "");
  if (logFile !== "" && !LOG_FILE_RE.test(logFile)) r.fail("logFile", "must be a valid .log or .txt filename");
  const kindCluster = r.bool(top, "kindCluster", "");
  const pools = r.array(top, "pools", "", (v, p) => {
    if (v === null) r.fail(p, "cannot be null");
    return readPool(r, r.object(v, p), p);
  });
  const seen = new Map<string, string>();
  pools.forEach((pool, i) => {
    const key = pool.name.toLowerCase();
    const prev = seen.get(key);
    if (prev) r.fail(`pools[${i}].name`, `'${pool.name}' is already the name of ${prev}`);
    seen.set(key, `pools[${i}]`);
  });
  return { logLevel: logLevel as LogLevel | "", logFile, kindCluster, pools };
}

function readPool(r: Reader, o: Obj, p: string): PoolConfig {
  const name = r.string(o, "name", p);
  const f = (k: string) => `${p}.${k}`;
  if (name === "") r.fail(f("name"), "Pool must have a name");
  if (!POOL_NAME_RE.test(name)) r.fail(f("name"), `'${name}': Pool name must only contain letters and numbers`);
  if (name.length < LIMITS.poolNameMin || name.length > LIMITS.poolNameMax) {
    r.fail(f("name"), `'${name}': Pool name must be between ${LIMITS.poolNameMin} and ${LIMITS.poolNameMax} characters`);
  }
  const mode = r.string(o, "mode", p);
  if (mode === "") r.fail(f("mode"), "Pool must have a mode");
  if (!(MODES as readonly string[]).includes(mode)) r.fail(f("mode"), `'${mode}': must be one of ${MODES.join(", ")}`);
  const drivers = r.array(o, "drivers", p, (v, q) => readDriver(r, r.object(v, q), q));
  const devices = r.array(o, "devices", p, (v, q) => readDevice(r, r.object(v, q), q));
  const nodes = r.array(o, "nodes", p, (v, q) => readNode(r, r.object(v, q), q));
  if (drivers.length === 0 && devices.length === 0 && nodes.length === 0) {
    r.fail(p, "Pool must contain devices, drivers or nodes");
  }
  const udsTimeout = r.int(o, "udsTimeout", p);
  if (udsTimeout !== -1 && udsTimeout !== 0 && (udsTimeout < LIMITS.udsTimeoutMin || udsTimeout > LIMITS.udsTimeoutMax)) {
    r.fail(f("udsTimeout"), `${udsTimeout}: UDS socket timeout must be -1, 0, or between ${LIMITS.udsTimeoutMin} and ${LIMITS.udsTimeoutMax} seconds`);
  }
  const uid = r.int(o, "uid", p);
  if (uid !== 0 && (uid < LIMITS.uidMin || uid > LIMITS.uidMax)) {
    r.fail(f("uid"), `${uid}: must be 0 or between ${LIMITS.uidMin} and ${LIMITS.uidMax}`);
  }
  const napiDeferHardIrqs = r.int(o, "napiDeferHardIrqs", p);
  const groFlushTimeout = r.int(o, "groFlushTimeout", p);
  if (napiDeferHardIrqs < 0 || napiDeferHardIrqs > 0x7fffffff) r.fail(f("napiDeferHardIrqs"), `${napiDeferHardIrqs}: must be between 0 and 2147483647 (polls)`);
  if (groFlushTimeout < 0) r.fail(f("groFlushTimeout"), `${groFlushTimeout}: must be 0 or more (nanoseconds)`);
  if ((napiDeferHardIrqs > 0) !== (groFlushTimeout > 0)) {
    r.fail(f(napiDeferHardIrqs > 0 ? "groFlushTimeout" : "napiDeferHardIrqs"), "napiDeferHardIrqs and groFlushTimeout work together: set both (e.g. 2 and 200000) or neither");
  }
  return {
    name,
    mode: mode as PoolMode,
    drivers,
    devices,
    nodes,
    udsServerDisable: r.bool(o, "udsServerDisable", p),
    bpfMapPinningEnable: r.bool(o, "bpfMapPinningEnable", p),
    udsTimeout,
    udsTimeoutSeconds: udsTimeout === -1 ? 0 : udsTimeout === 0 ? LIMITS.udsTimeoutDefault : udsTimeout,
    udsFuzz: r.bool(o, "udsFuzz", p),
    requiresUnprivilegedBpf: r.bool(o, "requiresUnprivilegedBpf", p),
    uid,
    allowVirtualDevices: r.bool(o, "allowVirtualDevices", p),
    legacyPaths: r.bool(o, "legacyPaths", p),
    napiDeferHardIrqs,
    groFlushTimeout,
  };
}

function readSecondary(r: Reader, o: Obj, p: string): number {
  const n = r.int(o, "secondary", p);
  if (n !== 0 && (n < LIMITS.secondaryMin || n > LIMITS.secondaryMax)) {
    r.fail(`${p}.secondary`, `${n}: Number of secondary devices must be between ${LIMITS.secondaryMin} and ${LIMITS.secondaryMax}`);
  }
  return n;
}

function readDevice(r: Reader, o: Obj, p: string): DeviceSelector {
  const name = r.string(o, "name", p);
  const pci = r.string(o, "pci", p);
  const mac = r.string(o, "mac", p);
  const given = [name, pci, mac].filter((s) => s !== "").length;
  if (given === 0) r.fail(p, "Device must be identified by either name, pci, or mac");
  if (given > 1) r.fail(p, "Only one form of device identification can be used: name, pci, or mac");
  if (name !== "") {
    if (!NAME_RE.test(name)) r.fail(`${p}.name`, `'${name}': Device name must only contain letters, numbers, hyphen and underscore`);
    if (name.length < LIMITS.deviceNameMin || name.length > LIMITS.deviceNameMax) {
      r.fail(`${p}.name`, `'${name}': Device name must be between ${LIMITS.deviceNameMin} and ${LIMITS.deviceNameMax} characters`);
    }
  }
  if (pci !== "" && !PCI_RE.test(pci)) r.fail(`${p}.pci`, `'${pci}': Device PCI must be a valid BDF PCI address`);
  if (mac !== "" && !MAC_RE.test(mac)) r.fail(`${p}.mac`, `'${mac}': Device MAC must be a valid MAC address`);
  return { name, pci: pci.toLowerCase(), mac: normaliseMac(mac), secondary: readSecondary(r, o, p) };
}

/** "AA-BB-CC-DD-EE-FF" or "aabb.ccdd.eeff" -> "aa:bb:cc:dd:ee:ff"; "" stays "". */
export function normaliseMac(mac: string): string {
  if (mac === "") return "";
  const hex = mac.replace(/[:.-]/g, "").toLowerCase();
  return hex.match(/../g)!.join(":");
}

function readDriver(r: Reader, o: Obj, p: string): DriverSelector {
  const name = r.string(o, "name", p);
  if (name === "") r.fail(`${p}.name`, "Driver must have a name");
  if (!NAME_RE.test(name)) r.fail(`${p}.name`, `'${name}': Driver name must only contain letters, numbers, hyphen and underscore`);
  if (name.length < LIMITS.driverNameMin || name.length > LIMITS.driverNameMax) {
    r.fail(`${p}.name`, `'${name}': Driver name must be between ${LIMITS.driverNameMin} and ${LIMITS.driverNameMax} characters`);
  }
  const primary = r.int(o, "primary", p);
  if (primary !== 0 && (primary < LIMITS.primaryMin || primary > LIMITS.primaryMax)) {
    r.fail(`${p}.primary`, `${primary}: Number of primary devices must be between ${LIMITS.primaryMin} and ${LIMITS.primaryMax}`);
  }
  return {
    name,
    primary,
    secondary: readSecondary(r, o, p),
    excludeDevices: r.array(o, "excludeDevices", p, (v, q) => readDevice(r, r.object(v, q), q)),
    excludeAddressed: r.bool(o, "excludeAddressed", p),
  };
}

function readNode(r: Reader, o: Obj, p: string): NodeOverride {
  const hostname = r.string(o, "hostname", p);
  if (hostname === "") r.fail(`${p}.hostname`, "Node must have a hostname");
  if (!HOSTNAME_RE.test(hostname)) r.fail(`${p}.hostname`, `'${hostname}': Node hostname must be a valid Linux hostname`);
  if (hostname.length < LIMITS.hostnameMin || hostname.length > LIMITS.hostnameMax) {
    r.fail(`${p}.hostname`, `'${hostname}': Node hostname must be between ${LIMITS.hostnameMin} and ${LIMITS.hostnameMax} characters`);
  }
  const devices = r.array(o, "devices", p, (v, q) => readDevice(r, r.object(v, q), q));
  const drivers = r.array(o, "drivers", p, (v, q) => readDriver(r, r.object(v, q), q));
  if (devices.length === 0 && drivers.length === 0) r.fail(p, "Node must contain devices or drivers");
  return { hostname, devices, drivers };
}

/** Typed, case-insensitive field access with errors that name the field. */
class Reader {
  constructor(private readonly source: string) {}

  fail(field: string, message: string): never {
    throw new ConfigError(this.source, field, message);
  }

  /** A JSON object as a map from lowercased key to value (the last of keys equal but for case wins). */
  object(v: unknown, p: string): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(p, `must be an object, not ${kind(v)}`);
    const out: Obj = {};
    for (const [k, val] of Object.entries(v as Obj)) out[k.toLowerCase()] = val;
    return out;
  }

  private get(o: Obj, key: string): unknown {
    return o[key.toLowerCase()];
  }

  private path(p: string, key: string): string {
    return p ? `${p}.${key}` : key;
  }

  string(o: Obj, key: string, p: string): string {
    const v = this.get(o, key);
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") this.fail(this.path(p, key), `must be a string, not ${kind(v)}`);
    return v;
  }

  bool(o: Obj, key: string, p: string): boolean {
    const v = this.get(o, key);
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") this.fail(this.path(p, key), `must be true or false, not ${kind(v)}`);
    return v;
  }

  int(o: Obj, key: string, p: string): number {
    const v = this.get(o, key);
    if (v === undefined || v === null) return 0;
    if (typeof v !== "number" || !Number.isSafeInteger(v)) this.fail(this.path(p, key), `must be an integer, not ${kind(v)}`);
    return v;
  }

  array<T>(o: Obj, key: string, p: string, each: (v: unknown, path: string) => T): T[] {
    const v = this.get(o, key);
    if (v === undefined || v === null) return [];
    const here = this.path(p, key);
    if (!Array.isArray(v)) this.fail(here, `must be an array, not ${kind(v)}`);
    return v.map((e, i) => each(e, `${here}[${i}]`));
  }
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number") return Number.isInteger(v) ? `the number ${v}` : `the number ${v}`;
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v)}`;
  return typeof v === "object" ? "an object" : typeof v;
}
