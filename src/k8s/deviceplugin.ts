/**
 * The AF_XDP device plugin: kubelet's device plugin API v1beta1 served per pool (resource `afxdp/<pool>`,
 * socket `afxdp-<pool>.sock` in kubelet's device-plugins folder), wire-compatible with the upstream AF_XDP
 * device plugin for Kubernetes. References: ../shared/reference/kubelet-and-cni.md (device plugin API) and
 * ../shared/reference/afxdp-k8s-protocol.md (paths, env, the UDS handshake).
 *
 * - Registers each pool with kubelet, and again whenever kubelet restarts (kubelet.sock recreated, or our
 *   socket deleted: kubelet clears the folder when it starts). `kubeletDir` given as kubelet's root is
 *   resolved to its device-plugins folder on every check, so a kubelet that creates that folder after the
 *   plugin started is found.
 * - ListAndWatch: every device, Healthy while its netdev is in the host namespace (or allocated to a pod,
 *   whose namespace then holds it), Unhealthy while it is gone.
 * - Allocate: attaches the redirect program on each device (pinned: it survives a plugin restart), starts
 *   the allocation's UDS handshake server and answers the mounts and env of the pool's layout:
 *   current: host folder `<udsRoot>/afxdp_<pool>/<uuid>/<netdev>/` (holding `afxdp.sock`) mounted at
 *   `/tmp/afxdp_dp/<netdev>/`, env `AFXDP_DEVICES_<POOL>`; older (`legacyPaths`): `/tmp/afxdp.sock` and
 *   `AFXDP_DEVICES`. Pinned-map mode (`BpfMapPinningEnable`): a bpffs per device at
 *   `<mapRoot>/<pool>/<uuid>/` holding `xsks_map`, mounted at `/tmp/afxdp_dp/<netdev>/xsks_map` (older:
 *   `/tmp/xsks_map`).
 * - Allocations are written to `<udsRoot>/afxdp_<pool>/<uuid>/session.json`; a restarted plugin serves
 *   them again, so running pods can still handshake. An allocation ends when its pod is gone (PodResources),
 *   when kubelet allocates one of its devices again, or when no pod connects within `UdsTimeout`.
 *
 * Why a folder is mounted rather than the socket file (as upstream does): a bind mount of a socket file
 * keeps pointing at the old inode once the plugin restarts and binds again, so the pod could never reach
 * the new socket; a mounted folder sees the new socket file. The container path is the same. The older
 * layout's container path is a file directly in /tmp, so there the socket file itself is mounted, and pods
 * of that layout cannot handshake again after a plugin restart (their running sockets keep working).
 *
 * @example
 * const dp = new DevicePlugin({ config: loadDpConfig("config.json") });
 * await dp.start();
 * process.on("SIGTERM", () => void dp.stop());
 */
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
  writeSync,
  type FSWatcher,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { unmountBpffs, isBpffs, ensureBpffs, BpfMap } from "../bpf/index.js";
import type { DpConfig, PoolConfig } from "./dp-config.js";
import { listNetdevs, selectPools, type LinkInfoSource, type Netdev, type PoolDevices } from "./discovery.js";
import {
  deviceApi,
  unary,
  unixTarget,
  DEVICE_PLUGIN_API_VERSION,
  HEALTHY,
  UNHEALTHY,
  type AllocateRequest,
  type AllocateResponse,
  type ContainerAllocateResponse,
  type Device,
  type DevicePluginOptions as ApiOptions,
  type ListAndWatchResponse,
  type Mount,
  type PreferredAllocationRequest,
  type PreferredAllocationResponse,
  type RegisterRequest,
} from "./proto.js";
import { PodCache, PodResourcesClient, findPod, type PodLister, type PodMatch } from "./pod-resources.js";
import { RedirectManager, DEFAULT_PIN_ROOT } from "./redirect.js";
import { UdsServer } from "./uds-server.js";
import * as P from "./uds-protocol.js";
import { silentLogger, type Logger } from "./log.js";
import { NapiKnobs } from "../xsk/napi-knobs.js";

export const DEFAULT_DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins";
export const DEFAULT_POD_RESOURCES = "/var/lib/kubelet/pod-resources/kubelet.sock";
export const DEFAULT_UDS_ROOT = "/tmp/afxdp_dp";
export const DEFAULT_MAP_ROOT = "/var/run/afxdp_dp";
const SESSION_FILE = "session.json";

export interface DevicePluginOptions {
  config: DpConfig;
  /**
   * kubelet's device-plugins folder (kubelet.sock and our afxdp-<pool>.sock), default
   * /var/lib/kubelet/device-plugins. kubelet's root folder is accepted too: its device-plugins is used,
   * also when it appears only later (resolved again on every check).
   */
  kubeletDir?: string;
  /** kubelet's PodResources socket, default /var/lib/kubelet/pod-resources/kubelet.sock. */
  podResourcesSocket?: string;
  /** This node's name (for the config's `nodes`), default $NODE_NAME or the hostname. */
  nodeName?: string;
  /** Host folder of the UDS sockets, default /tmp/afxdp_dp. */
  udsRoot?: string;
  /** Host folder of the per-device bpffs in pinned-map mode, default /var/run/afxdp_dp. */
  mapRoot?: string;
  /** bpffs folder where the plugin pins its programs, default /sys/fs/bpf/xdplane. */
  bpfPinRoot?: string;
  /** Netdev discovery root (tests), default /sys/class/net. */
  sysClassNet?: string;
  linkInfo?: LinkInfoSource;
  /** How often netdev health and kubelet's sockets are checked (ms), default 1000. */
  watchIntervalMs?: number;
  /** How often allocations are checked against PodResources (ms), default 10000. */
  reapIntervalMs?: number;
  /** PodResources (tests may pass a stub); default a gRPC client of `podResourcesSocket`. */
  pods?: PodLister;
  log?: Logger;
}

/** One allocation (one container's devices of one pool), as written to session.json. */
export interface SessionRecord {
  version: 1;
  pool: string;
  uuid: string;
  devices: string[];
  legacy: boolean;
  /** Socket files served (empty when the pool disables the UDS server). */
  sockets: string[];
  /** netdev -> host bpffs folder holding xsks_map (pinned-map mode). */
  bpffs: Record<string, string>;
  uid: number;
  pod: PodMatch | null;
  created: number;
}

interface Session {
  rec: SessionRecord;
  dir: string;
  server: UdsServer | null;
  maps: Map<string, BpfMap>;
  /** The record changed and could not be written (a full disk): written again on the next reap. */
  dirty: boolean;
}

/** At most this many characters of a value from a request go into an error or the log. */
const ECHO_MAX = 64;

/**
 * `value` as errors and the log show it: its first 64 characters (control characters escaped) and, when
 * longer, its size: a device ID of 100 KB must not end up in the gRPC status (kubelet's client would fail
 * with RESOURCE_EXHAUSTED instead of seeing our error) nor in the log.
 */
export function echo(value: string): string {
  const head = value.slice(0, ECHO_MAX).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return value.length > ECHO_MAX ? `'${head}…(${Buffer.byteLength(value)} bytes)'` : `'${head}'`;
}

/** An fs error that names no path (ENOSPC on write does not) with `what` and the path said. */
function fsError(e: unknown, what: string): Error {
  const err = e as NodeJS.ErrnoException;
  return Object.assign(new Error(`${what}: ${err.message}`), { code: err.code });
}

/**
 * Writes `data` to `path` atomically: a temporary file next to it, written, fsynced and renamed over
 * `path` (then the folder fsynced). On failure the temporary file is removed and `path` is untouched;
 * the error names the file.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  let fd = -1;
  try {
    fd = openSync(tmp, "w", mode);
    const buf = Buffer.from(data);
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw fsError(e, `write ${tmp} (then rename to ${path})`);
  }
  try {
    const dfd = openSync(join(path, ".."), "r");
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* the rename is done; the folder's fsync only makes it durable sooner */ }
}

/**
 * Resolves `--kubelet-dir`: the device-plugins folder itself, or kubelet's root holding one. The answer
 * can change while the plugin runs (kubelet creates device-plugins/ when it first starts): call it again.
 */
export function resolveDevicePluginDir(dir: string): string {
  if (!existsSync(join(dir, "kubelet.sock")) && existsSync(join(dir, "device-plugins"))) return join(dir, "device-plugins");
  return dir;
}

/** Mounts and env of one allocation, as kubelet passes them to the container runtime. */
export function containerResponse(rec: SessionRecord, sessionDir: string): ContainerAllocateResponse {
  const mounts: Mount[] = [];
  const envs: Record<string, string> = {};
  if (rec.sockets.length > 0) {
    if (rec.legacy) {
      mounts.push({ host_path: join(sessionDir, P.SOCKET_NAME), container_path: P.LEGACY_CONTAINER_SOCKET, read_only: false });
    } else {
      for (const d of rec.devices) {
        mounts.push({ host_path: join(sessionDir, d), container_path: P.containerDeviceDir(d), read_only: false });
      }
    }
  }
  for (const d of rec.devices) {
    const fs = rec.bpffs[d];
    if (fs === undefined) continue;
    mounts.push({
      host_path: join(fs, P.XSKS_MAP_NAME),
      container_path: rec.legacy ? P.LEGACY_CONTAINER_MAP : P.containerMapPath(d),
      read_only: false,
    });
  }
  envs[rec.legacy ? P.LEGACY_DEVICES_ENV : P.devicesEnvVar(rec.pool)] = rec.devices.join(" ");
  return { envs, mounts, devices: [], annotations: {}, cdi_devices: [] };
}

/** kubelet's registration and one pool's gRPC server. */
class PoolServer {
  readonly pool: PoolConfig;
  readonly resource: string;
  readonly endpoint: string;
  /** Our socket: `<dpDir>/afxdp-<pool>.sock`; moves when kubelet's folder does (moveTo). */
  socket: string;
  readonly devices: Map<string, Netdev>;
  health = new Map<string, boolean>();
  private server: grpc.Server | null = null;
  private socketIno = -1;
  private kubeletIno = -1;
  private registering = false;
  private readonly streams = new Set<grpc.ServerWritableStream<object, ListAndWatchResponse>>();
  private allocChain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dp: DevicePlugin,
    pool: PoolConfig,
    devices: Netdev[],
    private dpDir: string,
    private readonly log: Logger,
  ) {
    this.pool = pool;
    this.resource = P.resourceName(pool.name);
    this.endpoint = `${P.RESOURCE_PREFIX}-${pool.name}.sock`;
    this.socket = join(dpDir, this.endpoint);
    this.devices = new Map(devices.map((d) => [d.name, d]));
    for (const d of devices) this.health.set(d.name, true);
  }

  get kubeletSocket(): string {
    return join(this.dpDir, "kubelet.sock");
  }

  /** Starts serving; then registers (retrying until kubelet answers). */
  async start(): Promise<void> {
    await this.serve();
    await this.register();
  }

  private async serve(): Promise<void> {
    if (this.server) this.server.forceShutdown();
    this.server = null;
    for (const s of this.streams) s.end();
    this.streams.clear();
    rmSync(this.socket, { force: true });
    const { DevicePlugin } = deviceApi();
    const server = new grpc.Server();
    server.addService(DevicePlugin.service, {
      GetDevicePluginOptions: (_c: unknown, cb: grpc.sendUnaryData<ApiOptions>) =>
        cb(null, { pre_start_required: false, get_preferred_allocation_available: true }),
      ListAndWatch: (call: grpc.ServerWritableStream<object, ListAndWatchResponse>) => this.listAndWatch(call),
      GetPreferredAllocation: (call: grpc.ServerUnaryCall<PreferredAllocationRequest, PreferredAllocationResponse>, cb: grpc.sendUnaryData<PreferredAllocationResponse>) =>
        cb(null, preferredAllocation(call.request)),
      Allocate: (call: grpc.ServerUnaryCall<AllocateRequest, AllocateResponse>, cb: grpc.sendUnaryData<AllocateResponse>) => {
        const run = this.allocChain.then(() => this.dp.allocate(this, call.request));
        this.allocChain = run.catch(() => undefined);
        run.then(
          (res) => cb(null, res),
          (e: Error & { grpcCode?: grpc.status }) => {
            this.log.error(`${this.resource}: Allocate failed: ${e.message}`);
            cb({ code: e.grpcCode ?? grpc.status.INTERNAL, details: e.message }, null);
          },
        );
      },
      PreStartContainer: (_c: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {}),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(unixTarget(this.socket), grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    this.server = server;
    this.socketIno = statSync(this.socket).ino;
    this.log.info(`${this.resource}: serving on ${this.socket}`);
  }

  /** Registers with kubelet; on failure retries on the next check. */
  async register(): Promise<boolean> {
    if (this.registering) return false;
    this.registering = true;
    const { Registration } = deviceApi();
    let ino = -1;
    try {
      ino = statSync(this.kubeletSocket).ino;
    } catch {
      this.registering = false;
      this.log.warn(`${this.resource}: kubelet socket ${this.kubeletSocket} not there yet; will register when it is`);
      return false;
    }
    const client = new Registration.client(unixTarget(this.kubeletSocket), grpc.credentials.createInsecure());
    const req: RegisterRequest = {
      version: DEVICE_PLUGIN_API_VERSION,
      endpoint: this.endpoint,
      resource_name: this.resource,
      options: { pre_start_required: false, get_preferred_allocation_available: true },
    };
    try {
      await unary(client, "Register", req, 5000);
      this.kubeletIno = ino;
      this.log.info(`${this.resource}: registered with kubelet`);
      return true;
    } catch (e) {
      this.log.warn(`${this.resource}: registration with kubelet failed: ${(e as Error).message}; will retry`);
      return false;
    } finally {
      client.close();
      this.registering = false;
    }
  }

  /**
   * Serves in kubelet's new device-plugins folder `dir` (resolved again: kubelet's root now holds one),
   * removes our socket from the old one, and registers again on the next check.
   */
  async moveTo(dir: string): Promise<void> {
    const old = this.socket;
    const oldIno = this.socketIno;
    this.dpDir = dir;
    this.socket = join(dir, this.endpoint);
    this.kubeletIno = -1;
    try {
      if (statSync(old).ino === oldIno) rmSync(old, { force: true });
    } catch { /* gone */ }
    await this.serve();
  }

  /** Called on each check: serve again if kubelet removed our socket, register again if kubelet restarted. */
  async check(): Promise<void> {
    let ours = -1;
    try {
      ours = statSync(this.socket).ino;
    } catch { /* gone */ }
    if (ours !== this.socketIno) {
      this.log.info(`${this.resource}: plugin socket removed (kubelet restarted); serving again`);
      await this.serve();
      this.kubeletIno = -1;
    }
    let k = -1;
    try {
      k = statSync(this.kubeletSocket).ino;
    } catch { /* kubelet down */ }
    if (k !== -1 && k !== this.kubeletIno) await this.register();
  }

  /** The device list as ListAndWatch sends it. */
  deviceList(): Device[] {
    return [...this.devices.values()].map((d) => ({
      ID: d.name,
      health: this.health.get(d.name) ? HEALTHY : UNHEALTHY,
      ...(d.numaNode >= 0 ? { topology: { nodes: [{ ID: d.numaNode }] } } : {}),
    }));
  }

  private listAndWatch(call: grpc.ServerWritableStream<object, ListAndWatchResponse>): void {
    this.streams.add(call);
    const drop = () => this.streams.delete(call);
    call.on("cancelled", drop);
    call.on("close", drop);
    call.on("error", drop);
    call.write({ devices: this.deviceList() });
  }

  /** Sends the device list to every ListAndWatch stream. */
  broadcast(): void {
    const devices = this.deviceList();
    for (const s of this.streams) s.write({ devices });
  }

  async stop(): Promise<void> {
    for (const s of this.streams) s.end();
    this.streams.clear();
    if (this.server) this.server.forceShutdown();
    this.server = null;
    try {
      if (statSync(this.socket).ino === this.socketIno) rmSync(this.socket, { force: true });
    } catch { /* gone */ }
  }
}

function preferredAllocation(req: PreferredAllocationRequest): PreferredAllocationResponse {
  return {
    container_responses: (req.container_requests ?? []).map((c) => {
      const out = [...(c.must_include_deviceIDs ?? [])];
      for (const id of [...(c.available_deviceIDs ?? [])].sort()) {
        if (out.length >= c.allocation_size) break;
        if (!out.includes(id)) out.push(id);
      }
      return { deviceIDs: out };
    }),
  };
}

function grpcError(code: grpc.status, message: string): Error & { grpcCode: grpc.status } {
  return Object.assign(new Error(message), { grpcCode: code });
}

/** The device plugin: every pool of the config on this node. */
export class DevicePlugin {
  readonly pools: PoolServer[] = [];
  /** `kubeletDir` as given (kubelet's root or its device-plugins folder). */
  readonly kubeletDir: string;
  private currentDpDir: string;
  readonly udsRoot: string;
  readonly mapRoot: string;
  private readonly opts: DevicePluginOptions;
  private readonly log: Logger;
  private readonly pods: PodLister;
  private readonly ownPods: PodResourcesClient | null;
  /** kubelet's pod list, cached: /connect answers from it (see PodCache). */
  readonly podCache: PodCache;
  private redirect: RedirectManager | null = null;
  /** NAPI knobs this plugin set on pool netdevs (pool napiDeferHardIrqs / groFlushTimeout). */
  private knobs: NapiKnobs[] = [];
  private readonly sessions = new Map<string, Session>(); // uuid -> session
  private timers: NodeJS.Timeout[] = [];
  private watcher: FSWatcher | null = null;
  private checking = false;
  private reaping = false;
  private stopped = false;

  constructor(opts: DevicePluginOptions) {
    this.opts = opts;
    this.log = opts.log ?? silentLogger;
    this.kubeletDir = opts.kubeletDir ?? DEFAULT_DEVICE_PLUGIN_DIR;
    this.currentDpDir = resolveDevicePluginDir(this.kubeletDir);
    this.udsRoot = opts.udsRoot ?? DEFAULT_UDS_ROOT;
    this.mapRoot = opts.mapRoot ?? DEFAULT_MAP_ROOT;
    if (opts.pods) {
      this.pods = opts.pods;
      this.ownPods = null;
    } else {
      this.ownPods = new PodResourcesClient(opts.podResourcesSocket ?? DEFAULT_POD_RESOURCES);
      this.pods = this.ownPods;
    }
    this.podCache = new PodCache(this.pods);
  }

  /** kubelet's device-plugins folder as last resolved (start, then every check). */
  get dpDir(): string {
    return this.currentDpDir;
  }

  get nodeName(): string {
    return this.opts.nodeName ?? process.env["NODE_NAME"] ?? hostname();
  }

  /** Allocations being served (for tests and the log). */
  get allocations(): SessionRecord[] {
    return [...this.sessions.values()].map((s) => s.rec);
  }

  /**
   * Discovers devices, serves and registers every pool that has some, restores the allocations of an
   * earlier run, and starts watching. Throws when no pool can be served.
   */
  async start(): Promise<void> {
    const cfg = this.opts.config;
    const netdevs = listNetdevs({
      ...(this.opts.sysClassNet !== undefined ? { sysClassNet: this.opts.sysClassNet } : {}),
      ...(this.opts.linkInfo !== undefined ? { linkInfo: this.opts.linkInfo } : {}),
    });
    const sel = selectPools(cfg, netdevs, this.nodeName);
    for (const n of sel.notes) this.log.info(n);
    this.addHeldDevices(sel.pools, new Set(netdevs.map((d) => d.name)));
    const unprivBpf = readUnprivilegedBpf();
    this.currentDpDir = resolveDevicePluginDir(this.kubeletDir);
    for (const pd of sel.pools) {
      if (pd.pool.requiresUnprivilegedBpf && unprivBpf !== 0) {
        this.log.warn(`pool ${pd.pool.name} requires unprivileged BPF, which this node does not allow; pool skipped`);
        continue;
      }
      if (pd.pool.udsFuzz) this.log.warn(`pool ${pd.pool.name}: UdsFuzz is a development option of the upstream plugin; ignored`);
      this.log.info(`pool ${pd.pool.name}: devices ${pd.devices.map((d) => d.name).join(" ")}`);
      this.pools.push(new PoolServer(this, pd.pool, pd.devices, this.dpDir, this.log));
    }
    if (this.pools.length === 0) throw new Error("No pool has devices on this node: nothing to serve");
    // The pools' NAPI knobs, for pods that busy-poll: set where they are 0, before the netdevs move into
    // pods (the values go with the netdev); restored by teardown() (a restart keeps them for running pods).
    for (const p of this.pools) {
      if (p.pool.napiDeferHardIrqs === 0) continue;
      for (const d of p.devices.keys()) {
        const k = NapiKnobs.acquire(d, null, { napiDeferHardIrqs: p.pool.napiDeferHardIrqs, groFlushTimeoutNs: p.pool.groFlushTimeout },
          (m) => this.log.info(`pool ${p.pool.name}: ${m}`), this.opts.sysClassNet ?? "/sys/class/net");
        if (k) this.knobs.push(k);
      }
    }
    mkdirSync(this.udsRoot, { recursive: true, mode: 0o700 });
    // Connect to PodResources now and keep the connection, and have the pod list before the first
    // /connect (a fresh plugin's first List took 17.6 ms; CNDP waits ~30 ms for /host_ok).
    this.warmPods();
    this.redirect = new RedirectManager(this.opts.bpfPinRoot ?? DEFAULT_PIN_ROOT, this.log);
    this.restoreSessions();
    for (const p of this.pools) await p.start();
    const iv = this.opts.watchIntervalMs ?? 1000;
    this.timers.push(setInterval(() => void this.check(), iv));
    this.timers.push(setInterval(() => void this.reap(), this.opts.reapIntervalMs ?? 10000));
    for (const t of this.timers) t.unref();
    this.watchDpDir();
    this.updateHealth();
    void this.reap();
  }

  private warmPods(): void {
    this.ownPods?.warm().catch((e: Error) => this.log.debug(`PodResources ${this.ownPods?.socket}: not ready yet: ${e.message}`));
    this.podCache.refresh().catch((e: Error) => this.log.debug(`PodResources List failed: ${e.message}`));
  }

  /** Watches kubelet's folder (a change triggers a check at once; the interval catches the rest). */
  private watchDpDir(): void {
    this.watcher?.close();
    this.watcher = null;
    try {
      this.watcher = watch(this.dpDir, () => void this.check());
      this.watcher.on("error", () => undefined);
      this.watcher.unref();
    } catch {
      this.log.debug(`cannot watch ${this.dpDir}; polling only`);
    }
  }

  /**
   * Devices allocated before a restart may sit in a pod's network namespace (the CNI moved them there),
   * where discovery cannot see them: the allocations on disk say which pool still owns them, so they stay
   * in that pool (and its allocation is served again) instead of the pool losing them.
   */
  private addHeldDevices(pools: PoolDevices[], visible: Set<string>): void {
    for (const pool of this.opts.config.pools) {
      if (pool.mode === "cdq") continue;
      const held = new Set<string>();
      let entries: string[] = [];
      try {
        entries = readdirSync(this.poolDir(pool.name));
      } catch { /* no allocations */ }
      for (const uuid of entries) {
        try {
          const rec = JSON.parse(readFileSync(join(this.poolDir(pool.name), uuid, SESSION_FILE), "utf8")) as SessionRecord;
          if (rec.pool === pool.name && Array.isArray(rec.devices)) for (const d of rec.devices) if (!visible.has(d)) held.add(d);
        } catch { /* restoreSessions reports it */ }
      }
      if (held.size === 0) continue;
      let pd = pools.find((p) => p.pool.name === pool.name);
      if (!pd) {
        pd = { pool, devices: [] };
        pools.push(pd);
      }
      for (const name of held) {
        if (pools.some((p) => p.devices.some((d) => d.name === name))) continue;
        pd.devices.push({ name, ifindex: 0, mac: "", driver: "", pci: "", virtual: false, addresses: [], up: true, numaNode: -1 });
        this.log.info(`pool ${pool.name}: ${name} is allocated and not in this namespace (moved into its pod); kept in the pool`);
      }
    }
  }

  /** Stops serving. Allocations stay on disk and their programs stay attached, for the next run. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.watcher?.close();
    this.watcher = null;
    for (const p of this.pools) await p.stop();
    // Knobs stay set for the pods (teardown restored them already when it is the caller).
    for (const k of this.knobs) k.release(false);
    this.knobs = [];
    for (const s of this.sessions.values()) this.closeSession(s, false);
    this.sessions.clear();
    this.redirect?.close();
    this.ownPods?.close();
  }

  /** Stops and also ends every allocation and detaches the programs (tests, uninstall). */
  async teardown(): Promise<void> {
    const all = [...this.sessions.values()];
    for (const s of all) this.closeSession(s, true);
    this.sessions.clear();
    const devs = new Set(this.pools.flatMap((p) => [...p.devices.keys()]));
    for (const k of this.knobs) k.release();
    this.knobs = [];
    await this.stop();
    for (const d of devs) {
      try {
        this.redirect?.release(d);
      } catch (e) {
        this.log.debug(`release ${d}: ${(e as Error).message}`);
      }
    }
  }

  /** Unmounts the plugin's pin bpffs if it mounted it (tests). */
  unmountPins(): void {
    this.redirect?.unmount();
  }

  private async check(): Promise<void> {
    if (this.checking || this.stopped) return;
    this.checking = true;
    try {
      const dir = resolveDevicePluginDir(this.kubeletDir);
      if (dir !== this.currentDpDir) {
        this.log.info(`kubelet's device-plugins folder is now ${dir} (was ${this.currentDpDir}); serving there`);
        this.currentDpDir = dir;
        this.watchDpDir();
        for (const p of this.pools) await p.moveTo(dir);
      }
      for (const p of this.pools) await p.check();
      this.updateHealth();
    } catch (e) {
      this.log.error(`check: ${(e as Error).message}`);
    } finally {
      this.checking = false;
    }
  }

  /** Re-reads which netdevs exist and tells kubelet about changes. */
  updateHealth(): void {
    let present: Set<string>;
    try {
      present = new Set(readdirSync(this.opts.sysClassNet ?? "/sys/class/net"));
    } catch {
      return;
    }
    const allocated = new Set<string>();
    for (const s of this.sessions.values()) for (const d of s.rec.devices) allocated.add(`${s.rec.pool}/${d}`);
    for (const p of this.pools) {
      let changed = false;
      for (const name of p.devices.keys()) {
        const ok = present.has(name) || allocated.has(`${p.pool.name}/${name}`);
        if (p.health.get(name) !== ok) {
          p.health.set(name, ok);
          changed = true;
          this.log.info(`${p.resource}: ${name} is ${ok ? HEALTHY : UNHEALTHY}`);
        }
      }
      if (changed) p.broadcast();
    }
  }

  /** Ends allocations whose pod is gone (PodResources). */
  async reap(): Promise<void> {
    if (this.reaping || this.stopped || this.sessions.size === 0) return;
    this.reaping = true;
    for (const s of this.sessions.values()) if (s.dirty) this.trySave(s);
    try {
      const pods = await this.podCache.refresh();
      for (const s of [...this.sessions.values()]) {
        const pod = s.server?.pod ?? s.rec.pod;
        if (pod === null) continue; // not bound yet: UdsTimeout decides
        const still = findPod(pods, pod.name, P.resourceName(s.rec.pool), new Set(s.rec.devices), pod.namespace);
        if (still === null) {
          this.log.info(`afxdp/${s.rec.pool}: pod ${pod.namespace}/${pod.name} is gone; ending allocation ${s.rec.uuid}`);
          this.endSession(s);
        }
      }
    } catch (e) {
      this.log.debug(`reap: PodResources List failed: ${(e as Error).message}`);
    } finally {
      this.reaping = false;
    }
    this.updateHealth();
  }

  private poolDir(pool: string): string {
    return join(this.udsRoot, `afxdp_${pool}`);
  }

  /** Handles one Allocate call of `ps`. */
  async allocate(ps: PoolServer, req: AllocateRequest): Promise<AllocateResponse> {
    const out: ContainerAllocateResponse[] = [];
    const made: Session[] = [];
    // The whole request is checked before anything changes (kubelet never sends these; a request that
    // named a device twice used to end the allocation it had just made for the first container).
    const requests = req.container_requests ?? [];
    const seen = new Map<string, number>(); // device -> container request index
    for (let i = 0; i < requests.length; i++) {
      const ids = requests[i]!.devices_ids ?? [];
      if (ids.length === 0) throw grpcError(grpc.status.INVALID_ARGUMENT, `Allocate: container request #${i} without devices`);
      for (const id of ids) {
        if (!ps.devices.has(id)) throw grpcError(grpc.status.INVALID_ARGUMENT, `Allocate: device ${echo(id)} is not in pool ${ps.pool.name}`);
        const first = seen.get(id);
        if (first !== undefined) {
          throw grpcError(grpc.status.INVALID_ARGUMENT, first === i
            ? `Allocate: device ${echo(id)} requested twice in container request #${i}`
            : `Allocate: device ${echo(id)} requested by container requests #${first} and #${i}`);
        }
        seen.set(id, i);
      }
    }
    // Pod lists fetched before now may show the devices' previous holder: not answered from the cache.
    this.podCache.invalidate();
    try {
      for (const cr of requests) {
        const ids = cr.devices_ids ?? [];
        // kubelet allocates a device again only once its previous pod is gone.
        for (const s of [...this.sessions.values()]) {
          if (s.rec.pool === ps.pool.name && s.rec.devices.some((d) => ids.includes(d))) {
            this.log.info(`${ps.resource}: ${ids.join(" ")} allocated again; ending allocation ${s.rec.uuid}`);
            this.endSession(s);
          }
        }
        const s = this.createSession(ps, ids);
        made.push(s);
        out.push(containerResponse(s.rec, s.dir));
        this.log.info(`${ps.resource}: allocated ${ids.join(" ")} (allocation ${s.rec.uuid})`);
      }
    } catch (e) {
      for (const s of made) this.endSession(s);
      throw e;
    }
    this.updateHealth();
    // Keeps the channel busy and the cache current (the new pod is listed once kubelet has recorded it,
    // after this answer: its /connect then misses once and fetches).
    this.podCache.refresh().catch((e: Error) => this.log.debug(`PodResources List failed: ${e.message}`));
    return { container_responses: out };
  }

  private createSession(ps: PoolServer, ids: string[]): Session {
    const pool = ps.pool;
    const uuid = randomUUID();
    const dir = join(this.poolDir(pool.name), uuid);
    const rec: SessionRecord = {
      version: 1, pool: pool.name, uuid, devices: [...ids], legacy: pool.legacyPaths, sockets: [], bpffs: {},
      uid: pool.uid, pod: null, created: Date.now(),
    };
    const s: Session = { rec, dir, server: null, maps: new Map(), dirty: false };
    const attachedNow: string[] = [];
    try {
      mkdirSync(this.poolDir(pool.name), { recursive: true, mode: 0o700 });
      mkdirSync(dir, { mode: 0o700 });
      const needProgram = !pool.udsServerDisable || pool.bpfMapPinningEnable;
      if (needProgram) {
        for (const id of ids) {
          const a = this.redirect!.acquire(id);
          if (a.attachedNow) attachedNow.push(id);
          s.maps.set(id, a.map);
        }
      }
      if (!pool.udsServerDisable) {
        if (pool.legacyPaths) {
          rec.sockets.push(join(dir, P.SOCKET_NAME));
        } else {
          for (const id of ids) {
            mkdirSync(join(dir, id), { mode: 0o755 });
            rec.sockets.push(join(dir, id, P.SOCKET_NAME));
          }
        }
      }
      if (pool.bpfMapPinningEnable) {
        for (const id of ids) {
          const fsDir = join(this.mapRoot, pool.name, randomUUID());
          rec.bpffs[id] = fsDir;
          this.pinMap(fsDir, s.maps.get(id)!, pool.uid);
          if (!pool.legacyPaths && !pool.udsServerDisable) {
            // The mount point of xsks_map inside the mounted device folder.
            const mp = join(dir, id, P.XSKS_MAP_NAME);
            try {
              writeFileSync(mp, "");
            } catch (e) {
              throw fsError(e, `create ${mp}`);
            }
          }
        }
      }
      this.saveSession(s);
      this.startServer(s, pool);
      this.sessions.set(uuid, s);
      return s;
    } catch (e) {
      // Undo everything: the server, the folder, the bpffs, and the programs this call attached.
      this.closeSession(s, true);
      for (const id of attachedNow) {
        try {
          this.redirect!.release(id);
          this.log.info(`${ps.resource}: ${id}: detached the program this failed Allocate attached`);
        } catch (e2) {
          this.log.error(`${ps.resource}: ${id}: cannot detach the program this failed Allocate attached: ${(e2 as Error).message}`);
        }
      }
      throw e;
    }
  }

  private pinMap(fsDir: string, map: BpfMap, uid: number): void {
    ensureBpffs(fsDir, { mode: 0o755 });
    const path = join(fsDir, P.XSKS_MAP_NAME);
    rmSync(path, { force: true });
    map.pin(path);
    if (uid !== 0) chownSync(path, uid, -1);
    chmodSync(path, uid !== 0 ? 0o600 : 0o666);
  }

  private startServer(s: Session, pool: PoolConfig): void {
    if (s.rec.sockets.length === 0) return;
    const devices = new Map([...s.maps].map(([d, m]) => [d, m.fd] as const));
    const uid = s.rec.uid;
    const server = new UdsServer({
      resource: P.resourceName(s.rec.pool),
      devices,
      beforeMapFd: (netdev) => this.beforeMapFd(s, netdev),
      paths: s.rec.sockets,
      pods: this.podCache.view(P.resourceName(s.rec.pool), new Set(s.rec.devices)),
      timeoutSeconds: pool.udsTimeoutSeconds,
      ...(s.rec.pod ? { pod: s.rec.pod } : {}),
      mode: uid !== 0 ? 0o600 : 0o666,
      onBound: (pod) => {
        // The pod gets its answer whatever the disk says: a failed write is logged and tried again.
        s.rec.pod = pod;
        this.trySave(s);
      },
      onExpire: () => {
        this.log.info(`afxdp/${s.rec.pool}: allocation ${s.rec.uuid} expired (UdsTimeout)`);
        this.endSession(s);
      },
      log: this.log,
      name: `afxdp/${s.rec.pool} ${s.rec.uuid.slice(0, 8)}`,
    });
    server.start();
    server.unref();
    s.server = server;
    if (uid !== 0) {
      for (const sock of s.rec.sockets) chownSync(sock, uid, -1);
      if (!s.rec.legacy) for (const d of s.rec.devices) chownSync(join(s.dir, d), uid, -1);
    }
  }

  /** Writes session.json atomically; throws naming the file. */
  private saveSession(s: Session): void {
    writeFileAtomic(join(s.dir, SESSION_FILE), JSON.stringify(s.rec, null, 2) + "\n");
    s.dirty = false;
  }

  /** saveSession, logging a failure and marking the session for the next reap. */
  private trySave(s: Session): void {
    try {
      this.saveSession(s);
    } catch (e) {
      s.dirty = true;
      this.log.error(`afxdp/${s.rec.pool}: allocation ${s.rec.uuid}: cannot save its state: ${(e as Error).message}; ` +
        "serving from memory, will try again");
    }
  }

  /**
   * Called before each `/xsk_map_fd` reply of `s` for `netdev`: the program must still sit on the netdev
   * (a CNI DEL or an operator may have detached it); it is attached again when not, with the same map, so
   * the fd about to be sent is the attached program's map. A failure is logged; the fd is sent anyway
   * (the pod's socket works once the program is back).
   */
  private beforeMapFd(s: Session, netdev: string): void {
    if (!s.maps.has(netdev) || this.redirect === null) return;
    try {
      if (this.redirect.reattach(netdev)) {
        this.log.warn(`afxdp/${s.rec.pool}: allocation ${s.rec.uuid}: ${netdev} had lost its XDP program; attached again before sending its XSKMAP`);
      }
    } catch (e) {
      this.log.error(`afxdp/${s.rec.pool}: allocation ${s.rec.uuid}: ${netdev}: XDP program not attached and cannot be attached again: ` +
        `${(e as Error).message}; sending the XSKMAP anyway`);
    }
  }

  /** Ends an allocation: stops its server, removes its folder and unmounts its bpffs. */
  private endSession(s: Session): void {
    this.sessions.delete(s.rec.uuid);
    this.closeSession(s, true);
  }

  private closeSession(s: Session, remove: boolean): void {
    s.server?.close();
    s.server = null;
    s.maps.clear(); // owned by the redirect manager
    if (!remove) return;
    for (const fsDir of Object.values(s.rec.bpffs)) {
      try {
        unmountBpffs(fsDir);
        rmSync(fsDir, { recursive: true, force: true });
      } catch (e) {
        this.log.warn(`cannot remove bpffs ${fsDir}: ${(e as Error).message}`);
      }
    }
    rmSync(s.dir, { recursive: true, force: true });
  }

  /** Serves again the allocations an earlier run left on disk, for the pools still served. */
  private restoreSessions(): void {
    for (const ps of this.pools) {
      const pdir = this.poolDir(ps.pool.name);
      let entries: string[];
      try {
        entries = readdirSync(pdir);
      } catch {
        continue;
      }
      for (const uuid of entries) {
        const dir = join(pdir, uuid);
        let rec: SessionRecord;
        try {
          rec = JSON.parse(readFileSync(join(dir, SESSION_FILE), "utf8")) as SessionRecord;
          if (rec.version !== 1 || rec.uuid !== uuid || rec.pool !== ps.pool.name || !Array.isArray(rec.devices)) throw new Error("not a session record");
        } catch (e) {
          this.log.warn(`${ps.resource}: removing ${dir}: ${(e as Error).message}`);
          rmSync(dir, { recursive: true, force: true });
          continue;
        }
        const s: Session = { rec, dir, server: null, maps: new Map(), dirty: false };
        try {
          if (rec.devices.some((d) => !ps.devices.has(d))) throw new Error(`devices ${rec.devices.join(" ")} no longer all in the pool`);
          for (const d of rec.devices) {
            if (rec.sockets.length > 0 || rec.bpffs[d] !== undefined) s.maps.set(d, this.redirect!.ensure(d));
          }
          for (const [d, fsDir] of Object.entries(rec.bpffs)) {
            if (!isBpffs(fsDir) || !existsSync(join(fsDir, P.XSKS_MAP_NAME))) this.pinMap(fsDir, s.maps.get(d)!, rec.uid);
          }
          this.startServer(s, ps.pool);
          this.sessions.set(uuid, s);
          this.log.info(`${ps.resource}: allocation ${uuid} (${rec.devices.join(" ")}${rec.pod ? `, pod ${rec.pod.namespace}/${rec.pod.name}` : ""}) served again`);
        } catch (e) {
          this.log.warn(`${ps.resource}: cannot restore allocation ${uuid}: ${(e as Error).message}; removing it`);
          this.closeSession(s, true);
        }
      }
    }
  }
}

function readUnprivilegedBpf(): number {
  try {
    return Number.parseInt(readFileSync("/proc/sys/kernel/unprivileged_bpf_disabled", "utf8").trim(), 10);
  } catch {
    return 1;
  }
}
