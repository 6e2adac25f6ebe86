/**
 * Issue 12's port benchmarks beside each other: jumbo frames through `fwd lb` (AF_XDP multi-buffer, veth
 * MTU 9000 on both ends) at 1514 and 9014 bytes in the same run, in Gbps; and the table that puts
 * net_af_packet rx-only beside net_af_xdp rx-only (bench/veth.ts measures both in one run) and memif
 * (bench/memif.ts).
 *
 * Jumbo: the generator is txgen's AF_XDP engine with multi-buffer (the live-frames engine sends one page
 * at most), unpaced, on CPU 0 with both veth ends' NAPI threads (layout 1, as the veth lb scenarios); the
 * forwarder (`fwd lb`, `"multi_buffer": true`, 4 KiB buffers: a 9014-byte frame is 3 of them) alone on
 * CPU 1. Returned frames are counted by the generator's AF_XDP socket; Gbps = frames x frame bytes (no FCS).
 *
 * Run: node dist/bench/ports.js [runs] [seconds]   (jumboBench and portsMarkdown are used by bench/run.ts)
 */
import { cpus, loadavg } from "node:os";
import { startTxgen, type Txgen } from "../src/apps/txgen/txgen.js";
import { FwdApp } from "../src/apps/fwd/app.js";
import { parseConfig } from "../src/config/index.js";
import { ST_IPACKETS } from "../src/xsk/stats.js";
import { Bed, measure, median, sh, summarize, DUT_CPU, GEN_CPU, type ScenarioResult, type VethResult } from "./veth.js";
import type { MemifBenchResult } from "./memif.js";

/** Frame sizes (bytes without the FCS) of the jumbo scenarios. */
export const JUMBO_SIZES = [1514, 9014] as const;

export interface JumboRow extends ScenarioResult {
  /** Frame bytes without the FCS. */
  frameBytes: number;
  /** Returned, in Gbit/s of frames (median of the runs). */
  gbps: number;
  /** Offered, in Gbit/s. */
  offeredGbps: number;
  /** Medians of the per-second counters (forwarder's and generator's sockets, softirqs). */
  counters?: Record<string, number>;
}

export interface JumboResult {
  machine: { nproc: number; model: string; loadavgStart: number[]; loadavgEnd: number[] };
  runs: number;
  seconds: number;
  nice: number;
  rows: JumboRow[];
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The forwarder's config: one multi-buffer af_xdp lport on the DUT's veth end, lb on CPU 1. */
function jumboConfig(bed: Bed): string {
  return JSON.stringify({
    application: { name: "bench-jumbo" },
    defaults: { bufcnt: 16, bufsz: 4, rxdesc: 2, txdesc: 2, cache: 256, mtype: "4KB" },
    umems: { umem0: { bufcnt: 16, bufsz: 4, mtype: "4KB" } },
    lports: { [`${bed.fw}:0`]: { pmd: "net_af_xdp", qid: 0, umem: "umem0", multi_buffer: true } },
    "lcore-groups": { initial: [GEN_CPU], fwd: [DUT_CPU] },
    threads: { main: { group: "initial" }, "fwd:0": { group: "fwd", lports: [`${bed.fw}:0`], idle_timeout: 0 } },
  });
}

/** fwd lb at 1514 and 9014-byte frames, veth MTU 9000, multi-buffer on both ends; medians of `runs`. */
export async function jumboBench(o: { runs?: number; seconds?: number; nice?: number; log?: (m: string) => void } = {}): Promise<JumboResult> {
  const runs = o.runs ?? 3;
  const seconds = o.seconds ?? 3;
  const nice = o.nice ?? -10;
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const machine = { nproc: cpus().length, model: cpus()[0]?.model ?? "?", loadavgStart: loadavg(), loadavgEnd: [] as number[] };
  const bed = new Bed();
  if (nice !== 0) {
    sh("renice", "-n", String(nice), "-p", String(process.pid));
    bed.nice = nice;
  }
  const rows: JumboRow[] = [];
  try {
    bed.up();
    sh("ip", "-n", bed.gen, "link", "set", bed.tg, "mtu", "9000");
    sh("ip", "-n", bed.dut, "link", "set", bed.fw, "mtu", "9000");
    const { config } = parseConfig(jumboConfig(bed), "bench-jumbo.jsonc", { cpuCheck: "off" });
    for (const bytes of JUMBO_SIZES) {
      let app: FwdApp | null = null;
      let tg: Txgen | null = null;
      try {
        app = await FwdApp.start({ config, mode: "lb", netns: bed.dut, log: () => {} });
        const port = app.ports[0]!;
        tg = await startTxgen({
          log: () => {},
          ports: [{ ifname: bed.tg, netns: bed.gen, cpus: [GEN_CPU], multiBuffer: true, frames: 16384,
            settings: ["engine afxdp", "rx on", `size ${bytes + 4}`, `dst mac ${bed.fwMac}`] }],
        });
        const gen = tg.ports[0]!;
        bed.pin(GEN_CPU);
        await tg.start();
        // Where frames go: the forwarder's socket (ring full, drops, TX) and the generator's (what it got back).
        const counters = (): Record<string, number> => {
          const f = port.readStats();
          const g = gen.lport?.readStats() ?? {};
          const out: Record<string, number> = {};
          for (const k of ["rx_ring_full", "rx_dropped", "rx_fill_ring_empty_descs", "opackets", "odropped", "oerrors", "tx_kick_again"]) out[`fwd_${k}`] = f[k] ?? 0;
          for (const k of ["rx_ring_full", "rx_dropped", "rx_fill_ring_empty_descs", "tx_kick_again"]) out[`gen_${k}`] = g[k] ?? 0;
          return out;
        };
        const s = await measure(bed, seconds, runs, { offered: () => gen.txTotals()[0], returned: () => gen.rxTotals()[0], dutRx: () => port.stats[ST_IPACKETS]!, counters });
        await tg.stop();
        const r = summarize(`jumbo-lb-${bytes}`, 1, `xdplane fwd lb, ${bytes}-byte frames, multi_buffer, veth MTU 9000`, s);
        const gbps = (mpps: number | null) => ((mpps ?? 0) * bytes * 8) / 1000;
        const row: JumboRow = { ...r, frameBytes: bytes, gbps: gbps(r.returned), offeredGbps: gbps(r.offered) };
        rows.push(row);
        const med: Record<string, number> = {};
        for (const k of Object.keys(s[0]!.counters ?? {})) med[k] = median(s.map((x) => x.counters![k] ?? 0));
        row.counters = med;
        log(`${row.id}: offered ${r.offered.toFixed(3)} Mpps (${row.offeredGbps.toFixed(2)} Gbps), forwarder rx ${r.dutRx!.toFixed(3)}, returned ${r.returned!.toFixed(3)} Mpps (${row.gbps.toFixed(2)} Gbps); NAPI CPU dut ${pct(r.dutNapiCpu)} gen ${pct(r.genNapiCpu)}; per s ${JSON.stringify(med)}`);
      } finally {
        await tg?.close();
        await app?.stop();
      }
    }
  } finally {
    bed.down();
  }
  machine.loadavgEnd = loadavg();
  return { machine, runs, seconds, nice, rows };
}

/** A ratio as "0.85x", or "-" when either side is missing. */
function ratio(a: number | null | undefined, b: number | null | undefined): string {
  return a === null || a === undefined || b === null || b === undefined || b === 0 ? "-" : `${(a / b).toFixed(2)}x`;
}

/** The ports table: af_packet beside af_xdp rx-only (from a veth run), memif, jumbo lb. */
export function portsMarkdown(veth: VethResult | null, memif: MemifBenchResult | null, jumbo: JumboResult | null): string {
  const rows: string[] = [];
  const v = (x: number | null | undefined, d = 2) => (x === null || x === undefined ? "-" : x.toFixed(d));
  const xdp = veth?.scenarios.find((s) => s.id === "l1-fwd-rx-only");
  const pkt = veth?.scenarios.find((s) => s.id === "l1-fwd-rx-only-afpacket");
  if (xdp || pkt) {
    rows.push(`rx-only on veth, 64-byte frames, txgen live frames on CPU ${GEN_CPU} with both NAPI threads (layout 1), the forwarder alone on CPU ${DUT_CPU}; ` +
      `medians of ${veth!.runs} runs of ${veth!.seconds} s, same run. Mpps.`, "");
    rows.push("| port | offered | received | vs af_xdp (same run) | forwarder CPU | ns/pkt | NAPI CPU dut/gen |", "| --- | --- | --- | --- | --- | --- | --- |");
    for (const [name, s] of [["net_af_xdp (copy mode)", xdp], ["net_af_packet (TPACKET_V3)", pkt]] as const) {
      if (!s) continue;
      rows.push(`| ${name} | ${v(s.offered)} | ${v(s.dutRx)} | ${ratio(s.dutRx, xdp?.dutRx)} | ${s.fwdCpu !== undefined ? pct(s.fwdCpu) : "-"} | ${v(s.fwdNsPerPkt, 0)} | ${pct(s.dutNapiCpu)}/${pct(s.genNapiCpu)} |`);
    }
    rows.push("");
  }
  if (memif) rows.push("memif between two processes, 64-byte frames, one core each (bench/memif.ts).", "", memif.markdown, "");
  if (jumbo && jumbo.rows.length > 0) {
    const base = jumbo.rows.find((r) => r.frameBytes === 1514);
    rows.push(`fwd lb with jumbo frames: veth MTU 9000, \`"multi_buffer": true\` on the forwarder and the generator (txgen AF_XDP engine, unpaced, CPU ${GEN_CPU}, layout 1), ` +
      `4 KiB buffers; medians of ${jumbo.runs} runs of ${jumbo.seconds} s, same run. Gbps of frames (no FCS).`, "");
    rows.push("| frame bytes | offered Mpps | forwarder rx Mpps | returned Mpps | offered Gbps | returned Gbps | vs 1514 bytes (Gbps, same run) | forwarder TX dropped Mpps | NAPI CPU dut/gen |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of jumbo.rows) {
      const txDrop = r.counters?.["fwd_odropped"];
      rows.push(`| ${r.frameBytes} | ${v(r.offered, 3)} | ${v(r.dutRx, 3)} | ${v(r.returned, 3)} | ${v(r.offeredGbps)} | ${v(r.gbps)} | ${ratio(r.gbps, base?.gbps)} | ${txDrop !== undefined ? v(txDrop / 1e6, 3) : "-"} | ${pct(r.dutNapiCpu)}/${pct(r.genNapiCpu)} |`);
    }
    rows.push("");
  }
  return rows.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await jumboBench({ runs: Number(process.argv[2] ?? 3), seconds: Number(process.argv[3] ?? 3) });
  console.log(JSON.stringify(r.rows.map(({ runs: _runs, ...x }) => x), null, 1));
  console.log(portsMarkdown(null, null, r));
}
