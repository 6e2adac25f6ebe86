/**
 * AF_XDP ports without privileges: a root process (standing in for the device plugin) loads the redirect
 * program and hands the XSKMAP fd over a SEQPACKET socket (SCM_RIGHTS) to a process running as nobody
 * with only CAP_NET_RAW and CAP_IPC_LOCK, which creates its socket, inserts it, and forwards traffic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createVethPair } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { loadXskRedirect } from "../bpf/xsk-redirect.js";
import { XdpLink } from "../bpf/link.js";
import { SeqpacketServer } from "../uds/seqpacket.js";
import { SETPRIV_NOBODY, unprivilegedSkipReason } from "../testing/unprivileged.js";

const child = fileURLToPath(new URL("../testing/unpriv-lb.js", import.meta.url));
const setpriv = SETPRIV_NOBODY;
const skipReason = () => unprivilegedSkipReason(child);

test("an unprivileged process forwards on a socket made from an XSKMAP fd handed over by another process", { skip: skipReason() }, async () => {
  const v = createVethPair();
  const dir = mkdtempSync(join(tmpdir(), "xdplane-uds-"));
  chmodSync(dir, 0o755);
  const redirect = loadXskRedirect();
  let link: XdpLink | null = null;
  let server: SeqpacketServer | null = null;
  let proc: ReturnType<typeof spawn> | null = null;
  try {
    link = XdpLink.attach(redirect.prog, v.a, { mode: "drv" });
    const conns: { close(): void }[] = [];
    server = SeqpacketServer.listen(join(dir, "afxdp.sock"), (conn) => {
      conns.push(conn);
      conn.onMessage((msg) => {
        if (msg.toString() === `/xsk_map_fd,${v.a}`) conn.send("/fd_ack", [redirect.map.fd]);
        else conn.send("/fd_nak");
      });
    }, { mode: 0o777 });
    proc = spawn(setpriv[0]!, [...setpriv.slice(1), process.execPath, child, server.path, v.a], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const deadline = Date.now() + 10000;
    while (!out.includes("\n") && Date.now() < deadline && proc.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    const ready = JSON.parse(out.split("\n")[0] ?? "{}") as { ready?: boolean; uid?: number; capEff?: string; unprivileged?: boolean };
    assert.equal(ready.ready, true, `child ready (stderr: ${err})`);
    assert.equal(ready.uid, 65534);
    assert.equal(ready.capEff, "0000000000006000", "only CAP_NET_RAW and CAP_IPC_LOCK");
    assert.equal(ready.unprivileged, true);

    const ps = PacketSocket.open(v.b, v.ns);
    let back = 0;
    try {
      const N = 500;
      for (let i = 0; i < N; i++) while (!ps.send(udpFrame({ dst: v.macA, src: v.macB, seq: i }))) await new Promise((r) => setTimeout(r, 1));
      const t0 = Date.now();
      while (back < N && Date.now() - t0 < 5000) {
        let f;
        while ((f = ps.recv()) !== null) if (f[0] === Number.parseInt(v.macB.slice(0, 2), 16) && f.subarray(0, 6).every((b, i) => b === Number.parseInt(v.macB.split(":")[i]!, 16))) back++;
        ps.wait(20);
      }
      assert.equal(back, N, "every frame came back through the unprivileged forwarder");
    } finally {
      ps.close();
    }
    const exited = new Promise<number | null>((r) => proc!.once("exit", r));
    for (const c of conns) c.close();
    assert.equal(await exited, 0, `child exit (stderr: ${err})`);
    const fin = JSON.parse(out.trim().split("\n").pop()!) as { ipackets: number; opackets: number; leaked: number; doubleFrees: number };
    assert.equal(fin.ipackets, 500);
    assert.equal(fin.opackets, 500);
    assert.equal(fin.leaked, 0);
    assert.equal(fin.doubleFrees, 0);
  } finally {
    proc?.kill("SIGKILL");
    server?.close();
    link?.close();
    redirect.close();
    rmSync(dir, { recursive: true, force: true });
    v.destroy();
  }
});
