/**
 * The device plugin under faults it must survive: its program detached behind its back (CNI DEL, an
 * operator), /connect latency (CNDP waits ~30 ms for /host_ok), a full disk under --uds-dir, and Allocate
 * inputs kubelet should never send.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { BpfMap, Program, XdpLink, XSKMAP_EXPECT, detachAny, queryXdp, unmountBpffs } from "../bpf/index.js";
import { createVethPair, canUseNetns, type VethPair } from "../testing/netns.js";
import { KubeletStandIn, type PluginClient } from "../testing/kubelet-standin.js";
import { parseDpConfig } from "./dp-config.js";
import { DevicePlugin, type DevicePluginOptions } from "./deviceplugin.js";
import { UdsClient } from "./uds-client.js";
import { createLogger } from "./log.js";
import { Clock } from "../sys/clock.js";

/** include/uapi/linux/time.h: the calling thread's CPU time. */
const CLOCK_THREAD_CPUTIME_ID = 3;

const root = canUseNetns();
let tmp: string;
let kubelet: KubeletStandIn;
let v1: VethPair, v2: VethPair, v3: VethPair;
let dp: DevicePlugin;
const extra: DevicePlugin[] = [];
const clients: PluginClient[] = [];
const logLines: string[] = [];
const log = createLogger({ level: "debug", sink: (l) => logLines.push(l) });

function pluginOpts(pool: object, over: Partial<DevicePluginOptions> = {}): DevicePluginOptions {
  return {
    config: parseDpConfig(JSON.stringify({ pools: [pool] })),
    kubeletDir: kubelet.devicePluginDir,
    podResourcesSocket: kubelet.podResourcesSocket,
    nodeName: "node-f",
    udsRoot: join(tmp, "uds"),
    mapRoot: join(tmp, "maps"),
    bpfPinRoot: join(tmp, "pins"),
    watchIntervalMs: 50,
    reapIntervalMs: 60000,
    log,
    ...over,
  };
}

function client(endpoint: string): PluginClient {
  const c = kubelet.pluginClient(endpoint);
  clients.push(c);
  return c;
}

before(async () => {
  if (!root) return;
  tmp = mkdtempSync(join(tmpdir(), "xdpdpf-"));
  kubelet = await KubeletStandIn.start(join(tmp, "kubelet"));
  v1 = createVethPair({ prefix: "df" });
  v2 = createVethPair({ prefix: "df" });
  v3 = createVethPair({ prefix: "df" });
  dp = new DevicePlugin(pluginOpts({ name: "main", mode: "primary", devices: [{ name: v1.a }], allowVirtualDevices: true, udsTimeout: 300 }));
  await dp.start();
});

after(async () => {
  if (!root) return;
  for (const c of clients) c.close();
  try {
    for (const p of extra) await p.teardown();
    await dp.teardown();
  } finally {
    dp.unmountPins();
    unmountBpffs(join(tmp, "pins"));
    try { execFileSync("umount", ["-l", join(tmp, "full")], { stdio: "ignore" }); } catch { /* not mounted */ }
    for (const v of [v1, v2, v3]) v?.destroy();
    await kubelet.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("a program detached behind the plugin's back is attached again (same program, same XSKMAP) before /xsk_map_fd", { skip: !root && "needs root" }, async () => {
  const res = await client("afxdp-main.sock").allocate({ container_requests: [{ devices_ids: [v1.a] }] });
  const sock = join(res.container_responses[0]!.mounts[0]!.host_path, "afxdp.sock");
  const before = queryXdp(v1.a).attachments;
  assert.equal(before.length, 1);
  kubelet.setPod("pod-r", "afxdp/main", [v1.a]);
  // What the CNI's DEL (or an operator) does: every XDP program off the netdev.
  detachAny(v1.a);
  assert.deepEqual(queryXdp(v1.a).attachments, []);
  logLines.length = 0;

  const u = await UdsClient.connect(sock, { podName: "pod-r" });
  const fd = await u.xskMapFd(v1.a);
  const map = BpfMap.fromFd(fd, XSKMAP_EXPECT);
  try {
    const after = queryXdp(v1.a).attachments;
    assert.equal(after.length, 1, "attached again");
    assert.ok(after[0]!.linkId !== undefined && after[0]!.linkId !== before[0]!.linkId, "through a new BPF link");
    assert.equal(after[0]!.progId, before[0]!.progId, "the same program");
    const prog = Program.fromId(after[0]!.progId);
    try {
      assert.deepEqual(prog.info().mapIds, [map.id], "the map handed out is the attached program's map");
    } finally {
      prog.close();
    }
    const pinnedLink = XdpLink.fromPin(join(tmp, "pins", v1.a, "link"));
    const pinnedMap = BpfMap.fromPin(join(tmp, "pins", v1.a, "xsks_map"));
    try {
      assert.equal(pinnedLink.info().id, after[0]!.linkId, "the new link is the pinned one (survives a plugin restart)");
      assert.equal(pinnedMap.id, map.id);
    } finally {
      pinnedLink.close();
      pinnedMap.close();
    }
    assert.ok(logLines.some((l) => /attached again/.test(l) && l.includes(v1.a)), `logged: ${logLines.join("\n")}`);

    // Still attached: the next request attaches nothing.
    const fd2 = await u.xskMapFd(v1.a);
    closeSync(fd2);
    assert.equal(queryXdp(v1.a).attachments[0]!.linkId, after[0]!.linkId);
  } finally {
    map.close();
    await u.fin();
  }
});

test("/connect is answered within 5 ms at the 99th percentile (200 handshakes, PodResources over gRPC)", { skip: !root && "needs root" }, async () => {
  // A node with many pods: List answers grow with them.
  for (let i = 0; i < 150; i++) kubelet.setPod(`other-${i}`, "example.com/thing", [`t${i}`], `ns-${i % 7}`);
  // A fresh plugin: its first List is part of the measurement.
  const lat = new DevicePlugin(pluginOpts({ name: "lat", mode: "primary", devices: [{ name: v2.a }], allowVirtualDevices: true, udsTimeout: 300 },
    { udsRoot: join(tmp, "uds-lat") }));
  extra.push(lat);
  // The plugin's own time per /connect: the UDS server asks its pod lister when the /connect arrives
  // (synchronously from the message) and replies as soon as the answer resolves (same event-loop turn).
  const validateMs: number[] = [];
  const validateCpuMs: number[] = [];
  const threadCpu = new Clock(CLOCK_THREAD_CPUTIME_ID);
  const view = lat.podCache.view.bind(lat.podCache);
  lat.podCache.view = (resource, devices) => {
    const inner = view(resource, devices);
    return {
      list: async () => {
        const t0 = performance.now();
        const c0 = threadCpu.nowMs();
        try {
          return await inner.list();
        } finally {
          validateMs.push(performance.now() - t0);
          validateCpuMs.push(threadCpu.nowMs() - c0);
        }
      },
    };
  };
  await lat.start();
  const res = await client("afxdp-lat.sock").allocate({ container_requests: [{ devices_ids: [v2.a] }] });
  const sock = join(res.container_responses[0]!.mounts[0]!.host_path, "afxdp.sock");
  kubelet.setPod("pod-t", "afxdp/lat", [v2.a], "ns-t");
  const callsBefore = kubelet.listCalls;
  // The pod is another process (as CNDP is): it times /connect -> reply with blocking calls.
  const udsClient = new URL("./uds-client.js", import.meta.url).pathname;
  const code = `
    import { UdsClientSync } from ${JSON.stringify(udsClient)};
    const out = [];
    for (let i = 0; i < 200; i++) {
      const t0 = process.hrtime.bigint();
      const c = UdsClientSync.connect(process.env.SOCK, { podName: "pod-t", timeoutMs: 5000 });
      out.push(Number(process.hrtime.bigint() - t0) / 1e6);
      c.fin();
    }
    console.log(JSON.stringify(out));`;
  const cp = spawn(process.execPath, ["--input-type=module", "-e", code], { env: { ...process.env, SOCK: sock }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  cp.stdout.on("data", (b: Buffer) => (out += b.toString()));
  cp.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const status = await new Promise<number | null>((r) => cp.on("exit", (c) => r(c)));
  assert.equal(status, 0, err);
  const wall = JSON.parse(out.trim()) as number[];
  assert.equal(wall.length, 200);
  assert.equal(validateMs.length, 200);
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
    const slowest = xs.map((v, i) => [i, v] as const).sort((a, b) => b[1] - a[1]).slice(0, 3);
    return { p50: q(0.5), p99: q(0.99), text: `median ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms, slowest ${slowest.map(([i, v]) => `#${i} ${v.toFixed(2)}`).join(", ")} ms` };
  };
  const w = stats(wall);
  const v = stats(validateMs);
  const vc = stats(validateCpuMs);
  const calls = kubelet.listCalls - callsBefore;
  const load = loadavg()[0]!;
  const summary = `pod-side /connect -> /host_ok: ${w.text}; plugin-side pod validation: ${v.text}, main-thread CPU time ${vc.text}; PodResources List calls ${calls}; load ${load.toFixed(1)} on ${cpus().length} CPUs`;
  console.log(`# 200 handshakes: ${summary}`);
  // What the code controls: the pod list is cached (kubelet is asked once, for the first /connect after
  // Allocate), and the plugin's own time per /connect (CPU time: not the time it waits for a CPU) stays
  // below 5 ms at p99.
  assert.ok(calls <= 1, `PodResources List calls for 200 handshakes: ${calls} (${summary})`);
  assert.ok(vc.p99 < 5, summary);
  // Wall-clock times also hold the time both processes wait for a CPU: asserted where the machine is not
  // overloaded (two shared cores that other test runs load make them flaky otherwise).
  if (load <= cpus().length) {
    assert.ok(v.p99 < 5, summary);
    assert.ok(w.p99 < 5, summary);
  } else {
    console.log(`# wall-clock p99 not asserted: load ${load.toFixed(1)} on ${cpus().length} CPUs`);
  }
});

test("a full disk under --uds-dir: Allocate names the path, undoes everything, and the plugin keeps answering", { skip: !root && "needs root" }, async () => {
  const full = join(tmp, "full");
  mkdirSync(full);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", full]);
  const udsRoot = join(full, "uds");
  const fp = new DevicePlugin(pluginOpts({ name: "full", mode: "primary", devices: [{ name: v3.a }], allowVirtualDevices: true, udsTimeout: 300 },
    { udsRoot }));
  extra.push(fp);
  await fp.start();
  const c = client("afxdp-full.sock");
  const filler = join(full, "filler");
  const fill = () => {
    const fd = openSync(filler, "a");
    const chunk = Buffer.alloc(4096, 1);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, "ENOSPC");
    } finally {
      closeSync(fd);
    }
  };
  const poolDir = join(udsRoot, "afxdp_full");
  mkdirSync(poolDir, { recursive: true });
  fill();
  assert.deepEqual(queryXdp(v3.a).attachments, [], "nothing attached before");
  await assert.rejects(c.allocate({ container_requests: [{ devices_ids: [v3.a] }] }), (e: grpc.ServiceError) => {
    assert.match(e.details, /ENOSPC/);
    assert.ok(e.details.includes(poolDir), `the error names the path: ${e.details}`);
    return true;
  });
  assert.deepEqual(queryXdp(v3.a).attachments, [], "the program this Allocate attached is detached again");
  assert.equal(existsSync(join(tmp, "pins", v3.a)), false, "its pins are gone");
  assert.deepEqual(readdirSync(poolDir), [], "no allocation folder left");
  assert.equal(fp.allocations.length, 0);
  // Still serving.
  assert.deepEqual(await c.options(), { pre_start_required: false, get_preferred_allocation_available: true });

  // Space again: Allocate works; then the disk fills before the pod connects.
  rmSync(filler);
  const res = await c.allocate({ container_requests: [{ devices_ids: [v3.a] }] });
  const sock = join(res.container_responses[0]!.mounts[0]!.host_path, "afxdp.sock");
  const alloc = fp.allocations[0]!;
  const sessionFile = join(poolDir, alloc.uuid, "session.json");
  fill();
  kubelet.setPod("pod-f", "afxdp/full", [v3.a]);
  logLines.length = 0;
  const u = await UdsClient.connect(sock, { podName: "pod-f" });
  const fd = await u.xskMapFd(v3.a);
  closeSync(fd);
  await u.fin();
  assert.ok(!logLines.some((l) => /handshake error/.test(l)), logLines.join("\n"));
  assert.ok(logLines.some((l) => l.includes(sessionFile) && /ENOSPC/.test(l)), `the failed save is logged with its path:\n${logLines.join("\n")}`);
  assert.equal(existsSync(`${sessionFile}.tmp`), false, "no temporary file left");
  assert.equal((JSON.parse(readFileSync(sessionFile, "utf8")) as { pod: unknown }).pod, null, "the old state, whole");
  // Once there is space, the binding is written.
  rmSync(filler);
  await fp.reap();
  assert.equal((JSON.parse(readFileSync(sessionFile, "utf8")) as { pod: { name: string } | null }).pod?.name, "pod-f");
  await fp.teardown();
  assert.deepEqual(queryXdp(v3.a).attachments, []);
});

test("Allocate refuses a device twice in one request and does not echo a 100 KB device ID", { skip: !root && "needs root" }, async () => {
  const c = client("afxdp-main.sock");
  const before = dp.allocations.map((a) => a.uuid);
  await assert.rejects(c.allocate({ container_requests: [{ devices_ids: [v1.a] }, { devices_ids: [v1.a] }] }), (e: grpc.ServiceError) => {
    assert.equal(e.code, grpc.status.INVALID_ARGUMENT, e.message);
    assert.ok(e.details.includes(v1.a), e.details);
    return true;
  });
  await assert.rejects(c.allocate({ container_requests: [{ devices_ids: [v1.a, v1.a] }] }), (e: grpc.ServiceError) => {
    assert.equal(e.code, grpc.status.INVALID_ARGUMENT, e.message);
    assert.ok(e.details.includes(v1.a), e.details);
    return true;
  });
  assert.deepEqual(dp.allocations.map((a) => a.uuid), before, "nothing allocated, nothing ended");
  const huge = "x".repeat(100_000);
  await assert.rejects(c.allocate({ container_requests: [{ devices_ids: [huge] }] }), (e: grpc.ServiceError) => {
    assert.equal(e.code, grpc.status.INVALID_ARGUMENT, e.message);
    assert.ok(e.details.length < 300, `echoed ${e.details.length} chars`);
    assert.ok(e.details.includes(`${"x".repeat(64)}…(100000 bytes)`), e.details);
    return true;
  });
  assert.ok(logLines.every((l) => l.length < 1000), "the log does not carry it either");
});
