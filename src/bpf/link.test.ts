import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns, createVethPair, createNetns, inNetns, uniqueName, type VethPair } from "../testing/netns.js";
import { ifIndex } from "../sys/netdev.js";
import { NetlinkSocket } from "../netlink/socket.js";
import { addLink, setLinkXdp } from "../netlink/link.js";
import { Asm, R0, XdpAction } from "./asm.js";
import { Program, ProgType } from "./prog.js";
import { XdpLink } from "./link.js";
import { queryXdp, detachAny, listXdpLinks, xdpModeFlags } from "./query.js";
import { loadXskRedirect, type XskRedirect } from "./xsk-redirect.js";
import { ensureBpffs, unmountBpffs } from "./bpffs.js";

// One veth pair and program for the whole file; every test leaves the netdev without XDP.
const root = canUseNetns();
const skip = !root && "needs root (bpf, namespaces)";
let veth: VethPair | undefined;
let redirect: XskRedirect;
let pass: Program;
let fsDir: string;
before(() => {
  if (!root) return;
  fsDir = mkdtempSync(join(tmpdir(), "xdplane-bpffs-"));
  redirect = loadXskRedirect();
  pass = Program.load({ type: ProgType.XDP, name: "t_pass", insns: new Asm().mov64(R0, XdpAction.PASS).exit() });
  veth = createVethPair({ prefix: "lnk" });
});
after(() => {
  if (!root) return;
  if (veth) {
    try { detachAny(veth.a); } catch { /* the netdev goes anyway */ }
    veth.destroy();
  }
  redirect?.close();
  pass?.close();
  unmountBpffs(fsDir);
  rmSync(fsDir, { recursive: true, force: true });
});
const v = (): VethPair => {
  if (!veth) throw new Error("no veth pair");
  return veth;
};

for (const mode of ["drv", "skb"] as const) {
  test(`attach the redirect program in ${mode} mode; query shows mode and ids; close detaches`, { skip }, () => {
    const link = XdpLink.attach(redirect.prog, v().a, { mode });
    try {
      const info = link.info();
      const progId = redirect.prog.info().id;
      assert.equal(info.progId, progId);
      assert.equal(info.ifindex, ifIndex(v().a));
      assert.deepEqual(queryXdp(v().a), {
        ifindex: ifIndex(v().a),
        name: v().a,
        attachments: [{ mode, progId, linkId: info.id }],
      });
      assert.ok(listXdpLinks().some((l) => l.id === info.id && l.ifindex === info.ifindex));
    } finally {
      link.close();
    }
    assert.deepEqual(queryXdp(v().a).attachments, []);
  });
}

test("attaching twice fails with EBUSY naming what is attached", { skip }, () => {
  const link = XdpLink.attach(redirect.prog, v().a, { mode: "drv" });
  try {
    const id = link.info().id;
    const progId = redirect.prog.info().id;
    assert.throws(() => XdpLink.attach(pass, v().a, { mode: "drv" }), (e: Error & { code?: string }) => {
      assert.equal(e.code, "EBUSY");
      assert.ok(e.message.includes(`netdev ${v().a} already has an XDP program attached (id ${progId}, mode drv, link id ${id})`), e.message);
      return true;
    });
    // Another mode while drv is active: the kernel answers EEXIST; same message.
    assert.throws(() => XdpLink.attach(pass, v().a, { mode: "skb" }), /EEXIST.*already has an XDP program attached \(id \d+, mode drv/);
    // Netlink cannot replace a link's program.
    const nl = NetlinkSocket.open();
    try {
      assert.throws(() => setLinkXdp(nl, v().a, pass.fd, xdpModeFlags("drv")), /RTM_NEWLINK attach xdp.*EBUSY/);
    } finally {
      nl.close();
    }
  } finally {
    link.close();
  }
});

test("the link keeps the program attached after the program fd is closed", { skip }, () => {
  const p = Program.load({ type: ProgType.XDP, name: "t_short", insns: new Asm().mov64(R0, XdpAction.PASS).exit() });
  const progId = p.info().id;
  const link = XdpLink.attach(p, v().a, { mode: "skb" });
  try {
    p.close();
    assert.equal(queryXdp(v().a).attachments[0]?.progId, progId);
  } finally {
    link.close();
  }
  assert.deepEqual(queryXdp(v().a).attachments, []);
});

test("a pinned link outlives its fd; reopen from the pin; unpin and close detach", { skip }, () => {
  ensureBpffs(fsDir);
  const pin = join(fsDir, "link");
  const link = XdpLink.attach(redirect.prog, v().a, { mode: "drv" });
  let id: number;
  try {
    id = link.info().id;
    link.pin(pin);
  } finally {
    link.close();
  }
  try {
    assert.equal(queryXdp(v().a).attachments[0]?.linkId, id);
    const back = XdpLink.fromPin(pin);
    try {
      assert.equal(back.info().id, id);
      assert.equal(back.ifindex, ifIndex(v().a));
      back.unpin();
      assert.equal(existsSync(pin), false);
      assert.equal(queryXdp(v().a).attachments.length, 1); // our fd still holds it
    } finally {
      back.close();
    }
    assert.deepEqual(queryXdp(v().a).attachments, []);
  } finally {
    rmSync(pin, { force: true });
    detachAny(v().a);
  }
});

test("detach() removes the program while the link fd stays open", { skip }, () => {
  const link = XdpLink.attach(redirect.prog, v().a, { mode: "skb" });
  try {
    link.detach();
    assert.deepEqual(queryXdp(v().a).attachments, []);
    assert.equal(link.info().ifindex, 0);
  } finally {
    link.close();
  }
});

test("detachAny removes link-held and netlink-attached programs", { skip }, () => {
  // Held by a link that someone else (here: a pin-less fd we keep) still has open.
  const link = XdpLink.attach(redirect.prog, v().a, { mode: "drv" });
  try {
    const removed = detachAny(v().a);
    assert.equal(removed.length, 1);
    assert.equal(removed[0]?.mode, "drv");
    assert.equal(removed[0]?.linkId, link.info().id);
    assert.deepEqual(queryXdp(v().a).attachments, []);
  } finally {
    link.close();
  }
  for (const mode of ["drv", "skb"] as const) {
    const nl = NetlinkSocket.open();
    try {
      setLinkXdp(nl, v().a, pass.fd, xdpModeFlags(mode));
      const q = queryXdp(v().a, { nl });
      assert.deepEqual(q.attachments, [{ mode, progId: pass.info().id }]);
      assert.deepEqual(detachAny(v().a, { nl }), q.attachments);
      assert.deepEqual(queryXdp(v().a).attachments, []);
      assert.deepEqual(detachAny(v().a, { nl }), []);
    } finally {
      nl.close();
    }
  }
});

test("attach errors: no native XDP on an ifb netdev, missing netdevs", { skip }, () => {
  const { ns, destroy } = createNetns("lnkns");
  try {
    inNetns(ns, () => {
      const nl = NetlinkSocket.open();
      // ifb has no ndo_bpf (and dummy is not built into this kernel).
      const dev = uniqueName("ifb");
      try {
        addLink(nl, { name: dev, kind: "ifb" });
      } finally {
        nl.close();
      }
      assert.throws(() => XdpLink.attach(pass, dev, { mode: "drv" }), (e: Error & { code?: string }) => {
        assert.equal(e.code, "EOPNOTSUPP"); // errno 95, named as the kernel documentation does (sys/errno.ts)
        assert.match(e.message, new RegExp(`netdev ${dev} has no native \\(drv\\) XDP support; use mode "skb"`));
        return true;
      });
      const skb = XdpLink.attach(pass, dev, { mode: "skb" });
      try {
        assert.equal(queryXdp(dev).attachments[0]?.mode, "skb");
      } finally {
        skb.close();
      }
      assert.throws(() => XdpLink.attach(pass, "nosuchdev0"), /netdev 'nosuchdev0' not found/);
      assert.throws(() => XdpLink.attach(pass, 99999), { code: "ENODEV" });
    });
  } finally {
    destroy();
  }
});

test("update() swaps the program behind the link; with expected, only when that one is attached (BPF_F_REPLACE)", { skip }, () => {
  const link = XdpLink.attach(redirect.prog, v().a, { mode: "drv" });
  try {
    const linkId = link.info().id;
    link.update(pass, { expected: redirect.prog });
    assert.deepEqual(queryXdp(v().a).attachments, [{ mode: "drv", progId: pass.id, linkId }]);
    assert.throws(() => link.update(redirect.prog, { expected: redirect.prog }), (e: Error & { code?: string }) =>
      e.code === "EPERM" && /update xdp link fd \d+ \(ifindex \d+\) to program fd \d+: EPERM .*the program attached is not the expected one/.test(e.message));
    assert.equal(queryXdp(v().a).attachments[0]!.progId, pass.id, "unchanged after the refused update");
    link.update(redirect.prog);
    assert.deepEqual(queryXdp(v().a).attachments, [{ mode: "drv", progId: redirect.prog.id, linkId }]);
    link.detach();
    assert.throws(() => link.update(pass), /ENOLINK.*the link is detached/);
  } finally {
    link.close();
  }
  assert.deepEqual(queryXdp(v().a).attachments, []);
});
