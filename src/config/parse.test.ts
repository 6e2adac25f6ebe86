import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfig, type ParseOptions } from "./index.js";
import { MAX_DEPTH } from "./parse.js";
import { canUseNetns, createVethPair } from "../testing/netns.js";

const FIXTURE = fileURLToPath(new URL("../../../src/config/testdata/fwd.jsonc", import.meta.url));
const OPTS: ParseOptions = { onlineCpus: [0, 1, 2, 3], cpuCheck: "off", netdevQueueCount: () => undefined, netdevCheck: "off", memoryCheck: "off" };

/** Removes the one "@@" marker from `src` and returns the text and the marker's line and column. */
function marked(src: string): { text: string; line: number; column: number } {
  const i = src.indexOf("@@");
  assert.ok(i >= 0, "test text needs an @@ marker");
  const text = src.slice(0, i) + src.slice(i + 2);
  const before = text.slice(0, i).split("\n");
  return { text, line: before.length, column: (before.at(-1) ?? "").length + 1 };
}

/** Parses and expects a ConfigError whose first problem is at the marker, with this path and message. */
function expectError(src: string, path: string, message: string | RegExp, opts: ParseOptions = OPTS): ConfigError {
  const m = marked(src);
  let err: unknown;
  try {
    parseConfig(m.text, "fwd.jsonc", opts);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
  assert.equal(err.file, "fwd.jsonc");
  assert.deepEqual({ line: err.line, column: err.column, path: err.path }, { line: m.line, column: m.column, path },
    err.message);
  const first = err.errors[0];
  assert.ok(first);
  if (typeof message === "string") assert.equal(first.message, message);
  else assert.match(first.message, message);
  assert.equal(err.message.split("\n")[0], `fwd.jsonc:${m.line}:${m.column}: ${path === "" ? "" : `${path}: `}${first.message}`);
  return err;
}

/** A small valid configuration with places to splice text into. */
function base(p: { umems?: string; lports?: string; threads?: string; groups?: string; extra?: string } = {}): string {
  return `{
  "lcore-groups": { "initial": [0], "group0": [1], "default": ["2-3"] },
  "umems": {
    "umem0": { "bufcnt": 4, "bufsz": 2, "regions": [2, 2] }${p.umems ?? ""}
  },
  "lports": {
    "eth0:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "umem0", "region": 0 },
    "eth1:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "umem0", "region": 1 }${p.lports ?? ""}
  },
  "threads": {
    "main": { "group": "initial" },
    "fwd:0": { "group": "group0", "lports": ["eth0:0", "eth1:0"] }${p.threads ?? ""}
  }${p.groups ?? ""}${p.extra ?? ""}
}
`;
}

describe("config: CNDP's fwd.jsonc", () => {
  it("loads unchanged, with every value CNDP would read", () => {
    const { config, warnings } = loadConfig(FIXTURE, OPTS);
    assert.deepEqual(warnings, []);
    assert.equal(config.application.name, "cndpfwd");
    assert.equal(config.application.description, "A simple packet forwarder for pktdev and xskdev");
    assert.deepEqual({ ...config.defaults, extra: undefined }, {
      bufcnt: 16384, bufsz: 2048, rxdesc: 2048, txdesc: 2048, cache: 256, mtype: "2MB", burst: 64, extra: undefined,
    });

    const umem = config.umems.get("umem0");
    assert.deepEqual(umem, {
      name: "umem0", index: 0, bufcnt: 32768, bufsz: 2048, mtype: "2MB", regions: [16384, 16384],
      regionBase: [0, 16384], rxdesc: 2048, txdesc: 2048, sharedUmem: false, description: "UMEM Description 0",
      auto: false,
    });

    assert.deepEqual([...config.lports.keys()], ["eth0:0", "eth1:0"]);
    assert.deepEqual(config.lports.get("eth1:0"), {
      name: "eth1:0", index: 1, netdev: "eth1", tag: "0", pmd: "net_af_xdp", pmdOpts: undefined, qid: 12,
      umem: "umem0", region: 1, busyPoll: false, busyTimeout: 20, busyBudget: 64, forceWakeup: false,
      skbMode: false, unalignedBuffers: false, unprivileged: false, multiBuffer: false, xskPinPath: undefined, udsPath: undefined,
      description: "LAN 1 port", lportGroup: undefined, thread: "fwd:1",
    });

    assert.deepEqual(config.lcoreGroups.get("default")?.lcores, [15, 16]);
    assert.deepEqual([...config.options], [["pkt_api", "xskdev"], ["no-metrics", false], ["no-restapi", false], ["cli", true], ["mode", "drop"]]);

    assert.deepEqual([...config.threads.keys()], ["main", "fwd:0", "fwd:1"]);
    assert.deepEqual(config.threads.get("fwd:0"), {
      name: "fwd:0", index: 1, type: "fwd", id: "0", group: "group0", lcores: [13], lports: ["eth0:0"],
      idleTimeout: 10, intrTimeout: 2000, description: "Thread 0",
    });
    assert.equal(config.threads.get("main")?.type, "main");
    assert.equal(config.threads.get("main")?.id, undefined);
    assert.equal(config.lportGroups.size, 0);

    // The source map finds keys and values as written.
    assert.deepEqual(config.source.locate(["lports", "eth0:0", "qid"]), { file: FIXTURE, line: 67, column: 20 });
    assert.deepEqual(config.source.locate(["lports", "eth0:0"], true), { file: FIXTURE, line: 65, column: 9 });
  });

  it("names a file it cannot read", () => {
    assert.throws(() => loadConfig("/nonexistent/fwd.jsonc"), /Cannot read configuration file '\/nonexistent\/fwd.jsonc': ENOENT/);
  });

  it("takes CPU numbers as strings, as CNDP's generated files write them", () => {
    const { config } = parseConfig(`{ "lcore-groups": { "initial": ["1"], "g": [" 2 - 3 ", "0-1,3"] } }`, "x.jsonc", OPTS);
    assert.deepEqual(config.lcoreGroups.get("initial")?.lcores, [1]);
    assert.deepEqual(config.lcoreGroups.get("g")?.lcores, [0, 1, 2, 3]);
  });
});

describe("config: a file as CNDP's jsonc_gen.sh writes it in a device-plugin pod", () => {
  it("parses, with the socket path making the lport unprivileged", () => {
    const text = `{
    "application": { "name": "cndpfwd", "description": "A simple packet forwarder for pktdev and xskdev" },
    "defaults": { "bufcnt": 16, "bufsz": 2, "rxdesc": 2, "txdesc": 2, "cache": 256, "mtype": "2MB" },
    "umems": {
        "umem0": { "bufcnt": 32, "bufsz": 2, "mtype": "2MB", "regions": [
                16,
                16
            ], "rxdesc": 0, "txdesc": 0, "description": "UMEM Description 0" }
    },
    "lports": {
        "net1:0": {
            "pmd": "net_af_xdp",
            "qid": 0,
            "umem": "umem0",
            "region": 0,
            "skb_mode": false,
            "uds_path" : "/tmp/afxdp_dp/net1/afxdp.sock",
            "description": "LAN 0 port"
        },
        "net2:0": {
            "pmd": "net_af_xdp",
            "qid": 0,
            "umem": "umem0",
            "region": 1,
            "skb_mode": true,
            "xsk_pin_path" : "/tmp/afxdp_dp/net2/xsks_map",
            "description": "LAN 1 port"
        }
    },
    "lcore-groups": {
        "initial": ["0"],
        "group0": ["1"],
        "group1": ["0"],
        "default": [""]
    },
    "options": {
        "pkt_api": "xskdev", "no-metrics": false, "no-restapi": false, "cli": false, "mode": "drop",
        // FIB rules <IP Address>,<Destination MAC>,<destination port>
        "l3fwd-fib-rules": [
            "198.18.0.0/24,02:00:01:02:03:04,1",
            "198.18.1.0/24,06:00:01:02:03:04,0"
        ]
    },
    "threads": {
        "main": { "group": "initial", "description": "CLI Thread" },
        "fwd:0": { "group": "group0", "lports": ["net1:0"], "description": "Thread 0" },
        "fwd:1": { "group": "group1", "lports": ["net2:0"], "description": "Thread 1" }
    }
}`;
    const { config, warnings } = parseConfig(text, "config.jsonc", OPTS);
    assert.deepEqual(warnings.map((w) => w.message), ["an empty CPU string; read as CPU 0, as CNDP does"]);
    const net1 = config.lports.get("net1:0");
    assert.deepEqual([net1?.unprivileged, net1?.udsPath, net1?.skbMode, net1?.thread], [true, "/tmp/afxdp_dp/net1/afxdp.sock", false, "fwd:0"]);
    const net2 = config.lports.get("net2:0");
    assert.deepEqual([net2?.unprivileged, net2?.xskPinPath, net2?.skbMode, net2?.region], [true, "/tmp/afxdp_dp/net2/xsks_map", true, 1]);
    assert.deepEqual(config.options.get("l3fwd-fib-rules"), ["198.18.0.0/24,02:00:01:02:03:04,1", "198.18.1.0/24,06:00:01:02:03:04,0"]);
    assert.deepEqual(config.lcoreGroups.get("default")?.lcores, [0]);
  });
});

describe("config: defaults", () => {
  it("applies CNDP's values when the file leaves them out", () => {
    const { config } = parseConfig(`{
      "umems": { "u": {} },
      "lports": { "veth1": { "pmd": "net_af_xdp:opt=1", "qid": 3, "umem": "u", "busy_poll": true } },
      "lcore-groups": { "default": [1] },
      "threads": { "fwd": { "lports": ["veth1"] } }
    }`, "d.jsonc", OPTS);
    assert.deepEqual({ ...config.defaults, extra: undefined }, {
      bufcnt: 16384, bufsz: 2048, rxdesc: 2048, txdesc: 2048, cache: 256, mtype: "4KB", burst: 64, extra: undefined,
    });
    const u = config.umems.get("u");
    assert.deepEqual([u?.bufcnt, u?.bufsz, u?.rxdesc, u?.txdesc, u?.mtype, u?.regions], [16384, 2048, 2048, 2048, "4KB", [16384]]);
    const lp = config.lports.get("veth1");
    assert.deepEqual([lp?.netdev, lp?.tag, lp?.pmd, lp?.pmdOpts, lp?.region, lp?.busyPoll, lp?.busyTimeout, lp?.busyBudget],
      ["veth1", "", "net_af_xdp", "opt=1", 0, true, 20, 64]);
    const t = config.threads.get("fwd");
    assert.deepEqual([t?.group, t?.lcores, t?.idleTimeout, t?.intrTimeout], ["default", [1], 0, 0]);
    assert.equal(config.application.name, "");
  });

  it("takes umem sizes from defaults, and 0 descriptors as 'use the default'", () => {
    const { config } = parseConfig(`{
      "defaults": { "bufcnt": 8, "bufsz": 4, "rxdesc": 4, "txdesc": 1, "mtype": "1gb", "cache": 64, "burst": 32 },
      "umems": { "u": { "rxdesc": 0, "txdesc": 8, "mtype": "" } }
    }`, "d.jsonc", OPTS);
    const u = config.umems.get("u");
    assert.deepEqual([u?.bufcnt, u?.bufsz, u?.rxdesc, u?.txdesc, u?.mtype], [8192, 4096, 4096, 8192, "1GB"]);
    assert.deepEqual([config.defaults.cache, config.defaults.burst], [64, 32]);
  });

  it("marks lports with a uds_path or xsk_pin_path unprivileged", () => {
    const { config } = parseConfig(`{
      "umems": { "u": {} },
      "lports": {
        "net1:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "u", "uds_path": "/tmp/afxdp_dp/net1/afxdp.sock", "skb_mode": false },
        "net2:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "u", "xsk_pin_path": "/tmp/afxdp_dp/net2/xsks_map" }
      }
    }`, "u.jsonc", OPTS);
    assert.deepEqual([config.lports.get("net1:0")?.unprivileged, config.lports.get("net1:0")?.udsPath], [true, "/tmp/afxdp_dp/net1/afxdp.sock"]);
    assert.deepEqual([config.lports.get("net2:0")?.unprivileged, config.lports.get("net2:0")?.xskPinPath], [true, "/tmp/afxdp_dp/net2/xsks_map"]);
  });
});

describe("config: errors point at the exact line and column", () => {
  it("syntax errors", () => {
    expectError(`{\n  "lports": {\n    "eth0:0": { "qid": 1 @@"umem": "u" }\n  }\n}`, `lports."eth0:0".umem`, "expected ','");
    expectError(`{ "a": 1 }\n@@}`, "", "expected the end of the file after the top-level object");
    expectError(`{ "a": "unterminated\n}`.replace(`"unterminated`, `@@"unterminated`), "a", "unterminated string");
    expectError(`@@`, "", "the file is empty: expected an object");
    expectError(`@@[1, 2]`, "", /^expected an object with sections/);
  });

  it("wrong types", () => {
    expectError(base({ lports: `,\n    "eth2:0": { "pmd": "net_af_xdp", "qid": @@"x", "umem": "umem0" }` }),
      `lports."eth2:0".qid`, `expected a number, got "x"`);
    expectError(base({ lports: `,\n    "eth2:0": { "pmd": "net_af_xdp", "qid": @@1.5, "umem": "umem0" }` }),
      `lports."eth2:0".qid`, "expected an integer, got 1.5");
    expectError(base({ lports: `,\n    "eth2:0": { "pmd": "net_af_xdp", "qid": 1, "umem": "umem0", "skb_mode": @@"false" }` }),
      `lports."eth2:0".skb_mode`, `expected true or false, got "false"`);
    expectError(base({ extra: `,\n  "lport-groups": @@[]` }), "lport-groups", "expected an object, got an array");
    expectError(base({ threads: `,\n    "fwd:1": { "lports": @@"eth0:0" }` }), `threads."fwd:1".lports`, `expected an array of strings, got "eth0:0"`);
    expectError(base({ extra: `,\n  "options": { "rules": ["a", @@1] }` }), "options.rules[1]",
      "array elements must all be of one kind: the first is a string, this one a number");
    expectError(base({ extra: `,\n  "options": { "ratio": @@0.5 }` }), "options.ratio", /jcfg has no decimal numbers/);
    expectError(base({ umems: `,\n    "u2": { "mtype": @@"3MB" }` }), "umems.u2.mtype", `expected "4KB", "2MB" or "1GB", got "3MB"`);
  });

  it("values out of range, with a hint about CNDP's units", () => {
    expectError(base({ umems: `,\n    "u2": { "bufsz": @@2048 }` }), "umems.u2.bufsz",
      "must be between 2 and 4, got 2048 (bufsz counts units of 1024 bytes: 2 means 2048-byte frames, 4 means 4096)");
    expectError(base({ umems: `,\n    "u2": { "rxdesc": @@3 }` }), "umems.u2.rxdesc", /must be 0 or a power of two/);
    expectError(base({ lports: `,\n    "eth2:0": { "pmd": "net_af_xdp", "qid": @@70000, "umem": "umem0" }` }),
      `lports."eth2:0".qid`, "must be between 0 and 65535, got 70000");
  });

  it("missing required keys", () => {
    expectError(base({ lports: `,\n    @@"eth2:0": { "pmd": "net_af_xdp", "qid": 1 }` }), `lports."eth2:0"`, `missing required key "umem"`);
    expectError(base({ groups: `,\n  "lport-groups": { @@"g": { "netdevs": ["eth5"] } }` }), "lport-groups.g", `missing required key "threads"`);
  });

  it("references to things that are not defined", () => {
    expectError(base({ lports: `,\n    "eth2:0": { "pmd": "net_af_xdp", "qid": 1, "umem": @@"umem9" }` }), `lports."eth2:0".umem`,
      `umem "umem9" is not defined in "umems" (defined: "umem0")`);
    expectError(base({ threads: `,\n    "fwd:1": { "lports": [@@"eth9:0"] }` }), `threads."fwd:1".lports[0]`,
      `lport "eth9:0" is not defined in "lports"`);
    expectError(base({ threads: `,\n    "fwd:1": { "group": @@"group7" }` }), `threads."fwd:1".group`,
      `lcore-group "group7" is not defined in "lcore-groups"`);
    expectError(base({ lports: `,\n    "eth2:0": { "pmd": "net_af_xdp", "qid": 1, "umem": "umem0", "region": @@2 }` }),
      `lports."eth2:0".region`, `umem "umem0" has 2 regions (0-1), got region 2`);
    expectError(base({ threads: `,\n    "fwd:1": { "lports": [@@"eth1:0"] }` }), `threads."fwd:1".lports[0]`,
      /^lport "eth1:0" is already polled by thread "fwd:0" \(at fwd.jsonc:12:\d+\); threads cannot share an lport$/);
  });

  it("bad CPU lists", () => {
    expectError(`{ "lcore-groups": { "g": [1, @@"3-1"] } }`, "lcore-groups.g[1]", "bad CPU list: range '3-1' ends before it starts");
    expectError(`{ "lcore-groups": { "g": [@@"a"] } }`, "lcore-groups.g[0]", "bad CPU list: 'a' is not a number or a range 'a-b'");
    expectError(`{ "lcore-groups": { "g": [@@-1] } }`, "lcore-groups.g[0]", "must be between 0 and 1023, got -1");
    expectError(`{ "lcore-groups": { "g": @@"1-2" } }`, "lcore-groups.g", /^expected an array of CPU numbers/);
    expectError(`{ "lcore-groups": { "g": [@@7] } }`, "lcore-groups.g[0]", "CPU 7 is not online on this machine (online: 0-3)",
      { ...OPTS, cpuCheck: "error" });
  });

  it("two lports on one queue of a netdev", () => {
    expectError(base({ lports: `,\n    "eth0:1": { "pmd": "net_af_xdp", "qid": @@0, "umem": "umem0" }` }), `lports."eth0:1".qid`,
      /^queue 0 of netdev "eth0" is already used by lport "eth0:0" \(at fwd.jsonc:7:5\); one socket per queue$/);
  });

  it("regions that do not add up to bufcnt", () => {
    expectError(base({ umems: `,\n    "u2": { "bufcnt": 32, "regions": @@[16, 8] }` }), "umems.u2.regions",
      "regions add up to 24 (24576 buffers) but bufcnt is 32 (32768 buffers)");
    expectError(base({ umems: `,\n    "u2": { "regions": @@[4] }` }), "umems.u2.regions",
      "regions add up to 4 (4096 buffers) but bufcnt (from defaults) is 16 (16384 buffers)");
  });

  it("invalid lport and thread names", () => {
    expectError(base({ lports: `,\n    @@"eth2:": { "pmd": "net_af_xdp", "qid": 1, "umem": "umem0" }` }), `lports."eth2:"`,
      `invalid lport name "eth2:": the tag after ':' is empty (expected "<netdev>:<tag>", e.g. "eth0:0")`);
    expectError(base({ lports: `,\n    @@"a-very-long-netdev:0": { "pmd": "net_af_xdp", "qid": 1, "umem": "umem0" }` }),
      `lports."a-very-long-netdev:0"`, /the netdev name "a-very-long-netdev" is longer than 15 characters/);
    expectError(base({ lports: `,\n    @@":0": { "pmd": "net_af_xdp", "qid": 1, "umem": "umem0" }` }), `lports.":0"`, /the netdev name is empty/);
    expectError(base({ threads: `,\n    @@":1": {}` }), `threads.":1"`, /^invalid thread name ":1"/);
  });

  it("a key given twice", () => {
    expectError(base({ lports: `,\n    @@"eth0:0": { "pmd": "net_af_xdp", "qid": 5, "umem": "umem0" }` }), `lports."eth0:0"`,
      `duplicate key "eth0:0" (first at fwd.jsonc:7:5)`);
  });

  it("does not repeat an error as 'not defined' where the entry itself was wrong", () => {
    const err = expectError(`{
  "umems": { "u": { "regions": @@[1] } },
  "lcore-groups": { "g": ["x"] },
  "lports": { "eth0:0": { "pmd": "net_af_xdp", "qid": "q", "umem": "u" } },
  "threads": { "t": { "group": "g", "lports": ["eth0:0"] } }
}`, "umems.u.regions", /^regions add up to 1/);
    assert.deepEqual(err.errors.map((e) => e.path), ["umems.u.regions", "lcore-groups.g[0]", `lports."eth0:0".qid`]);
  });

  it("collects every problem in one error, first one first", () => {
    const m = marked(base({ lports: `,\n    "eth2:0": { "pmd": "net_af_xdp", "qid": @@"x", "umem": "nope", "region": true }` }));
    const err = (() => {
      try {
        parseConfig(m.text, "fwd.jsonc", OPTS);
      } catch (e) {
        return e as ConfigError;
      }
      assert.fail("expected an error");
    })();
    assert.equal(err.errors.length, 2);
    assert.deepEqual(err.errors.map((e) => e.path), [`lports."eth2:0".qid`, `lports."eth2:0".region`]);
    assert.equal(err.message.split("\n").length, 2);
    assert.equal(err.line, m.line);
  });
});

describe("config: warnings", () => {
  it("unknown keys warn with their position and a suggestion", () => {
    const m = marked(base({ lports: `,\n    "eth2:0": { "pmd": "net_af_xdp", "qid": 1, "umem": "umem0", @@"busy_pol": true }` }));
    const { warnings, config } = parseConfig(m.text, "fwd.jsonc", OPTS);
    const w = warnings.find((x) => x.path === `lports."eth2:0".busy_pol`);
    assert.ok(w, JSON.stringify(warnings));
    assert.deepEqual([w.line, w.column], [m.line, m.column]);
    assert.equal(w.text, `fwd.jsonc:${m.line}:${m.column}: lports."eth2:0".busy_pol: unknown key "busy_pol" (ignored); did you mean "busy_poll"?`);
    assert.equal(config.lports.get("eth2:0")?.busyPoll, false);
  });

  it("unknown sections are kept for the app, and apps can declare theirs", () => {
    const text = `{ "telemetry": { "port": 2112 }, "lports": {} }`;
    const a = parseConfig(text, "t.jsonc", OPTS);
    assert.deepEqual(a.warnings.map((w) => w.text), [`t.jsonc:1:3: telemetry: unknown key "telemetry" (kept in sections for the app)`]);
    assert.deepEqual(a.config.sections.get("telemetry"), { port: 2112 });
    const b = parseConfig(text, "t.jsonc", { ...OPTS, sections: ["telemetry"] });
    assert.deepEqual(b.warnings, []);
  });

  it("numbers in quotes are read as CNDP reads them, with a warning", () => {
    const m = marked(base({ lports: `,\n    "eth2:0": { "pmd": "net_af_xdp", "qid": @@"7", "umem": "umem0" }` }));
    const { config, warnings } = parseConfig(m.text, "fwd.jsonc", OPTS);
    assert.equal(config.lports.get("eth2:0")?.qid, 7);
    assert.ok(warnings.some((w) => w.line === m.line && w.column === m.column && w.message === "a number in quotes; read as 7"));
  });

  it("CPUs that are not online here, lports no thread polls, threads without a group", () => {
    const { warnings } = parseConfig(`{
  "lcore-groups": { "g": [0, 9] },
  "umems": { "u": {} },
  "lports": { "eth0:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "u" } },
  "threads": { "fwd:0": {} }
}`, "w.jsonc", { ...OPTS, cpuCheck: "warn", onlineCpus: [0, 1] });
    assert.deepEqual(warnings.map((w) => w.text), [
      "w.jsonc:2:30: lcore-groups.g[1]: CPU 9 is not online on this machine (online: 0-1)",
      `w.jsonc:4:15: lports."eth0:0": no thread polls this lport`,
      `w.jsonc:5:16: threads."fwd:0": no "group" and no lcore-group "default": the thread will not be pinned to CPUs`,
    ]);
  });
});

describe("config: lport-groups", () => {
  const groups = `{
  "defaults": { "bufcnt": 16 },
  "lcore-groups": { "default": [0] },
  "threads": { "fwd:0": {}, "fwd:1": {} },
  "lport-groups": {
    "rss0": {
      "netdevs": ["eth2", "eth3", "eth4"],
      "queues": ["1-2", 4, 8, "5"],
      "threads": ["fwd:0", "fwd:1"],
      "busy_poll": true
    },
    "rss1": {
      "netdevs": ["eth8"],
      "queues": 8,
      "threads": ["fwd:0"]
    }
  }
}`;

  it("makes an lport per queue of each netdev and deals them to threads round-robin, as CNDP does", () => {
    const { config, warnings } = parseConfig(groups, "g.jsonc", OPTS);
    assert.deepEqual(warnings, []);
    const rss0 = config.lportGroups.get("rss0");
    assert.deepEqual(rss0?.queues, [1, 2, 4, 5, 8]);
    assert.equal(rss0?.lports.length, 15);
    assert.deepEqual(rss0?.lports.slice(0, 6), ["eth2:1", "eth2:2", "eth2:4", "eth2:5", "eth2:8", "eth3:1"]);
    assert.deepEqual(config.threads.get("fwd:0")?.lports,
      ["eth2:1", "eth2:4", "eth2:8", "eth3:2", "eth3:5", "eth4:1", "eth4:4", "eth4:8", "eth8:8"]);
    assert.deepEqual(config.threads.get("fwd:1")?.lports, ["eth2:2", "eth2:5", "eth3:1", "eth3:4", "eth3:8", "eth4:2", "eth4:5"]);
    const lp = config.lports.get("eth3:4");
    assert.deepEqual([lp?.netdev, lp?.qid, lp?.pmd, lp?.umem, lp?.region, lp?.busyPoll, lp?.lportGroup, lp?.thread, lp?.index],
      ["eth3", 4, "net_af_xdp", "lport-group", 0, true, "rss0", "fwd:1", 7]);
    // The shared UMEM CNDP creates for groups that name none: sized from defaults when given.
    const u = config.umems.get("lport-group");
    assert.deepEqual([u?.auto, u?.bufcnt, u?.regions, u?.rxdesc, u?.txdesc], [true, 16384, [16384], 2048, 4096]);
  });

  it("sizes the lport-group UMEM from the descriptors when defaults give no bufcnt", () => {
    const { config } = parseConfig(groups.replace(`"bufcnt": 16`, `"cache": 128`), "g.jsonc", OPTS);
    assert.equal(config.umems.get("lport-group")?.bufcnt, (2048 * 3 + 4096 * 3) * 16);
  });

  it("rejects lports that clash with ones already defined, and unknown threads", () => {
    expectError(`{
  "umems": { "u": {} },
  "lports": { "eth2:4": { "pmd": "net_af_xdp", "qid": 4, "umem": "u" } },
  "threads": { "t": {} },
  "lport-groups": { "g": { "netdevs": [@@"eth2"], "queues": "3-4", "threads": ["t"] } }
}`, "lport-groups.g.netdevs[0]", /^lport "eth2:4" made by lport-group "g" is already defined \(at fwd.jsonc:3:15\)$/);
    expectError(`{
  "threads": { "t": {} },
  "lport-groups": { "g": { "netdevs": ["eth2"], "queues": [1], "threads": ["t", @@"u"] } }
}`, "lport-groups.g.threads[1]", `thread "u" is not defined in "threads"`);
    expectError(`{ "lport-groups": { "g": { "netdevs": ["e"], "queues": [1, @@"all"], "threads": ["t"] } } }`,
      "lport-groups.g.queues[1]", `"all" cannot be part of a list`);
  });

  it("uses every queue of a real netdev when queues are left out or 'all'", { skip: !canUseNetns() && "needs root" }, () => {
    const veth = createVethPair({ queues: 3, prefix: "cfg" });
    try {
      const text = `{
  "threads": { "fwd:0": {}, "fwd:1": {} },
  "lport-groups": {
    "a": { "netdevs": ["${veth.a}"], "threads": ["fwd:0", "fwd:1"] },
    "b": { "netdevs": ["lo"], "queues": "all", "threads": ["fwd:1"] }
  }
}`;
      const { config } = parseConfig(text, "real.jsonc", { cpuCheck: "off" });
      assert.deepEqual(config.lportGroups.get("a")?.lports, [`${veth.a}:0`, `${veth.a}:1`, `${veth.a}:2`]);
      assert.deepEqual(config.lportGroups.get("a")?.queues, "all");
      assert.deepEqual(config.threads.get("fwd:0")?.lports, [`${veth.a}:0`, `${veth.a}:2`]);
      assert.deepEqual(config.lportGroups.get("b")?.lports, ["lo:0"]);
      // The netdev in the peer namespace does not exist here.
      expectError(`{ "threads": { "t": {} }, "lport-groups": { "g": { "netdevs": [@@"${veth.b}"], "threads": ["t"] } } }`,
        "lport-groups.g.netdevs[0]", new RegExp(`^cannot use every queue of netdev "${veth.b}": no such netdev here`), { cpuCheck: "off" });
    } finally {
      veth.destroy();
    }
  });
});

describe("config: loadConfig", () => {
  it("names the path it was given in messages", () => {
    const dir = mkdtempSync(join(tmpdir(), "xdplane-cfg-"));
    try {
      const file = join(dir, "bad.jsonc");
      writeFileSync(file, `{\n  // comment\n  "lports": { "x:0": { "pmd": "net_af_xdp", "qid": true, "umem": "u" } }\n}\n`);
      assert.throws(() => loadConfig(file, OPTS), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.message.split("\n")[0], `${file}:3:52: lports."x:0".qid: expected a number, got true`);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("config: deep nesting, byte order marks, option types", () => {
  it("refuses nesting deeper than MAX_DEPTH with file:line:col, fast and without overflowing the stack", () => {
    const t0 = Date.now();
    // 100,000 [ : jsonc-parser's parseTree recurses once per level and overflowed the stack before.
    const arrays = `{\n  "users": { "a": ${"[".repeat(100_000)}${"]".repeat(100_000)} }\n}\n`;
    let e = expectError(arrays.replace("[".repeat(100_000), `${"[".repeat(MAX_DEPTH - 2)}@@${"[".repeat(100_000 - MAX_DEPTH + 2)}`),
      `users.a${"[0]".repeat(MAX_DEPTH - 2)}`, `nesting deeper than ${MAX_DEPTH}`);
    assert.equal(e.errors.length, 1);
    // 50,000 nested objects.
    const objs = `{ "users": { "a": ${'{"k":'.repeat(50_000)}1${"}".repeat(50_000)} } }`;
    const at = objs.indexOf('{"k":') + 5 * (MAX_DEPTH - 2);
    e = expectError(`${objs.slice(0, at)}@@${objs.slice(at)}`, `users.a${".k".repeat(MAX_DEPTH - 2)}`, `nesting deeper than ${MAX_DEPTH}`);
    assert.equal(e.errors.length, 1);
    // Brackets in strings and comments do not count; MAX_DEPTH levels are fine.
    const ok = `{ "users": { "s": "${"[".repeat(1000)}", /* ${"{".repeat(1000)} */ "d": ${"[".repeat(MAX_DEPTH - 2)}${"]".repeat(MAX_DEPTH - 2)} } }`;
    const { config } = parseConfig(ok, "ok.jsonc", OPTS);
    assert.equal((config.users.get("s") as string).length, 1000);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  it("accepts a UTF-8 byte order mark; columns on line 1 count from the first character after it", () => {
    const text = base();
    const plain = parseConfig(text, "fwd.jsonc", OPTS).config;
    const bom = parseConfig(`\uFEFF${text}`, "fwd.jsonc", OPTS).config;
    assert.deepEqual([...bom.lports.keys()], [...plain.lports.keys()]);
    // Read from a file with the BOM bytes EF BB BF.
    const dir = mkdtempSync(join(tmpdir(), "xdplane-cfg-"));
    try {
      const file = join(dir, "bom.jsonc");
      writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
      assert.deepEqual([...loadConfig(file, OPTS).config.lports.keys()], ["eth0:0", "eth1:0"]);
      // An error on line 1 is at the column an editor shows (the BOM is invisible there).
      writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{ "options": { "mode": 7 } }`)]));
      assert.throws(() => loadConfig(file, OPTS), (err: unknown) => err instanceof ConfigError && err.line === 1 && err.column === 24);
      assert.equal(bom.source.locate(["lports", "eth0:0", "qid"])?.line, plain.source.locate(["lports", "eth0:0", "qid"])?.line);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Only at the start: elsewhere U+FEFF is still an unexpected character.
    expectError(`{ @@\uFEFF"users": {} }`, '""', "unexpected character");
  });

  it("options.mode and options.pkt_api must be strings (cndpfwd's options)", () => {
    expectError(base({ extra: `,\n  "options": { "mode": @@7 }` }), "options.mode",
      "expected a string (one of drop, rx-only, lb, loopback, tx-only, tx-only-rx, fwd), got 7");
    expectError(base({ extra: `,\n  "options": { "MODE": @@true }` }), "options.MODE", /^expected a string \(one of drop,.*\), got true$/);
    expectError(base({ extra: `,\n  "options": { "pkt_api": @@["xskdev"] }` }), "options.pkt_api", "expected a string (xskdev or pktdev), got an array");
    const { config } = parseConfig(base({ extra: `,\n  "options": { "mode": "lb", "constructor": 3, "pkt_api": "pktdev" }` }), "fwd.jsonc", OPTS);
    assert.equal(config.options.get("mode"), "lb");
    assert.equal(config.options.get("constructor"), 3);
  });
});

describe("config: netdevs, queues and CPUs of this machine, located in the file", () => {
  const HOST: ParseOptions = { ...OPTS, netdevCheck: "error", netdevQueueCount: (n) => (n === "eth0" || n === "eth1" ? 2 : undefined) };

  it("an lport on a netdev that does not exist here", () => {
    expectError(base({ lports: `,\n    @@"eth9:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "umem0" }` }), `lports."eth9:0"`,
      `netdev "eth9" does not exist in this network namespace`, HOST);
    expectError(base({ lports: `,\n    "eth9:1": { "netdev": @@"eth9", "pmd": "net_af_xdp", "qid": 0, "umem": "umem0" }` }), `lports."eth9:1".netdev`,
      `netdev "eth9" does not exist in this network namespace`, HOST);
    expectError(base({ groups: `,\n  "lport-groups": { "g": { "netdevs": [@@"eth9"], "queues": [0], "threads": ["fwd:0"] } }` }),
      "lport-groups.g.netdevs[0]", `netdev "eth9" does not exist in this network namespace`, HOST);
  });

  it("a qid beyond the netdev's queues", () => {
    expectError(base({ lports: `,\n    "eth0:5": { "pmd": "net_af_xdp", "qid": @@5, "umem": "umem0" }` }), `lports."eth0:5".qid`,
      `qid 5 is out of range: netdev "eth0" has 2 queues (0-1)`, HOST);
    expectError(base({ groups: `,\n  "lport-groups": { "g": { "netdevs": ["eth1"], "queues": @@["1-3"], "threads": ["fwd:0"] } }` }),
      "lport-groups.g.queues", `queue 3 is out of range: netdev "eth1" has 2 queues (0-1)`, HOST);
  });

  it("netdevs are not looked up unless asked (parseConfig) and are by default in loadConfig", () => {
    parseConfig(base(), "fwd.jsonc", { ...OPTS, netdevCheck: undefined as never, netdevQueueCount: () => undefined });
    const dir = mkdtempSync(join(tmpdir(), "xdplane-cfg-"));
    try {
      const file = join(dir, "n.jsonc");
      writeFileSync(file, base().replace(/eth0/g, "nosuchdev0"));
      assert.throws(() => loadConfig(file, { cpuCheck: "off", memoryCheck: "off" }), (e: unknown) => e instanceof ConfigError &&
        e.errors[0]?.text === `${file}:7:5: lports."nosuchdev0:0": netdev "nosuchdev0" does not exist in this network namespace`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a thread whose lcore-group has no online CPU cannot be pinned: an error at the group's CPUs", () => {
    const cpus: ParseOptions = { ...OPTS, onlineCpus: [0, 1], cpuCheck: "warn" };
    const text = base().replace(`"group0": [1]`, `"group0": @@[7, "9"]`);
    expectError(text, "lcore-groups.group0",
      `none of the CPUs of lcore-group "group0" (7, 9) is online here (online: 0-1): thread "fwd:0" cannot be pinned to it`, cpus);
    // Not an error for a group no started thread uses (a warning, as before), nor with cpuCheck "off".
    const { warnings } = parseConfig(base().replace(`"default": ["2-3"]`, `"default": [7]`), "fwd.jsonc", cpus);
    assert.ok(warnings.some((w) => w.message.startsWith("CPU 7 is not online")));
    parseConfig(base().replace(`"group0": [1]`, `"group0": [7]`), "fwd.jsonc", { ...cpus, cpuCheck: "off" });
  });
});
