import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns } from "../testing/netns.js";
import { ensureBpffs, isBpffs, unmountBpffs } from "./bpffs.js";

const mounted = (dir: string) => readFileSync("/proc/self/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === dir && l.split(" ")[2] === "bpf");

test("ensureBpffs mounts a private bpffs once; subfolders need no mount; unmount removes it", { skip: !canUseNetns() && "needs root (mount)" }, () => {
  const base = mkdtempSync(join(tmpdir(), "xdplane-bpffs-"));
  const dir = join(base, "fs");
  try {
    assert.equal(isBpffs(base), false);
    assert.equal(isBpffs(dir), false); // does not exist yet
    assert.equal(ensureBpffs(dir), true);
    assert.ok(isBpffs(dir));
    assert.ok(mounted(dir));
    assert.equal(ensureBpffs(dir), false);
    const sub = join(dir, "pool", "uuid");
    assert.equal(ensureBpffs(sub), false);
    assert.ok(existsSync(sub));
    assert.ok(isBpffs(sub));
    unmountBpffs(dir);
    assert.equal(isBpffs(dir), false);
    assert.equal(mounted(dir), false);
  } finally {
    unmountBpffs(dir);
    rmSync(base, { recursive: true, force: true });
  }
});
