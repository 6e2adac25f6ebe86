/**
 * The iperf3 server against the stock iperf3 client (3.x): first over `node:net` on loopback (the
 * protocol alone), then as `xdplane cnet --iperf3` over the user-space stack with the client in a Linux
 * peer's namespace (root). Exact: the bytes the server counted per stream are the bytes the client says
 * it sent; refused tests (UDP, reverse) and a second client during a test get iperf3's own error texts.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { canUseNetns, nsExec } from "../../testing/netns.js";
import { createCnetPair } from "../../testing/cnet-peer.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { parseConfig } from "../../config/index.js";
import { CnetApp } from "./app.js";
import { Iperf3Server, type Iperf3TestReport } from "./iperf3.js";

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const noIperf = !have("iperf3") ? "needs iperf3 (apt-get install iperf3)" : false;

interface ClientResult {
  json: { error?: string; end?: { streams: { sender: { bytes: number } }[]; sum_sent: { bytes: number }; sum_received: { bytes: number } } };
  text: string;
}

/** Runs the iperf3 client (optionally in a namespace) without blocking the event loop. */
function client(args: string[], ns?: string): Promise<ClientResult> {
  const cmd = ns ? ["ip", ["netns", "exec", ns, "iperf3", ...args]] as const : ["iperf3", args] as const;
  return new Promise((resolve) => {
    execFile(cmd[0], [...cmd[1]], { timeout: 30000 }, (_e, stdout, stderr) => {
      const text = `${stdout}${stderr}`;
      let json: ClientResult["json"] = {};
      try {
        json = JSON.parse(stdout) as ClientResult["json"];
      } catch {
        // not JSON (a text run)
      }
      resolve({ json, text });
    });
  });
}

describe("iperf3 server against the iperf3 client", { skip: noIperf }, () => {
  test("over node:net: one and three streams counted exactly; UDP, reverse and a second client refused with iperf3's texts", async () => {
    const reports: Iperf3TestReport[] = [];
    const iperf = new Iperf3Server({ onTest: (r) => reports.push(r) });
    const srv: Server = createServer((s) => iperf.connection(s));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = String((srv.address() as { port: number }).port);
    // A test is reported when its control connection closes, just after the client exits.
    const reported = async (n: number) => {
      for (let i = 0; i < 300 && reports.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(reports.length, n, "reports");
    };
    try {
      const one = await client(["-c", "127.0.0.1", "-p", port, "-t", "1", "-J"]);
      assert.equal(one.json.error, undefined, one.text);
      await reported(1);
      assert.equal(reports[0]!.error, null);
      assert.deepEqual(reports[0]!.streamBytes, [one.json.end!.sum_sent.bytes], "the server counted what the client sent");
      assert.equal(one.json.end!.sum_received.bytes, one.json.end!.sum_sent.bytes, "and the client shows the server's count");
      assert.ok(one.json.end!.sum_sent.bytes > 0);

      const three = await client(["-c", "127.0.0.1", "-p", port, "-t", "1", "-P", "3", "-J"]);
      assert.equal(three.json.error, undefined, three.text);
      await reported(2);
      assert.deepEqual(reports[1]!.streamBytes, three.json.end!.streams.map((s) => s.sender.bytes), "per stream, in order");

      const udp = await client(["-c", "127.0.0.1", "-p", port, "-t", "1", "-u"]);
      assert.match(udp.text, /not implemented yet/);
      const rev = await client(["-c", "127.0.0.1", "-p", port, "-t", "1", "-R"]);
      assert.match(rev.text, /not implemented yet/);
      await reported(4);
      assert.deepEqual(reports.slice(2).map((r) => r.error), ["UDP tests are not served", "reverse (-R) tests are not served"]);

      // A second client while a test runs: ACCESS_DENIED, and the first test is unharmed.
      const long = client(["-c", "127.0.0.1", "-p", port, "-t", "2", "-J"]);
      for (let i = 0; i < 500 && !iperf.busy; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(iperf.busy, "the first test is under way");
      const busy = await client(["-c", "127.0.0.1", "-p", port, "-t", "1"]);
      assert.match(busy.text, /busy/);
      const first = await long;
      assert.equal(first.json.error, undefined, first.text);
      await reported(5);
      assert.deepEqual(reports[4]!.streamBytes, [first.json.end!.sum_sent.bytes]);
      assert.deepEqual(iperf.stats, { tests: 3, refused: 3, bytes: reports.reduce((a, r) => a + r.streamBytes.reduce((x, y) => x + y, 0), 0) });
    } finally {
      srv.close();
    }
  });

  test("xdplane cnet --iperf3 over the user-space stack: the client's bytes counted exactly, no frame leaked", { skip: !canUseNetns() ? "needs root (namespaces, veth, XDP)" : !have("ethtool") ? "needs ethtool" : false }, async () => {
    const v = createCnetPair();
    let app: CnetApp | null = null;
    try {
      nsExec(v.nsA, "ip", "addr", "add", "10.217.0.1/24", "dev", v.a);
      nsExec(v.ns, "ip", "addr", "add", "10.217.0.2/24", "dev", v.b);
      nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off"); // the peer's checksums in software, as a NIC would give them
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }] }), "iperf3.jsonc");
      app = await CnetApp.start({ config, netns: v.nsA, iperf3: 5201, socket: false, debugFrames: true, log: () => {} });
      const r = await client(["-c", "10.217.0.1", "-t", "2", "-P", "2", "-J"], v.ns);
      assert.equal(r.json.error, undefined, r.text);
      const sent = r.json.end!.sum_sent.bytes;
      assert.ok(sent > 1_000_000, `${sent} bytes sent`);
      assert.equal(r.json.end!.sum_received.bytes, sent, "the stack's server received every byte the client sent");
      const c = app.stats().counters;
      assert.equal(c.tcp_passive_opens, 3, "one control and two data connections");
      assert.equal(c.tcp_drop_cksum, 0);
      assert.equal(c.tcp_drop_rxq_full, 0);
    } finally {
      const report = app ? await app.stop() : null;
      v.destroy();
      if (report) {
        assert.equal(report.leakedFrames, 0, "no frame leaked");
        assert.deepEqual(report.faults, []);
      }
    }
  });
});
