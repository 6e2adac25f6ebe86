/**
 * A real Prometheus server (Debian's `prometheus` package) scrapes the exporter, and PromQL `rate()` over
 * the synthetic app's counter matches the rate the app counts at. Skipped, with the reason, when the
 * binary is missing (`apt-get install -y prometheus`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startExporter } from "./exporter-cli.js";
import { nullLogger } from "./log.js";
import { spawnSynthetic, until, http, freePort, type SyntheticProcess } from "../testing/telemetry-fixtures.js";

const PROMETHEUS = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find((p) => existsSync(p));
const PPS = 5000;

test(
  "Prometheus scrapes the exporter and rate() matches the app's packet rate",
  { skip: PROMETHEUS === undefined ? "prometheus binary not found (Debian: apt-get install -y prometheus)" : false, timeout: 60000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "xdp-prom-"));
    let app: SyntheticProcess | null = null;
    let prom: ChildProcess | null = null;
    let promLog = "";
    const ex = await startExporter(
      { socketDir: join(dir, "sockets"), host: "127.0.0.1", port: 0, intervalMs: 500, timeoutMs: 1000, help: false },
      nullLogger,
    );
    try {
      app = await spawnSynthetic(join(dir, "sockets"), ["--name", "promsynth", "--pps", String(PPS)]);
      await until(async () => (await http(`http://127.0.0.1:${ex.port}/readyz`)).status === 200, 5000, "the app to be ready");

      const promPort = await freePort();
      const config = join(dir, "prometheus.yml");
      writeFileSync(
        config,
        [
          "global:",
          "  scrape_interval: 1s",
          "  evaluation_interval: 1s",
          "scrape_configs:",
          "  - job_name: xdplane",
          "    static_configs:",
          `      - targets: ["127.0.0.1:${ex.port}"]`,
          "",
        ].join("\n"),
      );
      prom = spawn(
        PROMETHEUS!,
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(dir, "tsdb")}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          "--log.level=warn",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      prom.stderr!.on("data", (d: Buffer) => (promLog += d.toString()));
      const api = `http://127.0.0.1:${promPort}`;
      await until(async () => (await http(`${api}/-/ready`)).status === 200, 20000, `prometheus to be ready (log: ${promLog})`);

      // The target must be up, then rate() needs a few scrapes in its window.
      await until(async () => {
        const r = await http(`${api}/api/v1/targets`);
        return r.json?.data?.activeTargets?.[0]?.health === "up";
      }, 15000, "the exporter target to be up");
      // rate() extrapolates only a little past the first and last samples in its window: wait until the
      // window is full of samples, or the first values come out low.
      const sel = `xdplane_port_rx_packets_total{app="promsynth",port="synth0:0"}`;
      await until(async () => {
        const r = await http(`${api}/api/v1/query?query=${encodeURIComponent(`count_over_time(${sel}[5s])`)}`);
        return Number(r.json?.data?.result?.[0]?.value?.[1] ?? 0) >= 5;
      }, 20000, "5 samples in the window");
      const q = `rate(xdplane_port_rx_packets_total{app="promsynth",port="synth0:0"}[5s])`;
      const value = await until(async () => {
        const r = await http(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
        const res = r.json?.data?.result as { metric: Record<string, string>; value: [number, string] }[] | undefined;
        if (!res || res.length !== 1) return null;
        assert.equal(res[0]!.metric.pid, String(app!.pid));
        const v = Number(res[0]!.value[1]);
        return v > 0 ? v : null;
      }, 20000, `a rate from ${q}`);
      t.diagnostic(`prometheus rate(): ${value.toFixed(1)} pps for ${PPS} pps counted`);
      assert.ok(Math.abs(value - PPS) / PPS < 0.1, `rate ${value} within 10% of ${PPS} pps`);

      const up = await http(`${api}/api/v1/query?query=${encodeURIComponent('xdplane_port_up{app="promsynth"}')}`);
      assert.deepEqual(up.json.data.result.map((r: { value: [number, string] }) => r.value[1]), ["1", "1"]);
      const meta = await http(`${api}/api/v1/metadata?metric=xdplane_port_rx_packets_total`);
      assert.equal(meta.json.data.xdplane_port_rx_packets_total?.[0]?.type, "counter");
    } finally {
      if (prom !== null && prom.exitCode === null) {
        const exited = new Promise((r) => prom!.once("exit", r));
        prom.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (prom.exitCode === null && prom.signalCode === null) prom.kill("SIGKILL");
      }
      await app?.kill();
      await ex.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
