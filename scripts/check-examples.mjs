#!/usr/bin/env node
// Type-checks every @example of the public API (npm run check:examples, which builds and runs typedoc
// first). The examples come from:
//   - docs/api/api.json: every reflection TypeDoc publishes (declarations, members, signatures), and
//   - the sources: every @example in src/index.ts and in the public libraries (src/<lib>/**, tests aside),
//     since TypeDoc drops a re-export's comment when the declaration has its own, and file comments.
// Each example becomes a module in dist/check-examples/ that imports the package names it uses (from the
// entry point it documents, then "xdplane", then the one other entry point exporting the name; package
// self-reference resolves "xdplane/<lib>" to dist/src/<lib>/index.d.ts). A name only the example's own
// source file exports (a file comment showing internal helpers) is imported from that file in dist/src.
// tsc --noEmit then checks them all with the project's strict options. An example may use, undeclared,
// the context names of GLOSSARY below (a burst `bufs`, a `port`, a `mempool`, ...); anything else it must
// declare or import. Code fences other than ts/js (sh, jsonc, ...) are not checked.
// Usage: node scripts/check-examples.mjs [--keep]   (--keep leaves dist/check-examples/ for a look)
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, rmSync, existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);
const out = join(root, "dist/check-examples");
const keep = process.argv.includes("--keep");

// Context names an example may use undeclared: `name: type` (types are written against the package).
const GLOSSARY = {
  bufs: "Uint32Array", // a burst of frame handles
  n: "number", // handles in `bufs`
  h: "number", // one frame handle
  off: "number", // a frame's byte offset in umem.u8
  port: 'import("xdplane/pktdev").Lport',
  ports: 'import("xdplane/pktdev").Lport[]',
  shared: 'import("xdplane/pktdev").LportShared', // a port's shared form, in a worker
  mempool: 'import("xdplane/mem").Mempool',
  pool: 'import("xdplane/mem").Mempool',
  pools: 'Map<string, import("xdplane/mem").Mempool>',
  umem: 'import("xdplane/mem").Umem',
  xsk: 'import("xdplane/xsk").XskSocket',
  xskFd: "number", // an AF_XDP socket's fd
  mapFd: "number", // an XSKMAP's fd (from the device plugin or a pin)
  queueId: "number",
  prog: 'import("xdplane/bpf").Program',
  map: 'import("xdplane/bpf").BpfMap',
  insns: "Uint8Array", // assembled instructions
  frame: "Uint8Array", // an Ethernet frame
  text: "string", // a config file's text
  path: "string",
  config: 'import("xdplane/config").AppConfig',
  threads: 'import("xdplane/runtime").RunningThread[]',
  thread: 'import("xdplane/runtime").RunningThread',
  control: 'import("xdplane/runtime").ThreadControl', // a worker's control words
  model: 'import("xdplane/telemetry").AppModel',
  client: 'import("xdplane/telemetry").AppClient', // connected to an app socket
  // cnet (the user-space stack): a worker's stack and its pieces, as the node and channel examples use them
  stack: 'import("xdplane/cnet").CnetStack',
  ctx: 'import("xdplane/cnet").StackCtx', // the stack's shared state (nodes)
  x: 'import("xdplane/cnet").Ip6Ctx', // the IPv6 part of it
  io: 'import("xdplane/cnet").ChainIo', // byte access across an mbuf chain
  engine: 'import("xdplane/cnet").TcpEngine',
  chnl: 'import("xdplane/cnet").Chnl',
  cd: "number", // a channel id
  feed: 'import("xdplane/cnet").NeighbourFeed',
  bytes: "Uint8Array", // data to send
};

const api = JSON.parse(readFileSync(join(root, "docs/api/api.json"), "utf8"));
const entryOf = (moduleName) => (moduleName === "index" ? "xdplane" : `xdplane/${moduleName}`);

// Exported names of each entry point (namespaces of the root module are not auto-imported: `config` is
// more often the glossary's AppConfig than the namespace).
const exportsOf = new Map();
for (const m of api.children ?? []) {
  const libs = new Set((api.children ?? []).map((l) => l.name));
  exportsOf.set(entryOf(m.name), new Set((m.children ?? []).filter((c) => !(m.name === "index" && libs.has(c.name))).map((c) => c.name)));
}
for (const n of Object.keys(GLOSSARY)) {
  for (const [e, names] of exportsOf) if (names.has(n)) throw new Error(`glossary name ${n} is also an export of ${e}`);
}

const examples = []; // { where, entry, code }
const seen = new Set();
function addExample(where, entry, content, file) {
  const blocks = [];
  const fences = [...content.matchAll(/```([\w-]*)[^\n]*\n([\s\S]*?)```/g)];
  if (fences.length === 0) blocks.push(content);
  for (const f of fences) if (["", "ts", "js", "typescript", "javascript", "mts", "mjs"].includes(f[1].toLowerCase())) blocks.push(f[2]);
  for (const code of blocks) {
    const key = `${entry}\0${code.trim()}`;
    if (code.trim() === "" || seen.has(key)) continue;
    seen.add(key);
    examples.push({ where, entry, file, code: code.replace(/\s+$/, "") + "\n" });
  }
}

// 1. api.json
function walk(node, path, entry) {
  const comments = [node.comment, ...(node.signatures ?? []).map((s) => s.comment)];
  if (node.getSignature) comments.push(node.getSignature.comment);
  if (node.setSignature) comments.push(node.setSignature.comment);
  for (const c of comments) {
    for (const t of c?.blockTags ?? []) {
      if (t.tag !== "@example") continue;
      addExample(`${path} (${node.sources?.[0]?.fileName ?? "?"}:${node.sources?.[0]?.line ?? "?"})`, entry, t.content.map((p) => p.text).join(""));
    }
  }
  for (const ch of node.children ?? []) walk(ch, `${path}.${ch.name}`, entry);
  for (const ch of node.type?.declaration?.children ?? []) walk(ch, `${path}.${ch.name}`, entry);
}
for (const m of api.children ?? []) walk(m, entryOf(m.name), entryOf(m.name));

// 2. sources: every @example in the public libraries' files (src/index.ts, src/<lib>/**/*.ts but tests),
// with the entry point of its folder; names the file itself exports are imported from it (relative path
// into dist/src), so a file comment may show the file's own helpers.
function sourceExamples(file, entry) {
  const src = readFileSync(join(root, file), "utf8");
  for (const m of src.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const body = m[1].split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join("\n");
    const line = src.slice(0, m.index).split("\n").length;
    for (const ex of body.matchAll(/(?:^|\n)@example[^\n]*\n([\s\S]*?)(?=\n@\w|$)/g)) addExample(`${file}:${line}`, entry, ex[1], file);
  }
}
const libFiles = (dir) => readdirSync(join(root, dir), { recursive: true }).map((f) => join(dir, String(f)))
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.endsWith(".test.ts")).sort();
sourceExamples("src/index.ts", "xdplane");
for (const m of api.children ?? []) if (m.name !== "index") for (const f of libFiles(`src/${m.name}`)) sourceExamples(f, entryOf(m.name));

// Names a source file exports (from its declaration file in dist/src).
const fileExportsCache = new Map();
function fileExports(file) {
  if (!fileExportsCache.has(file)) fileExportsCache.set(file, readFileExports(file));
  return fileExportsCache.get(file);
}
function readFileExports(file) {
  const dts = join(root, "dist", file.replace(/\.ts$/, ".d.ts"));
  if (!existsSync(dts)) return new Set();
  const text = readFileSync(dts, "utf8");
  const names = new Set([...text.matchAll(/^export (?:declare )?(?:abstract )?(?:const|let|function|class|enum|interface|type) (\w+)/gm)].map((m) => m[1]));
  for (const m of text.matchAll(/^export (?:type )?\{([^}]*)\}/gm)) for (const n of m[1].split(",")) names.add(n.trim().replace(/^type\s+/, "").split(/\s+as\s+/).pop());
  return names;
}

// Imports: identifiers the example uses and does not import or declare itself.
function importsFor(ex) {
  const code = ex.code.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, " ").replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, '""');
  const own = new Set();
  for (const m of ex.code.matchAll(/import\s*(?:type\s+)?\{([^}]*)\}/g)) for (const n of m[1].split(",")) own.add(n.trim().replace(/^type\s+/, "").split(/\s+as\s+/).pop());
  for (const m of ex.code.matchAll(/import\s+(?:\*\s+as\s+)?(\w+)\s+from/g)) own.add(m[1]);
  for (const m of code.matchAll(/\b(?:const|let|var|function|class)\s+(\w+)/g)) own.add(m[1]);
  for (const m of code.matchAll(/\b(?:const|let|var)\s*\{([^}]*)\}/g)) for (const n of m[1].split(",")) own.add(n.trim().split(":").pop().trim());
  const used = new Set([...code.matchAll(/(?<![.\w$])([A-Za-z_$][\w$]*)/g)].map((m) => m[1]));
  const byEntry = new Map();
  const order = [ex.entry, "xdplane", ...[...exportsOf.keys()].filter((e) => e !== ex.entry && e !== "xdplane")];
  for (const name of used) {
    if (own.has(name) || name in GLOSSARY) continue;
    let from = [ex.entry, "xdplane"].find((e) => exportsOf.get(e)?.has(name));
    if (!from) {
      const others = order.filter((e) => exportsOf.get(e)?.has(name));
      if (others.length === 1) from = others[0];
    }
    if (!from && ex.file && fileExports(ex.file).has(name)) from = "../" + ex.file.replace(/\.ts$/, ".js");
    if (!from) continue;
    if (!byEntry.has(from)) byEntry.set(from, []);
    byEntry.get(from).push(name);
  }
  return [...byEntry].map(([e, names]) => `import { ${names.sort().join(", ")} } from "${e}";`).join("\n");
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "glossary.d.ts"),
  `// Context names the @examples may use undeclared (scripts/check-examples.mjs GLOSSARY).\n` +
  Object.entries(GLOSSARY).map(([n, t]) => `declare const ${n}: ${t};`).join("\n") + "\n");
const files = ["glossary.d.ts"];
const headerLines = new Map();
examples.forEach((ex, i) => {
  const f = `ex${String(i).padStart(3, "0")}.ts`;
  const header = `// ${ex.where}\n${importsFor(ex)}\n`;
  writeFileSync(join(out, f), `${header}${ex.code}export {};\n`);
  headerLines.set(f, header.split("\n").length - 1);
  files.push(f);
});
const base = JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8")).compilerOptions;
writeFileSync(join(out, "tsconfig.json"), JSON.stringify({
  compilerOptions: { ...base, noEmit: true, declaration: false, sourceMap: false, outDir: undefined, rootDir: undefined, allowUnreachableCode: true },
  files,
}, null, 2));

if (!existsSync(join(root, "dist/src/index.d.ts"))) throw new Error("dist/src/index.d.ts is missing: run `npm run build` first");
let output = "";
try {
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(out, "tsconfig.json")], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
} catch (e) {
  output = `${e.stdout ?? ""}${e.stderr ?? ""}`;
  if (!output) throw e;
}
const errors = new Map(); // example index -> messages
for (const m of output.matchAll(/^(?:.*\/)?(ex(\d+)\.ts)\((\d+),(\d+)\): error (TS\d+: [^\n]*(?:\n {2,}[^\n]*)*)/gm)) {
  const i = Number(m[2]);
  if (!errors.has(i)) errors.set(i, []);
  errors.get(i).push(`line ${Number(m[3]) - headerLines.get(m[1])}: ${m[5]}`);
}
const unmatched = output.split("\n").filter((l) => /error TS/.test(l) && !/ex\d+\.ts\(/.test(l));
for (const [i, msgs] of [...errors].sort((a, b) => a[0] - b[0])) {
  const ex = examples[i];
  console.error(`\n${ex.where} [${ex.entry}]\n${ex.code.trimEnd().replace(/^/gm, "    | ")}\n${msgs.map((s) => `  ${s}`).join("\n")}`);
}
if (unmatched.length > 0) console.error(`\n${unmatched.join("\n")}`);
if (!keep) rmSync(out, { recursive: true, force: true });
if (errors.size > 0 || unmatched.length > 0) {
  console.error(`\n${errors.size} of ${examples.length} @examples do not type-check`);
  process.exit(1);
}
console.log(`all ${examples.length} @examples type-check`);
