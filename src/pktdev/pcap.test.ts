/**
 * net_pcap without root: pcap files written and read back (both resolutions, both byte orders, clear
 * errors), replay byte for byte with a loop count, rate pacing checked against its schedule on an injected
 * clock, frames that do not fit refused at open, and a data path that allocates nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { PcapPort, type PcapClock } from "./pcap.js";
import { PcapIndex, PcapWriter, PCAP_MAGIC_NS } from "./pcap-file.js";
import { receive, bytesOf, framesInPool, sendAll, assertAllReturned, testFrames, testFrame } from "../testing/port-conformance.js";
import { gcsDuring } from "../testing/gc-probe.js";

function withDir(fn: (dir: string, pool: Mempool) => Promise<void> | void, debug = true): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "xdplane-pcap-"));
    const umem = Umem.create({ frames: 1024 });
    try {
      const pool = Mempool.create({ umem, cacheSize: 32, debug });
      await fn(dir, pool);
      assertAllReturned(pool);
    } finally {
      umem.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function writeFrames(path: string, frames: Uint8Array[]): void {
  const w = PcapWriter.create(path);
  frames.forEach((f, i) => assert.ok(w.append(f, 0, f.length, 1_700_000_000 + i, i * 1000)));
  w.close();
}

const hex = (f: Uint8Array) => Buffer.from(f).toString("hex");

/** A clock the test moves: `at(ms)` sets it. */
function fakeClock(): PcapClock & { at(ms: number): void } {
  const ts = new Float64Array(2);
  return {
    ts,
    read() {},
    at(ms: number) {
      const ns = Math.round(ms * 1e6);
      ts[0] = Math.floor(ns / 1e9);
      ts[1] = ns - ts[0] * 1e9;
    },
  };
}

test("pcap files: written records read back byte for byte, with their header", withDir((dir) => {
  const path = join(dir, "a.pcap");
  const frames = [testFrame(1, 60), testFrame(2, 1514), testFrame(3, 61)];
  writeFrames(path, frames);
  const b = readFileSync(path);
  assert.equal(b.length, 24 + 3 * 16 + 60 + 1514 + 61);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  assert.deepEqual([dv.getUint32(0, true), dv.getUint16(4, true), dv.getUint16(6, true), dv.getUint32(16, true), dv.getUint32(20, true)], [PCAP_MAGIC_NS, 2, 4, 65535, 1]);
  assert.deepEqual([dv.getUint32(24 + 16 + 60, true), dv.getUint32(24 + 16 + 60 + 4, true), dv.getUint32(24 + 16 + 60 + 8, true)], [1_700_000_001, 1000, 1514]);
  const f = PcapIndex.read(path);
  assert.equal(f.count, 3);
  assert.equal(f.nano, true);
  assert.deepEqual([0, 1, 2].map((i) => hex(f.frame(i))), frames.map(hex));
}));

test("pcap files: big-endian microsecond files are read; bad files are refused naming what is wrong", withDir((dir) => {
  const b = new Uint8Array(24 + 16 + 4 + 16 + 2);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0xa1b2c3d4, false);
  dv.setUint16(4, 2, false);
  dv.setUint16(6, 4, false);
  dv.setUint32(16, 65535, false);
  dv.setUint32(20, 1, false);
  dv.setUint32(24 + 8, 4, false);
  b.set([1, 2, 3, 4], 40);
  dv.setUint32(44 + 8, 2, false);
  b.set([5, 6], 60);
  const f = PcapIndex.parse(b, "be.pcap");
  assert.equal(f.nano, false);
  assert.deepEqual([...f.frame(0)], [1, 2, 3, 4]);
  assert.deepEqual([...f.frame(1)], [5, 6]);
  assert.throws(() => PcapIndex.parse(b.subarray(0, 10), "short.pcap"), /Invalid pcap file 'short.pcap': 10 bytes, shorter than the 24-byte header/);
  const ng = new Uint8Array(32);
  new DataView(ng.buffer).setUint32(0, 0x0a0d0d0a, true);
  assert.throws(() => PcapIndex.parse(ng, "x.pcapng"), /magic 0xa0d0d0a is not a pcap magic \(a pcapng file/);
  const raw = b.slice();
  new DataView(raw.buffer).setUint32(20, 101, false);
  assert.throws(() => PcapIndex.parse(raw, "raw.pcap"), /link type 101, only Ethernet \(1\)/);
  assert.throws(() => PcapIndex.parse(b.subarray(0, b.length - 1), "cut.pcap"), /record 1 at byte 44 claims 2 bytes, the file ends first/);
  assert.throws(() => PcapIndex.read(join(dir, "none.pcap")), /Cannot read pcap file '.*none.pcap'/);
}));

test("replay: the file's frames byte for byte, `loop` times, then nothing; the counters exact", withDir((dir, pool) => {
  return (async () => {
    const rx = join(dir, "in.pcap");
    const frames = testFrames(7);
    writeFrames(rx, frames);
    const port = PcapPort.create({ name: "pcap0", pid: 2, mempool: pool, rx, loop: 3 });
    try {
      const got = await receive(port, 100, 200);
      assert.equal(got.length, 21, "3 loops of 7 frames");
      assert.deepEqual(got.map((h) => hex(bytesOf(pool, h))), [...frames, ...frames, ...frames].map(hex));
      assert.deepEqual(new Set(got.map((h) => pool.mbufs.port[h])), new Set([2]));
      pool.freeBulk(Uint32Array.from(got), got.length);
      assert.equal(port.replayDone(), true);
      assert.equal(port.replayed(), 21);
      const s = port.readStats();
      assert.deepEqual([s["ipackets"], s["ibytes"], s["rx_nombuf"]], [21, 3 * frames.reduce((a, f) => a + f.length, 0), 0]);
      assert.equal(port.info()["loopsDone"], 3);
    } finally {
      port.close();
    }
  })();
}));

test("replay forever (loop 0) across bursts that end inside the file", withDir(async (dir, pool) => {
  const rx = join(dir, "in.pcap");
  const frames = testFrames(5);
  writeFrames(rx, frames);
  const port = PcapPort.create({ name: "pcap0", pid: 0, mempool: pool, rx, loop: 0 });
  try {
    const bufs = new Uint32Array(3);
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const n = port.rxBurst(bufs, 3);
      assert.equal(n, 3);
      for (let k = 0; k < n; k++) seen.push(hex(bytesOf(pool, bufs[k]!)));
      pool.freeBulk(bufs, n);
    }
    assert.deepEqual(seen, Array.from({ length: 60 }, (_, i) => hex(frames[i % 5]!)));
    assert.equal(port.replayDone(), false);
  } finally {
    port.close();
  }
}));

test("rate: frame k is released k / rate seconds after the first rxBurst (an injected clock), catching up in full bursts", withDir(async (dir, pool) => {
  const rx = join(dir, "in.pcap");
  writeFrames(rx, testFrames(10));
  const clk = fakeClock();
  const port = PcapPort.create({ name: "pcap0", pid: 0, mempool: pool, rx, rate: 1000, loop: 0, clock: clk });
  try {
    const bufs = new Uint32Array(64);
    const burst = (atMs: number, max = 64) => {
      clk.at(atMs);
      const n = port.rxBurst(bufs, max);
      pool.freeBulk(bufs, n);
      return n;
    };
    // The oracle: by t ms after the start, floor(t * rate / 1000) + 1 frames are due.
    assert.equal(burst(5000), 1, "frame 0 goes at once");
    assert.equal(burst(5000.999), 0, "frame 1 is due 1 ms later");
    assert.equal(burst(5001), 1);
    assert.equal(burst(5001.5), 0);
    assert.equal(burst(5010), 9, "frames 2..10");
    assert.equal(burst(5010), 0);
    assert.equal(burst(5100, 64), 64, "a receiver that fell behind catches up a burst at a time");
    assert.equal(burst(5100, 64), 26, "101 due by 100 ms");
    assert.equal(burst(5100, 64), 0);
    assert.equal(port.replayed(), 101);
    assert.equal(port.stats[0], 101);
  } finally {
    port.close();
  }
}));

test("TX writes what the port sends to the tx file (flushed at close); frames that do not fit a buffer are refused at open", withDir(async (dir, pool) => {
  const tx = join(dir, "out.pcap");
  const port = PcapPort.create({ name: "pcap0", pid: 0, mempool: pool, tx });
  const frames = testFrames(25);
  try {
    await sendAll(port, framesInPool(pool, frames));
    assert.equal(PcapIndex.read(tx).count, 0, "buffered until the buffer fills, a flush or close");
    assert.equal(port.rxBurst(new Uint32Array(8), 8), 0, "no rx file: nothing to receive");
  } finally {
    port.close();
  }
  const f = PcapIndex.read(tx);
  assert.deepEqual(Array.from({ length: f.count }, (_, i) => hex(f.frame(i))), frames.map(hex));
  assert.deepEqual([port.stats[2], port.stats[3]], [25, frames.reduce((a, x) => a + x.length, 0)]);
  const big = join(dir, "big.pcap");
  writeFrames(big, [testFrame(0, 100), testFrame(1, 1793)]);
  assert.throws(() => PcapPort.create({ name: "p1", pid: 0, mempool: pool, rx: big }), /net_pcap p1: record 1 of '.*big.pcap' is 1793 bytes; frames of 1 to 1792 bytes fit a 2048-byte buffer/);
  assert.throws(() => PcapPort.create({ name: "p2", pid: 0, mempool: pool, rx: big, tx: big }), /rx and tx name the same file/);
  writeFileSync(join(dir, "junk.pcap"), "not a pcap file at all, no");
  assert.throws(() => PcapPort.create({ name: "p3", pid: 0, mempool: pool, rx: join(dir, "junk.pcap") }), /Invalid pcap file/);
}));

test("the data path allocates nothing: replay to a tx file, 20000 bursts", withDir(async (dir, pool) => {
  const rx = join(dir, "in.pcap");
  writeFrames(rx, testFrames(16));
  const port = PcapPort.create({ name: "pcap0", pid: 0, mempool: pool, rx, tx: join(dir, "out.pcap"), loop: 0 });
  try {
    const bufs = new Uint32Array(8);
    const loop = (count: number) => {
      for (let i = 0; i < count; i++) {
        const n = port.rxBurst(bufs, 8);
        port.txBurst(bufs, n);
      }
    };
    loop(2000);
    assert.equal(await gcsDuring(() => loop(20000)), 0);
    assert.equal(port.stats[0], 22000 * 8);
    assert.equal(port.stats[2], 22000 * 8);
  } finally {
    port.close();
  }
}, false));
