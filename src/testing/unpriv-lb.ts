/**
 * A minimal unprivileged forwarder for tests (run as a non-root user with only CAP_NET_RAW and
 * CAP_IPC_LOCK): asks a SEQPACKET server for the XSKMAP fd of `ifname`, opens an AF_XDP port with it
 * (no program loaded), swaps MACs and sends back until the server closes the connection.
 * Prints one JSON line when ready and one with its counters at the end.
 *
 * Usage: node unpriv-lb.js <socket path> <ifname>
 */
import { readFileSync } from "node:fs";
import { connectSeqpacket } from "../uds/seqpacket.js";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { AfXdpPort } from "../pktdev/af-xdp.js";
import { macSwap } from "../apps/fwd/modes.js";
import { sys } from "../sys/native.js";
import { MSG_DONTWAIT } from "../sys/consts.js";

const [sockArg, ifArg] = process.argv.slice(2);
if (!sockArg || !ifArg) {
  process.stderr.write("usage: unpriv-lb <socket> <ifname>\n");
  process.exit(2);
}
const sockPath: string = sockArg;
const ifname: string = ifArg;
const capEff = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";
const conn = connectSeqpacket(sockPath);
conn.onMessage((msg, fds) => {
  if (fds.length !== 1) {
    process.stdout.write(`${JSON.stringify({ error: `no fd with ${msg.toString()}` })}\n`);
    process.exit(1);
  }
  run(fds[0]!);
});
conn.send(`/xsk_map_fd,${ifname}`);

function run(mapFd: number): void {
  const umem = Umem.create({ frames: 4096 });
  const mp = Mempool.create({ umem, debug: true });
  const port = AfXdpPort.create({ name: `${ifname}:0`, pid: 0, ifname, qid: 0, mempool: mp, xskMapFd: mapFd });
  process.stdout.write(`${JSON.stringify({ ready: true, uid: process.getuid?.(), capEff, unprivileged: port.unprivileged })}\n`);
  const bufs = new Uint32Array(64);
  const probe = new Uint8Array(1);
  const end = performance.now() + 30000;
  for (let loops = 1; ; loops++) {
    const n = port.rxBurst(bufs, 64);
    if (n > 0) {
      macSwap(umem.u8, umem.u16, mp.mbufs.dataOff, umem.shift, bufs, n);
      const sent = port.txBurst(bufs, n);
      if (sent < n) mp.freeBulk(bufs, n - sent, sent);
    }
    // Every 1024 loops: stop when the server closed the connection (EOF) or after 30 s.
    if ((loops & 1023) === 0 && (sys.recvfrom(conn.fd, probe, MSG_DONTWAIT) === 0 || performance.now() > end)) break;
  }
  const st = port.readStats();
  port.close();
  sys.close(mapFd);
  const leaked = mp.count - mp.available();
  process.stdout.write(`${JSON.stringify({ ipackets: st["ipackets"], opackets: st["opackets"], leaked, doubleFrees: mp.tracker!.doubleFrees })}\n`);
  umem.close();
  conn.close();
}
