/**
 * The jsonc accepts CNDP's pmd names net_af_packet and net_tap and our net_pcap, with their options after
 * the colon; bad options are reported at the `pmd` value. net_af_packet's qid is a fanout member index,
 * not a queue of the netdev.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig, type ParseOptions } from "./index.js";

const OPTS: ParseOptions = { onlineCpus: [0, 1], cpuCheck: "off", netdevQueueCount: (d) => (d === "veth0" ? 1 : undefined), netdevCheck: "error", memoryCheck: "off" };

function cfg(lports: string): string {
  return `{
  "umems": { "umem0": { "bufcnt": 4, "bufsz": 2 } },
  "lports": {
${lports}
  },
  "lcore-groups": { "initial": [0], "group0": [1] },
  "threads": { "main": { "group": "initial" } }
}`;
}

test("net_af_packet, net_tap and net_pcap lports with their options", () => {
  const { config } = parseConfig(cfg(`
    "veth0:0": { "pmd": "net_af_packet", "qid": 0, "umem": "umem0" },
    "veth0:1": { "pmd": "net_af_packet:fanout=lb,tov=5", "qid": 1, "umem": "umem0" },
    "tap7:0": { "pmd": "net_tap:persist=1", "qid": 0, "umem": "umem0" },
    "pcap0:0": { "pmd": "net_pcap:rx=/tmp/in.pcap,tx=/tmp/out.pcap,rate=1000,loop=3", "qid": 0, "umem": "umem0" }`), "fwd.jsonc", OPTS);
  const l = (n: string) => config.lports.get(n)!;
  assert.deepEqual([l("veth0:0").pmd, l("veth0:0").pmdOpts], ["net_af_packet", undefined]);
  assert.deepEqual([l("veth0:1").pmd, l("veth0:1").pmdOpts, l("veth0:1").qid], ["net_af_packet", "fanout=lb,tov=5", 1], "qid 1 on a one-queue netdev: a fanout member");
  assert.deepEqual([l("tap7:0").pmd, l("tap7:0").pmdOpts, l("tap7:0").netdev], ["net_tap", "persist=1", "tap7"], "the TAP's netdev need not exist");
  assert.deepEqual([l("pcap0:0").pmd, l("pcap0:0").pmdOpts], ["net_pcap", "rx=/tmp/in.pcap,tx=/tmp/out.pcap,rate=1000,loop=3"]);
});

test("bad driver options are reported at the pmd value; an af_packet netdev must exist", () => {
  const text = cfg(`    "pcap0:0": { "pmd": "net_pcap:rx=/a,rate=fast", "qid": 0, "umem": "umem0" }`);
  const err = (() => { try { parseConfig(text, "fwd.jsonc", OPTS); } catch (e) { return e; } return null; })();
  assert.ok(err instanceof ConfigError);
  assert.equal(err.errors[0]!.message, "net_pcap option 'rate=fast': expected an integer from 0 to 100000000");
  assert.equal(err.line, 4);
  assert.equal(err.path, 'lports."pcap0:0".pmd');
  assert.throws(() => parseConfig(cfg(`    "nodev0:0": { "pmd": "net_af_packet", "qid": 0, "umem": "umem0" }`), "fwd.jsonc", OPTS),
    /netdev "nodev0" does not exist in this network namespace/);
  assert.throws(() => parseConfig(cfg(`    "veth0:0": { "pmd": "net_tap:color=blue", "qid": 0, "umem": "umem0" }`), "fwd.jsonc", OPTS),
    /net_tap option 'color' is unknown \(known: iface, persist\)/);
});
