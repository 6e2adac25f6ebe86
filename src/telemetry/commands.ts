/**
 * The command registry behind the app socket, with CNDP's UDS protocol rules (lib/usr/app/uds/uds.c):
 *
 * - A request is one message: `"/group/cmd"` or `"/group/cmd,param1,param2"` (split on ','), matched
 *   case-insensitively. The group is the first path segment; `/` and `/info` are in the root group.
 * - A reply is one message holding one JSON object. Unknown commands answer
 *   `{"error":"invalid cmd (/x)"}` (or `(/x,params)`), as CNDP does.
 * - CNDP keeps command names under 56 bytes (UDS_MAX_CMD_LEN) and group names alphanumeric or '_'.
 *
 * No I/O here: {@link CommandRegistry.dispatch} takes the request text and returns the reply text.
 */

/** CNDP's UDS_MAX_CMD_LEN: a registered command path is shorter than this. */
export const UDS_MAX_CMD_LEN = 56;
/** CNDP's UDS_MAX_BUF_LEN: the default largest reply, reported as `max_output_len` by `/info`. */
export const UDS_MAX_OUTPUT_LEN = 16 * 1024;

/** CNDP's tools read the `/info` reply into a 1024-byte buffer (tools/cndp-metrics.py). */
export const INFO_MAX_LEN = 1024;

/** What a handler gets besides its parameters. */
export interface CommandContext {
  /** The command as registered (lower case), e.g. `"/app/stop"`. */
  cmd: string;
  /** The pid of the client process (SO_PEERCRED), 0 when unknown. */
  peerPid: number;
}

/** A command reply: a JSON object. Numbers, strings, booleans, arrays, nested objects; bigints become numbers. */
export type Reply = Record<string, unknown>;

/** A command handler. Throwing (or rejecting) answers `{"error": message}`. */
export type CommandHandler = (params: string[], ctx: CommandContext) => Reply | Promise<Reply>;

interface Entry {
  path: string;
  handler: CommandHandler;
  help: string;
}

/** The group of a command path: the first segment of `/group/cmd`, or "" (root) for `/cmd`. */
export function groupOf(path: string): string {
  const second = path.indexOf("/", 1);
  return second < 0 ? "" : path.slice(1, second);
}

const GROUP_RE = /^[A-Za-z0-9_]+$/;
const SEGMENT_RE = /^[A-Za-z0-9_.:-]+$/;

/** Checks a command path; throws RangeError naming what is wrong. */
export function validateCommandPath(path: string): void {
  if (path === "/") return;
  if (!path.startsWith("/")) throw new RangeError(`Invalid command '${path}': must start with '/'`);
  if (Buffer.byteLength(path) >= UDS_MAX_CMD_LEN) {
    throw new RangeError(`Invalid command '${path}': ${Buffer.byteLength(path)} bytes, less than ${UDS_MAX_CMD_LEN} required (CNDP UDS_MAX_CMD_LEN)`);
  }
  const segs = path.slice(1).split("/");
  const g = groupOf(path);
  if (g !== "" && !GROUP_RE.test(g)) throw new RangeError(`Invalid command '${path}': group '${g}' must be letters, digits or '_'`);
  for (const s of segs) {
    if (!SEGMENT_RE.test(s)) throw new RangeError(`Invalid command '${path}': segment '${s}' must be letters, digits or '_.:-'`);
  }
}

/** Parses a request line into the command (lower case) and its parameters. */
export function parseRequest(line: string): { cmd: string; params: string[] } {
  // Tolerate what hand-written clients add: a trailing NUL (C strings) or newline (nc, socat).
  const t = line.replace(/[\0\r\n]+$/, "").trim();
  const parts = t.split(",");
  const cmd = (parts.shift() ?? "").trim();
  // As CNDP's strtok(): empty parameters are skipped.
  const params = parts.map((p) => p.trim()).filter((p) => p !== "");
  return { cmd, params };
}

/** JSON text of a reply; bigints as numbers. */
export function replyText(reply: Reply): string {
  return JSON.stringify(reply, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v));
}

/**
 * Commands by path. `/` (the list) and `/info` are built in; everything else is registered.
 *
 * @example
 * const reg = new CommandRegistry({ info: () => ({ version: "xdplane 0.1.0", pid: process.pid, max_output_len: 16384 }) });
 * reg.register("/fwd/mode", () => ({ mode: "lb" }));
 * await reg.dispatch("/fwd/mode"); // '{"mode":"lb"}'
 */
export class CommandRegistry {
  private readonly entries = new Map<string, Entry>();
  readonly maxOutput: number;

  constructor(opts: { info: () => Reply; maxOutput?: number }) {
    this.maxOutput = opts.maxOutput ?? UDS_MAX_OUTPUT_LEN;
    this.register("/", () => ({ "/": this.list() }), "List the commands.");
    this.register("/info", () => this.info(opts.info()), "Version, pid, max_output_len and the commands by group.");
  }

  /** Registers a command. Throws RangeError for a bad path, Error (code EEXIST) when it exists. */
  register(path: string, handler: CommandHandler, help = ""): void {
    validateCommandPath(path);
    const key = path.toLowerCase();
    if (this.entries.has(key)) {
      throw Object.assign(new Error(`Command '${path}' is already registered`), { code: "EEXIST" });
    }
    this.entries.set(key, { path, handler, help });
  }

  /** Removes a command; returns whether it existed. `/` and `/info` stay. */
  unregister(path: string): boolean {
    const key = path.toLowerCase();
    if (key === "/" || key === "/info") return false;
    return this.entries.delete(key);
  }

  /** Whether a command exists (case-insensitive). */
  has(path: string): boolean {
    return this.entries.has(path.toLowerCase());
  }

  /** The command paths, in registration order (CNDP's `/` reply). */
  list(): string[] {
    return [...this.entries.values()].map((e) => e.path);
  }

  /** The commands by path prefix: `{"/": ["/", "/info"], "/app": [...], ...}`. */
  groups(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const e of this.entries.values()) {
      const g = groupOf(e.path);
      const key = g === "" ? "/" : `/${g}`;
      (out[key] ??= []).push(e.path);
    }
    return out;
  }

  /**
   * The `/info` reply: the app's fields and `groups`. CNDP's clients read `/info` into 1024 bytes before they
   * know `max_output_len`, so when the full lists would not fit, `groups` gives each prefix's count instead.
   */
  private info(base: Reply): Reply {
    const full = { ...base, groups: this.groups() };
    if (Buffer.byteLength(replyText(full)) <= Math.min(INFO_MAX_LEN, this.maxOutput)) return full;
    const counts: Record<string, number> = {};
    for (const [g, list] of Object.entries(this.groups())) counts[g] = list.length;
    return { ...base, groups: counts };
  }

  /** Help text of each command that has some. */
  help(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.entries.values()) if (e.help) out[e.path] = e.help;
    return out;
  }

  /** Runs one request and returns the reply text (always one JSON object, at most `maxOutput` bytes). */
  async dispatch(line: string, peerPid = 0): Promise<string> {
    const { cmd, params } = parseRequest(line);
    const e = this.entries.get(cmd.toLowerCase());
    if (e === undefined) return replyText({ error: invalidCmd(cmd, params) });
    let text: string;
    try {
      const r = await e.handler(params, { cmd: cmd.toLowerCase(), peerPid });
      text = replyText(r !== null && typeof r === "object" && !Array.isArray(r) ? r : { result: r });
    } catch (err) {
      text = replyText({ error: (err as Error)?.message ?? String(err) });
    }
    const n = Buffer.byteLength(text);
    if (n > this.maxOutput) {
      return replyText({ error: `reply of ${n} bytes exceeds max_output_len ${this.maxOutput} (${cmd})` });
    }
    return text;
  }
}

function invalidCmd(cmd: string, params: string[]): string {
  return params.length > 0 ? `invalid cmd (${cmd},${params.join(",")})` : `invalid cmd (${cmd})`;
}
