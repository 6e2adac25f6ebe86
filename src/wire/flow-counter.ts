/**
 * A per-flow packet and byte counter over IPv4 5-tuples that one worker thread fills and other threads
 * read: a SharedArrayBuffer with open addressing over `slots` (a power of two). Per slot, 4 u32 words of key
 * (IPv4 source, destination, source port << 16 | destination port, protocol | USED, stored last with
 * Atomics) and 2 f64 counters (packets, bytes); after them two f64: packets that found no free slot in
 * 16 probes (overflow) and frames that are not IPv4 (other). Counting allocates nothing; reading does.
 *
 * @example
 * const flows = FlowCounter.create(1024);                 // main thread; flows.buffer goes to the worker
 * const mine = new FlowCounter(flows.buffer);             // worker thread
 * mine.countFrame(umem.u8, off, 64);
 * console.log(FlowCounter.flows([flows]).map(flowName)); // ["10.0.0.1:1000->10.0.0.2:53/udp"]
 */
import { be32 } from "./bytes.js";
import { ipv4At, ipv4Payload, IP4_DST, IP4_PROTO, IP4_SRC, IPPROTO_TCP, IPPROTO_UDP } from "./ipv4.js";

const USED = 0x100;
const PROBES = 16;

/** One flow of a {@link FlowCounter}: addresses dotted, ports 0 but for TCP and UDP. */
export interface Flow { src: string; dst: string; sport: number; dport: number; proto: number; packets: number; bytes: number }

const dotted = (v: number) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
const PROTOS: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp" };

/**
 * A flow's name, as a metric label: `10.0.0.1:1000->10.0.0.2:53/udp` (`10.0.0.1->10.0.0.2/icmp` without
 * ports; the protocol's number when it has no name here).
 *
 * @example
 * flowName({ src: "10.0.0.1", dst: "10.0.0.2", sport: 0, dport: 0, proto: 1, packets: 1, bytes: 64 }); // "10.0.0.1->10.0.0.2/icmp"
 */
export function flowName(f: Flow): string {
  const proto = PROTOS[f.proto] ?? String(f.proto);
  return f.proto === IPPROTO_TCP || f.proto === IPPROTO_UDP ? `${f.src}:${f.sport}->${f.dst}:${f.dport}/${proto}` : `${f.src}->${f.dst}/${proto}`;
}

/**
 * The flow table (see the file comment): {@link FlowCounter.create} makes one, `new FlowCounter(buffer)`
 * opens the same memory in another thread.
 *
 * @example
 * const table = FlowCounter.create(65536);
 * table.count(0x0a000001, 0x0a000002, (1000 << 16) | 53, 17, 64);
 * console.log(table.flows()[0]); // { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 53, proto: 17, packets: 1, bytes: 64 }
 */
export class FlowCounter {
  /** The shared memory: hand it to another thread, which opens it with `new FlowCounter(buffer)`. */
  readonly buffer: SharedArrayBuffer;
  /** Slots of the table (the most flows it holds). */
  readonly slots: number;
  private readonly keys: Uint32Array;
  private readonly stats: Float64Array;

  /**
   * A new, empty table of `slots` flows (a power of two, 16 to 1048576).
   *
   * @example
   * const table = FlowCounter.create(1024);
   */
  static create(slots = 65536): FlowCounter {
    if (!Number.isInteger(Math.log2(slots)) || slots < 16 || slots > 1 << 20) throw new RangeError(`Invalid flow table size ${slots}: a power of two, 16 to 1048576`);
    return new FlowCounter(new SharedArrayBuffer(slots * 32 + 16));
  }

  /**
   * Every flow of the tables, the biggest (packets, then bytes) first (control path: allocates).
   *
   * @example
   * const top10 = FlowCounter.flows([FlowCounter.create(1024)]).slice(0, 10);
   */
  static flows(tables: readonly FlowCounter[]): Flow[] {
    return tables.flatMap((t) => t.flows()).sort((a, b) => b.packets - a.packets || b.bytes - a.bytes);
  }

  /**
   * The tables' totals: flows, their packets, frames not IPv4 (`other`) and packets that found no slot
   * (`overflow`). Control path: allocates.
   *
   * @example
   * const { flows, packets, other, overflow } = FlowCounter.totals([FlowCounter.create(1024)]);
   */
  static totals(tables: readonly FlowCounter[]): { flows: number; packets: number; other: number; overflow: number } {
    const all = FlowCounter.flows(tables);
    return { flows: all.length, packets: all.reduce((s, f) => s + f.packets, 0), other: tables.reduce((s, t) => s + t.other, 0),
      overflow: tables.reduce((s, t) => s + t.overflow, 0) };
  }

  /**
   * Opens the table in `buffer` (made by {@link FlowCounter.create}, maybe in another thread).
   *
   * @example
   * const mine = new FlowCounter(FlowCounter.create(1024).buffer);
   */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.slots = (buffer.byteLength - 16) / 32;
    this.keys = new Uint32Array(buffer, 0, this.slots * 4);
    this.stats = new Float64Array(buffer, this.slots * 16, this.slots * 2 + 2);
  }

  /** Packets that found no free slot. */
  get overflow(): number {
    return this.stats[this.slots * 2]!;
  }

  /** Frames {@link FlowCounter.countFrame} found not IPv4. */
  get other(): number {
    return this.stats[this.slots * 2 + 1]!;
  }

  /**
   * Counts one packet of `len` bytes for the flow (`ports`: source port << 16 | destination port; hot path,
   * no allocation).
   *
   * @example
   * FlowCounter.create(1024).count(0x0a000001, 0x0a000002, 0, 1, 98); // an ICMP packet
   */
  count(src: number, dst: number, ports: number, proto: number, len: number): void {
    const { keys, stats } = this;
    let h = Math.imul(src ^ Math.imul(dst, 0x9e3779b1) ^ Math.imul(ports, 0x85ebca6b) ^ proto, 0xc2b2ae35);
    h ^= h >>> 15;
    for (let p = 0; p < PROBES; p++) {
      const i = (h + p) & (this.slots - 1);
      const k = i * 4;
      const flag = keys[k + 3]!;
      if (flag === 0) {
        keys[k] = src; keys[k + 1] = dst; keys[k + 2] = ports;
        Atomics.store(keys, k + 3, proto | USED);
      } else if (flag !== (proto | USED) || keys[k] !== src || keys[k + 1] !== dst || keys[k + 2] !== ports) {
        continue;
      }
      stats[i * 2] = stats[i * 2]! + 1;
      stats[i * 2 + 1] = stats[i * 2 + 1]! + len;
      return;
    }
    stats[this.slots * 2] = stats[this.slots * 2]! + 1;
  }

  /**
   * Counts the Ethernet frame of `len` bytes at `o`: an IPv4 frame under its 5-tuple (ports for TCP and
   * UDP when they fit in `len`, else 0), anything else in {@link FlowCounter.other} (hot path).
   *
   * @example
   * const table = FlowCounter.create(1024);
   * table.countFrame(umem.u8, off, 64);
   */
  countFrame(u8: Uint8Array, o: number, len: number): void {
    const ip = ipv4At(u8, o, len);
    if (ip < 0) {
      this.stats[this.slots * 2 + 1] = this.stats[this.slots * 2 + 1]! + 1;
      return;
    }
    const proto = u8[ip + IP4_PROTO]!;
    const l4 = ipv4Payload(u8, ip);
    const ported = (proto === IPPROTO_TCP || proto === IPPROTO_UDP) && l4 + 4 <= o + len;
    this.count(be32(u8, ip + IP4_SRC), be32(u8, ip + IP4_DST), ported ? be32(u8, l4) : 0, proto, len);
  }

  /**
   * The flows of this table, in slot order (control path: allocates).
   *
   * @example
   * const n = FlowCounter.create(1024).flows().length; // 0
   */
  flows(): Flow[] {
    const out: Flow[] = [];
    const { keys, stats } = this;
    for (let i = 0; i < this.slots; i++) {
      const flag = Atomics.load(keys, i * 4 + 3);
      if (flag === 0) continue;
      const ports = keys[i * 4 + 2]!;
      out.push({ src: dotted(keys[i * 4]!), dst: dotted(keys[i * 4 + 1]!), sport: ports >>> 16, dport: ports & 0xffff,
        proto: flag & 0xff, packets: stats[i * 2]!, bytes: stats[i * 2 + 1]! });
    }
    return out;
  }
}
