/**
 * ARP (RFC 826) over Ethernet for IPv4: offsets, the validity check, and turning a request into its reply
 * in place (what an ARP responder sends). `arp` is the byte offset of the ARP header in `umem.u8` (after
 * the Ethernet header and any VLAN tags); nothing here allocates.
 *
 * @example
 * const arp = off + ETH_HLEN;
 * if (arpOk(umem.u8, arp, 60 - ETH_HLEN) && be16(umem.u8, arp + ARP_OP) === ARP_OP_REQUEST) console.log(be32(umem.u8, arp + ARP_TPA));
 */
import { be16, be32, setBe16 } from "./bytes.js";
import { copyMac, ETHERTYPE_IPV4 } from "./ether.js";

/** Bytes of an ARP packet for Ethernet and IPv4. */
export const ARP_HLEN = 28;
/** Offset of the hardware type (1: Ethernet). */
export const ARP_HTYPE = 0;
/** Offset of the protocol type (0x0800: IPv4). */
export const ARP_PTYPE = 2;
/** Offset of the hardware address length (6). */
export const ARP_HLN = 4;
/** Offset of the protocol address length (4). */
export const ARP_PLN = 5;
/** Offset of the operation (1 request, 2 reply). */
export const ARP_OP = 6;
/** Offset of the sender hardware (MAC) address. */
export const ARP_SHA = 8;
/** Offset of the sender protocol (IPv4) address. */
export const ARP_SPA = 14;
/** Offset of the target hardware (MAC) address. */
export const ARP_THA = 18;
/** Offset of the target protocol (IPv4) address. */
export const ARP_TPA = 24;
/** ARP hardware type of Ethernet. */
export const ARP_HTYPE_ETHER = 1;
/** ARP operation: request. */
export const ARP_OP_REQUEST = 1;
/** ARP operation: reply. */
export const ARP_OP_REPLY = 2;

/**
 * Whether the ARP packet at `arp`, of which `avail` bytes are in the frame, is Ethernet/IPv4 ARP (hardware
 * type 1, protocol 0x0800, lengths 6 and 4, all 28 bytes present) with operation request or reply.
 *
 * @example
 * const ok = arpOk(umem.u8, off + ETH_HLEN, 46);
 */
export function arpOk(u8: Uint8Array, arp: number, avail: number): boolean {
  if (avail < ARP_HLEN) return false;
  const op = be16(u8, arp + ARP_OP);
  return be16(u8, arp + ARP_HTYPE) === ARP_HTYPE_ETHER && be16(u8, arp + ARP_PTYPE) === ETHERTYPE_IPV4 &&
    u8[arp + ARP_HLN] === 6 && u8[arp + ARP_PLN] === 4 && (op === ARP_OP_REQUEST || op === ARP_OP_REPLY);
}

/**
 * Turns the ARP request at `arp` into its reply in place: operation 2, the requester becomes the target,
 * and the sender is `mac` (6 bytes at `mac[macOff]`) with the address that was asked for. The Ethernet
 * header is the caller's (destination: the requester, source: `mac`).
 *
 * @example
 * const u8 = umem.u8, arp = off + ETH_HLEN;
 * const myMac = new Uint8Array([2, 0, 0, 0, 0, 1]);     // once
 * if (be32(u8, arp + ARP_TPA) === 0x0a000001) arpToReply(u8, arp, myMac, 0);
 */
export function arpToReply(u8: Uint8Array, arp: number, mac: Uint8Array, macOff: number): void {
  const asked = be32(u8, arp + ARP_TPA);
  setBe16(u8, arp + ARP_OP, ARP_OP_REPLY);
  copyMac(u8, arp + ARP_THA, u8, arp + ARP_SHA);
  for (let k = 0; k < 4; k++) u8[arp + ARP_TPA + k] = u8[arp + ARP_SPA + k]!;
  copyMac(u8, arp + ARP_SHA, mac, macOff);
  u8[arp + ARP_SPA] = asked >>> 24;
  u8[arp + ARP_SPA + 1] = (asked >>> 16) & 0xff;
  u8[arp + ARP_SPA + 2] = (asked >>> 8) & 0xff;
  u8[arp + ARP_SPA + 3] = asked & 0xff;
}
