/**
 * End to end: `xdplane fwd -c cfg.jsonc lb` over a net_pcap port (no root: a capture replayed, the MAC-swapped
 * frames written to the tx file byte for byte) and over a net_af_packet port on a veth (frames from the peer
 * come back MAC-swapped). The forwarder opens the ports in its worker thread from their shared form, and its
 * stop report (with the frame tracker) finds no leak.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PcapIndex, PcapWriter } from "./pcap-file.js";
import { canUseNetns, createVethPair } from "../testing/netns.js";
import { udpFrame } from "../testing/packet-socket.js";
import { pingPong } from "../testing/veth-traffic.js";

const cli = new URL("../cli/main.js", import.meta.url).pathname;

function config(lport: string, pmd: string): string {
  return `{
  "application": { "name": "fwd-ports-test" },
  "defaults": { "bufcnt": 4, "bufsz": 2, "rxdesc": 1, "txdesc": 1, "cache": 64 },
  "umems": { "umem0": { "bufcnt": 4, "bufsz": 2, "rxdesc": 1, "txdesc": 1 } },
  "lports": { ${JSON.stringify(lport)}: { "pmd": ${JSON.stringify(pmd)}, "qid": 0, "umem": "umem0" } },
  "lcore-groups": { "initial": [0], "group0": [1] },
  "threads": { "main": { "group": "initial" }, "fwd:0": { "group": "group0", "lports": [${JSON.stringify(lport)}] } }
}
`;
}

interface Summary { leakedFrames: number; doubleFrees: number; faults: string[]; ports: { ipackets: number; opackets: number }[] }

/** Starts the forwarder; resolves once it prints stats. */
async function startFwd(cfg: string): Promise<{ child: ChildProcess; out: () => string; err: () => string }> {
  const child = spawn(process.execPath, [cli, "fwd", "-c", cfg, "lb", "--debug-frames", "--json", "--interval", "100", "--no-socket"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const end = Date.now() + 15000;
  while (!out.includes('"type":"stats"') && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  assert.ok(out.includes('"type":"stats"'), `the forwarder started (exit ${child.exitCode}): ${err}`);
  return { child, out: () => out, err: () => err };
}

/** SIGTERM, exit 0, and the summary line. */
async function stopFwd(f: { child: ChildProcess; out: () => string; err: () => string }): Promise<Summary> {
  const exit = new Promise<number | null>((r) => f.child.once("exit", r));
  f.child.kill("SIGTERM");
  assert.equal(await exit, 0, `exit code (stderr: ${f.err()})`);
  const line = f.out().trim().split("\n").find((l) => l.includes('"type":"summary"'));
  assert.ok(line, `a summary (stdout: ${f.out().slice(-500)})`);
  return JSON.parse(line) as Summary;
}

const swapped = (f: Uint8Array) => {
  const s = f.slice();
  s.set(f.subarray(6, 12), 0);
  s.set(f.subarray(0, 6), 6);
  return s;
};
const hex = (f: Uint8Array) => Buffer.from(f).toString("hex");

test("fwd lb over a net_pcap port: the capture comes back MAC-swapped in the tx file, byte for byte; no frame leaked", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xdplane-fwd-pcap-"));
  let f: Awaited<ReturnType<typeof startFwd>> | null = null;
  try {
    const rx = join(dir, "in.pcap");
    const tx = join(dir, "out.pcap");
    const frames = Array.from({ length: 300 }, (_, i) => udpFrame({ dst: "02:00:00:00:00:0b", src: "02:00:00:00:00:0a", seq: i, size: 60 + (i % 7) * 100 }));
    const w = PcapWriter.create(rx);
    frames.forEach((fr, i) => w.append(fr, 0, fr.length, 1_700_000_000, i));
    w.close();
    const cfg = join(dir, "fwd.jsonc");
    writeFileSync(cfg, config("pcap0:0", `net_pcap:rx=${rx},tx=${tx},loop=2`));
    f = await startFwd(cfg);
    const end = Date.now() + 10000;
    const sent = () => [...f!.out().matchAll(/"opackets":(\d+)/g)].map((m) => Number(m[1])).at(-1) ?? 0;
    while (sent() < 600 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const sum = await stopFwd(f);
    f = null;
    assert.deepEqual([sum.leakedFrames, sum.doubleFrees, sum.faults], [0, 0, []]);
    assert.deepEqual([sum.ports[0]!.ipackets, sum.ports[0]!.opackets], [600, 600]);
    const out = PcapIndex.read(tx);
    assert.equal(out.count, 600);
    const want = [...frames, ...frames].map((x) => hex(swapped(x)));
    assert.deepEqual(Array.from({ length: out.count }, (_, i) => hex(out.frame(i))), want);
  } finally {
    f?.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("fwd lb over a net_af_packet port on a veth: the peer's frames come back MAC-swapped; no frame leaked", { skip: canUseNetns() ? false : "needs root" }, async () => {
  const v = createVethPair();
  const dir = mkdtempSync(join(tmpdir(), "xdplane-fwd-afp-"));
  let f: Awaited<ReturnType<typeof startFwd>> | null = null;
  try {
    const cfg = join(dir, "fwd.jsonc");
    writeFileSync(cfg, config(`${v.a}:0`, "net_af_packet"));
    f = await startFwd(cfg);
    const frames = Array.from({ length: 200 }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i }));
    const back = await pingPong(v, frames, 5000);
    assert.equal(back.length, 200);
    assert.deepEqual(back.map(hex).sort(), frames.map((x) => hex(swapped(x))).sort());
    const sum = await stopFwd(f);
    f = null;
    assert.deepEqual([sum.leakedFrames, sum.doubleFrees, sum.faults], [0, 0, []]);
    assert.deepEqual([sum.ports[0]!.ipackets, sum.ports[0]!.opackets], [200, 200]);
  } finally {
    f?.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    v.destroy();
  }
});
