/**
 * The cnet stack against a Linux peer (root): the stack on one end of a veth pair through an af_xdp
 * lport (its namespace's addresses learned over rtnetlink), Linux on the other end in another
 * namespace. `ping` is answered (ARP resolved by the stack both ways), a gratuitous ARP goes out at
 * start, an address added with `ip addr add` is answered within a second, UDP echo is checked byte for
 * byte with `socat`, a closed port answers ICMP port unreachable (socat sees ECONNREFUSED), bad frames
 * (truncated, bad IP/UDP/ICMP checksums) are dropped and counted exactly, and no frame leaks. As a
 * process with the TCP services: `--tcp-echo` (socat, byte for byte), `--tcp-discard`, `--http` (curl),
 * `/cnet/tcp` showing a live connection's state and bytes, `/metrics/app` equal to the counters.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { AppClient } from "../../telemetry/app-client.js";
import { parseAppMetrics } from "../../telemetry/exporter.js";
import { randomBytes } from "node:crypto";
import { canUseNetns, nsExec } from "../../testing/netns.js";
import { createCnetPair } from "../../testing/cnet-peer.js";
import { cnetProcess } from "../../testing/cnet-process.js";
import { PacketSocket } from "../../testing/packet-socket.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { parseConfig } from "../../config/index.js";
import { parseIp4 } from "../../lookup/addr.js";
import { ipv4Checksum, udpFrame } from "../../wire/udp-frame.js";
import { CnetApp } from "./app.js";

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : !have("socat") || !have("ping") || !have("ethtool") ? "needs socat, ping and ethtool (apt-get install socat iputils-ping ethtool)" : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("xdplane cnet against a Linux peer", { skip }, () => {
  test("ping, gratuitous ARP, a live address, UDP echo byte for byte, port unreachable, bad input counted, no leak", async () => {
    const v = createCnetPair();
    let app: CnetApp | null = null;
    try {
      nsExec(v.nsA, "ip", "addr", "add", "10.210.0.1/24", "dev", v.a);
      nsExec(v.ns, "ip", "addr", "add", "10.210.0.2/24", "dev", v.b);
      // A veth hands partial checksums (CHECKSUM_PARTIAL: pseudo-header only) to XDP: the peer computes
      // its UDP checksums itself, as a NIC would have.
      nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }], idleTimeout: 10, intrTimeout: 50 }), "cnet.jsonc");
      app = await CnetApp.start({ config, netns: v.nsA, udpEcho: 7777, socket: false, debugFrames: true, log: () => {} });
      const counters = () => app!.stats().counters;
      // The gratuitous ARP went out (the peer caches nothing from it: Linux ignores unsolicited ARP by default).
      for (let i = 0; i < 100 && counters().arp_gratuitous_out === 0; i++) await sleep(10);
      assert.equal(counters().arp_gratuitous_out, 1);

      const ping = nsExec(v.ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.210.0.1");
      assert.match(ping, /3 packets transmitted, 3 received/);
      const neigh = nsExec(v.ns, "ip", "-j", "neigh", "show", "10.210.0.1", "dev", v.b);
      assert.equal((JSON.parse(neigh) as { lladdr: string }[])[0]!.lladdr, v.macA, "the peer resolved the stack's address to its MAC");

      // An address added on the netdev is answered within a second.
      nsExec(v.nsA, "ip", "addr", "add", "10.210.0.9/24", "dev", v.a);
      const t0 = Date.now();
      while (app.tables.localIfindex(parseIp4("10.210.0.9")) === 0 && Date.now() - t0 < 1000) await sleep(10);
      assert.equal(app.tables.localIfindex(parseIp4("10.210.0.9")), v.ifindexA, "learned within a second");
      for (let i = 0; i < 100 && counters().arp_gratuitous_out === 1; i++) await sleep(10);
      assert.equal(counters().arp_gratuitous_out, 2, "the new address announced");
      assert.match(nsExec(v.ns, "ping", "-c", "1", "-W", "2", "10.210.0.9"), /1 received/);

      // UDP echo, byte for byte.
      const payload = randomBytes(1000);
      const echo = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "2", "-", "UDP:10.210.0.1:7777"], { input: payload });
      assert.deepEqual(Buffer.from(echo), payload, "echoed byte for byte");
      const text = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "2", "-", "UDP:10.210.0.9:7777"], { input: "hello cnet\n" }).toString();
      assert.equal(text, "hello cnet\n", "echoed from the second address");

      // A closed port: ICMP port unreachable, which Linux turns into ECONNREFUSED on the connected socket.
      const refused = spawnSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "2", "-", "UDP:10.210.0.1:7778"], { input: "x\n" });
      assert.match(refused.stderr.toString(), /Connection refused/);

      // Bad input from a raw socket on the peer: each kind dropped and counted.
      const before = counters();
      const s = PacketSocket.open(v.b, v.ns);
      try {
        const good = () => udpFrame({ dst: v.macA, src: v.macB, srcIp: "10.210.0.2", dstIp: "10.210.0.1", dport: 7777, size: 80 });
        const truncated = good().slice(0, 14 + 12);
        const badIp = good(); badIp[24] = badIp[24]! ^ 0xff;
        const badUdp = good(); badUdp[40] = 0x12; badUdp[41] = 0x34; // udpFrame sends no checksum (0): a wrong one
        const otherMac = good(); otherMac[5] = otherMac[5]! ^ 1;
        const notLocal = udpFrame({ dst: v.macA, src: v.macB, srcIp: "10.210.0.2", dstIp: "10.210.0.77", dport: 7777, size: 80 });
        const badIcmp = good();
        badIcmp[23] = 1; // protocol ICMP, header checksum fixed below, ICMP checksum left wrong
        badIcmp[24] = 0; badIcmp[25] = 0;
        const ck = ipv4Checksum(badIcmp, 14);
        badIcmp[24] = ck >> 8; badIcmp[25] = ck & 0xff;
        for (const f of [truncated, badIp, badUdp, otherMac, notLocal, badIcmp]) assert.equal(s.send(f), true);
      } finally {
        s.close();
      }
      const want = { ip4_drop_bad_header: 2, udp_drop_cksum: 1, eth_drop_not_ours: 1, ip4_drop_not_local: 1, icmp_drop_bad: 1 };
      const t1 = Date.now();
      const delta = () => Object.fromEntries(Object.keys(want).map((k) => [k, counters()[k as keyof typeof want] - before[k as keyof typeof want]]));
      while (JSON.stringify(delta()) !== JSON.stringify(want) && Date.now() - t1 < 3000) await sleep(20);
      assert.deepEqual(delta(), want, "every bad frame dropped and counted where it should be");

      const c = counters();
      assert.equal(c.icmp_echo_in, 4, "four echo requests answered");
      assert.equal(c.udp_no_port, 1);
      assert.equal(c.icmp_unreach_out, 1);
      assert.equal(c.icmp_tx, 5);
      assert.equal(c.udp_tx, 2);
      assert.equal(c.arp_reply_out, c.arp_req_in, "every ARP request for us answered");
      assert.equal(c.arp_drop_bad, 0);
      assert.equal(c.arp_pending_timeout, 0);
      assert.equal(c.ip4_drop_no_route, 0);
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

  test("as a process: --tcp-echo, --tcp-discard, --http over Node streams; /cnet/tcp and /metrics/app exact; SIGTERM exits 0 with no leak", { skip: !have("curl") ? "needs curl" : false }, async () => {
    const v = createCnetPair();
    try {
      nsExec(v.nsA, "ip", "addr", "add", "10.213.0.1/24", "dev", v.a);
      nsExec(v.ns, "ip", "addr", "add", "10.213.0.2/24", "dev", v.b);
      nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
    } catch (e) {
      v.destroy();
      throw e;
    }
    const p = await cnetProcess(v, ["--udp-echo", "7", "--tcp-echo", "7", "--tcp-discard", "9", "--http", "80"]);
    const sock = p.sock;
    let hold: ChildProcess | null = null;
    try {
      const payload = randomBytes(200_000);
      const echo = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "5", "-T", "10", "-", "TCP:10.213.0.1:7"], { input: payload });
      assert.deepEqual(Buffer.from(echo), payload, "TCP echo byte for byte");
      const udp = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "2", "-", "UDP:10.213.0.1:7"], { input: "udp too\n" }).toString();
      assert.equal(udp, "udp too\n");
      const discard = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "5", "-", "TCP:10.213.0.1:9"], { input: randomBytes(100_000) });
      assert.equal(discard.length, 0, "discard answers nothing");
      const page = execFileSync("ip", ["netns", "exec", v.ns, "curl", "-sS", "--max-time", "10", "http://10.213.0.1/"]).toString();
      assert.match(page, /^xdplane cnet: fwd:0, served by Node's http over the user-space stack\n/);
      assert.match(page, /\ntcp_passive_opens +3\n/, "the page counts the connections before it: echo, discard, this one");
      const json = JSON.parse(execFileSync("ip", ["netns", "exec", v.ns, "curl", "-sS", "--max-time", "10", "http://10.213.0.1/stats.json"]).toString()) as { counters: Record<string, number> };
      assert.equal(json.counters["tcp_passive_opens"], 4);

      // A connection held open: /cnet/tcp shows it ESTABLISHED with the bytes it sent.
      hold = spawn("ip", ["netns", "exec", v.ns, "socat", "-", "TCP:10.213.0.1:9"], { stdio: ["pipe", "ignore", "ignore"] });
      hold.stdin!.write(Buffer.alloc(5000, 1));
      const client = await AppClient.connect(sock);
      try {
        type Tcp = { count: number; states: Record<string, number>; connections: { local: string; remote: string; state: string; bytesIn: number }[] };
        let tcp: Tcp | null = null;
        for (let i = 0; i < 100; i++) {
          tcp = (await client.request("/cnet/tcp")) as Tcp;
          if (tcp.connections.some((c) => c.local === "10.213.0.1:9" && c.state === "ESTABLISHED" && c.bytesIn === 5000)) break;
          await sleep(50);
        }
        const live = tcp!.connections.filter((c) => c.local === "10.213.0.1:9" && c.state === "ESTABLISHED");
        assert.equal(live.length, 1, JSON.stringify(tcp));
        assert.equal(live[0]!.bytesIn, 5000);
        assert.match(live[0]!.remote, /^10\.213\.0\.2:\d+$/);
        assert.equal(tcp!.states["LISTEN"], 3, "three listeners");
        const stats = (await client.request("/cnet/stats")) as { counters: Record<string, number> };
        const m = (await client.request("/metrics/app")) as { metrics: { name: string; type: string; samples: { labels: Record<string, string>; value: number }[] }[] };
        const metric = (name: string) => m.metrics.find((f) => f.name === name)!;
        const counter = (name: string) => {
          const at = name.indexOf("_");
          return metric(`cnet_${name.slice(0, at)}_total`).samples.find((x) => x.labels["counter"] === name.slice(at + 1))!.value;
        };
        // What the exporter makes of it: every series valid (names, labels, values), none dropped.
        const parsed = parseAppMetrics(m as unknown as Record<string, unknown>, 1000)!;
        assert.equal(parsed.invalid, 0);
        assert.equal(parsed.overLimit, 0);
        assert.equal(parsed.families.find((f) => f.name === "xdplane_app_cnet_tcp_total")!.samples.find((x) => x.labels["counter"] === "passive_opens")!.value, 5);
        assert.equal(metric("cnet_tcp_total").type, "counter");
        assert.equal(counter("tcp_passive_opens"), 5);
        assert.equal(counter("udp_rx"), 1);
        for (const k of ["tcp_rx", "tcp_tx", "udp_tx", "arp_req_in"]) assert.equal(counter(k), stats.counters[k], k);
        assert.equal(metric("cnet_tcp_connections").type, "gauge");
        assert.equal(metric("cnet_tcp_connections").samples.find((x) => x.labels["state"] === "LISTEN")!.value, 3);
        assert.equal(stats.counters["tcp_drop_cksum"], 0);
      } finally {
        client.close();
      }
      hold.stdin!.end();
      await p.stop();
    } finally {
      hold?.kill("SIGKILL");
      p.cleanup();
    }
  });

  test("as a process: xdplane cnet --udp-echo, /cnet/stats and /cnet/arp on the app socket, SIGTERM exits 0 with no leak", async () => {
    const v = createCnetPair();
    try {
      nsExec(v.nsA, "ip", "addr", "add", "10.211.0.1/24", "dev", v.a);
      nsExec(v.ns, "ip", "addr", "add", "10.211.0.2/24", "dev", v.b);
      nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
    } catch (e) {
      v.destroy();
      throw e;
    }
    const p = await cnetProcess(v, ["--udp-echo", "7777"]);
    const sock = p.sock;
    try {
      const payload = randomBytes(512);
      const echo = execFileSync("ip", ["netns", "exec", v.ns, "socat", "-t", "2", "-T", "2", "-", "UDP:10.211.0.1:7777"], { input: payload });
      assert.deepEqual(Buffer.from(echo), payload);
      const client = await AppClient.connect(sock);
      try {
        const stats = (await client.request("/cnet/stats")) as { counters: Record<string, number>; learner: Record<string, number> };
        assert.equal(stats.counters["udp_rx"], 1);
        assert.equal(stats.counters["udp_tx"], 1);
        assert.equal(stats.counters["udp_drop_cksum"], 0);
        assert.equal(stats.learner["addrAdd"], 1);
        const arp = (await client.request("/cnet/arp")) as Record<string, { ip: string; mac: string; state: string }[]>;
        assert.deepEqual(Object.values(arp).flat().map((e) => `${e.ip} ${e.mac} ${e.state}`), [`10.211.0.2 ${v.macB} reachable`]);
        const addrs = (await client.request("/cnet/addresses")) as { addresses: string[] };
        assert.deepEqual(addrs.addresses, [`10.211.0.1/24 ifindex ${v.ifindexA}`]);
      } finally {
        client.close();
      }
      const summary = await p.stop();
      assert.equal(summary.counters["udp_tx"], 1);
    } finally {
      p.cleanup();
    }
  });
});
