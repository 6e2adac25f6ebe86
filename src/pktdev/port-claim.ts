/**
 * One owner per port for drivers that keep their data-path state in shared memory (net_af_packet's ring
 * cursors, net_tap's fd, net_pcap's replay position): a claim word says which object drives the port.
 * The creator holds it; `release()` gives it up; a worker's `fromShared` takes it with a compare-and-swap
 * and throws while another object holds it; the creator's `close()` takes it back and marks it closed.
 * Nothing is checked per burst (as for AF_XDP sockets, src/xsk/socket.ts).
 */
import { threadId } from "node:worker_threads";

const CLOSED = -1;
let seq = 0;

/** A claim over word `index` of a shared Int32Array. */
export class PortClaim {
  private readonly word: Int32Array;
  private readonly index: number;
  private readonly what: string;
  /** (thread id << 16) | sequence: unique to this object in the process, never 0. */
  private readonly token: number;
  private holding = false;

  /**
   * @example
   * const claim = new PortClaim(new Int32Array(new SharedArrayBuffer(4)), 0, "net_tap tap0");
   * claim.hold(); // the creator
   */
  constructor(word: Int32Array, index: number, what: string) {
    this.word = word;
    this.index = index;
    this.what = what;
    seq = (seq % 0xffff) + 1;
    this.token = ((threadId & 0x7fff) << 16) | seq;
  }

  /** The creator takes the port at creation. */
  hold(): void {
    Atomics.store(this.word, this.index, this.token);
    this.holding = true;
  }

  /** Takes the port (another thread's object); throws while another object holds it or after close. */
  claim(): void {
    if (this.holding) return;
    const prev = Atomics.compareExchange(this.word, this.index, 0, this.token);
    if (prev === CLOSED) throw new Error(`${this.what}: the port is closed`);
    if (prev !== 0) {
      throw new Error(`${this.what}: the port is already driven by another object (thread ${prev >>> 16}); ` +
        "one owner per port: call release() on that object (or close it) first");
    }
    this.holding = true;
  }

  /** Gives the port up so that another object may claim it. */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    Atomics.compareExchange(this.word, this.index, this.token, 0);
  }

  /** Whether this object drives the port. */
  get holds(): boolean {
    return this.holding && Atomics.load(this.word, this.index) === this.token;
  }

  /** The creator's close: the port is closed for everyone. */
  close(): void {
    this.holding = false;
    Atomics.store(this.word, this.index, CLOSED);
  }
}
