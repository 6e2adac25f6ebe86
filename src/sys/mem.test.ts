import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { sys } from "./native.js";
import { SysError } from "./errno.js";
import { mmapShared, munmap } from "./mem.js";

const EINVAL = 22;
const PAGE = 4096;

function filled(len: number, v = 0xa5): SharedArrayBuffer {
  const b = mmapShared(len);
  new Uint8Array(b).fill(v);
  return b;
}

const allEqual = (u8: Uint8Array, v: number): boolean => u8.every((x) => x === v);

describe("munmap", () => {
  test("releases the whole mapping; stale views read zeros", () => {
    const b = filled(4 * PAGE);
    const u8 = new Uint8Array(b);
    munmap(b);
    assert.ok(allEqual(u8, 0));
    u8[5] = 1; // the reservation is still writable memory, so a stale writer does not crash either
  });

  test("a view starting at the mapping's first byte releases all of it, whatever its length", () => {
    const b = filled(4 * PAGE);
    const u8 = new Uint8Array(b);
    assert.equal(sys.munmap(u8.subarray(0, 10)), 0);
    assert.ok(allEqual(u8, 0), "bytes beyond the view's length are released too");
  });

  test("a view starting inside a mapping is refused and touches nothing", () => {
    const b = filled(4 * PAGE);
    const u8 = new Uint8Array(b);
    assert.equal(sys.munmap(u8.subarray(PAGE)), -EINVAL);
    assert.equal(sys.munmap(new Uint32Array(b, PAGE, 4)), -EINVAL);
    assert.ok(allEqual(u8, 0xa5));
    assert.throws(
      () => munmap(new Uint8Array(b, PAGE, 2 * PAGE)),
      (e: unknown) =>
        e instanceof SysError &&
        e.code === "EINVAL" &&
        e.message.includes("munmap(Uint8Array byteOffset=4096 byteLength=8192 over SharedArrayBuffer byteLength=16384)") &&
        e.message.includes("does not start at a mapping's first byte"),
    );
    assert.ok(allEqual(u8, 0xa5));
    munmap(b);
  });

  test("memory the shim did not map is refused and touches nothing", () => {
    const plain = new Uint8Array(16 * PAGE).fill(7);
    assert.equal(sys.munmap(plain), -EINVAL);
    const sab = new SharedArrayBuffer(16 * PAGE);
    new Uint8Array(sab).fill(9);
    assert.throws(
      () => munmap(sab, "munmap(umem)"),
      (e: unknown) =>
        e instanceof SysError &&
        e.code === "EINVAL" &&
        e.message.startsWith("munmap(umem)(SharedArrayBuffer byteLength=65536): EINVAL") &&
        e.message.includes("not a mapping made by the shim's mmap"),
    );
    assert.ok(allEqual(plain, 7));
    assert.ok(allEqual(new Uint8Array(sab), 9));
    assert.throws(() => sys.munmap(new DataView(sab) as unknown as Uint8Array), TypeError);
    assert.throws(() => sys.munmap(sab as unknown as Uint8Array), TypeError);
  });

  test("releasing twice is a no-op", () => {
    const b = filled(2 * PAGE);
    munmap(b);
    assert.equal(sys.munmap(new Uint8Array(b)), 0);
    munmap(b);
    assert.ok(allEqual(new Uint8Array(b), 0));
  });

  test("another mapping made after a release is untouched by a stale release", () => {
    const a = filled(2 * PAGE, 1);
    munmap(a);
    const b = filled(2 * PAGE, 2);
    munmap(a);
    assert.ok(allEqual(new Uint8Array(b), 2));
    munmap(b);
  });

  test("a mapping made in a worker (the only one to load the shim) outlives it and is freed later", () => {
    const shim = new URL("./native.js", import.meta.url).href;
    const src = `
      import { Worker } from "node:worker_threads";
      import { setFlagsFromString } from "node:v8";
      import { runInNewContext } from "node:vm";
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc");
      let sab = await new Promise((res, rej) => {
        const w = new Worker(\`Promise.all([import(${JSON.stringify(shim)}), import("node:worker_threads")])
          .then(([{ sys }, { parentPort }]) => parentPort.postMessage(sys.mmap(-1, 65536, 3, 0x21, 0)));\`, { eval: true });
        w.once("message", res);
        w.once("error", rej);
      });
      await new Promise((r) => setTimeout(r, 200)); // the worker is gone
      new Uint8Array(sab)[0] = 1;
      sab = null;
      for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log("survived");`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", src], { encoding: "utf8", timeout: 20000 });
    assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "survived");
  });
});
