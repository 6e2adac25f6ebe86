import { test } from "node:test";
import assert from "node:assert/strict";
import { setBe16 } from "./bytes.js";
import { cksum } from "./cksum.js";
import {
  IP4_CSUM, IP4_TOTLEN, ip4Cksum, ip4Dst, ip4HdrLen, ip4HeaderOk, ip4IsFragment, ip4Src, ip4TotalLen, ipv4Payload,
} from "./ipv4.js";
import { ip4, inBuffer, readTracker, type Ip4Opts } from "../testing/wire-frames.js";

/** An IPv4 packet (header with a valid checksum, then `payload` bytes) at offset 50 of a buffer. */
function packet(o: Partial<Ip4Opts> = {}, payload = 20): { u8: Uint8Array; ip: number; len: number } {
  const bytes = ip4({ proto: 17, ...o }, new Array<number>(payload).fill(7));
  const u8 = inBuffer(bytes, 50);
  setBe16(u8, 50 + IP4_CSUM, ip4Cksum(u8, 50));
  return { u8, ip: 50, len: bytes.length };
}

test("ip4 accessors", () => {
  const { u8, ip } = packet({ options: 8, src: 0xc0a80001, dst: 0xfffffffe }, 10);
  assert.equal(ip4HdrLen(u8, ip), 28);
  assert.equal(ip4TotalLen(u8, ip), 38);
  assert.equal(ip4Src(u8, ip), 0xc0a80001);
  assert.equal(ip4Dst(u8, ip), 0xfffffffe);
  assert.equal(ipv4Payload(u8, ip), ip + 28);
  assert.equal(cksum(u8, ip, 28), 0, "ip4Cksum filled in a valid checksum");
  for (const [frag, is] of [[0, false], [0x4000, false], [0x2000, true], [0x0001, true], [0x6000, true], [0x1fff, true]] as const) {
    assert.equal(ip4IsFragment(packet({ frag }).u8, 50), is, `flags/offset ${frag.toString(16)}`);
  }
});

test("ip4HeaderOk accepts valid headers (with options, total length below what is available) and rejects each bad field (RFC 1812 5.2.2)", () => {
  for (const options of [0, 4, 40]) {
    const { u8, ip, len } = packet({ options });
    assert.ok(ip4HeaderOk(u8, ip, len), `options ${options}`);
    assert.ok(ip4HeaderOk(u8, ip, len + 30), `options ${options}, Ethernet padding after the packet`);
    assert.equal(ip4HeaderOk(u8, ip, len - 1), false, `options ${options}: total length beyond what is available`);
  }
  const cases: [string, Partial<Ip4Opts>, number?][] = [
    ["version 6", { verIhl: 0x65 }],
    ["version 0", { verIhl: 0x05 }],
    ["IHL 4", { verIhl: 0x44 }],
    ["IHL 0", { verIhl: 0x40 }],
    ["total length below the header (19)", { totLen: 19 }],
    ["total length below the header with options (23 < 24)", { totLen: 23, options: 4 }],
    ["total length beyond the frame", { totLen: 41 }],
  ];
  for (const [what, o] of cases) {
    const { u8, ip, len } = packet(o);
    assert.equal(ip4HeaderOk(u8, ip, len), false, what);
  }
  // The header itself does not fit.
  const { u8, ip, len } = packet({ options: 40 }, 0);
  assert.equal(len, 60);
  assert.equal(ip4HeaderOk(u8, ip, 59), false, "IHL 15 with 59 bytes");
  assert.equal(ip4HeaderOk(u8, ip, 19), false, "19 bytes");
  assert.equal(ip4HeaderOk(u8, ip, 0), false, "nothing");
  // A wrong checksum: every bit of every header byte.
  const p = packet({ options: 4 });
  for (let b = 0; b < 24; b++) {
    for (let bit = 0; bit < 8; bit++) {
      p.u8[p.ip + b]! ^= 1 << bit;
      assert.equal(ip4HeaderOk(p.u8, p.ip, p.len), false, `byte ${b} bit ${bit}`);
      p.u8[p.ip + b]! ^= 1 << bit;
    }
  }
  assert.ok(ip4HeaderOk(p.u8, p.ip, p.len));
  setBe16(p.u8, p.ip + IP4_TOTLEN, 24);
  assert.equal(ip4HeaderOk(p.u8, p.ip, p.len), false, "checksum no longer matches the changed length");
});

test("ip4HeaderOk reads nothing past ip + avail", () => {
  const { u8, ip, len } = packet({ options: 12 }, 8);
  const t = readTracker(u8);
  for (let avail = 0; avail <= len; avail++) {
    t.reset();
    const ok = ip4HeaderOk(t.view, ip, avail);
    assert.equal(ok, avail === len, `avail ${avail}`);
    if (t.max() !== -Infinity) assert.ok(t.min() >= ip && t.max() < ip + avail, `avail ${avail}: read ${t.min() - ip}..${t.max() - ip}`);
  }
});
