import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns } from "../testing/netns.js";
import { Asm, R0, R1, R2, XdpAction } from "./asm.js";
import { Program, ProgType, VerifierError, programIds } from "./prog.js";
import { BpfMap, MapType } from "./map.js";
import { ensureBpffs, unmountBpffs } from "./bpffs.js";

const skip = !canUseNetns() && "needs root (bpf, namespaces)";

const pass = () => new Asm().mov64(R0, XdpAction.PASS).exit();

test("load an XDP program; info by fd and by id", { skip }, () => {
  const p = Program.load({ type: ProgType.XDP, name: "t_pass", insns: pass() });
  try {
    const info = p.info();
    assert.equal(info.type, ProgType.XDP);
    assert.equal(info.name, "t_pass");
    assert.match(info.tag, /^[0-9a-f]{16}$/);
    assert.ok(info.id > 0);
    assert.equal(info.xlatedLen, 16);
    assert.deepEqual(info.mapIds, []);
    assert.ok(programIds().includes(info.id));
    const again = Program.fromId(info.id);
    try {
      assert.equal(again.info().tag, info.tag);
      assert.equal(again.name, "t_pass");
    } finally {
      again.close();
    }
  } finally {
    p.close();
  }
});

test("map ids of a program that uses a map", { skip }, () => {
  const m = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: "t_used" });
  const p = Program.load({ type: ProgType.XDP, name: "t_map", insns: new Asm().ldMapFd(R1, m.fd).mov64(R0, XdpAction.PASS).exit() });
  try {
    assert.deepEqual(p.info().mapIds, [m.id]);
  } finally {
    p.close();
    m.close();
  }
});

test("a verifier rejection carries the verifier log in the error", { skip }, () => {
  // r0 = r2 reads a register that was never written.
  const bad = new Asm().mov64(R0, R2).exit();
  let err: unknown;
  try {
    Program.load({ type: ProgType.XDP, name: "t_bad", insns: bad }).close();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof VerifierError, `expected a VerifierError, got ${String(err)}`);
  assert.equal(err.code, "EACCES");
  assert.match(err.message, /BPF_PROG_LOAD xdp 't_bad' \(2 insns\): EACCES/);
  assert.match(err.message, /verifier log:\n/);
  assert.match(err.message, /R2 !read_ok/);
  assert.match(err.log, /R2 !read_ok/);

  // No exit at the end: a different complaint, still in the message.
  assert.throws(() => Program.load({ type: ProgType.XDP, insns: new Asm().mov64(R0, 0) }), (e: Error) =>
    e instanceof VerifierError && /last insn is not an exit or jmp|jumps? out of range/.test(e.message));
});

test("program specs are checked", () => {
  assert.throws(() => Program.load({ type: ProgType.XDP, insns: new Uint8Array(12) }), /multiple of 8/);
  assert.throws(() => Program.load({ type: ProgType.XDP, name: "has space", insns: pass() }), RangeError);
});

const fsDir = mkdtempSync(join(tmpdir(), "xdplane-bpffs-"));
after(() => {
  unmountBpffs(fsDir);
  rmSync(fsDir, { recursive: true, force: true });
});

test("pin a program and open it from the pin", { skip }, () => {
  ensureBpffs(fsDir);
  const p = Program.load({ type: ProgType.XDP, name: "t_pinned", insns: pass() });
  const pin = join(fsDir, "prog");
  try {
    p.pin(pin);
    const back = Program.fromPin(pin);
    try {
      assert.equal(back.info().id, p.info().id);
    } finally {
      back.close();
    }
  } finally {
    p.close();
    try { unlinkSync(pin); } catch { /* not pinned */ }
  }
});
