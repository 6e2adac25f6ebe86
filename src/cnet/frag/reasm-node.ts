/**
 * `ip4_reasm`: takes the fragments ip4_input found for one of our addresses, holds them in the
 * {@link ReasmTable} and, when a datagram is whole, hands it to the protocol as ip4_input would have:
 * ICMP, UDP (and TCP when the stack has it); another protocol is answered with ICMP protocol
 * unreachable. The whole datagram keeps the first fragment's Ethernet and IP header (total length set,
 * fragment word cleared, checksum recomputed) and is either
 * - linearised: one buffer, when the datagram fits the first fragment's frame (the other fragments'
 *   payloads copied after it and their frames freed); or
 * - an mbuf chain (chain.ts: the first fragment, then each other fragment's payload as a segment;
 *   `nbSegs`/`pktLen` on the first), when it does not. ICMP and UDP read chains (a UDP channel then
 *   receives the whole payload as a chain: `mbufs.pktLen` is its length); TCP takes only linear ones
 *   (a chain to TCP is dropped, `ip4_reasm_drop_proto`). The mbuf table's segment mode is turned on
 *   at the first chain.
 *
 * `ip4_reasm_timer` (a source): expires datagrams after the table's timeout; when the first fragment
 * was there, it becomes ICMP time exceeded, code 1 (RFC 792, RFC 1122 3.3.2), to ip4_output.
 *
 * @example
 * const table = new ReasmTable(mempool);
 * const nodes = [ip4ReasmNode(ctx, table, { tcp: false }), ip4ReasmTimerNode(ctx, table)];
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { be16, be32, setBe16 } from "../../wire/bytes.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { IP4_CSUM, IP4_DST, IP4_FRAG, IP4_ID, IP4_MF, IP4_OFFMASK, IP4_PROTO, IP4_SRC, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ip4Cksum, ip4HdrLen, ip4TotalLen } from "../../wire/ipv4.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { ICMP4_INPUT, IP4_OUTPUT, IP4_REASM, IP4_REASM_TIMER, UDP4_INPUT } from "../nodes/names.js";
import { ICMP_EXC_FRAGTIME, ICMP_PROTO_UNREACH, ICMP_TIME_EXCEEDED, toIcmpError, toUnreachable } from "../nodes/icmp4.js";
import { REASM_BAD, REASM_DUP, REASM_HELD, REASM_HELD_FULL, REASM_OVERLAP, REASM_TABLE_FULL, REASM_TOO_MANY, type ReasmTable } from "./reasm.js";

/** The TCP input node's name (names.ts TCP4_INPUT, the TCP engineer's). */
const TCP4_INPUT_NAME = "tcp4_input";

const E_DROP = 0;
const E_ICMP = 1;
const E_UDP = 2;
const E_OUT = 3;
const E_TCP = 4;

/**
 * The reassembly node; `tcp`: the graph has tcp4_input (an edge to it).
 *
 * @example
 * const node = ip4ReasmNode(ctx, new ReasmTable(mempool), { tcp: false });
 */
export function ip4ReasmNode(ctx: StackCtx, table: ReasmTable, o: { tcp: boolean }): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const mbufs = ctx.mp.mbufs;
  const next = mbufs.next;
  const nbSegs = mbufs.nbSegs;
  const pktLen = mbufs.pktLen;
  const frameSize = 1 << ctx.shift;
  const F = table.maxFrags;
  /** Whole datagram in slot `s`: builds it, gives up the slot, returns its handle. */
  const assemble = (s: number): number => {
    const base = s * F;
    const n = table.nfrags[s]!;
    const total = table.total[s]!;
    const h0 = table.fh[base]!;
    const o0 = frameAt(ctx, h0);
    const ip0 = o0 + ETH_HLEN;
    const hl0 = ip4HdrLen(u8, ip0);
    setBe16(u8, ip0 + 2, hl0 + total);
    setBe16(u8, ip0 + IP4_FRAG, 0);
    setBe16(u8, ip0 + IP4_CSUM, 0);
    setBe16(u8, ip0 + IP4_CSUM, ip4Cksum(u8, ip0));
    const whole = ETH_HLEN + hl0 + total;
    if (ctx.dataOff[h0]! + whole <= frameSize) {
      let at = o0 + ctx.dataLen[h0]!;
      for (let k = 1; k < n; k++) {
        const h = table.fh[base + k]!;
        const ip = frameAt(ctx, h) + ETH_HLEN;
        const from = ip + ip4HdrLen(u8, ip);
        const len = table.fe[base + k]! - table.fo[base + k]!;
        u8.copyWithin(at, from, from + len);
        at += len;
      }
      ctx.dataLen[h0] = whole;
      table.drop(s, 1);
      return h0;
    }
    if (!mbufs.segmentsEnabled) mbufs.enableSegments();
    let prev = h0;
    for (let k = 1; k < n; k++) {
      const h = table.fh[base + k]!;
      const ip = frameAt(ctx, h) + ETH_HLEN;
      const skip = ETH_HLEN + ip4HdrLen(u8, ip);
      ctx.dataOff[h] = ctx.dataOff[h]! + skip;
      ctx.dataLen[h] = table.fe[base + k]! - table.fo[base + k]!;
      next[prev] = h;
      prev = h;
    }
    nbSegs[h0] = n;
    pktLen[h0] = whole;
    c[C.IP4_REASM_CHAINED]!++;
    table.release(s);
    return h0;
  };
  return {
    name: IP4_REASM, next: o.tcp ? [PKT_DROP, ICMP4_INPUT, UDP4_INPUT, IP4_OUTPUT, TCP4_INPUT_NAME] : [PKT_DROP, ICMP4_INPUT, UDP4_INPUT, IP4_OUTPUT],
    process: (g, node, objs, n) => {
      const now = ctx.clock[0]!;
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.IP4_FRAG_RX]!++;
        const ip = frameAt(ctx, h) + ETH_HLEN;
        const hl = ip4HdrLen(u8, ip);
        const plen = ip4TotalLen(u8, ip) - hl;
        const fw = be16(u8, ip + IP4_FRAG);
        const more = (fw & IP4_MF) !== 0;
        const off = (fw & IP4_OFFMASK) << 3;
        if (plen <= 0 || (more && (plen & 7) !== 0) || off + plen + hl > 65535) {
          c[C.IP4_REASM_DROP_BAD]!++;
          g.enqueue1(node, E_DROP, h);
          continue;
        }
        const proto = u8[ip + IP4_PROTO]!;
        const r = table.add(be32(u8, ip + IP4_SRC), be32(u8, ip + IP4_DST), (be16(u8, ip + IP4_ID) << 8) | proto, off, off + plen, more, h, now);
        if (r === REASM_HELD) continue;
        if (r < 0) {
          if (r === REASM_DUP) c[C.IP4_REASM_DUP]!++;
          else if (r === REASM_OVERLAP) c[C.IP4_REASM_DROP_OVERLAP]!++;
          else if (r === REASM_BAD) c[C.IP4_REASM_DROP_BAD]!++;
          else if (r === REASM_TOO_MANY) c[C.IP4_REASM_DROP_TOO_MANY_FRAGS]!++;
          else if (r === REASM_TABLE_FULL) c[C.IP4_REASM_DROP_TABLE_FULL]!++;
          else if (r === REASM_HELD_FULL) c[C.IP4_REASM_DROP_HELD_FULL]!++;
          g.enqueue1(node, E_DROP, h);
          continue;
        }
        const d = assemble(r);
        c[C.IP4_REASM_OK]!++;
        if (proto === IPPROTO_UDP) g.enqueue1(node, E_UDP, d);
        else if (proto === IPPROTO_ICMP) g.enqueue1(node, E_ICMP, d);
        else if (proto === IPPROTO_TCP && o.tcp) {
          if (nbSegs[d]! > 1) {
            c[C.IP4_REASM_DROP_PROTO]!++;
            g.enqueue1(node, E_DROP, d);
          } else g.enqueue1(node, E_TCP, d);
        } else {
          c[C.IP4_DROP_PROTO]!++;
          g.enqueue1(node, toUnreachable(ctx, d, frameAt(ctx, d) + ETH_HLEN, ICMP_PROTO_UNREACH) ? E_OUT : E_DROP, d);
        }
      }
      return n;
    },
  };
}

/** Expiries handled per walk at most (the rest wait for the next walk). */
const EXPIRE_PER_WALK = 32;

/**
 * The reassembly timer source.
 *
 * @example
 * const timer = ip4ReasmTimerNode(ctx, new ReasmTable(mempool));
 */
export function ip4ReasmTimerNode(ctx: StackCtx, table: ReasmTable): NodeSpec {
  const c = ctx.c;
  return {
    name: IP4_REASM_TIMER, next: [PKT_DROP, IP4_OUTPUT], source: true,
    process: (g, node) => {
      if (table.nActive === 0) return 0;
      const now = ctx.clock[0]!;
      let made = 0;
      for (let k = 0; k < EXPIRE_PER_WALK; k++) {
        const s = table.expired(now);
        if (s < 0) break;
        const base = s * table.maxFrags;
        c[C.IP4_REASM_TIMEOUT]!++;
        c[C.IP4_REASM_TIMEOUT_FRAGS] = c[C.IP4_REASM_TIMEOUT_FRAGS]! + table.nfrags[s]!;
        if (table.fo[base] !== 0) {
          table.drop(s);
          continue;
        }
        // The first fragment came: it carries the header and 8 bytes to quote.
        const h = table.fh[base]!;
        table.drop(s, 1);
        if (toIcmpError(ctx, h, frameAt(ctx, h) + ETH_HLEN, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0)) {
          g.enqueue1(node, 1, h);
          made++;
        } else g.enqueue1(node, 0, h);
      }
      return made;
    },
  };
}
