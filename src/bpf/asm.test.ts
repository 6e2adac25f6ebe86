import { test } from "node:test";
import assert from "node:assert/strict";
import { Asm, R0, R1, R2, R3, R4, R5, R6, R7, R9, R10, Helper, XdpAction, XdpMd } from "./asm.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

// Each case: the llvm-mc text, the builder call, and the encoding. Encodings from
// `llvm-mc-14 -triple bpfel -show-encoding` except where marked "spec" (llvm-mc 14 has no syntax for
// them; derived from Documentation/bpf/standardization/instruction-set.rst).
const cases: Array<[string, (a: Asm) => Asm, string]> = [
  ["r0 = 1", (a) => a.mov64(R0, 1), "b700000001000000"],
  ["r1 = r2", (a) => a.mov64(R1, R2), "bf21000000000000"],
  ["w3 = 7", (a) => a.mov32(R3, 7), "b403000007000000"],
  ["w3 = w4", (a) => a.mov32(R3, R4), "bc43000000000000"],
  ["r1 += 4", (a) => a.add64(R1, 4), "0701000004000000"],
  ["r1 += r2", (a) => a.add64(R1, R2), "0f21000000000000"],
  ["r5 -= -1", (a) => a.sub64(R5, -1), "17050000ffffffff"],
  ["r5 -= r6", (a) => a.sub64(R5, R6), "1f65000000000000"],
  ["r1 *= 3", (a) => a.mul64(R1, 3), "2701000003000000"],
  ["r1 /= r2", (a) => a.div64(R1, R2), "3f21000000000000"],
  ["r1 %= 10 (spec)", (a) => a.mod64(R1, 10), "970100000a000000"],
  ["r2 &= 255", (a) => a.and64(R2, 0xff), "57020000ff000000"],
  ["r2 &= r3", (a) => a.and64(R2, R3), "5f32000000000000"],
  ["r2 |= 8", (a) => a.or64(R2, 8), "4702000008000000"],
  ["r2 |= r3", (a) => a.or64(R2, R3), "4f32000000000000"],
  ["r2 ^= r3", (a) => a.xor64(R2, R3), "af32000000000000"],
  ["r3 <<= 3", (a) => a.lsh64(R3, 3), "6703000003000000"],
  ["r3 <<= r4", (a) => a.lsh64(R3, R4), "6f43000000000000"],
  ["r3 >>= 5", (a) => a.rsh64(R3, 5), "7703000005000000"],
  ["r3 >>= r4", (a) => a.rsh64(R3, R4), "7f43000000000000"],
  ["r3 s>>= 2", (a) => a.arsh64(R3, 2), "c703000002000000"],
  ["r4 = -r4", (a) => a.neg64(R4), "8704000000000000"],
  ["w1 += 4", (a) => a.add32(R1, 4), "0401000004000000"],
  ["w1 -= w2", (a) => a.sub32(R1, R2), "1c21000000000000"],
  ["w2 &= 15", (a) => a.and32(R2, 15), "540200000f000000"],
  ["w2 |= w3", (a) => a.or32(R2, R3), "4c32000000000000"],
  ["w3 <<= 1", (a) => a.lsh32(R3, 1), "6403000001000000"],
  ["w3 >>= 1", (a) => a.rsh32(R3, 1), "7403000001000000"],
  ["w4 ^= w5", (a) => a.xor32(R4, R5), "ac54000000000000"],
  ["r1 = be16 r1", (a) => a.toBe(R1, 16), "dc01000010000000"],
  ["r2 = be32 r2", (a) => a.toBe(R2, 32), "dc02000020000000"],
  ["r3 = be64 r3", (a) => a.toBe(R3, 64), "dc03000040000000"],
  ["r1 = le16 r1", (a) => a.toLe(R1, 16), "d401000010000000"],
  ["r2 = *(u8 *)(r1 + 0)", (a) => a.ldx("b", R2, R1, 0), "7112000000000000"],
  ["r2 = *(u16 *)(r1 + 12)", (a) => a.ldx("h", R2, R1, 12), "69120c0000000000"],
  ["r2 = *(u32 *)(r1 + 16)", (a) => a.ldx("w", R2, R1, XdpMd.rx_queue_index), "6112100000000000"],
  ["r2 = *(u64 *)(r10 - 8)", (a) => a.ldx("dw", R2, R10, -8), "79a2f8ff00000000"],
  ["*(u8 *)(r10 - 1) = r1", (a) => a.stx("b", R10, -1, R1), "731affff00000000"],
  ["*(u16 *)(r10 - 2) = r1", (a) => a.stx("h", R10, -2, R1), "6b1afeff00000000"],
  ["*(u32 *)(r10 - 4) = r1", (a) => a.stx("w", R10, -4, R1), "631afcff00000000"],
  ["*(u64 *)(r10 - 16) = r7", (a) => a.stx("dw", R10, -16, R7), "7b7af0ff00000000"],
  ["*(u32 *)(r10 - 4) = 0 (spec)", (a) => a.st("w", R10, -4, 0), "620afcff00000000"],
  ["*(u64 *)(r10 - 8) = -2 (spec)", (a) => a.st("dw", R10, -8, -2), "7a0af8fffeffffff"],
  ["lock *(u32 *)(r0 + 4) += r1", (a) => a.atomicAdd("w", R0, 4, R1), "c310040000000000"],
  ["lock *(u64 *)(r0 + 0) += r1", (a) => a.atomicAdd("dw", R0, 0, R1), "db10000000000000"],
  ["r1 = 0x1122334455667788 ll", (a) => a.ldImm64(R1, 0x1122334455667788n), "18010000887766550000000044332211"],
  ["r9 = -1 ll", (a) => a.ldImm64(R9, -1), "18090000ffffffff00000000ffffffff"],
  ["goto +2", (a) => a.ja(2), "0500020000000000"],
  ["if r1 == 5 goto +3", (a) => a.jeq(R1, 5, 3), "1501030005000000"],
  ["if r1 == r2 goto -1", (a) => a.jeq(R1, R2, -1), "1d21ffff00000000"],
  ["if r1 != 0 goto +1", (a) => a.jne(R1, 0, 1), "5501010000000000"],
  ["if r1 > 1 goto +1", (a) => a.jgt(R1, 1, 1), "2501010001000000"],
  ["if r1 >= r3 goto +1", (a) => a.jge(R1, R3, 1), "3d31010000000000"],
  ["if r1 < 100 goto +1", (a) => a.jlt(R1, 100, 1), "a501010064000000"],
  ["if r1 <= r3 goto +1", (a) => a.jle(R1, R3, 1), "bd31010000000000"],
  ["if r1 & 4 goto +1 (spec)", (a) => a.jset(R1, 4, 1), "4501010004000000"],
  ["if r1 s> -1 goto +1", (a) => a.jsgt(R1, -1, 1), "65010100ffffffff"],
  ["if r1 s>= r2 goto +1", (a) => a.jsge(R1, R2, 1), "7d21010000000000"],
  ["if r1 s< 0 goto +1", (a) => a.jslt(R1, 0, 1), "c501010000000000"],
  ["if r1 s<= r4 goto +1", (a) => a.jsle(R1, R4, 1), "dd41010000000000"],
  ["if w1 == 7 goto +1", (a) => a.jmp32("jeq", R1, 7, 1), "1601010007000000"],
  ["if w1 != w2 goto +1", (a) => a.jmp32("jne", R1, R2, 1), "5e21010000000000"],
  ["if w1 > 9 goto +1", (a) => a.jmp32("jgt", R1, 9, 1), "2601010009000000"],
  ["call 51", (a) => a.call(Helper.redirect_map), "8500000033000000"],
  ["exit", (a) => a.exit(), "9500000000000000"],
];

test("each instruction encodes as llvm-mc encodes it", () => {
  for (const [text, build, want] of cases) {
    assert.equal(hex(build(new Asm()).assemble()), want, text);
  }
});

test("ldMapFd is ld_imm64 with src BPF_PSEUDO_MAP_FD and the fd in the first imm", () => {
  // r1 = map[fd 7]: 0x18, dst 1 | src 1 << 4, off 0, imm 7; second slot all zero.
  assert.equal(hex(new Asm().ldMapFd(R1, 7).assemble()), "1811000007000000" + "0000000000000000");
});

test("labels resolve to relative offsets, forwards and backwards, counting ld_imm64 as two slots", () => {
  const a = new Asm()
    .mov64(R0, 0) // 0
    .label("top")
    .jeq(R1, 0, "out") // 1: out is 6 -> off 4
    .ldImm64(R2, 1) // 2,3
    .add64(R0, 1) // 4
    .ja("top") // 5: top is 1 -> off -5
    .label("out")
    .exit(); // 6
  const b = a.assemble();
  assert.equal(b.length, 7 * 8);
  const dv = new DataView(b.buffer);
  assert.equal(dv.getInt16(1 * 8 + 2, true), 4);
  assert.equal(dv.getInt16(5 * 8 + 2, true), -5);
  assert.equal(a.length, 7);
});

test("the XSK redirect sequence assembles to libxdp's instructions", () => {
  const a = new Asm()
    .ldx("w", R2, R1, XdpMd.rx_queue_index)
    .ldMapFd(R1, 5)
    .mov64(R3, XdpAction.PASS)
    .call(Helper.redirect_map)
    .exit();
  assert.equal(
    hex(a.assemble()),
    "6112100000000000" + "1811000005000000" + "0000000000000000" + "b703000002000000" + "8500000033000000" + "9500000000000000",
  );
});

test("assembly errors name the problem", () => {
  assert.throws(() => new Asm().ja("nowhere").exit().assemble(), /Undefined label 'nowhere'/);
  assert.throws(() => new Asm().label("x").label("x"), /Duplicate label 'x'/);
  assert.throws(() => new Asm().ja("end").label("end").assemble(), /past the last instruction/);
  assert.throws(() => new Asm().ldx("w", R1, R2, 40000), /16-bit signed offset/);
  assert.throws(() => new Asm().mov64(R1, 2 ** 33), /32-bit integer/);
  assert.throws(() => new Asm().mov64("r11" as never, 1), /Invalid register 'r11'/);
  const far = new Asm().ja("end");
  for (let i = 0; i < 40000; i++) far.mov64(R0, 0);
  far.label("end").exit();
  assert.throws(() => far.assemble(), /too far/);
});
