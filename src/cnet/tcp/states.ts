/**
 * TCP connection states (RFC 9293 section 3.3.2) as small integers, and their names.
 *
 * @example
 * console.log(TCP_STATE_NAMES[TCP_ESTABLISHED]); // "ESTABLISHED"
 */

/** No connection (a free slot, or a channel not yet listening or connecting). */
export const TCP_CLOSED = 0;
/** Waiting for connection requests. */
export const TCP_LISTEN = 1;
/** SYN sent, waiting for the SYN-ACK. */
export const TCP_SYN_SENT = 2;
/** SYN received and answered, waiting for the ACK. */
export const TCP_SYN_RECEIVED = 3;
/** Open: data flows both ways. */
export const TCP_ESTABLISHED = 4;
/** We closed (FIN sent), waiting for its ACK or the peer's FIN. */
export const TCP_FIN_WAIT_1 = 5;
/** Our FIN is acknowledged, waiting for the peer's. */
export const TCP_FIN_WAIT_2 = 6;
/** The peer closed, we may still send. */
export const TCP_CLOSE_WAIT = 7;
/** Both closed at once, waiting for the ACK of our FIN. */
export const TCP_CLOSING = 8;
/** The peer closed first, then we did: waiting for the ACK of our FIN. */
export const TCP_LAST_ACK = 9;
/** Both sides done: the connection lingers 2*MSL to absorb late segments. */
export const TCP_TIME_WAIT = 10;

/**
 * RFC 793 names by state number.
 *
 * @example
 * const name = TCP_STATE_NAMES[10]; // "TIME_WAIT"
 */
export const TCP_STATE_NAMES: readonly string[] = [
  "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
  "CLOSING", "LAST_ACK", "TIME_WAIT",
];
