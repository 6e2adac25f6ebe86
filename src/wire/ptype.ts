/**
 * Packet types as DPDK's `rte_mbuf_ptype.h` and CNDP's `CNE_PTYPE_*` define them (the values too, so a
 * ptype word means the same to both): layer 2, 3 and 4 each a 4-bit field, read from a frame by
 * {@link parsePtype} the way `rte_net_get_ptype` / `cne_get_ptype` do, without tunnels. Nothing here
 * allocates.
 *
 * @example
 * const pt = parsePtype(umem.u8, off, 64);
 * if ((pt & PTYPE_L3_MASK) === PTYPE_L3_IPV4 && (pt & PTYPE_L4_MASK) === PTYPE_L4_UDP) console.log("IPv4/UDP");
 */
import { ETH_HLEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN } from "./ether.js";
import { IP4_FRAG, IP4_HLEN, IP4_MF, IP4_OFFMASK, IP4_PROTO, IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from "./ipv4.js";
import { IP6_HLEN, IP6_NXT, IPPROTO_ICMPV6, ip6IsExtension, ip6Walk } from "./ipv6.js";

/** No packet type known (every field 0). */
export const PTYPE_UNKNOWN = 0;
/** Layer 2: Ethernet (an EtherType this parser does not single out, or IPv4/IPv6 untagged). */
export const PTYPE_L2_ETHER = 0x1;
/** Layer 2: Ethernet carrying ARP (EtherType 0x0806). */
export const PTYPE_L2_ETHER_ARP = 0x3;
/** Layer 2: Ethernet with one VLAN tag (TPID 0x8100 or 0x88a8). */
export const PTYPE_L2_ETHER_VLAN = 0x6;
/** Layer 2: Ethernet with two VLAN tags (QinQ). */
export const PTYPE_L2_ETHER_QINQ = 0x7;
/** The layer 2 field of a packet type. */
export const PTYPE_L2_MASK = 0xf;
/** Layer 3: IPv4 without options (IHL 5). */
export const PTYPE_L3_IPV4 = 0x10;
/** Layer 3: IPv4 with options (IHL 6 to 15). */
export const PTYPE_L3_IPV4_EXT = 0x30;
/** Layer 3: IPv6 without extension headers. */
export const PTYPE_L3_IPV6 = 0x40;
/** Layer 3: IPv6 with extension headers. */
export const PTYPE_L3_IPV6_EXT = 0xc0;
/** The layer 3 field of a packet type. */
export const PTYPE_L3_MASK = 0xf0;
/** Layer 4: TCP. */
export const PTYPE_L4_TCP = 0x100;
/** Layer 4: UDP. */
export const PTYPE_L4_UDP = 0x200;
/** Layer 4: a fragment (IPv4 MF or offset set; an IPv6 Fragment header that is not atomic). */
export const PTYPE_L4_FRAG = 0x300;
/** Layer 4: SCTP. */
export const PTYPE_L4_SCTP = 0x400;
/** Layer 4: ICMP in IPv4, ICMPv6 in IPv6. */
export const PTYPE_L4_ICMP = 0x500;
/** The layer 4 field of a packet type. */
export const PTYPE_L4_MASK = 0xf00;

/** The layer 4 type of protocol `proto` (`icmp`: the ICMP of this IP version) at `p`, when its header fits before `end`. */
function l4Type(proto: number, icmp: number, p: number, end: number): number {
  if (proto === IPPROTO_UDP) return p + 8 <= end ? PTYPE_L4_UDP : 0;
  if (proto === IPPROTO_TCP) return p + 20 <= end ? PTYPE_L4_TCP : 0;
  if (proto === icmp) return p + 4 <= end ? PTYPE_L4_ICMP : 0;
  if (proto === IPPROTO_SCTP) return p + 12 <= end ? PTYPE_L4_SCTP : 0;
  return 0;
}

/**
 * The packet type (PTYPE_* bits) of the Ethernet frame of `len` bytes at `off`, reading nothing at or
 * past `off + len`. Layer 2: Ethernet, ARP, or one or two VLAN tags (then ARP is not singled out). Layer 3
 * when its fixed header fits: IPv4 (version 4, IHL >= 5; `_EXT` with options) or IPv6 (version 6; `_EXT`
 * when extension headers follow). Layer 4: `PTYPE_L4_FRAG` for fragments (a first fragment too, as DPDK),
 * else TCP, UDP, ICMP (ICMPv6 over IPv6) or SCTP when the options or extension headers and the layer 4
 * header (TCP 20, UDP 8, ICMP 4, SCTP 12 bytes) fit; 0 otherwise. No checksum or length field is checked: that is
 * {@link ip4HeaderOk}'s job. 0 (PTYPE_UNKNOWN) for frames shorter than 14 bytes.
 *
 * @example
 * const mbufs = pool.mbufs;
 * mbufs.ptype[h] = parsePtype(umem.u8, off, mbufs.dataLen[h]!);
 */
export function parsePtype(u8: Uint8Array, off: number, len: number): number {
  if (len < ETH_HLEN) return PTYPE_UNKNOWN;
  const end = off + len;
  let p = off + ETH_HLEN;
  let et = (u8[p - 2]! << 8) | u8[p - 1]!;
  let l2 = PTYPE_L2_ETHER;
  if (et === ETHERTYPE_ARP) return PTYPE_L2_ETHER_ARP;
  if (et === ETHERTYPE_VLAN || et === ETHERTYPE_QINQ) {
    l2 = PTYPE_L2_ETHER_VLAN;
    if (p + 4 > end) return l2;
    p += 4;
    et = (u8[p - 2]! << 8) | u8[p - 1]!;
    if (et === ETHERTYPE_VLAN || et === ETHERTYPE_QINQ) {
      l2 = PTYPE_L2_ETHER_QINQ;
      if (p + 4 > end) return l2;
      p += 4;
      et = (u8[p - 2]! << 8) | u8[p - 1]!;
    }
  }
  if (et === ETHERTYPE_IPV4) {
    if (p + IP4_HLEN > end) return l2;
    const vihl = u8[p]!;
    if (vihl >>> 4 !== 4 || (vihl & 0x0f) < 5) return l2;
    const l3 = vihl === 0x45 ? PTYPE_L3_IPV4 : PTYPE_L3_IPV4_EXT;
    if ((((u8[p + IP4_FRAG]! << 8) | u8[p + IP4_FRAG + 1]!) & (IP4_MF | IP4_OFFMASK)) !== 0) return l2 | l3 | PTYPE_L4_FRAG;
    return l2 | l3 | l4Type(u8[p + IP4_PROTO]!, IPPROTO_ICMP, p + ((vihl & 0x0f) << 2), end);
  }
  if (et === ETHERTYPE_IPV6) {
    if (p + IP6_HLEN > end || u8[p]! >>> 4 !== 6) return l2;
    const l3 = ip6IsExtension(u8[p + IP6_NXT]!) ? PTYPE_L3_IPV6_EXT : PTYPE_L3_IPV6;
    const w = ip6Walk(u8, p, end);
    if (w < 0) return l2 | l3;
    if ((w & 0x300) !== 0) return l2 | l3 | PTYPE_L4_FRAG;
    return l2 | l3 | l4Type(w & 0xff, IPPROTO_ICMPV6, p + (w >>> 10), end);
  }
  return l2;
}
