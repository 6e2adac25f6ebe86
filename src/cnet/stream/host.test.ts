/**
 * The event-loop host over the TCP stand-in (src/testing/fake-tcp.ts: deterministic, no root; the host
 * over the real stack and a Linux peer is src/apps/cnet/local.test.ts): it walks from the event loop, runs the channels' callbacks, sleeps when
 * idle and wakes on a kick or a watched fd, and leaves nothing on the event loop once stopped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sys } from "../../sys/native.js";
import { FakeTcpStack } from "../../testing/fake-tcp.js";
import { StackHost } from "./host.js";
import { createServer, connect } from "./net.js";

const until = async (f: () => boolean, what: string) => {
  for (let i = 0; i < 2000 && !f(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(f(), `waited for ${what}`);
};
const handles = () => process.getActiveResourcesInfo().filter((r) => r === "Immediate" || r === "Timeout").length;

test("host: walks from the event loop, runs callbacks, sleeps when idle, wakes on kick and on a watched fd, stop leaves nothing", async () => {
  const base = handles();
  const watches = sys.watchCount();
  const fake = new FakeTcpStack();
  const efd = sys.eventfd(0, 0o4000 /* EFD_NONBLOCK */);
  assert.ok(efd >= 0);
  try {
    const host = StackHost.start(fake, { fds: [efd], idleTurns: 2, maxSleepMs: 50 });
    assert.equal(StackHost.current(), host);
    // A callback set directly on a channel runs from the host's walks.
    const ch = fake.chnl;
    const l = ch.open("tcp");
    ch.bind(l, 0, 5000);
    ch.listen(l, 4);
    const seen: number[] = [];
    ch.setCallback(l, (cd, ev) => { seen.push(cd, ev); });
    const c = ch.open("tcp");
    ch.connect(c, 0x0a000001, 5000);
    host.kick();
    await until(() => seen.length === 2, "the listener's ACCEPT callback");
    assert.deepEqual(seen, [l, 4]);
    // Idle: it sleeps; a kick wakes it.
    await until(() => host.stats.sleeps > 0 && sys.watchCount() === watches + 1, "the host to sleep, watching the fd");
    const kicks = host.stats.kicks;
    host.kick();
    assert.equal(host.stats.kicks, kicks + 1);
    await until(() => host.stats.sleeps > 1, "sleeping again");
    // The fd becoming readable wakes it.
    const one = new Uint8Array(8);
    one[0] = 1;
    assert.equal(sys.write(efd, one, 0, 8), 8);
    await until(() => host.stats.fdWakeups > 0, "a wakeup by the fd");
    assert.equal(sys.read(efd, one, 0, 8), 8);
    assert.ok(host.stats.walks > 0 && host.stats.turns > 0);
    ch.close(ch.accept(l));
    ch.close(l);
    ch.close(c);
    await host.stop();
    assert.equal(host.running, false);
    const walks = fake.counters.walks;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.counters.walks, walks, "no walk after stop");
    await until(() => sys.watchCount() === watches, "the fd watch gone");
    assert.equal(handles(), base, "no timer or immediate left");
    assert.throws(() => StackHost.current(), /no stack host runs on this thread/);
    assert.equal(fake.openChannels, 0);
  } finally {
    sys.close(efd);
  }
});

test("host: stop aborts what was opened through it (server and connections) and the peers see resets", async () => {
  const fake = new FakeTcpStack();
  const host = StackHost.start(fake);
  const srv = createServer(() => {}).listen(6000);
  const cli = connect(6000, "10.0.0.1");
  await new Promise<void>((r) => cli.once("connect", () => r()));
  await until(() => srv.accepted === 1, "the connection accepted");
  const closed = new Promise<void>((r) => srv.once("close", () => r()));
  await host.stop();
  await closed;
  assert.equal(cli.destroyed, true);
  assert.equal(srv.listening, false);
  for (let i = 0; i < 4; i++) fake.walk();
  assert.equal(fake.openChannels, 0, "every channel freed");
  assert.equal(fake.counters.resets, 2, "both connections reset");
});

test("host: options are checked, naming the value", () => {
  const fake = new FakeTcpStack();
  assert.throws(() => StackHost.start(fake, { walksPerTurn: 0 }), /walksPerTurn 0 is not an integer from 1/);
  assert.throws(() => StackHost.start(fake, { maxSleepMs: 1.5 }), /maxSleepMs 1.5/);
  assert.throws(() => StackHost.current(), /no stack host/);
});
