/**
 * The neighbour feed carrying IPv4 and IPv6 records to one worker: each reader (ARP's take, ND's take6)
 * gets its own kind in order, whatever the interleaving and whichever reader drains first; deletions and
 * permanence are carried; nothing is lost while the stash has room.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { formatIp6, parseIp6 } from "../../lookup/addr.js";
import { NeighbourFeed, FEED_DELETE, FEED_PERMANENT, FEED6_WORDS, FEED_WORDS } from "../learn.js";

describe("NeighbourFeed with IPv6 records", () => {
  test("interleaved records reach their own reader in order, either reader first", () => {
    for (const firstReader of [4, 6] as const) {
      const feed = NeighbourFeed.create();
      const worker = NeighbourFeed.fromShared(feed.shared());
      const want4: number[] = [];
      const want6: string[] = [];
      for (let i = 0; i < 300; i++) {
        if (i % 3 === 0) {
          const a = `2001:db8::${i.toString(16)}`;
          assert.equal(feed.post6(parseIp6(a), Uint8Array.of(2, 0, 0, 0, 1, i & 0xff), 7, i % 2 === 0, i % 5 === 0), true);
          want6.push(`${formatIp6(parseIp6(a))} ${i & 0xff} ${i % 2 === 0} ${i % 5 === 0}`);
        } else {
          assert.equal(feed.post(0x0a000000 + i, Uint8Array.of(2, 0, 0, 0, 0, i & 0xff), 7, false, false), true);
          want4.push(0x0a000000 + i);
        }
      }
      const got4: number[] = [];
      const got6: string[] = [];
      const r4 = new Uint32Array(FEED_WORDS);
      const r6 = new Uint32Array(FEED6_WORDS);
      const ip = new Uint8Array(16);
      const read6 = () => {
        while (worker.take6(r6)) {
          for (let w = 0; w < 4; w++) for (let b = 0; b < 4; b++) ip[4 * w + b] = (r6[4 + w]! >>> (24 - 8 * b)) & 0xff;
          assert.equal(r6[3]! & 0xffffff, 7);
          got6.push(`${formatIp6(ip)} ${r6[1]! & 0xff} ${(r6[3]! & FEED_PERMANENT) !== 0} ${(r6[3]! & FEED_DELETE) !== 0}`);
        }
      };
      const read4 = () => { while (worker.take(r4)) got4.push(r4[0]!); };
      if (firstReader === 4) { read4(); read6(); } else { read6(); read4(); }
      assert.deepEqual(got4, want4);
      assert.deepEqual(got6, want6);
      assert.equal(worker.dropped, 0);
      assert.equal(feed.dropped, 0);
    }
  });
});
