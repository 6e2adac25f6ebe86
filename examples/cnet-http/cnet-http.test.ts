/**
 * The README's program (main.ts): Node's http server over the stack, run as its own process on one end
 * of a veth (the stack's netdev in its own namespace, address learned from Linux); `curl` from a Linux
 * peer in another namespace gets the page; SIGTERM gives a clean stop report (no frame leaked).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canUseNetns, nsExec } from "../../src/testing/netns.js";
import { createCnetPair } from "../../src/testing/cnet-peer.js";
import { Child, exampleScript, writeConfig } from "../harness.js";

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

test("cnet-http serves curl with Node's http over the stack, stops cleanly", { skip: !canUseNetns() ? "needs root" : !have("curl") ? "needs curl" : false }, async () => {
  const v = createCnetPair();
  const dir = mkdtempSync(join(tmpdir(), "cnet-http-"));
  let child: Child | null = null;
  try {
    nsExec(v.nsA, "ip", "addr", "add", "10.214.0.1/24", "dev", v.a);
    nsExec(v.ns, "ip", "addr", "add", "10.214.0.2/24", "dev", v.b);
    nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
    const config = writeConfig("cnet-http", "cnet.jsonc", join(dir, "cnet.jsonc"), { eth0: v.a });
    child = new Child(process.execPath, [exampleScript("cnet-http"), "-c", config, "--netns", v.nsA, "--port", "8080"]);
    const ready = await child.line("ready");
    assert.deepEqual(ready.addresses, [`10.214.0.1/24 ifindex ${v.ifindexA}`]);
    assert.equal(ready.port, 8080);
    for (let i = 0; i < 3; i++) {
      const page = execFileSync("ip", ["netns", "exec", v.ns, "curl", "-sS", "--max-time", "10", "http://10.214.0.1:8080/"]).toString();
      assert.equal(page, "hello 10.214.0.2, this is Node's http over xdplane's stack\n");
    }
    const { report, code } = await child.stop();
    assert.equal(code, 0);
    assert.deepEqual(report.faults, []);
    assert.equal(report.leakedFrames, 0);
    assert.equal(((await child.line("tcp")).tcp as { passive_opens: number }).passive_opens, 3);
  } finally {
    child?.kill();
    rmSync(dir, { recursive: true, force: true });
    v.destroy();
  }
});
