import { test } from "node:test";
import assert from "node:assert/strict";
import { be16 } from "./bytes.js";
import { swapUdpPorts, udpDport, udpSport } from "./udp.js";
import { TCP_FLAGS, TCP_FLAG_ACK, tcpHdrLen } from "./tcp.js";
import { tcp, udp, inBuffer } from "../testing/wire-frames.js";

test("udp and tcp accessors", () => {
  const u = inBuffer(udp(1000, 53, [1]), 2);
  assert.deepEqual([udpSport(u, 2), udpDport(u, 2), be16(u, 6)], [1000, 53, 9]);
  swapUdpPorts(u, 2);
  assert.deepEqual([udpSport(u, 2), udpDport(u, 2), be16(u, 6)], [53, 1000, 9]);
  const t = inBuffer(tcp(1, 2, [], 12), 2);
  assert.equal(tcpHdrLen(t, 2), 32);
  assert.equal(t[2 + TCP_FLAGS], TCP_FLAG_ACK);
});
