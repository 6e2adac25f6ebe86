/**
 * The AF_XDP device plugin's UDS handshake: the exact strings, limits and paths shared by our server
 * (uds-server.ts) and client (uds-client.ts). Wire contract: ../shared/reference/afxdp-k8s-protocol.md
 * (the upstream AF_XDP device plugin for Kubernetes, DPDK's net/af_xdp and CNDP's client speak it).
 *
 * AF_UNIX SOCK_SEQPACKET; one message is one request or reply; plain ASCII, no terminator; arguments
 * separated by ","; fds as SCM_RIGHTS (one per message).
 */

/** Handshake version answered to `/version` (bare, no slash). */
export const HANDSHAKE_VERSION = "0.1";

export const REQ_CONNECT = "/connect";
export const REQ_VERSION = "/version";
export const REQ_XSK_MAP_FD = "/xsk_map_fd";
export const REQ_BUSY_POLL = "/config_busy_poll";
export const REQ_FIN = "/fin";

export const RES_HOST_OK = "/host_ok";
export const RES_HOST_NAK = "/host_nak";
export const RES_FD_ACK = "/fd_ack";
export const RES_FD_NAK = "/fd_nak";
export const RES_BUSY_POLL_ACK = "/config_busy_poll_ack";
export const RES_BUSY_POLL_NAK = "/config_busy_poll_nak";
export const RES_FIN_ACK = "/fin_ack";
export const RES_NAK = "/nak";
export const RES_ERROR = "/error";

/** Upstream's request buffer (DPDK's too): 64 bytes. Our server reads up to {@link SERVER_MAX_MESSAGE}. */
export const UPSTREAM_MSG_BUF = 64;
/** The longest request our server reads whole; longer ones are answered `/nak` (or end a fresh connection). */
export const SERVER_MAX_MESSAGE = 512;

/** Socket of one device inside the container (current layout). */
export function containerSocketPath(netdev: string): string {
  return `/tmp/afxdp_dp/${netdev}/afxdp.sock`;
}
/** Folder of one device inside the container (current layout): holds afxdp.sock and, pinned, xsks_map. */
export function containerDeviceDir(netdev: string): string {
  return `/tmp/afxdp_dp/${netdev}`;
}
/** Pinned XSKMAP of one device inside the container (current layout). */
export function containerMapPath(netdev: string): string {
  return `/tmp/afxdp_dp/${netdev}/xsks_map`;
}
/** The older layout (device plugin up to commit 38317c2; DPDK 23.03-23.11): one socket per container. */
export const LEGACY_CONTAINER_SOCKET = "/tmp/afxdp.sock";
export const LEGACY_CONTAINER_MAP = "/tmp/xsks_map";
/** Name of the pinned XSKMAP in a device's bpffs. */
export const XSKS_MAP_NAME = "xsks_map";
/** Name of the socket file in a device's socket folder. */
export const SOCKET_NAME = "afxdp.sock";

/** Env var listing a pool's netdevs (space-separated) in the current layout: `AFXDP_DEVICES_<POOL>`. */
export function devicesEnvVar(pool: string): string {
  return `AFXDP_DEVICES_${pool.toUpperCase()}`;
}
/** Env var of the older layout. */
export const LEGACY_DEVICES_ENV = "AFXDP_DEVICES";
/** Resource name prefix: pools are advertised as `afxdp/<pool>`. */
export const RESOURCE_PREFIX = "afxdp";
export function resourceName(pool: string): string {
  return `${RESOURCE_PREFIX}/${pool}`;
}
