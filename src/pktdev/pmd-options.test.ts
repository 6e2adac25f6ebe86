/** Driver options after the colon of `pmd`: defaults, every key, and errors that name the driver and the key. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAfPacketOptions, parsePcapOptions, parseTapOptions, pmdOptionsError, splitPmdOptions } from "./pmd-options.js";

test("net_af_packet options: defaults and every key", () => {
  assert.deepEqual(parseAfPacketOptions(undefined), { fanout: "hash", group: undefined, blockSize: 65536, tovMs: 1, promisc: false });
  assert.deepEqual(parseAfPacketOptions("fanout=lb,group=7,block_size=131072,tov=20,promisc"),
    { fanout: "lb", group: 7, blockSize: 131072, tovMs: 20, promisc: true });
  assert.equal(parseAfPacketOptions("fanout=none").fanout, "none");
  assert.throws(() => parseAfPacketOptions("fanout=spread"), /net_af_packet option 'fanout=spread': expected one of hash, lb, cpu, rollover, rnd, qm, none/);
  assert.throws(() => parseAfPacketOptions("block_size=5000"), /'block_size=5000': expected a power of two from 4096 to 4194304/);
  assert.throws(() => parseAfPacketOptions("group=65536"), /'group=65536': expected an integer from 0 to 65535/);
  assert.throws(() => parseAfPacketOptions("tov=0"), /'tov=0': expected an integer from 1 to 1000/);
  assert.throws(() => parseAfPacketOptions("promisc=maybe"), /'promisc=maybe': expected 1 or 0/);
});

test("net_tap options", () => {
  assert.deepEqual(parseTapOptions(undefined), { iface: undefined, persist: false });
  assert.deepEqual(parseTapOptions("iface=tap7,persist=1"), { iface: "tap7", persist: true });
  assert.throws(() => parseTapOptions("iface=a-very-long-netdev-name"), /net_tap option 'iface=a-very-long-netdev-name': a netdev name has 1 to 15 characters/);
  assert.throws(() => parseTapOptions("iface=a/b"), /without '\/', ':' or spaces/);
});

test("net_pcap options", () => {
  assert.deepEqual(parsePcapOptions("rx=/tmp/in.pcap,tx=/tmp/out.pcap,rate=1000,loop=3"), { rx: "/tmp/in.pcap", tx: "/tmp/out.pcap", rate: 1000, loop: 3 });
  assert.deepEqual(parsePcapOptions("tx=/tmp/o.pcap"), { rx: undefined, tx: "/tmp/o.pcap", rate: 0, loop: 1 });
  assert.deepEqual(parsePcapOptions("rx=a:b.pcap,loop=0"), { rx: "a:b.pcap", tx: undefined, rate: 0, loop: 0 });
  assert.throws(() => parsePcapOptions("rate=fast,rx=x"), /net_pcap option 'rate=fast': expected an integer from 0 to 100000000/);
  assert.throws(() => parsePcapOptions("loop=3"), /net_pcap options 'loop' need a file to replay \(rx=PATH\)/);
  assert.throws(() => parsePcapOptions("rx="), /net_pcap option 'rx': expected a file path/);
  assert.throws(() => parsePcapOptions("rx=/a,tx=/a"), /rx and tx name the same file '\/a'/);
});

test("the splitter: unknown, repeated and empty keys are refused; pmdOptionsError reports, never throws", () => {
  assert.deepEqual([...splitPmdOptions("x", "a=1,b", ["a", "b"])], [["a", "1"], ["b", "1"]]);
  assert.throws(() => splitPmdOptions("net_pcap", "rx=a,speed=2", ["rx"]), /net_pcap option 'speed' is unknown \(known: rx\)/);
  assert.throws(() => splitPmdOptions("net_pcap", "rx=a,rx=b", ["rx"]), /option 'rx' is given twice/);
  assert.throws(() => splitPmdOptions("net_pcap", "rx=a,,", ["rx"]), /an empty option/);
  assert.equal(pmdOptionsError("net_pcap", "rx=/a"), undefined);
  assert.equal(pmdOptionsError("net_af_xdp", "anything=goes"), undefined, "drivers without options of ours are not checked");
  assert.match(pmdOptionsError("net_tap", "persist=2") ?? "", /net_tap option 'persist=2'/);
});
