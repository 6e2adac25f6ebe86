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
