/**
 * Parses a CNDP jcfg file (JSON with comments, e.g. `fwd.jsonc`) into the typed AppConfig.
 *
 * Compatible with CNDP's lib/usr/app/jcfg: same sections and keys, same units (counts in 1024s), same
 * defaults, sections in any order, lport-groups expanded the same way. Stricter where CNDP silently
 * misreads: every wrong type, missing key or dangling reference is an error naming file:line:column and
 * the key path; unknown keys are warnings.
 */
import { readFileSync, readdirSync } from "node:fs";
import { cpus as osCpus } from "node:os";
import { createScanner, getLocation, parseTree, ParseErrorCode, stripComments, SyntaxKind, type Node, type ParseError } from "jsonc-parser";
import { ConfigError, diagnostic, type ConfigDiagnostic } from "./errors.js";
import { Reader } from "./reader.js";
import { formatRangeList, parseRangeList } from "./ranges.js";
import { readProc, type ProcReader } from "./host.js";
import { checkMemory } from "./memory.js";
import { resolve, type QueueCounter } from "./resolve.js";
import { NetlinkSocket } from "../netlink/socket.js";
import { findLink } from "../netlink/link.js";
import {
  decodeApplication,
  decodeDefaults,
  decodeLcoreGroups,
  decodeLportGroups,
  decodeLports,
  decodeOptions,
  decodeThreads,
  decodeUmems,
  type CpuCheck,
  type Draft,
  type UmemNodes,
} from "./sections.js";
import { formatPath, LineIndex, type KeyPath, type SourceLocation } from "./source.js";
import type { AppConfig, ConfigSource, JsonValue, Lport, Thread } from "./types.js";

/** Choices for parsing; all optional. */
export interface ParseOptions {
  /**
   * What to do with CPUs in lcore-groups that are not online here: "warn" (default), "error" (what
   * CNDP does) or "off".
   */
  readonly cpuCheck?: "error" | "warn" | "off";
  /** The CPUs online on this machine (default: /sys/devices/system/cpu/online). */
  readonly onlineCpus?: readonly number[];
  /**
   * Counts the queues of a netdev, for lport-groups that use every queue (default: the rx-N entries of
   * /sys/class/net/NETDEV/queues). Undefined means the netdev does not exist.
   */
  readonly netdevQueueCount?: QueueCounter;
  /**
   * Whether every lport's netdev must exist here, with the lport's qid below its queue count (counted by
   * `netdevQueueCount`): "error", or "off" (the netdevs live elsewhere, e.g. in another namespace or a
   * pod). Default: "error" for loadConfig (a file about to be run here), "off" for parseConfig.
   */
  readonly netdevCheck?: "error" | "off";
  /**
   * Whether the UMEMs lports use must fit this machine: the memory available (MemAvailable) and
   * RLIMIT_MEMLOCK (unless the process has CAP_IPC_LOCK). Default "error".
   */
  readonly memoryCheck?: "error" | "off";
  /** Reads /proc/meminfo, /proc/self/limits and /proc/self/status (default: the real files). */
  readonly readProc?: ProcReader;
  /** Extra top-level sections the app understands: kept in `sections` without a warning. */
  readonly sections?: readonly string[];
}

/** A parsed configuration and the warnings about it (unknown keys, CPUs not online, ...). */
export interface ParseResult {
  readonly config: AppConfig;
  readonly warnings: readonly ConfigDiagnostic[];
}

const SECTIONS = [
  "application", "defaults", "umems", "lports", "lcore-groups", "options", "threads", "lport-groups", "users",
] as const;
type Section = (typeof SECTIONS)[number];

const SYNTAX: Record<number, string> = {
  [ParseErrorCode.InvalidSymbol]: "unexpected character",
  [ParseErrorCode.InvalidNumberFormat]: "invalid number",
  [ParseErrorCode.PropertyNameExpected]: "expected a key in double quotes",
  [ParseErrorCode.ValueExpected]: "expected a value",
  [ParseErrorCode.ColonExpected]: "expected ':'",
  [ParseErrorCode.CommaExpected]: "expected ','",
  [ParseErrorCode.CloseBraceExpected]: "expected '}'",
  [ParseErrorCode.CloseBracketExpected]: "expected ']'",
  [ParseErrorCode.EndOfFileExpected]: "expected the end of the file after the top-level object",
  [ParseErrorCode.InvalidCommentToken]: "invalid comment",
  [ParseErrorCode.UnexpectedEndOfComment]: "unterminated comment",
  [ParseErrorCode.UnexpectedEndOfString]: "unterminated string",
  [ParseErrorCode.UnexpectedEndOfNumber]: "unterminated number",
  [ParseErrorCode.InvalidUnicode]: "invalid unicode escape",
  [ParseErrorCode.InvalidEscapeCharacter]: "invalid escape character in string",
  [ParseErrorCode.InvalidCharacter]: "invalid character in string (control characters must be escaped)",
};

/**
 * The RX queue count of a netdev in this thread's network namespace; undefined when it does not exist
 * there. Existence is asked over rtnetlink (sysfs shows the namespace it was mounted in, which is not
 * this one in a pod whose sysfs came from the host, or for ports opened in another namespace). The count
 * is sysfs's `queues/rx-*` (the queues in use, as `ethtool -L` set them) when sysfs shows this very
 * netdev (same ifindex), else IFLA_NUM_RX_QUEUES (the queues allocated).
 */
export function sysfsQueueCount(netdev: string): number | undefined {
  let nl: NetlinkSocket | null = null;
  let link;
  try {
    nl = NetlinkSocket.open();
    link = findLink(nl, netdev);
  } catch {
    return undefined;
  } finally {
    nl?.close();
  }
  if (link === undefined) return undefined;
  try {
    if (Number(readFileSync(`/sys/class/net/${netdev}/ifindex`, "utf8").trim()) === link.index) {
      return readdirSync(`/sys/class/net/${netdev}/queues`).filter((n) => n.startsWith("rx-")).length;
    }
  } catch { /* sysfs of another namespace, or none */ }
  return link.numRxQueues ?? 1;
}

/** The CPUs online here, from sysfs, or 0..n-1 from os.cpus() if that cannot be read. */
function onlineCpus(): number[] {
  try {
    const r = parseRangeList(readFileSync("/sys/devices/system/cpu/online", "utf8").trim(), 1 << 20);
    if (r.ok) return r.values;
  } catch {
    // fall through
  }
  return osCpus().map((_, i) => i);
}

/** Locations of every key and value in the tree, by printed key path (first occurrence wins). */
function sourceMap(root: Node, file: string, lines: LineIndex): ConfigSource {
  const values = new Map<string, number>();
  const keys = new Map<string, number>();
  const walk = (node: Node, path: (string | number)[]): void => {
    const p = formatPath(path);
    if (!values.has(p)) values.set(p, node.offset);
    if (node.type === "object") {
      for (const prop of node.children ?? []) {
        const [k, v] = [prop.children?.[0], prop.children?.[1]];
        if (k === undefined || v === undefined) continue;
        const kp = [...path, k.value as string];
        if (!keys.has(formatPath(kp))) keys.set(formatPath(kp), k.offset);
        walk(v, kp);
      }
    } else if (node.type === "array") {
      (node.children ?? []).forEach((el, i) => walk(el, [...path, i]));
    }
  };
  walk(root, []);
  return {
    file,
    locate(path: KeyPath, key = false): SourceLocation | undefined {
      const p = formatPath(path);
      const off = key ? keys.get(p) : values.get(p);
      if (off === undefined) return undefined;
      return { file, ...lines.position(off) };
    },
  };
}

/**
 * How deep objects and arrays may nest. jsonc-parser's parseTree and getLocation, and the walks here, recurse
 * once per level: 100,000 `[` would overflow the stack. A jcfg file nests 4 deep (`users` a few more).
 */
export const MAX_DEPTH = 64;

/**
 * The offset of the first `{` or `[` nested deeper than MAX_DEPTH, or -1. Uses the scanner (a loop, no
 * recursion), so strings and comments holding brackets do not count.
 */
function tooDeep(text: string): number {
  const scan = createScanner(text, true);
  let depth = 0;
  for (let k = scan.scan(); k !== SyntaxKind.EOF; k = scan.scan()) {
    if (k === SyntaxKind.OpenBraceToken || k === SyntaxKind.OpenBracketToken) {
      if (++depth > MAX_DEPTH) return scan.getTokenOffset();
    } else if (k === SyntaxKind.CloseBraceToken || k === SyntaxKind.CloseBracketToken) {
      if (depth > 0) depth--;
    }
  }
  return -1;
}

function syntaxErrors(text: string, file: string, lines: LineIndex, errors: ParseError[]): ConfigDiagnostic[] {
  if (errors.length === 0) return [diagnostic({ file, line: 1, column: 1 }, "", "expected an object")];
  return errors.map((e) => {
    const path = formatPath(getLocation(text, e.offset).path);
    return diagnostic({ file, ...lines.position(e.offset) }, path, SYNTAX[e.error] ?? `syntax error ${e.error}`);
  });
}

/** Diagnostics in file order (stable for equal positions). */
function byPosition(ds: readonly ConfigDiagnostic[]): ConfigDiagnostic[] {
  return [...ds].sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * Parses jcfg text. `file` names the file in messages. Throws ConfigError listing every problem when the
 * configuration cannot be used; returns the typed config and the warnings otherwise.
 *
 * @example
 * const { config, warnings } = parseConfig(text, "fwd.jsonc");
 * for (const w of warnings) console.warn(w.text);
 * config.lports.get("eth0:0")?.qid; // 11
 */
export function parseConfig(text: string, file = "<config>", opts: ParseOptions = {}): ParseResult {
  // A UTF-8 byte order mark (U+FEFF once decoded) is not part of the JSON: dropped, and line 1's columns
  // count from the first character after it, as editors show them.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = new LineIndex(text);
  const deep = tooDeep(text);
  if (deep >= 0) {
    // The path up to the bracket: getLocation on the text before it, which nests at most MAX_DEPTH deep.
    const path = formatPath(getLocation(text.slice(0, deep + 1), deep).path);
    throw new ConfigError([diagnostic({ file, ...lines.position(deep) }, path, `nesting deeper than ${MAX_DEPTH}`)]);
  }
  const parseErrors: ParseError[] = [];
  const root = parseTree(text, parseErrors, { allowTrailingComma: true, disallowComments: false });
  if (root === undefined && stripComments(text).trim() === "") {
    throw new ConfigError([diagnostic({ file, line: 1, column: 1 }, "", "the file is empty: expected an object")]);
  }
  if (parseErrors.length > 0 || root === undefined) throw new ConfigError(syntaxErrors(text, file, lines, parseErrors));

  const r = new Reader(file, lines);
  if (!r.isObject(root, [], "an object with sections such as \"lports\" and \"threads\"")) throw new ConfigError(r.errors);

  const found = new Map<Section, { node: Node; path: KeyPath }>();
  const custom = new Set((opts.sections ?? []).map((s) => s.toLowerCase()));
  const sections = new Map<string, JsonValue>();
  for (const e of r.entries(root, [])) {
    const name = SECTIONS.find((s) => s === e.key.toLowerCase());
    if (name !== undefined) {
      const first = found.get(name);
      if (first !== undefined) r.error(e.keyNode, e.path, `section "${name}" is given twice (first at ${r.where(first.node.parent ?? first.node)})`);
      else found.set(name, { node: e.value, path: e.path });
      continue;
    }
    if (!custom.has(e.key.toLowerCase())) r.unknownKey(e, SECTIONS, "kept in sections for the app");
    sections.set(e.key, r.json(e.value));
  }

  const sec = (s: Section) => found.get(s);
  const cpuList = opts.onlineCpus ?? onlineCpus();
  const cpus: CpuCheck = { mode: opts.cpuCheck ?? "warn", online: new Set(cpuList), onlineText: formatRangeList([...cpuList].sort((a, b) => a - b)) };
  const app = sec("application");
  const def = sec("defaults");
  const { defaults, given } = decodeDefaults(r, def?.node, def?.path ?? ["defaults"]);
  const umems = sec("umems");
  const lports = sec("lports");
  const lgroups = sec("lcore-groups");
  const options = sec("options");
  const threads = sec("threads");
  const lpgroups = sec("lport-groups");
  const users = sec("users");
  const umemNodes = new Map<string, UmemNodes>();
  const lcoreGroupNodes = new Map<string, { node: Node; path: KeyPath }>();
  const draft: Draft = {
    application: app ? decodeApplication(r, app.node, app.path) : { name: "", description: "", extra: new Map() },
    defaults,
    defaultsGiven: given,
    umems: umems ? decodeUmems(r, umems.node, umems.path, defaults, umemNodes) : new Map(),
    lports: lports ? decodeLports(r, lports.node, lports.path) : new Map(),
    lcoreGroups: lgroups ? decodeLcoreGroups(r, lgroups.node, lgroups.path, cpus, lcoreGroupNodes) : new Map(),
    options: options ? decodeOptions(r, options.node, options.path) : new Map(),
    threads: threads ? decodeThreads(r, threads.node, threads.path) : new Map(),
    lportGroups: lpgroups ? decodeLportGroups(r, lpgroups.node, lpgroups.path) : [],
    users: new Map(),
    umemNodes,
    lcoreGroupNodes,
    broken: { umems: new Set(), lports: new Set(), lcoreGroups: new Set(), threads: new Set() },
  };
  const broken = (sec: { node: Node } | undefined, ok: ReadonlyMap<string, unknown>, out: Set<string>): void => {
    for (const prop of sec?.node.type === "object" ? sec.node.children ?? [] : []) {
      const key = prop.children?.[0]?.value as string | undefined;
      if (key !== undefined && !ok.has(key)) out.add(key);
    }
  };
  broken(umems, draft.umems, draft.broken.umems);
  broken(lports, draft.lports, draft.broken.lports);
  broken(lgroups, draft.lcoreGroups, draft.broken.lcoreGroups);
  broken(threads, draft.threads, draft.broken.threads);
  if (users && r.isObject(users.node, users.path)) {
    for (const e of r.entries(users.node, users.path)) draft.users.set(e.key, r.json(e.value));
  }
  const groups = resolve(r, draft, {
    countQueues: opts.netdevQueueCount ?? sysfsQueueCount,
    netdevs: (opts.netdevCheck ?? "off") === "error",
    cpus,
  });
  // The machine's memory last: only a configuration that is right otherwise is measured against it.
  if (r.errors.length === 0 && (opts.memoryCheck ?? "error") === "error") {
    const bufcntProp = def?.node.type === "object" ? def.node.children?.find((p) => p.children?.[0]?.value === "bufcnt") : undefined;
    const bufcntNode = bufcntProp?.children?.[1];
    checkMemory(r, draft, opts.readProc ?? readProc, bufcntNode ? { node: bufcntNode, path: [...(def?.path ?? ["defaults"]), "bufcnt"] } : undefined, root);
  }
  if (r.errors.length > 0) throw new ConfigError(byPosition(r.errors));

  const config: AppConfig = {
    application: draft.application,
    defaults: draft.defaults,
    umems: draft.umems,
    lports: new Map<string, Lport>([...draft.lports].map(([k, v]) => [k, v.value])),
    lcoreGroups: draft.lcoreGroups,
    options: draft.options,
    threads: new Map<string, Thread>([...draft.threads].map(([k, v]) => [k, v.value])),
    lportGroups: new Map(groups.map((g) => [g.name, g])),
    users: draft.users,
    sections,
    source: sourceMap(root, file, lines),
  };
  return { config, warnings: byPosition(r.warnings) };
}

/**
 * Reads and parses a jcfg file about to be run here: besides what parseConfig checks, every lport's
 * netdev must exist in this namespace with its qid in range (`netdevCheck` defaults to "error").
 * Messages name the file as given in `path`.
 *
 * @example
 * const { config, warnings } = loadConfig("examples/fwd.jsonc");
 */
export function loadConfig(path: string, opts: ParseOptions = {}): ParseResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`Cannot read configuration file '${path}': ${(e as Error).message}`, { cause: e });
  }
  return parseConfig(text, path, { netdevCheck: "error", ...opts });
}
