/**
 * Test helper: traffic through a veth pair from a packet socket, and whether a netdev has an XDP program.
 */
import { PacketSocket } from "./packet-socket.js";
import { ip, type VethPair } from "./netns.js";

/** A MAC address at `off` of a frame, as "aa:bb:cc:dd:ee:ff". */
export function macOf(f: Uint8Array, off: number): string {
  return [...f.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/**
 * Sends `frames` from one end of the pair (the peer end `b` in its namespace by default) and collects
 * the frames that come back addressed to that end.
 */
export async function pingPong(v: VethPair, frames: Uint8Array[], ms = 5000, from: "a" | "b" = "b"): Promise<Uint8Array[]> {
  const ps = from === "b" ? PacketSocket.open(v.b, v.ns) : PacketSocket.open(v.a);
  const mine = from === "b" ? v.macB : v.macA;
  try {
    const back: Uint8Array[] = [];
    let sent = 0;
    const t0 = Date.now();
    while (back.length < frames.length && Date.now() - t0 < ms) {
      for (let k = 0; k < 32 && sent < frames.length; k++) {
        if (!ps.send(frames[sent]!)) break;
        sent++;
      }
      let f;
      while ((f = ps.recv()) !== null) if (macOf(f, 0) === mine) back.push(f);
      if (sent >= frames.length) ps.wait(10);
      await new Promise((r) => setImmediate(r));
    }
    return back;
  } finally {
    ps.close();
  }
}

export function xdpAttached(dev: string): boolean {
  const j = JSON.parse(ip("-j", "link", "show", dev)) as { xdp?: unknown }[];
  return j[0]?.xdp !== undefined;
}
