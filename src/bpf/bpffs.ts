/**
 * bpffs: the filesystem BPF objects are pinned in. Mounting it where it is missing, and telling whether a
 * folder is one (statfs magic BPF_FS_MAGIC, include/uapi/linux/magic.h).
 *
 * @example
 * ensureBpffs();                       // /sys/fs/bpf
 * map.pin("/sys/fs/bpf/xsks_map");
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, statfsSync } from "node:fs";

/** BPF_FS_MAGIC. */
const BPF_FS_MAGIC = 0xcafe4a11;

/** Whether `dir` is the root of (or inside) a mounted bpffs. False when it does not exist. */
export function isBpffs(dir: string): boolean {
  try {
    return statfsSync(dir).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${err.stderr?.trim() || err.message}`);
  }
}

/**
 * Makes `dir` a bpffs: creates the folder if needed and mounts one there (`mount -t bpf bpf <dir>`) unless
 * it already is one or lies inside one. Returns true when it mounted.
 */
export function ensureBpffs(dir = "/sys/fs/bpf"): boolean {
  if (isBpffs(dir)) return false;
  mkdirSync(dir, { recursive: true });
  if (isBpffs(dir)) return false; // a new folder inside a bpffs
  run("mount", ["-t", "bpf", "bpf", dir]);
  if (!isBpffs(dir)) throw new Error(`Mounted bpffs at '${dir}' but statfs does not show it`);
  return true;
}

/** Unmounts the bpffs at `dir` (pins in it go; the objects live on while something holds them). */
export function unmountBpffs(dir: string): void {
  if (!isBpffs(dir)) return;
  run("umount", [dir]);
}
