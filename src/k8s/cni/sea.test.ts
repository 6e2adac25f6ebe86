/**
 * The single executable `afxdp` (deploy/build-cni.mjs): built here into a temp folder, then run as a
 * container runtime runs a CNI plugin, with no Node.js involved: VERSION, and ADD/DEL of a veth with the
 * real host-local IPAM. Reports the size and how long ADD takes. Skipped when esbuild and postject are not
 * installed (devDependencies, or XDPLANE_SEA_TOOLS naming a node_modules folder holding them).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { canUseNetns, createNetns, createVethPair, ip } from "../../testing/netns.js";
import { runCniProcess, hostLocal, haveHostLocal, reservedIps } from "../../testing/cni.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../../..");
const script = join(root, "deploy", "build-cni.mjs");

interface BuildScript {
  loadTool(name: string): Promise<unknown>;
}

async function skipReason(): Promise<string | false> {
  if (!canUseNetns()) return "needs root (namespaces, veth)";
  if (!haveHostLocal()) return "needs /usr/lib/cni/host-local (containernetworking-plugins)";
  const mod = (await import(pathToFileURL(script).href)) as BuildScript;
  const missing = [];
  for (const t of ["esbuild", "postject"]) if (!(await mod.loadTool(t))) missing.push(t);
  if (missing.length > 0) return `${missing.join(" and ")} not installed (devDependencies, or XDPLANE_SEA_TOOLS=<node_modules folder>)`;
  return false;
}

test("the single executable: VERSION, ADD and DEL without Node.js", { skip: await skipReason() }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), "xdpcni-sea-"));
  const v = createVethPair({ prefix: "sea" });
  const pod = createNetns("seapod");
  try {
    const exe = join(tmp, "afxdp");
    const b = spawnSync(process.execPath, [script, "--out", exe], { encoding: "utf8", timeout: 120000 });
    assert.equal(b.status, 0, `build: ${b.stderr}`);
    const size = statSync(exe).size;

    const ver = runCniProcess({ exe, command: "VERSION", conf: { cniVersion: "1.0.0" }, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
    assert.equal(ver.status, 0, ver.stdout + ver.stderr);
    assert.deepEqual(ver.json, { cniVersion: "1.0.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });

    const dataDir = join(tmp, "ipam");
    const conf = { cniVersion: "1.0.0", name: "seanet", type: "afxdp", deviceID: v.a, ipam: hostLocal(dataDir, "10.95.0.0/24") };
    // A PATH without node: the executable needs nothing but itself.
    const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", XDPLANE_CNI_STATE_DIR: join(tmp, "state"), TMPDIR: join(tmp) };
    const call = { exe, conf, containerID: "sea1", netns: `/run/netns/${pod.ns}`, ifname: "net1", env };
    const add = runCniProcess({ ...call, command: "ADD" });
    assert.equal(add.status, 0, add.stdout + add.stderr);
    assert.deepEqual((add.json!["interfaces"] as { name: string }[]).map((i) => i.name), [v.a]);
    assert.match(ip("netns", "exec", pod.ns, "ip", "-o", "addr", "show", "dev", v.a), /inet 10\.95\.0\.2\/24/);
    const noIpam = { ...conf, ipam: undefined };
    const del = runCniProcess({ ...call, command: "DEL" });
    assert.equal(del.status, 0, del.stdout);
    assert.deepEqual(reservedIps(dataDir, "seanet"), []);
    // Timings: the median of 5 ADD/DEL rounds, with host-local and without IPAM (the plugin's own cost).
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rounds = (c: typeof conf | typeof noIpam) => {
      const adds: number[] = [];
      const dels: number[] = [];
      for (let i = 0; i < 5; i++) {
        const a = runCniProcess({ ...call, conf: c, command: "ADD" });
        assert.equal(a.status, 0, a.stdout);
        adds.push(a.ms);
        const d = runCniProcess({ ...call, conf: c, command: "DEL" });
        assert.equal(d.status, 0, d.stdout);
        dels.push(d.ms);
      }
      return { add: median(adds), del: median(dels) };
    };
    const withIpam = rounds(conf);
    const bare = rounds(noIpam);
    ip("link", "show", v.a);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith("xdplane-shim-")), [], "the unpacked shim is removed at once");
    t.diagnostic(`afxdp executable: ${(size / 1048576).toFixed(1)} MiB; median of 5: ADD ${withIpam.add.toFixed(0)} ms and DEL ${withIpam.del.toFixed(0)} ms with host-local, ADD ${bare.add.toFixed(0)} ms and DEL ${bare.del.toFixed(0)} ms without IPAM`);
  } finally {
    pod.destroy();
    v.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
});
