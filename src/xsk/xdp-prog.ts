/**
 * The XDP side of an AF_XDP port: the redirect program on a netdev (one per netdev and mode, shared by
 * the process's sockets on its queues, reference-counted) and a socket's slot in the XSKMAP.
 */
import { BpfMap, XSKMAP_EXPECT } from "../bpf/map.js";

/** A reference to the redirect program attached to a netdev; release() drops it (detaching at zero). */
export interface XdpProgramRef {
  readonly ifname: string;
  readonly mode: "drv" | "skb";
  /** The XSKMAP's fd (owned by the reference). */
  readonly mapFd: number;
  release(): void;
}

/** Attaches (or reuses) the XSK redirect program on `ifname`. Implemented in xdp-attach.ts. */
export let acquireXdpProgram: (ifname: string, mode: "drv" | "skb", log?: (m: string) => void) => XdpProgramRef = () => {
  throw new Error("XDP program loading is not available (bpf/link.ts missing)");
};

/** Replaces the implementation (used by xdp-attach.ts at import). */
export function setXdpProgramProvider(fn: typeof acquireXdpProgram): void {
  acquireXdpProgram = fn;
}

/** A socket's entry in an XSKMAP: key = queue id, value = socket fd. remove() deletes it. */
export class XskMapSlot {
  private removed = false;
  private constructor(private readonly map: BpfMap, private readonly qid: number) {}

  /** Inserts `xskFd` at `qid` in the XSKMAP `mapFd` (the fd stays the caller's). */
  static insert(mapFd: number, qid: number, xskFd: number, name: string): XskMapSlot {
    // fromFd checks that the fd is an XSKMAP; the map object is never closed here (the fd is not ours).
    const map = BpfMap.fromFd(mapFd, XSKMAP_EXPECT);
    const key = new Uint32Array([qid]);
    const val = new Uint32Array([xskFd]);
    try {
      map.update(new Uint8Array(key.buffer), new Uint8Array(val.buffer));
    } catch (e) {
      const err = e as Error;
      err.message = `insert ${name} (queue ${qid}) into XSKMAP fd ${mapFd}: ${err.message}`;
      throw err;
    }
    return new XskMapSlot(map, qid);
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    try {
      this.map.delete(new Uint8Array(new Uint32Array([this.qid]).buffer));
    } catch { /* the map or program is already gone */ }
  }
}
