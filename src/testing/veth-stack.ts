/**
 * Test fixture: a cnet stack on the stack's end of a {@link CnetPair} (root), through an af_xdp lport in
 * its namespace, learning the netdev's addresses, routes and neighbours over rtnetlink, walked on this
 * thread's event loop (16 walks a turn, `onTurn` after each walk: a test's channel work) with the clock
 * kept current, and the learner polled every 100 ms. `stop()` stops walking, closes the stack, the
 * learner and the ports, removes the pair, and asserts the frame report: no fault, no leak, no double
 * free. Also what such tests use beside it: `ip6Pair` (addresses, no DAD, checksum offload off), `socatIn`,
 * `rawFramesCounted` (bad input from the peer, counted exactly), `snmp6` and `until`.
 *
 * @example
 * const v = createCnetPair({ ipv6: true });
 * const r = vethStack(v, { name: "udp6" });
 * try {
 *   await until(() => r.counters.read().nd_dad_ok === 2, 5000);
 * } finally {
 *   await r.stop();
 * }
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { CnetPair } from "./cnet-peer.js";
import { nsExec } from "./netns.js";
import { PacketSocket } from "./packet-socket.js";
import { fwdConfig } from "./fwd-config.js";
import { parseConfig } from "../config/index.js";
import { PortSet } from "../cnf/ports.js";
import { parseMac } from "../lookup/addr.js";
import { NetTables } from "../cnet/tables.js";
import { ArpTable } from "../cnet/arp-table.js";
import { CnetCounters } from "../cnet/counters.js";
import { LinuxLearner, NeighbourFeed } from "../cnet/learn.js";
import { CnetStack } from "../cnet/stack.js";
import { NdTable } from "../cnet/ip6/nd-table.js";
import { Ip6Addrs } from "../cnet/ip6/addrs.js";
import type { Nd6Timers } from "../cnet/ip6/timer.js";

/** Options of {@link vethStack}. */
export interface VethStackOptions {
  /** Names the config (error messages). */
  name: string;
  /** IPv6 timers (default: retransmissions 300 ms apart). */
  timers6?: Nd6Timers;
  /** Called after every walk with what the walk did; returns what it did itself (a channel's echo). */
  onWalk?: (stack: CnetStack) => number;
}

/** What {@link vethStack} returns. */
export interface VethStack {
  stack: CnetStack;
  tables: NetTables;
  counters: CnetCounters;
  addrs: Ip6Addrs;
  nd: NdTable;
  clock: Float64Array;
  learner: LinuxLearner;
  /** Stops (see the module comment); asserts the frame report. */
  stop(): Promise<void>;
}

/**
 * Builds and starts the stack over `v.a` (see the module comment). On a failure while building, what
 * was built is closed and the pair removed before the error is thrown.
 *
 * @example
 * const r = vethStack(createCnetPair({ ipv6: true }), { name: "cnet6" });
 * await r.stop();
 */
export function vethStack(v: CnetPair, o: VethStackOptions): VethStack {
  const { config } = parseConfig(fwdConfig({ ports: [{ netdev: v.a }] }), `${o.name}.jsonc`);
  let set: PortSet | null = null;
  let learner: LinuxLearner | null = null;
  try {
    set = PortSet.build(config, { netns: v.nsA, debugFrames: true, log: () => {} });
    const port = set.ports[0]!;
    const mac = parseMac(port.macAddr());
    const tables = NetTables.create();
    const feed = NeighbourFeed.create();
    learner = LinuxLearner.open({ tables, interfaces: [{ ifindex: v.ifindexA, pid: port.pid, mac, mtu: 1500 }], feeds: [feed], netns: v.nsA });
    const counters = CnetCounters.create();
    const nd = NdTable.create();
    const addrs = Ip6Addrs.create();
    const clock = Float64Array.of(Date.now());
    const stack = CnetStack.create({
      ports: [port], mempool: set.pools.values().next().value!, burst: 32, tables, arp: ArpTable.create(), counters,
      stackPorts: [{ pid: port.pid, ifindex: v.ifindexA, mac }], feed, clock, nd, ip6Addrs: addrs, timers6: o.timers6 ?? { retransMs: 300 },
    });
    const onWalk = o.onWalk ?? null;
    let running = true;
    const pump = new Promise<void>((resolve) => {
      const tick = () => {
        if (!running) return resolve();
        clock[0] = Date.now();
        let got = 0;
        for (let i = 0; i < 16; i++) {
          got += stack.walk();
          if (onWalk !== null) got += onWalk(stack);
        }
        if (got > 0) setImmediate(tick);
        else setTimeout(tick, 1);
      };
      tick();
    });
    const l = learner;
    const poller = setInterval(() => l.poll(), 100);
    const ports = set;
    const stop = async () => {
      running = false;
      await pump;
      clearInterval(poller);
      const freedByStack = stack.close();
      l.close();
      const report = ports.close();
      v.destroy();
      assert.deepEqual(report.faults, [], `faults (the stack freed ${freedByStack} held frames)`);
      assert.equal(report.leakedFrames, 0, "no frame leaked");
      assert.equal(report.doubleFrees, 0);
    };
    return { stack, tables, counters, addrs, nd, clock, learner: l, stop };
  } catch (e) {
    learner?.close();
    set?.close();
    v.destroy();
    throw e;
  }
}

/** /proc/net/snmp6 of a namespace as numbers. */
export function snmp6(ns: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of nsExec(ns, "cat", "/proc/net/snmp6").split("\n")) {
    const [k, val] = line.trim().split(/\s+/);
    if (k && val) out[k] = Number(val);
  }
  return out;
}

/** Waits (10 ms steps, the event loop running) until `cond` holds or `ms` pass; whether it held. */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/**
 * IPv6 on a {@link CnetPair}: `us` on the stack's end (its kernel does no DAD of its own, so only the
 * stack's solicitations find duplicates), `peer` on Linux's end (no DAD), the peer's transmit checksum
 * offload off (a veth hands XDP partial checksums). On a failure the pair is removed before the throw.
 *
 * @example
 * const v = createCnetPair({ ipv6: true });
 * ip6Pair(v, "2001:db8:7::1", "2001:db8:7::2");
 */
export function ip6Pair(v: CnetPair, us: string, peer: string): void {
  try {
    nsExec(v.nsA, "sysctl", "-qw", `net.ipv6.conf.${v.a}.accept_dad=0`);
    nsExec(v.nsA, "ip", "-6", "addr", "add", `${us}/64`, "dev", v.a);
    nsExec(v.ns, "ip", "-6", "addr", "add", `${peer}/64`, "dev", v.b, "nodad");
    nsExec(v.ns, "ethtool", "-K", v.b, "tx", "off");
  } catch (e) {
    v.destroy();
    throw e;
  }
}

/**
 * Runs `socat <args> - <target>` in a namespace with `input` on its stdin, without blocking the event
 * loop (the stack walks meanwhile); what it printed and its errors.
 *
 * @example
 * const r = await socatIn(v.ns, "UDP6:[2001:db8:7::1]:7777", Buffer.from("hi"), ["-t", "2", "-T", "2"]);
 */
export function socatIn(ns: string, target: string, input: Uint8Array, args: string[], timeoutMs = 60000): Promise<{ out: Buffer; err: string }> {
  return new Promise((resolve) => {
    const child = execFile("ip", ["netns", "exec", ns, "socat", ...args, "-", target], { encoding: "buffer", timeout: timeoutMs, maxBuffer: 64 << 20 }, (_e, stdout, stderr) => {
      resolve({ out: Buffer.from(stdout), err: Buffer.from(stderr).toString() });
    });
    child.stdin!.end(Buffer.from(input));
  });
}

/**
 * Sends `frames` raw from the peer's end of `v` (an AF_PACKET socket), then waits until the counters
 * named in `want` grew by exactly those amounts (`read` gives them) and asserts it: bad input dropped
 * and counted where it should be.
 *
 * @example
 * await rawFramesCounted(v, [truncated, badChecksum], () => r.counters.read(), { ip6_drop_truncated: 1, icmp6_drop_cksum: 1 });
 */
export async function rawFramesCounted(v: CnetPair, frames: Uint8Array[], read: () => Record<string, number>, want: Record<string, number>): Promise<void> {
  const before = read();
  const delta = () => Object.fromEntries(Object.keys(want).map((k) => [k, read()[k]! - before[k]!]));
  const sock = PacketSocket.open(v.b, v.ns);
  try {
    for (const f of frames) assert.equal(sock.send(f), true);
  } finally {
    sock.close();
  }
  await until(() => JSON.stringify(delta()) === JSON.stringify(want), 3000);
  assert.deepEqual(delta(), want, "every bad frame dropped and counted where it should be");
}
