/**
 * The flow table a flow-counter thread fills and the main thread reads: one SharedArrayBuffer per thread,
 * open addressing over `slots` (a power of two). Per slot, 4 u32 words of key (IPv4 source, destination,
 * source port << 16 | destination port, protocol | USED, stored last with Atomics) and 2 f64 counters
 * (packets, bytes); after them one f64 of packets that found no free slot.
 */
export const USED = 0x100;
export const PROBES = 16;

export interface FlowTable { slots: number; keys: Uint32Array; stats: Float64Array }

export function flowTable(sab: SharedArrayBuffer): FlowTable {
  const slots = (sab.byteLength - 8) / 32;
  return { slots, keys: new Uint32Array(sab, 0, slots * 4), stats: new Float64Array(sab, slots * 16, slots * 2 + 1) };
}

export function newFlowTable(slots: number): SharedArrayBuffer {
  if (!Number.isInteger(Math.log2(slots)) || slots < 16 || slots > 1 << 20) throw new RangeError(`Invalid flow table size ${slots}: a power of two, 16 to 1048576`);
  return new SharedArrayBuffer(slots * 32 + 8);
}

/** Counts one packet of `len` bytes for the flow (hot path: no allocation). */
export function countFlow(t: FlowTable, src: number, dst: number, ports: number, proto: number, len: number): void {
  const { keys, stats } = t;
  let h = Math.imul(src ^ Math.imul(dst, 0x9e3779b1) ^ Math.imul(ports, 0x85ebca6b) ^ proto, 0xc2b2ae35);
  h ^= h >>> 15;
  for (let p = 0; p < PROBES; p++) {
    const i = (h + p) & (t.slots - 1);
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
  stats[t.slots * 2] = stats[t.slots * 2]! + 1;
}

export interface Flow { src: string; dst: string; sport: number; dport: number; proto: number; packets: number; bytes: number }

const ip = (v: number) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;

/** Every flow of the tables (control path), the biggest (packets, then bytes) first. */
export function flows(tables: FlowTable[]): Flow[] {
  const out: Flow[] = [];
  for (const t of tables) {
    for (let i = 0; i < t.slots; i++) {
      const flag = Atomics.load(t.keys, i * 4 + 3);
      if (flag === 0) continue;
      const ports = t.keys[i * 4 + 2]!;
      out.push({ src: ip(t.keys[i * 4]!), dst: ip(t.keys[i * 4 + 1]!), sport: ports >>> 16, dport: ports & 0xffff,
        proto: flag & 0xff, packets: t.stats[i * 2]!, bytes: t.stats[i * 2 + 1]! });
    }
  }
  return out.sort((a, b) => b.packets - a.packets || b.bytes - a.bytes);
}
