/**
 * net_tap: a TAP netdev created by the port (CNDP lib/core/pmds/net/tap), the exception path to the
 * kernel: what the port sends, the kernel receives on the TAP netdev; what the kernel sends out of it, the
 * port receives. /dev/net/tun with TUNSETIFF (IFF_TAP | IFF_NO_PI: plain Ethernet frames, no packet
 * information header), a non-blocking fd read and written one frame per call in bursts. The netdev is set
 * up at creation and disappears when the port closes, unless it is persistent (`persist`, TUNSETPERSIST)
 * or was there before (a persistent TAP the port attached to).
 */
import { openSync, closeSync, constants as FS } from "node:fs";
import { Lport, newPortState, type LportInfo, type LportShared } from "./lport.js";
import { PortClaim } from "./port-claim.js";
import { Mempool, type MempoolShared } from "../mem/mempool.js";
import { sys } from "../sys/native.js";
import { check, SysError } from "../sys/errno.js";
import { EAGAIN, POLLIN } from "../sys/consts.js";
import { NetlinkSocket } from "../netlink/socket.js";
import { getLink, setLinkUp } from "../netlink/link.js";
import * as S from "../xsk/stats.js";

// linux/if_tun.h: _IOW('T', 202, int) and _IOW('T', 203, int)
const TUNSETIFF = 0x400454ca;
const TUNSETPERSIST = 0x400454cb;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
/** struct ifreq: ifr_name[16], then the union (ifr_flags: short at 16); 40 bytes. */
const IFREQ_SIZE = 40;
const TUN_PATH = "/dev/net/tun";
/** Buffers kept ready for reads (CNDP keeps 128): taken from the pool a burst at a time. */
const SPARE = 64;

const W_CLAIM = 0;

export interface TapOptions {
  name: string;
  pid: number;
  /** Name of the TAP netdev (1 to 15 characters). */
  iface: string;
  mempool: Mempool;
  /** Keep the netdev after close (TUNSETPERSIST). */
  persist?: boolean;
}

export interface TapShared extends LportShared {
  fd: number;
  iface: string;
  ifindex: number;
  persist: boolean;
  mempool: MempoolShared;
  state: SharedArrayBuffer;
}

export class TapPort extends Lport {
  readonly fd: number;
  readonly iface: string;
  readonly ifindex: number;
  readonly persist: boolean;
  readonly pool: Mempool;
  private readonly mempool: Mempool;
  private readonly st: Int32Array;
  private readonly claim: PortClaim;
  private readonly creator: boolean;
  private readonly u8: Uint8Array;
  private readonly shift: number;
  private readonly room: number;
  private readonly dataOff: Uint16Array;
  private readonly dataLen: Uint16Array;
  private readonly portOf: Uint16Array;
  /** Buffers from the pool waiting for a frame: spare[0..spareN). Returned at release and close. */
  private readonly spare = new Uint32Array(SPARE);
  private spareN = 0;
  private readonly pfd = new Int32Array(2);
  private closed = false;

  private constructor(s: TapShared, mempool: Mempool, creator: boolean) {
    super(s);
    this.fd = s.fd;
    this.iface = s.iface;
    this.ifindex = s.ifindex;
    this.persist = s.persist;
    this.mempool = mempool;
    this.pool = mempool;
    this.st = new Int32Array(s.state);
    this.creator = creator;
    this.claim = new PortClaim(this.st, W_CLAIM, `net_tap ${s.name}`);
    const u = mempool.umem;
    this.u8 = u.u8;
    this.shift = u.shift;
    this.room = u.frameSize - u.headroom;
    this.dataOff = mempool.mbufs.dataOff;
    this.dataLen = mempool.mbufs.dataLen;
    this.portOf = mempool.mbufs.port;
  }

  /**
   * Creates (or attaches to a persistent) TAP netdev `iface` in the calling thread's network namespace and
   * sets it up. Undoes everything on failure.
   */
  static create(o: TapOptions): TapPort {
    if (o.iface.length === 0 || o.iface.length > 15 || /[\s/:]/.test(o.iface)) {
      throw new RangeError(`net_tap ${o.name}: invalid netdev name '${o.iface}' (1 to 15 characters without '/', ':' or spaces)`);
    }
    let fd = -1;
    let nl: NetlinkSocket | null = null;
    try {
      try {
        fd = openSync(TUN_PATH, FS.O_RDWR | FS.O_NONBLOCK);
      } catch (e) {
        throw new Error(`net_tap ${o.name}: cannot open ${TUN_PATH}: ${(e as Error).message} (needs the tun module and CAP_NET_ADMIN)`, { cause: e });
      }
      const existed = sys.ifNameToIndex(o.iface) > 0;
      const ifr = new Uint8Array(IFREQ_SIZE);
      const nameBytes = Buffer.from(o.iface, "utf8");
      if (nameBytes.length > 15) throw new RangeError(`net_tap ${o.name}: netdev name '${o.iface}' is longer than 15 bytes`);
      ifr.set(nameBytes, 0);
      new DataView(ifr.buffer).setUint16(16, IFF_TAP | IFF_NO_PI, true);
      check(sys.ioctl(fd, TUNSETIFF, ifr), () => `ioctl(TUNSETIFF ${o.iface} IFF_TAP|IFF_NO_PI) for ${o.name}`, (code) =>
        code === "EBUSY" ? "a TAP of that name is open elsewhere"
          : code === "EINVAL" ? "a netdev of that name exists and is not a TAP device"
            : code === "EPERM" ? "creating a TAP device needs CAP_NET_ADMIN" : undefined);
      if (o.persist) check(sys.ioctl(fd, TUNSETPERSIST, 1), `ioctl(TUNSETPERSIST ${o.iface})`);
      nl = NetlinkSocket.open();
      setLinkUp(nl, o.iface);
      const link = getLink(nl, o.iface);
      const port = new TapPort({
        driver: "net_tap", name: o.name, pid: o.pid, mac: link.mac ?? "00:00:00:00:00:00", ...newPortState(),
        fd, iface: o.iface, ifindex: link.index, persist: (o.persist ?? false) || existed, mempool: o.mempool.toShared(),
        state: new SharedArrayBuffer(8),
      }, o.mempool, true);
      port.claim.hold();
      return port;
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      throw e instanceof SysError || e instanceof RangeError || (e as Error).message.startsWith("net_tap") ? e
        : new Error(`net_tap ${o.name} (${o.iface}): ${(e as Error).message}`, { cause: e });
    } finally {
      nl?.close();
    }
  }

  /** Opens the port in another thread and claims it (throws while another object drives it). */
  static fromShared(s: TapShared, mempool?: Mempool): TapPort {
    const p = new TapPort(s, mempool ?? Mempool.fromShared(s.mempool), false);
    p.claim.claim();
    return p;
  }

  toShared(): TapShared {
    return {
      driver: this.driver, name: this.name, pid: this.pid, mac: this.mac,
      stats: this.stats.buffer as SharedArrayBuffer, admin: this.admin.buffer as SharedArrayBuffer,
      fd: this.fd, iface: this.iface, ifindex: this.ifindex, persist: this.persist, mempool: this.mempool.toShared(),
      state: this.st.buffer as SharedArrayBuffer,
    };
  }

  /**
   * Reads up to `max` frames the kernel sent out of the TAP netdev, one read() each until the fd is empty.
   * A frame longer than a buffer's room is cut by the kernel to that room.
   */
  rxBurst(bufs: Uint32Array, max: number): number {
    if (this.admin[0] !== 1) return 0;
    const spare = this.spare;
    const u8 = this.u8;
    const shift = this.shift;
    const room = this.room;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const portOf = this.portOf;
    const pid = this.pid;
    const fd = this.fd;
    let n = 0;
    let bytes = 0;
    let errors = 0;
    let nobuf = 0;
    while (n < max) {
      if (this.spareN === 0) {
        this.spareN = this.mempool.allocBulk(spare, SPARE);
        if (this.spareN === 0) {
          nobuf++;
          break;
        }
      }
      const h = spare[this.spareN - 1]!;
      const rc = sys.read(fd, u8, ((h << shift) >>> 0) + dataOff[h]!, room);
      if (rc < 0) {
        if (rc !== -EAGAIN) errors++;
        break;
      }
      if (rc < 14) {
        errors++;
        continue;
      }
      this.spareN--;
      dataLen[h] = rc;
      portOf[h] = pid;
      bufs[n++] = h;
      bytes += rc;
    }
    S.countRx(this.stats, n, bytes, errors, nobuf);
    return n;
  }

  /**
   * Writes up to `n` frames to the kernel, one write() each, and frees them. Returns how many it took:
   * all but those after an EAGAIN. A write the kernel refuses (the netdev is down: EIO) takes and frees
   * the frame and counts it in `oerrors`.
   */
  txBurst(bufs: Uint32Array, n: number): number {
    if (this.admin[0] !== 1) return 0;
    const u8 = this.u8;
    const shift = this.shift;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const fd = this.fd;
    let k = 0;
    let sent = 0;
    let bytes = 0;
    let errors = 0;
    for (; k < n; k++) {
      const h = bufs[k]!;
      const len = dataLen[h]!;
      const rc = sys.write(fd, u8, ((h << shift) >>> 0) + dataOff[h]!, len);
      if (rc === -EAGAIN) break;
      if (rc < 0) errors++;
      else {
        sent++;
        bytes += len;
      }
    }
    if (k > 0) this.mempool.freeBulk(bufs, k);
    S.countTx(this.stats, sent, bytes, errors);
    return k;
  }

  override readStats(): Record<string, number> {
    const r = super.readStats();
    r["rx_nombuf"] = this.stats[S.ST_FILL_NOBUF]!;
    return r;
  }

  override pollFd(): number {
    return this.fd;
  }

  override waitRx(ms: number): boolean {
    this.pfd[0] = this.fd;
    this.pfd[1] = POLLIN;
    return sys.poll(this.pfd, 1, ms) > 0;
  }

  override info(): LportInfo {
    return { ...super.info(), netdev: this.iface, qid: 0, fd: this.fd, ifindex: this.ifindex, persist: this.persist };
  }

  /** Returns the buffers kept for reads and gives the data path to another object. */
  override release(): void {
    this.returnSpare();
    this.claim.release();
  }

  private returnSpare(): void {
    if (this.spareN > 0) this.mempool.freeBulk(this.spare, this.spareN);
    this.spareN = 0;
  }

  /**
   * Returns the buffers kept for reads. The creator's close also closes the fd, which removes the netdev
   * unless it is persistent; another thread's object only releases the port.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.returnSpare();
    if (!this.creator) {
      this.claim.release();
      return;
    }
    this.claim.close();
    closeSync(this.fd);
  }
}
