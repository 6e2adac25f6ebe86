import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ifIndex } from "../sys/netdev.js";
import { canUseNetns, createVethPair, inNetns, type VethPair } from "../testing/netns.js";
import { udpFrame } from "../testing/packet-socket.js";
import { Asm, Helper, R0, R1, R2, R3, R4, R10, XdpAction, XdpMd } from "./asm.js";
import { BpfMap, MapType } from "./map.js";
import { Program, ProgType } from "./prog.js";
import { XdpLink } from "./link.js";
import { LiveFrames, testRun } from "./test-run.js";

const root = canUseNetns();
const skip = !root && "needs root (bpf, namespaces)";
let veth!: VethPair;
before(() => {
  if (root) veth = createVethPair({ prefix: "trun", queues: 2 });
});
after(() => veth?.destroy());

test("test run: verdict, frame out, duration", { skip }, () => {
  // Writes 0xaa into the first byte when the frame has one, then XDP_TX.
  const p = Program.load({
    type: ProgType.XDP,
    name: "t_mark",
    insns: new Asm()
      .ldx("w", R2, R1, XdpMd.data)
      .ldx("w", R3, R1, XdpMd.data_end)
      .mov64(R4, R2)
      .add64(R4, 1)
      .jgt(R4, R3, "out")
      .st("b", R2, 0, 0xaa)
      .label("out")
      .mov64(R0, XdpAction.TX)
      .exit(),
  });
  try {
    const data = new Uint8Array(64).fill(1);
    const out = new Uint8Array(128);
    const r = testRun(p, { data, dataOut: out, repeat: 10 });
    assert.equal(r.retval, XdpAction.TX);
    assert.equal(r.dataOut?.length, 64);
    assert.equal(r.dataOut?.[0], 0xaa);
    assert.equal(r.dataOut?.[1], 1);
    assert.equal(data[0], 1, "input untouched");
    assert.ok(r.durationNs >= 0);
    assert.throws(() => testRun(p, { data, dataOut: new Uint8Array(8) }), { code: "ENOSPC" });
  } finally {
    p.close();
  }
});

test("test run ctx: ingress ifindex and rx queue reach the program", { skip }, () => {
  const ifindex = ifIndex(veth.a);
  // PASS when ctx->ingress_ifindex is ours, else DROP; plus rx_queue_index added (1 -> TX).
  const p = Program.load({
    type: ProgType.XDP,
    name: "t_ctx",
    insns: new Asm()
      .ldx("w", R2, R1, XdpMd.ingress_ifindex)
      .ldx("w", R3, R1, XdpMd.rx_queue_index)
      .mov64(R0, XdpAction.DROP)
      .jne(R2, ifindex, "out")
      .mov64(R0, XdpAction.PASS)
      .add64(R0, R3)
      .label("out")
      .exit(),
  });
  try {
    const data = udpFrame({ dst: veth.macA, src: veth.macB, seq: 1 });
    assert.equal(testRun(p, { data, ctx: { ingressIfindex: ifindex, rxQueueIndex: 0 } }).retval, XdpAction.PASS);
    assert.equal(testRun(p, { data, ctx: { ingressIfindex: ifindex, rxQueueIndex: 1 } }).retval, XdpAction.TX);
    assert.equal(testRun(p, { data }).retval, XdpAction.DROP);
    // Queue 2 does not exist on a 2-queue veth.
    assert.throws(() => testRun(p, { data, ctx: { ingressIfindex: ifindex, rxQueueIndex: 2 } }), { code: "EINVAL" });
  } finally {
    p.close();
  }
});

test("live frames: an XDP_TX program sends frames out of the veth to its peer", { skip }, () => {
  // On the peer (in its namespace): count every frame in an array map, then drop it.
  const counter = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: "t_count" });
  const count = Program.load({
    type: ProgType.XDP,
    name: "t_count",
    insns: new Asm()
      .st("w", R10, -4, 0)
      .mov64(R2, R10)
      .add64(R2, -4)
      .ldMapFd(R1, counter.fd)
      .call(Helper.map_lookup_elem)
      .jeq(R0, 0, "out")
      .mov64(R1, 1)
      .atomicAdd("dw", R0, 0, R1)
      .label("out")
      .mov64(R0, XdpAction.DROP)
      .exit(),
  });
  const txProg = Program.load({ type: ProgType.XDP, name: "t_tx", insns: new Asm().mov64(R0, XdpAction.TX).exit() });
  let peer: XdpLink | undefined;
  try {
    peer = inNetns(veth.ns, () => XdpLink.attach(count, veth.b, { mode: "drv" }));
    const frame = udpFrame({ dst: veth.macB, src: veth.macA, seq: 7 });
    const live = new LiveFrames(txProg, frame, { ifindex: ifIndex(veth.a), batchSize: 64 });
    const n = 50_000;
    assert.equal(live.send(n / 2), n / 2);
    live.sendOrThrow(n / 2);
    // The peer's NAPI counts asynchronously: wait for it to settle.
    const v = new Uint8Array(8);
    const counted = () => (counter.lookup(new Uint8Array(4), v) ? Number(new DataView(v.buffer).getBigUint64(0, true)) : -1);
    const deadline = Date.now() + 2000;
    let got = counted();
    while (got < n && Date.now() < deadline) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      got = counted();
    }
    // veth may drop a few when its ring is full; the peer may also see a stray frame of its own stack.
    assert.ok(got >= n * 0.95 && got < n + 50, `peer counted ${got} frames, sent ${n}`);
  } finally {
    peer?.close();
    txProg.close();
    count.close();
    counter.close();
  }
});
