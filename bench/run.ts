/**
 * `npm run bench`: the null-port pipeline and the veth benchmarks (never part of `npm test`). Prints the
 * tables and writes bench/results/latest.json and latest.md with the machine description.
 *
 * Options: --only null|veth|lookup|memif|ports|cnet (comma-separated; ports = memif, af_packet beside af_xdp rx-only on veth, jumbo lb; cnet = the user-space stack against a Linux peer), --runs <n> (default 5), --seconds <s> (veth window, default 3),
 * --gen-threads <n> (live-frames senders in the layouts; default 1 in layout 1, 2 in layout 2), --scenarios <id prefixes, comma-separated>,
 * --nice <n> (nice value of the benchmark threads and NAPI kthreads, default -10; 0 leaves them alone).
 * Environment: XDPLANE_BENCH_BURST=<n> sets the forwarder's burst (default 64) in the veth scenarios.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { cpus, loadavg, release } from "node:os";
import { nullPipeline, type NullResult } from "./null-pipeline.js";
import { vethBench, vethMarkdown, REFERENCES, type VethResult } from "./veth.js";
import { lookupFibBench, type FibBenchResult } from "./lookup-fib.js";
import { lookupHashBench, type HashBenchResult } from "./lookup-hash.js";
import { lookupAclBench, type AclBenchResult } from "./lookup-acl.js";
import { memifBench, type MemifBenchResult } from "./memif.js";
import { jumboBench, portsMarkdown, type JumboResult } from "./ports.js";
import { cnetBench, type CnetBenchResult } from "./cnet.js";

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    runs: { type: "string" },
    seconds: { type: "string" },
    "gen-threads": { type: "string" },
    out: { type: "string" },
    scenarios: { type: "string" },
    nice: { type: "string" },
  },
});
const only = new Set((values.only ?? "null,veth,lookup,memif").split(","));
for (const o of only) if (!["null", "veth", "lookup", "memif", "ports", "cnet"].includes(o)) {
  console.error(`npm run bench: unknown --only '${o}': expected null, veth, lookup, memif, ports or cnet (comma-separated)`);
  process.exit(2);
}
// ports: memif, the veth rx-only scenarios (af_xdp and af_packet, one run) unless --scenarios says otherwise, jumbo lb.
const ports = only.has("ports");
if (ports) {
  only.add("memif");
  only.add("veth");
}
if (process.getuid?.() !== 0 && (only.has("veth") || only.has("cnet"))) {
  console.error("npm run bench: the veth benchmark needs root (namespaces, veth, XDP); run it as root or with --only null,lookup");
  process.exit(2);
}
const runs = Number(values.runs ?? 5);
const seconds = Number(values.seconds ?? 3);
const genThreads = values["gen-threads"] !== undefined ? Number(values["gen-threads"]) : undefined;
const outDir = values.out ?? new URL("../../bench/results/", import.meta.url).pathname;

const machine = { nproc: cpus().length, model: cpus()[0]?.model ?? "?", kernel: release(), node: process.version, loadavg: loadavg() };
let nul: NullResult | null = null;
let veth: VethResult | null = null;
let fib: FibBenchResult | null = null;
let hash: HashBenchResult | null = null;
let acl: AclBenchResult | null = null;
let memif: MemifBenchResult | null = null;
let jumbo: JumboResult | null = null;
if (only.has("null")) {
  console.error("null-port pipeline (rx null -> MAC swap -> tx null, one core)...");
  nul = await nullPipeline({ runs });
  console.error(`null pipeline: ${nul.mpps.toFixed(1)} Mpps (${nul.nsPerPkt.toFixed(1)} ns/pkt), steady-state GCs ${nul.steadyGcs}`);
}
if (only.has("lookup")) {
  console.error("lookup benchmarks (FIB, hash; one core)...");
  fib = await lookupFibBench({ runs: Math.min(runs, 3) });
  hash = await lookupHashBench({ runs: Math.min(runs, 3) });
  acl = await lookupAclBench({ runs: Math.min(runs, 3) });
}
if (only.has("memif")) {
  console.error("memif between two processes...");
  memif = await memifBench({ seconds });
}
if (only.has("veth")) {
  console.error("veth benchmarks...");
  veth = await vethBench({ runs, seconds, ...(genThreads !== undefined ? { genThreads } : {}), nice: Number(values.nice ?? -10), ...(values.scenarios ? { only: values.scenarios } : ports ? { only: "l1-kernel-xdp-drop,l1-fwd-rx-only" } : {}) });
}
let cnet: CnetBenchResult | null = null;
if (only.has("cnet")) {
  console.error("cnet: the user-space stack against a Linux peer on a veth (UDP echo, TCP goodput), beside the kernel...");
  cnet = await cnetBench({ runs: Math.min(runs, 3), seconds });
}
if (ports) {
  console.error("jumbo lb (1514 and 9014-byte frames, veth MTU 9000, multi-buffer)...");
  jumbo = await jumboBench({ runs, seconds, nice: Number(values.nice ?? -10) });
}

const md: string[] = [
  "# xdplane benchmark results",
  "",
  `Machine: ${machine.nproc} CPUs, ${machine.model}, kernel ${machine.kernel}, Node ${machine.node}; load average at start ${machine.loadavg.map((x) => x.toFixed(2)).join(" ")}` +
    `${veth ? `, at the end of the veth runs ${veth.machine.loadavgEnd.map((x) => x.toFixed(2)).join(" ")}` : ""}.`,
  `Date: ${new Date().toISOString()}`,
  "",
];
if (nul) {
  const R = REFERENCES.nullPipeline;
  md.push("## Null-port pipeline (one core)", "", "| | Mpps | ns/pkt | steady-state GCs | vs CNDP 22.2 | vs DPDK 18.9 | vs target 20 |", "| --- | --- | --- | --- | --- | --- | --- |",
    `| xdplane lb on net_null | ${nul.mpps.toFixed(1)} | ${nul.nsPerPkt.toFixed(1)} | ${nul.steadyGcs} | ${(nul.mpps / R.cndp).toFixed(2)}x | ${(nul.mpps / R.dpdk).toFixed(2)}x | ${(nul.mpps / R.target).toFixed(2)}x |`, "");
}
if (fib) md.push("## FIB (longest-prefix match, bulk, one core)", "", fib.markdown, "");
if (acl) md.push("## ACL (ClassBench rules and traces, bulk classify, one core)", "", acl.markdown, "");
if (memif && !ports) md.push("## memif (64-byte frames, one core each)", "", memif.markdown, "");
if (hash) md.push("## Hash (cuckoo, bulk lookup of 13-byte keys, one core)", "", hash.markdown, "");
if (veth) md.push("## veth", "", vethMarkdown(veth));
if (ports) md.push("## Ports (issue 12)", "", portsMarkdown(veth, memif, jumbo));
if (cnet) md.push(cnet.markdown);
const text = md.join("\n");
console.log(text);
mkdirSync(outDir, { recursive: true });
writeFileSync(`${outDir}/latest.json`, `${JSON.stringify({ machine, date: new Date().toISOString(), nullPipeline: nul, veth, fib: fib?.rows ?? null, hash: hash?.rows ?? null, acl: acl?.rows ?? null, memif: memif?.rows ?? null, jumbo, cnet: cnet?.rows ?? null }, null, 1)}\n`);
writeFileSync(`${outDir}/latest.md`, `${text}\n`);
console.error(`wrote ${outDir}/latest.json and latest.md`);
