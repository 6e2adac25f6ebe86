/**
 * acl-strict and acl-permissive on veth pairs (root), driven over the app socket with cndpfwd's commands:
 * rules added with `/acl/add` take effect only at `/acl/build` (the workers pick the new classifier up
 * while they forward), `/acl/clear` empties the list but not the built classifier, `/acl/rules` answers as
 * cndpfwd. Forwarded frames leave the port the last octet of their destination MAC names (or the receiving
 * port when there is no such port) with the MACs swapped, byte for byte; permit, deny and prefilter drops
 * are counted exactly per receiving port and shown in `/metrics/port_stats` under cndpfwd's keys. Every
 * test ends with 0 leaked frames, 0 double frees, 0 bad kernel returns.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVethPair, canUseNetns, type VethPair } from "../../testing/netns.js";
import { PacketSocket } from "../../testing/packet-socket.js";
import { fwdConfig } from "../../testing/fwd-config.js";
import { until } from "../../testing/telemetry-fixtures.js";
import { udpFrame } from "../../wire/udp-frame.js";
import { parseConfig } from "../../config/index.js";
import { AppClient } from "../../telemetry/app-client.js";
import { FwdApp } from "./app.js";
import { openFwdSocket } from "./telemetry.js";

const root = canUseNetns();
const skip = root ? false : "needs root (namespaces, veth, XDP)";
const idOf = (f: Uint8Array) => (f[18]! << 8) | f[19]!;

describe("acl-strict and acl-permissive on veth pairs, rules over the app socket", { skip }, () => {
  for (const mode of ["acl-strict", "acl-permissive"] as const) {
    test(`${mode}: /acl/add, /acl/build, /acl/rules, /acl/clear; verdicts, destinations and counters exact`, async () => {
      const permissive = mode === "acl-permissive";
      const v0 = createVethPair(), v1 = createVethPair();
      const dir = mkdtempSync(join(tmpdir(), "xdp-acl-"));
      let app: FwdApp | null = null;
      let client: AppClient | null = null;
      const socks = [PacketSocket.open(v0.b, v0.ns), PacketSocket.open(v1.b, v1.ns)];
      const got: Map<number, Uint8Array>[] = [new Map(), new Map()];
      const drain = () => socks.forEach((s, i) => {
        let f;
        while ((f = s.recv()) !== null) if (f.length >= 34 && f[12] === 8) got[i]!.set(idOf(f), f);
      });
      let id = 1;
      /** A frame from peer 0: destination MAC octet 5 = `port`, from `src` to `dst`. */
      const frame = (port: number, src: string, dst: string) =>
        udpFrame({ dst: `02:00:00:00:00:0${port}`, src: v0.macB, srcIp: src, dstIp: dst, seq: id++, size: 64 + (id % 5) * 100 });
      const swapped = (f: Uint8Array) => { const g = f.slice(); g.set(f.subarray(6, 12), 0); g.set(f.subarray(0, 6), 6); return g; };
      const counters = () => app!.portModeCounters(0);
      /** Sends, then waits until the port's counters grew by the frames sent. */
      const send = async (frames: Uint8Array[]) => {
        const c0 = Object.values(counters()).reduce((a, b) => a + b, 0);
        for (const f of frames) while (!socks[0]!.send(f)) await new Promise((r) => setTimeout(r, 1));
        await until(() => Object.values(counters()).reduce((a, b) => a + b, 0) >= c0 + frames.length, 5000, `${frames.length} frames classified`);
        await new Promise((r) => setTimeout(r, 50));
        drain();
      };
      const want = { permit: 0, deny: 0, prefilter: 0 };
      const expectOut: [number, Uint8Array][] = [];
      const fwd = (f: Uint8Array, peer: number) => { want.permit++; expectOut.push([peer, swapped(f)]); };
      try {
        const text = fwdConfig({ ports: [{ netdev: v0.a }, { netdev: v1.a }] }).replace(/\n}\n$/, `,\n  "options": { "mode": "${mode}" }\n}\n`);
        app = await FwdApp.start({ config: parseConfig(text, "acl.jsonc").config, debugFrames: true, log: () => {} });
        const sock = openFwdSocket(app, { socketDir: dir });
        client = await AppClient.connect(sock.path);
        assert.deepEqual(await client.command("/acl/rules"), { "num rules": 0, "max rules": 100000, "rule pages": 0, "rules per page": 32, "built rules": 0 });

        // No rules: strict forwards nothing, permissive everything.
        const a = Array.from({ length: 40 }, (_, i) => frame(i % 2 ? 1 : 7, `10.9.1.${i}`, `10.5.0.${i}`));
        await send(a);
        for (const f of a) if (permissive) fwd(f, f[5] === 1 ? 1 : 0); else want.deny++;

        assert.deepEqual(await client.command("/acl/add", ["10.9.1.0/24:10.5.0.0/16:allow"]), { "num rules": 1 });
        await client.command("/acl/add", ["0.0.0.0/0:10.6.0.0/16:deny"]);
        await client.command("/acl/add", ["10.9.2.0/24:0.0.0.0/0:DENY"]);
        await client.command("/acl/add", ["10.9.2.7/32:10.5.0.0/16:allow"]); // after the deny: never wins
        assert.equal((await client.request("/acl/add", ["10.9.1.0/24:10.5.0.0:allow"]))["error"],
          "Command expects parameter: <src IP>/<src mask>:<dst IP>/<dst mask>:<allow|deny> (Invalid ACL rule '10.9.1.0/24:10.5.0.0:allow': destination '10.5.0.0' has no /<mask>)");
        assert.deepEqual(await client.command("/acl/rules", ["r:2"]), { "src addr": "10.9.2.0/24", "dst addr": "0.0.0.0/0", type: "deny" });
        // Added, not built: the workers still use the empty classifier.
        const b = Array.from({ length: 20 }, (_, i) => frame(1, "10.9.2.7", `10.5.1.${i}`));
        await send(b);
        for (const f of b) if (permissive) fwd(f, 1); else want.deny++;

        assert.deepEqual(await client.command("/acl/build"), { "built rules": 4 });
        await new Promise((r) => setTimeout(r, 50));
        const c: Uint8Array[] = [];
        for (let i = 0; i < 30; i++) { const f = frame(i % 3, `10.9.1.${i}`, `10.5.2.${i}`); c.push(f); fwd(f, i % 3 === 1 ? 1 : 0); } // allowed; octet 2: no port 2, back out of port 0
        for (let i = 0; i < 20; i++) { const f = frame(1, `10.9.1.${i}`, `10.6.0.${i}`); c.push(f); want.deny++; } // denied by destination
        for (let i = 0; i < 20; i++) { const f = frame(1, "10.9.2.7", `10.5.3.${i}`); c.push(f); want.deny++; } // the earlier deny wins
        for (let i = 0; i < 25; i++) { const f = frame(1, `10.9.3.${i}`, `10.7.0.${i}`); c.push(f); if (permissive) fwd(f, 1); else want.deny++; } // no rule
        for (let i = 0; i < 10; i++) { const f = frame(1, "10.9.1.1", "10.5.0.1"); f[12] = 0x08; f[13] = 0x06; c.push(f); want.prefilter++; } // not IPv4
        for (let i = 0; i < 10; i++) { const f = frame(1, "10.9.1.1", "10.5.0.1"); f[24] = f[24]! ^ 0x20; c.push(f); want.prefilter++; } // bad checksum
        await send(c);

        // Cleared, not rebuilt: the classifier stays.
        assert.deepEqual(await client.command("/acl/clear"), { "num rules": 0 });
        assert.deepEqual(await client.command("/acl/rules"), { "num rules": 0, "max rules": 100000, "rule pages": 0, "rules per page": 32, "built rules": 4 });
        const d = Array.from({ length: 10 }, (_, i) => frame(1, `10.9.1.${i}`, `10.6.9.${i}`));
        await send(d);
        want.deny += d.length;

        await until(() => { drain(); return got[0]!.size + got[1]!.size >= expectOut.length; }, 5000, "the forwarded frames");
        await new Promise((r) => setTimeout(r, 100));
        drain();
        assert.equal(got[0]!.size + got[1]!.size, expectOut.length, "exactly the forwarded frames arrived");
        for (const [peer, g] of expectOut) assert.deepEqual(got[peer]!.get(idOf(g)), g, `frame ${idOf(g)}: out of port ${peer}, MACs swapped`);
        assert.deepEqual(counters(), { n_acl_permit_packets: want.permit, n_acl_deny_packets: want.deny, n_acl_prefilter_drop_packets: want.prefilter });
        const stats = await client.command("/metrics/port_stats");
        const p0 = app.ports[0]!.name;
        assert.equal(stats[`${p0}_n_acl_permit_packets`], want.permit);
        assert.equal(stats[`${p0}_n_acl_deny_packets`], want.deny);
        assert.equal(stats[`${p0}_n_acl_prefilter_drop_packets`], want.prefilter);
        assert.equal(stats[`${p0}_n_rx_packets`], a.length + b.length + c.length + d.length);
        const th = await client.command("/metrics/thread_stats");
        assert.equal(th[`${app.threads[0]!.name}_acl_permit`], want.permit, "summed per thread too");
        client.close();
        client = null;
        sock.close();
        const rep = await app.stop();
        app = null;
        assert.equal(rep.leakedFrames, 0);
        assert.equal(rep.doubleFrees, 0);
        assert.equal(rep.badKernelReturns, 0);
        assert.deepEqual(rep.faults, []);
      } finally {
        client?.close();
        await app?.stop();
        for (const s of socks) s.close();
        v0.destroy();
        v1.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
