/**
 * Node streams over the real stack against a Linux peer (root): the stack on this thread
 * ({@link LocalStack}: an af_xdp lport on one end of a veth, the event-loop host), Linux in another
 * namespace on the other end. Node's `http.createServer()` serves `curl` over the stack unchanged (a
 * small page and 2 MB checked by SHA-256); an echo server built on the Duplex returns 1 MB to `socat`
 * byte for byte; `connect()` from the stack to a Linux `socat` echo works both ways; a Linux client
 * that resets is seen as ECONNRESET; the TCP counters agree with the connections made; every frame is
 * back at the end. The peer tools run as child processes (asynchronously: the stack runs on this
 * thread's event loop).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { canUseNetns, nsExec } from "../../testing/netns.js";
import { createCnetPair } from "../../testing/cnet-peer.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { parseConfig } from "../../config/index.js";
import { createServer, connect } from "../../cnet/stream/net.js";
import type { CnetSocket } from "../../cnet/stream/socket.js";
import { LocalStack } from "./local.js";

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const skip = !canUseNetns() ? "needs root (namespaces, veth, XDP)" : !have("socat") || !have("curl") || !have("ethtool") ? "needs socat, curl and ethtool" : false;

/** Runs a command in a namespace without blocking the event loop; resolves with its stdout. */
function run(ns: string, cmd: string[], input?: Buffer): Promise<{ code: number | null; out: Buffer; err: string }> {
  return new Promise((resolve) => {
    const p = spawn("ip", ["netns", "exec", ns, ...cmd], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    p.stdout.on("data", (d: Buffer) => out.push(d));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code) => resolve({ code, out: Buffer.concat(out), err }));
    p.stdin.end(input);
  });
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const collect = (s: NodeJS.ReadableStream) => new Promise<Buffer>((resolve, reject) => {
  const parts: Buffer[] = [];
  s.on("data", (d: Buffer) => parts.push(d));
  s.on("end", () => resolve(Buffer.concat(parts)));
  s.on("error", reject);
});

describe("Node streams over the stack against a Linux peer", { skip }, () => {
  test("http.createServer served to curl, an echo Duplex to socat, connect() to Linux, a reset seen, counters exact, no frame leaked", async () => {
    const v = createCnetPair();
    let local: LocalStack | null = null;
    let linuxEcho: ReturnType<typeof spawn> | null = null;
    try {
      nsExec(v.nsA, "ip", "addr", "add", "10.212.0.1/24", "dev", v.a);
      nsExec(v.ns, "ip", "addr", "add", "10.212.0.2/24", "dev", v.b);
      nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }] }), "cnet.jsonc");
      local = await LocalStack.open({ config, netns: v.nsA, debugFrames: true, log: () => {} });

      // Node's own HTTP server, unchanged, on the stack's connections.
      const big = randomBytes(2 << 20);
      const web = http.createServer((req, res) => {
        if (req.url === "/big") res.end(big);
        else res.end(`hello from ${req.socket.localAddress}:${req.socket.localPort} to ${req.socket.remoteAddress}\n`);
      });
      const httpSrv = createServer((sock) => web.emit("connection", sock)).listen(80);
      const page = await run(v.ns, ["curl", "-sS", "--max-time", "10", "http://10.212.0.1/"]);
      assert.equal(page.code, 0, page.err);
      assert.equal(page.out.toString(), "hello from 10.212.0.1:80 to 10.212.0.2\n");
      const got = await run(v.ns, ["curl", "-sS", "--max-time", "20", "http://10.212.0.1/big"]);
      assert.equal(got.code, 0, got.err);
      assert.equal(got.out.length, big.length);
      assert.equal(sha(got.out), sha(big), "2 MB byte for byte");

      // An echo server on the Duplex (pipe), 1 MB through socat.
      const echoSrv = createServer((s) => s.pipe(s)).listen(7);
      const payload = randomBytes(1 << 20);
      const echoed = await run(v.ns, ["socat", "-t", "5", "-T", "10", "-", "TCP:10.212.0.1:7"], payload);
      assert.equal(echoed.code, 0, echoed.err);
      assert.equal(sha(echoed.out), sha(payload), "1 MB echoed byte for byte");

      // connect() from the stack to a Linux echo.
      linuxEcho = spawn("ip", ["netns", "exec", v.ns, "socat", "TCP-LISTEN:9000,reuseaddr", "PIPE"], { stdio: "ignore" });
      let s: CnetSocket | null = null;
      let attempts = 0;
      let refused = 0;
      for (let i = 0; i < 50 && s === null; i++) {
        const c = connect(9000, "10.212.0.2");
        attempts++;
        const ok = await new Promise<boolean>((r) => { c.once("connect", () => r(true)); c.once("error", (e: NodeJS.ErrnoException) => { assert.equal(e.code, "ECONNREFUSED"); refused++; r(false); }); });
        if (ok) s = c;
        else await new Promise((r) => setTimeout(r, 50)); // socat not listening yet: refused (RST)
      }
      assert.ok(s !== null, "connected to the Linux echo");
      const out = randomBytes(300_000);
      const back: Buffer[] = [];
      s.on("data", (d: Buffer) => back.push(d));
      const ended = new Promise<void>((r) => s!.once("end", () => r()));
      s.end(out);
      await ended;
      assert.equal(sha(Buffer.concat(back)), sha(out), "300 KB through Linux and back");

      // A Linux client that resets: the server side sees ECONNRESET.
      const resetSeen = new Promise<string>((r) => {
        const rs = createServer((sock) => { sock.on("error", (e: NodeJS.ErrnoException) => { r(e.code!); rs.close(); }); sock.resume(); }).listen(8);
      });
      const py = await run(v.ns, ["python3", "-c", "import socket,struct\ns=socket.create_connection(('10.212.0.1',8))\ns.setsockopt(socket.SOL_SOCKET,socket.SO_LINGER,struct.pack('ii',1,0))\ns.close()"]);
      assert.equal(py.code, 0, py.err);
      assert.equal(await resetSeen, "ECONNRESET");

      const c = local.stats();
      assert.equal(c.tcp_passive_opens, 4, "two curls, one socat, one reset client");
      assert.equal(c.tcp_active_opens, attempts, "every connect() an active open");
      assert.equal(c.tcp_attempt_fails, refused, "those Linux refused (socat not yet listening) failed");
      assert.equal(c.tcp_rst_in, 1 + refused, "the resetting client's RST, and one per refused connect");
      assert.equal(c.tcp_drop_cksum, 0);
      assert.equal(httpSrv.accepted, 2);
      assert.equal(echoSrv.accepted, 1);
      const report = await local.close();
      local = null;
      assert.deepEqual(report.faults, []);
      assert.equal(report.leakedFrames, 0, "no frame leaked");
      assert.equal(report.doubleFrees, 0);
    } finally {
      linuxEcho?.kill("SIGKILL");
      await local?.close();
      v.destroy();
    }
  });

  test("backpressure end to end: a paused reader closes the stack's window (rcvWnd 0), a Linux reader that does not read stops write() until it reads; byte for byte", async () => {
    const v = createCnetPair();
    let local: LocalStack | null = null;
    let py: ReturnType<typeof spawn> | null = null;
    try {
      nsExec(v.nsA, "ip", "addr", "add", "10.217.0.1/24", "dev", v.a);
      nsExec(v.ns, "ip", "addr", "add", "10.217.0.2/24", "dev", v.b);
      nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
      const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }] }), "cnet.jsonc");
      local = await LocalStack.open({ config, netns: v.nsA, debugFrames: true, log: () => {}, tcp: { rcvBuf: 65536, sndBuf: 65536 } });
      const tcpOf = (port: number) => local!.tcpTable.list().find((c) => c.localPort === port && c.state === "ESTABLISHED");

      // Receive side: the server pauses its socket; Linux sends 2 MB.
      let server: CnetSocket | null = null;
      const srv = createServer({ pauseOnConnect: true }, (sock) => { server = sock; }).listen(5001);
      const data = randomBytes(2 << 20);
      const sender = run(v.ns, ["socat", "-u", "-", "TCP:10.217.0.1:5001"], data);
      // Closed: less than one segment offered (receiver SWS avoidance, RFC 1122 4.2.3.3, offers nothing smaller).
      const closed = () => (tcpOf(5001)?.rcvWnd ?? 65536) < 1448;
      for (let i = 0; i < 200 && (server === null || !closed()); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(closed(), `the window closed while the app does not read: ${JSON.stringify(tcpOf(5001))}`);
      const held = server!.bytesRead;
      assert.ok(held <= server!.readableHighWaterMark + 65536, `the stream holds at most its high-water mark and one slab read (${held})`);
      const got = collect(server!);
      server!.resume();
      assert.equal(sha(await got), sha(data), "2 MB byte for byte once it reads");
      assert.equal((await sender).code, 0);
      srv.close();

      // Send side: a Linux peer that accepts and does not read until told.
      py = spawn("ip", ["netns", "exec", v.ns, "python3", "-c", [
        "import socket,sys,hashlib", "l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)",
        "l.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,65536); l.bind(('10.217.0.2',5002)); l.listen(1)", "print('ready',flush=True)",
        "c,_=l.accept(); sys.stdin.readline(); h=hashlib.sha256(); n=0",
        "while True:\n d=c.recv(65536)\n if not d: break\n h.update(d); n+=len(d)",
        "print(n,h.hexdigest(),flush=True)"].join("\n")], { stdio: ["pipe", "pipe", "inherit"] });
      let pyOut = "";
      py.stdout!.on("data", (d: Buffer) => (pyOut += d.toString()));
      for (let i = 0; i < 100 && !pyOut.includes("ready"); i++) await new Promise((r) => setTimeout(r, 20));
      const c = connect(5002, "10.217.0.2");
      await new Promise<void>((r) => c.once("connect", () => r()));
      const chunk = randomBytes(65536);
      const sent: Buffer[] = [];
      // Write until a 'drain' does not come within 300 ms: the stack's send buffer and the peer's receive
      // buffer are full and nobody reads.
      let stuck = false;
      while (!stuck) {
        sent.push(chunk);
        if (!c.write(chunk)) {
          stuck = await new Promise<boolean>((r) => {
            const t = setTimeout(() => { c.off("drain", on); r(true); }, 300);
            const on = () => { clearTimeout(t); r(false); };
            c.once("drain", on);
          });
        }
        assert.ok(sent.length < 400, "write() never stayed stopped");
      }
      assert.equal(c.writableNeedDrain, true, "still full: the peer does not read");
      assert.equal(c.bytesWritten < sent.length * chunk.length, true, "the stream holds what the stack could not take");
      const drained = new Promise<void>((r) => c.once("drain", () => r()));
      py.stdin!.write("go\n");
      await drained;
      c.end();
      const all = Buffer.concat(sent);
      for (let i = 0; i < 500 && !pyOut.includes(String(all.length)); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(pyOut.trim().split("\n").pop(), `${all.length} ${sha(all)}`, "everything written arrived, byte for byte");
      const report = await local.close();
      local = null;
      assert.deepEqual(report.faults, []);
      assert.equal(report.leakedFrames, 0);
    } finally {
      py?.kill("SIGKILL");
      await local?.close();
      v.destroy();
    }
  });
});
