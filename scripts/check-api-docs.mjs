#!/usr/bin/env node
// After `typedoc` (npm run docs): every class and function of the public API (the package's `exports`
// entry points) has a doc comment with an @example, and every exported constant has a doc comment (TypeDoc
// shows the declaration's own comment; a re-export's comment only when the declaration has none). Reads
// docs/api/api.json; writes docs/api/.gitignore so the generated reference is never committed.
// `npm run check:examples` (scripts/check-examples.mjs) then type-checks the @examples.
import { readFileSync, writeFileSync } from "node:fs";

const api = JSON.parse(readFileSync("docs/api/api.json", "utf8"));
writeFileSync("docs/api/.gitignore", "*\n");
const KIND_CLASS = 128, KIND_FUNCTION = 64, KIND_NAMESPACE = 4, KIND_VARIABLE = 32;
const missing = [];
const undocumented = [];
const hasText = (c) => (c?.summary ?? []).some((p) => p.text.trim() !== "") || (c?.blockTags ?? []).length > 0;
const hasExample = (c) => (c?.blockTags ?? []).some((t) => t.tag === "@example");
function walk(node, path) {
  for (const ch of node.children ?? []) {
    const p = path ? `${path}/${ch.name}` : ch.name;
    if (ch.kind === KIND_NAMESPACE || ch.kind === 2 /* module */) { walk(ch, p); continue; }
    if (ch.kind === KIND_VARIABLE && !hasText(ch.comment)) undocumented.push(p);
    if (ch.kind !== KIND_CLASS && ch.kind !== KIND_FUNCTION) continue;
    const ok = hasExample(ch.comment) || (ch.signatures ?? []).some((s) => hasExample(s.comment));
    if (!ok) missing.push(p);
  }
}
walk(api, "");
if (missing.length > 0) console.error(`exports without a doc comment with @example:\n  ${[...new Set(missing)].join("\n  ")}`);
if (undocumented.length > 0) console.error(`exported constants without a doc comment:\n  ${[...new Set(undocumented)].join("\n  ")}`);
if (missing.length > 0 || undocumented.length > 0) {
  if (!process.argv.includes("--warn")) process.exit(1);
} else console.log("every exported class and function has a doc comment with an @example, every constant a doc comment");
