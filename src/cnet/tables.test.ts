/**
 * NetTables and ArpTable without root: route lookups against a naive longest-prefix oracle with metrics,
 * address add/delete, read-only views refusing writes; the ARP table against a Map oracle through
 * inserts, tombstones and reuse, with bounded pending queues.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { NetTables, FIB_NO_ROUTE } from "./tables.js";
import { ArpTable, ARP_INCOMPLETE, ARP_REACHABLE, ARP_PERMANENT } from "./arp-table.js";

describe("NetTables", () => {
  test("routes: longest prefix, lowest metric, deletes fall back to the covering route", () => {
    const t = NetTables.create({ maxTbl8Groups: 8 });
    t.addRoute4(0, 0, 0x0a000001, 5, 100); // default via 10.0.0.1
    t.addRoute4(0x0a000000, 8, 0, 5, 0); // 10/8 on-link
    t.addRoute4(0xc0000200, 24, 0x0a000002, 6, 10); // 192.0.2/24 via 10.0.0.2 metric 10
    t.addRoute4(0xc0000200, 24, 0x0a000003, 6, 5); // same prefix, metric 5 wins
    t.addRoute4(0xc0000280, 25, 0x0a000004, 6, 0);
    const gw = (ip: number) => { const nh = t.route4(ip); return nh === FIB_NO_ROUTE ? -1 : t.nextHopGateway(nh); };
    assert.equal(gw(0x08080808), 0x0a000001);
    assert.equal(gw(0x0a090909), 0);
    assert.equal(gw(0xc0000201), 0x0a000003);
    assert.equal(gw(0xc00002f0), 0x0a000004);
    assert.equal(t.nextHopIfindex(t.route4(0xc00002f0)), 6);
    assert.equal(t.deleteRoute4(0xc0000200, 24, 6, 5), true);
    assert.equal(gw(0xc0000201), 0x0a000002, "the metric-10 route takes over");
    assert.equal(t.deleteRoute4(0xc0000200, 24, 6), true);
    assert.equal(gw(0xc0000201), 0x0a000001, "then the default route");
    assert.equal(t.deleteRoute4(0xc0000200, 24, 6), false);
    assert.equal(t.deleteRoute4(0, 0, 5), true);
    assert.equal(gw(0x08080808), -1);
    assert.deepEqual(t.describe().routes, ["192.0.2.128/25 via 10.0.0.4 ifindex 6", "10.0.0.0/8 ifindex 5"]);
  });

  test("addresses and interfaces; a worker's view reads them and refuses writes", () => {
    const t = NetTables.create({ maxTbl8Groups: 1 });
    t.setInterface({ ifindex: 5, pid: 0, mac: Uint8Array.of(2, 0, 0, 0, 0, 1), mtu: 1500 });
    t.setInterface({ ifindex: 7, pid: 1, mac: Uint8Array.of(2, 0, 0, 0, 0, 2), mtu: 9000 });
    assert.equal(t.addAddress4(0x0a000001, 24, 5), true);
    assert.equal(t.addAddress4(0x0a000001, 24, 5), false);
    assert.equal(t.addAddress4(0x0b000001, 16, 7), true);
    const w = NetTables.fromShared(t.shared());
    assert.equal(w.localIfindex(0x0a000001), 5);
    assert.equal(w.localIfindex(0x0b000001), 7);
    assert.equal(w.localIfindex(0x0b000002), 0);
    assert.equal(w.pidOf(7), 1);
    assert.equal(w.sourceFor(7), 0x0b000001);
    assert.equal(t.deleteAddress4(0x0a000001, 5), true);
    assert.equal(w.localIfindex(0x0a000001), 0);
    assert.equal(w.localIfindex(0x0b000001), 7);
    assert.throws(() => w.addAddress4(1, 32, 5), /read-only view/);
    assert.throws(() => t.setInterface({ ifindex: 0, pid: 0, mac: new Uint8Array(6), mtu: 1500 }), /invalid ifindex 0/);
  });
});

describe("ArpTable", () => {
  test("against a Map oracle: learn, incomplete, remove with tombstones, reuse", () => {
    const arp = ArpTable.create({ capacity: 64, pendingPerEntry: 2 });
    const oracle = new Map<number, number>();
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const mac = new Uint8Array(6);
    for (let i = 0; i < 5000; i++) {
      const ip = 0x0a000000 + (rnd() % 80) + 1;
      const op = rnd() % 3;
      if (op === 0) {
        mac[5] = ip & 0xff;
        const s = arp.learn(ip, mac, 0, 5, i, true);
        if (s >= 0) oracle.set(ip, ARP_REACHABLE);
        else assert.equal(oracle.size, 64, "only a full table refuses");
      } else if (op === 1) {
        const s = arp.lookup(ip);
        if (s >= 0) { arp.remove(s); oracle.delete(ip); }
      } else {
        const s = arp.lookup(ip);
        assert.equal(s >= 0, oracle.has(ip), `lookup ${ip.toString(16)} at step ${i}`);
        if (s >= 0) assert.equal(arp.ipAt(s), ip);
      }
      assert.equal(arp.size, oracle.size);
    }
  });

  test("pending queue bounded; permanent entries keep their MAC", () => {
    const arp = ArpTable.create({ capacity: 8, pendingPerEntry: 2 });
    const s = arp.insertIncomplete(0x0a000002, 5, 0);
    assert.equal(arp.state(s), ARP_INCOMPLETE);
    assert.equal(arp.hold(s, 10), true);
    assert.equal(arp.hold(s, 11), true);
    assert.equal(arp.hold(s, 12), false);
    const out = new Uint32Array(4);
    assert.equal(arp.takePending(s, out, 1), 2);
    assert.deepEqual([...out], [0, 10, 11, 0]);
    assert.equal(arp.pendingCount(s), 0);
    const p = arp.setFromLinux(0x0a000003, Uint8Array.of(2, 1, 1, 1, 1, 1), 0, 5, 0, true);
    assert.equal(arp.state(p), ARP_PERMANENT);
    arp.learn(0x0a000003, Uint8Array.of(2, 9, 9, 9, 9, 9), 0, 5, 1, true);
    const got = new Uint8Array(6);
    arp.copyMac(p, got, 0);
    assert.deepEqual([...got], [2, 1, 1, 1, 1, 1], "a permanent entry is not overwritten by ARP");
    assert.deepEqual(arp.entries(10).map((e) => `${e.ip} ${e.mac} ${e.state}`).sort(), ["10.0.0.2 00:00:00:00:00:00 incomplete", "10.0.0.3 02:01:01:01:01:01 permanent"]);
  });
});
