/**
 * The connection hashes against a Map oracle: random inserts, lookups and removals (many colliding in
 * a small table, so backward-shift deletion is exercised) give the same answers; IPv6 keys that differ
 * in one address byte or a port are distinct.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnHash, ConnHash6 } from "./conn-hash.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
}

test("ConnHash6 agrees with a Map over 20000 random inserts/removals in a table of 64 slots", () => {
  const h = new ConnHash6(64);
  const oracle = new Map<string, number>();
  const keys: Uint8Array[] = [];
  const r = rng(7);
  // A small key space (addresses differ in few bytes) so keys repeat and collide.
  const mk = () => {
    const k = new Uint8Array(36);
    k[0] = 0xfd; k[15] = r() & 3; k[16] = 0xfe; k[17] = 0x80; k[31] = r() & 7;
    k[32] = 0; k[33] = 80 + (r() & 1); k[34] = 0x9c; k[35] = r() & 3;
    return k;
  };
  const port = (k: Uint8Array, at: number) => (k[at]! << 8) | k[at + 1]!;
  const name = (k: Uint8Array) => Buffer.from(k).toString("hex");
  let slot = 0;
  for (let i = 0; i < 20000; i++) {
    const k = r() % 3 === 0 && keys.length > 0 ? keys[r() % keys.length]! : mk();
    const n = name(k);
    const got = h.lookup(k, 0, port(k, 32), k, 16, port(k, 34));
    assert.equal(got, oracle.get(n) ?? -1, `lookup ${n} at step ${i}`);
    if (got < 0 && oracle.size < 60) {
      h.insert(k, 0, port(k, 32), k, 16, port(k, 34), slot);
      oracle.set(n, slot++);
      keys.push(k);
    } else if (got >= 0 && (r() & 1) === 0) {
      assert.equal(h.remove(k, 0, port(k, 32), k, 16, port(k, 34)), true);
      oracle.delete(n);
    }
  }
  for (const k of keys) assert.equal(h.lookup(k, 0, port(k, 32), k, 16, port(k, 34)), oracle.get(name(k)) ?? -1);
  assert.equal(h.remove(new Uint8Array(36), 0, 1, new Uint8Array(36), 16, 2), false);
});

test("ConnHash (IPv4) still agrees with a Map under the same churn", () => {
  const h = new ConnHash(64);
  const oracle = new Map<string, number>();
  const r = rng(11);
  let slot = 0;
  for (let i = 0; i < 20000; i++) {
    const lip = 0x0a000001 + (r() & 3), rip = 0xc0a80000 + (r() & 7), lp = 80 + (r() & 1), rp = 40000 + (r() & 3);
    const n = `${lip} ${lp} ${rip} ${rp}`;
    const got = h.lookup(lip, lp, rip, rp);
    assert.equal(got, oracle.get(n) ?? -1);
    if (got < 0 && oracle.size < 60) {
      h.insert(lip, lp, rip, rp, slot);
      oracle.set(n, slot++);
    } else if (got >= 0 && (r() & 1) === 0) {
      assert.equal(h.remove(lip, lp, rip, rp), true);
      oracle.delete(n);
    }
  }
});
