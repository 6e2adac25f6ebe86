import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { closeSync } from "node:fs";
import { canUseNetns, createNetns, createVethPair, inNetns, uniqueName } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { NetlinkSocket } from "./socket.js";
import {
  addLink, deleteLink, findLink, getLink, linkStats, listLinks, renameLink, setLinkMac, setLinkMtu, setLinkNetns, setLinkUp, IFF_UP,
  type LinkStats,
} from "./link.js";
import { openNetns } from "./netns.js";

const root = canUseNetns();
const skip = !root && "needs root (namespaces)";
let one!: ReturnType<typeof createNetns>;
let two!: ReturnType<typeof createNetns>;
let nl1!: NetlinkSocket;
let nl2!: NetlinkSocket;
before(() => {
  if (!root) return;
  one = createNetns("nlns");
  two = createNetns("nlns");
  nl1 = inNetns(one.ns, () => NetlinkSocket.open());
  nl2 = NetlinkSocket.open({ netns: two.ns });
});
after(() => {
  nl1?.close();
  nl2?.close();
  one?.destroy();
  two?.destroy();
});

test("a fresh namespace has only lo", { skip }, () => {
  const links = listLinks(nl1);
  assert.deepEqual(links.map((l) => l.name), ["lo"]);
  const lo = getLink(nl1, "lo");
  assert.equal(lo.index, 1);
  assert.equal(lo.up, false);
  assert.equal(lo.mtu, 65536);
  assert.equal(lo.kind, undefined);
  assert.deepEqual(getLink(nl1, 1), lo);
});

test("create a veth pair, read it back, up/down, MTU, MAC, rename, delete", { skip }, () => {
  const a = uniqueName("nla");
  const b = uniqueName("nlb");
  addLink(nl1, { name: a, kind: "veth", mtu: 2000, numRxQueues: 4, numTxQueues: 4, peer: { name: b, numRxQueues: 2, numTxQueues: 2 } });
  try {
    const la = getLink(nl1, a);
    const lb = getLink(nl1, b);
    assert.equal(la.kind, "veth");
    assert.equal(la.mtu, 2000);
    assert.equal(la.numRxQueues, 4);
    assert.equal(lb.numRxQueues, 2);
    assert.equal(la.link, lb.index, "IFLA_LINK names the peer");
    assert.match(la.mac ?? "", /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.deepEqual(listLinks(nl1).map((l) => l.name).sort(), ["lo", a, b].sort());

    setLinkUp(nl1, a);
    setLinkUp(nl1, lb.index);
    assert.equal(getLink(nl1, a).up, true);
    assert.ok((getLink(nl1, b).flags & IFF_UP) !== 0);
    setLinkUp(nl1, a, false);
    assert.equal(getLink(nl1, a).up, false);

    setLinkMtu(nl1, a, 1400);
    assert.equal(getLink(nl1, a).mtu, 1400);
    setLinkMac(nl1, a, "02:00:00:aa:bb:cc");
    assert.equal(getLink(nl1, a).mac, "02:00:00:aa:bb:cc");
    assert.throws(() => setLinkMac(nl1, a, "02:00:00:aa:bb"), /Cannot parse MAC address/);

    const renamed = uniqueName("nlr");
    renameLink(nl1, a, renamed);
    assert.equal(getLink(nl1, la.index).name, renamed);
    assert.equal(findLink(nl1, a), undefined);
    renameLink(nl1, renamed, a);

    assert.throws(() => addLink(nl1, { name: a, kind: "veth", peer: { name: uniqueName("nlc") } }),
      (e: Error & { code?: string }) => e.code === "EEXIST" && e.message.startsWith(`RTM_NEWLINK create veth ${a} peer `));
  } finally {
    deleteLink(nl1, a);
  }
  assert.equal(findLink(nl1, a), undefined);
  assert.equal(findLink(nl1, b), undefined, "the peer goes with it");
  assert.throws(() => getLink(nl1, a), (e: Error & { code?: string }) => e.code === "ENODEV" && e.message.startsWith(`RTM_GETLINK ${a}: ENODEV`));
  assert.throws(() => deleteLink(nl1, a), { code: "ENODEV" });
});

test("errors carry the kernel's extended ack text", { skip }, () => {
  const a = uniqueName("nla");
  addLink(nl1, { name: a, kind: "veth", peer: { name: uniqueName("nlb") } });
  try {
    assert.throws(() => setLinkMtu(nl1, a, 100000), (e: Error & { code?: string }) => {
      assert.equal(e.code, "EINVAL");
      assert.match(e.message, new RegExp(`^RTM_NEWLINK set mtu 100000 ${a}: EINVAL \\(Invalid argument\\): .*MTU`, "i"));
      return true;
    });
  } finally {
    deleteLink(nl1, a);
  }
});

test("move a veth end into another namespace by name, fd and pid, and back", { skip }, () => {
  const a = uniqueName("nla");
  const b = uniqueName("nlb");
  addLink(nl1, { name: a, kind: "veth", peer: { name: b } });
  let inHost = false;
  try {
    setLinkUp(nl1, b);
    setLinkNetns(nl1, b, { netns: two.ns });
    assert.equal(findLink(nl1, b), undefined);
    const moved = getLink(nl2, b);
    assert.equal(moved.kind, "veth");
    assert.equal(moved.up, false, "a move sets the netdev down");
    assert.ok(moved.linkNetnsId !== undefined, "the peer is now in another namespace");

    // Back by an open namespace fd, from a socket in the other namespace.
    const fd = openNetns(one.ns);
    try {
      setLinkNetns(nl2, b, { fd });
    } finally {
      closeSync(fd);
    }
    assert.equal(findLink(nl2, b), undefined);
    assert.equal(getLink(nl1, b).name, b);

    // By pid: into this process's namespace (the host's), then back by path.
    setLinkNetns(nl1, b, { pid: process.pid });
    inHost = true;
    const host = NetlinkSocket.open();
    try {
      assert.equal(getLink(host, b).name, b);
      setLinkNetns(host, b, { netns: `/run/netns/${one.ns}` });
      inHost = false;
    } finally {
      host.close();
    }
    assert.equal(getLink(nl1, b).name, b);

    assert.throws(() => setLinkNetns(nl1, b, { netns: "no-such-netns-x" }), /Cannot open network namespace '\/run\/netns\/no-such-netns-x'/);
  } finally {
    if (inHost) {
      const host = NetlinkSocket.open();
      try { deleteLink(host, b); } catch { /* gone */ } finally { host.close(); }
    }
    try { deleteLink(nl1, a); } catch { /* gone with the namespace */ }
  }
});

test("linkStats: the counters of frames sent over a veth, on both ends", { skip }, () => {
  // createVethPair turns IPv6 off on both ends: the frames below are the only traffic.
  const veth = createVethPair({ prefix: "nls" });
  let tx: PacketSocket | undefined;
  try {
    using host = NetlinkSocket.open();
    using peer = NetlinkSocket.open({ netns: veth.ns });
    tx = PacketSocket.open(veth.a);
    const a0 = linkStats(host, veth.a);
    const b0 = linkStats(peer, veth.b);
    const frame = udpFrame({ dst: veth.macB, src: veth.macA, seq: 1 });
    for (let i = 0; i < 3; i++) assert.ok(tx.send(frame));
    const delta = (before: LinkStats, now: LinkStats) =>
      Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - before[k as keyof LinkStats]]));
    const zero = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 };
    assert.deepEqual(delta(a0, linkStats(host, veth.a)), { ...zero, txPackets: 3, txBytes: 3 * frame.length });
    assert.deepEqual(delta(b0, linkStats(peer, veth.b)), { ...zero, rxPackets: 3, rxBytes: 3 * frame.length });
    assert.throws(() => linkStats(host, "nosuchdev0"), { code: "ENODEV" });
  } finally {
    tx?.close();
    veth.destroy();
  }
});
