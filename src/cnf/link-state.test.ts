/**
 * The ports' link state for /app/ports and /readyz: a netdev that cannot be asked (the process is out of
 * file descriptors) is "unknown", never "down"; a missing netdev is down; lo is up.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { linkUp } from "./model.js";

const mod = new URL("./model.js", import.meta.url).href;

test("link state: lo up, a missing netdev down, and no answer (EMFILE) is not 'down'", () => {
  assert.equal(linkUp("lo", undefined), true);
  assert.equal(linkUp("nosuchdev0", undefined), false);
  assert.equal(linkUp(null, undefined), undefined);
  // A child with 64 fds at most fills them all, then asks.
  const script = `
    import { openSync } from "node:fs";
    const { linkUp } = await import(${JSON.stringify(mod)});
    const fds = [];
    try { for (;;) fds.push(openSync("/dev/null", "r")); } catch (e) { if (e.code !== "EMFILE") throw e; }
    process.stdout.write(JSON.stringify({ full: fds.length > 0, lo: linkUp("lo", undefined) ?? "undefined" }));
  `;
  const r = spawnSync("sh", ["-c", `ulimit -n 64 && exec "${process.execPath}" --input-type=module -e '${script.replace(/'/g, "'\\''")}'`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { full: true, lo: "undefined" });
});
