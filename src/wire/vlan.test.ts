import { test } from "node:test";
import assert from "node:assert/strict";
import { udpFrame } from "./udp-frame.js";
import { VLAN_HLEN, vlanInsert, vlanRemove, vlanId } from "./vlan.js";

test("wire vlan: a tag inserted into the headroom and removed again, in place", () => {
  const frame = udpFrame({ dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", size: 64, seq: 7 });
  const u8 = new Uint8Array(256);
  u8.set(frame, 100);
  assert.equal(vlanId(u8, 100, 64), -1, "untagged");
  const o = vlanInsert(u8, 100, 0xe000 | 100); // PCP 7, VID 100
  assert.equal(o, 100 - VLAN_HLEN);
  const tagged = u8.subarray(o, o + 68);
  assert.deepEqual(tagged.subarray(0, 12), frame.subarray(0, 12), "MACs moved into the headroom");
  assert.deepEqual([...tagged.subarray(12, 16)], [0x81, 0x00, 0xe0, 100], "TPID 0x8100, TCI");
  assert.deepEqual(tagged.subarray(16), frame.subarray(12), "EtherType and payload where they were");
  assert.equal(vlanId(u8, o, 68), 100, "the VID without PCP and DEI");
  assert.equal(vlanId(u8, o, 17), -1, "too short for a tag");
  assert.equal(vlanRemove(u8, o), 100);
  assert.deepEqual(u8.subarray(100, 164), frame, "the untagged frame again");
  vlanInsert(u8, 100, 4094);
  assert.equal(vlanId(u8, 96, 68), 4094);
});
