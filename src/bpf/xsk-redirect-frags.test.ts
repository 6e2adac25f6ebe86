/**
 * The frags-aware XSK redirect program (BPF_F_XDP_HAS_FRAGS) on veth (root): native mode refuses the plain
 * program once the MTU needs more than a page per frame (above 3506 with 4 KiB pages, ERANGE) and takes
 * the frags-aware one at any MTU; skb mode takes both.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createVethPair, canUseNetns } from "../testing/netns.js";
import { loadXskRedirect } from "./xsk-redirect.js";
import { XdpLink } from "./link.js";

const skip = canUseNetns() ? false : "needs root (veth, XDP)";

/** "ok", or the errno name of the failed attach. */
function attach(ifname: string, frags: boolean, mode: "drv" | "skb"): string {
  const red = loadXskRedirect({ frags });
  try {
    XdpLink.attach(red.prog, ifname, { mode }).close();
    return "ok";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  } finally {
    red.close();
  }
}

test("native mode at a jumbo MTU takes only the frags-aware redirect program; skb mode takes both", { skip }, () => {
  const results: Record<string, string> = {};
  for (const mtu of [3506, 3507, 9000]) {
    const v = createVethPair({ mtu });
    try {
      for (const mode of ["drv", "skb"] as const) {
        for (const frags of [false, true]) results[`${mtu} ${mode} ${frags ? "frags" : "plain"}`] = attach(v.a, frags, mode);
      }
    } finally {
      v.destroy();
    }
  }
  assert.deepEqual(results, {
    "3506 drv plain": "ok", "3506 drv frags": "ok", "3506 skb plain": "ok", "3506 skb frags": "ok",
    "3507 drv plain": "ERANGE", "3507 drv frags": "ok", "3507 skb plain": "ok", "3507 skb frags": "ok",
    "9000 drv plain": "ERANGE", "9000 drv frags": "ok", "9000 skb plain": "ok", "9000 skb frags": "ok",
  });
});
