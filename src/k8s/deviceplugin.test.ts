import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync, closeSync, statSync, readFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { BpfMap, MapType, XSKMAP_EXPECT, queryXdp, isBpffs, unmountBpffs } from "../bpf/index.js";
import { createVethPair, ip, canUseNetns, uniqueName, pathsUnderTmp, keepPathsBefore, keepPathsAfter, type VethPair } from "../testing/netns.js";
import { parseDpConfig } from "./dp-config.js";
import { DevicePlugin, containerResponse, type DevicePluginOptions } from "./deviceplugin.js";
import { KubeletStandIn, type PluginClient } from "../testing/kubelet-standin.js";
import { UdsClient } from "./uds-client.js";
import { main } from "./dp-cli.js";
import { HEALTHY, UNHEALTHY, type Device } from "./proto.js";
import { createLogger } from "./log.js";

const root = canUseNetns();
let tmp: string;
let kubelet: KubeletStandIn;
let v1: VethPair, v2: VethPair, v3: VethPair;
let dp: DevicePlugin;
let opts: DevicePluginOptions;
const clients: PluginClient[] = [];
const logLines: string[] = [];

const health = (ds: Device[], name: string) => ds.find((d) => d.ID === name)?.health;

before(async () => {
  if (!root) return;
  tmp = mkdtempSync(join(tmpdir(), "xdpdp-"));
  kubelet = await KubeletStandIn.start(join(tmp, "kubelet"));
  v1 = createVethPair({ prefix: "dp" });
  v2 = createVethPair({ prefix: "dp" });
  v3 = createVethPair({ prefix: "dp" });
  const config = parseDpConfig(JSON.stringify({
    logLevel: "debug",
    pools: [
      { name: "pool1", mode: "primary", devices: [{ name: v1.a }, { mac: v2.macA }], allowVirtualDevices: true, udsTimeout: 300, uid: 1500 },
      { name: "legacy", mode: "primary", drivers: [{ name: "veth" }], allowVirtualDevices: true, BpfMapPinningEnable: true, legacyPaths: true,
        nodes: [{ hostname: "node-a", devices: [{ name: v3.a }] }] },
    ],
  }));
  opts = {
    config,
    kubeletDir: join(tmp, "kubelet"), // kubelet's root: its device-plugins folder is found
    podResourcesSocket: kubelet.podResourcesSocket,
    nodeName: "node-a",
    udsRoot: join(tmp, "uds"),
    mapRoot: join(tmp, "maps"),
    bpfPinRoot: join(tmp, "pins"),
    watchIntervalMs: 50,
    reapIntervalMs: 100,
    log: createLogger({ level: "debug", sink: (l) => logLines.push(l) }),
  };
  dp = new DevicePlugin(opts);
  await dp.start();
});

after(async () => {
  if (!root) return;
  for (const c of clients) c.close();
  try { await dp.teardown(); } finally {
    dp.unmountPins();
    unmountBpffs(join(tmp, "pins")); // mounted by the first plugin instance of this file
    for (const v of [v1, v2, v3]) v?.destroy();
    await kubelet.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});

/**
 * A container in miniature: own mount and UTS namespaces, hostname = the pod name, the allocation's device
 * folder mounted at /tmp/afxdp_dp/<netdev> over an empty /tmp, then `uid` without capabilities runs `code`
 * (an ES module) with node. Asynchronous: the plugin answers from this process's event loop.
 */
function podProcess(leaf: string, dev: string, uid: number, code: string): ChildProcess {
  const keep = pathsUnderTmp();
  const script = [
    "hostname pod-a",
    "mount -t tmpfs none /mnt",
    'mkdir /mnt/leaf && mount --bind "$LEAF" /mnt/leaf',
    ...keepPathsBefore(keep, "/mnt"),
    "mount -t tmpfs none /tmp",
    'mkdir -p "/tmp/afxdp_dp/$DEV"',
    'mount --move /mnt/leaf "/tmp/afxdp_dp/$DEV"',
    ...keepPathsAfter(keep, "/mnt"),
    `exec setpriv --reuid ${uid} --regid ${uid} --clear-groups --inh-caps=-all --bounding-set=-all "$NODE" --input-type=module -e "$CODE"`,
  ].join(" && ");
  return spawn("unshare", ["--mount", "--uts", "--propagation", "private", "sh", "-c", script], {
    env: { ...process.env, LEAF: leaf, DEV: dev, NODE: process.execPath, CODE: code },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Collects a child's output; `line(re)` waits for a stdout line matching `re`. */
function watchChild(cp: ChildProcess) {
  let out = "";
  let err = "";
  let status: number | null | undefined;
  const waiters: (() => void)[] = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  cp.stdout!.on("data", (b: Buffer) => { out += b.toString(); wake(); });
  cp.stderr!.on("data", (b: Buffer) => { err += b.toString(); wake(); });
  cp.on("exit", (code) => { status = code; wake(); });
  const kill = setTimeout(() => cp.kill("SIGKILL"), 30000);
  kill.unref();
  return {
    async line(re: RegExp, ms = 15000): Promise<string> {
      const end = Date.now() + ms;
      for (;;) {
        const m = out.split("\n").find((l) => re.test(l));
        if (m !== undefined) return m;
        if (status !== undefined || Date.now() > end) throw new Error(`no line ${re} (exit ${status}): ${out}\n${err}`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
      }
    },
    async exit(): Promise<{ status: number | null; out: string; err: string }> {
      while (status === undefined) await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
      clearTimeout(kill);
      return { status, out, err };
    },
  };
}

function client(endpoint: string): PluginClient {
  const c = kubelet.pluginClient(endpoint);
  clients.push(c);
  return c;
}

test("registers every pool with kubelet (v1beta1, endpoint, resource, options)", { skip: !root && "needs root" }, async () => {
  await kubelet.nextRegistration(2);
  const regs = [...kubelet.registrations].sort((a, b) => a.resource_name.localeCompare(b.resource_name));
  assert.deepEqual(regs.map((r) => [r.version, r.endpoint, r.resource_name]), [
    ["v1beta1", "afxdp-legacy.sock", "afxdp/legacy"],
    ["v1beta1", "afxdp-pool1.sock", "afxdp/pool1"],
  ]);
  assert.equal(regs[0]!.options?.get_preferred_allocation_available, true);
  assert.ok(existsSync(join(kubelet.devicePluginDir, "afxdp-pool1.sock")));
});

test("ListAndWatch, GetDevicePluginOptions, GetPreferredAllocation, PreStartContainer", { skip: !root && "needs root" }, async () => {
  const c = client("afxdp-pool1.sock");
  const w = c.listAndWatch();
  const ds = await w.until((d) => d.length === 2);
  assert.deepEqual(ds.map((d) => [d.ID, d.health]).sort(), [[v1.a, HEALTHY], [v2.a, HEALTHY]].sort());
  const l = await client("afxdp-legacy.sock").listAndWatch().until((d) => d.length === 1);
  assert.equal(l[0]!.ID, v3.a, "node override: only v3 in the legacy pool on node-a");
  assert.deepEqual(await c.options(), { pre_start_required: false, get_preferred_allocation_available: true });
  const pref = await c.preferred({ container_requests: [{ available_deviceIDs: [v2.a, v1.a], must_include_deviceIDs: [v2.a], allocation_size: 2 }] });
  assert.deepEqual(pref.container_responses[0]!.deviceIDs, [v2.a, v1.a]);
  assert.deepEqual(await c.preStart([v1.a]), {});
  w.cancel();
});

test("Allocate: program attached, current layout mounts and env, handshake gives the XSKMAP", { skip: !root && "needs root" }, async () => {
  const c = client("afxdp-pool1.sock");
  await assert.rejects(c.allocate({ container_requests: [{ devices_ids: ["nosuch"] }] }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
  const res = await c.allocate({ container_requests: [{ devices_ids: [v1.a] }] });
  const cr = res.container_responses[0]!;
  assert.deepEqual(cr.envs, { AFXDP_DEVICES_POOL1: v1.a });
  assert.equal(cr.mounts.length, 1);
  const m = cr.mounts[0]!;
  assert.equal(m.container_path, `/tmp/afxdp_dp/${v1.a}`);
  assert.equal(m.read_only, false);
  assert.match(m.host_path, new RegExp(`^${join(tmp, "uds", "afxdp_pool1")}/[0-9a-f-]{36}/${v1.a}$`));
  const sock = join(m.host_path, "afxdp.sock");
  assert.ok(existsSync(sock), "the socket the container sees as /tmp/afxdp_dp/<netdev>/afxdp.sock");
  const q = queryXdp(v1.a);
  assert.equal(q.attachments.length, 1);
  assert.ok(q.attachments[0]!.linkId !== undefined, "attached through a BPF link");
  assert.ok(existsSync(join(tmp, "pins", v1.a, "link")), "link pinned");

  kubelet.setPod("pod-a", "afxdp/pool1", [v1.a]);
  const u = await UdsClient.connect(sock, { podName: "pod-a" });
  const fd = await u.xskMapFd(v1.a);
  const map = BpfMap.fromFd(fd, XSKMAP_EXPECT);
  assert.equal(map.type, MapType.XSKMAP);
  const pinned = BpfMap.fromPin(join(tmp, "pins", v1.a, "xsks_map"));
  assert.equal(map.id, pinned.id, "the pod gets the map of the attached program");
  pinned.close();
  map.close();
  await u.fin();
  assert.equal(dp.allocations.find((a) => a.devices[0] === v1.a)?.pod?.name, "pod-a");
});

test("an unprivileged pod (uid 1500, no capabilities) gets the fd through the mounted folder, by its hostname", { skip: !root && "needs root" }, async () => {
  const alloc = dp.allocations.find((a) => a.devices[0] === v1.a)!;
  const leaf = join(tmp, "uds", "afxdp_pool1", alloc.uuid, v1.a);
  assert.equal(statSync(leaf).uid, 1500, "the device folder belongs to the pool's uid");
  assert.equal(statSync(join(leaf, "afxdp.sock")).mode & 0o777, 0o600);
  const client = new URL("./uds-client.js", import.meta.url).pathname;
  const code = `
    import { requestXskMapFd } from ${JSON.stringify(client)};
    import { readFileSync } from "node:fs";
    const dev = process.env.DEV;
    const fd = requestXskMapFd("/tmp/afxdp_dp/" + dev + "/afxdp.sock", dev);
    console.log(JSON.stringify({ uid: process.getuid(), fdinfo: readFileSync("/proc/self/fdinfo/" + fd, "utf8") }));`;
  const run = async (uid: number) => {
    const r = await watchChild(podProcess(leaf, v1.a, uid, code)).exit();
    return { status: r.status, stdout: r.out, stderr: r.err };
  };
  const ok = await run(1500);
  assert.equal(ok.status, 0, ok.stderr);
  const out = JSON.parse(ok.stdout.trim().split("\n").pop()!) as { uid: number; fdinfo: string };
  assert.equal(out.uid, 1500);
  assert.match(out.fdinfo, /map_type:\s+17/, "an XSKMAP (BPF_MAP_TYPE_XSKMAP = 17)");
  const pinned = BpfMap.fromPin(join(tmp, "pins", v1.a, "xsks_map"));
  try {
    assert.match(out.fdinfo, new RegExp(`map_id:\\s+${pinned.id}\\b`));
  } finally {
    pinned.close();
  }
  const other = await run(1600);
  assert.notEqual(other.status, 0, "another uid cannot connect");
  assert.match(other.stderr, /EACCES/);
});

test("pinned-map mode and the older layout: /tmp/afxdp.sock, /tmp/xsks_map, AFXDP_DEVICES", { skip: !root && "needs root" }, async () => {
  const c = client("afxdp-legacy.sock");
  const res = await c.allocate({ container_requests: [{ devices_ids: [v3.a] }] });
  const cr = res.container_responses[0]!;
  assert.deepEqual(cr.envs, { AFXDP_DEVICES: v3.a });
  const byPath = new Map(cr.mounts.map((m) => [m.container_path, m.host_path]));
  assert.deepEqual([...byPath.keys()].sort(), ["/tmp/afxdp.sock", "/tmp/xsks_map"]);
  const mapHost = byPath.get("/tmp/xsks_map")!;
  assert.match(mapHost, new RegExp(`^${join(tmp, "maps", "legacy")}/[0-9a-f-]{36}/xsks_map$`));
  assert.ok(isBpffs(join(mapHost, "..")), "a bpffs per device");
  const viaPin = BpfMap.fromPin(mapHost, XSKMAP_EXPECT);
  kubelet.setPod("pod-l", "afxdp/legacy", [v3.a]);
  const u = await UdsClient.connect(byPath.get("/tmp/afxdp.sock")!, { podName: "pod-l" });
  const fd = await u.xskMapFd(v3.a);
  const viaUds = BpfMap.fromFd(fd);
  assert.equal(viaUds.id, viaPin.id, "the pinned map is the one the UDS hands out");
  viaUds.close();
  viaPin.close();
  await u.fin();
});

test("kubelet restart: the plugin serves and registers again", { skip: !root && "needs root" }, async () => {
  const n = kubelet.registrations.length;
  await kubelet.restart();
  await kubelet.nextRegistration(n + 2, 5000);
  const names = kubelet.registrations.slice(n).map((r) => r.resource_name).sort();
  assert.deepEqual(names, ["afxdp/legacy", "afxdp/pool1"]);
  const ds = await client("afxdp-pool1.sock").listAndWatch().until((d) => d.length === 2);
  assert.equal(health(ds, v1.a), HEALTHY);
});

test("a netdev that disappears is Unhealthy, and Healthy when it returns", { skip: !root && "needs root" }, async () => {
  const w = client("afxdp-pool1.sock").listAndWatch();
  await w.until((d) => health(d, v2.a) === HEALTHY);
  const name = v2.a;
  v2.destroy();
  await w.until((d) => health(d, name) === UNHEALTHY, 5000, `${name} Unhealthy`);
  const peer = uniqueName("dpp");
  ip("link", "add", name, "type", "veth", "peer", "name", peer);
  try {
    await w.until((d) => health(d, name) === HEALTHY, 5000, `${name} Healthy again`);
  } finally {
    ip("link", "del", name);
  }
  await w.until((d) => health(d, name) === UNHEALTHY, 5000);
  // An allocated device stays Healthy (the CNI moves it into the pod's namespace).
  assert.equal(health(w.updates[w.updates.length - 1]!, v1.a), HEALTHY);
  w.cancel();
});

test("plugin restart: the running pod's allocation is served again; the program stayed attached", { skip: !root && "needs root" }, async () => {
  const progBefore = queryXdp(v1.a).attachments[0]!.progId;
  const alloc = dp.allocations.find((a) => a.devices[0] === v1.a)!;
  // A pod that mounted its device folder before the restart handshakes before and after it.
  const client = new URL("./uds-client.js", import.meta.url).pathname;
  const code = `
    import { requestXskMapFd } from ${JSON.stringify(client)};
    import { closeSync } from "node:fs";
    const dev = process.env.DEV;
    const sock = "/tmp/afxdp_dp/" + dev + "/afxdp.sock";
    closeSync(requestXskMapFd(sock, dev));
    console.log("first ok");
    process.stdin.once("data", () => {
      closeSync(requestXskMapFd(sock, dev));
      console.log("second ok");
      process.exit(0);
    });`;
  const pod = podProcess(join(tmp, "uds", "afxdp_pool1", alloc.uuid, v1.a), v1.a, 1500, code);
  const w = watchChild(pod);
  await w.line(/^first ok$/);
  await dp.stop();
  assert.equal(queryXdp(v1.a).attachments[0]?.progId, progBefore, "still attached while the plugin is down");
  const n = kubelet.registrations.length;
  dp = new DevicePlugin(opts);
  await dp.start();
  await kubelet.nextRegistration(n + 2);
  const restored = dp.allocations.find((a) => a.uuid === alloc.uuid);
  assert.ok(restored, "allocation restored");
  assert.equal(restored.pod?.name, "pod-a");
  pod.stdin!.write("go\n");
  await w.line(/^second ok$/);
  assert.equal((await w.exit()).status, 0);
  const u = await UdsClient.connect(alloc.sockets[0]!, { podName: "pod-a" });
  const fd = await u.xskMapFd(v1.a);
  closeSync(fd);
  await u.fin();
  assert.equal(queryXdp(v1.a).attachments[0]?.progId, progBefore, "the same program, not loaded again");
});

test("an allocation ends when its pod is gone", { skip: !root && "needs root" }, async () => {
  const alloc = dp.allocations.find((a) => a.devices[0] === v1.a)!;
  const dir = join(tmp, "uds", "afxdp_pool1", alloc.uuid);
  assert.ok(existsSync(dir));
  kubelet.pods = kubelet.pods.filter((p) => p.name !== "pod-a");
  const end = Date.now() + 3000;
  while (existsSync(dir) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.equal(existsSync(dir), false, "allocation folder removed");
  assert.equal(dp.allocations.some((a) => a.uuid === alloc.uuid), false);
});

test("containerResponse: current layout with pinned maps, UDS disabled", () => {
  const rec = { version: 1 as const, pool: "p", uuid: "u", devices: ["a", "b"], legacy: false, sockets: ["/x/a/afxdp.sock", "/x/b/afxdp.sock"],
    bpffs: { a: "/m/p/1", b: "/m/p/2" }, uid: 0, pod: null, created: 0 };
  assert.deepEqual(containerResponse(rec, "/x"), {
    envs: { AFXDP_DEVICES_P: "a b" },
    mounts: [
      { host_path: "/x/a", container_path: "/tmp/afxdp_dp/a", read_only: false },
      { host_path: "/x/b", container_path: "/tmp/afxdp_dp/b", read_only: false },
      { host_path: "/m/p/1/xsks_map", container_path: "/tmp/afxdp_dp/a/xsks_map", read_only: false },
      { host_path: "/m/p/2/xsks_map", container_path: "/tmp/afxdp_dp/b/xsks_map", read_only: false },
    ],
    devices: [], annotations: {}, cdi_devices: [],
  });
  assert.deepEqual(containerResponse({ ...rec, sockets: [], bpffs: {} }, "/x").mounts, []);
});

test("--kubelet-dir as kubelet's root: a kubelet that creates device-plugins/ and starts after the plugin is found", { skip: !root && "needs root" }, async () => {
  const kroot = join(tmp, "kubelet-late");
  mkdirSync(kroot);
  const late = new DevicePlugin({
    config: parseDpConfig(JSON.stringify({ pools: [{ name: "late", mode: "primary", devices: [{ name: v3.a }], allowVirtualDevices: true }] })),
    kubeletDir: kroot,
    podResourcesSocket: join(kroot, "pod-resources", "kubelet.sock"),
    nodeName: "node-late",
    udsRoot: join(tmp, "uds-late"),
    mapRoot: join(tmp, "maps-late"),
    bpfPinRoot: join(tmp, "pins"),
    watchIntervalMs: 50,
    reapIntervalMs: 60000,
    log: createLogger({ sink: () => undefined }),
  });
  let k: KubeletStandIn | null = null;
  let c: PluginClient | null = null;
  try {
    await late.start();
    assert.equal(late.dpDir, kroot, "an empty root: nothing to resolve yet");
    mkdirSync(join(kroot, "device-plugins"));
    const sock = join(kroot, "device-plugins", "afxdp-late.sock");
    const end = Date.now() + 5000;
    while (!existsSync(sock) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    assert.ok(existsSync(sock), "serving in the new device-plugins folder before kubelet runs");
    assert.equal(late.dpDir, join(kroot, "device-plugins"));
    assert.equal(existsSync(join(kroot, "afxdp-late.sock")), false, "its socket left kubelet's root");
    k = await KubeletStandIn.start(kroot);
    const reg = await k.nextRegistration(1, 5000);
    assert.deepEqual([reg.resource_name, reg.endpoint], ["afxdp/late", "afxdp-late.sock"]);
    c = k.pluginClient(reg.endpoint);
    const ds = await c.listAndWatch().until((d) => d.length === 1);
    assert.deepEqual(ds.map((d) => [d.ID, d.health]), [[v3.a, HEALTHY]]);
  } finally {
    c?.close();
    await late.stop();
    await k?.stop();
  }
});

test("a pool's napiDeferHardIrqs / groFlushTimeout: set on its netdevs at start, kept by stop, restored by teardown", { skip: !root && "needs root" }, async () => {
  const knob = (n: string) => Number(readFileSync(`/sys/class/net/${v3.a}/${n}`, "utf8"));
  const make = () => new DevicePlugin({
    config: parseDpConfig(JSON.stringify({ pools: [{ name: "busy", mode: "primary", devices: [{ name: v3.a }], allowVirtualDevices: true, napiDeferHardIrqs: 2, groFlushTimeout: 200000 }] })),
    kubeletDir: kubelet.devicePluginDir,
    podResourcesSocket: join(tmp, "no-pod-resources.sock"),
    nodeName: "node-busy",
    udsRoot: join(tmp, "uds-busy"),
    mapRoot: join(tmp, "maps-busy"),
    bpfPinRoot: join(tmp, "pins"),
    watchIntervalMs: 50,
    reapIntervalMs: 60000,
    log: createLogger({ sink: () => undefined }),
  });
  assert.deepEqual([knob("napi_defer_hard_irqs"), knob("gro_flush_timeout")], [0, 0]);
  const a = make();
  try {
    await a.start();
    assert.deepEqual([knob("napi_defer_hard_irqs"), knob("gro_flush_timeout")], [2, 200000]);
  } finally {
    await a.stop();
  }
  assert.deepEqual([knob("napi_defer_hard_irqs"), knob("gro_flush_timeout")], [2, 200000], "a restart keeps them for running pods");
  const b = make();
  try {
    await b.start(); // finds them set: leaves them, holds nothing
  } finally {
    await b.teardown();
  }
  assert.deepEqual([knob("napi_defer_hard_irqs"), knob("gro_flush_timeout")], [2, 200000], "not this run's to restore");
  writeFileSync(`/sys/class/net/${v3.a}/napi_defer_hard_irqs`, "0\n");
  writeFileSync(`/sys/class/net/${v3.a}/gro_flush_timeout`, "0\n");
  const c = make();
  try {
    await c.start();
    assert.deepEqual([knob("napi_defer_hard_irqs"), knob("gro_flush_timeout")], [2, 200000]);
  } finally {
    await c.teardown();
  }
  assert.deepEqual([knob("napi_defer_hard_irqs"), knob("gro_flush_timeout")], [0, 0], "teardown gives the netdev its values back");
});

test("xdplane dp: argument errors, a bad config and a run stopped by a signal", { skip: !root && "needs root" }, async () => {
  const quiet = createLogger({ sink: () => undefined });
  const err = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await main([]), 1);
    assert.equal(await main(["--config"]), 1);
    assert.equal(await main(["--bogus", "x"]), 1);
    const bad = join(tmp, "bad.json");
    writeFileSync(bad, JSON.stringify({ pools: [{ name: "x y", mode: "primary", devices: [{ name: "a" }] }] }));
    assert.equal(await main(["--config", bad]), 1);
    const none = join(tmp, "none.json");
    writeFileSync(none, JSON.stringify({ pools: [{ name: "nodev", mode: "primary", devices: [{ name: "absent0" }] }] }));
    assert.equal(await main(["--config", none, "--kubelet-dir", kubelet.devicePluginDir, "--uds-dir", join(tmp, "uds2"),
      "--bpf-pin-dir", join(tmp, "pins")], { log: quiet }), 4);
  } finally {
    process.stderr.write = err;
  }
  // A real run: its own kubelet folder, stopped through the abort signal.
  const k2 = await KubeletStandIn.start(join(tmp, "kubelet2"));
  const cfg = join(tmp, "cfg.json");
  writeFileSync(cfg, JSON.stringify({ pools: [{ name: "cli", mode: "primary", devices: [{ name: v3.a }], allowVirtualDevices: true }] }));
  const ac = new AbortController();
  const run = main(["--config", cfg, "--kubelet-dir", k2.devicePluginDir, "--pod-resources-socket", k2.podResourcesSocket,
    "--node-name", "n1", "--uds-dir", join(tmp, "uds3"), "--map-dir", join(tmp, "maps3"), "--bpf-pin-dir", join(tmp, "pins")],
  { signal: ac.signal, log: quiet });
  try {
    const reg = await k2.nextRegistration(1);
    assert.equal(reg.resource_name, "afxdp/cli");
  } finally {
    ac.abort();
    assert.equal(await run, 0);
    await k2.stop();
  }
  assert.equal(existsSync(join(k2.devicePluginDir, "afxdp-cli.sock")), false, "socket removed on stop");
});
