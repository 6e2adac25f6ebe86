/**
 * The afxdp CNI under a real container runtime: podman (CNI network backend) runs a container on a
 * network whose plugin is `afxdp` with the real host-local IPAM; the netdev moves into the container with
 * its address on run, and comes back when the container is removed.
 *
 * Needs: podman, runc, busybox-static, containernetworking-plugins (Debian packages). Podman runs with
 * its own storage, config and network folders in a temp folder (nothing of the machine's is touched).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns, createVethPair, ip, uniqueName } from "../../testing/netns.js";
import { CLI, haveHostLocal, reservedIps } from "../../testing/cni.js";

function which(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function skipReason(): string | false {
  if (!canUseNetns()) return "needs root (namespaces, veth)";
  const missing = [
    !which("podman") && "podman",
    !which("runc") && "runc",
    !existsSync("/bin/busybox") && "busybox-static",
    !haveHostLocal() && "containernetworking-plugins",
  ].filter(Boolean);
  if (missing.length > 0) return `podman is not installed here: apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  return false;
}

test("podman: a container on an afxdp network gets the netdev with its address, and gives it back on removal", { skip: skipReason() }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), "xdpcni-podman-"));
  const v = createVethPair({ prefix: "pm" });
  const net = uniqueName("afxdpnet");
  const image = `localhost/xdplane-cni-test-${process.pid}:latest`;
  const name = uniqueName("ctr");
  const env = {
    ...process.env,
    CONTAINERS_CONF: join(tmp, "containers.conf"),
  };
  const podman = (...args: string[]) => {
    const r = spawnSync("podman", ["--root", join(tmp, "root"), "--runroot", join(tmp, "runroot"), "--storage-driver", "vfs", ...args],
      { env, encoding: "utf8", timeout: 60000, input: "" });
    return { status: r.status ?? -1, out: (r.stdout ?? "").trim(), err: (r.stderr ?? "").trim() };
  };
  try {
    // The image: busybox and a few of its applets.
    const img = join(tmp, "img");
    mkdirSync(join(img, "bin"), { recursive: true });
    copyFileSync("/bin/busybox", join(img, "bin", "busybox"));
    chmodSync(join(img, "bin", "busybox"), 0o755);
    for (const a of ["sh", "sleep", "ip", "cat"]) symlinkSync("busybox", join(img, "bin", a));
    // The plugin as the runtime finds it: an executable named afxdp in a plugin folder.
    const bin = join(tmp, "bin");
    mkdirSync(bin);
    // The plugin's own settings go in the wrapper: podman's cleanup process (run by conmon when the
    // container dies) may be the one calling DEL, and it does not get this test's environment.
    writeFileSync(join(bin, "afxdp"), `#!/bin/sh\nexport XDPLANE_CNI_STATE_DIR="${join(tmp, "state")}" XDPLANE_CNI_LOG_DIR="${tmp}"\n`
      + `exec "${process.execPath}" "${CLI}" cni\n`);
    chmodSync(join(bin, "afxdp"), 0o755);
    mkdirSync(join(tmp, "net.d"));
    writeFileSync(join(tmp, "containers.conf"), [
      "[network]",
      'network_backend = "cni"',
      `cni_plugin_dirs = ["${bin}", "/usr/lib/cni"]`,
      `network_config_dir = "${join(tmp, "net.d")}"`,
      "[engine]",
      'runtime = "runc"',
      'events_logger = "file"',
      'cgroup_manager = "cgroupfs"',
      "",
    ].join("\n"));
    const dataDir = join(tmp, "ipam");
    writeFileSync(join(tmp, "net.d", `${net}.conflist`), JSON.stringify({
      cniVersion: "1.0.0",
      name: net,
      plugins: [{ type: "afxdp", deviceID: v.a, logFile: "afxdp.log", logLevel: "debug", ipam: { type: "host-local", subnet: "10.79.3.0/24", dataDir } }],
    }));
    const tar = spawnSync("sh", ["-c", `tar -C "${img}" -c . | podman --root "${join(tmp, "root")}" --runroot "${join(tmp, "runroot")}" --storage-driver vfs import - ${image}`],
      { env, encoding: "utf8", timeout: 60000 });
    assert.equal(tar.status, 0, `podman import: ${tar.stderr}`);

    const t0 = performance.now();
    const run = podman("--runtime", "runc", "run", "-d", "--name", name, "--network", net,
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", image, "sleep", "120");
    const runMs = performance.now() - t0;
    assert.equal(run.status, 0, `podman run: ${run.err}`);

    const inside = podman("exec", name, "ip", "-o", "addr", "show", "dev", v.a);
    assert.equal(inside.status, 0, `the container sees ${v.a}: ${inside.err}`);
    assert.match(inside.out, /inet 10\.79\.3\.2\/24/, "with host-local's address");
    const link = podman("exec", name, "ip", "-o", "link", "show", "dev", v.a);
    assert.match(link.out, /[<,]UP[,>]/, "and up");
    assert.throws(() => ip("link", "show", v.a), /does not exist/, "gone from the host");
    assert.deepEqual(reservedIps(dataDir, net), ["10.79.3.2"]);
    assert.equal(readdirSync(join(tmp, "state")).length, 1, "the plugin keeps the attachment's state");

    const rm = podman("rm", "-f", "-t", "0", name);
    assert.equal(rm.status, 0, `podman rm: ${rm.err}`);
    const home = JSON.parse(ip("-j", "addr", "show", "dev", v.a)) as { flags: string[]; addr_info: { family: string }[] }[];
    assert.ok(home[0]!.flags.includes("UP"), `back on the host, up as it was: ${JSON.stringify(home)}\n${readFileSync(join(tmp, "afxdp.log"), "utf8")}`);
    assert.deepEqual(home[0]!.addr_info.filter((a) => a.family === "inet"), [], "without the container's address");
    assert.deepEqual(reservedIps(dataDir, net), [], "address released");
    assert.deepEqual(readdirSync(join(tmp, "state")), [], "state removed");
    t.diagnostic(`podman run with the afxdp CNI: ${runMs.toFixed(0)} ms`);
  } finally {
    podman("rm", "-f", "-t", "0", name);
    podman("rmi", "-f", image);
    podman("system", "reset", "-f");
    v.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
});
