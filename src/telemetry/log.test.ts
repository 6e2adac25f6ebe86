import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createLogger, parseLogLevel, LOG_LEVELS } from "./log.js";

function sink(isTTY: boolean): { write(s: string): boolean; isTTY: boolean; lines: string[] } {
  const lines: string[] = [];
  return { write: (s: string) => (lines.push(s), true), isTTY, lines };
}
const now = () => new Date("2025-01-02T03:04:05.678Z");

describe("log", () => {
  test("levels are CNDP's (syslog) emerg..debug; names, numbers and aliases parse", () => {
    assert.deepEqual(Object.keys(LOG_LEVELS), ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]);
    assert.equal(parseLogLevel("debug"), "debug");
    assert.equal(parseLogLevel("3"), "err");
    assert.equal(parseLogLevel("ERROR"), "err");
    assert.equal(parseLogLevel("warn"), "warning");
    assert.throws(() => parseLogLevel("loud"), /Invalid log level 'loud'/);
  });

  test("JSON lines when not on a terminal, with fields and errors", () => {
    const s = sink(false);
    const log = createLogger({ name: "exporter", level: "info", sink: s, now });
    log.info("listening", { address: "0.0.0.0:2112" });
    log.debug("hidden");
    const err = Object.assign(new Error("boom"), { code: "EBUSY" });
    log.child({ app: "fwd" }).err("poll failed", { error: err });
    assert.equal(s.lines.length, 2);
    assert.deepEqual(JSON.parse(s.lines[0]!), { time: "2025-01-02T03:04:05.678Z", level: "info", name: "exporter", msg: "listening", address: "0.0.0.0:2112" });
    assert.deepEqual(JSON.parse(s.lines[1]!), {
      time: "2025-01-02T03:04:05.678Z",
      level: "err",
      name: "exporter",
      msg: "poll failed",
      app: "fwd",
      error: { message: "boom", code: "EBUSY" },
    });
  });

  test("text lines on a terminal", () => {
    const s = sink(true);
    const log = createLogger({ level: "debug", sink: s, now, name: "fwd" });
    log.warning("port down", { port: "eth0:0", note: "two words" });
    assert.equal(s.lines[0], '2025-01-02T03:04:05.678Z WARNING [fwd] port down port=eth0:0 note="two words"\n');
    assert.equal(log.enabled("debug"), true);
    assert.equal(createLogger({ level: "notice", sink: s }).enabled("info"), false);
  });

  test("XDPLANE_LOG_LEVEL and XDPLANE_LOG_FORMAT set the defaults", () => {
    const saved = { l: process.env.XDPLANE_LOG_LEVEL, f: process.env.XDPLANE_LOG_FORMAT };
    try {
      process.env.XDPLANE_LOG_LEVEL = "7";
      process.env.XDPLANE_LOG_FORMAT = "json";
      const log = createLogger({ sink: sink(true) });
      assert.equal(log.level, "debug");
      assert.equal(log.json, true);
    } finally {
      if (saved.l === undefined) delete process.env.XDPLANE_LOG_LEVEL;
      else process.env.XDPLANE_LOG_LEVEL = saved.l;
      if (saved.f === undefined) delete process.env.XDPLANE_LOG_FORMAT;
      else process.env.XDPLANE_LOG_FORMAT = saved.f;
    }
  });
});
