import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDpConfig, ConfigError, normaliseMac } from "./dp-config.js";

const minimal = (pool: object) => JSON.stringify({ pools: [{ name: "p1", mode: "primary", drivers: [{ name: "ice" }], ...pool }] });

function fails(text: string, field: string, msg: RegExp): void {
  assert.throws(
    () => parseDpConfig(text, "cfg.json"),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      assert.equal(e.field, field);
      assert.match(e.message, msg);
      assert.ok(e.message.startsWith("cfg.json: "), e.message);
      return true;
    },
  );
}

test("parses the upstream sample with keys in any case and ignores unknown keys", () => {
  const cfg = parseDpConfig(JSON.stringify({
    LogLevel: "debug",
    logFile: "afxdp-dp.log",
    KINDCLUSTER: false,
    somethingNew: 1,
    Pools: [
      {
        Name: "myPool",
        MODE: "primary",
        Drivers: [{ Name: "i40e", Primary: 2, ExcludeDevices: [{ Name: "ens801f0" }], ExcludeAddressed: true }],
        Devices: [{ Pci: "0000:81:00.1" }, { mac: "AA-BB-CC-DD-EE-0F" }],
        Nodes: [{ Hostname: "k8s-node-1.example", Devices: [{ name: "ens3" }] }],
        UdsTimeout: 120,
        uid: 1500,
        BpfMapPinningEnable: true,
        allowvirtualdevices: true,
        LegacyPaths: true,
      },
      { name: "other", mode: "cdq", devices: [{ name: "ens5", secondary: 8 }], udsTimeout: -1 },
      { name: "third", mode: "primary", drivers: [{ name: "veth" }] },
    ],
  }));
  assert.equal(cfg.logLevel, "debug");
  assert.equal(cfg.logFile, "afxdp-dp.log");
  assert.equal(cfg.pools.length, 3);
  const p = cfg.pools[0]!;
  assert.equal(p.name, "myPool");
  assert.equal(p.mode, "primary");
  assert.deepEqual(p.drivers[0], {
    name: "i40e", primary: 2, secondary: 0, excludeAddressed: true,
    excludeDevices: [{ name: "ens801f0", pci: "", mac: "", secondary: 0 }],
  });
  assert.equal(p.devices[0]!.pci, "0000:81:00.1");
  assert.equal(p.devices[1]!.mac, "aa:bb:cc:dd:ee:0f");
  assert.equal(p.nodes[0]!.hostname, "k8s-node-1.example");
  assert.equal(p.udsTimeoutSeconds, 120);
  assert.equal(p.uid, 1500);
  assert.equal(p.bpfMapPinningEnable, true);
  assert.equal(p.allowVirtualDevices, true);
  assert.equal(p.legacyPaths, true);
  assert.equal(cfg.pools[1]!.udsTimeoutSeconds, 0, "-1 means never");
  assert.equal(cfg.pools[1]!.devices[0]!.secondary, 8);
  assert.equal(cfg.pools[2]!.udsTimeoutSeconds, 30, "0/absent means the default 30");
  assert.equal(cfg.pools[2]!.allowVirtualDevices, false);
  assert.equal(cfg.pools[2]!.legacyPaths, false);
});

test("an empty config has no pools", () => {
  assert.deepEqual(parseDpConfig("{}").pools, []);
});

test("errors name the field", () => {
  fails("{", "", /not valid JSON/);
  fails("[]", "", /must be an object/);
  fails(JSON.stringify({ logLevel: "verbose" }), "logLevel", /debug, info, warning, error/);
  fails(JSON.stringify({ logFile: "../x.log" }), "logFile", /valid \.log or \.txt/);
  fails(JSON.stringify({ pools: [null] }), "pools[0]", /cannot be null/);
  fails(JSON.stringify({ pools: {} }), "pools", /must be an array/);
  fails(minimal({ name: "" }), "pools[0].name", /must have a name/);
  fails(minimal({ name: "a-b" }), "pools[0].name", /letters and numbers/);
  fails(minimal({ name: "a".repeat(21) }), "pools[0].name", /between 1 and 20/);
  fails(minimal({ mode: undefined }), "pools[0].mode", /must have a mode/);
  fails(minimal({ mode: "secondary" }), "pools[0].mode", /primary, cdq/);
  fails(minimal({ drivers: [] }), "pools[0]", /devices, drivers or nodes/);
  fails(minimal({ udsTimeout: 29 }), "pools[0].udsTimeout", /-1, 0, or between 30 and 300/);
  fails(minimal({ udsTimeout: 301 }), "pools[0].udsTimeout", /between 30 and 300/);
  fails(minimal({ udsTimeout: "30" }), "pools[0].udsTimeout", /must be an integer/);
  fails(minimal({ udsTimeout: 30.5 }), "pools[0].udsTimeout", /must be an integer/);
  fails(minimal({ uid: 999 }), "pools[0].uid", /1000 and 256000/);
  fails(minimal({ uid: 256001 }), "pools[0].uid", /1000 and 256000/);
  fails(minimal({ udsFuzz: "yes" }), "pools[0].udsFuzz", /true or false/);
  fails(minimal({ allowVirtualDevices: 1 }), "pools[0].allowVirtualDevices", /true or false/);
  fails(minimal({ drivers: [{ name: "" }] }), "pools[0].drivers[0].name", /must have a name/);
  fails(minimal({ drivers: [{ name: "i 40" }] }), "pools[0].drivers[0].name", /letters, numbers, hyphen/);
  fails(minimal({ drivers: [{ name: "x".repeat(51) }] }), "pools[0].drivers[0].name", /between 1 and 50/);
  fails(minimal({ drivers: [{ name: "ice", primary: 11 }] }), "pools[0].drivers[0].primary", /between 1 and 10/);
  fails(minimal({ drivers: [{ name: "ice", primary: -1 }] }), "pools[0].drivers[0].primary", /between 1 and 10/);
  fails(minimal({ drivers: [{ name: "ice", secondary: 65 }] }), "pools[0].drivers[0].secondary", /between 1 and 64/);
  fails(minimal({ drivers: [{ name: "ice", excludeDevices: [{}] }] }), "pools[0].drivers[0].excludeDevices[0]", /name, pci, or mac/);
  fails(minimal({ devices: [{ name: "a", pci: "0000:00:01.0" }] }), "pools[0].devices[0]", /Only one form/);
  fails(minimal({ devices: [{ name: "a/b" }] }), "pools[0].devices[0].name", /letters, numbers/);
  fails(minimal({ devices: [{ pci: "00:01.0" }] }), "pools[0].devices[0].pci", /BDF/);
  fails(minimal({ devices: [{ mac: "aa:bb:cc" }] }), "pools[0].devices[0].mac", /valid MAC/);
  fails(minimal({ devices: [{ name: "a", secondary: 0.5 }] }), "pools[0].devices[0].secondary", /integer/);
  fails(minimal({ nodes: [{ devices: [{ name: "a" }] }] }), "pools[0].nodes[0].hostname", /must have a hostname/);
  fails(minimal({ nodes: [{ hostname: "a_b", devices: [{ name: "a" }] }] }), "pools[0].nodes[0].hostname", /valid Linux hostname/);
  fails(minimal({ nodes: [{ hostname: "n".repeat(64), devices: [{ name: "a" }] }] }), "pools[0].nodes[0].hostname", /between 1 and 63/);
  fails(minimal({ nodes: [{ hostname: "n1" }] }), "pools[0].nodes[0]", /devices or drivers/);
  fails(JSON.stringify({ pools: [
    { name: "a", mode: "primary", devices: [{ name: "x" }] },
    { name: "A", mode: "primary", devices: [{ name: "y" }] },
  ] }), "pools[1].name", /already the name of pools\[0\]/);
});

test("limits at their edges are accepted", () => {
  const cfg = parseDpConfig(minimal({
    name: "a".repeat(20), udsTimeout: 300, uid: 256000,
    drivers: [{ name: "x".repeat(50), primary: 10, secondary: 64 }],
    devices: [{ mac: "aabb.ccdd.eeff", secondary: 1 }],
  }));
  assert.equal(cfg.pools[0]!.devices[0]!.mac, "aa:bb:cc:dd:ee:ff");
  assert.equal(parseDpConfig(minimal({ udsTimeout: 30, uid: 1000 })).pools[0]!.udsTimeoutSeconds, 30);
});

test("normaliseMac", () => {
  assert.equal(normaliseMac("AA:BB:CC:00:11:22"), "aa:bb:cc:00:11:22");
  assert.equal(normaliseMac(""), "");
});

test("a pool's NAPI knobs (ours): both or neither, in range", () => {
  const pool = (extra: object) => JSON.stringify({ pools: [{ name: "p", mode: "primary", devices: [{ name: "eth0" }], ...extra }] });
  const ok = parseDpConfig(pool({ napiDeferHardIrqs: 2, groFlushTimeout: 200000 }), "c.json").pools[0]!;
  assert.deepEqual([ok.napiDeferHardIrqs, ok.groFlushTimeout], [2, 200000]);
  const none = parseDpConfig(pool({}), "c.json").pools[0]!;
  assert.deepEqual([none.napiDeferHardIrqs, none.groFlushTimeout], [0, 0]);
  assert.throws(() => parseDpConfig(pool({ napiDeferHardIrqs: 2 }), "c.json"), /pools\[0\]\.groFlushTimeout: napiDeferHardIrqs and groFlushTimeout work together/);
  assert.throws(() => parseDpConfig(pool({ groFlushTimeout: 1000 }), "c.json"), /pools\[0\]\.napiDeferHardIrqs: napiDeferHardIrqs and groFlushTimeout work together/);
  assert.throws(() => parseDpConfig(pool({ napiDeferHardIrqs: -1, groFlushTimeout: 1 }), "c.json"), /pools\[0\]\.napiDeferHardIrqs: -1: must be between 0 and 2147483647/);
  assert.throws(() => parseDpConfig(pool({ napiDeferHardIrqs: 1, groFlushTimeout: 1.5 }), "c.json"), /pools\[0\]\.groFlushTimeout: must be an integer/);
});
