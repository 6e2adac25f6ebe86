/**
 * The pod app on a veth pair, as a pod would run it: unprivileged (user nobody, CAP_NET_RAW and
 * CAP_IPC_LOCK only), its device named by AFXDP_DEVICES_<POOL>, its XSKMAP fd handed over by a stand-in
 * for the device plugin (a SEQPACKET server at the container path, answering the upstream handshake),
 * which also owns the XDP program. Checks the echoes byte for byte and a clean stop report.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { udpFrame } from "xdplane/wire";
import { loadXskRedirect, XdpLink } from "xdplane/bpf";
import { createVethPair } from "../../src/testing/netns.js";
import { PacketSocket } from "../../src/testing/packet-socket.js";
import { SeqpacketServer } from "../../src/uds/seqpacket.js";
import { Child, exampleScript, exchange, sentTo, assertClean, echoOf } from "../harness.js";
import { SETPRIV_NOBODY, unprivilegedSkipReason } from "../../src/testing/unprivileged.js";

const script = exampleScript("pod-echo");
const setpriv = SETPRIV_NOBODY;
const skipReason = () => unprivilegedSkipReason(script);

test("pod-echo runs unprivileged with the XSKMAP fd from the device plugin and echoes UDP", { skip: skipReason() }, async () => {
  const v = createVethPair();
  const root = mkdtempSync(join(tmpdir(), "pod-echo-"));
  chmodSync(root, 0o755);
  const sockDir = join(root, "cndp");
  mkdirSync(sockDir, { mode: 0o777 });
  chmodSync(sockDir, 0o777);
  const devDir = join(root, "tmp", "afxdp_dp", v.a);
  mkdirSync(devDir, { recursive: true, mode: 0o755 });
  const redirect = loadXskRedirect();
  let link: XdpLink | null = null;
  let server: SeqpacketServer | null = null;
  let child: Child | null = null;
  const requests: string[] = [];
  const ps = PacketSocket.open(v.b, v.ns);
  try {
    link = XdpLink.attach(redirect.prog, v.a, { mode: "drv" });
    server = SeqpacketServer.listen(join(devDir, "afxdp.sock"), (conn) => {
      conn.onMessage((msg) => {
        const m = msg.toString();
        requests.push(m.replace(/^\/connect,.*/, "/connect"));
        if (m.startsWith("/connect,")) conn.send("/host_ok");
        else if (m === `/xsk_map_fd,${v.a}`) conn.send("/fd_ack", [redirect.map.fd]);
        else if (m === "/fin") conn.send("/fin_ack");
        else conn.send("/nak");
      });
    }, { mode: 0o777 });
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", AFXDP_DEVICES_TESTPOOL: v.a };
    child = new Child(setpriv[0]!, [...setpriv.slice(1), process.execPath, script, "--root", root, "--socket-dir", sockDir, "--debug-frames"], env);
    const ready = await child.line("ready");
    assert.deepEqual(ready.devices, [{ netdev: v.a, env: "AFXDP_DEVICES_TESTPOOL", udsPath: `${root}/tmp/afxdp_dp/${v.a}/afxdp.sock` }]);
    const status = readFileSync(`/proc/${child.proc.pid}/status`, "utf8");
    assert.match(status, /^Uid:\s+65534\s/m, "runs as nobody");
    assert.match(status, /^CapEff:\s+0000000000006000$/m, "only CAP_NET_RAW and CAP_IPC_LOCK");
    assert.deepEqual(requests, ["/connect", `/xsk_map_fd,${v.a}`]);
    const N = 300;
    const frames = Array.from({ length: N }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i, size: 60 + (i % 4) * 100, ttl: 3, sport: 5000 + i, dport: 7 }));
    const back = await exchange(ps, frames, N, (f) => sentTo(f, v.macB));
    assert.equal(back.length, N, "every frame came back");
    for (let i = 0; i < N; i++) {
      const f = frames[i]!;
      const want = echoOf(f);
      assert.deepEqual(back.find((b) => b[42] === f[42] && b[43] === f[43] && b[44] === f[44] && b[45] === f[45]), want, `frame ${i}`);
    }
    const { report, code } = await child.stop();
    assertClean(report);
    assert.equal(code, 0);
    assert.deepEqual(requests, ["/connect", `/xsk_map_fd,${v.a}`, "/fin"], "the session ended with /fin");
  } finally {
    child?.kill();
    ps.close();
    server?.close();
    link?.close();
    redirect.close();
    v.destroy();
    rmSync(root, { recursive: true, force: true });
  }
});
