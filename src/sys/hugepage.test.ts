/**
 * mmapHuge: what kind of pages a table gets, checked against the kernel's own accounting (AnonHugePages of
 * the mapping in /proc/self/smaps), and the shim's aligned mmap and madvise on bad input.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sys } from "./native.js";
import { munmap } from "./mem.js";
import { HUGE_2MB, MADV_HUGEPAGE, hugeAlloc, mmapHuge } from "./hugepage.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "./consts.js";

const EINVAL = 22;

/** AnonHugePages (kB) of the mapping (VMA) holding `addr`, from /proc/self/smaps. */
function anonHugeKb(addr: number): number {
  const text = readFileSync("/proc/self/smaps", "utf8");
  for (const m of text.matchAll(/^([0-9a-f]+)-([0-9a-f]+) [^\n]*\n(?:(?![0-9a-f]+-)[^\n]*\n)*?AnonHugePages:\s+(\d+) kB/gm)) {
    if (parseInt(m[1]!, 16) <= addr && addr < parseInt(m[2]!, 16)) return Number(m[3]);
  }
  return assert.fail(`no smaps entry holds 0x${addr.toString(16)}`);
}

/** The THP mode in use ([madvise] etc.), hugetlb pages free. */
const thpMode = /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))![1];
const hugetlbFree = Number(/HugePages_Free:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))![1]);

test("mmapHuge: 2 MB-aligned, zero-filled, and on huge pages once touched (per smaps) when the system allows", () => {
  const len = 8 * HUGE_2MB + 12345;
  const { buf, kind } = mmapHuge(len);
  assert.equal(kind, thpMode !== "never" ? "thp" : hugetlbFree >= 9 ? "hugetlb" : "4KB");
  if (kind === "4KB") return; // a plain SharedArrayBuffer: nothing more to check here
  assert.ok(buf.byteLength >= len);
  const u32 = new Uint32Array(buf);
  const addr = sys.addressOf(u32);
  assert.equal(addr % HUGE_2MB, 0, `mapping at 0x${addr.toString(16)}`);
  assert.ok(u32.every((x) => x === 0));
  // Its mapping may have merged with a neighbour of the same flags: count what touching it adds.
  const before = anonHugeKb(addr);
  for (let i = 0; i < u32.length; i += 1024) u32[i] = i;
  if (kind === "thp" && thpMode !== "never") {
    // The kernel falls back to 4 KB pages for a 2 MB range when it finds no free huge page at fault
    // time; on the test machines there is plenty of memory, so all nine ranges are huge.
    assert.equal(anonHugeKb(addr) - before, 9 * 2048);
  }
  munmap(buf);
  assert.equal(u32[1024], 0, "released: views read zeros");
});

test("hugeAlloc gives a buffer at least as long as asked; mmapHuge refuses a bad length", () => {
  const b = hugeAlloc(100);
  assert.ok(b instanceof SharedArrayBuffer && b.byteLength >= 100);
  if (b.byteLength !== 100) munmap(b); // a shim mapping (whole 2 MB pages), not a plain SharedArrayBuffer
  assert.throws(() => mmapHuge(0), /mmapHuge: length 0 is not a positive integer/);
  assert.throws(() => mmapHuge(1.5), /mmapHuge: length 1.5 is not a positive integer/);
});

test("shim: mmap's align must be a power of two on anonymous memory; madvise only on a whole live shim mapping", () => {
  const rw = PROT_READ | PROT_WRITE;
  assert.equal(sys.mmap(-1, 4096, rw, MAP_PRIVATE | MAP_ANONYMOUS, 0, 3 * HUGE_2MB), -EINVAL);
  assert.equal(sys.mmap(0, 4096, rw, MAP_SHARED, 0, HUGE_2MB), -EINVAL);
  const b = sys.mmap(-1, HUGE_2MB, rw, MAP_PRIVATE | MAP_ANONYMOUS, 0, HUGE_2MB);
  assert.ok(b instanceof SharedArrayBuffer);
  const u8 = new Uint8Array(b);
  assert.equal(sys.madvise(u8.subarray(4096), MADV_HUGEPAGE), -EINVAL);
  assert.equal(sys.madvise(new Uint8Array(new SharedArrayBuffer(HUGE_2MB)), MADV_HUGEPAGE), -EINVAL);
  assert.equal(sys.madvise(u8, MADV_HUGEPAGE), 0);
  munmap(b);
  assert.equal(sys.madvise(u8, MADV_HUGEPAGE), -EINVAL);
});
