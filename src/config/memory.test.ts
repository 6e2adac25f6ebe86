/** The UMEM memory check against this machine: fake /proc contents, and one real check. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig, type ParseOptions } from "./index.js";
import { readFileSync } from "node:fs";
import { hasIpcLock, parseMeminfo, parseMemlock, type ProcReader } from "./host.js";

const GiB = 2 ** 30;

/** /proc as a test wants it: MemAvailable in kB, the memlock soft limit, CapEff. */
function fakeProc(p: { availKb?: number; memlock?: string; capEff?: string; hugeFree?: number } = {}): ProcReader {
  return (path) => {
    if (path === "/proc/meminfo") {
      return `MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   ${p.availKb ?? 32000000} kB\n` +
        `HugePages_Total:     ${p.hugeFree ?? 0}\nHugePages_Free:      ${p.hugeFree ?? 0}\nHugepagesize:       2048 kB\n`;
    }
    if (path === "/proc/self/limits") {
      return `Limit                     Soft Limit           Hard Limit           Units     \n` +
        `Max open files            1024                 1048576              files     \n` +
        `Max locked memory         ${p.memlock ?? "unlimited"}              ${p.memlock ?? "unlimited"}              bytes     \n`;
    }
    if (path === "/proc/self/status") return `Name:\tnode\nCapEff:\t${p.capEff ?? "000001ffffffffff"}\n`;
    return undefined;
  };
}

const OPTS: ParseOptions = { cpuCheck: "off", netdevQueueCount: () => 4 };

/** A config with umem0 of `bufcnt` x1024 2048-byte frames (and an optional second umem), used by lports. */
function cfg(bufcnt: number | undefined, p: { second?: number; mtype?: string; unused?: number } = {}): string {
  const u0 = bufcnt === undefined ? `{ "bufsz": 2 }` : `{ "bufcnt": ${bufcnt}, "bufsz": 2${p.mtype ? `, "mtype": "${p.mtype}"` : ""} }`;
  return `{
  "defaults": { "bufcnt": 8 },
  "umems": {
    "umem0": ${u0}${p.second !== undefined ? `,\n    "umem1": { "bufcnt": ${p.second} }` : ""}${p.unused !== undefined ? `,\n    "spare": { "bufcnt": ${p.unused} }` : ""}
  },
  "lports": {
    "eth0:0": { "pmd": "net_af_xdp", "qid": 0, "umem": "umem0" }${p.second !== undefined ? `,\n    "eth0:1": { "pmd": "net_af_xdp", "qid": 1, "umem": "umem1" }` : ""}
  },
  "threads": { "fwd:0": { "lports": ["eth0:0"] } }
}
`;
}

function fails(text: string, opts: ParseOptions): ConfigError {
  try {
    parseConfig(text, "m.jsonc", opts);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail("expected a ConfigError");
}

describe("config: UMEM memory against this machine", () => {
  it("reads /proc/meminfo, the memlock limit and CAP_IPC_LOCK", () => {
    assert.deepEqual(parseMeminfo(fakeProc({ availKb: 1024, hugeFree: 3 })("/proc/meminfo")!), { available: 1024 * 1024, hugeFree: 3 * 2 * 2 ** 20, hugePageSize: 2 * 2 ** 20 });
    assert.equal(parseMeminfo("MemTotal: 1 kB\n"), undefined);
    assert.equal(parseMemlock(fakeProc({ memlock: "8388608" })("/proc/self/limits")!), 8388608);
    assert.equal(parseMemlock(fakeProc()("/proc/self/limits")!), Infinity);
    assert.equal(hasIpcLock("CapEff:\t000001ffffffffff\n"), true);
    assert.equal(hasIpcLock("CapEff:\t0000000000000000\n"), false);
    assert.equal(hasIpcLock("CapEff:\t0000000000004000\n"), true, "bit 14 alone");
    assert.equal(hasIpcLock("CapEff:\t000001fffeffbfff\n"), false, "everything but bit 14");
    assert.equal(hasIpcLock("Name: x\n"), undefined);
  });

  it("more than MemAvailable: an error at the umem's bufcnt, before anything is allocated", () => {
    const e = fails(cfg(2048), { ...OPTS, readProc: fakeProc({ availKb: Math.round(3.1 * GiB / 1024) }) });
    assert.equal(e.message, "m.jsonc:4:26: umems.umem0.bufcnt: 2048 x1024 frames of 2048 bytes need 4.0 GiB; only 3.1 GiB available (MemAvailable)");
    assert.equal(e.errors.length, 1);
    // Several umems in use add up; the error points at the largest; unused umems are not allocated.
    const two = fails(cfg(1024, { second: 1024, unused: 2000 }), { ...OPTS, readProc: fakeProc({ availKb: 3 * 2 ** 20 }) });
    assert.match(two.message, /^m\.jsonc:4:26: umems\.umem0\.bufcnt: 1024 x1024 frames of 2048 bytes and the other umems in use \(umem1\) need 4\.0 GiB; only 3\.0 GiB available \(MemAvailable\)$/);
    parseConfig(cfg(1024, { unused: 2000 }), "m.jsonc", { ...OPTS, readProc: fakeProc({ availKb: 3 * 2 ** 20 }) });
    // A bufcnt from defaults points at defaults.bufcnt.
    const d = fails(cfg(undefined), { ...OPTS, readProc: fakeProc({ availKb: 8 * 1024 }) });
    assert.match(d.message, /^m\.jsonc:2:27: defaults\.bufcnt: 8 x1024 frames of 2048 bytes need 16\.1 MiB; only 8\.0 MiB available/);
    // Free huge pages count for a umem that asks for them.
    parseConfig(cfg(1024, { mtype: "2MB" }), "m.jsonc", { ...OPTS, readProc: fakeProc({ availKb: 2 ** 20, hugeFree: 1100 }) });
    // memoryCheck "off" skips it.
    parseConfig(cfg(2048), "m.jsonc", { ...OPTS, memoryCheck: "off", readProc: fakeProc({ availKb: 1024 }) });
  });

  it("more than RLIMIT_MEMLOCK without CAP_IPC_LOCK; the limit does not apply with it", () => {
    const noCap = fakeProc({ memlock: "8388608", capEff: "0000000000000000" });
    const e = fails(cfg(16), { ...OPTS, readProc: noCap });
    assert.equal(e.message, `m.jsonc:4:26: umems.umem0.bufcnt: 16 x1024 frames of 2048 bytes need 32.0 MiB of locked memory (the kernel pins a UMEM); RLIMIT_MEMLOCK allows 8.0 MiB ("Max locked memory" in /proc/self/limits) and the process has no CAP_IPC_LOCK: raise the limit (ulimit -l, LimitMEMLOCK=) or grant CAP_IPC_LOCK`);
    parseConfig(cfg(4), "m.jsonc", { ...OPTS, readProc: noCap });
    parseConfig(cfg(16), "m.jsonc", { ...OPTS, readProc: fakeProc({ memlock: "8388608", capEff: "0000000000004000" }) });
    parseConfig(cfg(16), "m.jsonc", { ...OPTS, readProc: fakeProc({ memlock: "unlimited", capEff: "0000000000000000" }) });
    // Unreadable /proc files skip the check rather than guess.
    parseConfig(cfg(2048), "m.jsonc", { ...OPTS, readProc: () => undefined });
  });

  it("a umem above 4 GiB is refused at its bufcnt", () => {
    const e = fails(cfg(4096), { ...OPTS, memoryCheck: "off" });
    assert.equal(e.message, "m.jsonc:4:26: umems.umem0.bufcnt: 4096 x1024 frames of 2048 bytes make 8.0 GiB: a umem holds at most 4 GiB");
  });

  it("on this machine: a config asking for more memory than there is fails fast", () => {
    const avail = parseMeminfo(require_("/proc/meminfo"))!.available;
    // umems of 2048 x1024 x 2048 bytes (4 GiB each), enough of them to exceed MemAvailable.
    const n = Math.floor(avail / (4 * GiB)) + 1;
    const umems = Array.from({ length: n }, (_, i) => `"u${i}": { "bufcnt": 2048 }`).join(", ");
    const lports = Array.from({ length: n }, (_, i) => `"eth0:${i}": { "pmd": "net_af_xdp", "qid": ${i}, "umem": "u${i}" }`).join(", ");
    const t0 = process.hrtime.bigint();
    const e = fails(`{ "umems": { ${umems} }, "lports": { ${lports} } }`, { cpuCheck: "off", netdevQueueCount: () => n });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.match(e.message, /^m\.jsonc:1:\d+: umems\.u0\.bufcnt: 2048 x1024 frames of 2048 bytes and the other umems in use .* need [\d.]+ GiB; only [\d.]+ GiB available \(MemAvailable\)$/);
    assert.ok(ms < 500, `took ${ms} ms`);
  });
});

function require_(path: string): string {
  return readFileSync(path, "utf8");
}
