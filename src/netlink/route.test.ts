import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { canUseNetns, createNetns, inNetns, uniqueName } from "../testing/netns.js";
import { NetlinkSocket } from "./socket.js";
import { addLink, getLink, setLinkUp } from "./link.js";
import { addAddr } from "./addr.js";
import { addRoute, deleteRoute, listRoutes, RT_SCOPE, RTPROT } from "./route.js";

const root = canUseNetns();
const skip = !root && "needs root (namespaces)";
const dev = uniqueName("rt");
let netns!: ReturnType<typeof createNetns>;
let nl!: NetlinkSocket;
before(() => {
  if (!root) return;
  netns = createNetns("nlrt");
  nl = inNetns(netns.ns, () => NetlinkSocket.open());
  addLink(nl, { name: dev, kind: "veth", peer: { name: uniqueName("rtp") } });
  setLinkUp(nl, dev);
  setLinkUp(nl, getLink(nl, dev).link ?? 0);
  addAddr(nl, dev, "10.88.0.2/24");
  addAddr(nl, dev, "fd00:88::2/64", { nodad: true });
});
after(() => {
  nl?.close();
  netns?.destroy();
});

test("routes: via a gateway, on-link, default, delete", { skip }, () => {
  const index = getLink(nl, dev).index;
  addRoute(nl, { dst: "10.99.0.0/16", gateway: "10.88.0.1" });
  addRoute(nl, { dst: "10.98.0.0/24", dev, metric: 50 });
  addRoute(nl, { dst: "default", gateway: "10.88.0.1", dev });
  const routes = listRoutes(nl, { family: 4 });
  const via = routes.find((r) => r.dst === "10.99.0.0/16");
  assert.equal(via?.gateway, "10.88.0.1");
  assert.equal(via?.oif, index);
  assert.equal(via?.scope, RT_SCOPE.UNIVERSE);
  assert.equal(via?.protocol, RTPROT.BOOT);
  const onlink = routes.find((r) => r.dst === "10.98.0.0/24");
  assert.equal(onlink?.gateway, undefined);
  assert.equal(onlink?.scope, RT_SCOPE.LINK);
  assert.equal(onlink?.priority, 50);
  assert.equal(routes.find((r) => r.dst === "0.0.0.0/0")?.gateway, "10.88.0.1");
  assert.ok(routes.some((r) => r.dst === "10.88.0.0/24" && r.protocol === RTPROT.KERNEL), "the prefix route of the address");
  assert.deepEqual(listRoutes(nl, { family: 4, dev }).map((r) => r.oif), routes.map(() => index));

  assert.throws(() => addRoute(nl, { dst: "10.99.0.0/16", gateway: "10.88.0.1" }), (e: Error & { code?: string }) =>
    e.code === "EEXIST" && e.message.startsWith("RTM_NEWROUTE 10.99.0.0/16 via 10.88.0.1: EEXIST"));
  addRoute(nl, { dst: "10.99.0.0/16", gateway: "10.88.0.3" }, { replace: true });
  assert.equal(listRoutes(nl).find((r) => r.dst === "10.99.0.0/16")?.gateway, "10.88.0.3");

  deleteRoute(nl, { dst: "10.99.0.0/16" });
  deleteRoute(nl, { dst: "10.98.0.0/24", dev });
  deleteRoute(nl, { dst: "default" });
  const left = listRoutes(nl, { family: 4 }).map((r) => r.dst);
  assert.deepEqual(left, ["10.88.0.0/24"]);
  assert.throws(() => deleteRoute(nl, { dst: "10.99.0.0/16" }), { code: "ESRCH" });
  assert.throws(() => addRoute(nl, { dst: "10.97.0.0/16", gateway: "fd00::1" }), /gateway fd00::1 is not IPv4/);
});

test("IPv6 routes and another table", { skip }, () => {
  addRoute(nl, { dst: "fd00:99::/48", gateway: "fd00:88::1" });
  addRoute(nl, { dst: "10.96.0.0/16", dev, table: 100 });
  addRoute(nl, { dst: "10.95.0.0/16", dev, table: 1000 });
  try {
    const v6 = listRoutes(nl, { family: 6 }).find((r) => r.dst === "fd00:99::/48");
    assert.equal(v6?.gateway, "fd00:88::1");
    assert.equal(v6?.family, 6);
    assert.deepEqual(listRoutes(nl, { table: 100 }).map((r) => r.dst), ["10.96.0.0/16"]);
    assert.deepEqual(listRoutes(nl, { table: 1000 }).map((r) => [r.dst, r.table]), [["10.95.0.0/16", 1000]]);
    assert.equal(listRoutes(nl).some((r) => r.dst === "10.96.0.0/16"), false, "main table only by default");
  } finally {
    deleteRoute(nl, { dst: "fd00:99::/48" });
    deleteRoute(nl, { dst: "10.96.0.0/16", table: 100 });
    deleteRoute(nl, { dst: "10.95.0.0/16", table: 1000 });
  }
  assert.equal(listRoutes(nl, { table: 0 }).some((r) => ["10.96.0.0/16", "10.95.0.0/16"].includes(r.dst)), false);
});
