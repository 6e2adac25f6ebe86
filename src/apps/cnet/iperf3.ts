/**
 * An iperf3 server (TCP, the client sending; `-P` parallel streams; `-t`, `-n`, `-l` as the client likes)
 * over any Node stream sockets: `xdplane cnet --iperf3 <port>` runs it on the stack's `createServer`, so
 * the stock `iperf3 -c <address>` measures the user-space stack from a Linux host. The same code runs over
 * `node:net` sockets (its test checks it against the real iperf3 client first).
 *
 * The control protocol, as iperf3 3.x speaks it: every connection opens with the client's 37-byte cookie;
 * on the control connection the server sends one-byte states: PARAM_EXCHANGE (9), then reads the
 * client's parameters (a 4-byte big-endian length and JSON), CREATE_STREAMS (10), and once the client's
 * data connections (its cookie first) are in, TEST_START (1) and TEST_RUNNING (2). When the client sends
 * TEST_END (4), the server sends EXCHANGE_RESULTS (13), reads the client's results and sends its own
 * (bytes received per stream, with iperf3's stream ids 1, 3, 4, ...; once what the client says it sent
 * has arrived, so the count is exact, or after 2 s), then DISPLAY_RESULTS (14); the
 * client ends with IPERF_DONE (16). What it does not serve (UDP, reverse or bidirectional tests) is
 * refused with SERVER_ERROR (-2) and an error number the client prints, and the test ends.
 *
 * @example
 * import { createServer } from "xdplane/cnet";
 * const iperf = new Iperf3Server();
 * createServer((s) => iperf.connection(s)).listen(5201);
 */
import type { Duplex } from "node:stream";

const COOKIE = 37;
const TEST_START = 1;
const TEST_RUNNING = 2;
const TEST_END = 4;
const PARAM_EXCHANGE = 9;
const CREATE_STREAMS = 10;
const CLIENT_TERMINATE = 12;
const EXCHANGE_RESULTS = 13;
const DISPLAY_RESULTS = 14;
const IPERF_DONE = 16;
const SERVER_ERROR = -2;
const ACCESS_DENIED = -1;
/** iperf3's IEUNIMP ("not implemented yet"): the client prints its own text for it. */
const IE_UNSUPPORTED = 13;
/** Longest wait for data still in flight when the client ended the test (ms). */
const DRAIN_MS = 2000;
/** iperf3 numbers its streams 1, 3, 4, ... in the order they connect (both ends do the same). */
const streamId = (i: number): number => (i === 0 ? 1 : i + 2);
/** JSON messages longer than this are refused (a client's parameters or results are a few hundred bytes). */
const MAX_JSON = 1 << 20;

/** One finished test, as the server saw it. */
export interface Iperf3TestReport {
  /** The client's parameters (its JSON). */
  params: Record<string, unknown>;
  /** Bytes received per data stream, in the order they connected. */
  streamBytes: number[];
  /** Seconds from TEST_START to TEST_END. */
  seconds: number;
  /** Why the test ended early (a refused option, a connection lost), or null when it completed. */
  error: string | null;
}

interface Test {
  cookie: string;
  ctrl: Duplex;
  buf: Buffer;
  state: "cookie" | "params" | "streams" | "running" | "results" | "draining" | "done" | "ended";
  params: Record<string, unknown>;
  want: number;
  streams: { sock: Duplex; bytes: number }[];
  start: number;
  end: number;
}

/**
 * The server: hand it every accepted connection with {@link Iperf3Server.connection}. One test runs at a
 * time (as iperf3's own server): a second client is told ACCESS_DENIED.
 *
 * @example
 * const iperf = new Iperf3Server({ onTest: (r) => console.log(r.streamBytes) });
 * import { createServer } from "node:net";
 * createServer((s) => iperf.connection(s)).listen(5201);
 */
export class Iperf3Server {
  private test: Test | null = null;
  private readonly onTest: (r: Iperf3TestReport) => void;
  /** Tests completed and refused so far. */
  readonly stats = { tests: 0, refused: 0, bytes: 0 };

  constructor(o: { onTest?: (r: Iperf3TestReport) => void } = {}) {
    this.onTest = o.onTest ?? (() => {});
  }

  /**
   * Whether a test is under way (a second client now is told ACCESS_DENIED).
   *
   * @example
   * const iperf = new Iperf3Server();
   * console.log(iperf.busy); // false
   */
  get busy(): boolean {
    return this.test !== null && this.test.state !== "ended";
  }

  /**
   * Serves one accepted connection (control or data: the cookie and the test's state tell which).
   *
   * @example
   * const iperf = new Iperf3Server();
   * declare const sock: import("node:stream").Duplex;
   * iperf.connection(sock);
   */
  connection(sock: Duplex): void {
    let head = Buffer.alloc(0);
    sock.on("error", () => {});
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      if (head.length < COOKIE) return;
      sock.off("data", onData);
      const cookie = head.subarray(0, COOKIE).toString("latin1");
      const rest = head.subarray(COOKIE);
      const t = this.test;
      if (t !== null && t.state === "streams" && cookie === t.cookie) this.addStream(t, sock, rest);
      else if (t === null || t.state === "ended") this.control(sock, cookie, rest);
      else {
        this.stats.refused++;
        sock.end(Buffer.of(ACCESS_DENIED & 0xff));
      }
    };
    sock.on("data", onData);
  }

  private control(ctrl: Duplex, cookie: string, rest: Buffer): void {
    const t: Test = { cookie, ctrl, buf: Buffer.alloc(0), state: "params", params: {}, want: 0, streams: [], start: 0, end: 0 };
    this.test = t;
    ctrl.on("data", (d: Buffer) => this.onControl(t, d));
    ctrl.on("close", () => this.finish(t, t.state === "done" ? null : "the control connection closed"));
    ctrl.write(Buffer.of(PARAM_EXCHANGE));
    if (rest.length > 0) this.onControl(t, rest);
  }

  private onControl(t: Test, d: Buffer): void {
    t.buf = t.buf.length === 0 ? d : Buffer.concat([t.buf, d]);
    for (;;) {
      if (t.state === "params" || t.state === "results") {
        if (t.buf.length < 4) return;
        const n = t.buf.readUInt32BE(0);
        if (n > MAX_JSON) return this.fail(t, `a JSON message of ${n} bytes`);
        if (t.buf.length < 4 + n) return;
        let j: Record<string, unknown>;
        try {
          j = JSON.parse(t.buf.subarray(4, 4 + n).toString("utf8")) as Record<string, unknown>;
        } catch {
          return this.fail(t, "the client's JSON does not parse");
        }
        t.buf = t.buf.subarray(4 + n);
        if (t.state === "params") this.onParams(t, j);
        else this.afterDrain(t, j);
        continue;
      }
      if (t.buf.length === 0) return;
      const s = t.buf.readInt8(0);
      t.buf = t.buf.subarray(1);
      if (s === TEST_END && t.state === "running") {
        t.end = performance.now();
        t.state = "results";
        t.ctrl.write(Buffer.of(EXCHANGE_RESULTS));
      } else if (s === IPERF_DONE && t.state === "done") {
        t.ctrl.end();
      } else if (s === CLIENT_TERMINATE) {
        return this.fail(t, "the client terminated the test");
      } else {
        return this.fail(t, `state ${s} from the client while ${t.state}`);
      }
    }
  }

  private onParams(t: Test, j: Record<string, unknown>): void {
    t.params = j;
    const bad = j["udp"] ? "UDP" : j["reverse"] ? "reverse (-R)" : j["bidirectional"] ? "bidirectional" : j["sctp"] ? "SCTP" : null;
    if (bad !== null) {
      t.ctrl.write(Buffer.of(SERVER_ERROR & 0xff));
      const e = Buffer.alloc(8);
      e.writeInt32BE(IE_UNSUPPORTED, 0);
      e.writeInt32BE(0, 4);
      t.ctrl.write(e);
      return this.fail(t, `${bad} tests are not served`);
    }
    const p = Number(j["parallel"] ?? 1);
    t.want = Number.isInteger(p) && p >= 1 && p <= 128 ? p : 1;
    t.state = "streams";
    t.ctrl.write(Buffer.of(CREATE_STREAMS));
  }

  private addStream(t: Test, sock: Duplex, rest: Buffer): void {
    const st = { sock, bytes: rest.length };
    t.streams.push(st);
    sock.on("data", (d: Buffer) => {
      st.bytes += d.length;
    });
    if (t.streams.length === t.want) {
      t.state = "running";
      t.start = performance.now();
      t.ctrl.write(Buffer.of(TEST_START, TEST_RUNNING));
    }
  }

  /**
   * The client's results name the bytes it sent per stream: the server answers once it has received
   * them all (data still in flight when TEST_END came), or after {@link DRAIN_MS}, so its count is exact.
   */
  private afterDrain(t: Test, j: Record<string, unknown>): void {
    t.state = "draining";
    const sent = new Map<number, number>();
    const streams = Array.isArray(j["streams"]) ? (j["streams"] as { id?: unknown; bytes?: unknown }[]) : [];
    for (const s of streams) if (typeof s.id === "number" && typeof s.bytes === "number") sent.set(s.id, s.bytes);
    const until = performance.now() + DRAIN_MS;
    const check = () => {
      if (t.state !== "draining") return;
      const all = t.streams.every((s, i) => s.bytes >= (sent.get(streamId(i)) ?? 0));
      if (all || performance.now() >= until) this.sendResults(t);
      else setTimeout(check, 5);
    };
    check();
  }

  private sendResults(t: Test): void {
    const secs = (t.end - t.start) / 1000;
    const results = {
      cpu_util_total: 0, cpu_util_user: 0, cpu_util_system: 0, sender_has_retransmits: -1,
      streams: t.streams.map((s, i) => ({ id: streamId(i), bytes: s.bytes, retransmits: -1, jitter: 0, errors: 0, packets: 0, start_time: 0, end_time: secs })),
    };
    const body = Buffer.from(JSON.stringify(results));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length, 0);
    t.ctrl.write(Buffer.concat([len, body, Buffer.of(DISPLAY_RESULTS)]));
    t.state = "done";
  }

  private fail(t: Test, why: string): void {
    this.finish(t, why);
    t.ctrl.end();
  }

  private finish(t: Test, error: string | null): void {
    if (t.state === "ended") return;
    const done = t.state === "done" && error === null;
    t.state = "ended";
    for (const s of t.streams) s.sock.destroy();
    if (done) this.stats.tests++;
    else this.stats.refused++;
    const bytes = t.streams.map((s) => s.bytes);
    this.stats.bytes += bytes.reduce((a, b) => a + b, 0);
    if (this.test === t) this.test = null;
    this.onTest({ params: t.params, streamBytes: bytes, seconds: (t.end - t.start) / 1000, error });
  }
}
