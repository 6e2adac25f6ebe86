/**
 * Per-port traffic settings of `xdplane txgen`, named and defaulted as CNDP's txgen (usrtools/txgen:
 * `set <portlist> count|size|rate|burst|sport|dport|ttl|proto|src/dst mac|src/dst ip|pattern`), plus what
 * xdplane adds: ranges (flow spreading), latency tags, checksums on/off, the engine, the return path,
 * pcap replay and capture.
 *
 * Sizes count the 4-byte Ethernet FCS as txgen does: `size 64` puts 60 bytes on the wire buffer; the
 * largest size is the MTU + 18 (14 header + 4 FCS). Rates are a percentage of the link speed (100 =
 * as fast as the engine goes, no pacing) or packets per second.
 *
 * Everything here is plain data and parsing; errors are RangeError/SyntaxError naming the command,
 * the value and what is allowed.
 */
import { ETH_HLEN } from "../../wire/ether.js";
import { IP4_HLEN } from "../../wire/ipv4.js";
import { UDP_HLEN } from "../../wire/udp.js";
import { TCP_HLEN } from "../../wire/tcp.js";
import { ICMP_HLEN } from "../../wire/icmp.js";

export type Proto = "udp" | "tcp" | "icmp";
export type Pattern = "abc" | "none" | "zero" | "user";
export type Engine = "afxdp" | "live";
/** Return path: `on` receives through an AF_XDP socket (counts, latency, capture); `count` only counts,
 * as cheaply as the engine allows; `off` expects nothing back. */
export type RxMode = "on" | "count" | "off";

/** An increasing range min, min+step, ..., <= max (one value when min === max). */
export interface Range {
  min: number;
  max: number;
  step: number;
}

export type Rate = { kind: "percent"; value: number } | { kind: "pps"; value: number };

export interface PortSettings {
  /** Packets to send; 0 sends until stopped (txgen's default). */
  count: number;
  /** Frame size including the 4-byte FCS: 64 .. MTU + 18. */
  size: number;
  rate: Rate;
  /** Packets per TX burst (afxdp) or per kernel batch (live frames), 1-256. */
  burst: number;
  /** Source MAC; null = the netdev's own address. */
  srcMac: string | null;
  /** Destination MAC; null = the MAC of the paired port (pid ^ 1) when it exists, else broadcast. */
  dstMac: string | null;
  srcIp: Range;
  /** Prefix length given with the source address (display only, as txgen's "10.1.2.3/24"). */
  srcPrefix: number;
  dstIp: Range;
  sport: Range;
  dport: Range;
  proto: Proto;
  ttl: number;
  pattern: Pattern;
  /** Bytes repeated through the payload with pattern `user` (at most 16, as txgen). */
  userPattern: string;
  /** UDP/TCP/ICMP checksums computed (on) or left 0 (off; UDP only, others are always computed). */
  cksum: boolean;
  /** Timestamp and sequence number in every payload; the receive side measures latency, loss and
   * reordering. */
  latency: boolean;
  engine: Engine;
  rx: RxMode;
  /** Live-frames sender threads for this port (they share its CPUs; more hide the per-call setup). */
  threads: number;
  /** A pcap file to replay instead of the built frame (null: none). */
  pcap: string | null;
  /** Capture received frames to this pcap file (null: no capture). */
  capture: string | null;
}

export const MIN_SIZE = 64;
export const FCS = 4;
export const MAX_BURST = 256;
export const MAX_LIVE_THREADS = 8;

/** 192.168.0.0: txgen's DEFAULT_IP_ADDR. */
const BASE_IP = (192 << 24 | 168 << 16) >>> 0;

/** txgen's defaults for port `pid`: count 0 (forever), 64 bytes, rate 100%, ports 1234 -> 5678, TTL 4,
 * 192.168.<pid>.1 -> 192.168.<pid^1>.1, UDP, pattern abc. */
export function defaultSettings(pid: number): PortSettings {
  const src = (BASE_IP | ((pid & 0xff) << 8) | 1) >>> 0;
  const dst = (BASE_IP | (((pid ^ 1) & 0xff) << 8) | 1) >>> 0;
  return {
    count: 0,
    size: 64,
    rate: { kind: "percent", value: 100 },
    burst: 64,
    srcMac: null,
    dstMac: null,
    srcIp: one(src),
    srcPrefix: 24,
    dstIp: one(dst),
    sport: one(1234),
    dport: one(5678),
    proto: "udp",
    ttl: 4,
    pattern: "abc",
    userPattern: "",
    cksum: true,
    latency: false,
    engine: "afxdp",
    rx: "on",
    threads: 1,
    pcap: null,
    capture: null,
  };
}

function one(v: number): Range {
  return { min: v, max: v, step: 1 };
}

/** Number of values in a range. */
export function rangeCount(r: Range): number {
  return Math.floor((r.max - r.min) / r.step) + 1;
}

/** Copies settings (ranges and rate are fresh objects). */
export function cloneSettings(s: PortSettings): PortSettings {
  return { ...s, rate: { ...s.rate }, srcIp: { ...s.srcIp }, dstIp: { ...s.dstIp }, sport: { ...s.sport }, dport: { ...s.dport } };
}

// ---- value parsers -------------------------------------------------------------------------------

/** "10.0.0.1" -> 0x0a000001 (host order, unsigned). */
export function parseIpv4(s: string, what: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw new SyntaxError(`Invalid ${what} '${s}': expected an IPv4 address a.b.c.d`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) throw new RangeError(`Invalid ${what} '${s}': octet ${o} is above 255`);
    v = v * 256 + o;
  }
  return v;
}

export function formatIpv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** "00:11:22:33:44:55" or "0011:2233:4455" (txgen accepts both) -> canonical lower-case colon form. */
export function parseMac(s: string, what: string): string {
  let hex: string | null = null;
  if (/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s) || /^[0-9a-fA-F]{2}(-[0-9a-fA-F]{2}){5}$/.test(s)) hex = s.replace(/[:-]/g, "");
  else if (/^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/.test(s)) hex = s.replace(/:/g, "");
  if (hex === null) throw new SyntaxError(`Invalid ${what} '${s}': expected 00:11:22:33:44:55 or 0011:2233:4455`);
  return hex.toLowerCase().match(/../g)!.join(":");
}

export function macBytes(mac: string): number[] {
  return mac.split(":").map((h) => parseInt(h, 16));
}

function parseUint(s: string, what: string, min: number, max: number, hint = ""): number {
  const h = hint ? ` (${hint})` : "";
  if (!/^\d+$/.test(s)) throw new SyntaxError(`Invalid ${what} '${s}': expected a whole number from ${min} to ${max}${h}`);
  const v = Number(s);
  if (v < min || v > max) throw new RangeError(`Invalid ${what} ${s}: expected ${min} to ${max}${h}`);
  return v;
}

/** "A", "A-B" or "A-B:step" of values parsed by `one`, within [lo, hi]. */
function parseRange(s: string, what: string, parseOne: (x: string) => number, fmt: (v: number) => string): Range {
  const m = /^([^-:]+)(?:-([^-:]+)(?::(\d+))?)?$/.exec(s);
  if (!m) throw new SyntaxError(`Invalid ${what} '${s}': expected a value, or a range A-B or A-B:step`);
  const min = parseOne(m[1]!);
  const max = m[2] !== undefined ? parseOne(m[2]) : min;
  const step = m[3] !== undefined ? Number(m[3]) : 1;
  if (max < min) throw new RangeError(`Invalid ${what} range '${s}': ${fmt(max)} is below ${fmt(min)}`);
  if (step < 1 || step > 0x7fffffff) throw new RangeError(`Invalid ${what} range '${s}': step ${m[3]} must be 1 or more`);
  if (Math.floor((max - min) / step) + 1 > 0x7fffffff) throw new RangeError(`Invalid ${what} range '${s}': more than 2^31 values`);
  return { min, max, step };
}

function formatRange(r: Range, fmt: (v: number) => string): string {
  if (r.min === r.max) return fmt(r.min);
  return `${fmt(r.min)}-${fmt(r.max)}${r.step !== 1 ? `:${r.step}` : ""}`;
}

/** "50" (percent), "250000pps", "250kpps", "1.5mpps", "2Mpps". */
export function parseRate(s: string, what = "rate"): Rate {
  const m = /^(\d+(?:\.\d+)?)\s*(%|pps|kpps|mpps)?$/i.exec(s);
  if (!m) throw new SyntaxError(`Invalid ${what} '${s}': expected a percentage of the link speed (0-100) or a packet rate such as 250000pps, 250kpps, 1.5mpps`);
  const v = Number(m[1]);
  const unit = (m[2] ?? "%").toLowerCase();
  if (unit === "%") {
    if (!(v > 0 && v <= 100)) throw new RangeError(`Invalid ${what} ${s}: a percentage above 0 and at most 100`);
    return { kind: "percent", value: v };
  }
  const pps = v * (unit === "kpps" ? 1e3 : unit === "mpps" ? 1e6 : 1);
  if (!(pps >= 1 && pps <= 1e9)) throw new RangeError(`Invalid ${what} ${s}: at least 1 packet per second`);
  return { kind: "pps", value: pps };
}

export function formatRate(r: Rate): string {
  return r.kind === "percent" ? `${r.value}` : `${r.value}pps`;
}

/**
 * Packets per second for a port: `percent` of the link speed (Mb/s) for frames of `size` bytes with the
 * Ethernet preamble, SFD and inter-frame gap (20 bytes), as txgen; 0 means unpaced (100%).
 */
export function targetPps(s: PortSettings, linkMbps: number): number {
  if (s.rate.kind === "pps") return s.rate.value;
  if (s.rate.value >= 100) return 0;
  return (linkMbps * 1e6 * (s.rate.value / 100)) / ((s.size + 20) * 8);
}

// ---- port lists --------------------------------------------------------------------------------

/** "all", "0", "0,2-3" -> sorted port ids, each < `nports`. */
export function parsePortList(s: string, nports: number): number[] {
  if (s === "all") return Array.from({ length: nports }, (_, i) => i);
  const out = new Set<number>();
  for (const part of s.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new SyntaxError(`Invalid port list '${s}': expected 'all' or numbers and ranges such as 0,2-3`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw new RangeError(`Invalid port list '${s}': ${b} is below ${a}`);
    for (let p = a; p <= b; p++) {
      if (p >= nports) throw new RangeError(`Invalid port list '${s}': port ${p} does not exist (${nports} port${nports === 1 ? "" : "s"}: 0-${nports - 1})`);
      out.add(p);
    }
  }
  return [...out].sort((x, y) => x - y);
}

// ---- set commands ------------------------------------------------------------------------------

/** What `set` needs to know about a port to check values. */
export interface PortLimits {
  /** Netdev MTU (size <= mtu + 18). */
  mtu: number;
}

/** The keys `set` accepts, for help and errors. */
export const SET_KEYS = [
  "count <n>", "size <bytes>", "rate <percent>|<n>pps|<n>kpps|<n>mpps", "pps <n>", "burst <1-256>",
  "sport <port>|<a-b[:step]>", "dport <port>|<a-b[:step]>", "src mac <mac>", "dst mac <mac>",
  "src ip <ip[/len]>|<a-b[:step]>", "dst ip <ip>|<a-b[:step]>", "proto udp|tcp|icmp", "ttl <0-255>",
  "pattern abc|none|zero|user", "user pattern <string>", "cksum on|off", "latency on|off",
  "engine afxdp|live", "rx on|count|off", "threads <1-8>", "pcap <file>|off", "capture <file>|off",
] as const;

/**
 * How many value words each setting takes and its usage; settings absent here take the rest of the line
 * (`user pattern <string>`, `pcap <file>`, `capture <file>`, `pattern user <string>`).
 */
const ARITY: Readonly<Record<string, readonly [number, string]>> = {
  count: [1, "count <n>"], size: [1, "size <bytes>"], rate: [2, "rate <percent>|<n>pps (e.g. 'rate 50', 'rate 1.5 mpps')"],
  pps: [1, "pps <n>"], burst: [1, "burst <1-256>"], sport: [1, "sport <port>|<a-b[:step]>"],
  dport: [1, "dport <port>|<a-b[:step]>"], ttl: [1, "ttl <0-255>"], proto: [1, "proto udp|tcp|icmp"],
  pattern: [1, "pattern abc|none|zero|user [<string>]"], src: [2, "src mac <mac> | src ip <ip[/len]>"],
  dst: [2, "dst mac <mac> | dst ip <ip>"], cksum: [1, "cksum on|off"], checksum: [1, "checksum on|off"],
  latency: [1, "latency on|off"], engine: [1, "engine afxdp|live"], rx: [1, "rx on|count|off"],
  threads: [1, "threads <1-8>"],
};

function onOff(s: string | undefined, what: string): boolean {
  const v = (s ?? "").toLowerCase();
  if (v === "on" || v === "enable" || v === "1" || v === "true") return true;
  if (v === "off" || v === "disable" || v === "0" || v === "false") return false;
  throw new SyntaxError(`Invalid ${what} '${s ?? ""}': expected on or off`);
}

function need(args: string[], n: number, usage: string): void {
  if (args.length < n) throw new SyntaxError(`Missing value: set <ports> ${usage}`);
}

/** Refuses words after a setting's value(s): `size 64 extra` is an error, not `size 64`. */
function noMore(key: string, args: string[], n: number, usage: string): void {
  const extra = args.slice(n);
  if (extra.length === 0) return;
  const given = [key, ...args.slice(0, n)].join(" ");
  throw new SyntaxError(`Unexpected word${extra.length === 1 ? "" : "s"} after '${given}': '${extra.join(" ")}' (expected: set <ports> ${usage})`);
}

/**
 * Applies one `set` (the words after the port list, e.g. ["src", "ip", "10.0.0.1"]) to `s` in place.
 * Throws a RangeError/SyntaxError that names the value and what is allowed; `s` is unchanged then.
 */
export function applySet(s: PortSettings, words: string[], limits: PortLimits): void {
  const [key, ...args] = words;
  if (key === undefined) throw new SyntaxError(`Missing setting: set <ports> <setting> <value> (settings: ${SET_KEYS.join("; ")})`);
  const k = key.toLowerCase();
  const maxSize = limits.mtu + 18;
  const portRange = (v: string, what: string) => parseRange(v, what, (x) => parseUint(x, what, 0, 65535), String);
  const ipRange = (v: string, what: string) => parseRange(v, what, (x) => parseIpv4(x, what), formatIpv4);
  const words1 = ARITY[k];
  if (words1 !== undefined && !(k === "pattern" && (args[0] ?? "").toLowerCase() === "user")) noMore(key, args, words1[0], words1[1]);
  switch (k) {
    case "count":
      need(args, 1, "count <n>");
      s.count = parseUint(args[0]!, "count", 0, Number.MAX_SAFE_INTEGER);
      return;
    case "size":
      need(args, 1, "size <bytes>");
      s.size = parseUint(args[0]!, "size", MIN_SIZE, maxSize, `frame bytes with the 4-byte FCS; at most MTU ${limits.mtu} + 18`);
      return;
    case "rate":
      need(args, 1, "rate <percent>|<n>pps");
      s.rate = parseRate(args.join(""));
      return;
    case "pps":
      need(args, 1, "pps <n>");
      s.rate = parseRate(`${args[0]}pps`, "pps");
      return;
    case "burst":
      need(args, 1, "burst <n>");
      s.burst = parseUint(args[0]!, "burst", 1, MAX_BURST);
      return;
    case "sport":
      need(args, 1, "sport <port>");
      s.sport = portRange(args[0]!, "sport");
      return;
    case "dport":
      need(args, 1, "dport <port>");
      s.dport = portRange(args[0]!, "dport");
      return;
    case "ttl":
      need(args, 1, "ttl <n>");
      s.ttl = parseUint(args[0]!, "ttl", 0, 255);
      return;
    case "proto":
      need(args, 1, "proto udp|tcp|icmp");
      {
        const p = args[0]!.toLowerCase();
        if (p !== "udp" && p !== "tcp" && p !== "icmp") throw new RangeError(`Invalid proto '${args[0]}': expected udp, tcp or icmp`);
        s.proto = p;
      }
      return;
    case "pattern":
      need(args, 1, "pattern abc|none|zero|user");
      {
        const p = args[0]!.toLowerCase();
        if (p !== "abc" && p !== "none" && p !== "zero" && p !== "user") throw new RangeError(`Invalid pattern '${args[0]}': expected abc, none, zero or user`);
        s.pattern = p;
        if (p === "user" && args.length > 1) s.userPattern = checkUser(args.slice(1).join(" "));
      }
      return;
    case "user":
      if ((args[0] ?? "").toLowerCase() !== "pattern") throw new SyntaxError(`Invalid setting 'user ${args.join(" ")}': expected 'user pattern <string>'`);
      need(args, 2, "user pattern <string>");
      s.userPattern = checkUser(args.slice(1).join(" "));
      return;
    case "src":
    case "dst": {
      const what = (args[0] ?? "").toLowerCase();
      need(args, 2, `${k} mac <mac> | ${k} ip <ip>`);
      if (what === "mac") {
        const mac = parseMac(args[1]!, `${k} mac`);
        if (k === "src") s.srcMac = mac;
        else s.dstMac = mac;
      } else if (what === "ip") {
        let v = args[1]!;
        let prefix: number | undefined;
        const slash = /^(.*)\/(\d+)$/.exec(v);
        if (slash) {
          v = slash[1]!;
          prefix = parseUint(slash[2]!, `${k} ip prefix length`, 0, 32);
        }
        const r = ipRange(v, `${k} ip`);
        if (k === "src") {
          s.srcIp = r;
          if (prefix !== undefined) s.srcPrefix = prefix;
        } else {
          s.dstIp = r;
        }
      } else {
        throw new SyntaxError(`Invalid setting '${k} ${args[0]}': expected '${k} mac <mac>' or '${k} ip <ip>'`);
      }
      return;
    }
    case "cksum":
    case "checksum":
      s.cksum = onOff(args[0], "cksum");
      return;
    case "latency":
      s.latency = onOff(args[0], "latency");
      return;
    case "engine": {
      need(args, 1, "engine afxdp|live");
      const e = args[0]!.toLowerCase();
      if (e !== "afxdp" && e !== "live") throw new RangeError(`Invalid engine '${args[0]}': expected afxdp (AF_XDP TX) or live (XDP live frames)`);
      s.engine = e;
      return;
    }
    case "rx": {
      need(args, 1, "rx on|count|off");
      const r = args[0]!.toLowerCase();
      if (r !== "on" && r !== "count" && r !== "off") throw new RangeError(`Invalid rx '${args[0]}': expected on, count or off`);
      s.rx = r;
      return;
    }
    case "threads":
      need(args, 1, "threads <n>");
      s.threads = parseUint(args[0]!, "threads", 1, MAX_LIVE_THREADS, "live-frames sender threads per port");
      return;
    case "pcap":
      need(args, 1, "pcap <file>|off");
      s.pcap = args[0] === "off" || args[0] === "none" ? null : args.join(" ");
      return;
    case "capture":
      need(args, 1, "capture <file>|off");
      s.capture = args[0] === "off" || args[0] === "none" ? null : args.join(" ");
      return;
    default:
      throw new SyntaxError(`Unknown setting '${key}': expected one of ${SET_KEYS.map((x) => x.split(" ")[0]).filter((x, i, a) => a.indexOf(x) === i).join(", ")}`);
  }
}

function checkUser(p: string): string {
  const unq = p.replace(/^"(.*)"$/, "$1");
  if (unq.length === 0 || unq.length > 16) throw new RangeError(`Invalid user pattern '${unq}': 1 to 16 characters`);
  return unq;
}

/**
 * Cross-field checks before a start (what `set` alone cannot see): room for the latency tag, pcap
 * replay only with the afxdp engine, rx count with the live engine. Returns the problems.
 */
export function checkSettings(s: PortSettings, pid: number): string[] {
  const errs: string[] = [];
  if (s.latency && s.pcap === null) {
    const need = tagOffset(s.proto) + TAG_LEN + FCS;
    if (s.size < need) errs.push(`port ${pid}: latency with ${s.proto} needs size >= ${need} (is ${s.size})`);
  }
  if (s.pcap !== null && s.engine === "live") errs.push(`port ${pid}: pcap replay needs engine afxdp (live frames send one frame per run)`);
  if (s.latency && s.pcap !== null) errs.push(`port ${pid}: latency tags are not written into replayed pcap frames; set latency off or pcap off`);
  if (s.capture !== null && s.rx !== "on") errs.push(`port ${pid}: capture needs rx on (is ${s.rx})`);
  return errs;
}

// ---- the latency tag ---------------------------------------------------------------------------

/** Bytes of the tag: magic u16, sender port u16, sequence u32, timestamp u64 (ns, CLOCK_MONOTONIC),
 * all big-endian, at the start of the L4 payload. */
export const TAG_LEN = 16;
/** 'Ts' as txgen's TSTAMP_MAGIC. */
export const TAG_MAGIC = 0x5473;

/** Offset of the L4 payload (and the tag) in the frame: Ethernet 14 + IPv4 20 + UDP 8 / TCP 20 / ICMP 8. */
export function tagOffset(proto: Proto): number {
  return ETH_HLEN + IP4_HLEN + (proto === "tcp" ? TCP_HLEN : proto === "udp" ? UDP_HLEN : ICMP_HLEN);
}

// ---- save ---------------------------------------------------------------------------------------

/** The settings of port `pid` as `set` commands (a file `load` reads back). */
export function formatSettings(pid: number, s: PortSettings): string[] {
  const p = String(pid);
  const lines = [
    `set ${p} engine ${s.engine}`,
    `set ${p} count ${s.count}`,
    `set ${p} size ${s.size}`,
    `set ${p} rate ${formatRate(s.rate)}`,
    `set ${p} burst ${s.burst}`,
    `set ${p} proto ${s.proto}`,
    `set ${p} src ip ${formatRange(s.srcIp, formatIpv4)}${s.srcIp.min === s.srcIp.max ? `/${s.srcPrefix}` : ""}`,
    `set ${p} dst ip ${formatRange(s.dstIp, formatIpv4)}`,
    `set ${p} sport ${formatRange(s.sport, String)}`,
    `set ${p} dport ${formatRange(s.dport, String)}`,
    `set ${p} ttl ${s.ttl}`,
    `set ${p} pattern ${s.pattern}`,
    `set ${p} cksum ${s.cksum ? "on" : "off"}`,
    `set ${p} latency ${s.latency ? "on" : "off"}`,
    `set ${p} rx ${s.rx}`,
    `set ${p} threads ${s.threads}`,
  ];
  if (s.srcMac !== null) lines.push(`set ${p} src mac ${s.srcMac}`);
  if (s.dstMac !== null) lines.push(`set ${p} dst mac ${s.dstMac}`);
  if (s.userPattern !== "") lines.push(`set ${p} user pattern ${s.userPattern}`);
  lines.push(`set ${p} pcap ${s.pcap ?? "off"}`);
  lines.push(`set ${p} capture ${s.capture ?? "off"}`);
  return lines;
}

/** Describes a range for the screen: "10.0.0.1" or "10.0.0.1-10.0.0.8". */
export function describeIp(r: Range): string {
  return formatRange(r, formatIpv4);
}

export function describePort(r: Range): string {
  return formatRange(r, String);
}
