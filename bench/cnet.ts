/**
 * cnet benchmark (issue 10): the user-space stack against a Linux peer on a veth pair, beside the Linux
 * kernel's own stack on the same veth in the same run.
 *
 * - UDP echo (pps, one core): the peer (kernel sockets, bench/cnet-peer.c `udpflood`: 64-byte datagrams,
 *   256 in flight, sendmmsg/recvmmsg) against `xdplane cnet --udp-echo` (one busy-polling worker on the
 *   DUT CPU, AF_XDP copy mode on the veth), then against a kernel UDP echo (`udpecho`: recvmmsg/sendmmsg,
 *   64 a batch) pinned to the same CPU on the same netdev.
 * - TCP goodput (one connection, MSS-sized segments: the veth's MTU 1500, TSO off on the peer so Linux
 *   sends 1448-byte payloads plus timestamps, as the stack does): the peer's `tcpsend` (64 KiB writes for
 *   the window, then shutdown and wait for the receiver's close: every byte delivered) into
 *   `xdplane cnet --tcp-discard` (Node streams on the worker's event loop), then into the kernel's
 *   `tcpsink` pinned to the DUT CPU.
 *
 * The peer runs on the generator CPU (0), the DUT on CPU 1; medians of the runs. The peer's tools are
 * compiled from bench/cnet-peer.c with `cc -O2` at the start.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCnetPair } from "../src/testing/cnet-peer.js";
import { nsExec } from "../src/testing/netns.js";
import { fwdConfig } from "../src/testing/fwd-config.js";
import { parseConfig } from "../src/config/index.js";
import { CnetApp } from "../src/apps/cnet/app.js";

/** One result. */
export interface CnetBenchRow {
  id: string;
  what: string;
  value: number;
  unit: "Mpps" | "Gbit/s";
  /** Every run's figure. */
  runs: number[];
  note: string;
}

/** What {@link cnetBench} returns. */
export interface CnetBenchResult {
  rows: CnetBenchRow[];
  markdown: string;
}

const GEN_CPU = "0";
const DUT_CPU = "1";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function peerTool(dir: string): string {
  const src = fileURLToPath(new URL("../../bench/cnet-peer.c", import.meta.url));
  const bin = join(dir, "cnet-peer");
  execFileSync("cc", ["-O2", "-o", bin, src]);
  return bin;
}

/** Runs a peer tool without blocking this thread (its timers keep the stacks' clock current). */
function runJson(ns: string, cpu: string, args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const p = spawn("ip", ["netns", "exec", ns, "taskset", "-c", cpu, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("close", (code) => {
      const lines = out.trim().split("\n");
      if (code !== 0) reject(new Error(`${args.join(" ")}: exit ${code}`));
      else resolve(JSON.parse(lines[lines.length - 1]!) as Record<string, number>);
    });
  });
}

function startIn(ns: string, cpu: string, args: string[]): ChildProcess {
  return spawn("ip", ["netns", "exec", ns, "taskset", "-c", cpu, ...args], { stdio: ["ignore", "pipe", "inherit"] });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the four scenarios (root).
 *
 * @example
 * const { rows, markdown } = await cnetBench({ seconds: 3, runs: 3 });
 */
export async function cnetBench(o: { seconds?: number; runs?: number; log?: (m: string) => void } = {}): Promise<CnetBenchResult> {
  const seconds = o.seconds ?? 3;
  const runs = o.runs ?? 3;
  const log = o.log ?? ((m: string) => console.error(m));
  const dir = mkdtempSync(join(tmpdir(), "cnet-bench-"));
  const v = createCnetPair();
  const rows: CnetBenchRow[] = [];
  try {
    const tool = peerTool(dir);
    nsExec(v.nsA, "ip", "addr", "add", "10.215.0.1/24", "dev", v.a);
    nsExec(v.ns, "ip", "addr", "add", "10.215.0.2/24", "dev", v.b);
    // Software checksums and no TSO on the peer: what the stack gets is what a NIC would give it, and
    // Linux's segments are MSS-sized for both receivers.
    nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off", "tso", "off", "gso", "off");
    const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }], cpus: [Number(DUT_CPU)] }), "cnet-bench.jsonc");

    const udp = async (): Promise<number> => {
      const r = await runJson(v.ns, GEN_CPU, [tool, "udpflood", "10.215.0.1", "7", String(seconds), "256", "64"]);
      return r.pps! / 1e6;
    };
    const tcp = async (): Promise<number> => {
      const r = await runJson(v.ns, GEN_CPU, [tool, "tcpsend", "10.215.0.1", "9", String(seconds)]);
      return r.gbps!;
    };
    const repeat = async (f: () => Promise<number>): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < runs; i++) out.push(await f());
      return out;
    };

    // The stack: UDP echo (busy-polling worker) and TCP discard (event-loop host) in one app.
    const app = await CnetApp.start({ config, netns: v.nsA, udpEcho: 7, socket: false, log: () => {} });
    let stackUdp: number[];
    try {
      await udp(); // warm-up: ARP both ways, JIT
      stackUdp = await repeat(udp);
    } finally {
      await app.stop();
    }
    rows.push({ id: "udp-echo-cnet", what: "UDP echo, xdplane cnet (one worker, AF_XDP copy mode)", value: median(stackUdp), unit: "Mpps", runs: stackUdp, note: "64-byte datagrams, 256 in flight" });
    log(`cnet UDP echo: ${median(stackUdp).toFixed(3)} Mpps`);
    const app2 = await CnetApp.start({ config, netns: v.nsA, tcpDiscard: 9, socket: false, log: () => {} });
    let stackTcp: number[];
    try {
      stackTcp = await repeat(tcp);
    } finally {
      await app2.stop();
    }
    rows.push({ id: "tcp-rx-cnet", what: "TCP goodput into xdplane cnet --tcp-discard (Node streams)", value: median(stackTcp), unit: "Gbit/s", runs: stackTcp, note: "one connection" });
    log(`cnet TCP goodput: ${median(stackTcp).toFixed(3)} Gbit/s`);

    // The kernel on the same veth, the same CPU.
    const echo = startIn(v.nsA, DUT_CPU, [tool, "udpecho", "7"]);
    let kernUdp: number[];
    try {
      await sleep(200);
      await udp();
      kernUdp = await repeat(udp);
    } finally {
      echo.kill("SIGKILL");
    }
    rows.push({ id: "udp-echo-kernel", what: "UDP echo, Linux kernel sockets (recvmmsg/sendmmsg, one thread)", value: median(kernUdp), unit: "Mpps", runs: kernUdp, note: "same peer, same CPU" });
    log(`kernel UDP echo: ${median(kernUdp).toFixed(3)} Mpps`);
    const kernTcp: number[] = [];
    for (let i = 0; i < runs; i++) {
      const sink = startIn(v.nsA, DUT_CPU, [tool, "tcpsink", "9"]);
      try {
        await new Promise<void>((r) => sink.stdout!.once("data", () => r()));
        kernTcp.push(await tcp());
      } finally {
        sink.kill("SIGKILL");
      }
    }
    rows.push({ id: "tcp-rx-kernel-gro", what: "TCP goodput into the Linux kernel (read() loop), GRO on (segments coalesced up to 64 KB)", value: median(kernTcp), unit: "Gbit/s", runs: kernTcp, note: "same peer, same CPU" });
    log(`kernel TCP goodput, GRO on: ${median(kernTcp).toFixed(3)} Gbit/s`);
    // The comparison: 1460-byte segments through both receivers. The stack sees every segment
    // (AF_XDP takes frames before GRO); with GRO off the kernel does too.
    nsExec(v.nsA, "ethtool", "-K", v.a, "gro", "off");
    const kernSeg: number[] = [];
    for (let i = 0; i < runs; i++) {
      const sink = startIn(v.nsA, DUT_CPU, [tool, "tcpsink", "9"]);
      try {
        await new Promise<void>((r) => sink.stdout!.once("data", () => r()));
        kernSeg.push(await tcp());
      } finally {
        sink.kill("SIGKILL");
      }
    }
    rows.push({ id: "tcp-rx-kernel", what: "TCP goodput into the Linux kernel (read() loop), GRO off: every 1460-byte segment", value: median(kernSeg), unit: "Gbit/s", runs: kernSeg, note: "same peer, same CPU" });
    log(`kernel TCP goodput, GRO off: ${median(kernSeg).toFixed(3)} Gbit/s`);
  } finally {
    v.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const ratio = (a: string, b: string) => rows.find((r) => r.id === a)!.value / rows.find((r) => r.id === b)!.value;
  const md = [
    "## cnet: the user-space stack against a Linux peer (veth)",
    "",
    `Peer on CPU ${GEN_CPU} (kernel sockets, bench/cnet-peer.c), DUT on CPU ${DUT_CPU}; ${runs} runs of ${seconds} s, medians.`,
    "",
    "| scenario | result | runs | note |",
    "| --- | ---: | --- | --- |",
    ...rows.map((r) => `| ${r.what} | ${r.value.toFixed(3)} ${r.unit} | ${r.runs.map((x) => x.toFixed(3)).join(", ")} | ${r.note} |`),
    "",
    `UDP echo: cnet / kernel = ${ratio("udp-echo-cnet", "udp-echo-kernel").toFixed(2)}x (target 1.5x). TCP goodput: cnet / kernel = ${ratio("tcp-rx-cnet", "tcp-rx-kernel").toFixed(2)}x with 1460-byte segments through both (target 1x); ${ratio("tcp-rx-cnet", "tcp-rx-kernel-gro").toFixed(2)}x of the kernel with GRO.`,
    "",
  ].join("\n");
  return { rows, markdown: md };
}
