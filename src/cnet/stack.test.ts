/**
 * The stack over ring ports without root: the peer is the far ring port (p1), frames built here.
 * - ARP resolution for datagrams a channel sends: one request, a bounded pending queue (excess dropped
 *   and counted), released with the right Ethernet header when the reply comes;
 * - an unanswered address: three requests, then the held frames are freed and counted;
 * - ICMP echo answered byte for byte against a hand-built reply;
 * - every frame back in the pool at the end (mempool.available() === count);
 * - the input path (ping in, reply out, UDP to a closed port, bad checksums) allocates nothing (GC probe).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { RingPort } from "../pktdev/ring-port.js";
import { udpFrame } from "../wire/udp-frame.js";
import { cksum } from "../wire/cksum.js";
import { gc, gcsAndGrowth, sleep } from "../testing/gc-probe.js";
import { NetTables } from "./tables.js";
import { ArpTable } from "./arp-table.js";
import { CnetCounters } from "./counters.js";
import { CnetStack } from "./stack.js";
import type { ArpTimers } from "./nodes/arp.js";
import { ARP_REACHABLE, ARP_STALE } from "./arp-table.js";
import { NeighbourFeed } from "./learn.js";
import { ringFrameIo, templateFeed } from "../testing/ring-frames.js";

const MAC_US = Uint8Array.of(2, 0, 0, 0, 0xa, 1);
const MAC_PEER = Uint8Array.of(2, 0, 0, 0, 0xb, 2);
const US = 0x0a000001;
const PEER = 0x0a000002;
const FRAMES = 4096;

function rig(timers: ArpTimers = {}, clock?: Float64Array, feed?: NeighbourFeed) {
  const umem = Umem.create({ frames: FRAMES });
  const mp = Mempool.create({ umem, cacheSize: 64 });
  const [p0, p1] = RingPort.pair({ names: ["p0", "p1"], pids: [0, 1], mbufs: mp.mbufs, size: 1024 });
  const tables = NetTables.create({ maxTbl8Groups: 4 });
  tables.setInterface({ ifindex: 5, pid: 0, mac: MAC_US, mtu: 1500 });
  tables.addAddress4(US, 24, 5);
  tables.addRoute4(0x0a000000, 24, 0, 5, 0);
  const counters = CnetCounters.create();
  const arp = ArpTable.create({ capacity: 64, pendingPerEntry: 8 });
  const stack = CnetStack.create({
    ports: [p0!], mempool: mp, burst: 32, tables, arp, counters, stackPorts: [{ pid: 0, ifindex: 5, mac: MAC_US }],
    timers: { gratuitous: false, ...timers }, ...(clock ? { clock } : {}), ...(feed ? { feed } : {}),
  });
  /** Frames the stack sent (copies), freed from the pool. */
  const io = ringFrameIo(umem, mp, p1!);
  const drain = io.drain;
  const inject = (f: Uint8Array) => io.inject(f);
  const finish = () => {
    stack.close();
    io.finish(FRAMES);
  };
  return { umem, mp, p0: p0!, p1: p1!, stack, c: () => counters.read(), drain, inject, finish };
}

function arpReply(): Uint8Array {
  const f = new Uint8Array(42);
  f.set(MAC_US, 0); f.set(MAC_PEER, 6); f[12] = 8; f[13] = 6;
  f.set([0, 1, 8, 0, 6, 4, 0, 2], 14);
  f.set(MAC_PEER, 22); f.set([10, 0, 0, 2], 28); f.set(MAC_US, 32); f.set([10, 0, 0, 1], 38);
  return f;
}

function echoRequest(seq: number): Uint8Array {
  const f = udpFrame({ size: 98, dst: "02:00:00:00:0a:01", src: "02:00:00:00:0b:02", srcIp: "10.0.0.2", dstIp: "10.0.0.1" });
  f[23] = 1;
  f[24] = 0; f[25] = 0;
  const ip = cksum(f, 14, 20);
  f[24] = ip >> 8; f[25] = ip & 0xff;
  f.fill(0, 34, 42);
  f[34] = 8; f[38] = 0x12; f[39] = 0x34; f[40] = seq >> 8; f[41] = seq & 0xff;
  for (let i = 42; i < 98; i++) f[i] = i;
  const ic = cksum(f, 34, 64);
  f[36] = ic >> 8; f[37] = ic & 0xff;
  return f;
}

describe("cnet stack over ring ports", () => {
  test("ARP resolution: one request, 8 datagrams held and 2 dropped, released with the peer's MAC", () => {
    const r = rig();
    try {
      const ch = r.stack.chnl;
      const cd = ch.open("udp");
      assert.equal(ch.bind(cd, 0, 5000), 5000);
      const b = new Uint32Array(10);
      assert.equal(ch.allocBurst(b, 10), 10);
      for (let i = 0; i < 10; i++) {
        const at = ch.payloadAt(b[i]!);
        r.umem.u8.set([i, i, i], at);
        r.mp.mbufs.dataLen[b[i]!] = 3;
      }
      assert.equal(ch.sendTo(cd, b, 10, PEER, 6000), 10);
      r.stack.walk();
      const out = r.drain();
      assert.equal(out.length, 1, "one ARP request");
      assert.deepEqual([...out[0]!.subarray(0, 14)], [255, 255, 255, 255, 255, 255, ...MAC_US, 8, 6]);
      assert.deepEqual([...out[0]!.subarray(14 + 24, 14 + 28)], [10, 0, 0, 2], "asks for the peer");
      assert.equal(r.c().arp_pending_held, 8);
      assert.equal(r.c().arp_pending_drop_full, 2);
      r.inject(arpReply());
      r.stack.walk();
      const sent = r.drain();
      assert.equal(sent.length, 8);
      sent.forEach((f, i) => {
        assert.deepEqual([...f.subarray(0, 12)], [...MAC_PEER, ...MAC_US]);
        assert.equal(f.length, 42 + 3);
        assert.deepEqual([...f.subarray(42)], [i, i, i]);
        assert.equal(cksum(f, 14, 20), 0, "valid IPv4 checksum");
        assert.equal((f[34]! << 8) | f[35]!, 5000);
        assert.equal((f[36]! << 8) | f[37]!, 6000);
      });
      assert.equal(r.c().arp_pending_sent, 8);
      assert.equal(r.c().udp_tx, 10);
    } finally {
      r.finish();
    }
  });

  test("an address nobody answers: three requests, then the held frames are freed and counted", async () => {
    const r = rig({ retransMs: 5, scanMs: 0 });
    try {
      const ch = r.stack.chnl;
      const cd = ch.open("udp");
      ch.connect(cd, 0x0a000003, 9);
      const b = new Uint32Array(3);
      ch.allocBurst(b, 3);
      assert.equal(ch.sendBurst(cd, b, 3), 3);
      for (let i = 0; i < 200 && r.c().arp_pending_timeout === 0; i++) {
        r.stack.walk();
        await sleep(2);
      }
      const out = r.drain();
      assert.equal(out.length, 3, "three requests");
      assert.equal(r.c().arp_req_out, 3);
      assert.equal(r.c().arp_pending_timeout, 3);
      assert.equal(r.stack.ctx.arp.lookup(0x0a000003), -1, "the entry is gone");
    } finally {
      r.finish();
    }
  });

  test("echo reply byte for byte; UDP to a closed port answered ICMP port unreachable", () => {
    const r = rig();
    try {
      r.inject(arpReply()); // the peer is known (a reply for us is merged)
      r.stack.walk();
      assert.equal(r.c().arp_reply_in, 1);
      const req = echoRequest(7);
      r.inject(req);
      r.stack.walk();
      const [rep] = r.drain();
      const want = Uint8Array.from(req);
      want.set(MAC_PEER, 0); want.set(MAC_US, 6);
      want.set([10, 0, 0, 1], 26); want.set([10, 0, 0, 2], 30);
      want[34] = 0; want[36] = 0; want[37] = 0;
      const ic = cksum(want, 34, 64);
      want[36] = ic >> 8; want[37] = ic & 0xff;
      assert.deepEqual(rep, want, "the echo reply");
      const udp = udpFrame({ dst: "02:00:00:00:0a:01", src: "02:00:00:00:0b:02", srcIp: "10.0.0.2", dstIp: "10.0.0.1", dport: 4444, size: 70 });
      r.inject(udp);
      r.stack.walk();
      const [un] = r.drain();
      assert.equal(un!.length, 14 + 20 + 8 + 28);
      assert.equal(un![23], 1);
      assert.equal(un![34], 3, "destination unreachable");
      assert.equal(un![35], 3, "port unreachable");
      assert.equal(cksum(un!, 34, 36), 0, "ICMP checksum");
      assert.deepEqual([...un!.subarray(42)], [...udp.subarray(14, 42)], "quotes the IP header and 8 bytes");
      assert.equal(r.c().udp_no_port, 1);
    } finally {
      r.finish();
    }
  });

  test("the input path allocates nothing (pings, closed-port UDP, bad checksums)", async () => {
    const r = rig({}, Float64Array.of(Date.now())); // a clock another thread would keep: Date.now() allocates
    try {
      r.inject(arpReply());
      r.stack.walk();
      r.drain();
      const bad = echoRequest(1); bad[40] = bad[40]! ^ 0xff;
      const udp = udpFrame({ dst: "02:00:00:00:0a:01", src: "02:00:00:00:0b:02", srcIp: "10.0.0.2", dstIp: "10.0.0.1", dport: 4444, size: 70 });
      const tpls = [echoRequest(1), bad, udp];
      const feed = templateFeed(r.umem, r.mp, r.p1, tpls);
      const run = (walks: number) => {
        for (let i = 0; i < walks; i++) {
          feed.feed();
          r.stack.walk();
          feed.drainFree();
        }
      };
      run(50_000);
      run(50_000);
      const { gcs, growth } = await gcsAndGrowth(() => run(200_000));

      gc();
      assert.equal(gcs, 0, `${gcs} garbage collections over 200000 walks: the input path allocates`);
      assert.ok(growth < 256 * 1024, `the heap grew by ${growth} bytes over 200000 walks`);
      const c = r.c();
      assert.equal(c.icmp_echo_in, c.icmp_drop_bad, "as many good pings as bad ones");
      assert.equal(c.udp_no_port, c.icmp_echo_in);
      // The clock stands still: the ICMP error bucket gives its burst of 50, then refuses (counted).
      assert.equal(c.icmp_unreach_out, 50, "port unreachables: the rate limit's burst");
      assert.equal(c.icmp_unreach_out + c.icmp_err_rate_limited, c.udp_no_port);
      assert.equal(c.icmp_tx, c.icmp_echo_in + 50, "an echo reply each, 50 port unreachables");
    } finally {
      r.finish();
    }
  });

  test("entries age: reachable, stale after the reachable time, removed after the stale time (a driven clock)", () => {
    const clock = Float64Array.of(1000);
    const r = rig({ reachableMs: 100, staleMs: 200, scanMs: 0 }, clock);
    try {
      r.inject(arpReply());
      r.stack.walk();
      const arp = r.stack.ctx.arp;
      const s = arp.lookup(PEER);
      assert.equal(arp.state(s), ARP_REACHABLE);
      clock[0] = 1099;
      r.stack.walk();
      assert.equal(arp.state(s), ARP_REACHABLE);
      clock[0] = 1100;
      r.stack.walk();
      assert.equal(arp.state(s), ARP_STALE);
      clock[0] = 1299;
      r.stack.walk();
      assert.equal(arp.lookup(PEER), s);
      clock[0] = 1300;
      r.stack.walk();
      assert.equal(arp.lookup(PEER), -1, "removed");
    } finally {
      r.finish();
    }
  });

  test("off-link destinations go to the gateway's MAC; channels: ports in use, ephemeral ports, zero-copy receive, close frees", () => {
    const r = rig();
    try {
      r.stack.ctx.tables.addRoute4(0, 0, PEER, 5, 0); // default via the peer
      r.inject(arpReply());
      r.stack.walk();
      const ch = r.stack.chnl;
      const a = ch.open("udp");
      const b = ch.open("udp");
      ch.bind(a, 0, 7000);
      assert.throws(() => ch.bind(b, 0, 7000), /UDP port 7000 is in use \(EADDRINUSE\) by channel 0/);
      assert.equal(ch.bind(b, 0, 0), 49152, "the first ephemeral port");
      assert.throws(() => ch.sendBurst(b, new Uint32Array(1), 1), /not connected/);
      const bufs = new Uint32Array(4);
      ch.allocBurst(bufs, 1);
      r.umem.u8.set([9, 8, 7], ch.payloadAt(bufs[0]!));
      r.mp.mbufs.dataLen[bufs[0]!] = 3;
      assert.equal(ch.sendTo(a, bufs, 1, 0x08080808, 53), 1);
      r.stack.walk();
      const [f] = r.drain();
      assert.deepEqual([...f!.subarray(0, 6)], [...MAC_PEER], "to the gateway's MAC");
      assert.deepEqual([...f!.subarray(30, 34)], [8, 8, 8, 8], "for the far address");
      assert.deepEqual([...f!.subarray(26, 30)], [10, 0, 0, 1], "from the interface's address");
      // Two datagrams in for channel a: the payload is the buffer's data; close frees the one left.
      for (const v of [1, 2]) {
        const d = udpFrame({ dst: "02:00:00:00:0a:01", src: "02:00:00:00:0b:02", srcIp: "10.0.0.2", dstIp: "10.0.0.1", sport: 999, dport: 7000, size: 60, seq: v });
        r.inject(d);
      }
      r.stack.walk();
      assert.equal(ch.recvBurst(a, bufs, 1), 1);
      const h = bufs[0]!;
      assert.equal(r.mp.mbufs.dataLen[h], 60 - 42);
      assert.deepEqual([...r.umem.u8.subarray(ch.payloadAt(h), ch.payloadAt(h) + 4)], [0, 0, 0, 1]);
      assert.equal(ch.peerIp(h), PEER);
      assert.equal(ch.peerPort(h), 999);
      r.mp.free(h);
      assert.deepEqual(ch.list().map((x) => `${x.cd} ${x.local} ${x.queued}`), ["0 0.0.0.0:7000 1", "1 0.0.0.0:49152 0"]);
      ch.close(a);
      assert.throws(() => ch.recvBurst(a, bufs, 1), /channel 0 is not open/);
      assert.equal(ch.bind(ch.open("udp"), 0, 7000), 7000, "the port is free again");
    } finally {
      r.finish();
    }
  });

  test("a neighbour Linux holds (from the learner's feed) is used without ARP; a deleted one is asked for", () => {
    const feed = NeighbourFeed.create();
    const r = rig({}, undefined, feed);
    try {
      feed.post(PEER, MAC_PEER, 5, true, false);
      const ch = r.stack.chnl;
      const cd = ch.open("udp");
      const bufs = new Uint32Array(1);
      ch.allocBurst(bufs, 1);
      ch.sendTo(cd, bufs, 1, PEER, 9);
      r.stack.walk();
      const [f] = r.drain();
      assert.deepEqual([...f!.subarray(0, 6)], [...MAC_PEER], "sent at once to the permanent neighbour");
      assert.equal(r.c().arp_req_out, 0);
      feed.post(PEER, new Uint8Array(6), 5, false, true);
      r.stack.walk();
      assert.equal(r.stack.ctx.arp.lookup(PEER), -1);
      ch.allocBurst(bufs, 1);
      ch.sendTo(cd, bufs, 1, PEER, 9);
      r.stack.walk();
      const [req] = r.drain();
      assert.equal(req![13], 6, "an ARP request now");
      assert.equal(r.c().arp_req_out, 1);
      assert.equal(r.c().arp_pending_held, 1);
    } finally {
      r.finish();
    }
  });

  test("gratuitous ARP for each address at start and for an address added later", () => {
    const r = rig({ gratuitous: true });
    try {
      r.stack.walk();
      const first = r.drain();
      assert.equal(first.length, 1);
      assert.deepEqual([...first[0]!.subarray(14 + 14, 14 + 18)], [10, 0, 0, 1], "sender 10.0.0.1");
      assert.deepEqual([...first[0]!.subarray(14 + 24, 14 + 28)], [10, 0, 0, 1], "target the same: gratuitous");
      r.stack.walk();
      assert.equal(r.drain().length, 0, "once");
      r.stack.ctx.tables.addAddress4(0x0a000063, 24, 5);
      r.stack.walk();
      const next = r.drain();
      assert.equal(next.length, 1);
      assert.deepEqual([...next[0]!.subarray(14 + 24, 14 + 28)], [10, 0, 0, 99]);
      assert.equal(r.c().arp_gratuitous_out, 2);
    } finally {
      r.finish();
    }
  });

  test("a stale entry is used and re-confirmed with one request; the reply makes it reachable", () => {
    const clock = Float64Array.of(1000);
    const r = rig({ reachableMs: 100, staleMs: 1000, scanMs: 0 }, clock);
    try {
      r.inject(arpReply());
      r.stack.walk();
      const arp = r.stack.ctx.arp;
      const s = arp.lookup(PEER);
      clock[0] = 1200;
      r.stack.walk();
      assert.equal(arp.state(s), ARP_STALE);
      const ch = r.stack.chnl;
      const cd = ch.open("udp");
      const bufs = new Uint32Array(2);
      ch.allocBurst(bufs, 2);
      ch.sendTo(cd, bufs, 2, PEER, 9);
      r.stack.walk();
      const out = r.drain();
      assert.deepEqual(out.map((f) => f[13]), [6, 0, 0], "one request, and both datagrams (IPv4) at once");
      assert.equal(out.filter((f) => f[13] === 0 && f[0] === MAC_PEER[0] && f[5] === MAC_PEER[5]).length, 2);
      assert.equal(r.c().arp_req_out, 1);
      r.inject(arpReply());
      r.stack.walk();
      assert.equal(arp.state(s), ARP_REACHABLE);
    } finally {
      r.finish();
    }
  });
});
