/**
 * The shim's byte-range calls: copyBytes between any two views (SharedArrayBuffer, ArrayBuffer, a mapping),
 * read/write at an offset of a view, ioctl with a struct or a value; ranges outside a view are refused
 * with nothing touched, and the data-path calls allocate nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sys } from "./native.js";
import { mmapShared, munmap } from "./mem.js";
import { gcsDuring } from "../testing/gc-probe.js";

test("copyBytes copies between buffers of any kind, overlapping ranges too, and refuses ranges outside a view", () => {
  const map = new Uint8Array(mmapShared(4096));
  try {
    const src = Uint8Array.from({ length: 100 }, (_, i) => i);
    assert.equal(sys.copyBytes(map, 1000, src, 10, 50), 50);
    assert.deepEqual([...map.subarray(1000, 1050)], [...src.subarray(10, 60)]);
    assert.equal(map[999], 0);
    assert.equal(map[1050], 0);
    const sab = new Uint16Array(new SharedArrayBuffer(64));
    sys.copyBytes(sab, 2, map, 1000, 4); // byte offsets, whatever the element size
    assert.deepEqual([...new Uint8Array(sab.buffer, 0, 8)], [0, 0, 10, 11, 12, 13, 0, 0]);
    sys.copyBytes(map, 1001, map, 1000, 10); // overlapping: memmove
    assert.deepEqual([...map.subarray(1000, 1012)], [10, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21]);
    const before = map.slice();
    assert.throws(() => sys.copyBytes(map, 4090, src, 0, 10), RangeError);
    assert.throws(() => sys.copyBytes(map, 0, src, 95, 10), RangeError);
    assert.throws(() => sys.copyBytes(map, -1, src, 0, 1), RangeError);
    assert.deepEqual(map, before, "nothing touched");
    assert.equal(sys.copyBytes(map, 4096, src, 100, 0), 0, "an empty range at the end is fine");
  } finally {
    munmap(map);
  }
});

test("read and write at an offset of a view; -errno from the kernel; ioctl with a struct and with a value", () => {
  const dir = mkdtempSync(join(tmpdir(), "xdplane-bytes-"));
  try {
    const path = join(dir, "f");
    writeFileSync(path, "0123456789");
    const fd = openSync(path, "r+");
    try {
      const buf = new Uint8Array(new SharedArrayBuffer(32));
      assert.equal(sys.read(fd, buf, 20, 4), 4);
      assert.equal(Buffer.from(buf.subarray(20, 24)).toString(), "0123");
      buf.set([0x41, 0x42], 5);
      assert.equal(sys.write(fd, buf, 5, 2), 2);
      assert.throws(() => sys.read(fd, buf, 30, 4), RangeError);
      // FIONREAD (0x541b) on a regular file: the bytes left to read, into an int.
      const n = new Int32Array(1);
      assert.equal(sys.ioctl(fd, 0x541b, n), 0);
      assert.equal(n[0], 4);
      // A request the file does not know, the argument passed as a value: ENOTTY.
      assert.equal(sys.ioctl(fd, 0x400454cb, 1), -25);
    } finally {
      closeSync(fd);
    }
    assert.equal(readFileSync(path, "utf8"), "0123AB6789");
    assert.equal(sys.read(-1, new Uint8Array(4), 0, 4), -9, "EBADF");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("copyBytes and a failing read allocate nothing: a million calls", async () => {
  const a = new Uint8Array(new SharedArrayBuffer(4096));
  const b = new Uint8Array(4096);
  const loop = (count: number) => {
    for (let i = 0; i < count; i++) {
      sys.copyBytes(a, i & 1023, b, 64, 60);
      if ((i & 255) === 0) sys.read(-1, a, 0, 16);
    }
  };
  loop(10000);
  assert.equal(await gcsDuring(() => loop(1_000_000)), 0);
});
