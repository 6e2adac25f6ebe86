import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, readdirSync, existsSync, statSync, openSync, closeSync, writeSync, readSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SeqpacketServer, SeqpacketConn, connectSeqpacket, sockaddrUn } from "./seqpacket.js";
import { sys } from "../sys/native.js";
import { SysError } from "../sys/errno.js";
import { AF_UNIX, SOCK_SEQPACKET, SOCK_CLOEXEC } from "../sys/consts.js";

let dir = "";
let n = 0;
const sockPath = (): string => join(dir, `s${n++}.sock`);

function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Resolves when `cond()` holds, polling the event loop; rejects after `ms`. */
async function until(cond: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function echoServer(path: string, opts = {}): SeqpacketServer {
  return SeqpacketServer.listen(path, (c) => c.onMessage((m, fds) => {
    for (const fd of fds) sys.close(fd);
    c.send(m);
  }), opts);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "xdp-seqpacket-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("sockaddrUn", () => {
  test("encodes family, path and NUL; abstract names exactly", () => {
    const a = sockaddrUn("/tmp/x");
    assert.equal(a.readUInt16LE(0), AF_UNIX);
    assert.equal(a.subarray(2).toString(), "/tmp/x\0");
    const b = sockaddrUn("@abc");
    assert.deepEqual([...b.subarray(2)], [0, 0x61, 0x62, 0x63]);
    assert.throws(() => sockaddrUn("/" + "x".repeat(107)), RangeError);
    assert.throws(() => sockaddrUn(""), RangeError);
  });
});

describe("SeqpacketServer and SeqpacketConn", () => {
  test("echo keeps message boundaries and order", async () => {
    const path = sockPath();
    const server = echoServer(path);
    const client = connectSeqpacket(path);
    try {
      const got: string[] = [];
      client.onMessage((m) => got.push(m.toString()));
      const sent: string[] = [];
      for (let i = 0; i < 200; i++) {
        const m = `msg-${i}-${"y".repeat(i)}`;
        sent.push(m);
        assert.equal(client.send(m), true);
      }
      assert.equal(client.send(new Uint8Array([1, 2, 3])), true);
      await until(() => got.length === 201, 3000, "echoes");
      assert.deepEqual(got.slice(0, 200), sent);
      assert.equal(got[200], "\x01\x02\x03");
    } finally {
      client.close();
      server.close();
    }
  });

  test("an empty message is a message, not end of stream", async () => {
    const path = sockPath();
    const seen: number[] = [];
    let closed = false;
    const server = SeqpacketServer.listen(path, (c) => {
      c.onMessage((m) => seen.push(m.length));
      c.onClose(() => (closed = true));
    });
    const client = connectSeqpacket(path);
    try {
      client.send("");
      client.send("ab");
      await until(() => seen.length === 2, 2000, "two messages");
      assert.deepEqual(seen, [0, 2]);
      assert.equal(closed, false);
      client.close();
      await until(() => closed, 2000, "server side close");
    } finally {
      client.close();
      server.close();
    }
  });

  test("passes a pipe fd that works on the other side", async () => {
    const path = sockPath();
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const mine = openSync(fifo, "r+"); // O_RDWR on a FIFO does not block (fifo(7))
    let received: number[] = [];
    let text = "";
    const server = SeqpacketServer.listen(path, (c) => c.onMessage((m, fds) => {
      text = m.toString();
      received = fds;
      c.send("ok");
    }));
    const client = connectSeqpacket(path);
    try {
      let acked = false;
      client.onMessage(() => (acked = true));
      client.send("here is a pipe", [mine]);
      await until(() => acked, 2000, "ack");
      assert.equal(text, "here is a pipe");
      assert.equal(received.length, 1);
      const theirs = received[0]!;
      assert.notEqual(theirs, mine);
      writeSync(theirs, "through the passed fd");
      const buf = Buffer.alloc(64);
      const k = readSync(mine, buf, 0, 64, null);
      assert.equal(buf.subarray(0, k).toString(), "through the passed fd");
      closeSync(theirs);
    } finally {
      closeSync(mine);
      client.close();
      server.close();
    }
  });

  test("many connections at once", async () => {
    const path = sockPath();
    const server = SeqpacketServer.listen(path, (c) => c.onMessage((m) => c.send(`re:${m}`)), { backlog: 64 });
    const clients: SeqpacketConn[] = [];
    try {
      const replies = new Map<number, string>();
      for (let i = 0; i < 60; i++) {
        const c = connectSeqpacket(path);
        clients.push(c);
        c.onMessage((m) => replies.set(i, m.toString()));
        c.send(String(i));
      }
      await until(() => replies.size === 60, 3000, "60 replies");
      for (let i = 0; i < 60; i++) assert.equal(replies.get(i), `re:${i}`);
      assert.equal(server.connections, 60);
      for (const c of clients) c.close();
      await until(() => server.connections === 0, 3000, "server to see 60 closes");
    } finally {
      for (const c of clients) c.close();
      server.close();
    }
  });

  test("peer close is seen on both sides", async () => {
    const path = sockPath();
    let serverConn: SeqpacketConn | null = null;
    let serverSawClose = 0;
    const server = SeqpacketServer.listen(path, (c) => {
      serverConn = c;
      c.onClose(() => serverSawClose++);
    });
    try {
      const a = connectSeqpacket(path);
      await until(() => serverConn !== null, 2000, "accept");
      a.close();
      await until(() => serverSawClose === 1, 2000, "server to see close");
      assert.equal(serverConn!.isClosed, true);
      assert.equal(serverConn!.send("x"), false);

      serverConn = null;
      const b = connectSeqpacket(path);
      let clientSawClose = 0;
      b.onClose(() => clientSawClose++);
      await until(() => serverConn !== null, 2000, "accept");
      serverConn!.close();
      await until(() => clientSawClose === 1, 2000, "client to see close");
      b.close();
      assert.equal(clientSawClose, 1, "onClose runs once");
    } finally {
      server.close();
    }
  });

  test("server close unlinks the path and closes every connection", async () => {
    const path = sockPath();
    const server = echoServer(path, { mode: 0o600 });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const clients = [connectSeqpacket(path), connectSeqpacket(path), connectSeqpacket(path)];
    let closes = 0;
    for (const c of clients) c.onClose(() => closes++);
    await until(() => server.connections === 3, 2000, "3 accepts");
    server.close();
    assert.equal(existsSync(path), false);
    await until(() => closes === 3, 2000, "clients to see the server go");
    assert.throws(() => connectSeqpacket(path), (e: unknown) => e instanceof SysError && e.code === "ENOENT");
    server.close(); // idempotent
  });

  test("a stale socket file is replaced; a live one is EADDRINUSE", () => {
    const path = sockPath();
    // A socket bound and closed without unlink: what a killed process leaves behind.
    const fd = sys.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert.equal(sys.bind(fd, sockaddrUn(path)), 0);
    sys.close(fd);
    assert.throws(() => connectSeqpacket(path), (e: unknown) => e instanceof SysError && e.code === "ECONNREFUSED");
    const server = echoServer(path);
    try {
      assert.throws(() => echoServer(path), (e: unknown) => e instanceof SysError && e.code === "EADDRINUSE");
      const c = connectSeqpacket(path);
      c.close();
    } finally {
      server.close();
    }
  });

  test("an oversize message is dropped with its fds and the connection goes on", async () => {
    const path = sockPath();
    const fifo = join(dir, "fifo2");
    execFileSync("mkfifo", [fifo]);
    const pipeFd = openSync(fifo, "r+");
    const got: string[] = [];
    const errors: string[] = [];
    let conn: SeqpacketConn | null = null;
    const server = SeqpacketServer.listen(path, (c) => {
      conn = c;
      c.onError((e) => errors.push(e.code));
      c.onMessage((m, fds) => {
        got.push(m.toString());
        for (const fd of fds) sys.close(fd);
      });
    }, { maxMessage: 100 });
    const client = connectSeqpacket(path);
    try {
      await until(() => conn !== null, 2000, "accept");
      const before = openFds();
      client.send("x".repeat(1000), [pipeFd]);
      client.send("small");
      await until(() => got.length === 1, 2000, "the small message");
      assert.deepEqual(got, ["small"]);
      assert.deepEqual(errors, ["EMSGSIZE"]);
      assert.equal(conn!.oversize, 1);
      assert.equal(openFds(), before, "the fd that came with the oversize message was closed");
      conn!.maxMessage = 2000;
      client.send("x".repeat(1000));
      await until(() => got.length === 2, 2000, "the message after raising maxMessage");
    } finally {
      closeSync(pipeFd);
      client.close();
      server.close();
    }
  });

  test("a full peer queue makes send queue up, in order, then drain", async () => {
    const path = sockPath();
    const got: number[] = [];
    const server = SeqpacketServer.listen(path, (c) => c.onMessage((m) => got.push(m.readUInt32LE(0))));
    const client = connectSeqpacket(path);
    try {
      const payload = Buffer.alloc(2048);
      for (let i = 0; i < 3000; i++) {
        payload.writeUInt32LE(i, 0);
        client.send(Buffer.from(payload));
      }
      assert.ok(client.pending > 0, "the kernel queue filled before the loop ended");
      let drained = false;
      client.onDrain(() => (drained = true));
      await until(() => got.length === 3000, 10000, "3000 messages");
      await until(() => drained, 2000, "drain");
      assert.equal(client.pending, 0);
      for (let i = 0; i < 3000; i++) assert.equal(got[i], i);
      assert.throws(() => client.send(Buffer.alloc(8 * 1024 * 1024)), (e: unknown) => e instanceof SysError && e.code === "EMSGSIZE");
    } finally {
      client.close();
      server.close();
    }
  });

  test("messages that arrive before onMessage is set are kept", async () => {
    const path = sockPath();
    let conn: SeqpacketConn | null = null;
    const server = SeqpacketServer.listen(path, (c) => (conn = c));
    const client = connectSeqpacket(path);
    try {
      client.send("early-1");
      client.send("early-2");
      await until(() => conn !== null, 2000, "accept");
      await new Promise((r) => setTimeout(r, 20));
      const got: string[] = [];
      conn!.onMessage((m) => got.push(m.toString()));
      assert.deepEqual(got, ["early-1", "early-2"]);
    } finally {
      client.close();
      server.close();
    }
  });

  test("peer credentials are this process", async () => {
    const path = sockPath();
    let conn: SeqpacketConn | null = null;
    const server = SeqpacketServer.listen(path, (c) => (conn = c));
    const client = connectSeqpacket(path);
    try {
      await until(() => conn !== null, 2000, "accept");
      assert.deepEqual(conn!.peer, { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
      assert.equal(client.peer.pid, process.pid);
    } finally {
      client.close();
      server.close();
    }
  });

  test("connect errors name the path", () => {
    assert.throws(() => connectSeqpacket(join(dir, "nope.sock")), /connect\(seqpacket '.*nope\.sock'\): ENOENT/);
  });

  test("no fd leaks after servers, connections and fd passing", async () => {
    const before = openFds();
    for (let round = 0; round < 5; round++) {
      const path = sockPath();
      const server = SeqpacketServer.listen(path, (c) => c.onMessage((m, fds) => {
        c.send(m, fds);
        for (const fd of fds) sys.close(fd);
      }));
      const clients = Array.from({ length: 10 }, () => connectSeqpacket(path));
      let replies = 0;
      for (const c of clients) {
        c.onMessage((_m, fds) => {
          for (const fd of fds) sys.close(fd);
          replies++;
        });
        c.send("fd please", [0]);
      }
      await until(() => replies === 10, 3000, "10 replies");
      if (round % 2 === 0) for (const c of clients) c.close();
      server.close();
      for (const c of clients) c.close();
    }
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(openFds(), before);
  });
});

describe("end of stream", () => {
  test("an empty message carrying an fd, then a hang-up: the fd is delivered, none leaks", async () => {
    const path = sockPath();
    const fifo = join(dir, "fifo3");
    execFileSync("mkfifo", [fifo]);
    const mine = openSync(fifo, "r+");
    const before = openFds();
    const got: { len: number; fds: number[] }[] = [];
    let closed = false;
    const server = SeqpacketServer.listen(path, (c) => {
      c.onMessage((m, fds) => {
        got.push({ len: m.length, fds });
        for (const fd of fds) sys.close(fd);
      });
      c.onClose(() => (closed = true));
    });
    try {
      const c = connectSeqpacket(path);
      c.send(Buffer.alloc(0), [mine]);
      c.close();
      await until(() => closed, 2000, "the hang-up");
      assert.deepEqual(got.map((g) => [g.len, g.fds.length]), [[0, 1]]);
    } finally {
      server.close();
    }
    assert.equal(openFds(), before);
    closeSync(mine);
  });
});
