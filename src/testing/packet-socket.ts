/**
 * A raw AF_PACKET socket for tests: sends crafted frames and receives what comes back, on a netdev in
 * any namespace. Non-blocking, with poll for waiting.
 */
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { AF_PACKET, SOCK_RAW, SOCK_NONBLOCK, SOCK_CLOEXEC, MSG_DONTWAIT, POLLIN, SOL_SOCKET, SO_RCVBUF } from "../sys/consts.js";
import { inNetns } from "./netns.js";
import { udpFrame as buildUdpFrame } from "../wire/udp-frame.js";

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

/** Builds a UDP/IPv4 frame (default 64 bytes) with sequence number `seq` at payload offset 0. */
export function udpFrame(opts: { dst: string; src: string; seq: number; size?: number; srcIp?: string; dstIp?: string; sport?: number; dport?: number }): Uint8Array {
  return buildUdpFrame({ srcIp: "10.99.0.1", dstIp: "10.99.0.2", ...opts });
}
