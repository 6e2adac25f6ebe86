// Maps, programs and links are FdHandles (sys/fd-handle.ts): constructions that fail after the kernel gave
// an fd close it, close() is idempotent, and `using` closes.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns, createNetns, inNetns } from "../testing/netns.js";
import { Asm, R0, XdpAction } from "./asm.js";
import { BpfMap, MapType } from "./map.js";
import { Program, ProgType } from "./prog.js";
import { XdpLink } from "./link.js";
import { loadXskRedirect, xsksMapSpec } from "./xsk-redirect.js";
import { ensureBpffs, unmountBpffs } from "./bpffs.js";
import { fdKind } from "./syscall.js";
import { openFds } from "../testing/fds.js";

const skip = !canUseNetns() && "needs root (bpf, namespaces)";


const isOpen = (fd: number): boolean => {
  try {
    fdKind(fd);
    return true;
  } catch {
    return false;
  }
};

const pass = () => new Asm().mov64(R0, XdpAction.PASS).exit();

const fsDir = mkdtempSync(join(tmpdir(), "xdplane-bpffs-"));
after(() => {
  unmountBpffs(fsDir);
  rmSync(fsDir, { recursive: true, force: true });
});

test("failed constructions leak no fd", { skip }, () => {
  ensureBpffs(fsDir);
  const mapPin = join(fsDir, "map");
  const progPin = join(fsDir, "prog");
  {
    using m = BpfMap.create(xsksMapSpec(4));
    using p = Program.load({ type: ProgType.XDP, name: "t_pinned", insns: pass() });
    m.pin(mapPin);
    p.pin(progPin);
  }
  const before = openFds();
  // Each of these gets an fd from the kernel, then finds it is the wrong thing.
  assert.throws(() => BpfMap.fromPin(progPin), /is a BPF prog, expected a BPF map/);
  assert.throws(() => BpfMap.fromPin(mapPin, { maxEntries: 64 }), /max entries 4, expected 64/);
  assert.throws(() => Program.fromPin(mapPin), /is a BPF map, expected a BPF prog/);
  assert.throws(() => XdpLink.fromPin(mapPin), /is a BPF map, expected a BPF link/);
  // These fail before there is an fd.
  assert.throws(() => BpfMap.fromPin(join(fsDir, "none")), { code: "ENOENT" });
  assert.throws(() => BpfMap.create({ type: MapType.HASH, keySize: 0, valueSize: 4, maxEntries: 1 }), { code: "EINVAL" });
  assert.throws(() => Program.load({ type: ProgType.XDP, insns: new Asm().mov64(R0, 0) }), { code: "EINVAL" });
  assert.throws(() => XdpLink.attach(999_999, "lo"), { code: "EBADF" });
  assert.deepEqual(openFds(), before);

  // fromFd leaves an fd that fails its checks with the caller.
  using prog = Program.fromPin(progPin);
  assert.throws(() => BpfMap.fromFd(prog.fd), /is a BPF prog, expected a BPF map/);
  assert.throws(() => XdpLink.fromFd(prog.fd), /is a BPF prog, expected a BPF link/);
  assert.equal(fdKind(prog.fd), "prog");
});

test("close() twice is harmless; using closes maps, programs, links and the redirect pair", { skip }, () => {
  const before = openFds();
  const m = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: "t_twice" });
  const fd = m.fd;
  m.close();
  assert.equal(m.closed, true);
  // The next map gets the number just freed; closing the old handle again must leave it open.
  using next = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: "t_next" });
  assert.equal(next.fd, fd);
  m.close();
  m[Symbol.dispose]();
  next.updateU32(0, 7);
  assert.equal(next.lookupU32(0), 7);
  next.close();

  const fds: number[] = [];
  {
    using map = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    using prog = Program.load({ type: ProgType.XDP, insns: pass() });
    using redirect = loadXskRedirect();
    fds.push(map.fd, prog.fd, redirect.map.fd, redirect.prog.fd);
    assert.deepEqual(fds.map(fdKind), ["map", "prog", "map", "prog"]);
  }
  assert.deepEqual(fds.map(isOpen), [false, false, false, false]);

  const { ns, destroy } = createNetns("fdh");
  try {
    inNetns(ns, () => {
      using prog = Program.load({ type: ProgType.XDP, insns: pass() });
      let linkFd = -1;
      assert.throws(() => {
        using link = XdpLink.attach(prog, "lo", { mode: "skb" });
        linkFd = link.fd;
        assert.equal(fdKind(linkFd), "link");
        throw new Error("boom");
      }, /boom/);
      assert.equal(isOpen(linkFd), false);
    });
  } finally {
    destroy();
  }
  assert.deepEqual(openFds(), before);
});
