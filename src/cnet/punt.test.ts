/**
 * The punt nodes over ring ports (no root; a ring port stands for the TAP, the test reads and writes
 * the kernel's side): with punting on, other EtherTypes, datagrams for other addresses, unserved
 * protocols (and their fragments, unreassembled), UDP to ports without a channel (no ICMP then), and a
 * reassembled datagram to such a port (written as fragments a frame holds) reach the TAP byte for byte;
 * the kernel's frames come back out: IPv4 to the lport's MAC routed and resolved by the stack (the peer's
 * MAC written), broadcasts as they are, an oversized UDP datagram fragmented, an oversized TCP segment
 * with DF dropped and counted. Every frame back in the pool.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { RingPort } from "../pktdev/ring-port.js";
import { cksum } from "../wire/cksum.js";
import { NetTables } from "./tables.js";
import { ArpTable } from "./arp-table.js";
import { CnetCounters } from "./counters.js";
import { CnetStack } from "./stack.js";
import { ringFrameIo, type RingFrameIo } from "../testing/ring-frames.js";

const MAC_US = [2, 0, 0, 0, 0xa, 1];
const MAC_PEER = [2, 0, 0, 0, 0xb, 2];
const US = [10, 0, 0, 1];
const PEER = [10, 0, 0, 2];
const FRAMES = 2048;
const put16 = (b: Uint8Array, o: number, v: number) => { b[o] = (v >> 8) & 0xff; b[o + 1] = v & 0xff; };
const be16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;

function eth(type: number, body: Uint8Array, dst = MAC_US, src = MAC_PEER): Uint8Array {
  const f = new Uint8Array(14 + body.length);
  f.set(dst, 0); f.set(src, 6); put16(f, 12, type); f.set(body, 14);
  return f;
}

function ip4(proto: number, l4: Uint8Array, o: { src?: number[]; dst?: number[]; frag?: number; tot?: number } = {}): Uint8Array {
  const d = new Uint8Array(20 + l4.length);
  d[0] = 0x45; put16(d, 2, o.tot ?? d.length); put16(d, 4, 0x4321); put16(d, 6, o.frag ?? 0);
  d[8] = 64; d[9] = proto; d.set(o.src ?? PEER, 12); d.set(o.dst ?? US, 16);
  put16(d, 10, cksum(d, 0, 20));
  d.set(l4, 20);
  return d;
}

function udp(dport: number, payload: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  put16(u, 0, 5000); put16(u, 2, dport); put16(u, 4, u.length); u.set(payload, 8);
  return u; // checksum 0: none
}

function rig() {
  const umem = Umem.create({ frames: FRAMES });
  const mp = Mempool.create({ umem, cacheSize: 32 });
  const [p0, wire] = RingPort.pair({ names: ["p0", "wire"], pids: [0, 1], mbufs: mp.mbufs, size: 512 });
  const [tap, kernel] = RingPort.pair({ names: ["tap", "kernel"], pids: [2, 3], mbufs: mp.mbufs, size: 512 });
  const tables = NetTables.create({ maxTbl8Groups: 4 });
  tables.setInterface({ ifindex: 5, pid: 0, mac: Uint8Array.from(MAC_US), mtu: 1500 });
  tables.addAddress4(0x0a000001, 24, 5);
  tables.addRoute4(0x0a000000, 24, 0, 5, 0);
  const counters = CnetCounters.create();
  const stack = CnetStack.create({
    ports: [p0!], mempool: mp, burst: 32, tables, arp: ArpTable.create({ capacity: 16 }), counters, ipv6: false,
    stackPorts: [{ pid: 0, ifindex: 5, mac: Uint8Array.from(MAC_US) }], timers: { gratuitous: false }, clock: Float64Array.of(1000),
    punt: { tap: tap!, pid: 0 },
  });
  const wireIo = ringFrameIo(umem, mp, wire!);
  const kernelIo = ringFrameIo(umem, mp, kernel!);
  const send = (io: RingFrameIo, frames: Uint8Array[]) => {
    io.inject(...frames);
    for (let i = 0; i < 6; i++) stack.walk();
  };
  const finish = () => {
    stack.close();
    kernelIo.drain();
    wireIo.finish(FRAMES);
  };
  // The peer's MAC is known.
  const arp = new Uint8Array(28); arp.set([0, 1, 8, 0, 6, 4, 0, 2]); arp.set(MAC_PEER, 8); arp.set(PEER, 14); arp.set(MAC_US, 18); arp.set(US, 24);
  send(wireIo, [eth(0x0806, arp)]);
  return { stack, c: () => counters.read(), toStack: (f: Uint8Array[]) => send(wireIo, f), fromKernel: (f: Uint8Array[]) => send(kernelIo, f), onWire: () => wireIo.drain(), atKernel: () => kernelIo.drain(), finish };
}

describe("punt to the kernel through a TAP", () => {
  test("what the stack does not handle reaches the TAP byte for byte; nothing answers it on the wire", () => {
    const r = rig();
    try {
      const lldp = eth(0x88cc, new Uint8Array(46).fill(7));
      const other = eth(0x0800, ip4(17, udp(53, new Uint8Array(10)), { dst: [10, 0, 0, 99] }));
      const closed = eth(0x0800, ip4(17, udp(22, new Uint8Array(30).fill(1))));
      const gre = eth(0x0800, ip4(47, new Uint8Array(24)));
      const greFrag = eth(0x0800, ip4(47, new Uint8Array(24), { frag: 0x2000 }));
      r.toStack([lldp, other, closed, gre, greFrag]);
      const key = (f: Uint8Array) => Buffer.from(f).toString("hex");
      const got = r.atKernel();
      assert.deepEqual(got.map(key).sort(), [lldp, other, closed, gre, greFrag].map(key).sort(), "each byte for byte (node order, not arrival order)");
      assert.deepEqual(r.onWire(), [], "no ICMP error, no answer from the stack");
      const c = r.c();
      assert.deepEqual([c.punt_tx, c.punt_drop, c.udp_no_port, c.icmp_tx, c.ip4_frag_rx], [5, 0, 1, 0, 0]);
      // A reassembled 3000-byte datagram to a closed port: back in pieces a frame holds.
      const payload = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
      const d = ip4(17, udp(23, payload));
      const frags = [0, 1480].map((at) => {
        const part = d.subarray(20 + at, Math.min(d.length, 20 + at + 1480));
        const f = ip4(17, part, { frag: (at + 1480 < d.length - 20 ? 0x2000 : 0) | (at >> 3) });
        return eth(0x0800, f);
      });
      const last = eth(0x0800, ip4(17, d.subarray(20 + 2960), { frag: 2960 >> 3 }));
      r.toStack([...frags, last]);
      const pieces = r.atKernel();
      assert.equal(r.c().ip4_reasm_ok, 1);
      assert.equal(pieces.length, 2, "3028 bytes of IP in frames of 1778: two pieces");
      const whole = new Uint8Array(3008);
      let seen = 0;
      for (const p of pieces) {
        assert.deepEqual([...p.subarray(0, 14)], [...MAC_US, ...MAC_PEER, 8, 0], "the datagram's Ethernet header on each piece");
        assert.equal(cksum(p, 14, 20), 0);
        const off = (be16(p, 20) & 0x1fff) * 8;
        whole.set(p.subarray(34, 14 + be16(p, 16)), off);
        seen += be16(p, 16) - 20;
      }
      assert.equal(seen, 3008);
      assert.deepEqual(whole.subarray(8), payload, "the kernel gets the datagram's bytes");
    } finally {
      r.finish();
    }
  });

  test("the kernel's frames go out: IPv4 to our MAC routed and resolved, broadcasts as they are, oversized UDP fragmented, oversized TCP with DF dropped", () => {
    const r = rig();
    try {
      const reply = eth(0x0800, ip4(6, new Uint8Array(20).fill(3), { src: US, dst: PEER }), MAC_US, MAC_US); // NOARP: its own MAC as destination
      const dhcp = eth(0x0800, ip4(17, udp(67, new Uint8Array(20)), { src: [0, 0, 0, 0], dst: [255, 255, 255, 255] }), [255, 255, 255, 255, 255, 255], MAC_US);
      const bigUdp = eth(0x0800, ip4(17, udp(9, new Uint8Array(1700).fill(9)), { src: US, dst: PEER }), MAC_US, MAC_US);
      const bigTcp = eth(0x0800, ip4(6, new Uint8Array(1700), { src: US, dst: PEER, frag: 0x4000 }), MAC_US, MAC_US);
      r.fromKernel([reply, dhcp, bigUdp, bigTcp]);
      const out = r.onWire();
      assert.equal(out.length, 4, "the reply, the broadcast, two fragments");
      const want = reply.slice(); want.set(MAC_PEER, 0);
      assert.deepEqual(out.find((f) => f[23] === 6), want, "the peer's MAC written by the stack");
      assert.deepEqual(out.find((f) => f[0] === 0xff), dhcp, "a broadcast as the kernel wrote it");
      const frags = out.filter((f) => f[23] === 17 && f[0] !== 0xff);
      assert.deepEqual(frags.map((f) => be16(f, 16)), [1500, 20 + 1708 - 1480]);
      for (const f of frags) assert.deepEqual([...f.subarray(0, 6)], MAC_PEER);
      const c = r.c();
      assert.deepEqual([c.punt_rx, c.punt_rx_ip4, c.punt_rx_raw, c.ip4_frag_out, c.ip4_frag_created, c.ip4_frag_drop_df], [4, 3, 1, 1, 2, 1]);
    } finally {
      r.finish();
    }
  });
});
