/**
 * Jumbo frames through the forwarder on veth pairs with MTU 9000 (root): an lport with
 * `"multi_buffer": true` receives frames larger than a buffer as mbuf chains (AF_XDP multi-buffer,
 * XDP_USE_SG) and lb sends them back as descriptor chains. 1500, 4000 and 9000-byte frames (and the
 * largest, 9014) come back MAC-swapped byte for byte in drv and skb mode, with 2048 and 4096-byte frames,
 * with the ownership tracker on and off; the stop report finds no leak, no double free, nothing rejected.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createVethPair, canUseNetns, type VethPair } from "../../testing/netns.js";
import { udpFrame } from "../../testing/packet-socket.js";
import { pingPong, xdpAttached } from "../../testing/veth-traffic.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { parseConfig } from "../../config/index.js";
import { FwdApp } from "./app.js";

const root = canUseNetns();
const skip = root ? false : "needs root (namespaces, veth, XDP)";
const quiet = () => {};

/** A frame of `size` bytes (up to 9014: a UDP frame of 9000 padded with a pattern). */
function jumbo(v: VethPair, seq: number, size: number): Uint8Array {
  const base = udpFrame({ dst: v.macA, src: v.macB, seq, size: Math.min(size, 9000) });
  if (size <= 9000) return base;
  const f = new Uint8Array(size);
  f.set(base);
  for (let i = 9000; i < size; i++) f[i] = (seq + i) & 0xff;
  return f;
}

const swapped = (f: Uint8Array): Uint8Array => {
  const w = Uint8Array.from(f);
  w.set(f.subarray(6, 12), 0);
  w.set(f.subarray(0, 6), 6);
  return w;
};

async function lbJumbo(o: { skb: boolean; tracker: boolean; frameSize: 2048 | 4096; sizes: number[]; count: number }): Promise<void> {
  const v = createVethPair({ mtu: 9000 });
  let app: FwdApp | null = null;
  try {
    let text = fwdConfig({ ports: [{ netdev: v.a, skbMode: o.skb, extra: { multi_buffer: true } }] });
    if (o.frameSize === 4096) text = text.replace(/"bufsz": 2/g, `"bufsz": 4`);
    const { config } = parseConfig(text, "jumbo.jsonc");
    assert.equal(config.lports.get(`${v.a}:0`)!.multiBuffer, true);
    app = await FwdApp.start({ config, mode: "lb", debugFrames: o.tracker, log: quiet });
    const frames = Array.from({ length: o.count }, (_, i) => jumbo(v, i, o.sizes[i % o.sizes.length]!));
    const back = await pingPong(v, frames, 8000);
    assert.equal(back.length, frames.length, "every frame came back");
    const bySeq = new Map(back.map((f) => [new DataView(f.buffer, f.byteOffset).getUint32(42), f]));
    for (let i = 0; i < frames.length; i++) {
      const got = bySeq.get(i);
      assert.ok(got, `frame ${i} came back`);
      assert.equal(got.length, frames[i]!.length, `frame ${i}: length`);
      assert.deepEqual(got, swapped(frames[i]!), `frame ${i} (${frames[i]!.length} bytes): MACs swapped, the rest unchanged`);
    }
    const st = app.ports[0]!.readStats();
    const bytes = frames.reduce((a, f) => a + f.length, 0);
    assert.deepEqual([st["ipackets"], st["opackets"], st["ibytes"], st["obytes"]], [frames.length, frames.length, bytes, bytes]);
    assert.equal(st["tx_invalid"], 0);
    assert.equal(st["imissed"], 0, "no frame dropped by the kernel");
    const rep = await app.stop();
    app = null;
    assert.equal(rep.leakedFrames, 0, "no frame leaked");
    assert.equal(rep.poolOverflows, 0);
    assert.equal(rep.txRejected, 0);
    if (o.tracker) {
      assert.equal(rep.doubleFrees, 0);
      assert.equal(rep.badAllocs, 0);
      assert.equal(rep.badKernelReturns, 0);
    }
    assert.deepEqual(rep.faults, []);
    assert.deepEqual(rep.threadErrors, []);
    assert.equal(xdpAttached(v.a), false, "program detached at stop");
  } finally {
    await app?.stop();
    v.destroy();
  }
}

describe("xdplane fwd lb with jumbo frames (AF_XDP multi-buffer) on a veth pair with MTU 9000", { skip }, () => {
  for (const [skb, tracker, frameSize] of [[false, true, 2048], [true, true, 2048], [false, false, 2048], [false, true, 4096]] as const) {
    test(`1500, 4000 and 9000-byte frames come back byte for byte (${skb ? "skb" : "drv"} mode, ${frameSize}-byte frames, ${tracker ? "tracker on" : "no tracker"})`, async () => {
      await lbJumbo({ skb, tracker, frameSize, sizes: [1500, 4000, 9000], count: 300 });
    });
  }

  test("every size from 60 to 9014 bytes, in steps that cross each buffer boundary", async () => {
    const sizes: number[] = [];
    for (let s = 60; s <= 9014; s += 97) sizes.push(s);
    sizes.push(1792, 1793, 3584, 3585, 9014);
    await lbJumbo({ skb: false, tracker: true, frameSize: 2048, sizes, count: sizes.length * 2 });
  });
});
