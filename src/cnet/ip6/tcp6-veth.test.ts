/**
 * TCP over IPv6 in the stack against a Linux peer (root): the stack on one end of a veth pair through an
 * af_xdp lport in its own namespace (it learns the global and link-local addresses over rtnetlink), a TCP
 * echo service on channels (accept, recv, send, shutdown at EOF, close) run after every walk on this
 * thread's event loop; Linux on the other end (its transmit checksum offload off: a veth hands XDP
 * partial checksums).
 * - `socat` TCP6 to the global address: a short echo, then 10 MB echoed (10 MB each way at once) byte for
 *   byte; the same to the link-local address with its scope;
 * - a closed port: socat fails with "Connection refused" (the stack's RST);
 * - the peer's kernel found every segment's checksum good (/proc/net/snmp Tcp InCsumErrors 0) and had no
 *   resets but the refused one; the stack counted no bad segment; the kernel of the stack's namespace saw
 *   no TCP; then 10 MB echoed under 1% loss each way and 1% duplication (ip6tables statistic, TEE: this
 *   VM's kernel has no netem) byte-exact; no frame leaked.
 * - `xdplane cnet --http --tcp-echo --tcp-discard` as a process: `curl -6` of the page at the global
 *   address, socat TCP6 echo, `/cnet/tcp` listing a live IPv6 connection with its addresses; SIGTERM
 *   exits 0 with no leak.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { AppClient } from "../../telemetry/app-client.js";
import { createHash, randomBytes } from "node:crypto";
import { canUseNetns, nsExec } from "../../testing/netns.js";
import { createCnetPair } from "../../testing/cnet-peer.js";
import { ip6Pair, socatIn, vethStack, until } from "../../testing/veth-stack.js";
import { cnetProcess } from "../../testing/cnet-process.js";
import { formatIp6 } from "../../lookup/addr.js";
import { CHNL_EV_CLOSED } from "../chnl.js";
import type { CnetStack } from "../stack.js";

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : !have("socat") || !have("ethtool") ? "needs socat and ethtool" : false;

const NET = "2001:db8:8::";
const US = `${NET}1`;
const PEER = `${NET}2`;
const PORT = 7007;


/** /proc/net/snmp's Tcp line of a namespace as numbers (TCP over IPv6 counts there too). */
function tcpSnmp(ns: string): Record<string, number> {
  const lines = nsExec(ns, "cat", "/proc/net/snmp").split("\n").filter((l) => l.startsWith("Tcp:"));
  const keys = lines[0]!.trim().split(/\s+/).slice(1);
  const vals = lines[1]!.trim().split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, vals[i]!]));
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A TCP echo service on channels: call `step(stack)` after every walk. */
function tcpEcho(port: number) {
  let lcd = -1;
  const conns = new Map<number, { buf: Uint8Array; off: number; len: number; eof: boolean; shut: boolean }>();
  let accepted = 0;
  const step = (s: CnetStack): number => {
    const ch = s.chnl;
    if (lcd < 0) {
      lcd = ch.open("tcp");
      ch.bind(lcd, 0, port);
      ch.listen(lcd, 16);
    }
    let did = 0;
    for (let cd; (cd = ch.accept(lcd)) >= 0;) {
      conns.set(cd, { buf: new Uint8Array(65536), off: 0, len: 0, eof: false, shut: false });
      accepted++;
      did++;
    }
    for (const [cd, c] of conns) {
      try {
        for (let round = 0; round < 8; round++) {
          if (c.len > 0) {
            const k = ch.send(cd, c.buf, c.off, c.len);
            c.off += k;
            c.len -= k;
            did += k;
            if (c.len > 0) break;
          }
          if (c.eof) break;
          const k = ch.recv(cd, c.buf, 0, c.buf.length);
          if (k < 0) c.eof = true;
          else if (k === 0) break;
          else {
            c.off = 0;
            c.len = k;
            did += k;
          }
        }
        if (c.eof && c.len === 0 && !c.shut) {
          c.shut = true;
          ch.shutdown(cd);
        }
      } catch {
        c.eof = true;
        c.len = 0;
        c.shut = true;
      }
      if ((ch.events(cd) & CHNL_EV_CLOSED) !== 0) {
        ch.close(cd);
        conns.delete(cd);
      }
    }
    return did;
  };
  return { step, accepted: () => accepted, open: () => conns.size };
}

describe("cnet TCP over IPv6 against a Linux peer", { skip }, () => {
  test("socat TCP6 echo (short and 10 MB each way) to the global and link-local addresses, a closed port refused, checksums good, no leak", async () => {
    const v = createCnetPair({ ipv6: true });
    ip6Pair(v, US, PEER);
    const echo = tcpEcho(PORT);
    const r = vethStack(v, { name: "tcp6", onWalk: (s) => echo.step(s) });
    const { tables, counters, addrs } = r;
    try {
      const state = (ip: string) => addrs.list().find((a) => a.ip === ip)?.state;
      const ll = tables.addresses6().map((a) => formatIp6(a.ip)).find((a) => a.startsWith("fe80:"));
      assert.ok(ll, "the kernel's link-local address learned");
      assert.ok(await until(() => state(US) === "preferred" && state(ll) === "preferred", 5000), `DAD passed: ${JSON.stringify(addrs.list())}`);
      assert.ok(await until(() => nsExec(v.ns, "ip", "-6", "addr", "show", "dev", v.b, "tentative").trim() === "", 5000));
      const peerBefore = tcpSnmp(v.ns);

      const short = Buffer.from("hello over IPv6\n");
      const r1 = await socatIn(v.ns, `TCP6:[${US}]:${PORT}`, short, ["-t", "5"]);
      assert.deepEqual(r1.out, short, `short echo (${r1.err})`);
      const big = randomBytes(10 << 20);
      const r2 = await socatIn(v.ns, `TCP6:[${US}]:${PORT}`, big, ["-t", "5"], 120000);
      assert.equal(r2.out.length, big.length, `10 MB echoed from ${US} (${r2.err})`);
      assert.equal(sha(r2.out), sha(big));
      const r3 = await socatIn(v.ns, `TCP6:[${ll}%${v.b}]:${PORT}`, short, ["-t", "5"]);
      assert.deepEqual(r3.out, short, `short echo from ${ll} (${r3.err})`);
      const big2 = randomBytes(10 << 20);
      const r4 = await socatIn(v.ns, `TCP6:[${ll}%${v.b}]:${PORT}`, big2, ["-t", "5"], 120000);
      assert.equal(r4.out.length, big2.length, `10 MB echoed from ${ll} (${r4.err})`);
      assert.equal(sha(r4.out), sha(big2));

      const refused = await socatIn(v.ns, `TCP6:[${US}]:${PORT + 1}`, Buffer.from("x\n"), ["-t", "5"]);
      assert.match(refused.err, /Connection refused/);

      assert.ok(await until(() => echo.open() === 0, 5000), "every echo connection closed");
      assert.equal(echo.accepted(), 4);
      const c = counters.read();
      assert.deepEqual(
        { cksum: c.tcp_drop_cksum, bad: c.tcp_drop_bad, mcast: c.tcp6_drop_mcast, noPort: c.tcp_no_port, rstOut: c.tcp_rst_out, passive: c.tcp_passive_opens, v4: c.tcp_rx - c.tcp6_rx, proto: c.ip6_drop_proto },
        { cksum: 0, bad: 0, mcast: 0, noPort: 1, rstOut: 1, passive: 4, v4: 0, proto: 0 },
      );
      const peer = tcpSnmp(v.ns);
      assert.equal(peer["InCsumErrors"]! - peerBefore["InCsumErrors"]!, 0, "the peer's kernel: every checksum good");
      assert.equal(peer["InErrs"]! - peerBefore["InErrs"]!, 0);
      assert.equal(peer["AttemptFails"]! - peerBefore["AttemptFails"]!, 1, "the refused connect only");
      assert.equal(peer["ActiveOpens"]! - peerBefore["ActiveOpens"]!, 5);
      // The kernel of the stack's namespace saw no TCP (the stack took it all).
      const k = tcpSnmp(v.nsA);
      assert.deepEqual({ in: k["InSegs"], out: k["OutSegs"], rst: k["OutRsts"] }, { in: 0, out: 0, rst: 0 });

      // Under loss and duplication (ip6tables on the Linux side: 1% dropped each way, 1% duplicated
      // towards the stack): 10 MB echoed byte-exact, the losses repaired by both sides.
      const ipt = (...a: string[]) => nsExec(v.ns, "ip6tables", ...a);
      ipt("-A", "OUTPUT", "-d", US, "-p", "tcp", "-m", "statistic", "--mode", "random", "--probability", "0.01", "-j", "DROP");
      ipt("-A", "OUTPUT", "-d", US, "-p", "tcp", "-m", "statistic", "--mode", "random", "--probability", "0.01", "-j", "TEE", "--gateway", US);
      ipt("-A", "INPUT", "-s", US, "-p", "tcp", "-m", "statistic", "--mode", "random", "--probability", "0.01", "-j", "DROP");
      const lossy = randomBytes(10 << 20);
      const before = counters.read();
      const r5 = await socatIn(v.ns, `TCP6:[${US}]:${PORT}`, lossy, ["-t", "5"], 180000);
      assert.equal(r5.out.length, lossy.length, `10 MB echoed under loss (${r5.err})`);
      assert.equal(sha(r5.out), sha(lossy));
      const hits = nsExec(v.ns, "ip6tables", "-L", "-v", "-n", "-x").split("\n").filter((l) => /statistic/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
      assert.equal(hits.length, 3);
      assert.ok(hits.every((h) => h > 0), `every impairment fired: ${hits.join(", ")}`);
      const after = counters.read();
      assert.ok(after.tcp_retransmits - before.tcp_retransmits > 0, "the stack retransmitted what was dropped");
      assert.ok(after.tcp_rx_dup - before.tcp_rx_dup > 0, "the stack saw the duplicates");
      assert.equal(after.tcp_drop_cksum, 0);
      const peerEnd = tcpSnmp(v.ns);
      // (Linux's own drops in OUTPUT fail the transmit locally: it sends them later, not as retransmissions.)
      assert.equal(peerEnd["InCsumErrors"]! - peerBefore["InCsumErrors"]!, 0);
      assert.equal(peerEnd["EstabResets"]! - peer["EstabResets"]!, 0);
    } finally {
      await r.stop();
    }
  });
});

describe("xdplane cnet over IPv6 against a Linux peer", { skip: skip || (!have("curl") ? "needs curl" : false) }, () => {
  test("as a process: curl -6 of --http, socat TCP6 echo, /cnet/tcp lists the IPv6 connection, SIGTERM exits 0 with no leak", async () => {
    const v = createCnetPair({ ipv6: true });
    let hold: ChildProcess | null = null;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const us = "2001:db8:9::1";
    const peer = "2001:db8:9::2";
    ip6Pair(v, us, peer);
    const p = await cnetProcess(v, ["--tcp-echo", "7", "--tcp-discard", "9", "--http", "80"]);
    const sock = p.sock;
    try {
      assert.ok(await until(() => nsExec(v.ns, "ip", "-6", "addr", "show", "dev", v.b, "tentative").trim() === "", 5000));
      // The stack's DAD for the address it learned: retry the first request until it answers.
      let page = "";
      for (let i = 0; i < 50 && page === ""; i++) {
        const r = spawnSync("ip", ["netns", "exec", v.ns, "curl", "-6", "-sS", "--max-time", "2", `http://[${us}]/`]);
        page = r.status === 0 ? r.stdout.toString() : "";
        if (page === "") await sleep(100);
      }
      assert.match(page, /^xdplane cnet: fwd:0, served by Node's http over the user-space stack\n/);
      const payload = randomBytes(300_000);
      const echoed = await socatIn(v.ns, `TCP6:[${us}]:7`, payload, ["-t", "5"]);
      assert.equal(sha(echoed.out), sha(payload), `TCP6 echo byte for byte (${echoed.err})`);
      hold = spawn("ip", ["netns", "exec", v.ns, "socat", "-", `TCP6:[${us}]:9`], { stdio: ["pipe", "ignore", "ignore"] });
      hold.stdin!.write(Buffer.alloc(3000, 1));
      const client = await AppClient.connect(sock);
      try {
        type Tcp = { connections: { local: string; remote: string; state: string; bytesIn: number }[] };
        let tcp: Tcp | null = null;
        for (let i = 0; i < 100; i++) {
          tcp = (await client.request("/cnet/tcp")) as Tcp;
          if (tcp.connections.some((c) => c.local === `[${us}]:9` && c.state === "ESTABLISHED" && c.bytesIn === 3000)) break;
          await sleep(50);
        }
        const live = tcp!.connections.filter((c) => c.local === `[${us}]:9` && c.state === "ESTABLISHED");
        assert.equal(live.length, 1, JSON.stringify(tcp));
        assert.match(live[0]!.remote, new RegExp(`^\\[${peer}\\]:\\d+$`));
        const stats = (await client.request("/cnet/stats")) as { counters: Record<string, number> };
        assert.equal(stats.counters["tcp_drop_cksum"], 0);
        assert.equal(stats.counters["tcp_rx"], stats.counters["tcp6_rx"], "every segment over IPv6");
        assert.equal(stats.counters["tcp_passive_opens"], 3);
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
});
