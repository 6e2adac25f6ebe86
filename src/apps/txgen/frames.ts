/**
 * The exact frame report (cnf's StopReport) for what txgen builds itself: the ports given in code
 * (`TxgenOptions.ports`), each with its own UMEM and pool. Config-defined ports come from the framework's
 * PortSet, whose close() gives the same report; {@link mergeReports} adds the two.
 *
 * The counting mirrors PortSet.close (cnf/ports.ts): the framework has no call that closes ports and checks
 * pools it did not build (see the txgen notes in the report of this change).
 */
import type { StopReport } from "../../cnf/index.js";
import { emptyReport } from "../../cnf/ports.js";
import type { Mempool } from "../../mem/mempool.js";
import { countStates } from "../../mem/tracker.js";
import type { Lport } from "../../pktdev/lport.js";

/** TX descriptors refused by the given ports (read them before closing them). */
export function txRejectedOf(ports: readonly Lport[]): number {
  let n = 0;
  for (const p of ports) {
    try {
      n += p.readStats()["tx_invalid"] ?? 0;
    } catch { /* a port whose socket failed: nothing to add */ }
  }
  return n;
}

/**
 * Checks that every frame of `pools` is back (call it after their ports closed), with the tracker's counts
 * when the pools track frames. `txRejected` and `errors` are reported with the rest.
 */
export function poolsReport(pools: readonly Mempool[], txRejected: number, errors: readonly Error[]): StopReport {
  const r = emptyReport();
  r.txRejected = txRejected;
  if (txRejected > 0) r.faults.push(`${txRejected} TX descriptors rejected (invalid offset or length)`);
  for (const mp of pools) {
    mp.flushCache();
    const missing = mp.count - mp.available();
    r.leakedFrames += missing;
    r.poolOverflows += mp.overflows;
    if (missing !== 0) r.faults.push(`${missing} frames of pool '${mp.name}' not returned (of ${mp.count})`);
    if (mp.overflows !== 0) r.faults.push(`${mp.overflows} frees did not fit back into pool '${mp.name}' (freed more often than allocated)`);
    const t = mp.tracker;
    if (!t) continue;
    const st = countStates(mp.mbufs.owner, mp.first, mp.count);
    if (st.app + st.kernel !== missing) {
      r.faults.push(`pool '${mp.name}': the tracker holds ${st.app} frames in the application and ${st.kernel} in the kernel, but ${missing} are missing from the pool`);
    }
    r.doubleFrees = (r.doubleFrees ?? 0) + t.doubleFrees;
    r.badAllocs = (r.badAllocs ?? 0) + t.badAllocs;
    r.badKernelReturns = (r.badKernelReturns ?? 0) + t.badKernelReturns;
    if (t.doubleFrees) r.faults.push(`${t.doubleFrees} double frees in pool '${mp.name}' (handles ${t.sampleHandles().join(", ")})`);
    if (t.badAllocs) r.faults.push(`${t.badAllocs} frames handed out while not free in pool '${mp.name}'`);
    if (t.badKernelReturns) r.faults.push(`${t.badKernelReturns} frames returned by the kernel that it was not given, pool '${mp.name}'`);
  }
  for (const e of errors) {
    r.threadErrors.push(e.message);
    r.faults.push(e.message);
  }
  return r;
}

/** The sum of two reports (tracker counts stay null only when neither tracked). */
export function mergeReports(a: StopReport, b: StopReport): StopReport {
  const add = (x: number | null, y: number | null) => (x === null && y === null ? null : (x ?? 0) + (y ?? 0));
  return {
    leakedFrames: a.leakedFrames + b.leakedFrames,
    doubleFrees: add(a.doubleFrees, b.doubleFrees),
    badAllocs: add(a.badAllocs, b.badAllocs),
    badKernelReturns: add(a.badKernelReturns, b.badKernelReturns),
    poolOverflows: a.poolOverflows + b.poolOverflows,
    txRejected: a.txRejected + b.txRejected,
    threadErrors: [...a.threadErrors, ...b.threadErrors],
    faults: [...a.faults, ...b.faults],
  };
}
