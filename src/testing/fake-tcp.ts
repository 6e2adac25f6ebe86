/**
 * A stand-in for the stack's TCP channels (tests only): the TCP part of the channel API of
 * /work/tmp/contracts.md (src/cnet/chnl.ts) over an in-memory "network" where every channel of one
 * FakeTcpStack can connect to every other. Used to test the streams layer (src/cnet/stream/) without
 * the real TCP; the tests over the real stack live beside them.
 *
 * What it models: a connect completes (CONNECTED) on the walk after it is asked, or is refused (RESET)
 * when nobody listens or the backlog is full; each walk moves up to `bytesPerWalk` bytes per connection
 * from the sender's send buffer (`sndBuf` bytes) into the peer's receive buffer (`rcvBuf` bytes), never
 * more than the receive buffer has room for (so a reader that does not read stops its writer: send
 * returns 0 and WRITABLE comes back once it reads); shutdown delivers EOF after the queued data; abort
 * resets the peer; close is a shutdown after which the channel id is freed once the FIN went out (data
 * arriving after close is discarded). Callbacks run at the end of each walk, once per channel whose bits
 * rose since the last call (a bit the app saw fall, recv returning 0, a partial send, accept returning -1,
 * counts as low again).
 */
import { formatIp4 } from "../lookup/addr.js";
import { CHNL_EV_ACCEPT, CHNL_EV_CLOSED, CHNL_EV_CONNECTED, CHNL_EV_EOF, CHNL_EV_ERROR, CHNL_EV_READABLE, CHNL_EV_RESET, CHNL_EV_WRITABLE } from "../cnet/chnl.js";
import type { StreamStack, TcpChannelApi } from "../cnet/stream/types.js";

/** Options of {@link FakeTcpStack}. */
export interface FakeTcpOptions {
  /** Send buffer bytes per connection (default 16384). */
  sndBuf?: number;
  /** Receive buffer bytes per connection (default 65536). */
  rcvBuf?: number;
  /** Bytes moved per connection per walk (default 65536). */
  bytesPerWalk?: number;
  /** The address connectors get (default 10.0.0.1). */
  localIp?: number;
}

class ByteRing {
  readonly buf: Uint8Array;
  head = 0;
  len = 0;
  constructor(cap: number) {
    this.buf = new Uint8Array(cap);
  }
  get room(): number {
    return this.buf.length - this.len;
  }
  write(src: Uint8Array, off: number, n: number): number {
    const k = Math.min(n, this.room);
    const cap = this.buf.length;
    for (let i = 0; i < k; i++) this.buf[(this.head + this.len + i) % cap] = src[off + i]!;
    this.len += k;
    return k;
  }
  read(dst: Uint8Array, off: number, n: number): number {
    const k = Math.min(n, this.len);
    const cap = this.buf.length;
    for (let i = 0; i < k; i++) dst[off + i] = this.buf[(this.head + i) % cap]!;
    this.head = (this.head + k) % cap;
    this.len -= k;
    return k;
  }
}

interface Ep {
  id: number;
  state: "OPEN" | "LISTEN" | "SYN_SENT" | "ESTABLISHED";
  localIp: number;
  localPort: number;
  peerIp: number;
  peerPort: number;
  peer: Ep | null;
  snd: ByteRing;
  rcv: ByteRing;
  finQueued: boolean;
  finSent: boolean;
  eofIn: boolean;
  reset: boolean;
  error: boolean;
  connected: boolean;
  backlog: number[];
  backlogMax: number;
  appClosed: boolean;
  cb: ((cd: number, events: number) => void) | null;
  seen: number;
  nodelay: boolean;
  keepalive: boolean;
}

/**
 * The stand-in stack: `walk()` and `chnl`. See the module comment.
 *
 * @example
 * const fake = new FakeTcpStack();
 * const host = StackHost.start(fake);
 */
export class FakeTcpStack implements StreamStack {
  readonly chnl: TcpChannelApi;
  private readonly eps: (Ep | null)[] = [];
  private readonly sndBuf: number;
  private readonly rcvBuf: number;
  private readonly perWalk: number;
  readonly localIp: number;
  private nextEphemeral = 49152;
  /** Walks, bytes moved, callbacks run, connections refused. */
  readonly counters = { walks: 0, bytes: 0, callbacks: 0, refused: 0, resets: 0 };

  constructor(o: FakeTcpOptions = {}) {
    this.sndBuf = o.sndBuf ?? 16384;
    this.rcvBuf = o.rcvBuf ?? 65536;
    this.perWalk = o.bytesPerWalk ?? 65536;
    this.localIp = o.localIp ?? 0x0a000001;
    this.chnl = this.api();
  }

  /** Channel ids in use (0 once everything was closed and finished). */
  get openChannels(): number {
    return this.eps.filter((e) => e !== null).length;
  }

  /** The state of every channel, for assertions. */
  list(): { cd: number; state: string; local: string; peer: string; snd: number; rcv: number }[] {
    return this.eps.flatMap((e) => (e ? [{ cd: e.id, state: this.state(e), local: `${formatIp4(e.localIp)}:${e.localPort}`, peer: `${formatIp4(e.peerIp)}:${e.peerPort}`, snd: e.snd.len, rcv: e.rcv.len }] : []));
  }

  private ep(cd: number, op: string): Ep {
    const e = Number.isInteger(cd) ? this.eps[cd] : undefined;
    if (!e || e.appClosed) throw new RangeError(`fake chnl_${op}: channel ${cd} is not open`);
    return e;
  }

  private state(e: Ep): string {
    if (e.state !== "ESTABLISHED") return e.state === "OPEN" ? "CLOSED" : e.state;
    if (e.reset || e.error) return "CLOSED";
    if (e.finQueued && e.eofIn) return e.finSent ? "TIME_WAIT" : "LAST_ACK";
    if (e.finQueued) return e.finSent ? "FIN_WAIT_2" : "FIN_WAIT_1";
    if (e.eofIn) return "CLOSE_WAIT";
    return "ESTABLISHED";
  }

  private events(e: Ep): number {
    let b = 0;
    if (e.rcv.len > 0) b |= CHNL_EV_READABLE;
    if (e.eofIn) b |= CHNL_EV_EOF;
    if (e.state === "ESTABLISHED" && !e.finQueued && !e.reset && e.snd.room > 0) b |= CHNL_EV_WRITABLE;
    if (e.backlog.length > 0) b |= CHNL_EV_ACCEPT;
    if (e.connected) b |= CHNL_EV_CONNECTED;
    if (e.reset) b |= CHNL_EV_RESET;
    if (e.error) b |= CHNL_EV_ERROR;
    if (e.finSent && e.eofIn && e.snd.len === 0) b |= CHNL_EV_CLOSED;
    return b;
  }

  private newEp(): Ep {
    let id = this.eps.indexOf(null);
    if (id < 0) {
      id = this.eps.length;
      this.eps.push(null);
    }
    const e: Ep = {
      id, state: "OPEN", localIp: 0, localPort: 0, peerIp: 0, peerPort: 0, peer: null, snd: new ByteRing(this.sndBuf), rcv: new ByteRing(this.rcvBuf),
      finQueued: false, finSent: false, eofIn: false, reset: false, error: false, connected: false, backlog: [], backlogMax: 0,
      appClosed: false, cb: null, seen: 0, nodelay: false, keepalive: false,
    };
    this.eps[id] = e;
    return e;
  }

  private free(e: Ep): void {
    if (this.eps[e.id] === e) this.eps[e.id] = null;
  }

  private portUsed(port: number): boolean {
    return this.eps.some((e) => e !== null && e.localPort === port);
  }

  /** Resets the connection from the peer's side (as an RST arriving). */
  resetFromPeer(cd: number): void {
    const e = this.eps[cd];
    if (!e) throw new RangeError(`fake: channel ${cd} is not open`);
    e.reset = true;
    if (e.peer) e.peer.peer = null;
    e.peer = null;
  }

  /** Fails the connection (as retransmissions running out). */
  failFromPeer(cd: number): void {
    const e = this.eps[cd];
    if (!e) throw new RangeError(`fake: channel ${cd} is not open`);
    e.error = true;
    if (e.peer) {
      e.peer.reset = true;
      e.peer.peer = null;
    }
    e.peer = null;
  }

  walk(): number {
    this.counters.walks++;
    let work = 0;
    for (const e of this.eps) {
      if (e === null || e.state !== "SYN_SENT") continue;
      work++;
      const l = this.eps.find((x) => x !== null && x.state === "LISTEN" && x.localPort === e.peerPort && (x.localIp === 0 || x.localIp === e.peerIp));
      if (!l || l.backlog.length >= l.backlogMax) {
        e.reset = true;
        e.state = "ESTABLISHED";
        this.counters.refused++;
        continue;
      }
      const c = this.newEp();
      c.state = "ESTABLISHED";
      c.localIp = e.peerIp;
      c.localPort = e.peerPort;
      c.peerIp = e.localIp;
      c.peerPort = e.localPort;
      c.peer = e;
      e.peer = c;
      e.state = "ESTABLISHED";
      e.connected = true;
      l.backlog.push(c.id);
    }
    for (const e of this.eps) {
      if (e === null || e.state !== "ESTABLISHED") continue;
      const p = e.peer;
      if (p !== null && e.snd.len > 0) {
        const n = Math.min(e.snd.len, this.perWalk, p.appClosed ? e.snd.len : p.rcv.room);
        if (n > 0) {
          const tmp = new Uint8Array(n);
          e.snd.read(tmp, 0, n);
          if (!p.appClosed) p.rcv.write(tmp, 0, n);
          this.counters.bytes += n;
          work++;
        }
      } else if (p === null && e.snd.len > 0 && (e.reset || e.error)) {
        e.snd.len = 0;
      }
      if (e.finQueued && !e.finSent && e.snd.len === 0) {
        e.finSent = true;
        if (p !== null) p.eofIn = true;
        work++;
      }
    }
    for (const e of this.eps) {
      if (e === null || !e.appClosed) continue;
      e.rcv.len = 0;
      if (e.reset || e.error || e.finSent) this.free(e);
    }
    for (const e of this.eps) {
      if (e === null || e.cb === null) continue;
      const cur = this.events(e);
      const rose = cur & ~e.seen;
      e.seen = cur;
      if (rose !== 0) {
        this.counters.callbacks++;
        work++;
        e.cb(e.id, cur);
      }
    }
    return work;
  }

  private api(): TcpChannelApi {
    const self = this;
    return {
      open(proto: "tcp"): number {
        if (proto !== "tcp") throw new RangeError(`fake chnl_open: '${String(proto)}' (the stand-in does TCP only)`);
        return self.newEp().id;
      },
      bind(cd: number, ip: number, port: number): number {
        const e = self.ep(cd, "bind");
        let p = port;
        if (p === 0) {
          do p = self.nextEphemeral++; while (self.portUsed(p));
        } else if (self.eps.some((x) => x !== null && x !== e && x.localPort === p && x.state !== "ESTABLISHED")) {
          throw new Error(`fake chnl_bind ${cd}: TCP port ${p} is in use (EADDRINUSE)`);
        }
        e.localIp = ip >>> 0;
        e.localPort = p;
        return p;
      },
      listen(cd: number, backlog: number): void {
        const e = self.ep(cd, "listen");
        if (e.localPort === 0) this.bind(cd, 0, 0);
        e.state = "LISTEN";
        e.backlogMax = backlog;
      },
      accept(cd: number): number {
        const e = self.ep(cd, "accept");
        const c = e.backlog.shift();
        if (c === undefined) {
          e.seen &= ~CHNL_EV_ACCEPT;
          return -1;
        }
        return c;
      },
      connect(cd: number, ip: number, port: number): void {
        const e = self.ep(cd, "connect");
        if (e.localPort === 0) this.bind(cd, 0, 0);
        if (e.localIp === 0) e.localIp = self.localIp;
        e.peerIp = ip >>> 0;
        e.peerPort = port;
        e.state = "SYN_SENT";
      },
      send(cd: number, src: Uint8Array, off: number, len: number): number {
        const e = self.ep(cd, "send");
        if (e.state !== "ESTABLISHED" || e.finQueued || e.reset || e.error) throw new Error(`fake chnl_send ${cd}: not connected or shut down (${self.state(e)})`);
        const n = e.snd.write(src, off, len);
        if (n < len) e.seen &= ~CHNL_EV_WRITABLE;
        return n;
      },
      recv(cd: number, dst: Uint8Array, off: number, max: number): number {
        const e = self.ep(cd, "recv");
        const n = e.rcv.read(dst, off, max);
        if (n > 0) return n;
        e.seen &= ~CHNL_EV_READABLE;
        return e.eofIn ? -1 : 0;
      },
      shutdown(cd: number): void {
        self.ep(cd, "shutdown").finQueued = true;
      },
      close(cd: number): void {
        const e = self.ep(cd, "close");
        e.cb = null;
        e.appClosed = true;
        if (e.state === "LISTEN") {
          for (const c of e.backlog) {
            const x = self.eps[c]!;
            if (x.peer) x.peer.reset = true;
            self.free(x);
          }
          self.free(e);
          return;
        }
        if (e.state !== "ESTABLISHED") {
          self.free(e);
          return;
        }
        e.finQueued = true;
      },
      abort(cd: number): void {
        const e = self.ep(cd, "abort");
        self.counters.resets++;
        if (e.peer) {
          e.peer.reset = true;
          e.peer.peer = null;
        }
        self.free(e);
      },
      setCallback(cd: number, fn: ((cd: number, events: number) => void) | null): void {
        const e = self.ep(cd, "setcallback");
        e.cb = fn;
        e.seen = 0;
      },
      events(cd: number): number {
        return self.events(self.ep(cd, "events"));
      },
      setOption(cd: number, opt: "nodelay" | "keepalive", on: boolean): void {
        const e = self.ep(cd, "setoption");
        if (opt === "nodelay") e.nodelay = on;
        else if (opt === "keepalive") e.keepalive = on;
        else throw new RangeError(`fake chnl_setopt: unknown option '${String(opt)}'`);
      },
      tcpState(cd: number): string {
        return self.state(self.ep(cd, "state"));
      },
      peerOf(cd: number): { ip: number; port: number } {
        const e = self.ep(cd, "peer");
        return { ip: e.peerIp, port: e.peerPort };
      },
      localOf(cd: number): { ip: number; port: number } {
        const e = self.ep(cd, "local");
        return { ip: e.localIp, port: e.localPort };
      },
    };
  }

  /** The options a channel carries (nodelay, keepalive), for assertions. */
  optionsOf(cd: number): { nodelay: boolean; keepalive: boolean } {
    const e = this.eps[cd];
    if (!e) throw new RangeError(`fake: channel ${cd} is not open`);
    return { nodelay: e.nodelay, keepalive: e.keepalive };
  }
}
