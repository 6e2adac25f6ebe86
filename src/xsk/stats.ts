/**
 * Per-socket counters in a Float64Array over a SharedArrayBuffer: the data-plane thread adds to them once
 * per burst; the main thread and telemetry read them without locks. Names follow CNDP's xskdev stats.
 */
export const ST_IPACKETS = 0;
export const ST_IBYTES = 1;
export const ST_OPACKETS = 2;
export const ST_OBYTES = 3;
/** Packets the kernel could not deliver (its XDP_STATISTICS rx_dropped + rx_ring_full, read on demand). */
export const ST_IMISSED = 4;
export const ST_IERRORS = 5;
/** Packets the caller offered that did not fit the TX ring. */
export const ST_ODROPPED = 6;
export const ST_OERRORS = 7;
export const ST_RX_EMPTY_POLLS = 8;
/** Times the fill ring could not be refilled because the mempool was empty. */
export const ST_FILL_NOBUF = 9;
export const ST_TX_KICKS = 10;
/** Kicks answered EAGAIN/EBUSY (copy mode sends 32 per call). */
export const ST_TX_KICK_AGAIN = 11;
export const ST_RX_WAKEUPS = 12;
export const ST_COMPLETED = 13;
/**
 * Frames txBurst refused because the kernel would reject their descriptor (length 0, or data crossing
 * the frame end): freed into the mempool, never posted.
 */
export const ST_TX_INVALID = 14;
/** Busy polling: recvfrom() calls made to run the queue's NAPI (a TX kick in between makes one unneeded). */
export const ST_BUSY_POLLS = 15;
export const ST_COUNT = 16;

export const STAT_NAMES: readonly string[] = [
  "ipackets", "ibytes", "opackets", "obytes", "imissed", "ierrors", "odropped", "oerrors",
  "rx_empty_polls", "fill_nobuf", "tx_kicks", "tx_kick_again", "rx_wakeups", "tx_completed", "tx_invalid",
  "busy_polls",
];

export function newStats(): Float64Array {
  return new Float64Array(new SharedArrayBuffer(ST_COUNT * 8));
}

/**
 * Adds one RX burst to a port's counters: `n` packets of `bytes` in all, `errors` frames refused,
 * `nobuf` buffers the pool could not give; an empty burst counts as an empty poll.
 *
 * @example
 * const s = newStats();
 * countRx(s, 2, 128, 0, 0); // ipackets 2, ibytes 128
 */
export function countRx(s: Float64Array, n: number, bytes: number, errors: number, nobuf: number): void {
  if (n === 0) s[ST_RX_EMPTY_POLLS]!++;
  s[ST_IPACKETS]! += n;
  s[ST_IBYTES]! += bytes;
  if (errors !== 0) s[ST_IERRORS]! += errors;
  if (nobuf !== 0) s[ST_FILL_NOBUF]! += nobuf;
}

/**
 * Adds one TX burst to a port's counters: `sent` packets of `bytes` in all, `errors` frames the
 * kernel or the peer refused.
 *
 * @example
 * const s = newStats();
 * countTx(s, 2, 128, 1); // opackets 2, obytes 128, oerrors 1
 */
export function countTx(s: Float64Array, sent: number, bytes: number, errors: number): void {
  s[ST_OPACKETS]! += sent;
  s[ST_OBYTES]! += bytes;
  if (errors !== 0) s[ST_OERRORS]! += errors;
}
