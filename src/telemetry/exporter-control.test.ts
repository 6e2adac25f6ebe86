/**
 * The exporter's control API against a real app process (synthetic-app.ts): GET never changes state
 * (mutating commands answer 405 and the threads keep running), POST needs the bearer token from the token
 * file (401 without it or with a wrong one, 200 and the effect with it, re-read when the file changes),
 * 403 while the control API is off; /metrics, /healthz and /readyz stay open; malformed percent-encoding
 * answers 400 and paths with empty segments 404. Requests go out through node:http, which sends the path
 * as written (fetch would normalize it).
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startExporter, parseExporterArgs, type RunningExporter } from "./exporter-cli.js";
import { readControlToken, READ_ONLY_COMMANDS } from "./exporter-http.js";
import { nullLogger } from "./log.js";
import { spawnSynthetic, until, sample, type SyntheticProcess } from "../testing/telemetry-fixtures.js";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request with the path sent exactly as given. */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        let json: unknown = undefined;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const TOKEN = "0123456789abcdef0123456789abcdef";
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

let root = "";
before(() => {
  root = mkdtempSync(join(tmpdir(), "xdp-exporter-ctl-"));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** An exporter (control on when `tokenFile` is given) and one synthetic app process named `s`. */
async function setup(name: string, tokenFile?: string): Promise<{ ex: RunningExporter; app: SyntheticProcess; port: number }> {
  const dir = join(root, name);
  const ex = await startExporter(
    { socketDir: dir, host: "127.0.0.1", port: 0, intervalMs: 100, timeoutMs: 1000, help: false, ...(tokenFile !== undefined ? { controlTokenFile: tokenFile } : {}) },
    nullLogger,
  );
  let app: SyntheticProcess;
  try {
    app = await spawnSynthetic(dir, ["--name", "s"]);
    await until(async () => (await raw(ex.port, "GET", "/readyz")).status === 200, 15000, "the app to be ready");
  } catch (e) {
    await ex.stop();
    throw e;
  }
  return { ex, app, port: ex.port };
}

/** The app's fwd threads' running flags, read from the app itself through the exporter. */
async function running(port: number): Promise<boolean[]> {
  const r = await raw(port, "GET", "/apps/s/threads");
  assert.equal(r.status, 200, r.text);
  return (r.json.threads as { type: string; running: boolean }[]).filter((t) => t.type === "fwd").map((t) => t.running);
}

async function adminUp(port: number): Promise<boolean[]> {
  const r = await raw(port, "GET", "/apps/s/ports");
  return (r.json.ports as { adminUp: boolean }[]).map((p) => p.adminUp);
}

/** GET on a mutating command or route: 405 with Allow: POST, and the app's state unchanged. */
async function assertGetRefused(port: number): Promise<void> {
  const mutating = [
    "/apps/s/commands/app/stop?params=all",
    "/apps/s/commands/app/stop",
    "/apps/s/commands/APP/Stop?param=fwd:0",
    "/apps/s/commands/app/start?params=all",
    "/apps/s/commands/synth/admin?params=synth0:0,down",
    "/apps/s/commands/synth/link?params=synth0:0,down",
    "/apps/s/commands/fwd/mode?params=hairpin", // read-only without parameters, not with them
    "/apps/s/commands/app%2Fstop?params=all",
    "/apps/s/threads/all/stop",
    "/apps/s/threads/fwd:0/stop",
  ];
  for (const path of mutating) {
    const r = await raw(port, "GET", path);
    assert.equal(r.status, 405, `GET ${path}: ${r.text}`);
    assert.equal(r.headers["allow"], "POST", `GET ${path}: Allow`);
    assert.equal(r.json.status, 405);
  }
  assert.deepEqual(await running(port), [true, true], "GET stopped no thread");
  assert.deepEqual(await adminUp(port), [true, true], "GET set no port down");
  const m = (await raw(port, "GET", "/metrics")).text;
  assert.equal(sample(m, "xdplane_app_ready", { app: "s" }), 1);
}

async function assertOpen(port: number): Promise<void> {
  for (const p of ["/metrics", "/healthz", "/readyz", "/apps", "/apps/s", "/apps/s/ports", "/apps/s/threads", "/apps/s/commands", "/apps/s/commands/app/appname", "/apps/s/commands/metrics/port_stats", "/"]) {
    const r = await raw(port, "GET", p);
    assert.equal(r.status, 200, `GET ${p} without a token: ${r.text}`);
  }
}

describe("exporter control API on (--control-token-file)", () => {
  let ex: RunningExporter;
  let app: SyntheticProcess;
  let port = 0;
  const tokenFile = () => join(root, "token");

  before(async () => {
    writeFileSync(tokenFile(), `${TOKEN}\n`, { mode: 0o600 });
    ({ ex, app, port } = await setup("on", tokenFile()));
  });
  after(async () => {
    await app?.kill();
    await ex?.stop();
  });

  test("GET on a mutating command answers 405 and changes nothing", async () => {
    await assertGetRefused(port);
  });

  test("/metrics, /healthz, /readyz and read-only GETs need no token", async () => {
    await assertOpen(port);
    const r = await raw(port, "GET", "/apps/s/commands/app/appname");
    assert.deepEqual(r.json, { name: "s" });
  });

  test("POST without a token or with a wrong one: 401 with WWW-Authenticate, nothing stopped", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /Authorization required/],
      [{ authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` }, /must be 'Bearer <token>'/],
      [{ authorization: "Bearer" }, /must be 'Bearer <token>'/],
      [bearer("wrong-token-0123456789abcdef"), /Invalid token/],
      [bearer(TOKEN.slice(0, -1)), /Invalid token/],
      [bearer(`${TOKEN}x`), /Invalid token/],
    ];
    for (const path of ["/apps/s/threads/all/stop", "/apps/s/commands/app/stop?params=all", "/apps/s/commands/app/appname", "/apps/nosuch/threads/all/stop"]) {
      for (const [headers, msg] of cases) {
        const r = await raw(port, "POST", path, headers);
        assert.equal(r.status, 401, `POST ${path} ${JSON.stringify(headers)}: ${r.text}`);
        assert.match(r.json.error, msg);
        assert.match(String(r.headers["www-authenticate"]), /^Bearer realm="xdplane-exporter"/);
        if (/Invalid/.test(String(msg))) assert.match(String(r.headers["www-authenticate"]), /error="invalid_token"/);
      }
    }
    assert.deepEqual(await running(port), [true, true]);
  });

  test("POST with the token: 200 and the effect; the scheme is case-insensitive", async () => {
    let r = await raw(port, "POST", "/apps/s/threads/all/stop", bearer(TOKEN));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.threads.map((t: { status: string }) => t.status), ["paused", "paused"]);
    assert.deepEqual(await running(port), [false, false]);
    r = await raw(port, "POST", "/apps/s/commands/app/start?params=fwd:0", { authorization: `bearer ${TOKEN}` });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await running(port), [true, false]);
    r = await raw(port, "POST", "/apps/s/commands/app/start?params=all", bearer(TOKEN));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await running(port), [true, true]);
    r = await raw(port, "POST", "/apps/s/commands/app/appname", bearer(TOKEN));
    assert.deepEqual(r.json, { name: "s" }, "POST runs read-only commands too");
    r = await raw(port, "POST", "/apps/s/commands/synth/admin?params=synth1:0,down", bearer(TOKEN));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await adminUp(port), [true, false]);
    await raw(port, "POST", "/apps/s/commands/synth/admin?params=synth1:0,up", bearer(TOKEN));
    assert.deepEqual(await adminUp(port), [true, true]);
  });

  test("the token file is re-read: a new token works at once, the old one stops working; no file: 503", async () => {
    const next = "rotated-token-ABCDEFGHIJKLMNOP";
    try {
      writeFileSync(tokenFile(), next);
      assert.equal((await raw(port, "POST", "/apps/s/commands/app/appname", bearer(TOKEN))).status, 401);
      assert.equal((await raw(port, "POST", "/apps/s/commands/app/appname", bearer(next))).status, 200);
      unlinkSync(tokenFile());
      let r = await raw(port, "POST", "/apps/s/threads/all/stop", bearer(next));
      assert.equal(r.status, 503, r.text);
      assert.match(r.json.error, /control API is unavailable: Cannot read the control token file/);
      writeFileSync(tokenFile(), "short");
      r = await raw(port, "POST", "/apps/s/threads/all/stop", bearer("short"));
      assert.equal(r.status, 503, r.text);
      assert.match(r.json.error, /5 characters: at least 16/);
      assert.deepEqual(await running(port), [true, true]);
    } finally {
      writeFileSync(tokenFile(), `${TOKEN}\n`);
    }
  });

  test("405 (with Allow) comes before authorization", async () => {
    const r = await raw(port, "DELETE", "/apps/s/threads/all/stop", bearer(TOKEN));
    assert.equal(r.status, 405);
    assert.equal(r.headers["allow"], "POST");
  });
});

describe("exporter control API off (the default)", () => {
  let ex: RunningExporter;
  let app: SyntheticProcess;
  let port = 0;

  before(async () => {
    ({ ex, app, port } = await setup("off"));
  });
  after(async () => {
    await app?.kill();
    await ex?.stop();
  });

  test("every POST answers 403 naming the flag, with or without a token; GET on mutating commands 405", async () => {
    for (const path of ["/apps/s/threads/all/stop", "/apps/s/commands/app/stop?params=all", "/apps/s/commands/app/appname", "/apps/nosuch/threads/1/stop"]) {
      for (const headers of [{}, bearer(TOKEN)]) {
        const r = await raw(port, "POST", path, headers);
        assert.equal(r.status, 403, `POST ${path}: ${r.text}`);
        assert.match(r.json.error, /control API is off: start the exporter with --control-token-file/);
      }
    }
    await assertGetRefused(port);
  });

  test("/metrics, /healthz, /readyz and read-only GETs are open", async () => {
    await assertOpen(port);
  });

  test("malformed percent-encoding answers 400 naming the problem", async () => {
    const cases: [string, string, RegExp][] = [
      ["GET", "/apps/%zz", /Malformed percent-encoding in the path: '%zz' is not '%' and two hex digits/],
      ["GET", "/apps/s%", /Malformed percent-encoding in the path: '%'/],
      ["GET", "/apps/%E0%A4/ports", /Malformed percent-encoding in the path: the bytes are not UTF-8/],
      ["GET", "/apps/%FF", /not UTF-8/],
      ["GET", "/metrics?x=%zz", /Malformed percent-encoding in query parameter 'x'/],
      ["GET", "/apps/s/commands/app/appname?params=%zz", /Malformed percent-encoding in query parameter 'params'/],
      ["GET", "/apps/s/commands/app/appname?params=%FF", /not UTF-8/],
      ["GET", "/apps/s/commands/app/appname?%zz=1", /Malformed percent-encoding in the query/],
      ["POST", "/apps/s/threads/%zz/stop", /Malformed percent-encoding in the path/],
    ];
    for (const [method, path, msg] of cases) {
      const r = await raw(port, method, path);
      assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.status, 400);
      assert.match(r.json.error, msg, `${method} ${path}`);
    }
    // Well-formed encodings still work.
    assert.equal((await raw(port, "GET", `/apps/s/ports/${encodeURIComponent("synth0:0")}`)).status, 200);
    assert.equal((await raw(port, "GET", "/apps/%73/ports")).status, 200);
  });

  test("paths with empty segments answer 404; one trailing '/' is tolerated", async () => {
    for (const path of ["//apps", "//", "/apps//s", "//apps/s/ports", "/apps/s//ports", "/apps//", "///metrics", "//metrics"]) {
      const r = await raw(port, "GET", path);
      assert.equal(r.status, 404, `GET ${path}: ${r.text}`);
      assert.match(r.json.error, /empty path segment/);
    }
    assert.equal((await raw(port, "GET", "/apps/")).status, 200);
    assert.equal((await raw(port, "GET", "/")).status, 200);
  });
});

describe("control token and arguments", () => {
  test("--control-token-file is parsed; off by default", () => {
    assert.equal(parseExporterArgs([]).controlTokenFile, undefined);
    assert.equal(parseExporterArgs(["--control-token-file", "/run/secrets/t"]).controlTokenFile, "/run/secrets/t");
    assert.throws(() => parseExporterArgs(["--control-token-file", ""]), /Invalid --control-token-file/);
    assert.throws(() => parseExporterArgs(["--control-token-file"]), /needs a value/);
  });

  test("readControlToken trims, and refuses empty, short and header-unsafe tokens", async () => {
    const f = join(root, "t");
    writeFileSync(f, `  ${TOKEN}\r\n`);
    assert.equal(await readControlToken(f), TOKEN);
    writeFileSync(f, "");
    await assert.rejects(readControlToken(f), /is empty: at least 16/);
    writeFileSync(f, "abc");
    await assert.rejects(readControlToken(f), /3 characters: at least 16/);
    writeFileSync(f, "has spaces inside the token value");
    await assert.rejects(readControlToken(f), /characters a bearer token cannot/);
    await assert.rejects(readControlToken(join(root, "none")), /Cannot read the control token file/);
  });

  test("the read-only list holds no command that changes state", () => {
    for (const c of ["/app/stop", "/app/start", "/fwd/admin", "/synth/admin", "/synth/link"]) assert.equal(READ_ONLY_COMMANDS.has(c), false, c);
    // cnet's tables and counters are reads (a GET of them answered 405 before).
    for (const c of ["/cnet/interfaces", "/cnet/routes", "/cnet/arp", "/cnet/nd", "/cnet/tcp", "/cnet/stats"]) assert.equal(READ_ONLY_COMMANDS.has(c), true, c);
  });
});

describe("xdplane exporter main() with --control-token-file", () => {
  test("starts without the token file (a Secret may come later), warns, answers 503 until the file is there", async () => {
    const { spawn } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const cli = fileURLToPath(new URL("./exporter-cli.js", import.meta.url));
    const tokenFile = join(root, "later-token");
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", `import { main } from ${JSON.stringify(cli)}; process.exitCode = await main(process.argv.slice(1));`, "--",
        "--socket-dir", join(root, "cli"), "--listen", "127.0.0.1:0", "--control-token-file", tokenFile],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    try {
      let err = "";
      child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      const line = await until(() => err.split("\n").find((l) => l.includes('"exporter listening"')), 10000, "the listening log line");
      const rec = JSON.parse(line) as { address: string; control: string };
      assert.equal(rec.control, `on (token file ${tokenFile})`);
      assert.match(err, /"level":"warning","name":"exporter","msg":"control API enabled but its token is unusable/);
      const port = Number(rec.address.split(":").pop());
      assert.equal((await raw(port, "POST", "/apps/x/threads/all/stop", bearer(TOKEN))).status, 503);
      assert.equal((await raw(port, "GET", "/healthz")).status, 200);
      writeFileSync(tokenFile, TOKEN);
      assert.equal((await raw(port, "POST", "/apps/x/threads/all/stop", bearer(TOKEN))).status, 404, "authorized; then no app 'x'");
      assert.equal((await raw(port, "POST", "/apps/x/threads/all/stop", bearer("not-the-token-0123456789"))).status, 401);
      const code = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
      child.kill("SIGTERM");
      assert.equal(await code, 0);
      assert.match(err, /"msg":"control request refused: invalid token"/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
