/**
 * A kubelet stand-in for tests: it serves the real device plugin Registration API and the PodResources
 * API over gRPC on Unix sockets in a folder laid out like /var/lib/kubelet, and drives plugins like
 * kubelet does (dials their socket, ListAndWatch, Allocate). Tests only.
 *
 * @example
 * const k = await KubeletStandIn.start(tmpDir);
 * const reg = await k.nextRegistration();
 * const plugin = k.pluginClient(reg.endpoint);
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  deviceApi,
  podResourcesApi,
  unary,
  unixTarget,
  type AllocateRequest,
  type AllocateResponse,
  type DevicePluginOptions,
  type Device,
  type ListAndWatchResponse,
  type PodResources,
  type PreferredAllocationRequest,
  type PreferredAllocationResponse,
  type RegisterRequest,
} from "../k8s/proto.js";

function bind(server: grpc.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(unixTarget(path), grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
}

/** A plugin as kubelet sees it: a client of its DevicePlugin service. */
export class PluginClient {
  readonly client: grpc.Client;
  private streams: grpc.ClientReadableStream<ListAndWatchResponse>[] = [];

  constructor(socket: string) {
    const { DevicePlugin } = deviceApi();
    this.client = new DevicePlugin.client(unixTarget(socket), grpc.credentials.createInsecure());
  }

  options(): Promise<DevicePluginOptions> {
    return unary(this.client, "GetDevicePluginOptions", {}, 5000);
  }
  allocate(req: AllocateRequest): Promise<AllocateResponse> {
    return unary(this.client, "Allocate", req, 15000);
  }
  preferred(req: PreferredAllocationRequest): Promise<PreferredAllocationResponse> {
    return unary(this.client, "GetPreferredAllocation", req, 5000);
  }
  preStart(ids: string[]): Promise<object> {
    return unary(this.client, "PreStartContainer", { devices_ids: ids }, 5000);
  }

  /** Opens ListAndWatch; each response is pushed to `updates` and announced to waiters. */
  listAndWatch(): DeviceWatch {
    const stream = (this.client as unknown as { ListAndWatch(req: object): grpc.ClientReadableStream<ListAndWatchResponse> }).ListAndWatch({});
    this.streams.push(stream);
    return new DeviceWatch(stream);
  }

  close(): void {
    for (const s of this.streams) s.cancel();
    this.streams = [];
    this.client.close();
  }
}

/** The updates of one ListAndWatch stream. */
export class DeviceWatch {
  readonly updates: Device[][] = [];
  ended = false;
  error: Error | null = null;
  private waiters: (() => void)[] = [];

  constructor(readonly stream: grpc.ClientReadableStream<ListAndWatchResponse>) {
    stream.on("data", (r: ListAndWatchResponse) => {
      this.updates.push(r.devices ?? []);
      this.wake();
    });
    stream.on("error", (e: Error) => {
      if ((e as grpc.ServiceError).code !== grpc.status.CANCELLED) this.error = e;
      this.ended = true;
      this.wake();
    });
    stream.on("end", () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters.splice(0);
    for (const f of w) f();
  }

  /** Waits until an update satisfies `pred` (checking the latest first), or times out. */
  async until(pred: (devices: Device[]) => boolean, timeoutMs = 5000, what = "ListAndWatch update"): Promise<Device[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = this.updates[this.updates.length - 1];
      if (last && pred(last)) return last;
      if (this.ended) throw new Error(`${what}: stream ended (${this.error?.message ?? "no error"}); last update ${JSON.stringify(last)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: timed out; last update ${JSON.stringify(last)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  cancel(): void {
    this.stream.cancel();
  }
}

/** Registration + PodResources servers in `<dir>/device-plugins/kubelet.sock` and `<dir>/pod-resources/kubelet.sock`. */
export class KubeletStandIn {
  readonly dir: string;
  readonly registrations: RegisterRequest[] = [];
  /** What PodResources List answers; tests edit it. */
  pods: PodResources[] = [];
  /** When set, List fails with this gRPC status. */
  listFails: grpc.status | null = null;
  /** List calls answered. */
  listCalls = 0;
  private regServer: grpc.Server | null = null;
  private prServer: grpc.Server | null = null;
  private regWaiters: (() => void)[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  get devicePluginDir(): string {
    return join(this.dir, "device-plugins");
  }
  get registrationSocket(): string {
    return join(this.devicePluginDir, "kubelet.sock");
  }
  get podResourcesSocket(): string {
    return join(this.dir, "pod-resources", "kubelet.sock");
  }

  static async start(dir: string): Promise<KubeletStandIn> {
    const k = new KubeletStandIn(dir);
    mkdirSync(k.devicePluginDir, { recursive: true });
    mkdirSync(join(dir, "pod-resources"), { recursive: true });
    await k.startPodResources();
    await k.startRegistration();
    return k;
  }

  private async startRegistration(): Promise<void> {
    const { Registration } = deviceApi();
    const s = new grpc.Server();
    s.addService(Registration.service, {
      Register: (call: grpc.ServerUnaryCall<RegisterRequest, object>, cb: grpc.sendUnaryData<object>) => {
        this.registrations.push(call.request);
        cb(null, {});
        const w = this.regWaiters.splice(0);
        for (const f of w) f();
      },
    });
    await bind(s, this.registrationSocket);
    this.regServer = s;
  }

  private async startPodResources(): Promise<void> {
    const { PodResourcesLister } = podResourcesApi();
    const s = new grpc.Server();
    s.addService(PodResourcesLister.service, {
      List: (_call: unknown, cb: grpc.sendUnaryData<object>) => {
        this.listCalls++;
        if (this.listFails !== null) cb({ code: this.listFails, details: "stand-in told to fail" }, null);
        else cb(null, { pod_resources: this.pods });
      },
      Get: (call: grpc.ServerUnaryCall<{ pod_name: string; pod_namespace: string }, object>, cb: grpc.sendUnaryData<object>) => {
        const p = this.pods.find((x) => x.name === call.request.pod_name && x.namespace === call.request.pod_namespace);
        if (!p) cb({ code: grpc.status.NOT_FOUND, details: "pod not found" }, null);
        else cb(null, { pod_resources: p });
      },
      GetAllocatableResources: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, { devices: [], cpu_ids: [], memory: [] }),
    });
    await bind(s, this.podResourcesSocket);
    this.prServer = s;
  }

  /** Waits for the registration number `n` (1-based; default: one more than now). */
  async nextRegistration(n = this.registrations.length + 1, timeoutMs = 5000): Promise<RegisterRequest> {
    const deadline = Date.now() + timeoutMs;
    while (this.registrations.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no registration #${n} within ${timeoutMs} ms (have ${this.registrations.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.regWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.registrations[n - 1]!;
  }

  /** A client of the plugin that registered `endpoint`. */
  pluginClient(endpoint: string): PluginClient {
    return new PluginClient(join(this.devicePluginDir, endpoint));
  }

  /** Sets the pod list so that pod `name` in `namespace` holds `ids` of `resource` in container `c0`. */
  setPod(name: string, resource: string, ids: string[], namespace = "default"): void {
    this.pods = this.pods.filter((p) => !(p.name === name && p.namespace === namespace));
    this.pods.push({
      name,
      namespace,
      containers: [{ name: "c0", devices: [{ resource_name: resource, device_ids: ids }], cpu_ids: [], memory: [], dynamic_resources: [] }],
    });
  }

  /**
   * Restarts like kubelet: stops its servers, deletes every socket in device-plugins (kubelet does so at
   * start), and serves again.
   */
  async restart(): Promise<void> {
    await this.stopServers();
    for (const f of readdirSync(this.devicePluginDir)) rmSync(join(this.devicePluginDir, f), { force: true });
    await this.startPodResources();
    await this.startRegistration();
  }

  private async stopServers(): Promise<void> {
    for (const s of [this.regServer, this.prServer]) if (s) s.forceShutdown();
    this.regServer = null;
    this.prServer = null;
    rmSync(this.registrationSocket, { force: true });
    rmSync(this.podResourcesSocket, { force: true });
  }

  async stop(): Promise<void> {
    await this.stopServers();
  }
}
