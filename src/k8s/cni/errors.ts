/**
 * CNI errors: the well-known codes of the CNI spec (SPEC.md "Error codes", 1.1.0) and ours (100+), and the
 * error object printed on stdout with a non-zero exit: `{cniVersion, code, msg, details}`.
 *
 * @example
 * throw new CniError(CNI_ERR.INVALID_CONFIG, "deviceID is required", "the netdev to move into the pod");
 */

/** Error codes: 1-99 as the spec defines them, 100+ this plugin's own. */
export const CNI_ERR = {
  /** The config's cniVersion is not one this plugin supports (or the command needs a newer one). */
  INCOMPATIBLE_VERSION: 1,
  /** A field of the config is not supported (the message names it). */
  UNSUPPORTED_FIELD: 2,
  /** The container (its network namespace) does not exist: the runtime need not clean up. */
  UNKNOWN_CONTAINER: 3,
  /** A required CNI_* variable is missing or malformed. */
  INVALID_ENV: 4,
  /** Reading or writing the plugin's state failed. */
  IO: 5,
  /** Stdin is not a JSON object, or a result in it cannot be decoded. */
  DECODE: 6,
  /** A field of the config has a wrong type or value. */
  INVALID_CONFIG: 7,
  /** Transient: the runtime should try again later. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin cannot serve ADDs now. */
  PLUGIN_UNAVAILABLE: 50,
  /** STATUS: as 50, and existing containers may have limited connectivity. */
  LIMITED_CONNECTIVITY: 51,
  /** The netdev named by deviceID is not in the host namespace at ADD. */
  DEVICE_NOT_FOUND: 100,
  /** The IPAM plugin is missing, failed without a CNI error, or returned a result we cannot use. */
  IPAM_FAILED: 101,
  /** Moving or configuring the netdev over netlink failed. */
  NETDEV_FAILED: 102,
  /** An ethtool command failed. */
  ETHTOOL_FAILED: 103,
  /** CHECK found the attachment not as ADD left it. */
  CHECK_FAILED: 104,
  /** Anything unexpected (libcni uses the same number for internal errors). */
  INTERNAL: 999,
} as const;

export type CniErrorCode = (typeof CNI_ERR)[keyof typeof CNI_ERR] | number;

/** An error the plugin reports as CNI error JSON. */
export class CniError extends Error {
  readonly code: number;
  readonly details: string;
  constructor(code: CniErrorCode, msg: string, details = "") {
    super(msg);
    this.name = "CniError";
    this.code = code;
    this.details = details;
  }

  /** The error object of the spec, in `cniVersion`'s format (all versions share it). */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Wraps any error as a CniError (non-CNI errors get `fallback`, the message kept). */
export function asCniError(e: unknown, fallback: CniErrorCode, prefix = ""): CniError {
  if (e instanceof CniError) return prefix ? new CniError(e.code, `${prefix}${e.message}`, e.details) : e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CniError(fallback, `${prefix}${msg}`);
}
