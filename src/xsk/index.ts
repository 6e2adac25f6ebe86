/**
 * xsk: the AF_XDP socket and its fill, completion, RX and TX rings (Documentation/networking/af_xdp.rst),
 * turning RX descriptors into frame handles and handles into TX descriptors. Most apps use it through
 * `pktdev`'s `AfXdpPort`; this is the layer below for those who drive a socket themselves.
 *
 * @example
 * import { XskSocket } from "xdplane/xsk";
 * const xsk = XskSocket.create({ ifname: "eth0", qid: 0, mempool });
 * const n = xsk.rxBurst(bufs, 64);
 * xsk.close();
 *
 * @module
 */
export type { XskOptions, XskShared, CopyMode } from "./socket.js";
/**
 * An AF_XDP socket bound to a netdev queue, its rings over the mempool's UMEM; one owner drives the rings
 * (`claim()`/`release()`), `toShared()`/`fromShared()` cross threads.
 *
 * @example
 * const xsk = XskSocket.create({ ifname: "eth0", qid: 0, mempool, rxSize: 2048, txSize: 2048 });
 * const n = xsk.rxBurst(bufs, bufs.length);
 * const sent = xsk.txBurst(bufs, n);
 */
export { XskSocket } from "./socket.js";
/**
 * A socket's entry in an XSKMAP (a map received from the device plugin or a pin); `remove()` deletes it.
 *
 * @example
 * const slot = XskMapSlot.insert(mapFd, 0, xsk.fd, "eth0:0");
 * slot.remove();
 */
export { XskMapSlot } from "./xdp-prog.js";
/**
 * The socket's counter names, in the order of its stats array (`readStats()` uses them).
 *
 * @example
 * STAT_NAMES.forEach((name, i) => console.log(name, xsk.stats[i]));
 */
export { STAT_NAMES } from "./stats.js";
export { NapiKnobs, PREFER_BUSY_POLL_KNOBS, type NapiKnobValues } from "./napi-knobs.js";
export type { XdpStatistics } from "./if-xdp.js";
