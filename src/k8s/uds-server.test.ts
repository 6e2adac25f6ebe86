import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync, openSync, closeSync, fstatSync, readdirSync, mkdirSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { sys } from "../sys/native.js";
import { AF_XDP, SOCK_RAW, SOCK_CLOEXEC, SOL_SOCKET, SO_BUSY_POLL, SO_PREFER_BUSY_POLL } from "../sys/consts.js";
import { connectSeqpacket, SeqpacketServer } from "../uds/seqpacket.js";
import { UdsServer, type UdsServerOptions } from "./uds-server.js";
import { UdsClient, HandshakeError } from "./uds-client.js";
import { PodResourcesClient, type PodLister } from "./pod-resources.js";
import { KubeletStandIn } from "../testing/kubelet-standin.js";
import * as P from "./uds-protocol.js";
import * as grpc from "@grpc/grpc-js";

const RES = "afxdp/pool1";
let dir: string;
let kubelet: KubeletStandIn;
let pods: PodResourcesClient;
let mapFile0: string;
let mapFile1: string;
let map0: number;
let map1: number;
let n = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "xdpuds-"));
  kubelet = await KubeletStandIn.start(join(dir, "kubelet"));
  pods = new PodResourcesClient(kubelet.podResourcesSocket);
  // Stand-ins for XSKMAP fds: files whose inode the client can compare.
  mapFile0 = join(dir, "map0");
  mapFile1 = join(dir, "map1");
  map0 = openSync(mapFile0, "w");
  map1 = openSync(mapFile1, "w");
});

after(async () => {
  pods.close();
  closeSync(map0);
  closeSync(map1);
  await kubelet.stop();
  rmSync(dir, { recursive: true, force: true });
});

function server(over: Partial<UdsServerOptions> = {}): { srv: UdsServer; path: string; paths: string[] } {
  const sdir = join(dir, `s${n++}`);
  mkdirSync(sdir);
  const paths = [join(sdir, "a.sock"), join(sdir, "b.sock")];
  const srv = new UdsServer({
    resource: RES,
    devices: new Map([["dev0", map0], ["dev1", map1]]),
    paths,
    pods,
    timeoutSeconds: 0,
    ...over,
  });
  srv.start();
  return { srv, path: paths[0]!, paths };
}

const sameFile = (a: number, b: number) => {
  const sa = fstatSync(a);
  const sb = fstatSync(b);
  return sa.ino === sb.ino && sa.dev === sb.dev;
};

function xskSocket(): number {
  const fd = sys.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  assert.ok(fd >= 0, `socket(AF_XDP): ${fd}`);
  return fd;
}
function sockopt(fd: number, name: number): number {
  const v = new Int32Array(1);
  assert.ok(sys.getsockopt(fd, SOL_SOCKET, name, v) >= 0);
  return v[0]!;
}

test("DPDK's sequence: /connect, /version, /xsk_map_fd, /fin; once per queue on the same socket", async () => {
  kubelet.setPod("dpdk-pod", RES, ["dev0", "dev1"]);
  const { srv, path, paths } = server();
  try {
    for (let q = 0; q < 3; q++) {
      const c = await UdsClient.connect(q === 2 ? paths[1]! : path, { podName: "dpdk-pod" });
      assert.equal(await c.version(), "0.1");
      const fd = await c.xskMapFd("dev0");
      assert.ok(sameFile(fd, map0), "the fd is the device's map");
      closeSync(fd);
      await c.fin();
    }
    assert.deepEqual(srv.pod, { name: "dpdk-pod", namespace: "default", container: "c0" });
    assert.equal(srv.stats.replies, srv.stats.requests, "one reply per request");
  } finally {
    srv.close();
  }
  assert.equal(existsSync(path), false, "socket file removed on close");
});

test("CNDP's sequence: two ports on one connection, busy poll with the XSK fd, /fin", async () => {
  kubelet.setPod("cndp-pod", RES, ["dev1", "dev0"]);
  const { srv, path } = server();
  const xsk = xskSocket();
  try {
    const c = await UdsClient.connect(path, { podName: "cndp-pod" });
    const f0 = await c.xskMapFd("dev0");
    const f1 = await c.xskMapFd(" dev 1 "); // the server strips spaces inside arguments
    assert.ok(sameFile(f0, map0));
    assert.ok(sameFile(f1, map1));
    closeSync(f0);
    closeSync(f1);
    await c.configBusyPoll(xsk, 20, 64);
    assert.equal(sockopt(xsk, SO_PREFER_BUSY_POLL), 1);
    assert.equal(sockopt(xsk, SO_BUSY_POLL), 20);
    await c.fin();
    assert.equal(srv.stats.fdsReceived, 1);
    assert.equal(srv.stats.fdsClosed, 1, "the received socket fd is closed by the server");
  } finally {
    closeSync(xsk);
    srv.close();
  }
});

test("the synchronous client (as lport setup uses it) from another thread", async () => {
  kubelet.setPod("sync-pod", RES, ["dev0", "dev1"]);
  const { srv, path } = server();
  try {
    const url = new URL("./uds-client.js", import.meta.url).href;
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      import(workerData.url).then((m) => {
        const { fstatSync, closeSync } = require("node:fs");
        const fd = m.requestXskMapFd(workerData.path, "dev1", { podName: "sync-pod" });
        const st = fstatSync(fd);
        closeSync(fd);
        let nak = "";
        try { m.requestXskMapFd(workerData.path, "dev9", { podName: "sync-pod" }); } catch (e) { nak = e.reply; }
        let host = "";
        try { m.UdsClientSync.connect(workerData.path, { podName: "stranger" }); } catch (e) { host = e.reply; }
        parentPort.postMessage({ ino: st.ino, nak, host });
      }).catch((e) => parentPort.postMessage({ error: String(e.stack) }));`;
    const w = new Worker(code, { eval: true, workerData: { url, path } });
    const res = await new Promise<{ ino?: number; nak?: string; host?: string; error?: string }>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    await w.terminate();
    assert.equal(res.error, undefined, res.error);
    assert.equal(res.ino, fstatSync(map1).ino);
    assert.equal(res.nak, P.RES_FD_NAK);
    assert.equal(res.host, P.RES_HOST_NAK);
  } finally {
    srv.close();
  }
});

/** Raw session: sends messages and collects every reply until close. */
async function raw(path: string) {
  const conn = connectSeqpacket(path);
  const got: { text: string; fds: number[] }[] = [];
  let closed = false;
  let wake: (() => void) | null = null;
  conn.onMessage((m, fds) => { got.push({ text: m.toString("latin1"), fds }); wake?.(); });
  conn.onClose(() => { closed = true; wake?.(); });
  const waitFor = async (k: number, ms = 3000) => {
    const end = Date.now() + ms;
    while (got.length < k && !closed && Date.now() < end) await new Promise<void>((r) => { wake = r; setTimeout(r, 20); });
  };
  const waitClosed = async (ms = 3000) => {
    const end = Date.now() + ms;
    while (!closed && Date.now() < end) await new Promise<void>((r) => { wake = r; setTimeout(r, 20); });
    return closed;
  };
  return { conn, got, waitFor, waitClosed, isClosed: () => closed };
}

test("validation: unknown pod, wrong devices, malformed /connect, first message not /connect", async () => {
  kubelet.setPod("p-one", RES, ["dev0"]); // holds only one of the two devices
  const { srv, path } = server();
  try {
    await assert.rejects(UdsClient.connect(path, { podName: "nobody" }), (e: HandshakeError) => e.reply === P.RES_HOST_NAK);
    await assert.rejects(UdsClient.connect(path, { podName: "p-one" }), (e: HandshakeError) => e.reply === P.RES_HOST_NAK);
    for (const first of ["/connect", "/connect,", "/connect,a,b", "x/connect,p"]) {
      const r = await raw(path);
      r.conn.send(first);
      assert.equal(await r.waitClosed(), true, `closed after '${first}'`);
      assert.deepEqual(r.got.map((g) => g.text), [P.RES_HOST_NAK], `reply to '${first}'`);
    }
    for (const first of ["/version", "/xsk_map_fd,dev0", "", "hello"]) {
      const r = await raw(path);
      r.conn.send(first);
      assert.equal(await r.waitClosed(), true);
      assert.deepEqual(r.got, [], `no reply to a first '${first}'`);
    }
    const big = await raw(path);
    big.conn.send("/connect," + "x".repeat(600));
    assert.equal(await big.waitClosed(), true);
    assert.deepEqual(big.got, [], "no reply to an oversize first message");
    assert.equal(srv.pod, null, "no pod bound");
  } finally {
    srv.close();
  }
});

test("a PodResources failure answers /error then /host_nak and closes", async () => {
  kubelet.setPod("p-err", RES, ["dev0", "dev1"]);
  const { srv, path } = server();
  kubelet.listFails = grpc.status.UNAVAILABLE;
  try {
    const r = await raw(path);
    r.conn.send("/connect,p-err");
    assert.equal(await r.waitClosed(), true);
    assert.deepEqual(r.got.map((g) => g.text), [P.RES_ERROR, P.RES_HOST_NAK]);
  } finally {
    kubelet.listFails = null;
    srv.close();
  }
});

test("after /connect: one reply per request, bad requests answered and the connection kept", async () => {
  kubelet.setPod("p-bad", RES, ["dev0", "dev1"]);
  const { srv, path } = server();
  const xsk = xskSocket();
  const pipe = openSync(mapFile0, "r"); // not a socket
  try {
    const r = await raw(path);
    const cases: [string, number[], string][] = [
      ["/connect,p-bad", [], P.RES_HOST_OK],
      ["/hello", [], P.RES_NAK],
      ["/connect,p-bad", [], P.RES_NAK],
      ["/xsk_map_fd", [], P.RES_NAK],
      ["/xsk_map_fd,dev0,dev1", [], P.RES_NAK],
      ["/xsk_map_fd,eth9", [], P.RES_FD_NAK],
      ["/xsk_map_fd,dev0", [pipe], P.RES_FD_ACK], // an fd sent with it is closed, the request answered
      ["/config_busy_poll,10", [xsk], P.RES_NAK],
      ["/config_busy_poll,10,64", [], P.RES_BUSY_POLL_NAK],
      ["/config_busy_poll,10,64", [pipe], P.RES_BUSY_POLL_NAK],
      ["/config_busy_poll,x,64", [xsk], P.RES_BUSY_POLL_NAK],
      ["/config_busy_poll,10,70000", [xsk], P.RES_BUSY_POLL_NAK],
      ["/config_busy_poll,-1,64", [xsk], P.RES_BUSY_POLL_NAK],
      ["/config_busy_poll, 5 , 8 ", [xsk, pipe], P.RES_BUSY_POLL_ACK],
      ["/version ", [], P.RES_NAK],
      ["", [], P.RES_NAK],
      ["/nak".repeat(200), [], P.RES_NAK], // 800 bytes: oversize
      ["/version", [], "0.1"],
    ];
    for (const [i, [req, fds]] of cases.entries()) {
      r.conn.send(req, fds);
      await r.waitFor(i + 1);
    }
    assert.deepEqual(r.got.map((g) => g.text), cases.map((c) => c[2]));
    assert.equal(r.got[6]!.fds.length, 1);
    assert.ok(sameFile(r.got[6]!.fds[0]!, map0));
    for (const g of r.got) for (const f of g.fds) closeSync(f);
    assert.equal(sockopt(xsk, SO_BUSY_POLL), 5);
    assert.equal(r.isClosed(), false);
    r.conn.send("/fin");
    assert.equal(await r.waitClosed(), true);
    assert.equal(r.got[r.got.length - 1]!.text, P.RES_FIN_ACK);
    assert.equal(srv.stats.fdsReceived, srv.stats.fdsClosed, "every received fd closed");
  } finally {
    closeSync(xsk);
    closeSync(pipe);
    srv.close();
  }
});

test("pipelined requests during validation are answered in order", async () => {
  kubelet.setPod("p-pipe", RES, ["dev0", "dev1"]);
  const { srv, path } = server();
  try {
    const r = await raw(path);
    for (const m of ["/connect,p-pipe", "/version", "/xsk_map_fd,dev1", "/bogus", "/fin", "/version"]) r.conn.send(m);
    assert.equal(await r.waitClosed(), true);
    assert.deepEqual(r.got.map((g) => g.text), ["/host_ok", "0.1", "/fd_ack", "/nak", "/fin_ack"]);
    closeSync(r.got[2]!.fds[0]!);
  } finally {
    srv.close();
  }
});

test("timeout: no pod within UdsTimeout closes the server; a validated pod keeps it", async () => {
  let expired = 0;
  const { srv, path } = server({ timeoutSeconds: 0.2, onExpire: () => expired++ });
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(expired, 1);
  assert.equal(srv.isClosed, true);
  assert.equal(existsSync(path), false);

  kubelet.setPod("p-time", RES, ["dev0", "dev1"]);
  let bound = 0;
  const b = server({ timeoutSeconds: 0.3, onExpire: () => expired++, onBound: () => bound++ });
  try {
    // An idle connection that never sends /connect is closed after the timeout.
    const idle = await raw(b.path);
    const c = await UdsClient.connect(b.path, { podName: "p-time" });
    assert.equal(await idle.waitClosed(1500), true, "idle connection closed");
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(b.srv.isClosed, false, "validated: no expiry");
    assert.equal(bound, 1);
    assert.equal(await c.version(), "0.1", "a validated connection has no idle timeout");
    await c.fin();
  } finally {
    b.srv.close();
  }
  assert.equal(expired, 1);
});

test("a restored binding (plugin restart) answers the running pod, in its namespace only", async () => {
  kubelet.pods = [];
  kubelet.setPod("same", RES, ["dev0", "dev1"], "ns-a");
  kubelet.setPod("same", RES, ["other"], "ns-b");
  const { srv, path } = server({ pod: { name: "same", namespace: "ns-a", container: "c0" }, timeoutSeconds: 0.1 });
  try {
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(srv.isClosed, false, "a bound server does not expire");
    const c = await UdsClient.connect(path, { podName: "same" });
    const fd = await c.xskMapFd("dev0");
    closeSync(fd);
    await c.fin();
    await assert.rejects(UdsClient.connect(path, { podName: "someone-else" }), HandshakeError);
    // If ns-a's pod goes, ns-b's pod of the same name does not inherit the allocation.
    kubelet.pods = kubelet.pods.filter((p) => p.namespace !== "ns-a");
    kubelet.setPod("same", RES, ["dev0", "dev1"], "ns-b");
    await assert.rejects(UdsClient.connect(path, { podName: "same" }), (e: HandshakeError) => e.reply === P.RES_HOST_NAK);
  } finally {
    srv.close();
  }
});

// ---- fuzz ---------------------------------------------------------------------------------------

function fdList(): string {
  return readdirSync("/proc/self/fd").map((f) => { try { return `${f}:${readlinkSync(`/proc/self/fd/${f}`)}`; } catch { return f; } }).join(" ");
}
function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** A deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type FdKind = "xsk" | "file";
interface Step { bytes: Buffer; fds: FdKind[] }

/** The protocol as the reference states it: the replies expected for a request, and whether it ends the connection. */
function oracle(state: { connected: boolean }, bytes: Buffer, fds: FdKind[], validPod: string): { replies: string[]; close: boolean } {
  const text = bytes.toString("latin1");
  const oversize = bytes.length > P.SERVER_MAX_MESSAGE;
  if (!state.connected) {
    if (oversize || !text.includes("/connect")) return { replies: [], close: true };
    const w = text.split(",");
    if (w.length === 2 && w[0] === "/connect" && w[1]!.replaceAll(" ", "") === validPod) {
      state.connected = true;
      return { replies: ["/host_ok"], close: false };
    }
    return { replies: ["/host_nak"], close: true };
  }
  if (oversize) return { replies: ["/nak"], close: false };
  if (text === "/version") return { replies: ["0.1"], close: false };
  if (text === "/fin") return { replies: ["/fin_ack"], close: true };
  const w = text.split(",");
  if (w[0] === "/xsk_map_fd") {
    if (w.length !== 2) return { replies: ["/nak"], close: false };
    const dev = w[1]!.replaceAll(" ", "");
    return { replies: [dev === "dev0" || dev === "dev1" ? "/fd_ack" : "/fd_nak"], close: false };
  }
  if (w[0] === "/config_busy_poll") {
    if (w.length !== 3) return { replies: ["/nak"], close: false };
    const num = (s: string) => (/^[+-]?\d{1,10}$/.test(s) ? Number(s) : NaN);
    const t = num(w[1]!.replaceAll(" ", ""));
    const b = num(w[2]!.replaceAll(" ", ""));
    const ok = fds[0] === "xsk" && t >= 0 && t <= 0x7fffffff && b >= 0 && b <= 0xffff;
    return { replies: [ok ? "/config_busy_poll_ack" : "/config_busy_poll_nak"], close: false };
  }
  return { replies: ["/nak"], close: false };
}

const VALID = [
  "/connect,fuzz-pod", "/connect,other-pod", "/connect, fuzz-pod ", "/version", "/xsk_map_fd,dev0", "/xsk_map_fd,dev1",
  "/xsk_map_fd,dev2", "/xsk_map_fd, dev 0", "/config_busy_poll,10,64", "/config_busy_poll,0,0", "/config_busy_poll,+5,65535",
  "/config_busy_poll,1,65536", "/fin", "/nak", "/connect", "/xsk_map_fd", "/config_busy_poll,1",
];

function genStep(r: () => number, first: boolean): Step {
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  let bytes: Buffer;
  const k = r();
  if (first && k < 0.6) bytes = Buffer.from(pick(["/connect,fuzz-pod", "/connect, fuzz-pod", "/connect,fuzz-pod "]), "latin1");
  else if (k < 0.55) bytes = Buffer.from(pick(VALID), "latin1");
  else if (k < 0.8) {
    // mutate a valid request: flip, insert, delete, duplicate, truncate
    const b = [...Buffer.from(pick(VALID), "latin1")];
    const edits = 1 + Math.floor(r() * 3);
    for (let e = 0; e < edits; e++) {
      const op = Math.floor(r() * 5);
      const at = Math.floor(r() * (b.length + 1));
      if (op === 0 && b.length > 0) b[at % b.length] = Math.floor(r() * 256);
      else if (op === 1) b.splice(at, 0, pick([44, 32, 47, 48 + Math.floor(r() * 10), Math.floor(r() * 256)]));
      else if (op === 2 && b.length > 0) b.splice(at % b.length, 1);
      else if (op === 3) b.push(...b.slice(0, at));
      else b.length = Math.min(b.length, at);
    }
    bytes = Buffer.from(b);
  } else if (k < 0.93) {
    const len = Math.floor(r() * 80);
    bytes = Buffer.alloc(len);
    for (let i = 0; i < len; i++) bytes[i] = Math.floor(r() * 256);
  } else {
    bytes = Buffer.alloc(P.SERVER_MAX_MESSAGE + 1 + Math.floor(r() * 3000), r() < 0.5 ? "/connect,fuzz-pod" : "x");
  }
  const fds: FdKind[] = [];
  const f = r();
  if (f < 0.15) fds.push("xsk");
  else if (f < 0.25) fds.push("file");
  else if (f < 0.3) fds.push("xsk", "file");
  if (bytes.toString("latin1").startsWith("/config_busy_poll") && r() < 0.6 && fds.length === 0) fds.push("xsk");
  return { bytes, fds };
}

test("fuzz: 10,000 random and mutated sessions: no crash, exactly the replies the protocol gives, no fd leak", async () => {
  const validPod = "fuzz-pod";
  const stub: PodLister = {
    list: async () => [{
      name: validPod, namespace: "fz",
      containers: [{ name: "c", devices: [{ resource_name: RES, device_ids: ["dev0", "dev1"] }], cpu_ids: [], memory: [], dynamic_resources: [] }],
    }],
  };
  kubelet.setPod(validPod, RES, ["dev0", "dev1"], "fz");
  const xsk = xskSocket();
  const file = openSync(mapFile1, "r");
  const fdOf = (k: FdKind) => (k === "xsk" ? xsk : file);
  await pods.list(); // the gRPC channel to kubelet is open before counting fds
  const before = openFds();
  if (process.env["FD_DEBUG"]) console.log(fdList());
  // The first 300 sessions validate through the real gRPC PodResources client; the rest through a stub.
  const real = server();
  const fast = server({ pods: stub });
  const SESSIONS = 10_000;
  const CONCURRENCY = 8;
  let mismatches = 0;
  const failures: string[] = [];
  let replies = 0;
  let earlyCloses = 0;
  const runOne = async (i: number) => {
    const r = rng(i * 7919 + 1);
    const path = i < 300 ? real.path : fast.path;
    const conn = connectSeqpacket(path);
    const got: { text: string; fds: number[] }[] = [];
    let closed = false;
    let wake: (() => void) | null = null;
    conn.onMessage((m, fds) => { got.push({ text: m.toString("latin1"), fds }); wake?.(); });
    conn.onClose(() => { closed = true; wake?.(); });
    const state = { connected: false };
    const expected: string[] = [];
    let expectClose = false;
    let early = false;
    const steps = 1 + Math.floor(r() * 8);
    const sent: string[] = [];
    for (let s = 0; s < steps && !expectClose; s++) {
      const st = genStep(r, s === 0);
      if (r() < 0.04) { early = true; break; } // the client goes away mid-session
      conn.send(st.bytes, st.fds.map(fdOf));
      sent.push(JSON.stringify(st.bytes.toString("latin1").slice(0, 60)) + (st.fds.length ? `+${st.fds.join("+")}` : ""));
      const o = oracle(state, st.bytes, st.fds, validPod);
      expected.push(...o.replies);
      expectClose = o.close;
    }
    if (early) {
      earlyCloses++;
      conn.close();
      return;
    }
    if (!expectClose) {
      conn.send("/version"); // sentinel: every reply before it is known
      expected.push("0.1");
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (expectClose ? closed : got.length >= expected.length) break;
      await new Promise<void>((res) => { wake = res; setTimeout(res, 50); });
    }
    conn.close();
    const texts = got.map((g) => g.text);
    replies += texts.length;
    for (const g of got) for (const f of g.fds) sys.close(f);
    if (JSON.stringify(texts) !== JSON.stringify(expected) || (expectClose && !closed)) {
      mismatches++;
      if (failures.length < 5) failures.push(`session ${i}: sent ${sent.join(" | ")}\n  expected ${JSON.stringify(expected)}${expectClose ? " then close" : ""}\n  got      ${JSON.stringify(texts)}${closed ? " closed" : ""}`);
    }
  };
  try {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < SESSIONS) await runOne(next++);
    }));
    // Let the server see the last closes.
    for (let i = 0; i < 50 && (real.srv.stats.fdsReceived !== real.srv.stats.fdsClosed || fast.srv.stats.fdsReceived !== fast.srv.stats.fdsClosed); i++) {
      await new Promise((res) => setTimeout(res, 20));
    }
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(mismatches, 0, failures.join("\n"));
    const stats = [real.srv.stats, fast.srv.stats];
    const received = stats.reduce((a, s) => a + s.fdsReceived, 0);
    const closedFds = stats.reduce((a, s) => a + s.fdsClosed, 0);
    assert.ok(received > 1000, `fds were sent (${received})`);
    assert.equal(closedFds, received, "every fd the server received was closed");
    assert.equal(stats.reduce((a, s) => a + s.connections, 0), SESSIONS);
    assert.ok(replies > SESSIONS, `replies seen: ${replies}`);
    assert.ok(earlyCloses > 100, `early closes: ${earlyCloses}`);
  } finally {
    real.srv.close();
    fast.srv.close();
  }
  closeSync(xsk);
  closeSync(file);
  await new Promise((res) => setTimeout(res, 50));
  if (process.env["FD_DEBUG"]) console.log(fdList());
  assert.equal(openFds(), before - 2, "no fd leaked");
});

test("seqpacket: an empty message carrying an fd, then a hang-up, leaves no fd open", async () => {
  const path = join(dir, "empty-fd.sock");
  const file = openSync(mapFile0, "r");
  const srvFds: number[] = [];
  const before = openFds();
  const srv = SeqpacketServer.listen(path, (c) => c.onMessage((_m, fds) => { srvFds.push(...fds); for (const f of fds) sys.close(f); }));
  try {
    const c = connectSeqpacket(path);
    c.send(Buffer.alloc(0), [file]);
    c.close();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    srv.close();
    closeSync(file);
  }
  assert.equal(openFds(), before - 1, `fds left open: received ${srvFds.length}`);
});
