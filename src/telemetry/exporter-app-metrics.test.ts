/**
 * App-defined metrics: the exporter asks every app `/metrics/app` and exports the reply as
 * `xdplane_app_<name>` with the app's labels. Against real app sockets (in-process AppSockets and a
 * synthetic app process), with a real Exporter.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppSocket } from "./app-socket.js";
import { Exporter, parseAppMetrics } from "./exporter.js";
import { Logger } from "./log.js";
import type { Reply } from "./commands.js";
import { SyntheticApp } from "../testing/synthetic-app.js";
import { spawnSynthetic, until, sample, type SyntheticProcess } from "../testing/telemetry-fixtures.js";

let root = "";
before(() => {
  root = mkdtempSync(join(tmpdir(), "xdp-appmetrics-"));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

let k = 0;
const PID = String(process.pid);

/** An in-process app socket whose `/metrics/app` answers `reply()` (not registered when `reply` is null). */
function appWith(dir: string, name: string, reply: (() => Reply) | null, maxOutput?: number): AppSocket {
  const sock = AppSocket.open(new SyntheticApp({ name, ports: [`${name}0:0`] }), {
    path: join(dir, `app_socket.${90000 + k++}`), ...(maxOutput !== undefined ? { maxOutput } : {}),
  });
  if (reply !== null) sock.registerCommand("/metrics/app", () => reply(), "app-defined metrics");
  return sock;
}

/** A logger that keeps its records. */
function capture(): { log: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const log = new Logger({ level: "debug", json: true, sink: { write: (s: string) => lines.push(JSON.parse(s) as { level: string; msg: string }) } });
  return { log, lines };
}

/** Scrapes until `cond(text)`. */
async function scrapeUntil(ex: Exporter, cond: (text: string) => boolean, what: string): Promise<string> {
  return until(async () => {
    const t = await ex.metricsText();
    return cond(t) ? t : "";
  }, 5000, what);
}

const flow = (f: string) => ({ app: "fa", pid: PID, flow: f });

describe("parseAppMetrics", () => {
  test("validates names, types, labels and values; counts what it drops; caps the series", () => {
    const r = parseAppMetrics({
      metrics: [
        { name: "ok_total", type: "counter", help: "fine", samples: [{ labels: { a: "1" }, value: 1 }, { labels: { a: "2" }, value: 2 }, { labels: { a: "1" }, value: 3 }] },
        { name: "9bad", type: "gauge", samples: [{ value: 1 }, { value: 2 }] },
        { name: "bad-name", type: "gauge", samples: [{ value: 1 }] },
        { name: "hist", type: "histogram", samples: [{ value: 1 }] },
        { name: "ok_total", type: "counter", samples: [{ value: 1 }] },
        { name: "up", type: "gauge", samples: [{ value: 1 }] },
        { name: "nosamples", type: "gauge" },
        { name: "g", type: "gauge", samples: [
          { labels: { __x: "1" }, value: 1 }, { labels: { app: "x" }, value: 1 }, { labels: { "bad-label": "x" }, value: 1 },
          { labels: { l: {} }, value: 1 }, { value: "12" }, { labels: { l: 7 }, value: -1.5 }, { labels: { l: "a" }, value: 0 },
          { labels: { l: "b" }, value: 0 }, { labels: { l: "c" }, value: 0 },
        ] },
        { name: "neg_total", type: "counter", samples: [{ value: -1 }, { value: 5 }] },
      ],
    }, 5, (n) => n === "xdplane_app_up");
    assert.ok(r !== null);
    assert.deepEqual(r.families.map((f) => [f.name, f.type, f.samples.length]), [["xdplane_app_ok_total", "counter", 2], ["xdplane_app_g", "gauge", 3]]);
    assert.deepEqual(r.families[1]!.samples[0], { labels: { l: "7" }, value: -1.5 });
    assert.equal(r.families[1]!.help, "App metric 'g'.");
    // invalid: 1 repeated label set, 2 + 1 + 1 (bad names, type), 1 repeated name, 1 reserved, 1 no samples,
    // 5 bad samples in g, 1 negative counter
    assert.equal(r.invalid, 1 + 4 + 1 + 1 + 1 + 5 + 1);
    assert.equal(r.overLimit, 1 + 1); // g's third sample and neg_total's valid one
    assert.equal(parseAppMetrics({ error: "invalid cmd (/metrics/app)" }, 5), null);
    assert.equal(parseAppMetrics({ something: 1 }, 5), null);
    assert.deepEqual(parseAppMetrics({ metrics: [] }, 5), { families: [], invalid: 0, overLimit: 0 });
  });
});

describe("exporter: app-defined metrics", () => {
  test("exports them with the app's labels and its values; series vanish when the app drops them", async () => {
    const dir = join(root, `d${k++}`);
    let flows: Record<string, number> = { "10.0.0.1:1000->10.0.0.2:2000/udp": 42, "10.0.0.3:1->10.0.0.4:2/tcp": 7 };
    let withGauge = true;
    const sock = appWith(dir, "fa", () => ({
      metrics: [
        { name: "flow_packets_total", type: "counter", help: "Packets per flow.", samples: Object.entries(flows).map(([f, v]) => ({ labels: { flow: f }, value: v })) },
        ...(withGauge ? [{ name: "flows", type: "gauge", help: "Flows in the table.", samples: [{ value: Object.keys(flows).length }] }] : []),
      ],
    }));
    const ex = new Exporter({ socketDir: dir, intervalMs: 100, freshMs: 0 });
    try {
      ex.start();
      let text = await scrapeUntil(ex, (t) => t.includes("xdplane_app_flow_packets_total{"), "the app's metrics");
      assert.match(text, /# HELP xdplane_app_flow_packets_total Packets per flow\.\n# TYPE xdplane_app_flow_packets_total counter\n/);
      assert.match(text, /# TYPE xdplane_app_flows gauge\n/);
      assert.equal(sample(text, "xdplane_app_flow_packets_total", flow("10.0.0.1:1000->10.0.0.2:2000/udp")), 42);
      assert.equal(sample(text, "xdplane_app_flow_packets_total", flow("10.0.0.3:1->10.0.0.4:2/tcp")), 7);
      assert.match(text, new RegExp(`xdplane_app_flows\\{app="fa",pid="${PID}"\\} 2\\n`));
      // the standard metrics are still there
      assert.ok(sample(text, "xdplane_port_info", { app: "fa", port: "fa0:0" }) === 1);
      // the app's totals, not sums of them
      flows = { "10.0.0.1:1000->10.0.0.2:2000/udp": 50 };
      text = await scrapeUntil(ex, (t) => sample(t, "xdplane_app_flow_packets_total", flow("10.0.0.1:1000->10.0.0.2:2000/udp")) === 50, "the new value");
      assert.equal(sample(text, "xdplane_app_flow_packets_total", flow("10.0.0.3:1->10.0.0.4:2/tcp")), undefined, "the dropped flow is gone");
      assert.match(text, new RegExp(`xdplane_app_flows\\{app="fa",pid="${PID}"\\} 1\\n`));
      withGauge = false;
      text = await scrapeUntil(ex, (t) => !t.includes("xdplane_app_flows"), "the gauge to vanish");
      assert.ok(!text.includes("xdplane_app_flows "), "no HELP/TYPE left either");
      flows = {};
      text = await scrapeUntil(ex, (t) => !t.includes("xdplane_app_flow_packets_total"), "the counter to vanish");
      assert.ok(!text.includes('xdplane_exporter_app_metrics_dropped_total{'), "nothing dropped");
      assert.equal(sample(text, "xdplane_exporter_poll_errors_total", {}) ?? 0, 0);
    } finally {
      await ex.close();
      sock.close();
    }
  });

  test("drops and counts invalid names and series over the cap; keeps the rest", async () => {
    const dir = join(root, `d${k++}`);
    const sock = appWith(dir, "fb", () => ({
      metrics: [
        { name: "bad-name", type: "gauge", samples: [{ value: 1 }] },
        { name: "up", type: "gauge", samples: [{ value: 1 }] }, // would be xdplane_app_up, the exporter's own
        { name: "hits_total", type: "counter", samples: [
          { labels: { __reserved: "x" }, value: 1 }, { labels: { "x-y": "x" }, value: 1 }, { labels: { pid: "1" }, value: 1 },
          ...Array.from({ length: 6 }, (_, i) => ({ labels: { n: String(i) }, value: i })),
        ] },
      ],
    }));
    const ex = new Exporter({ socketDir: dir, intervalMs: 100, freshMs: 0, maxAppSeries: 4 });
    try {
      ex.start();
      const text = await scrapeUntil(ex, (t) => t.includes("xdplane_app_hits_total{"), "the valid series");
      for (let i = 0; i < 6; i++) assert.equal(sample(text, "xdplane_app_hits_total", { app: "fb", pid: PID, n: String(i) }), i < 4 ? i : undefined);
      assert.ok(!/xdplane_app_bad|__reserved|x-y/.test(text));
      assert.equal(sample(text, "xdplane_app_up", { app: "fb" }), 1, "the exporter's own xdplane_app_up is untouched");
      const invalid = sample(text, "xdplane_exporter_app_metrics_dropped_total", { app: "fb", pid: PID, reason: "invalid" })!;
      const limit = sample(text, "xdplane_exporter_app_metrics_dropped_total", { app: "fb", pid: PID, reason: "limit" })!;
      // counted once per reply: 5 invalid and 2 over the cap each time
      assert.ok(invalid >= 5 && invalid % 5 === 0 && limit === (invalid / 5) * 2, `invalid ${invalid}, limit ${limit}`);
    } finally {
      await ex.close();
      sock.close();
    }
  });

  test("an app without the command works as before: asked once per connection, no errors, no log lines", async () => {
    const dir = join(root, `d${k++}`);
    const { log, lines } = capture();
    let asked = 0;
    let sock = appWith(dir, "fc", () => {
      asked++;
      return { error: "no app metrics here" };
    });
    const path = sock.path;
    let synth: SyntheticProcess | null = null;
    const ex = new Exporter({ socketDir: dir, intervalMs: 50, freshMs: 0, log });
    try {
      synth = await spawnSynthetic(dir, ["--name", "plain"]); // a process without /metrics/app (invalid cmd)
      ex.start();
      await until(() => ex.apps().filter((e) => e.state === "up").length === 2, 5000, "both apps up");
      for (let i = 0; i < 5; i++) await ex.metricsText();
      await new Promise((r) => setTimeout(r, 300));
      const text = await ex.metricsText();
      assert.equal(asked, 1, "asked once");
      assert.ok(sample(text, "xdplane_port_rx_packets_total", { app: "plain", port: "synth0:0" })! >= 0);
      assert.equal(sample(text, "xdplane_app_ready", { app: "plain" }), 1);
      assert.equal(sample(text, "xdplane_app_up", { app: "fc" }), 1);
      assert.ok(!/^xdplane_app_(?!info|up|ready)/m.test(text.replace(/^#.*$/gm, "")), "no app-defined metrics");
      assert.equal(sample(text, "xdplane_exporter_poll_errors_total", {}) ?? 0, 0);
      assert.ok(!text.includes("xdplane_exporter_app_metrics_dropped_total{"));
      assert.deepEqual(lines.filter((l) => l.level !== "info" && l.level !== "debug"), [], "no warnings");
      assert.ok(!lines.some((l) => /metric/i.test(l.msg)), "nothing logged about app metrics");
      assert.deepEqual(ex.apps().map((e) => e.appMetricsState).sort(), ["none", "none"]);
      // the app restarts (a new socket) and now has metrics: asked again
      sock.close();
      sock = appWith(dir, "fc", () => ({ metrics: [{ name: "answers", type: "gauge", samples: [{ value: 42 }] }] }));
      assert.notEqual(sock.path, path);
      const t2 = await scrapeUntil(ex, (t) => t.includes("xdplane_app_answers{"), "the restarted app's metric");
      assert.equal(sample(t2, "xdplane_app_answers", { app: "fc", pid: PID }), 42);
    } finally {
      await ex.close();
      sock.close();
      await synth?.kill();
    }
  });

  test("a reply too long for the app's max_output_len: no metrics that poll, one warning, asked again", async () => {
    const dir = join(root, `d${k++}`);
    const { log, lines } = capture();
    let n = 200;
    let asked = 0;
    const sock = appWith(dir, "fd", () => {
      asked++;
      return { metrics: [{ name: "big", type: "gauge", samples: Array.from({ length: n }, (_, i) => ({ labels: { i: `series-${i}` }, value: i })) }] };
    }, 2048);
    const ex = new Exporter({ socketDir: dir, intervalMs: 50, freshMs: 0, log });
    try {
      ex.start();
      await until(() => asked >= 4, 5000, "several polls");
      let text = await ex.metricsText();
      assert.ok(!text.includes("xdplane_app_big"));
      assert.equal(sample(text, "xdplane_app_up", { app: "fd" }), 1);
      assert.equal(lines.filter((l) => l.msg === "app metrics unreadable").length, 1, "warned once");
      n = 3;
      text = await scrapeUntil(ex, (t) => t.includes("xdplane_app_big{"), "the smaller reply");
      assert.equal(sample(text, "xdplane_app_big", { app: "fd", pid: PID, i: "series-2" }), 2);
    } finally {
      await ex.close();
      sock.close();
    }
  });
});
