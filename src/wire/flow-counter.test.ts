import { test } from "node:test";
import assert from "node:assert/strict";
import { udpFrame } from "./udp-frame.js";
import { FlowCounter, flowName } from "./flow-counter.js";

const frame = (srcIp: string, proto: number, size: number, sport = 1000, dport = 53) => {
  const f = udpFrame({ srcIp, dstIp: "10.9.9.9", sport, dport, size });
  f[23] = proto;
  return f;
};

test("wire FlowCounter: counts frames by 5-tuple, the rest apart, across threads' views", () => {
  const table = FlowCounter.create(16);
  const worker = new FlowCounter(table.buffer); // as a worker opens it
  assert.equal(worker.slots, 16);
  const frames = [frame("10.0.0.1", 17, 64), frame("10.0.0.1", 17, 100), frame("10.0.0.2", 6, 80, 4000, 80), frame("10.0.0.3", 1, 60)];
  for (const f of frames) worker.countFrame(f, 0, f.length);
  const arp = udpFrame();
  arp[13] = 0x06;
  worker.countFrame(arp, 0, 64);
  worker.countFrame(frame("10.0.0.4", 17, 64), 0, 33); // too short for IPv4: other
  assert.deepEqual(FlowCounter.flows([table]), [
    { src: "10.0.0.1", dst: "10.9.9.9", sport: 1000, dport: 53, proto: 17, packets: 2, bytes: 164 },
    { src: "10.0.0.2", dst: "10.9.9.9", sport: 4000, dport: 80, proto: 6, packets: 1, bytes: 80 },
    { src: "10.0.0.3", dst: "10.9.9.9", sport: 0, dport: 0, proto: 1, packets: 1, bytes: 60 },
  ]);
  assert.equal(table.other, 2);
  assert.equal(table.overflow, 0);
  assert.deepEqual(FlowCounter.totals([table, FlowCounter.create(16)]), { flows: 3, packets: 4, other: 2, overflow: 0 });
  assert.deepEqual(FlowCounter.flows([table]).map(flowName), ["10.0.0.1:1000->10.9.9.9:53/udp", "10.0.0.2:4000->10.9.9.9:80/tcp", "10.0.0.3->10.9.9.9/icmp"]);
  assert.equal(flowName({ src: "1.2.3.4", dst: "5.6.7.8", sport: 0, dport: 0, proto: 47, packets: 1, bytes: 1 }), "1.2.3.4->5.6.7.8/47");
});

test("wire FlowCounter: a full table counts overflow; sizes are checked", () => {
  const table = FlowCounter.create(16);
  for (let i = 0; i < 40; i++) table.count(0x0a000000 + i, 1, 0, 17, 64);
  assert.equal(table.flows().length, 16, "every slot used");
  assert.equal(table.overflow, 24);
  assert.equal(FlowCounter.totals([table]).packets, 16);
  assert.throws(() => FlowCounter.create(100), /Invalid flow table size 100/);
  assert.throws(() => FlowCounter.create(8), /power of two, 16 to 1048576/);
});
