import { test } from "node:test";
import assert from "node:assert/strict";
import { fstatSync } from "node:fs";
import { canUseNetns, createNetns } from "../testing/netns.js";
import { NetlinkSocket, NLM_F } from "./socket.js";
import { AttrWriter, Attrs } from "./attr.js";
import { RTM, IFLA, getLink } from "./link.js";
import { openFds } from "../testing/fds.js";

const skip = !canUseNetns() && "needs root (namespaces)";

test("dump and request in a namespace given by name; errors name the request", { skip }, () => {
  const { ns, destroy } = createNetns("nlsk");
  const nl = NetlinkSocket.open({ netns: ns });
  try {
    const body = new AttrWriter();
    body.fixed(16);
    const msgs = nl.dump(RTM.GETLINK, body.finish(), "RTM_GETLINK dump");
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]?.type, RTM.NEWLINK);
    assert.ok((msgs[0]?.flags ?? 0) & NLM_F.MULTI);
    assert.equal(Attrs.parse(msgs[0]?.data ?? new Uint8Array(), 16).str(IFLA.IFNAME), "lo");

    const one = new AttrWriter();
    one.fixed(16).setInt32(4, 12345, true);
    assert.throws(() => nl.request(RTM.GETLINK, 0, one.finish(), "RTM_GETLINK ifindex 12345"),
      (e: Error & { code?: string }) => e.code === "ENODEV" && e.message.startsWith("RTM_GETLINK ifindex 12345: ENODEV"));
    // The socket stays usable after an error (sequence numbers keep replies apart).
    assert.equal(nl.dump(RTM.GETLINK, body.finish(), "again").length, 1);
  } finally {
    nl.close();
    destroy();
  }
  assert.throws(() => nl.dump(RTM.GETLINK, new Uint8Array(16), "after close"), /netlink socket is closed/);
  assert.throws(() => NetlinkSocket.open({ netns: "/run/netns/does-not-exist" }), /Cannot open network namespace '\/run\/netns\/does-not-exist': ENOENT/);
});


const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

test("failed opens leak no fd; close() twice is harmless; using closes", { skip }, () => {
  const before = openFds();
  assert.throws(() => NetlinkSocket.open({ netns: "/run/netns/does-not-exist" }), { code: "ENOENT" });
  assert.throws(() => NetlinkSocket.open({ netns: "/dev/null" }), /setns\(\/dev\/null\): EINVAL/);
  assert.throws(() => NetlinkSocket.open({ timeoutMs: 0 }), /Invalid netlink timeoutMs 0/);
  assert.deepEqual(openFds(), before);

  const nl = NetlinkSocket.open();
  const fd = nl.fd;
  nl.close();
  assert.equal(nl.closed, true);
  const next = NetlinkSocket.open(); // gets the number just freed
  try {
    assert.equal(next.fd, fd);
    nl.close();
    nl[Symbol.dispose]();
    assert.equal(getLink(next, 1).name, "lo", "the new socket still works");
  } finally {
    next.close();
  }

  let usedFd = -1;
  {
    using s = NetlinkSocket.open();
    usedFd = s.fd;
    assert.equal(isOpen(usedFd), true);
  }
  assert.equal(isOpen(usedFd), false);
  assert.deepEqual(openFds(), before);
});
