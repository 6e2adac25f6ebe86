/**
 * net_tap against the kernel, in a namespace of its own: the kernel's ARP request for a neighbor arrives,
 * our ARP reply releases the datagram it held, an ICMP echo request we write is answered; close removes
 * the netdev unless persistent; a name taken by another kind of netdev is refused, leaving no fd open.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { TapPort } from "./tap.js";
import { canUseNetns, createNetns, nsExec, uniqueName, inNetns } from "../testing/netns.js";
import { receive, bytesOf, framesInPool, sendAll, assertAllReturned, testFrames } from "../testing/port-conformance.js";
import { openFds } from "../testing/fds.js";
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { AF_INET, SOCK_DGRAM, SOCK_CLOEXEC } from "../sys/consts.js";
import { cksum } from "../wire/cksum.js";

const skip = !canUseNetns() ? "needs root" : !existsSync("/dev/net/tun") ? "no /dev/net/tun" : false;

const PEER_MAC = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const TAP_IP = [10, 77, 0, 1];
const PEER_IP = [10, 77, 0, 2];
const macBytes = (m: string) => m.split(":").map((x) => parseInt(x, 16));
const be16 = (v: number) => [v >> 8, v & 0xff];

function ipv4(proto: number, src: number[], dst: number[], l4: number[]): number[] {
  const h = [0x45, 0, ...be16(20 + l4.length), 0x12, 0x34, 0, 0, 64, proto, 0, 0, ...src, ...dst];
  const c = cksum(Uint8Array.from(h), 0, 20);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return [...h, ...l4];
}

function icmpEcho(type: number, id: number, seq: number, payload: number[]): number[] {
  const m = [type, 0, 0, 0, ...be16(id), ...be16(seq), ...payload];
  const c = cksum(Uint8Array.from(m), 0, m.length);
  m[2] = c >> 8;
  m[3] = c & 0xff;
  return m;
}

async function withTap(fn: (ns: string, iface: string, pool: Mempool) => Promise<void>): Promise<void> {
  const ns = createNetns("xdptap");
  const umem = Umem.create({ frames: 1024 });
  try {
    nsExec(ns.ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
    nsExec(ns.ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
    const pool = Mempool.create({ umem, cacheSize: 32, debug: true });
    await fn(ns.ns, uniqueName("tap"), pool);
    assertAllReturned(pool);
  } finally {
    ns.destroy();
    umem.close();
  }
}

test("the kernel's packets on the TAP arrive, and what we write reaches the kernel (ARP, UDP, ping)", { skip }, async () => {
  await withTap(async (ns, iface, pool) => {
    const port = inNetns(ns, () => TapPort.create({ name: `${iface}:0`, pid: 5, iface, mempool: pool }));
    let udp = -1;
    try {
      nsExec(ns, "ip", "addr", "add", "10.77.0.1/24", "dev", iface);
      const tapMac = macBytes(port.macAddr());
      assert.notDeepEqual(tapMac, [0, 0, 0, 0, 0, 0]);
      // A datagram to a neighbor the kernel does not know yet: it asks for its MAC on the TAP.
      udp = inNetns(ns, () => check(sys.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket(AF_INET)"));
      const sin = Uint8Array.from([2, 0, ...be16(9999), ...PEER_IP, 0, 0, 0, 0, 0, 0, 0, 0]);
      const payload = Uint8Array.from(Buffer.from("hello from the kernel's side"));
      check(sys.sendto(udp, payload, 0, sin), "sendto(udp)");
      const [arp] = await receive(port, 1);
      assert.ok(arp !== undefined, "the ARP request came out of the TAP");
      const req = bytesOf(pool, arp);
      assert.equal(pool.mbufs.port[arp], 5);
      assert.deepEqual([...req.subarray(0, 14)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...tapMac, 0x08, 0x06], "broadcast ARP from the TAP's MAC");
      assert.deepEqual([...req.subarray(20, 22)], [0, 1], "an ARP request");
      assert.deepEqual([...req.subarray(22, 28)], tapMac, "sender MAC");
      assert.deepEqual([...req.subarray(28, 32)], TAP_IP, "sender IP");
      assert.deepEqual([...req.subarray(38, 42)], PEER_IP, "target IP");
      pool.freeBulk(Uint32Array.of(arp), 1);
      // Our ARP reply: the kernel sends the datagram it held.
      const reply = [...tapMac, ...PEER_MAC, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2, ...PEER_MAC, ...PEER_IP, ...tapMac, ...TAP_IP];
      while (reply.length < 60) reply.push(0);
      await sendAll(port, framesInPool(pool, [Uint8Array.from(reply)]));
      const [dg] = await receive(port, 1);
      assert.ok(dg !== undefined, "the datagram came after the ARP reply");
      const d = bytesOf(pool, dg);
      pool.freeBulk(Uint32Array.of(dg), 1);
      assert.deepEqual([...d.subarray(0, 14)], [...PEER_MAC, ...tapMac, 0x08, 0x00]);
      assert.equal(d[23], 17, "UDP");
      assert.deepEqual([...d.subarray(30, 34)], PEER_IP);
      assert.deepEqual([...d.subarray(36, 38)], be16(9999));
      assert.deepEqual(d.subarray(42), payload, "the payload byte for byte");
      // A ping from the peer to the TAP's address is answered.
      const data = Array.from({ length: 32 }, (_, i) => i);
      const echo = [...tapMac, ...PEER_MAC, 0x08, 0x00, ...ipv4(1, PEER_IP, TAP_IP, icmpEcho(8, 0x4242, 7, data))];
      await sendAll(port, framesInPool(pool, [Uint8Array.from(echo)]));
      const [pong] = await receive(port, 1);
      assert.ok(pong !== undefined, "the echo reply came");
      const p = bytesOf(pool, pong);
      pool.freeBulk(Uint32Array.of(pong), 1);
      assert.deepEqual([...p.subarray(0, 14)], [...PEER_MAC, ...tapMac, 0x08, 0x00]);
      assert.equal(p[23], 1, "ICMP");
      assert.deepEqual([...p.subarray(26, 30)], TAP_IP);
      assert.deepEqual([...p.subarray(30, 34)], PEER_IP);
      assert.deepEqual([p[34], p[35]], [0, 0], "an echo reply");
      assert.deepEqual([...p.subarray(38, 42)], [0x42, 0x42, 0, 7], "same id and sequence");
      assert.equal(cksum(p, 34, p.length - 34), 0, "ICMP checksum");
      assert.deepEqual([...p.subarray(42)], data, "the echo data byte for byte");
      const s = port.readStats();
      assert.deepEqual([s["ipackets"], s["opackets"], s["oerrors"], s["ierrors"]], [3, 2, 0, 0]);
      assert.equal(s["obytes"], reply.length + echo.length);
      // The kernel's own count of what we wrote: rx on the TAP.
      const st = JSON.parse(nsExec(ns, "ip", "-j", "-s", "link", "show", iface))[0].stats64.rx as { packets: number };
      assert.equal(st.packets, 2);
    } finally {
      if (udp >= 0) sys.close(udp);
      port.close();
    }
    assert.throws(() => nsExec(ns, "ip", "link", "show", iface), /does not exist/, "closing the port removed the TAP");
  });
});

test("persist keeps the TAP after close; a later port attaches to it; a non-TAP name is refused without leaking an fd", { skip }, async () => {
  await withTap(async (ns, iface, pool) => {
    const a = inNetns(ns, () => TapPort.create({ name: "a", pid: 0, iface, mempool: pool, persist: true }));
    a.close();
    assert.match(nsExec(ns, "ip", "link", "show", iface), new RegExp(iface));
    const b = inNetns(ns, () => TapPort.create({ name: "b", pid: 0, iface, mempool: pool }));
    assert.equal(b.persist, true, "attached to a persistent TAP: it stays");
    // The kernel refuses writes to a TAP that is down (EIO): the frames are taken, freed and counted.
    nsExec(ns, "ip", "link", "set", iface, "down");
    assert.equal(b.txBurst(framesInPool(pool, testFrames(3)), 3), 3);
    assert.deepEqual([b.stats[2], b.stats[7]], [0, 3], "opackets 0, oerrors 3");
    b.close();
    assert.match(nsExec(ns, "ip", "link", "show", iface), new RegExp(iface));
    nsExec(ns, "ip", "link", "del", iface);
    nsExec(ns, "ip", "link", "add", "vx0", "type", "veth", "peer", "name", "vx1");
    const before = openFds().length;
    assert.throws(() => inNetns(ns, () => TapPort.create({ name: "c", pid: 0, iface: "vx0", mempool: pool })), /TUNSETIFF vx0.*not a TAP device/);
    assert.equal(openFds().length, before, "no fd left open");
    assert.throws(() => TapPort.create({ name: "d", pid: 0, iface: "bad name", mempool: pool }), /invalid netdev name 'bad name'/);
  });
});

