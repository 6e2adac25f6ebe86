/**
 * The app socket under abuse: a client that sends requests without reading the replies (bounded queue,
 * other clients still served, replies in order once it reads), and the cap on connections.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppSocket } from "./app-socket.js";
import { AppClient } from "./app-client.js";
import { Logger } from "./log.js";
import { SyntheticApp } from "../testing/synthetic-app.js";
import { connectSeqpacket, type SeqpacketConn } from "../uds/seqpacket.js";
import { sys } from "../sys/native.js";
import { catchUp, rawConnect } from "../testing/flood.js";
import { MSG_DONTWAIT, MSG_NOSIGNAL, EAGAIN } from "../sys/consts.js";

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "xdp-appsock-lim-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(2);
  }
}

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: new Logger({ level: "debug", json: true, sink: { write: (s: string) => lines.push(s) } }) };
}


function open(opts: Record<string, unknown> = {}) {
  const app = new SyntheticApp({ name: "synth", ports: ["eth0:0"], pps: 1000, now: () => 1_000_000 });
  const { log, lines } = capture();
  const sock = AppSocket.open(app, { socketDir: join(dir, String(Math.random()).slice(2)), log, ...opts });
  // An async command that echoes its sequence number: shows order and the async reply path.
  sock.registerCommand("/test/seq", async (params) => {
    await Promise.resolve();
    return { n: Number(params[0]) };
  });
  return { sock, lines };
}

test("a client that sends /test/seq and /info without reading: queue bounded, others answered within 100 ms, replies in order after", async () => {
  const BOUND = 16;
  const { sock, lines } = open({ maxPending: BOUND });
  const flood = rawConnect(sock.path);
  const other = await AppClient.connect(sock.path);
  try {
    const N = 20_000;
    let sent = 0;
    let worst = 0;
    let rounds = 0;
    let maxQueued = 0;
    const sample = () => {
      const s = (sock as unknown as { stats?: { queued: number } }).stats;
      if (s !== undefined && s.queued > maxQueued) maxQueued = s.queued;
    };
    const end = Date.now() + 1500;
    while (sent < N && Date.now() < end) {
      const rc = sys.sendmsg(flood, Buffer.from(`/test/seq,${sent}`), null, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (rc === -EAGAIN) {
        sample();
        const t0 = performance.now();
        const info = await other.request("/info");
        worst = Math.max(worst, performance.now() - t0);
        assert.equal(info.app, "synth");
        rounds++;
        continue;
      }
      assert.ok(rc > 0, `sendmsg ${rc}`);
      sent++;
      if (sent % 128 === 0) {
        await new Promise((r) => setImmediate(r));
        sample();
      }
    }
    assert.ok(sent < N, `the flooding client was held back (it sent ${sent} of ${N} without reading)`);
    assert.ok(rounds > 0, "another client was tried while the flood was on");
    assert.ok(worst < 100, `another client waited ${worst.toFixed(1)} ms for /info`);
    const stats = (sock as unknown as { stats: { queued: number; queuedHighWater: number; maxPending: number } }).stats;
    assert.ok(stats.queuedHighWater <= BOUND, `the server held ${stats.queuedHighWater} replies for one client, bound ${BOUND}`);
    assert.ok(maxQueued <= BOUND);
    assert.ok(lines.some((l) => /not reading its replies/.test(l)), "logged");
    // The flooder reads now: every reply in order, and the rest of its requests go through.
    const next = await catchUp(flood, {
      total: N, sent,
      request: (k) => Buffer.from(`/test/seq,${k}`),
      reply: (k, b) => assert.deepEqual(JSON.parse(b.toString()), { n: k }, "replies in order"),
    });
    assert.equal(next, N, "every request answered");
    assert.ok(sock.stats.queuedHighWater <= BOUND, `high water ${sock.stats.queuedHighWater}`);
  } finally {
    sys.close(flood);
    other.close();
    sock.close();
  }
});

test("connections are capped (default 64): extra ones are closed at once and logged; existing ones go on", async () => {
  const { sock, lines } = open();
  const conns: SeqpacketConn[] = [];
  try {
    for (let i = 0; i < 66; i++) {
      conns.push(connectSeqpacket(sock.path));
      if (i % 8 === 7) await sleep(5); // within the listen backlog
    }
    await until(() => conns.filter((c) => c.isClosed).length === 2, 2000, "two refused");
    assert.equal(sock.connections, 64);
    assert.ok(conns[64]!.isClosed && conns[65]!.isClosed);
    assert.ok(lines.some((l) => /refused/.test(l)), "a refusal was logged");
    let got = "";
    conns[0]!.onMessage((m) => (got = m.toString()));
    conns[0]!.send("/app/appname");
    await until(() => got !== "", 1000, "an open connection answered");
    assert.equal(got, '{"name":"synth"}');
  } finally {
    for (const c of conns) c.close();
    sock.close();
  }
});

test("maxConnections is an option", async () => {
  const { sock } = open({ maxConnections: 2 });
  const conns: SeqpacketConn[] = [];
  try {
    for (let i = 0; i < 3; i++) conns.push(connectSeqpacket(sock.path));
    await until(() => conns[2]!.isClosed, 2000, "third refused");
    assert.equal(sock.connections, 2);
  } finally {
    for (const c of conns) c.close();
    sock.close();
  }
});
