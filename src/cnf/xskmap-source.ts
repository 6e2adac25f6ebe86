/**
 * Where an unprivileged lport gets its XSKMAP: a pinned map (`xsk_pin_path`) or the device plugin's Unix
 * socket (`uds_path`), as CNDP's keys say. UDS connections are shared by the lports that name the same
 * path (CNDP: `/xsk_map_fd,<if>` per port on one connection), carry `/config_busy_poll` with the socket
 * fd for busy-polling ports, and end with `/fin` when the app closes.
 */
import type { Lport as LportCfg } from "../config/types.js";
import { BpfMap, XSKMAP_EXPECT } from "../bpf/map.js";
import { UdsClientSync } from "../k8s/uds-client.js";
import { sys } from "../sys/native.js";

export interface XskMapSource {
  /** The XSKMAP fd (owned by the source). */
  fd: number;
  /** Called once the port's AF_XDP socket exists (busy poll through the device plugin). */
  afterSocket(xskFd: number): void;
  close(): void;
}

/** Opens XSKMAP sources for lports; close() ends every UDS session. */
export class XskMapSources {
  private readonly clients = new Map<string, UdsClientSync>();
  private readonly sources: XskMapSource[] = [];

  open(lp: LportCfg): XskMapSource {
    let src: XskMapSource;
    if (lp.xskPinPath) {
      const map = BpfMap.fromPin(lp.xskPinPath, XSKMAP_EXPECT);
      src = { fd: map.fd, afterSocket: () => {}, close: () => map.close() };
    } else if (lp.udsPath) {
      let c = this.clients.get(lp.udsPath);
      if (!c) {
        c = UdsClientSync.connect(lp.udsPath);
        this.clients.set(lp.udsPath, c);
      }
      const client = c;
      const fd = client.xskMapFd(lp.netdev);
      src = {
        fd,
        afterSocket: (xskFd) => {
          if (lp.busyPoll && lp.busyBudget !== 0xffff) client.configBusyPoll(xskFd, lp.busyTimeout, lp.busyBudget);
        },
        close: () => void sys.close(fd),
      };
    } else {
      throw new Error(`lport '${lp.name}' is unprivileged but names neither xsk_pin_path nor uds_path`);
    }
    this.sources.push(src);
    return src;
  }

  close(): void {
    for (const s of this.sources.splice(0)) s.close();
    for (const c of this.clients.values()) {
      try {
        c.fin();
      } catch { /* the plugin may be gone; the socket closes anyway */ }
      c.close();
    }
    this.clients.clear();
  }
}
