import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startExporter, parseExporterArgs, type RunningExporter } from "./exporter-cli.js";
import { parseListen } from "./exporter-http.js";
import { AppSocket } from "./app-socket.js";
import { SyntheticApp, registerSyntheticCommands } from "../testing/synthetic-app.js";
import { nullLogger } from "./log.js";
import { metricPart } from "./exporter.js";
import { SeqpacketServer } from "../uds/seqpacket.js";
import { spawnSynthetic, until, http as get, sample, type SyntheticProcess, type Answer } from "../testing/telemetry-fixtures.js";

const TOKEN = "test-token-0123456789abcdef";

/** fetch() as the fixtures' http(), with the control token on POST requests. */
async function http(url: string, method = "GET"): Promise<Answer> {
  return method !== "POST" ? get(url, method) : get(url, method, { authorization: `Bearer ${TOKEN}` });
}

let root = "";
before(() => {
  root = mkdtempSync(join(tmpdir(), "xdp-exporter-"));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

let k = 0;
async function exporterOn(opts: { intervalMs?: number; timeoutMs?: number } = {}): Promise<{ ex: RunningExporter; dir: string; url: string }> {
  const dir = join(root, `d${k++}`);
  const tokenFile = join(root, `token${k}`);
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const ex = await startExporter(
    { socketDir: dir, host: "127.0.0.1", port: 0, intervalMs: opts.intervalMs ?? 200, timeoutMs: opts.timeoutMs ?? 1000, controlTokenFile: tokenFile, help: false },
    nullLogger,
  );
  return { ex, dir, url: `http://127.0.0.1:${ex.port}` };
}

async function appsNamed(url: string, name: string): Promise<{ name: string; pid: number; state: string }[]> {
  const r = await http(`${url}/apps`);
  return (r.json.apps as { name: string; pid: number; state: string }[]).filter((a) => a.name === name && a.state === "up");
}

describe("exporter arguments", () => {
  test("parses listen addresses and options", () => {
    assert.deepEqual(parseListen(":2112"), { host: "0.0.0.0", port: 2112 });
    assert.deepEqual(parseListen("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
    assert.deepEqual(parseListen("[::1]:9000"), { host: "::1", port: 9000 });
    assert.deepEqual(parseListen("9000"), { host: "0.0.0.0", port: 9000 });
    assert.throws(() => parseListen("host:x"), RangeError);
    const a = parseExporterArgs(["--socket-dir", "/tmp/s", "--listen=127.0.0.1:9", "--interval", "500"]);
    assert.equal(a.socketDir, "/tmp/s");
    assert.equal(a.port, 9);
    assert.equal(a.intervalMs, 500);
    assert.deepEqual(parseExporterArgs([]).port, 2112);
    assert.throws(() => parseExporterArgs(["--bogus"]), /Unknown option '--bogus'/);
    assert.throws(() => parseExporterArgs(["--interval", "x"]), /Invalid --interval 'x'/);
    assert.equal(metricPart("rx-bursts.x"), "rx_bursts_x");
    assert.equal(metricPart("9lives"), "_9lives");
  });
});

describe("exporter", () => {
  test("finds an app, exports typed metrics with labels, drops it when it exits", async () => {
    const { ex, dir, url } = await exporterOn();
    let app: SyntheticProcess | null = null;
    try {
      app = await spawnSynthetic(dir, ["--name", "alpha", "--pps", "2000"]);
      const pid = String(app.pid);
      await until(async () => (await appsNamed(url, "alpha")).length === 1, 5000, "alpha to be up");
      const m1 = (await http(`${url}/metrics`)).text;
      assert.match(m1, /^# HELP xdplane_port_rx_packets_total Packets received on the port\.$/m);
      assert.match(m1, /^# TYPE xdplane_port_rx_packets_total counter$/m);
      assert.match(m1, /^# TYPE xdplane_port_up gauge$/m);
      assert.match(m1, /^# TYPE xdplane_thread_packets_total counter$/m);
      const lp = { app: "alpha", pid, port: "synth0:0" };
      const rx1 = sample(m1, "xdplane_port_rx_packets_total", lp);
      assert.ok(rx1 !== undefined && rx1 > 0, `rx packets in ${m1.slice(0, 2000)}`);
      assert.equal(sample(m1, "xdplane_port_rx_bytes_total", lp), rx1 * 64);
      assert.equal(sample(m1, "xdplane_port_up", lp), 1);
      assert.equal(sample(m1, "xdplane_port_info", { ...lp, netdev: "synth0", qid: "0", pmd: "net_synthetic" }), 1);
      assert.equal(sample(m1, "xdplane_thread_running", { app: "alpha", pid, thread: "fwd:0" }), 1);
      assert.equal(sample(m1, "xdplane_app_up", { app: "alpha", pid }), 1);
      assert.equal(sample(m1, "xdplane_app_ready", { app: "alpha", pid }), 1);
      assert.ok(sample(m1, "xdplane_app_info", { app: "alpha", pid }) === 1);
      await new Promise((r) => setTimeout(r, 300));
      const rx2 = sample((await http(`${url}/metrics`)).text, "xdplane_port_rx_packets_total", lp)!;
      assert.ok(rx2 > rx1, `the counter grows (${rx1} -> ${rx2})`);

      await app.kill("SIGTERM"); // a clean exit removes the socket file
      assert.equal(existsSync(app.socket), false);
      await until(async () => (await http(`${url}/apps`)).json.apps.length === 0, 5000, "alpha to be dropped");
      const m3 = (await http(`${url}/metrics`)).text;
      assert.equal(sample(m3, "xdplane_port_rx_packets_total", lp), undefined, "no series left for a gone app");
    } finally {
      await app?.kill();
      await ex.stop();
    }
  });

  test("survives an app killed with SIGKILL and picks up a new one", async () => {
    const { ex, dir, url } = await exporterOn();
    const apps: SyntheticProcess[] = [];
    try {
      const a = await spawnSynthetic(dir, ["--name", "crashy"]);
      apps.push(a);
      await until(async () => (await appsNamed(url, "crashy")).length === 1, 5000, "crashy to be up");
      await a.kill("SIGKILL");
      assert.equal(existsSync(a.socket), true, "SIGKILL leaves the socket file behind");
      await until(async () => (await http(`${url}/apps`)).json.apps.length === 0, 5000, "the stale socket to be dropped");
      assert.equal((await http(`${url}/healthz`)).status, 200);
      assert.equal((await http(`${url}/metrics`)).status, 200);

      const b = await spawnSynthetic(dir, ["--name", "fresh"]);
      apps.push(b);
      await until(async () => (await appsNamed(url, "fresh")).length === 1, 5000, "fresh to be up");
      // The new app's counter is scraped live: present, and growing from one scrape to a later one.
      const rxOf = async () => sample((await http(`${url}/metrics`)).text, "xdplane_port_rx_packets_total", { app: "fresh", pid: String(b.pid), port: "synth0:0" });
      const first = await until(rxOf, 5000, "fresh's rx counter to be exported and non-zero");
      await until(async () => ((await rxOf()) ?? 0) > first, 5000, `fresh's rx counter to grow past ${first}`);
      const m = (await http(`${url}/metrics`)).text;
      assert.equal(sample(m, "xdplane_app_up", { app: "crashy", pid: String(a.pid) }), undefined);
      assert.equal(sample(m, "xdplane_exporter_apps", { state: "up" }), 1);
    } finally {
      for (const p of apps) await p.kill();
      await ex.stop();
    }
  });

  test("serves several apps at once", async () => {
    const { ex, dir, url } = await exporterOn();
    const apps: SyntheticProcess[] = [];
    try {
      const names = ["one", "twin", "twin"];
      for (const n of names) apps.push(await spawnSynthetic(dir, ["--name", n]));
      await until(async () => (await http(`${url}/apps`)).json.apps.filter((a: { state: string }) => a.state === "up").length === 3, 5000, "3 apps up");
      const m = (await http(`${url}/metrics`)).text;
      for (const [i, n] of names.entries()) {
        assert.equal(sample(m, "xdplane_app_up", { app: n, pid: String(apps[i]!.pid) }), 1);
      }
      const amb = await http(`${url}/apps/twin/ports`);
      assert.equal(amb.status, 409);
      assert.match(amb.json.error, /ambiguous/);
      const byPid = await http(`${url}/apps/${apps[2]!.pid}/ports`);
      assert.equal(byPid.status, 200);
      assert.equal(byPid.json.ports.length, 2);
    } finally {
      for (const p of apps) await p.kill();
      await ex.stop();
    }
  });

  test("an app that accepts but never answers fails liveness", async () => {
    const { ex, dir, url } = await exporterOn({ intervalMs: 100, timeoutMs: 200 });
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true });
    const mute = SeqpacketServer.listen(join(dir, "app_socket.999999"), () => undefined);
    try {
      assert.equal((await http(`${url}/healthz`)).status, 200, "a new app gets a grace period");
      const r = await until(async () => {
        const h = await http(`${url}/healthz`);
        return h.status === 503 ? h : null;
      }, 5000, "healthz to fail");
      assert.equal(r.json.status, "failing");
      assert.equal(r.json.failing[0].pid, 999999);
      mute.close();
      await until(async () => (await http(`${url}/healthz`)).status === 200, 5000, "healthz to recover when the app goes");
    } finally {
      mute.close();
      await ex.stop();
    }
  });
});

describe("readiness and REST", () => {
  // One in-process app: fast and lets the test flip its state directly.
  let ex: RunningExporter;
  let url = "";
  let sock: AppSocket;
  let app: SyntheticApp;
  const pid = String(process.pid);

  before(async () => {
    const made = await exporterOn({ intervalMs: 100 });
    ex = made.ex;
    url = made.url;
    assert.equal((await http(`${url}/readyz`)).status, 503, "no apps: not ready");
    assert.deepEqual((await http(`${url}/readyz`)).json.reasons, ["no apps"]);
    app = new SyntheticApp({ name: "rest", ports: ["p0:0", "p1:0"] });
    sock = AppSocket.open(app, { socketDir: made.dir });
    registerSyntheticCommands(sock, app);
    await until(async () => (await http(`${url}/readyz`)).status === 200, 5000, "ready");
  });
  after(async () => {
    sock.close();
    await ex.stop();
  });

  test("readiness turns false when a port goes admin down, and back", async () => {
    app.setAdmin("p1:0", false);
    const r = await until(async () => {
      const x = await http(`${url}/readyz`);
      return x.status === 503 ? x : null;
    }, 3000, "not ready");
    assert.equal(r.json.status, "not ready");
    assert.deepEqual(r.json.apps[0].reasons, ["port p1:0 is admin down"]);
    const m = (await http(`${url}/metrics`)).text;
    assert.equal(sample(m, "xdplane_port_admin_up", { app: "rest", pid, port: "p1:0" }), 0);
    assert.equal(sample(m, "xdplane_port_up", { app: "rest", pid, port: "p1:0" }), 0);
    assert.equal(sample(m, "xdplane_app_ready", { app: "rest", pid }), 0);
    assert.equal((await http(`${url}/healthz`)).status, 200, "liveness does not care about ports");
    app.setAdmin("p1:0", true);
    await until(async () => (await http(`${url}/readyz`)).status === 200, 3000, "ready again");
  });

  test("readiness follows link state and stopped threads (set through REST)", async () => {
    let r = await http(`${url}/apps/rest/commands/synth/link?params=p0:0,down`, "POST");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { port: "p0:0", link_up: false });
    r = await until(async () => {
      const x = await http(`${url}/readyz`);
      return x.status === 503 ? x : null;
    }, 3000, "not ready");
    assert.deepEqual(r.json.apps[0].reasons, ["port p0:0 link is down"]);
    await http(`${url}/apps/rest/commands/synth/link?param=p0:0&param=up`, "POST");

    r = await http(`${url}/apps/rest/threads/fwd:1/stop`, "POST");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { threads: [{ name: "fwd:1", status: "paused" }] });
    r = await http(`${url}/readyz`);
    assert.equal(r.status, 503);
    assert.deepEqual(r.json.apps[0].reasons, ["thread fwd:1 is stopped"]);
    r = await http(`${url}/apps/rest/threads/fwd:1`);
    assert.equal(r.json.running, false);
    r = await http(`${url}/apps/${pid}/threads/all/start`, "POST");
    assert.deepEqual(r.json.threads.map((t: { status: string }) => t.status), ["running", "running"]);
    assert.equal((await http(`${url}/readyz`)).status, 200);
  });

  test("GET routes answer the app's data", async () => {
    let r = await http(`${url}/apps`);
    assert.equal(r.status, 200);
    assert.equal(r.json.apps[0].name, "rest");
    assert.equal(r.json.apps[0].pid, process.pid);
    assert.equal(r.json.apps[0].ready, true);
    r = await http(`${url}/apps/rest`);
    assert.ok(r.json.commands.includes("/synth/admin"));
    assert.equal(r.json.max_output_len, 16384);
    r = await http(`${url}/apps/rest/ports`);
    assert.deepEqual(r.json.ports.map((p: { name: string }) => p.name), ["p0:0", "p1:0"]);
    assert.equal(typeof r.json.ports[0].stats.ipackets, "number");
    r = await http(`${url}/apps/rest/ports/${encodeURIComponent("p1:0")}`);
    assert.equal(r.json.name, "p1:0");
    r = await http(`${url}/apps/rest/threads/2`);
    assert.equal(r.json.name, "fwd:1");
    r = await http(`${url}/apps/rest/threads`);
    assert.equal(r.json.threads.length, 3);
    r = await http(`${url}/apps/rest/commands`);
    assert.ok(r.json.commands.includes("/metrics/port_stats"));
    r = await http(`${url}/apps/rest/commands/app/appname`);
    assert.deepEqual(r.json, { name: "rest" });
    r = await http(`${url}/`);
    assert.ok(r.json.endpoints.includes("/metrics"));
  });

  test("REST errors: 404 unknown, 405 bad method, 400 bad input, all JSON", async () => {
    const cases: [string, string, number, RegExp][] = [
      ["GET", "/apps/nosuch", 404, /App 'nosuch' not found/],
      ["GET", "/apps/nosuch/ports", 404, /App 'nosuch' not found/],
      ["POST", "/apps/nosuch/threads/1/stop", 404, /App 'nosuch' not found/],
      ["GET", "/apps/12345678/ports", 404, /not found/],
      ["GET", "/apps/rest/ports/nosuch", 404, /Port 'nosuch' not found/],
      ["GET", "/apps/rest/threads/nosuch", 404, /Thread 'nosuch' not found/],
      ["POST", "/apps/rest/threads/nosuch/stop", 404, /Thread 'nosuch' not found/],
      ["GET", "/apps/rest/commands/no/such", 405, /GET runs only read-only commands/],
      ["POST", "/apps/rest/commands/no/such", 404, /no command '\/no\/such'/],
      ["GET", "/nowhere", 404, /No route/],
      ["DELETE", "/apps", 405, /not allowed/],
      ["POST", "/apps/rest/ports", 405, /not allowed/],
      ["GET", "/apps/rest/threads/1/stop", 405, /not allowed/],
      ["PUT", "/metrics", 405, /not allowed/],
      ["POST", "/readyz", 405, /not allowed/],
      ["POST", "/apps/rest/threads/bad%2Cid/stop", 400, /Invalid thread 'bad,id'/],
      ["POST", "/apps/rest/threads/fwd:0/pause", 400, /Invalid action 'pause'/],
      ["GET", "/apps/rest/commands/app/appname?foo=1", 400, /Unknown query parameter 'foo'/],
      ["POST", "/apps/rest/commands/synth/admin?param=a%2Cb", 400, /Invalid parameter/],
      ["POST", "/apps/rest/commands/synth/admin?params=p0:0,sideways", 502, /Usage/],
      ["POST", "/apps/rest/threads/main/stop", 502, /main thread/],
    ];
    for (const [method, path, status, msg] of cases) {
      const r = await http(`${url}${path}`, method);
      assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
      assert.match(r.headers.get("content-type") ?? "", /application\/json/, `${method} ${path}`);
      assert.equal(r.json.status, status);
      assert.match(r.json.error, msg, `${method} ${path}`);
      if (status === 405) assert.ok(r.headers.get("allow"), `${method} ${path} has Allow`);
    }
  });
});

describe("xdplane exporter main()", () => {
  test("serves until SIGTERM, then exits 0; logs JSON to a non-terminal stderr", async () => {
    const { spawn } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const cli = fileURLToPath(new URL("./exporter-cli.js", import.meta.url));
    const dir = join(root, "cli");
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", `import { main } from ${JSON.stringify(cli)}; process.exitCode = await main(process.argv.slice(1));`, "--", "--socket-dir", dir, "--listen", "127.0.0.1:0", "--interval", "200"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    try {
      let err = "";
      child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      const line = await until(() => err.split("\n").find((l) => l.includes('"exporter listening"')), 10000, "the listening log line");
      const rec = JSON.parse(line) as { level: string; name: string; address: string; socket_dir: string };
      assert.equal(rec.level, "info");
      assert.equal(rec.name, "exporter");
      assert.equal(rec.socket_dir, dir);
      const url = `http://${rec.address}`;
      assert.equal((await http(`${url}/healthz`)).status, 200);
      assert.equal((await http(`${url}/readyz`)).status, 503);
      const code = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
      child.kill("SIGTERM");
      assert.equal(await code, 0);
      assert.match(err, /"msg":"stopping","signal":"SIGTERM"/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  test("bad arguments exit 2", async () => {
    const { main } = await import("./exporter-cli.js");
    const write = process.stderr.write;
    let err = "";
    process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
    try {
      assert.equal(await main(["--listen", "nope"]), 2);
    } finally {
      process.stderr.write = write;
    }
    assert.match(err, /Invalid listen address 'nope'/);
  });
});
