import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listNetdevs, selectPools, type LinkInfo, type Netdev } from "./discovery.js";
import { parseDpConfig } from "./dp-config.js";
import { createVethPair, ip, canUseNetns } from "../testing/netns.js";

interface FakeDev {
  name: string;
  ifindex: number;
  mac: string;
  pci?: string; // physical if set
  driver?: string;
  oper?: string;
}

/** A fake /sys tree: class/net/<if> folders, device links into devices/pci0000:00/<pci>, driver links. */
function fakeSys(devs: FakeDev[]): { root: string; classNet: string } {
  const root = mkdtempSync(join(tmpdir(), "xdpsys-"));
  const classNet = join(root, "class", "net");
  mkdirSync(classNet, { recursive: true });
  mkdirSync(join(root, "bus", "pci", "drivers"), { recursive: true });
  for (const d of devs) {
    const dir = join(classNet, d.name);
    mkdirSync(dir);
    writeFileSync(join(dir, "ifindex"), `${d.ifindex}\n`);
    writeFileSync(join(dir, "address"), `${d.mac}\n`);
    writeFileSync(join(dir, "operstate"), `${d.oper ?? "up"}\n`);
    if (d.pci) {
      const pdir = join(root, "devices", "pci0000:00", d.pci);
      mkdirSync(pdir, { recursive: true });
      if (d.name === "ens1f1") writeFileSync(join(pdir, "numa_node"), "1\n");
      if (d.driver) {
        const drvDir = join(root, "bus", "pci", "drivers", d.driver);
        mkdirSync(drvDir, { recursive: true });
        try { symlinkSync(drvDir, join(pdir, "driver")); } catch { /* shared */ }
      }
      symlinkSync(pdir, join(dir, "device"));
    }
  }
  return { root, classNet };
}

const devs: FakeDev[] = [
  { name: "lo", ifindex: 1, mac: "00:00:00:00:00:00", oper: "unknown" },
  { name: "eth0", ifindex: 2, mac: "52:54:00:00:00:01", pci: "0000:00:03.0", driver: "virtio_net" },
  { name: "ens1f0", ifindex: 3, mac: "AA:00:00:00:00:10", pci: "0000:81:00.0", driver: "ice" },
  { name: "ens1f1", ifindex: 4, mac: "aa:00:00:00:00:11", pci: "0000:81:00.1", driver: "ice" },
  { name: "ens2f0", ifindex: 5, mac: "aa:00:00:00:00:20", pci: "0000:82:00.0", driver: "ice" },
  { name: "ens3", ifindex: 6, mac: "aa:00:00:00:00:30", pci: "0000:83:00.0", driver: "i40e" },
  { name: "ens4", ifindex: 7, mac: "aa:00:00:00:00:40", pci: "0000:84:00.0", driver: "i40e", oper: "down" },
  { name: "veth1", ifindex: 8, mac: "aa:00:00:00:00:50" },
  { name: "docker0", ifindex: 9, mac: "aa:00:00:00:00:60" },
];
const info = (): Map<string, LinkInfo> => new Map([
  ["veth1", { kind: "veth", addresses: [] }],
  ["docker0", { kind: "bridge", addresses: ["172.17.0.1"] }],
  ["ens1f1", { kind: "", addresses: ["10.0.0.5"] }],
  ["lo", { kind: "", addresses: ["127.0.0.1"] }],
]);

function withFake<T>(fn: (netdevs: Netdev[]) => T): T {
  const { root, classNet } = fakeSys(devs);
  try {
    return fn(listNetdevs({ sysClassNet: classNet, linkInfo: info }));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const names = (sel: ReturnType<typeof selectPools>, i = 0) => sel.pools[i]?.devices.map((d) => d.name) ?? [];

test("listNetdevs reads driver, pci, mac, virtual and addresses from a sysfs tree", () => {
  withFake((nd) => {
    assert.deepEqual(nd.map((d) => d.name), ["docker0", "ens1f0", "ens1f1", "ens2f0", "ens3", "ens4", "eth0", "lo", "veth1"]);
    const by = new Map(nd.map((d) => [d.name, d]));
    assert.deepEqual(by.get("ens1f1"), {
      name: "ens1f1", ifindex: 4, mac: "aa:00:00:00:00:11", driver: "ice", pci: "0000:81:00.1",
      virtual: false, addresses: ["10.0.0.5"], up: true, numaNode: 1,
    });
    assert.equal(by.get("ens1f0")!.mac, "aa:00:00:00:00:10");
    assert.equal(by.get("ens4")!.up, false);
    assert.equal(by.get("veth1")!.virtual, true);
    assert.equal(by.get("veth1")!.driver, "veth");
    assert.equal(by.get("veth1")!.pci, "");
    assert.equal(by.get("eth0")!.driver, "virtio_net");
  });
});

test("drivers with primary counts, excludeDevices (name, pci, mac) and excludeAddressed", () => {
  withFake((nd) => {
    const cfg = (drv: object) => parseDpConfig(JSON.stringify({ pools: [{ name: "p", mode: "primary", drivers: [{ name: "ice", ...drv }] }] }));
    assert.deepEqual(names(selectPools(cfg({}), nd, "n1")), ["ens1f0", "ens1f1", "ens2f0"]);
    assert.deepEqual(names(selectPools(cfg({ primary: 2 }), nd, "n1")), ["ens1f0", "ens1f1"]);
    assert.deepEqual(names(selectPools(cfg({ excludeAddressed: true }), nd, "n1")), ["ens1f0", "ens2f0"]);
    assert.deepEqual(names(selectPools(cfg({ excludeDevices: [{ name: "ens1f0" }] }), nd, "n1")), ["ens1f1", "ens2f0"]);
    assert.deepEqual(names(selectPools(cfg({ excludeDevices: [{ pci: "0000:81:00.1" }] }), nd, "n1")), ["ens1f0", "ens2f0"]);
    assert.deepEqual(names(selectPools(cfg({ excludeDevices: [{ mac: "AA:00:00:00:00:20" }] }), nd, "n1")), ["ens1f0", "ens1f1"]);
    // primary counts admitted devices only: the excluded one does not use up the count
    assert.deepEqual(names(selectPools(cfg({ primary: 2, excludeDevices: [{ name: "ens1f0" }] }), nd, "n1")), ["ens1f1", "ens2f0"]);
  });
});

test("devices by name, pci and mac; prohibited and virtual netdevs; one pool per netdev", () => {
  withFake((nd) => {
    const sel = selectPools(parseDpConfig(JSON.stringify({ pools: [
      { name: "a", mode: "primary", devices: [{ pci: "0000:83:00.0" }, { mac: "aa:00:00:00:00:20" }, { name: "eth0" }, { name: "veth1" }, { name: "nosuch" }] },
      { name: "b", mode: "primary", devices: [{ name: "ens3" }], drivers: [{ name: "ice" }] },
      { name: "c", mode: "primary", devices: [{ name: "veth1" }, { name: "docker0" }], allowVirtualDevices: true },
      { name: "d", mode: "primary", devices: [{ name: "ens3" }] },
      { name: "e", mode: "cdq", drivers: [{ name: "ice" }] },
    ] })), nd, "n1");
    assert.deepEqual(sel.pools.map((p) => p.pool.name), ["a", "b", "c"]);
    assert.deepEqual(names(sel, 0), ["ens3", "ens2f0"]);
    assert.deepEqual(names(sel, 1), ["ens1f0", "ens1f1"], "ens3 and ens2f0 already belong to pool a");
    assert.deepEqual(names(sel, 2), ["veth1"], "docker0 is prohibited even when virtual devices are allowed");
    const notes = sel.notes.join("\n");
    assert.match(notes, /pool a: eth0 has a prohibited name/);
    assert.match(notes, /pool a: veth1 is virtual \(set allowVirtualDevices/);
    assert.match(notes, /pool a: no netdev with name nosuch/);
    assert.match(notes, /pool b: ens3 is already in pool a/);
    assert.match(notes, /pool d: no devices on this node; pool not served/);
    assert.match(notes, /pool e: mode cdq/);
  });
});

test("node overrides replace the pool's devices and drivers on that node; kindCluster admits virtual", () => {
  withFake((nd) => {
    const cfg = parseDpConfig(JSON.stringify({ pools: [{
      name: "p", mode: "primary", drivers: [{ name: "ice" }],
      nodes: [{ hostname: "n2", devices: [{ name: "ens4" }], drivers: [{ name: "i40e", primary: 1 }] }],
    }] }));
    assert.deepEqual(names(selectPools(cfg, nd, "n1")), ["ens1f0", "ens1f1", "ens2f0"]);
    assert.deepEqual(names(selectPools(cfg, nd, "n2")), ["ens4", "ens3"]);
    const kind = parseDpConfig(JSON.stringify({ kindCluster: true, pools: [{ name: "p", mode: "primary", drivers: [{ name: "veth" }] }] }));
    assert.deepEqual(names(selectPools(kind, nd, "n1")), ["veth1"]);
  });
});

test("a real veth pair is found as virtual with driver veth and its addresses", { skip: !canUseNetns() && "needs root" }, () => {
  const v = createVethPair({ prefix: "dsc" });
  try {
    ip("addr", "add", "192.0.2.7/24", "dev", v.a);
    const d = listNetdevs().find((x) => x.name === v.a);
    assert.ok(d, `${v.a} listed`);
    assert.equal(d.virtual, true);
    assert.equal(d.driver, "veth");
    assert.equal(d.mac, v.macA);
    assert.deepEqual(d.addresses, ["192.0.2.7"]);
    const sel = selectPools(parseDpConfig(JSON.stringify({ pools: [
      { name: "v", mode: "primary", devices: [{ mac: v.macA }], allowVirtualDevices: true },
    ] })), listNetdevs(), "n1");
    assert.deepEqual(names(sel), [v.a]);
  } finally {
    v.destroy();
  }
});
