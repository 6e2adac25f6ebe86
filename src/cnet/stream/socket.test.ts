/**
 * The Duplex and the server over the TCP stand-in (src/testing/fake-tcp.ts: the channel API of the
 * contract, with resets and failures injected at will and no root; src/apps/cnet/local.test.ts runs the
 * same kind of traffic over the real stack against Linux): data both ways byte for byte against a naive oracle (the bytes written), backpressure
 * (write() false while the peer does not read, 'drain' once it does), end/destroy mapping to
 * shutdown/close/abort, errors (refused, reset, timed out) with their codes, and Node's http server and
 * client over it unchanged.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import { randomBytes } from "node:crypto";
import { FakeTcpStack } from "../../testing/fake-tcp.js";
import { StackHost } from "./host.js";
import { createServer, connect } from "./net.js";
import type { CnetSocket } from "./socket.js";

const until = async (f: () => boolean, what: string) => {
  for (let i = 0; i < 3000 && !f(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(f(), `waited for ${what}`);
};
const collect = (s: NodeJS.ReadableStream) => new Promise<Buffer>((resolve, reject) => {
  const parts: Buffer[] = [];
  s.on("data", (d: Buffer) => parts.push(d));
  s.on("end", () => resolve(Buffer.concat(parts)));
  s.on("error", reject);
});

async function withHost(o: ConstructorParameters<typeof FakeTcpStack>[0], f: (fake: FakeTcpStack, host: StackHost) => Promise<void>): Promise<void> {
  const fake = new FakeTcpStack(o);
  const host = StackHost.start(fake);
  try {
    await f(fake, host);
  } finally {
    await host.stop();
  }
}

test("stream: an echo server, 1 MB both ways byte for byte, addresses, end -> EOF -> close, every channel freed", async () => {
  await withHost({ sndBuf: 8192, rcvBuf: 16384, bytesPerWalk: 4096 }, async (fake) => {
    let serverSide: CnetSocket | null = null;
    const srv = createServer((s) => { serverSide = s; s.pipe(s); });
    await new Promise<void>((r) => srv.listen(7, "0.0.0.0", () => r()));
    assert.deepEqual(srv.address(), { address: "0.0.0.0", family: "IPv4", port: 7 });
    const data = randomBytes(1 << 20);
    const cli = connect(7, "10.0.0.1");
    await new Promise<void>((r) => cli.once("connect", () => r()));
    assert.equal(cli.remoteAddress, "10.0.0.1");
    assert.equal(cli.remotePort, 7);
    assert.equal(cli.localAddress, "10.0.0.1");
    assert.equal(cli.localPort, 49152);
    assert.equal(serverSide!.remotePort, 49152);
    assert.equal(serverSide!.localPort, 7);
    const got = collect(cli);
    cli.end(data);
    assert.deepEqual(await got, data, "echoed byte for byte");
    await until(() => cli.destroyed && serverSide!.destroyed, "both sides closed");
    assert.equal(cli.bytesWritten, data.length);
    assert.equal(cli.bytesRead, data.length);
    assert.equal(serverSide!.bytesRead, data.length);
    const closed = new Promise<void>((r) => srv.close(() => r()));
    await closed;
    await until(() => fake.openChannels === 0, "every channel freed");
  });
});

test("stream: backpressure: write() is false once the stack's buffers are full and the peer does not read; drain when it reads", async () => {
  await withHost({ sndBuf: 4096, rcvBuf: 8192 }, async (fake) => {
    let peer: CnetSocket | null = null;
    const srv = createServer({ pauseOnConnect: true }, (s) => { peer = s; }).listen(9);
    const cli = connect({ port: 9, host: "10.0.0.1", writableHighWaterMark: 1024 });
    await new Promise<void>((r) => cli.once("connect", () => r()));
    await until(() => peer !== null, "accepted");
    const chunk = Buffer.alloc(1024, 7);
    let written = 0;
    // The stack holds sndBuf + rcvBuf bytes, the stream its high-water mark: then write() says stop.
    while (cli.write(chunk)) {
      written += chunk.length;
      await new Promise((r) => setImmediate(r));
      assert.ok(written < 1 << 20, "write() never said stop");
    }
    written += chunk.length;
    await until(() => cli.writableLength > 0 && fake.list().some((c) => c.rcv === 8192), "the peer's receive buffer full");
    assert.equal(cli.writableNeedDrain, true);
    const stuck = cli.bytesWritten;
    assert.equal(stuck, 4096 + 8192, "the stack took exactly its two buffers");
    const drained = new Promise<void>((r) => cli.once("drain", () => r()));
    const got = collect(peer!);
    peer!.resume();
    await drained;
    cli.end();
    const all = await got;
    assert.equal(all.length, written);
    assert.ok(all.every((b) => b === 7));
    srv.close();
  });
});

test("stream: destroy() closes gracefully (queued data still arrives, then EOF); destroy(err) and resetAndDestroy() reset the peer", async () => {
  await withHost({}, async (fake) => {
    const accepted: CnetSocket[] = [];
    const srv = createServer((s) => { accepted.push(s); }).listen(11);
    const a = connect(11, "10.0.0.1");
    await new Promise<void>((r) => a.once("connect", () => r()));
    await until(() => accepted.length === 1, "accepted");
    const got = collect(accepted[0]!);
    a.write("queued before destroy");
    a.destroy();
    assert.equal((await got).toString(), "queued before destroy");

    const b = connect(11, "10.0.0.1");
    await new Promise<void>((r) => b.once("connect", () => r()));
    await until(() => accepted.length === 2, "accepted");
    const err = new Promise<NodeJS.ErrnoException>((r) => accepted[1]!.once("error", r));
    accepted[1]!.resume();
    const own = new Promise<Error>((r) => b.once("error", r));
    b.destroy(new Error("app gave up"));
    assert.equal((await own).message, "app gave up", "the app's own error on its own socket");
    const e = await err;
    assert.equal(e.code, "ECONNRESET");
    assert.match(e.message, /^read ECONNRESET 10\.0\.0\.1:49153 \(reset by the peer\)$/);

    const c = connect(11, "10.0.0.1");
    await new Promise<void>((r) => c.once("connect", () => r()));
    await until(() => accepted.length === 3, "accepted");
    const err2 = new Promise<NodeJS.ErrnoException>((r) => accepted[2]!.once("error", r));
    accepted[2]!.resume();
    c.resetAndDestroy();
    assert.equal((await err2).code, "ECONNRESET");
    assert.equal(fake.counters.resets, 2);
    await new Promise<void>((r) => srv.close(() => r()));
    await until(() => fake.openChannels === 0, "every channel freed");
  });
});

test("stream: errors: connection refused, reset while reading, timed out; listen on a taken port; bad addresses named", async () => {
  await withHost({}, async (fake, host) => {
    const refused = connect(4444, "10.0.0.1");
    const e1 = await new Promise<NodeJS.ErrnoException>((r) => refused.once("error", r));
    assert.equal(e1.code, "ECONNREFUSED");
    assert.match(e1.message, /^connect ECONNREFUSED 10\.0\.0\.1:4444/);

    const accepted: CnetSocket[] = [];
    const peerErrors: string[] = [];
    const srv = createServer((s) => { accepted.push(s); s.on("error", (e: NodeJS.ErrnoException) => peerErrors.push(e.code!)); }).listen(12);
    const s1 = connect(12, "10.0.0.1");
    await new Promise<void>((r) => s1.once("connect", () => r()));
    const ch = fake.chnl;
    void ch;
    const e2p = new Promise<NodeJS.ErrnoException>((r) => s1.once("error", r));
    s1.resume();
    fake.resetFromPeer(fake.list().find((c) => c.local === "10.0.0.1:49153")!.cd);
    host.kick();
    const e2 = await e2p;
    assert.equal(e2.code, "ECONNRESET");

    const s2 = connect(12, "10.0.0.1");
    await new Promise<void>((r) => s2.once("connect", () => r()));
    const e3p = new Promise<NodeJS.ErrnoException>((r) => s2.once("error", r));
    s2.resume();
    fake.failFromPeer(fake.list().find((c) => c.local === "10.0.0.1:49154")!.cd);
    host.kick();
    assert.equal((await e3p).code, "ETIMEDOUT");

    await until(() => peerErrors.length === 1, "the server side of the failed connection reset");
    assert.deepEqual(peerErrors, ["ECONNRESET"]);
    const dup = createServer().listen(12);
    const e4 = await new Promise<Error>((r) => dup.once("error", r));
    assert.match(e4.message, /port 12 is in use/);
    assert.throws(() => connect(80, "example.com"), /host 'example\.com' is not a dotted IPv4 address/);
    assert.throws(() => connect(0, "10.0.0.1"), /port 0 is not 1 to 65535/);
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
    await until(() => fake.openChannels === 0, "every channel freed");
  });
});

test("stream: setNoDelay/setKeepAlive reach the channel; setTimeout emits 'timeout' when idle", async () => {
  await withHost({}, async (fake) => {
    let peer: CnetSocket | null = null;
    const srv = createServer({ noDelay: true }, (s) => { peer = s; }).listen(13);
    const s = connect({ port: 13, host: "10.0.0.1", keepAlive: true });
    await new Promise<void>((r) => s.once("connect", () => r()));
    await until(() => peer !== null, "accepted");
    const cd = (x: CnetSocket) => fake.list().find((c) => c.local === `${x.localAddress}:${x.localPort}` && c.peer === `${x.remoteAddress}:${x.remotePort}`)!.cd;
    assert.deepEqual(fake.optionsOf(cd(s)), { nodelay: false, keepalive: true });
    assert.deepEqual(fake.optionsOf(cd(peer!)), { nodelay: true, keepalive: false });
    s.setNoDelay();
    assert.equal(fake.optionsOf(cd(s)).nodelay, true);
    await new Promise<void>((r) => s.setTimeout(30, () => r()));
    s.setTimeout(0);
    s.destroy();
    srv.close();
  });
});

test("stream: Node's http server and client over it, unchanged (http.createServer + 'connection', http.request + createConnection)", async () => {
  await withHost({ sndBuf: 4096, bytesPerWalk: 1500 }, async (fake) => {
    const body = randomBytes(200_000);
    const web = http.createServer((req, res) => {
      if (req.url === "/big") {
        res.setHeader("content-type", "application/octet-stream");
        res.end(body);
      } else {
        const parts: Buffer[] = [];
        req.on("data", (d: Buffer) => parts.push(d));
        req.on("end", () => res.end(`got ${Buffer.concat(parts).length} bytes on ${req.method} ${req.url} from ${req.socket.remoteAddress}\n`));
      }
    });
    const srv = createServer((sock) => web.emit("connection", sock)).listen(80);
    // An agent whose connections are the stack's (keep-alive: both requests on one connection).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let connections = 0;
    (agent as unknown as { createConnection: () => unknown }).createConnection = () => { connections++; return connect(80, "10.0.0.1"); };
    const get = (path: string, method = "GET", payload?: Buffer) => new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = http.request({ method, path, host: "10.0.0.1", port: 80, agent }, (res) => {
        collect(res).then((b) => resolve({ status: res.statusCode!, body: b }), reject);
      });
      req.on("error", reject);
      req.end(payload);
    });
    const big = await get("/big");
    assert.equal(big.status, 200);
    assert.deepEqual(big.body, body);
    const post = await get("/up", "POST", randomBytes(100_000));
    assert.equal(post.body.toString(), "got 100000 bytes on POST /up from 10.0.0.1\n");
    assert.equal(connections, 1, "both requests on one kept-alive connection");
    assert.equal(srv.accepted, 1);
    agent.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
    web.close();
    await until(() => fake.openChannels === 0, "every channel freed");
  });
});
