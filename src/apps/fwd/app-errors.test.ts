/** Forwarder start-up errors that need no root: they are found before anything is built. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../config/index.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { FwdApp } from "./app.js";

test("a non-string options.mode is refused, not run as drop mode", async () => {
  const { config } = parseConfig(fwdConfig({ ports: [{ netdev: "eth0" }] }), "fwd.jsonc", { cpuCheck: "off", netdevQueueCount: () => 1 });
  (config.options as Map<string, unknown>).set("mode", 7);
  await assert.rejects(FwdApp.start({ config, log: () => {} }), /^TypeError: options\.mode: expected a string \(one of drop, rx-only, lb, loopback, tx-only, tx-only-rx, fwd, l3fwd, acl-strict, acl-permissive\), got 7$/);
});

test("an unknown mode in the config's options.mode names the file, line and column", async () => {
  const text = fwdConfig({ ports: [{ netdev: "eth0" }] }).replace(/\n}\n$/, ',\n  "options": { "mode": "bounce" }\n}\n');
  const { config } = parseConfig(text, "fwd.jsonc", { cpuCheck: "off", netdevQueueCount: () => 1, memoryCheck: "off" });
  await assert.rejects(FwdApp.start({ config, log: () => {} }), /^ConfigError: fwd\.jsonc:\d+:\d+: options\.mode: Unknown forwarding mode 'bounce'/);
});
