/**
 * The `multi_buffer` lport key (AF_XDP multi-buffer, jumbo frames): read on lports and lport-groups,
 * false by default, only for net_af_xdp, the same on every lport of a shared_umem UMEM; errors name the
 * file, line and column of the value.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "./index.js";

function cfg(o: { lports: string; groups?: string; shared?: boolean }): string {
  return `{
  "umems": { "u": { "bufcnt": 16, "bufsz": 2, "rxdesc": 2, "txdesc": 2${o.shared ? `, "shared_umem": true` : ""} } },
  "lports": {${o.lports}},
  "lcore-groups": { "g": [0] },
  "threads": { "t": { "group": "g" } }${o.groups ? `,\n  "lport-groups": {${o.groups}}` : ""}
}`;
}

const opts = { cpuCheck: "off", memoryCheck: "off" } as const;

function errorOf(text: string): string {
  try {
    parseConfig(text, "mb.jsonc", opts);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("expected a ConfigError");
}

describe("config: multi_buffer", () => {
  test("read on lports (default false) and handed down by lport-groups", () => {
    const { config } = parseConfig(cfg({
      lports: `
    "eth0:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "u", "multi_buffer": true },
    "eth1:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "u" }`,
      groups: ` "grp": { "netdevs": ["eth2"], "queues": [0, 1], "threads": ["t"], "umem": "u", "multi_buffer": true } `,
    }), "mb.jsonc", opts);
    assert.equal(config.lports.get("eth0:0")!.multiBuffer, true);
    assert.equal(config.lports.get("eth1:0")!.multiBuffer, false);
    assert.equal(config.lports.get("eth2:0")!.multiBuffer, true);
    assert.equal(config.lports.get("eth2:1")!.multiBuffer, true);
  });

  test("a value that is not a boolean is an error at the value", () => {
    assert.match(errorOf(cfg({ lports: `\n    "eth0:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "u", "multi_buffer": "yes" }` })),
      /mb\.jsonc:4:77: lports\."eth0:0"\.multi_buffer: expected true or false, got "yes"/);
  });

  test("only net_af_xdp lports take it (in either key order), lport-groups too", () => {
    for (const lp of [
      `"multi_buffer": true, "pmd": "net_af_packet", "qid": 0, "umem": "u"`,
      `"pmd": "net_af_packet", "qid": 0, "umem": "u", "multi_buffer": true`,
    ]) {
      assert.match(errorOf(cfg({ lports: `\n    "eth0:0": { ${lp} }` })),
        /mb\.jsonc:4:\d+: lports\."eth0:0"\.multi_buffer: "multi_buffer" applies to net_af_xdp lports \(AF_XDP multi-buffer sockets\), not to pmd "net_af_packet"/);
    }
    assert.match(errorOf(cfg({ lports: "", groups: ` "grp": { "netdevs": ["eth2"], "queues": [0], "threads": ["t"], "umem": "u", "pmd": "net_af_packet", "multi_buffer": true } ` })),
      /lport-groups\.grp\.multi_buffer: "multi_buffer" applies to net_af_xdp lports/);
    // false is fine anywhere.
    parseConfig(cfg({ lports: `\n    "eth0:0": { "pmd": "net_af_packet", "qid": 0, "umem": "u", "multi_buffer": false }` }), "mb.jsonc", opts);
  });

  test("lports of one shared_umem UMEM must agree (sockets sharing a UMEM take the first one's)", () => {
    const text = cfg({
      shared: true,
      lports: `
    "eth0:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "u", "multi_buffer": true },
    "eth0:1": { "pmd": "net_af_xdp", "qid": 1, "umem": "u" }`,
    });
    assert.match(errorOf(text), /mb\.jsonc:5:5: lports\."eth0:1": lport "eth0:1" has "multi_buffer": false but lport "eth0:0" \(at mb\.jsonc:4:5\) on the same shared_umem UMEM "u" has true/);
    // Without shared_umem each socket has its own setting.
    const { config } = parseConfig(text.replace(`, "shared_umem": true`, ""), "mb.jsonc", opts);
    assert.deepEqual([...config.lports.values()].map((l) => l.multiBuffer), [true, false]);
  });
});
