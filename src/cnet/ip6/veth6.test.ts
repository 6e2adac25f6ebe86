/**
 * IPv6 in the stack against a Linux peer (root): the stack on one end of a veth pair through an af_xdp
 * lport in its own namespace (IPv6 on: the kernel gives it a link-local address, the stack learns it and
 * the global one over rtnetlink), driven from this thread's event loop; Linux on the other end.
 * - the stack's DAD: both addresses tentative, then preferred;
 * - `ping -6` of the global and the link-local address is answered, ND resolved by the stack both ways
 *   (the peer's `ip -6 neigh` holds the stack's MAC); a ping of all-nodes is answered from the link-local;
 * - an address the peer already holds, added on the stack's netdev, is found duplicate by the stack's DAD
 *   and never answered;
 * - an address added with `ip -6 addr add` is learned, passes DAD (retransmit time 300 ms here) and is
 *   answered within a second;
 * - bad input from a raw socket (a truncated header, a bad ICMPv6 checksum, an NS with hop limit 254) is
 *   dropped and counted exactly;
 * - the kernel of the stack's namespace saw and answered nothing (/proc/net/snmp6), no frame leaked.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { canUseNetns, nsExec } from "../../testing/netns.js";
import { createCnetPair } from "../../testing/cnet-peer.js";
import { ip6Pair, rawFramesCounted, vethStack, snmp6, until } from "../../testing/veth-stack.js";
import { formatIp6, parseIp6, parseMac } from "../../lookup/addr.js";
import { icmp6Cksum } from "../../wire/icmp6.js";

const run = promisify(execFile);
const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : !have("ping") || !have("ethtool") ? "needs ping and ethtool" : false;

const NET = "2001:db8:6::";
const US = `${NET}1`;
const PEER = `${NET}2`;
const DUP = `${NET}99`;
const LIVE = `${NET}9`;

/** Runs a command in a namespace without blocking the event loop (the stack walks meanwhile). */
async function nsRun(ns: string, ...args: string[]): Promise<string> {
  try {
    return (await run("ip", ["netns", "exec", ns, ...args], { timeout: 20000 })).stdout;
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    return `${x.stdout ?? ""}${x.stderr ?? ""}`;
  }
}

/** An Ethernet + IPv6 + ICMPv6 frame from the peer, checksum filled in. */
function icmp6Frame(dstMac: Uint8Array, srcMac: Uint8Array, src: string, dst: string, hlim: number, msg: Uint8Array): Uint8Array {
  const f = new Uint8Array(54 + msg.length);
  f.set(dstMac, 0); f.set(srcMac, 6); f[12] = 0x86; f[13] = 0xdd;
  f[14] = 0x60; f[18] = msg.length >> 8; f[19] = msg.length & 0xff; f[20] = 58; f[21] = hlim;
  f.set(parseIp6(src), 22); f.set(parseIp6(dst), 38); f.set(msg, 54);
  const s = icmp6Cksum(f, 14, 54);
  f[56] = s >> 8; f[57] = s & 0xff;
  return f;
}

describe("cnet IPv6 against a Linux peer", { skip }, () => {
  test("DAD, ping -6 of the global and link-local addresses, a duplicate found, a live address, bad input counted, kernel silent, no leak", async () => {
    const v = createCnetPair({ ipv6: true });
    // The kernel of the stack's namespace does no DAD of its own for what is added from now on: a
    // duplicate can only be found by the stack's own solicitation.
    ip6Pair(v, US, PEER);
    const r = vethStack(v, { name: "cnet6" });
    const { tables, counters, nd, addrs } = r;
    try {
      const c = () => counters.read();
      const state = (ip: string) => addrs.list().find((a) => a.ip === ip)?.state;
      const ll = tables.addresses6().map((a) => formatIp6(a.ip)).find((a) => a.startsWith("fe80:"));
      assert.ok(ll, "the kernel's link-local address learned");

      // DAD: both addresses preferred once no one answered.
      assert.ok(await until(() => state(US) === "preferred" && state(ll) === "preferred", 5000), `DAD passed: ${JSON.stringify(addrs.list())}`);
      assert.equal(c().nd_dad_ok, 2);
      assert.equal(c().nd_dad_duplicate, 0);
      // The peer's link-local address must be usable (its own DAD over) to ping ours.
      assert.ok(await until(() => nsExec(v.ns, "ip", "-6", "addr", "show", "dev", v.b, "tentative").trim() === "", 5000));

      const ping = await nsRun(v.ns, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", US);
      assert.match(ping, /3 packets transmitted, 3 received/);
      const neigh = JSON.parse(nsExec(v.ns, "ip", "-j", "-6", "neigh", "show", US, "dev", v.b)) as { lladdr: string }[];
      assert.equal(neigh[0]?.lladdr, v.macA, "the peer resolved the stack's global address to its MAC");
      const pingLl = await nsRun(v.ns, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", `${ll}%${v.b}`);
      assert.match(pingLl, /2 packets transmitted, 2 received/);
      const neighLl = JSON.parse(nsExec(v.ns, "ip", "-j", "-6", "neigh", "show", ll, "dev", v.b)) as { lladdr: string }[];
      assert.equal(neighLl[0]?.lladdr, v.macA, "and its link-local address");
      assert.ok(nd.entries(Date.now()).some((e) => e.mac === v.macB), "the stack resolved the peer");
      // All-nodes: the stack answers from its link-local address (beside the peer's own kernel).
      const all = await nsRun(v.ns, "ping", "-6", "-c", "2", "-i", "0.3", "-W", "2", `ff02::1%${v.b}`);
      assert.match(all, new RegExp(`from ${ll.replace(/\./g, "\\.")}%${v.b}: icmp_seq=1`), all);

      // An address the peer holds: the stack's DAD finds it duplicate.
      nsExec(v.ns, "ip", "-6", "addr", "add", `${DUP}/64`, "dev", v.b, "nodad");
      nsExec(v.nsA, "ip", "-6", "addr", "add", `${DUP}/64`, "dev", v.a);
      assert.ok(await until(() => state(DUP) === "duplicate", 3000), `duplicate detected: ${JSON.stringify(addrs.list())}`);
      assert.equal(c().nd_dad_duplicate, 1);

      // An address added on the netdev: learned, DAD passed, answered within a second.
      nsExec(v.nsA, "ip", "-6", "addr", "add", `${LIVE}/64`, "dev", v.a);
      assert.ok(await until(() => state(LIVE) === "preferred", 1000), `${LIVE} in use within a second: ${JSON.stringify(addrs.list())}`);
      assert.match(await nsRun(v.ns, "ping", "-6", "-c", "1", "-W", "2", LIVE), /1 received/);

      // Bad input from a raw socket on the peer: each dropped and counted.
      const macA = parseMac(v.macA);
      const macB = parseMac(v.macB);
      const echo = Uint8Array.of(128, 0, 0, 0, 0x12, 0x34, 0, 1, 1, 2, 3, 4);
      const truncated = icmp6Frame(macA, macB, PEER, US, 64, echo).slice(0, 14 + 20);
      const badCsum = icmp6Frame(macA, macB, PEER, US, 64, echo);
      badCsum[60] = badCsum[60]! ^ 0xff;
      const nsMsg = new Uint8Array(32);
      nsMsg[0] = 135; nsMsg.set(parseIp6(US), 8); nsMsg[24] = 1; nsMsg[25] = 1; nsMsg.set(macB, 26);
      const ns254 = icmp6Frame(macA, macB, PEER, US, 254, nsMsg);
      await rawFramesCounted(v, [truncated, badCsum, ns254], c, { ip6_drop_truncated: 1, icmp6_drop_cksum: 1, nd_drop_bad: 1 });

      const end = c();
      assert.equal(end.icmp6_echo_in, 8, "eight echo requests answered");
      assert.equal(end.nd_dad_ns_out, 4, "one DAD solicitation per address: global, link-local, duplicate, live");
      assert.equal(end.icmp6_ignored, 0);
      assert.equal(end.ip6_drop_no_route, 0);
      assert.equal(end.nd_pending_timeout, 0);
      assert.equal(end.nd_pending_drop_full, 0);
      // The kernel of the stack's namespace received and answered nothing (it sent its own DAD and MLD only).
      const k = snmp6(v.nsA);
      assert.deepEqual(
        { in: k["Icmp6InEchos"], out: k["Icmp6OutEchoReplies"], nsIn: k["Icmp6InNeighborSolicits"], naOut: k["Icmp6OutNeighborAdvertisements"] },
        { in: 0, out: 0, nsIn: 0, naOut: 0 },
      );
    } finally {
      await r.stop();
    }
  });
});
