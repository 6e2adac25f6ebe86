/**
 * CNDP's l3fwd FIB rule format, as in cndpfwd's jsonc `options."l3fwd-fib-rules"` array:
 * `"<ipv4>/<depth>,<next-hop MAC>,<tx lport index>"`, e.g. `"198.18.0.0/24,02:00:01:02:03:04,1"`.
 * cndpfwd splits on ',' and '/', parses the address with inet_pton, the MAC with ether_aton and the port
 * with atoi; here every part is checked (blanks around a part are allowed) and a bad part throws a
 * RangeError naming the rule and the part. Host bits of the address are masked off (cne_fib_add does the
 * same).
 *
 * @example
 * const r = parseFibRule("198.18.0.0/24,02:00:01:02:03:04,1");
 * console.log(formatFibRule(r)); // "198.18.0.0/24,02:00:01:02:03:04,1"
 */
import { formatIp4, formatMac, parseMac, parsePrefix4 } from "../addr.js";

/** One parsed l3fwd FIB rule: the prefix, the next hop's MAC and the index of the lport to send on. */
export interface FibRule {
  /** The prefix address as a u32, host bits cleared. */
  ip: number;
  /** Prefix length, 0 to 32. */
  depth: number;
  /** Destination MAC of the next hop (6 bytes). */
  mac: Uint8Array;
  /** Index of the tx lport (cndpfwd keeps it in 16 bits: 0 to 65535). */
  port: number;
}

/** Largest tx port index: cndpfwd packs it into bits 48..63 of the FIB next hop. */
export const FIB_RULE_MAX_PORT = 0xffff;

/**
 * Parses one l3fwd rule "ip/depth,mac,port".
 *
 * @example
 * const { ip, depth, mac, port } = parseFibRule("10.0.0.0/8,02:00:00:00:00:01,0");
 */
export function parseFibRule(text: string): FibRule {
  if (typeof text !== "string") throw new RangeError(`Invalid FIB rule ${String(text)}: not a string`);
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length !== 3) {
    throw new RangeError(`Invalid FIB rule '${text}': ${parts.length} comma-separated fields, expected 3 (<ip>/<depth>,<next-hop MAC>,<tx port>)`);
  }
  const [pfx, macText, portText] = parts as [string, string, string];
  let prefix: { ip: number; depth: number };
  let mac: Uint8Array;
  try {
    prefix = parsePrefix4(pfx);
  } catch (e) {
    throw new RangeError(`Invalid FIB rule '${text}': prefix: ${(e as Error).message}`);
  }
  try {
    mac = parseMac(macText);
  } catch (e) {
    throw new RangeError(`Invalid FIB rule '${text}': next-hop MAC: ${(e as Error).message}`);
  }
  if (!/^(0|[1-9][0-9]*)$/.test(portText) || Number(portText) > FIB_RULE_MAX_PORT) {
    throw new RangeError(`Invalid FIB rule '${text}': tx port '${portText}' is not an lport index 0 to ${FIB_RULE_MAX_PORT}`);
  }
  return { ip: prefix.ip, depth: prefix.depth, mac, port: Number(portText) };
}

/**
 * The rule's text in the format {@link parseFibRule} reads.
 *
 * @example
 * const s = formatFibRule({ ip: 0x0a000000, depth: 8, mac: new Uint8Array([2, 0, 0, 0, 0, 1]), port: 0 });
 * // "10.0.0.0/8,02:00:00:00:00:01,0"
 */
export function formatFibRule(r: FibRule): string {
  return `${formatIp4(r.ip)}/${r.depth},${formatMac(r.mac)},${r.port}`;
}
