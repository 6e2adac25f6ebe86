/**
 * Typed reads from a jsonc-parser tree that record errors and warnings with file:line:column and the
 * key path, instead of throwing at the first one: the parser reports every problem of a file at once.
 */
import { getNodeValue, type Node } from "jsonc-parser";
import { diagnostic, type ConfigDiagnostic } from "./errors.js";
import { formatPath, type KeyPath, type LineIndex, type SourceLocation } from "./source.js";
import type { JsonValue } from "./types.js";

/** One `"key": value` of an object node. */
export interface Entry {
  readonly key: string;
  readonly keyNode: Node;
  readonly value: Node;
  readonly path: KeyPath;
}

/** Integer bounds and an optional hint added to range errors. */
export interface IntRule {
  readonly min: number;
  readonly max: number;
  readonly hint?: string;
}

/** A short description of a value for "got ..." in messages. */
export function describe(node: Node): string {
  switch (node.type) {
    case "object":
      return "an object";
    case "array":
      return "an array";
    case "null":
      return "null";
    case "string": {
      const s = JSON.stringify(node.value as string);
      return s.length > 42 ? `${s.slice(0, 40)}..."` : s;
    }
    default:
      return String(node.value);
  }
}

/** Edit distance, for "did you mean" suggestions on unknown keys. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** The closest known key within a small edit distance, if any. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : distance(key, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** Collects diagnostics while reading typed values out of the tree. */
export class Reader {
  readonly errors: ConfigDiagnostic[] = [];
  readonly warnings: ConfigDiagnostic[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineIndex,
  ) {}

  /** The location of a node or an offset. */
  loc(at: Node | number): SourceLocation {
    const p = this.lines.position(typeof at === "number" ? at : at.offset);
    return { file: this.file, line: p.line, column: p.column };
  }

  /** "file:line:column" of a node, for messages that point elsewhere ("first defined at ..."). */
  where(at: Node | number): string {
    const l = this.loc(at);
    return `${l.file}:${l.line}:${l.column}`;
  }

  error(at: Node | number, path: KeyPath, message: string): void {
    this.errors.push(diagnostic(this.loc(at), formatPath(path), message));
  }

  warn(at: Node | number, path: KeyPath, message: string): void {
    this.warnings.push(diagnostic(this.loc(at), formatPath(path), message));
  }

  /** Warns about a key the section does not define, suggesting a close known one. */
  unknownKey(e: Entry, known: readonly string[], fate = "ignored"): void {
    const s = suggest(e.key, known);
    this.warn(e.keyNode, e.path, `unknown key ${JSON.stringify(e.key)} (${fate})${s ? `; did you mean ${JSON.stringify(s)}?` : ""}`);
  }

  /** Checks that a node is an object; reports "expected an object" otherwise. */
  isObject(node: Node, path: KeyPath, what = "an object"): boolean {
    if (node.type === "object") return true;
    this.error(node, path, `expected ${what}, got ${describe(node)}`);
    return false;
  }

  /** The properties of an object node in file order; a repeated key is an error (JSON-C keeps the last). */
  entries(obj: Node, path: KeyPath): Entry[] {
    const out: Entry[] = [];
    const seen = new Map<string, Node>();
    for (const prop of obj.children ?? []) {
      const keyNode = prop.children?.[0];
      const value = prop.children?.[1];
      if (keyNode === undefined || value === undefined) continue;
      const key = keyNode.value as string;
      const first = seen.get(key);
      if (first !== undefined) {
        this.error(keyNode, [...path, key], `duplicate key ${JSON.stringify(key)} (first at ${this.where(first)})`);
        continue;
      }
      seen.set(key, keyNode);
      out.push({ key, keyNode, value, path: [...path, key] });
    }
    return out;
  }

  /**
   * An integer within bounds. A number in quotes ("11") is read as CNDP's json_object_get_int does,
   * with a warning.
   */
  int(node: Node, path: KeyPath, rule: IntRule): number | undefined {
    let v: number;
    if (node.type === "number") v = node.value as number;
    else if (node.type === "string" && /^\s*-?\d+\s*$/.test(node.value as string)) {
      v = Number(node.value as string);
      this.warn(node, path, `a number in quotes; read as ${v}`);
    } else {
      this.error(node, path, `expected a number, got ${describe(node)}`);
      return undefined;
    }
    if (!Number.isInteger(v)) {
      this.error(node, path, `expected an integer, got ${v}`);
      return undefined;
    }
    if (v < rule.min || v > rule.max) {
      this.error(node, path, `must be between ${rule.min} and ${rule.max}, got ${v}${rule.hint ? ` (${rule.hint})` : ""}`);
      return undefined;
    }
    return v;
  }

  /** true or false (0 and 1 are read as CNDP does, with a warning; strings are errors). */
  bool(node: Node, path: KeyPath): boolean | undefined {
    if (node.type === "boolean") return node.value as boolean;
    if (node.type === "number" && (node.value === 0 || node.value === 1)) {
      this.warn(node, path, `a number used as a boolean; read as ${node.value === 1}`);
      return node.value === 1;
    }
    this.error(node, path, `expected true or false, got ${describe(node)}`);
    return undefined;
  }

  /** A string; `nonEmpty` rejects "". */
  string(node: Node, path: KeyPath, nonEmpty = false): string | undefined {
    if (node.type !== "string") {
      this.error(node, path, `expected a string, got ${describe(node)}`);
      return undefined;
    }
    const s = node.value as string;
    if (nonEmpty && s.length === 0) {
      this.error(node, path, "must not be empty");
      return undefined;
    }
    return s;
  }

  /** An array of non-empty strings, each with its node and path. */
  strings(node: Node, path: KeyPath): { value: string; node: Node; path: KeyPath }[] | undefined {
    if (node.type !== "array") {
      this.error(node, path, `expected an array of strings, got ${describe(node)}`);
      return undefined;
    }
    const out: { value: string; node: Node; path: KeyPath }[] = [];
    let ok = true;
    (node.children ?? []).forEach((el, i) => {
      const p = [...path, i];
      const s = this.string(el, p, true);
      if (s === undefined) ok = false;
      else out.push({ value: s, node: el, path: p });
    });
    return ok ? out : undefined;
  }

  /** The plain JSON value of a node (ordinary objects, "__proto__" kept as an own key as JSON.parse does). */
  json(node: Node): JsonValue {
    return JSON.parse(JSON.stringify(getNodeValue(node))) as JsonValue;
  }
}
