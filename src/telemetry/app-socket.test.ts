import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir, hostname } from "node:os";
import { join } from "node:path";
import { AppSocket, appSocketPath } from "./app-socket.js";
import { AppClient, AppCommandError, joinPorts } from "./app-client.js";
import { SyntheticApp, registerSyntheticCommands } from "../testing/synthetic-app.js";
import { CommandRegistry, parseRequest, validateCommandPath } from "./commands.js";
import { connectSeqpacket } from "../uds/seqpacket.js";
import { lportStatsFrom } from "./model.js";

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "xdp-appsock-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A synthetic app on its own socket with a fake clock. */
function setup(opts: { maxOutput?: number } = {}) {
  let now = 1_000_000;
  const app = new SyntheticApp({ name: "synth", ports: ["eth0:0", "eth0_x:1"], pps: 1000, now: () => now });
  const sock = AppSocket.open(app, { socketDir: join(dir, String(Math.random()).slice(2)), ...opts });
  registerSyntheticCommands(sock, app);
  return { app, sock, advance: (ms: number) => (now += ms) };
}

describe("command registry", () => {
  test("parses requests as CNDP: split on ',', empty params skipped, NUL and newline trimmed", () => {
    assert.deepEqual(parseRequest("/app/stop,fwd:0"), { cmd: "/app/stop", params: ["fwd:0"] });
    assert.deepEqual(parseRequest("/a/b,x,,y\n"), { cmd: "/a/b", params: ["x", "y"] });
    assert.deepEqual(parseRequest("/info\0"), { cmd: "/info", params: [] });
  });

  test("validates paths", () => {
    validateCommandPath("/fwd/mode");
    assert.throws(() => validateCommandPath("fwd/mode"), /must start with '\/'/);
    assert.throws(() => validateCommandPath("/fw-d/mode"), /group 'fw-d'/);
    assert.throws(() => validateCommandPath("/a/b,c"), /segment 'b,c'/);
    assert.throws(() => validateCommandPath("/a/" + "x".repeat(60)), /UDS_MAX_CMD_LEN/);
  });

  test("registers, rejects duplicates, runs async handlers and turns throws into errors", async () => {
    const reg = new CommandRegistry({ info: () => ({ version: "v", pid: 1, max_output_len: 100 }), maxOutput: 100 });
    reg.register("/x/sync", (p) => ({ got: p }));
    reg.register("/x/async", async () => ({ later: true }));
    reg.register("/x/throws", () => {
      throw new Error("nope");
    });
    reg.register("/x/big", () => ({ s: "y".repeat(200) }));
    assert.throws(() => reg.register("/X/SYNC", () => ({})), /already registered/);
    assert.equal(await reg.dispatch("/x/sync,a,b"), '{"got":["a","b"]}');
    assert.equal(await reg.dispatch("/X/Async"), '{"later":true}');
    assert.equal(await reg.dispatch("/x/throws"), '{"error":"nope"}');
    assert.match(await reg.dispatch("/x/big"), /"error":"reply of \d+ bytes exceeds max_output_len 100/);
    assert.equal(await reg.dispatch("/x/none,1"), '{"error":"invalid cmd (/x/none,1)"}');
    assert.deepEqual(JSON.parse(await reg.dispatch("/")), { "/": ["/", "/info", "/x/sync", "/x/async", "/x/throws", "/x/big"] });
    assert.equal(reg.unregister("/x/sync"), true);
    assert.equal(reg.unregister("/info"), false);
  });
});

describe("app socket", () => {
  test("listens on <dir>/app_socket.<pid> and removes it on close", () => {
    const { sock } = setup();
    assert.ok(sock.path.endsWith(`/app_socket.${process.pid}`));
    assert.equal(sock.path, appSocketPath(join(sock.path, ".."), process.pid));
    assert.ok(existsSync(sock.path));
    sock.close();
    assert.equal(existsSync(sock.path), false);
  });

  test("every listed command answers JSON without error", async () => {
    const { sock } = setup();
    const c = await AppClient.connect(sock.path);
    try {
      const cmds = await c.commands();
      for (const want of ["/", "/info", "/app/appname", "/app/hostname", "/app/ports", "/app/threads", "/app/start", "/app/stop", "/metrics/port_stats", "/metrics/thread_stats", "/synth/admin"]) {
        assert.ok(cmds.includes(want), `${want} listed`);
      }
      for (const cmd of cmds) {
        const params = cmd === "/app/start" || cmd === "/app/stop" ? ["all"] : cmd.startsWith("/synth/") ? ["eth0:0", "up"] : [];
        const r = await c.request(cmd, params);
        assert.equal(r.error, undefined, `${cmd}: ${JSON.stringify(r)}`);
      }
    } finally {
      c.close();
      sock.close();
    }
  });

  test("answers the CNDP shapes", async () => {
    const { sock, advance } = setup();
    const c = await AppClient.connect(sock.path);
    try {
      const info = await c.request("/info");
      assert.match(String(info.version), /^xdplane \d+\.\d+\.\d+/);
      assert.equal(info.pid, process.pid);
      assert.equal(info.max_output_len, 16384);
      assert.deepEqual((info.groups as Record<string, string[]>)["/"], ["/", "/info"]);
      assert.deepEqual((info.groups as Record<string, string[]>)["/metrics"], ["/metrics/port_stats", "/metrics/thread_stats"]);
      assert.deepEqual(c.info, { version: info.version, pid: process.pid, maxOutput: 16384 });
      assert.deepEqual(await c.request("/app/appname"), { name: "synth" });
      assert.deepEqual(await c.request("/app/hostname"), { hostname: hostname() });
      const ports = await c.request("/app/ports");
      assert.deepEqual(ports, {
        ports: [
          { id: 0, name: "eth0:0", netdev: "eth0", qid: 0, pmd_name: "net_synthetic", admin_up: true, link_up: true },
          { id: 1, name: "eth0_x:1", netdev: "eth0_x", qid: 1, pmd_name: "net_synthetic", admin_up: true, link_up: true },
        ],
      });
      const threads = (await c.request("/app/threads")).threads as Record<string, unknown>[];
      assert.deepEqual(threads[1], { id: 1, name: "fwd:0", group: "default", type: "fwd", ports: ["eth0:0"], status: "running" });
      advance(2000);
      const stats = await c.request("/metrics/port_stats");
      assert.equal(stats["eth0:0_n_rx_packets"], 2000);
      assert.equal(stats["eth0:0_n_rx_bytes"], 128000);
      assert.equal(stats["eth0_x:1_n_tx_packets"], 2000);
      const view = await c.ports();
      assert.equal(view[1]!.name, "eth0_x:1");
      assert.equal(view[1]!.stats.ipackets, 2000, "the longest port name wins the key prefix");
      assert.equal(view[0]!.stats.rx_burst_called, 62);
      const tv = await c.threads();
      assert.equal(tv[1]!.counters.packets, 2000);
    } finally {
      c.close();
      sock.close();
    }
  });

  test("start and stop threads by name, id or all", async () => {
    const { sock, advance } = setup();
    const c = await AppClient.connect(sock.path);
    try {
      assert.deepEqual(await c.stopThread("fwd:0"), [{ name: "fwd:0", status: "paused" }]);
      advance(1000);
      let ports = await c.ports();
      assert.equal(ports[0]!.stats.ipackets, 0, "a stopped thread's port does not count");
      assert.equal(ports[1]!.stats.ipackets, 1000);
      assert.equal((await c.threads())[1]!.running, false);
      assert.deepEqual(await c.startThread("2"), [{ name: "fwd:1", status: "running" }]);
      assert.deepEqual(await c.startThread("ALL"), [
        { name: "fwd:0", status: "running" },
        { name: "fwd:1", status: "running" },
      ]);
      advance(1000);
      ports = await c.ports();
      assert.equal(ports[0]!.stats.ipackets, 1000);
    } finally {
      c.close();
      sock.close();
    }
  });

  test("bad commands answer {\"error\"} and the connection goes on", async () => {
    const { sock } = setup();
    const c = await AppClient.connect(sock.path);
    try {
      assert.deepEqual(await c.request("/nope"), { error: "invalid cmd (/nope)" });
      assert.deepEqual(await c.request("/nope", ["1", "2"]), { error: "invalid cmd (/nope,1,2)" });
      assert.deepEqual(await c.request("/app/stop"), { error: "Command requires thread name (or 'all') as a parameter" });
      assert.deepEqual(await c.request("/app/stop", ["nosuch"]), { error: "Thread 'nosuch' not found" });
      assert.match(String((await c.request("/app/stop", ["main"])).error), /main thread/);
      assert.deepEqual(await c.request("/synth/admin", ["eth0:0"]), { error: "Usage: <port>,up|down" });
      assert.deepEqual(await c.request(""), { error: "invalid cmd ()" });
      assert.deepEqual(await c.request("\u00ff\u0001garbage"), { error: "invalid cmd (\u00ff\u0001garbage)" });
      assert.match(String((await c.request("/" + "x".repeat(5000))).error), /longer than 1024 bytes/);
      await assert.rejects(c.stopThread("nosuch"), AppCommandError);
      assert.deepEqual(await c.request("/APP/APPNAME"), { name: "synth" }, "commands are case-insensitive");
      assert.deepEqual(await c.request("/app/appname\n"), { name: "synth" }, "a trailing newline is fine");
    } finally {
      c.close();
      sock.close();
    }
  });

  test("a reply longer than max_output_len is an error, not a cut", async () => {
    const { sock } = setup({ maxOutput: 200 });
    const c = await AppClient.connect(sock.path);
    try {
      assert.equal(c.info.maxOutput, 200);
      assert.match(String((await c.request("/metrics/port_stats")).error), /exceeds max_output_len 200/);
    } finally {
      c.close();
      sock.close();
    }
  });

  test("apps register their own commands", async () => {
    const { sock } = setup();
    sock.registerCommand("/fwd/mode", () => ({ mode: "lb" }));
    sock.registerCommand("/fwd/slow", async (params) => {
      await new Promise((r) => setTimeout(r, 20));
      return { echoed: params };
    });
    assert.throws(() => sock.registerCommand("/fwd/mode", () => ({})), /already registered/);
    const c = await AppClient.connect(sock.path);
    try {
      // Pipelined requests keep their order even when the first handler is slow.
      const [a, b] = await Promise.all([c.request("/fwd/slow", ["1"]), c.request("/fwd/mode")]);
      assert.deepEqual(a, { echoed: ["1"] });
      assert.deepEqual(b, { mode: "lb" });
      assert.ok((await c.commands()).includes("/fwd/mode"));
      assert.deepEqual(JSON.parse(await sock.run("/fwd/mode")), { mode: "lb" });
    } finally {
      c.close();
      sock.close();
    }
  });

  test("raw clients: one JSON object per message, nothing sent on connect", async () => {
    const { sock } = setup();
    const conn = connectSeqpacket(sock.path);
    try {
      const got: string[] = [];
      conn.onMessage((m) => got.push(m.toString()));
      await new Promise((r) => setTimeout(r, 30));
      assert.deepEqual(got, [], "CNDP's server sends nothing until asked (unlike DPDK telemetry)");
      conn.send("/app/appname");
      conn.send("/app/hostname");
      const end = Date.now() + 2000;
      while (got.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(got, ['{"name":"synth"}', JSON.stringify({ hostname: hostname() })]);
    } finally {
      conn.close();
      sock.close();
    }
  });

  test("CNDP's own client flow works (python, as tools/cndp-metrics.py)", { skip: !hasPython() && "python3 not installed" }, async () => {
    const { sock, advance } = setup();
    try {
      advance(2500); // 1000 pps for 2.5 s of the fake clock: 2500 packets on each port
      const script = [
        "import socket, json, sys",
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)",
        "s.connect(sys.argv[1])",
        "s.send(b'/info'); info = json.loads(s.recv(1024).decode())",
        "s.send(b'/'); cmds = json.loads(s.recv(info['max_output_len']).decode())['/']",
        "s.send(b'/metrics/port_stats'); st = json.loads(s.recv(info['max_output_len']).decode())",
        "print(json.dumps({'pid': info['pid'], 'n': len(cmds), 'rx': st['eth0:0_n_rx_packets']}))",
      ].join("\n");
      // execFileSync blocks this event loop, so run python asynchronously.
      const out = await new Promise<string>((resolve, reject) => {
        import("node:child_process").then(({ execFile }) =>
          execFile("python3", ["-c", script, sock.path], { timeout: 5000 }, (err, stdout, stderr) =>
            err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
          ),
        );
      });
      const r = JSON.parse(out) as { pid: number; n: number; rx: number };
      assert.equal(r.pid, process.pid);
      assert.equal(r.n, (JSON.parse(await sock.run("/")) as { "/": string[] })["/"].length, "every registered command listed");
      assert.equal(r.rx, 2500);
    } finally {
      sock.close();
    }
  });
});

describe("joinPorts", () => {
  test("works without /app/ports (a CNDP app's flat stats alone)", () => {
    const ports = joinPorts(undefined, { "enp1s0:0_n_acl_permit_packets": 2, "enp1s0:0_n_rx_packets": 5, "enp1s0:0_n_tx_bytes": 7 });
    assert.equal(ports.length, 1);
    assert.equal(ports[0]!.name, "enp1s0:0");
    assert.equal(ports[0]!.netdev, "enp1s0");
    assert.deepEqual(ports[0]!.stats, { ipackets: 5, obytes: 7 });
    assert.deepEqual(ports[0]!.extra, { n_acl_permit_packets: 2 });
  });
});

function hasPython(): boolean {
  try {
    execFileSync("python3", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("/info", () => {
  test("stays within CNDP's 1024-byte /info read: counts instead of lists when there are many commands", async () => {
    const reg = new CommandRegistry({ info: () => ({ version: "v", pid: 1, max_output_len: 16384 }) });
    reg.register("/a/one", () => ({}));
    const small = JSON.parse(await reg.dispatch("/info")) as { groups: Record<string, unknown> };
    assert.deepEqual(small.groups, { "/": ["/", "/info"], "/a": ["/a/one"] });
    for (let i = 0; i < 60; i++) reg.register(`/many/command_number_${i}`, () => ({}));
    const text = await reg.dispatch("/info");
    assert.ok(text.length <= 1024, `${text.length} bytes`);
    assert.deepEqual((JSON.parse(text) as { groups: unknown }).groups, { "/": 2, "/a": 1, "/many": 60 });
  });
});

describe("lportStatsFrom", () => {
  test("maps pktdev/xsk counter names to CNDP's fields", () => {
    assert.deepEqual(
      lportStatsFrom({ ipackets: 1, ibytes: 64, rx_empty_polls: 3, fill_nobuf: 4, rx_wakeups: 5, tx_completed: 6, tx_kicks: 7, mystery: 9 }),
      { ipackets: 1, ibytes: 64, rx_ring_empty: 3, fq_alloc_zero: 4, rx_poll_wakeup: 5, cq_buf_freed: 6, tx_kicks: 7 },
    );
  });
});
