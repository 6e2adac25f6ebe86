/**
 * Fixtures for the telemetry tests: synthetic app processes, HTTP helpers, free ports, waiting.
 * Test-only; every process started here is killed by the test that started it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));

/** A synthetic app process (synthetic-app.ts). */
export interface SyntheticProcess {
  child: ChildProcess;
  pid: number;
  socket: string;
  /** Kills it (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node synthetic-app.js` and waits for its `ready <path>` line. */
export async function spawnSynthetic(socketDir: string, args: string[] = []): Promise<SyntheticProcess> {
  const child = spawn(process.execPath, [join(here, "synthetic-app.js"), "--socket-dir", socketDir, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const socket = await new Promise<string>((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`synthetic app did not start: ${stderr}`)), 10000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+)\n/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`synthetic app exited (${code}): ${stderr}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    socket,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Resolves when `cond()` (sync or async) is truthy; rejects after `ms` naming `what`. */
export async function until<T>(cond: () => T | Promise<T>, ms: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** An HTTP answer. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** fetch() with the body read and parsed as JSON when it is. */
export async function http(url: string, method = "GET", headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(url, { method, headers });
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, headers: r.headers, text, json };
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** The value of one sample in Prometheus text, or undefined. `labels` must match exactly as written. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.indexOf("}");
    const ls = line.slice(name.length + 1, close).split(",");
    if (want.every((w) => ls.includes(w))) return Number(line.slice(close + 1).trim());
  }
  return undefined;
}
