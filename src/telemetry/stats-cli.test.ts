import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { main, parseStatsArgs, portRates } from "./stats-cli.js";
import { AppSocket } from "./app-socket.js";
import { SyntheticApp } from "../testing/synthetic-app.js";

let dir = "";
let sock: AppSocket;
let app: SyntheticApp;

function capture(tty = false): { out: { write(s: string): boolean; isTTY: boolean }; err: { write(s: string): boolean }; text: () => string; errText: () => string } {
  let o = "";
  let e = "";
  return {
    out: { write: (s: string) => ((o += s), true), isTTY: tty },
    err: { write: (s: string) => ((e += s), true) },
    text: () => o,
    errText: () => e,
  };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "xdp-stats-"));
  app = new SyntheticApp({ name: "statsapp", ports: ["vA:0", "vB:1"], pps: 2000, size: 100 });
  sock = AppSocket.open(app, { socketDir: dir });
});
after(() => {
  sock.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("xdplane stats", () => {
  test("the command itself (a process of its own, as a user runs it) prints the app, twice", async () => {
    // In-process runs keep the event loop alive by themselves; a process of its own once exited while
    // waiting for the app's reply (unref'd timer and client) and printed nothing, with exit code 0.
    const cli = new URL("../cli/main.js", import.meta.url).pathname;
    const child = spawn(process.execPath, [cli, "stats", "--socket-dir", dir, "--count", "2", "--interval", "200"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once("exit", r));
    assert.equal(code, 0, err);
    assert.equal(out.split("xdplane stats  ").filter(Boolean).length, 2, out);
    assert.match(out, /statsapp \(pid \d+/);
  });

  test("prints ports with rates and threads", async () => {
    const io = capture();
    assert.equal(await main(["--socket-dir", dir, "--interval", "300", "--count", "2"], io), 0);
    const text = io.text();
    const blocks = text.split("xdplane stats  ").filter(Boolean);
    assert.equal(blocks.length, 2);
    assert.match(blocks[0]!, /statsapp \(pid \d+, xdplane [\d.]+\): 2 ports \(2 up\), 3 threads/);
    assert.match(blocks[1]!, /^Port\s+State\s+RX pkts\s+RX pps\s+RX Mbps\s+TX pkts\s+TX pps\s+TX Mbps\s+Errors\s+Missed\s+Dropped$/m);
    const line = blocks[1]!.split("\n").find((l) => l.startsWith("vA:0"))!;
    const cols = line.split(/\s{2,}/);
    assert.equal(cols[1], "up");
    const pps = Number(cols[3]!.replace(/,/g, ""));
    assert.ok(Math.abs(pps - 2000) / 2000 < 0.15, `rx pps ${pps} near 2000`);
    assert.match(blocks[1]!, /^fwd:1\s+fwd\s+running\s+vB:1\s+rx_bursts=[\d,]+ packets=[\d,]+$/m);
    assert.doesNotMatch(text, /\x1b\[/, "no escape codes when not on a terminal");
  });

  test("redraws in place on a terminal", async () => {
    const io = capture(true);
    await main(["--socket-dir", dir, "--interval", "50", "--count", "2"], io);
    assert.equal(io.text().split("\x1b[H\x1b[2J").length, 3);
  });

  test("--json gives the same figures as JSON lines; --app filters", async () => {
    app.setAdmin("vB:1", false);
    try {
      const io = capture();
      await main(["--socket-dir", dir, "--interval", "300", "--count", "2", "--json", "--app", "statsapp"], io);
      const lines = io.text().trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(lines.length, 2);
      assert.equal(lines[0].apps[0].ports[0].rates, null);
      const a = lines[1].apps[0];
      assert.equal(a.name, "statsapp");
      assert.equal(a.ports[1].adminUp, false);
      assert.ok(Math.abs(a.ports[0].rates.rxPps - 2000) / 2000 < 0.15, `rxPps ${a.ports[0].rates.rxPps}`);
      assert.ok(Math.abs(a.ports[0].rates.rxBps - 2000 * 800) / (2000 * 800) < 0.15);
      assert.equal(a.ports[1].rates.rxPps, 0, "an admin-down port does not count");

      const none = capture();
      await main(["--socket-dir", dir, "--count", "1", "--app", "other"], none);
      assert.match(none.text(), /No app 'other' found/);
    } finally {
      app.setAdmin("vB:1", true);
    }
  });

  test("bad arguments exit 2 with usage", async () => {
    const io = capture();
    assert.equal(await main(["--count", "0"], io), 2);
    assert.match(io.errText(), /Invalid --count '0'/);
    assert.match(io.errText(), /Usage: xdplane stats/);
    assert.equal(await main(["--help"], io), 0);
    assert.deepEqual(parseStatsArgs(["--interval=250"]).intervalMs, 250);
    assert.equal(portRates(undefined, { stats: {} } as never, 1), undefined);
  });
});
