/**
 * net_memif benchmark (issue 12): 64-byte frames from one process to another over memif, one core each
 * (this process pinned to CPU 0, the peer to CPU 1 when there are two): the peer sends as fast as it can
 * (frames from its pool, txBurst, which copies them into the memif buffers and frees them), this process
 * receives (rxBurst copies them into its pool, then frees them). Mpps = frames received / time from the
 * first to the last. Both directions of the protocol: client to server (C2S ring) and server to client
 * (S2C ring). Beside them, in the same run, net_ring between two threads of one process (handles passed,
 * no copy), the in-process upper bound of a port between two cores.
 *
 * Run: node dist/bench/memif.js [seconds]   (memifBench is exported for bench/run.ts)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, workerData, parentPort } from "node:worker_threads";
import { Umem } from "../src/mem/umem.js";
import { Mempool } from "../src/mem/mempool.js";
import { MemifPort } from "../src/pktdev/memif.js";
import { RingPort, type RingPortShared } from "../src/pktdev/ring-port.js";
import { sys } from "../src/sys/native.js";

export interface MemifBenchRow {
  /** What was measured. */
  name: string;
  /** Million frames per second received. */
  mpps: number;
  /** Frames received and the seconds they took. */
  frames: number;
  seconds: number;
}

export interface MemifBenchResult {
  rows: MemifBenchRow[];
  markdown: string;
}

const BURST = 64;
const SIZE = 64;
const self = fileURLToPath(import.meta.url);

function pin(cpu: number): void {
  if (cpus().length > cpu) sys.setAffinity(Int32Array.of(cpu));
}

/** Receives on `port` until nothing came for 300 ms after the first frame (or `ms` passed): frames and seconds. */
function drain(port: { rxBurst(b: Uint32Array, n: number): number }, pool: Mempool, ms: number): { frames: number; seconds: number } {
  const bufs = new Uint32Array(BURST);
  let frames = 0;
  let first = 0;
  let last = 0;
  const start = performance.now();
  for (;;) {
    const n = port.rxBurst(bufs, BURST);
    const now = performance.now();
    if (n > 0) {
      if (frames === 0) first = now;
      frames += n;
      last = now;
      pool.freeBulk(bufs, n);
    } else if ((frames > 0 && now - last > 300) || now - start > ms) break;
  }
  return { frames, seconds: (last - first) / 1000 };
}

/** The peer process: opens its end and sends 64-byte frames for `seconds`. */
async function peer(role: "server" | "client", socket: string, seconds: number): Promise<void> {
  pin(1);
  const umem = Umem.create({ frames: 4096 });
  const pool = Mempool.create({ umem, cacheSize: 256 });
  const port = MemifPort.create({ name: "bench1:0", pid: 1, mempool: pool, role, socket, socketAbstract: false, reconnectMs: 20 });
  await port.whenUp(10000);
  await new Promise((r) => setTimeout(r, 200)); // the receiver starts its loop
  const bufs = new Uint32Array(BURST);
  const dataLen = pool.mbufs.dataLen;
  let sent = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) {
      const n = pool.allocBulk(bufs, BURST);
      for (let j = 0; j < n; j++) dataLen[bufs[j]!] = SIZE;
      const k = port.txBurst(bufs, n);
      if (k < n) pool.freeBulk(bufs, n - k, k);
      sent += k;
    }
  }
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
  await new Promise((r) => setTimeout(r, 600)); // the receiver sees the end of the stream first
  port.close();
  umem.close();
}

async function memifRow(dir: string, recvRole: "server" | "client", seconds: number): Promise<MemifBenchRow> {
  const socket = join(dir, `${recvRole}.sock`);
  const umem = Umem.create({ frames: 4096 });
  const pool = Mempool.create({ umem, cacheSize: 256 });
  const port = MemifPort.create({ name: "bench0:0", pid: 0, mempool: pool, role: recvRole, socket, socketAbstract: false, reconnectMs: 20 });
  const child = spawn(process.execPath, [self, "--peer", recvRole === "server" ? "client" : "server", socket, String(seconds)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  try {
    await port.whenUp(10000);
    pin(0);
    const r = drain(port, pool, (seconds + 10) * 1000);
    await new Promise((res) => child.once("exit", res));
    const dir2 = recvRole === "server" ? "client -> server (C2S ring)" : "server -> client (S2C ring)";
    return { name: `net_memif, two processes, ${dir2}`, mpps: r.frames / r.seconds / 1e6, ...r };
  } finally {
    child.kill("SIGKILL");
    port.close();
    umem.close();
    void out;
  }
}

/**
 * Both ends in this thread (client txBurst, server rxBurst, per burst): the CPU cost of a frame's two
 * copies and ring updates, in CPU time (process.cpuUsage), so it holds on a loaded machine.
 */
async function inThreadRow(dir: string, seconds: number): Promise<MemifBenchRow> {
  const socket = join(dir, "inthread.sock");
  const umem = Umem.create({ frames: 4096 });
  const pool = Mempool.create({ umem, cacheSize: 256 });
  const srv = MemifPort.create({ name: "bench0:0", pid: 0, mempool: pool, role: "server", socket, socketAbstract: false });
  const cli = MemifPort.create({ name: "bench1:0", pid: 1, mempool: pool, role: "client", socket, socketAbstract: false });
  try {
    await srv.whenUp(5000);
    await cli.whenUp(5000);
    pin(0);
    const bufs = new Uint32Array(BURST);
    const dataLen = pool.mbufs.dataLen;
    let frames = 0;
    const c0 = process.cpuUsage();
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 256; i++) {
        let n = pool.allocBulk(bufs, BURST);
        for (let j = 0; j < n; j++) dataLen[bufs[j]!] = SIZE;
        const k = cli.txBurst(bufs, n);
        if (k < n) pool.freeBulk(bufs, n - k, k);
        n = srv.rxBurst(bufs, BURST);
        frames += n;
        pool.freeBulk(bufs, n);
      }
    }
    const c = process.cpuUsage(c0);
    const cpuSeconds = (c.user + c.system) / 1e6;
    return { name: "net_memif, both ends in one thread (client tx + server rx), per CPU second", mpps: frames / cpuSeconds / 1e6, frames, seconds: cpuSeconds };
  } finally {
    cli.close();
    srv.close();
    umem.close();
  }
}

/** net_ring between two threads: a worker sends (alloc + txBurst), this thread receives (rxBurst + free). */
async function ringRow(seconds: number): Promise<MemifBenchRow> {
  const umem = Umem.create({ frames: 8192 });
  const pool = Mempool.create({ umem, cacheSize: 256 });
  const [a, b] = RingPort.pair({ names: ["ring0", "ring1"], pids: [0, 1], mbufs: pool.mbufs, size: 2048 });
  const w = new Worker(self, { workerData: { ring: b.toShared(), pool: pool.toShared(), seconds } });
  try {
    await new Promise((r) => w.once("online", r));
    pin(0);
    const r = drain(a, pool, (seconds + 10) * 1000);
    await new Promise((res) => w.once("exit", res));
    return { name: "net_ring, two threads of one process (no copy)", mpps: r.frames / r.seconds / 1e6, ...r };
  } finally {
    await w.terminate();
    umem.close();
  }
}

function ringPeer(): void {
  const d = workerData as { ring: RingPortShared; pool: ReturnType<Mempool["toShared"]>; seconds: number };
  pin(1);
  const pool = Mempool.fromShared(d.pool);
  const port = RingPort.fromShared(d.ring);
  const bufs = new Uint32Array(BURST);
  const dataLen = pool.mbufs.dataLen;
  const end = performance.now() + d.seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) {
      const n = pool.allocBulk(bufs, BURST);
      for (let j = 0; j < n; j++) dataLen[bufs[j]!] = SIZE;
      const k = port.txBurst(bufs, n);
      if (k < n) pool.freeBulk(bufs, n - k, k);
    }
  }
  pool.flushCache();
  parentPort!.postMessage("done");
}

/** Runs the rows in turn (`seconds` of sending each) and formats them. */
export async function memifBench(o: { seconds?: number } = {}): Promise<MemifBenchResult> {
  const seconds = o.seconds ?? 3;
  const dir = mkdtempSync(join(tmpdir(), "xdplane-bench-memif-"));
  const rows: MemifBenchRow[] = [];
  try {
    rows.push(await memifRow(dir, "server", seconds));
    rows.push(await memifRow(dir, "client", seconds));
    rows.push(await ringRow(seconds));
    rows.push(await inThreadRow(dir, seconds));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const markdown = [
    `### net_memif, ${SIZE}-byte frames, bursts of ${BURST}, one core each (${cpus().length} CPUs: ${cpus()[0]?.model ?? "?"}, load average ${loadavg()[0]!.toFixed(1)})`,
    "",
    "| path | Mpps | frames | seconds |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map((r) => `| ${r.name} | ${r.mpps.toFixed(2)} | ${r.frames} | ${r.seconds.toFixed(2)} |`),
    "",
  ].join("\n");
  return { rows, markdown };
}

if (!isMainThread && (workerData as { ring?: unknown } | null)?.ring) {
  ringPeer();
} else if (isMainThread && process.argv[1] === self) {
  if (process.argv[2] === "--peer") {
    await peer(process.argv[3] as "server" | "client", process.argv[4]!, Number(process.argv[5]));
  } else {
    const r = await memifBench({ seconds: Number(process.argv[2] ?? 3) });
    process.stdout.write(r.markdown);
  }
}
