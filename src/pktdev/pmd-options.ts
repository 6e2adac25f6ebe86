/**
 * Driver options from the jsonc: the part of `"pmd"` after the colon, as CNDP passes `pmd_opts`
 * (`"net_pcap:rx=/in.pcap,loop=3"`). Pairs `key=value` separated by commas; a key alone means `1`.
 * Pure functions (no system calls), so the config parser reports bad options at their place in the file.
 */

import { parseMemifOptions } from "./memif-options.js";

/** PACKET_FANOUT modes by name (linux/if_packet.h), or "none" for a socket outside any group. */
export type FanoutMode = "hash" | "lb" | "cpu" | "rollover" | "rnd" | "qm" | "none";

/** Options of `net_af_packet`. */
export interface AfPacketPmdOptions {
  /** PACKET_FANOUT mode of the netdev's group (default "hash"). */
  fanout: FanoutMode;
  /** Fanout group id (0-65535); undefined: (pid ^ ifindex) & 0xffff. */
  group: number | undefined;
  /** RX ring block size in bytes: a power of two, 4096 to 4 MiB (default 65536). */
  blockSize: number;
  /** RX block retire timeout in milliseconds (default 1). */
  tovMs: number;
  /** Put the netdev in promiscuous mode while the port is open. */
  promisc: boolean;
}

/** Options of `net_tap`. */
export interface TapPmdOptions {
  /** The TAP netdev's name; undefined: the lport's netdev (its name before ':'). */
  iface: string | undefined;
  /** Keep the netdev when the port closes (TUNSETPERSIST). */
  persist: boolean;
}

/** Options of `net_pcap`. */
export interface PcapPmdOptions {
  /** pcap file to replay on RX. */
  rx: string | undefined;
  /** pcap file to write what the port sends (replaced when it exists). */
  tx: string | undefined;
  /** Replay rate in packets per second; 0: as fast as the app receives. */
  rate: number;
  /** How many times to play the file; 0: forever. */
  loop: number;
}

export const AF_PACKET_PMD_DEFAULTS: AfPacketPmdOptions = { fanout: "hash", group: undefined, blockSize: 65536, tovMs: 1, promisc: false };

const FANOUT_MODES: readonly FanoutMode[] = ["hash", "lb", "cpu", "rollover", "rnd", "qm", "none"];

/**
 * Splits "k=v,k2=v2" into pairs, refusing empty and repeated keys and keys outside `known`. Throws a
 * RangeError naming the driver and the offending part.
 *
 * @example
 * splitPmdOptions("net_pcap", "rx=/in.pcap,loop=3", ["rx", "tx", "rate", "loop"]); // Map { rx → "/in.pcap", loop → "3" }
 */
export function splitPmdOptions(pmd: string, opts: string | undefined, known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (opts === undefined || opts === "") return out;
  for (const part of opts.split(",")) {
    const eq = part.indexOf("=");
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? "1" : part.slice(eq + 1);
    if (key === "") throw new RangeError(`${pmd} options "${opts}": an empty option (expected key=value pairs separated by ',')`);
    if (!known.includes(key)) throw new RangeError(`${pmd} option '${key}' is unknown (known: ${known.join(", ")})`);
    if (out.has(key)) throw new RangeError(`${pmd} option '${key}' is given twice`);
    out.set(key, value);
  }
  return out;
}

function int(pmd: string, key: string, v: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new RangeError(`${pmd} option '${key}=${v}': expected an integer from ${min} to ${max}`);
  return n;
}

function bool(pmd: string, key: string, v: string): boolean {
  if (v === "1" || v === "true" || v === "yes") return true;
  if (v === "0" || v === "false" || v === "no") return false;
  throw new RangeError(`${pmd} option '${key}=${v}': expected 1 or 0 (true/false)`);
}

function path(pmd: string, key: string, v: string): string {
  if (v === "" || v === "1") throw new RangeError(`${pmd} option '${key}': expected a file path (${key}=/path/file.pcap)`);
  return v;
}

/**
 * `net_af_packet` options: `fanout=hash|lb|cpu|rollover|rnd|qm|none`, `group=0..65535`,
 * `block_size=BYTES` (power of two, 4096..4194304), `tov=MS` (1..1000), `promisc=1`.
 *
 * @example
 * parseAfPacketOptions("fanout=lb,group=7"); // { fanout: "lb", group: 7, blockSize: 65536, tovMs: 1, promisc: false }
 */
export function parseAfPacketOptions(opts: string | undefined): AfPacketPmdOptions {
  const pmd = "net_af_packet";
  const m = splitPmdOptions(pmd, opts, ["fanout", "group", "block_size", "tov", "promisc"]);
  const o: AfPacketPmdOptions = { ...AF_PACKET_PMD_DEFAULTS };
  const f = m.get("fanout");
  if (f !== undefined) {
    if (!(FANOUT_MODES as readonly string[]).includes(f)) throw new RangeError(`${pmd} option 'fanout=${f}': expected one of ${FANOUT_MODES.join(", ")}`);
    o.fanout = f as FanoutMode;
  }
  const g = m.get("group");
  if (g !== undefined) o.group = int(pmd, "group", g, 0, 0xffff);
  const b = m.get("block_size");
  if (b !== undefined) {
    const n = int(pmd, "block_size", b, 4096, 4 << 20);
    if ((n & (n - 1)) !== 0) throw new RangeError(`${pmd} option 'block_size=${b}': expected a power of two from 4096 to 4194304`);
    o.blockSize = n;
  }
  const t = m.get("tov");
  if (t !== undefined) o.tovMs = int(pmd, "tov", t, 1, 1000);
  const p = m.get("promisc");
  if (p !== undefined) o.promisc = bool(pmd, "promisc", p);
  return o;
}

/**
 * `net_tap` options: `iface=NAME` (1 to 15 characters, no '/', ':' or space), `persist=1`.
 *
 * @example
 * parseTapOptions("iface=tap7,persist=1"); // { iface: "tap7", persist: true }
 */
export function parseTapOptions(opts: string | undefined): TapPmdOptions {
  const pmd = "net_tap";
  const m = splitPmdOptions(pmd, opts, ["iface", "persist"]);
  const iface = m.get("iface");
  if (iface !== undefined && (iface.length === 0 || iface.length > 15 || /[\s/:]/.test(iface) || iface === "." || iface === "..")) {
    throw new RangeError(`${pmd} option 'iface=${iface}': a netdev name has 1 to 15 characters without '/', ':' or spaces`);
  }
  const p = m.get("persist");
  return { iface, persist: p === undefined ? false : bool(pmd, "persist", p) };
}

/**
 * `net_pcap` options: `rx=PATH`, `tx=PATH`, `rate=PPS` (0..100000000, 0: unpaced), `loop=N` (0..2^31-1,
 * 0: forever; default 1). `rate` and `loop` need `rx`.
 *
 * @example
 * parsePcapOptions("rx=/tmp/in.pcap,rate=1000,loop=3"); // { rx: "/tmp/in.pcap", tx: undefined, rate: 1000, loop: 3 }
 */
export function parsePcapOptions(opts: string | undefined): PcapPmdOptions {
  const pmd = "net_pcap";
  const m = splitPmdOptions(pmd, opts, ["rx", "tx", "rate", "loop"]);
  const rxv = m.get("rx");
  const txv = m.get("tx");
  const o: PcapPmdOptions = {
    rx: rxv === undefined ? undefined : path(pmd, "rx", rxv),
    tx: txv === undefined ? undefined : path(pmd, "tx", txv),
    rate: 0,
    loop: 1,
  };
  const r = m.get("rate");
  if (r !== undefined) o.rate = int(pmd, "rate", r, 0, 100_000_000);
  const l = m.get("loop");
  if (l !== undefined) o.loop = int(pmd, "loop", l, 0, 0x7fffffff);
  if (o.rx === undefined && (r !== undefined || l !== undefined)) throw new RangeError(`${pmd} options '${r !== undefined ? "rate" : "loop"}' need a file to replay (rx=PATH)`);
  if (o.rx !== undefined && o.rx === o.tx) throw new RangeError(`${pmd} options: rx and tx name the same file '${o.rx}'`);
  return o;
}

/**
 * Checks the options of the drivers that take some (net_af_packet, net_tap, net_pcap, net_memif): the error message,
 * or undefined when they are fine or the driver is not one of those.
 *
 * @example
 * pmdOptionsError("net_pcap", "rate=fast"); // "net_pcap option 'rate=fast': expected an integer from 0 to 100000000"
 */
export function pmdOptionsError(pmd: string, opts: string | undefined): string | undefined {
  try {
    if (pmd === "net_af_packet") parseAfPacketOptions(opts);
    else if (pmd === "net_tap") parseTapOptions(opts);
    else if (pmd === "net_pcap") parsePcapOptions(opts);
    else if (pmd === "net_memif") parseMemifOptions(opts);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
