/**
 * `xdplane config from-env [--out <file>]`: writes the jsonc for `xdplane fwd` inside a pod from what the
 * AF_XDP device plugin gave the container, as CNDP's jsonc_gen.sh does for cndpfwd:
 *
 * - devices: `AFXDP_DEVICES_<POOL>` (current layout, one variable per pool) and the older `AFXDP_DEVICES`,
 *   space-separated netdev names;
 * - one lport `<netdev>:<qid>` per netdev (pmd net_af_xdp, umem0 with one 16K-buffer region per lport),
 *   with `uds_path` when the device's handshake socket is there (`/tmp/afxdp_dp/<netdev>/afxdp.sock`, older
 *   `/tmp/afxdp.sock`), else `xsk_pin_path` when its pinned map is (`/tmp/afxdp_dp/<netdev>/xsks_map`,
 *   older `/tmp/xsks_map`): either makes the lport unprivileged;
 * - one forwarding thread per lport on the CPUs this process may use (its affinity: the pod's cpuset), the
 *   main thread on the next one, round robin, as jsonc_gen.sh spreads them over `lscpu`'s list.
 *
 * The file is checked with the same parser `xdplane fwd` uses before it is written.
 *
 * @example
 * // in a pod: xdplane config from-env --out /tmp/fwd.jsonc && xdplane fwd -c /tmp/fwd.jsonc lb
 * process.exitCode = await main(["from-env", "--out", "/tmp/fwd.jsonc"]);
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseConfig } from "../config/index.js";
import { getAffinity, parseCpuList } from "../sys/cpu.js";
import * as P from "./uds-protocol.js";

export const USAGE = `Usage: xdplane config from-env [--out <file>] [options]

Writes a jsonc configuration for \`xdplane fwd\` from the AF_XDP device plugin's environment in a pod:
AFXDP_DEVICES_<POOL> (and the older AFXDP_DEVICES). Each netdev becomes an lport with uds_path when
${P.containerSocketPath("<netdev>")} exists (older: ${P.LEGACY_CONTAINER_SOCKET}), else xsk_pin_path when
${P.containerMapPath("<netdev>")} exists (older: ${P.LEGACY_CONTAINER_MAP}).

Options:
  --out <file>       write the configuration here (default: standard output)
  --qid <n>          queue of every lport (default 0)
  --skb-mode         XDP copy (skb) mode; also AFXDP_COPY_MODE=true, as CNDP's jsonc_gen.sh reads it
  --mode <mode>      options.mode for xdplane fwd (the mode on its command line wins)
  --cpus <list>      CPUs for the threads, e.g. "2-5" (default: this process's CPU affinity)
  --prefer-pinned    use the pinned map when a device has both a socket and a pinned map
  --root <dir>       look for the container paths under this folder (tests)
  -h, --help         this text
`;

/** One netdev the plugin gave the pod, and how its lport gets the XSKMAP. */
export interface PodDevice {
  netdev: string;
  /** The variable it came from. */
  env: string;
  udsPath?: string;
  xskPinPath?: string;
}

export interface FromEnvOptions {
  env?: NodeJS.ProcessEnv;
  /** Prefix of the container paths checked and written (tests); default "". */
  root?: string;
  qid?: number;
  skbMode?: boolean;
  mode?: string;
  cpus?: readonly number[];
  preferPinned?: boolean;
}

const NETDEV_RE = /^[a-zA-Z0-9_.-]{1,15}$/;
const ENV_RE = new RegExp(`^${P.LEGACY_DEVICES_ENV}(_[A-Z0-9]+)?$`);

/**
 * The devices listed in the environment: every AFXDP_DEVICES_<POOL> (sorted by pool), then AFXDP_DEVICES;
 * each netdev once. Throws naming a value that is not a netdev name.
 */
export function devicesFromEnv(env: NodeJS.ProcessEnv = process.env): { netdev: string; env: string }[] {
  const vars = Object.keys(env).filter((k) => ENV_RE.test(k)).sort((a, b) => {
    if (a === P.LEGACY_DEVICES_ENV) return 1;
    if (b === P.LEGACY_DEVICES_ENV) return -1;
    return a.localeCompare(b);
  });
  const out: { netdev: string; env: string }[] = [];
  const seen = new Set<string>();
  for (const k of vars) {
    for (const d of (env[k] ?? "").split(/\s+/).filter((x) => x !== "")) {
      if (!NETDEV_RE.test(d)) throw new RangeError(`${k}: '${d}' is not a netdev name`);
      if (seen.has(d)) continue;
      seen.add(d);
      out.push({ netdev: d, env: k });
    }
  }
  return out;
}

/** Finds each device's socket or pinned map (current layout first, then the older one). */
export function locateDevices(devs: { netdev: string; env: string }[], root = "", preferPinned = false): PodDevice[] {
  const at = (p: string) => (existsSync(join(root || "/", p)) ? `${root}${p}` : undefined);
  return devs.map((d) => {
    const sock = at(P.containerSocketPath(d.netdev)) ?? at(P.LEGACY_CONTAINER_SOCKET);
    const map = at(P.containerMapPath(d.netdev)) ?? at(P.LEGACY_CONTAINER_MAP);
    if (!sock && !map) {
      throw new Error(`Device ${d.netdev} (${d.env}): neither ${root}${P.containerSocketPath(d.netdev)} nor ${root}${P.containerMapPath(d.netdev)} `
        + `(nor the older ${root}${P.LEGACY_CONTAINER_SOCKET}, ${root}${P.LEGACY_CONTAINER_MAP}) exists: does the pod request the device plugin's resource?`);
    }
    const useMap = map !== undefined && (sock === undefined || preferPinned);
    return { ...d, ...(useMap ? { xskPinPath: map } : { udsPath: sock! }) };
  });
}

/** The jsonc text for `devs`. */
export function renderConfig(devs: PodDevice[], o: { qid: number; skbMode: boolean; mode?: string | undefined; cpus: readonly number[]; source: string }): string {
  const n = devs.length;
  const cpus = o.cpus.length > 0 ? o.cpus : [0];
  const cpu = (i: number) => cpus[i % cpus.length]!;
  const lports: Record<string, unknown> = {};
  const threads: Record<string, unknown> = { main: { group: "initial", description: "main thread" } };
  const groups: Record<string, number[]> = { initial: [cpu(n)] };
  devs.forEach((d, i) => {
    const name = `${d.netdev}:${o.qid}`;
    lports[name] = {
      pmd: "net_af_xdp",
      qid: o.qid,
      umem: "umem0",
      region: i,
      skb_mode: o.skbMode,
      ...(d.udsPath ? { uds_path: d.udsPath } : { xsk_pin_path: d.xskPinPath }),
      description: `${d.env} port ${i}`,
    };
    groups[`group${i}`] = [cpu(i)];
    threads[`fwd:${i}`] = { group: `group${i}`, lports: [name], description: `forwarding thread ${i}` };
  });
  const doc = {
    application: { name: "xdplane-fwd", description: "generated by xdplane config from-env" },
    defaults: { bufcnt: 16, bufsz: 2, rxdesc: 2, txdesc: 2, cache: 256 },
    umems: { umem0: { bufcnt: 16 * n, bufsz: 2, regions: devs.map(() => 16), rxdesc: 0, txdesc: 0, description: "one region per lport" } },
    lports,
    "lcore-groups": groups,
    ...(o.mode ? { options: { mode: o.mode } } : {}),
    threads,
  };
  // Arrays of numbers and strings on one line.
  const json = JSON.stringify(doc, null, 2).replace(/\[\s+([^[\]{}]*?)\s+\]/g, (_m, inner: string) => `[${inner.split(/,\s+/).join(", ")}]`);
  return `// Generated by \`xdplane config from-env\` from ${o.source}.\n// Each lport gets its XSKMAP from the AF_XDP device plugin (uds_path) or its pinned map (xsk_pin_path).\n${json}\n`;
}

/** Builds and checks the configuration from the environment; returns the text and the devices. */
export function configFromEnv(o: FromEnvOptions = {}): { text: string; devices: PodDevice[] } {
  const env = o.env ?? process.env;
  const listed = devicesFromEnv(env);
  if (listed.length === 0) {
    throw new Error(`No ${P.devicesEnvVar("<POOL>")} or ${P.LEGACY_DEVICES_ENV} in the environment: does the pod request an ${P.resourceName("<pool>")} resource?`);
  }
  const devices = locateDevices(listed, o.root ?? "", o.preferPinned ?? false);
  const skbMode = o.skbMode ?? (env["AFXDP_COPY_MODE"] ?? "").toLowerCase() === "true";
  const source = [...new Set(listed.map((d) => d.env))].map((k) => `${k}="${env[k]}"`).join(" ");
  const text = renderConfig(devices, { qid: o.qid ?? 0, skbMode, mode: o.mode, cpus: o.cpus ?? getAffinity(), source });
  // What xdplane fwd will read: refuse to write a file it would reject.
  parseConfig(text, "from-env.jsonc", { cpuCheck: "off", netdevQueueCount: () => undefined });
  return { text, devices };
}

/** `xdplane config <subcommand>`. Exit codes: 0 written, 1 nothing usable in the environment, 2 usage. */
export async function main(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "-h" || sub === "--help") {
    process.stdout.write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== "from-env") {
    process.stderr.write(`xdplane config: unknown subcommand '${sub}'\n\n${USAGE}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: {
        out: { type: "string", short: "o" },
        qid: { type: "string" },
        "skb-mode": { type: "boolean" },
        mode: { type: "string" },
        cpus: { type: "string" },
        "prefer-pinned": { type: "boolean" },
        root: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    process.stderr.write(`xdplane config from-env: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let qid: number | undefined;
  if (values.qid !== undefined) {
    qid = Number(values.qid);
    if (!Number.isInteger(qid) || qid < 0 || qid > 4095) {
      process.stderr.write(`xdplane config from-env: --qid '${values.qid}': a queue number 0-4095\n`);
      return 2;
    }
  }
  try {
    const { text, devices } = configFromEnv({
      ...(qid !== undefined ? { qid } : {}),
      ...(values["skb-mode"] ? { skbMode: true } : {}),
      ...(values.mode !== undefined ? { mode: values.mode } : {}),
      ...(values.cpus !== undefined ? { cpus: parseCpuList(values.cpus) } : {}),
      ...(values["prefer-pinned"] ? { preferPinned: true } : {}),
      ...(values.root !== undefined ? { root: values.root } : {}),
    });
    if (values.out === undefined || values.out === "-") {
      process.stdout.write(text);
    } else {
      writeFileSync(values.out, text, { mode: 0o644 });
      const what = devices.map((d) => `${d.netdev} (${d.udsPath ? `uds_path ${d.udsPath}` : `xsk_pin_path ${d.xskPinPath}`})`).join(", ");
      process.stderr.write(`xdplane config from-env: wrote ${values.out}: ${what}\n`);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`xdplane config from-env: ${(e as Error).message}\n`);
    return 1;
  }
}
