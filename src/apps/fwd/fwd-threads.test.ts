/**
 * fwd mode with 1, 2 and 3 threads on 2 and 3 veth pairs: every frame reaches the port its destination MAC
 * names, byte for byte, whichever thread serves that port (frames cross threads through the destination
 * port's inbox: one owner per ring), and stop() finds 0 leaked frames, 0 double frees, 0 bad kernel
 * returns. The last round's suite missed 52,605 double frees here; these tests count everything.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVethPair, canUseNetns, type VethPair } from "../../testing/netns.js";
import { PacketSocket, udpFrame } from "../../testing/packet-socket.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { parseConfig } from "../../config/index.js";
import { FwdApp } from "./app.js";

const root = canUseNetns();
const skip = root ? false : "needs root (namespaces, veth, XDP)";
const cli = new URL("../../cli/main.js", import.meta.url).pathname;

interface Traffic {
  /** sent[i][j]: frames sent into port i for port j. */
  sent: number[][];
  /** Frames sent for a port that does not exist (dropped by the forwarder). */
  strays: number;
}

/** Port j's frames carry destination MAC 02:00:00:00:00:0j; the payload names (source, destination, seq). */
function frameFor(src: number, dst: number, seq: number, macB: string): Uint8Array {
  return udpFrame({ dst: `02:00:00:00:00:0${dst}`, src: macB, seq: (src << 28) | (dst << 24) | seq, size: 64 + (seq % 3) * 200 });
}

/**
 * Sends `perPair` frames from every pair's peer to every port (and `strays` to port 7, which does not
 * exist), keeping at most `window` frames in flight so that no veth ring overflows, and checks that each
 * frame comes out of the right peer unchanged.
 */
async function matrix(vs: VethPair[], perPair: number, strays: number, window = 128): Promise<Traffic> {
  const n = vs.length;
  const socks = vs.map((v) => PacketSocket.open(v.b, v.ns));
  const sent = vs.map(() => vs.map(() => 0));
  const got = vs.map(() => vs.map(() => 0));
  const buf = new Uint8Array(4096);
  let inflight = 0;
  let strayLeft = strays;
  try {
    const queue: [number, number][] = [];
    for (let k = 0; k < perPair; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) queue.push([i, j]);
    let q = 0;
    const t0 = Date.now();
    const total = perPair * n * n;
    let received = 0;
    while (received < total && Date.now() - t0 < 60000) {
      while (q < queue.length && inflight < window) {
        const [i, j] = queue[q]!;
        const f = frameFor(i, j, sent[i]![j]!, vs[i]!.macB);
        if (!socks[i]!.send(f)) break;
        sent[i]![j]!++;
        inflight++;
        q++;
        if (strayLeft > 0 && q % 97 === 0) {
          if (socks[i]!.send(frameFor(i, 7, 0, vs[i]!.macB))) strayLeft--;
        }
      }
      let any = false;
      for (let j = 0; j < n; j++) {
        let f;
        while ((f = socks[j]!.recv(buf)) !== null) {
          if (f[0] !== 2 || f[5] !== j) continue; // the peer's own traffic, or frames of another test
          const dv = new DataView(f.buffer, f.byteOffset);
          const tag = dv.getUint32(42);
          const src = tag >>> 28, dst = (tag >>> 24) & 15, seq = tag & 0xffffff;
          assert.equal(dst, j, "a frame left through the port its MAC names");
          assert.deepEqual(f, frameFor(src, dst, seq, vs[src]!.macB), `frame ${src}->${dst} #${seq} unchanged`);
          got[src]![j]!++;
          received++;
          inflight--;
          any = true;
        }
      }
      if (!any) {
        socks[0]!.wait(1);
        await new Promise((r) => setImmediate(r));
      }
    }
    assert.deepEqual(got, sent, "every frame arrived, at the port its MAC names");
    assert.equal(strayLeft, 0);
    return { sent, strays };
  } finally {
    for (const s of socks) s.close();
  }
}

describe("fwd mode with several threads", { skip }, () => {
  for (const [pairs, threads, tracker, idle] of [[2, 1, true, false], [2, 2, true, false], [3, 2, true, false], [3, 3, true, false], [3, 3, false, false], [2, 2, true, true]] as const) {
    const how = (tracker ? "0 leaked, 0 double frees, 0 bad returns" : "no tracker (the production close path): 0 leaked, 0 pool overflows") +
      (idle ? ", idle mode (threads asleep in poll still get the frames handed to them)" : "");
    test(`${pairs} veth pairs, ${threads} thread(s): every frame where its MAC says, ${how}`, async () => {
      const vs: VethPair[] = [];
      let app: FwdApp | null = null;
      try {
        for (let i = 0; i < pairs; i++) vs.push(createVethPair());
        const { config } = parseConfig(fwdConfig({ ports: vs.map((v) => ({ netdev: v.a })), threads, cpus: [0, 1], ...(idle ? { idleTimeout: 5, intrTimeout: 100 } : {}) }), "test.jsonc");
        app = await FwdApp.start({ config, mode: "fwd", debugFrames: tracker, log: () => {} });
        assert.equal(app.threads.length, threads);
        const perPair = 1500;
        const tr = await matrix(vs, perPair, 40);
        const total = perPair * pairs * pairs;
        // Counters settle within a loop iteration after the last frame; threads publish them on stop.
        const threadsBefore = app.threads;
        const rep = await app.stop();
        app = null;
        assert.deepEqual(rep.faults, [], "stop found nothing wrong");
        assert.equal(rep.leakedFrames, 0);
        assert.equal(rep.doubleFrees, tracker ? 0 : null);
        assert.equal(rep.badAllocs, tracker ? 0 : null);
        assert.equal(rep.badKernelReturns, tracker ? 0 : null);
        assert.equal(rep.poolOverflows, 0);
        assert.equal(rep.txRejected, 0);
        assert.equal(rep.inboxLeftovers, 0);
        const sum = (k: number) => threadsBefore.reduce((a, t) => a + t.control.counters[k]!, 0);
        // TC_RX 3, TC_TX 4, TC_DROP 5, TC_HANDOFF 6
        assert.equal(sum(3), total + tr.strays, "received: every frame sent");
        assert.equal(sum(4), total, "sent: every frame for an existing port");
        assert.equal(sum(5), tr.strays, "dropped: exactly the frames for port 7");
        // Frames whose destination port is served by another thread crossed through an inbox.
        const threadOfPort = (p: number) => p % threads;
        let crossing = 0;
        for (let i = 0; i < pairs; i++) for (let j = 0; j < pairs; j++) if (threadOfPort(i) !== threadOfPort(j)) crossing += tr.sent[i]![j]!;
        assert.equal(sum(6), crossing, "handed over between threads: exactly the crossing frames");
      } finally {
        await app?.stop();
        for (const v of vs) v.destroy();
      }
    });
  }

  test("the CLI with --debug-frames: 2 threads, 2 pairs, thousands of frames each way, exit 0 and a clean summary", async () => {
    const vs = [createVethPair(), createVethPair()];
    const dir = mkdtempSync(join(tmpdir(), "xdplane-"));
    const cfg = join(dir, "fwd.jsonc");
    writeFileSync(cfg, fwdConfig({ ports: vs.map((v) => ({ netdev: v.a })), threads: 2, cpus: [0, 1] }));
    const child = spawn(process.execPath, [cli, "fwd", "-c", cfg, "fwd", "--debug-frames", "--json", "--interval", "200", "--no-socket"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    try {
      const deadline = Date.now() + 10000;
      while (!out.includes('"type":"stats"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(out.includes('"type":"stats"'), `the forwarder started: ${err}`);
      await matrix(vs, 3000, 0, 256);
      const exit = new Promise<number | null>((r) => child.once("exit", r));
      child.kill("SIGTERM");
      assert.equal(await exit, 0, `exit code (stderr: ${err})`);
      const summary = JSON.parse(out.trim().split("\n").find((l) => l.includes('"type":"summary"'))!) as Record<string, unknown>;
      assert.equal(summary["leakedFrames"], 0);
      assert.equal(summary["doubleFrees"], 0);
      assert.equal(summary["badKernelReturns"], 0);
      assert.deepEqual(summary["faults"], []);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      for (const v of vs) v.destroy();
    }
  });
});
