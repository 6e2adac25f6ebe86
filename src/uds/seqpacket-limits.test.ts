/**
 * Limits of the SEQPACKET server: a client that does not read its replies (bounded send queue, reading
 * paused), a cap on connections, accept() at the open-files limit (EMFILE backoff), and a socket file
 * that disappears (re-bound at the same path).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, unlinkSync, existsSync, lstatSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SeqpacketServer, SeqpacketConn, connectSeqpacket, type ListenOptions } from "./seqpacket.js";
import { sys } from "../sys/native.js";
import { catchUp, rawConnect } from "../testing/flood.js";
import { MSG_DONTWAIT, MSG_NOSIGNAL, EAGAIN } from "../sys/consts.js";

let dir = "";
let n = 0;
const sockPath = (): string => join(dir, `l${n++}.sock`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(2);
  }
}


/** Round trip of one request on a (reading) client, in ms. */
async function roundTrip(c: SeqpacketConn, msg: string): Promise<number> {
  const t0 = performance.now();
  let got = "";
  c.onMessage((m) => (got = m.toString()));
  c.send(msg);
  await until(() => got === msg, 2000, `reply to ${msg}`);
  return performance.now() - t0;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "xdp-seqlimits-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test("a client that floods requests without reading: the send queue stays within maxPending, others are served, replies come in order", async () => {
  const path = sockPath();
  const BOUND = 32;
  const conns: SeqpacketConn[] = [];
  let maxSeen = 0;
  const warnings: string[] = [];
  const opts: ListenOptions = { maxPending: BOUND, onWarning: (m: string) => warnings.push(m) };
  const server = SeqpacketServer.listen(path, (c) => {
    conns.push(c);
    c.onMessage((m) => {
      c.send(m);
      if (c.pending > maxSeen) maxSeen = c.pending;
    });
  }, opts);
  const flood = rawConnect(path);
  const other = connectSeqpacket(path);
  try {
    const N = 20_000;
    const msg = Buffer.alloc(8);
    let sent = 0;
    let worstOther = 0;
    let rounds = 0;
    const end = Date.now() + 1500;
    while (sent < N && Date.now() < end) {
      msg.writeUInt32LE(sent, 0);
      const rc = sys.sendmsg(flood, msg, null, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (rc === -EAGAIN) {
        // The flooder is held back: meanwhile another client must be answered promptly.
        worstOther = Math.max(worstOther, await roundTrip(other, `ping-${rounds++}`));
        continue;
      }
      assert.ok(rc >= 0, `sendmsg: ${rc}`);
      sent++;
      if (sent % 256 === 0) await new Promise((r) => setImmediate(r));
      const p = conns[0]?.pending ?? 0;
      if (p > maxSeen) maxSeen = p;
    }
    await sleep(50);
    const server0 = conns.find((c) => c.peer.pid === process.pid && c !== undefined)!;
    assert.ok(server0 !== undefined);
    assert.ok(maxSeen <= BOUND, `server queued ${maxSeen} replies for one connection, bound ${BOUND}`);
    assert.ok(sent < N, `the flooder was held back (sent ${sent} of ${N})`);
    assert.ok(rounds > 0, "the other client was tried while the flood was on");
    assert.ok(worstOther < 100, `another client waited ${worstOther.toFixed(1)} ms`);
    assert.ok(warnings.some((w) => /not reading/.test(w)), `a warning was logged: ${JSON.stringify(warnings)}`);
    // Now the flooder reads: every reply, in order, and it may send the rest.
    const next = await catchUp(flood, {
      total: N, sent, ms: 5000, bufSize: 64,
      request: (k) => (msg.writeUInt32LE(k, 0), msg),
      reply: (k, b) => {
        assert.equal(b.length, 8);
        assert.equal(b.readUInt32LE(0), k, "replies in order");
      },
      onRound: () => {
        const p = conns[0]?.pending ?? 0;
        if (p > maxSeen) maxSeen = p;
      },
    });
    assert.equal(next, N, "every request answered once the flooder reads");
    assert.ok(maxSeen <= BOUND, `server queued ${maxSeen} replies, bound ${BOUND}`);
  } finally {
    sys.close(flood);
    other.close();
    server.close();
  }
});

test("maxConnections 'refuse': extra connections are closed at once and logged; a slot frees for the next", async () => {
  const path = sockPath();
  const warnings: string[] = [];
  const opts: ListenOptions = { maxConnections: 4, onWarning: (m: string) => warnings.push(m) };
  const server = SeqpacketServer.listen(path, (c) => c.onMessage((m) => c.send(m)), opts);
  const clients: SeqpacketConn[] = [];
  try {
    for (let i = 0; i < 6; i++) clients.push(connectSeqpacket(path));
    await until(() => clients.filter((c) => c.isClosed).length === 2, 2000, "two refused");
    assert.equal(server.connections, 4);
    assert.ok(clients[4]!.isClosed && clients[5]!.isClosed, "the last two were refused");
    assert.ok(warnings.some((w) => /4 connections/.test(w)), JSON.stringify(warnings));
    clients[0]!.close();
    await until(() => server.connections === 3, 2000, "a slot freed");
    const c = connectSeqpacket(path);
    clients.push(c);
    assert.ok((await roundTrip(c, "hello")) < 1000);
  } finally {
    for (const c of clients) c.close();
    server.close();
  }
});

test("maxConnections 'wait': extra connections wait in the backlog and are served when a slot frees", async () => {
  const path = sockPath();
  const opts: ListenOptions = { maxConnections: 2, whenFull: "wait" };
  const server = SeqpacketServer.listen(path, (c) => c.onMessage((m) => c.send(m)), opts);
  const a = connectSeqpacket(path);
  const b = connectSeqpacket(path);
  const c = connectSeqpacket(path);
  try {
    let got = "";
    c.onMessage((m) => (got = m.toString()));
    c.send("waiting");
    await sleep(100);
    assert.equal(got, "", "not served while two are open");
    assert.equal(c.isClosed, false, "not refused either");
    assert.equal(server.connections, 2);
    a.close();
    await until(() => got === "waiting", 2000, "served after a slot freed");
  } finally {
    a.close();
    b.close();
    c.close();
    server.close();
  }
});

test("the socket file is re-created when it disappears", async () => {
  const path = sockPath();
  const opts: ListenOptions = { rebindCheckMs: 50 };
  const server = SeqpacketServer.listen(path, (c) => c.onMessage((m) => c.send(m)), { mode: 0o666, ...opts });
  const old = connectSeqpacket(path);
  try {
    assert.ok((await roundTrip(old, "before")) < 1000);
    const ino = lstatSync(path).ino;
    unlinkSync(path);
    await until(() => existsSync(path), 1000, "the socket file back");
    assert.notEqual(lstatSync(path).ino, ino);
    assert.equal(lstatSync(path).mode & 0o777, 0o666, "mode re-applied");
    const c = connectSeqpacket(path);
    assert.ok((await roundTrip(c, "after")) < 1000);
    c.close();
    assert.ok((await roundTrip(old, "old connection still served")) < 1000);
    // A file someone else put at the path is left alone.
    unlinkSync(path);
    writeFileSync(path, "not a socket");
    await sleep(200);
    assert.equal(lstatSync(path).isSocket(), false);
    unlinkSync(path);
    await until(() => existsSync(path) && lstatSync(path).isSocket(), 1000, "re-created again");
  } finally {
    old.close();
    server.close();
  }
  assert.equal(existsSync(path), false, "close removes the re-created file");
});

test("accept at the open-files limit: no busy loop, one warning, clients served once fds free", async () => {
  // A child with RLIMIT_NOFILE lowered, so accept() hits EMFILE.
  const path = sockPath();
  const script = join(dir, "emfile-child.mjs");
  const mod = new URL("./seqpacket.js", import.meta.url).href;
  writeFileSync(script, `
import { SeqpacketServer } from ${JSON.stringify(mod)};
const warnings = [];
const conns = [];
const server = SeqpacketServer.listen(${JSON.stringify(path)}, (c) => { conns.push(c); c.onMessage((m) => c.send(m)); },
  { maxConnections: 10000, backlog: 256, onWarning: (m) => warnings.push(m) });
process.stdout.write("ready\\n");
process.stdin.once("data", () => {
  // The parent has connected many clients: measure CPU while at EMFILE.
  const t0 = process.cpuUsage();
  const w0 = Date.now();
  setTimeout(() => {
    const u = process.cpuUsage(t0);
    const ms = Date.now() - w0;
    const open = conns.length;
    const atLimit = warnings.slice();
    // Free fds: the waiting clients must be served now.
    for (const c of conns.splice(0, 40)) c.close();
    setTimeout(() => {
      process.stdout.write(JSON.stringify({ cpu: (u.user + u.system) / 1000 / ms, open, after: server.connections, warnings: atLimit }) + "\\n");
      server.close();
      process.exit(0);
    }, 700);
  }, 600);
});
`);
  const child = spawn("sh", ["-c", `ulimit -n 64 && exec "${process.execPath}" "${script}"`], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const clients: number[] = [];
  try {
    await until(() => out.includes("ready"), 5000, "child ready");
    for (let i = 0; i < 100; i++) clients.push(rawConnect(path));
    await sleep(100);
    child.stdin.write("go\n");
    await until(() => out.split("\n").length > 2, 5000, "child report");
    const rep = JSON.parse(out.split("\n")[1]!) as { cpu: number; open: number; after: number; warnings: string[] };
    assert.ok(rep.open < 64, `accepted ${rep.open} under a limit of 64 fds`);
    assert.ok(rep.cpu < 0.3, `the server used ${(rep.cpu * 100).toFixed(0)}% of a CPU at EMFILE`);
    assert.ok(rep.after > rep.open - 40, `waiting clients accepted once fds freed (${rep.after})`);
    const emfile = rep.warnings.filter((w) => /EMFILE/.test(w));
    assert.equal(emfile.length, 1, `one EMFILE warning while at the limit: ${JSON.stringify(rep.warnings)}`);
  } finally {
    for (const fd of clients) sys.close(fd);
    child.kill();
  }
});
