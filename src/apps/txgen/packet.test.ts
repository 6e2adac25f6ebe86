/**
 * Frames and plans: checksums verified independently, range fields per sequence number, and the
 * live-frames XDP program checked against the JavaScript patcher with BPF_PROG_TEST_RUN (not live).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { applySet, defaultSettings, type PortSettings } from "./settings.js";
import { buildFrame, patchFrame, verifyChecksums, IP_SRC_OFF, DPORT_OFF, L4_OFF } from "./packet.js";
import { UDP_CSUM } from "../../wire/udp.js";
import { LiveProgram, CountProgram } from "./live-prog.js";
import { testRun } from "../../bpf/test-run.js";
import { XdpAction } from "../../bpf/asm.js";

const macs = { pid: 0, srcMac: "02:00:00:00:00:01", dstMac: "02:00:00:00:00:02" };

function settings(...sets: string[]): PortSettings {
  const s = defaultSettings(0);
  for (const line of sets) applySet(s, line.split(" "), { mtu: 1500 });
  return s;
}

test("frames of every protocol and size carry valid checksums", () => {
  for (const proto of ["udp", "tcp", "icmp"]) {
    for (const size of [64, 65, 128, 1518]) {
      for (const lat of ["off", "on"]) {
        if (lat === "on" && proto === "tcp" && size < 74) continue;
        const p = buildFrame(settings(`proto ${proto}`, `size ${size}`, `latency ${lat}`), macs);
        assert.equal(p.frame.length, size - 4);
        assert.equal(verifyChecksums(p.frame), null, `${proto} ${size} latency ${lat}`);
      }
    }
  }
});

test("range fields step through their values and keep checksums valid", () => {
  const p = buildFrame(settings("src ip 10.0.0.1-10.0.0.4", "dport 5000-5010:5", "latency on"), macs);
  assert.equal(p.fields.length, 2);
  const f = p.frame.slice();
  const dv = new DataView(f.buffer);
  const seen: string[] = [];
  for (let seq = 0; seq < 12; seq++) {
    patchFrame(p, f, 0, seq, 1e12 + seq * 12345);
    assert.equal(verifyChecksums(f), null, `seq ${seq}`);
    seen.push(`${dv.getUint32(IP_SRC_OFF) & 0xff}:${dv.getUint16(DPORT_OFF)}`);
    assert.equal(dv.getUint32(p.tagOff + 4), seq);
  }
  assert.deepEqual(seen.slice(0, 6), ["1:5000", "2:5005", "3:5010", "4:5000", "1:5005", "2:5010"]);
});

test("udp checksum off leaves 0", () => {
  const p = buildFrame(settings("cksum off", "sport 1-9"), macs);
  assert.equal(p.l4CsumOff, -1);
  assert.equal(p.frame[L4_OFF + UDP_CSUM], 0);
  assert.equal(p.frame[L4_OFF + UDP_CSUM + 1], 0);
  assert.equal(verifyChecksums(p.frame), null);
});

test("the live-frames program writes what the patcher writes", { skip: process.getuid?.() !== 0 ? "needs root (bpf)" : false }, () => {
  const cases = [
    ["src ip 10.0.0.1-10.0.0.3", "dst ip 10.1.0.0-10.1.0.200:7", "sport 1000-1003", "dport 7-9", "latency on"],
    ["proto tcp", "size 80", "latency on", "src ip 192.168.0.1-192.168.0.5"],
    ["proto icmp", "latency on"],
    ["cksum off", "dport 1-4", "latency on"],
    ["src ip 255.255.255.250-255.255.255.255"],
  ];
  for (const sets of cases) {
    const plan = buildFrame(settings(...sets), macs);
    const lp = LiveProgram.load(plan, 100);
    try {
      const out = new Uint8Array(plan.len + 64);
      for (let i = 0; i < 9; i++) {
        const r = testRun(lp.prog, { data: plan.frame, dataOut: out });
        assert.equal(r.retval, XdpAction.TX);
        const got = r.dataOut!;
        assert.equal(got.length, plan.len);
        assert.equal(verifyChecksums(got), null, `${sets.join(", ")} seq ${100 + i}`);
        const want = plan.frame.slice();
        let ts = 0;
        if (plan.tagOff >= 0) {
          const dv = new DataView(got.buffer, got.byteOffset);
          ts = dv.getUint32(plan.tagOff + 8) * 2 ** 32 + dv.getUint32(plan.tagOff + 12);
          assert.ok(ts > 0, "timestamp written");
        }
        patchFrame(plan, want, 0, 100 + i, ts);
        assert.deepEqual(got, want, `${sets.join(", ")} seq ${100 + i}`);
      }
      assert.equal(lp.readSeq(), plan.varies ? 109 : 0);
    } finally {
      lp.close();
    }
  }
});

test("the count program counts and drops", { skip: process.getuid?.() !== 0 ? "needs root (bpf)" : false }, () => {
  const cp = CountProgram.load();
  try {
    const frame = buildFrame(settings("size 100"), macs).frame;
    const r = testRun(cp.prog, { data: frame, repeat: 5 });
    assert.equal(r.retval, XdpAction.DROP);
    assert.deepEqual(cp.read(), [5, 5 * 96]);
  } finally {
    cp.close();
  }
});
