/**
 * The device plugin's XDP redirect programs: one per netdev (`xsk_def_prog` over an XSKMAP `xsks_map`,
 * src/bpf/xsk-redirect.ts), attached through a BPF link that is pinned, with its map, in the plugin's
 * bpffs (`<pinRoot>/<netdev>/link`, `<pinRoot>/<netdev>/xsks_map`). The pins keep the program attached and
 * the map (with the pods' XSK sockets in it) alive across a plugin restart; a restarted plugin reopens
 * them instead of loading again.
 *
 * @example
 * const rd = new RedirectManager("/sys/fs/bpf/xdplane");
 * const map = rd.ensure("ens1f0");   // attached (or found attached); map.fd goes to the pod
 * rd.close();                        // fds closed, program stays attached (pinned)
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BpfMap, Program, XdpLink, XSKMAP_EXPECT, loadXskRedirect, unmountBpffs, detachAny, ensureBpffs, type XskRedirect } from "../bpf/index.js";
import { sys } from "../sys/native.js";
import { SysError } from "../sys/errno.js";
import { XSKS_MAP_NAME } from "./uds-protocol.js";
import { silentLogger, type Logger } from "./log.js";

/** Default pin folder of the plugin (a bpffs is mounted on /sys/fs/bpf when none is: bpf/bpffs.ts). */
export const DEFAULT_PIN_ROOT = "/sys/fs/bpf/xdplane";

interface Attached {
  link: XdpLink;
  map: BpfMap;
}

/** Attaches, finds and releases the redirect program of each netdev. */
export class RedirectManager {
  readonly pinRoot: string;
  private readonly log: Logger;
  private readonly cache = new Map<string, Attached>();
  /** Where this manager mounted a bpffs (its pin root, or the sysfs mount point above it), or null. */
  readonly mountedAt: string | null;

  /**
   * Makes sure `pinRoot` is a folder on a bpffs, mounting one if needed (bpf/bpffs.ts); throws at once,
   * saying what to mount, when that is not possible.
   */
  constructor(pinRoot: string = DEFAULT_PIN_ROOT, log: Logger = silentLogger) {
    this.pinRoot = pinRoot;
    this.log = log;
    this.mountedAt = ensureBpffs(pinRoot);
    if (this.mountedAt !== null) log.info(`mounted a bpffs at ${this.mountedAt} (none was there) for the pins in ${pinRoot}`);
  }

  private dir(netdev: string): string {
    return join(this.pinRoot, netdev);
  }

  /**
   * The XSKMAP of `netdev`'s redirect program: the one already attached (held here or pinned by an
   * earlier run) when it still sits on that netdev, else a new program attached now (replacing any other
   * XDP program on the netdev, as upstream does). The map is owned by this manager.
   */
  ensure(netdev: string): BpfMap {
    return this.acquire(netdev).map;
  }

  /**
   * As {@link ensure}, also saying whether the program was attached by this call (`attachedNow`): a caller
   * that fails afterwards undoes exactly that with {@link release}.
   */
  acquire(netdev: string): { map: BpfMap; attachedNow: boolean } {
    const cached = this.cache.get(netdev);
    if (cached && this.alive(netdev, cached.link)) return { map: cached.map, attachedNow: false };
    if (cached) this.forget(netdev, true);
    const pinned = this.fromPins(netdev);
    if (pinned) {
      this.cache.set(netdev, pinned);
      this.log.info(`xdp redirect on ${netdev}: reusing the pinned program (link ${pinned.link.info().id})`);
      return { map: pinned.map, attachedNow: false };
    }
    const att = this.attach(netdev);
    this.cache.set(netdev, att);
    return { map: att.map, attachedNow: true };
  }

  /**
   * Makes sure the program whose XSKMAP this manager handed out is still attached to `netdev`. When
   * someone detached it (a CNI DEL, an operator), attaches it again: the same program (while its old,
   * detached link still holds it; else a new one over the same map), so the XSKMAP fds handed out and
   * the XSK sockets in the map keep working. The new link replaces the old one's pin. Returns true when
   * it attached again; throws when it cannot (e.g. the netdev is in another namespace).
   */
  reattach(netdev: string): boolean {
    let att = this.cache.get(netdev);
    if (!att) {
      const p = this.fromPins(netdev);
      if (!p) throw new Error(`xdp redirect on ${netdev}: no program of this plugin (nothing held or pinned)`);
      this.cache.set(netdev, p);
      return false; // fromPins returns only a link still attached
    }
    if (this.alive(netdev, att.link)) return false;
    const { link: old, map } = att;
    let progId = 0;
    try {
      progId = old.info().progId;
    } catch { /* link unreadable: load again */ }
    let prog: Program | null = null;
    try {
      if (progId !== 0) {
        try {
          const p = Program.fromId(progId);
          if (p.info().mapIds.includes(map.id)) prog = p;
          else p.close();
        } catch { /* gone meanwhile */ }
      }
      let loaded: XskRedirect | null = null;
      if (prog === null) {
        loaded = loadXskRedirect({ map });
        prog = loaded.prog;
      }
      const link = this.attachLink(prog, netdev);
      try {
        mkdirSync(this.dir(netdev), { recursive: true, mode: 0o700 });
        const linkPin = join(this.dir(netdev), "link");
        const mapPin = join(this.dir(netdev), XSKS_MAP_NAME);
        rmSync(linkPin, { force: true });
        link.pin(linkPin);
        if (!existsSync(mapPin)) map.pin(mapPin);
      } catch (e) {
        try { link.detach(); } catch { /* already gone */ }
        link.close();
        throw e;
      }
      old.close();
      att = { link, map };
      this.cache.set(netdev, att);
      this.log.warn(`xdp redirect on ${netdev}: the program was detached (CNI DEL or an operator); attached again ` +
        `(${loaded ? "new program" : "same program"} ${link.info().progId}, same map ${map.id}, link ${link.info().id})`);
      return true;
    } finally {
      prog?.close();
    }
  }

  /** Whether `netdev` has our program attached (held or pinned). */
  has(netdev: string): boolean {
    const cached = this.cache.get(netdev);
    if (cached) return this.alive(netdev, cached.link);
    const p = this.fromPins(netdev);
    if (!p) return false;
    this.cache.set(netdev, p);
    return true;
  }

  /** Detaches `netdev`'s program and removes its pins. */
  release(netdev: string): void {
    const att = this.cache.get(netdev) ?? this.fromPins(netdev);
    if (att) {
      try {
        att.link.detach();
      } catch (e) {
        this.log.debug(`xdp redirect on ${netdev}: detach: ${(e as Error).message}`);
      }
      this.cache.set(netdev, att);
    }
    this.forget(netdev, true);
  }

  /** Closes every fd; pinned programs stay attached and the bpffs stays mounted. */
  close(): void {
    for (const a of this.cache.values()) {
      a.link.close();
      a.map.close();
    }
    this.cache.clear();
  }

  /** Unmounts the bpffs this manager mounted, if it did (tests). Pins in it go. */
  unmount(): void {
    this.close();
    if (this.mountedAt !== null) unmountBpffs(this.mountedAt);
  }

  private alive(netdev: string, link: XdpLink): boolean {
    let info;
    try {
      info = link.info();
    } catch {
      return false;
    }
    if (info.ifindex === 0 || info.progId === 0) return false; // detached, or the netdev is gone
    const idx = sys.ifNameToIndex(netdev);
    // A netdev moved into a pod's namespace is not visible here; its link still holds the program.
    return idx < 0 || idx === info.ifindex;
  }

  private fromPins(netdev: string): Attached | null {
    const linkPin = join(this.dir(netdev), "link");
    const mapPin = join(this.dir(netdev), XSKS_MAP_NAME);
    if (!existsSync(linkPin) || !existsSync(mapPin)) {
      if (existsSync(this.dir(netdev))) rmSync(this.dir(netdev), { recursive: true, force: true });
      return null;
    }
    let link: XdpLink | null = null;
    let map: BpfMap | null = null;
    try {
      link = XdpLink.fromPin(linkPin);
      map = BpfMap.fromPin(mapPin, XSKMAP_EXPECT);
      if (this.alive(netdev, link)) return { link, map };
      this.log.info(`xdp redirect on ${netdev}: pinned program no longer attached; loading again`);
    } catch (e) {
      this.log.warn(`xdp redirect on ${netdev}: cannot reopen pins: ${(e as Error).message}`);
    }
    link?.close();
    map?.close();
    rmSync(this.dir(netdev), { recursive: true, force: true });
    return null;
  }

  private forget(netdev: string, unpin: boolean): void {
    const a = this.cache.get(netdev);
    if (a) {
      a.link.close();
      a.map.close();
      this.cache.delete(netdev);
    }
    if (unpin) rmSync(this.dir(netdev), { recursive: true, force: true });
  }

  /** Attaches `prog` to `netdev`, replacing any other XDP program there (as upstream does). */
  private attachLink(prog: Program, netdev: string): XdpLink {
    try {
      return XdpLink.attach(prog, netdev);
    } catch (e) {
      if (!(e instanceof SysError) || (e.code !== "EBUSY" && e.code !== "EEXIST")) throw e;
      const gone = detachAny(netdev);
      this.log.warn(`xdp redirect on ${netdev}: replacing the XDP program already attached (${gone.map((g) => `prog ${g.progId}`).join(", ")})`);
      return XdpLink.attach(prog, netdev);
    }
  }

  private attach(netdev: string): Attached {
    const rd = loadXskRedirect();
    let link = null as XdpLink | null;
    try {
      link = this.attachLink(rd.prog, netdev);
      mkdirSync(this.dir(netdev), { recursive: true, mode: 0o700 });
      link.pin(join(this.dir(netdev), "link"));
      rd.map.pin(join(this.dir(netdev), XSKS_MAP_NAME));
      rd.prog.close(); // the link holds the program
      this.log.info(`xdp redirect on ${netdev}: attached (link ${link.info().id}, map ${rd.map.id})`);
      return { link, map: rd.map };
    } catch (e) {
      if (link) {
        try { link.detach(); } catch { /* already gone */ }
        link.close();
      }
      rd.close();
      rmSync(this.dir(netdev), { recursive: true, force: true });
      throw e;
    }
  }
}
