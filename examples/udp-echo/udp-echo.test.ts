/**
 * The UDP echo responder on a veth pair: runs `main.js` as its own process, sends UDP frames (every TTL,
 * UDP checksum 0 or set, sizes 60-960) and non-UDP frames from the peer, checks byte for byte what
 * comes back, reads `/echo/stats` over the app socket, and stops it with SIGTERM: a clean stop report.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { udpFrame, ipv4Checksum } from "xdplane/wire";
import { AppClient } from "xdplane/telemetry";
import { createVethPair, canUseNetns } from "../../src/testing/netns.js";
import { PacketSocket } from "../../src/testing/packet-socket.js";
import { Child, exampleScript, writeConfig, exchange, sentTo, assertClean, echoOf } from "../harness.js";

/** The UDP checksum (RFC 768) of an IPv4/UDP frame with a 20-byte IP header, computed whole. */
function udpChecksum(f: Uint8Array): number {
  const len = (f[38]! << 8) | f[39]!;
  let sum = 17 + len;
  for (let i = 26; i < 34; i += 2) sum += (f[i]! << 8) | f[i + 1]!;
  for (let i = 34; i < 34 + len; i += 2) sum += (f[i]! << 8) | (i + 1 < 34 + len ? f[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return (~sum & 0xffff) || 0xffff;
}


test("udp-echo answers every UDP frame byte for byte, drops the rest, stops cleanly", { skip: canUseNetns() ? false : "needs root" }, async () => {
  const v = createVethPair();
  const dir = mkdtempSync(join(tmpdir(), "udp-echo-"));
  const config = writeConfig("udp-echo", "echo.jsonc", join(dir, "echo.jsonc"), { eth0: v.a });
  const child = new Child(process.execPath, [exampleScript("udp-echo"), "-c", config, "--socket-dir", dir, "--debug-frames"]);
  const ps = PacketSocket.open(v.b, v.ns);
  try {
    const ready = await child.line("ready");
    assert.deepEqual(ready.ports, [`${v.a}:0`]);
    const N = 400;
    const frames = Array.from({ length: N }, (_, i) => {
      const f = udpFrame({ dst: v.macA, src: v.macB, seq: i, size: 60 + (i % 7) * 150, ttl: 1 + (i % 255),
        srcIp: `10.1.${i % 256}.7`, dstIp: "192.0.2.1", sport: 1024 + i, dport: 7 });
      if (i % 2 === 1) { const c = udpChecksum(f); f[40] = c >> 8; f[41] = c & 0xff; }
      return f;
    });
    const other = Array.from({ length: 20 }, (_, i) => {
      const f = udpFrame({ dst: v.macA, src: v.macB, seq: 1000 + i });
      if (i % 2 === 0) f[13] = 0x06; // ARP ethertype
      else f[23] = 6; // TCP
      return f;
    });
    const back = await exchange(ps, [...frames, ...other], N, (f) => sentTo(f, v.macB));
    assert.equal(back.length, N, "every UDP frame came back, nothing else");
    const bySeq = new Map(back.map((f) => [(f[42]! << 24 | f[43]! << 16 | f[44]! << 8 | f[45]!) >>> 0, f]));
    for (let i = 0; i < N; i++) {
      const got = bySeq.get(i);
      assert.deepEqual(got, echoOf(frames[i]!), `frame ${i}`);
      assert.equal(ipv4Checksum(got!, 14), 0, `frame ${i}: IPv4 checksum valid`);
      if (i % 2 === 1) assert.equal(udpChecksum(Uint8Array.from(got!).fill(0, 40, 42)), (got![40]! << 8) | got![41]!, `frame ${i}: UDP checksum valid`);
    }
    const client = await AppClient.connect(ready.socket as string);
    try {
      const stats = (await client.command("/echo/stats")) as { threads: { name: string; rx: number; tx: number; drop: number }[] };
      assert.deepEqual(stats.threads.map((t) => [t.name, t.rx, t.tx, t.drop]), [["echo:0", N + other.length, N, other.length]]);
      assert.equal(await client.name(), "udp-echo");
    } finally {
      client.close();
    }
    const { report, code } = await child.stop();
    assertClean(report);
    assert.equal(code, 0);
  } finally {
    ps.close();
    child.kill();
    v.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
