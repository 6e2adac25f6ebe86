/**
 * XDP programs of txgen, assembled with bpf/asm.ts:
 *
 * - The live-frames program (the technique of xdp-trafficgen): BPF_PROG_TEST_RUN with
 *   BPF_F_TEST_XDP_LIVE_FRAMES runs it on copies of the port's frame and it returns XDP_TX, so the kernel
 *   sends each copy out of the netdev named in the run's ctx. The kernel keeps page contents between
 *   runs, so the program writes every varying field as an absolute value: range fields from a packet
 *   counter (an ARRAY map, fetch-and-add so several sender threads share it), the latency tag (counter
 *   and bpf_ktime_get_ns), then both checksums from the plan's base sums (RFC 1624 style).
 * - The count program for `rx count`: counts packets and bytes in an ARRAY map and drops them, the
 *   cheapest return path there is.
 *
 * Kernel references: net/bpf/test_run.c (xdp live frames), Documentation/bpf/bpf_prog_run.rst.
 */
import { Asm, Helper, R0, R1, R2, R3, R4, R6, R7, R8, R9, FP, XdpAction, XdpMd } from "../../bpf/asm.js";
import { BpfMap, MapType } from "../../bpf/map.js";
import { Program, ProgType } from "../../bpf/prog.js";
import { F_IP, F_L4, IP_CSUM_OFF, type FramePlan } from "./packet.js";
import { ETH_HLEN, ETH_TYPE, ETHERTYPE_IPV4 } from "../../wire/ether.js";

/** BPF_STX | BPF_ATOMIC | BPF_DW with imm BPF_ADD | BPF_FETCH: `src = atomic_fetch_add(dst + off, src)`. */
const ATOMIC_DW = 0xdb;
const BPF_ADD_FETCH = 0x01;

function fold16(a: Asm, r: typeof R8, tmp: typeof R1): void {
  for (let i = 0; i < 2; i++) {
    a.mov64(tmp, r).rsh64(tmp, 16).and64(r, 0xffff).add64(r, tmp);
  }
}

/** The live-frames program's instructions for a plan; `mapFd` is the counter map (-1 when nothing varies). */
export function liveProgramAsm(plan: FramePlan, mapFd: number): Asm {
  const a = new Asm();
  if (!plan.varies) return a.mov64(R0, XdpAction.TX).exit();
  a.ldx("w", R2, R1, XdpMd.data)
    .ldx("w", R3, R1, XdpMd.data_end)
    .mov64(R6, R2)
    .mov64(R4, R2)
    .add64(R4, plan.len)
    .jgt(R4, R3, "drop");
  const tag = plan.tagOff >= 0;
  if (tag) a.call(Helper.ktime_get_ns).stx("dw", FP, -16, R0);
  a.st("w", FP, -4, 0)
    .mov64(R2, FP)
    .add64(R2, -4)
    .ldMapFd(R1, mapFd)
    .call(Helper.map_lookup_elem)
    .jeq(R0, 0, "drop")
    .mov64(R7, 1)
    .raw(ATOMIC_DW, 0, 7, 0, BPF_ADD_FETCH) // r7 = fetch_add(*(u64 *)(r0 + 0), r7): this packet's number
    .mov64(R8, plan.ipBase)
    .mov64(R9, plan.l4Base);
  let ipVaries = false;
  let l4Varies = tag;
  for (const f of plan.fields) {
    a.mov64(R1, R7).mod64(R1, f.n);
    if (f.step !== 1) a.mul64(R1, f.step);
    if (f.bytes === 4) a.add32(R1, f.min); // 32-bit add: wraps like the u32 field, zero-extends
    else a.add64(R1, f.min);
    for (const [flag, acc] of [[F_IP, R8], [F_L4, R9]] as const) {
      if ((f.flags & flag) === 0) continue;
      if (flag === F_IP) ipVaries = true;
      else l4Varies = true;
      if (f.bytes === 4) {
        a.mov64(R2, R1).rsh64(R2, 16).add64(acc, R2);
        a.mov64(R2, R1).and64(R2, 0xffff).add64(acc, R2);
      } else {
        a.add64(acc, R1);
      }
    }
    a.toBe(R1, f.bytes === 4 ? 32 : 16).stx(f.bytes === 4 ? "w" : "h", R6, f.off, R1);
  }
  if (tag) {
    // Sequence (low 32 bits of the counter) and time, big-endian, with their words in the L4 sum.
    a.mov32(R1, R7);
    a.mov64(R2, R1).rsh64(R2, 16).add64(R9, R2);
    a.mov64(R2, R1).and64(R2, 0xffff).add64(R9, R2);
    a.toBe(R1, 32).stx("w", R6, plan.tagOff + 4, R1);
    a.ldx("dw", R1, FP, -16);
    a.mov64(R2, R1).rsh64(R2, 48).add64(R9, R2);
    a.mov64(R2, R1).rsh64(R2, 32).and64(R2, 0xffff).add64(R9, R2);
    a.mov64(R2, R1).rsh64(R2, 16).and64(R2, 0xffff).add64(R9, R2);
    a.mov64(R2, R1).and64(R2, 0xffff).add64(R9, R2);
    a.toBe(R1, 64).stx("dw", R6, plan.tagOff + 8, R1);
  }
  if (ipVaries) {
    fold16(a, R8, R1);
    a.xor64(R8, 0xffff).toBe(R8, 16).stx("h", R6, IP_CSUM_OFF, R8);
  }
  if (l4Varies && plan.l4CsumOff >= 0) {
    fold16(a, R9, R1);
    a.xor64(R9, 0xffff);
    if (plan.l4Udp) a.jne(R9, 0, 1).mov64(R9, 0xffff);
    a.toBe(R9, 16).stx("h", R6, plan.l4CsumOff, R9);
  }
  a.mov64(R0, XdpAction.TX).exit();
  a.label("drop").mov64(R0, XdpAction.DROP).exit();
  return a;
}

function u64Bytes(v: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, v % 0x100000000, true);
  dv.setUint32(4, Math.floor(v / 0x100000000), true);
  return b;
}

const KEY0 = new Uint8Array(4);

/** A loaded live-frames program and its packet counter. Close it when the run is over. */
export class LiveProgram {
  readonly prog: Program;
  readonly map: BpfMap | null;
  private constructor(prog: Program, map: BpfMap | null) {
    this.prog = prog;
    this.map = map;
  }

  /** Loads the program for `plan`; the counter starts at `seqStart` (the port's next sequence number). */
  static load(plan: FramePlan, seqStart: number, name = "txgen_live"): LiveProgram {
    let map: BpfMap | null = null;
    try {
      if (plan.varies) {
        map = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: "txgen_seq" });
        map.update(KEY0, u64Bytes(seqStart));
      }
      const prog = Program.load({ type: ProgType.XDP, name, insns: liveProgramAsm(plan, map?.fd ?? -1) });
      return new LiveProgram(prog, map);
    } catch (e) {
      map?.close();
      throw e;
    }
  }

  /** The counter: packets numbered so far plus the start value (control path). */
  readSeq(): number {
    if (!this.map) return 0;
    const out = new Uint8Array(8);
    this.map.lookup(KEY0, out);
    const dv = new DataView(out.buffer);
    return dv.getUint32(0, true) + dv.getUint32(4, true) * 0x100000000;
  }

  close(): void {
    this.prog.close();
    this.map?.close();
  }
}

/** xdp_get_buff_len (enum bpf_func_id). */
const HELPER_XDP_GET_BUFF_LEN = 188;

/**
 * The `rx count` program: IPv4 frames are counted (packets and bytes into `mapFd`, an ARRAY with value
 * {u64 pkts, u64 bytes}) and dropped; anything else (ARP, IPv6 neighbour discovery) goes to the stack.
 */
export function countProgramAsm(mapFd: number): Asm {
  return new Asm()
    .ldx("w", R2, R1, XdpMd.data)
    .ldx("w", R3, R1, XdpMd.data_end)
    .mov64(R4, R2)
    .add64(R4, ETH_HLEN)
    .jgt(R4, R3, "pass")
    .ldx("h", R4, R2, ETH_TYPE)
    .jne(R4, ((ETHERTYPE_IPV4 & 0xff) << 8) | (ETHERTYPE_IPV4 >>> 8), "pass") // big-endian as loaded on a little-endian CPU
    .mov64(R6, R1)
    .call(HELPER_XDP_GET_BUFF_LEN)
    .mov64(R7, R0)
    .st("w", FP, -4, 0)
    .mov64(R2, FP)
    .add64(R2, -4)
    .ldMapFd(R1, mapFd)
    .call(Helper.map_lookup_elem)
    .jeq(R0, 0, "out")
    .mov64(R1, 1)
    .atomicAdd("dw", R0, 0, R1)
    .atomicAdd("dw", R0, 8, R7)
    .label("out")
    .mov64(R0, XdpAction.DROP)
    .exit()
    .label("pass")
    .mov64(R0, XdpAction.PASS)
    .exit();
}

/** The loaded count program and its map. */
export class CountProgram {
  readonly prog: Program;
  readonly map: BpfMap;
  private readonly out = new Uint8Array(16);
  private readonly dv = new DataView(this.out.buffer);
  private constructor(prog: Program, map: BpfMap) {
    this.prog = prog;
    this.map = map;
  }

  static load(): CountProgram {
    const map = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 1, name: "txgen_rxcnt" });
    try {
      return new CountProgram(Program.load({ type: ProgType.XDP, name: "txgen_count", insns: countProgramAsm(map.fd) }), map);
    } catch (e) {
      map.close();
      throw e;
    }
  }

  /** [packets, bytes] counted so far. */
  read(): [number, number] {
    this.map.lookup(KEY0, this.out);
    const dv = this.dv;
    return [dv.getUint32(0, true) + dv.getUint32(4, true) * 0x100000000, dv.getUint32(8, true) + dv.getUint32(12, true) * 0x100000000];
  }

  close(): void {
    this.prog.close();
    this.map.close();
  }
}
