/**
 * What an app shows to telemetry: its ports, its threads and their counters, as plain data.
 *
 * An app implements {@link AppModel}; the command socket (app-socket.ts) calls it only when a client asks,
 * on the main thread. The forwarder builds these objects from the counters its data-plane workers keep in
 * SharedArrayBuffers (one Float64Array per worker): reading them costs the workers nothing, takes no lock
 * and sends no message. Counters are totals since start (monotonic); the exporter turns them into
 * Prometheus counters.
 *
 * Port counter names are CNDP's `lport_stats_t` fields (lib/core/pktdev/pktdev_api.h), and the UDS key
 * suffixes are those of CNDP's `metrics_port_stats()` (lib/usr/app/metrics/metrics.c), so CNDP tools read
 * our sockets and our exporter reads CNDP apps.
 */

/** The port counters, as CNDP's `lport_stats_t`. */
export type LportStatName =
  | "ipackets"
  | "opackets"
  | "ibytes"
  | "obytes"
  | "ierrors"
  | "oerrors"
  | "imissed"
  | "odropped"
  | "rx_invalid"
  | "tx_invalid"
  | "rx_ring_empty"
  | "rx_buf_alloc"
  | "rx_busypoll_wakeup"
  | "rx_poll_wakeup"
  | "rx_rcvd_count"
  | "rx_burst_called"
  | "fq_add_called"
  | "fq_add_count"
  | "fq_full"
  | "fq_alloc_zero"
  | "fq_reserve_failed"
  | "tx_kicks"
  | "tx_kick_failed"
  | "tx_kick_again"
  | "tx_ring_full"
  | "tx_copied"
  | "cq_empty"
  | "cq_buf_freed";

/** Port counters; an app fills those it has. */
export type LportStats = Partial<Record<LportStatName, number>>;

/** How one port counter appears on the UDS socket and in Prometheus. */
export interface LportStatMeta {
  /** The `lport_stats_t` field. */
  field: LportStatName;
  /** The key suffix in `/metrics/port_stats` (`<port>_<uds>`), as CNDP writes it. */
  uds: string;
  /** The Prometheus metric name (without the `_total` suffix counters get). */
  prom: string;
  help: string;
}

/** Every port counter, in CNDP's order. All are counters (monotonic totals). */
export const LPORT_STATS: readonly LportStatMeta[] = [
  { field: "ibytes", uds: "n_rx_bytes", prom: "xdplane_port_rx_bytes", help: "Bytes received on the port." },
  { field: "obytes", uds: "n_tx_bytes", prom: "xdplane_port_tx_bytes", help: "Bytes sent on the port." },
  { field: "ipackets", uds: "n_rx_packets", prom: "xdplane_port_rx_packets", help: "Packets received on the port." },
  { field: "opackets", uds: "n_tx_packets", prom: "xdplane_port_tx_packets", help: "Packets sent on the port." },
  { field: "ierrors", uds: "n_rx_errors", prom: "xdplane_port_rx_errors", help: "Receive errors." },
  { field: "oerrors", uds: "n_tx_errors", prom: "xdplane_port_tx_errors", help: "Transmit errors." },
  { field: "imissed", uds: "n_rx_missed", prom: "xdplane_port_rx_missed", help: "Packets the kernel dropped because the RX ring or fill ring was empty (xdp_statistics.rx_dropped + rx_ring_full + rx_fill_ring_empty_descs)." },
  { field: "odropped", uds: "n_tx_dropped", prom: "xdplane_port_tx_dropped", help: "Packets dropped on transmit (TX ring full, no room)." },
  { field: "rx_invalid", uds: "n_rx_invalid_requests", prom: "xdplane_port_rx_invalid", help: "Invalid RX descriptors (xdp_statistics.rx_invalid_descs)." },
  { field: "tx_invalid", uds: "n_tx_invalid_requests", prom: "xdplane_port_tx_invalid", help: "Invalid TX frames: refused by txBurst before posting (length 0, or past the frame end) plus the kernel's xdp_statistics.tx_invalid_descs." },
  { field: "rx_ring_empty", uds: "n_rx_ring_empty", prom: "xdplane_port_rx_ring_empty", help: "RX bursts that found the RX ring empty." },
  { field: "rx_buf_alloc", uds: "n_rx_buf_allocs", prom: "xdplane_port_rx_buf_allocs", help: "Buffers allocated for the fill ring." },
  { field: "rx_busypoll_wakeup", uds: "n_rx_busypoll_wakeup", prom: "xdplane_port_rx_busypoll_wakeups", help: "Busy-poll wakeups (recvfrom) on receive." },
  { field: "rx_poll_wakeup", uds: "n_rx_poll_wakeup", prom: "xdplane_port_rx_poll_wakeups", help: "poll() wakeups on receive." },
  { field: "rx_rcvd_count", uds: "n_rx_count", prom: "xdplane_port_rx_descs", help: "Descriptors taken from the RX ring." },
  { field: "rx_burst_called", uds: "n_rx_burst_called", prom: "xdplane_port_rx_bursts", help: "RX burst calls." },
  { field: "fq_add_called", uds: "n_fq_add_called", prom: "xdplane_port_fq_add_calls", help: "Fill ring refills." },
  { field: "fq_add_count", uds: "n_fq_add_count", prom: "xdplane_port_fq_added", help: "Buffers put on the fill ring." },
  { field: "fq_full", uds: "n_fq_full", prom: "xdplane_port_fq_full", help: "Fill ring refills that found the ring full." },
  { field: "fq_alloc_zero", uds: "n_fq_alloc_zero", prom: "xdplane_port_fq_alloc_zero", help: "Fill ring refills that got no buffers from the mempool." },
  { field: "fq_reserve_failed", uds: "n_fq_reserve_failed", prom: "xdplane_port_fq_reserve_failed", help: "Fill ring reservations that failed." },
  { field: "tx_kicks", uds: "n_tx_kicks", prom: "xdplane_port_tx_kicks", help: "TX wakeups (sendto kicks)." },
  { field: "tx_kick_failed", uds: "n_tx_failed_kicks", prom: "xdplane_port_tx_kick_failed", help: "TX kicks that failed." },
  { field: "tx_kick_again", uds: "n_tx_kick_again", prom: "xdplane_port_tx_kick_again", help: "TX kicks answered EAGAIN/EBUSY." },
  { field: "tx_ring_full", uds: "tx_ring_full", prom: "xdplane_port_tx_ring_full", help: "TX bursts that found the TX ring full." },
  { field: "tx_copied", uds: "tx_copied", prom: "xdplane_port_tx_copied", help: "Packets copied into UMEM frames for transmit." },
  { field: "cq_empty", uds: "cq_empty", prom: "xdplane_port_cq_empty", help: "Completion ring reads that found it empty." },
  { field: "cq_buf_freed", uds: "cq_buf_freed", prom: "xdplane_port_cq_buf_freed", help: "Buffers freed from the completion ring." },
];

/** UDS key suffix -> counter. */
export const LPORT_STAT_BY_UDS: ReadonlyMap<string, LportStatMeta> = new Map(LPORT_STATS.map((m) => [m.uds, m]));

/** A port (CNDP lport) as the app shows it. */
export interface PortStats {
  /** The lport id (CNDP `lpid`). */
  id: number;
  /** The lport name (CNDP `"<netdev>:<tag>"`, e.g. `"eth0:0"`). */
  name: string;
  netdev: string;
  qid: number;
  /** The driver, CNDP's `pmd_name` (`"net_af_xdp"`, ...). */
  pmd: string;
  /** Whether the port is administratively up (pktdev admin state). */
  adminUp: boolean;
  /** Whether the netdev's link is up; omit when unknown (counts as up). */
  linkUp?: boolean;
  stats: LportStats;
}

/** A thread of the app, CNDP's `jcfg_thd_t` plus its state and counters. */
export interface ThreadInfo {
  id: number;
  name: string;
  /** The lcore group (jcfg `group`). */
  group: string;
  /** The thread type (jcfg thread key before ':', e.g. `"main"`, `"fwd"`). */
  type: string;
  /** Names of the ports it serves. */
  ports: string[];
  /** False while stopped (paused) by `/app/stop`. */
  running: boolean;
  /** CPUs it is pinned to, when pinned. */
  lcores?: number[];
  /** Counters of the thread (monotonic totals), e.g. `{ rx_bursts: 10, idle_loops: 3 }`. Names: [a-z0-9_]. */
  counters?: Record<string, number>;
}

/**
 * An app as telemetry sees it. Called on the main thread when a client asks; implementations read shared
 * counters, they never stop or message the workers.
 */
export interface AppModel {
  /** The app name (`/app/appname`), e.g. `"fwd"`. */
  readonly name: string;
  ports(): PortStats[];
  threads(): ThreadInfo[];
  /** Resumes a stopped thread. Throws for an unknown id or a thread that cannot be controlled. */
  startThread(id: number): void;
  /** Stops (pauses) a thread: it stops polling its ports but keeps its resources. */
  stopThread(id: number): void;
}

/** Whether a port counts as up: admin up and link up (or link unknown). */
export function portUp(p: Pick<PortStats, "adminUp" | "linkUp">): boolean {
  return p.adminUp && p.linkUp !== false;
}

/** Names pktdev/xsk counters use (src/xsk/stats.ts STAT_NAMES) for CNDP's fields, where they differ. */
const STAT_ALIASES: Readonly<Record<string, LportStatName>> = {
  rx_empty_polls: "rx_ring_empty",
  fill_nobuf: "fq_alloc_zero",
  rx_wakeups: "rx_poll_wakeup",
  tx_completed: "cq_buf_freed",
};

/**
 * Port counters from a name -> value record, as `pktdev` `readStats()` gives: CNDP field names are taken
 * as they are, xsk names are mapped (rx_empty_polls -> rx_ring_empty, fill_nobuf -> fq_alloc_zero,
 * rx_wakeups -> rx_poll_wakeup, tx_completed -> cq_buf_freed), others are left out.
 *
 * @example
 * const stats = lportStatsFrom(port.readStats()); // { ipackets: 10, ibytes: 640, rx_ring_empty: 3, ... }
 */
export function lportStatsFrom(record: Readonly<Record<string, number>>): LportStats {
  const out: LportStats = {};
  for (const [k, v] of Object.entries(record)) {
    const field = STAT_ALIASES[k] ?? (LPORT_FIELDS.has(k) ? (k as LportStatName) : undefined);
    if (field !== undefined && typeof v === "number") out[field] = (out[field] ?? 0) + v;
  }
  return out;
}

const LPORT_FIELDS: ReadonlySet<string> = new Set(LPORT_STATS.map((m) => m.field));
