import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ifIndex } from "../sys/netdev.js";
import { canUseNetns, createVethPair, inNetns, type VethPair } from "../testing/netns.js";
import { udpFrame } from "../testing/packet-socket.js";
import { NetlinkSocket } from "../netlink/socket.js";
import { linkStats } from "../netlink/link.js";
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

/** A u64 counter in a one-slot array map. */
function newCounter(name: string): { map: BpfMap; read(): number } {
  const map = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name });
  const key = new Uint8Array(4);
  const v = new Uint8Array(8);
  return { map, read: () => (map.lookup(key, v) ? Number(new DataView(v.buffer).getBigUint64(0, true)) : -1) };
}

/**
 * An XDP program that adds 1 to the counter for each frame (with `seq`: only testing/packet-socket's UDP
 * frames carrying that sequence number, a big-endian u32 at byte 42), then returns `action`.
 */
function countingProgram(counter: BpfMap, action: number, seq?: number): Program {
  const a = new Asm();
  if (seq !== undefined) {
    a.ldx("w", R2, R1, XdpMd.data)
      .ldx("w", R3, R1, XdpMd.data_end)
      .mov64(R4, R2)
      .add64(R4, 46)
      .jgt(R4, R3, "out") // shorter than 46 bytes: not ours
      .ldx("w", R4, R2, 42)
      .toBe(R4, 32)
      .jmp32("jne", R4, seq, "out");
  }
  a.st("w", R10, -4, 0)
    .mov64(R2, R10)
    .add64(R2, -4)
    .ldMapFd(R1, counter.fd)
    .call(Helper.map_lookup_elem)
    .jeq(R0, 0, "out")
    .mov64(R1, 1)
    .atomicAdd("dw", R0, 0, R1)
    .label("out")
    .mov64(R0, action)
    .exit();
  return Program.load({ type: ProgType.XDP, name: "t_count", insns: a });
}

test("test run: verdict, frame out, repeat count", { skip }, () => {
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
    assert.deepEqual(r.dataOut, Uint8Array.of(0xaa, ...new Uint8Array(63).fill(1)));
    assert.equal(r.dataOut?.buffer, out.buffer, "dataOut is a view of the caller's buffer");
    assert.deepEqual(data, new Uint8Array(64).fill(1), "input untouched");
    assert.throws(() => testRun(p, { data, dataOut: new Uint8Array(8) }), { code: "ENOSPC" });
  } finally {
    p.close();
  }
  // The program runs `repeat` times (default once); durationNs is the kernel's clock and is not checked.
  const counter = newCounter("t_runs");
  const count = countingProgram(counter.map, XdpAction.PASS);
  try {
    const data = new Uint8Array(64);
    assert.equal(testRun(count, { data, repeat: 1000 }).retval, XdpAction.PASS);
    assert.equal(counter.read(), 1000);
    testRun(count, { data });
    assert.equal(counter.read(), 1001);
  } finally {
    count.close();
    counter.map.close();
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
  // On the peer (in its namespace): count our frames in an array map, then drop every frame.
  const seq = 7;
  const counter = newCounter("t_count");
  const count = countingProgram(counter.map, XdpAction.DROP, seq);
  const txProg = Program.load({ type: ProgType.XDP, name: "t_tx", insns: new Asm().mov64(R0, XdpAction.TX).exit() });
  const nl = NetlinkSocket.open();
  let peer: XdpLink | undefined;
  try {
    peer = inNetns(veth.ns, () => XdpLink.attach(count, veth.b, { mode: "drv" }));
    const frame = udpFrame({ dst: veth.macB, src: veth.macA, seq });
    const live = new LiveFrames(txProg, frame, { ifindex: ifIndex(veth.a), batchSize: 64 });
    const dropped0 = linkStats(nl, veth.a).txDropped;
    const n = 50_000;
    assert.equal(live.send(n / 2), n / 2);
    live.sendOrThrow(n / 2);
    // Each XDP_TX'd frame goes into the peer's 256-slot ring (veth_xdp_xmit, drivers/net/veth.c); a frame
    // that finds it full is dropped and counted in the sender's tx_dropped (the peer queue's
    // peer_tq_xdp_xmit_err). The peer's NAPI empties the ring between batches of 64, so frames are lost
    // only when it is held off (e.g. deferred to ksoftirqd on a busy CPU): every frame is either counted
    // by the peer's program or by that counter. The peer's NAPI runs asynchronously: wait for it.
    const dropped = () => linkStats(nl, veth.a).txDropped - dropped0;
    const deadline = Date.now() + 2000;
    let got = counter.read();
    while (got + dropped() < n && Date.now() < deadline) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      got = counter.read();
    }
    const lost = dropped();
    assert.equal(got + lost, n, `peer counted ${got} frames, veth dropped ${lost}, sent ${n}`);
    assert.ok(got > 0, "frames reach the peer");
  } finally {
    peer?.close();
    nl.close();
    txProg.close();
    count.close();
    counter.map.close();
  }
});
