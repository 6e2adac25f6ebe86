import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, fstatSync, openSync } from "node:fs";
import { FdHandle } from "./fd-handle.js";
import { openFds } from "../testing/fds.js";


function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** The smallest FdHandle: /dev/null, with a setup step that may throw. */
class DevNull extends FdHandle {
  static open(setup?: (fd: number) => void): DevNull {
    const fd = openSync("/dev/null", "r");
    return FdHandle.closeOnThrow(fd, () => {
      setup?.(fd);
      return new DevNull(fd);
    });
  }
}

class Raw extends FdHandle {
  constructor(fd: number) {
    super(fd);
  }
}

test("closeOnThrow closes the fd when construction fails and rethrows", () => {
  const before = openFds();
  let seen = -1;
  assert.throws(() => DevNull.open((fd) => {
    seen = fd;
    throw new Error("setup failed");
  }), /^Error: setup failed$/);
  assert.ok(seen >= 0);
  assert.equal(isOpen(seen), false);
  assert.deepEqual(openFds(), before);
});

test("close() twice is harmless: the second call leaves the fd number's next owner alone", () => {
  const h = DevNull.open();
  const fd = h.fd;
  assert.equal(h.closed, false);
  h.close();
  assert.equal(h.closed, true);
  assert.equal(isOpen(fd), false);
  const next = openSync("/dev/null", "r"); // the lowest free number: the one just closed
  try {
    assert.equal(next, fd);
    h.close();
    h[Symbol.dispose]();
    assert.equal(isOpen(next), true);
  } finally {
    closeSync(next);
  }
});

test("using closes at the end of the block, also when the block throws", () => {
  const before = openFds();
  let fd = -1;
  {
    using h = DevNull.open();
    fd = h.fd;
    assert.equal(isOpen(fd), true);
  }
  assert.equal(isOpen(fd), false);
  assert.throws(() => {
    using h = DevNull.open();
    fd = h.fd;
    throw new Error("boom");
  }, /boom/);
  assert.equal(isOpen(fd), false);
  assert.deepEqual(openFds(), before);
});

test("a handle refuses a negative or non-integer fd", () => {
  assert.throws(() => new Raw(-22), /Invalid file descriptor -22 for Raw/);
  assert.throws(() => new Raw(1.5), RangeError);
});
