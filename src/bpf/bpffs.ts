/**
 * bpffs: the filesystem BPF objects are pinned in. Making a folder one (mounting a bpffs where none is),
 * telling whether a folder is one, and unmounting one.
 *
 * `ensureBpffs` never hangs and never creates folders on sysfs. On a machine where nothing is mounted on
 * /sys/fs/bpf, that path is an empty sysfs folder, and `mkdirSync("/sys/fs/bpf/x", { recursive: true })`
 * never returns (sysfs answers ENOENT for the child, libuv creates the parent, which exists, and tries
 * again forever). So the folder's filesystem is checked first (statfs: BPF_FS_MAGIC, SYSFS_MAGIC,
 * PROC_SUPER_MAGIC from include/uapi/linux/magic.h), folders are created one level at a time (a single
 * mkdir(2) either works or fails), and a bpffs is mounted where none is:
 * - `dir` on a bpffs already (or inside one): only the missing folders are made, inside it;
 * - the nearest existing folder is an empty folder on sysfs or procfs (the kernel's /sys/fs/bpf mount
 *   point): a bpffs is mounted there (`mount -t bpf bpf /sys/fs/bpf`, as a node's init would), then the
 *   missing folders are made inside it;
 * - on an ordinary filesystem (tmpfs, ext4, ...): the folders are made, and a bpffs is mounted at `dir`
 *   (a private bpffs, as the tests and the device plugin's per-device folders use).
 * Mounting needs CAP_SYS_ADMIN: without it, or when the mount fails, this throws at once with an error
 * that says what to mount.
 *
 * @example
 * ensureBpffs();                                      // /sys/fs/bpf; "/sys/fs/bpf" when it mounted there
 * const at = ensureBpffs("/sys/fs/bpf/xdplane");      // "/sys/fs/bpf" when it mounted there, else null
 * map.pin("/sys/fs/bpf/xdplane/xsks_map");
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, statfsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** BPF_FS_MAGIC (include/uapi/linux/magic.h). */
export const BPF_FS_MAGIC = 0xcafe4a11;
/** SYSFS_MAGIC (include/uapi/linux/magic.h). */
const SYSFS_MAGIC = 0x62656572;
/** PROC_SUPER_MAGIC (include/uapi/linux/magic.h). */
const PROC_SUPER_MAGIC = 0x9fa0;
/** CAP_SYS_ADMIN (include/uapi/linux/capability.h): needed by mount(2). */
const CAP_SYS_ADMIN = 21;
/** How long `mount`/`umount` may take before it counts as failed. */
const MOUNT_TIMEOUT_MS = 10_000;

export interface BpffsOptions {
  /** Mode of the folders created (default 0o755, less the umask). */
  mode?: number;
  /** Whether this process may mount; default: CAP_SYS_ADMIN is in its effective set (`hasSysAdmin`). */
  canMount?: () => boolean;
  /** Mounts a bpffs at an existing folder; default `mount -t bpf bpf <dir>`. */
  mount?: (dir: string) => void;
}

/** The statfs type of `path`, or undefined when it cannot be read (missing). */
export function fsTypeOf(path: string): number | undefined {
  try {
    return statfsSync(path).type;
  } catch {
    return undefined;
  }
}

/** Whether `dir` is the root of (or inside) a mounted bpffs. False when it does not exist. */
export function isBpffs(dir: string): boolean {
  return fsTypeOf(dir) === BPF_FS_MAGIC;
}

function fsName(type: number | undefined): string {
  if (type === SYSFS_MAGIC) return "sysfs";
  if (type === PROC_SUPER_MAGIC) return "procfs";
  if (type === BPF_FS_MAGIC) return "bpffs";
  return type === undefined ? "unknown" : `filesystem type 0x${type.toString(16)}`;
}

/** Whether the calling process has CAP_SYS_ADMIN in its effective set (/proc/self/status CapEff). */
export function hasSysAdmin(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: MOUNT_TIMEOUT_MS });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${err.stderr?.trim() || err.message}`);
  }
}

function mountCommand(dir: string): void {
  run("mount", ["-t", "bpf", "bpf", dir]);
}

/** Creates `names` below existing folder `base`, one mkdir(2) per level (never a recursive mkdir). */
function mkdirEach(base: string, names: readonly string[], mode: number): void {
  let p = base;
  for (const n of names) {
    p = join(p, n);
    try {
      mkdirSync(p, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !statSync(p).isDirectory()) {
        throw new Error(`Cannot create bpffs folder '${p}': ${(e as Error).message}`);
      }
    }
  }
}

/**
 * Makes `dir` a folder on a bpffs (see the file's comment). Returns the folder where it mounted a bpffs
 * (`dir` itself, or the sysfs mount point above it), or null when it mounted none. Throws, naming what to
 * mount, when a mount is needed and not possible.
 */
export function ensureBpffs(dir = "/sys/fs/bpf", opts: BpffsOptions = {}): string | null {
  const target = resolve(dir);
  const mode = opts.mode ?? 0o755;
  if (fsTypeOf(target) === BPF_FS_MAGIC) return null;
  // The nearest existing folder, and the names missing below it.
  let base = target;
  const missing: string[] = [];
  while (fsTypeOf(base) === undefined) {
    const up = dirname(base);
    if (up === base) throw new Error(`Cannot make bpffs folder '${target}': no part of the path can be read`);
    missing.unshift(basename(base));
    base = up;
  }
  if (!statSync(base).isDirectory()) throw new Error(`Cannot make bpffs folder '${target}': '${base}' is not a folder`);
  const type = fsTypeOf(base);
  if (type === BPF_FS_MAGIC) {
    mkdirEach(base, missing, mode);
    return null;
  }
  let at: string;
  if (type === SYSFS_MAGIC || type === PROC_SUPER_MAGIC) {
    // No folder can be created there; only an empty kernel mount point such as /sys/fs/bpf takes a bpffs.
    if (readdirSync(base).length > 0) {
      throw new Error(`Cannot make bpffs folder '${target}': '${base}' is on ${fsName(type)}, where no folder can be created, ` +
        `and is not an empty mount point a bpffs could be mounted on. Give a folder on a bpffs (mount -t bpf bpf <dir>)`);
    }
    at = base;
  } else {
    mkdirEach(base, missing, mode);
    missing.length = 0;
    at = target;
  }
  if (!(opts.canMount ?? hasSysAdmin)()) {
    throw new Error(`'${at}' is not a bpffs (it is ${fsName(fsTypeOf(at))}) and this process cannot mount one (no CAP_SYS_ADMIN). ` +
      `Mount it first: mount -t bpf bpf ${at} (on the node; a container gets it as a hostPath volume with ` +
      `mountPropagation: Bidirectional), or run with CAP_SYS_ADMIN (the device plugin: privileged)`);
  }
  try {
    (opts.mount ?? mountCommand)(at);
  } catch (e) {
    throw new Error(`'${at}' is not a bpffs and mounting one failed: ${(e as Error).message}. ` +
      `Mount it first: mount -t bpf bpf ${at}, or run with CAP_SYS_ADMIN (the device plugin: privileged)`);
  }
  if (fsTypeOf(at) !== BPF_FS_MAGIC) throw new Error(`Mounted a bpffs at '${at}' but statfs does not show one there`);
  mkdirEach(at, missing, mode);
  return at;
}

/** Unmounts the bpffs at `dir` (pins in it go; the objects live on while something holds them). */
export function unmountBpffs(dir: string): void {
  if (!isBpffs(dir)) return;
  run("umount", [dir]);
}
