/**
 * A raw AF_PACKET socket for tests: sends crafted frames and receives what comes back, on a netdev in
 * any namespace. Non-blocking, with poll for waiting.
 */
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { AF_PACKET, SOCK_RAW, SOCK_NONBLOCK, SOCK_CLOEXEC, MSG_DONTWAIT, POLLIN, SOL_SOCKET, SO_RCVBUF } from "../sys/consts.js";
import { inNetns } from "./netns.js";

const ETH_P_ALL = 0x0003;
const htons = (v: number) => ((v & 0xff) << 8) | ((v >> 8) & 0xff);

export class PacketSocket {
  readonly fd: number;
  readonly ifindex: number;
  private readonly pfd = new Int32Array(2);
  private closed = false;

  private constructor(fd: number, ifindex: number) {
    this.fd = fd;
    this.ifindex = ifindex;
  }

  /** Opens a packet socket bound to `dev` (inside namespace `ns` when given). */
  static open(dev: string, ns?: string): PacketSocket {
    const make = () => {
      const ifindex = check(sys.ifNameToIndex(dev), `if_nametoindex(${dev})`);
      const fd = check(sys.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL)), "socket(AF_PACKET)");
      // struct sockaddr_ll { u16 family; u16 protocol (be); s32 ifindex; u16 hatype; u8 pkttype; u8 halen; u8 addr[8] }
      const sll = new Uint8Array(20);
      const dv = new DataView(sll.buffer);
      dv.setUint16(0, AF_PACKET, true);
      dv.setUint16(2, ETH_P_ALL, false);
      dv.setInt32(4, ifindex, true);
      const rc = sys.bind(fd, sll);
      if (rc < 0) {
        sys.close(fd);
        check(rc, `bind(AF_PACKET ${dev})`);
      }
      const sz = new Int32Array([8 << 20]);
      sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, sz);
      return new PacketSocket(fd, ifindex);
    };
    return ns ? inNetns(ns, make) : make();
  }

  /** Sends one frame; returns false when the socket buffer is full (EAGAIN). */
  send(frame: Uint8Array): boolean {
    const rc = sys.sendto(this.fd, frame, MSG_DONTWAIT, null);
    if (rc === -11 || rc === -105) return false;
    check(rc, "sendto(AF_PACKET)");
    return true;
  }

  /** Receives one frame, or null when none is waiting. Outgoing frames (our own sends) are skipped. */
  recv(buf = new Uint8Array(65536)): Uint8Array | null {
    const rc = sys.recvfrom(this.fd, buf, MSG_DONTWAIT);
    if (rc === -11) return null;
    check(rc, "recvfrom(AF_PACKET)");
    return buf.slice(0, rc);
  }

  /** Waits up to `ms` for a frame to be readable. */
  wait(ms: number): boolean {
    this.pfd[0] = this.fd;
    this.pfd[1] = POLLIN;
    return check(sys.poll(this.pfd, 1, ms), "poll") > 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys.close(this.fd);
  }
}

/**
 * Builds a 64-byte (or `size`) UDP/IPv4 frame with sequence number `seq` written at payload offset 0.
 * Checksums are computed (IPv4 header; UDP checksum 0 = none).
 */
export function udpFrame(opts: { dst: string; src: string; seq: number; size?: number; srcIp?: string; dstIp?: string; sport?: number; dport?: number }): Uint8Array {
  const size = Math.max(opts.size ?? 64, 60);
  const f = new Uint8Array(size);
  const dv = new DataView(f.buffer);
  const mac = (s: string, off: number) => s.split(":").forEach((h, i) => (f[off + i] = parseInt(h, 16)));
  mac(opts.dst, 0);
  mac(opts.src, 6);
  dv.setUint16(12, 0x0800);
  const ipLen = size - 14;
  f[14] = 0x45;
  dv.setUint16(16, ipLen);
  dv.setUint16(18, opts.seq & 0xffff);
  f[22] = 64;
  f[23] = 17;
  const ipb = (s: string, off: number) => s.split(".").forEach((o, i) => (f[off + i] = Number(o)));
  ipb(opts.srcIp ?? "10.99.0.1", 26);
  ipb(opts.dstIp ?? "10.99.0.2", 30);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += dv.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  dv.setUint16(24, ~sum & 0xffff);
  dv.setUint16(34, opts.sport ?? 1234);
  dv.setUint16(36, opts.dport ?? 5678);
  dv.setUint16(38, ipLen - 20);
  dv.setUint32(42, opts.seq >>> 0);
  return f;
}
