/**
 * Where things are in a configuration file: offsets to 1-based line:column, and key paths printed the
 * way a reader finds them (`lports."eth0:0".qid`, `threads."fwd:0".lports[1]`).
 */

/** A key path into the JSON tree: object keys and array indices, from the root. */
export type KeyPath = readonly (string | number)[];

/** A position in a file: 1-based line and column (columns count UTF-16 code units, tabs as 1). */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A position in a named file. */
export interface SourceLocation extends Position {
  readonly file: string;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Prints a key path: plain keys joined by dots, other keys quoted, indices in brackets.
 *
 * @example
 * formatPath(["lports", "eth0:0", "qid"]); // 'lports."eth0:0".qid'
 * formatPath(["threads", "fwd:0", "lports", 1]); // 'threads."fwd:0".lports[1]'
 */
export function formatPath(path: KeyPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const s = PLAIN_KEY.test(seg) ? seg : JSON.stringify(seg);
      out += out === "" ? s : `.${s}`;
    }
  }
  return out;
}

/** Maps string offsets to line and column. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
  }

  /** The 1-based line and column of a 0-based offset. */
  position(offset: number): Position {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (this.starts[lo] as number) + 1 };
  }
}
