import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NapiKnobs, PREFER_BUSY_POLL_KNOBS } from "./napi-knobs.js";
import { createVethPair } from "../testing/netns.js";
import { ifIndex } from "../sys/netdev.js";

/** A fake sysfs tree: /sys/class/net/<dev>/{ifindex,napi_defer_hard_irqs,gro_flush_timeout}. */
function fakeSysfs(dev: string, ifindex: number, defer = 0, timeout = 0): { root: string; read: () => [number, number]; set: (d: number, t: number) => void; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), "napi-knobs-"));
  const dir = join(root, "sys/class/net", dev);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "ifindex"), `${ifindex}\n`);
  const set = (d: number, t: number) => {
    writeFileSync(join(dir, "napi_defer_hard_irqs"), `${d}\n`);
    writeFileSync(join(dir, "gro_flush_timeout"), `${t}\n`);
  };
  set(defer, timeout);
  const read = (): [number, number] => [Number(readFileSync(join(dir, "napi_defer_hard_irqs"), "utf8")), Number(readFileSync(join(dir, "gro_flush_timeout"), "utf8"))];
  return { root: join(root, "sys/class/net"), read, set, done: () => rmSync(root, { recursive: true, force: true }) };
}

describe("NapiKnobs", () => {
  test("sets the knobs once per netdev, counts holders, restores at the last release", () => {
    const fs = fakeSysfs("eth9", 7);
    const logs: string[] = [];
    try {
      const a = NapiKnobs.acquire("eth9", 7, PREFER_BUSY_POLL_KNOBS, (m) => logs.push(m), fs.root)!;
      assert.ok(a);
      assert.deepEqual(fs.read(), [2, 200000]);
      const b = NapiKnobs.acquire("eth9", 7, PREFER_BUSY_POLL_KNOBS, (m) => logs.push(m), fs.root)!;
      assert.equal(NapiKnobs.holders().get("7:eth9"), 2);
      a.release();
      a.release(); // idempotent: still one holder
      assert.equal(NapiKnobs.holders().get("7:eth9"), 1);
      assert.deepEqual(fs.read(), [2, 200000], "the second port still busy-polls");
      b.release();
      assert.deepEqual(fs.read(), [0, 0], "what it found, back");
      assert.equal(NapiKnobs.holders().has("7:eth9"), false);
      assert.deepEqual(logs, ["eth9: napi_defer_hard_irqs 2, gro_flush_timeout 200000 ns (preferred busy polling; restored at close)"]);
    } finally {
      fs.done();
    }
  });

  test("leaves an administrator's values, another namespace's netdev, and a changed setting alone", () => {
    const fs = fakeSysfs("eth8", 5, 10, 50000);
    const logs: string[] = [];
    try {
      assert.equal(NapiKnobs.acquire("eth8", 5, PREFER_BUSY_POLL_KNOBS, (m) => logs.push(m), fs.root), null);
      assert.deepEqual(fs.read(), [10, 50000]);
      assert.equal(NapiKnobs.acquire("eth8", 6, PREFER_BUSY_POLL_KNOBS, (m) => logs.push(m), fs.root), null);
      assert.equal(NapiKnobs.acquire("nosuch0", 6, PREFER_BUSY_POLL_KNOBS, (m) => logs.push(m), fs.root), null);
      assert.deepEqual(logs, [
        "eth8: NAPI knobs left as set (napi_defer_hard_irqs 10, gro_flush_timeout 50000 ns)",
        "eth8: NAPI knobs left alone: sysfs shows another network namespace's eth8 (ifindex 5, not 6)",
        `nosuch0: NAPI knobs left alone: no ${fs.root}/nosuch0/ifindex`,
      ]);
      fs.set(0, 0);
      const k = NapiKnobs.acquire("eth8", null, { napiDeferHardIrqs: 3, groFlushTimeoutNs: 1000 }, () => {}, fs.root)!;
      assert.deepEqual(fs.read(), [3, 1000]);
      fs.set(7, 7); // someone else changed them meanwhile: theirs stay
      k.release();
      assert.deepEqual(fs.read(), [7, 7]);
      assert.throws(() => NapiKnobs.acquire("eth8", 5, { napiDeferHardIrqs: -1, groFlushTimeoutNs: 0 }, () => {}, fs.root), /Invalid napi_defer_hard_irqs -1 for eth8: expected 0\.\.2147483647/);
      assert.throws(() => NapiKnobs.acquire("eth8", 5, { napiDeferHardIrqs: 1, groFlushTimeoutNs: 0.5 }, () => {}, fs.root), /Invalid gro_flush_timeout 0\.5 for eth8/);
      assert.equal(NapiKnobs.holders().size, 0, "no hold left behind by refusals");
      fs.set(0, 0);
      NapiKnobs.acquire("eth8", 5, PREFER_BUSY_POLL_KNOBS, () => {}, fs.root)!.release(false);
      assert.deepEqual(fs.read(), [2, 200000], "release(false): the values stay");
      assert.equal(NapiKnobs.holders().size, 0);
    } finally {
      fs.done();
    }
  });

  test("on a real veth: the kernel takes the values and gets its own back; the peer in another namespace is left alone", { skip: process.getuid?.() !== 0 ? "needs root" : false }, () => {
    const v = createVethPair({ prefix: "nk" });
    try {
      const sysRead = (n: string) => Number(readFileSync(`/sys/class/net/${v.a}/${n}`, "utf8"));
      const k = NapiKnobs.acquire(v.a, ifIndex(v.a), PREFER_BUSY_POLL_KNOBS, () => {})!;
      assert.ok(k);
      assert.equal(sysRead("napi_defer_hard_irqs"), 2);
      assert.equal(sysRead("gro_flush_timeout"), 200000);
      k.release();
      assert.equal(sysRead("napi_defer_hard_irqs"), 0);
      assert.equal(sysRead("gro_flush_timeout"), 0);
      const logs: string[] = [];
      assert.equal(NapiKnobs.acquire(v.b, 99, PREFER_BUSY_POLL_KNOBS, (m) => logs.push(m)), null);
      assert.deepEqual(logs, [`${v.b}: NAPI knobs left alone: no /sys/class/net/${v.b}/ifindex`]);
    } finally {
      v.destroy();
    }
  });
});
