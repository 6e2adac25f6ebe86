/**
 * NetTables' IPv6 part against naive oracles: routes with metrics and gateways added and deleted at
 * random, every lookup compared with a longest-prefix match over the routes in use (lowest metric per
 * prefix); addresses added, updated (flags), deleted, found per packet; a worker's view reads the same
 * and refuses to write.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { formatIp6, parseIp6 } from "../../lookup/addr.js";
import { NetTables, FIB_NO_ROUTE } from "../tables.js";

function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function masked(ip: Uint8Array, depth: number): Uint8Array {
  const out = ip.slice();
  for (let i = 0; i < 16; i++) {
    const keep = depth - 8 * i;
    if (keep <= 0) out[i] = 0;
    else if (keep < 8) out[i] = out[i]! & (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

describe("NetTables IPv6", () => {
  test("routes with metrics and gateways against a longest-prefix oracle", () => {
    const t = NetTables.create({ maxTbl8Groups: 4, maxTbl8Groups6: 8192 });
    const w = NetTables.fromShared(t.shared());
    const r = rng(11);
    type R = { ip: Uint8Array; depth: number; gw: string | null; ifindex: number; metric: number };
    const oracle = new Map<string, R[]>();
    const base = parseIp6("2001:db8::");
    const randAddr = () => {
      const a = base.slice();
      for (let i = 4; i < 16; i++) a[i] = r() < 0.7 ? 0 : Math.floor(r() * 4); // few distinct bytes: prefixes overlap
      return a;
    };
    const gw = new Uint8Array(16);
    for (let step = 0; step < 3000; step++) {
      const depth = [32, 48, 56, 64, 64, 96, 112, 127, 128][Math.floor(r() * 9)]!;
      const ip = masked(randAddr(), depth);
      const key = `${formatIp6(ip)}/${depth}`;
      const metric = Math.floor(r() * 3);
      const ifindex = 5 + Math.floor(r() * 2);
      if (r() < 0.65) {
        const g = r() < 0.5 ? null : `fe80::${Math.floor(r() * 3) + 1}`;
        t.addRoute6(ip, depth, g === null ? null : parseIp6(g), ifindex, metric);
        const list = (oracle.get(key) ?? []).filter((x) => x.metric !== metric);
        list.push({ ip, depth, gw: g, ifindex, metric });
        list.sort((a, b) => a.metric - b.metric);
        oracle.set(key, list);
      } else {
        const list = oracle.get(key) ?? [];
        const i = list.findIndex((x) => x.ifindex === ifindex && x.metric === metric);
        assert.equal(t.deleteRoute6(ip, depth, ifindex, metric), i >= 0);
        if (i >= 0) {
          list.splice(i, 1);
          if (list.length === 0) oracle.delete(key);
        }
      }
      if (step % 50 !== 0) continue;
      for (let q = 0; q < 40; q++) {
        const a = randAddr();
        let best: R | null = null;
        for (const list of oracle.values()) {
          const x = list[0]!;
          if ((best === null || x.depth > best.depth) && formatIp6(masked(a, x.depth)) === formatIp6(x.ip)) best = x;
        }
        for (const view of [t, w]) {
          const nh = view.route6(a, 0);
          if (best === null) {
            assert.equal(nh, FIB_NO_ROUTE, `${formatIp6(a)}: no route`);
            continue;
          }
          assert.notEqual(nh, FIB_NO_ROUTE, `${formatIp6(a)}: ${formatIp6(best.ip)}/${best.depth}`);
          assert.equal(view.nextHop6Ifindex(nh), best.ifindex);
          const has = view.nextHop6Gateway(nh, gw, 0);
          assert.equal(has ? formatIp6(gw) : null, best.gw);
        }
      }
    }
    assert.equal(t.routes6().length, oracle.size);
  });

  test("addresses: added, flags updated, deleted, found per packet; a worker's view reads and cannot write", () => {
    const t = NetTables.create();
    const w = NetTables.fromShared(t.shared());
    const v0 = t.version();
    assert.equal(t.addAddress6(parseIp6("2001:db8::1"), 64, 5, 0x40), true);
    assert.equal(t.addAddress6(parseIp6("fe80::1"), 64, 5), true);
    assert.equal(t.addAddress6(parseIp6("fe80::1"), 64, 6), true, "the same link-local address on another interface");
    assert.equal(t.addAddress6(parseIp6("2001:db8::1"), 64, 5, 0x40), false, "nothing changed");
    const v1 = t.version();
    assert.equal(t.addAddress6(parseIp6("2001:db8::1"), 64, 5, 0), false, "flags updated (DAD over in Linux)");
    assert.notEqual(t.version(), v1, "a worker notices the update");
    assert.notEqual(v1, v0);
    assert.deepEqual(w.addresses6().map((a) => `${formatIp6(a.ip)}/${a.prefixLen} ${a.ifindex} ${a.flags}`), ["2001:db8::1/64 5 0", "fe80::1/64 5 0", "fe80::1/64 6 0"]);
    assert.equal(w.localIfindex6(parseIp6("2001:db8::1"), 0), 5);
    assert.equal(w.localIfindex6(parseIp6("2001:db8::2"), 0), 0);
    assert.equal(t.deleteAddress6(parseIp6("fe80::1"), 5), true);
    assert.equal(t.deleteAddress6(parseIp6("fe80::1"), 5), false);
    assert.equal(w.localIfindex6(parseIp6("fe80::1"), 0), 6);
    assert.deepEqual(t.describe().addresses, ["2001:db8::1/64 ifindex 5", "fe80::1/64 ifindex 6"]);
    t.addRoute6(parseIp6("::"), 0, parseIp6("fe80::9"), 5, 1024);
    assert.deepEqual(t.describe().routes, ["::/0 via fe80::9 ifindex 5 metric 1024"]);
    assert.throws(() => w.addAddress6(parseIp6("2001:db8::7"), 64, 5), /read-only view/);
    assert.throws(() => w.addRoute6(parseIp6("::"), 0, null, 5, 0), /read-only view/);
    assert.throws(() => t.addAddress6(new Uint8Array(4), 64, 5), /address of 4 bytes, expected 16/);
    assert.throws(() => t.addRoute6(parseIp6("2001:db8::"), 129, null, 5, 0), /depth 129 is not 0 to 128/);
  });
});
