/**
 * The CNI result (SPEC.md "Success" / "ADD Success", and IPAM's abbreviated result), held in the 1.1.0
 * shape and read from and written in each supported version:
 * - 0.3.0, 0.3.1, 0.4.0: `ips[]` carry `"version": "4" | "6"`.
 * - 1.0.0: no `version` in `ips[]`.
 * - 1.1.0: interfaces may carry `mtu`, `socketPath`, `pciID`; routes `mtu`, `advmss`, `priority`, `table`,
 *   `scope`. Older versions drop these fields.
 *
 * @example
 * const r = parseResult(JSON.parse(ipamStdout), "0.3.1");     // ips[].version checked and dropped
 * process.stdout.write(JSON.stringify(formatResult(r, "0.4.0")));
 */
import { isIPv4, isIPv6 } from "node:net";
import { CNI_ERR, CniError } from "./errors.js";
import { atLeast } from "./version.js";

export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1.0 */
  mtu?: number;
  /** The namespace path for interfaces in the container; absent for host interfaces. */
  sandbox?: string;
  /** 1.1.0 */
  socketPath?: string;
  /** 1.1.0 */
  pciID?: string;
}

export interface CniIp {
  /** CIDR: "10.1.0.5/24". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  /** CIDR: "0.0.0.0/0". */
  dst: string;
  gw?: string;
  /** 1.1.0 */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A result in the 1.1.0 shape (cniVersion as it was read). */
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: CniDns;
}

const ROUTE_11 = ["mtu", "advmss", "priority", "table", "scope"] as const;

function fail(where: string, what: string): never {
  throw new CniError(CNI_ERR.DECODE, `Cannot decode ${where}: ${what}`);
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(where, "not an object");
  return v as Record<string, unknown>;
}

function arr(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(where, "not an array");
  return v;
}

function str(o: Record<string, unknown>, k: string, where: string, required = false): string | undefined {
  const v = o[k];
  if (v === undefined || v === null || (v === "" && !required)) {
    if (required) fail(`${where}.${k}`, "missing");
    return undefined;
  }
  if (typeof v !== "string") fail(`${where}.${k}`, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function int(o: Record<string, unknown>, k: string, where: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) fail(`${where}.${k}`, `expected an integer, got ${JSON.stringify(v)}`);
  return v;
}

function strings(o: Record<string, unknown>, k: string, where: string): string[] | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  const a = arr(v, `${where}.${k}`);
  return a.map((x, i) => {
    if (typeof x !== "string") fail(`${where}.${k}[${i}]`, "expected a string");
    return x;
  });
}

function cidr(s: string, where: string): string {
  const slash = s.indexOf("/");
  const ip = slash < 0 ? s : s.slice(0, slash);
  const len = slash < 0 ? NaN : Number(s.slice(slash + 1));
  const max = isIPv4(ip) ? 32 : isIPv6(ip) ? 128 : -1;
  if (max < 0 || !/^\d+$/.test(s.slice(slash + 1)) || len > max) fail(where, `'${s}' is not an address with a prefix length`);
  return s;
}

function ipAddr(s: string | undefined, where: string): string | undefined {
  if (s !== undefined && !isIPv4(s) && !isIPv6(s)) fail(where, `'${s}' is not an IP address`);
  return s;
}

/** Parses the DNS object of a config or result. */
export function parseDns(v: unknown, where = "dns"): CniDns {
  if (v === undefined || v === null) return {};
  const o = obj(v, where);
  const out: CniDns = {};
  const ns = strings(o, "nameservers", where);
  if (ns) out.nameservers = ns;
  const d = str(o, "domain", where);
  if (d !== undefined) out.domain = d;
  const s = strings(o, "search", where);
  if (s) out.search = s;
  const op = strings(o, "options", where);
  if (op) out.options = op;
  return out;
}

/**
 * Reads a result written in version `version` (0.3.0 to 1.1.0); `where` names it in errors ("prevResult",
 * "the IPAM result"). Unknown fields are ignored; a field of the wrong type is a decode error (code 6).
 */
export function parseResult(v: unknown, version: string, where = "result"): CniResult {
  const o = obj(v, where);
  const legacy = !atLeast(version, "1.0.0");
  const interfaces = arr(o["interfaces"], `${where}.interfaces`).map((x, i) => {
    const w = `${where}.interfaces[${i}]`;
    const io = obj(x, w);
    const itf: CniInterface = { name: str(io, "name", w, true)! };
    const mac = str(io, "mac", w);
    if (mac !== undefined) itf.mac = mac;
    const mtu = int(io, "mtu", w);
    if (mtu !== undefined) itf.mtu = mtu;
    const sb = str(io, "sandbox", w);
    if (sb !== undefined) itf.sandbox = sb;
    const sp = str(io, "socketPath", w);
    if (sp !== undefined) itf.socketPath = sp;
    const pci = str(io, "pciID", w);
    if (pci !== undefined) itf.pciID = pci;
    return itf;
  });
  const ips = arr(o["ips"], `${where}.ips`).map((x, i) => {
    const w = `${where}.ips[${i}]`;
    const io = obj(x, w);
    const address = cidr(str(io, "address", w, true)!, `${w}.address`);
    if (legacy) {
      const ver = str(io, "version", w);
      const want = isIPv4(address.slice(0, address.indexOf("/"))) ? "4" : "6";
      if (ver !== undefined && ver !== want) fail(`${w}.version`, `'${ver}' but the address is IPv${want}`);
    }
    const ip: CniIp = { address };
    const gw = ipAddr(str(io, "gateway", w), `${w}.gateway`);
    if (gw !== undefined) ip.gateway = gw;
    const idx = int(io, "interface", w);
    if (idx !== undefined) {
      if (idx < 0 || (interfaces.length > 0 && idx >= interfaces.length)) fail(`${w}.interface`, `index ${idx} is not one of the ${interfaces.length} interfaces`);
      ip.interface = idx;
    }
    return ip;
  });
  const routes = arr(o["routes"], `${where}.routes`).map((x, i) => {
    const w = `${where}.routes[${i}]`;
    const ro = obj(x, w);
    const r: CniRoute = { dst: cidr(str(ro, "dst", w, true)!, `${w}.dst`) };
    const gw = ipAddr(str(ro, "gw", w), `${w}.gw`);
    if (gw !== undefined) r.gw = gw;
    for (const k of ROUTE_11) {
      const n = int(ro, k, w);
      if (n !== undefined) r[k] = n;
    }
    return r;
  });
  const cniVersion = typeof o["cniVersion"] === "string" ? o["cniVersion"] : version;
  return { cniVersion, interfaces, ips, routes, dns: parseDns(o["dns"], `${where}.dns`) };
}

/** The result as JSON of version `version` (fields that version lacks are dropped). */
export function formatResult(r: CniResult, version: string): Record<string, unknown> {
  const v11 = atLeast(version, "1.1.0");
  const legacy = !atLeast(version, "1.0.0");
  const out: Record<string, unknown> = { cniVersion: version };
  if (r.interfaces.length > 0) {
    out["interfaces"] = r.interfaces.map((i) => {
      const o: Record<string, unknown> = { name: i.name };
      if (i.mac !== undefined) o["mac"] = i.mac;
      if (v11 && i.mtu !== undefined) o["mtu"] = i.mtu;
      if (i.sandbox !== undefined) o["sandbox"] = i.sandbox;
      if (v11 && i.socketPath !== undefined) o["socketPath"] = i.socketPath;
      if (v11 && i.pciID !== undefined) o["pciID"] = i.pciID;
      return o;
    });
  }
  if (r.ips.length > 0) {
    out["ips"] = r.ips.map((ip) => {
      const o: Record<string, unknown> = {};
      if (legacy) o["version"] = isIPv4(ip.address.slice(0, ip.address.indexOf("/"))) ? "4" : "6";
      o["address"] = ip.address;
      if (ip.gateway !== undefined) o["gateway"] = ip.gateway;
      if (ip.interface !== undefined) o["interface"] = ip.interface;
      return o;
    });
  }
  if (r.routes.length > 0) {
    out["routes"] = r.routes.map((rt) => {
      const o: Record<string, unknown> = { dst: rt.dst };
      if (rt.gw !== undefined) o["gw"] = rt.gw;
      if (v11) for (const k of ROUTE_11) if (rt[k] !== undefined) o[k] = rt[k];
      return o;
    });
  }
  out["dns"] = { ...r.dns };
  return out;
}

/** An empty result of `version`. */
export function emptyResult(version: string): CniResult {
  return { cniVersion: version, interfaces: [], ips: [], routes: [], dns: {} };
}
