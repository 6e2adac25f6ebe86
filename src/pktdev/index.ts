/**
 * pktdev: logical ports (CNDP lports) with one burst API over the af_xdp, af_packet, tap, pcap, memif,
 * ring and null drivers. A port
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
export type { AfPacketOptions, AfPacketShared } from "./af-packet.js";
/**
 * net_af_packet: a port over an AF_PACKET socket with TPACKET_V3 RX and TX rings on a netdev (any netdev,
 * no XDP needed). Frames are copied between the rings and the pool's buffers; the ports of one netdev
 * share a PACKET_FANOUT group that spreads received packets over them.
 *
 * @example
 * // Two queues on eth0, packets spread by flow hash.
 * const q0 = AfPacketPort.create({ name: "eth0:0", pid: 0, ifname: "eth0", qid: 0, mempool, fanout: "hash" });
 * const q1 = AfPacketPort.create({ name: "eth0:1", pid: 1, ifname: "eth0", qid: 1, mempool, fanout: "hash" });
 * const got = q0.rxBurst(bufs, bufs.length);
 * const sent = q0.txBurst(bufs, got);
 * if (sent < got) mempool.freeBulk(bufs, got - sent, sent);
 * q1.close();
 * q0.close();
 */
export { AfPacketPort } from "./af-packet.js";
export type { TapOptions, TapShared } from "./tap.js";
/**
 * net_tap: creates a TAP netdev and exchanges Ethernet frames with the kernel through it (the exception
 * path). The netdev is set up at creation and removed at close unless `persist`.
 *
 * @example
 * const tap = TapPort.create({ name: "tap0", pid: 0, iface: "tap0", mempool });
 * const n = tap.rxBurst(bufs, bufs.length); // what the kernel sent out of tap0
 * tap.txBurst(bufs, n);                     // back into the kernel
 * tap.close();                              // tap0 is gone
 */
export { TapPort } from "./tap.js";
export type { PcapOptions, PcapShared, PcapClock } from "./pcap.js";
/**
 * net_pcap: replays a pcap file on RX (at a rate, looped) and writes what it sends to a pcap file; needs
 * no privilege.
 *
 * @example
 * const p = PcapPort.create({ name: "pcap0", pid: 0, mempool, rx: "in.pcap", tx: "out.pcap", rate: 1000, loop: 3 });
 * const n = p.rxBurst(bufs, bufs.length);
 * p.txBurst(bufs, n); // appended to out.pcap
 * p.close();          // out.pcap written out and closed
 */
export { PcapPort } from "./pcap.js";
export type { PcapIndexShared } from "./pcap-file.js";
/**
 * A classic pcap file read whole into shared memory, its records indexed (net_pcap's reader).
 *
 * @example
 * const f = PcapIndex.read("in.pcap");
 * const first = f.frame(0); // a view of record 0's bytes
 */
export { PcapIndex } from "./pcap-file.js";
/**
 * Appends records to a pcap file (nanosecond timestamps, Ethernet), buffered, allocation-free per frame.
 *
 * @example
 * const w = PcapWriter.create("out.pcap");
 * w.append(frame, 0, frame.length, 1_700_000_000, 0);
 * w.close();
 */
export { PcapWriter } from "./pcap-file.js";
export type { MemifOptions, MemifShared } from "./memif.js";
/**
 * net_memif: a port on one queue pair of a memif interface, the shared-memory packet interface of VPP and
 * DPDK (protocol 2.0, server and client roles, copy mode). A client creates the shared memory and
 * reconnects by itself; while the peer is away the link is down (`linkUp()`), RX is empty and TX frees
 * and counts what it is given. `toShared()` hands the queue to a worker thread; the control channel
 * stays on the creating thread's event loop.
 *
 * @example
 * // A server in this process and a client (DPDK's testpmd, VPP, or another xdplane) on /run/memif.sock.
 * const port = MemifPort.create({ name: "memif0:0", pid: 0, mempool, role: "server", socket: "/run/memif.sock", id: 0 });
 * await port.whenUp(10_000);
 * const got = port.rxBurst(bufs, bufs.length);
 * const sent = port.txBurst(bufs, got);
 * if (sent < got) mempool.freeBulk(bufs, got - sent, sent);
 * port.close(); // tells the peer "Device closed"
 */
export { MemifPort } from "./memif.js";
export type { MemifConnInfo, MemifConnState } from "./memif-control.js";
export type { MemifPmdOptions, MemifRole } from "./memif-options.js";
/**
 * Parses `net_memif` options (DPDK's devargs names: role, id, socket, socket-abstract, secret, rsize,
 * bsize, mac, zero-copy=no; xdplane's: queues, reconnect_ms, shm_size; or CNDP's bare `server`/`client`).
 *
 * @example
 * const o = parseMemifOptions("role=server,socket=/run/memif.sock,socket-abstract=no,id=1,secret=abc");
 * // o.role === "server", o.socketAbstract === false
 */
export { parseMemifOptions } from "./memif-options.js";
export type { FanoutMode, AfPacketPmdOptions, TapPmdOptions, PcapPmdOptions } from "./pmd-options.js";
/**
 * Parses `net_af_packet` options (the part of the jsonc `pmd` after ':').
 *
 * @example
 * const o = parseAfPacketOptions("fanout=lb,block_size=131072"); // o.fanout === "lb"
 */
export { parseAfPacketOptions } from "./pmd-options.js";
/**
 * Parses `net_tap` options.
 *
 * @example
 * const o = parseTapOptions("iface=tap7,persist=1"); // { iface: "tap7", persist: true }
 */
export { parseTapOptions } from "./pmd-options.js";
/**
 * Parses `net_pcap` options.
 *
 * @example
 * const o = parsePcapOptions("rx=/tmp/in.pcap,tx=/tmp/out.pcap,rate=1000,loop=3");
 */
export { parsePcapOptions } from "./pmd-options.js";
/**
 * The error in a driver's options, or undefined (net_af_packet, net_tap, net_pcap, net_memif; others have none checked).
 *
 * @example
 * const err = pmdOptionsError("net_pcap", "rate=fast"); // "net_pcap option 'rate=fast': expected an integer ..."
 */
export { pmdOptionsError } from "./pmd-options.js";
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
 * A registry holding net_null, net_ring, net_af_xdp, net_af_packet, net_tap, net_pcap and net_memif.
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
