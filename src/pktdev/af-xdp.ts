/**
 * net_af_xdp: a port over an AF_XDP socket (xsk/socket.ts) on one netdev queue.
 *
 * Privileged mode loads the XSK redirect program on the netdev (one per netdev, shared by its queues,
 * drv mode unless `skbMode`) and inserts the socket into its XSKMAP. Unprivileged mode (CNDP's
 * `xsk_pin_path` / `uds_path`) takes the XSKMAP from the caller, as an fd, and loads no program: only
 * CAP_NET_RAW (socket) and CAP_IPC_LOCK (UMEM) are needed.
 *
 * `multiBuffer` (jsonc `"multi_buffer": true`) receives and sends jumbo frames as mbuf chains: the socket
 * binds with XDP_USE_SG and the program is loaded frags-aware. Checked on Linux 6.18 with veth at MTU
 * 9000 (copy mode): native (drv) mode needs the frags-aware program (veth refuses another with ERANGE:
 * its MTU needs more than a page per frame), generic (skb) mode works with either; each RX buffer holds
 * up to frame size - 256 bytes (1792 for 2048-byte frames: a 9000-byte frame is six descriptors); TX
 * takes up to 18 descriptors per packet (MAX_SKB_FRAGS + 1), a 19th makes the kernel drop the packet.
 * In unprivileged mode the program is the device plugin's: it must be frags-aware for jumbo frames.
 */
import { Lport, newPortState, type LportInfo, type LportShared } from "./lport.js";
import { XskSocket, type XskShared, type CopyMode } from "../xsk/socket.js";
import { XskMapSlot, type XdpProgramRef, acquireXdpProgram } from "../xsk/xdp-prog.js";
import { Mempool, type MempoolShared } from "../mem/mempool.js";
import { NetlinkSocket } from "../netlink/socket.js";
import { getLink } from "../netlink/link.js";
import { SysError } from "../sys/errno.js";
import { NapiKnobs, PREFER_BUSY_POLL_KNOBS, type NapiKnobValues } from "../xsk/napi-knobs.js";

export interface AfXdpOptions {
  name: string;
  pid: number;
  ifname: string;
  qid: number;
  mempool: Mempool;
  rxSize?: number;
  txSize?: number;
  /** Attach the program in skb (generic) mode instead of drv (native) mode. */
  skbMode?: boolean;
  copyMode?: CopyMode;
  busyPoll?: { timeoutUs: number; budget: number };
  /**
   * With busyPoll, privileged, on a socket the kernel gave a NAPI to poll: the netdev's NAPI knobs
   * for preferred busy polling (default {@link PREFER_BUSY_POLL_KNOBS}: napi_defer_hard_irqs 2,
   * gro_flush_timeout 200 us), set when they are 0 and restored at close; false leaves them alone.
   */
  napiKnobs?: NapiKnobValues | false;
  forceWakeup?: boolean;
  needWakeup?: boolean;
  /** Share the UMEM with this port's socket (XDP_SHARED_UMEM). */
  shareUmemWith?: AfXdpPort;
  /**
   * Multi-buffer (jumbo) frames: XDP_USE_SG and a frags-aware program (see the module comment). rxBurst
   * returns chains for frames larger than a buffer; txBurst sends chains. Default false.
   */
  multiBuffer?: boolean;
  /**
   * Unprivileged mode: the XSKMAP fd (from the device plugin's UDS or a pinned map). The caller keeps
   * ownership of the fd.
   */
  xskMapFd?: number;
  log?: (msg: string) => void;
}

export interface AfXdpShared extends LportShared {
  xsk: XskShared;
  mempool: MempoolShared;
  ifname: string;
  qid: number;
  skbMode: boolean;
  unprivileged: boolean;
  multiBuffer?: boolean;
}

/**
 * The netdev's MAC address, asked over rtnetlink in the calling thread's namespace (sysfs would show the
 * namespace it was mounted in, wrong for ports opened inside another one).
 */
function readMac(ifname: string): string {
  let nl: NetlinkSocket | null = null;
  try {
    nl = NetlinkSocket.open();
    return getLink(nl, ifname).mac ?? "00:00:00:00:00:00";
  } catch {
    return "00:00:00:00:00:00";
  } finally {
    nl?.close();
  }
}

export class AfXdpPort extends Lport {
  readonly xsk: XskSocket;
  readonly ifname: string;
  readonly qid: number;
  readonly skbMode: boolean;
  readonly unprivileged: boolean;
  private prog: XdpProgramRef | null = null;
  private slot: XskMapSlot | null = null;
  private knobs: NapiKnobs | null = null;
  private readonly mempool: Mempool;
  readonly pool: Mempool;

  private constructor(s: AfXdpShared, xsk: XskSocket, mempool: Mempool) {
    super(s);
    this.xsk = xsk;
    this.ifname = s.ifname;
    this.qid = s.qid;
    this.skbMode = s.skbMode;
    this.unprivileged = s.unprivileged;
    this.mempool = mempool;
    this.pool = mempool;
  }

  /** Opens the socket and wires it to the netdev queue; releases everything it did on failure. */
  static create(o: AfXdpOptions): AfXdpPort {
    const skbMode = o.skbMode ?? false;
    let prog: XdpProgramRef | null = null;
    let xsk: XskSocket | null = null;
    let slot: XskMapSlot | null = null;
    let knobs: NapiKnobs | null = null;
    try {
      const mapFd = o.xskMapFd ?? (prog = acquireXdpProgram(o.ifname, skbMode ? "skb" : "drv", o.log, { frags: o.multiBuffer ?? false })).mapFd;
      xsk = XskSocket.create({
        ifname: o.ifname, qid: o.qid, mempool: o.mempool, name: o.name, portId: o.pid,
        ...(o.rxSize !== undefined ? { rxSize: o.rxSize } : {}),
        ...(o.txSize !== undefined ? { txSize: o.txSize } : {}),
        ...(o.copyMode !== undefined ? { copyMode: o.copyMode } : {}),
        ...(o.busyPoll !== undefined ? { busyPoll: o.busyPoll } : {}),
        ...(o.forceWakeup !== undefined ? { forceWakeup: o.forceWakeup } : {}),
        ...(o.needWakeup !== undefined ? { needWakeup: o.needWakeup } : {}),
        ...(o.shareUmemWith !== undefined ? { shareUmemWith: o.shareUmemWith.xsk } : {}),
        ...(o.multiBuffer !== undefined ? { multiBuffer: o.multiBuffer } : {}),
        ...(o.log !== undefined ? { log: o.log } : {}),
      });
      slot = XskMapSlot.insert(mapFd, o.qid, xsk.fd, o.name);
      // Preferred busy polling owns NAPI only with the netdev's interrupts deferred (see napi-knobs.ts).
      if (xsk.busyPoll && o.xskMapFd === undefined && o.napiKnobs !== false) {
        knobs = NapiKnobs.acquire(o.ifname, xsk.ifindex, o.napiKnobs ?? PREFER_BUSY_POLL_KNOBS, o.log ?? (() => {}));
      }
      const port = new AfXdpPort({
        driver: "net_af_xdp", name: o.name, pid: o.pid, mac: readMac(o.ifname),
        admin: newPortState().admin, stats: xsk.stats.buffer as SharedArrayBuffer,
        xsk: xsk.toShared(), mempool: o.mempool.toShared(), ifname: o.ifname, qid: o.qid, skbMode,
        unprivileged: o.xskMapFd !== undefined, multiBuffer: xsk.multiBuffer,
      }, xsk, o.mempool);
      port.prog = prog;
      port.slot = slot;
      port.knobs = knobs;
      return port;
    } catch (e) {
      knobs?.release();
      slot?.remove();
      xsk?.close();
      prog?.release();
      if (e instanceof SysError && e.code === "ERANGE" && prog === null && o.xskMapFd === undefined && !o.multiBuffer && !skbMode) {
        // Native XDP refused a program without frags: the netdev's MTU needs more than a page per frame.
        e.message += `: ${o.ifname}'s MTU is too large for an XDP program without frags in drv mode; open the port with multi-buffer ("multi_buffer": true, a frags-aware program) or in skb mode`;
      }
      throw e;
    }
  }

  /** Opens the port in a worker thread: the data path moves there; close() stays with the creator. */
  static fromShared(s: AfXdpShared, mempool?: Mempool): AfXdpPort {
    const mp = mempool ?? Mempool.fromShared(s.mempool);
    return new AfXdpPort(s, XskSocket.fromShared(s.xsk, mp), mp);
  }

  toShared(): AfXdpShared {
    return {
      driver: this.driver, name: this.name, pid: this.pid, mac: this.mac,
      stats: this.stats.buffer as SharedArrayBuffer, admin: this.admin.buffer as SharedArrayBuffer,
      xsk: this.xsk.toShared(), mempool: this.mempool.toShared(), ifname: this.ifname, qid: this.qid,
      skbMode: this.skbMode, unprivileged: this.unprivileged, multiBuffer: this.xsk.multiBuffer,
    };
  }

  rxBurst(bufs: Uint32Array, max: number): number {
    if (this.admin[0] !== 1) return 0;
    return this.xsk.rxBurst(bufs, max);
  }

  txBurst(bufs: Uint32Array, n: number): number {
    if (this.admin[0] !== 1) return 0;
    return this.xsk.txBurst(bufs, n);
  }

  override readStats(): Record<string, number> {
    return this.xsk.readStats();
  }

  override pollFd(): number {
    return this.xsk.fd;
  }

  override waitRx(ms: number): boolean {
    return this.xsk.waitReadable(ms);
  }

  override info(): LportInfo {
    return {
      ...super.info(), netdev: this.ifname, qid: this.qid, zeroCopy: this.xsk.zeroCopy,
      xdpMode: this.skbMode ? "skb" : "drv", unprivileged: this.unprivileged, busyPoll: this.xsk.busyPoll,
      fd: this.xsk.fd, multiBuffer: this.xsk.multiBuffer,
    };
  }

  /**
   * Gives the socket's rings to another object (a worker's `fromShared`): one owner per ring. The creator
   * takes them back in close().
   */
  override release(): void {
    this.xsk.release();
  }

  /** Removes the socket from the XSKMAP, closes it (returning its frames), and drops the program reference. */
  close(): void {
    this.slot?.remove();
    this.slot = null;
    this.xsk.close();
    this.knobs?.release();
    this.knobs = null;
    this.prog?.release();
    this.prog = null;
  }
}

