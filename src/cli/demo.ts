/**
 * `xdplane demo` (what `npm start` runs): two namespaces joined by a veth pair; the forwarder in `lb` mode
 * on one end, a traffic source (our own AF_XDP sender in tx-only-rx mode) on the other; live per-port
 * rates for about 10 seconds; then everything is removed. Needs root, and no NIC.
 *
 * The namespaces are named ones (`ip netns add`, so that `ip netns exec` can start the apps in them: the
 * netlink layer has no way to create one); the veth pair is created, set up and read over rtnetlink
 * (src/netlink/). Nothing here comes from src/testing/, which is for tests only.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { NetlinkSocket, addLink, getLink, setLinkUp, openNetns, withNetns } from "../netlink/index.js";

interface PortLine { name: string; rxPps: number; txPps: number; ipackets: number; opackets: number; drops: number }

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { seconds: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write("Usage: xdplane demo [--seconds N]\n\nRuns the forwarder in lb mode against a traffic source over a veth pair between two\nnetwork namespaces, prints live rates, and removes everything. Needs root.\n");
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      "xdplane demo needs root: it creates two network namespaces and a veth pair, and attaches XDP programs\n" +
      "(CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW, CAP_IPC_LOCK). Run it as root, e.g. `sudo npm start`.\n");
    return 1;
  }
  const seconds = Number(values.seconds ?? 10);
  const nsF = uniqueName("xdemo-fwd");
  const nsG = uniqueName("xdemo-gen");
  const devF = uniqueName("xdemof");
  const devG = uniqueName("xdemog");
  const made: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "xdplane-demo-"));
  const children: ChildProcess[] = [];
  const cli = fileURLToPath(new URL("./main.js", import.meta.url));
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    for (const ns of made) try { ipNetns("del", ns); } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = () => { interrupted = true; };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    for (const ns of [nsF, nsG]) {
      ipNetns("add", ns);
      made.push(ns);
    }
    createVeth(devF, nsF, devG, nsG);
    for (const [ns, dev] of [[nsF, devF], [nsG, devG]] as const) linkUpWithoutIpv6(ns, dev);
    const macF = linkMac(nsF, devF);
    writeFileSync(join(dir, "fwd.jsonc"), demoConfig(devF, 1));
    writeFileSync(join(dir, "gen.jsonc"), demoConfig(devG, 0));
    process.stdout.write(`xdplane demo: namespaces ${nsF} and ${nsG}, veth ${devF} <-> ${devG}\n`);
    process.stdout.write(`  forwarder: xdplane fwd lb on ${devF} (CPU 1); source: xdplane fwd tx-only-rx on ${devG} (CPU 0)\n\n`);
    const last = new Map<string, PortLine>();
    const run = (ns: string, role: string, cfg: string, mode: string, extra: string[]) => {
      const c = spawn("ip", ["netns", "exec", ns, process.execPath, cli, "fwd", "-c", cfg, mode, "--json", ...extra], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(c);
      let buf = "";
      c.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          try {
            const m = JSON.parse(line) as { type: string; ports: PortLine[] };
            if (m.type === "stats" || m.type === "summary") for (const p of m.ports) last.set(`${role} ${p.name}`, p);
          } catch { /* not JSON */ }
        }
      });
      let err = "";
      c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      c.on("exit", (code) => { if (code !== 0 && code !== null) process.stderr.write(`${role} exited with ${code}: ${err}\n`); });
      return c;
    };
    const fwd = run(nsF, "forwarder", join(dir, "fwd.jsonc"), "lb", []);
    await new Promise((r) => setTimeout(r, 1500));
    const gen = run(nsG, "source   ", join(dir, "gen.jsonc"), "tx-only-rx", ["--tx-dst-mac", macF]);
    const tty = process.stdout.isTTY;
    let drawn = 0;
    for (let s = 0; s < seconds && !interrupted; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      const lines = [`  t=${String(s + 1).padStart(2)}s  ${"port".padEnd(28)} ${"rx pps".padStart(12)} ${"tx pps".padStart(12)} ${"rx total".padStart(12)} ${"tx total".padStart(12)}`];
      for (const [k, p] of [...last.entries()].sort()) {
        lines.push(`         ${k.padEnd(28)} ${fmt(p.rxPps)} ${fmt(p.txPps)} ${fmt(p.ipackets)} ${fmt(p.opackets)}`);
      }
      if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
      process.stdout.write(`${lines.join("\n")}\n`);
      drawn = lines.length;
      if (fwd.exitCode !== null || gen.exitCode !== null) break;
    }
    const ends = [fwd, gen].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r))));
    gen.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    fwd.kill("SIGTERM");
    await Promise.race([Promise.all(ends), new Promise((r) => setTimeout(r, 8000))]);
    const f = [...last.entries()].find(([k]) => k.startsWith("forwarder"))?.[1];
    const g = [...last.entries()].find(([k]) => k.startsWith("source"))?.[1];
    process.stdout.write(`\nsource sent ${g?.opackets ?? 0}, forwarder received ${f?.ipackets ?? 0} and returned ${f?.opackets ?? 0}, source got back ${g?.ipackets ?? 0}\n`);
    return fwd.exitCode === 0 && (f?.opackets ?? 0) > 0 ? 0 : 1;
  } finally {
    cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.stdout.write("removed the namespaces and the veth pair\n");
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US").padStart(12);
}

let counter = 0;

/** A name unique to this process and call, at most 15 characters (the netdev name limit). */
function uniqueName(prefix: string): string {
  const id = `${(process.pid % 100000).toString(36)}${(counter++).toString(36)}`;
  return `${prefix.slice(0, 15 - id.length - 1)}-${id}`;
}

/** `ip netns add|del <name>`: a named namespace under /run/netns, as `ip netns exec` needs. */
function ipNetns(op: "add" | "del", ns: string): void {
  try {
    execFileSync("ip", ["netns", op, ns], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip netns ${op} ${ns}: ${err.stderr?.trim() || err.message}`);
  }
}

/** A veth pair with end `a` created in namespace `nsA` and its peer `b` in `nsB` (one RTM_NEWLINK). */
function createVeth(a: string, nsA: string, b: string, nsB: string): void {
  const fdA = openNetns(nsA);
  try {
    const fdB = openNetns(nsB);
    try {
      const nl = NetlinkSocket.open();
      try {
        addLink(nl, { name: a, kind: "veth", netnsFd: fdA, peer: { name: b, netnsFd: fdB } });
      } finally {
        nl.close();
      }
    } finally {
      closeSync(fdB);
    }
  } finally {
    closeSync(fdA);
  }
}

/**
 * Sets `dev` (in namespace `ns`) up, with IPv6 off first: router solicitations and MLD reports would add
 * frames the demo does not send. /proc/sys/net is the namespace of the thread that opens it.
 */
function linkUpWithoutIpv6(ns: string, dev: string): void {
  withNetns(ns, () => writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, "1"));
  const nl = NetlinkSocket.open({ netns: ns });
  try {
    setLinkUp(nl, dev);
  } finally {
    nl.close();
  }
}

function linkMac(ns: string, dev: string): string {
  const nl = NetlinkSocket.open({ netns: ns });
  try {
    const mac = getLink(nl, dev).mac;
    if (mac === undefined) throw new Error(`${dev} in namespace ${ns} has no MAC address`);
    return mac;
  } finally {
    nl.close();
  }
}

/** The demo's app config: one af_xdp lport on `netdev` queue 0, one forwarding thread on `cpu`. */
function demoConfig(netdev: string, cpu: number): string {
  const lport = `${netdev}:0`;
  return JSON.stringify({
    application: { name: "xdplane-demo" },
    defaults: { bufcnt: 16, bufsz: 2, rxdesc: 2, txdesc: 2, cache: 256 },
    umems: { umem0: { bufcnt: 16, bufsz: 2, rxdesc: 2, txdesc: 2 } },
    lports: { [lport]: { pmd: "net_af_xdp", qid: 0, umem: "umem0" } },
    "lcore-groups": { initial: [0], group0: [cpu] },
    threads: { main: { group: "initial" }, "fwd:0": { group: "group0", lports: [lport] } },
  }, null, 2) + "\n";
}
