/**
 * The XSK redirect program's attachment with another program swapped in behind its link: the l3fwd XDP
 * fast path on veth A forwards a routed frame out of veth B (captured on B's peer) and hands unrouted and
 * TTL-expiring frames to the AF_XDP socket on A, untouched; restore() puts the redirect program back; at
 * the end nothing is attached and no fd is left open. In drv mode B's peer gets GRO (veth takes
 * redirected frames only with NAPI on the receiving peer: an XDP program or GRO); in skb mode it needs
 * nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { canUseNetns, createVethPair, nsExec } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { openFds } from "../testing/fds.js";
import { ipv4Checksum } from "../wire/udp-frame.js";
import { ifIndex } from "../sys/netdev.js";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { Asm, R0, XdpAction } from "../bpf/asm.js";
import { Program, ProgType } from "../bpf/prog.js";
import { queryXdp } from "../bpf/query.js";
import { L3fwdFastPath } from "../bpf/l3fwd-fastpath.js";
import { XskSocket } from "./socket.js";
import { XskMapSlot, acquireXdpProgram, attachedPrograms } from "./xdp-prog.js";

const skip = !canUseNetns() && "needs root (bpf, namespaces, AF_XDP)";

const macBytes = (s: string) => Uint8Array.from(s.split(":").map((h) => Number.parseInt(h, 16)));

function routed(f: Uint8Array, dmac: Uint8Array, smac: Uint8Array): Uint8Array {
  const o = Uint8Array.from(f);
  o.set(dmac, 0);
  o.set(smac, 6);
  o[22] = o[22]! - 1;
  o[24] = 0;
  o[25] = 0;
  const c = ipv4Checksum(o, 14);
  o[24] = c >>> 8;
  o[25] = c & 0xff;
  return o;
}

/** Our test frames: UDP to port 5678 with a sequence number at payload offset 0. */
const seqOf = (f: Uint8Array): number => (f.length >= 46 && f[12] === 0x08 && f[13] === 0 && f[23] === 17 && ((f[36]! << 8) | f[37]!) === 5678
  ? new DataView(f.buffer, f.byteOffset).getUint32(42) : -1);

for (const mode of ["drv", "skb"] as const) {
  test(`${mode}: the l3fwd fast path swapped in forwards routed frames out of B and sends the rest to the AF_XDP socket on A; restore() puts the redirect program back`, { skip }, async () => {
    const fds0 = openFds().length;
    const pa = createVethPair({ prefix: "fpa" });
    const pb = createVethPair({ prefix: "fpb" });
    const umem = Umem.create({ frames: 2048, name: "fp" });
    const mp = Mempool.create({ umem, cacheSize: 0, debug: true });
    let ref: ReturnType<typeof acquireXdpProgram> | null = null;
    let xsk: XskSocket | null = null;
    let slot: XskMapSlot | null = null;
    let fp: L3fwdFastPath | null = null;
    let tx: PacketSocket | null = null;
    let rx: PacketSocket | null = null;
    try {
      ref = acquireXdpProgram(pa.a, mode);
      xsk = XskSocket.create({ ifname: pa.a, qid: 0, mempool: mp, rxSize: 512, txSize: 512, name: "fp-a" });
      slot = XskMapSlot.insert(ref.mapFd, 0, xsk.fd, "fp-a");
      const before = queryXdp(pa.a).attachments;
      assert.equal(before.length, 1);
      assert.equal(before[0]!.mode, mode);
      const linkId = before[0]!.linkId;
      assert.ok(linkId !== undefined, "attached through a link");

      const macA = macBytes(pa.macA), macB = macBytes(pb.macA), peerB = macBytes(pb.macB);
      fp = L3fwdFastPath.load({ xskMapFd: ref.mapFd, ports: [{ ifindex: ifIndex(pa.a), mac: macA }, { ifindex: ifIndex(pb.a), mac: macB }] });
      fp.setNextHop(0, peerB, 1);
      fp.addRoute(0x0a630000, 16, 0); // 10.99.0.0/16 -> out of B to B's peer
      if (mode === "drv") nsExec(pb.ns, "ethtool", "-K", pb.b, "gro", "on");

      ref.replace(fp.prog);
      assert.equal(ref.replacedBy, fp.prog.id);
      assert.deepEqual(queryXdp(pa.a).attachments, [{ mode, progId: fp.prog.id, linkId }], "same link, the fast path's program");
      ref.replace(fp.prog); // again: nothing to do

      tx = PacketSocket.open(pa.b, pa.ns);
      rx = PacketSocket.open(pb.b, pb.ns);
      const sent = new Map<number, Uint8Array>();
      const mk = (seq: number, dstIp: string, ttl = 64) => {
        const f = Uint8Array.from(udpFrame({ dst: pa.macA, src: pa.macB, seq, dstIp, size: 60 + (seq % 5) * 100 }));
        if (ttl !== 64) {
          f[22] = ttl;
          f[24] = 0;
          f[25] = 0;
          const c = ipv4Checksum(f, 14);
          f[24] = c >>> 8;
          f[25] = c & 0xff;
        }
        sent.set(seq, f);
        return f;
      };
      const ROUTED = 40, UNROUTED = 20, EXPIRING = 5;
      const frames: Uint8Array[] = [];
      for (let i = 0; i < ROUTED; i++) frames.push(mk(1000 + i, `10.99.${i}.2`));
      for (let i = 0; i < UNROUTED; i++) frames.push(mk(2000 + i, `192.0.2.${i + 1}`));
      for (let i = 0; i < EXPIRING; i++) frames.push(mk(3000 + i, "10.99.0.2", 1));

      const outB = new Map<number, Uint8Array>();
      const upA = new Map<number, Uint8Array>();
      const bufs = new Uint32Array(64);
      const drainXsk = (): void => {
        const n = xsk!.rxBurst(bufs, 64);
        for (let i = 0; i < n; i++) {
          const h = bufs[i]!;
          const o = ((h << umem.shift) >>> 0) + mp.mbufs.dataOff[h]!;
          const f = umem.u8.slice(o, o + mp.mbufs.dataLen[h]!);
          const s = seqOf(f);
          assert.ok(!upA.has(s), `frame ${s} reached the socket once`);
          upA.set(s, f);
        }
        if (n > 0) mp.freeBulk(bufs, n);
      };
      const drainB = (): void => {
        for (let f = rx!.recv(); f; f = rx!.recv()) {
          const s = seqOf(f);
          if (s < 0) continue;
          assert.ok(!outB.has(s), `frame ${s} left B once`);
          outB.set(s, f);
        }
      };
      let k = 0;
      const t0 = Date.now();
      while ((outB.size < ROUTED || upA.size < UNROUTED + EXPIRING) && Date.now() - t0 < 5000) {
        while (k < frames.length && tx.send(frames[k]!)) k++;
        drainXsk();
        drainB();
        rx.wait(5);
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(k, frames.length);
      assert.deepEqual([...outB.keys()].sort(), [...Array(ROUTED).keys()].map((i) => 1000 + i), "every routed frame left B, nothing else did");
      for (const [s, f] of outB) assert.deepEqual(f, routed(sent.get(s)!, peerB, macB), `frame ${s} rewritten: B's peer's MAC, B's MAC, TTL 63, checksum`);
      assert.deepEqual([...upA.keys()].sort(), [...[...Array(UNROUTED).keys()].map((i) => 2000 + i), ...[...Array(EXPIRING).keys()].map((i) => 3000 + i)],
        "every unrouted and TTL-1 frame reached the AF_XDP socket, no routed one did");
      for (const [s, f] of upA) assert.deepEqual(f, sent.get(s), `frame ${s} untouched`);
      const c = fp.counters();
      assert.deepEqual({ forwarded: c.forwarded, noRoute: c.noRoute, ttlExceeded: c.ttlExceeded, toUser: c.toUser, redirectFailed: c.redirectFailed },
        { forwarded: ROUTED, noRoute: UNROUTED, ttlExceeded: EXPIRING, toUser: UNROUTED + EXPIRING, redirectFailed: 0 });

      // Back to the redirect program: a routed frame now goes to the socket, and the fast path sees nothing.
      ref.restore();
      assert.equal(ref.replacedBy, undefined);
      assert.deepEqual(queryXdp(pa.a).attachments, before, "the redirect program again, same link");
      const again = mk(4000, "10.99.0.2");
      while (!tx.send(again)) await new Promise((r) => setTimeout(r, 1));
      const t1 = Date.now();
      while (!upA.has(4000) && Date.now() - t1 < 5000) {
        drainXsk();
        xsk.waitReadable(5);
      }
      assert.deepEqual(upA.get(4000), again, "a routed frame reached the socket untouched");
      assert.deepEqual(fp.counters(), c, "the fast path ran no more");
      drainB();
      assert.equal(outB.size, ROUTED, "nothing more left B");
    } finally {
      tx?.close();
      rx?.close();
      ref?.restore();
      fp?.close();
      slot?.remove();
      xsk?.close();
      ref?.release();
      try {
        assert.deepEqual(queryXdp(pa.a).attachments, [], "nothing left attached on A");
        assert.deepEqual(queryXdp(pb.a).attachments, [], "nothing attached on B");
        assert.ok(!attachedPrograms().some((k) => k.endsWith(`/${pa.a}/${mode}`)), "the process holds no attachment");
      } finally {
        pa.destroy();
        pb.destroy();
        umem.close();
      }
    }
    assert.equal(mp.available(), mp.count, "every frame back in the pool");
    assert.equal(mp.tracker!.doubleFrees + mp.tracker!.badAllocs + mp.tracker!.badKernelReturns, 0);
    assert.equal(openFds().length, fds0, "no fd left open");
  });
}

test("replace() refuses a program that does not use the netdev's XSKMAP; release() while replaced detaches; a released ref refuses", { skip }, () => {
  const v = createVethPair({ prefix: "fpr" });
  const pass = Program.load({ type: ProgType.XDP, name: "t_pass", insns: new Asm().mov64(R0, XdpAction.PASS).exit() });
  let ref: ReturnType<typeof acquireXdpProgram> | null = null;
  let fp: L3fwdFastPath | null = null;
  try {
    ref = acquireXdpProgram(v.a, "drv");
    const def = queryXdp(v.a).attachments[0]!.progId;
    assert.throws(() => ref!.replace(pass), (e: Error) => e instanceof TypeError
      && new RegExp(`replace the XSK redirect program on ${v.a} \\(drv\\) with program 't_pass' \\(id ${pass.id}\\): it does not use the netdev's XSKMAP \\(map id \\d+; it uses no maps\\)`).test(e.message));
    assert.equal(queryXdp(v.a).attachments[0]!.progId, def, "still the redirect program");

    fp = L3fwdFastPath.load({ xskMapFd: ref.mapFd, ports: [{ ifindex: ifIndex(v.a), mac: macBytes(v.macA) }] });
    const second = acquireXdpProgram(v.a, "drv"); // another reference to the same attachment
    assert.equal(second.mapFd, ref.mapFd);
    second.replace(fp.prog);
    assert.equal(ref.replacedBy, fp.prog.id, "the swap shows through every reference");
    second.release();
    assert.equal(queryXdp(v.a).attachments[0]!.progId, fp.prog.id, "one reference left: still attached");
    ref.release();
    assert.deepEqual(queryXdp(v.a).attachments, [], "the last release detaches whatever runs");
    assert.throws(() => ref!.replace(fp!.prog), /XdpProgramRef\.replace .*: the reference was released/);
    assert.throws(() => ref!.restore(), /XdpProgramRef\.restore .*: the reference was released/);
    ref = null;
  } finally {
    ref?.release();
    fp?.close();
    pass.close();
    v.destroy();
  }
});
