/**
 * A small eBPF assembler: registers, ALU, loads/stores, jumps with symbolic labels, helper calls,
 * 64-bit immediates and map fd loads. `assemble()` gives the 8-byte instructions BPF_PROG_LOAD takes.
 *
 * Encoding from Documentation/bpf/standardization/instruction-set.rst and uapi/linux/bpf.h
 * (`struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; }`, little-endian).
 *
 * @example
 * const a = new Asm()
 *   .ldx("w", R2, R1, XdpMd.rx_queue_index)   // r2 = ctx->rx_queue_index
 *   .ldMapFd(R1, map.fd)                      // r1 = &xsks_map
 *   .mov64(R3, XdpAction.PASS)                // r3 = XDP_PASS (action when the slot is empty)
 *   .call(Helper.redirect_map)
 *   .exit();
 * const insns = a.assemble();
 */

/** A register. R10 is the read-only frame pointer. */
export type Reg = "r0" | "r1" | "r2" | "r3" | "r4" | "r5" | "r6" | "r7" | "r8" | "r9" | "r10";
export const R0: Reg = "r0";
export const R1: Reg = "r1";
export const R2: Reg = "r2";
export const R3: Reg = "r3";
export const R4: Reg = "r4";
export const R5: Reg = "r5";
export const R6: Reg = "r6";
export const R7: Reg = "r7";
export const R8: Reg = "r8";
export const R9: Reg = "r9";
export const R10: Reg = "r10";
/** The frame pointer (R10): the stack is below it, at negative offsets. */
export const FP: Reg = R10;

/** Memory access sizes: byte, half word, word, double word. */
export type Size = "b" | "h" | "w" | "dw";

/** Arithmetic operations (BPF_ALU / BPF_ALU64). */
export type AluOp = "add" | "sub" | "mul" | "div" | "or" | "and" | "lsh" | "rsh" | "mod" | "xor" | "mov" | "arsh";

/** Conditional jumps (BPF_JMP / BPF_JMP32). Unsigned unless the name has an `s`. */
export type JmpOp = "jeq" | "jgt" | "jge" | "jset" | "jne" | "jsgt" | "jsge" | "jlt" | "jle" | "jslt" | "jsle";

/** A jump target: a label name, or a relative offset in instruction slots. */
export type Target = string | number;

// Instruction classes, sizes, modes, sources (uapi/linux/bpf_common.h, bpf.h).
const CLASS = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07 } as const;
const SIZE: Record<Size, number> = { w: 0x00, h: 0x08, b: 0x10, dw: 0x18 };
const MODE = { IMM: 0x00, MEM: 0x60, ATOMIC: 0xc0 } as const;
const SRC_K = 0x00;
const SRC_X = 0x08;
const ALU: Record<AluOp | "neg" | "end", number> = {
  add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70,
  neg: 0x80, mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0, end: 0xd0,
};
const JMP: Record<JmpOp | "ja" | "call" | "exit", number> = {
  ja: 0x00, jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70,
  call: 0x80, exit: 0x90, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
};
/** BPF_ADD | BPF_FETCH etc. for atomic instructions (imm field). */
const ATOMIC_ADD = 0x00;
/** src_reg of ld_imm64 that marks imm as a map fd (BPF_PSEUDO_MAP_FD). */
export const BPF_PSEUDO_MAP_FD = 1;

/** Helper function ids (enum bpf_func_id, uapi/linux/bpf.h `__BPF_FUNC_MAPPER`). */
export const Helper = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  ktime_get_ns: 5,
  trace_printk: 6,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
  redirect: 23,
  xdp_adjust_head: 44,
  redirect_map: 51,
  xdp_adjust_meta: 54,
  xdp_adjust_tail: 65,
} as const;

/** XDP program return codes (enum xdp_action). */
export const XdpAction = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

/** Field offsets of `struct xdp_md`, the XDP program's context (R1 on entry). */
export const XdpMd = {
  data: 0,
  data_end: 4,
  data_meta: 8,
  ingress_ifindex: 12,
  rx_queue_index: 16,
  egress_ifindex: 20,
} as const;

/** One instruction slot before assembly. `target` is resolved into `off` by {@link Asm.assemble}. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  target?: string;
}

function regNum(r: Reg): number {
  const n = Number(r.slice(1));
  if (!/^r(10|[0-9])$/.test(r)) throw new RangeError(`Invalid register '${r}': expected r0..r10`);
  return n;
}

function isReg(x: Reg | number): x is Reg {
  return typeof x === "string";
}

function s32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
    throw new RangeError(`Invalid ${what} ${v}: expected a 32-bit integer`);
  }
  return v | 0;
}

function s16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new RangeError(`Invalid ${what} ${v}: expected a 16-bit signed offset`);
  return v;
}

/**
 * An instruction list under construction. Methods append and return `this`; `label(name)` names the next
 * instruction. Registers are {@link Reg} strings, so `mov64(R1, R2)` and `mov64(R1, 2)` are the register
 * and immediate forms.
 *
 * @example
 * // Drop frames received on queue 1, pass the others.
 * const insns = new Asm()
 *   .ldx("w", R2, R1, XdpMd.rx_queue_index) // r2 = ctx->rx_queue_index
 *   .mov64(R0, XdpAction.PASS)
 *   .jne(R2, 1, "out")
 *   .mov64(R0, XdpAction.DROP)
 *   .label("out")
 *   .exit()
 *   .assemble();
 * const prog = Program.load({ type: ProgType.XDP, insns, name: "drop_q1" });
 */
export class Asm {
  readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();

  /** Instruction slots so far (ld_imm64 takes two). */
  get length(): number {
    return this.insns.length;
  }

  /** Appends a raw instruction. */
  raw(code: number, dst: number, src: number, off: number, imm: number, target?: string): this {
    const insn: Insn = { code, dst, src, off, imm };
    if (target !== undefined) insn.target = target;
    this.insns.push(insn);
    return this;
  }

  /** Names the next instruction, for jumps. */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`Duplicate label '${name}'`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  // ---- ALU ------------------------------------------------------------------------------------------

  /** 64-bit `dst op= src` (register or immediate). */
  alu64(op: AluOp, dst: Reg, src: Reg | number): this {
    return this.alu(CLASS.ALU64, op, dst, src);
  }

  /** 32-bit `dst op= src`; the upper half of dst becomes zero. */
  alu32(op: AluOp, dst: Reg, src: Reg | number): this {
    return this.alu(CLASS.ALU, op, dst, src);
  }

  private alu(cls: number, op: AluOp, dst: Reg, src: Reg | number): this {
    const code = ALU[op];
    if (code === undefined) throw new RangeError(`Invalid ALU operation '${String(op)}'`);
    if (isReg(src)) return this.raw(cls | code | SRC_X, regNum(dst), regNum(src), 0, 0);
    return this.raw(cls | code | SRC_K, regNum(dst), 0, 0, s32(src, `${op} immediate`));
  }

  mov64(dst: Reg, src: Reg | number): this { return this.alu64("mov", dst, src); }
  add64(dst: Reg, src: Reg | number): this { return this.alu64("add", dst, src); }
  sub64(dst: Reg, src: Reg | number): this { return this.alu64("sub", dst, src); }
  mul64(dst: Reg, src: Reg | number): this { return this.alu64("mul", dst, src); }
  div64(dst: Reg, src: Reg | number): this { return this.alu64("div", dst, src); }
  mod64(dst: Reg, src: Reg | number): this { return this.alu64("mod", dst, src); }
  and64(dst: Reg, src: Reg | number): this { return this.alu64("and", dst, src); }
  or64(dst: Reg, src: Reg | number): this { return this.alu64("or", dst, src); }
  xor64(dst: Reg, src: Reg | number): this { return this.alu64("xor", dst, src); }
  lsh64(dst: Reg, src: Reg | number): this { return this.alu64("lsh", dst, src); }
  rsh64(dst: Reg, src: Reg | number): this { return this.alu64("rsh", dst, src); }
  arsh64(dst: Reg, src: Reg | number): this { return this.alu64("arsh", dst, src); }
  neg64(dst: Reg): this { return this.raw(CLASS.ALU64 | ALU.neg, regNum(dst), 0, 0, 0); }

  mov32(dst: Reg, src: Reg | number): this { return this.alu32("mov", dst, src); }
  add32(dst: Reg, src: Reg | number): this { return this.alu32("add", dst, src); }
  sub32(dst: Reg, src: Reg | number): this { return this.alu32("sub", dst, src); }
  and32(dst: Reg, src: Reg | number): this { return this.alu32("and", dst, src); }
  or32(dst: Reg, src: Reg | number): this { return this.alu32("or", dst, src); }
  xor32(dst: Reg, src: Reg | number): this { return this.alu32("xor", dst, src); }
  lsh32(dst: Reg, src: Reg | number): this { return this.alu32("lsh", dst, src); }
  rsh32(dst: Reg, src: Reg | number): this { return this.alu32("rsh", dst, src); }

  /** Byte swap to big endian (`dst = be16/be32/be64 dst`), as htons/htonl on a little-endian CPU. */
  toBe(dst: Reg, bits: 16 | 32 | 64): this {
    return this.raw(CLASS.ALU | ALU.end | SRC_X, regNum(dst), 0, 0, bits);
  }

  /** Conversion to little endian (`dst = le16/le32/le64 dst`): truncation on a little-endian CPU. */
  toLe(dst: Reg, bits: 16 | 32 | 64): this {
    return this.raw(CLASS.ALU | ALU.end | SRC_K, regNum(dst), 0, 0, bits);
  }

  // ---- memory ---------------------------------------------------------------------------------------

  /** `dst = *(size *)(src + off)`. */
  ldx(size: Size, dst: Reg, src: Reg, off: number): this {
    return this.raw(CLASS.LDX | MODE.MEM | SIZE[size], regNum(dst), regNum(src), s16(off, "load offset"), 0);
  }

  /** `*(size *)(dst + off) = src`. */
  stx(size: Size, dst: Reg, off: number, src: Reg): this {
    return this.raw(CLASS.STX | MODE.MEM | SIZE[size], regNum(dst), regNum(src), s16(off, "store offset"), 0);
  }

  /** `*(size *)(dst + off) = imm`. */
  st(size: Size, dst: Reg, off: number, imm: number): this {
    return this.raw(CLASS.ST | MODE.MEM | SIZE[size], regNum(dst), 0, s16(off, "store offset"), s32(imm, "store immediate"));
  }

  /** `lock *(size *)(dst + off) += src` (atomic add, w or dw). */
  atomicAdd(size: "w" | "dw", dst: Reg, off: number, src: Reg): this {
    return this.raw(CLASS.STX | MODE.ATOMIC | SIZE[size], regNum(dst), regNum(src), s16(off, "atomic offset"), ATOMIC_ADD);
  }

  /** `dst = imm64` (two slots). */
  ldImm64(dst: Reg, value: number | bigint): this {
    const v = BigInt.asUintN(64, BigInt(value));
    const lo = Number(v & 0xffffffffn) | 0;
    const hi = Number(v >> 32n) | 0;
    this.raw(CLASS.LD | MODE.IMM | SIZE.dw, regNum(dst), 0, 0, lo);
    return this.raw(0, 0, 0, 0, hi);
  }

  /** `dst = map` for a map fd (ld_imm64 with BPF_PSEUDO_MAP_FD; the verifier swaps in the map pointer). */
  ldMapFd(dst: Reg, mapFd: number): this {
    this.raw(CLASS.LD | MODE.IMM | SIZE.dw, regNum(dst), BPF_PSEUDO_MAP_FD, 0, s32(mapFd, "map fd"));
    return this.raw(0, 0, 0, 0, 0);
  }

  // ---- jumps ----------------------------------------------------------------------------------------

  /** Unconditional jump. */
  ja(target: Target): this {
    return this.jumpTo(CLASS.JMP | JMP.ja, 0, 0, 0, target);
  }

  /** `if dst op src goto target`, 64-bit compare. */
  jmp(op: JmpOp, dst: Reg, src: Reg | number, target: Target): this {
    return this.cond(CLASS.JMP, op, dst, src, target);
  }

  /** `if wdst op wsrc goto target`, 32-bit compare. */
  jmp32(op: JmpOp, dst: Reg, src: Reg | number, target: Target): this {
    return this.cond(CLASS.JMP32, op, dst, src, target);
  }

  jeq(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jeq", dst, src, target); }
  jne(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jne", dst, src, target); }
  jgt(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jgt", dst, src, target); }
  jge(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jge", dst, src, target); }
  jlt(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jlt", dst, src, target); }
  jle(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jle", dst, src, target); }
  jset(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jset", dst, src, target); }
  jsgt(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jsgt", dst, src, target); }
  jsge(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jsge", dst, src, target); }
  jslt(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jslt", dst, src, target); }
  jsle(dst: Reg, src: Reg | number, target: Target): this { return this.jmp("jsle", dst, src, target); }

  private cond(cls: number, op: JmpOp, dst: Reg, src: Reg | number, target: Target): this {
    const code = JMP[op];
    if (code === undefined) throw new RangeError(`Invalid jump operation '${String(op)}'`);
    if (isReg(src)) return this.jumpTo(cls | code | SRC_X, regNum(dst), regNum(src), 0, target);
    return this.jumpTo(cls | code | SRC_K, regNum(dst), 0, s32(src, `${op} immediate`), target);
  }

  private jumpTo(code: number, dst: number, src: number, imm: number, target: Target): this {
    if (typeof target === "number") return this.raw(code, dst, src, s16(target, "jump offset"), imm);
    return this.raw(code, dst, src, 0, imm, target);
  }

  /** Calls helper `id` (see {@link Helper}); arguments in R1-R5, result in R0. */
  call(id: number): this {
    return this.raw(CLASS.JMP | JMP.call, 0, 0, 0, s32(id, "helper id"));
  }

  /** Returns R0. */
  exit(): this {
    return this.raw(CLASS.JMP | JMP.exit, 0, 0, 0, 0);
  }

  // ---- output ---------------------------------------------------------------------------------------

  /** Resolves labels and encodes the instructions (8 bytes each, little-endian). */
  assemble(): Uint8Array {
    const out = new Uint8Array(this.insns.length * 8);
    const dv = new DataView(out.buffer);
    this.insns.forEach((insn, i) => {
      let off = insn.off;
      if (insn.target !== undefined) {
        const at = this.labels.get(insn.target);
        if (at === undefined) throw new Error(`Undefined label '${insn.target}' (jump at instruction ${i})`);
        if (at >= this.insns.length) throw new Error(`Label '${insn.target}' is past the last instruction`);
        off = at - (i + 1);
        if (off < -0x8000 || off > 0x7fff) throw new RangeError(`Jump to '${insn.target}' at instruction ${i} is too far (${off} slots)`);
      }
      const o = i * 8;
      out[o] = insn.code;
      out[o + 1] = (insn.src << 4) | insn.dst;
      dv.setInt16(o + 2, off, true);
      dv.setInt32(o + 4, insn.imm, true);
    });
    return out;
  }
}
