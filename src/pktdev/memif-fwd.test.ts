/**
 * Two processes: `xdplane fwd -c cfg.jsonc lb` serving a net_memif lport (role=server, from the jsonc's
 * `pmd` options, opened by PortSet in the main thread and driven by the forwarder's worker thread), and
 * this process as the memif client. Frames come back MAC-swapped byte for byte; this client leaves and a
 * new one connects (the forwarder's worker follows); the forwarder exits with no frame leaked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { MemifPort } from "./memif.js";
import { framesInPool, bytesOf, sendAll, receive, assertAllReturned } from "../testing/port-conformance.js";
import { udpFrame } from "../testing/packet-socket.js";

const cli = new URL("../cli/main.js", import.meta.url).pathname;
const hex = (f: Uint8Array) => Buffer.from(f).toString("hex");
const swapped = (f: Uint8Array) => {
  const s = f.slice();
  s.set(f.subarray(6, 12), 0);
  s.set(f.subarray(0, 6), 6);
  return s;
};

function config(pmd: string): string {
  return `{
  "application": { "name": "fwd-memif-test" },
  "defaults": { "bufcnt": 4, "bufsz": 2, "rxdesc": 1, "txdesc": 1, "cache": 64 },
  "umems": { "umem0": { "bufcnt": 4, "bufsz": 2, "rxdesc": 1, "txdesc": 1 } },
  "lports": { "memif0:0": { "pmd": ${JSON.stringify(pmd)}, "qid": 0, "umem": "umem0" } },
  "lcore-groups": { "initial": [0], "group0": [1] },
  "threads": { "main": { "group": "initial" }, "fwd:0": { "group": "group0", "lports": ["memif0:0"] } }
}
`;
}

async function roundTrip(port: MemifPort, pool: Mempool, first: number, count: number): Promise<void> {
  const frames = Array.from({ length: count }, (_, i) => udpFrame({ dst: "02:00:00:00:00:0b", src: "02:00:00:00:00:0a", seq: first + i, size: 60 + (i % 9) * 150 }));
  const back: number[] = [];
  for (let i = 0; i < count; i += 100) {
    await sendAll(port, framesInPool(pool, frames.slice(i, i + 100)));
    back.push(...(await receive(port, Math.min(100, count - i), 5000)));
  }
  assert.equal(back.length, count);
  assert.deepEqual(back.map((h) => hex(bytesOf(pool, h))), frames.map((f) => hex(swapped(f))));
  pool.freeBulk(Uint32Array.from(back), back.length);
}

test("xdplane fwd lb serving net_memif in another process: frames come back MAC-swapped; a new client after the first left; no leak", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xdplane-fwd-memif-"));
  const socket = join(dir, "memif.sock");
  const cfg = join(dir, "fwd.jsonc");
  writeFileSync(cfg, config(`net_memif:role=server,socket=${socket},socket-abstract=no,id=7,rsize=9`));
  const umem = Umem.create({ frames: 2048 });
  const pool = Mempool.create({ umem, cacheSize: 32, debug: true });
  let child: ChildProcess | null = null;
  try {
    child = spawn(process.execPath, [cli, "fwd", "-c", cfg, "lb", "--debug-frames", "--json", "--interval", "100", "--no-socket"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const end = Date.now() + 15000;
    while (!out.includes('"type":"stats"') && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    assert.ok(out.includes('"type":"stats"'), `the forwarder started (exit ${child.exitCode}): ${err}`);

    const c1 = MemifPort.create({ name: "memif9:0", pid: 0, mempool: pool, role: "client", socket, socketAbstract: false, id: 7, reconnectMs: 50 });
    try {
      await c1.whenUp(5000);
      assert.equal(c1.info()["remoteIfName"], "memif0", "the lport's netdev name is the interface name");
      await roundTrip(c1, pool, 0, 500);
    } finally {
      c1.close();
    }
    const c2 = MemifPort.create({ name: "memif9:0", pid: 0, mempool: pool, role: "client", socket, socketAbstract: false, id: 7, reconnectMs: 50 });
    try {
      await c2.whenUp(5000);
      await roundTrip(c2, pool, 1000, 500);
    } finally {
      c2.close();
    }

    const exit = new Promise<number | null>((r) => child!.once("exit", r));
    child.kill("SIGTERM");
    assert.equal(await exit, 0, `exit code (stderr: ${err})`);
    child = null;
    const line = out.trim().split("\n").find((l) => l.includes('"type":"summary"'));
    assert.ok(line, `a summary (stdout: ${out.slice(-500)})`);
    const sum = JSON.parse(line) as { leakedFrames: number; doubleFrees: number; faults: string[]; ports: { ipackets: number; opackets: number }[] };
    assert.deepEqual([sum.leakedFrames, sum.doubleFrees, sum.faults], [0, 0, []]);
    assert.deepEqual([sum.ports[0]!.ipackets, sum.ports[0]!.opackets], [1000, 1000]);
  } finally {
    child?.kill("SIGKILL");
    umem.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assertAllReturned(pool);
});

test("the forwarder killed (SIGKILL) and started again: this client's link goes down, TX is dropped and counted, and it reconnects by itself", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xdplane-fwd-memif-"));
  const socket = join(dir, "memif.sock");
  const cfg = join(dir, "fwd.jsonc");
  writeFileSync(cfg, config(`net_memif:role=server,socket=${socket},socket-abstract=no`));
  const umem = Umem.create({ frames: 2048 });
  const pool = Mempool.create({ umem, cacheSize: 32, debug: true });
  const children: ChildProcess[] = [];
  const start = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [cli, "fwd", "-c", cfg, "lb", "--json", "--interval", "100", "--no-socket"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const end = Date.now() + 15000;
    while (!out.includes('"type":"stats"') && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    assert.ok(out.includes('"type":"stats"'), "the forwarder started");
    return child;
  };
  const client = MemifPort.create({ name: "memif9:0", pid: 0, mempool: pool, role: "client", socket, socketAbstract: false, reconnectMs: 50 });
  try {
    const f1 = await start();
    await client.whenUp(5000);
    await roundTrip(client, pool, 0, 200);
    const gone = new Promise((r) => f1.once("exit", r));
    f1.kill("SIGKILL");
    await gone;
    const end = Date.now() + 3000;
    while (client.linkUp() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(client.linkUp(), false);
    const bufs = framesInPool(pool, [udpFrame({ dst: "02:00:00:00:00:0b", src: "02:00:00:00:00:0a", seq: 1 })]);
    assert.equal(client.txBurst(bufs, 1), 1);
    assert.equal(client.readStats()["odropped"], 1);
    await start();
    await client.whenUp(5000);
    await roundTrip(client, pool, 500, 200);
    assert.deepEqual([client.connInfo()!.connects, client.connInfo()!.disconnects], [2, 1]);
  } finally {
    client.close();
    for (const c of children) c.kill("SIGKILL");
    umem.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assertAllReturned(pool);
});
