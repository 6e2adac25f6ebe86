/**
 * What the streams layer needs of a stack: one walk of its graph (which also runs the channels'
 * callbacks, the `chnl.dispatch()` step) and the TCP part of its channel API (src/cnet/chnl.ts, CNDP's
 * `chnl_*`; its event bits are chnl.ts's CHNL_EV_*). A {@link CnetStack} is one; tests also use a
 * stand-in (src/testing/fake-tcp.ts).
 *
 * @example
 * import type { StreamStack } from "xdplane/cnet";
 * const count = (s: StreamStack) => s.walk();
 */

/**
 * The TCP calls of the channel API the streams use (see /work/tmp/contracts.md, chnl.ts). All on the
 * stack's thread, between walks.
 *
 * @example
 * import type { TcpChannelApi } from "xdplane/cnet";
 * const listen = (ch: TcpChannelApi, port: number) => { const cd = ch.open("tcp"); ch.bind(cd, 0, port); ch.listen(cd, 128); return cd; };
 */
export interface TcpChannelApi {
  open(proto: "tcp"): number;
  bind(cd: number, ip: number, port: number): unknown;
  listen(cd: number, backlog: number): void;
  /** A new cd, or -1 when none is ready. */
  accept(cd: number): number;
  connect(cd: number, ip: number, port: number): void;
  /** TCP to an IPv6 peer (16 bytes at `ip6[off]`; `scope`: the ifindex of a link-local one); absent: IPv4 only. */
  connect6?(cd: number, ip6: Uint8Array, off: number, port: number, scope?: number): void;
  /** Bytes copied into the send buffer (0 when full: wait for WRITABLE). */
  send(cd: number, src: Uint8Array, off: number, len: number): number;
  /** Bytes copied out; 0 when nothing is there now; -1 at EOF. */
  recv(cd: number, dst: Uint8Array, off: number, max: number): number;
  shutdown(cd: number): void;
  close(cd: number): void;
  abort(cd: number): void;
  setCallback(cd: number, fn: ((cd: number, events: number) => void) | null): void;
  events(cd: number): number;
  setOption(cd: number, opt: "nodelay" | "keepalive", on: boolean): void;
  tcpState(cd: number): string;
  /** An end: IPv4 as a u32 in `ip`; with `family` 6, the 16 bytes in `ip6`. */
  peerOf(cd: number): { ip: number; port: number; family?: 4 | 6; ip6?: Uint8Array };
  localOf(cd: number): { ip: number; port: number; family?: 4 | 6; ip6?: Uint8Array };
}

/**
 * A stack the streams can run over: `walk()` (graph walk plus callbacks; returns the work done, 0 when
 * idle) and its channels.
 *
 * @example
 * import type { StreamStack } from "xdplane/cnet";
 * const spin = (s: StreamStack) => { while (s.walk() > 0); };
 */
export interface StreamStack {
  walk(): number;
  readonly chnl: TcpChannelApi;
}
