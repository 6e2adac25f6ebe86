/**
 * A netdev's NAPI knobs for preferred busy polling: `napi_defer_hard_irqs` and `gro_flush_timeout`
 * (sysfs, /sys/class/net/<dev>/). With SO_PREFER_BUSY_POLL on a socket, they keep the device's
 * interrupts (for veth: the NAPI reschedule of every xmit) off while the application polls, so NAPI runs
 * in the application's system calls only and a watchdog timer of `gro_flush_timeout` ns takes over when
 * it stops polling (Documentation/networking/napi.rst, "Preferred busy polling").
 *
 * The port sets them when it busy-polls a NAPI (privileged; a socket with a NAPI id, see
 * {@link XskSocket.napiId}) and restores what it found at close. Several ports on one netdev share one
 * setting (counted); values an administrator set (non-zero) are left alone. sysfs shows the network
 * namespace it was mounted in: when /sys/class/net/<dev>/ifindex is not the netdev's index here, the
 * knobs are left alone (logged), as are netdevs that have no such files.
 */
import { readFileSync, writeFileSync } from "node:fs";

/**
 * The two knobs, as the kernel takes them (defer: a count of polls; timeout: nanoseconds).
 *
 * @example
 * const v: NapiKnobValues = { napiDeferHardIrqs: 2, groFlushTimeoutNs: 200_000 };
 */
export interface NapiKnobValues {
  napiDeferHardIrqs: number;
  groFlushTimeoutNs: number;
}

/**
 * The kernel documentation's example for preferred busy polling: keep interrupts off for 2 empty polls
 * and let the watchdog fire after 200 us without a poll.
 *
 * @example
 * const k = NapiKnobs.acquire("eth0", null, PREFER_BUSY_POLL_KNOBS, console.log);
 */
export const PREFER_BUSY_POLL_KNOBS: NapiKnobValues = { napiDeferHardIrqs: 2, groFlushTimeoutNs: 200_000 };

interface Held {
  count: number;
  old: NapiKnobValues;
  set: NapiKnobValues;
}

/** Netdevs whose knobs ports of this process hold, by "<ifindex>:<name>" (filled at first use). */
let held: Map<string, Held> | null = null;

function sysPath(ifname: string, attr: string, dir: string): string {
  return `${dir}/${ifname}/${attr}`;
}

function readNum(path: string): number | null {
  try {
    const v = Number(readFileSync(path, "utf8").trim());
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function write(ifname: string, v: NapiKnobValues, dir: string): void {
  writeFileSync(sysPath(ifname, "napi_defer_hard_irqs", dir), `${v.napiDeferHardIrqs}\n`);
  writeFileSync(sysPath(ifname, "gro_flush_timeout", dir), `${v.groFlushTimeoutNs}\n`);
}

/**
 * One port's hold on a netdev's NAPI knobs: {@link NapiKnobs.acquire} sets them (or counts another
 * holder), {@link NapiKnobs.release} restores them when the last holder lets go.
 *
 * @example
 * const knobs = NapiKnobs.acquire("eth0", 2, PREFER_BUSY_POLL_KNOBS, (m) => console.log(m));
 * // ... busy-poll ...
 * knobs?.release();
 */
export class NapiKnobs {
  private released = false;

  private constructor(private readonly key: string, readonly ifname: string, private readonly root: string) {}

  /**
   * Sets `want` on the netdev unless an administrator set other values or sysfs shows another network
   * namespace (its ifindex there is not `ifindex`; null: the caller knows `sysClassNet` is its own, as
   * the device plugin listing its netdevs from it does); returns the hold, or null when it left the
   * netdev alone (and logged why). `sysClassNet`: the folder of netdevs (tests pass a fake tree).
   */
  static acquire(ifname: string, ifindex: number | null, want: NapiKnobValues, log: (m: string) => void, sysClassNet = "/sys/class/net"): NapiKnobs | null {
    const root = sysClassNet;
    if (!Number.isInteger(want.napiDeferHardIrqs) || want.napiDeferHardIrqs < 0 || want.napiDeferHardIrqs > 0x7fffffff) {
      throw new RangeError(`Invalid napi_defer_hard_irqs ${want.napiDeferHardIrqs} for ${ifname}: expected 0..2147483647 (polls)`);
    }
    if (!Number.isInteger(want.groFlushTimeoutNs) || want.groFlushTimeoutNs < 0) {
      throw new RangeError(`Invalid gro_flush_timeout ${want.groFlushTimeoutNs} for ${ifname}: expected an integer >= 0 (ns)`);
    }
    const seen = readNum(sysPath(ifname, "ifindex", root));
    if (seen === null || (ifindex !== null && seen !== ifindex)) {
      log(`${ifname}: NAPI knobs left alone: ${seen === null ? `no ${sysPath(ifname, "ifindex", root)}` : `sysfs shows another network namespace's ${ifname} (ifindex ${seen}, not ${ifindex})`}`);
      return null;
    }
    const key = `${seen}:${ifname}`;
    held ??= new Map();
    const h = held.get(key);
    if (h) {
      h.count++;
      return new NapiKnobs(key, ifname, root);
    }
    const defer = readNum(sysPath(ifname, "napi_defer_hard_irqs", root));
    const timeout = readNum(sysPath(ifname, "gro_flush_timeout", root));
    if (defer === null || timeout === null) {
      log(`${ifname}: NAPI knobs left alone: no napi_defer_hard_irqs / gro_flush_timeout in sysfs`);
      return null;
    }
    if (defer !== 0 || timeout !== 0) {
      log(`${ifname}: NAPI knobs left as set (napi_defer_hard_irqs ${defer}, gro_flush_timeout ${timeout} ns)`);
      return null;
    }
    const old = { napiDeferHardIrqs: defer, groFlushTimeoutNs: timeout };
    try {
      write(ifname, want, root);
    } catch (e) {
      try { write(ifname, old, root); } catch { /* as it was */ }
      log(`${ifname}: NAPI knobs not set: ${(e as Error).message}`);
      return null;
    }
    held.set(key, { count: 1, old, set: { ...want } });
    log(`${ifname}: napi_defer_hard_irqs ${want.napiDeferHardIrqs}, gro_flush_timeout ${want.groFlushTimeoutNs} ns (preferred busy polling; restored at close)`);
    return new NapiKnobs(key, ifname, root);
  }

  /** Netdevs this process holds knobs on, with their holders (diagnostics, tests). */
  static holders(): Map<string, number> {
    return new Map([...(held ?? new Map<string, Held>())].map(([k, h]) => [k, h.count]));
  }

  /**
   * Lets go; the last holder writes back what it found, unless someone changed the knobs meanwhile or
   * `restore` is false (the values stay for whoever uses the netdev next, as the device plugin's stop
   * leaves them to running pods). Idempotent.
   */
  release(restore = true): void {
    if (this.released) return;
    this.released = true;
    const h = held?.get(this.key);
    if (!h) return;
    if (--h.count > 0) return;
    held!.delete(this.key);
    if (!restore) return;
    const defer = readNum(sysPath(this.ifname, "napi_defer_hard_irqs", this.root));
    const timeout = readNum(sysPath(this.ifname, "gro_flush_timeout", this.root));
    if (defer !== h.set.napiDeferHardIrqs || timeout !== h.set.groFlushTimeoutNs) return;
    try {
      write(this.ifname, h.old, this.root);
    } catch { /* the netdev is gone */ }
  }
}
