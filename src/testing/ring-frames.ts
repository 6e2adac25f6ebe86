/**
 * Test fixture: frames into and out of a stack (or any graph) through the far end of a RingPort pair,
 * as bytes: `inject` copies each frame into a fresh buffer and sends it to the near end, `drain` takes
 * everything the near end sent (copies of the bytes, buffers freed), `finish` checks after the stack
 * closed that every frame is back in the pool (and none was freed twice) and closes the UMEM.
 *
 * @example
 * const [p0, p1] = RingPort.pair({ names: ["p0", "p1"], pids: [0, 1], mbufs: mp.mbufs, size: 1024 });
 * const io = ringFrameIo(umem, mp, p1!);
 * io.inject(frame);
 * stack.walk();
 * const out = io.drain();
 */
import assert from "node:assert/strict";
import type { Umem } from "../mem/umem.js";
import type { Mempool } from "../mem/mempool.js";
import type { Lport } from "../pktdev/lport.js";
import { copyTemplate } from "../wire/frame-template.js";

/** What {@link ringFrameIo} returns. */
export interface RingFrameIo {
  /** Everything the peer port received, as copies; the buffers go back to the pool. */
  drain(): Uint8Array[];
  /** Sends each frame from the peer port (one buffer each; the port must take it). */
  inject(...frames: Uint8Array[]): void;
  /** After `stack.close()`: drains, then asserts all `frames` are back in the pool and no double free; closes the UMEM. */
  finish(frames: number): void;
}

/**
 * Frame I/O over `peer`, the far end of a ring port pair whose near end the stack owns.
 *
 * @example
 * const io = ringFrameIo(umem, mp, p1!);
 * io.inject(arpRequest);
 */
export function ringFrameIo(umem: Umem, mp: Mempool, peer: Lport): RingFrameIo {
  const bufs = new Uint32Array(64);
  const drain = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let n; (n = peer.rxBurst(bufs, 64)) > 0;) {
      for (let i = 0; i < n; i++) {
        const h = bufs[i]!;
        const at = ((h << umem.shift) >>> 0) + mp.mbufs.dataOff[h]!;
        out.push(umem.u8.slice(at, at + mp.mbufs.dataLen[h]!));
      }
      mp.freeBulk(bufs, n);
    }
    return out;
  };
  const inject = (...frames: Uint8Array[]): void => {
    for (const f of frames) {
      const h = mp.alloc();
      assert.ok(h >= 0, "a free buffer for the injected frame");
      umem.u8.set(f, ((h << umem.shift) >>> 0) + mp.mbufs.dataOff[h]!);
      mp.mbufs.dataLen[h] = f.length;
      bufs[0] = h;
      assert.equal(peer.txBurst(bufs, 1), 1);
    }
  };
  const finish = (frames: number): void => {
    drain();
    mp.flushCache();
    assert.equal(mp.available(), frames, "every frame back in the pool");
    assert.equal(mp.overflows, 0, "no double free");
    umem.close();
  };
  return { drain, inject, finish };
}

/** What {@link templateFeed} returns: allocation-free, for the no-GC tests. */
export interface TemplateFeed {
  /** Sends one burst from the peer port: fresh buffers, the templates in turn (what the port refuses is freed). */
  feed(): void;
  /** Frees everything the peer port received. */
  drainFree(): void;
  /** Frames built so far (template `i % templates.length` was the i-th). */
  count(): number;
}

/**
 * Feeds `templates` round robin through `peer`, `burst` frames a call, copying each as 32-bit words
 * (copyTemplate), without allocating: what the allocation tests of a stack or graph loop over.
 *
 * @example
 * const f = templateFeed(umem, mp, p1!, [echoRequest, badChecksum]);
 * for (let i = 0; i < 50_000; i++) { f.feed(); stack.walk(); f.drainFree(); }
 */
export function templateFeed(umem: Umem, mp: Mempool, peer: Lport, templates: readonly Uint8Array[], burst = 8): TemplateFeed {
  const tpl8 = templates.map((t) => {
    const b = new Uint8Array(Math.ceil(t.length / 4) * 4);
    b.set(t);
    return b;
  });
  const w32 = tpl8.map((t) => new Uint32Array(t.buffer));
  const lens = templates.map((t) => t.length);
  const n = templates.length;
  const bufs = new Uint32Array(burst);
  const out = new Uint32Array(burst);
  const u8 = umem.u8;
  const u32 = new Uint32Array(u8.buffer, u8.byteOffset, u8.byteLength >>> 2);
  const { dataOff, dataLen } = mp.mbufs;
  const shift = umem.shift;
  let k = 0;
  let total = 0;
  return {
    feed: () => {
      const got = mp.allocBulk(bufs, burst);
      for (let j = 0; j < got; j++) {
        const h = bufs[j]!;
        const t = k;
        k = k + 1 === n ? 0 : k + 1;
        copyTemplate(u8, u32, ((h << shift) >>> 0) + dataOff[h]!, w32[t]!, tpl8[t]!, lens[t]!);
        dataLen[h] = lens[t]!;
      }
      total += got;
      const sent = peer.txBurst(bufs, got);
      if (sent < got) mp.freeBulk(bufs, got - sent, sent);
    },
    drainFree: () => {
      for (let m; (m = peer.rxBurst(out, burst)) > 0;) mp.freeBulk(out, m);
    },
    count: () => total,
  };
}
