/**
 * UDP over IPv6 in the stack against a Linux peer (root): the stack on one end of a veth pair through an
 * af_xdp lport in its own namespace (it learns the global and link-local addresses over rtnetlink), a UDP
 * channel echoing with recvBurst/replyBurst between walks on this thread's event loop; Linux on the other
 * end (its transmit checksum offload off: a veth hands XDP partial checksums).
 * - `socat` UDP6 to the global and the link-local address (with its scope): every reply byte for byte,
 *   1 to 1400 bytes; the peer's kernel found every checksum good (/proc/net/snmp6 Udp6InCsumErrors 0);
 * - a connected udp6 socket to a closed port gets ECONNREFUSED (the stack's ICMPv6 port unreachable, as
 *   the peer's kernel counted it: Icmp6InDestUnreachs);
 * - bad datagrams from a raw socket (zero checksum, wrong checksum, a UDP length past the payload) are
 *   dropped and counted exactly;
 * - the kernel of the stack's namespace saw no UDP at all; no frame leaked.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { canUseNetns, nsExec } from "../../testing/netns.js";
import { createCnetPair } from "../../testing/cnet-peer.js";
import { ip6Pair, rawFramesCounted, socatIn, vethStack, snmp6, until } from "../../testing/veth-stack.js";
import { formatIp6, parseIp6, parseMac } from "../../lookup/addr.js";
import { udp6Cksum } from "../../wire/udp.js";

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : !have("socat") || !have("ethtool") ? "needs socat and ethtool" : false;

const NET = "2001:db8:7::";
const US = `${NET}1`;
const PEER = `${NET}2`;
const PORT = 7777;




/** An Ethernet + IPv6 + UDP frame from the peer, checksum right unless `csum` is given. */
function udp6Frame(dstMac: Uint8Array, srcMac: Uint8Array, src: string, dst: string, dport: number, payload: Uint8Array, csum?: number, ulen?: number): Uint8Array {
  const f = new Uint8Array(62 + payload.length);
  f.set(dstMac, 0); f.set(srcMac, 6); f[12] = 0x86; f[13] = 0xdd;
  const plen = 8 + payload.length;
  f[14] = 0x60; f[18] = plen >> 8; f[19] = plen & 0xff; f[20] = 17; f[21] = 64;
  f.set(parseIp6(src), 22); f.set(parseIp6(dst), 38);
  f[54] = 0x9c; f[55] = 0x40; f[56] = dport >> 8; f[57] = dport & 0xff; f[58] = plen >> 8; f[59] = plen & 0xff;
  f.set(payload, 62);
  const s = udp6Cksum(f, 14, 54);
  const c = csum ?? s;
  f[60] = c >> 8; f[61] = c & 0xff;
  if (ulen !== undefined) { f[58] = ulen >> 8; f[59] = ulen & 0xff; }
  return f;
}

describe("cnet UDP over IPv6 against a Linux peer", { skip }, () => {
  test("socat UDP6 echo to the global and link-local addresses byte for byte, ECONNREFUSED from a closed port, bad datagrams counted, no leak", async () => {
    const v = createCnetPair({ ipv6: true });
    ip6Pair(v, US, PEER);
    // A UDP channel echoing with recvBurst/replyBurst after every walk.
    const bufs = new Uint32Array(64);
    let cd = -1;
    let echoed = 0;
    const r = vethStack(v, {
      name: "udp6",
      onWalk: (s) => {
        if (cd < 0) return 0;
        const k = s.chnl.recvBurst(cd, bufs, 64);
        const sent = s.chnl.replyBurst(cd, bufs, k);
        if (sent < k) s.ctx.mp.freeBulk(bufs, k - sent, sent);
        echoed += sent;
        return k;
      },
    });
    const { tables, counters, addrs } = r;
    cd = r.stack.chnl.open("udp");
    r.stack.chnl.bind(cd, 0, PORT);
    try {
      const c = () => counters.read();
      const state = (ip: string) => addrs.list().find((a) => a.ip === ip)?.state;
      const ll = tables.addresses6().map((a) => formatIp6(a.ip)).find((a) => a.startsWith("fe80:"));
      assert.ok(ll, "the kernel's link-local address learned");
      assert.ok(await until(() => state(US) === "preferred" && state(ll) === "preferred", 5000), `DAD passed: ${JSON.stringify(addrs.list())}`);
      assert.ok(await until(() => nsExec(v.ns, "ip", "-6", "addr", "show", "dev", v.b, "tentative").trim() === "", 5000));
      const peerBefore = snmp6(v.ns);

      // Echo, byte for byte, sizes 1 to 1400, to the global address and to the link-local one (its scope: the peer's veth).
      const sizes = [1, 100, 1000, 1400];
      for (const n of sizes) {
        const payload = randomBytes(n);
        const r = await socatIn(v.ns, `UDP6:[${US}]:${PORT}`, payload, ["-t", "2", "-T", "2"], 20000);
        assert.deepEqual(r.out, payload, `${n} bytes echoed from ${US} (${r.err})`);
      }
      for (const n of [7, 1200]) {
        const payload = randomBytes(n);
        const r = await socatIn(v.ns, `UDP6:[${ll}%${v.b}]:${PORT}`, payload, ["-t", "2", "-T", "2"], 20000);
        assert.deepEqual(r.out, payload, `${n} bytes echoed from ${ll} (${r.err})`);
      }

      // A closed port: the stack's ICMPv6 port unreachable makes the connected socket fail with ECONNREFUSED.
      const refused = await socatIn(v.ns, `UDP6:[${US}]:${PORT + 1}`, Buffer.from("x\n"), ["-t", "2", "-T", "2"], 20000);
      assert.match(refused.err, /Connection refused/);

      // Bad datagrams from a raw socket on the peer: each dropped and counted.
      const macA = parseMac(v.macA);
      const macB = parseMac(v.macB);
      const p = Buffer.from("bad datagram");
      const zero = udp6Frame(macA, macB, PEER, US, PORT, p, 0);
      const wrong = udp6Frame(macA, macB, PEER, US, PORT, p, 0x1234);
      const long = udp6Frame(macA, macB, PEER, US, PORT, p, undefined, 8 + p.length + 1);
      await rawFramesCounted(v, [zero, wrong, long], c, { udp6_drop_zero_cksum: 1, udp6_drop_cksum: 1, udp6_drop_bad: 1 });

      const end = c();
      const n = sizes.length + 2;
      assert.deepEqual(
        { rx: end.udp6_rx, tx: end.udp6_tx, noPort: end.udp6_no_port, unreach: end.icmp6_unreach_out, full: end.udp6_drop_queue_full, noSrc: end.udp6_drop_no_source, limited: end.icmp6_err_rate_limited },
        { rx: n + 1 + 3, tx: n, noPort: 1, unreach: 1, full: 0, noSrc: 0, limited: 0 },
      );
      assert.equal(echoed, n);
      // The peer's kernel: every echo received with a good checksum, one port unreachable.
      const peer = snmp6(v.ns);
      assert.equal(peer["Udp6InDatagrams"]! - peerBefore["Udp6InDatagrams"]!, n);
      assert.equal(peer["Udp6InCsumErrors"]! - peerBefore["Udp6InCsumErrors"]!, 0);
      assert.equal(peer["Udp6InErrors"]! - peerBefore["Udp6InErrors"]!, 0);
      assert.equal(peer["Icmp6InDestUnreachs"]! - peerBefore["Icmp6InDestUnreachs"]!, 1);
      // The kernel of the stack's namespace saw no UDP (the stack took it all).
      const k = snmp6(v.nsA);
      assert.deepEqual({ in: k["Udp6InDatagrams"], noPorts: k["Udp6NoPorts"], unreach: k["Icmp6OutDestUnreachs"] }, { in: 0, noPorts: 0, unreach: 0 });
    } finally {
      await r.stop();
    }
  });
});
