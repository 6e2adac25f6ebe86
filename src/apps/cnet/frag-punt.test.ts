/**
 * Fragments, ICMP errors and the punt against a Linux peer on a veth (root; the frag engineer's part of
 * issue 10): `ping -s 4000` to the stack (the peer fragments, the stack reassembles and answers with a
 * fragmented echo reply the peer reassembles), 8000-byte UDP datagrams echoed byte for byte, port and
 * protocol unreachable seen by the peer (its /proc/net/snmp ICMP counters); with punting on, kernel
 * listeners on the stack's netdev answered through the TAP (UDP to a port the stack has no channel on,
 * TCP to the netdev's address and to an address only the kernel has) while the stack serves its own
 * ports (UDP and TCP echo), the namespace's
 * /proc/net/snmp proving the kernel answered exactly those. No frame leaks.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { canUseNetns, nsExec } from "../../testing/netns.js";
import { createCnetPair } from "../../testing/cnet-peer.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { parseConfig } from "../../config/index.js";
import { CnetApp } from "./app.js";
import { PacketSocket } from "../../testing/packet-socket.js";
import { ipv4Checksum } from "../../wire/udp-frame.js";

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : !have("socat") || !have("ping") || !have("ethtool") ? "needs socat, ping and ethtool" : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** /proc/net/snmp of namespace `ns` as "Proto.Field" -> value. */
function snmp(ns: string): Record<string, number> {
  const lines = nsExec(ns, "cat", "/proc/net/snmp").trim().split("\n");
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [proto, ...names] = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/).slice(1);
    names.forEach((n, k) => { out[`${proto!.replace(":", "")}.${n}`] = Number(values[k]); });
  }
  return out;
}

function delta(after: Record<string, number>, before: Record<string, number>, keys: string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
}

/** A server in namespace `ns`, in its own process group (socat forks per peer: all of them are stopped). */
function server(ns: string, ...args: string[]): ChildProcess {
  return spawn("ip", ["netns", "exec", ns, "socat", ...args], { stdio: "ignore", detached: true });
}
function stop(p: ChildProcess | null): void {
  if (p?.pid !== undefined) try { process.kill(-p.pid, "SIGKILL"); } catch { /* gone */ }
}

describe("cnet fragments, ICMP errors and the punt against a Linux peer", { skip }, () => {
  test("ping -s 4000 and 8000-byte UDP both ways in fragments; port and protocol unreachable reach the peer; no leak", async () => {
    const v = createCnetPair();
    let app: CnetApp | null = null;
    try {
      nsExec(v.nsA, "ip", "addr", "add", "10.213.0.1/24", "dev", v.a);
      nsExec(v.ns, "ip", "addr", "add", "10.213.0.2/24", "dev", v.b);
      nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }], idleTimeout: 10, intrTimeout: 50 }), "cnet.jsonc");
      app = await CnetApp.start({ config, netns: v.nsA, udpEcho: 7777, socket: false, debugFrames: true, log: () => {}, reasm: { timeoutMs: 300 } });
      const counters = () => app!.stats().counters;
      const p0 = snmp(v.ns);
      assert.match(nsExec(v.ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "4000", "10.213.0.1"), /3 packets transmitted, 3 received/);
      const p1 = snmp(v.ns);
      // 4028-byte datagrams at MTU 1500: three fragments each way.
      assert.deepEqual(delta(p1, p0, ["Ip.FragOKs", "Ip.FragCreates", "Ip.ReasmOKs", "Ip.ReasmReqds", "Ip.ReasmFails"]),
        { "Ip.FragOKs": 3, "Ip.FragCreates": 9, "Ip.ReasmOKs": 3, "Ip.ReasmReqds": 9, "Ip.ReasmFails": 0 });
      let c = counters();
      assert.deepEqual([c.ip4_frag_rx, c.ip4_reasm_ok, c.ip4_reasm_chained, c.icmp_echo_in, c.ip4_frag_out, c.ip4_frag_created], [9, 3, 3, 3, 3, 9]);

      const payload = randomBytes(8000);
      const echo = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-b", "65536", "-t", "2", "-T", "2", "-", "UDP:10.213.0.1:7777"], { input: payload });
      assert.deepEqual(Buffer.from(echo), payload, "8000 bytes echoed byte for byte");
      const p2 = snmp(v.ns);
      assert.deepEqual(delta(p2, p1, ["Ip.FragOKs", "Ip.FragCreates", "Ip.ReasmOKs", "Udp.InDatagrams"]),
        { "Ip.FragOKs": 1, "Ip.FragCreates": 6, "Ip.ReasmOKs": 1, "Udp.InDatagrams": 1 });
      c = counters();
      assert.deepEqual([c.ip4_reasm_ok, c.udp_rx, c.udp_tx, c.udp_drop_cksum, c.ip4_frag_out, c.ip4_frag_created], [4, 1, 1, 0, 4, 15]);

      // Port unreachable (socat sees ECONNREFUSED) and protocol unreachable (a raw IP datagram of protocol 200).
      const refused = spawnSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "2", "-", "UDP:10.213.0.1:7778"], { input: "x\n" });
      assert.match(refused.stderr.toString(), /Connection refused/);
      execFileSync("ip", ["netns", "exec", v.ns, "socat", "-u", "-", "IP4-SENDTO:10.213.0.1:200"], { input: "proto 200\n" });
      for (let i = 0; i < 100 && counters().icmp_proto_unreach_out === 0; i++) await sleep(10);
      await sleep(100);
      const p3 = snmp(v.ns);
      assert.deepEqual(delta(p3, p2, ["Icmp.InDestUnreachs", "IcmpMsg.InType3"]), { "Icmp.InDestUnreachs": 2, "IcmpMsg.InType3": 2 }, "both errors reached the peer");
      c = counters();
      assert.deepEqual([c.icmp_unreach_out, c.icmp_proto_unreach_out, c.ip4_drop_proto, c.icmp_err_rate_limited, c.icmp_err_suppressed], [2, 1, 1, 0, 0]);

      // Only the first fragment of a datagram: after the reassembly timeout (300 ms here), ICMP time
      // exceeded (code 1) reaches the peer.
      const first = new Uint8Array(14 + 20 + 1480);
      first.set(Buffer.from(v.macA.replaceAll(":", ""), "hex"), 0);
      first.set(Buffer.from(v.macB.replaceAll(":", ""), "hex"), 6);
      first[12] = 8;
      first.set([0x45, 0, (1500 >> 8), 1500 & 0xff, 0x77, 0x77, 0x20, 0, 64, 17, 0, 0, 10, 213, 0, 2, 10, 213, 0, 1], 14);
      const ck = ipv4Checksum(first, 14);
      first[24] = ck >> 8; first[25] = ck & 0xff;
      first.set([0x9c, 0x40, 0x1e, 0x61, 0x0f, 0xa0, 0, 0], 34); // UDP 40000 -> 7777, length 4000, no checksum
      const s = PacketSocket.open(v.b, v.ns);
      try {
        assert.equal(s.send(first), true);
      } finally {
        s.close();
      }
      for (let i = 0; i < 300 && counters().icmp_time_exceeded_out === 0; i++) await sleep(10);
      await sleep(100);
      const p4 = snmp(v.ns);
      assert.deepEqual(delta(p4, p3, ["Icmp.InTimeExcds", "IcmpMsg.InType11"]), { "Icmp.InTimeExcds": 1, "IcmpMsg.InType11": 1 }, "time exceeded reached the peer");
      c = counters();
      assert.deepEqual([c.ip4_reasm_timeout, c.ip4_reasm_timeout_frags, c.icmp_time_exceeded_out], [1, 1, 1]);
      const report = await app.stop();
      app = null;
      assert.deepEqual(report.faults, []);
      assert.equal(report.leakedFrames, 0, "no frame leaked");
      assert.equal(report.doubleFrees, 0);
    } finally {
      await app?.stop();
      v.destroy();
    }
  });

  test("the netdev's MTU (1000): the stack's echo replies leave in fragments of at most 1000 bytes", async () => {
    const v = createCnetPair();
    let app: CnetApp | null = null;
    try {
      nsExec(v.nsA, "ip", "link", "set", v.a, "mtu", "1000");
      nsExec(v.ns, "ip", "link", "set", v.b, "mtu", "1000");
      nsExec(v.nsA, "ip", "addr", "add", "10.215.0.1/24", "dev", v.a);
      nsExec(v.ns, "ip", "addr", "add", "10.215.0.2/24", "dev", v.b);
      nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }], idleTimeout: 10, intrTimeout: 50 }), "cnet.jsonc");
      app = await CnetApp.start({ config, netns: v.nsA, socket: false, debugFrames: true, log: () => {} });
      const p0 = snmp(v.ns);
      assert.match(nsExec(v.ns, "ping", "-c", "1", "-W", "2", "-s", "4000", "10.215.0.1"), /1 received/);
      // 4008 bytes of ICMP at MTU 1000: 976-byte pieces, five fragments each way.
      assert.deepEqual(delta(snmp(v.ns), p0, ["Ip.FragCreates", "Ip.ReasmReqds", "Ip.ReasmOKs"]), { "Ip.FragCreates": 5, "Ip.ReasmReqds": 5, "Ip.ReasmOKs": 1 });
      const c = app.stats().counters;
      assert.deepEqual([c.ip4_frag_rx, c.ip4_frag_out, c.ip4_frag_created], [5, 1, 5]);
      const report = await app.stop();
      app = null;
      assert.equal(report.leakedFrames, 0);
    } finally {
      await app?.stop();
      v.destroy();
    }
  });

  test("--punt: kernel listeners answered through the TAP while the stack serves its own ports; /proc/net/snmp shows who answered; no leak", async () => {
    const v = createCnetPair();
    let app: CnetApp | null = null;
    let udpSrv: ChildProcess | null = null;
    let tcpSrv: ChildProcess | null = null;
    let tcpSrv2: ChildProcess | null = null;
    try {
      nsExec(v.nsA, "ip", "addr", "add", "10.214.0.1/24", "dev", v.a);
      nsExec(v.ns, "ip", "addr", "add", "10.214.0.2/24", "dev", v.b);
      nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
      // An off-link network behind the peer: its route is copied to the TAP's table after the on-link one.
      nsExec(v.nsA, "ip", "route", "add", "10.99.0.0/16", "via", "10.214.0.2");
      nsExec(v.ns, "ip", "addr", "add", "10.99.0.1/32", "dev", v.b);
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }], idleTimeout: 10, intrTimeout: 50 }), "cnet.jsonc");
      app = await CnetApp.start({ config, netns: v.nsA, udpEcho: 7777, tcpEcho: 7000, socket: false, debugFrames: true, log: () => {}, punt: true });
      const counters = () => app!.stats().counters;
      const tap = `pt-${v.a}`.slice(0, 15);
      const link = JSON.parse(nsExec(v.nsA, "ip", "-j", "link", "show", tap)) as { address: string; mtu: number; flags: string[] }[];
      assert.equal(link[0]!.address, v.macA, "the TAP carries the netdev's MAC");
      assert.ok(link[0]!.flags.includes("NOARP"));
      // An address only the kernel has (on the TAP): the stack does not learn it and punts what comes for it.
      nsExec(v.nsA, "ip", "addr", "add", "10.214.0.50/32", "dev", tap);
      nsExec(v.ns, "ip", "neigh", "replace", "10.214.0.50", "lladdr", v.macA, "dev", v.b);
      udpSrv = server(v.nsA, "UDP4-LISTEN:5555,fork", "EXEC:cat");
      tcpSrv = server(v.nsA, "TCP4-LISTEN:2222,fork,reuseaddr", "EXEC:cat");
      tcpSrv2 = server(v.nsA, "TCP4-LISTEN:2223,bind=10.214.0.1,fork,reuseaddr", "EXEC:cat");
      await sleep(300);
      const a0 = snmp(v.nsA);
      const viaKernel = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "2", "-", "UDP:10.214.0.1:5555"], { input: "to the kernel\n" }).toString();
      assert.equal(viaKernel, "to the kernel\n", "a UDP port the stack has no channel on: the kernel answered through the TAP");
      const viaStack = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "2", "-", "UDP:10.214.0.1:7777"], { input: "to the stack\n" }).toString();
      assert.equal(viaStack, "to the stack\n");
      const tcp = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "3", "-", "TCP:10.214.0.50:2222"], { input: "tcp through the tap\n" }).toString();
      assert.equal(tcp, "tcp through the tap\n", "a kernel TCP listener answered through the TAP");
      // On the stack's own address: the kernel's listener (a port the stack does not listen on, punted
      // instead of a RST) beside the stack's TCP echo.
      const tcpKernel = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "3", "-", "TCP:10.214.0.1:2223"], { input: "the kernel on the netdev's address\n" }).toString();
      assert.equal(tcpKernel, "the kernel on the netdev's address\n");
      const tcpStack = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "3", "-", "TCP:10.214.0.1:7000"], { input: "the stack's echo\n" }).toString();
      assert.equal(tcpStack, "the stack's echo\n");
      assert.match(nsExec(v.ns, "ping", "-c", "1", "-W", "2", "10.214.0.1"), /1 received/);
      // The kernel's own traffic: its ping leaves through the TAP (the stack resolves the peer), the echo
      // reply is punted back (the stack only answers echo requests); off-link through the gateway too.
      assert.match(nsExec(v.nsA, "ping", "-c", "1", "-W", "2", "10.214.0.2"), /1 received/);
      assert.match(nsExec(v.nsA, "ping", "-c", "1", "-W", "2", "10.99.0.1"), /1 received/);
      assert.match(nsExec(v.nsA, "ip", "route", "show", "table", "all", "dev", tap), /10\.99\.0\.0\/16 via 10\.214\.0\.2 table/);
      await sleep(300); // the connection's last segments
      const a1 = snmp(v.nsA);
      assert.deepEqual(delta(a1, a0, ["Udp.InDatagrams", "Udp.OutDatagrams", "Tcp.PassiveOpens", "Icmp.InEchos", "Icmp.OutEchoReps", "Icmp.OutEchos", "Icmp.InEchoReps"]),
        { "Udp.InDatagrams": 1, "Udp.OutDatagrams": 1, "Tcp.PassiveOpens": 2, "Icmp.InEchos": 0, "Icmp.OutEchoReps": 0, "Icmp.OutEchos": 2, "Icmp.InEchoReps": 2 },
        "the kernel answered the punted datagram and connection and got its pings' replies; the stack answered the rest");
      const c = counters();
      assert.equal(c.udp_no_port, 1);
      assert.equal(c.udp_tx, 1, "the stack's own echo");
      assert.equal(c.icmp_echo_in, 1);
      assert.equal(c.punt_tx, c.udp_no_port + c.ip4_drop_not_local + c.ip4_drop_proto + c.eth_drop_other + c.icmp_ignored + c.tcp_no_port, "every punted frame written to the TAP");
      assert.equal(c.tcp_rst_out, 0, "no RST: the kernel's port");
      assert.equal(c.icmp_ignored, 2, `the kernel's echo replies (${JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k, x]) => x !== 0 && /icmp|punt|ip4_drop|eth_drop/.test(k))))})`);
      assert.equal(c.punt_drop, 0);
      assert.equal(c.punt_rx, c.punt_rx_ip4 + c.punt_rx_raw);
      assert.equal(c.punt_rx_raw, 0, "the kernel's frames all IPv4 for the stack to route and resolve");
      const k = delta(a1, a0, ["Tcp.OutSegs", "Tcp.RetransSegs", "Udp.OutDatagrams", "Icmp.OutMsgs"]);
      assert.equal(c.punt_rx_ip4, Object.values(k).reduce((x, y) => x + y, 0), `everything the kernel sent left through the TAP and the stack (${JSON.stringify(k)})`);
      stop(udpSrv); udpSrv = null;
      stop(tcpSrv); tcpSrv = null;
      stop(tcpSrv2); tcpSrv2 = null;
      const report = await app.stop();
      app = null;
      assert.deepEqual(report.faults, []);
      assert.equal(report.leakedFrames, 0, "no frame leaked");
      assert.equal(report.doubleFrees, 0);
      assert.equal(spawnSync("ip", ["netns", "exec", v.nsA, "ip", "link", "show", tap]).status, 1, "the TAP is gone");
      assert.doesNotMatch(nsExec(v.nsA, "ip", "rule"), /iif lo lookup/, "the policy rule is gone");
    } finally {
      stop(udpSrv);
      stop(tcpSrv);
      stop(tcpSrv2);
      await app?.stop();
      v.destroy();
    }
  });
});
