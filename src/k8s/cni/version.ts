/**
 * CNI spec versions: which this plugin accepts, comparing them, and which commands each allows
 * (CHECK from 0.4.0, GC and STATUS from 1.1.0; SPEC.md of containernetworking/cni, 1.1.0).
 */

/** Versions whose configs and results this plugin reads and writes (0.3.0 introduced the result we use). */
export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export const LATEST_VERSION = "1.1.0";

/** [major, minor, patch] of "x.y.z", or null when malformed. */
export function parseVersion(v: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** Negative when a < b, 0 when equal, positive when a > b. Malformed versions sort first. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a) ?? [-1, 0, 0];
  const y = parseVersion(b) ?? [-1, 0, 0];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export function isSupported(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Whether `v` is at least `min`. */
export function atLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

/** The highest version in both lists that is at most `max`, or undefined. */
export function highestCommon(theirs: readonly string[], max: string): string | undefined {
  return [...SUPPORTED_VERSIONS].filter((v) => theirs.includes(v) && compareVersions(v, max) <= 0).sort(compareVersions).pop();
}
