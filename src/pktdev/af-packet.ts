/**
 * net_af_packet: a port over an AF_PACKET socket with TPACKET_V3 rings (kernel document
 * Documentation/networking/packet_mmap.rst; CNDP lib/core/pmds/net/af_packet, which uses V2), for netdevs
 * without XDP and for tests. One mapping holds the RX ring (blocks the kernel fills with packets and
 * retires when full or after `tovMs`) followed by the TX ring (fixed frames we fill and mark for sending).
 *
 * Frames are copied between the rings and the mempool's buffers: the mbuf stays the application's handle,
 * the kernel never holds one, so close() has nothing to take back. Several lports of one netdev join one
 * PACKET_FANOUT group (mode `fanout`), which spreads received packets over their sockets; an lport's `qid`
 * is its member index. Outgoing packets are not received (PACKET_IGNORE_OUTGOING). A VLAN tag the kernel
 * took off (TP_STATUS_VLAN_VALID) is put back, so frames arrive byte for byte as sent.
 */
import { Lport, newPortState, type LportInfo, type LportShared } from "./lport.js";
import { PortClaim } from "./port-claim.js";
import { AF_PACKET_PMD_DEFAULTS, type FanoutMode } from "./pmd-options.js";
import { Mempool, type MempoolShared } from "../mem/mempool.js";
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import { mmapShared, munmap } from "../sys/mem.js";
import { AF_PACKET, SOCK_RAW, SOCK_CLOEXEC, SOCK_NONBLOCK, MSG_DONTWAIT, POLLIN, EAGAIN, ENOBUFS } from "../sys/consts.js";
import { NetlinkSocket } from "../netlink/socket.js";
import { getLink } from "../netlink/link.js";
import * as S from "../xsk/stats.js";

// linux/if_packet.h
const SOL_PACKET = 263;
const PACKET_ADD_MEMBERSHIP = 1;
const PACKET_RX_RING = 5;
const PACKET_STATISTICS = 6;
const PACKET_VERSION = 10;
const PACKET_TX_RING = 13;
const PACKET_LOSS = 14;
const PACKET_FANOUT = 18;
const PACKET_IGNORE_OUTGOING = 23;
const PACKET_MR_PROMISC = 1;
const TPACKET_V3 = 2;
const ETH_P_ALL = 0x0003;
const PACKET_OUTGOING = 4;
const FANOUT: Record<Exclude<FanoutMode, "none">, number> = { hash: 0, lb: 1, cpu: 2, rollover: 3, rnd: 4, qm: 5 };
const PACKET_FANOUT_FLAG_DEFRAG = 0x8000;
// tp_status bits
const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;
const TP_STATUS_COPY = 2;
const TP_STATUS_VLAN_VALID = 0x10;
const TP_STATUS_VLAN_TPID_VALID = 0x40;
const TP_STATUS_AVAILABLE = 0;
const TP_STATUS_SEND_REQUEST = 1;
const TP_STATUS_WRONG_FORMAT = 4;
// struct tpacket_block_desc: version u32, offset_to_priv u32, then tpacket_hdr_v1: block_status u32 @8,
// num_pkts u32 @12, offset_to_first_pkt u32 @16, blk_len u32 @20, seq_num u64 @24, timestamps.
const BD_STATUS = 8;
const BD_NUM_PKTS = 12;
const BD_FIRST = 16;
// struct tpacket3_hdr: tp_next_offset @0, tp_sec @4, tp_nsec @8, tp_snaplen @12, tp_len @16, tp_status @20,
// tp_mac u16 @24, tp_net u16 @26, hv1 { tp_rxhash @28, tp_vlan_tci @32, tp_vlan_tpid u16 @36 }; 48 bytes,
// TPACKET_ALIGN'ed; struct sockaddr_ll follows (sll_pkttype at +10).
const H_NEXT = 0;
const H_SNAPLEN = 12;
const H_LEN = 16;
const H_STATUS = 20;
const H_MAC = 24;
const H_VLAN_TCI = 32;
const H_VLAN_TPID = 36;
const H_SIZE = 48;
const SLL_PKTTYPE = H_SIZE + 10;
/** TX frames: data at tp_hdrlen - sizeof(sockaddr_ll) = TPACKET_ALIGN(sizeof(tpacket3_hdr)). */
const TX_DATA = H_SIZE;

// Words of the shared state (Int32Array): the claim, then the data-path cursors, saved every burst so that
// an object in another thread goes on where this one stopped.
const W_CLAIM = 0;
const W_RX_BLOCK = 1;
const W_RX_LEFT = 2;
const W_RX_OFF = 3;
const W_TX_NEXT = 4;
const W_COUNT = 8;

export interface AfPacketOptions {
  name: string;
  pid: number;
  /** The netdev. */
  ifname: string;
  /** Member index in the netdev's fanout group (informational: the kernel numbers members itself). */
  qid?: number;
  mempool: Mempool;
  /** RX ring size in frames of the UMEM's frame size (rounded up to whole blocks); default 2048. */
  rxSize?: number;
  /** TX ring frames (rounded up to whole blocks); default 2048. */
  txSize?: number;
  /** PACKET_FANOUT mode (default "hash"); "none" keeps the socket out of any group. */
  fanout?: FanoutMode;
  /** Fanout group id; default (pid ^ ifindex) & 0xffff, one group per netdev and process. */
  fanoutGroup?: number;
  /** RX block size in bytes (power of two, at least the UMEM frame size); default 65536. */
  blockSize?: number;
  /** RX block retire timeout, ms (default 1): the longest a packet waits in a block that is not full. */
  tovMs?: number;
  /** Promiscuous mode while the port is open (PACKET_MR_PROMISC). */
  promisc?: boolean;
}

export interface AfPacketShared extends LportShared {
  fd: number;
  ifname: string;
  ifindex: number;
  qid: number;
  mempool: MempoolShared;
  /** The RX and TX rings, one mapping. */
  ring: SharedArrayBuffer;
  blockSize: number;
  rxBlocks: number;
  txFrameSize: number;
  txFrames: number;
  fanout: FanoutMode;
  fanoutGroup: number;
  /** Data-path state words (W_*). */
  state: SharedArrayBuffer;
  /** Drop outgoing packets in rxBurst (kernels without PACKET_IGNORE_OUTGOING, before 4.20). */
  filterOutgoing: boolean;
  /** Longest frame TX sends: the netdev's MTU + 14 at creation (the kernel drops longer ones silently). */
  txMaxLen: number;
}

/**
 * The netdev's MAC and MTU, asked over rtnetlink in the calling thread's namespace (an unknown MAC reads as
 * zeros, an unknown MTU as 0: no limit below the TX frame's room).
 */
function readLink(ifname: string): { mac: string; mtu: number } {
  let nl: NetlinkSocket | null = null;
  try {
    nl = NetlinkSocket.open();
    const l = getLink(nl, ifname);
    return { mac: l.mac ?? "00:00:00:00:00:00", mtu: l.mtu };
  } catch {
    return { mac: "00:00:00:00:00:00", mtu: 0 };
  } finally {
    nl?.close();
  }
}

/** The 802.1Q EtherType: the kernel allows 4 more bytes than the MTU for such a frame (packet_extra_vlan_len_allowed). */
function isVlan(hi: number, lo: number): boolean {
  return hi === 0x81 && lo === 0x00;
}

function setInt(fd: number, name: number, v: number, what: string): number {
  return check(sys.setsockopt(fd, SOL_PACKET, name, new Int32Array([v])), what);
}

export class AfPacketPort extends Lport {
  readonly fd: number;
  readonly ifname: string;
  readonly ifindex: number;
  readonly qid: number;
  readonly pool: Mempool;
  readonly fanout: FanoutMode;
  readonly fanoutGroup: number;
  private readonly mempool: Mempool;
  private readonly ring: SharedArrayBuffer;
  private readonly r8: Uint8Array;
  private readonly r16: Uint16Array;
  private readonly r32: Int32Array;
  private readonly blockSize: number;
  private readonly rxBlocks: number;
  private readonly txOff: number;
  private readonly txFrameSize: number;
  private readonly txFrames: number;
  private readonly st: Int32Array;
  private readonly claim: PortClaim;
  private readonly creator: boolean;
  private readonly filterOutgoing: boolean;
  private readonly txMaxLen: number;
  private readonly u8: Uint8Array;
  private readonly shift: number;
  private readonly headroom: number;
  private readonly room: number;
  private readonly dataOff: Uint16Array;
  private readonly dataLen: Uint16Array;
  private readonly portOf: Uint16Array;
  private readonly pstats = new Int32Array(3);
  private readonly pfd = new Int32Array(2);
  private closed = false;

  private constructor(s: AfPacketShared, mempool: Mempool, creator: boolean) {
    super(s);
    this.fd = s.fd;
    this.ifname = s.ifname;
    this.ifindex = s.ifindex;
    this.qid = s.qid;
    this.mempool = mempool;
    this.pool = mempool;
    this.fanout = s.fanout;
    this.fanoutGroup = s.fanoutGroup;
    this.ring = s.ring;
    this.r8 = new Uint8Array(s.ring);
    this.r16 = new Uint16Array(s.ring);
    this.r32 = new Int32Array(s.ring);
    this.blockSize = s.blockSize;
    this.rxBlocks = s.rxBlocks;
    this.txOff = s.blockSize * s.rxBlocks;
    this.txFrameSize = s.txFrameSize;
    this.txFrames = s.txFrames;
    this.st = new Int32Array(s.state);
    this.filterOutgoing = s.filterOutgoing;
    this.txMaxLen = s.txMaxLen;
    this.creator = creator;
    this.claim = new PortClaim(this.st, W_CLAIM, `net_af_packet ${s.name}`);
    const u = mempool.umem;
    this.u8 = u.u8;
    this.shift = u.shift;
    this.headroom = u.headroom;
    this.room = u.frameSize - u.headroom;
    this.dataOff = mempool.mbufs.dataOff;
    this.dataLen = mempool.mbufs.dataLen;
    this.portOf = mempool.mbufs.port;
  }

  /** Opens the socket, maps its rings, binds it to the netdev and joins the fanout group; undoes all on failure. */
  static create(o: AfPacketOptions): AfPacketPort {
    const frameSize = o.mempool.umem.frameSize;
    const blockSize = o.blockSize ?? AF_PACKET_PMD_DEFAULTS.blockSize;
    if (!Number.isInteger(blockSize) || (blockSize & (blockSize - 1)) !== 0 || blockSize < Math.max(4096, frameSize) || blockSize > 4 << 20) {
      throw new RangeError(`net_af_packet ${o.name}: block size ${blockSize} must be a power of two from ${Math.max(4096, frameSize)} (the frame size or a page) to 4194304`);
    }
    const rxSize = o.rxSize ?? 2048;
    const txSize = o.txSize ?? 2048;
    for (const [what, n] of [["rxSize", rxSize], ["txSize", txSize]] as const) {
      if (!Number.isInteger(n) || n < 1 || n > 1 << 20) throw new RangeError(`net_af_packet ${o.name}: ${what} ${n} must be an integer from 1 to 1048576`);
    }
    const tov = o.tovMs ?? AF_PACKET_PMD_DEFAULTS.tovMs;
    const fanout = o.fanout ?? AF_PACKET_PMD_DEFAULTS.fanout;
    const ifindex = sys.ifNameToIndex(o.ifname);
    if (ifindex <= 0) throw new Error(`net_af_packet ${o.name}: netdev '${o.ifname}' not found in this network namespace`);
    const group = o.fanoutGroup ?? ((process.pid ^ ifindex) & 0xffff);
    const perBlock = blockSize / frameSize;
    const rxBlocks = Math.max(2, Math.ceil((rxSize * frameSize) / blockSize));
    const txBlocks = Math.max(1, Math.ceil(txSize / perBlock));
    let fd = -1;
    let ring: SharedArrayBuffer | null = null;
    try {
      // Protocol 0: nothing is queued to the socket before its rings exist and it is bound.
      fd = check(sys.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), `socket(AF_PACKET) for ${o.name}`);
      setInt(fd, PACKET_VERSION, TPACKET_V3, `setsockopt(PACKET_VERSION=TPACKET_V3) ${o.name}`);
      // Malformed TX frames are marked TP_STATUS_WRONG_FORMAT and skipped instead of stopping the ring.
      setInt(fd, PACKET_LOSS, 1, `setsockopt(PACKET_LOSS) ${o.name}`);
      // struct tpacket_req3 { block_size, block_nr, frame_size, frame_nr, retire_blk_tov, sizeof_priv, feature_req_word }
      const rx = new Uint32Array([blockSize, rxBlocks, frameSize, rxBlocks * perBlock, tov, 0, 0]);
      check(sys.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, rx), `setsockopt(PACKET_RX_RING ${rxBlocks} x ${blockSize} bytes) ${o.name}`);
      const tx = new Uint32Array([blockSize, txBlocks, frameSize, txBlocks * perBlock, 0, 0, 0]);
      check(sys.setsockopt(fd, SOL_PACKET, PACKET_TX_RING, tx), `setsockopt(PACKET_TX_RING ${txBlocks * perBlock} x ${frameSize} bytes) ${o.name}`);
      ring = mmapShared((rxBlocks + txBlocks) * blockSize, fd, 0, `mmap(AF_PACKET rings of ${o.name})`);
      let filterOutgoing = false;
      if (sys.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, new Int32Array([1])) < 0) filterOutgoing = true;
      // struct sockaddr_ll { u16 family; be16 protocol; s32 ifindex; u16 hatype; u8 pkttype; u8 halen; u8 addr[8] }
      const sll = new DataView(new ArrayBuffer(20));
      sll.setUint16(0, AF_PACKET, true);
      sll.setUint16(2, ETH_P_ALL, false);
      sll.setInt32(4, ifindex, true);
      check(sys.bind(fd, new Uint8Array(sll.buffer)), `bind(AF_PACKET ${o.ifname} ifindex=${ifindex}) ${o.name}`);
      if (fanout !== "none") {
        const arg = group | ((FANOUT[fanout] | PACKET_FANOUT_FLAG_DEFRAG) << 16);
        check(sys.setsockopt(fd, SOL_PACKET, PACKET_FANOUT, new Int32Array([arg])), () =>
          `setsockopt(PACKET_FANOUT group=${group} mode=${fanout}) ${o.name} (another group with that id and a different mode, or on another netdev?)`);
      }
      if (o.promisc) {
        // struct packet_mreq { s32 mr_ifindex; u16 mr_type; u16 mr_alen; u8 mr_address[8] }
        const mr = new DataView(new ArrayBuffer(16));
        mr.setInt32(0, ifindex, true);
        mr.setUint16(4, PACKET_MR_PROMISC, true);
        check(sys.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, new Uint8Array(mr.buffer)), `setsockopt(PACKET_ADD_MEMBERSHIP promisc) ${o.name}`);
      }
      const link = readLink(o.ifname);
      const port = new AfPacketPort({
        driver: "net_af_packet", name: o.name, pid: o.pid, mac: link.mac, ...newPortState(),
        fd, ifname: o.ifname, ifindex, qid: o.qid ?? 0, mempool: o.mempool.toShared(), ring, blockSize, rxBlocks,
        txFrameSize: frameSize, txFrames: txBlocks * perBlock, fanout, fanoutGroup: group,
        state: new SharedArrayBuffer(W_COUNT * 4), filterOutgoing,
        txMaxLen: link.mtu > 0 && link.mtu + 14 < frameSize - TX_DATA ? link.mtu + 14 : frameSize - TX_DATA,
      }, o.mempool, true);
      port.claim.hold();
      return port;
    } catch (e) {
      if (ring) munmap(ring);
      if (fd >= 0) sys.close(fd);
      throw e;
    }
  }

  /** Opens the port in another thread and claims it (throws while another object drives it). */
  static fromShared(s: AfPacketShared, mempool?: Mempool): AfPacketPort {
    const p = new AfPacketPort(s, mempool ?? Mempool.fromShared(s.mempool), false);
    p.claim.claim();
    return p;
  }

  toShared(): AfPacketShared {
    return {
      driver: this.driver, name: this.name, pid: this.pid, mac: this.mac,
      stats: this.stats.buffer as SharedArrayBuffer, admin: this.admin.buffer as SharedArrayBuffer,
      fd: this.fd, ifname: this.ifname, ifindex: this.ifindex, qid: this.qid, mempool: this.mempool.toShared(),
      ring: this.ring, blockSize: this.blockSize, rxBlocks: this.rxBlocks, txFrameSize: this.txFrameSize,
      txFrames: this.txFrames, fanout: this.fanout, fanoutGroup: this.fanoutGroup,
      state: this.st.buffer as SharedArrayBuffer, filterOutgoing: this.filterOutgoing, txMaxLen: this.txMaxLen,
    };
  }

  /**
   * Copies up to `max` received packets into buffers from the pool. A packet that does not fit a buffer
   * (or was truncated by the kernel) is dropped and counted in `ierrors`; when the pool runs dry the rest
   * stays in the ring (`rx_nombuf`), and what the ring cannot hold the kernel counts (`imissed`).
   */
  rxBurst(bufs: Uint32Array, max: number): number {
    if (this.admin[0] !== 1) return 0;
    const st = this.st;
    const r32 = this.r32;
    const r16 = this.r16;
    const r8 = this.r8;
    const u8 = this.u8;
    const bs = this.blockSize;
    const shift = this.shift;
    const room = this.room;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const portOf = this.portOf;
    const pid = this.pid;
    let blk = st[W_RX_BLOCK]!;
    let left = st[W_RX_LEFT]!;
    let off = st[W_RX_OFF]!;
    let n = 0;
    let have = 0; // buffers taken from the pool: bufs[n..have) are still unused
    let bytes = 0;
    let errors = 0;
    let nobuf = 0;
    while (n < max) {
      const base = blk * bs;
      if (left === 0) {
        if ((Atomics.load(r32, (base + BD_STATUS) >> 2) & TP_STATUS_USER) === 0) break;
        left = r32[(base + BD_NUM_PKTS) >> 2]!;
        off = base + r32[(base + BD_FIRST) >> 2]!;
        if (left === 0) {
          Atomics.store(r32, (base + BD_STATUS) >> 2, TP_STATUS_KERNEL);
          if (++blk === this.rxBlocks) blk = 0;
          continue;
        }
      }
      if (have === n) {
        const want = max - n < left ? max - n : left;
        const got = this.mempool.allocBulk(bufs, want, n);
        have = n + got;
        if (got < want) nobuf += want - got;
        if (got === 0) break;
      }
      const h = bufs[n]!;
      const snap = r32[(off + H_SNAPLEN) >> 2]!;
      const status = r32[(off + H_STATUS) >> 2]!;
      const mac = off + r16[(off + H_MAC) >> 1]!;
      const tagged = (status & TP_STATUS_VLAN_VALID) !== 0;
      const len = tagged ? snap + 4 : snap;
      if (this.filterOutgoing && r8[off + SLL_PKTTYPE] === PACKET_OUTGOING) {
        // our own sends, seen again on kernels without PACKET_IGNORE_OUTGOING: not received
      } else if (len > room || (status & TP_STATUS_COPY) !== 0 || snap !== r32[(off + H_LEN) >> 2]! || snap < 14) {
        errors++;
      } else {
        const d = ((h << shift) >>> 0) + dataOff[h]!;
        if (tagged) {
          // The kernel took the tag off (skb vlan offload): put it back after the MAC addresses.
          sys.copyBytes(u8, d, r8, mac, 12);
          const tpid = (status & TP_STATUS_VLAN_TPID_VALID) !== 0 ? r16[(off + H_VLAN_TPID) >> 1]! : 0x8100;
          const tci = r32[(off + H_VLAN_TCI) >> 2]! & 0xffff;
          u8[d + 12] = tpid >>> 8;
          u8[d + 13] = tpid & 0xff;
          u8[d + 14] = tci >>> 8;
          u8[d + 15] = tci & 0xff;
          sys.copyBytes(u8, d + 16, r8, mac + 12, snap - 12);
        } else {
          sys.copyBytes(u8, d, r8, mac, snap);
        }
        dataLen[h] = len;
        portOf[h] = pid;
        bytes += len;
        n++;
      }
      if (--left === 0) {
        Atomics.store(r32, (base + BD_STATUS) >> 2, TP_STATUS_KERNEL);
        if (++blk === this.rxBlocks) blk = 0;
      } else {
        off += r32[(off + H_NEXT) >> 2]!;
      }
    }
    if (have > n) this.mempool.freeBulk(bufs, have - n, n);
    st[W_RX_BLOCK] = blk;
    st[W_RX_LEFT] = left;
    st[W_RX_OFF] = off;
    S.countRx(this.stats, n, bytes, errors, nobuf);
    return n;
  }

  /**
   * Copies up to `n` packets into free TX frames, frees their buffers and kicks the kernel once. Returns
   * how many it took: fewer when the TX ring is full (the caller keeps the rest). A frame the kernel would
   * drop without a word (PACKET_LOSS: longer than the MTU + 14, or + 18 with an 802.1Q tag, as measured at
   * creation; or shorter than an Ethernet header) is taken, freed and counted in `tx_invalid`. A frame the
   * kernel marked TP_STATUS_WRONG_FORMAT is counted in `oerrors` when its slot comes round again.
   */
  txBurst(bufs: Uint32Array, n: number): number {
    if (this.admin[0] !== 1) return 0;
    const st = this.st;
    const r32 = this.r32;
    const r8 = this.r8;
    const u8 = this.u8;
    const shift = this.shift;
    const dataOff = this.dataOff;
    const dataLen = this.dataLen;
    const fsz = this.txFrameSize;
    const maxLen = this.txMaxLen;
    const room = fsz - TX_DATA;
    let i = st[W_TX_NEXT]!;
    let k = 0;
    let sent = 0;
    let bytes = 0;
    let invalid = 0;
    let refused = 0;
    for (; k < n; k++) {
      const slot = this.txOff + i * fsz;
      const status = Atomics.load(r32, (slot + H_STATUS) >> 2);
      if (status !== TP_STATUS_AVAILABLE) {
        if (status !== TP_STATUS_WRONG_FORMAT) break; // still queued or being sent: the ring is full
        refused++;
      }
      const h = bufs[k]!;
      const len = dataLen[h]!;
      const d = ((h << shift) >>> 0) + dataOff[h]!;
      if (len < 14 || (len > maxLen && (len > maxLen + 4 || len > room || !isVlan(u8[d + 12]!, u8[d + 13]!)))) {
        invalid++;
        if (status === TP_STATUS_WRONG_FORMAT) Atomics.store(r32, (slot + H_STATUS) >> 2, TP_STATUS_AVAILABLE);
        continue;
      }
      sys.copyBytes(r8, slot + TX_DATA, u8, d, len);
      r32[(slot + H_NEXT) >> 2] = 0;
      r32[(slot + H_SNAPLEN) >> 2] = len;
      r32[(slot + H_LEN) >> 2] = len;
      Atomics.store(r32, (slot + H_STATUS) >> 2, TP_STATUS_SEND_REQUEST);
      if (++i === this.txFrames) i = 0;
      sent++;
      bytes += len;
    }
    st[W_TX_NEXT] = i;
    const s = this.stats;
    if (k > 0) {
      this.mempool.freeBulk(bufs, k);
      if (sent > 0) {
        const rc = sys.sendto(this.fd, null, MSG_DONTWAIT, null);
        s[S.ST_TX_KICKS]!++;
        if (rc < 0 && rc !== -EAGAIN && rc !== -ENOBUFS) s[S.ST_TX_KICK_AGAIN]!++;
      }
    }
    S.countTx(s, sent, bytes, refused);
    if (invalid !== 0) s[S.ST_TX_INVALID]! += invalid;
    return k;
  }

  /** Counters by name: adds the kernel's drops (PACKET_STATISTICS, read and reset here) to `imissed`. */
  override readStats(): Record<string, number> {
    if (!this.closed) {
      // struct tpacket_stats_v3 { tp_packets, tp_drops, tp_freeze_q_cnt }
      if (sys.getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, this.pstats) >= 8) this.stats[S.ST_IMISSED]! += this.pstats[1]!;
    }
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
    return {
      ...super.info(), netdev: this.ifname, qid: this.qid, fd: this.fd, fanout: this.fanout, fanoutGroup: this.fanoutGroup,
      rxRingBytes: this.blockSize * this.rxBlocks, blockSize: this.blockSize, txFrames: this.txFrames, txMaxLen: this.txMaxLen,
    };
  }

  /** Gives the data path to another object (a worker's `fromShared`); the creator takes it back in close(). */
  override release(): void {
    this.claim.release();
  }

  /**
   * The creator's close unmaps the rings and closes the socket (the kernel sends what is queued first);
   * another thread's object only releases the port. Holds no frames: nothing to return.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.creator) {
      this.claim.release();
      return;
    }
    this.claim.close();
    munmap(this.ring, `munmap(AF_PACKET rings of ${this.name})`);
    sys.close(this.fd);
  }
}
