import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { canUseNetns, createNetns, inNetns, uniqueName } from "../testing/netns.js";
import { NetlinkSocket } from "./socket.js";
import { addLink, getLink, setLinkUp } from "./link.js";
import { addAddr, deleteAddr, listAddrs, IFA_F } from "./addr.js";

const root = canUseNetns();
const skip = !root && "needs root (namespaces)";
const dev = uniqueName("ad");
let netns!: ReturnType<typeof createNetns>;
let nl!: NetlinkSocket;
before(() => {
  if (!root) return;
  netns = createNetns("nlad");
  nl = inNetns(netns.ns, () => NetlinkSocket.open());
  addLink(nl, { name: dev, kind: "veth", peer: { name: uniqueName("adp") } });
  setLinkUp(nl, dev);
});
after(() => {
  nl?.close();
  netns?.destroy();
});

test("add, list and delete IPv4 addresses", { skip }, () => {
  addAddr(nl, dev, "10.77.1.5/24", { broadcast: "auto" });
  addAddr(nl, dev, "10.77.2.5/16");
  const mine = listAddrs(nl, { dev, family: 4 });
  assert.deepEqual(mine.map((a) => a.cidr).sort(), ["10.77.1.5/24", "10.77.2.5/16"]);
  const a = mine.find((x) => x.address === "10.77.1.5");
  assert.equal(a?.index, getLink(nl, dev).index);
  assert.equal(a?.broadcast, "10.77.1.255");
  assert.equal(a?.label, dev);
  assert.equal(a?.scope, 0);
  assert.throws(() => addAddr(nl, dev, "10.77.1.5/24"), (e: Error & { code?: string }) =>
    e.code === "EEXIST" && e.message.startsWith(`RTM_NEWADDR 10.77.1.5/24 dev ${dev}: EEXIST`));
  addAddr(nl, dev, "10.77.1.5/24", { replace: true });
  deleteAddr(nl, dev, "10.77.1.5/24");
  deleteAddr(nl, dev, "10.77.2.5/16");
  assert.deepEqual(listAddrs(nl, { dev, family: 4 }), []);
  assert.throws(() => deleteAddr(nl, dev, "10.77.1.5/24"), { code: "EADDRNOTAVAIL" });
  // Only this namespace's addresses: lo's 127.0.0.1 is not up here, so nothing else shows.
  assert.deepEqual(listAddrs(nl, { family: 4 }).filter((x) => x.address.startsWith("10.77.")), []);
});

test("add, list and delete IPv6 addresses", { skip }, () => {
  addAddr(nl, dev, "fd00:77::5/64", { nodad: true });
  const v6 = listAddrs(nl, { dev, family: 6 });
  const a = v6.find((x) => x.address === "fd00:77::5");
  assert.ok(a, `listed: ${v6.map((x) => x.cidr).join(", ")}`);
  assert.equal(a.prefixLen, 64);
  assert.ok(a.flags & IFA_F.NODAD);
  assert.ok(v6.every((x) => x.family === 6));
  deleteAddr(nl, dev, "fd00:77::5/64");
  assert.equal(listAddrs(nl, { dev, family: 6 }).some((x) => x.address === "fd00:77::5"), false);
  assert.throws(() => addAddr(nl, "nosuchdev", "fd00::1/64"), { code: "ENODEV" });
});
