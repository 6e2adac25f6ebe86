/**
 * The learner's IPv6 part against the kernel (root): the stack's netdev keeps IPv6 on, so the kernel gives
 * it a link-local address; that, a global address and their connected routes are dumped at open; then
 * `ip -6 addr add/del`, `ip -6 route add/del` (via a link-local gateway, a default route) and
 * `ip -6 neigh add/del` are followed within a second; another netdev's objects are ignored; Linux
 * notifying an address again when its DAD ends updates it without counting a new one.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { canUseNetns, nsExec } from "../../testing/netns.js";
import { createCnetPair } from "../../testing/cnet-peer.js";
import { formatIp6, parseIp6 } from "../../lookup/addr.js";
import { NetTables, FIB_NO_ROUTE } from "../tables.js";
import { LinuxLearner, NeighbourFeed, FEED_PERMANENT, FEED_DELETE, FEED_IP6, FEED6_WORDS } from "../learn.js";

const skip = canUseNetns() ? false : "needs root (veth, rtnetlink)";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function within1s(l: LinuxLearner, cond: () => boolean): Promise<boolean> {
  const end = Date.now() + 1000;
  for (;;) {
    l.poll();
    if (cond()) return true;
    if (Date.now() > end) return false;
    await sleep(20);
  }
}

describe("cnet learns IPv6 addresses, routes and neighbours from Linux", { skip }, () => {
  test("dump at open (link-local included), live updates within a second, other netdevs ignored", async () => {
    const v = createCnetPair({ ipv6: true });
    let learner: LinuxLearner | null = null;
    const ip = (...args: string[]) => nsExec(v.nsA, "ip", ...args);
    try {
      const ifindex = v.ifindexA;
      ip("link", "add", "cnetother", "type", "veth", "peer", "name", "cnetother2");
      ip("link", "set", "cnetother", "up");
      ip("-6", "addr", "add", "2001:db8:7::1/64", "dev", v.a);
      ip("-6", "addr", "add", "2001:db8:17::1/64", "dev", "cnetother", "nodad");
      const tables = NetTables.create({ maxTbl8Groups: 4 });
      const feed = NeighbourFeed.create();
      learner = LinuxLearner.open({ netns: v.nsA, tables, feeds: [feed], interfaces: [{ ifindex, pid: 0, mac: new Uint8Array([2, 0, 0, 0, 0, 1]), mtu: 1500 }] });
      const l = learner;
      const mine = () => tables.addresses6().map((a) => `${formatIp6(a.ip)}/${a.prefixLen} ${a.ifindex}`).sort();
      const infos = (JSON.parse(ip("-j", "-6", "addr", "show", "dev", v.a)) as { addr_info?: { local: string; scope: string }[] }[]).flatMap((x) => x.addr_info ?? []);
      const kernelLl = infos.find((i) => i.scope === "link")?.local;
      assert.deepEqual(mine(), [`2001:db8:7::1/64 ${ifindex}`, `${kernelLl}/64 ${ifindex}`].sort(), "dumped at open, the kernel's link-local address too");
      assert.equal(tables.localIfindex6(parseIp6("2001:db8:17::1"), 0), 0, "another netdev's address is not ours");
      const gw = new Uint8Array(16);
      const conn = tables.route6(parseIp6("2001:db8:7::77"), 0);
      assert.notEqual(conn, FIB_NO_ROUTE, "the connected /64");
      assert.equal(tables.nextHop6Gateway(conn, gw, 0), false, "on-link");
      assert.equal(tables.nextHop6Ifindex(conn), ifindex);
      assert.notEqual(tables.route6(parseIp6("fe80::99"), 0), FIB_NO_ROUTE, "fe80::/64");
      assert.equal(tables.route6(parseIp6("2001:db8:17::5"), 0), FIB_NO_ROUTE, "another netdev's route is not taken");
      // Linux's DAD of 2001:db8:7::1 ends: notified again (without IFA_F_TENTATIVE), not counted again.
      const end = Date.now() + 5000;
      while (!tables.addresses6().every((a) => (a.flags & 0x40) === 0) && Date.now() < end) {
        l.poll();
        await sleep(50);
      }
      assert.ok(tables.addresses6().every((a) => (a.flags & 0x40) === 0), "Linux's DAD over: no address tentative");
      assert.equal(l.counters.addrAdd, 2);

      // Live.
      ip("-6", "addr", "add", "2001:db8:8::5/64", "dev", v.a, "nodad");
      assert.equal(await within1s(l, () => tables.localIfindex6(parseIp6("2001:db8:8::5"), 0) === ifindex), true, "ip -6 addr add seen within a second");
      ip("-6", "route", "add", "2001:db8:99::/48", "via", "fe80::1", "dev", v.a);
      assert.equal(await within1s(l, () => tables.route6(parseIp6("2001:db8:99::7"), 0) !== FIB_NO_ROUTE), true);
      const g = tables.route6(parseIp6("2001:db8:99::7"), 0);
      assert.equal(tables.nextHop6Gateway(g, gw, 0), true);
      assert.equal(formatIp6(gw), "fe80::1");
      assert.equal(tables.nextHop6Ifindex(g), ifindex);
      ip("-6", "route", "add", "default", "via", "fe80::2", "dev", v.a, "metric", "100");
      assert.equal(await within1s(l, () => tables.route6(parseIp6("2600::1"), 0) !== FIB_NO_ROUTE), true, "default route");
      ip("-6", "route", "add", "2001:db8:98::/48", "via", "fe80::1", "dev", "cnetother");
      ip("-6", "neigh", "add", "fe80::2", "lladdr", "02:aa:bb:cc:dd:ee", "dev", v.a, "nud", "permanent");
      const rec = new Uint32Array(FEED6_WORDS);
      assert.equal(await within1s(l, () => feed.take6(rec)), true, "neighbour posted");
      assert.deepEqual([...rec], [0x02aa, 0xbbccddee, 0, ifindex | FEED_PERMANENT | FEED_IP6, 0xfe800000, 0, 0, 2]);

      // Deletions.
      ip("-6", "neigh", "del", "fe80::2", "dev", v.a);
      assert.equal(await within1s(l, () => feed.take6(rec)), true);
      assert.equal(rec[3], ifindex | FEED_DELETE | FEED_IP6);
      ip("-6", "route", "del", "2001:db8:99::/48", "via", "fe80::1", "dev", v.a);
      assert.equal(await within1s(l, () => tables.route6(parseIp6("2001:db8:99::7"), 0) !== g || tables.route6(parseIp6("2001:db8:99::7"), 0) === tables.route6(parseIp6("2600::1"), 0)), true);
      assert.equal(tables.route6(parseIp6("2001:db8:99::7"), 0), tables.route6(parseIp6("2600::1"), 0), "now by the default route");
      ip("-6", "addr", "del", "2001:db8:8::5/64", "dev", v.a);
      assert.equal(await within1s(l, () => tables.localIfindex6(parseIp6("2001:db8:8::5"), 0) === 0), true);
      assert.equal(tables.route6(parseIp6("2001:db8:98::1"), 0), tables.route6(parseIp6("2600::1"), 0), "other netdev's route never taken");
      assert.equal(feed.dropped, 0);
      assert.equal(l.counters.errors, 0);
      assert.equal(l.counters.addrAdd, 3);
      assert.equal(l.counters.addrDel, 1);
      assert.equal(l.counters.neighAdd, 1);
      assert.equal(l.counters.neighDel, 1);
    } finally {
      learner?.close();
      v.destroy();
    }
  });
});
