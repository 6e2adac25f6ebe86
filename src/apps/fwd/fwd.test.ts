/**
 * The forwarder on real veth pairs: frames injected from the peer namespace with an AF_PACKET socket
 * come back MAC-swapped byte for byte (drv and skb mode); rx-only counts; shared UMEM on two queues;
 * clear errors; a SIGTERM leaves no program attached and no frame leaked; 1 M packets through lb with the
 * ownership tracker on.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVethPair, canUseNetns, type VethPair } from "../../testing/netns.js";
import { PacketSocket, udpFrame } from "../../testing/packet-socket.js";
import { pingPong, xdpAttached } from "../../testing/veth-traffic.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { parseConfig } from "../../config/index.js";
import { FwdApp, type FwdAppOptions } from "./app.js";

const root = canUseNetns();
const skip = root ? false : "needs root (namespaces, veth, XDP)";
const cli = new URL("../../cli/main.js", import.meta.url).pathname;
const quiet = () => {};

/** A config with one af_xdp lport on `v.a`. */
function oneLport(v: VethPair, extra: Partial<Parameters<typeof fwdConfig>[0]> = {}, skbMode = false) {
  return parseConfig(fwdConfig({ ports: [{ netdev: v.a, skbMode }], ...extra }), "test.jsonc").config;
}

/**
 * Starts a forwarder (frame tracking on unless `debugFrames: false`), runs `body`, stops it and checks
 * that no frame leaked and none was freed twice, then runs `afterStop` (the netdevs still exist). The
 * forwarder is stopped and the veth pairs removed also when the body fails.
 */
async function withFwd(vs: VethPair[], opts: Omit<FwdAppOptions, "log">, body: (app: FwdApp) => Promise<void>, afterStop?: () => void): Promise<void> {
  let app: FwdApp | null = null;
  try {
    app = await FwdApp.start({ debugFrames: true, log: quiet, ...opts });
    await body(app);
    const rep = await app.stop();
    app = null;
    // Exact with and without the tracker: close() returns every frame the sockets know about.
    assert.equal(rep.leakedFrames, 0, "no frame leaked");
    assert.equal(rep.poolOverflows, 0, "no frame freed more often than allocated");
    assert.equal(rep.txRejected, 0, "no TX descriptor rejected");
    if (opts.debugFrames !== false) {
      assert.equal(rep.doubleFrees, 0, "no frame freed twice");
      assert.equal(rep.badAllocs, 0, "no frame handed out twice");
      assert.equal(rep.badKernelReturns, 0, "the kernel returned only frames it was given");
    }
    assert.deepEqual(rep.faults, []);
    assert.deepEqual(rep.threadErrors, []);
    afterStop?.();
  } finally {
    await app?.stop();
    for (const v of vs) v.destroy();
  }
}

describe("xdplane fwd on a veth pair", { skip }, () => {
  for (const [skb, tracker] of [[false, true], [true, true], [false, false]] as const) {
    test(`lb returns every frame MAC-swapped, byte for byte (${skb ? "skb" : "drv"} mode, ${tracker ? "frame tracker on" : "production close path: no tracker, leak count still exact"})`, async () => {
      const v = createVethPair();
      await withFwd([v], { config: oneLport(v, {}, skb), mode: "lb", debugFrames: tracker }, async (app) => {
        const frames = Array.from({ length: 300 }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i, size: 64 + (i % 5) * 100 }));
        const back = await pingPong(v, frames);
        assert.equal(back.length, frames.length, "every frame came back");
        const bySeq = new Map(back.map((f) => [new DataView(f.buffer, f.byteOffset).getUint32(42), f]));
        for (let i = 0; i < frames.length; i++) {
          const sent = frames[i]!;
          const got = bySeq.get(i);
          assert.ok(got, `frame ${i} came back`);
          const want = Uint8Array.from(sent);
          want.set(sent.subarray(6, 12), 0);
          want.set(sent.subarray(0, 6), 6);
          assert.deepEqual(got, want, `frame ${i}: MACs swapped, the rest unchanged`);
        }
        const st = app.ports[0]!.readStats();
        assert.equal(st["ipackets"], frames.length);
        assert.equal(st["opackets"], frames.length);
      }, () => assert.equal(xdpAttached(v.a), false, "program detached at stop"));
    });
  }

  test("rx-only counts exactly what was sent, and drops it", async () => {
    const v = createVethPair();
    await withFwd([v], { config: oneLport(v), mode: "rx-only" }, async (app) => {
      const frames = Array.from({ length: 1000 }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i }));
      const back = await pingPong(v, frames, 1500);
      assert.equal(back.length, 0, "nothing is sent back in rx-only");
      const deadline = Date.now() + 3000;
      while (app.ports[0]!.stats[0]! < 1000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(app.ports[0]!.stats[0], 1000);
      assert.equal(app.ports[0]!.stats[2], 0);
    });
  });

  test("two queues sharing one UMEM both receive and forward", async () => {
    const v = createVethPair({ queues: 2 });
    const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a, qid: 0 }, { netdev: v.a, qid: 1 }], sharedUmem: true }), "test.jsonc");
    await withFwd([v], { config, mode: "lb" }, async (app) => {
      const frames = Array.from({ length: 1000 }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i, sport: 1000 + i, dport: 2000 + ((i * 7) % 100) }));
      const back = await pingPong(v, frames);
      assert.equal(back.length, 1000);
      const q0 = app.ports[0]!.stats[0]!;
      const q1 = app.ports[1]!.stats[0]!;
      assert.equal(q0 + q1, 1000);
      assert.ok(q0 > 0 && q1 > 0, `both queues received (q0 ${q0}, q1 ${q1})`);
    });
  });

  test("idle mode: an idle forwarder blocks in poll() instead of spinning, and wakes for traffic", async () => {
    const v = createVethPair();
    await withFwd([v], { config: oneLport(v, { idleTimeout: 10, intrTimeout: 100 }), mode: "lb", debugFrames: false }, async (app) => {
      await new Promise((r) => setTimeout(r, 500));
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 1000));
      const used = process.cpuUsage(c0);
      const cpu = (used.user + used.system) / 1000 / (performance.now() - t0);
      assert.ok(app.threadStats()[0]!.idleEntries > 0, "the thread went idle");
      assert.ok(cpu < 0.3, `an idle forwarder uses ${(cpu * 100).toFixed(1)}% of a core (a spinning one uses 100%)`);
      const back = await pingPong(v, Array.from({ length: 100 }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i })));
      assert.equal(back.length, 100, "traffic wakes it up");
    });
  });

  test("fwd mode sends each frame to the port named by the last octet of its destination MAC", async () => {
    const v0 = createVethPair();
    const v1 = createVethPair();
    const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v0.a }, { netdev: v1.a }] }), "test.jsonc");
    // Frames for port 7 (there is none) are freed: withFwd's leak check covers them.
    await withFwd([v0, v1], { config, mode: "fwd" }, async (app) => {
      const out1 = PacketSocket.open(v1.b, v1.ns);
      try {
        const to = (last: number, seq: number) => udpFrame({ dst: `02:00:00:00:00:0${last}`, src: v0.macB, seq });
        const frames = [...Array.from({ length: 50 }, (_, i) => to(1, i)), ...Array.from({ length: 20 }, (_, i) => to(7, 100 + i))];
        const ps0 = PacketSocket.open(v0.b, v0.ns);
        for (const f of frames) while (!ps0.send(f)) await new Promise((r) => setTimeout(r, 1));
        ps0.close();
        const got: Uint8Array[] = [];
        const t0 = Date.now();
        while (got.length < 50 && Date.now() - t0 < 3000) {
          let f;
          while ((f = out1.recv()) !== null) got.push(f);
          out1.wait(20);
        }
        assert.equal(got.length, 50, "frames for port 1 left through port 1");
        assert.deepEqual(got[0], frames[0], "unchanged");
        const deadline = Date.now() + 2000;
        while (app.ports[0]!.stats[0]! < 70 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(app.ports[0]!.stats[0], 70);
      } finally {
        out1.close();
      }
    });
  });

  test("ports opened in another namespace (netns option): the netdev's own MAC, and lb works", async () => {
    const v = createVethPair();
    const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.b }] }), "test.jsonc", { cpuCheck: "off", netdevQueueCount: () => 1 });
    await withFwd([v], { config, mode: "lb", netns: v.ns }, async (app) => {
      assert.equal(app.ports[0]!.macAddr(), v.macB, "the MAC of the netdev in its namespace");
      const frames = Array.from({ length: 100 }, (_, i) => udpFrame({ dst: v.macB, src: v.macA, seq: i }));
      const back = await pingPong(v, frames, 3000, "a");
      assert.equal(back.length, 100);
    });
  });

  test("unknown modes and missing netdevs give clear errors and leave nothing behind", async () => {
    const v = createVethPair();
    try {
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }] }), "test.jsonc");
      await assert.rejects(FwdApp.start({ config, mode: "bounce", log: quiet }), /Unknown forwarding mode 'bounce': expected one of drop, rx-only, lb/);
      const bad = parseConfig(fwdConfig({ ports: [{ netdev: v.a }, { netdev: "nosuchdev0" }] }), "test.jsonc").config;
      await assert.rejects(FwdApp.start({ config: bad, mode: "lb", log: quiet }), /netdev 'nosuchdev0' not found/);
      assert.equal(xdpAttached(v.a), false, "the first port's program was detached when the second failed");
    } finally {
      v.destroy();
    }
  });

  test("SIGTERM: exit 0, no XDP program attached, no frame leaked", async () => {
    const v = createVethPair();
    const dir = mkdtempSync(join(tmpdir(), "xdplane-"));
    let child: ChildProcess | null = null;
    try {
      const cfg = join(dir, "fwd.jsonc");
      writeFileSync(cfg, fwdConfig({ ports: [{ netdev: v.a }] }));
      child = spawn(process.execPath, [cli, "fwd", "-c", cfg, "lb", "--debug-frames", "--json", "--interval", "200"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      const deadline = Date.now() + 10000;
      while (!out.includes('"type":"stats"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(out.includes('"type":"stats"'), `the forwarder started: ${err}`);
      assert.equal(xdpAttached(v.a), true);
      const back = await pingPong(v, Array.from({ length: 200 }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i })));
      assert.equal(back.length, 200);
      const exit = new Promise<number | null>((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      assert.equal(await exit, 0, `exit code (stderr: ${err})`);
      const summary = JSON.parse(out.trim().split("\n").find((l) => l.includes('"type":"summary"'))!) as { leakedFrames: number; doubleFrees: number; ports: { ipackets: number }[] };
      assert.equal(summary.leakedFrames, 0);
      assert.equal(summary.doubleFrees, 0);
      assert.equal(summary.ports[0]!.ipackets, 200);
      assert.equal(xdpAttached(v.a), false, "no XDP program left on the netdev");
    } finally {
      child?.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      v.destroy();
    }
  });

  test("1 M packets through lb: the ownership tracker finds no leak and no double free", async () => {
    const v = createVethPair();
    const dir = mkdtempSync(join(tmpdir(), "xdplane-"));
    let app: FwdApp | null = null;
    let gen: ChildProcess | null = null;
    try {
      app = await FwdApp.start({ config: oneLport(v), mode: "lb", debugFrames: true, log: quiet });
      const cfg = join(dir, "gen.jsonc");
      writeFileSync(cfg, fwdConfig({ ports: [{ netdev: v.b }], cpus: [0] }));
      // The generator: our own forwarder in tx-only-rx mode inside the peer namespace.
      gen = spawn("ip", ["netns", "exec", v.ns, process.execPath, cli, "fwd", "-c", cfg, "tx-only-rx", "--interval", "0", "--tx-dst-mac", v.macA], { stdio: ["ignore", "ignore", "pipe"] });
      let genErr = "";
      gen.stderr!.on("data", (d: Buffer) => (genErr += d.toString()));
      const deadline = Date.now() + 60000;
      while (app.ports[0]!.stats[0]! < 1_000_000 && Date.now() < deadline && gen.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      const rx = app.ports[0]!.stats[0]!;
      assert.ok(rx >= 1_000_000, `forwarded ${rx} packets (generator: ${genErr})`);
      const rep = await app.stop();
      app = null;
      assert.equal(rep.leakedFrames, 0, "no frame leaked");
      assert.equal(rep.doubleFrees, 0, "no double free");
      assert.equal(rep.badKernelReturns, 0, "no bad kernel return");
      assert.deepEqual(rep.faults, []);
    } finally {
      if (gen && gen.exitCode === null) {
        const exited = new Promise((r) => gen!.once("exit", r));
        gen.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      await app?.stop();
      rmSync(dir, { recursive: true, force: true });
      v.destroy();
    }
  });
});
