/**
 * Our checksums against the kernel's: packets the kernel builds (UDP and TCP from real sockets, ICMP port
 * unreachables, echo replies, TCP resets, IPv6 Neighbor Discovery and MLD reports behind a Hop-by-Hop
 * header), IPv4 and IPv6, captured with an AF_PACKET socket on a veth between two namespaces with
 * checksum offload off (so the kernel computes every checksum in software, before the capture point).
 * For each: the receiver's check passes and the value we compute equals the one the kernel wrote. Echo
 * requests built with our functions must be answered (the kernel drops a bad checksum).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { canUseNetns, createNetns, createVethPair, ip, nsExec } from "../testing/netns.js";
import { PacketSocket } from "../testing/packet-socket.js";
import { sleep } from "../testing/gc-probe.js";
import { eth, ip4, ip6, icmp } from "../testing/wire-frames.js";
import { be16, setBe16 } from "./bytes.js";
import { ETH_HLEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6, etherType } from "./ether.js";
import { IP4_CSUM, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ip4Cksum, ip4HdrLen, ip4HeaderOk } from "./ipv4.js";
import { IPPROTO_ICMPV6, IP6_LATER_FRAGMENT, ip6HeaderOk, ip6L4Offset } from "./ipv6.js";
import { UDP_CSUM, udp4Cksum, udp4CksumOk, udp6Cksum, udp6CksumOk } from "./udp.js";
import { TCP_CSUM, tcp4Cksum, tcp4CksumOk, tcp6Cksum, tcp6CksumOk } from "./tcp.js";
import { ICMP_CSUM, ICMP_ECHO_REPLY, icmp4Cksum, icmp4CksumOk, icmp4Len } from "./icmp.js";
import { ICMP6_ECHO_REPLY, icmp6Cksum, icmp6CksumOk } from "./icmp6.js";
import { parsePtype, PTYPE_L3_MASK, PTYPE_L3_IPV4, PTYPE_L3_IPV4_EXT, PTYPE_L3_IPV6, PTYPE_L3_IPV6_EXT } from "./ptype.js";

const skip = canUseNetns() ? false : "needs root (namespaces, veth)";
const A4 = "10.77.0.1", B4 = "10.77.0.2", A6 = "fd77::1", B6 = "fd77::2";
const SIZES = [...Array.from({ length: 41 }, (_, i) => i), 999, 1000, 1401];

/** Runs in B: UDP datagrams of every size to a closed port of A, TCP to an open and a closed port. */
const CLIENT = `
const dgram = require("node:dgram"), net = require("node:net");
const sizes = ${JSON.stringify(SIZES)};
const tcp = (port, host) => new Promise((res) => {
  const c = net.connect(port, host, () => c.end(Buffer.from("hello, kernel checksums: odd length!")));
  c.on("data", () => {}); c.on("close", res); c.on("error", res);
});
async function udp(type, host) {
  const s = dgram.createSocket(type);
  await new Promise((r) => s.bind(0, r));
  for (const n of sizes) await new Promise((r, j) => s.send(Buffer.alloc(n, n & 0xff), 9, host, (e) => (e ? j(e) : r())));
  s.close();
}
(async () => {
  await tcp(7000, "${A4}"); await tcp(7000, "${A6}"); await tcp(7001, "${A4}"); await tcp(7001, "${A6}");
  await udp("udp4", "${A4}"); await udp("udp6", "${A6}");
})().catch((e) => { console.error(e); process.exit(1); });
`;
/** Runs in A: a TCP echo server on both addresses. */
const SERVER = `
const net = require("node:net"); let n = 0;
for (const h of ["${A4}", "${A6}"]) net.createServer((s) => { s.on("error", () => {}); s.pipe(s); }).listen(7000, h, () => { if (++n === 2) console.log("ready"); });
`;

const w16 = (v: number) => [(v >>> 8) & 0xff, v & 0xff];
const macBytes = (m: string) => m.split(":").map((h) => Number.parseInt(h, 16));
const addr6 = (last: number) => [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];

interface Tally { checked: number; kinds: Map<string, number> }

/** Checks one captured frame; returns its kind ("ip4/udp", ...) or null when it is not IP. */
function checkFrame(f: Uint8Array, t: Tally): string | null {
  const type = etherType(f, 0);
  const ip = ETH_HLEN;
  const count = (k: string) => { t.kinds.set(k, (t.kinds.get(k) ?? 0) + 1); t.checked++; return k; };
  if (type === ETHERTYPE_IPV4) {
    assert.ok(ip4HeaderOk(f, ip, f.length - ip), "kernel IPv4 header");
    assert.equal(ip4Cksum(f, ip), be16(f, ip + IP4_CSUM), "IPv4 header checksum");
    const pt = parsePtype(f, 0, f.length) & PTYPE_L3_MASK;
    assert.ok(pt === PTYPE_L3_IPV4 || pt === PTYPE_L3_IPV4_EXT);
    const l4 = ip + ip4HdrLen(f, ip);
    const proto = f[ip + 9]!;
    if (proto === IPPROTO_UDP) {
      assert.ok(udp4CksumOk(f, ip, l4));
      assert.equal(udp4Cksum(f, ip, l4), be16(f, l4 + UDP_CSUM), "UDP over IPv4");
      return count("ip4/udp");
    }
    if (proto === IPPROTO_TCP) {
      assert.ok(tcp4CksumOk(f, ip, l4));
      assert.equal(tcp4Cksum(f, ip, l4), be16(f, l4 + TCP_CSUM), "TCP over IPv4");
      return count("ip4/tcp");
    }
    if (proto === IPPROTO_ICMP) {
      const len = icmp4Len(f, ip, l4);
      assert.ok(icmp4CksumOk(f, l4, len));
      assert.equal(icmp4Cksum(f, l4, len), be16(f, l4 + ICMP_CSUM), "ICMP");
      return count(`ip4/icmp type ${f[l4]}`);
    }
    return count(`ip4/${proto}`);
  }
  if (type === ETHERTYPE_IPV6) {
    assert.ok(ip6HeaderOk(f, ip, f.length - ip), "kernel IPv6 header");
    const pt = parsePtype(f, 0, f.length) & PTYPE_L3_MASK;
    const out = new Uint32Array(2);
    const l4 = ip6L4Offset(f, ip, f.length, out);
    assert.ok(l4 > 0 && out[1] !== IP6_LATER_FRAGMENT);
    assert.equal(pt, l4 === ip + 40 ? PTYPE_L3_IPV6 : PTYPE_L3_IPV6_EXT);
    const ext = l4 === ip + 40 ? "" : "+ext";
    if (out[0] === IPPROTO_UDP) {
      assert.ok(udp6CksumOk(f, ip, l4));
      assert.equal(udp6Cksum(f, ip, l4), be16(f, l4 + UDP_CSUM), "UDP over IPv6");
      return count(`ip6${ext}/udp`);
    }
    if (out[0] === IPPROTO_TCP) {
      assert.ok(tcp6CksumOk(f, ip, l4));
      assert.equal(tcp6Cksum(f, ip, l4), be16(f, l4 + TCP_CSUM), "TCP over IPv6");
      return count(`ip6${ext}/tcp`);
    }
    if (out[0] === IPPROTO_ICMPV6) {
      assert.ok(icmp6CksumOk(f, ip, l4), `ICMPv6 type ${f[l4]}`);
      assert.equal(icmp6Cksum(f, ip, l4), be16(f, l4 + ICMP_CSUM), `ICMPv6 type ${f[l4]}`);
      return count(`ip6${ext}/icmp6 type ${f[l4]}`);
    }
    return count(`ip6/${out[0]}`);
  }
  return null;
}

test("our checksums equal the kernel's: UDP, TCP, ICMP over IPv4 and IPv6 (offload off, AF_PACKET capture)", { skip, timeout: 60_000 }, async () => {
  const pair = createVethPair({ prefix: "wck" });
  const nsA = createNetns("wckA");
  let server: ChildProcess | null = null;
  let cap: PacketSocket | null = null;
  let tx: PacketSocket | null = null;
  try {
    // a moves into its own namespace: both ends have addresses and real IP stacks, nothing in ours.
    ip("link", "set", pair.a, "netns", nsA.ns);
    for (const [ns, dev, v4, v6] of [[nsA.ns, pair.a, A4, A6], [pair.ns, pair.b, B4, B6]] as const) {
      nsExec(ns, "sysctl", "-qw", `net.ipv6.conf.${dev}.disable_ipv6=0`, "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0",
        "net.ipv4.icmp_msgs_per_sec=100000", "net.ipv4.icmp_msgs_burst=100000");
      nsExec(ns, "ethtool", "-K", dev, "tx", "off", "rx", "off", "gro", "off");
      nsExec(ns, "ip", "addr", "add", `${v4}/24`, "dev", dev);
      nsExec(ns, "ip", "addr", "add", `${v6}/64`, "dev", dev, "nodad");
      nsExec(ns, "ip", "link", "set", dev, "up");
      nsExec(ns, "ip", "link", "set", "lo", "up");
    }
    cap = PacketSocket.open(pair.a, nsA.ns);
    server = spawn("ip", ["netns", "exec", nsA.ns, process.execPath, "-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
    const [line] = (await once(server.stdout!, "data")) as [Buffer];
    assert.equal(line.toString().trim(), "ready");
    const client = spawn("ip", ["netns", "exec", pair.ns, process.execPath, "-e", CLIENT], { stdio: ["ignore", "inherit", "inherit"] });
    const [code] = (await once(client, "exit")) as [number];
    assert.equal(code, 0, "the client in B ran");

    // Echo requests made with our functions, from B's end: the kernel answers only a valid checksum.
    tx = PacketSocket.open(pair.b, pair.ns);
    const dst = macBytes(pair.macA), src = macBytes(pair.macB);
    const payload = Array.from({ length: 37 }, (_, i) => i);
    for (let seq = 1; seq <= 5; seq++) {
      const f4 = Uint8Array.from(eth(ETHERTYPE_IPV4, ip4({ proto: 1, src: 0x0a4d0002, dst: 0x0a4d0001 }, icmp(8, 0, payload, 0x77, seq))));
      f4.set(dst, 0); f4.set(src, 6);
      setBe16(f4, 14 + IP4_CSUM, ip4Cksum(f4, 14));
      setBe16(f4, 34 + ICMP_CSUM, icmp4Cksum(f4, 34, f4.length - 34));
      assert.ok(tx.send(f4));
      const f6 = Uint8Array.from(eth(ETHERTYPE_IPV6, ip6(58, icmp(128, 0, payload, 0x77, seq), { src: addr6(2), dst: addr6(1) })));
      f6.set(dst, 0); f6.set(src, 6);
      setBe16(f6, 54 + ICMP_CSUM, icmp6Cksum(f6, 14, 54));
      assert.ok(tx.send(f6));
    }
    await sleep(300);

    const t: Tally = { checked: 0, kinds: new Map() };
    let udpOurs4 = 0, udpOurs6 = 0, echoReplies4 = 0, echoReplies6 = 0;
    for (;;) {
      const f = cap.recv();
      if (f === null) break;
      const kind = checkFrame(f, t);
      if (kind === "ip4/udp" && be16(f, 34 + 2) === 9) udpOurs4++;
      if (kind === "ip6/udp" && be16(f, 54 + 2) === 9) udpOurs6++;
      if (kind === `ip4/icmp type ${ICMP_ECHO_REPLY}` && be16(f, 34 + 4) === 0x77) echoReplies4++;
      if (kind === `ip6/icmp6 type ${ICMP6_ECHO_REPLY}` && be16(f, 54 + 4) === 0x77) echoReplies6++;
    }
    const kinds = Object.fromEntries([...t.kinds].sort());
    assert.equal(udpOurs4, SIZES.length, `every UDP datagram over IPv4 captured once: ${JSON.stringify(kinds)}`);
    assert.equal(udpOurs6, SIZES.length, "every UDP datagram over IPv6 captured once");
    assert.equal(echoReplies4, 5, "the kernel answered our 5 ICMP echo requests");
    assert.equal(echoReplies6, 5, "the kernel answered our 5 ICMPv6 echo requests");
    for (const k of ["ip4/tcp", "ip6/tcp", "ip4/icmp type 3", "ip6/icmp6 type 1", "ip6/icmp6 type 135", "ip6/icmp6 type 136"]) {
      assert.ok((t.kinds.get(k) ?? 0) > 0, `kernel-made ${k} seen: ${JSON.stringify(kinds)}`);
    }
  } finally {
    server?.kill();
    if (server && server.exitCode === null) await once(server, "exit");
    tx?.close();
    cap?.close();
    pair.destroy();
    nsA.destroy();
  }
});
