#!/usr/bin/env node
// Runs the two images as a node would, driven from the host's checkout (`npm run build` first):
//
//   1. the kubelet stand-in (src/testing/kubelet-standin.ts, real gRPC) in a folder laid out like
//      /var/lib/kubelet; the PLUGIN image runs `xdplane dp` with the host network, privileged, with the
//      DaemonSet's mounts at the DaemonSet's paths (the stand-in's folder as /var/lib/kubelet/...);
//      it registers, reports the veth Healthy, and answers Allocate (env, the handshake socket's mount,
//      whose host side must exist on the host, the XDP program attached, its pins visible on the host);
//   2. the CNI executable copied out of the plugin image by the DaemonSet's own init command runs ADD
//      (the netdev moves into the pod's namespace, with the plugin's program) and, at the end, DEL;
//   3. the APP image runs, in the pod's namespace, pod.yaml's command (`xdplane config from-env` then
//      `xdplane fwd ... lb`) as uid 1500 with only NET_RAW and IPC_LOCK and the Allocate answer's mounts
//      and env; it handshakes with the plugin and forwards the frames a generator (`xdplane fwd
//      tx-only-rx` from the host's checkout, in the peer's namespace) sends it; both counts are checked.
//
// .ci/images creates the namespaces and the veth and removes everything at the end; this script gets the
// names from the environment: WORK, POD_NS, GEN_NS, VETH, PEER, PLUGIN_IMAGE, APP_IMAGE, PLUGIN_CTR,
// APP_CTR, POOL, BPFFS (the node's bpffs, mounted as /sys/fs/bpf), PODMAN_ULIMITS.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dist = (p) => import(join(root, "dist", "src", p));
const { KubeletStandIn } = await dist("testing/kubelet-standin.js");
const { HEALTHY } = await dist("k8s/proto.js");
const { parseYamlDocs } = await dist("k8s/cni/yaml-lite.js");
const { fwdConfig } = await dist("testing/fwd-config.js");

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const WORK = env("WORK"), POD_NS = env("POD_NS"), GEN_NS = env("GEN_NS"), VETH = env("VETH"), PEER = env("PEER");
const PLUGIN_IMAGE = env("PLUGIN_IMAGE"), APP_IMAGE = env("APP_IMAGE"), PLUGIN_CTR = env("PLUGIN_CTR"), APP_CTR = env("APP_CTR");
const POOL = env("POOL"), BPFFS = env("BPFFS");
const ULIMITS = (process.env.PODMAN_ULIMITS ?? "").split(" ").filter(Boolean);
const UID = 1500;
const POD = "xdplane-fwd";
const CLI = join(root, "dist", "src", "cli", "main.js");
const t0 = Date.now();
const say = (s) => process.stderr.write(`check-images [${((Date.now() - t0) / 1000).toFixed(1)} s]: ${s}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120000, ...opts });
  if (r.status !== 0 && !opts.ok) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}
const mac = (ns, dev) => JSON.parse(run("ip", ["-j", "-n", ns, "link", "show", dev]).stdout)[0].address;
const hostMac = (dev) => JSON.parse(run("ip", ["-j", "link", "show", dev]).stdout)[0].address;
const xdpProg = (args) => JSON.parse(run("ip", ["-j", "-d", ...args]).stdout)[0]?.xdp?.prog?.id ?? null;
const deploy = (f) => readFileSync(join(root, "deploy", f), "utf8");

const kdir = join(WORK, "kubelet");
const kubelet = await KubeletStandIn.start(kdir);
let plugin = null;
try {
  // --- 1. the plugin image: xdplane dp against the stand-in -------------------------------------------
  const cfgDir = join(WORK, "afxdp");
  mkdirSync(cfgDir, { recursive: true });
  writeFileSync(join(cfgDir, "config.json"), JSON.stringify({
    logLevel: "debug",
    pools: [{ name: POOL, mode: "primary", uid: UID, allowVirtualDevices: true, devices: [{ name: VETH }] }],
  }));
  const ds = parseYamlDocs(deploy("daemonset.yaml"))[0];
  const dsSpec = ds.spec.template.spec;
  const hostPathOf = (name) => dsSpec.volumes.find((v) => v.name === name).hostPath?.path;
  const dpC = dsSpec.containers[0];
  // The DaemonSet's mounts, at its paths; the kubelet folders are the stand-in's, the config ours.
  const vols = [];
  for (const m of dpC.volumeMounts) {
    let host = hostPathOf(m.name);
    if (m.name === "config") host = cfgDir;
    else if (m.mountPath === "/var/lib/kubelet/device-plugins") host = kubelet.devicePluginDir;
    else if (m.mountPath === "/var/lib/kubelet/pod-resources") host = dirname(kubelet.podResourcesSocket);
    else if (m.name === "log") host = join(WORK, "log");
    else if (m.mountPath === "/sys/fs/bpf") host = BPFFS;
    assert.ok(host, `daemonset.yaml: volume ${m.name} has a host path`);
    mkdirSync(host, { recursive: true });
    const opts = [m.readOnly ? "ro" : "", m.mountPropagation === "Bidirectional" ? "rshared" : ""].filter(Boolean).join(",");
    vols.push("-v", `${host}:${m.mountPath}${opts ? `:${opts}` : ""}`);
  }
  say(`plugin image: xdplane ${dpC.args.join(" ")} (host network, privileged, ${vols.length / 2} DaemonSet mounts)`);
  run("podman", ["run", "-d", "--name", PLUGIN_CTR, ...ULIMITS, "--network", "host", "--privileged",
    "-e", "NODE_NAME=node-ci", ...vols, PLUGIN_IMAGE, ...dpC.args]);
  plugin = true;
  const reg = await kubelet.nextRegistration(1, 60000).catch((e) => {
    throw new Error(`${e.message}\nplugin log:\n${run("podman", ["logs", PLUGIN_CTR], { ok: true }).stderr}`);
  });
  assert.equal(reg.resource_name, `afxdp/${POOL}`);
  say(`registered ${reg.resource_name} at ${reg.endpoint}`);
  const pc = kubelet.pluginClient(reg.endpoint);
  let cr;
  try {
    const w = pc.listAndWatch();
    await w.until((d) => d.some((x) => x.ID === VETH && x.health === HEALTHY), 20000);
    w.cancel();
    const res = await pc.allocate({ container_requests: [{ devices_ids: [VETH] }] });
    cr = res.container_responses[0];
  } finally {
    pc.close();
  }
  const envName = `AFXDP_DEVICES_${POOL.toUpperCase()}`;
  assert.deepEqual(cr.envs, { [envName]: VETH }, "Allocate's env");
  assert.ok(cr.mounts.length >= 1, "Allocate mounts the handshake socket");
  for (const m of cr.mounts) assert.ok(existsSync(m.host_path), `Allocate's mount ${m.host_path} exists on the host (the plugin's /tmp/afxdp_dp is the host's)`);
  const progId = xdpProg(["link", "show", VETH]);
  assert.ok(progId, `the plugin attached its XDP program to ${VETH}`);
  const pins = join(BPFFS, "xdplane", VETH);
  assert.ok(existsSync(pins), `its pins ${pins} are on the host's bpffs`);
  kubelet.setPod(POD, `afxdp/${POOL}`, [VETH]);
  say(`Allocate: ${envName}=${VETH}, mounts ${cr.mounts.map((m) => `${m.host_path} -> ${m.container_path}`).join(", ")}; prog ${progId}; pins in ${pins}`);

  // --- 2. the CNI executable out of the plugin image, as the init container copies it -----------------
  const init = dsSpec.initContainers[0];
  const cniBin = join(WORK, "opt-cni-bin");
  mkdirSync(cniBin, { recursive: true });
  run("podman", ["run", "--rm", ...ULIMITS, "--network", "none", "--entrypoint", init.command[0],
    "-v", `${cniBin}:${init.volumeMounts[0].mountPath}`, PLUGIN_IMAGE, ...init.command.slice(1)]);
  const exe = join(cniBin, "afxdp");
  say(`CNI copied out by the init container's command: ${exe} (${(statSync(exe).size / 1048576).toFixed(1)} MiB)`);
  const conf = { cniVersion: "1.0.0", name: "afxdp-images", type: "afxdp", deviceID: VETH };
  const cni = (command) => {
    const s = performance.now();
    const r = spawnSync(exe, [], {
      input: JSON.stringify(conf), encoding: "utf8", timeout: 60000,
      env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: "images0", CNI_NETNS: `/run/netns/${POD_NS}`, CNI_IFNAME: "net1", CNI_PATH: "/usr/lib/cni", XDPLANE_CNI_STATE_DIR: join(WORK, "cni-state") },
    });
    assert.equal(r.status, 0, `CNI ${command}: ${r.stdout}${r.stderr}`);
    return { out: r.stdout, ms: performance.now() - s };
  };
  const add = cni("ADD");
  assert.equal(JSON.parse(add.out).cniVersion, "1.0.0");
  assert.equal(xdpProg(["-n", POD_NS, "link", "show", VETH]), progId, "the netdev is in the pod's namespace with the plugin's program");
  say(`CNI ADD: ${VETH} in ${POD_NS} with prog ${progId} (${add.ms.toFixed(0)} ms)`);

  // --- 3. the app image: pod.yaml's command, as uid 1500 with NET_RAW and IPC_LOCK only ---------------
  const podC = parseYamlDocs(deploy("pod.yaml"))[0].spec.containers[0];
  const sc = podC.securityContext;
  assert.equal(sc.runAsUser, UID);
  const command = [...podC.command];
  command[command.length - 1] += " --json --interval 0 --debug-frames";
  const mounts = cr.mounts.flatMap((m) => ["-v", `${m.host_path}:${m.container_path}${m.read_only ? ":ro" : ""}`]);
  const envs = Object.entries(cr.envs).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  // pod.yaml's emptyDir for the command socket.
  const emptyDirs = podC.volumeMounts.flatMap((m) => ["--tmpfs", `${m.mountPath}:mode=1777`]);
  // pod.yaml sets no seccompProfile: kubelet's default is Unconfined (unless it runs with
  // --seccomp-default); podman's default profile would refuse the bpf(2) calls on the received XSKMAP.
  const seccomp = sc.seccompProfile?.type === "RuntimeDefault" ? [] : ["--security-opt", "seccomp=unconfined"];
  const appArgs = ["run", "--rm", "--name", APP_CTR, ...ULIMITS, ...seccomp, "--network", `ns:/run/netns/${POD_NS}`, "--hostname", POD,
    "--user", `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`, "--cap-drop", sc.capabilities.drop.join(","), "--cap-add", sc.capabilities.add.join(","),
    ...mounts, ...envs, ...emptyDirs, "--entrypoint", command[0], APP_IMAGE, ...command.slice(1)];
  say(`app image: ${command.join(" ")} (uid ${sc.runAsUser}, caps ${sc.capabilities.add.join(",")})`);
  const app = spawn("podman", appArgs, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  app.stdout.on("data", (b) => (out += b));
  app.stderr.on("data", (b) => (err += b));
  const appExit = new Promise((r) => app.on("exit", (c) => r(c)));
  const deadline = Date.now() + 60000;
  while (!/mode lb/.test(out + err) && app.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(/mode lb/.test(out + err), `the forwarder started:\n${out}\n${err}\nplugin log:\n${run("podman", ["logs", PLUGIN_CTR], { ok: true }).stderr}`);
  const caps = run("podman", ["exec", APP_CTR, "sh", "-c", "grep -E '^(Uid|CapEff|CapBnd)' /proc/1/status"]).stdout;
  say(`forwarder running: ${caps.trim().replace(/\s+/g, " ")}`);
  assert.match(caps, new RegExp(`Uid:\\s+${UID}\\s`), "runs as uid 1500");
  assert.match(caps, /CapEff:\s+0000000000006000\s/, "effective: NET_RAW and IPC_LOCK only");

  // The generator: xdplane fwd tx-only-rx on the peer, from the host's checkout.
  const genCfg = join(WORK, "gen.jsonc");
  writeFileSync(genCfg, fwdConfig({ ports: [{ netdev: PEER }], cpus: [0] }));
  const SECONDS = Number(process.env.GEN_SECONDS ?? 5);
  const gen = run("ip", ["netns", "exec", GEN_NS, process.execPath, CLI, "fwd", "-c", genCfg, "tx-only-rx", "--no-socket", "--json", "--interval", "0",
    "--duration", String(SECONDS), "--tx-dst-mac", mac(POD_NS, VETH)], { timeout: (SECONDS + 30) * 1000 });
  const gsum = JSON.parse(gen.stdout.trim().split("\n").find((l) => l.includes('"type":"summary"')));
  const sent = gsum.ports[0].opackets, back = gsum.ports[0].ipackets;
  say(`generator: sent ${sent}, came back ${back} in ${SECONDS} s`);
  run("podman", ["stop", "-t", "15", APP_CTR]);
  const code = await appExit;
  const line = out.trim().split("\n").find((l) => l.includes('"type":"summary"'));
  assert.ok(line, `the forwarder's summary:\n${out}\n${err}`);
  const sum = JSON.parse(line);
  const p = sum.ports[0];
  say(`forwarder: rx ${p.ipackets} tx ${p.opackets}, leaked ${sum.leakedFrames}, double frees ${sum.doubleFrees}, exit ${code}`);
  assert.equal(code, 0, `the forwarder's exit code\n${err}`);
  assert.equal(sum.leakedFrames, 0);
  assert.equal(sum.doubleFrees, 0);
  assert.ok(p.ipackets >= 100000, `the forwarder received ${p.ipackets} frames (at least 100000)`);
  assert.ok(back >= 100000, `${back} frames came back MAC-swapped to the generator (at least 100000)`);
  assert.ok(back <= p.opackets && p.opackets <= p.ipackets, "what came back was sent by the forwarder, which sent what it received");

  // --- CNI DEL: the netdev comes home ----------------------------------------------------------------
  const del = cni("DEL");
  hostMac(VETH);
  say(`CNI DEL: ${VETH} is back on the host (${del.ms.toFixed(0)} ms)`);
  const res = { plugin: "ok", cni: { addMs: Math.round(add.ms), delMs: Math.round(del.ms) }, fwd: { rx: p.ipackets, tx: p.opackets, back, seconds: SECONDS } };
  process.stdout.write(`${JSON.stringify(res)}\n`);
} finally {
  if (plugin) {
    const logs = run("podman", ["stop", "-t", "15", PLUGIN_CTR], { ok: true });
    if (logs.status !== 0) say(`podman stop ${PLUGIN_CTR}: ${logs.stderr}`);
  }
  await kubelet.stop();
}
