/**
 * The l3fwd XDP fast path's program and map layouts: per frame, in the kernel,
 *
 *   untagged Ethernet, IPv4 (version 4, IHL 5, 20 <= total length <= bytes after the Ethernet header,
 *   header checksum valid), not a fragment, TTL > 1
 *   -> LPM trie (longest prefix of the destination) -> next-hop index
 *   -> next-hop array (destination MAC, tx port) -> port array (source MAC, "a port of ours")
 *   -> rewrite both MACs, TTL - 1 with an RFC 1624 incremental checksum update
 *   -> bpf_redirect_map(tx devmap, tx port, XDP_DROP)
 *
 * and everything else leaves exactly as from the XSK redirect program (src/bpf/xsk-redirect.ts):
 * `bpf_redirect_map(xsks_map, ctx->rx_queue_index, XDP_PASS)`, untouched, so the user-space l3fwd sees
 * the frame as it arrived. Each frame is counted once, under one {@link FastPathReason}, in a per-CPU array
 * (packets and bytes per reason).
 *
 * The header checks are RFC 1812's (5.2.2) and match `ip4HeaderOk` of the user-space path; the
 * checksum is verified as RFC 1071 does (the one's complement sum over the 20 bytes, checksum included,
 * is 0xffff). IHL > 5 (options), fragments (MF set or a fragment offset) and TTL <= 1 are sent up without
 * judging them: user space forwards, answers or drops them. Nothing is dropped here except a frame whose
 * devmap slot is empty (counted as `redirectFailed`), which the manager never lets happen for a port it
 * marks as ours.
 *
 * Layouts (all in host order unless said):
 * - routes: BPF_MAP_TYPE_LPM_TRIE, key `{ u32 prefixlen; u8 addr[4] (network order) }`, value u32
 *   next-hop index.
 * - next hops: ARRAY of `{ u8 dmac[6]; u16 valid (1); u32 txPort }` (12 bytes).
 * - ports: ARRAY of `{ u8 smac[6]; u16 ours (1) }` (8 bytes), indexed by tx port.
 * - tx: DEVMAP tx port -> ifindex.
 * - stats: PERCPU_ARRAY reason -> `{ u64 packets; u64 bytes }`.
 *
 * @example
 * // L3fwdFastPath.load() creates the maps and loads this; by hand, with map fds of the layouts above:
 * const asm = l3fwdFastPathAsm({ routes: 10, nextHops: 11, ports: 12, tx: 13, stats: 14, xsks: mapFd });
 * const fast = Program.load({ type: ProgType.XDP, insns: asm, name: L3FWD_PROG_NAME });
 */
import { Asm, FP, Helper, R0, R1, R2, R3, R6, R7, R8, R9, XdpAction, XdpMd, type Reg } from "./asm.js";

/** The program's name (bpftool, prog info). */
export const L3FWD_PROG_NAME = "xdplane_l3fwd";

/**
 * Why a frame went where it went: the key of the stats map. `forwarded` and `redirectFailed` are the
 * fast path's own; every other reason sent the frame to the AF_XDP socket (or the stack when the queue's
 * XSKMAP slot is empty).
 *
 * @example
 * const key = FastPathReason.noRoute; // 7
 */
export const FastPathReason = {
  /** Rewritten and redirected into the devmap. */
  forwarded: 0,
  /** Rewritten, but the devmap had no entry for the tx port: dropped. */
  redirectFailed: 1,
  /** Not untagged IPv4 (ARP, IPv6, VLAN-tagged, ...) or shorter than an Ethernet header. */
  notIpv4: 2,
  /** IPv4 that fails the header checks: shorter than 20 bytes, version, IHL < 5, total length, checksum. */
  badHeader: 3,
  /** IHL > 5: IPv4 options. */
  ipOptions: 4,
  /** A fragment (MF set or a fragment offset). */
  fragment: 5,
  /** TTL 0 or 1: would expire here. */
  ttlExceeded: 6,
  /** No route for the destination. */
  noRoute: 7,
  /** The route's next hop is not set (or beyond the next-hop table). */
  noNextHop: 8,
  /** The next hop's tx port is not one the fast path may send on. */
  notOurPort: 9,
} as const;

/** A {@link FastPathReason} name. */
export type FastPathReasonName = keyof typeof FastPathReason;

/** Number of reasons (the stats map's entries). */
export const FAST_PATH_REASONS = 10;

/** LPM trie key size: u32 prefix length + 4 address bytes. */
export const ROUTE_KEY_SIZE = 8;
/** Next-hop value size: 6 MAC bytes, u16 valid, u32 tx port. */
export const NEXT_HOP_SIZE = 12;
/** Port value size: 6 MAC bytes, u16 ours. */
export const PORT_SIZE = 8;
/** Stats value size: u64 packets, u64 bytes. */
export const STATS_SIZE = 16;

/** The map fds the program is assembled over. */
export interface FastPathMapFds {
  routes: number;
  nextHops: number;
  ports: number;
  tx: number;
  stats: number;
  /** The XSKMAP of the netdev the program runs on (the default redirect program's). */
  xsks: number;
}

// Ethernet / IPv4 offsets within the frame.
const ETH_TYPE = 12;
const IP = 14;
const IP_VIHL = IP + 0;
const IP_TOTLEN = IP + 2;
const IP_FRAG = IP + 6;
const IP_TTL = IP + 8;
const IP_CSUM = IP + 10;
const IP_DST = IP + 16;
const IP_END = IP + 20;
/** ETH_P_IP as a little-endian u16 load of the big-endian field sees it. */
const ETH_P_IP_LE = 0x0008;
/** MF | fragment offset (0x3fff big-endian) as a little-endian u16 load sees it. */
const FRAG_MASK_LE = 0xff3f;

// Stack slots (below the frame pointer).
const K_ROUTE = -8; // LPM key: prefixlen at -8, address at -4
const K_NH = -12; // next-hop index
const K_PORT = -16; // tx port, then the stats key
const LEN = -24; // u64 frame length

/**
 * The fast-path program over the given maps. Registers: r6 ctx, r7 frame start, r8 frame end (then the
 * next-hop value, then the redirect verdict), r9 the reason the frame leaves by.
 *
 * @example
 * const asm = l3fwdFastPathAsm({ routes: 10, nextHops: 11, ports: 12, tx: 13, stats: 14, xsks: mapFd });
 * console.log(asm.length); // instruction slots
 */
export function l3fwdFastPathAsm(fds: FastPathMapFds): Asm {
  const a = new Asm();
  a.mov64(R6, R1)
    .ldx("w", R7, R6, XdpMd.data)
    .ldx("w", R8, R6, XdpMd.data_end)
    .mov64(R1, R8).sub64(R1, R7).stx("dw", FP, LEN, R1);

  // Untagged IPv4?
  a.mov64(R9, FastPathReason.notIpv4)
    .mov64(R1, R7).add64(R1, IP).jgt(R1, R8, "up")
    .ldx("h", R1, R7, ETH_TYPE).jne(R1, ETH_P_IP_LE, "up");

  // A header we forward as it is: version 4, IHL 5, total length, checksum.
  a.mov64(R9, FastPathReason.badHeader)
    .mov64(R1, R7).add64(R1, IP_END).jgt(R1, R8, "up")
    .ldx("b", R1, R7, IP_VIHL)
    .mov64(R2, R1).rsh64(R2, 4).jne(R2, 4, "up")
    .and64(R1, 0x0f).jlt(R1, 5, "up")
    .mov64(R9, FastPathReason.ipOptions).jne(R1, 5, "up")
    .mov64(R9, FastPathReason.badHeader)
    .ldx("h", R1, R7, IP_TOTLEN).toBe(R1, 16).jlt(R1, 20, "up")
    .mov64(R2, R8).sub64(R2, R7).sub64(R2, IP).jgt(R1, R2, "up");
  // RFC 1071: the one's complement sum of the header, checksum included, is 0xffff. Five 32-bit words
  // summed in 64 bits, folded to 16 (the sum is byte-order independent, so little-endian loads do).
  a.ldx("w", R1, R7, IP);
  for (let o = IP + 4; o < IP_END; o += 4) a.ldx("w", R2, R7, o).add64(R1, R2);
  for (let i = 0; i < 3; i++) fold(a, R1, R2);
  a.jne(R1, 0xffff, "up");

  a.mov64(R9, FastPathReason.fragment)
    .ldx("h", R1, R7, IP_FRAG).and64(R1, FRAG_MASK_LE).jne(R1, 0, "up")
    .mov64(R9, FastPathReason.ttlExceeded)
    .ldx("b", R1, R7, IP_TTL).jle(R1, 1, "up");

  // Route: longest prefix of the destination address.
  a.mov64(R9, FastPathReason.noRoute)
    .st("w", FP, K_ROUTE, 32)
    .ldx("w", R1, R7, IP_DST).stx("w", FP, K_ROUTE + 4, R1)
    .ldMapFd(R1, fds.routes).mov64(R2, FP).add64(R2, K_ROUTE)
    .call(Helper.map_lookup_elem).jeq(R0, 0, "up")
    .ldx("w", R1, R0, 0).stx("w", FP, K_NH, R1);

  // Next hop: destination MAC and tx port.
  a.mov64(R9, FastPathReason.noNextHop)
    .ldMapFd(R1, fds.nextHops).mov64(R2, FP).add64(R2, K_NH)
    .call(Helper.map_lookup_elem).jeq(R0, 0, "up")
    .mov64(R8, R0)
    .ldx("h", R1, R8, 6).jeq(R1, 0, "up")
    .ldx("w", R1, R8, 8).stx("w", FP, K_PORT, R1);

  // Tx port: ours, and its MAC.
  a.mov64(R9, FastPathReason.notOurPort)
    .ldMapFd(R1, fds.ports).mov64(R2, FP).add64(R2, K_PORT)
    .call(Helper.map_lookup_elem).jeq(R0, 0, "up")
    .ldx("h", R1, R0, 6).jeq(R1, 0, "up");

  // Rewrite: destination MAC from the next hop, source MAC of the tx port.
  a.ldx("w", R1, R8, 0).stx("w", R7, 0, R1)
    .ldx("h", R1, R8, 4).stx("h", R7, 4, R1)
    .ldx("w", R1, R0, 0).stx("w", R7, 6, R1)
    .ldx("h", R1, R0, 4).stx("h", R7, 10, R1);
  // TTL - 1; checksum by RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), m the (TTL, protocol) word, computed
  // big-endian as the user-space path's cksumUpdate16 does, so both give the same bytes.
  a.ldx("h", R1, R7, IP_TTL).toBe(R1, 16) // m
    .mov64(R2, R1).sub64(R2, 0x100) // m' (TTL > 1: no borrow)
    .ldx("h", R3, R7, IP_CSUM).toBe(R3, 16) // HC
    .xor64(R3, 0xffff).xor64(R1, 0xffff)
    .add64(R3, R1).add64(R3, R2);
  fold(a, R3, R1);
  fold(a, R3, R1);
  a.xor64(R3, 0xffff).toBe(R3, 16).stx("h", R7, IP_CSUM, R3)
    .toBe(R2, 16).stx("h", R7, IP_TTL, R2);

  // Out of the tx port's netdev; an empty devmap slot drops (XDP_DROP in the flags' low bits).
  a.ldx("w", R2, FP, K_PORT)
    .ldMapFd(R1, fds.tx).mov64(R3, XdpAction.DROP)
    .call(Helper.redirect_map)
    .mov64(R8, R0)
    .mov64(R9, FastPathReason.forwarded).jeq(R8, XdpAction.REDIRECT, "fwd_count")
    .mov64(R9, FastPathReason.redirectFailed)
    .label("fwd_count");
  count(a, fds.stats, "fwd_counted");
  a.mov64(R0, R8).exit();

  // To user space, exactly as the XSK redirect program.
  a.label("up");
  count(a, fds.stats, "up_counted");
  a.ldx("w", R2, R6, XdpMd.rx_queue_index)
    .ldMapFd(R1, fds.xsks)
    .mov64(R3, XdpAction.PASS)
    .call(Helper.redirect_map)
    .exit();
  return a;
}

/** `sum = (sum & 0xffff) + (sum >> 16)`, with `tmp` as scratch. */
function fold(a: Asm, sum: Reg, tmp: Reg): void {
  a.mov64(tmp, sum).rsh64(tmp, 16).and64(sum, 0xffff).add64(sum, tmp);
}

/** stats[r9].packets += 1, .bytes += frame length (this CPU's slot: no atomics needed). */
function count(a: Asm, statsFd: number, done: string): void {
  a.stx("w", FP, K_PORT, R9)
    .ldMapFd(R1, statsFd).mov64(R2, FP).add64(R2, K_PORT)
    .call(Helper.map_lookup_elem).jeq(R0, 0, done)
    .ldx("dw", R1, R0, 0).add64(R1, 1).stx("dw", R0, 0, R1)
    .ldx("dw", R1, R0, 8).ldx("dw", R2, FP, LEN).add64(R1, R2).stx("dw", R0, 8, R1)
    .label(done);
}
