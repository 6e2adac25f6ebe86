/** Settings: parsing, defaults, errors that name the value, save format, port lists, rates. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applySet, checkSettings, cloneSettings, defaultSettings, formatSettings, parsePortList, parseRate, targetPps,
  rangeCount, type PortSettings,
} from "./settings.js";
import { splitWords } from "./txgen.js";
import { bucketRange, histBucket, quantile, HIST_BUCKETS } from "./shared.js";

const limits = { mtu: 1500 };

function set(s: PortSettings, line: string): void {
  applySet(s, splitWords(line), limits);
}

test("txgen's defaults", () => {
  const s = defaultSettings(1);
  assert.equal(s.size, 64);
  assert.equal(s.count, 0);
  assert.deepEqual(s.rate, { kind: "percent", value: 100 });
  assert.equal(s.sport.min, 1234);
  assert.equal(s.dport.min, 5678);
  assert.equal(s.ttl, 4);
  assert.equal(s.srcIp.min, (192 << 24 | 168 << 16 | 1 << 8 | 1) >>> 0);
  assert.equal(s.dstIp.min, (192 << 24 | 168 << 16 | 0 << 8 | 1) >>> 0);
});

test("settings parse as txgen writes them", () => {
  const s = defaultSettings(0);
  set(s, "count 1000");
  set(s, "size 1518");
  set(s, "rate 25");
  set(s, "burst 32");
  set(s, "src ip 10.1.2.3/16");
  set(s, "dst ip 10.9.0.1-10.9.0.100:3");
  set(s, "sport 1000-1999");
  set(s, "dst mac 0011:2233:4455");
  set(s, "src mac AA-BB-CC-DD-EE-FF");
  set(s, "proto tcp");
  set(s, "ttl 255");
  set(s, "pattern user");
  set(s, 'user pattern "hello txgen"');
  set(s, "latency on");
  set(s, "cksum off");
  set(s, "engine live");
  set(s, "rx count");
  set(s, "threads 3");
  assert.equal(s.count, 1000);
  assert.equal(s.size, 1518);
  assert.deepEqual(s.rate, { kind: "percent", value: 25 });
  assert.equal(s.srcPrefix, 16);
  assert.equal(rangeCount(s.dstIp), 34);
  assert.equal(rangeCount(s.sport), 1000);
  assert.equal(s.dstMac, "00:11:22:33:44:55");
  assert.equal(s.srcMac, "aa:bb:cc:dd:ee:ff");
  assert.equal(s.userPattern, "hello txgen");
  assert.equal(s.cksum, false);
  assert.equal(s.engine, "live");
  assert.equal(s.threads, 3);
  set(s, "pps 250000");
  assert.deepEqual(s.rate, { kind: "pps", value: 250000 });
  assert.deepEqual(parseRate("1.5mpps"), { kind: "pps", value: 1.5e6 });
  assert.deepEqual(parseRate("250kpps"), { kind: "pps", value: 250000 });
});

test("bad settings give errors that name the value and what is allowed", () => {
  const cases: [string, RegExp][] = [
    ["size 20", /Invalid size 20: expected 64 to 1518/],
    ["size 2000", /Invalid size 2000: expected 64 to 1518 .*MTU 1500/],
    ["size big", /Invalid size 'big': expected a whole number/],
    ["rate 0", /Invalid rate 0: a percentage above 0 and at most 100/],
    ["rate 150", /Invalid rate 150/],
    ["rate fast", /Invalid rate 'fast'/],
    ["burst 300", /Invalid burst 300: expected 1 to 256/],
    ["src ip 10.0.0.300", /Invalid src ip '10.0.0.300': octet 300 is above 255/],
    ["dst ip 10.0.0.9-10.0.0.1", /Invalid dst ip range '10.0.0.9-10.0.0.1': 10.0.0.1 is below 10.0.0.9/],
    ["dst ip 10.0.0", /Invalid dst ip '10.0.0': expected an IPv4 address/],
    ["sport 70000", /Invalid sport 70000: expected 0 to 65535/],
    ["dst mac zz:00:00:00:00:00", /Invalid dst mac 'zz:00:00:00:00:00'/],
    ["proto sctp", /Invalid proto 'sctp': expected udp, tcp or icmp/],
    ["pattern stripes", /Invalid pattern 'stripes'/],
    ["user pattern 0123456789abcdefX", /Invalid user pattern .*1 to 16 characters/],
    ["engine dpdk", /Invalid engine 'dpdk': expected afxdp .* or live/],
    ["rx maybe", /Invalid rx 'maybe': expected on, count or off/],
    ["threads 9", /Invalid threads 9: expected 1 to 8/],
    ["latency perhaps", /Invalid latency 'perhaps': expected on or off/],
    ["colour blue", /Unknown setting 'colour': expected one of count, size/],
    ["size", /Missing value: set <ports> size <bytes>/],
    ["src port 5", /Invalid setting 'src port'/],
  ];
  for (const [line, re] of cases) {
    const s = defaultSettings(0);
    const before = JSON.stringify(s);
    assert.throws(() => set(s, line), re, line);
    assert.equal(JSON.stringify(s), before, `${line} leaves the settings unchanged`);
  }
});

test("checks across settings before a start", () => {
  const s = defaultSettings(2);
  set(s, "proto tcp");
  set(s, "latency on");
  assert.match(checkSettings(s, 2).join(), /port 2: latency with tcp needs size >= 74 \(is 64\)/);
  const t = defaultSettings(0);
  set(t, "pcap /tmp/x.pcap");
  set(t, "engine live");
  assert.match(checkSettings(t, 0).join(), /pcap replay needs engine afxdp/);
  const u = defaultSettings(0);
  set(u, "capture /tmp/c.pcap");
  set(u, "rx count");
  assert.match(checkSettings(u, 0).join(), /capture needs rx on/);
  assert.deepEqual(checkSettings(defaultSettings(0), 0), []);
});

test("port lists", () => {
  assert.deepEqual(parsePortList("all", 3), [0, 1, 2]);
  assert.deepEqual(parsePortList("2,0-1", 3), [0, 1, 2]);
  assert.throws(() => parsePortList("5", 2), /port 5 does not exist \(2 ports: 0-1\)/);
  assert.throws(() => parsePortList("a", 2), /Invalid port list 'a'/);
});

test("rate percent follows the link speed and frame size, 100% is unpaced", () => {
  const s = defaultSettings(0);
  assert.equal(targetPps(s, 10000), 0);
  set(s, "rate 10");
  // 10% of 10 Gb/s in 64-byte frames plus 20 bytes of preamble, SFD and gap: 1 Gb/s / 672 bits.
  assert.equal(targetPps(s, 10000), 1e9 / 672);
  set(s, "size 1518");
  set(s, "rate 50");
  assert.equal(targetPps(s, 1000), 5e8 / (1538 * 8));
  set(s, "rate 1000pps");
  assert.equal(targetPps(s, 10000), 1000);
});

test("saved settings load back to the same settings", () => {
  const s = defaultSettings(3);
  for (const l of ["count 7", "size 200", "rate 12.5", "src ip 10.0.0.1-10.0.0.9:2", "dport 9-99", "latency on", "dst mac 02:00:00:00:00:09", "capture /tmp/a b.pcap"]) set(s, l);
  const back = defaultSettings(3);
  for (const line of formatSettings(3, s)) applySet(back, splitWords(line).slice(2), limits);
  assert.deepEqual(back, s);
  assert.deepEqual(cloneSettings(s), s);
});

test("latency histogram buckets and quantiles", () => {
  for (const v of [0, 1, 63, 64, 65, 100, 1000, 12345, 1e6, 4e9]) {
    const b = histBucket(v);
    const { lo, width } = bucketRange(b);
    assert.ok(v >= lo && v < lo + width, `${v} in [${lo}, ${lo + width})`);
    // Exact below 64 ns; above, 32 buckets per power of two.
    if (v < 64) assert.deepEqual({ lo, width }, { lo: v, width: 1 });
    else assert.equal(width, 2 ** (Math.floor(Math.log2(v)) - 5));
  }
  const h = new Float64Array(HIST_BUCKETS);
  for (let i = 1; i <= 1000; i++) h[histBucket(i * 1000)]!++;
  const p50 = quantile(h, 0.5);
  const p99 = quantile(h, 0.99);
  // The middle of the bucket of the 500th and 990th samples: [499712, 507904) and [983040, 999424).
  assert.equal(p50, 499_712 + (8192 - 1) / 2);
  assert.equal(p99, 983_040 + (16384 - 1) / 2);
  assert.equal(quantile(new Float64Array(HIST_BUCKETS), 0.5), 0);
});

test("words after a setting's value are refused, naming them; settings are unchanged", () => {
  const s = defaultSettings(0);
  assert.throws(() => set(s, "size 64 extra"), { name: "SyntaxError", message: "Unexpected word after 'size 64': 'extra' (expected: set <ports> size <bytes>)" });
  assert.throws(() => set(s, "size 128 extra words"), /Unexpected words after 'size 128': 'extra words'/);
  assert.throws(() => set(s, "src ip 10.0.0.1 10.0.0.2"), /Unexpected word after 'src ip 10.0.0.1': '10.0.0.2'/);
  assert.throws(() => set(s, "proto tcp udp"), /Unexpected word after 'proto tcp': 'udp'/);
  assert.throws(() => set(s, "latency on off"), /Unexpected word after 'latency on': 'off'/);
  assert.throws(() => set(s, "pattern zero abc"), /Unexpected word after 'pattern zero': 'abc'/);
  assert.throws(() => set(s, "rate 50 % more"), /Unexpected word after 'rate 50 %': 'more'/);
  assert.equal(s.size, 64);
  assert.equal(s.proto, "udp");
  assert.equal(s.latency, false);
  // Settings whose value is the rest of the line still take every word.
  set(s, "rate 1.5 mpps");
  assert.deepEqual(s.rate, { kind: "pps", value: 1.5e6 });
  set(s, "pattern user hello world");
  assert.equal(s.userPattern, "hello world");
  set(s, "user pattern ab cd");
  assert.equal(s.userPattern, "ab cd");
});
