/**
 * Kubelet's gRPC APIs: the device plugin API v1beta1 and the PodResources API v1, loaded at run time from
 * `proto/` at the package root with @grpc/proto-loader.
 *
 * Field names keep the proto's case (`devices_ids`, `container_path`), so the types below read like the
 * Kubernetes field tables. int64 values come as JavaScript numbers.
 *
 * @example
 * const { DevicePlugin, Registration } = deviceApi();
 * const server = new grpc.Server();
 * server.addService(DevicePlugin.service, handlers);
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Version string of the device plugin API that kubelet expects in RegisterRequest. */
export const DEVICE_PLUGIN_API_VERSION = "v1beta1";
/** Device health values of the device plugin API. */
export const HEALTHY = "Healthy";
export const UNHEALTHY = "Unhealthy";

// ---- v1beta1 messages (proto/deviceplugin/v1beta1/api.proto) ----------------------------------------

export interface DevicePluginOptions {
  pre_start_required: boolean;
  get_preferred_allocation_available: boolean;
}
export interface RegisterRequest {
  version: string;
  endpoint: string;
  resource_name: string;
  options?: DevicePluginOptions | null;
}
export interface NUMANode { ID: number }
export interface TopologyInfo { nodes: NUMANode[] }
export interface Device {
  ID: string;
  health: string;
  topology?: TopologyInfo | null;
}
export interface ListAndWatchResponse { devices: Device[] }
export interface PreStartContainerRequest { devices_ids: string[] }
export type PreStartContainerResponse = Record<string, never>;
export interface ContainerPreferredAllocationRequest {
  available_deviceIDs: string[];
  must_include_deviceIDs: string[];
  allocation_size: number;
}
export interface PreferredAllocationRequest { container_requests: ContainerPreferredAllocationRequest[] }
export interface ContainerPreferredAllocationResponse { deviceIDs: string[] }
export interface PreferredAllocationResponse { container_responses: ContainerPreferredAllocationResponse[] }
export interface ContainerAllocateRequest { devices_ids: string[] }
export interface AllocateRequest { container_requests: ContainerAllocateRequest[] }
export interface Mount {
  container_path: string;
  host_path: string;
  read_only: boolean;
}
export interface DeviceSpec {
  container_path: string;
  host_path: string;
  permissions: string;
}
export interface CDIDevice { name: string }
export interface ContainerAllocateResponse {
  envs: Record<string, string>;
  mounts: Mount[];
  devices: DeviceSpec[];
  annotations: Record<string, string>;
  cdi_devices: CDIDevice[];
}
export interface AllocateResponse { container_responses: ContainerAllocateResponse[] }
export type Empty = Record<string, never>;

// ---- podresources v1 messages (proto/podresources/v1/api.proto) ------------------------------------

export interface ContainerDevices {
  resource_name: string;
  device_ids: string[];
  topology?: TopologyInfo | null;
}
export interface ContainerMemory {
  memory_type: string;
  size: number;
  topology?: TopologyInfo | null;
}
export interface ClaimResource {
  cdi_devices: CDIDevice[];
  driver_name: string;
  pool_name: string;
  device_name: string;
}
export interface DynamicResource {
  claim_name: string;
  claim_namespace: string;
  claim_resources: ClaimResource[];
}
export interface ContainerResources {
  name: string;
  devices: ContainerDevices[];
  cpu_ids: number[];
  memory: ContainerMemory[];
  dynamic_resources: DynamicResource[];
}
export interface PodResources {
  name: string;
  namespace: string;
  containers: ContainerResources[];
}
export interface ListPodResourcesResponse { pod_resources: PodResources[] }
export interface AllocatableResourcesResponse {
  devices: ContainerDevices[];
  cpu_ids: number[];
  memory: ContainerMemory[];
}
export interface GetPodResourcesRequest { pod_name: string; pod_namespace: string }
export interface GetPodResourcesResponse { pod_resources?: PodResources | null }

// ---- loading ------------------------------------------------------------------------------------------

/** A loaded service: its definition for `Server.addService` and a client constructor. */
export interface LoadedService {
  service: grpc.ServiceDefinition;
  client: grpc.ServiceClientConstructor;
}

const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

/** The `proto/` folder at the package root, found by walking up from this file (dist/src/k8s or src/k8s). */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, "proto", "deviceplugin", "v1beta1", "api.proto");
    if (existsSync(p)) return join(dir, "proto");
    dir = dirname(dir);
  }
  throw new Error("Cannot find proto/deviceplugin/v1beta1/api.proto above " + dirname(fileURLToPath(import.meta.url)));
}

function load(rel: string, pkg: string, names: string[]): Record<string, LoadedService> {
  const file = join(protoDir(), rel);
  const def = protoLoader.loadSync(file, loaderOptions);
  const root = grpc.loadPackageDefinition(def);
  const ns = root[pkg] as grpc.GrpcObject | undefined;
  if (!ns) throw new Error(`${file}: package '${pkg}' not found`);
  const out: Record<string, LoadedService> = {};
  for (const n of names) {
    const ctor = ns[n] as grpc.ServiceClientConstructor | undefined;
    if (!ctor || typeof ctor !== "function") throw new Error(`${file}: service '${pkg}.${n}' not found`);
    out[n] = { service: ctor.service, client: ctor };
  }
  return out;
}

let deviceCache: { Registration: LoadedService; DevicePlugin: LoadedService } | undefined;
let podResCache: { PodResourcesLister: LoadedService } | undefined;

/** The device plugin API v1beta1: services `Registration` (kubelet's) and `DevicePlugin` (ours). */
export function deviceApi(): { Registration: LoadedService; DevicePlugin: LoadedService } {
  if (!deviceCache) {
    const s = load("deviceplugin/v1beta1/api.proto", "v1beta1", ["Registration", "DevicePlugin"]);
    deviceCache = { Registration: s["Registration"]!, DevicePlugin: s["DevicePlugin"]! };
  }
  return deviceCache;
}

/** The PodResources API v1: service `PodResourcesLister` (kubelet's). */
export function podResourcesApi(): { PodResourcesLister: LoadedService } {
  if (!podResCache) {
    const s = load("podresources/v1/api.proto", "v1", ["PodResourcesLister"]);
    podResCache = { PodResourcesLister: s["PodResourcesLister"]! };
  }
  return podResCache;
}

/** The gRPC target for a Unix socket path (`unix:///abs/path`). */
export function unixTarget(path: string): string {
  return path.startsWith("/") ? `unix://${path}` : `unix:${path}`;
}

/** Promise form of a unary client call with a deadline in milliseconds. */
export function unary<Req, Res>(client: grpc.Client, method: string, req: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Function>)[method];
    if (typeof fn !== "function") {
      reject(new Error(`gRPC client has no method '${method}'`));
      return;
    }
    const deadline = new Date(Date.now() + timeoutMs);
    fn.call(client, req, new grpc.Metadata(), { deadline }, (err: grpc.ServiceError | null, res: Res) => {
      if (err) reject(err);
      else resolve(res);
    });
  });
}
