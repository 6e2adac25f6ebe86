/**
 * Test helper: running a process as the device plugin's clients run, user nobody with only CAP_NET_RAW and
 * CAP_IPC_LOCK (setpriv from util-linux), and why a test must skip when that is not possible here.
 */
import { spawnSync } from "node:child_process";
import { canUseNetns } from "./netns.js";

/** `setpriv ...` arguments; append the command to run. */
export const SETPRIV_NOBODY: readonly string[] = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
  "--inh-caps=-all,+net_raw,+ipc_lock", "--ambient-caps=-all,+net_raw,+ipc_lock", "--bounding-set=-all,+net_raw,+ipc_lock"];

/** Why a test running `script` as nobody cannot run here, or false when it can. */
export function unprivilegedSkipReason(script: string): string | false {
  if (!canUseNetns()) return "needs root (namespaces, veth, XDP)";
  const r = spawnSync(SETPRIV_NOBODY[0]!, [...SETPRIV_NOBODY.slice(1), "test", "-r", script]);
  if (r.error) return "setpriv (util-linux) is not installed";
  if (r.status !== 0) return `user nobody cannot read ${script} (the checkout is not world-readable)`;
  return false;
}
