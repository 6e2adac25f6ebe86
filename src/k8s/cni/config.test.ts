/**
 * The CNI's pure parts: results read and written in each version, the network configuration as upstream's
 * NADs write it, and the CNI environment.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseResult, formatResult } from "./result.js";
import { parseNetConf } from "./config.js";
import { parseEnv, parseCniArgs } from "./env.js";
import { CniError } from "./errors.js";
import { compareVersions, highestCommon } from "./version.js";

const full = {
  cniVersion: "1.1.0",
  interfaces: [{ name: "ens1f0", mac: "02:00:00:00:00:01", mtu: 9000, sandbox: "/run/netns/p", socketPath: "/s", pciID: "0000:01:00.0" }],
  ips: [{ address: "10.1.0.5/24", gateway: "10.1.0.1", interface: 0 }, { address: "fd00::5/64", interface: 0 }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1", mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 }, { dst: "::/0" }],
  dns: { nameservers: ["10.1.0.10"], domain: "example", search: ["a"], options: ["ndots:2"] },
};

test("a 1.1.0 result round-trips, and older versions drop what they lack", () => {
  const r = parseResult(full, "1.1.0");
  assert.deepEqual(formatResult(r, "1.1.0"), full);
  const v100 = formatResult(r, "1.0.0");
  assert.deepEqual(v100["interfaces"], [{ name: "ens1f0", mac: "02:00:00:00:00:01", sandbox: "/run/netns/p" }]);
  assert.deepEqual(v100["routes"], [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }, { dst: "::/0" }]);
  const v031 = formatResult(r, "0.3.1");
  assert.deepEqual(v031["ips"], [
    { version: "4", address: "10.1.0.5/24", gateway: "10.1.0.1", interface: 0 },
    { version: "6", address: "fd00::5/64", interface: 0 },
  ]);
  assert.equal(v031["cniVersion"], "0.3.1");
  // And back: a 0.3.1 result reads into the same addresses.
  assert.deepEqual(parseResult(v031, "0.3.1").ips, r.ips);
});

test("results that cannot be decoded are code 6, naming the field", () => {
  const bad = (v: unknown, version: string, re: RegExp) =>
    assert.throws(() => parseResult(v, version, "prevResult"), (e: CniError) => e.code === 6 && re.test(e.message));
  bad([], "1.0.0", /prevResult: not an object/);
  bad({ ips: [{ address: "10.0.0.1" }] }, "1.0.0", /prevResult\.ips\[0\]\.address/);
  bad({ ips: [{ address: "10.0.0.1/33" }] }, "1.0.0", /address/);
  bad({ ips: [{ version: "6", address: "10.0.0.1/24" }] }, "0.4.0", /version.*IPv4/);
  bad({ interfaces: [{ mac: "x" }] }, "1.0.0", /interfaces\[0\]\.name: missing/);
  bad({ interfaces: [{ name: "a" }], ips: [{ address: "10.0.0.1/24", interface: 3 }] }, "1.0.0", /interface/);
  bad({ routes: [{ dst: "0.0.0.0/0", gw: "nope" }] }, "1.0.0", /routes\[0\]\.gw/);
  bad({ dns: { nameservers: "x" } }, "1.0.0", /dns\.nameservers/);
});

test("upstream's NADs parse (name as Multus adds it); defaults", () => {
  const c = parseNetConf({
    cniVersion: "0.3.0", name: "afxdp-network", type: "afxdp", mode: "primary", logFile: "afxdp-cni.log", logLevel: "debug",
    dpSyncer: true, queues: "4", deviceID: "ens1f0",
    ipam: { type: "host-local", subnet: "192.168.1.0/24", rangeStart: "192.168.1.200", rangeEnd: "192.168.1.220", routes: [{ dst: "0.0.0.0/0" }], gateway: "192.168.1.1" },
  });
  assert.equal(c.deviceID, "ens1f0");
  assert.equal(c.mode, "primary");
  assert.equal(c.dpSyncer, true);
  assert.equal(c.ipam?.type, "host-local");
  assert.equal(c.skipUnloadBpf, false);
  const d = parseNetConf({ cniVersion: "1.0.0", name: "n", type: "afxdp" }, "DEL");
  assert.deepEqual([d.mode, d.ethtoolCmds, d.deviceID, d.ipam], ["primary", [], undefined, undefined]);
  const g = parseNetConf({ cniVersion: "1.1.0", name: "n", type: "afxdp", "cni.dev/attachments": [{ containerID: "c", ifname: "eth0" }] }, "GC");
  assert.deepEqual(g.validAttachments, [{ containerID: "c", ifname: "eth0" }]);
});

test("the CNI environment: CNI_ARGS, CNI_PATH, per-command requirements", () => {
  const env = parseEnv({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "abc", CNI_NETNS: "/run/netns/x", CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin::/usr/lib/cni", CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=pod-a" });
  assert.deepEqual(env.path, ["/opt/cni/bin", "/usr/lib/cni"]);
  assert.deepEqual(env.args, { IgnoreUnknown: "1", K8S_POD_NAME: "pod-a" });
  assert.deepEqual(parseCniArgs("A=b=c;"), { A: "b=c" });
  assert.equal(parseEnv({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "abc", CNI_IFNAME: "net1", CNI_PATH: "/x" }).netns, "");
  assert.equal(parseEnv({ CNI_COMMAND: "VERSION" }).command, "VERSION");
  assert.equal(parseEnv({ CNI_COMMAND: "GC", CNI_PATH: "/x" }).command, "GC");
  assert.throws(() => parseEnv({ CNI_COMMAND: "STATUS" }), (e: CniError) => e.code === 4 && /CNI_PATH/.test(e.message));
});

test("versions: order and the highest common one", () => {
  assert.ok(compareVersions("0.4.0", "1.0.0") < 0);
  assert.ok(compareVersions("1.10.0", "1.9.0") > 0);
  assert.equal(highestCommon(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"], "1.1.0"), "1.0.0");
  assert.equal(highestCommon(["0.1.0", "0.2.0"], "1.1.0"), undefined);
});
