/**
 * `xdplane dp`: runs the AF_XDP device plugin until SIGTERM/SIGINT.
 *
 *   xdplane dp --config <file> [--kubelet-dir <dir>] [--pod-resources-socket <path>] [--node-name <name>]
 *
 * Exit codes as upstream's: 0 normal, 1 config error, 2 log error, 4 cannot start (no pool could be served,
 * or no bpffs for the pins and none could be mounted: the log says what to mount).
 *
 * @example
 * process.exitCode = await main(["--config", "/etc/afxdp/config.json"]);
 */
import { join } from "node:path";
import { loadDpConfig } from "./dp-config.js";
import { createLogger, type Logger } from "./log.js";
import { DevicePlugin, DEFAULT_DEVICE_PLUGIN_DIR, DEFAULT_POD_RESOURCES, DEFAULT_UDS_ROOT, DEFAULT_MAP_ROOT } from "./deviceplugin.js";
import { DEFAULT_PIN_ROOT } from "./redirect.js";

/** Upstream's log folder: `logFile` names a file in it. */
export const LOG_DIR = "/var/log/afxdp-k8s-plugins";

export const USAGE = `Usage: xdplane dp --config <file> [options]

Runs the AF_XDP device plugin for Kubernetes (resources afxdp/<pool>).

Options:
  --config <file>                 the device plugin's config.json (upstream format)
  --kubelet-dir <dir>             kubelet's device-plugins folder, or kubelet's root holding one (looked up
                                  again while running) (default ${DEFAULT_DEVICE_PLUGIN_DIR})
  --pod-resources-socket <path>   kubelet's PodResources socket (default ${DEFAULT_POD_RESOURCES})
  --node-name <name>              this node's name for the config's "nodes" (default $NODE_NAME or the hostname)
  --uds-dir <dir>                 host folder of the handshake sockets (default ${DEFAULT_UDS_ROOT})
  --map-dir <dir>                 host folder of the pinned-map bpffs (default ${DEFAULT_MAP_ROOT})
  --bpf-pin-dir <dir>             bpffs folder for the plugin's pinned programs (default ${DEFAULT_PIN_ROOT});
                                  where no bpffs is, one is mounted (needs CAP_SYS_ADMIN), else it stops
                                  at once saying what to mount (mount -t bpf bpf /sys/fs/bpf)
  -h, --help                      this text
`;

export interface DpArgs {
  config: string;
  kubeletDir?: string;
  podResourcesSocket?: string;
  nodeName?: string;
  udsDir?: string;
  mapDir?: string;
  bpfPinDir?: string;
}

const FLAGS: Record<string, keyof DpArgs> = {
  "--config": "config",
  "--kubelet-dir": "kubeletDir",
  "--pod-resources-socket": "podResourcesSocket",
  "--node-name": "nodeName",
  "--uds-dir": "udsDir",
  "--map-dir": "mapDir",
  "--bpf-pin-dir": "bpfPinDir",
};

/** Parses the arguments after `dp`; `null` for --help. Throws a RangeError naming a bad argument. */
export function parseDpArgs(argv: readonly string[]): DpArgs | null {
  const out: Partial<DpArgs> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") return null;
    const eq = a.indexOf("=");
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const key = FLAGS[flag];
    if (key === undefined) throw new RangeError(`Unknown option '${a}'`);
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "") throw new RangeError(`Option ${flag} needs a value`);
    out[key] = value;
  }
  if (out.config === undefined) throw new RangeError("Missing --config <file>");
  return out as DpArgs;
}

/**
 * Runs the plugin; resolves with the exit code once it stopped (on SIGTERM/SIGINT, or at once on an
 * error). `signal` lets tests stop it without a signal.
 */
export async function main(argv: readonly string[], opts: { signal?: AbortSignal; log?: Logger } = {}): Promise<number> {
  let args: DpArgs | null;
  try {
    args = parseDpArgs(argv);
  } catch (e) {
    process.stderr.write(`xdplane dp: ${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }
  if (args === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config;
  try {
    config = loadDpConfig(args.config);
  } catch (e) {
    process.stderr.write(`xdplane dp: ${(e as Error).message}\n`);
    return 1;
  }
  let log: Logger;
  try {
    log = opts.log ?? createLogger({
      level: config.logLevel || "info",
      ...(config.logFile ? { file: join(LOG_DIR, config.logFile) } : {}),
    });
  } catch (e) {
    process.stderr.write(`xdplane dp: cannot open the log: ${(e as Error).message}\n`);
    return 2;
  }
  const dp = new DevicePlugin({
    config,
    log,
    ...(args.kubeletDir !== undefined ? { kubeletDir: args.kubeletDir } : {}),
    ...(args.podResourcesSocket !== undefined ? { podResourcesSocket: args.podResourcesSocket } : {}),
    ...(args.nodeName !== undefined ? { nodeName: args.nodeName } : {}),
    ...(args.udsDir !== undefined ? { udsRoot: args.udsDir } : {}),
    ...(args.mapDir !== undefined ? { mapRoot: args.mapDir } : {}),
    ...(args.bpfPinDir !== undefined ? { bpfPinRoot: args.bpfPinDir } : {}),
  });
  // Stop requests are taken from here on: one arriving while the plugin starts stops it once started.
  let stopRequested = opts.signal?.aborted ?? false;
  let wake: (() => void) | null = null;
  const onStop = () => {
    stopRequested = true;
    wake?.();
  };
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
  opts.signal?.addEventListener("abort", onStop, { once: true });
  try {
    try {
      await dp.start();
    } catch (e) {
      log.error(`cannot start: ${(e as Error).message}`);
      await dp.stop();
      return 4;
    }
    log.info(`device plugin running on node ${dp.nodeName} (${dp.pools.map((p) => p.resource).join(", ")})`);
    if (!stopRequested) {
      await new Promise<void>((resolve) => {
        // The plugin's own timers and sockets are unref'd: this interval keeps the process alive.
        const keep = setInterval(() => undefined, 1 << 30);
        wake = () => {
          clearInterval(keep);
          resolve();
        };
      });
    }
    log.info("stopping");
    await dp.stop();
    return 0;
  } finally {
    process.off("SIGTERM", onStop);
    process.off("SIGINT", onStop);
    opts.signal?.removeEventListener("abort", onStop);
  }
}
