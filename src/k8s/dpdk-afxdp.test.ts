/**
 * DPDK's own AF_XDP driver as an unprivileged pod against our device plugin: the kubelet stand-in drives
 * `xdplane dp` (the CLI, its own process) on a veth with two queues; the afxdp CNI moves the netdev into the pod's network
 * namespace; the pod (own network, mount and UTS namespaces, hostname = pod name, kubelet's mounts from
 * Allocate, uid 1500 with only CAP_NET_RAW and CAP_IPC_LOCK) runs `dpdk-testpmd` with
 * `net_af_xdp,...,queue_count=2` and either `use_cni=1` (the UDS handshake gives it the XSKMAP fd) or
 * `use_pinned_map=1` (a pinned-map pool: it opens the map the plugin pinned), both without `dp_path` (the
 * driver's default paths under /tmp/afxdp_dp/<netdev>/). testpmd forwards in macswap mode: every frame sent
 * from the veth peer comes back MAC-swapped byte for byte, and testpmd's counters (per port and per
 * queue) agree with what was sent and with the veth's per-queue XDP redirect counters.
 *
 * DPDK 24.07+ is needed (`use_pinned_map`, the /tmp/afxdp_dp paths); Debian 12's 22.11 has no device-plugin
 * client. `XDPLANE_DPDK_ROOT` names a root file system holding such a `dpdk-testpmd` (.ci/dpdk2511 makes
 * one with Debian forky's DPDK 25.11; `/` if the host's is new enough); without it the test skips.
 * testpmd runs chrooted there, with the pod's /tmp (a tmpfs holding kubelet's mounts), /proc, /dev and the
 * pod namespace's /sys mounted into it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns, createNetns, createVethPair, nsExec } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { queryXdp } from "../bpf/index.js";
import { KubeletStandIn } from "../testing/kubelet-standin.js";
import { HEALTHY } from "./proto.js";
import { containerDeviceDir, containerMapPath } from "./uds-protocol.js";
import { runCniProcess, haveHostLocal, hostLocal, CLI } from "../testing/cni.js";

const UID = 1500;
const ROOT = (process.env["XDPLANE_DPDK_ROOT"] ?? "").trim();
const CAPS = ["--inh-caps=-all,+net_raw,+ipc_lock", "--ambient-caps=-all,+net_raw,+ipc_lock", "--bounding-set=-all,+net_raw,+ipc_lock"];
const N = 400;

function skipReason(): string | false {
  if (ROOT === "") return "XDPLANE_DPDK_ROOT is not set (a root file system with DPDK 24.07+ dpdk-testpmd; .ci/dpdk2511 makes one)";
  if (!canUseNetns()) return "needs root (namespaces, veth, XDP)";
  for (const f of ["usr/bin/dpdk-testpmd", "usr/bin/setpriv", "usr/bin/stdbuf"]) {
    if (!existsSync(join(ROOT, f))) return `${join(ROOT, f)} is missing`;
  }
  for (const t of ["nsenter", "unshare", "ethtool"]) {
    if (spawnSync(t, ["--version"], { stdio: "ignore" }).error) return `${t} is not installed`;
  }
  if (!haveHostLocal()) return "needs /usr/lib/cni/host-local (containernetworking-plugins)";
  return false;
}
const skip = skipReason();

const hex = (f: Uint8Array) => Buffer.from(f).toString("hex");
const swapped = (f: Uint8Array) => {
  const s = f.slice();
  s.set(f.subarray(6, 12), 0);
  s.set(f.subarray(0, 6), 6);
  return s;
};
const seqOf = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getUint32(42);

/** Collects a child's output; `until(s)` waits for `s` in it. */
function watch(cp: ChildProcess) {
  let out = "";
  let status: number | null | undefined;
  cp.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  cp.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  cp.on("exit", (code) => (status = code));
  return {
    get out() { return out; },
    async until(s: string, ms = 30000): Promise<void> {
      const end = Date.now() + ms;
      while (!out.includes(s)) {
        if (status !== undefined || Date.now() > end) throw new Error(`testpmd never printed "${s}" (exit ${status}):\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async exit(ms = 20000): Promise<number | null> {
      const end = Date.now() + ms;
      while (status === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      return status ?? null;
    },
  };
}

/** Unmounts everything mounted under `dir` (the plugin's bpffs folders), deepest first. */
function unmountUnder(dir: string): void {
  const targets = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "")
    .filter((t) => t.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const t of targets) spawnSync("umount", ["-l", t]);
}

/** The pod an allocation of `pool` was bound to, from the plugin's session files. */
function boundPod(udsRoot: string, pool: string): string | null {
  const dir = join(udsRoot, `afxdp_${pool}`);
  for (const u of existsSync(dir) ? readdirSync(dir) : []) {
    const f = join(dir, u, "session.json");
    if (existsSync(f)) return (JSON.parse(readFileSync(f, "utf8")) as { pod: { name: string } | null }).pod?.name ?? null;
  }
  return null;
}

/** testpmd's per-port totals and its per-stream (RX queue) RX counts. */
function testpmdCounters(out: string): { rx: number; tx: number; rxDropped: number; txDropped: number; perQueue: Record<number, number> } {
  const block = out.slice(out.lastIndexOf("Forward statistics for port 0"));
  const num = (re: RegExp) => Number(re.exec(block)?.[1] ?? NaN);
  const perQueue: Record<number, number> = {};
  for (const m of out.matchAll(/Forward Stats for RX Port=\s*0\/Queue=\s*(\d+)[^\n]*\n\s*RX-packets:\s*(\d+)/g)) perQueue[Number(m[1])] = Number(m[2]);
  return { rx: num(/RX-packets:\s+(\d+)/), tx: num(/TX-packets:\s+(\d+)/), rxDropped: num(/RX-dropped:\s+(\d+)/), txDropped: num(/TX-dropped:\s+(\d+)/), perQueue };
}

/** The veth's per-queue XDP redirect counters (`ethtool -S`), read in the pod's namespace. */
function redirects(ns: string, dev: string): Record<number, number> {
  const out = nsExec(ns, "ethtool", "-S", dev);
  const r: Record<number, number> = {};
  for (const m of out.matchAll(/rx_queue_(\d+)_xdp_redirect:\s*(\d+)/g)) r[Number(m[1])] = Number(m[2]);
  return r;
}

async function scenario(pinned: boolean): Promise<{ perQueue: Record<number, number>; log: string[] }> {
  const POD = pinned ? "pod-dpdk-pin" : "pod-dpdk-uds";
  const POOL = pinned ? "dpdkpin" : "dpdkuds";
  const tmp = mkdtempSync(join(tmpdir(), "xdpdpdk-"));
  chmodSync(tmp, 0o755);
  const kubelet = await KubeletStandIn.start(join(tmp, "kubelet"));
  const v = createVethPair({ prefix: "dpk", queues: 2 });
  const pod = createNetns("dpkpod");
  const pool = pinned
    ? { name: POOL, mode: "primary", devices: [{ name: v.a }], allowVirtualDevices: true, uid: UID, UdsServerDisable: true, BpfMapPinningEnable: true }
    : { name: POOL, mode: "primary", devices: [{ name: v.a }], allowVirtualDevices: true, uid: UID };
  writeFileSync(join(tmp, "config.json"), JSON.stringify({ logLevel: "debug", pools: [pool] }));
  const cni = (command: string) => runCniProcess({
    command,
    conf: { cniVersion: "1.0.0", name: "afxdp-dpdk", type: "afxdp", deviceID: v.a, ipam: hostLocal(join(tmp, "ipam"), "10.95.0.0/24") },
    containerID: `dpdk${pinned ? 1 : 0}`, netns: `/run/netns/${pod.ns}`, ifname: "net1", env: { XDPLANE_CNI_STATE_DIR: join(tmp, "cni") },
  });
  let added = false;
  let tp: ChildProcess | null = null;
  // `xdplane dp`, as the DaemonSet runs it, with the stand-in's sockets and folders under tmp.
  const dp = spawn(process.execPath, [CLI, "dp", "--config", join(tmp, "config.json"), "--kubelet-dir", kubelet.devicePluginDir,
    "--pod-resources-socket", kubelet.podResourcesSocket, "--node-name", "node-dpdk", "--uds-dir", join(tmp, "uds"),
    "--map-dir", join(tmp, "maps"), "--bpf-pin-dir", join(tmp, "pins")], { stdio: ["ignore", "pipe", "pipe"] });
  const dpw = watch(dp);
  try {
    const reg = await kubelet.nextRegistration(1);
    assert.equal(reg.resource_name, `afxdp/${POOL}`);
    const plugin = kubelet.pluginClient(reg.endpoint);
    let cr;
    try {
      const w = plugin.listAndWatch();
      await w.until((d) => d.some((x) => x.ID === v.a && x.health === HEALTHY));
      w.cancel();
      cr = (await plugin.allocate({ container_requests: [{ devices_ids: [v.a] }] })).container_responses[0]!;
    } finally {
      plugin.close();
    }
    assert.deepEqual(cr.envs, { [`AFXDP_DEVICES_${POOL.toUpperCase()}`]: v.a });
    assert.deepEqual(cr.mounts.map((m) => m.container_path),
      [pinned ? containerMapPath(v.a) : containerDeviceDir(v.a)], "the driver's default paths (no dp_path)");
    kubelet.setPod(POD, `afxdp/${POOL}`, [v.a]);
    const progId = queryXdp(v.a).attachments[0]!.progId;

    const add = cni("ADD");
    assert.equal(add.status, 0, add.stdout + add.stderr);
    added = true;

    // The pod: kubelet's mounts under the rootfs's /tmp (a tmpfs), then testpmd as uid 1500 with NET_RAW and
    // IPC_LOCK only. No hugepages (--no-huge), no shared config, no PCI.
    const mountLines = cr.mounts.map((m) => {
      const target = join(ROOT, m.container_path);
      return statSync(m.host_path).isDirectory()
        ? `mkdir -p '${target}' && mount --bind '${m.host_path}' '${target}'`
        : `mkdir -p "$(dirname '${target}')" && { [ -e '${target}' ] || touch '${target}'; } && mount --bind '${m.host_path}' '${target}'`;
    });
    const vdev = `net_af_xdp0,iface=${v.a},start_queue=0,queue_count=2,${pinned ? "use_pinned_map=1" : "use_cni=1"}`;
    const script = [
      "set -e",
      `hostname ${POD}`,
      `mount -t tmpfs -o mode=1777 none '${ROOT}/tmp'`,
      `mount -t proc proc '${ROOT}/proc'`,
      `mount -t sysfs sysfs '${ROOT}/sys'`,
      `mount --rbind /dev '${ROOT}/dev'`,
      ...mountLines,
      `exec chroot '${ROOT}' setpriv --reuid ${UID} --regid ${UID} --clear-groups ${CAPS.join(" ")} `
        + `stdbuf -o0 -e0 dpdk-testpmd -l 0-1 --no-pci --no-huge -m 512 --no-shconf --file-prefix=${POOL} --vdev=${vdev} `
        + "-- --forward-mode=macswap --auto-start --rxq=2 --txq=2 --nb-cores=1 --total-num-mbufs=8192 --burst=32",
    ].join("\n");
    tp = spawn("nsenter", [`--net=/run/netns/${pod.ns}`, "--", "unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c", script], {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...cr.envs },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const w = watch(tp);
    await w.until("Press enter to exit");
    const pid = Number(spawnSync("pgrep", ["-P", String(tp.pid), "-x", "dpdk-testpmd"], { encoding: "utf8" }).stdout.trim() || tp.pid);
    const status = spawnSync("cat", [`/proc/${pid}/status`], { encoding: "utf8" }).stdout;
    assert.match(status, /^Name:\s+dpdk-testpmd/m);
    assert.match(status, new RegExp(`^Uid:\\s+${UID}\\s`, "m"), "testpmd runs as uid 1500");
    assert.match(status, /^CapEff:\s+0000000000006000$/m, "with only CAP_NET_RAW and CAP_IPC_LOCK");
    if (!pinned) assert.equal(boundPod(join(tmp, "uds"), POOL), POD, "testpmd's handshake bound the allocation to the pod by its hostname");

    // The generator: N frames from the veth peer, UDP source ports spread so that both RX queues get some.
    const before = redirects(pod.ns, v.a);
    const frames = Array.from({ length: N }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i, size: 60 + (i * 53) % 1400, sport: 1024 + i * 7, dport: 9 }));
    const back = new Map<number, Uint8Array>();
    const ps = PacketSocket.open(v.b, v.ns);
    try {
      let sent = 0;
      const t0 = Date.now();
      while (back.size < N && Date.now() - t0 < 10000) {
        for (let k = 0; k < 32 && sent < N; k++) {
          if (!ps.send(frames[sent]!)) break;
          sent++;
        }
        let f;
        while ((f = ps.recv()) !== null) {
          const s = seqOf(f);
          if (s < N && hex(f.subarray(0, 12)) === hex(swapped(frames[s]!).subarray(0, 12))) back.set(s, f.slice());
        }
        ps.wait(5);
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      ps.close();
    }
    assert.equal(back.size, N, "every frame came back");
    for (let i = 0; i < N; i++) assert.equal(hex(back.get(i)!), hex(swapped(frames[i]!)), `frame ${i} MAC-swapped, byte for byte`);
    const after = redirects(pod.ns, v.a);
    const red = [0, 1].map((q) => (after[q] ?? 0) - (before[q] ?? 0));

    tp.stdin!.end("\n");
    assert.equal(await w.exit(), 0, w.out.slice(-3000));
    tp = null;
    // DPDK's close tries to detach the program (bpf_xdp_detach) and, unprivileged, cannot: the plugin's stays.
    assert.match(nsExec(pod.ns, "ip", "link", "show", v.a), new RegExp(`prog/xdp id ${progId} `), "the plugin's program is still attached");
    const c = testpmdCounters(w.out);
    assert.deepEqual({ rx: c.rx, tx: c.tx, rxDropped: c.rxDropped, txDropped: c.txDropped }, { rx: N, tx: N, rxDropped: 0, txDropped: 0 }, "testpmd's port counters");
    assert.deepEqual(c.perQueue, { 0: red[0], 1: red[1] }, "testpmd's per-queue RX = the veth's per-queue XDP redirects");
    assert.ok(red[0]! > 0 && red[1]! > 0, `both queues carried frames: ${red.join(" + ")}`);
    dp.kill("SIGTERM");
    assert.equal(await dpw.exit(), 0, `xdplane dp stops cleanly: ${dpw.out.slice(-2000)}`);
    return { perQueue: c.perQueue, log: w.out.split("\n").filter((l) => /AF_XDP|EAL: RTE Version|rte_version/i.test(l)).slice(0, 12) };
  } finally {
    if (tp && tp.exitCode === null) tp.kill("SIGKILL");
    try {
      if (dp.exitCode === null) {
        dp.kill("SIGTERM");
        if ((await dpw.exit()) === null) dp.kill("SIGKILL");
      }
      // CNI DEL brings the netdev home and detaches the program it found at ADD.
      if (added) cni("DEL");
    } finally {
      unmountUnder(tmp);
      try { nsExec(pod.ns, "ip", "link", "del", v.a); } catch { /* home already */ }
      pod.destroy();
      v.destroy();
      await kubelet.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

test("DPDK testpmd (net_af_xdp, use_cni=1, queue_count=2) as an unprivileged pod forwards through our device plugin's XSKMAP", { skip }, async (t) => {
  const r = await scenario(false);
  t.diagnostic(`per queue: ${JSON.stringify(r.perQueue)}`);
  for (const l of r.log) t.diagnostic(l);
});

test("DPDK testpmd (net_af_xdp, use_pinned_map=1, queue_count=2) as an unprivileged pod forwards through our pinned-map pool", { skip }, async (t) => {
  const r = await scenario(true);
  t.diagnostic(`per queue: ${JSON.stringify(r.perQueue)}`);
  for (const l of r.log) t.diagnostic(l);
});
