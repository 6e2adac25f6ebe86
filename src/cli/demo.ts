/**
 * `xdplane demo` (what `npm start` runs): two namespaces joined by a veth pair; the forwarder in `lb` mode
 * on one end, a traffic source (our own AF_XDP sender in tx-only-rx mode) on the other; live per-port
 * rates for about 10 seconds; then everything is removed. Needs root, and no NIC.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ip, nsExec, uniqueName } from "../testing/netns.js";
import { fwdConfig } from "../testing/fwd-config.js";

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
  const dir = mkdtempSync(join(tmpdir(), "xdplane-demo-"));
  const children: ChildProcess[] = [];
  const cli = fileURLToPath(new URL("./main.js", import.meta.url));
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    for (const ns of [nsF, nsG]) try { ip("netns", "del", ns); } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = () => { interrupted = true; };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    ip("netns", "add", nsF);
    ip("netns", "add", nsG);
    ip("link", "add", devF, "netns", nsF, "type", "veth", "peer", "name", devG, "netns", nsG);
    for (const [ns, dev] of [[nsF, devF], [nsG, devG]] as const) {
      nsExec(ns, "sysctl", "-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`);
      nsExec(ns, "ip", "link", "set", dev, "up");
    }
    const macF = (JSON.parse(nsExec(nsF, "ip", "-j", "link", "show", devF)) as { address: string }[])[0]!.address;
    writeFileSync(join(dir, "fwd.jsonc"), fwdConfig({ ports: [{ netdev: devF }], cpus: [1] }));
    writeFileSync(join(dir, "gen.jsonc"), fwdConfig({ ports: [{ netdev: devG }], cpus: [0] }));
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
