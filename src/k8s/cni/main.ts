/**
 * `xdplane cni`: the `afxdp` CNI plugin. A container runtime runs it with the CNI environment
 * (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH) and the network configuration
 * on stdin; it prints the result (ADD), the versions (VERSION), nothing (DEL, CHECK, GC, STATUS) or a CNI
 * error object, and exits 0 on success, 1 on error. The single executable installed as
 * /opt/cni/bin/afxdp runs this same code.
 *
 * Environment beyond CNI's: XDPLANE_CNI_STATE_DIR (default /var/lib/cni/afxdp), XDPLANE_CNI_LOG_DIR
 * (default /var/log/afxdp-k8s-plugins, for `logFile`), XDPLANE_ETHTOOL (default ethtool),
 * XDPLANE_TRACE=cni (log lines on stderr).
 *
 * @example
 * // CNI_COMMAND=VERSION xdplane cni </dev/null
 * process.exitCode = await main([]);
 */
import { readFileSync } from "node:fs";
import { runCni } from "./plugin.js";
import { SUPPORTED_VERSIONS } from "./version.js";

export const USAGE = `Usage: xdplane cni   (run by a container runtime; the single executable is /opt/cni/bin/afxdp)

The afxdp CNI plugin (CNI ${SUPPORTED_VERSIONS[0]} to ${SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]}: ADD, DEL, CHECK, VERSION, GC, STATUS): moves
the netdev named by the config's deviceID into the pod's network namespace and back, with IPAM and
ethtool filters, as the upstream AF_XDP CNI does.

Environment: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH; the network
configuration on stdin. Also XDPLANE_CNI_STATE_DIR (default /var/lib/cni/afxdp), XDPLANE_CNI_LOG_DIR,
XDPLANE_ETHTOOL, XDPLANE_TRACE=cni.
`;

function readStdin(): string {
  try {
    return readFileSync(0, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EAGAIN" || code === "EOF" || code === "ENXIO") return "";
    throw e;
  }
}

/** Runs one invocation from the process environment and stdin; resolves with the exit status. */
export async function main(argv: readonly string[] = []): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!process.env["CNI_COMMAND"] && process.stdin.isTTY) {
    process.stderr.write(USAGE);
  }
  const stdin = process.env["CNI_COMMAND"] && process.env["CNI_COMMAND"] !== "VERSION" ? readStdin()
    : process.stdin.isTTY ? "" : readStdin();
  const { stdout, status } = runCni(process.env, stdin);
  if (stdout !== "") process.stdout.write(stdout + "\n");
  return status;
}
