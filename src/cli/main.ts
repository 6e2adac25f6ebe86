#!/usr/bin/env node
/**
 * `xdplane <command>`: the single entry point. Each command lives with its app or library and exports
 * `main(argv): Promise<number>`; this file only dispatches (commands load lazily).
 */
interface Command {
  summary: string;
  load: () => Promise<{ main(argv: string[]): Promise<number> | number }>;
}

const commands: Record<string, Command> = {
  fwd: { summary: "forward packets (drop, rx-only, lb, tx-only, fwd, l3fwd, acl-strict, acl-permissive) over any port", load: () => import("../apps/fwd/cli.js") },
  demo: { summary: "two namespaces, a veth pair, the forwarder in lb mode and a traffic source, for 10 s", load: () => import("./demo.js") },
};

/** Lets other parts register commands (dp, cni, exporter, ...) without this file importing them eagerly. */
export function registerCommand(name: string, c: Command): void {
  commands[name] = c;
}

const extra: Record<string, [string, string]> = {
  txgen: ["../apps/txgen/cli.js", "generate traffic with AF_XDP or XDP live frames; latency, pcap"],
  "l3fwd-graph": ["../apps/l3fwd-graph/cli.js", "route IPv4 through a packet graph, one graph per thread (CNDP's l3fwd-graph)"],
  cnet: ["../apps/cnet/cli.js", "the user-space network stack (ARP, IPv4/6, ICMP, UDP, TCP, Node streams) on the lports: --udp-echo, --tcp-echo, --tcp-discard, --http <port>"],
  dp: ["../k8s/dp-cli.js", "the AF_XDP device plugin for Kubernetes (kubelet device plugin API)"],
  cni: ["../k8s/cni/main.js", "the afxdp CNI plugin (reads the CNI environment and stdin)"],
  config: ["../k8s/config-cli.js", "config from-env: write a jsonc for a pod from AFXDP_DEVICES_<POOL>"],
  exporter: ["../telemetry/exporter-cli.js", "Prometheus exporter, health and REST API over the apps' sockets"],
  stats: ["../telemetry/stats-cli.js", "live figures of running apps, from their command sockets"],
};
for (const [name, [path, summary]] of Object.entries(extra)) {
  commands[name] = { summary, load: () => import(path) as Promise<{ main(argv: string[]): Promise<number> }> };
}

function help(): string {
  const w = Math.max(...Object.keys(commands).map((k) => k.length));
  return `Usage: xdplane <command> [options]   (xdplane <command> --help for more)

xdplane: a cloud-native data plane in TypeScript over AF_XDP, compatible with CNDP and the Kubernetes
AF_XDP device plugin.

Commands:
${Object.entries(commands).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`).join("\n")}
`;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write("xdplane 0.1.0\n");
    return 0;
  }
  const c = commands[name];
  if (!c) {
    process.stderr.write(`xdplane: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  let mod;
  try {
    mod = await c.load();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ERR_MODULE_NOT_FOUND") {
      process.stderr.write(`xdplane: command '${name}' is not available in this build\n`);
      return 2;
    }
    throw e;
  }
  return await mod.main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    process.stderr.write(`xdplane: ${e.message}\n`);
    if (process.env["XDPLANE_TRACE"]) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  },
);
