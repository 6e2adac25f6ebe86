/**
 * Test helper for flood tests of SEQPACKET servers: a client that sent requests without reading catches
 * up, reading every reply (checked in order) and sending the rest of its requests, until all `total` are
 * answered or `ms` passes.
 */
import { sys } from "../sys/native.js";
import { AF_UNIX, SOCK_SEQPACKET, SOCK_CLOEXEC, SOCK_NONBLOCK, MSG_DONTWAIT, MSG_NOSIGNAL, EAGAIN } from "../sys/consts.js";
import { sockaddrUn } from "../uds/seqpacket.js";

export interface CatchUp {
  /** Requests in all, and how many were sent already. */
  total: number;
  sent: number;
  /** Request number i. */
  request(i: number): Buffer;
  /** Checks reply number i (its bytes); throws when it is not the one expected. */
  reply(i: number, bytes: Buffer): void;
  /** Called once per round (to sample the server's queue, say). */
  onRound?: () => void;
  /** Gives up after this long (default 8000 ms). */
  ms?: number;
  /** Receive buffer size (default 256). */
  bufSize?: number;
}

/** Reads replies and sends the rest of the requests on `fd`; returns how many replies were read. */
export async function catchUp(fd: number, o: CatchUp): Promise<number> {
  const rbuf = Buffer.alloc(o.bufSize ?? 256);
  const fdsOut = new Int32Array(17);
  let next = 0;
  let sent = o.sent;
  const end = Date.now() + (o.ms ?? 8000);
  while (next < o.total && Date.now() < end) {
    let progressed = false;
    for (;;) {
      const rc = sys.recvmsg(fd, rbuf, fdsOut, MSG_DONTWAIT);
      if (rc === -EAGAIN) break;
      if (rc <= 0) throw new Error(`recvmsg: ${rc} after ${next} replies`);
      o.reply(next, rbuf.subarray(0, rc));
      next++;
      progressed = true;
    }
    while (sent < o.total) {
      if (sys.sendmsg(fd, o.request(sent), null, MSG_DONTWAIT | MSG_NOSIGNAL) === -EAGAIN) break;
      sent++;
      progressed = true;
    }
    o.onRound?.();
    await new Promise((r) => (progressed ? setImmediate(r) : setTimeout(r, 1)));
  }
  return next;
}

/** A raw non-blocking SEQPACKET client fd on `path` (no SeqpacketConn: the test decides when it reads). */
export function rawConnect(path: string): number {
  const fd = sys.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket(AF_UNIX): ${fd}`);
  const rc = sys.connect(fd, sockaddrUn(path));
  if (rc !== 0) {
    sys.close(fd);
    throw new Error(`connect(${path}): ${rc}`);
  }
  return fd;
}
