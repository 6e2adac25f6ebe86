/** Test helper: this process's open fds, for leak checks. */
import { readdirSync, readlinkSync } from "node:fs";

/** This process's open fds and what they point at ("12 anon_inode:bpf-map"). */
export function openFds(): string[] {
  return readdirSync("/proc/self/fd").flatMap((n) => {
    try {
      return [`${n} ${readlinkSync(`/proc/self/fd/${n}`)}`];
    } catch {
      return []; // the directory's own fd, closed by now
    }
  });
}
