/**
 * txgen's command language (CNDP txgen's CLI): `set <ports> <setting> <value>`, `start|str`,
 * `stop|stp`, `page`, `save`, `load`, `clear|clr`, `delay`, `help`, `quit`. The interactive screen,
 * `--set`/`--load` on the command line and saved files all go through {@link Commands.run}.
 */
import { readFileSync } from "node:fs";
import { parsePortList, SET_KEYS } from "./settings.js";
import { splitWords, writeText, type Txgen } from "./txgen.js";

export const PAGES = ["main", "latency", "pcap", "config"] as const;
export type Page = (typeof PAGES)[number];

export const HELP = `Commands (<ports>: 0, 0-1,3 or all):
  set <ports> <setting> <value>   change a setting (below)
  start [<ports>] | str           start sending (all ports when none given)
  stop [<ports>]  | stp           stop sending
  clear [<ports>] | clr           zero the statistics
  page main|latency|pcap|config|<n>   what the screen shows (n: the n-th group of 4 ports)
  save <file>                     write the settings as set commands
  load <file>                     run the commands of a file
  delay <ms>                      wait (in command files)
  help                            this text
  quit | exit                     stop everything and leave
Settings (sizes include the 4-byte FCS: 64 .. MTU+18; rate 100 = unpaced):
${SET_KEYS.map((k) => `  ${k}`).join("\n")}
`;

export interface CommandHost {
  /** Where command output goes. */
  print(s: string): void;
  /** Changes the page shown (interactive screen). */
  setPage?(page: Page, group: number): void;
  /** Asked to quit. */
  quit?(): void;
}

export class Commands {
  constructor(private readonly tg: Txgen, private readonly host: CommandHost) {}

  /** Runs one command line; throws an Error naming what is wrong. Empty lines and # comments do nothing. */
  async run(line: string, where = ""): Promise<void> {
    const text = line.trim();
    if (text === "" || text.startsWith("#")) return;
    const words = splitWords(text);
    const cmd = words[0]!.toLowerCase();
    const rest = words.slice(1);
    const ports = (w: string | undefined) => (w === undefined ? undefined : parsePortList(w, this.tg.ports.length));
    try {
      switch (cmd) {
        case "set":
          if (rest.length < 2) throw new SyntaxError(`expected set <ports> <setting> <value>`);
          this.tg.set(rest.join(" "));
          return;
        case "start":
        case "str":
          await this.tg.start(cmd === "str" ? undefined : ports(rest[0]));
          return;
        case "stop":
        case "stp":
          await this.tg.stop(cmd === "stp" ? undefined : ports(rest[0]));
          return;
        case "clear":
        case "clr":
        case "clear.stats":
          this.tg.clear(cmd === "clr" || rest[0] === "stats" ? undefined : ports(rest[0]));
          return;
        case "page": {
          const p = (rest[0] ?? "main").toLowerCase();
          if (/^\d+$/.test(p)) {
            const group = Number(p);
            if (group * 4 >= this.tg.ports.length) throw new RangeError(`no page ${group}: ${Math.ceil(this.tg.ports.length / 4)} page(s) of 4 ports`);
            this.host.setPage?.("main", group);
          } else if ((PAGES as readonly string[]).includes(p)) {
            this.host.setPage?.(p as Page, 0);
          } else {
            throw new RangeError(`unknown page '${rest[0]}': expected ${PAGES.join(", ")} or a number`);
          }
          return;
        }
        case "save": {
          if (!rest[0]) throw new SyntaxError("expected save <file>");
          writeText(rest.join(" "), this.tg.saveText());
          this.host.print(`settings saved to ${rest.join(" ")}`);
          return;
        }
        case "load": {
          if (!rest[0]) throw new SyntaxError("expected load <file>");
          await this.load(rest.join(" "));
          return;
        }
        case "delay":
        case "sleep": {
          const n = Number(rest[0]);
          if (!Number.isFinite(n) || n < 0) throw new RangeError(`expected ${cmd} <${cmd === "delay" ? "ms" : "seconds"}>`);
          await new Promise((r) => setTimeout(r, cmd === "delay" ? n : n * 1000));
          return;
        }
        case "help":
        case "?":
          this.host.print(HELP);
          return;
        case "quit":
        case "exit":
          this.host.quit?.();
          return;
        default:
          throw new SyntaxError(`unknown command '${words[0]}' (help lists them)`);
      }
    } catch (e) {
      const err = e as Error;
      // set errors already name the port and setting.
      err.message = `${where ? `${where}: ` : ""}${cmd === "set" ? "" : `${text}: `}${err.message}`;
      throw err;
    }
  }

  /** Runs the commands of a file in order; errors name file:line. */
  async load(file: string): Promise<void> {
    for (const [i, line] of readCommandFile(file).entries()) await this.run(line, `${file}:${i + 1}`);
  }
}

/** The lines of a command file (with a clear error when it cannot be read). */
export function readCommandFile(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split(/\r?\n/);
  } catch (e) {
    throw new Error(`Cannot read command file '${file}': ${(e as Error).message}`, { cause: e });
  }
}
