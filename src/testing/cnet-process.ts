/**
 * Test fixture: `xdplane cnet` as a process (root) on the stack's end of a {@link CnetPair}: a config
 * for `v.a` in a fresh directory, the CLI started with `args` (plus --netns, --json, --debug-frames and
 * the socket directory), its output collected, and its app socket waited for. `stop()` sends SIGTERM and
 * asserts exit 0 and a summary with no leaked or doubly freed frame (returned for more checks);
 * `cleanup()` (in a finally) kills what still runs and removes the directory and the pair.
 *
 * @example
 * const v = createCnetPair();
 * const p = await cnetProcess(v, ["--udp-echo", "7777"]);
 * try {
 *   const client = await AppClient.connect(p.sock);
 *   client.close();
 *   await p.stop();
 * } finally {
 *   p.cleanup();
 * }
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CnetPair } from "./cnet-peer.js";
import { fwdConfig } from "./fwd-config.js";

/** The summary line `xdplane cnet --json` prints at exit (what the tests read of it). */
export interface CnetSummary {
  leakedFrames: number;
  doubleFrees: number;
  counters: Record<string, number>;
}

/** What {@link cnetProcess} returns. */
export interface CnetProcess {
  child: ChildProcess;
  /** The app socket's path. */
  sock: string;
  /** Standard error so far (for assertion messages). */
  err(): string;
  /** SIGTERM, exit 0, no leak, no double free; the summary. */
  stop(): Promise<CnetSummary>;
  /** Kills what still runs, removes the directory and the pair (in a finally). */
  cleanup(): void;
}

/**
 * Starts the process (see the module comment); on a failure before it is returned, cleans up first.
 *
 * @example
 * const p = await cnetProcess(createCnetPair(), ["--tcp-echo", "7"]);
 * p.cleanup();
 */
export async function cnetProcess(v: CnetPair, args: string[]): Promise<CnetProcess> {
  const dir = mkdtempSync(join(tmpdir(), "cnet-"));
  let child: ChildProcess | null = null;
  const cleanup = () => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    v.destroy();
  };
  try {
    const cfg = join(dir, "cnet.jsonc");
    writeFileSync(cfg, fwdConfig({ ports: [{ netdev: v.a }], idleTimeout: 10, intrTimeout: 50 }));
    const cli = new URL("../cli/main.js", import.meta.url).pathname;
    const c = spawn(process.execPath, [cli, "cnet", "-c", cfg, "--netns", v.nsA, ...args, "--json", "--debug-frames", "--socket-dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    let out = "";
    let err = "";
    c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const sock = join(dir, `app_socket.${c.pid}`);
    for (let i = 0; i < 300 && !existsSync(sock) && c.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(sock), `the app socket appeared: ${err}`);
    const stop = async (): Promise<CnetSummary> => {
      const exit = c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise<number | null>((r) => c.once("exit", r));
      c.kill("SIGTERM");
      assert.equal(await exit, 0, `exit code (stderr: ${err})`);
      const summary = JSON.parse(out.trim().split("\n").find((l) => l.includes('"type":"summary"'))!) as CnetSummary;
      assert.equal(summary.leakedFrames, 0);
      assert.equal(summary.doubleFrees, 0);
      return summary;
    };
    return { child: c, sock, err: () => err, stop, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
