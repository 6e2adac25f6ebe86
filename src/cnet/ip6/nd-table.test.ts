/**
 * The ND table against a Map oracle (random learns, incompletes and removals over a small table, so probes
 * wrap and tombstones are reused; the same address on two interfaces is two entries), its pending queues
 * bounded, permanent entries kept, and the main thread's view reading what the worker wrote.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { formatIp6, formatMac } from "../../lookup/addr.js";
import { NdTable, ND_INCOMPLETE, ND_PERMANENT, ND_REACHABLE, ND_STALE } from "./nd-table.js";

/** A deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

describe("NdTable", () => {
  test("against a Map oracle: learn, incomplete, remove with tombstones, reuse; the key includes the ifindex", () => {
    const nd = NdTable.create({ capacity: 64 });
    const oracle = new Map<string, { mac: string; state: number }>();
    const r = rng(7);
    const addr = new Uint8Array(16);
    const mac = new Uint8Array(6);
    for (let step = 0; step < 20000; step++) {
      // 40 distinct addresses (some differing only in the last word, some link-local) on two interfaces.
      const k = Math.floor(r() * 40);
      addr.fill(0);
      addr[0] = k % 2 === 0 ? 0x20 : 0xfe; addr[1] = k % 2 === 0 ? 0x01 : 0x80; addr[15] = k; addr[7] = k >> 3;
      const ifindex = 5 + (Math.floor(r() * 2));
      const key = `${formatIp6(addr)}%${ifindex}`;
      const op = r();
      const s = nd.lookup(addr, 0, ifindex);
      const want = oracle.get(key);
      assert.equal(s >= 0, want !== undefined, `lookup ${key} at step ${step}`);
      if (op < 0.4) {
        mac[5] = step & 0xff;
        const st = r() < 0.5 ? ND_REACHABLE : ND_STALE;
        const got = nd.learn(addr, 0, ifindex, mac, 0, step, true, st);
        if (oracle.size < 48 || want) {
          assert.ok(got >= 0);
          oracle.set(key, { mac: formatMac(mac), state: st });
        }
        else if (got >= 0) oracle.set(key, { mac: formatMac(mac), state: st });
      } else if (op < 0.6) {
        const got = nd.insertIncomplete(addr, 0, ifindex, step);
        if (got >= 0 && !want) oracle.set(key, { mac: "", state: ND_INCOMPLETE });
      } else if (s >= 0) {
        nd.remove(s);
        oracle.delete(key);
      }
      assert.equal(nd.size, oracle.size);
    }
    const seen = new Map(nd.entries(0).map((e) => [`${e.ip}%${e.ifindex}`, e]));
    assert.equal(seen.size, oracle.size);
    for (const [k, v] of oracle) {
      const e = seen.get(k);
      assert.ok(e, k);
      assert.equal(e.state, ["free", "incomplete", "reachable", "stale"][v.state]);
      if (v.state !== ND_INCOMPLETE) assert.equal(e.mac, v.mac);
    }
  });

  test("pending queue bounded; permanent entries keep their MAC; the main thread's view reads the worker's writes", () => {
    const main = NdTable.create({ capacity: 16 });
    const nd = NdTable.fromShared(main.shared(), 3);
    const ip = new Uint8Array(16); ip[0] = 0xfe; ip[1] = 0x80; ip[15] = 2;
    const s = nd.insertIncomplete(ip, 0, 5, 100);
    assert.deepEqual([nd.hold(s, 1), nd.hold(s, 2), nd.hold(s, 3), nd.hold(s, 4)], [true, true, true, false]);
    const out = new Uint32Array(8);
    assert.equal(nd.takePending(s, out, 0), 3);
    assert.deepEqual([...out.subarray(0, 3)], [1, 2, 3]);
    nd.setFromLinux(ip, 0, 5, Uint8Array.of(2, 0, 0, 0, 0, 9), 0, 200, true);
    assert.equal(nd.state(s), ND_PERMANENT);
    nd.learn(ip, 0, 5, Uint8Array.of(2, 0, 0, 0, 0, 1), 0, 300, true, ND_REACHABLE);
    nd.setState(s, ND_STALE, 300);
    assert.equal(nd.state(s), ND_PERMANENT, "a permanent entry is left alone");
    assert.deepEqual(main.entries(250).map((e) => `${e.ip} ${e.mac} ${e.state} ${e.ifindex} ${e.ageMs}`), ["fe80::2 02:00:00:00:00:09 permanent 5 50"]);
    const s2 = nd.learn(ip, 0, 6, Uint8Array.of(2, 0, 0, 0, 0, 7), 0, 300, true, ND_STALE);
    assert.notEqual(s2, s, "the same address on another interface is another neighbour");
    assert.equal(nd.probeOnce(s2), true);
    assert.equal(nd.probeOnce(s2), false);
    nd.setState(s2, ND_REACHABLE, 400);
    assert.equal(nd.state(s2), ND_REACHABLE);
    assert.throws(() => NdTable.create({ capacity: 12 }), /capacity 12 is not a power of two/);
    assert.throws(() => NdTable.fromShared(main.shared(), 0), /pendingPerEntry 0/);
  });
});
