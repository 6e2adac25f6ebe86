/**
 * The learner against the kernel (root): addresses, routes and neighbours of a veth end are dumped at
 * open and followed live (`ip addr add`, `ip route add/del`, `ip neigh add/del`); objects of other netdevs
 * are ignored; the tables answer lookups as a naive oracle over what `ip` set.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { canUseNetns, nsExec } from "../testing/netns.js";
import { createCnetPair } from "../testing/cnet-peer.js";
import { parseIp4 } from "../lookup/addr.js";
import { NetTables, FIB_NO_ROUTE } from "./tables.js";
import { LinuxLearner, NeighbourFeed, FEED_PERMANENT, FEED_DELETE } from "./learn.js";

const skip = canUseNetns() ? false : "needs root (veth, rtnetlink)";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the learner every 20 ms until `cond` holds or 1 s passed; returns whether it held. */
async function within1s(l: LinuxLearner, cond: () => boolean): Promise<boolean> {
  const end = Date.now() + 1000;
  for (;;) {
    l.poll();
    if (cond()) return true;
    if (Date.now() > end) return false;
    await sleep(20);
  }
}

describe("cnet learns addresses, routes and neighbours from Linux", { skip }, () => {
  test("dump at open, then live updates within a second; other netdevs ignored", async () => {
    const v = createCnetPair();
    let learner: LinuxLearner | null = null;
    const ip = (...args: string[]) => nsExec(v.nsA, "ip", ...args);
    try {
      const ifindex = v.ifindexA;
      // A second netdev in the stack's namespace that is not the stack's.
      ip("link", "add", "cnetother", "type", "veth", "peer", "name", "cnetother2");
      ip("link", "set", "cnetother", "up");
      const other = { a: "cnetother" };
      ip("addr", "add", "10.201.0.1/24", "dev", v.a);
      ip("addr", "add", "10.202.0.1/24", "dev", other.a);
      const tables = NetTables.create();
      const feed = NeighbourFeed.create();
      learner = LinuxLearner.open({ netns: v.nsA, tables, feeds: [feed], interfaces: [{ ifindex, pid: 0, mac: new Uint8Array([2, 0, 0, 0, 0, 1]), mtu: 1500 }] });
      // Dumped at open: the address and its connected route.
      assert.equal(tables.localIfindex(parseIp4("10.201.0.1")), ifindex);
      assert.equal(tables.localIfindex(parseIp4("10.202.0.1")), 0, "another netdev's address is not ours");
      const nh = tables.route4(parseIp4("10.201.0.77"));
      assert.notEqual(nh, FIB_NO_ROUTE);
      assert.equal(tables.nextHopGateway(nh), 0, "on-link");
      assert.equal(tables.nextHopIfindex(nh), ifindex);
      assert.equal(tables.route4(parseIp4("10.202.0.5")), FIB_NO_ROUTE, "another netdev's route is not taken");

      // Live: an address, a route via a gateway, a permanent neighbour.
      ip("addr", "add", "10.203.0.9/16", "dev", v.a);
      assert.equal(await within1s(learner, () => tables.localIfindex(parseIp4("10.203.0.9")) === ifindex), true, "ip addr add seen within a second");
      ip("route", "add", "192.0.2.0/24", "via", "10.201.0.254", "dev", v.a);
      assert.equal(await within1s(learner, () => tables.route4(parseIp4("192.0.2.7")) !== FIB_NO_ROUTE), true);
      const gnh = tables.route4(parseIp4("192.0.2.7"));
      assert.equal(tables.nextHopGateway(gnh), parseIp4("10.201.0.254"));
      assert.equal(tables.nextHopIfindex(gnh), ifindex);
      ip("route", "add", "198.51.100.0/24", "via", "10.202.0.254", "dev", other.a);
      ip("neigh", "add", "10.201.0.2", "lladdr", "02:aa:bb:cc:dd:ee", "dev", v.a, "nud", "permanent");
      const rec = new Uint32Array(4);
      assert.equal(await within1s(learner, () => feed.take(rec)), true, "neighbour posted");
      assert.deepEqual([...rec], [parseIp4("10.201.0.2"), 0x02aa, 0xbbccddee, ifindex | FEED_PERMANENT]);

      // Deletions.
      ip("neigh", "del", "10.201.0.2", "dev", v.a);
      assert.equal(await within1s(learner, () => feed.take(rec)), true);
      assert.equal(rec[3], ifindex | FEED_DELETE);
      ip("route", "del", "192.0.2.0/24");
      assert.equal(await within1s(learner, () => tables.route4(parseIp4("192.0.2.7")) === FIB_NO_ROUTE), true);
      ip("addr", "del", "10.203.0.9/16", "dev", v.a);
      assert.equal(await within1s(learner, () => tables.localIfindex(parseIp4("10.203.0.9")) === 0), true);
      assert.equal(tables.route4(parseIp4("198.51.100.1")), FIB_NO_ROUTE, "other netdev's route never taken");
      assert.equal(tables.localIfindex(parseIp4("10.201.0.1")), ifindex, "the first address stays");
      assert.equal(feed.dropped, 0);
      assert.equal(learner.counters.errors, 0);
      assert.equal(learner.counters.addrAdd, 2);
      assert.equal(learner.counters.addrDel, 1);
      assert.equal(learner.counters.neighAdd, 1);
      assert.equal(learner.counters.neighDel, 1);
      // The connected /24 (dump), 192.0.2.0/24, the /16 of the added address; the last two deleted.
      assert.equal(learner.counters.routeAdd, 3);
      assert.equal(learner.counters.routeDel, 2);
      assert.equal(tables.addresses4().length, 1);
    } finally {
      learner?.close();
      v.destroy();
    }
  });
});
