/**
 * The `afxdp` CNI plugin's commands (CNI spec 1.1.0; configs 0.3.0 to 1.1.0), compatible with the upstream
 * AF_XDP CNI's NADs (../shared/reference/afxdp-k8s-protocol.md "CNI config and behaviour"), with its
 * faults fixed:
 *
 * - ADD: IPAM ADD (delegated, in the host namespace) → in primary mode with `ethtoolCmds`:
 *   `ethtool --features <dev> ntuple on` and each command → the netdev moved into CNI_NETNS keeping its
 *   name, set up → IPAM's addresses and routes configured inside → the result (chained after prevResult
 *   when there is one). Any failure undoes what was done (IPAM DEL included) before the error is printed.
 * - DEL: undoes what its own ADD recorded in its state file, nothing else: the netdev back home (found by
 *   its MAC if the pod renamed it, named back, up again if it was), ethtool filters cleared, the XDP
 *   program ADD found on it detached unless `skipUnloadBpf` (one attached since, for another pod, stays);
 *   then IPAM DEL. Without a state file (a retried DEL of a pod whose device went to another one), the
 *   netdev and its program are not touched (IPAM DEL still runs: its leases are the container's).
 *   Idempotent: the netdev already home, the namespace gone, the state file missing, or the config
 *   without `deviceID` are all success.
 * - CNI_NETNS is checked first (ADD, CHECK): code 4 when it is not a network namespace or is the host's.
 * - CHECK (0.4.0+): the netdev is in CNI_NETNS, up, with prevResult's MAC and addresses; IPAM CHECK.
 * - GC (1.1.0+): attachments of this network missing from `cni.dev/valid-attachments` are torn down as
 *   DEL does; IPAM GC when the IPAM plugin speaks 1.1.0.
 * - STATUS (1.1.0+): code 50 when the IPAM plugin or ethtool (if needed) is missing or the state folder
 *   is not writable; IPAM STATUS when it speaks 1.1.0.
 * - VERSION: the supported versions.
 *
 * @example
 * const { stdout, status } = runCni(process.env, readFileSync(0, "utf8"));
 */
import { accessSync, closeSync, constants, mkdirSync } from "node:fs";
import { join } from "node:path";
import { detachAny, queryXdp } from "../../bpf/query.js";
import type { Link } from "../../netlink/link.js";
import { createLogger, silentLogger, type Logger } from "../log.js";
import { CNI_ERR, CniError, asCniError } from "./errors.js";
import { parseEnv, type CniEnv } from "./env.js";
import { configVersion, decodeStdin, parseNetConf, LOG_DIR, type NetConf } from "./config.js";
import { SUPPORTED_VERSIONS, LATEST_VERSION, isSupported, atLeast } from "./version.js";
import { emptyResult, formatResult, type CniDns, type CniResult } from "./result.js";
import { delegateVersions, findInPath, ipamAdd, ipamCall, type DelegateCall } from "./delegate.js";
import { StateStore, STATE_DIR_ENV, DEFAULT_STATE_DIR, type AttachmentState } from "./state.js";
import { applyFilters, clearFilters, ethtoolAvailable } from "./ethtool.js";
import { configureInside, inspectInside, moveHome, moveIn, notOnHost, onHost, openPodNetns, type HomeOutcome } from "./netdev.js";

/** Overrides the log folder of `logFile` (tests). */
export const LOG_DIR_ENV = "XDPLANE_CNI_LOG_DIR";

export interface Context {
  env: CniEnv;
  /** The process environment, passed on to delegates. */
  vars: NodeJS.ProcessEnv;
  store: StateStore;
  log: Logger;
}

function hasDns(d: CniDns): boolean {
  return Object.keys(d).length > 0;
}

function delegate(conf: NetConf, ctx: Context, vars: NodeJS.ProcessEnv = ctx.vars): DelegateCall {
  return { type: conf.ipam!.type, conf: conf.raw, env: vars, path: ctx.env.path };
}

/** The ids of the XDP programs attached to a netdev (any mode). */
function progIds(l: Link): number[] {
  const x = l.xdp;
  if (!x || x.attached === 0) return [];
  return [...new Set([x.progId, x.drvProgId, x.skbProgId, x.hwProgId].filter((id) => id > 0))];
}

function hostOf(address: string): string {
  return address.slice(0, address.indexOf("/"));
}

/** ADD: returns the result JSON. */
export function cmdAdd(conf: NetConf, ctx: Context): Record<string, unknown> {
  const { env, store, log } = ctx;
  const dev = conf.deviceID!;
  const nsFd = openPodNetns(env.netns);
  try {
    const host = onHost(dev);
    if (!host) {
      const h = store.holder(dev);
      throw notOnHost(dev, env.netns, h ? `container ${h.containerID} (network ${h.network})` : undefined);
    }
    const rec: AttachmentState = {
      version: 1, network: conf.name, containerID: env.containerID, ifname: env.ifname, device: dev,
      ...(host?.mac !== undefined ? { mac: host.mac } : {}),
      xdpProgIds: progIds(host),
      netns: env.netns, hostUp: host?.up ?? false, addresses: [], ethtool: false, phase: "adding", created: Date.now(),
      ...(conf.ipam ? { ipamType: conf.ipam.type } : {}),
    };
    store.save(rec);
    const undo: [string, () => void][] = [["remove state", () => store.remove(conf.name, env.containerID, env.ifname)]];
    try {
      let ipam: CniResult | undefined;
      if (conf.ipam) {
        log.debug(`ADD ${env.containerID}: IPAM ${conf.ipam.type} ADD`);
        ipam = ipamAdd(delegate(conf, ctx));
        undo.push(["IPAM DEL", () => ipamCall(delegate(conf, ctx), "DEL")]);
        log.info(`ADD ${env.containerID}: IPAM gave ${ipam.ips.map((i) => i.address).join(", ")}`);
      }
      if (conf.mode === "primary" && conf.ethtoolCmds.length > 0) {
        rec.ethtool = true;
        store.save(rec);
        undo.push(["clear ethtool filters", () => void clearFilters(dev)]);
        const ip = ipam?.ips[0] ? hostOf(ipam.ips[0].address) : undefined;
        applyFilters(dev, conf.ethtoolCmds, ip);
        log.info(`ADD ${env.containerID}: ethtool filters applied on ${dev}`);
      }
      // Before the move: a move that half worked (moved, not set up) is undone too.
      undo.push(["move the netdev home", () => void moveHome(dev, env.netns, { ...(rec.mac ? { mac: rec.mac } : {}), hostUp: rec.hostUp })]);
      moveIn(dev, nsFd, env.netns);
      log.info(`ADD ${env.containerID}: ${dev} moved into ${env.netns}`);
      if (ipam) configureInside(env.netns, dev, ipam);
      const inside = inspectInside(env.netns, dev);
      if (!inside) throw new CniError(CNI_ERR.NETDEV_FAILED, `'${dev}' vanished from ${env.netns} during ADD`);

      const out: CniResult = conf.prevResult ? structuredClone(conf.prevResult) : emptyResult(conf.cniVersion);
      const idx = out.interfaces.length;
      out.interfaces.push({
        name: dev, sandbox: env.netns, mtu: inside.link.mtu,
        ...(inside.link.mac !== undefined ? { mac: inside.link.mac } : {}),
      });
      if (ipam) {
        for (const ip of ipam.ips) out.ips.push({ ...ip, interface: idx });
        out.routes.push(...ipam.routes);
      }
      if (hasDns(conf.dns)) out.dns = conf.dns;
      else if (ipam && hasDns(ipam.dns)) out.dns = ipam.dns;

      rec.addresses = ipam ? ipam.ips.map((i) => i.address) : [];
      rec.phase = "added";
      store.save(rec);
      return formatResult(out, conf.cniVersion);
    } catch (e) {
      for (const [what, fn] of undo.reverse()) {
        try {
          fn();
        } catch (u) {
          log.warn(`ADD ${env.containerID}: undo (${what}) failed: ${(u as Error).message}`);
        }
      }
      throw e;
    }
  } finally {
    closeSync(nsFd);
  }
}

/**
 * Undoes on the netdev what this attachment's ADD did, and only that: brings it home (found by MAC, named
 * back, up state restored), clears the ethtool filters ADD applied, detaches the XDP program ADD found on
 * it. Nothing when another attachment holds the device now or a previous DEL already released it.
 */
function releaseNetdev(conf: NetConf, ctx: Context, who: { containerID: string; ifname: string; netns: string }, rec: AttachmentState, errors: CniError[]): void {
  const { log, store } = ctx;
  const dev = rec.device;
  if (rec.released) {
    log.info(`DEL ${who.containerID}: ${dev} was released by an earlier DEL: not touched again`);
    return;
  }
  const other = store.holder(dev, { network: conf.name, containerID: who.containerID, ifname: who.ifname });
  if (other) {
    log.info(`DEL ${who.containerID}: ${dev} is held by container ${other.containerID} (network ${other.network}) now: not touched`);
    return;
  }
  let home: HomeOutcome;
  try {
    home = moveHome(dev, who.netns || rec.netns || undefined, { ...(rec.mac ? { mac: rec.mac } : {}), hostUp: rec.hostUp });
    log.info(`DEL ${who.containerID}: ${dev} ${home === "moved" ? "moved home" : home === "home" ? "already home" : "is gone (its namespace took it)"}`);
  } catch (e) {
    errors.push(asCniError(e, CNI_ERR.NETDEV_FAILED));
    return;
  }
  if (home === "gone") {
    markReleased(ctx, rec);
    return;
  }
  if (rec.ethtool) {
    for (const f of clearFilters(dev)) log.warn(`DEL ${who.containerID}: ${f}`);
  }
  if (!conf.skipUnloadBpf) {
    try {
      detachOwn(dev, rec, who.containerID, log);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENODEV") {
        errors.push(asCniError(e, CNI_ERR.NETDEV_FAILED, `Cannot detach the XDP program from '${dev}': `));
        return;
      }
    }
  }
  markReleased(ctx, rec);
}

function markReleased(ctx: Context, rec: AttachmentState): void {
  try {
    ctx.store.save({ ...rec, released: true });
  } catch (e) {
    ctx.log.warn(`DEL ${rec.containerID}: cannot record that ${rec.device} is released: ${(e as Error).message}`);
  }
}

/**
 * Detaches the XDP programs ADD found on the netdev (`rec.xdpProgIds`); a program attached since (the
 * device plugin's, for the next pod) is left alone, and so is everything when one is there. Records of
 * older versions, which did not note the programs, get the old behaviour (detach whatever is there).
 */
function detachOwn(dev: string, rec: AttachmentState, containerID: string, log: Logger): void {
  const now = queryXdp(dev).attachments;
  if (now.length === 0) return;
  if (rec.xdpProgIds !== undefined) {
    const foreign = now.filter((a) => !rec.xdpProgIds!.includes(a.progId));
    if (foreign.length > 0) {
      log.info(`DEL ${containerID}: XDP program ${foreign.map((a) => a.progId).join(", ")} on ${dev} was not there at ADD (had ${rec.xdpProgIds.join(", ") || "none"}): left attached`);
      return;
    }
  }
  const gone = detachAny(dev);
  if (gone.length > 0) log.info(`DEL ${containerID}: XDP program detached from ${dev} (prog ${gone.map((g) => g.progId).join(", ")})`);
}

/**
 * Tears an attachment down (DEL, and GC for stale ones): the netdev released (see releaseNetdev) when the
 * state file records this attachment's ADD, then IPAM DEL (its leases are keyed by container id). Without a
 * record, the netdev, its filters and its XDP program are not touched: they may be another pod's by now (a
 * physical netdev left in a namespace comes home when the namespace is destroyed). Every step is tried;
 * the first failure is thrown at the end.
 */
function teardown(conf: NetConf, ctx: Context, who: { containerID: string; ifname: string; netns: string }, rec: AttachmentState | undefined, vars: NodeJS.ProcessEnv): void {
  const { log } = ctx;
  const errors: CniError[] = [];
  if (rec) releaseNetdev(conf, ctx, who, rec, errors);
  else log.info(`DEL ${who.containerID}: no state: ${conf.deviceID ?? "the netdev"} is not touched (this container's ADD did not take it)`);
  if (conf.ipam) {
    try {
      ipamCall(delegate(conf, ctx, vars), "DEL");
    } catch (e) {
      errors.push(asCniError(e, CNI_ERR.IPAM_FAILED));
    }
  }
  if (conf.dpSyncer) log.debug(`DEL ${who.containerID}: dpSyncer: the device plugin ends the allocation itself once the pod is gone`);
  if (errors.length > 0) {
    const [first, ...rest] = errors;
    throw new CniError(first!.code, first!.message, [first!.details, ...rest.map((e) => `${e.code}: ${e.message}`)].filter(Boolean).join("; "));
  }
  ctx.store.remove(conf.name, who.containerID, who.ifname);
}

/** DEL: nothing on stdout. */
export function cmdDel(conf: NetConf, ctx: Context): void {
  const { env, store } = ctx;
  const rec = store.load(conf.name, env.containerID, env.ifname);
  teardown(conf, ctx, env, rec, ctx.vars);
}

/** CHECK (0.4.0+): nothing on stdout, or the first thing that is wrong. */
export function cmdCheck(conf: NetConf, ctx: Context): void {
  const { env } = ctx;
  if (!atLeast(conf.cniVersion, "0.4.0")) throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, "config version does not allow CHECK", `config is "${conf.cniVersion}"; CHECK needs 0.4.0 or later`);
  const prev = conf.prevResult;
  if (!prev) throw new CniError(CNI_ERR.INVALID_CONFIG, "Invalid network configuration: prevResult: CHECK needs the result of the ADD");
  const dev = conf.deviceID!;
  closeSync(openPodNetns(env.netns));
  const bad = (msg: string) => new CniError(CNI_ERR.CHECK_FAILED, `CHECK ${dev}: ${msg}`);
  const idx = prev.interfaces.findIndex((i) => i.name === dev && (i.sandbox === undefined || i.sandbox === "" || i.sandbox === env.netns));
  if (idx < 0) throw bad(`prevResult lists no interface '${dev}' in ${env.netns}`);
  const inside = inspectInside(env.netns, dev);
  if (!inside) {
    const h = onHost(dev);
    throw bad(`not in the container's namespace ${env.netns}${h ? " (it is in the host namespace)" : ""}`);
  }
  if (!inside.link.up) throw bad(`down in ${env.netns}`);
  const want = prev.interfaces[idx]!;
  if (want.mac && inside.link.mac && want.mac.toLowerCase() !== inside.link.mac.toLowerCase()) {
    throw bad(`MAC ${inside.link.mac}, prevResult says ${want.mac}`);
  }
  const have = new Set(inside.addrs.map((a) => a.cidr));
  for (const ip of prev.ips) {
    if (ip.interface !== idx) continue;
    const [addr, len] = ip.address.split("/");
    const canon = inside.addrs.find((a) => a.prefixLen === Number(len) && sameIp(a.address, addr!));
    if (!canon) throw bad(`address ${ip.address} is missing (has ${[...have].join(", ") || "none"})`);
  }
  if (conf.ipam) ipamCall(delegate(conf, ctx), "CHECK");
}

function sameIp(a: string, b: string): boolean {
  if (a === b) return true;
  // IPv6 text forms differ ("fd00::1" vs "fd00:0::1"): compare through URL parsing of a bracketed host.
  try {
    return new URL(`http://[${a}]/`).hostname === new URL(`http://[${b}]/`).hostname;
  } catch {
    return false;
  }
}

/** GC (1.1.0+): tears down this network's attachments the runtime no longer lists. */
export function cmdGc(conf: NetConf, ctx: Context): void {
  const { log, store } = ctx;
  if (!atLeast(conf.cniVersion, "1.1.0")) throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, "config version does not allow GC", `config is "${conf.cniVersion}"; GC needs 1.1.0`);
  const errors: CniError[] = [];
  if (conf.validAttachments === undefined) {
    log.warn("GC without cni.dev/valid-attachments: no attachment torn down");
  } else {
    const valid = new Set(conf.validAttachments.map((a) => `${a.containerID}\0${a.ifname}`));
    for (const rec of store.list(conf.name)) {
      if (valid.has(`${rec.containerID}\0${rec.ifname}`)) continue;
      log.info(`GC: attachment ${rec.containerID}/${rec.ifname} (${rec.device}) is stale; tearing it down`);
      const vars = { ...ctx.vars, CNI_CONTAINERID: rec.containerID, CNI_IFNAME: rec.ifname, CNI_NETNS: rec.netns };
      const own: NetConf = { ...conf, deviceID: rec.device };
      try {
        teardown(own, ctx, { containerID: rec.containerID, ifname: rec.ifname, netns: rec.netns }, rec, vars);
      } catch (e) {
        errors.push(asCniError(e, CNI_ERR.NETDEV_FAILED, `GC of ${rec.containerID}/${rec.ifname}: `));
      }
    }
  }
  if (conf.ipam && ipamSpeaks11(conf, ctx)) {
    try {
      ipamCall(delegate(conf, ctx), "GC");
    } catch (e) {
      errors.push(asCniError(e, CNI_ERR.IPAM_FAILED));
    }
  }
  if (errors.length > 0) throw errors[0]!;
}

function ipamSpeaks11(conf: NetConf, ctx: Context): boolean {
  try {
    return delegateVersions({ type: conf.ipam!.type, env: ctx.vars, path: ctx.env.path }).includes("1.1.0");
  } catch {
    return false;
  }
}

/** STATUS (1.1.0+): success when an ADD could succeed now, else code 50. */
export function cmdStatus(conf: NetConf, ctx: Context): void {
  if (!atLeast(conf.cniVersion, "1.1.0")) throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, "config version does not allow STATUS", `config is "${conf.cniVersion}"; STATUS needs 1.1.0`);
  if (conf.ipam) {
    if (!findInPath(conf.ipam.type, ctx.env.path)) {
      throw new CniError(CNI_ERR.PLUGIN_UNAVAILABLE, `IPAM plugin '${conf.ipam.type}' not found in CNI_PATH`, ctx.env.path.join(":"));
    }
    if (ipamSpeaks11(conf, ctx)) ipamCall(delegate(conf, ctx), "STATUS");
  }
  if (conf.mode === "primary" && conf.ethtoolCmds.length > 0 && !ethtoolAvailable()) {
    throw new CniError(CNI_ERR.PLUGIN_UNAVAILABLE, "ethtoolCmds are configured but ethtool cannot be run on this node");
  }
  try {
    mkdirSync(ctx.store.dir, { recursive: true, mode: 0o700 });
    accessSync(ctx.store.dir, constants.W_OK);
  } catch (e) {
    throw new CniError(CNI_ERR.PLUGIN_UNAVAILABLE, `The state folder ${ctx.store.dir} is not writable: ${(e as Error).message}`);
  }
}

/** VERSION: the versions supported; cniVersion echoes the input's when supported. */
export function cmdVersion(stdin: string): Record<string, unknown> {
  let v = LATEST_VERSION;
  try {
    const asked = configVersion(decodeStdin(stdin));
    if (isSupported(asked)) v = asked;
  } catch {
    // no or unreadable input: answer in the latest version
  }
  return { cniVersion: v, supportedVersions: [...SUPPORTED_VERSIONS] };
}

function makeLogger(conf: NetConf, vars: NodeJS.ProcessEnv): Logger {
  const trace = (vars["XDPLANE_TRACE"] ?? "").split(",").some((t) => ["cni", "k8s", "all"].includes(t.trim()));
  if (!conf.logFile && !trace) return silentLogger;
  try {
    return createLogger({
      level: conf.logLevel ?? "info",
      ...(conf.logFile ? { file: join(vars[LOG_DIR_ENV] || LOG_DIR, conf.logFile) } : {}),
      sink: trace ? (l) => process.stderr.write(`afxdp-cni: ${l}\n`) : () => undefined,
    });
  } catch {
    return silentLogger;
  }
}

/**
 * Runs one CNI invocation: `vars` is the environment, `stdin` the config. Returns what to print on stdout
 * and the exit status (errors as CNI error JSON, status 1).
 */
export function runCni(vars: NodeJS.ProcessEnv, stdin: string, opts: { store?: StateStore } = {}): { stdout: string; status: number } {
  let version = LATEST_VERSION;
  try {
    const env = parseEnv(vars);
    if (env.command === "VERSION") return { stdout: JSON.stringify(cmdVersion(stdin)), status: 0 };
    const raw = decodeStdin(stdin);
    const v = configVersion(raw);
    if (isSupported(v)) version = v;
    const conf = parseNetConf(raw, env.command);
    const ctx: Context = { env, vars, store: opts.store ?? new StateStore(vars[STATE_DIR_ENV] || DEFAULT_STATE_DIR), log: makeLogger(conf, vars) };
    ctx.log.debug(`${env.command} container ${env.containerID || "-"} ifname ${env.ifname || "-"} netns ${env.netns || "-"} device ${conf.deviceID ?? "-"}`);
    try {
      switch (env.command) {
        case "ADD":
          return { stdout: JSON.stringify(cmdAdd(conf, ctx)), status: 0 };
        case "DEL":
          cmdDel(conf, ctx);
          break;
        case "CHECK":
          cmdCheck(conf, ctx);
          break;
        case "GC":
          cmdGc(conf, ctx);
          break;
        case "STATUS":
          cmdStatus(conf, ctx);
          break;
      }
    } catch (e) {
      const err = asCniError(e, CNI_ERR.INTERNAL);
      ctx.log.error(`${env.command} ${env.containerID || ""}: ${err.code} ${err.message}${err.details ? ` (${err.details})` : ""}`);
      throw err;
    }
    return { stdout: "", status: 0 };
  } catch (e) {
    const err = asCniError(e, CNI_ERR.INTERNAL);
    return { stdout: JSON.stringify(err.toJSON(version)), status: 1 };
  }
}
