/**
 * Packet colors of the three-color markers (RFC 2697, RFC 2698), with DPDK's rte_color / CNDP's
 * cne_color values, so results can be stored in a Uint8Array per burst.
 *
 * @example
 * const colors = new Uint8Array(32).fill(COLOR_GREEN);
 * if (colors[0] === COLOR_RED) console.log("drop");
 */

/** Conforms to the committed rate and burst. */
export const COLOR_GREEN = 0;
/** Exceeds the committed burst (srTCM) or rate (trTCM) but not the excess burst or peak rate. */
export const COLOR_YELLOW = 1;
/** Exceeds the excess burst (srTCM) or the peak rate (trTCM). */
export const COLOR_RED = 2;

/**
 * One of COLOR_GREEN, COLOR_YELLOW, COLOR_RED.
 *
 * @example
 * const c: Color = COLOR_YELLOW;
 */
export type Color = typeof COLOR_GREEN | typeof COLOR_YELLOW | typeof COLOR_RED;

/**
 * The color's name, for logs and counters.
 *
 * @example
 * console.log(colorName(COLOR_RED)); // "red"
 */
export function colorName(c: number): string {
  return c === COLOR_GREEN ? "green" : c === COLOR_YELLOW ? "yellow" : c === COLOR_RED ? "red" : `color ${c}`;
}
