/**
 * The shared port conformance tests (src/testing/port-conformance.ts) over every port type: net_null,
 * net_ring and net_pcap without root; net_af_packet and net_af_xdp on a veth pair whose peer (in its own
 * namespace) is a packet socket; net_tap in a namespace of its own, its far end a packet socket on the TAP.
 */
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { NullPort } from "./null.js";
import { RingPort } from "./ring-port.js";
import { PcapPort } from "./pcap.js";
import { PcapIndex, PcapWriter } from "./pcap-file.js";
import { AfPacketPort } from "./af-packet.js";
import { AfXdpPort } from "./af-xdp.js";
import { TapPort } from "./tap.js";
import { portConformance, bytesOf, framesInPool, type PortFixture } from "../testing/port-conformance.js";
import { canUseNetns, createVethPair, createNetns, nsExec, uniqueName, inNetns } from "../testing/netns.js";
import { PacketSocket } from "../testing/packet-socket.js";
import type { Lport } from "./lport.js";

const noRoot = canUseNetns() ? false : "needs root (namespaces, veth, TAP)";
const noTun = noRoot || (existsSync("/dev/net/tun") ? false : "no /dev/net/tun");

function poolFor(debug: boolean, frames = 1024): { umem: Umem; pool: Mempool } {
  const umem = Umem.create({ frames });
  return { umem, pool: Mempool.create({ umem, cacheSize: 32, debug }) };
}

/** Collects frames of the tests' EtherType (0x88b5) from a packet socket until `count` or 3 s. */
async function collect(ps: PacketSocket, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const end = Date.now() + 3000;
  while (out.length < count && Date.now() < end) {
    let f;
    while ((f = ps.recv()) !== null) if (f.length >= 14 && f[12] === 0x88 && f[13] === 0xb5) out.push(f);
    if (out.length < count) {
      ps.wait(10);
      await new Promise((r) => setImmediate(r));
    }
  }
  return out;
}

function onceClose(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

portConformance("net_null", async ({ debug }) => {
  const { umem, pool } = poolFor(debug);
  const port = NullPort.create({ name: "null0", pid: 0, mempool: pool, pktSize: 60 });
  return {
    port, pool, rx: "fabricated", exclusive: false, inject() {}, captured: async () => null,
    close: onceClose(() => { port.close(); umem.close(); }),
  };
});

portConformance("net_ring", async ({ debug }) => {
  const { umem, pool } = poolFor(debug);
  const port = RingPort.create({ name: "ring0", pid: 0, mbufs: pool.mbufs, size: 256 });
  const drain = new Uint32Array(256);
  return {
    port, pool, rx: "exact", exclusive: false,
    inject(frames) {
      const bufs = framesInPool(pool, frames);
      if (port.rx.enqueueBurst(bufs, bufs.length) !== bufs.length) throw new Error("ring full");
    },
    async captured(count) {
      const n = port.tx.dequeueBurst(drain, count);
      const out = Array.from(drain.subarray(0, n), (h) => bytesOf(pool, h));
      pool.freeBulk(drain, n);
      return out;
    },
    close: onceClose(() => {
      for (const r of [port.rx, port.tx]) for (let n; (n = r.dequeueBurst(drain, drain.length)) > 0;) pool.freeBulk(drain, n);
      port.close();
      umem.close();
    }),
  };
});

portConformance("net_pcap", async ({ debug, frames }) => {
  const dir = mkdtempSync(join(tmpdir(), "xdplane-pcap-"));
  const { umem, pool } = poolFor(debug);
  const rx = join(dir, "in.pcap");
  const tx = join(dir, "out.pcap");
  const w = PcapWriter.create(rx);
  frames.forEach((f, i) => w.append(f, 0, f.length, 1_700_000_000 + i, 0));
  w.close();
  const port = PcapPort.create({ name: "pcap0", pid: 0, mempool: pool, rx, tx });
  return {
    port, pool, rx: "exact", exclusive: true, inject() {},
    async captured() {
      port.flush();
      const f = PcapIndex.read(tx);
      return Array.from({ length: f.count }, (_, i) => f.frame(i).slice());
    },
    close: onceClose(() => {
      port.close();
      umem.close();
      rmSync(dir, { recursive: true, force: true });
    }),
  };
});

/** A port on the veth end `a`, its far end a packet socket on `b` in the peer namespace. */
async function vethFixture(debug: boolean, open: (ifname: string, pool: Mempool) => Lport, exclusive: boolean): Promise<PortFixture> {
  const v = createVethPair();
  const { umem, pool } = poolFor(debug, 4096);
  let port: Lport | null = null;
  let peer: PacketSocket | null = null;
  const close = onceClose(() => {
    port?.close();
    peer?.close();
    v.destroy();
    umem.close();
  });
  try {
    port = open(v.a, pool);
    peer = PacketSocket.open(v.b, v.ns);
    const ps = peer;
    return {
      port, pool, rx: "exact", exclusive,
      inject(frames) {
        for (const f of frames) if (!ps.send(f)) throw new Error("peer socket full");
      },
      captured: (count) => collect(ps, count),
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}

portConformance("net_af_packet", ({ debug }) => vethFixture(debug, (ifname, mempool) => AfPacketPort.create({ name: `${ifname}:0`, pid: 0, ifname, mempool }), true), { skip: noRoot });

portConformance("net_af_xdp", ({ debug }) => vethFixture(debug, (ifname, mempool) => AfXdpPort.create({ name: `${ifname}:0`, pid: 0, ifname, qid: 0, mempool, rxSize: 512, txSize: 512 }), true), { skip: noRoot });

portConformance("net_tap", async ({ debug }) => {
  const ns = createNetns("xdptap");
  const { umem, pool } = poolFor(debug);
  let port: TapPort | null = null;
  let peer: PacketSocket | null = null;
  const close = onceClose(() => {
    port?.close();
    peer?.close();
    ns.destroy();
    umem.close();
  });
  try {
    // No IPv6 on the TAP: router solicitations and MLD reports would be frames the test did not send.
    nsExec(ns.ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
    nsExec(ns.ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
    const iface = uniqueName("tap");
    port = inNetns(ns.ns, () => TapPort.create({ name: `${iface}:0`, pid: 0, iface, mempool: pool }));
    peer = PacketSocket.open(iface, ns.ns);
    const ps = peer;
    return {
      port, pool, rx: "exact", exclusive: true,
      inject(frames) {
        for (const f of frames) if (!ps.send(f)) throw new Error("packet socket full");
      },
      captured: (count) => collect(ps, count),
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}, { skip: noTun });
