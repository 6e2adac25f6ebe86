/**
 * The l3fwd and ACL modes without root: the next-hop table (sharing, reference counts, reuse only after a
 * QSBR grace period), the route table (replace, delete, a mirror that refuses a route changes nothing),
 * cndpfwd's ACL rule syntax and `/acl/rules` replies, config errors as file:line:col, and the per-burst
 * stages over a real UMEM against naive oracles: every frame of random bursts ends routed (bytes compared
 * with a full rewrite and checksum recompute) or dropped under the right counter.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { Qsbr } from "../../lookup/qsbr.js";
import { parseMac, formatMac } from "../../lookup/addr.js";
import { parseFibRule } from "../../lookup/fib/rules.js";
import { Fib4, FIB_NO_ROUTE } from "../../lookup/fib/index.js";
import { Acl } from "../../lookup/acl/index.js";
import { udpFrame, ipv4Checksum } from "../../wire/udp-frame.js";
import { parseConfig } from "../../config/index.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { NextHopTable, NH_MAC_STRIDE } from "./next-hops.js";
import { L3fwdRoutes, type RouteMirror } from "./routes.js";
import { AclRuleTable, parseAclRuleText, aclUserdata } from "./acl-rules.js";
import { l3fwdRulesOf, aclRulesOf } from "./mode-options.js";
import { L3fwdStage } from "./l3fwd.js";
import { AclStage } from "./acl.js";
import { Dispatcher } from "./dispatch.js";
import { MC_WORDS, MC_L3_FORWARDED, MC_L3_NO_ROUTE, MC_L3_TTL, MC_L3_INVALID, MC_ACL_PERMIT, MC_ACL_DENY, MC_ACL_PREFILTER } from "./mode-counters.js";
import { FwdApp } from "./app.js";

/** A deterministic PRNG (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}
const ipText = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const maskOf = (d: number) => (d === 0 ? 0 : (0xffffffff << (32 - d)) >>> 0);

describe("next-hop table", () => {
  test("same (MAC, port) shares an entry; the last release frees it; reuse waits for every online reader", () => {
    const q = Qsbr.create(1);
    const nh = NextHopTable.create({ capacity: 2, qsbr: q });
    const m1 = parseMac("02:00:00:00:00:01");
    const a = nh.acquire(m1, 1);
    assert.equal(nh.acquire(m1, 1), a, "shared");
    assert.equal(nh.refCount(a), 2);
    const b = nh.acquire(m1, 0);
    assert.notEqual(b, a, "another port: another entry");
    assert.throws(() => nh.acquire(parseMac("02:00:00:00:00:02"), 0), /Next-hop table full: 2 distinct/);
    const view = NextHopTable.fromShared(nh.shared());
    assert.equal(formatMac(view.mac, a * NH_MAC_STRIDE), "02:00:00:00:00:01");
    assert.equal(view.port[b], 0);
    assert.throws(() => view.acquire(m1, 0), /read-only/);
    q.online(0); // a worker that may hold `a`
    nh.release(a);
    nh.release(a);
    assert.equal(nh.refCount(a), 0);
    assert.throws(() => nh.release(a), /Next hop 0 is not in use/);
    // The reader has not passed a quiescent state: the entry must not be reused yet.
    assert.throws(() => nh.acquire(parseMac("02:00:00:00:00:03"), 1), /table full/);
    assert.equal(view.port[a], 1, "the old entry is still readable as it was");
    q.quiescent(0);
    const c = nh.acquire(parseMac("02:00:00:00:00:03"), 1);
    assert.equal(c, a, "reused after the grace period");
    assert.equal(formatMac(view.mac, c * NH_MAC_STRIDE), "02:00:00:00:00:03");
  });
});

describe("route table", () => {
  test("add, replace, delete; next hops follow the routes; bad ports and depths are refused", () => {
    const routes = L3fwdRoutes.create({ ports: 2 });
    assert.deepEqual(routes.add(parseFibRule("10.0.0.0/8,02:00:00:00:00:01,1")), { replaced: false, nextHop: 0 });
    routes.add(parseFibRule("10.1.0.7/16,02:00:00:00:00:01,1")); // host bits masked
    assert.equal(routes.nextHops.size, 1, "one next hop for both");
    assert.deepEqual(routes.add(parseFibRule("10.0.0.0/8,02:00:00:00:00:02,0")), { replaced: true, nextHop: 1 });
    assert.deepEqual(routes.list(), [
      { prefix: "10.0.0.0/8", mac: "02:00:00:00:00:02", port: 0, nextHop: 1 },
      { prefix: "10.1.0.0/16", mac: "02:00:00:00:00:01", port: 1, nextHop: 0 },
    ]);
    assert.equal(routes.fib.lookup(0x0a010203), 0);
    assert.equal(routes.fib.lookup(0x0a020203), 1);
    assert.throws(() => routes.add(parseFibRule("10.0.0.0/8,02:00:00:00:00:02,2")), /tx port 2 does not exist \(the app has 2 lports, 0 to 1\)/);
    assert.equal(routes.delete(0x0a010000, 16), true);
    assert.equal(routes.delete(0x0a010000, 16), false);
    assert.equal(routes.nextHops.size, 1);
    assert.equal(routes.fib.lookup(0x0a010203), 1, "the /8 now");
  });

  test("a mirror that refuses a route leaves the FIB, the next hops and the mirror as they were", () => {
    const routes = L3fwdRoutes.create({ ports: 2 });
    routes.add(parseFibRule("10.0.0.0/8,02:00:00:00:00:01,1"));
    const seen: string[] = [];
    let refuse = false;
    const mirror: RouteMirror = {
      setNextHop: (i, mac, port) => seen.push(`nh ${i} ${formatMac(mac)} ${port}`),
      addRoute: (ip, depth, nh) => {
        if (refuse) throw new RangeError("trie full");
        seen.push(`add ${ipText(ip)}/${depth} ${nh}`);
      },
      deleteRoute: (ip, depth) => seen.push(`del ${ipText(ip)}/${depth}`),
    };
    routes.setMirror(mirror);
    assert.deepEqual(seen, ["nh 0 02:00:00:00:00:01 1", "add 10.0.0.0/8 0"], "the table is copied in");
    refuse = true;
    const before = routes.list();
    assert.throws(() => routes.add(parseFibRule("10.0.0.0/8,02:00:00:00:00:09,0")), /trie full/);
    assert.throws(() => routes.add(parseFibRule("11.0.0.0/8,02:00:00:00:00:09,0")), /trie full/);
    assert.deepEqual(routes.list(), before);
    assert.equal(routes.fib.lookup(0x0a000001), 0, "the old route still in the FIB");
    assert.equal(routes.fib.lookup(0x0b000001), FIB_NO_ROUTE, "the refused new route is not in the FIB");
    assert.equal(routes.get(0x0b000000, 8), undefined);
    assert.equal(routes.nextHops.size, 1, "the refused route's next hop was released");
    refuse = false;
    routes.delete(0x0a000000, 8);
    assert.equal(seen.at(-1), "del 10.0.0.0/8");
  });
});

describe("cndpfwd's ACL rules", () => {
  test("the rule syntax, host bits, verdicts; errors name the part", () => {
    assert.deepEqual(parseAclRuleText("10.1.2.3/8:0.0.0.0/0:DENY"), { src: { ip: 0x0a000000, depth: 8 }, dst: { ip: 0, depth: 0 }, deny: true });
    assert.deepEqual(parseAclRuleText("1.2.3.4/32:5.6.7.8/24:allow"), { src: { ip: 0x01020304, depth: 32 }, dst: { ip: 0x05060700, depth: 24 }, deny: false });
    assert.throws(() => parseAclRuleText("10.0.0.0/8:0.0.0.0/0"), /2 ':'-separated fields, expected 3 \(<src IP>\/<src mask>:<dst IP>\/<dst mask>:<allow\|deny>\)/);
    assert.throws(() => parseAclRuleText("10.0.0.0/33:0.0.0.0/0:deny"), /source mask '33' is not 0 to 32/);
    assert.throws(() => parseAclRuleText("10.0.0/8:0.0.0.0/0:deny"), /source address/);
    assert.throws(() => parseAclRuleText("10.0.0.0/8:0.0.0.0:deny"), /destination '0.0.0.0' has no \/<mask>/);
    assert.throws(() => parseAclRuleText("10.0.0.0/8:0.0.0.0/0:drop"), /'drop' is neither allow nor deny/);
  });

  test("/acl/rules replies: info, pages of 32, single rules, cndpfwd's errors", () => {
    const t = new AclRuleTable();
    assert.deepEqual(t.info(), { "num rules": 0, "max rules": 100000, "rule pages": 0, "rules per page": 32 });
    for (let i = 0; i < 40; i++) t.add(`10.0.${i}.0/24:0.0.0.0/0:${i % 2 ? "deny" : "allow"}`);
    assert.deepEqual(t.info(), { "num rules": 40, "max rules": 100000, "rule pages": 2, "rules per page": 32 });
    assert.equal((t.read("p:0")["rules"] as unknown[]).length, 32);
    assert.deepEqual(t.read("p:1")["rules"], Array.from({ length: 8 }, (_, k) => ({ "src addr": `10.0.${32 + k}.0/24`, "dst addr": "0.0.0.0/0", type: k % 2 ? "deny" : "allow" })));
    assert.deepEqual(t.read("r:3"), { "src addr": "10.0.3.0/24", "dst addr": "0.0.0.0/0", type: "deny" });
    assert.throws(() => t.read("p:2"), /^Error: Wrong page number$/);
    assert.throws(() => t.read("r:40"), /^Error: Wrong ACL rule number$/);
    assert.throws(() => t.read("x:1"), /Parameter must be: 'p:<page num>' or 'r:<rule num>'/);
    t.clear();
    assert.equal(t.length, 0);
  });

  test("the built classifier: the earliest matching rule decides, against a linear scan", () => {
    const r = rng(7);
    const t = new AclRuleTable();
    const rules = [];
    for (let i = 0; i < 300; i++) {
      const sd = Math.floor(r() * 33), dd = Math.floor(r() * 33);
      const s = (Math.floor(r() * 4) << 24) >>> 0, d = (Math.floor(r() * 4) << 24 | Math.floor(r() * 256) << 16) >>> 0;
      const text = `${ipText(s)}/${sd % 17}:${ipText(d)}/${dd % 25}:${r() < 0.5 ? "allow" : "deny"}`;
      rules.push(t.add(text));
    }
    const acl = t.build();
    const keys = new Uint32Array(4 * 64);
    const res = new Uint32Array(64);
    for (let round = 0; round < 200; round++) {
      const want: number[] = [];
      for (let i = 0; i < 64; i++) {
        const src = ((Math.floor(r() * 4) << 24) | Math.floor(r() * 2 ** 24)) >>> 0;
        const dst = ((Math.floor(r() * 4) << 24) | Math.floor(r() * 2 ** 24)) >>> 0;
        keys[i * 4] = 17; keys[i * 4 + 1] = src; keys[i * 4 + 2] = dst; keys[i * 4 + 3] = 0;
        const k = rules.findIndex((x) => ((src & maskOf(x.src.depth)) >>> 0) === x.src.ip && ((dst & maskOf(x.dst.depth)) >>> 0) === x.dst.ip);
        want.push(k < 0 ? 0 : aclUserdata(k, rules[k]!.deny));
      }
      acl.classifyBulk(keys, 64, res);
      assert.deepEqual([...res], want);
    }
  });
});

describe("config options", () => {
  const cfg = (options: string) => parseConfig(
    fwdConfig({ ports: [{ netdev: "eth0" }, { netdev: "eth1" }] }).replace(/\n}\n$/, `,\n  "options": ${options}\n}\n`),
    "l3.jsonc", { cpuCheck: "off", netdevQueueCount: () => 1, memoryCheck: "off" },
  ).config;

  test("l3fwd-fib-rules: bad rules come out as file:line:col with the key and the part", () => {
    const good = cfg('{ "l3fwd-fib-rules": ["10.0.0.0/8,02:00:00:00:00:01,1", "0.0.0.0/0,02:00:00:00:00:02,0"] }');
    assert.deepEqual(l3fwdRulesOf(good).map((r) => [r.ip, r.depth, r.port]), [[0x0a000000, 8, 1], [0, 0, 0]]);
    const text = (rules: string) => `{\n    "mode": "l3fwd",\n    "l3fwd-fib-rules": [\n      "10.0.0.0/8,02:00:00:00:00:01,1",\n      ${rules}\n    ]\n  }`;
    assert.throws(() => l3fwdRulesOf(cfg(text('"10.0.0.0/33,02:00:00:00:00:01,1"'))), (e: Error) => {
      assert.match(e.message, /^l3\.jsonc:\d+:7: options\.l3fwd-fib-rules\[1\]: Invalid FIB rule '10\.0\.0\.0\/33,02:00:00:00:00:01,1': prefix:/);
      return true;
    });
    assert.throws(() => l3fwdRulesOf(cfg(text('"10.0.0.0/8,02:00:00:00:01,1"'))), /^ConfigError: l3\.jsonc:\d+:7: options\.l3fwd-fib-rules\[1\]: .*next-hop MAC/);
    assert.throws(() => l3fwdRulesOf(cfg(text('"10.0.0.0/8,02:00:00:00:00:01,2"'))), /options\.l3fwd-fib-rules\[1\]: Invalid FIB rule '10\.0\.0\.0\/8,02:00:00:00:00:01,2': tx port 2 does not exist \(the config has 2 lports, 0 to 1\)/);
    assert.throws(() => l3fwdRulesOf(cfg('{ "l3fwd-fib-rules": "10.0.0.0/8,02:00:00:00:00:01,1" }')), /^ConfigError: l3\.jsonc:\d+:\d+: options\.l3fwd-fib-rules: expected an array of/);
  });

  test("acl-rules: bad rules come out as file:line:col", () => {
    assert.deepEqual(aclRulesOf(cfg('{ "acl-rules": ["10.0.0.0/8:0.0.0.0/0:deny"] }')), ["10.0.0.0/8:0.0.0.0/0:deny"]);
    assert.throws(() => aclRulesOf(cfg('{ "acl-rules": ["10.0.0.0/8:0.0.0.0/0:deny",\n "1.2.3.4/8:5.6.7.8/40:allow"] }')), /^ConfigError: l3\.jsonc:\d+:2: options\.acl-rules\[1\]: Invalid ACL rule '1\.2\.3\.4\/8:5\.6\.7\.8\/40:allow': destination mask '40' is not 0 to 32/);
  });

  test("FwdApp refuses a bad rule before it builds anything; --xdp-fastpath outside l3fwd", async () => {
    await assert.rejects(FwdApp.start({ config: cfg('{ "l3fwd-fib-rules": ["10.0.0.0/8,nomac,1"] }'), mode: "l3fwd", log: () => {} }), /^ConfigError: l3\.jsonc:\d+:\d+: options\.l3fwd-fib-rules\[0\]/);
    await assert.rejects(FwdApp.start({ config: cfg("{}"), mode: "lb", xdpFastpath: true, log: () => {} }), /--xdp-fastpath works in l3fwd mode only \(the mode is lb\)/);
  });
});

/** Frames in a UMEM: handles, with bytes written at each handle's data offset. */
function frames(mp: Mempool, list: Uint8Array[], oddEvery = 0): Uint32Array {
  const bufs = new Uint32Array(list.length);
  assert.equal(mp.allocBulk(bufs, list.length), list.length);
  const u = mp.umem;
  list.forEach((f, i) => {
    const h = bufs[i]!;
    // Some frames at an odd offset: the byte-wise paths (the usual frames take 16-bit ones).
    mp.mbufs.dataOff[h] = u.headroom + (oddEvery > 0 && i % oddEvery === 0 ? 1 : 0);
    u.u8.set(f, ((h << u.shift) >>> 0) + mp.mbufs.dataOff[h]!);
    mp.mbufs.dataLen[h] = f.length;
  });
  return bufs;
}
function bytesOf(mp: Mempool, h: number): Uint8Array {
  const o = ((h << mp.umem.shift) >>> 0) + mp.mbufs.dataOff[h]!;
  return mp.umem.u8.slice(o, o + mp.mbufs.dataLen[h]!);
}
function recomputeCksum(f: Uint8Array): void {
  const hl = (f[14]! & 15) * 4;
  f[24] = 0; f[25] = 0;
  const c = ipv4Checksum(f, 14, hl);
  f[24] = c >>> 8; f[25] = c & 255;
}

/** A random frame and what l3fwd must do with it. */
function randomFrame(r: () => number, dsts: number[]): Uint8Array {
  const dstIp = r() < 0.9 ? ((dsts[Math.floor(r() * dsts.length)]! & 0xffffff00) | Math.floor(r() * 256)) >>> 0 : Math.floor(r() * 2 ** 32);
  const ttl = [0, 1, 2, 64, 255][Math.floor(r() * 5)]!;
  const f = udpFrame({ dst: "02:00:00:00:00:aa", src: "02:00:00:00:00:bb", srcIp: "10.9.9.9", dstIp: ipText(dstIp), ttl, seq: Math.floor(r() * 65536), size: 60 + Math.floor(r() * 200) });
  const kind = r();
  if (kind < 0.05) { f[12] = 0x08; f[13] = 0x06; } // ARP
  else if (kind < 0.1) f[25] = f[25]! ^ 0x10; // bad checksum
  else if (kind < 0.13) { f[16] = 0x7f; f[17] = 0xff; recomputeCksum(f); } // total length past the frame
  else if (kind < 0.16) { f[14] = 0x46; recomputeCksum(f); } // options (IHL 6): forwarded in user space
  else if (kind < 0.18) { f[14] = 0x65; recomputeCksum(f); } // version 6 under 0x0800
  return f;
}

describe("the stages over a UMEM against oracles", () => {
  test("l3fwd: 20,000 random frames (a third at odd offsets) routed byte for byte (MACs, TTL - 1, checksum) or dropped under the right counter", () => {
    const r = rng(42);
    const u = Umem.create({ frames: 512 });
    try {
      const mp = Mempool.create({ umem: u, cacheSize: 0 });
      const nports = 3;
      const routes = L3fwdRoutes.create({ ports: nports });
      const table: { ip: number; depth: number; mac: string; port: number }[] = [];
      for (let i = 0; i < 60; i++) {
        const depth = 8 + Math.floor(r() * 25);
        const ip = ((10 + Math.floor(r() * 3)) << 24 | Math.floor(r() * 2 ** 24)) >>> 0 & maskOf(depth);
        const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
        const port = Math.floor(r() * nports);
        routes.add(parseFibRule(`${ipText(ip)}/${depth},${mac},${port}`));
        const k = table.findIndex((x) => x.ip === (ip >>> 0) && x.depth === depth);
        if (k >= 0) table.splice(k, 1);
        table.push({ ip: ip >>> 0, depth, mac, port });
      }
      const lpm = (a: number) => {
        let best: (typeof table)[number] | undefined;
        for (const x of table) if (((a & maskOf(x.depth)) >>> 0) === x.ip && (!best || x.depth > best.depth)) best = x;
        return best;
      };
      const portMacs = new Uint8Array(nports * NH_MAC_STRIDE);
      for (let p = 0; p < nports; p++) portMacs.set(parseMac(`02:ee:00:00:00:0${p}`), p * NH_MAC_STRIDE);
      const burst = 64;
      const s = routes.shared();
      const stage = new L3fwdStage(Fib4.fromShared(s.fib), NextHopTable.fromShared(s.nextHops), portMacs, burst);
      const disp = new Dispatcher([], Array.from({ length: nports }, () => ({ local: -1, inbox: null })), burst);
      const drops = new Uint32Array(burst);
      const mc = new Float64Array(2 * MC_WORDS);
      const want = new Float64Array(4);
      for (let round = 0; round < 20000 / burst; round++) {
        const list = Array.from({ length: burst }, () => randomFrame(r, table.map((x) => x.ip)));
        const bufs = frames(mp, list, 3);
        const nd = stage.run(u.u8, u.u16, mp.mbufs.dataOff, mp.mbufs.dataLen, u.shift, bufs, burst, disp, drops, mc, MC_WORDS);
        const outAt = new Map<number, number>();
        for (let p = 0; p < nports; p++) for (let i = 0; i < disp.count[p]!; i++) outAt.set(disp.bufs[p]![i]!, p);
        const dropped = new Set(drops.subarray(0, nd));
        list.forEach((f, i) => {
          const h = bufs[i]!;
          const hl = (f[14]! & 15) * 4;
          const tot = (f[16]! << 8) | f[17]!;
          const valid = f[12] === 8 && f[13] === 0 && f[14]! >> 4 === 4 && hl >= 20 && tot >= hl && tot <= f.length - 14 && ipv4Checksum(f, 14, hl) === 0;
          const route = lpm(((f[30]! << 24) | (f[31]! << 16) | (f[32]! << 8) | f[33]!) >>> 0);
          if (!valid) { want[MC_L3_INVALID]! += 1; assert.ok(dropped.has(h), `frame ${i}: invalid, dropped`); return; }
          if (f[22]! <= 1) { want[MC_L3_TTL]! += 1; assert.ok(dropped.has(h), `frame ${i}: TTL ${f[22]}, dropped`); return; }
          if (!route) { want[MC_L3_NO_ROUTE]! += 1; assert.ok(dropped.has(h), `frame ${i}: no route, dropped`); return; }
          want[MC_L3_FORWARDED]! += 1;
          assert.equal(outAt.get(h), route.port, `frame ${i}: sent to port ${route.port}`);
          const g = f.slice();
          g.set(parseMac(route.mac), 0);
          g.set(parseMac(`02:ee:00:00:00:0${route.port}`), 6);
          g[22] = g[22]! - 1;
          recomputeCksum(g);
          assert.deepEqual(bytesOf(mp, h), g, `frame ${i}: rewritten`);
        });
        assert.equal(outAt.size + nd, burst, "every frame once");
        disp.count.fill(0);
        mp.freeBulk(bufs, burst);
      }
      assert.deepEqual([...mc.subarray(MC_WORDS, 2 * MC_WORDS)], [...want], "counted at the receiving port's slots, exactly");
      assert.deepEqual([...mc.subarray(0, MC_WORDS)], [0, 0, 0, 0]);
      assert.ok(want[MC_L3_FORWARDED]! > 5000 && want[MC_L3_TTL]! > 1000 && want[MC_L3_INVALID]! > 1000 && want[MC_L3_NO_ROUTE]! > 500, `every outcome happened: ${want.join(", ")}`);
    } finally {
      u.close();
    }
  });

  for (const permissive of [false, true]) {
    test(`${permissive ? "acl-permissive" : "acl-strict"}: classification against a linear scan, forwarding as cndpfwd (port from the MAC, MACs swapped)`, () => {
      const r = rng(permissive ? 9 : 8);
      const u = Umem.create({ frames: 512 });
      try {
        const mp = Mempool.create({ umem: u, cacheSize: 0 });
        const t = new AclRuleTable();
        const rules = [
          t.add("10.9.0.0/16:10.1.0.0/16:deny"),
          t.add("0.0.0.0/0:10.1.0.0/16:allow"),
          t.add("10.9.9.0/24:10.2.0.0/16:allow"),
          t.add("0.0.0.0/0:10.2.0.0/15:deny"),
        ];
        const stage = new AclStage(Acl.fromShared(t.build().shared()), permissive, 64);
        const nports = 2;
        const disp = new Dispatcher([], [{ local: -1, inbox: null }, { local: -1, inbox: null }], 64);
        const drops = new Uint32Array(64);
        const mc = new Float64Array(nports * MC_WORDS);
        const want = new Float64Array(4);
        for (let round = 0; round < 100; round++) {
          const list = Array.from({ length: 64 }, () => {
            const f = randomFrame(r, [0x0a010000, 0x0a020000, 0x0a030000, 0x0a090000]);
            f[5] = Math.floor(r() * 4); // port 0, 1, or none (2, 3: back out of the receiving port)
            f[26] = 10; f[27] = 9; f[28] = r() < 0.5 ? 9 : 8; // source 10.9.9.x or 10.9.8.x
            recomputeCksum(f);
            if (r() < 0.05) f[25] = f[25]! ^ 1;
            return f;
          });
          const bufs = frames(mp, list, 4);
          const nd = stage.run(u.u8, u.u16, mp.mbufs.dataOff, mp.mbufs.dataLen, u.shift, bufs, 64, 1, disp, drops, mc, MC_WORDS);
          const outAt = new Map<number, number>();
          for (let p = 0; p < nports; p++) for (let i = 0; i < disp.count[p]!; i++) outAt.set(disp.bufs[p]![i]!, p);
          list.forEach((f, i) => {
            const h = bufs[i]!;
            const hl = (f[14]! & 15) * 4;
            const tot = (f[16]! << 8) | f[17]!;
            const valid = f[12] === 8 && f[13] === 0 && f[14]! >> 4 === 4 && hl >= 20 && tot >= hl && tot <= f.length - 14 && ipv4Checksum(f, 14, hl) === 0;
            if (!valid) { want[MC_ACL_PREFILTER]! += 1; assert.equal(outAt.has(h), false); return; }
            const src = ((f[26]! << 24) | (f[27]! << 16) | (f[28]! << 8) | f[29]!) >>> 0;
            const dst = ((f[30]! << 24) | (f[31]! << 16) | (f[32]! << 8) | f[33]!) >>> 0;
            const k = rules.findIndex((x) => ((src & maskOf(x.src.depth)) >>> 0) === x.src.ip && ((dst & maskOf(x.dst.depth)) >>> 0) === x.dst.ip);
            const fwd = k >= 0 ? !rules[k]!.deny : permissive;
            if (!fwd) { want[MC_ACL_DENY]! += 1; assert.equal(outAt.has(h), false, `frame ${i} denied`); return; }
            want[MC_ACL_PERMIT]! += 1;
            assert.equal(outAt.get(h), f[5]! < nports ? f[5] : 1, `frame ${i}: port from the MAC, else the receiving port`);
            const g = f.slice();
            g.set(f.subarray(6, 12), 0);
            g.set(f.subarray(0, 6), 6);
            assert.deepEqual(bytesOf(mp, h), g, `frame ${i}: MACs swapped, nothing else`);
          });
          assert.equal(outAt.size + nd, 64);
          disp.count.fill(0);
          mp.freeBulk(bufs, 64);
        }
        assert.deepEqual([...mc.subarray(MC_WORDS, 2 * MC_WORDS)], [...want]);
        assert.ok(want[MC_ACL_PERMIT]! > 500 && want[MC_ACL_DENY]! > 500 && want[MC_ACL_PREFILTER]! > 300, `every outcome happened: ${want.join(", ")}`);
      } finally {
        u.close();
      }
    });
  }
});
