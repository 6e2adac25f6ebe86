import { test } from "node:test";
import assert from "node:assert/strict";
import { AttrWriter, Attrs, NLA_F_NESTED, align4 } from "./attr.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("attributes encode as struct nlattr: length, type, payload padded to 4", () => {
  assert.equal(hex(new AttrWriter().u32(4, 1500).finish()), "08000400dc050000");
  assert.equal(hex(new AttrWriter().str(3, "eth0").finish()), "0900030065746830" + "00000000");
  assert.equal(hex(new AttrWriter().u8(2, 1).finish()), "0500020001000000");
  assert.equal(hex(new AttrWriter().s32(1, -1).finish()), "08000100ffffffff");
  assert.equal(hex(new AttrWriter().flag(7).finish()), "04000700");
  assert.equal(hex(new AttrWriter().be16(9, 0x0800).finish()), "0600090008000000");
  // IFLA_XDP { IFLA_XDP_FD = -1, IFLA_XDP_FLAGS = 2 }: nested flag on the outer type, length covers both.
  const w = new AttrWriter();
  const n = w.begin(43);
  w.s32(1, -1).u32(3, 2);
  w.end(n);
  assert.equal(hex(w.finish()), "14002b80" + "08000100ffffffff" + "0800030002000000");
  assert.equal(align4(5), 8);
});

test("a fixed header comes first and attributes follow at the next 4-byte boundary", () => {
  const w = new AttrWriter(8); // small, so it must grow
  const h = w.fixed(6);
  h.setUint16(0, 0xbeef, true);
  w.str(1, "a-long-enough-name-to-grow-the-buffer");
  const b = w.finish();
  assert.equal(b.length, 8 + align4(4 + 38));
  assert.equal(hex(b.subarray(0, 8)), "efbe000000000000");
  assert.equal(Attrs.parse(b, 8).str(1), "a-long-enough-name-to-grow-the-buffer");
});

test("parse reads back what was written, nested and repeated, flags masked", () => {
  const w = new AttrWriter();
  w.u8(1, 7).u16(2, 0x1234).u32(3, 0xfffffffe).s32(4, -5).u64(5, 2n ** 40n).str(6, "veth");
  const nest = w.begin(7);
  w.u32(1, 11).u32(1, 12);
  const inner = w.begin(2, false);
  w.str(3, "deep");
  w.end(inner);
  w.end(nest);
  const a = Attrs.parse(w.finish());
  assert.equal(a.u8(1), 7);
  assert.equal(a.u16(2), 0x1234);
  assert.equal(a.u32(3), 0xfffffffe);
  assert.equal(a.s32(4), -5);
  assert.equal(a.u64(5), 2n ** 40n);
  assert.equal(a.str(6), "veth");
  assert.ok(a.has(7), "NLA_F_NESTED is masked off the type");
  assert.equal(a.has(7 | NLA_F_NESTED), false);
  const n = a.nested(7);
  assert.equal(n?.u32(1), 11);
  assert.deepEqual(n?.all(1).map((p) => new DataView(p.buffer, p.byteOffset).getUint32(0, true)), [11, 12]);
  assert.equal(n?.nested(2)?.str(3), "deep");
  assert.equal(a.u32(99), undefined);
  assert.deepEqual(a.types().sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7]);
});

test("parse stops at a truncated attribute instead of reading past the end", () => {
  const b = new AttrWriter().u32(1, 5).u32(2, 6).finish();
  const a = Attrs.parse(b, 0, b.length - 2);
  assert.equal(a.u32(1), 5);
  assert.equal(a.has(2), false);
  const bad = Uint8Array.of(2, 0, 1, 0); // length 2 < header
  assert.deepEqual(Attrs.parse(bad).types(), []);
});
