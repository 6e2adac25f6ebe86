/**
 * `xdplane fwd -c <cfg.jsonc> [mode]`: command line of the forwarder (as cndpfwd's).
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../config/index.js";
import { FwdApp } from "./app.js";
import { MODES } from "./modes.js";
import { openFwdSocket } from "./telemetry.js";
import { createLogger } from "../../telemetry/log.js";
import { frameReportLine, reportExitCode, runUntilStopped } from "../../cnf/cli-run.js";

export const usage = `Usage: xdplane fwd -c <cfg.jsonc> [mode] [options]

Forwards packets between the config's lports with one pinned worker thread per configured thread.

Modes (as CNDP cndpfwd; default: the config's options.mode, else drop):
  drop | rx-only    receive and free
  lb | loopback     swap MAC addresses and send back on the same port
  tx-only           send 64-byte UDP frames
  tx-only-rx        send 64-byte UDP frames and count what comes back
  fwd               send to the port numbered by the last octet of the destination MAC
  l3fwd             route IPv4 by longest prefix (options."l3fwd-fib-rules": "<ip>/<depth>,<MAC>,<port>";
                    live: /l3fwd/route/add, /l3fwd/route/del, /l3fwd/routes on the command socket)
  acl-strict        forward (as fwd, MACs swapped) only what an ACL rule allows
  acl-permissive    forward all but what an ACL rule denies (/acl/add,<src>/<m>:<dst>/<m>:<allow|deny>,
                    /acl/clear, /acl/build, /acl/rules; options."acl-rules" at start)

Options:
  -c, --config <file>     jsonc configuration (CNDP jcfg format)
  -b, --burst <n>         packets per burst, 1-256 (default: config defaults.burst, 64)
      --duration <s>      stop after this many seconds (default: run until SIGINT/SIGTERM)
      --interval <ms>     stats interval (default 1000); 0 prints no periodic stats
      --json              print stats lines and the final summary as JSON
      --debug-frames      track frame ownership; exit 1 on leaks, double frees, bad kernel returns
      --tx-dst-mac <mac>  destination MAC of tx-only frames
      --xdp-fastpath      l3fwd: forward in an XDP program what it can (IPv4, no options, TTL > 1, a route),
                          the rest in user space; af_xdp ports with their own program (privileged)
      --socket-dir <dir>  where the command socket app_socket.<pid> goes (default /var/run/cndp)
      --no-socket         open no command socket
  -h, --help              this text
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      burst: { type: "string", short: "b" },
      duration: { type: "string" },
      interval: { type: "string" },
      json: { type: "boolean" },
      "debug-frames": { type: "boolean" },
      "tx-dst-mac": { type: "string" },
      "xdp-fastpath": { type: "boolean" },
      "socket-dir": { type: "string" },
      "no-socket": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`xdplane fwd: missing -c <cfg.jsonc>\n\n${usage}`);
    return 2;
  }
  if (positionals.length > 1) {
    process.stderr.write(`xdplane fwd: one mode expected, got ${positionals.join(" ")}\n`);
    return 2;
  }
  const mode = positionals[0];
  if (mode !== undefined && !(MODES as readonly string[]).includes(mode)) {
    process.stderr.write(`xdplane fwd: unknown mode '${mode}': expected one of ${MODES.join(", ")}\n`);
    return 2;
  }
  const json = values.json ?? false;
  const debug = values["debug-frames"] ?? false;
  const { config, warnings } = loadConfig(values.config);
  for (const w of warnings) createLogger({ name: "config" }).log("warning", w.text);
  const num = (v: string | undefined, what: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`Invalid ${what} '${v}': a non-negative number`);
    return n;
  };
  const burst = num(values.burst, "--burst");
  const duration = num(values.duration, "--duration");
  const interval = num(values.interval, "--interval") ?? 1000;
  // CNDP's levels; JSON lines when stderr is not a terminal (XDPLANE_LOG_LEVEL, XDPLANE_LOG_FORMAT).
  const logger = createLogger({ name: "fwd" });
  const log = (m: string) => logger.log("info", m);
  const app = await FwdApp.start({
    config, log,
    ...(mode !== undefined ? { mode } : {}),
    ...(burst !== undefined ? { burst } : {}),
    ...(values["debug-frames"] ? { debugFrames: true } : {}),
    ...(values["tx-dst-mac"] ? { txDstMac: values["tx-dst-mac"] } : {}),
    ...(values["xdp-fastpath"] ? { xdpFastpath: true } : {}),
  });
  let sock: ReturnType<typeof openFwdSocket> | null = null;
  if (!values["no-socket"]) {
    try {
      sock = openFwdSocket(app, { ...(values["socket-dir"] ? { socketDir: values["socket-dir"] } : {}) });
    } catch (e) {
      // Release the ports, programs and threads before failing (no half-started forwarder).
      await app.stop();
      throw new Error(`Cannot open the command socket: ${(e as Error).message} (use --socket-dir <dir> or --no-socket)`);
    }
  }
  log(`xdplane fwd: mode ${app.mode}, ${app.ports.length} port(s), ${app.threads.length} thread(s)${sock ? `, socket ${sock.path}` : ""}`);
  app.rates();
  const stop = async (): Promise<number> => {
    clearInterval(timer);
    sock?.close();
    const running = app.rates();
    const report = await app.stop();
    // Read once the threads stopped: port figures and mode counters then agree exactly.
    const final = app.finalRates ?? running;
    const threads = app.threadStats();
    const modeCounters = Object.fromEntries(final.map((p, i) => [p.name, app.portModeCounters(i)]));
    const summary = { mode: app.mode, ports: final, threads, modeCounters, ...(app.fastPathFinal ? { fastPath: app.fastPathFinal } : {}), ...report };
    if (json) process.stdout.write(`${JSON.stringify({ type: "summary", ...summary })}\n`);
    else {
      for (const p of final) {
        const extra = Object.entries(modeCounters[p.name] ?? {}).map(([k, v]) => ` ${k.replace(/^n_/, "").replace(/_packets$/, "")} ${v}`).join("");
        process.stdout.write(`${p.name}: rx ${p.ipackets} tx ${p.opackets} drops ${p.drops}${extra}\n`);
      }
      const fp = app.fastPathFinal;
      if (fp) process.stdout.write(`XDP fast path: forwarded ${fp.forwarded}, to user space ${fp.toUser}, redirect failed ${fp.redirectFailed}\n`);
      process.stdout.write(frameReportLine(report));
    }
    for (const f of report.faults) logger.log("err", f);
    return reportExitCode(report, debug);
  };
  const timer = setInterval(() => {
    const rates = app.rates();
    if (json) process.stdout.write(`${JSON.stringify({ type: "stats", t: Date.now(), ports: rates })}\n`);
    else {
      for (const r of rates) {
        process.stdout.write(`${r.name.padEnd(16)} rx ${fmt(r.rxPps)} pps ${r.rxMbps.toFixed(1).padStart(8)} Mbps  tx ${fmt(r.txPps)} pps ${r.txMbps.toFixed(1).padStart(8)} Mbps  drops ${r.drops}\n`);
      }
    }
  }, interval > 0 ? interval : 2 ** 30);
  return await runUntilStopped(stop, duration);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US").padStart(12);
}
