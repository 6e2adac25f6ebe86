/**
 * The AF_XDP engine's frame writer, called as the worker calls it (fill into UMEM buffers, then sent(k)
 * with what the TX ring took), checked byte for byte against frames built from scratch: every range
 * field wrapping many times, sequence numbers crossing 2^32, partial sends, unaligned buffers, and
 * buffers at offsets above 2^31 in a real 2.5 GiB UMEM.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../../mem/umem.js";
import { MbufTable } from "../../mem/mbuf.js";
import { applySet, defaultSettings, type PortSettings } from "./settings.js";
import { buildFrame, patchFrame, verifyChecksums, IP_OFF, IP_CSUM_OFF, IP_SRC_OFF, L4_OFF, type FramePlan } from "./packet.js";
import { IP4_PROTO } from "../../wire/ipv4.js";
import { UDP_CSUM } from "../../wire/udp.js";
import { TCP_CSUM } from "../../wire/tcp.js";
import { ICMP_CSUM } from "../../wire/icmp.js";
import { TemplateFrames, PcapFrames, compilePlan, frameOffset, type ClockSource } from "./tx-frames.js";

const macs = { pid: 3, srcMac: "02:00:00:00:00:01", dstMac: "02:00:00:00:00:02" };
const TWO32 = 2 ** 32;
/** A clock that reads `ns`. */
const at = (ns: number): ClockSource => ({ ts: Float64Array.of(0, ns), read: () => {} });

function settings(...sets: string[]): PortSettings {
  const s = defaultSettings(0);
  for (const line of sets) applySet(s, line.split(" "), { mtu: 1500 });
  return s;
}

/** 16-bit one's complement sum, computed independently of packet.ts. */
function ones(b: Uint8Array, start: number, end: number, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** What packet `seq` of a plan must be, built from scratch: fields from the settings' ranges, full checksums. */
function expected(plan: FramePlan, seq: number, tsNs: number): Uint8Array {
  const f = plan.frame.slice();
  const dv = new DataView(f.buffer);
  for (const fp of plan.fields) {
    const v = fp.min + (seq % fp.n) * fp.step;
    if (fp.bytes === 4) dv.setUint32(fp.off, v);
    else dv.setUint16(fp.off, v);
  }
  if (plan.tagOff >= 0) {
    dv.setUint32(plan.tagOff + 4, seq % TWO32);
    dv.setUint32(plan.tagOff + 8, Math.floor(tsNs / TWO32));
    dv.setUint32(plan.tagOff + 12, tsNs % TWO32);
  }
  dv.setUint16(IP_CSUM_OFF, 0);
  dv.setUint16(IP_CSUM_OFF, ~ones(f, IP_OFF, L4_OFF) & 0xffff);
  const proto = f[IP_OFF + IP4_PROTO]!;
  const csumOff = L4_OFF + (proto === 17 ? UDP_CSUM : proto === 6 ? TCP_CSUM : ICMP_CSUM);
  if (!(proto === 17 && plan.l4CsumOff < 0)) {
    dv.setUint16(csumOff, 0);
    const pseudo = proto === 1 ? 0 : ones(f, IP_SRC_OFF, IP_SRC_OFF + 8) + proto + (f.length - L4_OFF);
    let c = ~ones(f, L4_OFF, f.length, pseudo) & 0xffff;
    if (proto === 17 && c === 0) c = 0xffff;
    dv.setUint16(csumOff, c);
  }
  return f;
}

/** A UMEM over any SharedArrayBuffer (no mapping: nothing to close), with its buffer metadata. */
function fakeUmem(bytes: number): { umem: Umem; mbufs: MbufTable } {
  const frames = bytes / 2048;
  const umem = Umem.fromShared({ buf: new SharedArrayBuffer(bytes), frames, frameSize: 2048, name: "test", mtype: "4KB" });
  return { umem, mbufs: MbufTable.create(frames) };
}

/** Deterministic pseudo-random integers in [0, n). */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return Math.floor((x / 2 ** 32) * n); // the high bits (an LCG's low bits repeat with a short period)
  };
}

/**
 * Runs the worker's sequence (fill a burst, a TX ring that takes k of n, sent(k)) from `seqStart` for
 * `total` packets, checking every frame that "went out" against {@link expected}.
 */
function runBursts(plan: FramePlan, seqStart: number, total: number, um: { umem: Umem; mbufs: MbufTable }, handles: number[], seed: number): number {
  const t = new TemplateFrames(compilePlan(plan), plan.frame, seqStart);
  const r = rng(seed);
  const bufs = new Uint32Array(64);
  let seq = seqStart;
  let checked = 0;
  let partial = 0;
  while (seq < seqStart + total) {
    const n = 1 + r(Math.min(64, handles.length));
    // Distinct handles (a frame is in one buffer), in a random order.
    const pick = handles.slice();
    for (let i = 0; i < n; i++) {
      const j = i + r(pick.length - i);
      const h = pick[j]!;
      pick[j] = pick[i]!;
      bufs[i] = h;
      um.mbufs.dataOff[h] = 256 + r(4); // aligned and unaligned copies
    }
    // CLOCK_MONOTONIC ns (from performance.now(): not a whole number), some above 2^48.
    const tsNs = 4.5e14 + seq * 1000 + r(1000) + 0.37;
    const bytes = t.fill(um.umem, um.mbufs, bufs, n, at(tsNs));
    assert.equal(bytes, n * plan.len);
    const k = r(4) === 0 ? r(n + 1) : n; // a quarter of the bursts only partly taken by the TX ring
    for (let i = 0; i < k; i++) {
      const h = bufs[i]!;
      const o = frameOffset(h, um.umem.shift, um.mbufs.dataOff[h]!);
      assert.equal(um.mbufs.dataLen[h], plan.len);
      const got = um.umem.u8.subarray(o, o + plan.len);
      const want = expected(plan, seq + i, tsNs);
      if (Buffer.compare(got, want) !== 0) assert.deepEqual(got, want, `seq ${seq + i} (burst of ${n}, frame ${i}) at offset ${o}`);
      assert.equal(verifyChecksums(got), null, `seq ${seq + i}`);
      checked++;
    }
    t.sent(k, n);
    if (k < n) partial++;
    seq += k;
  }
  assert.ok(partial > 0, "some bursts were sent in part");
  return checked;
}

const cases: [string, string[]][] = [
  // Every field ranged, with steps; a source range ending at 255.255.255.255 and a port range at 65535.
  ["udp", ["src ip 10.0.0.1-10.0.0.3", "dst ip 255.255.255.227-255.255.255.255:7", "sport 1000-1003", "dport 65530-65535", "latency on"]],
  ["tcp", ["proto tcp", "size 90", "src ip 192.168.0.250-192.168.1.4:3", "dport 7-13:2", "latency on"]],
  ["icmp", ["proto icmp", "size 99", "src ip 1.2.3.4-1.2.3.10", "dst ip 9.9.9.9-9.9.9.10", "latency on"]],
  ["udp cksum off", ["cksum off", "sport 60000-60004", "latency on"]],
  ["udp no tag", ["size 1518", "dst ip 10.0.0.0-10.0.0.255:51", "sport 5-6"]],
];

test("the worker's writer produces what the plan says across every range wrap and 2^32", () => {
  const um = fakeUmem(4096 * 2048);
  const handles = Array.from({ length: 512 }, (_, i) => i * 7 + 1);
  for (const [name, sets] of cases) {
    const plan = buildFrame(settings(...sets), macs);
    assert.ok(plan.fields.length > 0, name);
    // From just below 2^32 (the tag's sequence number wraps to 0) to well beyond.
    const n = runBursts(plan, TWO32 - 300, 2000, um, handles, name.length);
    assert.ok(n >= 2000, `${name}: ${n} frames checked`);
    // And from 0, and from an arbitrary large start (state seeked with seq % n).
    runBursts(plan, 0, 500, um, handles, 7);
    runBursts(plan, 3 * TWO32 + 12345, 500, um, handles, 11);
  }
});

test("patchFrame (the plan's control-path form) matches the frames built from scratch", () => {
  for (const [name, sets] of cases) {
    const plan = buildFrame(settings(...sets), macs);
    assert.deepEqual(plan.frame, expected(plan, 0, 0), `${name}: the sequence-0 frame`);
    for (const seq of [1, 2, 3, 17, 255, TWO32 - 1, TWO32, TWO32 + 1, 5 * TWO32 + 99]) {
      const f = plan.frame.slice();
      patchFrame(plan, f, 0, seq, 4.5e14 + seq);
      assert.deepEqual(f, expected(plan, seq, 4.5e14 + seq), `${name} seq ${seq}`);
    }
  }
});

test("a UDP checksum that computes to 0 is sent as 0xffff (RFC 768)", () => {
  const plan = buildFrame(settings("sport 1-3", "latency on"), macs);
  // The tag's time moves the checksum through every value: find the time that makes it 0.
  const seq = TWO32 + 1;
  let ts = -1;
  for (let j = 0; j < 0x20000 && ts < 0; j++) {
    const f = expected(plan, seq, 4.5e14 + j);
    if (f[L4_OFF + UDP_CSUM] === 0xff && f[L4_OFF + UDP_CSUM + 1] === 0xff) ts = 4.5e14 + j;
  }
  assert.ok(ts > 0);
  const um = fakeUmem(16 * 2048);
  um.mbufs.dataOff[5] = 256;
  const t = new TemplateFrames(compilePlan(plan), plan.frame, seq);
  t.fill(um.umem, um.mbufs, Uint32Array.of(5), 1, at(ts));
  const o = frameOffset(5, 11, 256);
  assert.deepEqual(um.umem.u8.subarray(o, o + plan.len), expected(plan, seq, ts));
  assert.equal(um.umem.view.getUint16(o + 40), 0xffff);
});

test("a frame that never varies is sent as built", () => {
  const plan = buildFrame(settings("size 100"), macs);
  assert.equal(plan.varies, false);
  const um = fakeUmem(64 * 2048);
  const t = new TemplateFrames(compilePlan(plan), plan.frame, 12345);
  const bufs = Uint32Array.of(3, 9);
  um.mbufs.dataOff[3] = 256;
  um.mbufs.dataOff[9] = 259;
  t.fill(um.umem, um.mbufs, bufs, 2, at(0));
  for (const h of bufs) {
    const o = frameOffset(h, 11, um.mbufs.dataOff[h]!);
    assert.deepEqual(um.umem.u8.subarray(o, o + plan.len), plan.frame);
  }
});

test("pcap frames go in turn, looping, and a partial send resumes at the first frame not sent", () => {
  const lens = [60, 61, 62, 63, 1514];
  const offs: number[] = [];
  let total = 0;
  for (const l of lens) {
    offs.push(total >>> 2);
    total += (l + 3) & ~3;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < total; i++) data[i] = (i * 131 + 7) & 0xff;
  const frame = (i: number) => data.subarray(offs[i]! * 4, offs[i]! * 4 + lens[i]!);
  const p = new PcapFrames(data, offs, lens);
  const um = fakeUmem(1024 * 2048);
  const r = rng(5);
  const bufs = new Uint32Array(64);
  let next = 0;
  for (let burst = 0; burst < 300; burst++) {
    const n = 1 + r(64);
    for (let i = 0; i < n; i++) {
      bufs[i] = burst % 2 === 0 ? i * 3 : 1000 - i;
      um.mbufs.dataOff[bufs[i]!] = 256 + r(4);
    }
    const bytes = p.fill(um.umem, um.mbufs, bufs, n);
    let want = 0;
    for (let i = 0; i < n; i++) want += lens[(next + i) % lens.length]!;
    assert.equal(bytes, want);
    const k = r(3) === 0 ? r(n + 1) : n;
    for (let i = 0; i < k; i++) {
      const h = bufs[i]!;
      const o = frameOffset(h, 11, um.mbufs.dataOff[h]!);
      const fi = (next + i) % lens.length;
      assert.equal(um.mbufs.dataLen[h], lens[fi]);
      assert.deepEqual(um.umem.u8.subarray(o, o + lens[fi]!), frame(fi), `burst ${burst} frame ${i}`);
    }
    p.sent(k, n);
    next = (next + k) % lens.length;
    assert.equal(p.next, next);
  }
});

test("handles from 2^20 up: offsets above 2^31 in a 2.5 GiB UMEM are written where they belong", () => {
  const bytes = 2.5 * 2 ** 30;
  const um = fakeUmem(bytes);
  const frames = bytes / 2048;
  assert.ok(frames > 2 ** 20);
  // Around 2^20 (the first offset >= 2^31), and the last frame of the UMEM.
  const handles = [2 ** 20 - 2, 2 ** 20 - 1, 2 ** 20, 2 ** 20 + 1, 2 ** 20 + 12345, frames - 2, frames - 1];
  assert.equal(frameOffset(2 ** 20, 11, 256), 2 ** 31 + 256);
  assert.equal(frameOffset(frames - 1, 11, 300), bytes - 2048 + 300);
  const checked = runBursts(buildFrame(settings(...cases[0]![1]), macs), TWO32 - 40, 200, um, handles, 3);
  assert.ok(checked >= 200);
  // Nothing landed 2^31 below those frames (where an offset that lost its top bit would write).
  for (const h of handles.filter((x) => x >= 2 ** 20)) {
    const mirror = frameOffset(h, 11, 0) - 2 ** 31;
    assert.equal(um.umem.u8.subarray(mirror, mirror + 2048).some((b) => b !== 0), false, `frame ${h} - 2^31`);
  }
  // pcap frames too.
  const data = new Uint8Array(64).map((_, i) => i + 1);
  const p = new PcapFrames(data, [0], [64]);
  const bufs = Uint32Array.of(2 ** 20 + 7, frames - 3);
  for (const h of bufs) um.mbufs.dataOff[h] = 256;
  p.fill(um.umem, um.mbufs, bufs, 2);
  for (const h of bufs) {
    const o = frameOffset(h, 11, 256);
    assert.ok(o > 2 ** 31);
    assert.deepEqual(um.umem.u8.subarray(o, o + 64), data);
  }
});
