/**
 * What the CNI remembers of each attachment between ADD and DEL: one small JSON file per
 * (network name, container id, interface name), the key the CNI spec tells plugins to use, in
 * /var/lib/cni/afxdp (XDPLANE_CNI_STATE_DIR overrides it). DEL reads it when the config lacks the device
 * or the namespace is gone; GC lists it to find attachments the runtime no longer knows. It is also what
 * makes a DEL undo only its own ADD's work: no record, no change to the netdev or its XDP program.
 *
 * Files are written whole (temporary file, then rename), so a crash leaves the old or the new one.
 *
 * @example
 * const store = new StateStore();
 * store.save({ ...rec, phase: "added" });
 * const rec = store.load("net1", "c0ffee", "eth0");
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { CNI_ERR, CniError } from "./errors.js";

export const DEFAULT_STATE_DIR = "/var/lib/cni/afxdp";
export const STATE_DIR_ENV = "XDPLANE_CNI_STATE_DIR";

/** One attachment. */
export interface AttachmentState {
  version: 1;
  network: string;
  containerID: string;
  ifname: string;
  /** The netdev moved into the pod (its name is kept). */
  device: string;
  /** Its MAC, to find it again if it was renamed in the pod or by the kernel on the way home. */
  mac?: string;
  /**
   * The XDP programs (ids) on the netdev when ADD took it (the device plugin's, for this pod): DEL
   * detaches a program only when it is one of these. Absent in records of older versions.
   */
  xdpProgIds?: number[];
  /**
   * Set once DEL brought the netdev home and undid its own changes on it: a retried DEL (after IPAM DEL
   * failed, say) does not touch the netdev again, which may belong to another pod by then.
   */
  released?: boolean;
  /** The pod's namespace path (CNI_NETNS at ADD). */
  netns: string;
  /** Whether the netdev was up on the host before ADD (restored at DEL). */
  hostUp: boolean;
  /** Addresses configured inside (CIDR). */
  addresses: string[];
  /** The IPAM plugin used, if any. */
  ipamType?: string;
  /** Whether ethtool filters were applied (DEL clears them). */
  ethtool: boolean;
  /** "adding" until ADD finished; DEL treats both the same. */
  phase: "adding" | "added";
  created: number;
}

/** A file name for the key: readable, and unique through a hash of the exact key. */
export function stateFileName(network: string, containerID: string, ifname: string): string {
  const safe = (s: string) => s.replace(/[^a-zA-Z0-9_.-]/g, "_").slice(0, 64);
  const h = createHash("sha256").update(`${network}\0${containerID}\0${ifname}`).digest("hex").slice(0, 12);
  return `${safe(network)}.${safe(containerID)}.${safe(ifname)}.${h}.json`;
}

export class StateStore {
  readonly dir: string;

  constructor(dir: string = process.env[STATE_DIR_ENV] || DEFAULT_STATE_DIR) {
    this.dir = dir;
  }

  private path(network: string, containerID: string, ifname: string): string {
    return join(this.dir, stateFileName(network, containerID, ifname));
  }

  /** Writes the record (code 5 on failure). */
  save(rec: AttachmentState): void {
    const p = this.path(rec.network, rec.containerID, rec.ifname);
    const tmp = `${p}.${process.pid}.tmp`;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, JSON.stringify(rec, null, 2) + "\n", { mode: 0o600 });
      renameSync(tmp, p);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new CniError(CNI_ERR.IO, `Cannot write the attachment state ${p}: ${(e as Error).message}`);
    }
  }

  /** The record of the key, or undefined when there is none (or it is unreadable: DEL goes on without it). */
  load(network: string, containerID: string, ifname: string): AttachmentState | undefined {
    return this.read(this.path(network, containerID, ifname));
  }

  private read(p: string): AttachmentState | undefined {
    try {
      const rec = JSON.parse(readFileSync(p, "utf8")) as AttachmentState;
      if (rec.version !== 1 || typeof rec.device !== "string" || typeof rec.containerID !== "string") return undefined;
      return rec;
    } catch {
      return undefined;
    }
  }

  remove(network: string, containerID: string, ifname: string): void {
    try {
      rmSync(this.path(network, containerID, ifname), { force: true });
    } catch (e) {
      throw new CniError(CNI_ERR.IO, `Cannot remove the attachment state: ${(e as Error).message}`);
    }
  }

  /** Every record of network `network`. */
  list(network: string): AttachmentState[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith(".json"))
      .map((n) => this.read(join(this.dir, n)))
      .filter((r): r is AttachmentState => r !== undefined && r.network === network);
  }

  /**
   * The record holding `device` in any network, if one does (a second ADD of a device in use); `except`
   * skips the record of that key (the caller's own).
   */
  holder(device: string, except?: { network: string; containerID: string; ifname: string }): AttachmentState | undefined {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return undefined;
    }
    for (const n of names) {
      if (!n.endsWith(".json")) continue;
      const r = this.read(join(this.dir, n));
      if (r?.device !== device) continue;
      if (except && r.network === except.network && r.containerID === except.containerID && r.ifname === except.ifname) continue;
      return r;
    }
    return undefined;
  }
}
