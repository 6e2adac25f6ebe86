/**
 * A small YAML reader for the manifests in deploy/ (tests only): block mappings and sequences, plain and
 * quoted scalars (booleans, null and numbers typed), `|`/`|-` block scalars, one-line flow sequences and
 * mappings (JSON, or plain items separated by commas), comments and `---` between documents. It throws on
 * anything else (anchors, tags, multi-line flow, ...), so the manifests stay within what it reads.
 *
 * @example
 * const [ds] = parseYamlDocs(readFileSync("deploy/daemonset.yaml", "utf8"));
 */

type Yaml = string | number | boolean | null | Yaml[] | { [k: string]: Yaml };

interface Line {
  indent: number;
  text: string;
  no: number;
}

function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === q) q = null;
    } else if (c === '"' || c === "'") {
      q = c;
    } else if (c === "#" && (i === 0 || s[i - 1] === " ")) {
      return s.slice(0, i).trimEnd();
    }
  }
  return s.trimEnd();
}

function scalar(raw: string, no: number): Yaml {
  const s = raw.trim();
  if (s === "" || s === "~" || s === "null") return null;
  if (s === "true") return true;
  if (s === "false") return false;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (s.startsWith('"')) return JSON.parse(s) as string;
  if (s.startsWith("'")) {
    if (!s.endsWith("'")) throw new SyntaxError(`line ${no}: unterminated quoted string`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith("[") || s.startsWith("{")) {
    try {
      return JSON.parse(s) as Yaml;
    } catch {
      if (s.startsWith("[") && s.endsWith("]")) {
        const inner = s.slice(1, -1).trim();
        return inner === "" ? [] : inner.split(",").map((x) => scalar(x, no));
      }
      throw new SyntaxError(`line ${no}: flow collection not read: ${s}`);
    }
  }
  if (/^[&*!|>]/.test(s)) throw new SyntaxError(`line ${no}: not read: ${s}`);
  return s;
}

class Reader {
  i = 0;
  constructor(readonly lines: Line[], readonly raw: string[]) {}

  block(indent: number): Yaml {
    const first = this.lines[this.i];
    if (!first || first.indent < indent) return null;
    return first.text.startsWith("- ") || first.text === "-" ? this.seq(first.indent) : this.map(first.indent);
  }

  seq(indent: number): Yaml[] {
    const out: Yaml[] = [];
    for (;;) {
      const l = this.lines[this.i];
      if (!l || l.indent !== indent || !(l.text.startsWith("- ") || l.text === "-")) return out;
      const rest = l.text === "-" ? "" : l.text.slice(2);
      if (rest.trim() === "") {
        this.i++;
        out.push(this.block(indent + 1));
      } else if (/^[^"'[{][^:]*:( |$)/.test(rest) || /^"[^"]*":( |$)/.test(rest)) {
        // "- key: value" opens a mapping whose keys sit at indent + 2.
        this.lines[this.i] = { indent: indent + 2, text: rest, no: l.no };
        out.push(this.map(indent + 2));
      } else {
        this.i++;
        out.push(scalar(rest, l.no));
      }
    }
  }

  map(indent: number): { [k: string]: Yaml } {
    const out: { [k: string]: Yaml } = {};
    for (;;) {
      const l = this.lines[this.i];
      if (!l || l.indent !== indent || l.text.startsWith("- ")) return out;
      const m = /^("[^"]*"|'[^']*'|[^:]+?):(?: (.*))?$/.exec(l.text);
      if (!m) throw new SyntaxError(`line ${l.no}: expected 'key: value', got '${l.text}'`);
      const key = scalar(m[1]!, l.no) as string;
      const value = (m[2] ?? "").trim();
      this.i++;
      if (value === "|" || value === "|-") {
        out[key] = this.blockScalar(l, value === "|-");
      } else if (value === "") {
        const next = this.lines[this.i];
        // A sequence may sit at the key's own indent ("key:\n- a").
        out[key] = next && (next.indent > indent || (next.indent === indent && next.text.startsWith("- "))) ? this.block(next.indent) : null;
      } else {
        out[key] = scalar(value, l.no);
      }
    }
  }

  blockScalar(head: Line, strip: boolean): string {
    const body: string[] = [];
    let min = Infinity;
    let last = head.no;
    while (this.lines[this.i] && this.lines[this.i]!.indent > head.indent) {
      last = this.lines[this.i]!.no;
      this.i++;
    }
    for (let n = head.no + 1; n <= last; n++) {
      const r = this.raw[n - 1]!;
      if (r.trim() !== "") min = Math.min(min, r.length - r.trimStart().length);
      body.push(r);
    }
    const text = body.map((r) => r.slice(Math.min(min, r.length))).join("\n");
    return strip ? text.replace(/\n+$/, "") : `${text.replace(/\n+$/, "")}\n`;
  }
}

/** The documents of a YAML stream. */
export function parseYamlDocs(text: string): Yaml[] {
  const raw = text.split("\n");
  const docs: Line[][] = [[]];
  raw.forEach((r, idx) => {
    if (/^---\s*$/.test(r)) {
      docs.push([]);
      return;
    }
    if (r.includes("\t") && r.trimStart() !== r.replace(/^\t+/, "")) throw new SyntaxError(`line ${idx + 1}: tab in indentation`);
    const t = r.trim();
    if (t === "" || t.startsWith("#")) return;
    docs[docs.length - 1]!.push({ indent: r.length - r.trimStart().length, text: stripComment(r.trimStart()), no: idx + 1 });
  });
  return docs.filter((d) => d.length > 0).map((lines) => {
    const rd = new Reader(lines, raw);
    const v = rd.block(lines[0]!.indent);
    if (rd.i < lines.length) throw new SyntaxError(`line ${lines[rd.i]!.no}: not read: '${lines[rd.i]!.text}'`);
    return v;
  });
}

export type { Yaml };
