/**
 * The netdev check asks the thread's own network namespace (rtnetlink), not sysfs, which shows the
 * namespace it was mounted in: a pod whose sysfs came from the host, or ports opened in another namespace.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createVethPair, canUseNetns } from "../testing/netns.js";
import { withNetns } from "../netlink/netns.js";
import { fwdConfig } from "../testing/fwd-config.js";
import { parseConfig, ConfigError } from "./index.js";
import { sysfsQueueCount } from "./parse.js";

test("netdevs are looked up in this thread's network namespace, whatever sysfs shows", { skip: !canUseNetns() && "needs root (namespaces)" }, () => {
  const v = createVethPair({ queues: 3 });
  try {
    const opts = { cpuCheck: "off", memoryCheck: "off", netdevCheck: "error" } as const;
    assert.equal(sysfsQueueCount(v.a), 3, "on the host: sysfs's count");
    assert.equal(sysfsQueueCount(v.b), undefined, "the peer is not in this namespace");
    withNetns(v.ns, () => {
      // sysfs here is still the host's: it shows v.a, not v.b.
      assert.equal(sysfsQueueCount(v.b), 3, "in the namespace: rtnetlink's count");
      assert.equal(sysfsQueueCount(v.a), undefined);
      const ok = parseConfig(fwdConfig({ ports: [{ netdev: v.b, qid: 2 }] }), "pod.jsonc", opts);
      assert.equal(ok.config.lports.size, 1);
      assert.throws(() => parseConfig(fwdConfig({ ports: [{ netdev: v.a }] }), "pod.jsonc", opts),
        (e: unknown) => e instanceof ConfigError && new RegExp(`netdev "${v.a}" does not exist in this network namespace`).test(e.message));
      assert.throws(() => parseConfig(fwdConfig({ ports: [{ netdev: v.b, qid: 3 }] }), "pod.jsonc", opts),
        (e: unknown) => e instanceof ConfigError && /qid 3 is out of range: netdev "[^"]+" has 3 queues \(0-2\)/.test(e.message));
    });
  } finally {
    v.destroy();
  }
});

test("lports of drivers without a netdev (net_null, net_ring) are not looked up", () => {
  const text = `{
    "umems": { "umem0": { "bufcnt": 16, "bufsz": 2, "rxdesc": 2, "txdesc": 2 } },
    "lports": { "null0:0": { "pmd": "net_null", "qid": 0, "umem": "umem0" }, "ring0:0": { "pmd": "net_ring", "qid": 0, "umem": "umem0" } },
    "lcore-groups": { "initial": [0], "g": [0] },
    "threads": { "main": { "group": "initial" }, "fwd:0": { "group": "g", "lports": ["null0:0", "ring0:0"] } }
  }`;
  const { config } = parseConfig(text, "null.jsonc", { cpuCheck: "off", memoryCheck: "off", netdevCheck: "error", netdevQueueCount: () => undefined });
  assert.equal(config.lports.size, 2);
  assert.throws(() => parseConfig(text.replace('"net_null"', '"net_af_xdp"'), "x.jsonc", { cpuCheck: "off", memoryCheck: "off", netdevCheck: "error", netdevQueueCount: () => undefined }),
    /null\.jsonc|x\.jsonc:3:\d+: lports\."null0:0".*netdev "null0" does not exist in this network namespace/);
});
