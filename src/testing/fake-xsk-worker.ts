/**
 * The thread behind src/testing/fake-xsk.ts: the fake wire (the kernel's side of several fake sockets,
 * moving frames between them like veths in copy mode) and delayed TX completions. Started by
 * startFakeWire() and FakeKernel.completeLater(); not imported directly.
 */
import { workerData, parentPort } from "node:worker_threads";
import { sys } from "../sys/native.js";
import { MSG_DONTWAIT } from "../sys/consts.js";
import { XDP_PACKET_HEADROOM } from "../xsk/if-xdp.js";
import type { RingMap } from "../xsk/socket.js";
import { WIRE_COUNT_NAMES, type FakeCompleteStart, type FakeWireStart } from "./fake-xsk.js";

/** TX descriptors handled per socket and pass. */
const BATCH = 64;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function completeLater(d: FakeCompleteStart): void {
  parentPort!.postMessage({ ready: true });
  sleep(d.delayMs);
  const r = d.comp;
  let posted = 0;
  const t0 = Date.now();
  while (posted < d.addrs.length && Date.now() - t0 < 5000) {
    const prod = Atomics.load(r.u32, r.prod);
    if (((prod - Atomics.load(r.u32, r.cons)) >>> 0) >= r.size) {
      sleep(1);
      continue;
    }
    const addr = d.addrs[posted]!;
    const i = r.desc + ((prod & r.mask) << 1);
    r.u32[i] = addr >>> 0;
    r.u32[i + 1] = Math.floor(addr / 2 ** 32);
    Atomics.store(r.u32, r.prod, (prod + 1) >>> 0);
    posted++;
  }
  parentPort!.postMessage({ posted });
}

interface Port {
  rx: RingMap;
  tx: RingMap;
  fill: RingMap;
  comp: RingMap;
  u8: Uint8Array;
  fsize: number;
  peerFd: number;
  sockFd: number;
  /** We made its fd readable and have not taken the token back yet. */
  signalled: boolean;
}

function wire(d: FakeWireStart): void {
  const stop = new Int32Array(d.ctl);
  const c = new Float64Array(d.counts);
  const n = d.ports.length;
  const K = WIRE_COUNT_NAMES.length;
  const [MOVED, NOFILL, RXFULL, TOOLONG, SUNK, INVALID, KICKS] = [0, 1, 2, 3, 4, 5, 6] as const;
  const ports: Port[] = d.ports.map((p, i) => {
    const { rx, tx, fill, comp } = p.xsk.rings;
    if (!fill || !comp) throw new Error(`fake wire: port ${i} (${p.xsk.name}) has no fill/completion ring of its own`);
    return {
      rx, tx, fill, comp, u8: new Uint8Array(p.umem.buf, 0, p.umem.frames * p.umem.frameSize),
      fsize: p.umem.frameSize, peerFd: p.peerFd, sockFd: p.xsk.fd, signalled: false,
    };
  });
  parentPort!.postMessage({ ready: true });
  let idle = 0;
  while (Atomics.load(stop, 0) === 0) {
    let work = 0;
    for (let i = 0; i < n; i++) {
      const src = ports[i]!;
      while (sys.recvfrom(src.peerFd, null, MSG_DONTWAIT) >= 0) c[KICKS]!++;
      const tx = src.tx;
      const comp = src.comp;
      const txCons = Atomics.load(tx.u32, tx.cons);
      const avail = (Atomics.load(tx.u32, tx.prod) - txCons) >>> 0;
      if (avail === 0) continue;
      let cqProd = Atomics.load(comp.u32, comp.prod);
      const cqFree = comp.size - ((cqProd - Atomics.load(comp.u32, comp.cons)) >>> 0);
      const take = Math.min(avail, cqFree, BATCH);
      if (take === 0) continue;
      const j = d.wiring[i]!;
      const dst = j >= 0 ? ports[j]! : null;
      let fCons = 0, fAvail = 0, rProd = 0, rFree = 0;
      if (dst) {
        fCons = Atomics.load(dst.fill.u32, dst.fill.cons);
        fAvail = (Atomics.load(dst.fill.u32, dst.fill.prod) - fCons) >>> 0;
        rProd = Atomics.load(dst.rx.u32, dst.rx.prod);
        rFree = dst.rx.size - ((rProd - Atomics.load(dst.rx.u32, dst.rx.cons)) >>> 0);
      }
      let moved = 0;
      for (let k = 0; k < take; k++) {
        const td = tx.desc + (((txCons + k) & tx.mask) << 2);
        const addr = tx.u32[td]!;
        const len = tx.u32[td + 2]!;
        const valid = tx.u32[td + 1] === 0 && len > 0 && (addr % src.fsize) + len <= src.fsize && addr + len <= src.u8.length;
        if (!valid) c[INVALID]!++;
        else if (!dst) c[SUNK]!++;
        else if (len > dst.fsize - XDP_PACKET_HEADROOM) c[TOOLONG]!++;
        else if (fAvail === 0) c[NOFILL]!++;
        else if (rFree === 0) c[RXFULL]!++;
        else {
          const fa = dst.fill.u32[dst.fill.desc + ((fCons & dst.fill.mask) << 1)]!;
          const at = fa - (fa % dst.fsize) + XDP_PACKET_HEADROOM;
          dst.u8.set(src.u8.subarray(addr, addr + len), at);
          const rd = dst.rx.desc + ((rProd & dst.rx.mask) << 2);
          dst.rx.u32[rd] = at;
          dst.rx.u32[rd + 1] = 0;
          dst.rx.u32[rd + 2] = len;
          dst.rx.u32[rd + 3] = 0;
          fCons = (fCons + 1) >>> 0;
          rProd = (rProd + 1) >>> 0;
          fAvail--;
          rFree--;
          moved++;
        }
        // Completed whether delivered or dropped, as a netdev frees the skb either way.
        const cd = comp.desc + ((cqProd & comp.mask) << 1);
        comp.u32[cd] = addr;
        comp.u32[cd + 1] = 0;
        cqProd = (cqProd + 1) >>> 0;
      }
      if (dst && moved > 0) {
        Atomics.store(dst.fill.u32, dst.fill.cons, fCons);
        Atomics.store(dst.rx.u32, dst.rx.prod, rProd);
        c[K + n + j]! += moved;
        c[MOVED]! += moved;
        if (!dst.signalled) {
          dst.signalled = true;
          sys.sendto(dst.peerFd, null, MSG_DONTWAIT, null);
        }
      }
      Atomics.store(tx.u32, tx.cons, (txCons + take) >>> 0);
      Atomics.store(comp.u32, comp.prod, cqProd);
      c[K + i]! += take;
      work += take;
    }
    // Readability follows the RX ring: take the token back once the socket has emptied it.
    for (const p of ports) {
      if (p.signalled && Atomics.load(p.rx.u32, p.rx.prod) === Atomics.load(p.rx.u32, p.rx.cons)) {
        while (sys.recvfrom(p.sockFd, null, MSG_DONTWAIT) >= 0) { /* drain */ }
        p.signalled = false;
      }
    }
    if (work > 0) idle = 0;
    else if (++idle > 64) Atomics.wait(stop, 0, 0, 1);
  }
  for (const p of ports) {
    if (p.signalled) while (sys.recvfrom(p.sockFd, null, MSG_DONTWAIT) >= 0) { /* drain */ }
    while (sys.recvfrom(p.peerFd, null, MSG_DONTWAIT) >= 0) c[KICKS]!++;
  }
}

const start = workerData as FakeWireStart | FakeCompleteStart;
if (start.mode === "complete") completeLater(start);
else wire(start);
