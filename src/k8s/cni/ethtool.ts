/**
 * The CNI's ethtool filters, as the upstream AF_XDP CNI applies them (primary mode, when `ethtoolCmds` is
 * set): `ethtool --features <dev> ntuple on`, then each configured command with `-device-` replaced by
 * the netdev and `-ip-` by the pod's first IPAM address; at DEL `ethtool -X <dev> default` and
 * `ethtool --features <dev> ntuple off` (failures there are only logged, as upstream does).
 *
 * Commands run without a shell (arguments split on whitespace). XDPLANE_ETHTOOL names another ethtool
 * (tests record the calls with a stand-in: veth has no ntuple filters).
 */
import { spawnSync } from "node:child_process";
import { CNI_ERR, CniError } from "./errors.js";
import { DEVICE_PLACEHOLDER, IP_PLACEHOLDER } from "./config.js";

export const ETHTOOL_ENV = "XDPLANE_ETHTOOL";

function ethtool(): string {
  return process.env[ETHTOOL_ENV] || "ethtool";
}

function run(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(ethtool(), args, { encoding: "utf8", timeout: 15000 });
  if (r.error) return { ok: false, out: r.error.message };
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() };
}

/** Whether ethtool can be run (STATUS). */
export function ethtoolAvailable(): boolean {
  const r = spawnSync(ethtool(), ["--version"], { encoding: "utf8", timeout: 5000 });
  return !r.error && r.status === 0;
}

/** The argument list of one configured command for `dev` and `ip`. */
export function expandCommand(cmd: string, dev: string, ip: string | undefined): string[] {
  let s = cmd.split(DEVICE_PLACEHOLDER).join(dev);
  if (ip !== undefined) s = s.split(IP_PLACEHOLDER).join(ip);
  return s.trim().split(/\s+/);
}

/** Turns ntuple filters on and runs every command; code 103 naming the command that failed. */
export function applyFilters(dev: string, cmds: readonly string[], ip: string | undefined): void {
  const steps = [["--features", dev, "ntuple", "on"], ...cmds.map((c) => expandCommand(c, dev, ip))];
  for (const args of steps) {
    const r = run(args);
    if (!r.ok) throw new CniError(CNI_ERR.ETHTOOL_FAILED, `ethtool ${args.join(" ")} failed on '${dev}'`, r.out.slice(0, 2000));
  }
}

/** Resets the RSS table and turns ntuple filters off; returns what failed (for the log). */
export function clearFilters(dev: string): string[] {
  const failed: string[] = [];
  for (const args of [["-X", dev, "default"], ["--features", dev, "ntuple", "off"]]) {
    const r = run(args);
    if (!r.ok) failed.push(`ethtool ${args.join(" ")}: ${r.out.split("\n")[0] ?? ""}`);
  }
  return failed;
}
