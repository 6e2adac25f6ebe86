/**
 * The l3fwd XDP fast path under BPF_PROG_TEST_RUN (the real verifier and program, crafted frames): each
 * exception leaves as the XSK redirect program would (XDP_PASS with an empty XSKMAP slot, XDP_REDIRECT with
 * a socket in it), untouched and counted under its reason; routed frames come out rewritten byte for byte
 * (MACs, TTL, checksum against a full recompute); longest prefix wins against a linear oracle; deletes and
 * re-points take effect; load errors name what is wrong and leak nothing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { sys } from "../sys/native.js";
import { AF_XDP, SOCK_RAW, SOCK_CLOEXEC } from "../sys/consts.js";
import { ifIndex } from "../sys/netdev.js";
import { canUseNetns, createVethPair, type VethPair } from "../testing/netns.js";
import { openFds } from "../testing/fds.js";
import { udpFrame, ipv4Checksum } from "../wire/udp-frame.js";
import { cksumUpdate16 } from "../wire/headers.js";
import { XdpAction } from "./asm.js";
import { BpfMap, MapType } from "./map.js";
import { Program, ProgType, VerifierError } from "./prog.js";
import { testRun } from "./test-run.js";
import { loadXskRedirect, type XskRedirect } from "./xsk-redirect.js";
import { L3fwdFastPath, type FastPathCounters } from "./l3fwd-fastpath.js";
import { FastPathReason, l3fwdFastPathAsm, type FastPathReasonName } from "./l3fwd-fastpath-prog.js";

const root = canUseNetns();
const skip = !root && "needs root (bpf, namespaces)";

let veth!: VethPair;
let redirect!: XskRedirect;
let xsk = -1; // an AF_XDP socket never bound: enough for the XSKMAP slot (a test run does not deliver)
let ifindex = 0;
before(() => {
  if (!root) return;
  veth = createVethPair({ prefix: "l3fp", queues: 2 });
  ifindex = ifIndex(veth.a);
  redirect = loadXskRedirect();
  xsk = sys.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  redirect.map.updateU32(1, xsk); // queue 1 has a socket, queue 0 none
});
after(() => {
  redirect?.close();
  if (xsk >= 0) sys.close(xsk);
  veth?.destroy();
});

const MAC_A = Uint8Array.of(0x02, 0xaa, 0, 0, 0, 0x01); // port 0's
const MAC_B = Uint8Array.of(0x02, 0xbb, 0, 0, 0, 0x02); // port 2's
const NH_MAC = (i: number) => Uint8Array.of(0x02, 0xcc, 0, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff);
const ip4 = (s: string) => s.split(".").reduce((a, o) => a * 256 + Number(o), 0);

/** Ports: 0 = veth.a, 1 = not ours (null), 2 = veth.a again with another MAC. */
function load(extra: { maxNextHops?: number; maxRoutes?: number } = {}): L3fwdFastPath {
  return L3fwdFastPath.load({ xskMapFd: redirect.map.fd, ports: [{ ifindex, mac: MAC_A }, null, { ifindex, mac: MAC_B }], ...extra });
}

function run(fp: L3fwdFastPath, frame: Uint8Array, queue = 0): { retval: number; out: Uint8Array } {
  const r = testRun(fp.prog, { data: frame, dataOut: new Uint8Array(frame.length + 64), ctx: { ingressIfindex: ifindex, rxQueueIndex: queue } });
  return { retval: r.retval, out: Uint8Array.from(r.dataOut!) };
}

/** A valid UDP/IPv4 frame to `dst`, header fields overridable, checksum recomputed. */
function frame(dst: string, o: { ttl?: number; size?: number; seq?: number; tos?: number; proto?: number } = {}): Uint8Array {
  const f = Uint8Array.from(udpFrame({ dst: "02:00:00:00:00:fe", src: "02:00:00:00:00:fd", dstIp: dst, srcIp: "192.0.2.7", ttl: o.ttl ?? 64, size: o.size ?? 64, seq: o.seq ?? 1 }));
  if (o.tos !== undefined) f[15] = o.tos;
  if (o.proto !== undefined) f[23] = o.proto;
  return recsum(f);
}

function recsum(f: Uint8Array): Uint8Array {
  const hl = (f[14]! & 0x0f) * 4;
  f[24] = 0;
  f[25] = 0;
  const c = ipv4Checksum(f, 14, hl);
  f[24] = c >>> 8;
  f[25] = c & 0xff;
  return f;
}

/** What a router makes of `f`: the oracle, with a full checksum recompute. */
function routed(f: Uint8Array, dmac: Uint8Array, smac: Uint8Array): Uint8Array {
  const o = Uint8Array.from(f);
  o.set(dmac, 0);
  o.set(smac, 6);
  o[22] = o[22]! - 1;
  return recsum(o);
}

function delta(before: FastPathCounters, after: FastPathCounters): Partial<Record<keyof FastPathCounters, number>> {
  const d: Partial<Record<keyof FastPathCounters, number>> = {};
  for (const k of Object.keys(after) as (keyof FastPathCounters)[]) if (after[k] !== before[k]) d[k] = after[k] - before[k];
  return d;
}

test("load: maps of the documented types, the program uses them and the given XSKMAP; close releases every fd", { skip }, () => {
  const fds0 = openFds().length;
  const fp = load({ maxNextHops: 64, maxRoutes: 1000 });
  try {
    const info = fp.prog.info();
    assert.equal(info.type, ProgType.XDP);
    assert.equal(info.name, "xdplane_l3fwd");
    const types = info.mapIds.map((id) => {
      const m = BpfMap.fromId(id);
      try {
        const i = m.info();
        return `${i.name}:${i.type}:${i.keySize}:${i.valueSize}:${i.maxEntries}`;
      } finally {
        m.close();
      }
    }).sort();
    assert.deepEqual(types, [
      `l3fwd_nexthops:${MapType.ARRAY}:4:12:64`,
      `l3fwd_ports:${MapType.ARRAY}:4:8:3`,
      `l3fwd_routes:${MapType.LPM_TRIE}:8:4:1000`,
      `l3fwd_stats:${MapType.PERCPU_ARRAY}:4:16:10`,
      `l3fwd_tx:${MapType.DEVMAP}:4:4:3`,
      `xsks_map:${MapType.XSKMAP}:4:4:64`,
    ]);
    assert.equal(fp.progFd, fp.prog.fd);
    assert.equal(fp.programFor(redirect.map.fd), fp.prog, "one program per XSKMAP");
    const c = fp.counters();
    assert.deepEqual(Object.values(c).filter((v) => v !== 0), [], "counters start at zero");
  } finally {
    fp.close();
  }
  fp.close(); // twice: nothing
  assert.equal(fp.closed, true);
  assert.throws(() => fp.addRoute(0, 0, 0), /L3fwdFastPath\.addRoute: closed/);
  assert.equal(openFds().length, fds0, "every map and program fd closed");
});

test("a routed frame is rewritten byte for byte (MACs, TTL - 1, checksum) and redirected; random headers against a full recompute", { skip }, () => {
  const fp = load();
  try {
    fp.setNextHop(3, NH_MAC(3), 0);
    fp.setNextHop(4, NH_MAC(4), 2);
    fp.addRoute(ip4("10.1.0.0"), 16, 3);
    fp.addRoute(ip4("10.2.0.0"), 16, 4);
    const f = frame("10.1.2.3", { ttl: 64 });
    const c0 = fp.counters();
    for (const q of [0, 1]) {
      const r = run(fp, f, q);
      assert.equal(r.retval, XdpAction.REDIRECT, "into the devmap whatever the queue's XSKMAP slot holds");
      assert.deepEqual(r.out, routed(f, NH_MAC(3), MAC_A));
    }
    const r2 = run(fp, frame("10.2.200.1", { ttl: 2, size: 128 }));
    assert.equal(r2.retval, XdpAction.REDIRECT);
    assert.deepEqual(r2.out, routed(frame("10.2.200.1", { ttl: 2, size: 128 }), NH_MAC(4), MAC_B), "port 2's source MAC; TTL 2 -> 1");
    assert.equal(r2.out[22], 1);
    assert.deepEqual(delta(c0, fp.counters()), { forwarded: 3, forwardedBytes: 64 + 64 + 128 });

    // Random headers (every TTL, TOS, protocol, id, size; Ethernet padding past the IPv4 total length):
    // the incremental update equals a full recompute and the user-space path's cksumUpdate16.
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const N = 3000;
    for (let i = 0; i < N; i++) {
      const size = 60 + Math.floor(rnd() * 200);
      const g = frame(`10.1.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`,
        { ttl: 2 + Math.floor(rnd() * 254), size, seq: Math.floor(rnd() * 2 ** 32), tos: Math.floor(rnd() * 256), proto: Math.floor(rnd() * 256) });
      if (i % 3 === 0) {
        // total length below the frame's bytes (trailing padding stays untouched)
        const tot = 20 + Math.floor(rnd() * (size - 14 - 20));
        g[16] = tot >>> 8;
        g[17] = tot & 0xff;
        recsum(g);
      }
      const r = run(fp, g);
      assert.equal(r.retval, XdpAction.REDIRECT, `frame ${i}`);
      const want = routed(g, NH_MAC(3), MAC_A);
      assert.deepEqual(r.out, want, `frame ${i}`);
      const hc = (g[24]! << 8) | g[25]!;
      const m = (g[22]! << 8) | g[23]!;
      assert.equal((r.out[24]! << 8) | r.out[25]!, cksumUpdate16(hc, m, m - 0x100), `frame ${i}: same as the user-space update`);
    }
    assert.equal(fp.counters().forwarded, 3 + N);
  } finally {
    fp.close();
  }
});

test("every exception leaves as the XSK redirect program would, untouched, counted under its reason", { skip }, () => {
  const fp = load();
  try {
    fp.setNextHop(0, NH_MAC(0), 0);
    fp.setNextHop(1, NH_MAC(1), 1); // port 1: not ours
    fp.setNextHop(2, NH_MAC(2), 7); // beyond the ports table
    fp.setNextHop(6, NH_MAC(6), 0);
    fp.clearNextHop(6);
    fp.addRoute(ip4("10.0.0.0"), 8, 0);
    fp.addRoute(ip4("10.5.0.0"), 16, 1);
    fp.addRoute(ip4("10.6.0.0"), 16, 2);
    fp.addRoute(ip4("10.7.0.0"), 16, 5); // never set
    fp.addRoute(ip4("10.8.0.0"), 16, 6); // cleared

    const base = frame("10.1.1.1");
    const edit = (fn: (f: Uint8Array) => void, fix = true): Uint8Array => {
      const f = Uint8Array.from(base);
      fn(f);
      return fix ? recsum(f) : f;
    };
    const arp = new Uint8Array(60);
    arp.set(base.subarray(0, 12));
    arp[12] = 0x08; arp[13] = 0x06;
    const ipv6 = edit((f) => { f[12] = 0x86; f[13] = 0xdd; }, false);
    const vlan = new Uint8Array(68);
    vlan.set(base.subarray(0, 12));
    vlan.set([0x81, 0x00, 0x00, 0x05], 12);
    vlan.set(base.subarray(12), 16);
    const cases: [string, Uint8Array, FastPathReasonName][] = [
      ["ARP", arp, "notIpv4"],
      ["IPv6 ethertype", ipv6, "notIpv4"],
      ["802.1Q-tagged IPv4", vlan, "notIpv4"],
      ["only an Ethernet header", base.slice(0, 14), "badHeader"],
      ["19 bytes of IPv4", base.slice(0, 33), "badHeader"],
      ["version 6 under ethertype 0x0800", edit((f) => { f[14] = 0x65; }), "badHeader"],
      ["IHL 4", edit((f) => { f[14] = 0x44; }), "badHeader"],
      ["total length 19", edit((f) => { f[16] = 0; f[17] = 19; }), "badHeader"],
      ["total length past the frame", edit((f) => { f[16] = 0; f[17] = 64 - 14 + 1; }), "badHeader"],
      ["bad checksum", edit((f) => { f[25] = f[25]! ^ 1; }, false), "badHeader"],
      ["IHL 6 (options)", edit((f) => { f[14] = 0x46; f[34] = 1; f[35] = 1; f[36] = 1; f[37] = 1; }), "ipOptions"],
      ["IHL 15 with a bad checksum", edit((f) => { f[14] = 0x4f; }, false), "ipOptions"],
      ["MF set", edit((f) => { f[20] = 0x20; }), "fragment"],
      ["fragment offset 1", edit((f) => { f[21] = 1; }), "fragment"],
      ["fragment offset 0x1000", edit((f) => { f[20] = 0x10; }), "fragment"],
      ["TTL 1", frame("10.1.1.1", { ttl: 1 }), "ttlExceeded"],
      ["TTL 0", frame("10.1.1.1", { ttl: 0 }), "ttlExceeded"],
      ["no route", frame("192.0.2.1"), "noRoute"],
      ["next hop never set", frame("10.7.0.1"), "noNextHop"],
      ["next hop cleared", frame("10.8.0.1"), "noNextHop"],
      ["next hop on a port that is not ours", frame("10.5.0.1"), "notOurPort"],
      ["next hop on a port beyond the table", frame("10.6.0.1"), "notOurPort"],
    ];
    for (const [what, f, reason] of cases) {
      const c0 = fp.counters();
      const empty = run(fp, f, 0);
      assert.equal(empty.retval, XdpAction.PASS, `${what}: empty XSKMAP slot -> XDP_PASS`);
      assert.deepEqual(empty.out, f, `${what}: untouched`);
      const sock = run(fp, f, 1);
      assert.equal(sock.retval, XdpAction.REDIRECT, `${what}: the queue's socket -> XDP_REDIRECT`);
      assert.deepEqual(sock.out, f, `${what}: untouched`);
      assert.deepEqual(delta(c0, fp.counters()), { [reason]: 2, toUser: 2, toUserBytes: 2 * f.length }, what);
    }
    // DF alone is not a fragment.
    const df = edit((f) => { f[20] = 0x40; });
    assert.equal(run(fp, df).retval, XdpAction.REDIRECT);
    assert.deepEqual(run(fp, df).out, routed(df, NH_MAC(0), MAC_A));
  } finally {
    fp.close();
  }
});

test("an empty devmap slot for a port marked ours: XDP_DROP, counted as redirectFailed", { skip }, () => {
  const fp = load();
  try {
    fp.setNextHop(0, NH_MAC(0), 2);
    fp.addRoute(ip4("10.0.0.0"), 8, 0);
    // The manager never lets this happen; reach into the devmap to see the program's handling.
    const tx = (fp as unknown as { maps: { tx: BpfMap } }).maps.tx;
    assert.equal(tx.deleteU32(2), true);
    const c0 = fp.counters();
    assert.equal(run(fp, frame("10.0.0.1")).retval, XdpAction.DROP);
    assert.deepEqual(delta(c0, fp.counters()), { redirectFailed: 1 });
  } finally {
    fp.close();
  }
});

/** Longest-prefix match by a linear scan: the oracle. */
function lpm(routes: Map<string, { ip: number; depth: number; nh: number }>, addr: number): number | undefined {
  let best: { depth: number; nh: number } | undefined;
  for (const r of routes.values()) {
    const mask = r.depth === 0 ? 0 : (0xffffffff << (32 - r.depth)) >>> 0;
    if (((addr & mask) >>> 0) === r.ip && (!best || r.depth > best.depth)) best = r;
  }
  return best?.nh;
}

test("longest prefix wins over random tables (linear oracle); deletes and re-points take effect; routes() lists the trie", { skip }, () => {
  const fp = load({ maxNextHops: 1024 });
  try {
    let seed = 777;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 1024; i++) fp.setNextHop(i, NH_MAC(i), i % 2 === 0 ? 0 : 2);
    const table = new Map<string, { ip: number; depth: number; nh: number }>();
    // Nested prefixes: every route is inside a 10.x/8..24 tree, so lookups meet several matching depths.
    for (let i = 0; i < 400; i++) {
      const depth = 8 + Math.floor(rnd() * 25);
      const mask = (0xffffffff << (32 - depth)) >>> 0;
      const ip = ((ip4("10.0.0.0") | (Math.floor(rnd() * 2 ** 24) & (i % 2 === 0 ? 0x0000ffff : 0x00ffffff))) & mask) >>> 0;
      const nh = Math.floor(rnd() * 1024);
      table.set(`${ip}/${depth}`, { ip, depth, nh });
      fp.addRoute(ip | (Math.floor(rnd() * 256) & ~mask & 0xff), depth, nh); // host bits are ignored
    }
    const sortKey = (a: { ip: number; depth: number }, b: { ip: number; depth: number }) => a.ip - b.ip || a.depth - b.depth;
    const check = (label: string): void => {
      assert.deepEqual(fp.routes().sort(sortKey), [...table.values()].map((r) => ({ ip: r.ip, depth: r.depth, nextHop: r.nh })).sort(sortKey), `${label}: routes()`);
      const rs = [...table.values()];
      let routedN = 0;
      for (let i = 0; i < 2000; i++) {
        let addr: number;
        if (i % 4 === 3 || rs.length === 0) addr = (ip4("10.0.0.0") + Math.floor(rnd() * 2 ** 24)) >>> 0;
        else {
          const r = rs[Math.floor(rnd() * rs.length)]!;
          addr = (r.ip | (Math.floor(rnd() * 2 ** 32) & ~((0xffffffff << (32 - r.depth)) >>> 0))) >>> 0;
        }
        const want = lpm(table, addr);
        const dst = `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
        const f = frame(dst);
        const got = run(fp, f);
        if (want === undefined) {
          assert.equal(got.retval, XdpAction.PASS, `${label}: ${dst} has no route`);
          assert.deepEqual(got.out, f);
        } else {
          routedN++;
          assert.equal(got.retval, XdpAction.REDIRECT, `${label}: ${dst}`);
          assert.deepEqual(got.out, routed(f, NH_MAC(want), want % 2 === 0 ? MAC_A : MAC_B), `${label}: ${dst} via next hop ${want}`);
        }
      }
      assert.ok(routedN > 1000, `${label}: most lookups routed (${routedN})`);
    };
    check("full table");
    // Delete every other route (the oracle too); deleting twice answers false.
    let k = 0;
    for (const [key, r] of [...table]) {
      if (k++ % 2 !== 0) continue;
      assert.equal(fp.deleteRoute(r.ip, r.depth), true, key);
      assert.equal(fp.deleteRoute(r.ip, r.depth), false, key);
      table.delete(key);
    }
    check("after deletes");
    // Re-point every remaining route.
    for (const r of table.values()) {
      r.nh = (r.nh + 1) % 1024;
      fp.addRoute(r.ip, r.depth, r.nh);
    }
    check("after re-pointing");
    // A default route catches the rest.
    table.set("0/0", { ip: 0, depth: 0, nh: 9 });
    fp.addRoute(0, 0, 9);
    assert.equal(run(fp, frame("192.0.2.1")).retval, XdpAction.REDIRECT);
    assert.deepEqual(run(fp, frame("192.0.2.1")).out, routed(frame("192.0.2.1"), NH_MAC(9), MAC_B));
    check("with a default route");
  } finally {
    fp.close();
  }
});

test("next hops: set, read back, clear; bad arguments change nothing and name the value", { skip }, () => {
  const fp = load({ maxNextHops: 8 });
  try {
    fp.setNextHop(7, NH_MAC(7), 2);
    assert.deepEqual(fp.nextHop(7), { dmac: NH_MAC(7), port: 2 });
    assert.equal(fp.nextHop(0), null);
    assert.throws(() => fp.setNextHop(8, NH_MAC(8), 0), /Invalid next hop index 8: expected 0 \.\. 7 \(maxNextHops 8\)/);
    assert.throws(() => fp.setNextHop(-1, NH_MAC(1), 0), /Invalid next hop index -1/);
    assert.throws(() => fp.setNextHop(7, new Uint8Array(5), 0), /Invalid next hop 7 MAC: expected 6 bytes, got 5/);
    assert.throws(() => fp.setNextHop(7, NH_MAC(1), -1), /Invalid next hop 7 port -1/);
    assert.deepEqual(fp.nextHop(7), { dmac: NH_MAC(7), port: 2 }, "unchanged after the refused calls");
    fp.clearNextHop(7);
    assert.equal(fp.nextHop(7), null);

    assert.throws(() => fp.addRoute(ip4("10.0.0.0"), 33, 0), /Invalid route depth 33: expected 0 \.\. 32/);
    assert.throws(() => fp.addRoute(-1, 8, 0), /Invalid route address -1/);
    assert.throws(() => fp.addRoute(2 ** 32, 8, 0), /Invalid route address 4294967296/);
    assert.throws(() => fp.addRoute(ip4("10.0.0.0"), 8, 8), /Invalid route next hop 8: expected 0 \.\. 7/);
    assert.throws(() => fp.deleteRoute(0, -1), /Invalid route depth -1/);
    assert.deepEqual(fp.routes(), [], "nothing added by the refused calls");
  } finally {
    fp.close();
  }
});

test("a full trie: addRoute throws naming maxRoutes and the route, the trie unchanged", { skip }, () => {
  const fp = load({ maxRoutes: 2 });
  try {
    fp.addRoute(ip4("10.0.0.0"), 8, 0);
    fp.addRoute(ip4("10.1.0.0"), 16, 0);
    assert.throws(() => fp.addRoute(ip4("10.2.0.0"), 16, 0), /addRoute 10\.2\.0\.0\/16: .*maxRoutes 2/);
    fp.addRoute(ip4("10.1.0.0"), 16, 1); // replacing one still works
    assert.deepEqual(fp.routes().map((r) => `${r.ip}/${r.depth}->${r.nextHop}`).sort(), [`${ip4("10.0.0.0")}/8->0`, `${ip4("10.1.0.0")}/16->1`].sort());
  } finally {
    fp.close();
  }
});

test("load errors name what is wrong and leak no fd", { skip }, () => {
  const fds0 = openFds().length;
  const ok = { ifindex, mac: MAC_A };
  assert.throws(() => L3fwdFastPath.load({ xskMapFd: redirect.map.fd, ports: [] }), /Invalid ports: expected 1 \.\. 65535 entries/);
  assert.throws(() => L3fwdFastPath.load({ xskMapFd: redirect.map.fd, ports: [ok, { ifindex, mac: new Uint8Array(4) }] }), /Invalid ports\[1\]\.mac: expected 6 bytes, got 4/);
  assert.throws(() => L3fwdFastPath.load({ xskMapFd: redirect.map.fd, ports: [{ ifindex: 0, mac: MAC_A }] }), /Invalid ports\[0\]\.ifindex 0/);
  assert.throws(() => L3fwdFastPath.load({ xskMapFd: redirect.map.fd, ports: [ok], maxNextHops: 0 }), /Invalid maxNextHops 0: expected 1 \.\./);
  assert.throws(() => L3fwdFastPath.load({ xskMapFd: redirect.map.fd, ports: [ok], maxRoutes: 1.5 }), /Invalid maxRoutes 1\.5/);
  const hash = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1, name: "t_hash" });
  try {
    assert.throws(() => L3fwdFastPath.load({ xskMapFd: hash.fd, ports: [ok] }),
      (e: Error) => e instanceof TypeError && /xskMapFd \d+: map 't_hash' \(id \d+\) is hash \(1\) key 4 value 4, expected an XSKMAP/.test(e.message));
    assert.throws(() => L3fwdFastPath.load({ xskMapFd: xsk, ports: [ok] }), /xskMapFd: fd \d+ is not a BPF object, expected a BPF map/);
    // A netdev that does not exist in this namespace: refused before any map is made.
    assert.throws(() => L3fwdFastPath.load({ xskMapFd: redirect.map.fd, ports: [ok, { ifindex: 0x7ffffff0, mac: MAC_B }] }),
      (e: Error & { code?: string }) => e.code === "ENODEV" && /L3fwdFastPath: tx port 1 \(ifindex 2147483632\): ENODEV .*no netdev with that ifindex in this network namespace/.test(e.message));
    // programFor checks the fd too.
    const fp = load();
    try {
      assert.throws(() => fp.programFor(hash.fd), /expected an XSKMAP/);
    } finally {
      fp.close();
    }
  } finally {
    hash.close();
  }
  assert.equal(openFds().length, fds0, "no fd left behind by the failed loads");
});

test("a verifier rejection carries the verifier log (the program over a hash map where the devmap belongs)", { skip }, () => {
  const fp = load();
  const hash = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1, name: "t_hash" });
  try {
    const fds = (fp as unknown as { maps: Record<string, BpfMap> }).maps;
    const asm = l3fwdFastPathAsm({ routes: fds["routes"]!.fd, nextHops: fds["nextHops"]!.fd, ports: fds["ports"]!.fd, tx: hash.fd, stats: fds["stats"]!.fd, xsks: redirect.map.fd });
    assert.throws(() => Program.load({ type: ProgType.XDP, insns: asm, name: "t_bad_l3fwd" }), (e: Error) => {
      assert.ok(e instanceof VerifierError, String(e));
      assert.match(e.log, /cannot pass map_type 1 into func bpf_redirect_map/);
      assert.match(e.message, /BPF_PROG_LOAD xdp 't_bad_l3fwd' \(\d+ insns\).*verifier log:/s);
      return true;
    });
  } finally {
    hash.close();
    fp.close();
  }
});

test("programFor: one more program over another XSKMAP shares the tables and counters", { skip }, () => {
  const fp = load();
  const other = loadXskRedirect();
  try {
    fp.setNextHop(0, NH_MAC(0), 0);
    fp.addRoute(ip4("10.0.0.0"), 8, 0);
    const p2 = fp.programFor(other.map.fd);
    assert.notEqual(p2, fp.prog);
    assert.equal(fp.programFor(other.map.fd), p2);
    assert.ok(p2.info().mapIds.includes(other.map.id));
    assert.ok(!p2.info().mapIds.includes(redirect.map.id));
    const c0 = fp.counters();
    const f = frame("10.0.0.1");
    const r = testRun(p2, { data: f, dataOut: new Uint8Array(128), ctx: { ingressIfindex: ifindex, rxQueueIndex: 1 } });
    assert.equal(r.retval, XdpAction.REDIRECT);
    assert.deepEqual(Uint8Array.from(r.dataOut!), routed(f, NH_MAC(0), MAC_A));
    // Unrouted: queue 1 of the other XSKMAP is empty, so PASS (the first program's map would redirect).
    assert.equal(testRun(p2, { data: frame("192.0.2.1"), ctx: { ingressIfindex: ifindex, rxQueueIndex: 1 } }).retval, XdpAction.PASS);
    assert.deepEqual(delta(c0, fp.counters()), { forwarded: 1, forwardedBytes: 64, noRoute: 1, toUser: 1, toUserBytes: 64 });
  } finally {
    fp.close();
    other.close();
  }
});
