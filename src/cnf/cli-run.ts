/**
 * What the apps' command lines share at stop: the frame report line, the exit code a report gives, and
 * running until SIGINT/SIGTERM or a duration.
 *
 * @example
 * const code = await runUntilStopped(async () => 0, 1); // 0 after one second
 */
import type { StopReport } from "./ports.js";

/**
 * The report's counters in one line ("frames leaked: 0, double frees: ..."), `extra` appended.
 *
 * @example
 * const report = { leakedFrames: 0, doubleFrees: null, badAllocs: null, badKernelReturns: null, poolOverflows: 0, txRejected: 0, threadErrors: [], faults: [] };
 * console.log(frameReportLine(report)); // frames leaked: 0, double frees: n/a (no --debug-frames), ...
 */
export function frameReportLine(report: StopReport, extra = ""): string {
  return `frames leaked: ${report.leakedFrames}, double frees: ${report.doubleFrees ?? "n/a (no --debug-frames)"}, ` +
    `bad kernel returns: ${report.badKernelReturns ?? "n/a"}, pool overflows: ${report.poolOverflows}, tx rejected: ${report.txRejected}${extra}\n`;
}

/**
 * The exit code of a stop: with the frame tracker on (`debug`), any fault fails the run; without it,
 * thread errors and frees that overflowed a pool (double frees beyond doubt) do, the other faults are
 * reported only.
 *
 * @example
 * const report = { leakedFrames: 0, doubleFrees: null, badAllocs: null, badKernelReturns: null, poolOverflows: 0, txRejected: 0, threadErrors: [], faults: [] };
 * reportExitCode(report, false); // 0
 */
export function reportExitCode(report: StopReport, debug: boolean): number {
  if (debug) return report.faults.length > 0 ? 1 : 0;
  return report.threadErrors.length > 0 || report.poolOverflows > 0 ? 1 : 0;
}

/**
 * Calls `stop` once, on SIGINT, SIGTERM or after `durationS` seconds (when given), and resolves with
 * its exit code (1 when it throws: the error goes to stderr).
 *
 * @example
 * const code = await runUntilStopped(async () => 0, 2);
 */
export function runUntilStopped(stop: () => Promise<number>, durationS?: number): Promise<number> {
  let stopping: Promise<number> | undefined;
  return new Promise<number>((resolve) => {
    const done = (): void => {
      if (stopping !== undefined) return;
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      if (timer !== undefined) clearTimeout(timer);
      stopping = stop();
      stopping.then(resolve, (e: Error) => {
        process.stderr.write(`error: ${e.message}\n`);
        resolve(1);
      });
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
    const timer = durationS !== undefined ? setTimeout(done, durationS * 1000) : undefined;
  });
}
