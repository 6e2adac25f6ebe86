/**
 * The interactive screen: a table of per-port figures redrawn in place at the top of the terminal
 * (VT100: save cursor, home, rewrite lines, restore; a scroll region keeps the command line and its
 * output below the table), and txgen's command prompt under it.
 */
import { createInterface, type Interface } from "node:readline";
import type { Txgen, PortRate, PortStats } from "./txgen.js";
import { Commands, type Page, HELP } from "./commands.js";
import { describeIp, describePort, formatRate } from "./settings.js";

const COL0 = 18;
const COL = 22;
const PER_PAGE = 4;

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function fmtUs(n: number | undefined): string {
  return n === undefined ? "-" : n < 10 ? n.toFixed(2) : n < 1000 ? n.toFixed(1) : fmtInt(n);
}

/** The lines of a page for the ports of `group` (4 per group). Pure: tests and the screen use it. */
export function renderPage(tg: Txgen, page: Page, group: number, rates: PortRate[], stats: PortStats[]): string[] {
  const ports = tg.ports.slice(group * PER_PAGE, group * PER_PAGE + PER_PAGE);
  const row = (label: string, cells: string[]) => label.padEnd(COL0) + cells.map((c) => ` ${c}`.slice(0, COL).padEnd(COL)).join("");
  const head = `xdplane txgen  ${new Date().toLocaleTimeString()}  page ${page}${tg.ports.length > PER_PAGE ? ` ${group}` : ""}  ports ${tg.ports.length}  (help: commands)`;
  const lines = [head, row("Port", ports.map((p) => `${p.pid}: ${p.name}`))];
  const st = (p: { pid: number }) => stats[p.pid]!;
  const rt = (p: { pid: number }) => rates[p.pid]!;
  if (page === "main") {
    lines.push(
      row("State", ports.map((p) => `${p.running ? "sending" : "idle"} (${p.settings.engine})${p.error ? " ERR" : ""}`)),
      row("Pkts/s Rx", ports.map((p) => fmtInt(rt(p).rxPps))),
      row("Pkts/s Tx", ports.map((p) => fmtInt(rt(p).txPps))),
      row("Mbits/s Rx/Tx", ports.map((p) => `${rt(p).rxMbps.toFixed(0)}/${rt(p).txMbps.toFixed(0)}`)),
      row("Total Rx pkts", ports.map((p) => fmtInt(st(p).rxPkts))),
      row("Total Tx pkts", ports.map((p) => fmtInt(st(p).txPkts))),
      row("Tx errors", ports.map((p) => fmtInt(st(p).txErrors))),
      row("Lat p50/p99 us", ports.map((p) => `${fmtUs(st(p).latency?.p50Us)}/${fmtUs(st(p).latency?.p99Us)}`)),
      row("Lat max us", ports.map((p) => fmtUs(st(p).latency?.maxUs))),
      row("Loss/reordered", ports.map((p) => `${st(p).loss ?? "-"}/${st(p).reordered}`)),
      row("Size/burst", ports.map((p) => `${p.settings.size}/${p.settings.burst}`)),
      row("Rate/count", ports.map((p) => `${formatRate(p.settings.rate)}${p.settings.rate.kind === "percent" ? "%" : ""}/${p.settings.count || "forever"}`)),
      row("Proto/TTL", ports.map((p) => `${p.settings.proto}/${p.settings.ttl}`)),
      row("Src IP", ports.map((p) => describeIp(p.settings.srcIp))),
      row("Dst IP", ports.map((p) => describeIp(p.settings.dstIp))),
      row("Sport/dport", ports.map((p) => `${describePort(p.settings.sport)}/${describePort(p.settings.dport)}`)),
      row("Src MAC", ports.map((p) => p.settings.srcMac ?? p.mac)),
      row("Dst MAC", ports.map((p) => p.settings.dstMac ?? tg.ports[p.pid ^ 1]?.mac ?? "ff:ff:ff:ff:ff:ff")),
    );
  } else if (page === "latency") {
    lines.push(
      row("Latency", ports.map((p) => (p.settings.latency ? "on" : "off"))),
      row("Samples", ports.map((p) => fmtInt(st(p).latency?.samples ?? 0))),
      row("Min us", ports.map((p) => fmtUs(st(p).latency?.minUs))),
      row("Avg us", ports.map((p) => fmtUs(st(p).latency?.avgUs))),
      row("p50 us", ports.map((p) => fmtUs(st(p).latency?.p50Us))),
      row("p99 us", ports.map((p) => fmtUs(st(p).latency?.p99Us))),
      row("Max us", ports.map((p) => fmtUs(st(p).latency?.maxUs))),
      row("Lost", ports.map((p) => String(st(p).loss ?? "-"))),
      row("Reordered", ports.map((p) => fmtInt(st(p).reordered))),
    );
  } else if (page === "pcap") {
    lines.push(
      row("Replay", ports.map((p) => p.settings.pcap ?? "-")),
      row("Capture", ports.map((p) => p.settings.capture ?? "-")),
      row("Captured", ports.map((p) => fmtInt(st(p).captured))),
      row("Capture drops", ports.map((p) => fmtInt(st(p).captureDropped))),
    );
  } else {
    lines.push(...tg.describe());
  }
  return lines;
}

/** The interactive screen and prompt. Resolves `done` when the user quits (or stdin closes). */
export class Screen {
  private page: Page = "main";
  private group = 0;
  private rl: Interface | null = null;
  private timer: NodeJS.Timeout | null = null;
  private height = 0;
  private readonly commands: Commands;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly tg: Txgen, private readonly intervalMs = 1000) {
    this.done = new Promise((r) => (this.resolveDone = r));
    this.commands = new Commands(tg, {
      print: (s) => this.print(s),
      setPage: (p, g) => {
        this.page = p;
        this.group = g;
        this.layout();
      },
      quit: () => this.quit(),
    });
  }

  private write(s: string): void {
    process.stdout.write(s);
  }

  private print(s: string): void {
    this.write(`${s.replace(/\n$/, "")}\n`);
  }

  /** Sets the scroll region below the table and redraws. */
  private layout(): void {
    const lines = renderPage(this.tg, this.page, this.group, this.tg.rates(), this.tg.stats());
    this.height = lines.length + 1;
    const rows = process.stdout.rows || 40;
    this.write(`\x1b[2J\x1b[H\x1b[${this.height + 1};${rows}r\x1b[${rows};1H`);
    this.draw(lines);
  }

  private draw(lines?: string[]): void {
    const ls = lines ?? renderPage(this.tg, this.page, this.group, this.tg.rates(), this.tg.stats());
    if (ls.length + 1 !== this.height) {
      this.layout();
      return;
    }
    const cols = process.stdout.columns || 132;
    let out = "\x1b7\x1b[H";
    for (const l of ls) out += `${l.slice(0, cols)}\x1b[K\n`;
    out += `${"-".repeat(Math.min(cols, 110))}\x1b[K\x1b8`;
    this.write(out);
  }

  start(): void {
    this.rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "txgen> ", terminal: true });
    this.layout();
    this.print("Type help for the commands.");
    this.rl.prompt();
    this.rl.on("line", (line) => {
      this.commands.run(line).then(
        () => this.rl?.prompt(),
        (e: Error) => {
          this.print(`error: ${e.message}`);
          this.rl?.prompt();
        },
      );
    });
    this.rl.on("close", () => this.quit());
    this.timer = setInterval(() => this.draw(), this.intervalMs);
  }

  /** Leaves the screen (restores the terminal) and resolves `done`. */
  quit(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.rl?.close();
    this.rl = null;
    this.write("\x1b[r\n");
    this.resolveDone();
  }
}

export { HELP };
