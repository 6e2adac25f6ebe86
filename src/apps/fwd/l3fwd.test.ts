/**
 * l3fwd on veth pairs (root): frames injected from the peers' namespaces with AF_PACKET sockets leave the
 * port their route names with the next hop's MAC as destination, the tx port's MAC as source, TTL - 1 and a
 * valid IPv4 checksum, checked byte for byte on the far end's capture against a full rewrite; TTL 0 and 1,
 * unrouted and invalid frames are dropped and counted exactly (per receiving port). A route added on the
 * app socket takes effect while traffic runs, and one deleted through the REST control API stops it; with
 * two threads frames cross threads; with --xdp-fastpath the kernel forwards the same frames byte for
 * byte and sends the exceptions up, with exact counters on both paths, and the redirect program is back
 * at stop. Every test stops the app and asserts 0 leaked frames, 0 double frees, 0 bad kernel returns.
 */
import { test, describe } from "node:test";
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createVethPair, canUseNetns, nsExec, type VethPair } from "../../testing/netns.js";
import { PacketSocket } from "../../testing/packet-socket.js";
import { xdpAttached } from "../../testing/veth-traffic.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { until, http, sample } from "../../testing/telemetry-fixtures.js";
import { udpFrame, ipv4Checksum } from "../../wire/udp-frame.js";
import { parseConfig } from "../../config/index.js";
import { AppClient } from "../../telemetry/app-client.js";
import { startExporter } from "../../telemetry/exporter-cli.js";
import { nullLogger } from "../../telemetry/log.js";
import { main as statsMain } from "../../telemetry/stats-cli.js";
import { FwdApp, type FwdAppOptions } from "./app.js";
import { openFwdSocket } from "./telemetry.js";

const root = canUseNetns();
const skip = root ? false : "needs root (namespaces, veth, XDP)";
const quiet = () => {};
const TC_RX = 3, TC_TX = 4, TC_DROP = 5, TC_HANDOFF = 6;

/** A UDP/IPv4 frame; `id` (the IPv4 identification, unique per test) names it on the far end. */
function ipFrame(o: { dst: string; src: string; dstIp: string; id: number; ttl?: number; size?: number; srcIp?: string }): Uint8Array {
  return udpFrame({ dst: o.dst, src: o.src, srcIp: o.srcIp ?? "10.9.9.9", dstIp: o.dstIp, ttl: o.ttl ?? 64, seq: o.id, size: o.size ?? 64 + (o.id % 7) * 120 });
}
const idOf = (f: Uint8Array) => (f[18]! << 8) | f[19]!;
function fixCksum(f: Uint8Array): Uint8Array {
  const hl = (f[14]! & 15) * 4;
  f[24] = 0; f[25] = 0;
  const c = ipv4Checksum(f, 14, hl);
  f[24] = c >>> 8; f[25] = c & 255;
  return f;
}
/** The frame with 4 bytes of IPv4 options (NOP NOP NOP EOL): IHL 6. */
function withOptions(f: Uint8Array): Uint8Array {
  const g = new Uint8Array(f.length + 4);
  g.set(f.subarray(0, 34), 0);
  g.set([1, 1, 1, 0], 34);
  g.set(f.subarray(34), 38);
  g[14] = 0x46;
  const tot = ((g[16]! << 8) | g[17]!) + 4;
  g[16] = tot >>> 8; g[17] = tot & 255;
  return fixCksum(g);
}
const macBytes = (m: string) => Uint8Array.from(m.split(":").map((h) => Number.parseInt(h, 16)));
/** What l3fwd makes of `f`: next hop's MAC, tx port's MAC, TTL - 1, the checksum recomputed in full. */
function routed(f: Uint8Array, dstMac: string, srcMac: string): Uint8Array {
  const g = f.slice();
  g.set(macBytes(dstMac), 0);
  g.set(macBytes(srcMac), 6);
  g[22] = g[22]! - 1;
  return fixCksum(g);
}

/** Packet sockets on the peers (`b` ends): sends, and collects what arrives (our own sends skipped). */
class Peers {
  readonly socks: PacketSocket[];
  readonly got: Map<number, Uint8Array>[];
  readonly dup: number[];
  private readonly buf = new Uint8Array(4096);

  constructor(vs: VethPair[]) {
    this.socks = vs.map((v) => PacketSocket.open(v.b, v.ns));
    this.got = vs.map(() => new Map());
    this.dup = vs.map(() => 0);
  }

  drain(): void {
    this.socks.forEach((s, i) => {
      let f;
      while ((f = s.recv(this.buf)) !== null) {
        if (f.length < 34 || f[12] !== 8 || f[13] !== 0) continue;
        const id = idOf(f);
        if (this.got[i]!.has(id)) this.dup[i]!++;
        this.got[i]!.set(id, f);
      }
    });
  }

  /** Sends frames from peer `i`, 32 at a time, collecting meanwhile. */
  async send(i: number, frames: Uint8Array[]): Promise<void> {
    for (let k = 0; k < frames.length;) {
      for (let j = 0; j < 32 && k < frames.length; j++) {
        if (!this.socks[i]!.send(frames[k]!)) break;
        k++;
      }
      this.drain();
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Collects until `n` frames arrived at every peer as `want` says, or `ms`. */
  async waitFor(want: number[], ms = 5000): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      this.drain();
      if (want.every((n, i) => this.got[i]!.size >= n)) return;
      this.socks[0]!.wait(5);
      await new Promise((r) => setImmediate(r));
    }
  }

  close(): void {
    for (const s of this.socks) s.close();
  }
}

function l3Config(vs: VethPair[], rules: string[], o: { threads?: number } = {}) {
  const text = fwdConfig({ ports: vs.map((v) => ({ netdev: v.a })), ...(o.threads ? { threads: o.threads, cpus: [0, 1] } : {}) })
    .replace(/\n}\n$/, `,\n  "options": ${JSON.stringify({ mode: "l3fwd", "l3fwd-fib-rules": rules })}\n}\n`);
  return parseConfig(text, "l3fwd.jsonc").config;
}

/** Starts the app (frame tracker on), runs `body`, stops it and asserts the frame report. */
async function withL3(vs: VethPair[], opts: Omit<FwdAppOptions, "log">, body: (app: FwdApp) => Promise<void>, afterStop?: (app: FwdApp) => void): Promise<void> {
  let app: FwdApp | null = null;
  try {
    app = await FwdApp.start({ debugFrames: true, log: quiet, ...opts });
    await body(app);
    const done = app;
    app = null;
    const rep = await done.stop();
    assert.equal(rep.leakedFrames, 0, "no frame leaked");
    assert.equal(rep.doubleFrees, 0, "no frame freed twice");
    assert.equal(rep.badAllocs, 0, "no frame handed out twice");
    assert.equal(rep.badKernelReturns, 0, "the kernel returned only frames it was given");
    assert.equal(rep.poolOverflows, 0);
    assert.equal(rep.txRejected, 0);
    assert.deepEqual(rep.faults, []);
    assert.deepEqual(rep.threadErrors, []);
    afterStop?.(done);
  } finally {
    await app?.stop();
    for (const v of vs) v.destroy();
  }
}

/** Waits until the ports' mode counters add up to `total` frames (they are written per burst). */
async function settled(app: FwdApp, total: number): Promise<void> {
  await until(() => app.ports.reduce((a, _, i) => a + Object.values(app.portModeCounters(i)).reduce((x, y) => x + y, 0), 0) >= total, 5000, `${total} frames counted`);
}

/**
 * The standard traffic of these tests into a two-port l3fwd (ports on v0.a and v1.a): routed frames both
 * ways, a more specific route back out of the receiving port, TTL 2 / 1 / 0, options, unrouted, bad
 * checksums, non-IPv4. Returns the frames expected on each peer (by id) and the counts per class.
 */
function traffic(v0: VethPair, v1: VethPair) {
  let id = 1;
  const from0: Uint8Array[] = [];
  const from1: Uint8Array[] = [];
  const want: Map<number, Uint8Array>[] = [new Map(), new Map()];
  const to = (f: Uint8Array, peer: number, dst: string, src: string) => want[peer]!.set(idOf(f), routed(f, dst, src));
  const c = { fwd0: 0, fwd1: 0, ttl: 0, noRoute: 0, invalid: 0, options: 0, simple: 0 };
  for (let k = 0; k < 200; k++) { const f = ipFrame({ dst: v0.macA, src: v0.macB, dstIp: `10.1.${k % 2 ? 3 : 200}.${k & 255}`, id: id++ }); from0.push(f); to(f, 1, v1.macB, v1.macA); c.fwd0++; c.simple++; }
  for (let k = 0; k < 50; k++) { const f = ipFrame({ dst: v0.macA, src: v0.macB, dstIp: `10.1.2.${k}`, id: id++ }); from0.push(f); to(f, 0, "02:00:00:00:02:02", v0.macA); c.fwd0++; c.simple++; }
  for (let k = 0; k < 20; k++) { const f = ipFrame({ dst: v0.macA, src: v0.macB, dstIp: "10.1.7.7", ttl: 2, id: id++ }); from0.push(f); to(f, 1, v1.macB, v1.macA); c.fwd0++; c.simple++; }
  for (let k = 0; k < 10; k++) { const f = withOptions(ipFrame({ dst: v0.macA, src: v0.macB, dstIp: "10.1.8.8", id: id++ })); from0.push(f); to(f, 1, v1.macB, v1.macA); c.fwd0++; c.options++; }
  for (let k = 0; k < 30; k++) { from0.push(ipFrame({ dst: v0.macA, src: v0.macB, dstIp: "10.1.5.5", ttl: k % 3 === 0 ? 0 : 1, id: id++ })); c.ttl++; }
  for (let k = 0; k < 40; k++) { from0.push(ipFrame({ dst: v0.macA, src: v0.macB, dstIp: `192.168.0.${k}`, id: id++ })); c.noRoute++; }
  for (let k = 0; k < 20; k++) { const f = ipFrame({ dst: v0.macA, src: v0.macB, dstIp: "10.1.3.3", id: id++ }); f[25] = f[25]! ^ 0x40; from0.push(f); c.invalid++; }
  for (let k = 0; k < 10; k++) { const f = ipFrame({ dst: v0.macA, src: v0.macB, dstIp: "10.1.3.3", id: id++ }); f[12] = 0x08; f[13] = 0x06; from0.push(f); c.invalid++; }
  for (let k = 0; k < 100; k++) { const f = ipFrame({ dst: v1.macA, src: v1.macB, dstIp: `10.0.3.${k}`, id: id++ }); from1.push(f); to(f, 0, v0.macB, v0.macA); c.fwd1++; c.simple++; }
  return { from0, from1, want, c };
}

const rulesFor = (v0: VethPair, v1: VethPair) => [`10.1.0.0/16,${v1.macB},1`, "10.1.2.0/24,02:00:00:00:02:02,0", `10.0.0.0/16,${v0.macB},0`];

/** Checks every expected frame arrived byte for byte with a valid checksum, and nothing else. */
function checkArrivals(peers: Peers, want: Map<number, Uint8Array>[]): void {
  want.forEach((w, i) => {
    assert.equal(peers.got[i]!.size, w.size, `peer ${i}: ${w.size} frames expected, ${peers.got[i]!.size} arrived`);
    assert.equal(peers.dup[i], 0, `peer ${i}: no frame twice`);
    for (const [id, g] of w) {
      const f = peers.got[i]!.get(id);
      assert.ok(f, `peer ${i}: frame ${id} arrived`);
      assert.equal(ipv4Checksum(f, 14, (f[14]! & 15) * 4), 0, `frame ${id}: valid IPv4 checksum on the wire`);
      assert.deepEqual(f, g, `frame ${id}: routed byte for byte`);
    }
  });
}

const cli = new URL("../../cli/main.js", import.meta.url).pathname;

describe("xdplane fwd l3fwd on veth pairs", { skip }, () => {
  test("the CLI: l3fwd --xdp-fastpath --debug-frames, SIGTERM: exit 0, a clean summary with both paths' counters, no program left", async () => {
    const v0 = createVethPair(), v1 = createVethPair();
    for (const v of [v0, v1]) nsExec(v.ns, "ethtool", "-K", v.b, "gro", "on");
    const dir = mkdtempSync(join(tmpdir(), "xdp-l3cli-"));
    const text = fwdConfig({ ports: [v0, v1].map((v) => ({ netdev: v.a })) })
      .replace(/\n}\n$/, `,\n  "options": ${JSON.stringify({ "l3fwd-fib-rules": rulesFor(v0, v1) })}\n}\n`);
    writeFileSync(join(dir, "l3.jsonc"), text);
    const child = spawn(process.execPath, [cli, "fwd", "-c", join(dir, "l3.jsonc"), "l3fwd", "--xdp-fastpath", "--debug-frames", "--json", "--interval", "200", "--no-socket"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const peers = new Peers([v0, v1]);
    try {
      await until(() => out.includes('"type":"stats"'), 10000, `the forwarder's first stats line (${err})`);
      assert.equal(xdpAttached(v0.a), true);
      const t = traffic(v0, v1);
      await peers.send(0, t.from0);
      await peers.send(1, t.from1);
      await peers.waitFor([t.want[0]!.size, t.want[1]!.size]);
      checkArrivals(peers, t.want);
      await new Promise((r) => setTimeout(r, 300));
      const exit = new Promise<number | null>((r) => child.once("exit", r));
      child.kill("SIGTERM");
      assert.equal(await exit, 0, `exit code (stderr: ${err})`);
      const summary = JSON.parse(out.trim().split("\n").find((l) => l.includes('"type":"summary"'))!) as {
        leakedFrames: number; doubleFrees: number; badKernelReturns: number; faults: string[];
        fastPath: { forwarded: number; toUser: number }; modeCounters: Record<string, Record<string, number>>;
      };
      assert.equal(summary.leakedFrames, 0);
      assert.equal(summary.doubleFrees, 0);
      assert.equal(summary.badKernelReturns, 0);
      assert.deepEqual(summary.faults, []);
      assert.equal(summary.fastPath.forwarded, t.c.simple);
      assert.equal(summary.fastPath.toUser, t.from0.length + t.from1.length - t.c.simple);
      assert.equal(summary.modeCounters[`${v0.a}:0`]!["n_l3fwd_ttl_expired_packets"], t.c.ttl);
      assert.equal(xdpAttached(v0.a), false, "no program left");
      assert.equal(xdpAttached(v1.a), false);
    } finally {
      peers.close();
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      v0.destroy();
      v1.destroy();
    }
  });

  test("two ports: routes by prefix, rewrites MACs, TTL - 1, valid checksums; TTL 0/1, unrouted and invalid frames dropped and counted exactly", async () => {
    const v0 = createVethPair(), v1 = createVethPair();
    await withL3([v0, v1], { config: l3Config([v0, v1], rulesFor(v0, v1)) }, async (app) => {
      assert.equal(app.mode, "l3fwd");
      assert.equal(app.routes?.size, 3);
      const peers = new Peers([v0, v1]);
      try {
        const t = traffic(v0, v1);
        await peers.send(0, t.from0);
        await peers.send(1, t.from1);
        await peers.waitFor([t.want[0]!.size, t.want[1]!.size]);
        await settled(app, t.from0.length + t.from1.length);
        await new Promise((r) => setTimeout(r, 100));
        peers.drain();
        checkArrivals(peers, t.want);
        assert.deepEqual(app.portModeCounters(0), {
          n_l3fwd_forwarded_packets: t.c.fwd0, n_l3fwd_no_route_packets: t.c.noRoute, n_l3fwd_ttl_expired_packets: t.c.ttl, n_l3fwd_invalid_packets: t.c.invalid,
        });
        assert.deepEqual(app.portModeCounters(1), { n_l3fwd_forwarded_packets: t.c.fwd1, n_l3fwd_no_route_packets: 0, n_l3fwd_ttl_expired_packets: 0, n_l3fwd_invalid_packets: 0 });
      } finally {
        peers.close();
      }
    }, (app) => {
      const t = app.threads[0]!.control.counters;
      assert.equal(t[TC_RX], 200 + 50 + 20 + 10 + 30 + 40 + 30 + 100);
      assert.equal(t[TC_TX], 200 + 50 + 20 + 10 + 100, "sent: the routed frames");
      assert.equal(t[TC_DROP], 30 + 40 + 30, "dropped: TTL, unrouted, invalid");
    });
  });

  test("a route added on the app socket takes effect while traffic runs; one deleted through the REST control API stops it", async () => {
    const v0 = createVethPair(), v1 = createVethPair();
    const dir = mkdtempSync(join(tmpdir(), "xdp-l3fwd-"));
    const token = "0123456789abcdef0123456789abcdef";
    writeFileSync(join(dir, "token"), token);
    let ex = null as Awaited<ReturnType<typeof startExporter>> | null;
    let client = null as AppClient | null;
    try {
      await withL3([v0, v1], { config: l3Config([v0, v1], [`10.0.0.0/16,${v0.macB},0`]) }, async (app) => {
        const sock = openFwdSocket(app, { socketDir: dir });
        const peers = new Peers([v0, v1]);
        let sent = 0;
        let running = true;
        // Traffic for 10.7.0.0/16 from peer 0, paced, until told to stop.
        const sender = (async () => {
          while (running) {
            await peers.send(0, Array.from({ length: 16 }, () => ipFrame({ dst: v0.macA, src: v0.macB, dstIp: `10.7.0.${sent & 255}`, id: ++sent, size: 64 })));
            await new Promise((r) => setTimeout(r, 2));
          }
        })();
        try {
          client = await AppClient.connect(sock.path);
          await until(() => app.portModeCounters(0)["n_l3fwd_no_route_packets"]! >= 200, 10000, "unrouted traffic");
          peers.drain();
          assert.equal(peers.got[1]!.size, 0, "no route yet: nothing left through port 1");
          const add = await client.command("/l3fwd/route/add", [`10.7.0.0/16`, v1.macB, "1"]);
          assert.deepEqual(add, { route: "10.7.0.0/16", mac: v1.macB, port: 1, replaced: false });
          await until(() => { peers.drain(); return peers.got[1]!.size >= 300; }, 10000, "routed traffic after the add");
          assert.deepEqual(await client.command("/l3fwd/routes"), {
            count: 2, page: 0, pages: 1, "routes per page": 64,
            routes: [{ prefix: "10.0.0.0/16", mac: v0.macB, port: 0 }, { prefix: "10.7.0.0/16", mac: v1.macB, port: 1 }],
          });
          assert.match((await client.request("/l3fwd/route/add", ["10.7.0.0/16", v1.macB, "5"]))["error"] as string, /tx port 5 does not exist \(the app has 2 lports, 0 to 1\)/);
          assert.match((await client.request("/l3fwd/route/add", ["10.7.0.0/33", v1.macB, "1"]))["error"] as string, /depth '33' is not 0 to 32/);
          // The REST control API: the exporter runs the socket command.
          ex = await startExporter({ socketDir: dir, host: "127.0.0.1", port: 0, intervalMs: 200, timeoutMs: 1000, help: false, controlTokenFile: join(dir, "token") }, nullLogger);
          const base = `http://127.0.0.1:${ex.port}/apps/${process.pid}/commands`;
          await until(async () => (await http(base)).status === 200, 5000, "the exporter sees the app");
          const listed = await http(`${base}/l3fwd/routes`);
          assert.equal(listed.status, 200, "GET runs the read-only /l3fwd/routes");
          assert.equal(JSON.parse(listed.text).count, 2);
          assert.equal((await http(`${base}/l3fwd/route/del?params=10.7.0.0/16`)).status, 405, "GET never deletes");
          const noAuth = await http(`${base}/l3fwd/route/del?params=10.7.0.0/16`, "POST");
          assert.equal(noAuth.status, 401);
          const del = await http(`${base}/l3fwd/route/del?params=10.7.0.0/16`, "POST", { authorization: `Bearer ${token}` });
          assert.equal(del.status, 200, del.text);
          assert.deepEqual(JSON.parse(del.text), { deleted: "10.7.0.0/16" });
          const at = app.portModeCounters(0)["n_l3fwd_no_route_packets"]!;
          await until(() => app.portModeCounters(0)["n_l3fwd_no_route_packets"]! >= at + 200, 10000, "unrouted again after the delete");
        } finally {
          running = false;
          await sender;
        }
        await settled(app, sent);
        await new Promise((r) => setTimeout(r, 100));
        peers.drain();
        const c = app.portModeCounters(0);
        assert.equal(c["n_l3fwd_forwarded_packets"]! + c["n_l3fwd_no_route_packets"]!, sent, "every frame sent was routed or counted unrouted");
        assert.equal(peers.got[1]!.size, c["n_l3fwd_forwarded_packets"], "every routed frame arrived at port 1's peer");
        for (const f of peers.got[1]!.values()) assert.equal(f[22], 63, "TTL - 1");
        // Prometheus: the per-port mode counters, exactly, once the exporter has polled again.
        const port0 = app.ports[0]!.name;
        const exported = async (name: string) => sample((await http(`http://127.0.0.1:${ex!.port}/metrics`)).text, name, { port: port0, pid: String(process.pid) });
        await until(async () => (await exported("xdplane_port_l3fwd_no_route_packets_total")) === c["n_l3fwd_no_route_packets"], 5000, "the exporter's figure");
        assert.equal(await exported("xdplane_port_l3fwd_forwarded_packets_total"), c["n_l3fwd_forwarded_packets"]);
        peers.close();
        client?.close();
        client = null;
        sock.close();
      });
    } finally {
      client?.close();
      await ex?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("two threads, one port each: routed frames cross threads through the tx port's inbox, counted exactly", async () => {
    const v0 = createVethPair(), v1 = createVethPair();
    await withL3([v0, v1], { config: l3Config([v0, v1], rulesFor(v0, v1), { threads: 2 }) }, async (app) => {
      assert.equal(app.threads.length, 2);
      const peers = new Peers([v0, v1]);
      try {
        const t = traffic(v0, v1);
        await peers.send(0, t.from0);
        await peers.send(1, t.from1);
        await peers.waitFor([t.want[0]!.size, t.want[1]!.size]);
        await settled(app, t.from0.length + t.from1.length);
        await new Promise((r) => setTimeout(r, 100));
        peers.drain();
        checkArrivals(peers, t.want);
        assert.equal(app.portModeCounters(0)["n_l3fwd_forwarded_packets"], t.c.fwd0);
        assert.equal(app.portModeCounters(1)["n_l3fwd_forwarded_packets"], t.c.fwd1);
      } finally {
        peers.close();
      }
    }, (app) => {
      const sum = (k: number) => app.threads.reduce((a, th) => a + th.control.counters[k]!, 0);
      // Port 0's thread routes 200 + 20 + 10 to port 1 (another thread), port 1's thread 100 to port 0.
      assert.equal(sum(TC_HANDOFF), 200 + 20 + 10 + 100, "handed over: exactly the frames for the other thread's port");
      assert.equal(sum(TC_TX), 200 + 50 + 20 + 10 + 100, "sent by the tx port's own thread");
      assert.equal(sum(TC_DROP), 100);
    });
  });

  test("--xdp-fastpath: the kernel forwards the same frames byte for byte, the exceptions go up, exact counters on both paths; the redirect program is back at stop", async () => {
    const v0 = createVethPair(), v1 = createVethPair();
    // XDP_REDIRECT into a veth needs NAPI on its peer: GRO on (src/bpf/l3fwd-fastpath.ts).
    for (const v of [v0, v1]) nsExec(v.ns, "ethtool", "-K", v.b, "gro", "on");
    const progIds: number[] = [];
    await withL3([v0, v1], { config: l3Config([v0, v1], rulesFor(v0, v1)), xdpFastpath: true }, async (app) => {
      const fp = app.fastPath;
      assert.ok(fp, "the fast path runs");
      assert.deepEqual(fp.netdevs.map((d) => d.netdev).sort(), [v0.a, v1.a].sort());
      progIds.push(...fp.netdevs.map((d) => d.progId));
      assert.equal(fp.kernelRoutes().length, 3, "the config's routes are in the kernel's trie");
      const peers = new Peers([v0, v1]);
      const sock = openFwdSocket(app, { socketDir: mkdtempSync(join(tmpdir(), "xdp-l3fp-")) });
      try {
        const t = traffic(v0, v1);
        await peers.send(0, t.from0);
        await peers.send(1, t.from1);
        await peers.waitFor([t.want[0]!.size, t.want[1]!.size]);
        const up = t.from0.length + t.from1.length - t.c.simple; // what user space sees
        await settled(app, up);
        await new Promise((r) => setTimeout(r, 100));
        peers.drain();
        checkArrivals(peers, t.want);
        const k = fp.counters();
        assert.equal(k.forwarded, t.c.simple, "the kernel forwarded every simple routed frame");
        assert.equal(k.ttlExceeded, t.c.ttl);
        assert.equal(k.noRoute, t.c.noRoute);
        assert.equal(k.ipOptions, t.c.options);
        assert.equal(k.badHeader, 20);
        assert.equal(k.notIpv4, 10);
        assert.equal(k.redirectFailed, 0);
        assert.equal(k.toUser, up, "the rest went up");
        assert.deepEqual(app.portModeCounters(0), {
          n_l3fwd_forwarded_packets: t.c.options, n_l3fwd_no_route_packets: t.c.noRoute, n_l3fwd_ttl_expired_packets: t.c.ttl, n_l3fwd_invalid_packets: t.c.invalid,
        }, "user space forwarded only the frames with options, and dropped the rest");
        assert.deepEqual(app.portModeCounters(1)["n_l3fwd_forwarded_packets"], 0);
        // The app socket and Prometheus' /metrics/app show the kernel's counters.
        const c = await AppClient.connect(sock.path);
        try {
          const r = await c.command("/l3fwd/fastpath");
          assert.equal(r["attached"], true);
          assert.equal((r["counters"] as Record<string, number>)["forwarded"], t.c.simple);
          const m = await c.command("/metrics/app");
          const fam = (m["metrics"] as { name: string; samples: { labels?: Record<string, string>; value: number }[] }[]).find((x) => x.name === "l3fwd_fastpath_packets_total")!;
          assert.equal(fam.samples.find((s) => s.labels?.["reason"] === "forwarded")?.value, t.c.simple);
          assert.equal(fam.samples.find((s) => s.labels?.["reason"] === "ttl_exceeded")?.value, t.c.ttl);
          // A route added live reaches both paths.
          await c.command("/l3fwd/route/add", ["10.8.0.0/16", v1.macB, "1"]);
          assert.ok(fp.kernelRoutes().some((x) => x.ip === 0x0a080000 && x.depth === 16), "in the kernel's trie");
          const more = Array.from({ length: 30 }, (_, i) => ipFrame({ dst: v0.macA, src: v0.macB, dstIp: "10.8.1.1", id: 5000 + i }));
          await peers.send(0, more);
          await peers.waitFor([0, t.want[1]!.size + 30]);
          for (const f of more) assert.deepEqual(peers.got[1]!.get(idOf(f)), routed(f, v1.macB, v1.macA));
          assert.equal(fp.counters().forwarded, t.c.simple + 30);
          await c.command("/l3fwd/route/del", ["10.8.0.0/16"]);
          assert.equal(fp.kernelRoutes().some((x) => x.ip === 0x0a080000), false, "deleted from the trie too");
          // xdplane stats shows both paths: the kernel's counters (app metrics) and user space's (port counters).
          let text = "";
          const io = { out: { write: (x: string) => { text += x; } }, err: { write: () => {} } };
          assert.equal(await statsMain(["--socket-dir", dirname(sock.path), "--count", "1"], io), 0);
          assert.match(text, /l3fwd_fastpath_packets_total\{reason="forwarded"\}\s+400\n/);
          assert.match(text, new RegExp(`${app.ports[0]!.name}\\s+.*n_l3fwd_ttl_expired_packets=${t.c.ttl}`));
          text = "";
          assert.equal(await statsMain(["--socket-dir", dirname(sock.path), "--count", "1", "--json"], io), 0);
          const js = JSON.parse(text) as { apps: { metrics: { name: string }[]; ports: { extra: Record<string, number> }[] }[] };
          assert.ok(js.apps[0]!.metrics.some((m) => m.name === "l3fwd_fastpath_to_user_packets_total"));
          assert.equal(js.apps[0]!.ports[0]!.extra["n_l3fwd_no_route_packets"], t.c.noRoute);
          // Prometheus, through the exporter: the kernel's counters and user space's.
          const ex = await startExporter({ socketDir: dirname(sock.path), host: "127.0.0.1", port: 0, intervalMs: 200, timeoutMs: 1000, help: false }, nullLogger);
          try {
            const labels = { pid: String(process.pid) };
            const scrape = async () => (await http(`http://127.0.0.1:${ex.port}/metrics`)).text;
            await until(async () => sample(await scrape(), "xdplane_app_l3fwd_fastpath_packets_total", { ...labels, reason: "forwarded" }) === 400, 5000, "the fast path's counter in Prometheus");
            const m = await scrape();
            assert.equal(sample(m, "xdplane_app_l3fwd_fastpath_packets_total", { ...labels, reason: "ttl_exceeded" }), t.c.ttl);
            assert.equal(sample(m, "xdplane_app_l3fwd_fastpath_to_user_packets_total", labels), up);
            assert.equal(sample(m, "xdplane_port_l3fwd_ttl_expired_packets_total", { ...labels, port: app.ports[0]!.name }), t.c.ttl);
          } finally {
            await ex.stop();
          }
        } finally {
          c.close();
        }
      } finally {
        sock.close();
        peers.close();
      }
    }, (app) => {
      assert.equal(app.fastPath, null);
      assert.equal(app.fastPathFinal?.forwarded, 200 + 50 + 20 + 100 + 30);
      assert.equal(xdpAttached(v0.a), false, "no program left on the netdev");
      assert.equal(xdpAttached(v1.a), false);
    });
    assert.equal(progIds.length, 2);
  });
});
