/**
 * Errors from system calls: the errno name as `code`, the number as `errno`, and what was attempted.
 *
 * @example
 * check(sys.bind(fd, addr), () => `bind(xsk ifindex=${ifindex} queue=${qid})`);
 * // throws SysError: bind(xsk ifindex=5 queue=0): ENXIO (No such device or address)
 */
import { constants } from "node:os";

const names: string[] = [];
for (const [name, num] of Object.entries(constants.errno)) {
  if (names[num] === undefined) names[num] = name;
}
// A few that os.constants leaves out or names differently.
const extra: Record<number, string> = { 95: "EOPNOTSUPP", 524: "ENOTSUPP", 512: "ERESTARTSYS" };
// Prefer the names the kernel documentation uses where Node lists an alias first.
names[95] = "EOPNOTSUPP";
names[11] = "EAGAIN";

const messages: Record<string, string> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  EINTR: "Interrupted system call",
  EBADF: "Bad file descriptor",
  EAGAIN: "Resource temporarily unavailable",
  ENOMEM: "Cannot allocate memory",
  EACCES: "Permission denied",
  EBUSY: "Device or resource busy",
  EEXIST: "File exists",
  ENODEV: "No such device",
  EINVAL: "Invalid argument",
  ENOSPC: "No space left on device",
  ENXIO: "No such device or address",
  EOPNOTSUPP: "Operation not supported",
  ENOTSUPP: "Operation not supported (kernel)",
  EAFNOSUPPORT: "Address family not supported by protocol",
  EADDRINUSE: "Address already in use",
  ENOTCONN: "Transport endpoint is not connected",
  ECONNREFUSED: "Connection refused",
  EMSGSIZE: "Message too long",
  E2BIG: "Argument list too long",
  ENOTSOCK: "Socket operation on non-socket",
  ESRCH: "No such process",
};

/** The errno name of a positive errno number ("ENXIO"), or "E<n>" when unknown. */
export function errnoName(errno: number): string {
  return names[errno] ?? extra[errno] ?? `E${errno}`;
}

/** An error from a system call. `code` is the errno name, so callers can test `err.code === "EBUSY"`. */
export class SysError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  constructor(what: string, errno: number, hint?: string) {
    const code = errnoName(errno);
    const msg = messages[code];
    super(`${what}: ${code}${msg ? ` (${msg})` : ""}${hint ? `: ${hint}` : ""}`);
    this.name = "SysError";
    this.code = code;
    this.errno = errno;
    this.syscall = what;
  }
}

/**
 * Returns `rc` when it is >= 0, else throws a {@link SysError} naming what was attempted.
 * `what` may be a function so that the message costs nothing on success.
 */
export function check(rc: number, what: string | (() => string), hint?: (code: string) => string | undefined): number {
  if (rc >= 0) return rc;
  const w = typeof what === "string" ? what : what();
  const h = hint?.(errnoName(-rc));
  throw new SysError(w, -rc, h);
}
