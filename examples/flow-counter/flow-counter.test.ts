/**
 * The flow counter on a veth pair: runs `main.js` as its own process, sends frames of UDP, TCP and ICMP
 * flows (each flow a different number of frames) plus non-IPv4 frames, checks that every frame comes back
 * MAC-swapped byte for byte, that `/flows/top,N` and `/flows/stats` count exactly what was sent, that the
 * Prometheus exporter publishes the app's thread counters and its top 10 flows (`/metrics/app`), and a
 * clean stop report.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { udpFrame } from "xdplane/wire";
import { AppClient, Exporter } from "xdplane/telemetry";
import { sample } from "../../src/testing/telemetry-fixtures.js";
import { createVethPair, canUseNetns } from "../../src/testing/netns.js";
import { PacketSocket } from "../../src/testing/packet-socket.js";
import { Child, exampleScript, writeConfig, exchange, sentTo, assertClean } from "../harness.js";

interface Spec { src: string; dst: string; sport: number; dport: number; proto: number; frames: number; size: number }

test("flow-counter counts every flow exactly and publishes the top ones; stops cleanly", { skip: canUseNetns() ? false : "needs root" }, async () => {
  const v = createVethPair();
  const dir = mkdtempSync(join(tmpdir(), "flow-counter-"));
  const config = writeConfig("flow-counter", "flows.jsonc", join(dir, "flows.jsonc"), { eth0: v.a });
  const child = new Child(process.execPath, [exampleScript("flow-counter"), "-c", config, "--socket-dir", dir, "--debug-frames"]);
  const ps = PacketSocket.open(v.b, v.ns);
  const exporter = new Exporter({ socketDir: dir, intervalMs: 200 });
  try {
    const ready = await child.line("ready");
    const specs: Spec[] = Array.from({ length: 12 }, (_, j) => ({
      src: `10.0.${j}.1`, dst: "10.9.9.9", sport: 4000 + j, dport: j % 2 === 0 ? 53 : 80,
      proto: j < 8 ? 17 : j < 11 ? 6 : 1, frames: 5 + j * 7, size: 60 + j * 40,
    }));
    const frames: Uint8Array[] = [];
    for (let round = 0; frames.length < specs.reduce((s, f) => s + f.frames, 0); round++) {
      for (const s of specs) {
        if (round >= s.frames) continue;
        const f = udpFrame({ dst: v.macA, src: v.macB, srcIp: s.src, dstIp: s.dst, sport: s.sport, dport: s.dport, size: s.size, seq: frames.length });
        f[23] = s.proto; // the ports stay in the first 4 bytes after the IP header, as TCP has them
        frames.push(f);
      }
    }
    const arp = Array.from({ length: 6 }, (_, i) => { const f = udpFrame({ dst: v.macA, src: v.macB, seq: 90000 + i }); f[13] = 0x06; return f; });
    const all = [...frames, ...arp];
    const back = await exchange(ps, all, all.length, (f) => sentTo(f, v.macB));
    assert.equal(back.length, all.length, "every frame came back");
    const seq = (f: Uint8Array) => ((f[42]! << 24) | (f[43]! << 16) | (f[44]! << 8) | f[45]!) >>> 0;
    const bySeq = new Map(back.map((f) => [seq(f), f]));
    for (const f of all) {
      const want = Uint8Array.from(f);
      want.set(f.subarray(6, 12), 0);
      want.set(f.subarray(0, 6), 6);
      assert.deepEqual(bySeq.get(seq(f)), want, `frame ${seq(f)}: MACs swapped, the rest unchanged`);
    }
    const expected = specs.map((s) => ({ src: s.src, dst: s.dst, sport: s.proto === 1 ? 0 : s.sport, dport: s.proto === 1 ? 0 : s.dport,
      proto: s.proto, packets: s.frames, bytes: s.frames * s.size })).reverse();
    const client = await AppClient.connect(ready.socket as string);
    try {
      assert.deepEqual(await client.command("/flows/top", ["3"]), { flows: expected.slice(0, 3) });
      assert.deepEqual(await client.command("/flows/top"), { flows: expected.slice(0, 10) });
      assert.deepEqual(await client.command("/flows/stats"), { flows: specs.length, packets: frames.length, other: arp.length, overflow: 0 });
      await assert.rejects(client.command("/flows/top", ["0"]), /Invalid count '0'/);
    } finally {
      client.close();
    }
    // The exporter carries the CNF's port and thread counters, and the top flows the app reports on /metrics/app.
    exporter.start();
    let text = "";
    for (let t0 = Date.now(); !(text.includes('thread="flows:0"') && text.includes("xdplane_app_flows{")) && Date.now() - t0 < 5000; await new Promise((r) => setTimeout(r, 100))) text = await exporter.metricsText();
    const pid = String(child.proc.pid);
    const label = (f: (typeof expected)[number]) => f.proto === 1 ? `${f.src}->${f.dst}/icmp` : `${f.src}:${f.sport}->${f.dst}:${f.dport}/${f.proto === 6 ? "tcp" : "udp"}`;
    assert.match(text, /# TYPE xdplane_app_flow_packets_total counter\n/);
    assert.match(text, /# TYPE xdplane_app_flows gauge\n/);
    assert.equal(sample(text, "xdplane_app_flows", { app: "flow-counter", pid }), specs.length);
    expected.forEach((f, i) => {
      const l = { app: "flow-counter", pid, flow: label(f) };
      assert.equal(sample(text, "xdplane_app_flow_packets_total", l), i < 10 ? f.packets : undefined, `packets of ${l.flow}`);
      assert.equal(sample(text, "xdplane_app_flow_bytes_total", l), i < 10 ? f.bytes : undefined, `bytes of ${l.flow}`);
    });
    assert.equal(text.split("\n").filter((x) => x.startsWith("xdplane_app_flow_packets_total{")).length, 10, "the top 10 flows");
    assert.ok(!text.includes("xdplane_exporter_app_metrics_dropped_total{"), "nothing dropped");
    assert.match(text, new RegExp(`xdplane_thread_rx_total\\{app="flow-counter",pid="\\d+",thread="flows:0"\\} ${all.length}\\n`));
    assert.match(text, new RegExp(`xdplane_port_rx_packets_total\\{app="flow-counter",pid="\\d+",port="${v.a}:0"\\} ${all.length}\\n`));
    const { report, code } = await child.stop();
    assertClean(report);
    assert.equal(code, 0);
  } finally {
    await exporter.close();
    ps.close();
    child.kill();
    v.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
