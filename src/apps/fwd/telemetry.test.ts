/**
 * The forwarder under observation: a real Prometheus server scrapes the exporter, which polls the
 * forwarder's app socket while paced traffic flows on a veth pair; PromQL rate() matches the rate sent.
 * Then a port goes admin-down through the socket and the exporter's readiness turns false.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVethPair, canUseNetns } from "../../testing/netns.js";
import { PacketSocket, udpFrame } from "../../testing/packet-socket.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { startExporter } from "../../telemetry/exporter-cli.js";
import { nullLogger } from "../../telemetry/log.js";
import { until, http, freePort } from "../../testing/telemetry-fixtures.js";
import { AppClient } from "../../telemetry/app-client.js";

const PROMETHEUS = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find((p) => existsSync(p));
const cli = new URL("../../cli/main.js", import.meta.url).pathname;
const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : PROMETHEUS === undefined ? "prometheus binary not found (Debian: apt-get install -y prometheus)" : false;

test("Prometheus rate() of the forwarder's rx counter matches the traffic sent; admin-down makes it unready", { skip, timeout: 90000 }, async (t) => {
  const v = createVethPair();
  const dir = mkdtempSync(join(tmpdir(), "xdp-fwdprom-"));
  const sockets = join(dir, "sockets");
  let fwd: ChildProcess | null = null;
  let prom: ChildProcess | null = null;
  let ex: Awaited<ReturnType<typeof startExporter>> | null = null;
  let ps: PacketSocket | null = null;
  let pacer: NodeJS.Timeout | null = null;
  try {
    writeFileSync(join(dir, "fwd.jsonc"), fwdConfig({ ports: [{ netdev: v.a }] }));
    fwd = spawn(process.execPath, [cli, "fwd", "-c", join(dir, "fwd.jsonc"), "rx-only", "--socket-dir", sockets, "--interval", "0"], { stdio: ["ignore", "ignore", "pipe"] });
    let fwdErr = "";
    fwd.stderr!.on("data", (d: Buffer) => (fwdErr += d.toString()));
    await until(() => existsSync(sockets) && readdirSync(sockets).some((f) => f.startsWith("app_socket.")), 10000, `the forwarder's socket (${fwdErr})`);

    ex = await startExporter({ socketDir: sockets, host: "127.0.0.1", port: 0, intervalMs: 500, timeoutMs: 1000, help: false }, nullLogger);
    await until(async () => (await http(`http://127.0.0.1:${ex!.port}/readyz`)).status === 200, 10000, "the forwarder to be ready");

    // Paced traffic: 40 frames every 10 ms, about 4000 pps; the rate sent is measured, not assumed.
    ps = PacketSocket.open(v.b, v.ns);
    let sent = 0;
    const t0 = performance.now();
    pacer = setInterval(() => {
      for (let i = 0; i < 40; i++) if (ps!.send(udpFrame({ dst: v.macA, src: v.macB, seq: sent }))) sent++;
    }, 10);

    const promPort = await freePort();
    writeFileSync(join(dir, "prometheus.yml"), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: xdplane\n    static_configs:\n      - targets: ["127.0.0.1:${ex.port}"]\n`);
    let promLog = "";
    prom = spawn(PROMETHEUS!, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"], { stdio: ["ignore", "ignore", "pipe"] });
    prom.stderr!.on("data", (d: Buffer) => (promLog += d.toString()));
    const api = `http://127.0.0.1:${promPort}`;
    await until(async () => (await http(`${api}/-/ready`)).status === 200, 20000, `prometheus ready (${promLog})`);
    const sel = `xdplane_port_rx_packets_total{port="${v.a}:0"}`;
    await until(async () => {
      const r = await http(`${api}/api/v1/query?query=${encodeURIComponent(`count_over_time(${sel}[6s])`)}`);
      return Number(r.json?.data?.result?.[0]?.value?.[1] ?? 0) >= 6;
    }, 30000, "6 samples in the window");
    const r = await http(`${api}/api/v1/query?query=${encodeURIComponent(`rate(${sel}[6s])`)}`);
    const promRate = Number(r.json?.data?.result?.[0]?.value?.[1] ?? 0);
    const sentRate = sent / ((performance.now() - t0) / 1000);
    t.diagnostic(`sent ${sentRate.toFixed(0)} pps, prometheus rate() ${promRate.toFixed(0)} pps`);
    assert.ok(Math.abs(promRate - sentRate) / sentRate < 0.15, `rate() ${promRate} within 15% of the ${sentRate} pps sent`);

    // Admin-down through the app socket: readiness turns false.
    const sockFile = readdirSync(sockets).find((f) => f.startsWith("app_socket."))!;
    const client = await AppClient.connect(join(sockets, sockFile));
    const reply = await client.command("/fwd/admin", [`${v.a}:0`, "down"]);
    assert.equal(reply["adminUp"], false);
    await until(async () => (await http(`http://127.0.0.1:${ex!.port}/readyz`)).status === 503, 5000, "readiness to turn false");
    const bad = await client.request("/fwd/admin", ["nosuch", "down"]);
    assert.match(String(bad["error"]), /unknown port 'nosuch'/);
    client.close();
  } finally {
    if (pacer) clearInterval(pacer);
    ps?.close();
    for (const c of [prom, fwd]) {
      if (c && c.exitCode === null) {
        const exited = new Promise((res) => c.once("exit", res));
        c.kill("SIGTERM");
        await Promise.race([exited, new Promise((res) => setTimeout(res, 5000))]);
      }
    }
    await ex?.stop();
    rmSync(dir, { recursive: true, force: true });
    v.destroy();
  }
});
