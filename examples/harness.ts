/**
 * What the examples' tests share: run an example's main as a child process (as a person would), read its
 * JSON lines, trade frames with it from the peer end of a veth, check its stop report.
 * Tests only; the examples themselves import nothing but "xdplane".
 */
import { ipv4Checksum } from "xdplane/wire";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { StopReport } from "xdplane/cnf";
import type { PacketSocket } from "../src/testing/packet-socket.js";

/** The compiled main of an example (`dist/examples/<name>/<file>`). */
export function exampleScript(name: string, file = "main.js"): string {
  return fileURLToPath(new URL(`./${name}/${file}`, import.meta.url));
}

/** An example's jsonc (from the source tree) with netdev names replaced, written to `out`. */
export function writeConfig(name: string, jsonc: string, out: string, replace: Record<string, string>): string {
  let text = readFileSync(fileURLToPath(new URL(`../../examples/${name}/${jsonc}`, import.meta.url)), "utf8");
  for (const [from, to] of Object.entries(replace)) text = text.replaceAll(`"${from}`, `"${to}`);
  writeFileSync(out, text);
  return out;
}

/** A running example: its JSON lines as they come, SIGTERM and the stop report. */
export class Child {
  readonly proc: ChildProcess;
  stderr = "";
  private readonly lines: Record<string, unknown>[] = [];

  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let buf = "";
    this.proc.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try { this.lines.push(JSON.parse(line) as Record<string, unknown>); } catch { /* not ours */ }
      }
    });
    this.proc.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
  }

  /** The first JSON line with key `key`; fails after `ms` or when the child exits first. */
  async line(key: string, ms = 20000): Promise<Record<string, unknown>> {
    const t0 = Date.now();
    for (;;) {
      const l = this.lines.find((x) => key in x);
      if (l !== undefined) return l;
      if (this.proc.exitCode !== null || Date.now() - t0 > ms) {
        assert.fail(`no '${key}' line (exit ${this.proc.exitCode}); stderr: ${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGTERM; resolves with the stop report and the exit code. */
  async stop(): Promise<{ report: StopReport; code: number | null }> {
    const exited = this.proc.exitCode !== null ? Promise.resolve(this.proc.exitCode) : new Promise<number | null>((r) => this.proc.once("exit", (c) => r(c)));
    this.proc.kill("SIGTERM");
    const report = (await this.line("stopped")).stopped as StopReport;
    return { report, code: await exited };
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
  }
}

/** Options of {@link exchange}. */
export interface ExchangeOptions { rx?: PacketSocket; ms?: number; quietMs?: number }

/**
 * Sends `frames` from `ps` (a few at a time) and collects what comes back on `o.rx` (default `ps`) that
 * `keep` accepts, until `expect` frames came back and then `quietMs` passed without another one (or `ms`
 * in all).
 */
export async function exchange(ps: PacketSocket, frames: Uint8Array[], expect: number, keep: (f: Uint8Array) => boolean, o: ExchangeOptions = {}): Promise<Uint8Array[]> {
  const { rx = ps, ms = 8000, quietMs = 300 } = o;
  const back: Uint8Array[] = [];
  let sent = 0;
  const t0 = Date.now();
  let last = Date.now();
  while (Date.now() - t0 < ms && (sent < frames.length || back.length < expect || Date.now() - last < quietMs)) {
    for (let k = 0; k < 32 && sent < frames.length; k++) {
      if (!ps.send(frames[sent]!)) break;
      sent++;
    }
    let f;
    while ((f = rx.recv()) !== null) if (keep(f)) { back.push(f); last = Date.now(); }
    if (sent >= frames.length) rx.wait(10);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(sent, frames.length, "every frame was sent");
  return back;
}

/** The bytes of a MAC address string. */
export function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(":").map((h) => Number.parseInt(h, 16)));
}

/** Whether the frame's destination MAC is `mac`. */
export function sentTo(f: Uint8Array, mac: string): boolean {
  const m = macBytes(mac);
  return m.every((b, i) => f[i] === b);
}

/** A stop report with nothing wrong: no frame leaked, none freed twice, no rejects, no thread errors. */
export function assertClean(r: StopReport): void {
  assert.deepEqual(r.faults, []);
  assert.deepEqual(r.threadErrors, []);
  assert.equal(r.leakedFrames, 0, "no frame leaked");
  assert.equal(r.poolOverflows, 0);
  assert.equal(r.txRejected, 0);
  assert.equal(r.doubleFrees ?? 0, 0, "no frame freed twice");
  assert.equal(r.badAllocs ?? 0, 0);
  assert.equal(r.badKernelReturns ?? 0, 0);
}

/** What the responder must send back for `f`: addresses and ports swapped, TTL 64, IP checksum redone. */
export function echoOf(f: Uint8Array): Uint8Array {
  const w = Uint8Array.from(f);
  w.set(f.subarray(6, 12), 0); w.set(f.subarray(0, 6), 6);
  w.set(f.subarray(30, 34), 26); w.set(f.subarray(26, 30), 30);
  w.set(f.subarray(36, 38), 34); w.set(f.subarray(34, 36), 36);
  w[22] = 64; w[24] = 0; w[25] = 0;
  const c = ipv4Checksum(w, 14);
  w[24] = c >> 8; w[25] = c & 0xff;
  return w;
}
