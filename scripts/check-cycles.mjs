#!/usr/bin/env node
// Fails when the TypeScript sources have an import cycle, or a lower layer imports an upper one
// (DEVELOPERS.md: layering). Reads src/**/*.ts as text; relative imports only.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, dirname, resolve, relative } from "node:path";

const root = resolve("src");
const files = [];
(function walk(d) {
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) files.push(p);
  }
})(root);

const graph = new Map();
const re = /^\s*(?:import|export)\s[^'"]*?from\s+["'](\.[^"']+)["']|^\s*import\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/gm;
for (const f of files) {
  const src = readFileSync(f, "utf8");
  const deps = new Set();
  for (const m of src.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec) continue;
    const line = src.slice(0, m.index).split("\n").length;
    const before = src.slice(src.lastIndexOf("\n", m.index) + 1, m.index + m[0].length);
    if (/^\s*import\s+type\s/.test(before) || /^\s*export\s+type\s/.test(before)) continue;
    deps.add(resolve(dirname(f), spec.replace(/\.js$/, ".ts")));
    void line;
  }
  graph.set(f, [...deps].filter((d) => graph.has(d) || files.includes(d)));
}

// Layers: a folder may import only folders of a lower or equal rank (tests and testing/ are exempt).
// testing/ (test doubles and fixtures) is for tests only: no product module may import it.
const rank = { sys: 0, wire: 0, bpf: 1, netlink: 1, mem: 2, ring: 2, uds: 2, xsk: 3, lookup: 3, pktdev: 4, graph: 5, cnet: 6,
  config: 6, runtime: 6, telemetry: 7, k8s: 7, cnf: 8, apps: 9, cli: 10 };
const layer = (f) => relative(root, f).split("/")[0];
const problems = [];
for (const [f, deps] of graph) {
  if (f.endsWith(".test.ts") || layer(f) === "testing") continue;
  for (const d of deps) {
    if (layer(d) === "testing") {
      problems.push(`layering: ${relative(root, f)} imports ${relative(root, d)} (testing/ is for tests only)`);
      continue;
    }
    const a = rank[layer(f)], b = rank[layer(d)];
    if (a !== undefined && b !== undefined && b > a) problems.push(`layering: ${relative(root, f)} imports ${relative(root, d)} (${layer(d)} is above ${layer(f)})`);
  }
}
const state = new Map();
const stack = [];
function visit(f) {
  state.set(f, 1);
  stack.push(f);
  for (const d of graph.get(f) ?? []) {
    if (state.get(d) === 1) problems.push(`cycle: ${stack.slice(stack.indexOf(d)).concat(d).map((p) => relative(root, p)).join(" -> ")}`);
    else if (!state.has(d)) visit(d);
  }
  stack.pop();
  state.set(f, 2);
}
for (const f of graph.keys()) if (!state.has(f)) visit(f);
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`no import cycles or layering violations in ${files.length} files`);
