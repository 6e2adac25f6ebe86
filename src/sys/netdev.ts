/** Netdev names and indexes. */
import { sys } from "./native.js";
import { check } from "./errno.js";

/** The ifindex of a netdev, or a clear error naming it. */
export function ifIndex(name: string): number {
  if (name.length === 0 || name.length > 15) throw new RangeError(`Invalid netdev name '${name}': 1 to 15 characters`);
  return check(sys.ifNameToIndex(name), () => `netdev '${name}' not found (if_nametoindex)`);
}

/** The name of a netdev by ifindex. */
export function ifName(index: number): string {
  const r = sys.ifIndexToName(index);
  if (typeof r === "number") check(r, () => `if_indextoname(${index})`);
  return r as string;
}
