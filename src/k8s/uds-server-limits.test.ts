/**
 * The handshake server under abuse: idle connections that never send /connect (a first-message deadline,
 * one log line each, the real pod still gets through), a validated client that floods requests without
 * reading the replies (bounded queue, others served, replies in order), and a socket file someone unlinked
 * (CNDP's client does after a failed handshake: re-created at the same path).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, openSync, closeSync, mkdirSync, unlinkSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sys } from "../sys/native.js";
import { catchUp, rawConnect } from "../testing/flood.js";
import { MSG_DONTWAIT, MSG_NOSIGNAL, EAGAIN } from "../sys/consts.js";
import { UdsServer, type UdsServerOptions } from "./uds-server.js";
import { UdsClient } from "./uds-client.js";
import { PodResourcesClient } from "./pod-resources.js";
import { KubeletStandIn } from "../testing/kubelet-standin.js";
import type { Logger } from "./log.js";

const RES = "afxdp/pool1";
let dir: string;
let kubelet: KubeletStandIn;
let pods: PodResourcesClient;
let map0: number;
let n = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "xdpudslim-"));
  kubelet = await KubeletStandIn.start(join(dir, "kubelet"));
  pods = new PodResourcesClient(kubelet.podResourcesSocket);
  map0 = openSync(join(dir, "map0"), "w");
  kubelet.setPod("good-pod", RES, ["dev0"]);
});

after(async () => {
  pods.close();
  closeSync(map0);
  await kubelet.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const add = (l: string) => (m: string) => lines.push(`${l}: ${m}`);
  return { lines, log: { debug: add("debug"), info: add("info"), warn: add("warning"), error: add("error") } as Logger };
}

function server(over: Record<string, unknown> = {}): { srv: UdsServer; path: string; lines: string[] } {
  const sdir = join(dir, `s${n++}`);
  mkdirSync(sdir);
  const path = join(sdir, "afxdp.sock");
  const { log, lines } = capture();
  const srv = new UdsServer({
    resource: RES,
    devices: new Map([["dev0", map0]]),
    paths: [path],
    pods,
    timeoutSeconds: 0,
    log,
    ...over,
  } as UdsServerOptions);
  srv.start();
  return { srv, path, lines };
}


test("70 idle connections that never send /connect: each closed after the first-message deadline and logged; the real pod gets through", async () => {
  const DEADLINE = 500;
  const { srv, path, lines } = server({ firstMessageMs: DEADLINE });
  const idle: number[] = [];
  try {
    for (let i = 0; i < 70; i++) {
      idle.push(rawConnect(path));
      if (i % 8 === 7) await sleep(5); // let the server accept: stay within the listen backlog
    }
    await sleep(20);
    const t0 = performance.now();
    const c = await UdsClient.connect(path, { podName: "good-pod", timeoutMs: 5000 });
    const ms = performance.now() - t0;
    try {
      assert.equal(await c.version(), "0.1");
      const fd = await c.xskMapFd("dev0");
      closeSync(fd);
      await c.fin();
    } finally {
      c.close();
    }
    assert.ok(ms < DEADLINE + 1000, `the handshake took ${ms.toFixed(0)} ms (deadline ${DEADLINE} ms)`);
    // Every idle connection is closed once its deadline passed (those past the first 64 waited in the
    // backlog and got their deadline when accepted), each with one log line.
    const closedIdle = () => lines.filter((l) => /sent nothing within/.test(l)).length;
    const until = Date.now() + 2 * DEADLINE + 3000;
    while (closedIdle() < 70 && Date.now() < until) await sleep(20);
    assert.equal(closedIdle(), 70, "one log line per idle connection closed");
    const buf = Buffer.alloc(16);
    const fdsOut = new Int32Array(17);
    for (const fd of idle) assert.equal(sys.recvmsg(fd, buf, fdsOut, MSG_DONTWAIT), 0, "closed by the server, no reply");
  } finally {
    for (const fd of idle) sys.close(fd);
    srv.close();
  }
});

test("a validated client floods /version without reading: queue bounded, another connection answered within 100 ms, replies in order", async () => {
  const BOUND = 32;
  const { srv, path, lines } = server({ maxPending: BOUND });
  const flood = rawConnect(path);
  const other = await UdsClient.connect(path, { podName: "good-pod", timeoutMs: 2000 });
  const rbuf = Buffer.alloc(64);
  const fdsOut = new Int32Array(17);
  try {
    assert.ok(sys.sendmsg(flood, Buffer.from("/connect,good-pod"), null, MSG_DONTWAIT) > 0);
    const endc = Date.now() + 2000;
    let rc = -EAGAIN;
    while (rc === -EAGAIN && Date.now() < endc) {
      await sleep(2);
      rc = sys.recvmsg(flood, rbuf, fdsOut, MSG_DONTWAIT);
    }
    assert.equal(rbuf.subarray(0, rc).toString(), "/host_ok");
    const N = 20_000;
    const req = (i: number) => Buffer.from(i % 10 === 0 ? "/bogus" : "/version"); // replies: /nak or 0.1
    const expect = (i: number) => (i % 10 === 0 ? "/nak" : "0.1");
    let sent = 0;
    let worst = 0;
    let rounds = 0;
    const end = Date.now() + 1500;
    while (sent < N && Date.now() < end) {
      const r = sys.sendmsg(flood, req(sent), null, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r === -EAGAIN) {
        const t0 = performance.now();
        assert.equal(await other.version(), "0.1");
        worst = Math.max(worst, performance.now() - t0);
        rounds++;
        continue;
      }
      assert.ok(r > 0);
      sent++;
      if (sent % 128 === 0) await new Promise((r) => setImmediate(r));
    }
    const stats = srv.stats as unknown as { queuedHighWater?: number };
    assert.ok(sent < N, `the flooding client was held back (it sent ${sent} of ${N} without reading)`);
    assert.ok(rounds > 0 && worst < 100, `another connection waited ${worst.toFixed(1)} ms (${rounds} tries)`);
    assert.ok(stats.queuedHighWater !== undefined && stats.queuedHighWater <= BOUND, `queued ${stats.queuedHighWater}, bound ${BOUND}`);
    assert.ok(lines.some((l) => /not reading its replies/.test(l)), "logged");
    const next = await catchUp(flood, {
      total: N, sent, request: req,
      reply: (k, b) => assert.equal(b.toString(), expect(k), `reply ${k} in order`),
    });
    assert.equal(next, N, "every request answered");
    assert.ok(stats.queuedHighWater! <= BOUND);
  } finally {
    sys.close(flood);
    other.close();
    srv.close();
  }
});

test("the socket file is re-created after a client unlinks it (CNDP's uds_destroy); a new handshake works", async () => {
  const { srv, path, lines } = server({ socketCheckMs: 100 });
  try {
    unlinkSync(path);
    const t0 = Date.now();
    while (!existsSync(path) && Date.now() - t0 < 2000) await sleep(10);
    assert.ok(existsSync(path), "the socket file is back");
    const c = await UdsClient.connect(path, { podName: "good-pod", timeoutMs: 2000 });
    assert.equal(await c.version(), "0.1");
    await c.fin();
    c.close();
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    assert.ok(lines.some((l) => /disappeared/.test(l)), "logged");
  } finally {
    srv.close();
  }
  assert.equal(existsSync(path), false, "close removes the re-created file");
});
