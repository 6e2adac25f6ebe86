/**
 * A NETLINK_ROUTE socket: requests with sequence numbers, acknowledgements, multipart dump replies, and
 * NLMSG_ERROR turned into a SysError that names the request and carries the kernel's extended ack
 * message ("RTM_NEWLINK set netns eth1: EEXIST (File exists): ...").
 *
 * Layouts from include/uapi/linux/netlink.h (struct nlmsghdr, struct nlmsgerr, NLM_F_*, NLMSGERR_ATTR_*)
 * and Documentation/userspace-api/netlink/intro.rst.
 *
 * @example
 * const nl = NetlinkSocket.open();                  // or NetlinkSocket.open({ netns: "/run/netns/pod" })
 * try { const links = listLinks(nl); } finally { nl.close(); }
 */
import { sys } from "../sys/native.js";
import { check, SysError } from "../sys/errno.js";
import { FdHandle } from "../sys/fd-handle.js";
import { AF_NETLINK, SOCK_CLOEXEC, SOCK_RAW, SOL_SOCKET, SO_RCVTIMEO, MSG_TRUNC } from "../sys/consts.js";
import { Attrs, align4 } from "./attr.js";
import { withNetns } from "./netns.js";

export const NETLINK_ROUTE = 0;

/** nlmsghdr flags. */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  DUMP_INTR: 0x10,
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  // For NEW requests:
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  // In NLMSG_ERROR acks:
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSG_HDRLEN = 16;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const NLMSGERR_ATTR_MSG = 1;
const MSG_PEEK = 0x2;

/** One reply message: its type, flags, and payload (after the nlmsghdr). */
export interface NlMessage {
  type: number;
  flags: number;
  data: Uint8Array;
}

export interface NetlinkOptions {
  /** Open the socket in this network namespace (a path, or a name under /run/netns). */
  netns?: string;
  /** How long to wait for a reply, in ms (at least 1), default 5000. */
  timeoutMs?: number;
}

/** An rtnetlink socket, owning its fd: close it with `close()` or `using`. */
export class NetlinkSocket extends FdHandle {
  private seq: number;
  private buf = new Uint8Array(65536);

  private constructor(fd: number) {
    super(fd);
    this.seq = Math.floor(Math.random() * 0x7fffffff);
  }

  /** Opens a NETLINK_ROUTE socket, in namespace `opts.netns` when given. */
  static open(opts: NetlinkOptions = {}): NetlinkSocket {
    const ms = opts.timeoutMs ?? 5000;
    if (!Number.isFinite(ms) || ms < 1) throw new RangeError(`Invalid netlink timeoutMs ${ms}: expected a number of milliseconds >= 1`);
    const make = () => check(sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), "socket(AF_NETLINK, NETLINK_ROUTE)");
    const fd = opts.netns ? withNetns(opts.netns, make) : make();
    return FdHandle.closeOnThrow(fd, () => {
      const one = new Int32Array([1]);
      // Extended acks carry the kernel's error text; capped acks do not echo our request back.
      sys.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one);
      sys.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one);
      const tv = new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt(Math.floor((ms % 1000) * 1000))]); // struct timeval
      check(sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv), "setsockopt(netlink SO_RCVTIMEO)");
      const sa = new Uint8Array(12); // struct sockaddr_nl { u16 family; u16 pad; u32 pid; u32 groups }
      new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
      check(sys.bind(fd, sa), "bind(netlink)");
      return new NetlinkSocket(fd);
    });
  }

  /**
   * Sends one request (`body` = fixed header + attributes) with NLM_F_ACK and returns the replies that
   * came before the ack (e.g. the RTM_NEWLINK answering an RTM_GETLINK). `flags` adds NLM_F_CREATE,
   * NLM_F_EXCL, NLM_F_REPLACE and the like. Throws a SysError naming `what` on NLMSG_ERROR.
   */
  request(type: number, flags: number, body: Uint8Array, what: string): NlMessage[] {
    return this.exchange(type, NLM_F.REQUEST | NLM_F.ACK | flags, body, what);
  }

  /** A dump request (NLM_F_DUMP): every message of the multipart reply, up to NLMSG_DONE. */
  dump(type: number, body: Uint8Array, what: string): NlMessage[] {
    return this.exchange(type, NLM_F.REQUEST | NLM_F.DUMP, body, what);
  }

  private exchange(type: number, flags: number, body: Uint8Array, what: string): NlMessage[] {
    if (this.closed) throw new Error(`${what}: netlink socket is closed`);
    for (let attempt = 0; ; attempt++) {
      const seq = this.send(type, flags, body, what);
      const { msgs, interrupted } = this.receive(seq, what);
      if (!interrupted || attempt >= 4) return msgs;
      // NLM_F_DUMP_INTR: the table changed during the dump; ask again.
    }
  }

  private send(type: number, flags: number, body: Uint8Array, what: string): number {
    this.seq = (this.seq + 1) >>> 0;
    const msg = new Uint8Array(NLMSG_HDRLEN + align4(body.length));
    const dv = new DataView(msg.buffer);
    dv.setUint32(0, NLMSG_HDRLEN + body.length, true); // nlmsg_len
    dv.setUint16(4, type, true); // nlmsg_type
    dv.setUint16(6, flags, true); // nlmsg_flags
    dv.setUint32(8, this.seq, true); // nlmsg_seq
    dv.setUint32(12, 0, true); // nlmsg_pid: the kernel fills ours in
    msg.set(body, NLMSG_HDRLEN);
    const kernel = new Uint8Array(12);
    new DataView(kernel.buffer).setUint16(0, AF_NETLINK, true);
    check(sys.sendto(this.fd, msg, 0, kernel), () => `${what}: send`);
    return this.seq;
  }

  private recvOne(what: string): Uint8Array {
    // Peek at the size first so a large reply is never truncated.
    const need = check(sys.recvfrom(this.fd, this.buf.subarray(0, 1), MSG_PEEK | MSG_TRUNC), () => `${what}: waiting for the kernel's reply`, (code) =>
      code === "EAGAIN" ? "no reply within the timeout" : undefined);
    if (need > this.buf.length) this.buf = new Uint8Array(align4(need) + 4096);
    const n = check(sys.recvfrom(this.fd, this.buf, 0), () => `${what}: receive`);
    return this.buf.subarray(0, n);
  }

  private receive(seq: number, what: string): { msgs: NlMessage[]; interrupted: boolean } {
    const msgs: NlMessage[] = [];
    let interrupted = false;
    for (;;) {
      const chunk = this.recvOne(what);
      const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let at = 0;
      while (at + NLMSG_HDRLEN <= chunk.length) {
        const len = dv.getUint32(at, true);
        const type = dv.getUint16(at + 4, true);
        const flags = dv.getUint16(at + 6, true);
        const mseq = dv.getUint32(at + 8, true);
        if (len < NLMSG_HDRLEN || at + len > chunk.length) throw new Error(`${what}: malformed netlink reply (length ${len})`);
        const data = chunk.slice(at + NLMSG_HDRLEN, at + len);
        at += align4(len);
        if (mseq !== seq) continue; // a late answer to an earlier request
        if (flags & NLM_F.DUMP_INTR) interrupted = true;
        if (type === NLMSG_ERROR) {
          const ddv = new DataView(data.buffer, data.byteOffset, data.byteLength);
          const err = -ddv.getInt32(0, true);
          if (err === 0) return { msgs, interrupted }; // the ack
          throw new SysError(what, err, extAckMessage(data, flags));
        }
        if (type === NLMSG_DONE) {
          const err = data.length >= 4 ? -new DataView(data.buffer, data.byteOffset).getInt32(0, true) : 0;
          if (err > 0) throw new SysError(what, err, extAckMessage(data, flags, 4));
          return { msgs, interrupted };
        }
        msgs.push({ type, flags, data }); // for a non-dump request the ack follows
      }
    }
  }
}

/** The kernel's text from an extended ack (NLMSGERR_ATTR_MSG), if any. */
function extAckMessage(data: Uint8Array, flags: number, tlvStart?: number): string | undefined {
  if (!(flags & NLM_F.ACK_TLVS)) return undefined;
  let off = tlvStart;
  if (off === undefined) {
    // struct nlmsgerr { int error; struct nlmsghdr msg; } then the request's payload unless capped.
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const origLen = data.length >= 8 ? dv.getUint32(4, true) : NLMSG_HDRLEN;
    off = 4 + (flags & NLM_F.CAPPED ? NLMSG_HDRLEN : align4(origLen));
  }
  return Attrs.parse(data, off).str(NLMSGERR_ATTR_MSG);
}
