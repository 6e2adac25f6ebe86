import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, configError, optionBool, optionNumber, optionString, optionStrings, parseConfig } from "./index.js";

const text = `{
  "options": {
    "No-Metrics": true,
    "mode": "lb",
    "burst": 32,
    "rules": ["a", "b"],
    "cli": "yes"
  }
}`;
const { config } = parseConfig(text, "o.jsonc", { cpuCheck: "off" });

describe("config: options", () => {
  it("reads options by name without case, as jcfg_option_get does", () => {
    assert.equal(optionBool(config, "no-metrics", false), true);
    assert.equal(optionBool(config, "no-restapi", false), false);
    assert.equal(optionString(config, "MODE"), "lb");
    assert.equal(optionString(config, "pkt_api", "xskdev"), "xskdev");
    assert.equal(optionNumber(config, "burst"), 32);
    assert.deepEqual(optionStrings(config, "rules"), ["a", "b"]);
    assert.equal(optionStrings(config, "none"), undefined);
  });

  it("points at the option in the file when it has the wrong kind", () => {
    assert.throws(() => optionBool(config, "cli", false), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, `o.jsonc:7:12: options.cli: expected true or false, got "yes"`);
      assert.deepEqual([e.line, e.column, e.path], [7, 12, "options.cli"]);
      return true;
    });
    assert.throws(() => optionStrings(config, "mode"), /^ConfigError: o.jsonc:4:13: options.mode: expected an array of strings, got "lb"$/);
  });

  it("lets apps report their own errors at a key, or at the nearest enclosing one", () => {
    assert.equal(configError(config, ["options", "mode"], `unknown mode "lb2"`).message, `o.jsonc:4:13: options.mode: unknown mode "lb2"`);
    assert.equal(configError(config, ["options", "pkt_api"], "needed").message, "o.jsonc:2:14: options.pkt_api: needed");
    assert.equal(configError(config, ["threads"], "no threads").message, "o.jsonc:1:1: threads: no threads");
  });
});
