import { test } from "node:test";
import assert from "node:assert/strict";
import { frameReportLine, reportExitCode, runUntilStopped } from "./cli-run.js";
import { emptyReport } from "./ports.js";

test("runUntilStopped: stops once on the first signal, removes its listeners, resolves with the code", async () => {
  const before = process.listenerCount("SIGTERM");
  const beforeInt = process.listenerCount("SIGINT");
  let calls = 0;
  const p = runUntilStopped(async () => {
    calls++;
    return 3;
  });
  assert.equal(process.listenerCount("SIGTERM"), before + 1);
  process.emit("SIGTERM");
  process.emit("SIGINT" as "SIGTERM"); // a second signal while stopping: no second stop
  assert.equal(await p, 3);
  assert.equal(calls, 1);
  assert.equal(process.listenerCount("SIGTERM"), before);
  assert.equal(process.listenerCount("SIGINT"), beforeInt);
});

test("runUntilStopped: a duration stops it; a throwing stop gives 1", async () => {
  const before = process.listenerCount("SIGTERM");
  assert.equal(await runUntilStopped(async () => { throw new Error("boom"); }, 0.01), 1);
  assert.equal(process.listenerCount("SIGTERM"), before);
});

test("frameReportLine and reportExitCode", () => {
  const r = emptyReport();
  assert.equal(frameReportLine(r, ", x 1"), "frames leaked: 0, double frees: n/a (no --debug-frames), bad kernel returns: n/a, pool overflows: 0, tx rejected: 0, x 1\n");
  assert.equal(reportExitCode(r, true), 0);
  assert.equal(reportExitCode({ ...r, faults: ["3 frames leaked"] }, true), 1);
  assert.equal(reportExitCode({ ...r, faults: ["3 frames leaked"] }, false), 0);
  assert.equal(reportExitCode({ ...r, poolOverflows: 1 }, false), 1);
  assert.equal(reportExitCode({ ...r, threadErrors: ["x"] }, false), 1);
});
