#!/usr/bin/env node
// The package as a user gets it: `npm pack`, install the tarball into a new empty project (its install
// script builds the native shim), import "xdplane" and every subpath export, compile a user's file against
// the shipped types with `tsc --strict`, and run it. Needs no root: the program uses net_null ports.
// Usage: node scripts/pack-test.mjs [--keep]   (run `npm run build` first; CI runs it after `npm test`)
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync, mkdirSync, copyFileSync } from "node:fs";
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
  if (process.getuid?.() === 0) await runExample(app);
  else process.stderr.write("not root: the udp-echo example was not run from the installed package (it needs a veth)\n");
  ok = true;
  process.stdout.write("pack test: ok\n");
} finally {
  if (keep || !ok) process.stderr.write(`work folder: ${work}${ok ? "" : " (kept: the test failed)"}\n`);
  else rmSync(work, { recursive: true, force: true });
}

/**
 * examples/udp-echo, copied into the user's project, compiled against the installed package and run on a
 * veth pair: a UDP frame sent from the peer comes back with its ports swapped; SIGTERM gives a clean stop
 * report. Everything made here is removed.
 */
async function runExample(app) {
  const src = join(root, "examples/udp-echo");
  const dst = join(app, "udp-echo");
  mkdirSync(dst, { recursive: true });
  for (const f of ["main.ts", "worker.ts"]) copyFileSync(join(src, f), join(dst, f));
  writeFileSync(join(app, "tsconfig.example.json"), JSON.stringify({
    compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: ["node"], outDir: "out-example", skipLibCheck: true },
    include: ["udp-echo/*.ts"],
  }));
  run(join(app, "node_modules/.bin/tsc"), ["-p", "tsconfig.example.json"], app);
  const id = `pk${process.pid % 100000}`;
  const ns = `${id}ns`, a = `${id}a`, b = `${id}b`;
  const ip = (...args) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
  let child = null;
  try {
    ip("netns", "add", ns);
    ip("link", "add", a, "type", "veth", "peer", "name", b);
    ip("link", "set", b, "netns", ns);
    execFileSync("sysctl", ["-qw", `net.ipv6.conf.${a}.disable_ipv6=1`]);
    ip("link", "set", a, "up");
    ip("netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${b}.disable_ipv6=1`);
    ip("netns", "exec", ns, "ip", "link", "set", b, "up");
    const cfg = readFileSync(join(src, "echo.jsonc"), "utf8").replaceAll("eth0:0", `${a}:0`).replace(/"group0": \[\d+\]/, '"group0": [0]');
    writeFileSync(join(app, "echo.jsonc"), cfg);
    child = spawn(process.execPath, [join(app, "out-example/main.js"), "-c", join(app, "echo.jsonc"), "--socket-dir", app, "--debug-frames"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const until = async (cond, what, ms = 10000) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`udp-echo from the package: ${what} (stdout: ${out}; stderr: ${err})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(() => out.includes('"ready"'), "not ready");
    const { PacketSocket, udpFrame } = await import(join(root, "dist/src/testing/packet-socket.js"));
    const macA = JSON.parse(ip("-j", "link", "show", a).toString())[0].address;
    const ps = PacketSocket.open(b, ns);
    let back = 0;
    try {
      const sent = Array.from({ length: 20 }, (_, i) => udpFrame({ dst: macA, src: "02:00:00:00:00:0b", seq: i, sport: 1000 + i, dport: 7 }));
      for (const f of sent) ps.send(f);
      const end = Date.now() + 5000;
      while (back < sent.length && Date.now() < end) {
        let f;
        while ((f = ps.recv()) !== null) {
          if (f.length < 42 || f[0] !== 2 || f[5] !== 0x0b) continue;
          const sport = (f[34] << 8) | f[35], dport = (f[36] << 8) | f[37];
          if (sport !== 7 || dport < 1000 || dport >= 1020) throw new Error(`udp-echo from the package: ports ${sport} -> ${dport} not swapped`);
          back++;
        }
        ps.wait(20);
      }
    } finally {
      ps.close();
    }
    if (back !== 20) throw new Error(`udp-echo from the package: ${back} of 20 frames came back`);
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const code = await exited;
    const stopped = out.split("\n").find((l) => l.includes('"stopped"'));
    const report = stopped ? JSON.parse(stopped).stopped : null;
    if (code !== 0 || report === null || report.faults.length !== 0 || report.leakedFrames !== 0) {
      throw new Error(`udp-echo from the package: exit ${code}, report ${stopped} (stderr: ${err})`);
    }
    process.stdout.write(`udp-echo from the installed package: 20 of 20 frames echoed, clean stop report\n`);
  } finally {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    try { ip("link", "del", a); } catch { /* gone with the namespace */ }
    try { ip("netns", "del", ns); } catch { /* not made */ }
  }
}
