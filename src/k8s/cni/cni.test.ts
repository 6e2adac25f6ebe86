/**
 * The afxdp CNI run as a container runtime runs it (a process with the CNI environment and the config on
 * stdin), on real veths and namespaces, with the real host-local IPAM: ADD/CHECK/DEL in every config
 * version, chaining, repeated DEL, DEL after the namespace is gone, XDP detach, ethtool filters, GC,
 * STATUS, VERSION, and each bad input with its CNI error code.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns, createNetns, createVethPair, ip, nsExec, type VethPair } from "../../testing/netns.js";
import { loadXskRedirect, XdpLink, queryXdp } from "../../bpf/index.js";
import { runCniProcess, hostLocal, haveHostLocal, reservedIps, type CniCall } from "../../testing/cni.js";

const skip = !canUseNetns() ? "needs root (namespaces, veth)" : !haveHostLocal() ? "needs /usr/lib/cni/host-local (apt-get install containernetworking-plugins)" : false;

let tmp: string;
let seq = 0;
const cleanups: (() => void)[] = [];

before(() => {
  tmp = mkdtempSync(join(tmpdir(), "xdpcni-"));
});
after(() => {
  for (const c of cleanups.reverse()) {
    try { c(); } catch { /* best effort */ }
  }
  rmSync(tmp, { recursive: true, force: true });
});

interface Rig {
  v: VethPair;
  ns: string;
  netns: string;
  name: string;
  dataDir: string;
  stateDir: string;
  conf(extra?: Record<string, unknown>, version?: string): Record<string, unknown>;
  call(command: string, conf: unknown, over?: Partial<CniCall>): ReturnType<typeof runCniProcess>;
  destroy(): void;
}

/** A veth (its `a` end on the host is the device), a pod namespace, a network with host-local IPAM. */
function rig(subnet = `10.${90 + (seq % 9)}.${seq}.0/24`): Rig {
  seq++;
  const v = createVethPair({ prefix: "cni" });
  const pod = createNetns("cnipod");
  const name = `afxdp-t${seq}`;
  const dataDir = join(tmp, `ipam${seq}`);
  const stateDir = join(tmp, `state${seq}`);
  const netns = `/run/netns/${pod.ns}`;
  const destroy = () => {
    try { nsExec(pod.ns, "ip", "link", "del", v.a); } catch { /* not there */ }
    pod.destroy();
    v.destroy();
  };
  cleanups.push(destroy);
  return {
    v, ns: pod.ns, netns, name, dataDir, stateDir,
    conf: (extra = {}, version = "1.0.0") => ({
      cniVersion: version, name, type: "afxdp", deviceID: v.a, ipam: hostLocal(dataDir, subnet, { gateway: subnet.replace(/0\/24$/, "1") }), ...extra,
    }),
    call: (command, conf, over = {}) => runCniProcess({
      command, conf, containerID: `ctr${seq}`, netns, ifname: "net1", ...over,
      env: { XDPLANE_CNI_STATE_DIR: stateDir, ...over.env },
    }),
    destroy,
  };
}

function inPod(ns: string, dev: string): { up: boolean; addrs: string[]; mac: string } | undefined {
  try {
    const j = JSON.parse(nsExec(ns, "ip", "-j", "addr", "show", "dev", dev)) as { flags: string[]; address: string; addr_info: { local: string; prefixlen: number; scope: string }[] }[];
    const l = j[0]!;
    return { up: l.flags.includes("UP"), mac: l.address, addrs: l.addr_info.filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`) };
  } catch {
    return undefined;
  }
}

function onHost(dev: string): { up: boolean; addrs: string[] } | undefined {
  try {
    const j = JSON.parse(ip("-j", "addr", "show", "dev", dev)) as { flags: string[]; addr_info: { local: string; prefixlen: number; scope: string }[] }[];
    return { up: j[0]!.flags.includes("UP"), addrs: j[0]!.addr_info.filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`) };
  } catch {
    return undefined;
  }
}

function expectError(r: ReturnType<typeof runCniProcess>, code: number, msg?: RegExp, version?: string): void {
  assert.equal(r.status, 1, `exit status 1 (stdout ${r.stdout}, stderr ${r.stderr})`);
  assert.ok(r.json, `error JSON on stdout: ${r.stdout} (stderr: ${r.stderr})`);
  assert.equal(r.json["code"], code, `code ${code}: ${r.stdout}`);
  assert.equal(typeof r.json["msg"], "string");
  if (msg) assert.match(r.json["msg"] as string, msg);
  if (version) assert.equal(r.json["cniVersion"], version);
}

describe("afxdp CNI: ADD, CHECK, DEL with host-local", { skip }, () => {
  test("ADD moves the netdev in with its name, up, with IPAM's address and routes; CHECK passes; DEL brings it home", () => {
    const r = rig();
    const conf = r.conf({ ipam: { ...hostLocal(r.dataDir, "10.88.1.0/24", { gateway: "10.88.1.1" }), routes: [{ dst: "0.0.0.0/0" }, { dst: "10.99.0.0/16", gw: "10.88.1.254" }] } });
    const add = r.call("ADD", conf);
    assert.equal(add.status, 0, add.stdout + add.stderr);
    const res = add.json!;
    assert.equal(res["cniVersion"], "1.0.0");
    assert.deepEqual(res["interfaces"], [{ name: r.v.a, mac: r.v.macA, sandbox: r.netns }]);
    assert.deepEqual(res["ips"], [{ address: "10.88.1.2/24", gateway: "10.88.1.1", interface: 0 }]);
    assert.deepEqual(res["routes"], [{ dst: "0.0.0.0/0" }, { dst: "10.99.0.0/16", gw: "10.88.1.254" }]);
    assert.equal(onHost(r.v.a), undefined, "gone from the host");
    const pod = inPod(r.ns, r.v.a);
    assert.ok(pod, "in the pod's namespace under its own name");
    assert.equal(pod.up, true);
    assert.deepEqual(pod.addrs, ["10.88.1.2/24"]);
    const routes = JSON.parse(nsExec(r.ns, "ip", "-j", "route", "show")) as { dst: string; gateway?: string }[];
    assert.ok(routes.some((x) => x.dst === "default" && x.gateway === "10.88.1.1"), "default route via IPAM's gateway");
    assert.ok(routes.some((x) => x.dst === "10.99.0.0/16" && x.gateway === "10.88.1.254"));
    assert.deepEqual(reservedIps(r.dataDir, r.name), ["10.88.1.2"]);

    const other = createNetns("cnipod");
    try {
      const busy = r.call("ADD", conf, { containerID: "someone-else", netns: `/run/netns/${other.ns}` });
      expectError(busy, 100, new RegExp(`'${r.v.a}' is not in the host network namespace: it is attached to container ctr\\d+ \\(network ${r.name}\\)`));
    } finally {
      other.destroy();
    }

    const check = r.call("CHECK", { ...conf, prevResult: res });
    assert.equal(check.status, 0, check.stdout);
    assert.equal(check.stdout.trim(), "", "CHECK prints nothing on success");

    const del = r.call("DEL", { ...conf, prevResult: res });
    assert.equal(del.status, 0, del.stdout);
    assert.equal(del.stdout.trim(), "");
    const home = onHost(r.v.a);
    assert.ok(home, "back on the host");
    assert.equal(home.up, true, "up again, as it was before ADD");
    assert.deepEqual(home.addrs, [], "the pod's address did not come along");
    assert.equal(inPod(r.ns, r.v.a), undefined);
    assert.deepEqual(reservedIps(r.dataDir, r.name), [], "IPAM released the address");
    assert.deepEqual(readdirSync(r.stateDir), [], "state removed");

    const again = r.call("DEL", conf);
    assert.equal(again.status, 0, `a repeated DEL succeeds: ${again.stdout}`);
    const noDevice = r.call("DEL", { ...conf, deviceID: undefined });
    assert.equal(noDevice.status, 0, `DEL without deviceID nor state succeeds: ${noDevice.stdout}`);
    r.destroy();
  });

  test("CHECK really checks: prevResult required, netdev down, address gone, MAC, netdev elsewhere", () => {
    const r = rig();
    const conf = r.conf();
    const add = r.call("ADD", conf);
    assert.equal(add.status, 0, add.stdout);
    const prevResult = add.json!;
    expectError(r.call("CHECK", conf), 7, /prevResult/);
    nsExec(r.ns, "ip", "link", "set", r.v.a, "down");
    expectError(r.call("CHECK", { ...conf, prevResult }), 104, /down/);
    nsExec(r.ns, "ip", "link", "set", r.v.a, "up");
    assert.equal(r.call("CHECK", { ...conf, prevResult }).status, 0);
    const addr = (prevResult["ips"] as { address: string }[])[0]!.address;
    nsExec(r.ns, "ip", "addr", "del", addr, "dev", r.v.a);
    expectError(r.call("CHECK", { ...conf, prevResult }), 104, new RegExp(`address ${addr.replace(/\./g, "\\.")} is missing`));
    nsExec(r.ns, "ip", "addr", "add", addr, "dev", r.v.a);
    const wrongMac = { ...prevResult, interfaces: [{ name: r.v.a, mac: "02:00:00:00:00:01", sandbox: r.netns }] };
    expectError(r.call("CHECK", { ...conf, prevResult: wrongMac }), 104, /MAC/);
    const otherNs = { ...prevResult, interfaces: [{ name: r.v.a, sandbox: "/run/netns/elsewhere" }] };
    expectError(r.call("CHECK", { ...conf, prevResult: otherNs }), 104, /prevResult lists no interface/);
    assert.equal(r.call("DEL", conf).status, 0);
    expectError(r.call("CHECK", { ...conf, prevResult }), 104, /host namespace/);
    expectError(r.call("CHECK", { ...conf, cniVersion: "0.3.1", prevResult: { ...prevResult, cniVersion: "0.3.1" } }), 1, /does not allow CHECK/, "0.3.1");
    r.destroy();
  });

  test("results in each version: ips[].version up to 0.4.0, interface mtu from 1.1.0; chained after prevResult", () => {
    const r = rig();
    for (const version of ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
      const conf = r.conf({}, version);
      const add = r.call("ADD", conf);
      assert.equal(add.status, 0, `${version}: ${add.stdout}`);
      const res = add.json!;
      assert.equal(res["cniVersion"], version);
      const ipv = (res["ips"] as Record<string, unknown>[])[0]!;
      if (version < "1.0.0") assert.equal(ipv["version"], "4", `${version} has ips[].version`);
      else assert.equal("version" in ipv, false, `${version} has no ips[].version`);
      const itf = (res["interfaces"] as Record<string, unknown>[])[0]!;
      assert.equal(itf["mtu"], version === "1.1.0" ? 1500 : undefined, `${version}: interface mtu`);
      if (version >= "0.4.0") assert.equal(r.call("CHECK", { ...conf, prevResult: res }).status, 0, `${version} CHECK`);
      assert.equal(r.call("DEL", { ...conf, prevResult: res }).status, 0, `${version} DEL`);
    }
    // Chained: a plugin before us made eth0 with an address; ours is appended, indexes shifted.
    const prevResult = {
      cniVersion: "0.4.0",
      interfaces: [{ name: "eth0", mac: "02:11:22:33:44:55", sandbox: r.netns }],
      ips: [{ version: "4", address: "10.200.0.5/16", gateway: "10.200.0.1", interface: 0 }],
      routes: [{ dst: "0.0.0.0/0" }],
      dns: { nameservers: ["10.200.0.10"] },
    };
    const conf = r.conf({ prevResult }, "0.4.0");
    const add = r.call("ADD", conf);
    assert.equal(add.status, 0, add.stdout);
    const res = add.json!;
    assert.deepEqual((res["interfaces"] as { name: string }[]).map((i) => i.name), ["eth0", r.v.a]);
    const ips = res["ips"] as { address: string; interface: number; version: string }[];
    assert.deepEqual(ips.map((i) => [i.address, i.interface, i.version]), [["10.200.0.5/16", 0, "4"], [ips[1]!.address, 1, "4"]]);
    assert.deepEqual(res["dns"], { nameservers: ["10.200.0.10"] }, "prevResult's DNS kept");
    assert.equal(r.call("CHECK", { ...conf, prevResult: res }).status, 0, "CHECK finds our interface at index 1");
    expectError(r.call("ADD", { ...conf, prevResult: { ips: [{ address: "nonsense" }] } }), 6, /prevResult/);
    assert.equal(r.call("DEL", conf).status, 0);
    r.destroy();
  });

  test("DEL after the namespace is gone (the veth died with it), without CNI_NETNS, and without state", () => {
    const r = rig();
    const conf = r.conf();
    assert.equal(r.call("ADD", conf).status, 0);
    assert.equal(reservedIps(r.dataDir, r.name).length, 1);
    ip("netns", "del", r.ns); // takes the veth along (virtual netdevs are not refunded)
    const del = r.call("DEL", conf);
    assert.equal(del.status, 0, `DEL succeeds: ${del.stdout}`);
    assert.deepEqual(reservedIps(r.dataDir, r.name), [], "IPAM released");
    assert.deepEqual(readdirSync(r.stateDir), []);
    assert.equal(r.call("DEL", conf).status, 0, "and again");
    r.destroy();

    const r2 = rig();
    const conf2 = r2.conf();
    assert.equal(r2.call("ADD", conf2).status, 0);
    const del2 = r2.call("DEL", conf2, { netns: undefined, env: { CNI_NETNS: undefined } });
    assert.equal(del2.status, 0, del2.stdout);
    assert.ok(onHost(r2.v.a), "the state file's namespace was used");
    assert.deepEqual(reservedIps(r2.dataDir, r2.name), []);
    // The state folder lost: DEL cannot tell the netdev is its own, so it does not touch it (a physical
    // netdev comes home when the namespace is destroyed); IPAM's lease, keyed by container id, is released.
    assert.equal(r2.call("ADD", conf2).status, 0);
    rmSync(r2.stateDir, { recursive: true, force: true });
    assert.equal(r2.call("DEL", conf2).status, 0);
    assert.ok(inPod(r2.ns, r2.v.a), "not touched without state");
    assert.deepEqual(reservedIps(r2.dataDir, r2.name), []);
    r2.destroy();
  });

  test("DEL detaches the XDP program unless skipUnloadBpf; the program follows the netdev into the pod", () => {
    const r = rig();
    const rd = loadXskRedirect();
    const link = XdpLink.attach(rd.prog, r.v.a);
    try {
      const progId = queryXdp(r.v.a).attachments[0]!.progId;
      const keep = r.conf({ skipUnloadBpf: true });
      assert.equal(r.call("ADD", keep).status, 0);
      assert.match(nsExec(r.ns, "ip", "link", "show", r.v.a), new RegExp(`prog/xdp id ${progId}`), "attached inside the pod");
      assert.equal(r.call("DEL", keep).status, 0);
      assert.equal(queryXdp(r.v.a).attachments[0]?.progId, progId, "skipUnloadBpf: still attached");
      const conf = r.conf();
      assert.equal(r.call("ADD", conf).status, 0);
      assert.equal(r.call("DEL", conf).status, 0);
      assert.deepEqual(queryXdp(r.v.a).attachments, [], "detached");
      assert.equal(link.info().ifindex, 0, "the link holder sees its link detached");
    } finally {
      link.close();
      rd.close();
      r.destroy();
    }
  });

  test("ethtoolCmds: ntuple on, -device- and -ip- replaced, filters cleared at DEL; a failing command undoes the ADD", () => {
    const r = rig();
    const log = join(tmp, `ethtool${seq}.log`);
    const fake = join(tmp, `ethtool${seq}`);
    writeFileSync(fake, `#!/bin/sh\necho "$*" >> ${log}\ncase "$*" in *fail*) echo "cannot" >&2; exit 1;; esac\nexit 0\n`);
    chmodSync(fake, 0o755);
    const env = { XDPLANE_ETHTOOL: fake };
    const conf = r.conf({ mode: "primary", ethtoolCmds: ["-N -device- flow-type udp4 dst-ip -ip- action 3", "-X -device- equal 3 start 0"] });
    const add = r.call("ADD", conf, { env });
    assert.equal(add.status, 0, add.stdout);
    const addr = ((add.json!["ips"] as { address: string }[])[0]!.address).split("/")[0]!;
    assert.equal(r.call("DEL", conf, { env }).status, 0);
    assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), [
      `--features ${r.v.a} ntuple on`,
      `-N ${r.v.a} flow-type udp4 dst-ip ${addr} action 3`,
      `-X ${r.v.a} equal 3 start 0`,
      `-X ${r.v.a} default`,
      `--features ${r.v.a} ntuple off`,
    ]);
    rmSync(log);
    const bad = r.conf({ ethtoolCmds: ["-N -device- fail"] });
    const failed = r.call("ADD", bad, { env });
    expectError(failed, 103, /ethtool -N .* fail/);
    assert.ok(onHost(r.v.a), "the netdev stayed on the host");
    assert.deepEqual(reservedIps(r.dataDir, r.name), [], "IPAM released after the failed ADD");
    assert.deepEqual(readdirSync(r.stateDir), [], "no state left");
    assert.match(readFileSync(log, "utf8"), /-X .* default/, "filters cleared on the way out");
    // cdq mode: no ethtool (as upstream: filters are a primary-mode thing).
    rmSync(log);
    const cdq = r.conf({ mode: "cdq", ethtoolCmds: ["-N -device- fail"] });
    assert.equal(r.call("ADD", cdq, { env }).status, 0);
    assert.equal(r.call("DEL", cdq, { env }).status, 0);
    assert.equal(existsSync(log), false, "ethtool not run in cdq mode");
    r.destroy();
  });

  test("a failed move undoes IPAM: the pod already has a netdev of that name (code 102)", () => {
    const r = rig();
    nsExec(r.ns, "ip", "link", "add", r.v.a, "type", "veth", "peer", "name", `${r.v.a.slice(0, 12)}-p`);
    const add = r.call("ADD", r.conf());
    expectError(add, 102, /already has a netdev named/);
    assert.ok(onHost(r.v.a));
    assert.deepEqual(reservedIps(r.dataDir, r.name), []);
    assert.deepEqual(readdirSync(r.stateDir), []);
    r.destroy();
  });

  test("logFile: lines in the log folder", () => {
    const r = rig();
    const logDir = join(tmp, `logs${seq}`);
    const conf = r.conf({ logFile: "afxdp-cni.log", logLevel: "debug" });
    assert.equal(r.call("ADD", conf, { env: { XDPLANE_CNI_LOG_DIR: logDir } }).status, 0);
    assert.equal(r.call("DEL", conf, { env: { XDPLANE_CNI_LOG_DIR: logDir } }).status, 0);
    const text = readFileSync(join(logDir, "afxdp-cni.log"), "utf8");
    assert.match(text, new RegExp(`moved into /run/netns/${r.ns}`));
    assert.match(text, /moved home/);
    r.destroy();
  });
});

describe("afxdp CNI: GC, STATUS, VERSION (1.1.0)", { skip }, () => {
  test("GC tears down the attachments missing from cni.dev/valid-attachments, and only those", () => {
    const a = rig("10.97.1.0/24");
    const b = rig("10.97.1.0/24");
    // One network, two containers: the same name, IPAM folder and state folder.
    const conf = (dev: string) => ({ cniVersion: "1.1.0", name: "gcnet", type: "afxdp", deviceID: dev, ipam: hostLocal(a.dataDir, "10.97.1.0/24") });
    const env = { XDPLANE_CNI_STATE_DIR: a.stateDir };
    const addA = runCniProcess({ command: "ADD", conf: conf(a.v.a), containerID: "ctr-a", netns: a.netns, ifname: "net1", env });
    const addB = runCniProcess({ command: "ADD", conf: conf(b.v.a), containerID: "ctr-b", netns: b.netns, ifname: "net1", env });
    assert.equal(addA.status, 0, addA.stdout);
    assert.equal(addB.status, 0, `a 1.1.0 network with host-local 1.1.1 (which stops at 1.0.0): ${addB.stdout}`);
    assert.equal(addA.json!["cniVersion"], "1.1.0");
    assert.equal(reservedIps(a.dataDir, "gcnet").length, 2);
    const gcConf = { cniVersion: "1.1.0", name: "gcnet", type: "afxdp", ipam: hostLocal(a.dataDir, "10.97.1.0/24"), "cni.dev/valid-attachments": [{ containerID: "ctr-a", ifname: "net1" }] };
    const gc = runCniProcess({ command: "GC", conf: gcConf, env });
    assert.equal(gc.status, 0, gc.stdout);
    assert.ok(inPod(a.ns, a.v.a), "the valid attachment is untouched");
    assert.ok(onHost(b.v.a), "the stale one's netdev is home");
    assert.equal(inPod(b.ns, b.v.a), undefined);
    const left = reservedIps(a.dataDir, "gcnet");
    assert.deepEqual(left, [((addA.json!["ips"] as { address: string }[])[0]!.address).split("/")[0]], "only the valid attachment's address is reserved");
    expectError(runCniProcess({ command: "GC", conf: { ...gcConf, cniVersion: "1.0.0" }, env }), 1, /does not allow GC/);
    assert.equal(runCniProcess({ command: "DEL", conf: conf(a.v.a), containerID: "ctr-a", netns: a.netns, ifname: "net1", env }).status, 0);
    a.destroy();
    b.destroy();
  });

  test("STATUS: ready with host-local; 50 when the IPAM plugin or ethtool is missing; 1 before 1.1.0", () => {
    const env = { XDPLANE_CNI_STATE_DIR: join(tmp, "status-state") };
    const base = { cniVersion: "1.1.0", name: "st", type: "afxdp", ipam: hostLocal(join(tmp, "st-ipam"), "10.96.0.0/24") };
    const ok = runCniProcess({ command: "STATUS", conf: base, env });
    assert.equal(ok.status, 0, ok.stdout);
    assert.equal(ok.stdout.trim(), "");
    expectError(runCniProcess({ command: "STATUS", conf: { ...base, ipam: { type: "nosuch-ipam" } }, env }), 50, /nosuch-ipam/);
    expectError(runCniProcess({ command: "STATUS", conf: { ...base, ethtoolCmds: ["-K -device- gro on"] }, env: { ...env, XDPLANE_ETHTOOL: "/nonexistent/ethtool" } }), 50, /ethtool/);
    expectError(runCniProcess({ command: "STATUS", conf: { ...base, cniVersion: "1.0.0" }, env }), 1, /does not allow STATUS/);
  });

  test("VERSION: supported versions; cniVersion echoes the input's when supported", () => {
    for (const v of ["0.3.1", "1.0.0", "1.1.0"]) {
      const r = runCniProcess({ command: "VERSION", conf: { cniVersion: v } });
      assert.equal(r.status, 0);
      assert.deepEqual(r.json, { cniVersion: v, supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
    }
    assert.equal(runCniProcess({ command: "VERSION", stdin: "" }).json!["cniVersion"], "1.1.0");
    assert.equal(runCniProcess({ command: "VERSION", conf: { cniVersion: "9.9.9" } }).json!["cniVersion"], "1.1.0");
  });
});

describe("afxdp CNI: bad input, each with its CNI error code", { skip }, () => {
  let r: Rig;
  before(() => {
    r = rig();
  });
  after(() => r.destroy());

  const cases: [string, (r: Rig) => CniCall, number, RegExp][] = [
    ["stdin not JSON", (r) => ({ command: "ADD", stdin: "{nope", containerID: "c1", netns: r.netns, ifname: "net1" }), 6, /Cannot decode/],
    ["stdin not an object", (r) => ({ command: "ADD", stdin: "[1]", containerID: "c1", netns: r.netns, ifname: "net1" }), 6, /not a JSON object/],
    ["cniVersion not a string", (r) => ({ command: "ADD", conf: { ...r.conf(), cniVersion: 1 }, containerID: "c1", netns: r.netns, ifname: "net1" }), 6, /cniVersion/],
    ["cniVersion missing (0.1.0)", (r) => ({ command: "ADD", conf: { ...r.conf(), cniVersion: undefined }, containerID: "c1", netns: r.netns, ifname: "net1" }), 1, /incompatible CNI versions/],
    ["cniVersion 0.2.0", (r) => ({ command: "ADD", conf: r.conf({}, "0.2.0"), containerID: "c1", netns: r.netns, ifname: "net1" }), 1, /incompatible/],
    ["cniVersion 2.0.0", (r) => ({ command: "DEL", conf: r.conf({}, "2.0.0"), containerID: "c1", ifname: "net1" }), 1, /incompatible/],
    ["name missing", (r) => ({ command: "ADD", conf: { ...r.conf(), name: undefined }, containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /name/],
    ["deviceID missing at ADD", (r) => ({ command: "ADD", conf: { ...r.conf(), deviceID: undefined }, containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /deviceID: no device specified/],
    ["deviceID with a slash", (r) => ({ command: "ADD", conf: r.conf({ deviceID: "eth0/x" }), containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /deviceID/],
    ["deviceID too long", (r) => ({ command: "ADD", conf: r.conf({ deviceID: "a234567890123456" }), containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /15 characters/],
    ["mode unknown", (r) => ({ command: "ADD", conf: r.conf({ mode: "secondary" }), containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /mode/],
    ["logLevel unknown", (r) => ({ command: "ADD", conf: r.conf({ logLevel: "loud" }), containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /logLevel/],
    ["logFile with a path", (r) => ({ command: "ADD", conf: r.conf({ logFile: "../etc/passwd" }), containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /logFile/],
    ["skipUnloadBpf not a boolean", (r) => ({ command: "DEL", conf: r.conf({ skipUnloadBpf: "yes" }), containerID: "c1", ifname: "net1" }), 7, /skipUnloadBpf/],
    ["ethtoolCmds with a shell character", (r) => ({ command: "ADD", conf: r.conf({ ethtoolCmds: ["-K -device- gro on; reboot"] }), containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /ethtoolCmds\[0\]/],
    ["ethtoolCmds -ip- without ipam", (r) => ({ command: "ADD", conf: r.conf({ ipam: undefined, ethtoolCmds: ["-N -device- dst-ip -ip-"] }), containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /no ipam/],
    ["ipam not an object", (r) => ({ command: "ADD", conf: r.conf({ ipam: "host-local" }), containerID: "c1", netns: r.netns, ifname: "net1" }), 7, /ipam/],
    ["CNI_COMMAND missing", (r) => ({ command: "", conf: r.conf(), env: { CNI_COMMAND: undefined } }), 4, /CNI_COMMAND/],
    ["CNI_COMMAND unknown", (r) => ({ command: "INIT", conf: r.conf() }), 4, /unknown CNI_COMMAND/],
    ["CNI_NETNS missing at ADD", (r) => ({ command: "ADD", conf: r.conf(), containerID: "c1", ifname: "net1" }), 4, /CNI_NETNS/],
    ["CNI_IFNAME missing at DEL", (r) => ({ command: "DEL", conf: r.conf(), containerID: "c1" }), 4, /CNI_IFNAME/],
    ["CNI_PATH missing", (r) => ({ command: "ADD", conf: r.conf(), containerID: "c1", netns: r.netns, ifname: "net1", env: { CNI_PATH: undefined } }), 4, /CNI_PATH/],
    ["CNI_CONTAINERID missing", (r) => ({ command: "ADD", conf: r.conf(), netns: r.netns, ifname: "net1" }), 3, /missing containerID/],
    ["CNI_CONTAINERID with a slash", (r) => ({ command: "ADD", conf: r.conf(), containerID: "a/b", netns: r.netns, ifname: "net1" }), 4, /containerID/],
    ["CNI_IFNAME too long", (r) => ({ command: "ADD", conf: r.conf(), containerID: "c1", netns: r.netns, ifname: "a234567890123456" }), 4, /CNI_IFNAME/],
    ["CNI_ARGS malformed", (r) => ({ command: "ADD", conf: r.conf(), containerID: "c1", netns: r.netns, ifname: "net1", env: { CNI_ARGS: "K8S_POD_NAME" } }), 4, /CNI_ARGS/],
    ["netns that does not exist", (r) => ({ command: "ADD", conf: r.conf(), containerID: "c1", netns: "/run/netns/xdplane-nosuch", ifname: "net1" }), 3, /network namespace/],
    ["device not on the host", (r) => ({ command: "ADD", conf: r.conf({ deviceID: "nosuchdev0" }), containerID: "c1", netns: r.netns, ifname: "net1" }), 100, /nosuchdev0/],
    ["IPAM plugin not in CNI_PATH", (r) => ({ command: "ADD", conf: r.conf({ ipam: { type: "nosuch-ipam" } }), containerID: "c1", netns: r.netns, ifname: "net1" }), 101, /not found in CNI_PATH/],
    ["CHECK of a 0.3.1 config", (r) => ({ command: "CHECK", conf: r.conf({ prevResult: {} }, "0.3.1"), containerID: "c1", netns: r.netns, ifname: "net1" }), 1, /CHECK/],
  ];
  for (const [what, make, code, msg] of cases) {
    test(`${what}: code ${code}`, () => {
      const c = make(r);
      const out = runCniProcess({ ...c, env: { XDPLANE_CNI_STATE_DIR: r.stateDir, ...c.env } });
      expectError(out, code, msg);
      assert.ok(onHost(r.v.a), "the netdev did not move");
    });
  }

  test("an IPAM error keeps the IPAM plugin's code and message; the netdev stays home", () => {
    const out = r.call("ADD", r.conf({ ipam: { type: "host-local", dataDir: r.dataDir } }));
    assert.equal(out.status, 1);
    const code = out.json!["code"] as number;
    assert.ok(code > 0 && code !== 101, `host-local's own code (${code})`);
    assert.match(out.json!["msg"] as string, /^IPAM plugin host-local ADD: /);
    assert.ok(onHost(r.v.a));
    assert.deepEqual(readdirSync(r.stateDir), []);
  });

  test("errors name the config's cniVersion", () => {
    expectError(r.call("ADD", r.conf({ deviceID: "nosuchdev0" }, "0.4.0")), 100, /nosuchdev0/, "0.4.0");
  });
});

describe("afxdp CNI: DEL undoes only its own ADD; CNI_NETNS checked before IPAM", { skip }, () => {
  test("a DEL for a container that never held the netdev (no state) leaves the device plugin's XDP program, the netdev and its up state alone", () => {
    const r = rig();
    const rd = loadXskRedirect();
    const link = XdpLink.attach(rd.prog, r.v.a); // as the device plugin does at Allocate, before the new pod's ADD
    try {
      const progId = queryXdp(r.v.a).attachments[0]!.progId;
      const gonePod = createNetns("cnipod");
      try {
        // A retried DEL of the previous pod: another container id, no state file, the same deviceID.
        const del = r.call("DEL", r.conf(), { containerID: "previous-pod", netns: `/run/netns/${gonePod.ns}` });
        assert.equal(del.status, 0, `DEL without state succeeds: ${del.stdout}`);
      } finally {
        gonePod.destroy();
      }
      const del2 = r.call("DEL", r.conf(), { containerID: "previous-pod", netns: undefined, env: { CNI_NETNS: undefined } });
      assert.equal(del2.status, 0, `DEL without state nor CNI_NETNS succeeds: ${del2.stdout}`);
      assert.deepEqual(queryXdp(r.v.a).attachments.map((a) => a.progId), [progId], "the device plugin's program is still attached");
      assert.notEqual(link.info().ifindex, 0, "its link is not detached");
      assert.equal(onHost(r.v.a)?.up, true, "the netdev was not touched");

      // The current pod's ADD and DEL still work, and its DEL detaches the program its ADD found.
      const conf = r.conf();
      assert.equal(r.call("ADD", conf).status, 0);
      const stale = r.call("DEL", conf, { containerID: "previous-pod" });
      assert.equal(stale.status, 0, stale.stdout);
      assert.ok(inPod(r.ns, r.v.a), "a DEL of another container does not take the current pod's netdev");
      assert.equal(r.call("DEL", conf).status, 0);
      assert.ok(onHost(r.v.a));
      assert.deepEqual(queryXdp(r.v.a).attachments, [], "its own DEL detaches");
    } finally {
      link.close();
      rd.close();
      r.destroy();
    }
  });

  test("a DEL retried after the device went to another pod (state kept by a failed DEL) touches neither the netdev nor the new program", () => {
    const r = rig();
    const rd = loadXskRedirect();
    let link = XdpLink.attach(rd.prog, r.v.a);
    const conf = r.conf();
    try {
      assert.equal(r.call("ADD", conf).status, 0);
      // The first DEL brings the netdev home and detaches, but IPAM DEL fails: the state file stays.
      const failed = r.call("DEL", conf, { path: "/nonexistent" });
      assert.equal(failed.status, 1, failed.stdout);
      assert.ok(onHost(r.v.a), "home");
      assert.deepEqual(queryXdp(r.v.a).attachments, []);
      // The device plugin gives the netdev to the next pod, attaching a fresh program.
      link.close();
      const rd2 = loadXskRedirect();
      link = XdpLink.attach(rd2.prog, r.v.a);
      rd2.close();
      const progId = queryXdp(r.v.a).attachments[0]!.progId;
      const retry = r.call("DEL", conf);
      assert.equal(retry.status, 0, retry.stdout);
      assert.deepEqual(queryXdp(r.v.a).attachments.map((a) => a.progId), [progId], "the next pod's program is still attached");
      assert.deepEqual(reservedIps(r.dataDir, r.name), [], "IPAM released on the retry");
      assert.deepEqual(readdirSync(r.stateDir), []);
    } finally {
      link.close();
      rd.close();
      r.destroy();
    }
  });

  test("DEL after the netdev was renamed inside the pod brings it home under its own name", () => {
    const r = rig();
    const conf = r.conf();
    assert.equal(r.call("ADD", conf).status, 0);
    nsExec(r.ns, "ip", "link", "set", r.v.a, "down");
    nsExec(r.ns, "ip", "link", "set", r.v.a, "name", "renamed0");
    nsExec(r.ns, "ip", "link", "set", "renamed0", "up");
    const del = r.call("DEL", conf);
    assert.equal(del.status, 0, del.stdout);
    assert.equal(inPod(r.ns, "renamed0"), undefined, "not left in the pod");
    const home = onHost(r.v.a);
    assert.ok(home, "home under its own name");
    assert.equal(home.up, true, "up as before ADD");
    assert.deepEqual(reservedIps(r.dataDir, r.name), []);
    assert.deepEqual(readdirSync(r.stateDir), []);

    // Renamed in the pod, then handed back to the host under the pod's name (as the kernel does with a
    // physical netdev when the namespace dies): DEL finds it by MAC and names it back.
    assert.equal(r.call("ADD", conf).status, 0);
    const podName = `rn${seq}x${process.pid % 1000}`;
    nsExec(r.ns, "ip", "link", "set", r.v.a, "down");
    nsExec(r.ns, "ip", "link", "set", r.v.a, "name", podName);
    nsExec(r.ns, "ip", "link", "set", podName, "netns", String(process.pid));
    try {
      assert.equal(onHost(r.v.a), undefined);
      const del2 = r.call("DEL", conf);
      assert.equal(del2.status, 0, del2.stdout);
      assert.equal(onHost(podName), undefined, "the pod's name is gone");
      assert.equal(onHost(r.v.a)?.up, true, "named back and up");
    } finally {
      try { ip("link", "set", podName, "name", r.v.a); } catch { /* named back */ }
    }
    r.destroy();
  });

  test("ADD into the host's own network namespace is refused with code 4; DEL naming it touches nothing", () => {
    const r = rig();
    for (const netns of [`/proc/${process.pid}/ns/net`, "/proc/self/ns/net"]) {
      const add = r.call("ADD", r.conf(), { netns });
      expectError(add, 4, new RegExp(`CNI_NETNS '${netns.replace(/\//g, "\\/")}' is the host's network namespace`));
      assert.equal(onHost(r.v.a)?.up, true, "the netdev stayed");
      assert.deepEqual(reservedIps(r.dataDir, r.name), [], "no IPAM allocation");
      assert.deepEqual(existsSync(r.stateDir) ? readdirSync(r.stateDir) : [], [], "no state");
      assert.equal(r.call("DEL", r.conf(), { netns }).status, 0, "DEL succeeds");
      assert.equal(onHost(r.v.a)?.up, true);
    }
    r.destroy();
  });

  test("a CNI_NETNS that is not a network namespace fails before IPAM with code 4, naming the path", () => {
    const r = rig();
    const file = join(tmp, "not-a-netns");
    writeFileSync(file, "");
    const dir = mkdtempSync(join(tmp, "dir-"));
    for (const netns of [file, dir, "/proc/self/ns/mnt", `/proc/${process.pid}/ns/uts`, "/dev/null"]) {
      const add = r.call("ADD", r.conf(), { netns });
      expectError(add, 4, new RegExp(`CNI_NETNS '${netns.replace(/\//g, "\\/")}' is not a network namespace`));
      assert.ok(onHost(r.v.a), `${netns}: the netdev stayed`);
      assert.deepEqual(reservedIps(r.dataDir, r.name), [], `${netns}: no IPAM allocation`);
      assert.equal(existsSync(join(r.dataDir, r.name)), false, `${netns}: IPAM never ran`);
      assert.deepEqual(existsSync(r.stateDir) ? readdirSync(r.stateDir) : [], [], `${netns}: no state`);
    }
    r.destroy();
  });
});
