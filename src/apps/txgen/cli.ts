/**
 * `xdplane txgen -c <cfg.jsonc>`: the traffic generator's command line. Interactive by default (a screen
 * redrawn in place and txgen's prompt); `--duration <s>` runs, stops and prints a summary (`--json` for
 * scripts), exiting non-zero when nothing came back on ports that expect a return path.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../config/index.js";
import { startTxgen, splitWords, type Txgen, type PortStats } from "./txgen.js";
import { Commands, readCommandFile, HELP } from "./commands.js";
import { Screen } from "./screen.js";
import { parsePortList } from "./settings.js";
import type { StopReport } from "../../cnf/index.js";

export const usage = `Usage: xdplane txgen -c <cfg.jsonc> [options]

Generates traffic on the config's lports (net_af_xdp, one RX/TX thread per configured thread) with the
AF_XDP engine or the kernel's XDP live frames, measures what comes back (rates, latency, loss, reordering),
replays and captures pcap files. Interactive by default; type 'help' at the prompt.

Options:
  -c, --config <file>        jsonc configuration (CNDP jcfg: lports, umems, lcore-groups, threads)
  -s, --set '<ports> <setting> <value>'
                             a setting before the ports open (repeatable), e.g. --set 'all size 128'
  -f, --load <file>          a command file (as written by 'save'): its set lines apply before the ports
                             open, its other commands run after
      --duration <s>         send for this long (0: until every port's count is sent), stop, print a
                             summary and exit (no screen)
      --start <ports>        ports started in --duration mode (default all)
      --json                 summary (and --interval stats lines) as JSON
      --interval <ms>        stats every interval in --duration mode (default 0: none)
      --debug-frames         track frame ownership; exit 1 on leaks, double frees, bad kernel returns
  -h, --help                 this text

At the prompt and in command files:
${HELP}
At exit every frame is checked (frames leaked, pool overflows, TX rejects; with --debug-frames also
double frees, bad allocs, bad kernel returns); each fault is reported on stderr.

Exit status: 0; 1 when ports with rx on/count received nothing while packets were sent, on errors, on
thread errors or pool overflows, and with --debug-frames on any frame fault; 2 for usage errors.
`;

interface Summary {
  type: "summary";
  seconds: number;
  ok: boolean;
  reason: string | null;
  ports: (PortStats & { txPps: number; rxPps: number; txMbps: number; rxMbps: number })[];
  /** The frame report at close (the CNF framework's StopReport). */
  frames: StopReport;
}

/**
 * As `xdplane fwd`: with --debug-frames any fault fails the run; without it, thread errors and frees that
 * overflowed a pool (double frees beyond doubt) do, and the other faults are reported.
 */
function reportFails(r: StopReport, debug: boolean): boolean {
  return debug ? r.faults.length > 0 : r.threadErrors.length > 0 || r.poolOverflows > 0;
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        config: { type: "string", short: "c" },
        set: { type: "string", short: "s", multiple: true },
        load: { type: "string", short: "f" },
        duration: { type: "string" },
        start: { type: "string" },
        json: { type: "boolean" },
        interval: { type: "string" },
        "debug-frames": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    process.stderr.write(`xdplane txgen: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`xdplane txgen: missing -c <cfg.jsonc>\n\n${usage}`);
    return 2;
  }
  const num = (v: string | undefined, what: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`Invalid ${what} '${v}': a non-negative number`);
    return n;
  };
  let duration: number | undefined;
  let interval: number;
  try {
    duration = num(values.duration, "--duration");
    interval = num(values.interval, "--interval") ?? 0;
  } catch (e) {
    process.stderr.write(`xdplane txgen: ${(e as Error).message}\n`);
    return 2;
  }
  const json = values.json ?? false;
  const debug = values["debug-frames"] ?? false;
  if (duration === undefined && !process.stdin.isTTY) {
    process.stderr.write("xdplane txgen: the interactive screen needs a terminal; use --duration <s> (and --json) in scripts\n");
    return 2;
  }
  const log = (m: string) => process.stderr.write(json ? `${JSON.stringify({ level: "info", msg: m })}\n` : `${m}\n`);

  const { config, warnings } = loadConfig(values.config);
  for (const w of warnings) process.stderr.write(`warning: ${typeof w === "string" ? w : (w as { message: string }).message}\n`);
  // A command file: its set lines are settings (they decide what each port opens), the rest runs after.
  const fileLines = values.load ? readCommandFile(values.load).map((l, i) => ({ l: l.trim(), where: `${values.load}:${i + 1}` })) : [];
  const preSets: string[] = [];
  const after: { l: string; where: string }[] = [];
  for (const x of fileLines) {
    if (x.l === "" || x.l.startsWith("#")) continue;
    if (splitWords(x.l)[0]?.toLowerCase() === "set") preSets.push(x.l.replace(/^\s*set\s+/i, ""));
    else after.push(x);
  }
  let tg: Txgen;
  try {
    tg = await startTxgen({ config, sets: [...preSets, ...(values.set ?? [])], log, ...(debug ? { debugFrames: true } : {}) });
  } catch (e) {
    process.stderr.write(`xdplane txgen: ${(e as Error).message}\n`);
    return e instanceof RangeError || e instanceof SyntaxError ? 2 : 1;
  }
  let code = 0;
  try {
    const commands = new Commands(tg, { print: (s) => process.stdout.write(`${s.replace(/\n$/, "")}\n`) });
    for (const x of after) await commands.run(x.l, x.where);
    if (duration === undefined) {
      const screen = new Screen(tg);
      screen.start();
      const sig = () => screen.quit();
      process.once("SIGINT", sig);
      process.once("SIGTERM", sig);
      await screen.done;
    } else {
      const startPorts = values.start ? parsePortList(values.start, tg.ports.length) : undefined;
      code = await runFor(tg, duration, startPorts, json, interval, debug);
    }
  } finally {
    // runFor closed already (its summary holds the report): a second close reports nothing.
    if (reportFails(await tg.close(), debug)) code = 1;
  }
  return code;
}

async function runFor(tg: Txgen, duration: number, ports: number[] | undefined, json: boolean, interval: number, debug: boolean): Promise<number> {
  tg.clear();
  tg.rates();
  const t0 = performance.now();
  await tg.start(ports);
  let timer: NodeJS.Timeout | null = null;
  if (interval > 0) {
    timer = setInterval(() => {
      const r = tg.rates();
      if (json) process.stdout.write(`${JSON.stringify({ type: "stats", t: Date.now(), ports: r })}\n`);
      else for (const p of r) process.stdout.write(`${p.name.padEnd(16)} tx ${Math.round(p.txPps).toLocaleString("en-US").padStart(12)} pps  rx ${Math.round(p.rxPps).toLocaleString("en-US").padStart(12)} pps\n`);
    }, interval);
  }
  let stopping = false;
  const stopEarly = new Promise<void>((resolve) => {
    const on = () => {
      stopping = true;
      resolve();
    };
    process.once("SIGINT", on);
    process.once("SIGTERM", on);
  });
  const waits: Promise<unknown>[] = [tg.waitIdle(), stopEarly];
  if (duration > 0) waits.push(new Promise((r) => setTimeout(r, duration * 1000)));
  await Promise.race(waits);
  const t1 = performance.now();
  await tg.stop();
  if (timer) clearInterval(timer);
  await new Promise((r) => setTimeout(r, 100)); // frames still on their way back
  const secs = (t1 - t0) / 1000;
  const stats = tg.stats();
  const ports2 = stats.map((s) => ({
    ...s, txPps: s.txPkts / secs, rxPps: s.rxPkts / secs, txMbps: (s.txBytes * 8) / secs / 1e6, rxMbps: (s.rxBytes * 8) / secs / 1e6,
  }));
  const expect = tg.ports.filter((p) => p.settings.rx !== "off");
  const sent = stats.reduce((a, s) => a + s.txPkts, 0);
  const got = expect.reduce((a, p) => a + stats[p.pid]!.rxIp4, 0);
  const errors = tg.ports.filter((p) => p.error !== null).map((p) => p.error!);
  let reason: string | null = null;
  // Every frame back: the ports close here so that the summary holds the report.
  const frames = await tg.close();
  if (errors.length > 0) reason = errors.join("; ");
  else if (reportFails(frames, debug)) reason = frames.faults.join("; ");
  else if (expect.length > 0 && sent > 0 && got === 0) reason = `no IPv4 frame received on ports ${expect.map((p) => p.pid).join(",")} (rx ${[...new Set(expect.map((p) => p.settings.rx))].join("/")}) after ${sent} packets sent`;
  const summary: Summary = { type: "summary", seconds: secs, ok: reason === null, reason, ports: ports2, frames };
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    for (const p of ports2) {
      const lat = p.latency ? `  latency us p50 ${p.latency.p50Us.toFixed(1)} p99 ${p.latency.p99Us.toFixed(1)} max ${p.latency.maxUs.toFixed(1)}` : "";
      process.stdout.write(`${p.pid} ${p.name}: tx ${p.txPkts} (${(p.txPps / 1e6).toFixed(3)} Mpps) rx ${p.rxPkts} (${(p.rxPps / 1e6).toFixed(3)} Mpps) errors ${p.txErrors}` +
        `${p.loss !== null ? ` loss ${p.loss}` : ""} reordered ${p.reordered}${lat}\n`);
    }
    process.stdout.write(`frames leaked: ${frames.leakedFrames}, double frees: ${frames.doubleFrees ?? "n/a (no --debug-frames)"}, ` +
      `bad kernel returns: ${frames.badKernelReturns ?? "n/a"}, pool overflows: ${frames.poolOverflows}, tx rejected: ${frames.txRejected}\n`);
    if (reason) process.stderr.write(`xdplane txgen: ${reason}\n`);
  }
  if (stopping && !json) process.stderr.write("xdplane txgen: stopped by signal\n");
  return reason === null ? 0 : 1;
}
