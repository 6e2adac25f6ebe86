/**
 * net_memif's control channel: one {@link MemifInterface} per (role, socket, id) in the process, on the
 * main thread's event loop. A server listens on the socket (one listener per socket path, shared by the
 * interfaces on it, told apart by id) and maps what a client sends; a client connects, creates the region
 * (a memfd) and the rings' eventfds, sends them, and tries again every `reconnectMs` after a failure or a
 * disconnect. The data path (MemifPort, in any thread) learns about connections only through the shared
 * control block and the region window (memif-shm.ts).
 *
 * Every refusal sends the peer DISCONNECT with a reason (as DPDK: "Incompatible memif version",
 * "Incorrect secret", "Invalid message size", ...), closes the connection and every fd that came with it,
 * and is kept as `lastError` (and logged). References: DPDK drivers/net/memif/memif_socket.c,
 * rte_eth_memif.c; libmemif docs (the connection sequence).
 */
import { fstatSync, ftruncateSync } from "node:fs";
import { sys } from "../sys/native.js";
import { check, errnoName } from "../sys/errno.js";
import { trace } from "../sys/trace.js";
import { SeqpacketServer, connectSeqpacket, type SeqpacketConn } from "../uds/seqpacket.js";
import {
  decodeMsg, encodeMsg, secretMatches, versionString, ringBytes, MemifProtocolError, type MemifMsg,
  MEMIF_VERSION, MEMIF_COOKIE, MAX_LOG2_RING_SIZE, MODE_ETHERNET, ADD_RING_FLAG_C2S, MSG_SIZE,
  RING_COOKIE, RING_FLAGS, RING_HEAD, RING_TAIL, RING_DESC, RING_FLAG_MASK_INT, DESC_SIZE, DESC_REGION, DESC_LENGTH, DESC_OFFSET, DESC_FLAGS,
} from "./memif-proto.js";
import {
  RegionWindow, newCtl, clearRings, clientLayout, alignRegion, MAX_REGIONS,
  W_STATE, W_GEN, W_NREG, W_NQ, W_BSIZE, W_REG, W_Q, QW, LINK_DOWN, LINK_UP,
  Q_TX_RING, Q_RX_RING, Q_TX_LOG2, Q_RX_LOG2, Q_TX_BUF, Q_RX_BUF, Q_TX_EFD, Q_RX_EFD, Q_BUSY, Q_RX_CUR,
} from "./memif-shm.js";
import type { MemifPmdOptions } from "./memif-options.js";

// linux/memfd.h, linux/fcntl.h, sys/eventfd.h
const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
const F_SEAL_SHRINK = 0x2;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const EINVAL = 22;

/** How long a handshake may take before the connection is dropped. */
const HANDSHAKE_MS = 5000;
/** How long a disconnect waits for a data-path burst in progress to end. */
const QUIESCE_MS = 2000;
/** Name sent in HELLO and INIT. */
const APP_NAME = "xdplane";

/** What an interface is made from: the pmd options plus its name (sent in CONNECT / CONNECTED). */
export interface MemifIfaceConfig extends MemifPmdOptions {
  /** The interface name told to the peer (the lport's netdev part, e.g. "memif0"). */
  ifName: string;
  /** Control-path log lines (connects, disconnects, refusals); default: the "memif" tracer. */
  log?: (msg: string) => void;
}

/** Connection state of an interface. */
export type MemifConnState = "waiting" | "handshake" | "connected" | "closed";

/** Counters and names of an interface's connections (control path). */
export interface MemifConnInfo {
  state: MemifConnState;
  /** Times the link came up / went down. */
  connects: number;
  disconnects: number;
  /** The last refusal or disconnect reason (ours or the peer's), or null. */
  lastError: string | null;
  /** Peer's application name (HELLO/INIT) and interface name (CONNECT/CONNECTED). */
  remoteName: string;
  remoteIfName: string;
  /** Negotiated ring size (log2) and queue pairs each way, while connected. */
  log2RingSize: number;
  c2sRings: number;
  s2cRings: number;
}

/** A refusal: the reason goes to the peer in DISCONNECT and into `lastError`. */
class Refusal extends Error {}

const interfaces = new Map<string, MemifInterface>();
const listeners = new Map<string, Listener>();

function sockAddr(o: MemifPmdOptions): string {
  return (o.socketAbstract ? "@" : "") + o.socket;
}

function sameConfig(a: MemifPmdOptions, b: MemifPmdOptions): string | undefined {
  for (const k of ["secret", "rsize", "bsize", "queues", "reconnectMs", "shmSize", "mac"] as const) {
    if (a[k] !== b[k]) return `${k} ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`;
  }
  return undefined;
}

/** The server side of one socket path: accepts, says HELLO, and hands each INIT to the interface of its id. */
class Listener {
  readonly addr: string;
  readonly byId = new Map<number, MemifInterface>();
  private readonly server: SeqpacketServer;

  constructor(addr: string) {
    this.addr = addr;
    this.server = SeqpacketServer.listen(addr, (conn) => this.accept(conn), { maxMessage: 1024, backlog: 16 });
  }

  private accept(conn: SeqpacketConn): void {
    const fds: number[] = [];
    const refuse = (reason: string) => {
      for (const fd of fds.splice(0)) sys.close(fd);
      sendDisconnect(conn, reason);
      conn.close();
      trace("memif", () => `${this.addr}: refused a connection: ${reason}`);
      for (const i of this.byId.values()) i.noteRefusal(reason);
    };
    const timer = setTimeout(() => refuse("Handshake timed out"), HANDSHAKE_MS);
    timer.unref();
    conn.onClose(() => clearTimeout(timer));
    conn.onMessage((bytes, got) => {
      fds.push(...got);
      let m: MemifMsg;
      try {
        m = decodeMsg(bytes);
      } catch (e) {
        refuse((e as Error).message);
        return;
      }
      if (m.type !== "init") {
        refuse(`Unexpected message ${m.type} (expected init)`);
        return;
      }
      if (m.version !== MEMIF_VERSION) {
        refuse(`Incompatible memif version ${versionString(m.version)} (this end speaks ${versionString(MEMIF_VERSION)})`);
        return;
      }
      const iface = this.byId.get(m.id);
      if (!iface) {
        refuse(`ID not found (${m.id}; this socket has ${[...this.byId.keys()].join(", ") || "none"})`);
        return;
      }
      clearTimeout(timer);
      for (const fd of fds.splice(0)) sys.close(fd); // INIT carries none
      iface.serverInit(conn, m);
    });
    const hello = Math.min(...[...this.byId.values()].map((i) => i.cfg.rsize), MAX_LOG2_RING_SIZE);
    const q = Math.max(1, ...[...this.byId.values()].map((i) => i.cfg.queues));
    conn.send(encodeMsg({ type: "hello", name: APP_NAME, minVersion: MEMIF_VERSION, maxVersion: MEMIF_VERSION, maxRegion: MAX_REGIONS - 1, maxC2sRing: q - 1, maxS2cRing: q - 1, maxLog2RingSize: hello }));
  }

  close(): void {
    this.server.close();
  }
}

function sendDisconnect(conn: SeqpacketConn, reason: string): void {
  try {
    conn.send(encodeMsg({ type: "disconnect", code: 0, reason }));
  } catch {
    // the peer is gone: nothing to tell
  }
}

/**
 * One memif interface (one control connection, up to 16 queue pairs), shared by the lports on it.
 * Control path only, main thread.
 */
export class MemifInterface {
  readonly cfg: MemifIfaceConfig;
  readonly key: string;
  readonly window: RegionWindow;
  readonly ctl: Int32Array;
  private readonly users = new Set<number>();
  private readonly log: (msg: string) => void;
  private state: MemifConnState = "waiting";
  /** The link is up (between up() and teardown()). */
  private linked = false;
  private conn: SeqpacketConn | null = null;
  /** fds of the current connection (regions, eventfds): closed at disconnect. */
  private fds: number[] = [];
  private retry: NodeJS.Timeout | null = null;
  private hsTimer: NodeJS.Timeout | null = null;
  private info: MemifConnInfo = { state: "waiting", connects: 0, disconnects: 0, lastError: null, remoteName: "", remoteIfName: "", log2RingSize: 0, c2sRings: 0, s2cRings: 0 };
  private readonly one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  private readonly u8: Uint8Array;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;

  private constructor(cfg: MemifIfaceConfig, key: string) {
    this.cfg = cfg;
    this.key = key;
    this.log = cfg.log ?? ((m) => trace("memif", () => m));
    const server = cfg.role === "server";
    let size = cfg.shmSize;
    if (!server) {
      size = clientLayout(cfg.queues, cfg.queues, cfg.rsize, cfg.bsize).size;
      if (size > 2 ** 31 - (1 << 20)) {
        throw new RangeError(`net_memif ${cfg.ifName}: the client region would be ${size} bytes (queues=${cfg.queues}, rsize=${cfg.rsize}, bsize=${cfg.bsize}); at most ${2 ** 31 - (1 << 20)}`);
      }
    }
    this.window = RegionWindow.reserve(size);
    this.ctl = newCtl(cfg.queues, server);
    this.u8 = new Uint8Array(this.window.buffer);
    this.u16 = new Uint16Array(this.window.buffer);
    this.u32 = new Uint32Array(this.window.buffer);
  }

  /**
   * The interface for these options, made (and started: listening or connecting) on first use; `qid` is
   * attached to it. Throws for a qid out of range or taken, or options that differ from the interface's.
   */
  static attach(cfg: MemifIfaceConfig, qid: number): MemifInterface {
    if (!Number.isInteger(qid) || qid < 0 || qid >= cfg.queues) {
      throw new RangeError(`net_memif ${cfg.ifName}: qid ${qid} is out of range (queues=${cfg.queues}: 0 to ${cfg.queues - 1})`);
    }
    const key = `${cfg.role}|${sockAddr(cfg)}|${cfg.id}`;
    let iface = interfaces.get(key);
    if (iface) {
      const diff = sameConfig(iface.cfg, cfg);
      if (diff !== undefined) throw new RangeError(`net_memif ${cfg.ifName}: interface ${cfg.role} id ${cfg.id} on ${sockAddr(cfg)} is already open with other options (${diff})`);
      if (iface.users.has(qid)) throw new RangeError(`net_memif ${cfg.ifName}: queue ${qid} of interface id ${cfg.id} on ${sockAddr(cfg)} is already open`);
    } else {
      iface = new MemifInterface(cfg, key);
      try {
        iface.start();
      } catch (e) {
        iface.window.close();
        throw e;
      }
      interfaces.set(key, iface);
    }
    iface.users.add(qid);
    return iface;
  }

  private start(): void {
    if (this.cfg.role === "server") {
      const addr = sockAddr(this.cfg);
      let l = listeners.get(addr);
      if (l?.byId.has(this.cfg.id)) throw new RangeError(`net_memif ${this.cfg.ifName}: id ${this.cfg.id} is already served on ${addr}`);
      if (!l) {
        l = new Listener(addr);
        listeners.set(addr, l);
      }
      l.byId.set(this.cfg.id, this);
      this.log(`memif ${this.cfg.ifName}: server id ${this.cfg.id} listening on ${addr}`);
    } else {
      this.connect();
    }
  }

  /** Detaches a queue's port; the last one closes the interface. */
  detach(qid: number): void {
    this.users.delete(qid);
    if (this.users.size === 0) this.close();
  }

  /** Connection state and counters. */
  connInfo(): MemifConnInfo {
    return { ...this.info, state: this.state };
  }

  /** Another interface on the listener refused a connection: remember why (for a server's lastError). */
  noteRefusal(reason: string): void {
    this.info.lastError = reason;
  }

  // ---- client ------------------------------------------------------------------------------------

  private connect(): void {
    this.retry = null;
    if (this.state === "closed") return;
    const addr = sockAddr(this.cfg);
    let conn: SeqpacketConn;
    try {
      conn = connectSeqpacket(addr, { maxMessage: 1024 });
    } catch (e) {
      const why = `connect(${addr}): ${(e as Error).message}`;
      if (this.info.lastError !== why) this.log(`memif ${this.cfg.ifName}: ${why}; retrying every ${this.cfg.reconnectMs} ms`);
      this.info.lastError = why;
      this.scheduleRetry();
      return;
    }
    this.state = "handshake";
    this.conn = conn;
    this.armHandshakeTimer();
    const outbox: { msg: Uint8Array; fd: number }[] = [];
    let expect: "hello" | "ack" | "connected" = "hello";
    conn.onClose(() => this.lost(conn, "the server closed the connection"));
    conn.onMessage((bytes, got) => {
      for (const fd of got) sys.close(fd); // a server sends no fds
      if (this.conn !== conn) return;
      try {
        const m = decodeMsg(bytes);
        if (m.type === "disconnect") {
          this.peerDisconnect(m.reason);
          return;
        }
        if (m.type !== expect) throw new Refusal(`Unexpected message ${m.type} (expected ${expect})`);
        if (m.type === "hello") {
          outbox.push(...this.clientSetup(m));
        } else if (m.type === "connected") {
          this.info.remoteIfName = m.ifName;
          this.clientConnected();
          return;
        }
        const next = outbox.shift()!;
        if (!conn.send(next.msg, next.fd >= 0 ? [next.fd] : undefined)) return;
        expect = outbox.length === 0 ? "connected" : "ack";
      } catch (e) {
        this.refuse(e);
      }
    });
  }

  /** HELLO: negotiate, create the region and eventfds, and the messages to send (INIT first). */
  private clientSetup(h: Extract<MemifMsg, { type: "hello" }>): { msg: Uint8Array; fd: number }[] {
    const c = this.cfg;
    if (h.minVersion > MEMIF_VERSION || h.maxVersion < MEMIF_VERSION) {
      throw new Refusal(`Incompatible memif version (server speaks ${versionString(h.minVersion)} to ${versionString(h.maxVersion)}, this end ${versionString(MEMIF_VERSION)})`);
    }
    this.info.remoteName = h.name;
    const c2s = Math.min(h.maxC2sRing + 1, c.queues);
    const s2c = Math.min(h.maxS2cRing + 1, c.queues);
    const log2 = Math.min(h.maxLog2RingSize, c.rsize);
    if (log2 < 1) throw new Refusal(`Invalid ring size (the server allows 2^${h.maxLog2RingSize} descriptors)`);
    const l = clientLayout(c2s, s2c, log2, c.bsize);
    const rfd = check(sys.memfdCreate("memif_region_0", MFD_CLOEXEC | MFD_ALLOW_SEALING), "memfd_create(memif region)");
    this.fds.push(rfd);
    ftruncateSync(rfd, l.size);
    check(sys.fcntl(rfd, F_ADD_SEALS, F_SEAL_SHRINK), "fcntl(memif region, F_ADD_SEALS, F_SEAL_SHRINK)");
    this.window.map(0, l.size, rfd, `net_memif ${c.ifName} region 0`);
    const ctl = this.ctl;
    ctl[W_NREG] = 1;
    ctl[W_REG] = 0;
    ctl[W_REG + 1] = l.size;
    ctl[W_BSIZE] = c.bsize;
    const out: { msg: Uint8Array; fd: number }[] = [];
    out.push({ msg: encodeMsg({ type: "init", version: MEMIF_VERSION, id: c.id, mode: MODE_ETHERNET, secret: Buffer.from(c.secret), name: APP_NAME }), fd: -1 });
    out.push({ msg: encodeMsg({ type: "add_region", index: 0, size: l.size }), fd: rfd });
    const size = 1 << log2;
    for (const type of [0, 1] as const) {
      for (let i = 0; i < (type === 0 ? c2s : s2c); i++) {
        const r = l.ring(type, i);
        const bufs = l.buffers(type, i);
        this.u32[(r + RING_COOKIE) >> 2] = MEMIF_COOKIE;
        this.u16[(r + RING_FLAGS) >> 1] = 0;
        this.u16[(r + RING_HEAD) >> 1] = 0;
        this.u16[(r + RING_TAIL) >> 1] = 0;
        for (let s = 0; s < size; s++) {
          const d = r + RING_DESC + s * DESC_SIZE;
          this.u16[(d + DESC_FLAGS) >> 1] = 0;
          this.u16[(d + DESC_REGION) >> 1] = 0;
          this.u32[(d + DESC_LENGTH) >> 2] = c.bsize;
          this.u32[(d + DESC_OFFSET) >> 2] = bufs + s * c.bsize;
        }
        const efd = check(sys.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd(memif ring)");
        this.fds.push(efd);
        const qb = W_Q + i * QW;
        // C2S rings are the client's TX, S2C its RX.
        ctl[qb + (type === 0 ? Q_TX_RING : Q_RX_RING)] = r;
        ctl[qb + (type === 0 ? Q_TX_LOG2 : Q_RX_LOG2)] = log2;
        ctl[qb + (type === 0 ? Q_TX_BUF : Q_RX_BUF)] = bufs;
        ctl[qb + (type === 0 ? Q_TX_EFD : Q_RX_EFD)] = efd;
        out.push({ msg: encodeMsg({ type: "add_ring", flags: type === 0 ? ADD_RING_FLAG_C2S : 0, index: i, region: 0, offset: r, log2RingSize: log2, privateHdrSize: 0 }), fd: efd });
      }
    }
    out.push({ msg: encodeMsg({ type: "connect", ifName: c.ifName }), fd: -1 });
    Object.assign(this.info, { log2RingSize: log2, c2sRings: c2s, s2cRings: s2c });
    return out;
  }

  /** CONNECTED: rings reset (as the server did), RX rings handed to the server full, link up. */
  private clientConnected(): void {
    const ctl = this.ctl;
    for (let q = 0; q < this.cfg.queues; q++) {
      const qb = W_Q + q * QW;
      const tx = ctl[qb + Q_TX_RING]!;
      if (tx >= 0) {
        this.u16[(tx + RING_HEAD) >> 1] = 0;
        this.u16[(tx + RING_TAIL) >> 1] = 0;
      }
      const rx = ctl[qb + Q_RX_RING]!;
      if (rx >= 0) {
        const size = 1 << ctl[qb + Q_RX_LOG2]!;
        this.u16[(rx + RING_TAIL) >> 1] = 0;
        this.u16[(rx + RING_FLAGS) >> 1] = RING_FLAG_MASK_INT; // we poll
        for (let s = 0; s < size; s++) this.u32[(rx + RING_DESC + s * DESC_SIZE + DESC_LENGTH) >> 2] = this.cfg.bsize;
        ctl[qb + Q_RX_CUR] = 0;
        Atomics.store(this.u16, (rx + RING_HEAD) >> 1, size & 0xffff);
      }
    }
    this.up();
  }

  private scheduleRetry(): void {
    if (this.state === "closed" || this.cfg.role !== "client" || this.cfg.reconnectMs === 0 || this.retry) return;
    this.state = "waiting";
    this.retry = setTimeout(() => this.connect(), this.cfg.reconnectMs);
    this.retry.unref();
  }

  // ---- server ------------------------------------------------------------------------------------

  /** An INIT for this interface's id arrived on `conn` (version already checked). */
  serverInit(conn: SeqpacketConn, init: Extract<MemifMsg, { type: "init" }>): void {
    const refuseNow = (reason: string) => {
      sendDisconnect(conn, reason);
      conn.close();
      this.info.lastError = reason;
      this.log(`memif ${this.cfg.ifName}: refused a client: ${reason}`);
    };
    if (this.state === "closed") return refuseNow("Device closed");
    if (this.conn !== null) return refuseNow("Already connected");
    if (init.mode !== MODE_ETHERNET) return refuseNow(`Only ethernet mode supported (got mode ${init.mode})`);
    if (this.cfg.secret !== "" && init.secret[0] === 0) return refuseNow("Secret required");
    if (!secretMatches(this.cfg.secret, init.secret)) return refuseNow("Incorrect secret");
    this.info.remoteName = init.name;
    this.conn = conn;
    this.state = "handshake";
    this.armHandshakeTimer();
    const rings = new Set<string>();
    let next = 0; // window place for the next region
    conn.onClose(() => this.lost(conn, "the client closed the connection"));
    conn.onMessage((bytes, got) => {
      if (this.conn !== conn) {
        for (const fd of got) sys.close(fd);
        return;
      }
      let keep = -1;
      try {
        const m = decodeMsg(bytes);
        switch (m.type) {
          case "disconnect":
            this.peerDisconnect(m.reason);
            break;
          case "add_region": {
            if (this.state !== "handshake") throw new Refusal("Unexpected message add_region (already connected)");
            const fd = got[0];
            if (fd === undefined) throw new Refusal("Missing region fd");
            const nreg = this.ctl[W_NREG]!;
            if (m.index !== nreg || m.index >= MAX_REGIONS) throw new Refusal(`Invalid region index ${m.index} (expected ${nreg}, at most ${MAX_REGIONS - 1})`);
            if (m.size <= 0 || next + m.size > this.window.size) {
              throw new Refusal(`Region ${m.index} too large (${m.size} bytes; ${Math.max(0, this.window.size - next)} left of shm_size=${this.window.size})`);
            }
            const st = fstatSync(fd);
            if (st.size < m.size) throw new Refusal(`Region ${m.index} fd holds ${st.size} bytes, less than its size ${m.size}`);
            const seals = sys.fcntl(fd, F_GET_SEALS, 0);
            if (seals >= 0 && (seals & F_SEAL_SHRINK) === 0) throw new Refusal(`Region ${m.index} is not sealed against shrinking (F_SEAL_SHRINK)`);
            if (seals < 0 && seals !== -EINVAL) throw new Refusal(`Region ${m.index}: fcntl(F_GET_SEALS): ${errnoName(-seals)}`);
            this.window.map(next, m.size, fd, `net_memif ${this.cfg.ifName} region ${m.index}`);
            keep = fd;
            this.ctl[W_REG + 2 * m.index] = next;
            this.ctl[W_REG + 2 * m.index + 1] = m.size;
            this.ctl[W_NREG] = nreg + 1;
            next = alignRegion(next + m.size);
            conn.send(encodeMsg({ type: "ack" }));
            break;
          }
          case "add_ring": {
            if (this.state !== "handshake") throw new Refusal("Unexpected message add_ring (already connected)");
            const fd = got[0];
            if (fd === undefined) throw new Refusal("Missing interrupt fd");
            const c2s = (m.flags & ADD_RING_FLAG_C2S) !== 0;
            const name = `${c2s ? "c2s" : "s2c"} ring ${m.index}`;
            if (m.index >= this.cfg.queues) throw new Refusal(`Invalid ring index (${name}; this interface has ${this.cfg.queues} queue pairs)`);
            if (rings.has(name)) throw new Refusal(`Invalid ring index (${name} added twice)`);
            if (m.log2RingSize < 1 || m.log2RingSize > this.cfg.rsize) throw new Refusal(`Invalid ring size 2^${m.log2RingSize} (${name}; at most 2^${this.cfg.rsize})`);
            if (m.region >= this.ctl[W_NREG]!) throw new Refusal(`Invalid region ${m.region} for ${name}`);
            const regSize = this.ctl[W_REG + 2 * m.region + 1]!;
            if (m.offset % 8 !== 0 || m.offset + ringBytes(m.log2RingSize) > regSize) {
              throw new Refusal(`Invalid ring offset ${m.offset} for ${name} (2^${m.log2RingSize} descriptors, region ${m.region} is ${regSize} bytes)`);
            }
            rings.add(name);
            keep = fd;
            const qb = W_Q + m.index * QW;
            const at = this.ctl[W_REG + 2 * m.region]! + m.offset;
            // C2S rings are the server's RX, S2C its TX.
            this.ctl[qb + (c2s ? Q_RX_RING : Q_TX_RING)] = at;
            this.ctl[qb + (c2s ? Q_RX_LOG2 : Q_TX_LOG2)] = m.log2RingSize;
            this.ctl[qb + (c2s ? Q_RX_EFD : Q_TX_EFD)] = fd;
            conn.send(encodeMsg({ type: "ack" }));
            break;
          }
          case "connect": {
            if (this.state !== "handshake") throw new Refusal("Unexpected message connect (already connected)");
            if (this.ctl[W_NREG] === 0) throw new Refusal("No region added before connect");
            this.serverConnect(m.ifName, rings.size);
            conn.send(encodeMsg({ type: "connected", ifName: this.cfg.ifName }));
            break;
          }
          default:
            throw new Refusal(`Unexpected message ${m.type}`);
        }
      } catch (e) {
        for (const fd of got) if (fd !== keep) sys.close(fd);
        this.refuse(e);
        return;
      }
      for (const fd of got) if (fd !== keep) sys.close(fd);
      if (keep >= 0) this.fds.push(keep);
    });
    conn.send(encodeMsg({ type: "ack" }));
  }

  /** CONNECT: the rings are checked, reset (as DPDK's server does) and published. */
  private serverConnect(ifName: string, nrings: number): void {
    const ctl = this.ctl;
    let c2s = 0;
    let s2c = 0;
    let log2 = 0;
    for (let q = 0; q < this.cfg.queues; q++) {
      const qb = W_Q + q * QW;
      for (const [w, lw] of [[Q_RX_RING, Q_RX_LOG2], [Q_TX_RING, Q_TX_LOG2]] as const) {
        const r = ctl[qb + w]!;
        if (r < 0) continue;
        const cookie = this.u32[(r + RING_COOKIE) >> 2]!;
        if (cookie !== MEMIF_COOKIE) throw new Refusal(`Wrong ring (queue ${q} ${w === Q_RX_RING ? "c2s" : "s2c"}: cookie 0x${cookie.toString(16)}, expected 0x${MEMIF_COOKIE.toString(16)})`);
        Atomics.store(this.u16, (r + RING_HEAD) >> 1, 0);
        Atomics.store(this.u16, (r + RING_TAIL) >> 1, 0);
        if (w === Q_RX_RING) {
          this.u16[(r + RING_FLAGS) >> 1] = RING_FLAG_MASK_INT; // we poll
          c2s++;
        } else s2c++;
        log2 = ctl[qb + lw]!;
      }
    }
    if (nrings === 0) throw new Refusal("No ring added before connect");
    this.info.remoteIfName = ifName;
    Object.assign(this.info, { log2RingSize: log2, c2sRings: c2s, s2cRings: s2c });
    this.up();
  }

  // ---- both ----------------------------------------------------------------------------------------

  private armHandshakeTimer(): void {
    if (this.hsTimer) clearTimeout(this.hsTimer);
    const conn = this.conn;
    this.hsTimer = setTimeout(() => {
      this.hsTimer = null;
      if (this.conn === conn && this.state === "handshake") this.refuse(new Refusal("Handshake timed out"));
    }, HANDSHAKE_MS);
    this.hsTimer.unref();
  }

  private up(): void {
    if (this.hsTimer) clearTimeout(this.hsTimer);
    this.hsTimer = null;
    this.state = "connected";
    this.linked = true;
    this.info.connects++;
    this.info.lastError = null;
    Atomics.store(this.ctl, W_STATE, LINK_UP);
    Atomics.add(this.ctl, W_GEN, 1);
    this.log(`memif ${this.cfg.ifName}: connected (${this.cfg.role} id ${this.cfg.id} on ${sockAddr(this.cfg)}, peer ${this.info.remoteName}/${this.info.remoteIfName}, 2^${this.info.log2RingSize} descriptors, ${this.info.c2sRings}+${this.info.s2cRings} rings)`);
  }

  /** Our refusal (a Refusal's text, or a failure of ours) goes to the peer, then the connection ends. */
  private refuse(e: unknown): void {
    const reason = e instanceof Refusal || e instanceof MemifProtocolError ? e.message : `Local error: ${(e as Error).message}`;
    this.teardown(reason, true);
  }

  private peerDisconnect(reason: string): void {
    this.teardown(`peer disconnected: ${reason || "(no reason)"}`, false);
  }

  private lost(conn: SeqpacketConn, why: string): void {
    if (this.conn === conn) this.teardown(why, false);
  }

  /**
   * Ends the connection: DISCONNECT to the peer (when ours), link down, every burst in progress waited
   * for, zero pages over the regions, the connection's fds closed; a client tries again later.
   */
  private teardown(reason: string, tellPeer: boolean): void {
    const conn = this.conn;
    if (conn === null) return;
    this.conn = null;
    if (this.hsTimer) clearTimeout(this.hsTimer);
    this.hsTimer = null;
    if (tellPeer) sendDisconnect(conn, reason.slice(0, 95));
    conn.close();
    const wasUp = this.linked;
    this.linked = false;
    this.quiesce();
    this.window.clear();
    for (const fd of this.fds.splice(0)) sys.close(fd);
    clearRings(this.ctl);
    this.info.lastError = reason;
    Object.assign(this.info, { log2RingSize: 0, c2sRings: 0, s2cRings: 0 });
    if (wasUp) this.info.disconnects++;
    this.log(`memif ${this.cfg.ifName}: ${wasUp ? "disconnected" : "handshake failed"}: ${reason}`);
    if (this.state !== "closed") {
      this.state = "waiting";
      this.scheduleRetry();
    }
  }

  /** Link down, generation bumped, idle waiters woken, and every queue's burst in progress waited for. */
  private quiesce(): void {
    const ctl = this.ctl;
    Atomics.store(ctl, W_STATE, LINK_DOWN);
    Atomics.add(ctl, W_GEN, 1);
    const end = Date.now() + QUIESCE_MS;
    for (let q = 0; q < ctl[W_NQ]!; q++) {
      const qb = W_Q + q * QW;
      const efd = ctl[qb + Q_RX_EFD]!;
      if (efd >= 0) sys.write(efd, this.one, 0, 8);
      while (Atomics.load(ctl, qb + Q_BUSY) !== 0 && Date.now() < end) Atomics.wait(ctl, qb + Q_BUSY, 1, 1);
    }
  }

  /** Disconnects (telling the peer "Device closed"), stops listening or retrying, releases the window. */
  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.teardown("Device closed", true);
    Atomics.store(this.ctl, W_STATE, LINK_DOWN);
    if (this.cfg.role === "server") {
      const addr = sockAddr(this.cfg);
      const l = listeners.get(addr);
      if (l && l.byId.get(this.cfg.id) === this) {
        l.byId.delete(this.cfg.id);
        if (l.byId.size === 0) {
          l.close();
          listeners.delete(addr);
        }
      }
    }
    interfaces.delete(this.key);
    this.window.close();
    this.log(`memif ${this.cfg.ifName}: closed`);
  }
}
