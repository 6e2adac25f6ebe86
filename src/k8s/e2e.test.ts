/**
 * End to end, as on a node: the kubelet stand-in (real gRPC) drives the real device plugin on a veth
 * (allowVirtualDevices); kubelet's Allocate answer gives the pod its mounts and env; the afxdp CNI moves
 * the netdev into the pod's network namespace; the pod (its own network, mount and UTS namespaces,
 * hostname = pod name, the allocation's folder mounted at /tmp/afxdp_dp/<netdev>) runs, as uid 1500 with
 * only CAP_NET_RAW and CAP_IPC_LOCK, `xdplane config from-env` then `xdplane fwd ... lb` (its command socket in
 * the pod's /var/run/cndp, an emptyDir in deploy/pod.yaml), which handshakes
 * with the plugin and forwards frames sent from the veth peer. Then the plugin restarts: the pod keeps
 * forwarding while it is down, and a new handshake from inside the pod works against the new plugin.
 * CNI DEL brings the netdev home at the end.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns, createNetns, createVethPair, nsExec, ip, pathsUnderTmp, keepPathsBefore, keepPathsAfter, type VethPair } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { BpfMap, queryXdp, unmountBpffs } from "../bpf/index.js";
import { parseDpConfig } from "./dp-config.js";
import { DevicePlugin, type DevicePluginOptions } from "./deviceplugin.js";
import { KubeletStandIn } from "../testing/kubelet-standin.js";
import { HEALTHY } from "./proto.js";
import { createLogger } from "./log.js";
import { runCniProcess, haveHostLocal, hostLocal, CLI } from "../testing/cni.js";

const UID = 1500;
const POD = "pod-e2e";
const POOL = "e2e";
const CAPS = ["--inh-caps=-all,+net_raw,+ipc_lock", "--ambient-caps=-all,+net_raw,+ipc_lock", "--bounding-set=-all,+net_raw,+ipc_lock"];
const udsClient = new URL("./uds-client.js", import.meta.url).pathname;

function skipReason(): string | false {
  if (!canUseNetns()) return "needs root (namespaces, veth, XDP)";
  for (const t of ["setpriv", "nsenter", "unshare"]) {
    if (spawnSync(t, ["--version"], { stdio: "ignore" }).error) return `${t} (util-linux) is not installed`;
  }
  if (!haveHostLocal()) return "needs /usr/lib/cni/host-local (containernetworking-plugins)";
  const r = spawnSync("setpriv", [`--reuid=${UID}`, `--regid=${UID}`, "--clear-groups", "test", "-r", CLI]);
  if (r.status !== 0) return `uid ${UID} cannot read ${CLI} (the checkout is not world-readable)`;
  return false;
}
const skip = skipReason();

let tmp: string;
let kubelet: KubeletStandIn;
let v: VethPair;
let pod: { ns: string; destroy(): void };
let dp: DevicePlugin;
let opts: DevicePluginOptions;
let fwd: ChildProcess | null = null;
const cniConf = () => ({ cniVersion: "1.0.0", name: "afxdp-e2e", type: "afxdp", deviceID: v.a, ipam: hostLocal(join(tmp, "ipam"), "10.94.0.0/24") });
const cni = (command: string) => runCniProcess({
  command, conf: cniConf(), containerID: "e2e0", netns: `/run/netns/${pod.ns}`, ifname: "net1", env: { XDPLANE_CNI_STATE_DIR: join(tmp, "cni") },
});

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), "xdpe2e-"));
  chmodSync(tmp, 0o755);
  kubelet = await KubeletStandIn.start(join(tmp, "kubelet"));
  v = createVethPair({ prefix: "e2e" });
  pod = createNetns("e2epod");
  opts = {
    config: parseDpConfig(JSON.stringify({ pools: [{ name: POOL, mode: "primary", devices: [{ name: v.a }], allowVirtualDevices: true, uid: UID }] })),
    kubeletDir: kubelet.devicePluginDir,
    podResourcesSocket: kubelet.podResourcesSocket,
    nodeName: "node-e2e",
    udsRoot: join(tmp, "uds"),
    mapRoot: join(tmp, "maps"),
    bpfPinRoot: join(tmp, "pins"),
    watchIntervalMs: 100,
    reapIntervalMs: 200,
    log: createLogger({ level: "debug", sink: () => undefined }),
  };
  dp = new DevicePlugin(opts);
  await dp.start();
});

after(async () => {
  if (skip) return;
  if (fwd && fwd.exitCode === null) fwd.kill("SIGKILL");
  try {
    cni("DEL");
    await dp.teardown();
  } finally {
    dp.unmountPins();
    unmountBpffs(join(tmp, "pins"));
    try { nsExec(pod.ns, "ip", "link", "del", v.a); } catch { /* home already */ }
    pod.destroy();
    v.destroy();
    await kubelet.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});

/** Collects a child's output; `line(re)` waits for a line of stdout or stderr matching `re`. */
function watch(cp: ChildProcess) {
  let out = "";
  let err = "";
  let status: number | null | undefined;
  cp.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  cp.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  cp.on("exit", (code) => (status = code));
  return {
    get out() { return out; },
    get err() { return err; },
    async line(re: RegExp, ms = 20000): Promise<string> {
      const end = Date.now() + ms;
      for (;;) {
        const m = `${out}\n${err}`.split("\n").find((l) => re.test(l));
        if (m !== undefined) return m;
        if (status !== undefined || Date.now() > end) throw new Error(`no line ${re} (exit ${status}):\n${out}\n${err}`);
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

/** Sends `n` frames from the veth peer; resolves with how many came back MAC-swapped. */
async function traffic(n: number, seq0: number): Promise<number> {
  const ps = PacketSocket.open(v.b, v.ns);
  try {
    const want = new Set<number>();
    for (let i = 0; i < n; i++) want.add(seq0 + i);
    let sent = 0;
    let back = 0;
    const t0 = Date.now();
    while (back < n && Date.now() - t0 < 5000) {
      for (let k = 0; k < 32 && sent < n; k++) {
        if (!ps.send(udpFrame({ dst: v.macA, src: v.macB, seq: seq0 + sent }))) break;
        sent++;
      }
      let f;
      while ((f = ps.recv()) !== null) {
        const dst = [...f.subarray(0, 6)].map((x) => x.toString(16).padStart(2, "0")).join(":");
        const src = [...f.subarray(6, 12)].map((x) => x.toString(16).padStart(2, "0")).join(":");
        const s = new DataView(f.buffer, f.byteOffset).getUint32(42);
        if (dst === v.macB && src === v.macA && want.delete(s)) back++;
      }
      ps.wait(5);
      await new Promise((r) => setImmediate(r));
    }
    return back;
  } finally {
    ps.close();
  }
}

test("kubelet → device plugin → CNI → an unprivileged pod forwarding with xdplane fwd; the plugin restarts under it", { skip }, async (t) => {
  // kubelet's side: registration, the device Healthy, Allocate.
  const reg = await kubelet.nextRegistration(1);
  assert.equal(reg.resource_name, `afxdp/${POOL}`);
  const plugin = kubelet.pluginClient(reg.endpoint);
  try {
    const w = plugin.listAndWatch();
    await w.until((d) => d.some((x) => x.ID === v.a && x.health === HEALTHY));
    w.cancel();
    const res = await plugin.allocate({ container_requests: [{ devices_ids: [v.a] }] });
    const cr = res.container_responses[0]!;
    assert.deepEqual(cr.envs, { [`AFXDP_DEVICES_${POOL.toUpperCase()}`]: v.a });
    kubelet.setPod(POD, `afxdp/${POOL}`, [v.a]);
    const progId = queryXdp(v.a).attachments[0]!.progId;

    // The runtime's side: the CNI moves the netdev into the pod.
    const add = cni("ADD");
    assert.equal(add.status, 0, add.stdout + add.stderr);
    assert.match(nsExec(pod.ns, "ip", "link", "show", v.a), new RegExp(`prog/xdp id ${progId}`), "the plugin's program came along");

    // The pod: own network, mount and UTS namespaces; kubelet's mounts; uid 1500 with NET_RAW and IPC_LOCK.
    const mounts = cr.mounts.map((m, i) => {
      const dir = statSync(m.host_path).isDirectory();
      return { stage: `/mnt/s${i}`, host: m.host_path, target: m.container_path, dir };
    });
    const keep = pathsUnderTmp();
    const script = [
      "set -e",
      `hostname ${POD}`,
      "mount -t tmpfs none /mnt",
      ...mounts.map((m) => `${m.dir ? "mkdir -p" : "touch"} ${m.stage} && mount --bind '${m.host}' ${m.stage}`),
      ...keepPathsBefore(keep, "/mnt"),
      "mount -t tmpfs -o mode=1777 none /tmp",
      ...keepPathsAfter(keep, "/mnt"),
      // The pod's own /run, with an emptyDir-like /var/run/cndp for the app's command socket.
      "mount -t tmpfs -o mode=755 none /run && mkdir -m 1777 /run/cndp",
      ...mounts.map((m) => `${m.dir ? `mkdir -p '${m.target}'` : `mkdir -p "$(dirname '${m.target}')" && touch '${m.target}'`} && mount --move ${m.stage} '${m.target}'`),
      `exec setpriv --reuid ${UID} --regid ${UID} --clear-groups ${CAPS.join(" ")} sh -c `
        + `'"$NODE" "$CLI" config from-env --out /tmp/fwd.jsonc && exec "$NODE" "$CLI" fwd -c /tmp/fwd.jsonc lb --json --interval 0 --debug-frames'`,
    ].join("\n");
    fwd = spawn("nsenter", [`--net=/run/netns/${pod.ns}`, "--", "unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c", script], {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", NODE: process.execPath, CLI, ...cr.envs },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const fw = watch(fwd);
    await fw.line(/wrote \/tmp\/fwd\.jsonc: .*uds_path \/tmp\/afxdp_dp\//);
    await fw.line(/xdplane fwd: mode lb, 1 port/);
    const status = spawnSync("cat", [`/proc/${fwd.pid}/status`], { encoding: "utf8" }).stdout;
    assert.match(status, /CapEff:\s+0000000000006000/, "only CAP_NET_RAW and CAP_IPC_LOCK");
    assert.match(status, new RegExp(`Uid:\\s+${UID}\\s`));
    assert.equal(dp.allocations[0]?.pod?.name, POD, "the plugin bound the allocation to the pod by its hostname");

    assert.equal(await traffic(300, 0), 300, "every frame came back through the pod");

    // The plugin restarts: the pod keeps forwarding while it is down and after.
    await dp.stop();
    assert.equal(await traffic(300, 1000), 300, "forwarding while the plugin is down");
    const n = kubelet.registrations.length;
    dp = new DevicePlugin(opts);
    await dp.start();
    await kubelet.nextRegistration(n + 1);
    assert.equal(dp.allocations[0]?.pod?.name, POD, "the allocation is served again, its netdev still in the pod");
    assert.equal(await traffic(300, 2000), 300, "forwarding after the restart");

    // A new handshake from inside the pod, against the restarted plugin.
    const code = `
      import { requestXskMapFd } from ${JSON.stringify(udsClient)};
      import { readFileSync } from "node:fs";
      const fd = requestXskMapFd("/tmp/afxdp_dp/${v.a}/afxdp.sock", "${v.a}");
      console.log(readFileSync("/proc/self/fdinfo/" + fd, "utf8").match(/map_id:\\s+(\\d+)/)[1]);`;
    // Asynchronous: the plugin answers from this process's event loop.
    const hsp = watch(spawn("nsenter", [`--target=${fwd.pid}`, "--mount", "--uts", "--net", "--", "setpriv", `--reuid=${UID}`, `--regid=${UID}`, "--clear-groups",
      "--inh-caps=-all", "--bounding-set=-all", process.execPath, "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "pipe"] }));
    assert.equal(await hsp.exit(), 0, hsp.err);
    const pinned = BpfMap.fromPin(join(tmp, "pins", v.a, "xsks_map"));
    try {
      assert.equal(Number(hsp.out.trim()), pinned.id, "the same XSKMAP the running pod uses");
    } finally {
      pinned.close();
    }

    // The pod stops cleanly; the CNI brings the netdev home.
    fwd.kill("SIGTERM");
    assert.equal(await fw.exit(), 0, fw.err);
    const summary = JSON.parse(fw.out.trim().split("\n").pop()!) as { ports: { ipackets: number; opackets: number }[]; leakedFrames: number };
    assert.ok(summary.ports[0]!.opackets >= 900, `the pod sent back ${summary.ports[0]!.opackets} frames`);
    assert.equal(summary.leakedFrames, 0);
    const del = cni("DEL");
    assert.equal(del.status, 0, del.stdout);
    ip("link", "show", v.a);
    assert.deepEqual(queryXdp(v.a).attachments, [], "DEL detached the program");
    t.diagnostic(`pod forwarded ${summary.ports[0]!.opackets} frames across a plugin restart`);
  } finally {
    plugin.close();
  }
});
