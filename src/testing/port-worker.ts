/**
 * A worker thread for the port conformance tests (port-conformance.ts) and the memif tests: opens a port
 * from its shared form (the built-in drivers, its own pool objects), sends back every frame it receives
 * until `count` came or `ms` passed (idling in `waitRx` between bursts, across a memif peer's reconnects),
 * releases the port, flushes its pool caches and reports what it did. Not imported directly.
 */
import { workerData, parentPort } from "node:worker_threads";
import { openShared } from "../pktdev/registry.js";
import type { LportShared } from "../pktdev/lport.js";
import type { Mempool } from "../mem/mempool.js";

const d = workerData as { shared: LportShared; count: number; ms: number };
const pools = new Map<string, Mempool>();
const port = openShared(d.shared, pools);
const bufs = new Uint32Array(64);
let rx = 0;
let tx = 0;
try {
  const end = Date.now() + d.ms;
  while (rx < d.count && Date.now() < end) {
    const n = port.rxBurst(bufs, Math.min(64, d.count - rx));
    if (n === 0) {
      port.waitRx(5);
      continue;
    }
    rx += n;
    let done = 0;
    while (done < n && Date.now() < end) done += port.txBurst(bufs.subarray(done), n - done);
    tx += done;
    if (done < n) port.pool?.freeBulk(bufs, n - done, done);
  }
} finally {
  port.release();
  for (const mp of pools.values()) mp.flushCache();
  parentPort!.postMessage({ rx, tx, driver: port.driver });
}
