/**
 * pktdev: logical ports (CNDP lports) with one burst API over the af_xdp, ring and null drivers. A port
 * is built on the main thread, handed to a worker in its shared form, and driven there by one owner.
 *
 * @example
 * import { AfXdpPort } from "xdplane/pktdev";
 * const port = AfXdpPort.create({ name: "eth0:0", pid: 0, ifname: "eth0", qid: 0, mempool });
 * const bufs = new Uint32Array(64);
 * const n = port.rxBurst(bufs, 64);
 * const sent = port.txBurst(bufs, n);
 *
 * @module
 */
export type { LportInfo, LportShared } from "./lport.js";
/**
 * The port base class: `rxBurst(bufs, n)`, `txBurst(bufs, n)` (CNDP's pktdev_rx_burst/tx_burst), counters
 * in shared memory (`stats`, `readStats()`), admin state, `toShared()`/`release()`/`close()`.
 *
 * @example
 * const n = port.rxBurst(bufs, bufs.length);
 * const sent = port.txBurst(bufs, n);
 * if (sent < n) port.pool!.freeBulk(bufs, n - sent, sent);
 */
export { Lport } from "./lport.js";
/**
 * Shared counters and admin words for a new port (for authors of their own drivers).
 *
 * @example
 * const state = newPortState(); // { stats, admin } SharedArrayBuffers
 */
export { newPortState } from "./lport.js";
export type { NullShared } from "./null.js";
/**
 * net_null: a port that receives frames from its pool and frees what it sends (pipelines and benchmarks).
 *
 * @example
 * const port = NullPort.create({ name: "null0", pid: 0, mempool });
 */
export { NullPort } from "./null.js";
export type { RingPortShared } from "./ring-port.js";
/**
 * net_ring: a port over two rings of handles, between threads of one process.
 *
 * @example
 * const port = RingPort.create({ name: "ring0", pid: 0, mbufs: mempool.mbufs });
 */
export { RingPort } from "./ring-port.js";
export type { AfXdpOptions, AfXdpShared } from "./af-xdp.js";
/**
 * net_af_xdp: a port over an AF_XDP socket on a netdev queue (the XSK redirect program is attached when
 * the first port of a netdev opens, or the socket goes into a device plugin's XSKMAP: `xskMapFd`).
 *
 * @example
 * const port = AfXdpPort.create({ name: "eth0:0", pid: 0, ifname: "eth0", qid: 0, mempool, rxSize: 2048, txSize: 2048 });
 * // ... port.close() detaches the program when the last port on eth0 closes
 */
export { AfXdpPort } from "./af-xdp.js";
export type { PortOpener } from "./registry.js";
/**
 * Port drivers by pmd name, to reopen a port from its shared form in another thread.
 *
 * @example
 * // An opener per pmd name; an app's own driver goes in the same way.
 * const drivers = new DriverRegistry()
 *   .register("net_null", (s, pools) => NullPort.fromShared(s as NullShared, threadPool((s as NullShared).mempool, pools)));
 * const port = openShared(shared, new Map(), drivers);
 */
export { DriverRegistry } from "./registry.js";
/**
 * A registry holding net_null, net_ring and net_af_xdp.
 *
 * @example
 * const port = openShared(shared, new Map(), builtinDrivers());
 */
export { builtinDrivers } from "./registry.js";
/**
 * Opens a port in this thread from its shared form (claims its rings: one owner per ring).
 *
 * @example
 * const port = openShared(shared); // in a worker, after the main thread's port.release()
 */
export { openShared } from "./registry.js";
/**
 * This thread's object for a pool, one per pool name (for driver openers).
 *
 * @example
 * const open: PortOpener = (s, pools) => NullPort.fromShared(s as NullShared, threadPool((s as NullShared).mempool, pools));
 */
export { threadPool } from "./registry.js";
