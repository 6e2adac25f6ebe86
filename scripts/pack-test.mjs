#!/usr/bin/env node
// The package as a user gets it: `npm pack`, install the tarball into a new empty project (its install
// script builds the native shim), import "xdplane" and every subpath export, compile a user's file against
// the shipped types with `tsc --strict`, and run it. Needs no root: the program uses net_null ports.
// Usage: node scripts/pack-test.mjs [--keep]   (run `npm run build` first; CI runs it after `npm test`)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);
const keep = process.argv.includes("--keep");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const run = (cmd, args, cwd, env = {}) => {
  process.stderr.write(`$ ${cmd} ${args.join(" ")}   (in ${cwd})\n`);
  return execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
};

const work = mkdtempSync(join(tmpdir(), "xdplane-pack-"));
let ok = false;
try {
  if (!existsSync(join(root, "dist/src/index.js"))) throw new Error("dist/src/index.js is missing: run `npm run build` first");
  const packOut = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], root));
  const tarball = join(work, packOut[0].filename);
  const files = packOut[0].files.map((f) => f.path);
  const tests = files.filter((f) => /\.test\.(js|d\.ts)$/.test(f) || f.startsWith("dist/bench/"));
  if (tests.length > 0) throw new Error(`the package ships tests or benchmarks: ${tests.slice(0, 5).join(", ")}${tests.length > 5 ? ", ..." : ""}`);
  process.stderr.write(`package: ${packOut[0].filename}, ${files.length} files, ${(packOut[0].size / 1024).toFixed(0)} KiB\n`);

  const app = join(work, "my-cnf");
  run("mkdir", ["-p", app], work);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "my-cnf", version: "1.0.0", type: "module", private: true }, null, 2));
  run("npm", ["install", "--no-audit", "--no-fund", tarball], app);

  // Every export resolves and loads.
  const subpaths = Object.keys(pkg.exports ?? { ".": "" }).filter((p) => !p.endsWith(".json"));
  const specs = subpaths.map((p) => (p === "." ? "xdplane" : `xdplane/${p.replace(/^\.\//, "")}`));
  writeFileSync(join(app, "imports.mjs"), `${specs.map((s, i) => `import * as m${i} from ${JSON.stringify(s)};`).join("\n")}
const mods = { ${specs.map((s, i) => `${JSON.stringify(s)}: m${i}`).join(", ")} };
for (const [name, m] of Object.entries(mods)) if (Object.keys(m).length === 0) throw new Error(name + " exports nothing");
console.log("imports ok: " + Object.keys(mods).join(", "));
`);
  process.stdout.write(run(process.execPath, ["imports.mjs"], app));

  // A user's program in TypeScript, compiled with --strict against the shipped types, then run.
  writeFileSync(join(app, "main.ts"), `import { Umem, Mempool } from "xdplane/mem";
import { NullPort } from "xdplane/pktdev";
import { Ring } from "xdplane/ring";

const umem = Umem.create({ frames: 1024 });
const pool = Mempool.create({ umem });
const port = NullPort.create({ name: "null0", pid: 0, mempool: pool });
const ring = Ring.create({ size: 256 });
const burst = new Uint32Array(32);
let moved = 0;
for (let i = 0; i < 1000; i++) {
  const n = port.rxBurst(burst, 32);
  const k = ring.enqueueBurst(burst, n);
  const m = ring.dequeueBurst(burst, k);
  moved += port.txBurst(burst, m);
}
port.close();
const free = pool.available();
umem.close();
if (moved !== 32000 || free !== 1024) throw new Error(\`moved \${moved}, \${free} frames free\`);
console.log(\`my-cnf: moved \${moved} packets, every frame back (\${free})\`);
`);
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, skipLibCheck: false, types: ["node"], outDir: "out" },
    files: ["main.ts"],
  }, null, 2));
  run("npm", ["install", "--no-audit", "--no-fund", "--save-dev", `typescript@${pkg.devDependencies.typescript}`, `@types/node@${pkg.devDependencies["@types/node"]}`], app);
  run(join(app, "node_modules/.bin/tsc"), ["-p", "."], app);
  process.stdout.write(run(process.execPath, ["out/main.js"], app));
  ok = true;
  process.stdout.write("pack test: ok\n");
} finally {
  if (keep || !ok) process.stderr.write(`work folder: ${work}${ok ? "" : " (kept: the test failed)"}\n`);
  else rmSync(work, { recursive: true, force: true });
}
