import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync, readlinkSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { canUseNetns } from "../testing/netns.js";
import { ensureBpffs, isBpffs, unmountBpffs, fsTypeOf, hasSysAdmin, BPF_FS_MAGIC } from "./bpffs.js";

const mounted = (dir: string) => readFileSync("/proc/self/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === dir && l.split(" ")[2] === "bpf");
const noMount = (dir: string) => assert.fail(`no mount expected, asked to mount ${dir}`);

test("ensureBpffs mounts a private bpffs once; subfolders need no mount; unmount removes it", { skip: !canUseNetns() && "needs root (mount)" }, () => {
  const base = mkdtempSync(join(tmpdir(), "xdplane-bpffs-"));
  const dir = join(base, "fs");
  try {
    assert.equal(isBpffs(base), false);
    assert.equal(isBpffs(dir), false); // does not exist yet
    assert.equal(ensureBpffs(dir), dir, "mounted at the folder itself on an ordinary filesystem");
    assert.ok(isBpffs(dir));
    assert.equal(fsTypeOf(dir), BPF_FS_MAGIC);
    assert.ok(mounted(dir));
    assert.equal(ensureBpffs(dir, { mount: noMount }), null, "already one");
    const sub = join(dir, "pool", "uuid");
    assert.equal(ensureBpffs(sub, { mount: noMount }), null);
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

test("a folder below a non-empty sysfs folder is refused at once, without creating or mounting anything", () => {
  // /sys/class/net is sysfs and never empty (lo): neither a bpffs nor an empty mount point for one.
  const dir = "/sys/class/net/xdplane-no-such/pins";
  const t0 = performance.now();
  assert.throws(() => ensureBpffs(dir, { canMount: () => true, mount: noMount }),
    (e: Error) => /'\/sys\/class\/net' is on sysfs, where no folder can be created/.test(e.message) && /mount -t bpf bpf/.test(e.message));
  assert.ok(performance.now() - t0 < 1000, "answers at once");
  assert.equal(existsSync("/sys/class/net/xdplane-no-such"), false);
});

test("no permission to mount: the error names the folder to mount; the missing folders were made one by one", () => {
  const base = mkdtempSync(join(tmpdir(), "xdplane-bpffs-"));
  try {
    const dir = join(base, "a", "b");
    assert.throws(() => ensureBpffs(dir, { canMount: () => false, mount: noMount, mode: 0o700 }),
      (e: Error) => e.message.includes(`'${dir}' is not a bpffs`) && e.message.includes("no CAP_SYS_ADMIN") &&
        e.message.includes(`mount -t bpf bpf ${dir}`));
    assert.equal(statSync(join(base, "a")).mode & 0o777, 0o700);
    assert.ok(statSync(dir).isDirectory());
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("a failing mount is reported with what to mount; a mount that does not show in statfs is an error", () => {
  const base = mkdtempSync(join(tmpdir(), "xdplane-bpffs-"));
  try {
    const dir = join(base, "m");
    assert.throws(() => ensureBpffs(dir, { canMount: () => true, mount: () => { throw new Error("mount: permission denied"); } }),
      (e: Error) => e.message.includes("mounting one failed: mount: permission denied") && e.message.includes(`mount -t bpf bpf ${dir}`));
    const asked: string[] = [];
    assert.throws(() => ensureBpffs(dir, { canMount: () => true, mount: (d) => void asked.push(d) }), /statfs does not show one there/);
    assert.deepEqual(asked, [dir], "mounted at the folder itself on an ordinary filesystem");
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/** How long ensureBpffs may take to give up on an unmounted /sys/fs/bpf (it hung forever before). */
const FAIL_WITHIN_MS = 10_000;

function privateNsSkip(): string | false {
  if (!canUseNetns()) return "needs root (mount namespace)";
  if (!hasSysAdmin()) return "needs CAP_SYS_ADMIN to make a private mount namespace";
  if (!existsSync("/sys/fs/bpf")) return "the kernel has no /sys/fs/bpf mount point";
  for (const t of ["unshare", "setpriv"]) {
    if (spawnSync(t, ["--version"], { stdio: "ignore" }).error) return `${t} (util-linux) is not installed`;
  }
  return false;
}
const privateNs = privateNsSkip();

/**
 * Runs ensureBpffs("/sys/fs/bpf/xdplane-test") in a child, in a private mount namespace where any bpffs
 * on /sys/fs/bpf is unmounted (the machine's own is never touched), through `wrap` (e.g. setpriv). The
 * child is killed after FAIL_WITHIN_MS, so a hang fails the test instead of hanging the suite.
 */
function ensureInPrivateMountNs(wrap: string[], canMount: boolean | "default") {
  const bpffsJs = fileURLToPath(new URL("./bpffs.js", import.meta.url));
  const opts = canMount === "default" ? "{}" : `{ canMount: () => ${canMount}, mount: (d) => { throw new Error("asked to mount " + d); } }`;
  const js = `import { ensureBpffs } from ${JSON.stringify(bpffsJs)};
try { ensureBpffs("/sys/fs/bpf/xdplane-test", ${opts}); console.log("returned"); process.exit(3); }
catch (e) { console.log(e.message); process.exit(2); }`;
  const script = [
    // Never unmount anything unless this really is another mount namespace than the test's.
    '[ "$(readlink /proc/self/ns/mnt)" != "$XDPLANE_PARENT_MNT_NS" ] || { echo "not in a private mount namespace" >&2; exit 93; }',
    // Whatever bpffs the machine has on /sys/fs/bpf, this namespace drops it: only sysfs's folder remains.
    'while [ "$(stat -f -c %t /sys/fs/bpf)" = cafe4a11 ]; do umount -l /sys/fs/bpf || exit 90; done',
    '[ "$(stat -f -c %t /sys/fs/bpf)" = 62656572 ] || { echo "/sys/fs/bpf is not sysfs here" >&2; exit 91; }',
    '[ -z "$(ls -A /sys/fs/bpf)" ] || { echo "/sys/fs/bpf is not empty here" >&2; exit 92; }',
    'exec "$@"',
  ].join("\n");
  const t0 = performance.now();
  const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", ...wrap,
    process.execPath, "--input-type=module", "-e", js], {
    encoding: "utf8", timeout: FAIL_WITHIN_MS, killSignal: "SIGKILL",
    env: { ...process.env, XDPLANE_PARENT_MNT_NS: readlinkSync("/proc/self/ns/mnt") },
  });
  return { ...r, ms: performance.now() - t0 };
}

for (const [name, wrap, canMount] of [
  ["canMount false", [], false],
  ["CAP_SYS_ADMIN dropped with setpriv", ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--"], "default"],
] as const) {
  test(`unmounted /sys/fs/bpf, cannot mount (${name}): ensureBpffs throws within seconds, no recursive-mkdir hang`, { skip: privateNs }, () => {
    const hostType = fsTypeOf("/sys/fs/bpf");
    const r = ensureInPrivateMountNs([...wrap], canMount);
    assert.equal(fsTypeOf("/sys/fs/bpf"), hostType, "the machine's /sys/fs/bpf is as it was");
    assert.ok(r.signal === null && r.ms < FAIL_WITHIN_MS, `killed after ${Math.round(r.ms)} ms (${r.signal}): ensureBpffs hung`);
    assert.equal(r.status, 2, `child exit ${r.status}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /'\/sys\/fs\/bpf' is not a bpffs \(it is sysfs\) and this process cannot mount one \(no CAP_SYS_ADMIN\)/);
    assert.match(r.stdout, /mount -t bpf bpf \/sys\/fs\/bpf/);
  });
}
