/**
 * The streams over the real stack without root: two CnetStacks joined by the simulated link of
 * src/testing/tcp-link.ts (ring ports, a fake clock advanced 1 ms per walk, 1% loss and reordering on
 * demand), one host walking the link (both stacks) and a second host over B's channels (its walks are
 * the link's). Checked: an echo server returns 1 MB byte for byte through loss and reordering; Node's
 * http client and server talk over it; a paused reader stops its writer (write() stays false) and
 * everything arrives once it reads; connecting to a closed port is ECONNREFUSED; every frame is back
 * at the end. Over IPv6 (the link's `ipv6: true`): connect to a global and a link-local (scoped) host,
 * one server on "::" taking both families, the sockets' remote/local address and family.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { tcpLink, type TcpLink } from "../../testing/tcp-link.js";
import { StackHost } from "./host.js";
import { CnetServer } from "./server.js";
import { CnetSocket } from "./socket.js";
import type { StreamStack } from "./types.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const collect = (s: NodeJS.ReadableStream) => new Promise<Buffer>((resolve, reject) => {
  const parts: Buffer[] = [];
  s.on("data", (d: Buffer) => parts.push(d));
  s.on("end", () => resolve(Buffer.concat(parts)));
  s.on("error", reject);
});

/** Host A walks the link (both stacks, frames moved, 1 ms of fake time); host B only holds B's sockets. */
function hosts(L: TcpLink): { ha: StackHost; hb: StackHost } {
  const sa: StreamStack = { walk: () => { L.step(1); return 1; }, chnl: L.a.chnl };
  const sb: StreamStack = { walk: () => 0, chnl: L.b.chnl };
  return { ha: StackHost.start(sa, { walksPerTurn: 8 }), hb: StackHost.start(sb, { idleTurns: 0, maxSleepMs: 50 }) };
}

test("streams over two real stacks: echo of 1 MB through 1% loss and reordering, Node http both ends, backpressure, refused, no frame leaked", async () => {
  const L = tcpLink({ tcp: { timeWaitMs: 50, sndBuf: 65536, rcvBuf: 65536 } });
  const { ha, hb } = hosts(L);
  try {
    const echo = new CnetServer({ stackHost: hb }, (s) => s.pipe(s)).listen(7);
    L.ab.loss = 0.01;
    L.ab.reorder = 0.01;
    L.ab.reorderMs = 3;
    L.ba.loss = 0.01;
    const data = randomBytes(1 << 20);
    const c = new CnetSocket({ stackHost: ha }).connect(7, "10.0.0.2");
    const got = collect(c);
    c.end(data);
    assert.equal(sha(await got), sha(data), "1 MB echoed byte for byte through loss and reordering");
    assert.ok(L.ca().tcp_retransmits + L.cb().tcp_retransmits > 0, "the losses were repaired by retransmissions");
    L.ab.loss = L.ab.reorder = L.ba.loss = 0;

    // Node's http server on B, Node's http client on A (its agent's connections are the stack's).
    const web = http.createServer((req, res) => res.end(`${req.method} ${req.url} from ${req.socket.remoteAddress}:${req.socket.remotePort}\n`));
    const hs = new CnetServer({ stackHost: hb }, (s) => web.emit("connection", s)).listen(80);
    const agent = new http.Agent({ keepAlive: false });
    (agent as unknown as { createConnection: () => unknown }).createConnection = () => new CnetSocket({ stackHost: ha }).connect(80, "10.0.0.2");
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: "10.0.0.2", port: 80, path: "/x", agent }, (res) => collect(res).then((b) => resolve(b.toString()), reject)).on("error", reject);
    });
    assert.match(body, /^GET \/x from 10\.0\.0\.1:\d+\n$/);
    agent.destroy();

    // Backpressure: B's reader paused; A writes until write() stays false, then B reads everything.
    let reader: CnetSocket | null = null;
    const bp = new CnetServer({ stackHost: hb, pauseOnConnect: true }, (s) => { reader = s; }).listen(9);
    const w = new CnetSocket({ stackHost: ha }).connect(9, "10.0.0.2");
    await new Promise<void>((r) => w.once("connect", () => r()));
    const chunk = randomBytes(16384);
    const sent: Buffer[] = [];
    let stuck = false;
    while (!stuck) {
      sent.push(chunk);
      if (!w.write(chunk)) {
        stuck = await new Promise<boolean>((r) => {
          const t = setTimeout(() => { w.off("drain", on); r(true); }, 200);
          const on = () => { clearTimeout(t); r(false); };
          w.once("drain", on);
        });
      }
      assert.ok(sent.length < 200, "write() never stayed stopped");
    }
    assert.ok(w.bytesWritten <= 65536 * 2 + 16384 * 2, `the stack took at most its buffers (${w.bytesWritten})`);
    const all = collect(reader!);
    reader!.resume();
    w.end();
    assert.equal(sha(await all), sha(Buffer.concat(sent)), "everything arrived once the reader read");

    // Nobody listens on 4444: the SYN is answered with an RST.
    const refused = new CnetSocket({ stackHost: ha }).connect(4444, "10.0.0.2");
    const e = await new Promise<NodeJS.ErrnoException>((r) => refused.once("error", r));
    assert.equal(e.code, "ECONNREFUSED");

    for (const s of [echo, hs, bp]) await new Promise<void>((r) => s.close(() => r()));
    web.close();
  } finally {
    await hb.stop();
    await ha.stop();
    // TIME_WAIT (50 ms of fake time) and the last FINs: walk until every connection is gone.
    for (let i = 0; i < 2000; i++) L.step(1);
  }
  assert.equal(L.close(), 0, "every frame back in the pool");
});

test("streams over IPv6: connect({ host: 'fd00::2' }) and a link-local peer with its scope, echo through loss; one server on '::' takes IPv4 and IPv6; remoteAddress/remoteFamily; ECONNREFUSED; no frame leaked", async () => {
  const L = tcpLink({ ipv6: true, tcp: { timeWaitMs: 50, sndBuf: 65536, rcvBuf: 65536 } });
  const { ha, hb } = hosts(L);
  try {
    const peers: string[] = [];
    const echo = new CnetServer({ stackHost: hb }, (s) => {
      peers.push(`${s.remoteFamily} ${s.remoteAddress} ${s.localFamily} ${s.localAddress}:${s.localPort}`);
      s.pipe(s);
    }).listen(7, "::");
    assert.deepEqual(echo.address(), { address: "::", family: "IPv6", port: 7 });
    L.ab.loss = 0.01;
    L.ab.reorder = 0.01;
    L.ab.reorderMs = 3;
    const data = randomBytes(512 << 10);
    const c = new CnetSocket({ stackHost: ha }).connect({ host: "fd00::2", port: 7 });
    assert.equal(c.remoteFamily, "IPv6");
    const got = collect(c);
    await new Promise<void>((r) => c.once("connect", () => r()));
    assert.deepEqual([c.remoteAddress, c.remotePort, c.localAddress, c.address().family], ["fd00::2", 7, "fd00::1", "IPv6"]);
    c.end(data);
    assert.equal(sha(await got), sha(data), "512 KiB echoed over IPv6 through loss and reordering");
    L.ab.loss = L.ab.reorder = 0;
    // A link-local peer with its scope (A's ifindex 5), and an IPv4 client of the same server.
    for (const host of ["fe80::2%5", "10.0.0.2"]) {
      const s = new CnetSocket({ stackHost: ha }).connect(7, host);
      const back = collect(s);
      s.end(`hello ${host}`);
      assert.equal((await back).toString(), `hello ${host}`);
    }
    assert.deepEqual(peers.map((p) => p.replace(/:\d+$/, "")), ["IPv6 fd00::1 IPv6 fd00::2", "IPv6 fe80::1 IPv6 fe80::2", "IPv4 10.0.0.1 IPv4 10.0.0.2"]);
    // Nobody listens on 4444 over IPv6 either: ECONNREFUSED naming the peer.
    const refused = new CnetSocket({ stackHost: ha }).connect({ host: "fd00::2", port: 4444 });
    const e = await new Promise<NodeJS.ErrnoException>((r) => refused.once("error", r));
    assert.equal(e.code, "ECONNREFUSED");
    assert.match(e.message, /fd00::2/);
    // A scope that is not an ifindex is refused up front.
    assert.throws(() => new CnetSocket({ stackHost: ha }).connect(7, "fe80::2%eth0"), /not an ifindex/);
    await new Promise<void>((r) => echo.close(() => r()));
  } finally {
    await hb.stop();
    await ha.stop();
    for (let i = 0; i < 2000; i++) L.step(1);
  }
  assert.equal(L.close(), 0, "every frame back in the pool");
});
