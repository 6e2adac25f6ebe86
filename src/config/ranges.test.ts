import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatRangeList, parseRange, parseRangeList } from "./ranges.js";
import { formatPath, LineIndex } from "./source.js";

describe("config: ranges", () => {
  it("parses CNDP's one number or a-b range, spaces allowed", () => {
    assert.deepEqual(parseRange("8", 65535), { ok: true, values: [8] });
    assert.deepEqual(parseRange(" 1 - 3 ", 65535), { ok: true, values: [1, 2, 3] });
    assert.deepEqual(parseRange("2-2", 65535), { ok: true, values: [2] });
    assert.deepEqual(parseRange("3-1", 65535), { ok: false, reason: "range '3-1' ends before it starts" });
    assert.deepEqual(parseRange("1 2", 65535), { ok: false, reason: "'1 2' is not a number or a range 'a-b'" });
    assert.deepEqual(parseRange("0-70000", 65535), { ok: false, reason: "70000 is more than 65535" });
    assert.equal(parseRange("-1", 10).ok, false);
    assert.equal(parseRange("", 10).ok, false);
  });

  it("parses and prints comma lists", () => {
    assert.deepEqual(parseRangeList("0-2,6", 1023), { ok: true, values: [0, 1, 2, 6] });
    assert.equal(parseRangeList("0-2,", 1023).ok, false);
    assert.equal(formatRangeList([0, 1, 2, 3, 6, 8, 9]), "0-3,6,8-9");
    assert.equal(formatRangeList([]), "");
  });
});

describe("config: source positions", () => {
  it("maps offsets to 1-based line and column across LF and CRLF", () => {
    const idx = new LineIndex("ab\ncd\r\nef\rg");
    assert.deepEqual(idx.position(0), { line: 1, column: 1 });
    assert.deepEqual(idx.position(4), { line: 2, column: 2 });
    assert.deepEqual(idx.position(7), { line: 3, column: 1 });
    assert.deepEqual(idx.position(10), { line: 4, column: 1 });
  });

  it("prints key paths as a reader finds them", () => {
    assert.equal(formatPath(["lports", "eth0:0", "qid"]), `lports."eth0:0".qid`);
    assert.equal(formatPath(["lcore-groups", "default", 0]), "lcore-groups.default[0]");
    assert.equal(formatPath([]), "");
    assert.equal(formatPath(["options", "a b"]), `options."a b"`);
  });
});
