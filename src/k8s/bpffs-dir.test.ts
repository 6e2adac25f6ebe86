import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns } from "../testing/netns.js";
import { unmountBpffs } from "../bpf/index.js";
import { prepareBpffsDir, fsTypeOf, BPF_FS_MAGIC } from "./bpffs-dir.js";

const noMount = (dir: string) => assert.fail(`no mount expected, asked to mount ${dir}`);

test("a folder below a non-empty sysfs folder is refused at once, without creating or mounting anything", () => {
  // /sys/class/net is sysfs and never empty (lo): neither a bpffs nor an empty mount point for one.
  const dir = "/sys/class/net/xdplane-no-such/pins";
  const t0 = performance.now();
  assert.throws(() => prepareBpffsDir(dir, { canMount: () => true, mount: noMount }),
    (e: Error) => /'\/sys\/class\/net' is on sysfs, where no folder can be created/.test(e.message) && /mount -t bpf bpf/.test(e.message));
  assert.ok(performance.now() - t0 < 1000, "answers at once");
  assert.equal(existsSync("/sys/class/net/xdplane-no-such"), false);
});

test("no permission to mount: the error names the folder to mount; the missing folders were made one by one", () => {
  const base = mkdtempSync(join(tmpdir(), "xdplane-bpffsdir-"));
  try {
    const dir = join(base, "a", "b");
    assert.throws(() => prepareBpffsDir(dir, { canMount: () => false, mount: noMount, mode: 0o700 }),
      (e: Error) => e.message.includes(`'${dir}' is not a bpffs`) && e.message.includes("no CAP_SYS_ADMIN") &&
        e.message.includes(`mount -t bpf bpf ${dir}`));
    assert.equal(statSync(join(base, "a")).mode & 0o777, 0o700);
    assert.ok(statSync(dir).isDirectory());
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("a failing mount is reported with what to mount; a mount that does not show in statfs is an error", () => {
  const base = mkdtempSync(join(tmpdir(), "xdplane-bpffsdir-"));
  try {
    const dir = join(base, "m");
    assert.throws(() => prepareBpffsDir(dir, { canMount: () => true, mount: () => { throw new Error("mount: permission denied"); } }),
      (e: Error) => e.message.includes("mounting one failed: mount: permission denied") && e.message.includes(`mount -t bpf bpf ${dir}`));
    const asked: string[] = [];
    assert.throws(() => prepareBpffsDir(dir, { canMount: () => true, mount: (d) => void asked.push(d) }), /statfs does not show one there/);
    assert.deepEqual(asked, [dir], "mounted at the folder itself on an ordinary filesystem");
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("mounts a bpffs at the folder on an ordinary filesystem; folders below it need no mount", { skip: !canUseNetns() && "needs root (mount)" }, () => {
  const base = mkdtempSync(join(tmpdir(), "xdplane-bpffsdir-"));
  const dir = join(base, "fs");
  try {
    assert.equal(prepareBpffsDir(dir), dir);
    assert.equal(fsTypeOf(dir), BPF_FS_MAGIC);
    const sub = join(dir, "pool", "uuid");
    assert.equal(prepareBpffsDir(sub, { mount: noMount }), null);
    assert.equal(fsTypeOf(sub), BPF_FS_MAGIC);
    assert.equal(prepareBpffsDir(dir, { mount: noMount }), null, "already one");
  } finally {
    unmountBpffs(dir);
    rmSync(base, { recursive: true, force: true });
  }
});
