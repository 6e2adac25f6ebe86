import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, openSync, closeSync, existsSync, unlinkSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns } from "../testing/netns.js";
import { sys } from "../sys/native.js";
import { AF_XDP, SOCK_RAW, SOCK_CLOEXEC } from "../sys/consts.js";
import { BpfMap, BPF_F_NO_PREALLOC, MapType, UpdateFlag, XSKMAP_EXPECT, isPerCpu, possibleCpus } from "./map.js";
import { Program, ProgType } from "./prog.js";
import { Asm, R0 } from "./asm.js";
import { ensureBpffs, unmountBpffs } from "./bpffs.js";
import { xsksMapSpec } from "./xsk-redirect.js";

const skip = !canUseNetns() && "needs root (bpf, namespaces)";

const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);

test("hash map: update, lookup, delete, next key, flags", { skip }, () => {
  const m = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, name: "t_hash" });
  try {
    const out = new Uint8Array(8);
    assert.equal(m.lookup(u32(1), out), false);
    m.update(u32(1), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    m.update(u32(2), new Uint8Array(8).fill(9));
    assert.equal(m.lookup(u32(1), out), true);
    assert.deepEqual([...out], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.throws(() => m.update(u32(1), new Uint8Array(8), UpdateFlag.NOEXIST), { code: "EEXIST" });
    assert.throws(() => m.update(u32(3), new Uint8Array(8), UpdateFlag.EXIST), { code: "ENOENT" });
    assert.deepEqual(m.keysU32().sort(), [1, 2]);
    const first = new Uint8Array(4);
    assert.equal(m.nextKey(null, first), true);
    assert.equal(m.delete(u32(1)), true);
    assert.equal(m.delete(u32(1)), false);
    assert.equal(m.lookup(u32(1), out), false);
    assert.throws(() => m.update(new Uint8Array(3), new Uint8Array(8)), /key is 3 bytes, map wants 4/);
    const info = m.info();
    assert.equal(info.type, MapType.HASH);
    assert.equal(info.keySize, 4);
    assert.equal(info.valueSize, 8);
    assert.equal(info.maxEntries, 16);
    assert.equal(info.name, "t_hash");
    assert.ok(info.id > 0);
  } finally {
    m.close();
  }
});

test("array map with u32 helpers; fromId opens the same map", { skip }, () => {
  const m = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, name: "t_arr" });
  try {
    m.updateU32(2, 0xdeadbeef);
    assert.equal(m.lookupU32(2), 0xdeadbeef);
    assert.equal(m.lookupU32(0), 0);
    assert.throws(() => m.updateU32(4, 1), { code: "E2BIG" });
    assert.deepEqual(m.keysU32(), [0, 1, 2, 3]);
    const again = BpfMap.fromId(m.id);
    try {
      assert.equal(again.lookupU32(2), 0xdeadbeef);
      assert.equal(again.name, "t_arr");
    } finally {
      again.close();
    }
    const wide = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    try {
      assert.throws(() => wide.updateU32(0, 1), /not 4/);
    } finally {
      wide.close();
    }
  } finally {
    m.close();
  }
});

test("XSKMAP: takes AF_XDP socket fds only; fromFd checks what an fd is", { skip }, () => {
  const xsks = BpfMap.create(xsksMapSpec());
  const hash = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
  const xsk = sys.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  const file = openSync("/dev/null", "r");
  const prog = Program.load({ type: ProgType.XDP, insns: new Asm().mov64(R0, 2).exit() });
  try {
    assert.ok(xsk >= 0, `socket(AF_XDP): ${xsk}`);
    assert.deepEqual(
      { type: xsks.info().type, k: xsks.keySize, v: xsks.valueSize, n: xsks.maxEntries, name: xsks.name },
      { type: MapType.XSKMAP, k: 4, v: 4, n: 64, name: "xsks_map" },
    );
    xsks.updateU32(0, xsk);
    assert.throws(() => xsks.updateU32(1, file), { code: "ENOTSOCK" });
    assert.equal(xsks.deleteU32(0), true);
    assert.equal(xsks.deleteU32(0), true); // an XSKMAP slot deletes fine when empty

    // fromFd takes ownership only when the fd passes the checks.
    const dup = BpfMap.fromId(xsks.id);
    const viaFd = BpfMap.fromFd(dup.fd, XSKMAP_EXPECT);
    assert.equal(viaFd.type, MapType.XSKMAP);
    viaFd.close();
    assert.throws(() => BpfMap.fromFd(hash.fd, XSKMAP_EXPECT), /type hash \(1\), expected xskmap \(17\)/);
    assert.throws(() => BpfMap.fromFd(file), /fd \d+ is not a BPF object, expected a BPF map/);
    assert.throws(() => BpfMap.fromFd(prog.fd), /is a BPF prog, expected a BPF map/);
    assert.throws(() => BpfMap.fromFd(hash.fd, { maxEntries: 64, name: "xsks_map" }), /max entries 1, expected 64; name '', expected 'xsks_map'/);
  } finally {
    prog.close();
    closeSync(file);
    sys.close(xsk);
    hash.close();
    xsks.close();
  }
});

test("map names and sizes are checked before the syscall", { skip }, () => {
  assert.throws(() => BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1, name: "this_name_is_too_long" }), RangeError);
  assert.throws(() => BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1, name: "bad-name" }), /A-Z a-z 0-9 _ \./);
  assert.throws(() => BpfMap.create({ type: MapType.HASH, keySize: 0, valueSize: 4, maxEntries: 1, name: "zero" }), /BPF_MAP_CREATE hash \(1\) 'zero'.*EINVAL/);
});

const fsDir = mkdtempSync(join(tmpdir(), "xdplane-bpffs-"));
after(() => {
  unmountBpffs(fsDir);
  rmSync(fsDir, { recursive: true, force: true });
});

test("pin a map in a private bpffs, reopen it from the pin, unpin", { skip }, () => {
  ensureBpffs(fsDir);
  const m = BpfMap.create(xsksMapSpec(8));
  const pin = join(fsDir, "xsks_map");
  try {
    m.pin(pin);
    assert.ok(existsSync(pin));
    assert.throws(() => m.pin(pin), { code: "EEXIST" });
    const id = m.id;
    m.close();
    const back = BpfMap.fromPin(pin, { ...XSKMAP_EXPECT, maxEntries: 8 });
    try {
      assert.equal(back.id, id);
      assert.equal(back.name, "xsks_map");
      assert.throws(() => BpfMap.fromPin(pin, { maxEntries: 64 }), /max entries 8, expected 64/);
    } finally {
      back.close();
    }
    unlinkSync(pin);
    assert.throws(() => BpfMap.fromPin(pin), { code: "ENOENT" });
  } finally {
    m.close();
    if (existsSync(pin)) unlinkSync(pin);
  }
  const other = BpfMap.create(xsksMapSpec());
  try {
    assert.throws(() => other.pin(join(tmpdir(), "not-a-bpffs-pin")), /bpffs/);
  } finally {
    other.close();
  }
});

test("LPM trie (BPF_F_NO_PREALLOC): longest prefix answers a lookup with a /32 key; per-CPU arrays read one value per possible CPU", { skip }, () => {
  const key = (depth: number, a: number[]) => Uint8Array.of(depth, 0, 0, 0, ...a);
  assert.throws(() => BpfMap.create({ type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, name: "t_lpm" }), { code: "EINVAL" });
  const lpm = BpfMap.create({ type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, flags: BPF_F_NO_PREALLOC, name: "t_lpm" });
  try {
    lpm.update(key(8, [10, 0, 0, 0]), u32(1));
    lpm.update(key(16, [10, 1, 0, 0]), u32(2));
    const out = new Uint8Array(4);
    const at = (a: number[]) => (lpm.lookup(key(32, a), out) ? new DataView(out.buffer).getUint32(0, true) : undefined);
    assert.equal(at([10, 1, 2, 3]), 2);
    assert.equal(at([10, 2, 2, 3]), 1);
    assert.equal(at([11, 0, 0, 1]), undefined);
    assert.equal(lpm.delete(key(16, [10, 1, 0, 0])), true);
    assert.equal(at([10, 1, 2, 3]), 1);
    assert.equal(lpm.keys().length, 1);
  } finally {
    lpm.close();
  }

  assert.equal(isPerCpu(MapType.PERCPU_ARRAY), true);
  assert.equal(isPerCpu(MapType.ARRAY), false);
  const cpus = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim().split(",")
    .reduce((n, r) => n + (r.includes("-") ? Number(r.split("-")[1]) - Number(r.split("-")[0]) + 1 : 1), 0);
  assert.equal(possibleCpus(), cpus);
  const pc = BpfMap.create({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 12, maxEntries: 2, name: "t_pcpu" });
  try {
    assert.equal(pc.lookupSize, 16 * cpus, "12 bytes rounded up to 8, per CPU");
    const v = new Uint8Array(pc.lookupSize);
    for (let c = 0; c < cpus; c++) v[c * 16] = c + 1;
    pc.update(u32(1), v);
    const back = new Uint8Array(pc.lookupSize);
    assert.equal(pc.lookup(u32(1), back), true);
    assert.deepEqual(back, v);
    assert.throws(() => pc.lookup(u32(1), new Uint8Array(12)), new RegExp(`value is 12 bytes, map wants ${16 * cpus}`));
    assert.throws(() => pc.lookupU32(1), /key 4 and value 12 bytes, not 4/);
  } finally {
    pc.close();
  }
});
