/**
 * Where an unprivileged lport gets its XSKMAP: a pinned map (`xsk_pin_path`) or the device plugin's Unix
 * socket (`uds_path`), as CNDP's keys say.
 */
import type { Lport as LportCfg } from "../../config/types.js";
import { BpfMap, XSKMAP_EXPECT } from "../../bpf/map.js";

export interface XskMapSource {
  fd: number;
  close(): void;
}

export function openXskMap(lp: LportCfg): XskMapSource {
  if (lp.xskPinPath) {
    const map = BpfMap.fromPin(lp.xskPinPath, XSKMAP_EXPECT);
    return { fd: map.fd, close: () => map.close() };
  }
  if (lp.udsPath) {
    throw new Error(`lport '${lp.name}': uds_path is not supported yet (use xsk_pin_path)`);
  }
  throw new Error(`lport '${lp.name}' is unprivileged but names neither xsk_pin_path nor uds_path`);
}
