/**
 * The native shim inside the single executable (Node's single-executable application): the bundler
 * (deploy/build-cni.mjs) puts this module where src/sys/native.ts would be, so that `sys` comes from the
 * `xdplane_shim.node` asset embedded in the executable. A native addon can only be loaded from a file:
 * the asset is written to a private temporary folder, loaded with process.dlopen, and removed at once
 * (the mapping stays). Folders are tried in order until one allows executable mappings (a noexec /tmp
 * is common on hardened nodes).
 *
 * Only the single executable loads this file; everything else uses src/sys/native.ts.
 */
import { getAsset } from "node:sea";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Shim } from "../../sys/native.js";

/** The asset name the build gives the shim. */
export const SHIM_ASSET = "xdplane_shim.node";

function candidates(): string[] {
  const dirs = [process.env["XDPLANE_SHIM_TMPDIR"], tmpdir(), "/dev/shm", "/run", "/var/lib/cni"];
  return [...new Set(dirs.filter((d): d is string => typeof d === "string" && d !== ""))];
}

function load(): Shim {
  const bytes = Buffer.from(getAsset(SHIM_ASSET));
  const errors: string[] = [];
  for (const base of candidates()) {
    let dir: string;
    try {
      dir = mkdtempSync(join(base, "xdplane-shim-"));
    } catch (e) {
      errors.push(`${base}: ${(e as Error).message}`);
      continue;
    }
    try {
      const file = join(dir, SHIM_ASSET);
      writeFileSync(file, bytes, { mode: 0o500 });
      const mod = { exports: {} as Shim };
      process.dlopen(mod, file);
      return mod.exports;
    } catch (e) {
      errors.push(`${base}: ${(e as Error).message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`Cannot load the embedded native shim: ${errors.join("; ")}`);
}

export const sys: Shim = load();
