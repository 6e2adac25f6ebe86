import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { closeSync, openSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { sys, type WatchHandle } from "./native.js";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_SEQPACKET, MSG_DONTWAIT } from "./consts.js";
import { gc, sleep, until } from "../testing/gc-probe.js";

const EBADF = 9;
const EPERM = 1;

/** A connected pair of non-blocking SEQPACKET sockets (abstract listener, closed at once). */
let nPairs = 0;
function pair(): [number, number] {
  const name = `\0xdplane-watch-test-${process.pid}-${nPairs++}`;
  const addr = Buffer.alloc(2 + name.length);
  addr.writeUInt16LE(AF_UNIX, 0);
  addr.write(name, 2, "latin1");
  const type = SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC;
  const l = sys.socket(AF_UNIX, type, 0);
  assert.ok(l >= 0);
  assert.equal(sys.bind(l, addr), 0);
  assert.equal(sys.listen(l, 1), 0);
  const a = sys.socket(AF_UNIX, type, 0);
  assert.equal(sys.connect(a, addr), 0);
  const b = sys.accept4(l, SOCK_NONBLOCK | SOCK_CLOEXEC);
  assert.ok(b >= 0);
  sys.close(l);
  fds.push(a, b);
  return [a, b];
}
const fds: number[] = [];
after(() => {
  for (const fd of fds) sys.close(fd);
});

function watchOk(fd: number, events: number, cb: (ev: number) => void): WatchHandle {
  const h = sys.watch(fd, events, cb);
  assert.equal(typeof h, "object", `watch(fd=${fd}) answered ${String(h)}`);
  return h as WatchHandle;
}

/** Waits until the watches of this process are down to `n` (a closed watch is freed on a later loop turn). */
const watchesDownTo = (n: number): Promise<void> => until(() => sys.watchCount() === n, `watches down to ${n}`);

describe("sys.watch", () => {
  test("fires with the ready events; the handle names its fd", async () => {
    const [a, b] = pair();
    const got: number[] = [];
    const h = watchOk(b, 1, (ev) => got.push(ev));
    assert.equal(h.fd, b);
    assert.deepEqual(Object.keys(h), ["fd"]);
    assert.equal(sys.sendto(a, Buffer.from("x"), MSG_DONTWAIT, null), 1);
    await until(() => got.length > 0, "readable");
    assert.equal(got[0]! & 1, 1);
    sys.unwatch(h);
  });

  test("unwatch twice and refWatch after unwatch are no-ops, also once the memory is reused", async () => {
    await watchesDownTo(0); // earlier tests' watches are closed
    const base = 0;
    const [a, b] = pair();
    const old = watchOk(b, 1, () => {});
    sys.unwatch(old);
    await watchesDownTo(base); // the old watch's memory is freed now
    // A new watch of the same size, likely in the freed memory: the stale handle must not reach it.
    let fired = 0;
    const h = watchOk(b, 1, () => fired++);
    sys.unwatch(old);
    sys.refWatch(old, false);
    sys.refWatch(old, true);
    assert.equal(sys.watchCount(), base + 1);
    assert.equal(sys.sendto(a, Buffer.from("x"), MSG_DONTWAIT, null), 1);
    await until(() => fired > 0, "the new watch to fire");
    sys.unwatch(h);
    sys.unwatch(h);
    await watchesDownTo(base);
  });

  test("no callback after unwatch, even for readiness already pending", async () => {
    const [a, b] = pair();
    let fired = 0;
    const h = watchOk(b, 1, () => fired++);
    assert.equal(sys.sendto(a, Buffer.from("x"), MSG_DONTWAIT, null), 1);
    sys.unwatch(h);
    await sleep(30);
    assert.equal(fired, 0);
  });

  test("unwatch from inside the callback", async () => {
    await watchesDownTo(0); // earlier tests' watches are closed
    const base = 0;
    const [, b] = pair();
    let fired = 0;
    const h: WatchHandle = watchOk(b, 2, () => {
      fired++;
      sys.unwatch(h);
      sys.unwatch(h);
    });
    await until(() => fired > 0, "writable");
    await watchesDownTo(base);
    assert.equal(fired, 1);
  });

  test("a regular file answers -EPERM and leaves nothing behind", async () => {
    await watchesDownTo(0); // earlier tests' watches are closed
    const base = 0;
    const fd = openSync(fileURLToPath(import.meta.url), "r");
    try {
      assert.equal(sys.watch(fd, 1, () => {}), -EPERM);
      assert.equal(sys.watchCount(), base);
    } finally {
      closeSync(fd);
    }
  });

  test("a closed or negative fd answers -EBADF", async () => {
    await watchesDownTo(0); // earlier tests' watches are closed
    const base = 0;
    const [, b] = pair();
    const fd = sys.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sys.close(fd);
    assert.equal(sys.watch(fd, 1, () => {}), -EBADF);
    assert.equal(sys.watch(-1, 1, () => {}), -EBADF);
    assert.equal(sys.watchCount(), base);
    void b;
  });

  test("wrong arguments are TypeErrors/RangeErrors (programming errors)", () => {
    const [, b] = pair();
    assert.throws(() => sys.unwatch({}), TypeError);
    assert.throws(() => sys.unwatch(Object.create(null) as object), TypeError);
    assert.throws(() => sys.refWatch({}, true), TypeError);
    assert.throws(() => sys.watch(b, 1, "nope" as unknown as () => void), TypeError);
    assert.throws(() => sys.watch(b, 0, () => {}), RangeError);
    assert.throws(() => sys.watch(b, 4, () => {}), RangeError);
    const h = watchOk(b, 1, () => {});
    assert.throws(() => sys.refWatch(h, 1 as unknown as boolean), TypeError);
    sys.unwatch(h);
  });

  test("a handle collected while watching closes its poll and lets its callback go", async () => {
    await watchesDownTo(0); // earlier tests' watches are closed
    const base = 0;
    const [, b] = pair();
    let cbCollected = false;
    const reg = new FinalizationRegistry<string>(() => {
      cbCollected = true;
    });
    (() => {
      const cb = (): void => {};
      reg.register(cb, "cb");
      const h = watchOk(b, 1, cb);
      sys.refWatch(h, false); // should the finalizer not close it, do not hold the test process open
    })();
    assert.equal(sys.watchCount(), base + 1);
    await until(() => cbCollected && sys.watchCount() === base, "the collected watch to close");
  });

  test("an open watch whose callback reaches its handle is a GC root (as a node:net handle): it keeps firing", async () => {
    await watchesDownTo(0);
    const [a, b] = pair();
    let fired = 0;
    let weak: WeakRef<WatchHandle> | null = null;
    (() => {
      const owner: { h: WatchHandle | null } = { h: null };
      owner.h = watchOk(b, 1, () => {
        fired += owner.h !== null ? 1 : 0;
      });
      weak = new WeakRef(owner.h);
      sys.refWatch(owner.h, false);
    })();
    for (let i = 0; i < 5; i++) {
      gc();
      await sleep(5);
    }
    assert.equal(sys.watchCount(), 1);
    assert.equal(sys.sendto(a, Buffer.from("x"), MSG_DONTWAIT, null), 1);
    await until(() => fired > 0, "the watch to fire");
    const h = (weak as WeakRef<WatchHandle> | null)?.deref();
    assert.ok(h !== undefined);
    sys.unwatch(h);
    await watchesDownTo(0);
  });

  test("a worker exiting with a watch still open (the shim loaded by that worker only) exits cleanly", () => {
    const shim = new URL("./native.js", import.meta.url).href;
    const src = `
      import { Worker } from "node:worker_threads";
      const w = new Worker(\`
        import(${JSON.stringify(shim)}).then(({ sys }) => {
          const s = sys.socket(1, 5 | 0x800, 0);
          globalThis.h = sys.watch(s, 1, () => {});
          sys.refWatch(globalThis.h, false);
          setTimeout(() => {}, 5);
        });\`, { eval: true });
      w.on("exit", (c) => { console.log("worker exit " + c); setTimeout(() => console.log("main alive"), 100); });`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", src], { encoding: "utf8", timeout: 20000 });
    assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /worker exit 0\nmain alive/);
  });
});

