/** pcap files: round trip, both resolutions and byte orders, and clear errors for what cannot be read. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodePcap, encodePcap } from "./pcap.js";

test("frames round-trip through a pcap file", () => {
  const frames = [
    { tsNs: 1_700_000_000_123_456_000, data: Uint8Array.from({ length: 60 }, (_, i) => i) },
    { tsNs: 1_700_000_001_000_001_000, data: Uint8Array.from({ length: 1514 }, (_, i) => i * 7) },
  ];
  const b = encodePcap(frames);
  assert.equal(b.length, 24 + 16 + 60 + 16 + 1514);
  const back = decodePcap(b);
  assert.equal(back.length, 2);
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(back[i]!.data, frames[i]!.data);
    assert.equal(Math.round(back[i]!.tsNs / 1000), Math.round(frames[i]!.tsNs / 1000));
  }
});

test("big-endian nanosecond files are read", () => {
  const b = new Uint8Array(24 + 16 + 4);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0xa1b23c4d, false);
  dv.setUint16(4, 2, false);
  dv.setUint16(6, 4, false);
  dv.setUint32(16, 65535, false);
  dv.setUint32(20, 1, false);
  dv.setUint32(24, 10, false);
  dv.setUint32(28, 5, false);
  dv.setUint32(32, 4, false);
  dv.setUint32(36, 4, false);
  b.set([1, 2, 3, 4], 40);
  const f = decodePcap(b);
  assert.equal(f[0]!.tsNs, 10e9 + 5);
  assert.deepEqual(f[0]!.data, Uint8Array.of(1, 2, 3, 4));
});

test("unreadable files give errors that say why", () => {
  assert.throws(() => decodePcap(new Uint8Array(10), "x.pcap"), /Invalid pcap file 'x.pcap': 10 bytes, shorter than the 24-byte header/);
  const ng = new Uint8Array(32);
  new DataView(ng.buffer).setUint32(0, 0x0a0d0d0a, true);
  assert.throws(() => decodePcap(ng, "y.pcapng"), /pcapng file: convert it/);
  const b = encodePcap([{ tsNs: 0, data: new Uint8Array(100) }]);
  assert.throws(() => decodePcap(b.subarray(0, b.length - 10), "t.pcap"), /record 0 at byte 24 claims 100 bytes, the file ends first/);
  new DataView(b.buffer).setUint32(20, 113, true);
  assert.throws(() => decodePcap(b, "sll.pcap"), /link type 113, only Ethernet \(1\) can be replayed/);
});
