/**
 * txgen with jumbo frames (root): two multi-buffer AF_XDP ports on a veth pair with MTU 9000 send and
 * receive 9014, 4000 and 1514-byte frames (sizes 9018, 4004, 1518 with the FCS) as mbuf chains, with
 * exact packet and byte counts, every latency tag back in order, and a close that finds every frame; a
 * port without multi-buffer refuses sizes above one buffer.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ip, nsExec, uniqueName, canUseNetns } from "../../testing/netns.js";
import { startTxgen } from "./txgen.js";

const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = () => {};

let g = "";
let d = "";
before(() => {
  if (skip) return;
  g = uniqueName("tjg");
  d = uniqueName("tjd");
  for (const ns of [g, d]) {
    ip("netns", "add", ns);
    nsExec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
  }
  ip("link", "add", "va", "netns", g, "mtu", "9000", "type", "veth", "peer", "name", "vb", "netns", d, "mtu", "9000");
  ip("-n", g, "link", "set", "va", "up");
  ip("-n", d, "link", "set", "vb", "up");
});
after(() => {
  for (const ns of [g, d]) if (ns) try { ip("netns", "del", ns); } catch { /* gone */ }
});

test("multi-buffer ports send and receive 9014, 4000 and 1514-byte frames: exact counts, no loss, no leak", { skip }, async () => {
  const tg = await startTxgen({
    log: quiet,
    debugFrames: true,
    ports: [
      { ifname: "va", netns: g, cpus: [0], multiBuffer: true, settings: ["rate 20kpps", "latency on"] },
      { ifname: "vb", netns: d, cpus: [1], multiBuffer: true, frames: 16384, rxSize: 4096 },
    ],
  });
  try {
    let pkts = 0;
    let bytes = 0;
    for (const [size, count] of [[9018, 3000], [4004, 1000], [1518, 1000]] as const) {
      tg.set(`0 size ${size}`);
      tg.set(`0 count ${count}`);
      await tg.start([0]);
      assert.equal(await tg.waitIdle(20000), true);
      await sleep(100);
      pkts += count;
      bytes += count * (size - 4);
      const [s0, s1] = tg.stats();
      const why = () => `va ${JSON.stringify(tg.ports[0]!.lport!.readStats())} vb ${JSON.stringify(tg.ports[1]!.lport!.readStats())}`;
      assert.equal(s0!.txPkts, pkts, `size ${size}: sent`);
      assert.equal(s0!.txBytes, bytes, `size ${size}: bytes sent`);
      assert.equal(s1!.rxPkts, pkts, `size ${size}: received ${why()}`);
      assert.equal(s1!.rxBytes, bytes, `size ${size}: bytes received`);
      assert.equal(s1!.rxIp4, pkts);
      assert.equal(s0!.loss, 0, "every tagged frame arrived");
      assert.equal(s1!.reordered, 0);
    }
    const rep = await tg.close();
    assert.deepEqual(rep.faults, []);
    assert.equal(rep.leakedFrames, 0);
    assert.equal(rep.doubleFrees, 0);
    assert.equal(rep.badKernelReturns, 0);
  } finally {
    await tg.close();
  }
});

test("a port without multi-buffer: drv mode at MTU 9000 fails naming the option; skb mode refuses a size above one buffer", { skip }, async () => {
  await assert.rejects(startTxgen({ log: quiet, ports: [{ ifname: "va", netns: g, cpus: [0] }] }),
    /attach xdp \(BPF_LINK_CREATE\) to netdev va .*ERANGE.*va's MTU is too large for an XDP program without frags in drv mode; open the port with multi-buffer \("multi_buffer": true/);
  const tg = await startTxgen({ log: quiet, ports: [{ ifname: "va", netns: g, cpus: [0], skbMode: true, settings: ["size 4004", "count 10"] }] });
  try {
    await assert.rejects(tg.start([0]), /port 0: size 4004 \(4000-byte frames\) does not fit one 2048-byte buffer \(1792 bytes after the headroom\); open the port with multi-buffer \("multi_buffer": true\) to send it as 3 buffers/);
  } finally {
    await tg.close();
  }
});
