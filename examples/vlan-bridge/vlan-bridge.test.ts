/**
 * The VLAN bridge on two veth pairs: runs `main.js` as its own process; untagged frames sent into A come
 * out of B with the 802.1Q tag (seen by a capture CNF on B's far end: the kernel strips tags before packet
 * sockets see them); tagged frames of the VID sent into B come out of A untagged; other VIDs and untagged
 * frames sent into B are dropped and counted; SIGTERM gives a clean stop report.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { udpFrame } from "xdplane/wire";
import { Cnf } from "xdplane/cnf";
import { parseConfig } from "xdplane/config";
import { AppClient } from "xdplane/telemetry";
import { createVethPair, canUseNetns, type VethPair } from "../../src/testing/netns.js";
import { PacketSocket } from "../../src/testing/packet-socket.js";
import { Child, exampleScript, writeConfig, exchange, sentTo, assertClean } from "../harness.js";

const VID = 100;

function tagged(f: Uint8Array, tci: number): Uint8Array {
  const t = new Uint8Array(f.length + 4);
  t.set(f.subarray(0, 12), 0);
  t.set([0x81, 0x00, tci >> 8, tci & 0xff], 12);
  t.set(f.subarray(12), 16);
  return t;
}

/** A CNF in the test process that captures what arrives at `v.b` (inside `v.ns`). */
async function capture(v: VethPair, into: Uint8Array[]): Promise<Cnf> {
  const text = JSON.stringify({
    application: { name: "capture" }, defaults: { bufcnt: 4, bufsz: 2, rxdesc: 2, txdesc: 2 }, umems: { umem0: { bufcnt: 4, bufsz: 2, rxdesc: 2, txdesc: 2 } },
    lports: { [`${v.b}:0`]: { pmd: "net_af_xdp", qid: 0, umem: "umem0" } }, "lcore-groups": { initial: [0], g: [0] },
    threads: { main: { group: "initial" }, "cap:0": { group: "g", lports: [`${v.b}:0`] } },
  });
  const { config } = parseConfig(text, "capture.jsonc", { netdevQueueCount: () => undefined });
  return Cnf.start({ config, worker: new URL("./capture-worker.js", import.meta.url), netns: v.ns, socket: false, signals: false,
    log: () => {}, debugFrames: true, onMessage: (_t, m) => into.push(m as Uint8Array) });
}

test("vlan-bridge tags A to B, untags B to A, drops other VIDs, stops cleanly", { skip: canUseNetns() ? false : "needs root" }, async () => {
  const va = createVethPair();
  const vb = createVethPair();
  const dir = mkdtempSync(join(tmpdir(), "vlan-bridge-"));
  const config = writeConfig("vlan-bridge", "bridge.jsonc", join(dir, "bridge.jsonc"), { eth0: va.a, eth1: vb.a });
  const child = new Child(process.execPath, [exampleScript("vlan-bridge"), "-c", config, "--socket-dir", dir, "--debug-frames"]);
  const psA = PacketSocket.open(va.b, va.ns);
  const psB = PacketSocket.open(vb.b, vb.ns);
  const seen: Uint8Array[] = [];
  let cap: Cnf | null = null;
  try {
    const ready = await child.line("ready");
    assert.deepEqual(ready.ports, [`${va.a}:0`, `${vb.a}:0`]);
    cap = await capture(vb, seen);
    // A -> B: 200 untagged frames come out of B tagged with VID 100.
    const toB = Array.from({ length: 200 }, (_, i) => udpFrame({ dst: vb.macB, src: va.macB, seq: i, size: 60 + (i % 5) * 300 }));
    await exchange(psA, toB, 0, () => false, { quietMs: 0 });
    for (let t0 = Date.now(); seen.length < toB.length && Date.now() - t0 < 5000;) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.length, toB.length, "every frame from A came out of B");
    for (let i = 0; i < toB.length; i++) assert.deepEqual(seen[i], tagged(toB[i]!, VID), `A->B frame ${i} tagged`);
    // B -> A: tagged with VID 100 (any priority) come out of A untagged; VID 200, VID 0 and untagged are dropped.
    const ours = Array.from({ length: 150 }, (_, i) => udpFrame({ dst: va.macB, src: vb.macB, seq: 1000 + i, size: 60 + (i % 3) * 400 }));
    const tci = (i: number) => ((i % 8) << 13) | VID;
    const others = Array.from({ length: 30 }, (_, i) => {
      const f = udpFrame({ dst: va.macB, src: vb.macB, seq: 5000 + i });
      return i % 3 === 0 ? f : tagged(f, i % 3 === 1 ? 200 : 0);
    });
    const mixed = ours.flatMap((f, i) => (i < others.length ? [tagged(f, tci(i)), others[i]!] : [tagged(f, tci(i))]));
    const back = await exchange(psB, mixed, ours.length, (f) => sentTo(f, va.macB), { rx: psA });
    assert.equal(back.length, ours.length, "only the frames of our VID came out of A");
    for (let i = 0; i < ours.length; i++) assert.deepEqual(back[i], ours[i], `B->A frame ${i} untagged`);
    const client = await AppClient.connect(ready.socket as string);
    try {
      assert.deepEqual(await client.command("/vlan/stats"), { vid: VID, tagged: toB.length, untagged: ours.length, dropped: others.length });
    } finally {
      client.close();
    }
    const { report, code } = await child.stop();
    assertClean(report);
    assert.equal(code, 0);
    assertClean(await cap.stop());
    cap = null;
  } finally {
    await cap?.stop();
    psA.close();
    psB.close();
    child.kill();
    va.destroy();
    vb.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
