/**
 * UMEM: one contiguous mapping divided into equal frames (2048 bytes by default, as CNDP), shared by the
 * AF_XDP sockets that register it and by every worker thread (it is a SharedArrayBuffer).
 *
 * A packet buffer is named by its frame index (the "handle"). Frame `h` starts at byte `(h << shift) >>> 0` (unsigned: UMEMs reach 4 GiB, handles 2^21);
 * packet data starts `headroom` (256) bytes in, where the kernel puts received frames.
 * Limits: frame size a power of two from 2048 to 4096 (aligned chunk mode) and at most 4 GiB in all, so
 * that descriptor addresses fit in 32 bits and the data path never needs a BigInt.
 */
import { mmapAnon, munmap, type PageKind } from "../sys/mem.js";
import { sys } from "../sys/native.js";

export const DEFAULT_FRAME_SIZE = 2048;
/** XDP_PACKET_HEADROOM: where the kernel puts a received packet inside its frame. */
export const DEFAULT_HEADROOM = 256;

export interface UmemOptions {
  /** Number of frames. */
  frames: number;
  /** Frame size in bytes, a power of two, 2048 (default) or 4096. */
  frameSize?: number;
  /** Page kind for the mapping (falls back to 4KB when huge pages are not available). */
  mtype?: PageKind;
  name?: string;
}

/** What another thread needs to open the same UMEM (structured-cloneable). */
export interface UmemShared {
  buf: SharedArrayBuffer;
  frames: number;
  frameSize: number;
  name: string;
  mtype: PageKind;
}

export class Umem {
  readonly name: string;
  readonly buf: SharedArrayBuffer;
  readonly frames: number;
  readonly frameSize: number;
  /** log2(frameSize): handle = addr >>> shift. */
  readonly shift: number;
  readonly headroom = DEFAULT_HEADROOM;
  /** The page kind actually obtained. */
  readonly mtype: PageKind;
  /** Byte, 16-bit and 32-bit views over the whole UMEM (for header rewrites in place). */
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly view: DataView;
  private owner: boolean;
  private closed = false;

  private constructor(s: UmemShared, owner: boolean) {
    this.name = s.name;
    this.buf = s.buf;
    this.frames = s.frames;
    this.frameSize = s.frameSize;
    this.shift = Math.log2(s.frameSize);
    this.mtype = s.mtype;
    this.u8 = new Uint8Array(s.buf, 0, s.frames * s.frameSize);
    this.u16 = new Uint16Array(s.buf, 0, (s.frames * s.frameSize) >>> 1);
    this.u32 = new Uint32Array(s.buf, 0, (s.frames * s.frameSize) >>> 2);
    this.view = new DataView(s.buf, 0, s.frames * s.frameSize);
    this.owner = owner;
  }

  /** Maps a new UMEM. Release it with {@link close}. */
  static create(opts: UmemOptions): Umem {
    const fs = opts.frameSize ?? DEFAULT_FRAME_SIZE;
    const name = opts.name ?? "umem";
    if (fs !== 2048 && fs !== 4096) {
      throw new RangeError(`Invalid frame size ${fs} for umem '${name}': 2048 or 4096 (aligned chunk mode)`);
    }
    if (!Number.isInteger(opts.frames) || opts.frames < 1) {
      throw new RangeError(`Invalid frame count ${opts.frames} for umem '${name}': a positive integer`);
    }
    if (opts.frames * fs > 2 ** 32) {
      throw new RangeError(`umem '${name}' of ${opts.frames} x ${fs} bytes exceeds the 4 GiB limit`);
    }
    const { buf, kind } = mmapAnon(opts.frames * fs, opts.mtype ?? "4KB");
    return new Umem({ buf, frames: opts.frames, frameSize: fs, name, mtype: kind }, true);
  }

  /** Opens a UMEM mapped by another thread. Only the creator's {@link close} unmaps it. */
  static fromShared(s: UmemShared): Umem {
    return new Umem(s, false);
  }

  toShared(): UmemShared {
    return { buf: this.buf, frames: this.frames, frameSize: this.frameSize, name: this.name, mtype: this.mtype };
  }

  /** The user-space address of the mapping, for XDP_UMEM_REG. */
  address(): number {
    return sys.addressOf(this.u8);
  }

  /** Byte length of the UMEM. */
  get length(): number {
    return this.frames * this.frameSize;
  }

  /** Unmaps the UMEM (creator only); views read zeros afterwards. */
  close(): void {
    if (this.closed || !this.owner) return;
    this.closed = true;
    munmap(this.buf);
  }
}
