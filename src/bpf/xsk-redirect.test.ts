import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { sys } from "../sys/native.js";
import { AF_XDP, SOCK_RAW, SOCK_CLOEXEC } from "../sys/consts.js";
import { ifIndex } from "../sys/netdev.js";
import { canUseNetns, createVethPair, type VethPair } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { XdpAction } from "./asm.js";
import { BpfMap, MapType } from "./map.js";
import { ProgType } from "./prog.js";
import { XdpLink } from "./link.js";
import { queryXdp } from "./query.js";
import { testRun } from "./test-run.js";
import { loadXskRedirect, xsksMapSpec } from "./xsk-redirect.js";

const root = canUseNetns();
const skip = !root && "needs root (bpf, namespaces)";
let veth!: VethPair;
let xsk = -1; // an AF_XDP socket never bound: a redirect into it drops
before(() => {
  if (!root) return;
  veth = createVethPair({ prefix: "xsk", queues: 2 });
  xsk = sys.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
});
after(() => {
  veth?.destroy();
  if (xsk >= 0) sys.close(xsk);
});

test("loadXskRedirect creates xsks_map (XSKMAP u32->u32, 64) and the program using it", { skip }, () => {
  const r = loadXskRedirect();
  try {
    const m = r.map.info();
    assert.deepEqual({ type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, name: m.name },
      { type: MapType.XSKMAP, keySize: 4, valueSize: 4, maxEntries: 64, name: "xsks_map" });
    const p = r.prog.info();
    assert.equal(p.type, ProgType.XDP);
    assert.equal(p.name, "xsk_def_prog");
    assert.deepEqual(p.mapIds, [m.id]);
  } finally {
    r.close();
  }
  // With a map of the caller's: the caller keeps it open.
  const own = BpfMap.create(xsksMapSpec(4));
  try {
    const r2 = loadXskRedirect({ map: own });
    r2.close();
    assert.equal(own.info().maxEntries, 4);
    const hash = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      assert.throws(() => loadXskRedirect({ map: hash }), /not an XSKMAP/);
    } finally {
      hash.close();
    }
  } finally {
    own.close();
  }
});

test("verdicts: XDP_PASS for an empty slot, XDP_REDIRECT for the queue's socket", { skip }, () => {
  const r = loadXskRedirect();
  try {
    const data = udpFrame({ dst: veth.macA, src: veth.macB, seq: 1 });
    const run = (q: number) => testRun(r.prog, { data, ctx: { ingressIfindex: ifIndex(veth.a), rxQueueIndex: q } }).retval;
    assert.equal(run(0), XdpAction.PASS);
    assert.equal(run(1), XdpAction.PASS);
    r.map.updateU32(0, xsk);
    assert.equal(run(0), XdpAction.REDIRECT);
    assert.equal(run(1), XdpAction.PASS);
    r.map.deleteU32(0);
    assert.equal(run(0), XdpAction.PASS);
  } finally {
    r.close();
  }
});

test("attached to a veth: frames pass to the stack until a socket takes the queue", { skip }, async () => {
  const r = loadXskRedirect();
  const link = XdpLink.attach(r.prog, veth.a, { mode: "drv" });
  const rx = PacketSocket.open(veth.a);
  const tx = PacketSocket.open(veth.b, veth.ns);
  try {
    assert.equal(queryXdp(veth.a).attachments[0]?.mode, "drv");
    // Count our frames (UDP to port 5678 with the sequence number in the payload) arriving at veth.a.
    const seen = async (seq: number): Promise<boolean> => {
      assert.ok(tx.send(udpFrame({ dst: veth.macA, src: veth.macB, seq })));
      const deadline = Date.now() + 500;
      while (Date.now() < deadline) {
        rx.wait(50);
        for (let f = rx.recv(); f; f = rx.recv()) {
          const dv = new DataView(f.buffer);
          if (f.length >= 46 && dv.getUint16(12) === 0x0800 && dv.getUint16(36) === 5678 && dv.getUint32(42) === seq) return true;
        }
        await new Promise((res) => setImmediate(res));
      }
      return false;
    };
    assert.equal(await seen(100), true, "frame should pass to the stack with an empty xsks_map");
    r.map.updateU32(0, xsk); // the peer's sends may arrive on either queue: fill both
    r.map.updateU32(1, xsk);
    assert.equal(await seen(101), false, "frame should be redirected (into an unbound socket: dropped)");
    r.map.deleteU32(0);
    r.map.deleteU32(1);
    assert.equal(await seen(102), true);
  } finally {
    rx.close();
    tx.close();
    link.close();
    r.close();
  }
});
