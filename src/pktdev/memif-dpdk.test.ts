/**
 * Interoperation with DPDK's net_memif: `dpdk-testpmd` (Debian's dpdk-dev package, with
 * librte-net-memif23 and librte-mempool-ring23) forwarding in macswap mode, without hugepages
 * (`--no-huge -m 512 --no-shconf`; `--in-memory` cannot go with `--no-huge`), as the server with our port
 * as the client, then as the client of our server. Frames come back MAC-swapped byte for byte, and
 * testpmd's own counters agree. Skipped when testpmd is not installed.
 *
 * `XDPLANE_TESTPMD` names another testpmd, as a command split on spaces: .ci/dpdk2511 runs this file
 * with DPDK 25.11's from a Debian forky rootfs (`chroot <root> dpdk-testpmd`, the host's /tmp bound into
 * it, so socket paths are the same on both sides).
 *
 * testpmd drains its RX queues when forwarding starts (flush_fwd_rx_queues): frames are sent only once it
 * prints that it is forwarding.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { MemifPort } from "./memif.js";
import { framesInPool, bytesOf, sendAll, receive, assertAllReturned } from "../testing/port-conformance.js";
import { udpFrame } from "../testing/packet-socket.js";

/** The testpmd command line before its arguments: `XDPLANE_TESTPMD` split on spaces, or the host's. */
const testpmd: string[] = (process.env["XDPLANE_TESTPMD"] ?? "").trim() !== ""
  ? process.env["XDPLANE_TESTPMD"]!.trim().split(/\s+/)
  : [spawnSync("sh", ["-c", "command -v dpdk-testpmd"], { encoding: "utf8" }).stdout.trim()].filter((s) => s !== "");
const skip = testpmd.length === 0 ? "dpdk-testpmd is not installed (apt-get install dpdk-dev librte-net-memif23 librte-mempool-ring23)"
  : process.getuid?.() !== 0 ? "testpmd needs root here" : false;

const hex = (f: Uint8Array) => Buffer.from(f).toString("hex");
const swapped = (f: Uint8Array) => {
  const s = f.slice();
  s.set(f.subarray(6, 12), 0);
  s.set(f.subarray(0, 6), 6);
  return s;
};

interface Testpmd {
  child: ChildProcess;
  out: () => string;
  /** Ends testpmd (EOF on its stdin: "Press enter to exit") and resolves with its output. */
  stop(): Promise<string>;
}

/** Starts testpmd with one memif vdev in macswap mode; resolves once it forwards. */
async function startTestpmd(vdev: string, prefix: string): Promise<Testpmd> {
  // stdbuf: testpmd's stdout is a pipe here, fully buffered otherwise.
  const child = spawn("stdbuf", ["-o0", "-e0", ...testpmd,
    "-l", "0-1", "--no-pci", "--no-huge", "-m", "512", "--no-shconf", `--file-prefix=${prefix}`, `--vdev=${vdev}`,
    "--", "--forward-mode=macswap", "--auto-start", "--total-num-mbufs=8192", "--burst=32",
  ], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const end = Date.now() + 20000;
  while (!out.includes("Press enter to exit") && child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok(out.includes("Press enter to exit"), `testpmd forwards (exit ${child.exitCode}): ${out.slice(-1500)}`);
  return {
    child,
    out: () => out,
    async stop() {
      const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once("exit", () => r())));
      child.stdin!.end("\n");
      const t = setTimeout(() => child.kill("SIGKILL"), 10000);
      await exited;
      clearTimeout(t);
      return out;
    },
  };
}

/** testpmd's "Forward statistics for port 0": RX and TX packets. */
function fwdStats(out: string): { rx: number; tx: number } {
  const block = out.slice(out.indexOf("Forward statistics for port 0"));
  return { rx: Number(/RX-packets:\s+(\d+)/.exec(block)?.[1]), tx: Number(/TX-packets:\s+(\d+)/.exec(block)?.[1]) };
}

async function exchange(port: MemifPort, pool: Mempool, count: number): Promise<void> {
  const frames = Array.from({ length: count }, (_, i) => udpFrame({ dst: "02:00:00:00:00:0b", src: "02:00:00:00:00:0a", seq: i, size: 60 + (i * 37) % 1400 }));
  const back: number[] = [];
  // Send in bursts of 64, collecting what comes back meanwhile (testpmd's ring is 1024 deep).
  for (let i = 0; i < count; i += 64) {
    await sendAll(port, framesInPool(pool, frames.slice(i, i + 64)));
    back.push(...(await receive(port, Math.min(64, count - i), 3000)));
  }
  back.push(...(await receive(port, count - back.length, 3000)));
  assert.equal(back.length, count, "every frame came back");
  assert.deepEqual(back.map((h) => hex(bytesOf(pool, h))), frames.map((f) => hex(swapped(f))), "MAC-swapped, byte for byte, in order");
  pool.freeBulk(Uint32Array.from(back), back.length);
  const s = port.readStats();
  assert.deepEqual([s["opackets"], s["ipackets"], s["ierrors"], s["oerrors"]], [count, count, 0, 0]);
}

describe(`net_memif with DPDK's net_memif (${testpmd.join(" ") || "dpdk-testpmd"}, macswap)`, { skip }, () => {
  test("testpmd is the server, our port the client: 1000 frames of 60 to 1459 bytes come back MAC-swapped", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "xdplane-memif-dpdk-"));
    const socket = join(dir, "memif.sock");
    const umem = Umem.create({ frames: 4096 });
    const pool = Mempool.create({ umem, cacheSize: 32, debug: true });
    let tp: Testpmd | null = null;
    let port: MemifPort | null = null;
    try {
      tp = await startTestpmd(`net_memif0,role=server,socket=${socket},socket-abstract=no,id=3`, "xdpmemif1");
      port = MemifPort.create({ name: "memif0:0", pid: 0, mempool: pool, role: "client", socket, socketAbstract: false, id: 3, reconnectMs: 100 });
      await port.whenUp(10000);
      assert.match(String(port.info()["remoteName"]), /^DPDK /);
      t.diagnostic(`peer: ${String(port.info()["remoteName"])}`);
      await exchange(port, pool, 1000);
      const out = await tp.stop();
      tp = null;
      assert.deepEqual(fwdStats(out), { rx: 1000, tx: 1000 });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(port.linkUp(), false, "testpmd's exit takes the link down");
    } finally {
      if (tp) await tp.stop();
      port?.close();
      umem.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assertAllReturned(pool);
  });

  test("our port is the server (abstract socket, DPDK's default), testpmd the client: 1000 frames come back MAC-swapped", async () => {
    const name = `/xdplane-memif-${process.pid}.sock`;
    const umem = Umem.create({ frames: 4096 });
    const pool = Mempool.create({ umem, cacheSize: 32, debug: true });
    let tp: Testpmd | null = null;
    let port: MemifPort | null = null;
    try {
      port = MemifPort.create({ name: "memif0:0", pid: 0, mempool: pool, role: "server", socket: name, secret: "xdp" });
      tp = await startTestpmd(`net_memif0,role=client,socket=${name},secret=xdp`, "xdpmemif2");
      await port.whenUp(10000);
      await exchange(port, pool, 1000);
      const out = await tp.stop();
      tp = null;
      assert.deepEqual(fwdStats(out), { rx: 1000, tx: 1000 });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(port.linkUp(), false, "testpmd's exit takes the link down");
      assert.deepEqual([port.connInfo()!.connects, port.connInfo()!.disconnects], [1, 1]);
    } finally {
      if (tp) await tp.stop();
      port?.close();
      umem.close();
    }
    assertAllReturned(pool);
  });
});
