/**
 * The shared port conformance tests, run over every port type (src/pktdev/conformance.test.ts): burst RX
 * and TX byte for byte with exact counters, admin down and up, the shared form driven by another object
 * (one owner per port), and close returning every frame to the pool, with and without the frame tracker.
 *
 * A port type plugs in through a {@link PortFixture}: its port, and the far end that feeds its RX and
 * captures its TX (a packet socket on a veth peer, a packet socket on a TAP, a pcap file, a ring).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Lport } from "../pktdev/lport.js";
import type { Mempool } from "../mem/mempool.js";
import { countStates } from "../mem/tracker.js";
import { openShared } from "../pktdev/registry.js";
import { Worker } from "node:worker_threads";

/** What a port type gives the conformance tests. */
export interface PortFixture {
  /** The port under test, open and up. */
  port: Lport;
  /** The pool its frames come from and go back to. */
  pool: Mempool;
  /**
   * How RX is fed: "exact" ports receive exactly the frames injected (byte for byte, in order);
   * "fabricated" ports (net_null) receive frames of their own whenever asked.
   */
  rx: "exact" | "fabricated";
  /** Makes `frames` arrive at the port's RX (the far end sends them). The fixture was made knowing them. */
  inject(frames: Uint8Array[]): Promise<void> | void;
  /** What the far end saw of the port's TX, waiting until `count` frames came (or a few seconds); null: no far end. */
  captured(count: number): Promise<Uint8Array[] | null>;
  /** Whether the port has one owner at a time (fromShared refuses while another object drives it). */
  exclusive: boolean;
  /** Closes the port and everything the fixture set up (namespaces, files). Idempotent. */
  close(): void;
}

/** Makes a fixture; `frames` are all the frames the test will inject, in order (a pcap fixture needs them up front). */
export type FixtureFactory = (o: { debug: boolean; frames: Uint8Array[] }) => Promise<PortFixture>;

/** A test frame: Ethernet to/from locally administered MACs, an experimental EtherType, `seq` and a pattern. */
export function testFrame(seq: number, size: number): Uint8Array {
  const f = new Uint8Array(size);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5], 0);
  new DataView(f.buffer).setUint32(14, seq, false);
  for (let i = 18; i < size; i++) f[i] = (seq * 31 + i) & 0xff;
  return f;
}

/** `count` frames of assorted sizes (60 to 1000 bytes), sequence numbers from `first`. */
export function testFrames(count: number, first = 0): Uint8Array[] {
  const sizes = [60, 64, 128, 333, 512, 1000];
  return Array.from({ length: count }, (_, i) => testFrame(first + i, sizes[i % sizes.length]!));
}

const tick = () => new Promise((r) => setImmediate(r));

/** Receives until `count` frames came or `ms` passed; returns their handles (owned by the caller). */
export async function receive(port: Lport, count: number, ms = 5000): Promise<number[]> {
  const bufs = new Uint32Array(64);
  const got: number[] = [];
  const end = Date.now() + ms;
  while (got.length < count && Date.now() < end) {
    const n = port.rxBurst(bufs, Math.min(64, count - got.length));
    for (let i = 0; i < n; i++) got.push(bufs[i]!);
    if (n === 0) {
      port.waitRx(5);
      await tick();
    }
  }
  return got;
}

/** The bytes of a frame (a copy). */
export function bytesOf(pool: Mempool, h: number): Uint8Array {
  const o = ((h << pool.umem.shift) >>> 0) + pool.mbufs.dataOff[h]!;
  return pool.umem.u8.slice(o, o + pool.mbufs.dataLen[h]!);
}

/** Frames from the pool holding `frames`' bytes. */
export function framesInPool(pool: Mempool, frames: Uint8Array[]): Uint32Array {
  const bufs = new Uint32Array(frames.length);
  assert.equal(pool.allocBulk(bufs, frames.length), frames.length, "the pool has frames for the test");
  frames.forEach((f, i) => {
    const h = bufs[i]!;
    const o = ((h << pool.umem.shift) >>> 0) + pool.mbufs.dataOff[h]!;
    pool.umem.u8.set(f, o);
    pool.mbufs.dataLen[h] = f.length;
  });
  return bufs;
}

/** Sends every frame of `bufs`, retrying the rest while the port takes fewer (a full ring). */
export async function sendAll(port: Lport, bufs: Uint32Array, ms = 5000): Promise<void> {
  let done = 0;
  const end = Date.now() + ms;
  while (done < bufs.length && Date.now() < end) {
    const rest = bufs.subarray(done);
    const k = port.txBurst(rest, rest.length);
    done += k;
    if (k === 0) await new Promise((r) => setTimeout(r, 2));
  }
  assert.equal(done, bufs.length, "the port took every frame");
}

const hex = (f: Uint8Array) => Buffer.from(f).toString("hex");
const total = (frames: Uint8Array[]) => frames.reduce((a, f) => a + f.length, 0);

/** The pool holds every frame again; with a tracker, no double free, bad alloc or frame still held. */
export function assertAllReturned(pool: Mempool): void {
  pool.flushCache();
  assert.equal(pool.available(), pool.count, "every frame is back in the pool");
  assert.equal(pool.overflows, 0, "no frame freed twice (pool overflow)");
  const t = pool.tracker;
  if (t) {
    assert.equal(t.doubleFrees, 0, "no double free");
    assert.equal(t.badAllocs, 0, "no bad alloc");
    const st = countStates(pool.mbufs.owner, pool.first, pool.count);
    assert.deepEqual(st, { free: pool.count, app: 0, kernel: 0 });
  }
}

/**
 * Registers the conformance tests for one port type under `describe(name)`. `skip`: a reason to skip
 * them all (no root, no /dev/net/tun), or false.
 */
export function portConformance(name: string, make: FixtureFactory, o: { skip?: string | false } = {}): void {
  const skip = o.skip ?? false;
  describe(`${name}: port conformance`, { skip }, () => {
    test("rx burst: the injected frames arrive byte for byte, in order; counters exact", async () => {
      const frames = testFrames(40);
      const fx = await make({ debug: true, frames });
      try {
        const { port, pool } = fx;
        await fx.inject(frames);
        const got = await receive(port, frames.length);
        assert.equal(got.length, frames.length, "every frame received");
        const bytes = got.reduce((a, h) => a + pool.mbufs.dataLen[h]!, 0);
        if (fx.rx === "exact") {
          got.forEach((h, i) => assert.deepEqual(bytesOf(pool, h), frames[i], `frame ${i} byte for byte`));
          assert.equal(bytes, total(frames));
          for (const h of got) assert.equal(pool.mbufs.port[h], port.pid, "the port id is set");
        }
        const s = port.readStats();
        assert.equal(s["ipackets"], frames.length);
        assert.equal(s["ibytes"], bytes);
        assert.equal(s["ierrors"], 0);
        assert.equal(s["imissed"], 0);
        pool.freeBulk(Uint32Array.from(got), got.length);
        if (fx.rx === "exact") {
          const more = await receive(port, 1, 100);
          assert.equal(more.length, 0, "nothing else arrives");
        }
      } finally {
        fx.close();
      }
      assertAllReturned(fx.pool);
    });

    test("tx burst: what the port sends reaches the far end byte for byte; counters exact", async () => {
      const fx = await make({ debug: true, frames: [] });
      try {
        const { port, pool } = fx;
        const frames = testFrames(40, 1000);
        await sendAll(port, framesInPool(pool, frames));
        const seen = await fx.captured(frames.length);
        if (seen !== null) {
          assert.equal(seen.length, frames.length, "the far end saw every frame");
          seen.forEach((f, i) => assert.deepEqual(f, frames[i], `frame ${i} byte for byte`));
        }
        const s = port.readStats();
        assert.equal(s["opackets"], frames.length);
        assert.equal(s["obytes"], total(frames));
        assert.equal(s["oerrors"], 0);
      } finally {
        fx.close();
      }
      assertAllReturned(fx.pool);
    });

    test("admin down: no rx, no tx, counters unchanged; up again: the waiting frames arrive", async () => {
      const frames = testFrames(10, 2000);
      const fx = await make({ debug: true, frames });
      try {
        const { port, pool } = fx;
        port.setAdmin(false);
        assert.equal(port.isUp(), false);
        await fx.inject(frames);
        const bufs = new Uint32Array(64);
        for (let i = 0; i < 5; i++) {
          assert.equal(port.rxBurst(bufs, 64), 0, "an admin-down port receives nothing");
          await new Promise((r) => setTimeout(r, 5));
        }
        const out = framesInPool(pool, testFrames(4, 3000));
        assert.equal(port.txBurst(out, out.length), 0, "an admin-down port sends nothing");
        pool.freeBulk(out, out.length);
        const s0 = port.readStats();
        assert.deepEqual([s0["ipackets"], s0["ibytes"], s0["opackets"], s0["obytes"]], [0, 0, 0, 0]);
        port.setAdmin(true);
        const got = await receive(port, frames.length);
        assert.equal(got.length, frames.length);
        if (fx.rx === "exact") got.forEach((h, i) => assert.deepEqual(bytesOf(pool, h), frames[i]));
        pool.freeBulk(Uint32Array.from(got), got.length);
      } finally {
        fx.close();
      }
      assertAllReturned(fx.pool);
    });

    test("shared form: another object drives the port after release(); counters are shared", async () => {
      const frames = testFrames(12, 4000);
      const fx = await make({ debug: true, frames });
      try {
        const { port, pool } = fx;
        port.release();
        const other = openShared(port.toShared(), new Map([[pool.name, pool]]));
        try {
          if (fx.exclusive) assert.throws(() => openShared(port.toShared(), new Map([[pool.name, pool]])), /another object|one owner/);
          await fx.inject(frames);
          const got = await receive(other, frames.length);
          assert.equal(got.length, frames.length);
          if (fx.rx === "exact") got.forEach((h, i) => assert.deepEqual(bytesOf(pool, h), frames[i]));
          assert.equal(port.stats[0], frames.length, "the creator sees the other object's counters");
          assert.equal(other.txBurst(Uint32Array.from(got), got.length), got.length);
          other.release(); // hands the port back (net_pcap writes out what it buffered)
          const seen = await fx.captured(got.length);
          if (seen !== null && fx.rx === "exact") seen.forEach((f, i) => assert.deepEqual(f, frames[i]));
        } finally {
          other.close();
        }
      } finally {
        fx.close();
      }
      assertAllReturned(fx.pool);
    });

    test("a worker thread opens the port from its shared form and sends back what it receives", async () => {
      const frames = testFrames(24, 6000);
      const fx = await make({ debug: true, frames });
      try {
        const { port } = fx;
        port.release();
        const w = new Worker(new URL("./port-worker.js", import.meta.url), { workerData: { shared: port.toShared(), count: frames.length, ms: 5000 } });
        const done = new Promise<{ rx: number; tx: number; driver: string }>((res, rej) => {
          w.once("message", res);
          w.once("error", rej);
        });
        await new Promise((r) => setTimeout(r, 50));
        await fx.inject(frames);
        const r = await done;
        await w.terminate();
        assert.deepEqual(r, { rx: frames.length, tx: frames.length, driver: port.driver });
        const seen = await fx.captured(frames.length);
        if (seen !== null && fx.rx === "exact") assert.deepEqual(seen.map(hex), frames.map(hex), "the frames came back byte for byte");
        const s = port.readStats();
        assert.deepEqual([s["ipackets"], s["opackets"]], [frames.length, frames.length], "the creator reads the worker's counters");
      } finally {
        fx.close();
      }
      assertAllReturned(fx.pool);
    });

    for (const debug of [true, false]) {
      test(`close returns every frame (${debug ? "with" : "without"} the frame tracker)`, async () => {
        const frames = testFrames(30, 5000);
        const fx = await make({ debug, frames });
        try {
          const { port, pool } = fx;
          assert.equal(pool.tracker !== null, debug);
          await fx.inject(frames);
          const got = await receive(port, 20);
          assert.equal(got.length, 20);
          await sendAll(port, Uint32Array.from(got.slice(0, 15)));
          pool.freeBulk(Uint32Array.from(got.slice(15)), 5);
          await fx.captured(15);
          // Frames still waiting at the port (10) and whatever it keeps for itself go back at close.
        } finally {
          fx.close();
        }
        assertAllReturned(fx.pool);
      });
    }
  });
}
