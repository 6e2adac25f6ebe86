/**
 * Number ranges written as strings in jcfg files: CPU entries of `lcore-groups` ("15-16", "3") and queue
 * entries of `lport-groups` ("1-4", "8"). CNDP accepts one number or one `a-b` range per string, spaces
 * around the numbers allowed; CPU strings here also accept a comma list ("0-3,6"), an xdplane extension.
 */

/** The result of parsing a range string: the numbers, or why it is not a range. */
export type RangeResult = { ok: true; values: number[] } | { ok: false; reason: string };

const RANGE = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/;

/**
 * Parses "a-b" or "n" into the numbers it covers, each at most `max`.
 *
 * @example
 * parseRange("1-3", 65535); // { ok: true, values: [1, 2, 3] }
 * parseRange("3-1", 65535); // { ok: false, reason: "range '3-1' ends before it starts" }
 */
export function parseRange(text: string, max: number): RangeResult {
  const m = RANGE.exec(text);
  if (m === null) return { ok: false, reason: `'${text}' is not a number or a range 'a-b'` };
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo) return { ok: false, reason: `range '${text.trim()}' ends before it starts` };
  if (hi > max) return { ok: false, reason: `${hi} is more than ${max}` };
  const values: number[] = [];
  for (let v = lo; v <= hi; v++) values.push(v);
  return { ok: true, values };
}

/**
 * Parses a comma list of numbers and ranges ("0-3,6"); a single entry is the CNDP form.
 *
 * @example
 * parseRangeList("0-1, 4", 1023); // { ok: true, values: [0, 1, 4] }
 */
export function parseRangeList(text: string, max: number): RangeResult {
  const values: number[] = [];
  for (const part of text.split(",")) {
    const r = parseRange(part, max);
    if (!r.ok) return r;
    values.push(...r.values);
  }
  return { ok: true, values };
}

/**
 * Prints sorted numbers as a compact list, the inverse of parseRangeList.
 *
 * @example
 * formatRangeList([0, 1, 2, 3, 6]); // "0-3,6"
 */
export function formatRangeList(values: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < values.length) {
    const lo = values[i] as number;
    let hi = lo;
    while (values[i + 1] === hi + 1) hi = values[++i] as number;
    parts.push(lo === hi ? String(lo) : `${lo}-${hi}`);
    i++;
  }
  return parts.join(",");
}
