/**
 * A client of kubelet's PodResources API v1 (`List`, `Get`, `GetAllocatableResources`) over its Unix
 * socket, and the pod validation rule of the UDS handshake.
 *
 * @example
 * const pr = new PodResourcesClient("/var/lib/kubelet/pod-resources/kubelet.sock");
 * const pods = await pr.list();
 * pr.close();
 */
import * as grpc from "@grpc/grpc-js";
import {
  podResourcesApi,
  unary,
  unixTarget,
  type AllocatableResourcesResponse,
  type GetPodResourcesResponse,
  type ListPodResourcesResponse,
  type PodResources,
} from "./proto.js";

/** Kubelet's default PodResources socket. */
export const DEFAULT_POD_RESOURCES_SOCKET = "/var/lib/kubelet/pod-resources/kubelet.sock";

/** What pod validation needs: the pods of the node and their devices. */
export interface PodLister {
  list(): Promise<PodResources[]>;
}

/** A gRPC client of kubelet's PodResourcesLister. */
export class PodResourcesClient implements PodLister {
  readonly socket: string;
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;

  constructor(socket: string = DEFAULT_POD_RESOURCES_SOCKET, opts: { timeoutMs?: number } = {}) {
    this.socket = socket;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    const { PodResourcesLister } = podResourcesApi();
    this.client = new PodResourcesLister.client(unixTarget(socket), grpc.credentials.createInsecure(), {
      // kubelet's answers can be large on busy nodes (its own limit is 16 MiB).
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
    });
  }

  /** Every pod of the node with its containers' devices. */
  async list(): Promise<PodResources[]> {
    const res = await unary<object, ListPodResourcesResponse>(this.client, "List", {}, this.timeoutMs);
    return res.pod_resources ?? [];
  }

  /** One pod (kubelet 1.27+). */
  async get(podName: string, podNamespace: string): Promise<PodResources | null> {
    const res = await unary<object, GetPodResourcesResponse>(this.client, "Get", { pod_name: podName, pod_namespace: podNamespace }, this.timeoutMs);
    return res.pod_resources ?? null;
  }

  async allocatable(): Promise<AllocatableResourcesResponse> {
    return unary<object, AllocatableResourcesResponse>(this.client, "GetAllocatableResources", {}, this.timeoutMs);
  }

  close(): void {
    this.client.close();
  }
}

/** A pod (and container) found holding a set of devices. */
export interface PodMatch {
  name: string;
  namespace: string;
  container: string;
}

/**
 * Finds the pod named `podName` one of whose containers holds, under `resource`, exactly `devices`
 * (upstream's rule). Where `namespace` is known (a session already bound to a pod) only that namespace
 * matches; otherwise pods of that name in any namespace are considered.
 */
export function findPod(
  pods: readonly PodResources[],
  podName: string,
  resource: string,
  devices: ReadonlySet<string>,
  namespace?: string,
): PodMatch | null {
  for (const pod of pods) {
    if (pod.name !== podName) continue;
    if (namespace !== undefined && pod.namespace !== namespace) continue;
    for (const c of pod.containers ?? []) {
      const held = new Set<string>();
      for (const d of c.devices ?? []) {
        if (d.resource_name === resource) for (const id of d.device_ids ?? []) held.add(id);
      }
      if (held.size === devices.size && [...held].every((id) => devices.has(id))) {
        return { name: pod.name, namespace: pod.namespace, container: c.name };
      }
    }
  }
  return null;
}

/** Whether any container of any pod holds any of `devices` under `resource`. */
export function devicesInUse(pods: readonly PodResources[], resource: string, devices: ReadonlySet<string>): boolean {
  for (const pod of pods) {
    for (const c of pod.containers ?? []) {
      for (const d of c.devices ?? []) {
        if (d.resource_name !== resource) continue;
        for (const id of d.device_ids ?? []) if (devices.has(id)) return true;
      }
    }
  }
  return false;
}
