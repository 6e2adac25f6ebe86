/**
 * The client side of the AF_XDP device plugin's UDS handshake: how an unprivileged pod gets the XSKMAP fd
 * of its netdev from the device plugin (ours or upstream's), and asks it to turn on busy poll for its
 * XSK socket. Wire contract: ../shared/reference/afxdp-k8s-protocol.md.
 *
 * Two forms with the same calls:
 * - {@link UdsClientSync}: blocking, with a timeout per reply. For the control path of a data-plane process
 *   (port setup), where the plugin is another process. This is what lport setup with `uds_path` uses.
 * - {@link UdsClient}: promises on the event loop (for a server in the same process, e.g. tests).
 *
 * Sequences: DPDK's PMD sends `/connect,<hostname>`, `/version`, `/xsk_map_fd,<iface>`, `/fin` (once per
 * queue); CNDP sends `/connect,<hostname>`, `/xsk_map_fd,<ifname>` per port on one connection, optionally
 * `/config_busy_poll,<timeout>,<budget>` with its XSK fd, and `/fin` at close.
 *
 * @example
 * // CNDP's sequence for two ports on one connection:
 * const c = UdsClientSync.connect("/tmp/afxdp_dp/ens1f0/afxdp.sock");
 * const map0 = c.xskMapFd("ens1f0");
 * const map1 = c.xskMapFd("ens1f1");
 * // ... create the XSK sockets, insert them into the maps ...
 * c.configBusyPoll(xskFd, 20, 64);
 * c.fin();
 *
 * // DPDK's one-shot form:
 * const mapFd = requestXskMapFd("/tmp/afxdp_dp/ens1f0/afxdp.sock", "ens1f0");
 */
import { hostname } from "node:os";
import { sys } from "../sys/native.js";
import { check, SysError } from "../sys/errno.js";
import { AF_UNIX, SOCK_SEQPACKET, SOCK_CLOEXEC, MSG_NOSIGNAL, POLLIN, EINTR } from "../sys/consts.js";
import { connectSeqpacket, sockaddrUn, type SeqpacketConn } from "../uds/seqpacket.js";
import * as P from "./uds-protocol.js";

/** The plugin answered something other than the success reply. */
export class HandshakeError extends Error {
  /** The request sent. */
  readonly request: string;
  /** The reply received ("" when the connection closed instead). */
  readonly reply: string;
  constructor(request: string, reply: string, what: string) {
    super(`UDS handshake: ${what} (request '${request}', reply ${reply === "" ? "none: connection closed" : `'${reply}'`})`);
    this.name = "HandshakeError";
    this.request = request;
    this.reply = reply;
  }
}

export interface ClientOptions {
  /** The pod name sent with `/connect`; default `gethostname()` (the pod name inside a pod). */
  podName?: string;
  /** Milliseconds to wait for each reply; default 5000. */
  timeoutMs?: number;
}

const MAX_REPLY = 256;

/** A blocking handshake connection. */
export class UdsClientSync {
  private fd: number;
  private readonly timeoutMs: number;
  private readonly rbuf = Buffer.alloc(MAX_REPLY);
  private readonly fdsOut = new Int32Array(1 + 4);

  private constructor(fd: number, timeoutMs: number) {
    this.fd = fd;
    this.timeoutMs = timeoutMs;
  }

  /** Connects to `path` and sends `/connect,<podName>`; throws HandshakeError unless `/host_ok`. */
  static connect(path: string, opts: ClientOptions = {}): UdsClientSync {
    const fd = check(sys.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), "socket(AF_UNIX, SOCK_SEQPACKET)");
    const rc = sys.connect(fd, sockaddrUn(path));
    if (rc < 0) {
      sys.close(fd);
      check(rc, () => `connect(device plugin socket '${path}')`, (code) =>
        code === "ENOENT" ? "is the device mounted into this container (resource requested)?" : undefined);
    }
    const c = new UdsClientSync(fd, opts.timeoutMs ?? 5000);
    try {
      const req = `${P.REQ_CONNECT},${opts.podName ?? hostname()}`;
      const { text } = c.request(req);
      if (text !== P.RES_HOST_OK) throw new HandshakeError(req, text, "the plugin did not accept this pod");
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /** `/version` -> the handshake version ("0.1"). */
  version(): string {
    return this.request(P.REQ_VERSION).text;
  }

  /** `/xsk_map_fd,<iface>` -> the XSKMAP fd of `iface` (the caller owns it and closes it). */
  xskMapFd(iface: string): number {
    const req = `${P.REQ_XSK_MAP_FD},${iface}`;
    const { text, fds } = this.request(req);
    if (text !== P.RES_FD_ACK || fds.length === 0) {
      for (const f of fds) sys.close(f);
      throw new HandshakeError(req, text, text === P.RES_FD_NAK ? `${iface} is not allocated to this pod` : "no XSKMAP fd");
    }
    for (const f of fds.slice(1)) sys.close(f);
    return fds[0]!;
  }

  /** `/config_busy_poll,<timeout>,<budget>` with the XSK socket fd; throws unless acknowledged. */
  configBusyPoll(xskFd: number, timeoutUs: number, budget: number): void {
    const req = `${P.REQ_BUSY_POLL},${timeoutUs},${budget}`;
    const { text, fds } = this.request(req, [xskFd]);
    for (const f of fds) sys.close(f);
    if (text !== P.RES_BUSY_POLL_ACK) throw new HandshakeError(req, text, "busy poll not configured");
  }

  /** `/fin` -> `/fin_ack`, then closes. */
  fin(): void {
    try {
      const { text } = this.request(P.REQ_FIN);
      if (text !== P.RES_FIN_ACK) throw new HandshakeError(P.REQ_FIN, text, "no /fin_ack");
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.fd >= 0) sys.close(this.fd);
    this.fd = -1;
  }

  /** Sends one request and waits for one reply. */
  request(text: string, fds?: number[]): { text: string; fds: number[] } {
    if (this.fd < 0) throw new Error("UDS handshake connection is closed");
    const msg = Buffer.from(text, "latin1");
    check(sys.sendmsg(this.fd, msg, fds && fds.length > 0 ? Int32Array.from(fds) : null, MSG_NOSIGNAL), () => `sendmsg('${text}')`);
    const deadline = Date.now() + this.timeoutMs;
    const pfd = new Int32Array(2);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new SysError(`UDS handshake: no reply to '${text}' within ${this.timeoutMs} ms`, 110 /* ETIMEDOUT */);
      pfd[0] = this.fd;
      pfd[1] = POLLIN;
      const n = sys.poll(pfd, 1, left);
      if (n === -EINTR) continue;
      check(n, "poll(UDS handshake)");
      if (n === 0) continue;
      const rc = sys.recvmsg(this.fd, this.rbuf, this.fdsOut, 0);
      if (rc === -EINTR) continue;
      check(rc, () => `recvmsg(reply to '${text}')`);
      const got: number[] = [];
      for (let i = 0; i < this.fdsOut[0]!; i++) got.push(this.fdsOut[1 + i]!);
      if (rc === 0 && got.length === 0) return { text: "", fds: [] }; // closed by the plugin
      return { text: this.rbuf.toString("latin1", 0, rc), fds: got };
    }
  }
}

/**
 * DPDK's sequence in one call: connect, `/version`, `/xsk_map_fd,<iface>`, `/fin`. Returns the XSKMAP fd
 * of `iface` (the caller owns it). This is the call for a port that only needs the map fd.
 */
export function requestXskMapFd(socketPath: string, iface: string, opts: ClientOptions = {}): number {
  const c = UdsClientSync.connect(socketPath, opts);
  try {
    c.version();
    const fd = c.xskMapFd(iface);
    try {
      c.fin();
    } catch (e) {
      sys.close(fd);
      throw e;
    }
    return fd;
  } finally {
    c.close();
  }
}

/** A handshake connection on the event loop (promises). */
export class UdsClient {
  private readonly conn: SeqpacketConn;
  private readonly timeoutMs: number;
  private inbox: { text: string; fds: number[] }[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;

  private constructor(conn: SeqpacketConn, timeoutMs: number) {
    this.conn = conn;
    this.timeoutMs = timeoutMs;
    conn.onMessage((msg, fds) => {
      this.inbox.push({ text: msg.toString("latin1"), fds });
      this.waiter?.();
    });
    conn.onClose(() => {
      this.closed = true;
      this.waiter?.();
    });
  }

  /** Connects and sends `/connect,<podName>`; rejects with HandshakeError unless `/host_ok`. */
  static async connect(path: string, opts: ClientOptions = {}): Promise<UdsClient> {
    const c = new UdsClient(connectSeqpacket(path, { maxMessage: MAX_REPLY }), opts.timeoutMs ?? 5000);
    try {
      const req = `${P.REQ_CONNECT},${opts.podName ?? hostname()}`;
      const { text } = await c.request(req);
      if (text !== P.RES_HOST_OK) throw new HandshakeError(req, text, "the plugin did not accept this pod");
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  async version(): Promise<string> {
    return (await this.request(P.REQ_VERSION)).text;
  }

  async xskMapFd(iface: string): Promise<number> {
    const req = `${P.REQ_XSK_MAP_FD},${iface}`;
    const { text, fds } = await this.request(req);
    if (text !== P.RES_FD_ACK || fds.length === 0) {
      for (const f of fds) sys.close(f);
      throw new HandshakeError(req, text, text === P.RES_FD_NAK ? `${iface} is not allocated to this pod` : "no XSKMAP fd");
    }
    for (const f of fds.slice(1)) sys.close(f);
    return fds[0]!;
  }

  async configBusyPoll(xskFd: number, timeoutUs: number, budget: number): Promise<void> {
    const req = `${P.REQ_BUSY_POLL},${timeoutUs},${budget}`;
    const { text, fds } = await this.request(req, [xskFd]);
    for (const f of fds) sys.close(f);
    if (text !== P.RES_BUSY_POLL_ACK) throw new HandshakeError(req, text, "busy poll not configured");
  }

  async fin(): Promise<void> {
    try {
      const { text } = await this.request(P.REQ_FIN);
      if (text !== P.RES_FIN_ACK) throw new HandshakeError(P.REQ_FIN, text, "no /fin_ack");
    } finally {
      this.close();
    }
  }

  close(): void {
    this.conn.close();
    for (const m of this.inbox.splice(0)) for (const f of m.fds) sys.close(f);
  }

  /** Sends one request (raw text) and waits for one reply; "" when the plugin closed the connection. */
  async request(text: string, fds?: number[]): Promise<{ text: string; fds: number[] }> {
    if (!this.conn.send(Buffer.from(text, "latin1"), fds)) return { text: "", fds: [] };
    return this.next(`reply to '${text}'`);
  }

  /** The next message from the plugin ("" once closed). */
  async next(what = "message"): Promise<{ text: string; fds: number[] }> {
    const deadline = Date.now() + this.timeoutMs;
    while (this.inbox.length === 0 && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new SysError(`UDS handshake: no ${what} within ${this.timeoutMs} ms`, 110);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          resolve();
        };
      });
    }
    return this.inbox.shift() ?? { text: "", fds: [] };
  }
}
