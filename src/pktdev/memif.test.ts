/**
 * net_memif without root: the protocol's messages and layouts, a pair in this process (both directions
 * byte for byte, chained jumbo frames, exact counters), a peer that leaves and comes back (link down, TX
 * dropped and counted, the client reconnecting by itself, the worker-visible window following), refused
 * handshakes (wrong version, bad secret, truncated and unknown messages, unknown id, a second client)
 * answered with DISCONNECT and a clear reason, with no fd or frame left behind, and no allocation per burst.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { MemifPort } from "./memif.js";
import { parseMemifOptions } from "./memif-options.js";
import { pmdOptionsError } from "./pmd-options.js";
import {
  encodeMsg, decodeMsg, secretMatches, MSG_SIZE, MEMIF_VERSION, MAX_LOG2_RING_SIZE, type MemifMsg,
} from "./memif-proto.js";
import { clientLayout } from "./memif-shm.js";
import { connectSeqpacket, SeqpacketServer, type SeqpacketConn } from "../uds/seqpacket.js";
import { sys } from "../sys/native.js";
import { framesInPool, bytesOf, sendAll, receive, assertAllReturned, testFrame, testFrames } from "../testing/port-conformance.js";
import { openFds } from "../testing/fds.js";
import { gcsDuring, sleep } from "../testing/gc-probe.js";

const hex = (f: Uint8Array) => Buffer.from(f).toString("hex");

describe("memif protocol", () => {
  test("every message encodes to 128 bytes at the offsets of memif.h and decodes back", () => {
    const msgs: MemifMsg[] = [
      { type: "ack" },
      { type: "hello", name: "DPDK 22.11.11", minVersion: 0x200, maxVersion: 0x200, maxRegion: 255, maxS2cRing: 254, maxC2sRing: 253, maxLog2RingSize: 14 },
      { type: "init", version: 0x200, id: 0xfffffffe, mode: 0, secret: new Uint8Array(24), name: "app" },
      { type: "add_region", index: 3, size: 2 ** 32 + 5 },
      { type: "add_ring", flags: 1, index: 2, region: 1, offset: 0x10203040, log2RingSize: 11, privateHdrSize: 0 },
      { type: "connect", ifName: "memif0" },
      { type: "connected", ifName: "net_memif0" },
      { type: "disconnect", code: 7, reason: "Incorrect secret" },
    ];
    for (const m of msgs) {
      const b = encodeMsg(m);
      assert.equal(b.length, MSG_SIZE);
      assert.deepEqual(decodeMsg(b), m);
    }
    // Offsets: type u16 @0, then the packed union at @2.
    const hello = Buffer.from(encodeMsg(msgs[1]!));
    assert.deepEqual([hello.readUInt16LE(0), hello.toString("latin1", 2, 15), hello.readUInt16LE(34), hello.readUInt16LE(38), hello.readUInt16LE(40), hello.readUInt16LE(42), hello[44]], [2, "DPDK 22.11.11", 0x200, 255, 254, 253, 14]);
    const init = Buffer.from(encodeMsg({ type: "init", version: 0x200, id: 9, mode: 0, secret: Buffer.from("abc"), name: "x" }));
    assert.deepEqual([init.readUInt16LE(0), init.readUInt16LE(2), init.readUInt32LE(4), init[8], init.toString("latin1", 9, 12), init[12], init.toString("latin1", 33, 34)], [3, 0x200, 9, 0, "abc", 0, "x"]);
    const ring = Buffer.from(encodeMsg(msgs[4]!));
    assert.deepEqual([ring.readUInt16LE(0), ring.readUInt16LE(2), ring.readUInt16LE(4), ring.readUInt16LE(6), ring.readUInt32LE(8), ring[12], ring.readUInt16LE(13)], [5, 1, 2, 1, 0x10203040, 11, 0]);
    const region = Buffer.from(encodeMsg(msgs[3]!));
    assert.deepEqual([region.readUInt16LE(2), region.readUInt32LE(4), region.readUInt32LE(8)], [3, 5, 1]);
    const disc = Buffer.from(encodeMsg(msgs[7]!));
    assert.deepEqual([disc.readUInt16LE(0), disc.readUInt32LE(2), disc.toString("latin1", 6, 22)], [8, 7, "Incorrect secret"]);
    // Strings are cut to their field and NUL-terminated (strlcpy).
    const long = decodeMsg(encodeMsg({ type: "connect", ifName: "x".repeat(40) }));
    assert.deepEqual(long, { type: "connect", ifName: "x".repeat(31) });
    assert.equal(MEMIF_VERSION, 0x0200);
  });

  test("bad messages are refused with the reason DPDK gives", () => {
    assert.throws(() => decodeMsg(new Uint8Array(64)), /Invalid message size 64/);
    assert.throws(() => decodeMsg(new Uint8Array(129)), /Invalid message size 129/);
    const b = new Uint8Array(128);
    b[0] = 42;
    assert.throws(() => decodeMsg(b), /Unknown message type 42/);
  });

  test("secrets compare as strncmp over the 24-byte field; none accepts anything", () => {
    assert.equal(secretMatches("", Buffer.from("whatever")), true);
    assert.equal(secretMatches("abc", Buffer.from("abc\0\0")), true);
    assert.equal(secretMatches("abc", Buffer.from("abd")), false);
    assert.equal(secretMatches("abc", Buffer.from("abcd")), false);
    assert.equal(secretMatches("abc", new Uint8Array(24)), false);
  });

  test("the client layout is DPDK's: C2S rings, S2C rings, then the buffers in the same order", () => {
    const l = clientLayout(2, 1, 4, 2048);
    const rb = 128 + 16 * 16;
    assert.deepEqual([l.ring(0, 0), l.ring(0, 1), l.ring(1, 0)], [0, rb, 2 * rb]);
    assert.deepEqual([l.buffers(0, 0), l.buffers(0, 1), l.buffers(1, 0)], [3 * rb, 3 * rb + 16 * 2048, 3 * rb + 2 * 16 * 2048]);
    assert.equal(l.size, 3 * rb + 3 * 16 * 2048);
  });
});

describe("net_memif options", () => {
  test("DPDK's devargs names, CNDP's bare role, defaults as DPDK's", () => {
    assert.deepEqual(parseMemifOptions(undefined), {
      role: "client", id: 0, socket: "/run/memif.sock", socketAbstract: true, secret: "", rsize: 10, bsize: 2048, queues: 1,
      mac: undefined, reconnectMs: 1000, shmSize: 256 << 20,
    });
    const o = parseMemifOptions("role=master,id=7,socket=/tmp/m.sock,socket-abstract=no,secret=s3cret,rsize=12,bsize=4096,queues=2,mac=02:AA:00:00:00:01,zero-copy=no,reconnect_ms=50,shm_size=16777216");
    assert.deepEqual(o, { role: "server", id: 7, socket: "/tmp/m.sock", socketAbstract: false, secret: "s3cret", rsize: 12, bsize: 4096, queues: 2, mac: "02:aa:00:00:00:01", reconnectMs: 50, shmSize: 16 << 20 });
    assert.equal(parseMemifOptions("server").role, "server");
    assert.equal(parseMemifOptions("slave").role, "client");
  });

  test("errors name the option and the accepted range", () => {
    const cases: [string, RegExp][] = [
      ["role=boss", /'role=boss': expected server or client/],
      ["rsize=15", /'rsize=15': expected an integer from 1 to 14/],
      ["bsize=32", /'bsize=32': expected an integer from 64 to 65535/],
      ["queues=0", /'queues=0': expected an integer from 1 to 16/],
      ["id=-1", /'id=-1'/],
      ["secret=" + "x".repeat(24), /'secret': 24 bytes, at most 23/],
      ["zero-copy=yes", /zero-copy is not implemented/],
      ["mac=zz", /'mac=zz'/],
      ["socket=rel.sock,socket-abstract=no", /must be absolute/],
      ["colour=red", /'colour' is unknown/],
      ["id=1,id=2", /'id' is given twice/],
      ["id", /'id' needs a value/],
    ];
    for (const [opts, re] of cases) {
      assert.throws(() => parseMemifOptions(opts), re, opts);
      assert.match(pmdOptionsError("net_memif", opts) ?? "", re);
    }
    assert.equal(pmdOptionsError("net_memif", "role=server,id=3"), undefined);
  });
});

interface Pair {
  dir: string;
  socket: string;
  umem: Umem;
  pool: Mempool;
  server: MemifPort;
  client: MemifPort;
}

async function withPair(fn: (p: Pair) => Promise<void>, o: { debug?: boolean; bsize?: number; frames?: number; frameSize?: number; rsize?: number; secret?: string } = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "xdplane-memif-"));
  const umem = Umem.create({ frames: o.frames ?? 2048, ...(o.frameSize ? { frameSize: o.frameSize } : {}) });
  const pool = Mempool.create({ umem, cacheSize: 32, debug: o.debug ?? true });
  const socket = join(dir, "memif.sock");
  const common = { socket, socketAbstract: false, reconnectMs: 20, rsize: o.rsize ?? 8, ...(o.secret !== undefined ? { secret: o.secret } : {}) };
  let server: MemifPort | null = null;
  let client: MemifPort | null = null;
  try {
    server = MemifPort.create({ name: "srv0:0", pid: 0, mempool: pool, role: "server", ...common });
    client = MemifPort.create({ name: "cli0:0", pid: 1, mempool: pool, role: "client", ...common, ...(o.bsize ? { bsize: o.bsize } : {}) });
    await server.whenUp();
    await client.whenUp();
    await fn({ dir, socket, umem, pool, server, client });
  } finally {
    client?.close();
    server?.close();
    umem.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assertAllReturned(pool);
}

/** Sends `frames` from `a` and receives them at `b`: the bytes `b` got. */
async function through(pool: Mempool, a: MemifPort, b: MemifPort, frames: Uint8Array[]): Promise<Uint8Array[]> {
  await sendAll(a, framesInPool(pool, frames));
  const got = await receive(b, frames.length, 3000);
  const out = got.map((h) => bytesOf(pool, h));
  pool.freeBulk(Uint32Array.from(got), got.length);
  return out;
}

describe("net_memif pair in one process", () => {
  test("client to server and back, byte for byte, in order; counters exact; link facts in info()", async () => {
    await withPair(async ({ pool, server, client }) => {
      const a = testFrames(200, 0);
      const b = testFrames(200, 1000);
      assert.deepEqual((await through(pool, client, server, a)).map(hex), a.map(hex));
      assert.deepEqual((await through(pool, server, client, b)).map(hex), b.map(hex));
      const bytes = (fs: Uint8Array[]) => fs.reduce((s, f) => s + f.length, 0);
      const cs = client.readStats();
      const ss = server.readStats();
      assert.deepEqual([cs["opackets"], cs["obytes"], cs["ipackets"], cs["ibytes"], cs["ierrors"], cs["oerrors"]], [200, bytes(a), 200, bytes(b), 0, 0]);
      assert.deepEqual([ss["ipackets"], ss["ibytes"], ss["opackets"], ss["obytes"], ss["ierrors"], ss["oerrors"]], [200, bytes(a), 200, bytes(b), 0, 0]);
      const ci = client.info();
      assert.deepEqual([ci["link"], ci["state"], ci["role"], ci["remoteIfName"], ci["log2RingSize"], ci["connects"]], ["up", "connected", "client", "srv0", 8, 1]);
      assert.equal(server.info()["remoteIfName"], "cli0");
    });
  });

  test("a full ring takes what fits: the rest stays with the caller and is counted in odropped", async () => {
    await withPair(async ({ pool, server, client }) => {
      const frames = testFrames(300); // ring of 256
      const bufs = framesInPool(pool, frames);
      const k = client.txBurst(bufs, bufs.length);
      assert.equal(k, 256);
      assert.equal(client.readStats()["odropped"], 44);
      pool.freeBulk(bufs, 300 - 256, 256);
      const got = await receive(server, 256, 3000);
      assert.deepEqual(got.map((h) => hex(bytesOf(pool, h))), frames.slice(0, 256).map(hex));
      pool.freeBulk(Uint32Array.from(got), got.length);
    });
  });

  test("frames longer than a memif buffer go as descriptor chains both ways (bsize 1024: frames up to 3840 bytes, four buffers)", async () => {
    await withPair(async ({ pool, server, client }) => {
      const frames = [testFrame(1, 3840), testFrame(2, 1024), testFrame(3, 1025), testFrame(4, 60), testFrame(5, 3000)];
      assert.deepEqual((await through(pool, client, server, frames)).map(hex), frames.map(hex));
      assert.deepEqual((await through(pool, server, client, frames)).map(hex), frames.map(hex));
      assert.deepEqual([server.readStats()["ierrors"], client.readStats()["ierrors"]], [0, 0]);
    }, { bsize: 1024, frameSize: 4096, frames: 1024 });
  });

  test("a frame longer than the receiver's frame is dropped and counted in ierrors; the next ones arrive", async () => {
    await withPair(async ({ pool, server, client }) => {
      // frame room 2048 - 256 headroom = 1792 bytes: a 1900-byte frame cannot be received.
      const frames = [testFrame(1, 100), testFrame(2, 1792), testFrame(3, 1700), testFrame(4, 64)];
      const big = testFrame(9, 1900);
      const bufs = framesInPool(pool, [frames[0]!, frames[1]!]);
      await sendAll(client, bufs);
      // Write the big frame straight into the ring through a second, larger pool's view: send from a
      // frame whose length field says 1900 (the pool's frames are 2048 bytes: data fits from offset 0).
      const one = framesInPool(pool, [big.subarray(0, 1000)]);
      pool.mbufs.dataOff[one[0]!] = 0;
      pool.umem.u8.set(big, (one[0]! << pool.umem.shift) >>> 0);
      pool.mbufs.dataLen[one[0]!] = 1900;
      await sendAll(client, one);
      pool.mbufs.dataOff[one[0]!] = 256;
      await sendAll(client, framesInPool(pool, [frames[2]!, frames[3]!]));
      const got = await receive(server, 4, 3000);
      assert.deepEqual(got.map((h) => hex(bytesOf(pool, h))), frames.map(hex));
      pool.freeBulk(Uint32Array.from(got), got.length);
      assert.deepEqual([server.readStats()["ierrors"], server.readStats()["ipackets"]], [1, 4]);
    });
  });

  test("rx and tx bursts allocate nothing (no GC in 100000 round trips)", async () => {
    await withPair(async ({ pool, server, client }) => {
      const bufs = new Uint32Array(32);
      const loop = (count: number) => {
        for (let i = 0; i < count; i++) {
          let n = pool.allocBulk(bufs, 32);
          for (let j = 0; j < n; j++) pool.mbufs.dataLen[bufs[j]!] = 64;
          let k = client.txBurst(bufs, n);
          if (k < n) pool.freeBulk(bufs, n - k, k);
          n = server.rxBurst(bufs, 32);
          k = server.txBurst(bufs, n);
          if (k < n) pool.freeBulk(bufs, n - k, k);
          n = client.rxBurst(bufs, 32);
          pool.freeBulk(bufs, n);
        }
      };
      loop(10000);
      const gcs = await gcsDuring(() => loop(100000));
      assert.equal(gcs, 0, "no garbage collection during 100000 round trips");
      assert.equal(client.readStats()["opackets"], 110000 * 32);
      assert.equal(client.readStats()["ipackets"], 110000 * 32);
    }, { debug: false });
  });

  test("a second client for a connected interface is refused (Already connected); the first stays up", async () => {
    await withPair(async ({ pool, server, client, socket }) => {
      const conn = connectSeqpacket(socket);
      const r = disconnectReason(conn);
      conn.send(encodeMsg({ type: "init", version: MEMIF_VERSION, id: 0, mode: 0, secret: new Uint8Array(24), name: "intruder" }));
      assert.equal(await r, "Already connected");
      conn.close();
      assert.equal(server.linkUp(), true);
      const f = testFrames(5);
      assert.deepEqual((await through(pool, client, server, f)).map(hex), f.map(hex));
    });
  });

  test("waitRx sleeps until the peer sends (interrupt through the ring's eventfd), then polls again", async () => {
    await withPair(async ({ pool, server, client }) => {
      const t0 = Date.now();
      assert.equal(server.waitRx(30), false, "nothing to receive: the wait times out");
      assert.ok(Date.now() - t0 >= 25);
      await sendAll(client, framesInPool(pool, [testFrame(1, 64)]));
      assert.equal(client.readStats()["tx_kicks"], 0, "the server polls: no eventfd write");
      assert.equal(server.waitRx(1000), true, "a frame waiting: ready at once");
      const got = await receive(server, 1, 1000);
      pool.freeBulk(Uint32Array.from(got), got.length);
    });
  });
});

describe("net_memif peers leaving and coming back", () => {
  test("server gone: the client's link goes down, TX is dropped and counted, RX is empty; a new server: the client reconnects by itself", async () => {
    await withPair(async ({ pool, server, client, socket, umem }) => {
      void umem;
      assert.deepEqual((await through(pool, client, server, testFrames(10))).map(hex), testFrames(10).map(hex));
      server.close();
      await until(() => !client.linkUp(), "client link down");
      assert.equal(client.connInfo()!.lastError, "peer disconnected: Device closed");
      const bufs = framesInPool(pool, testFrames(7, 50));
      assert.equal(client.txBurst(bufs, 7), 7, "taken while down");
      assert.equal(client.readStats()["odropped"], 7);
      assert.equal(client.rxBurst(bufs, 7), 0);
      assertAllReturned(pool);
      const again = MemifPort.create({ name: "srv1:0", pid: 0, mempool: pool, role: "server", socket, socketAbstract: false, rsize: 8 });
      try {
        await again.whenUp();
        await client.whenUp();
        const f = testFrames(40, 100);
        assert.deepEqual((await through(pool, client, again, f)).map(hex), f.map(hex));
        assert.deepEqual((await through(pool, again, client, f)).map(hex), f.map(hex));
        const c = client.connInfo()!;
        assert.deepEqual([c.connects, c.disconnects, c.lastError], [2, 1, null]);
      } finally {
        again.close();
      }
    });
  });

  test("client gone and back: the server's link follows; a worker thread driving the server port follows both connections", async () => {
    const { Worker } = await import("node:worker_threads");
    await withPair(async ({ pool, server, client, socket }) => {
      server.release();
      const w = new Worker(new URL("../testing/port-worker.js", import.meta.url), { workerData: { shared: server.toShared(), count: 60, ms: 8000 } });
      const done = new Promise<{ rx: number; tx: number }>((res, rej) => {
        w.once("message", res);
        w.once("error", rej);
      });
      try {
        const f1 = testFrames(30, 0);
        await sendAll(client, framesInPool(pool, f1));
        const back1 = await receive(client, 30, 3000);
        assert.deepEqual(back1.map((h) => hex(bytesOf(pool, h))), f1.map(hex), "echoed by the worker");
        pool.freeBulk(Uint32Array.from(back1), back1.length);
        client.close();
        await until(() => !server.linkUp(), "server link down");
        const c2 = MemifPort.create({ name: "cli1:0", pid: 1, mempool: pool, role: "client", socket, socketAbstract: false, rsize: 8 });
        try {
          await c2.whenUp();
          const f2 = testFrames(30, 500);
          await sendAll(c2, framesInPool(pool, f2));
          const back2 = await receive(c2, 30, 3000);
          assert.deepEqual(back2.map((h) => hex(bytesOf(pool, h))), f2.map(hex), "echoed by the worker after the reconnection");
          pool.freeBulk(Uint32Array.from(back2), back2.length);
          assert.deepEqual(await done, { rx: 60, tx: 60, driver: "net_memif" });
          const s = server.readStats();
          assert.deepEqual([s["ipackets"], s["opackets"]], [60, 60]);
          assert.deepEqual([server.connInfo()!.connects, server.connInfo()!.disconnects], [2, 1]);
        } finally {
          c2.close();
        }
      } finally {
        await w.terminate();
      }
    });
  });
});

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Reads messages from `conn` until DISCONNECT or close; resolves with the DISCONNECT reason (or null). */
function disconnectReason(conn: SeqpacketConn, onMsg?: (m: MemifMsg) => void): Promise<string | null> {
  return new Promise((res) => {
    conn.onMessage((b, fds) => {
      for (const fd of fds) sys.close(fd);
      const m = decodeMsg(b);
      if (m.type === "disconnect") res(m.reason);
      else onMsg?.(m);
    });
    conn.onClose(() => res(null));
  });
}

describe("net_memif refuses bad handshakes with a clear reason, leaking nothing", () => {
  async function withServer(fn: (server: MemifPort, socket: string) => Promise<void>, secret = ""): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), "xdplane-memif-"));
    const umem = Umem.create({ frames: 256 });
    const pool = Mempool.create({ umem, cacheSize: 32, debug: true });
    const socket = join(dir, "memif.sock");
    const before = openFds();
    const server = MemifPort.create({ name: "srv0:0", pid: 0, mempool: pool, role: "server", socket, socketAbstract: false, secret, id: 5 });
    try {
      await fn(server, socket);
    } finally {
      server.close();
      await sleep(20);
      assert.deepEqual(openFds(), before, "no fd left open");
      umem.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assertAllReturned(pool);
  }

  const init = (o: Partial<Extract<MemifMsg, { type: "init" }>> = {}): Uint8Array =>
    encodeMsg({ type: "init", version: MEMIF_VERSION, id: 5, mode: 0, secret: new Uint8Array(24), name: "fake", ...o });

  for (const [what, send, reason] of [
    ["a wrong version", () => init({ version: 0x0100 }), /^Incompatible memif version 1\.0/],
    ["a bad secret", () => init({ secret: Buffer.from("wrong") }), /^Incorrect secret$/],
    ["no secret", () => init(), /^Secret required$/],
    ["an unknown id", () => init({ id: 6 }), /^ID not found \(6; this socket has 5\)/],
    ["a truncated message", () => init().subarray(0, 60), /^Invalid message size 60/],
    ["an unknown message type", () => Uint8Array.from({ length: 128 }, (_, i) => (i === 0 ? 77 : 0)), /^Unknown message type 77$/],
    ["a message out of order", () => encodeMsg({ type: "connect", ifName: "x" }), /^Unexpected message connect \(expected init\)/],
  ] as const) {
    test(`a client sending ${what} gets DISCONNECT and is closed; the server stays down and serves the next`, async () => {
      await withServer(async (server, socket) => {
        const conn = connectSeqpacket(socket);
        const hello: MemifMsg[] = [];
        const r = disconnectReason(conn, (m) => hello.push(m));
        conn.send(send());
        assert.match((await r) ?? "(closed without DISCONNECT)", reason);
        assert.equal(hello[0]?.type, "hello");
        conn.close();
        assert.equal(server.linkUp(), false);
        assert.match(server.connInfo()!.lastError ?? "", reason);
      }, "s3cret");
    });
  }

  test("a region fd that came before a refusal is closed", async () => {
    await withServer(async (server, socket) => {
      const conn = connectSeqpacket(socket);
      const acks: MemifMsg[] = [];
      const r = disconnectReason(conn, (m) => acks.push(m));
      conn.send(init());
      await until(() => acks.length === 2, "hello + ack");
      const memfd = sys.memfdCreate("test", 1);
      ftruncateSync(memfd, 1 << 16);
      conn.send(encodeMsg({ type: "add_region", index: 0, size: 1 << 16 }), [memfd]);
      sys.close(memfd);
      assert.match((await r) ?? "", /^Region 0 is not sealed against shrinking/);
      conn.close();
    });
  });

  test("our client refuses a server speaking another version, says why, and retries", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xdplane-memif-"));
    const socket = join(dir, "memif.sock");
    const umem = Umem.create({ frames: 256 });
    const pool = Mempool.create({ umem, cacheSize: 32, debug: true });
    const reasons: string[] = [];
    let accepted = 0;
    const fake = SeqpacketServer.listen(socket, (conn) => {
      accepted++;
      void disconnectReason(conn).then((why) => {
        if (why !== null) reasons.push(why);
        conn.close();
      });
      conn.send(encodeMsg({ type: "hello", name: "old", minVersion: 0x0100, maxVersion: 0x0100, maxRegion: 0, maxS2cRing: 0, maxC2sRing: 0, maxLog2RingSize: MAX_LOG2_RING_SIZE }));
    });
    const before = openFds();
    const client = MemifPort.create({ name: "cli0:0", pid: 0, mempool: pool, role: "client", socket, socketAbstract: false, reconnectMs: 20 });
    try {
      await until(() => reasons.length >= 2, "two refusals (a retry)");
      assert.match(reasons[0]!, /^Incompatible memif version \(server speaks 1\.0 to 1\.0, this end 2\.0\)/);
      assert.ok(accepted >= 2);
      assert.equal(client.linkUp(), false);
      assert.match(client.connInfo()!.lastError ?? "", /Incompatible memif version/);
      await assert.rejects(client.whenUp(50), /not connected after 50 ms: Incompatible memif version/);
    } finally {
      client.close();
      fake.close();
      await sleep(20);
      assert.deepEqual(openFds().filter((f) => !before.includes(f)), [], "no fd left open");
      umem.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assertAllReturned(pool);
  });
});
