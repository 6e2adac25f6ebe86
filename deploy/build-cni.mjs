#!/usr/bin/env node
// Builds the afxdp CNI as one self-contained executable (Node's single-executable application), because
// Kubernetes nodes have no Node.js: the DaemonSet copies it to /opt/cni/bin/afxdp.
//
//   npm run build:cni                      (= npm run build && node deploy/build-cni.mjs)
//   node deploy/build-cni.mjs [--out build/cni/afxdp] [--no-strip] [--no-code-cache]
//
// Steps: esbuild bundles dist/src/k8s/cni/sea-main.js into one CommonJS script, with src/sys/native.js
// replaced by src/k8s/cni/sea-native.js (the shim comes from an embedded asset); node
// --experimental-sea-config makes the blob with build/Release/xdplane_shim.node as asset
// "xdplane_shim.node"; a copy of this node binary (stripped of debug info when `strip` is there) gets the
// blob injected by postject. The executable runs only on the Node version and architecture it was built
// with, and needs the host's glibc and libstdc++ as that node binary does.
//
// Tools: esbuild and postject from the project's devDependencies, or from the node_modules folder named
// by XDPLANE_SEA_TOOLS (e.g. after `npm install --prefix /tmp/seatools esbuild postject`).
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
export const SHIM = join(root, "build", "Release", "xdplane_shim.node");
export const ENTRY = join(root, "dist", "src", "k8s", "cni", "sea-main.js");
const SEA_NATIVE = join(root, "dist", "src", "k8s", "cni", "sea-native.js");

/** Loads a build tool from the project or from XDPLANE_SEA_TOOLS; null when absent. */
export async function loadTool(name) {
  const bases = [join(root, "package.json")];
  const extra = process.env.XDPLANE_SEA_TOOLS;
  if (extra) bases.push(join(extra.endsWith("node_modules") ? dirname(extra) : extra, "package.json"));
  for (const base of bases) {
    try {
      const path = createRequire(base).resolve(name);
      return await import(pathToFileURL(path).href);
    } catch {
      // not there
    }
  }
  return null;
}

function parseArgs(argv) {
  const o = { out: join(root, "build", "cni", "afxdp"), strip: true, codeCache: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--out") o.out = resolve(argv[++i] ?? "");
    else if (a === "--no-strip") o.strip = false;
    else if (a === "--no-code-cache") o.codeCache = false;
    else if (a === "-h" || a === "--help") o.help = true;
    else throw new Error(`Unknown option '${a}'`);
  }
  return o;
}

function step(what, fn) {
  const t0 = performance.now();
  const r = fn();
  process.stderr.write(`build-cni: ${what} (${Math.round(performance.now() - t0)} ms)\n`);
  return r;
}

export async function build(opts) {
  for (const [f, how] of [[ENTRY, "npm run build"], [SHIM, "npm install (node-gyp builds the shim)"]]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run ${how} first`);
  }
  const esbuild = await loadTool("esbuild");
  const postject = await loadTool("postject");
  const missing = [!esbuild && "esbuild", !postject && "postject"].filter(Boolean);
  if (missing.length > 0) {
    throw new Error(`Missing build tools: ${missing.join(", ")} (devDependencies, or XDPLANE_SEA_TOOLS=<folder with node_modules>)`);
  }
  const work = mkdtempSync(join(tmpdir(), "xdplane-sea-"));
  try {
    const bundle = join(work, "afxdp.cjs");
    // 1. One CommonJS script; the shim loader swapped for the one reading the embedded asset.
    const redirect = {
      name: "sea-native",
      setup(b) {
        b.onResolve({ filter: /(^|\/)native\.js$/ }, (args) => {
          const target = resolve(args.resolveDir, args.path);
          return target === join(root, "dist", "src", "sys", "native.js") ? { path: SEA_NATIVE } : undefined;
        });
      },
    };
    const result = await step("bundle (esbuild)", () => esbuild.build({
      entryPoints: [ENTRY], bundle: true, platform: "node", format: "cjs", target: `node${process.versions.node.split(".")[0]}`,
      outfile: bundle, minify: true, legalComments: "none", logLevel: "silent", plugins: [redirect], metafile: true,
    }));
    const inputs = Object.keys((await result).metafile.inputs);
    if (inputs.some((p) => p.endsWith("sys/native.js")) || !inputs.some((p) => p.endsWith("sea-native.js"))) {
      throw new Error("the bundle still loads src/sys/native.js instead of the embedded shim");
    }
    // 2. The blob, with the shim as an asset.
    const blob = join(work, "sea-prep.blob");
    const seaConfig = join(work, "sea-config.json");
    writeFileSync(seaConfig, JSON.stringify({
      main: bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: opts.codeCache,
      assets: { "xdplane_shim.node": SHIM },
    }));
    step("blob (node --experimental-sea-config)", () => {
      const r = spawnSync(process.execPath, ["--experimental-sea-config", seaConfig], { encoding: "utf8", cwd: work });
      if (r.status !== 0) throw new Error(`node --experimental-sea-config failed: ${r.stderr || r.stdout}`);
    });
    // 3. A copy of this node, stripped, with the blob injected.
    mkdirSync(dirname(opts.out), { recursive: true });
    const tmpOut = `${opts.out}.tmp`;
    rmSync(tmpOut, { force: true });
    copyFileSync(process.execPath, tmpOut);
    chmodSync(tmpOut, 0o755);
    if (opts.strip) {
      step("strip", () => {
        const r = spawnSync("strip", ["--strip-all", tmpOut], { encoding: "utf8" });
        if (r.error) process.stderr.write("build-cni: strip not found; the executable keeps node's symbols and debug info\n");
        else if (r.status !== 0) throw new Error(`strip failed: ${r.stderr}`);
      });
    }
    const inject = postject.inject ?? postject.default?.inject;
    const t0 = performance.now();
    await inject(tmpOut, "NODE_SEA_BLOB", readFileSync(blob), { sentinelFuse: SEA_FUSE });
    process.stderr.write(`build-cni: inject (postject) (${Math.round(performance.now() - t0)} ms)\n`);
    rmSync(opts.out, { force: true });
    spawnSync("mv", ["-f", tmpOut, opts.out]);
    return { out: opts.out, bytes: statSync(opts.out).size, bundleBytes: statSync(bundle).size };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`build-cni: ${e.message}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write("Usage: node deploy/build-cni.mjs [--out <file>] [--no-strip] [--no-code-cache]\n");
    process.exit(0);
  }
  build(opts).then(
    (r) => process.stdout.write(`${r.out}: ${(r.bytes / 1048576).toFixed(1)} MiB (bundle ${(r.bundleBytes / 1024).toFixed(0)} KiB)\n`),
    (e) => {
      process.stderr.write(`build-cni: ${e.message}\n`);
      process.exit(1);
    },
  );
}
