/**
 * deploy/ agrees with the code and with itself: the ConfigMap's config.json is one the plugin accepts; the
 * NADs' configs are ones the CNI accepts and name pools that exist (UDS pool for the UDS NAD, pinned pool
 * for the pinned one); the pod asks for the UDS NAD's resource, runs as the pool's uid with only NET_RAW
 * and IPC_LOCK, and runs `xdplane config from-env` then `xdplane fwd`; the DaemonSet mounts the host paths
 * the plugin uses at the same paths, with the propagation its mounts need, and installs the executable
 * the Dockerfile builds; the README names the same resources, env, paths and commands.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseYamlDocs, type Yaml } from "./yaml-lite.js";
import { parseDpConfig } from "../dp-config.js";
import { DEFAULT_DEVICE_PLUGIN_DIR, DEFAULT_POD_RESOURCES, DEFAULT_UDS_ROOT, DEFAULT_MAP_ROOT } from "../deviceplugin.js";
import { DEFAULT_PIN_ROOT } from "../redirect.js";
import { LOG_DIR as DP_LOG_DIR } from "../dp-cli.js";
import * as P from "../uds-protocol.js";
import { parseNetConf, LOG_DIR as CNI_LOG_DIR } from "./config.js";
import { DEFAULT_STATE_DIR, STATE_DIR_ENV } from "./state.js";
import { LOG_DIR_ENV } from "./plugin.js";
import { ETHTOOL_ENV } from "./ethtool.js";
import { DEFAULT_SOCKET_DIR } from "../../telemetry/app-socket.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../../..");
const deploy = join(root, "deploy");
const read = (f: string) => readFileSync(join(deploy, f), "utf8");

type Obj = { [k: string]: Yaml };
function obj(v: Yaml | undefined, what: string): Obj {
  assert.ok(v !== null && typeof v === "object" && !Array.isArray(v), `${what} is a mapping`);
  return v as Obj;
}
function arr(v: Yaml | undefined, what: string): Yaml[] {
  assert.ok(Array.isArray(v), `${what} is a sequence`);
  return v;
}
function doc(file: string): Obj {
  // The first document (pod.yaml also holds the metrics Service).
  const docs = parseYamlDocs(read(file));
  assert.ok(docs.length >= 1, `${file}: a document`);
  return obj(docs[0], file);
}
function path(o: Yaml, ...keys: (string | number)[]): Yaml {
  let cur: Yaml = o;
  for (const k of keys) {
    assert.ok(cur !== null && typeof cur === "object", `${keys.join(".")}: ${String(k)} reached a scalar`);
    cur = (cur as Record<string | number, Yaml>)[k] ?? null;
  }
  return cur;
}

const cm = doc("configmap.yaml");
const dpConfig = parseDpConfig(path(cm, "data", "config.json") as string, "configmap.yaml");
const pools = new Map(dpConfig.pools.map((p) => [P.resourceName(p.name), p]));
const nads = ["nad-uds.yaml", "nad-pinned.yaml"].map((f) => {
  const n = doc(f);
  const resource = path(n, "metadata", "annotations", "k8s.v1.cni.cncf.io/resourceName") as string;
  return { file: f, name: path(n, "metadata", "name") as string, resource, conf: parseNetConf({ name: path(n, "metadata", "name") as string, ...JSON.parse(path(n, "spec", "config") as string) }, "DEL") };
});

test("the ConfigMap's config.json is accepted by the plugin", () => {
  assert.equal(path(cm, "kind"), "ConfigMap");
  assert.ok(dpConfig.pools.length >= 2);
});

test("the NADs: afxdp CNI configs naming pools of the ConfigMap, one UDS pool and one pinned-map pool", () => {
  for (const n of nads) {
    assert.equal(n.conf.type, "afxdp", `${n.file}: type afxdp (the executable /opt/cni/bin/afxdp)`);
    assert.equal(n.conf.deviceID, undefined, `${n.file}: no deviceID (Multus sets it from the allocation)`);
    assert.ok(pools.has(n.resource), `${n.file}: resource ${n.resource} is a pool of the ConfigMap`);
  }
  const uds = pools.get(nads[0]!.resource)!;
  assert.equal(uds.udsServerDisable, false, "the UDS NAD's pool serves the socket");
  const pinned = pools.get(nads[1]!.resource)!;
  assert.equal(pinned.bpfMapPinningEnable, true, "the pinned NAD's pool pins the map");
});

test("the pod: the UDS NAD's resource, the pool's uid, only NET_RAW and IPC_LOCK, config from-env then fwd", () => {
  const pod = doc("pod.yaml");
  assert.equal(path(pod, "metadata", "annotations", "k8s.v1.cni.cncf.io/networks"), nads[0]!.name);
  const c = obj(arr(path(pod, "spec", "containers"), "containers")[0], "container");
  const res = nads[0]!.resource;
  assert.equal(path(c, "resources", "requests", res), "1");
  assert.equal(path(c, "resources", "limits", res), "1");
  assert.equal(path(c, "securityContext", "runAsUser"), pools.get(res)!.uid, "the socket belongs to the pool's uid");
  assert.deepEqual(path(c, "securityContext", "capabilities", "add"), ["NET_RAW", "IPC_LOCK"]);
  assert.deepEqual(path(c, "securityContext", "capabilities", "drop"), ["ALL"]);
  assert.equal(path(c, "securityContext", "allowPrivilegeEscalation"), null, "left unset: no_new_privs would void node's file capabilities");
  assert.equal(path(c, "securityContext", "privileged"), null);
  const cmd = (arr(path(c, "command"), "command") as string[]).join(" ");
  assert.match(cmd, /xdplane config from-env --out (\S+) && exec xdplane fwd -c \1 lb/);
  const mounts = arr(path(c, "volumeMounts"), "volumeMounts").map((m) => path(m, "mountPath"));
  assert.ok(mounts.includes(DEFAULT_SOCKET_DIR), `an emptyDir at ${DEFAULT_SOCKET_DIR} for the app socket`);
});

test("the DaemonSet: the plugin's host paths mounted at the same paths, propagation for its mounts, the CNI installed", () => {
  const ds = doc("daemonset.yaml");
  const spec = obj(path(ds, "spec", "template", "spec"), "pod spec");
  assert.equal(spec["hostNetwork"], true);
  const volumes = new Map(arr(spec["volumes"], "volumes").map((v) => [path(v, "name") as string, v]));
  const hostPathOf = (name: string) => path(volumes.get(name)!, "hostPath", "path") as string | null;
  const c = obj(arr(spec["containers"], "containers")[0], "plugin container");
  assert.equal(path(c, "securityContext", "privileged"), true);
  const args = arr(path(c, "args"), "args") as string[];
  assert.deepEqual(args.slice(0, 2), ["dp", "--config"]);
  const mounts = arr(path(c, "volumeMounts"), "volumeMounts").map((m) => ({
    name: path(m, "name") as string, at: path(m, "mountPath") as string, prop: path(m, "mountPropagation"),
  }));
  const mountOf = (p: string) => mounts.find((m) => m.at === p);
  const cfgMount = mounts.find((m) => path(volumes.get(m.name)!, "configMap", "name") === path(cm, "metadata", "name"));
  assert.ok(cfgMount, "the ConfigMap is mounted");
  assert.equal(args[2], join(cfgMount.at, "config.json"));
  // Where the plugin works by default; kubelet reads the same paths on the host.
  for (const p of [DEFAULT_DEVICE_PLUGIN_DIR, dirname(DEFAULT_POD_RESOURCES), DEFAULT_UDS_ROOT, DEFAULT_MAP_ROOT, dirname(DEFAULT_PIN_ROOT), DP_LOG_DIR]) {
    const m = mountOf(p);
    assert.ok(m, `${p} is mounted`);
    assert.equal(hostPathOf(m.name), p, `${p} is the same path on the host`);
  }
  assert.equal(mountOf(DEFAULT_MAP_ROOT)!.prop, "Bidirectional", "the per-pod bpffs mounts reach the host (kubelet mounts them into pods)");
  assert.equal(mountOf(dirname(DEFAULT_PIN_ROOT))!.prop, "Bidirectional", "a bpffs the plugin mounts for its pins survives it");
  const init = obj(arr(spec["initContainers"], "initContainers")[0], "install-cni");
  const initCmd = (arr(path(init, "command"), "command") as string[]).join(" ");
  const cniMount = obj(arr(path(init, "volumeMounts"), "mounts")[0], "cni mount");
  assert.equal(hostPathOf(path(cniMount, "name") as string), "/opt/cni/bin");
  assert.match(initCmd, new RegExp(`${path(cniMount, "mountPath") as string}/afxdp\\b`), "installs /opt/cni/bin/afxdp");
  const src = /cp (\S+) /.exec(initCmd)?.[1];
  assert.ok(src, "copies the executable from the image");
  assert.equal(path(init, "image"), path(c, "image"), "from the plugin's image");
  const dockerfile = readFileSync(join(deploy, "Dockerfile"), "utf8");
  assert.match(dockerfile, /npm run build:cni/);
  assert.ok(dockerfile.includes(`COPY --from=build /out/afxdp ${src}`), `the Dockerfile puts the executable at ${src}`);
  assert.match(dockerfile, /setcap cap_net_raw,cap_ipc_lock\+ep/);
});

test("deploy/README.md names the same resources, env, paths, commands and CNI settings", () => {
  const readme = read("README.md");
  const must = [
    ...[...pools.keys()],
    ...dpConfig.pools.map((p) => P.devicesEnvVar(p.name)),
    P.LEGACY_DEVICES_ENV,
    P.containerSocketPath("<netdev>"),
    P.containerMapPath("<netdev>"),
    P.LEGACY_CONTAINER_SOCKET,
    DEFAULT_UDS_ROOT, DEFAULT_MAP_ROOT, DEFAULT_PIN_ROOT, DEFAULT_DEVICE_PLUGIN_DIR,
    "/opt/cni/bin/afxdp", DEFAULT_STATE_DIR, CNI_LOG_DIR, STATE_DIR_ENV, LOG_DIR_ENV, ETHTOOL_ENV,
    "xdplane dp --config", "xdplane config from-env", "xdplane fwd", "npm run build:cni",
    "allowVirtualDevices", "skipUnloadBpf", "ethtoolCmds", "deviceID",
    ...["configmap.yaml", "daemonset.yaml", "nad-uds.yaml", "nad-pinned.yaml", "pod.yaml"],
  ];
  for (const s of must) assert.ok(readme.includes(s), `README mentions ${s}`);
});

test("yaml-lite reads what it claims and refuses the rest", () => {
  assert.deepEqual(parseYamlDocs("a: 1\nb:\n  - x\n  - k: v\n    n: [1, 2]\nc: |\n  {\"j\": 1}\n---\n- 'q''s'\n"), [
    { a: 1, b: ["x", { k: "v", n: [1, 2] }], c: "{\"j\": 1}\n" },
    ["q's"],
  ]);
  assert.throws(() => parseYamlDocs("a: &x 1\n"), /not read/);
});

test("the pod's exporter sidecar: the shared socket folder, :2112 with liveness and readiness probes, the control token from a Secret, a Service to scrape", () => {
  const docs = parseYamlDocs(read("pod.yaml"));
  const pod = obj(docs[0], "pod");
  const containers = arr(path(pod, "spec", "containers"), "containers").map((c) => obj(c, "container"));
  const ex = containers.find((c) => c["name"] === "exporter");
  assert.ok(ex, "an exporter container");
  const args = arr(path(ex, "command"), "command") as string[];
  const cmd = args.join(" ");
  assert.match(cmd, new RegExp(`xdplane exporter --socket-dir ${DEFAULT_SOCKET_DIR} --listen 0\\.0\\.0\\.0:2112`));
  // The control API: on, with its token file inside a read-only mount of a Secret volume the exporter's
  // uid can read (group fsGroup, mode 0440), and only there (the forwarder does not see the token).
  const tokenFile = args[args.indexOf("--control-token-file") + 1];
  assert.ok(args.includes("--control-token-file") && tokenFile !== undefined && tokenFile.startsWith("/"), "--control-token-file <absolute path>");
  const secretMount = arr(path(ex, "volumeMounts"), "volumeMounts").find((m) => tokenFile.startsWith(`${path(m, "mountPath") as string}/`));
  assert.ok(secretMount, `${tokenFile} is in a mounted volume`);
  assert.equal(path(secretMount, "readOnly"), true);
  const vol = arr(path(pod, "spec", "volumes"), "volumes").find((v) => path(v, "name") === path(secretMount, "name"));
  const secretName = path(vol ?? null, "secret", "secretName");
  assert.equal(typeof secretName, "string", "the token file comes from a Secret");
  assert.equal(tokenFile.slice((path(secretMount, "mountPath") as string).length + 1), "token", "the Secret's key is 'token'");
  assert.equal(path(vol ?? null, "secret", "defaultMode"), 0o440);
  assert.equal(path(pod, "spec", "securityContext", "fsGroup"), path(ex, "securityContext", "runAsGroup"), "the Secret's files belong to the exporter's group");
  const fwdMounts = arr(path(containers[0] ?? null, "volumeMounts"), "volumeMounts").map((m) => path(m, "name"));
  assert.ok(!fwdMounts.includes(path(secretMount, "name")), "the forwarder does not mount the token");
  const readme = read("README.md");
  for (const s of ["--control-token-file", secretName as string, "Authorization: Bearer"]) assert.ok(readme.includes(s), `README mentions ${s}`);
  assert.equal(path(arr(path(ex, "ports"), "ports")[0] ?? null, "containerPort"), 2112);
  assert.equal(path(ex, "livenessProbe", "httpGet", "path"), "/healthz");
  assert.equal(path(ex, "readinessProbe", "httpGet", "path"), "/readyz");
  assert.deepEqual(path(ex, "securityContext", "capabilities", "drop"), ["ALL"]);
  assert.ok(arr(path(ex, "volumeMounts"), "volumeMounts").some((m) => path(m, "mountPath") === DEFAULT_SOCKET_DIR), "shares the socket folder");
  assert.equal(path(ex, "securityContext", "runAsUser"), path(containers[0] ?? null, "securityContext", "runAsUser"), "same uid as the forwarder");
  const svc = obj(docs.find((d) => path(d, "kind") === "Service"), "Service");
  assert.equal(path(svc, "spec", "selector", "app"), path(pod, "metadata", "labels", "app"));
  assert.equal(path(arr(path(svc, "spec", "ports"), "ports")[0] ?? null, "port"), 2112);
});
