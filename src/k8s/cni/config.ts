/**
 * The `afxdp` CNI's network configuration (a NAD's `spec.config`, or a plugin entry of a `.conflist`),
 * as the upstream AF_XDP CNI reads it (../shared/reference/afxdp-k8s-protocol.md "CNI config"), plus the
 * standard CNI fields (SPEC.md "Network configuration", 1.1.0).
 *
 * Fields: `cniVersion`, `name`, `type`, `ipam {type, ...}`, `dns`, `prevResult`, `runtimeConfig`, `args`;
 * upstream's `deviceID` (the netdev; Multus fills it from the device plugin's allocation), `mode`
 * (`primary` | `cdq`), `skipUnloadBpf`, `queues`, `logFile` (a file name in /var/log/afxdp-k8s-plugins),
 * `logLevel` (debug|info|warning|error), `ethtoolCmds` (ethtool arguments, `-device-` and `-ip-` replaced),
 * `dpSyncer`; GC's `cni.dev/valid-attachments` (also read as `cni.dev/attachments`, which libcni sends too).
 * Unknown keys are allowed.
 *
 * Errors: stdin not a JSON object → code 6; cniVersion missing (read as 0.1.0, as libcni does) or not
 * supported → 1; a field of the wrong type or value → 7, naming the field.
 *
 * @example
 * const conf = parseNetConf(readFileSync(0, "utf8"), "ADD");
 */
import { CNI_ERR, CniError } from "./errors.js";
import { isSupported, SUPPORTED_VERSIONS, LATEST_VERSION } from "./version.js";
import { parseDns, parseResult, type CniDns, type CniResult } from "./result.js";

export const MODES = ["primary", "cdq"] as const;
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;
/** Upstream's log folder; `logFile` names a file in it. */
export const LOG_DIR = "/var/log/afxdp-k8s-plugins";
/** Upstream's checks: a device name, a log file name, an ethtool command. */
export const DEVICE_NAME_RE = /^[a-zA-Z0-9_-]+$/;
export const LOG_FILE_RE = /^[a-zA-Z0-9_-]+(\.log|\.txt)$/;
export const ETHTOOL_CMD_RE = /^[a-zA-Z0-9\-:./\s]+$/;
/** Placeholders of ethtoolCmds. */
export const DEVICE_PLACEHOLDER = "-device-";
export const IP_PLACEHOLDER = "-ip-";

export interface Attachment {
  containerID: string;
  ifname: string;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** The netdev (keeps its name in the pod); required for ADD and CHECK. */
  deviceID?: string;
  mode: (typeof MODES)[number];
  skipUnloadBpf: boolean;
  queues?: string;
  logFile?: string;
  logLevel?: (typeof LOG_LEVELS)[number];
  ethtoolCmds: string[];
  dpSyncer: boolean;
  /** The IPAM section (its `type` names the plugin), undefined without IPAM. */
  ipam?: { type: string } & Record<string, unknown>;
  dns: CniDns;
  prevResult?: CniResult;
  /** GC: the attachments still in use, undefined when the key is absent. */
  validAttachments?: Attachment[];
  /** The whole object as read (delegated to IPAM). */
  raw: Record<string, unknown>;
}

function invalid(field: string, what: string): never {
  throw new CniError(CNI_ERR.INVALID_CONFIG, `Invalid network configuration: ${field}: ${what}`);
}

/** Decodes stdin: a JSON object, else code 6. */
export function decodeStdin(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CniError(CNI_ERR.DECODE, `Cannot decode the network configuration on stdin: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new CniError(CNI_ERR.DECODE, "Cannot decode the network configuration on stdin: not a JSON object");
  }
  return v as Record<string, unknown>;
}

/** The config's cniVersion (absent means 0.1.0, as libcni reads it); code 6 when not a string. */
export function configVersion(raw: Record<string, unknown>): string {
  const v = raw["cniVersion"];
  if (v === undefined || v === "") return "0.1.0";
  if (typeof v !== "string") throw new CniError(CNI_ERR.DECODE, `Cannot decode cniVersion: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Throws code 1 unless `version` is one this plugin supports. */
export function requireSupported(version: string): void {
  if (!isSupported(version)) {
    throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, "incompatible CNI versions",
      `config is "${version}", plugin supports [${SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(" ")}]`);
  }
}

function optString(raw: Record<string, unknown>, k: string): string | undefined {
  const v = raw[k];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") invalid(k, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function optBool(raw: Record<string, unknown>, k: string): boolean {
  const v = raw[k];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") invalid(k, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function attachments(v: unknown, key: string): Attachment[] {
  if (!Array.isArray(v)) invalid(key, "expected an array of {containerID, ifname}");
  return v.map((a, i) => {
    const o = a as Record<string, unknown> | null;
    if (typeof o !== "object" || o === null || typeof o["containerID"] !== "string" || typeof o["ifname"] !== "string") {
      invalid(`${key}[${i}]`, "expected {containerID: string, ifname: string}");
    }
    return { containerID: o["containerID"] as string, ifname: o["ifname"] as string };
  });
}

/**
 * Parses and checks a network configuration. `command` decides what is required: `deviceID` for ADD
 * and CHECK. The version is checked first (code 1), then every field (code 7).
 */
export function parseNetConf(text: string | Record<string, unknown>, command = "ADD"): NetConf {
  const raw = typeof text === "string" ? decodeStdin(text) : text;
  const cniVersion = configVersion(raw);
  requireSupported(cniVersion);
  const name = raw["name"];
  if (typeof name !== "string" || name === "") invalid("name", "a non-empty string is required");
  const type = raw["type"];
  if (typeof type !== "string" || type === "") invalid("type", "a non-empty string is required");

  const deviceID = optString(raw, "deviceID");
  if (deviceID !== undefined) {
    if (!DEVICE_NAME_RE.test(deviceID)) invalid("deviceID", `'${deviceID}': device names must only contain letters, numbers, '_' and '-'`);
    if (deviceID.length > 15) invalid("deviceID", `'${deviceID}': a netdev name has at most 15 characters`);
  } else if (command === "ADD" || command === "CHECK") {
    invalid("deviceID", "no device specified (the netdev to move into the pod; Multus sets it from the device plugin's allocation)");
  }
  const mode = optString(raw, "mode") ?? "primary";
  if (!(MODES as readonly string[]).includes(mode)) invalid("mode", `'${mode}': must be one of ${MODES.join(", ")}`);
  const logFile = optString(raw, "logFile");
  if (logFile !== undefined && !LOG_FILE_RE.test(logFile)) invalid("logFile", `'${logFile}': must be a file name ending in .log or .txt`);
  const logLevel = optString(raw, "logLevel");
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) invalid("logLevel", `'${logLevel}': must be one of ${LOG_LEVELS.join(", ")}`);
  const queues = optString(raw, "queues");

  let ethtoolCmds: string[] = [];
  const ec = raw["ethtoolCmds"];
  if (ec !== undefined && ec !== null) {
    if (!Array.isArray(ec)) invalid("ethtoolCmds", "expected an array of strings");
    ethtoolCmds = ec.map((c, i) => {
      if (typeof c !== "string" || c.trim() === "") invalid(`ethtoolCmds[${i}]`, "must be a non-empty string");
      if (!ETHTOOL_CMD_RE.test(c)) invalid(`ethtoolCmds[${i}]`, `'${c}': only letters, digits, spaces and - : . / are allowed`);
      return c;
    });
  }

  let ipam: NetConf["ipam"];
  const ip = raw["ipam"];
  if (ip !== undefined && ip !== null) {
    if (typeof ip !== "object" || Array.isArray(ip)) invalid("ipam", "expected an object");
    const t = (ip as Record<string, unknown>)["type"];
    if (t !== undefined && t !== "") {
      if (typeof t !== "string" || !/^[a-zA-Z0-9_.-]+$/.test(t)) invalid("ipam.type", `'${String(t)}' is not a plugin name`);
      ipam = ip as NetConf["ipam"];
    }
  }
  if (ethtoolCmds.some((c) => c.includes(IP_PLACEHOLDER)) && !ipam) {
    invalid("ethtoolCmds", `'${IP_PLACEHOLDER}' needs an address, but no ipam is configured`);
  }

  let dns: CniDns;
  try {
    dns = parseDns(raw["dns"]);
  } catch (e) {
    invalid("dns", (e as Error).message);
  }

  const conf: NetConf = {
    cniVersion, name, type, mode: mode as NetConf["mode"], skipUnloadBpf: optBool(raw, "skipUnloadBpf"), ethtoolCmds,
    dpSyncer: optBool(raw, "dpSyncer"), dns, raw,
  };
  if (deviceID !== undefined) conf.deviceID = deviceID;
  if (queues !== undefined) conf.queues = queues;
  if (logFile !== undefined) conf.logFile = logFile;
  if (logLevel !== undefined) conf.logLevel = logLevel as (typeof LOG_LEVELS)[number];
  if (ipam) conf.ipam = ipam;
  const prev = raw["prevResult"];
  if (prev !== undefined && prev !== null) conf.prevResult = parseResult(prev, cniVersion, "prevResult");
  for (const key of ["cni.dev/valid-attachments", "cni.dev/attachments"]) {
    if (raw[key] !== undefined && conf.validAttachments === undefined) conf.validAttachments = attachments(raw[key], key);
  }
  return conf;
}

export { LATEST_VERSION };
