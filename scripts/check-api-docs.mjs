#!/usr/bin/env node
// After `typedoc` (npm run docs): every class and function of the public API (the package's `exports`
// entry points) has a doc comment with an @example. Reads docs/api/api.json; writes docs/api/.gitignore
// so the generated reference is never committed.
import { readFileSync, writeFileSync } from "node:fs";

const api = JSON.parse(readFileSync("docs/api/api.json", "utf8"));
writeFileSync("docs/api/.gitignore", "*\n");
const KIND_CLASS = 128, KIND_FUNCTION = 64, KIND_NAMESPACE = 4;
const missing = [];
const hasExample = (c) => (c?.blockTags ?? []).some((t) => t.tag === "@example");
function walk(node, path) {
  for (const ch of node.children ?? []) {
    const p = path ? `${path}/${ch.name}` : ch.name;
    if (ch.kind === KIND_NAMESPACE || ch.kind === 2 /* module */) { walk(ch, p); continue; }
    if (ch.kind !== KIND_CLASS && ch.kind !== KIND_FUNCTION) continue;
    const ok = hasExample(ch.comment) || (ch.signatures ?? []).some((s) => hasExample(s.comment));
    if (!ok) missing.push(p);
  }
}
walk(api, "");
if (missing.length > 0) {
  console.error(`exports without a doc comment with @example:\n  ${[...new Set(missing)].join("\n  ")}`);
  if (!process.argv.includes("--warn")) process.exit(1);
} else console.log("every exported class and function has a doc comment with an @example");
