/**
 * `xdplane dp` on a node where /sys/fs/bpf is not a bpffs (sysfs's empty mount point; where a recursive
 * mkdir of /sys/fs/bpf/xdplane never returns). Each run happens in a private mount namespace
 * (`unshare --mount --propagation private`) in which any bpffs on /sys/fs/bpf is unmounted first, so the
 * machine's own /sys/fs/bpf is never touched. With CAP_SYS_ADMIN the plugin mounts a bpffs there and
 * serves; without it (dropped with setpriv) it exits within seconds saying what to mount.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns, createVethPair, type VethPair } from "../testing/netns.js";
import { KubeletStandIn } from "../testing/kubelet-standin.js";
import { CLI } from "../testing/cni.js";
import { fsTypeOf, hasSysAdmin, BPF_FS_MAGIC } from "../bpf/bpffs.js";

/** How long `xdplane dp` may take to give up. */
const FAIL_WITHIN_MS = 10_000;

function skipReason(): string | false {
  if (!canUseNetns()) return "needs root (mount namespace, veth)";
  if (!hasSysAdmin()) return "needs CAP_SYS_ADMIN to make a private mount namespace";
  for (const t of ["unshare", "setpriv"]) {
    if (spawnSync(t, ["--version"], { stdio: "ignore" }).error) return `${t} (util-linux) is not installed`;
  }
  return false;
}
const skip = skipReason();

let tmp: string;
let kubelet: KubeletStandIn;
let v: VethPair;
let hostBpfType: number | undefined;

before(async () => {
  if (skip) return;
  hostBpfType = fsTypeOf("/sys/fs/bpf");
  tmp = mkdtempSync(join(tmpdir(), "xdpdpfs-"));
  kubelet = await KubeletStandIn.start(join(tmp, "kubelet"));
  v = createVethPair({ prefix: "dpfs" });
  writeFileSync(join(tmp, "config.json"), JSON.stringify({
    pools: [{ name: "fs", mode: "primary", devices: [{ name: v.a }], allowVirtualDevices: true }],
  }));
});

after(async () => {
  if (skip) return;
  try {
    v?.destroy();
    await kubelet?.stop();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  assert.equal(fsTypeOf("/sys/fs/bpf"), hostBpfType, "the machine's /sys/fs/bpf is as it was");
});

/**
 * Starts `xdplane dp` (default --bpf-pin-dir, i.e. /sys/fs/bpf/xdplane) in a private mount namespace
 * where /sys/fs/bpf is sysfs, through `wrap` (e.g. setpriv). The shell checks the situation and execs
 * node, so the child's pid is the plugin's.
 */
function dpInPrivateMountNs(wrap: string[]): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const dp = [process.execPath, CLI, "dp", "--config", join(tmp, "config.json"), "--kubelet-dir", kubelet.devicePluginDir,
    "--pod-resources-socket", kubelet.podResourcesSocket, "--node-name", "n1", "--uds-dir", join(tmp, "uds"), "--map-dir", join(tmp, "maps")];
  const script = [
    // Whatever bpffs the machine has on /sys/fs/bpf, this namespace drops it: only sysfs's folder remains.
    'while [ "$(stat -f -c %t /sys/fs/bpf)" = cafe4a11 ]; do umount -l /sys/fs/bpf || exit 90; done',
    '[ "$(stat -f -c %t /sys/fs/bpf)" = 62656572 ] || { echo "/sys/fs/bpf is not sysfs here" >&2; exit 91; }',
    '[ -z "$(ls -A /sys/fs/bpf)" ] || { echo "/sys/fs/bpf is not empty here" >&2; exit 92; }',
    'exec "$@"',
  ].join("\n");
  const child = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", ...wrap, ...dp], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, stderr: () => err, exit };
}

test("with CAP_SYS_ADMIN: `xdplane dp` mounts a bpffs on /sys/fs/bpf (its namespace only) and serves", { skip }, async () => {
  const n = kubelet.registrations.length;
  const run = dpInPrivateMountNs([]);
  try {
    const reg = await Promise.race([
      kubelet.nextRegistration(n + 1, 20_000),
      run.exit.then((code) => { throw new Error(`xdplane dp exited (${code}): ${run.stderr()}`); }),
    ]);
    assert.equal(reg.resource_name, "afxdp/fs");
    const inNs = `/proc/${run.child.pid}/root/sys/fs/bpf`;
    assert.equal(fsTypeOf(inNs), BPF_FS_MAGIC, "a bpffs on /sys/fs/bpf in the plugin's mount namespace");
    assert.ok(existsSync(join(inNs, "xdplane")), "its pin folder inside");
    assert.equal(fsTypeOf("/sys/fs/bpf"), hostBpfType, "not on the machine's");
    assert.match(run.stderr(), /mounted a bpffs at \/sys\/fs\/bpf \(none was there\)/);
    run.child.kill("SIGTERM");
    assert.equal(await run.exit, 0, run.stderr());
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
  }
});

test("without CAP_SYS_ADMIN: `xdplane dp` exits within seconds, saying what to mount", { skip }, async () => {
  const t0 = Date.now();
  const run = dpInPrivateMountNs(["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--"]);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), FAIL_WITHIN_MS);
  try {
    const code = await run.exit;
    const ms = Date.now() - t0;
    assert.ok(ms < FAIL_WITHIN_MS, `exited after ${ms} ms (killed: it hung)`);
    assert.equal(code, 4, run.stderr());
    assert.match(run.stderr(), /cannot start: '\/sys\/fs\/bpf' is not a bpffs \(it is sysfs\) and this process cannot mount one \(no CAP_SYS_ADMIN\)/);
    assert.match(run.stderr(), /mount -t bpf bpf \/sys\/fs\/bpf/);
  } finally {
    clearTimeout(timer);
  }
});
