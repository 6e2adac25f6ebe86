#!/usr/bin/env node
// Runs every compiled test file (dist/src/**/*.test.js and dist/examples/**/*.test.js) with Node's test
// runner, or the folders given.
// Tests create namespaces and veths: they need root; without it they are skipped by their own checks.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["dist/src", "dist/examples"];
const files = [];
function walk(p) {
  if (!existsSync(p)) return;
  if (statSync(p).isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
  else if (p.endsWith(".test.js")) files.push(p);
}
roots.forEach(walk);
if (files.length === 0) {
  console.error(`no test files under ${roots.join(", ")}: run \`npm run build\` first`);
  process.exit(1);
}
const concurrency = process.env.XDPLANE_TEST_CONCURRENCY ?? "2";
const r = spawnSync(process.execPath, ["--test", `--test-concurrency=${concurrency}`, "--test-timeout=300000", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
