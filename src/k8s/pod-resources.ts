/**
 * A client of kubelet's PodResources API v1 (`List`, `Get`, `GetAllocatableResources`) over its Unix
 * socket, the pod validation rule of the UDS handshake, and the plugin's cache of the pod list
 * ({@link PodCache}: CNDP gives up on `/host_ok` after ~30 ms, so `/connect` must not wait for kubelet
 * when the answer is already known).
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
  type ContainerResources,
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
      // Keep the connection: a channel gone idle (default after 30 min) reconnects on the next call, and
      // that call is a pod's /connect waiting for its answer. 24 h (setTimeout's limit is 2^31-1 ms).
      "grpc.client_idle_timeout_ms": 24 * 3600 * 1000,
    });
  }

  /**
   * Connects the channel now (gRPC connects lazily, on the first call) and resolves once it is ready;
   * rejects after `timeoutMs`. The connection is then kept.
   */
  warm(timeoutMs = this.timeoutMs): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())),
    );
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

/** Whether container `c` holds, under `resource`, exactly `devices`. */
function holdsExactly(c: ContainerResources, resource: string, devices: ReadonlySet<string>): boolean {
  // Without allocating (this runs for every container of the node on a /connect): every held ID is one
  // of `devices`, and as many as there are; a count above (an ID listed twice) is settled with a set.
  let n = 0;
  for (const d of c.devices ?? []) {
    if (d.resource_name !== resource) continue;
    for (const id of d.device_ids ?? []) {
      if (!devices.has(id)) return false;
      n++;
    }
  }
  if (n <= devices.size) return n === devices.size;
  const held = new Set<string>();
  for (const d of c.devices ?? []) if (d.resource_name === resource) for (const id of d.device_ids ?? []) held.add(id);
  return held.size === devices.size;
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
      if (holdsExactly(c, resource, devices)) return { name: pod.name, namespace: pod.namespace, container: c.name };
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

/** Whether some container of some pod holds, under `resource`, exactly `devices`. */
export function heldBySomePod(pods: readonly PodResources[], resource: string, devices: ReadonlySet<string>): boolean {
  return pods.some((p) => (p.containers ?? []).some((c) => holdsExactly(c, resource, devices)));
}

/**
 * The pod list of kubelet, cached. `list()` answers the last list fetched since the last
 * {@link invalidate} (else fetches); {@link view} gives each allocation a lister that answers from the
 * cache when the cached list has a pod holding exactly its devices and asks kubelet otherwise (a miss);
 * {@link refresh} asks kubelet now. Concurrent fetches are coalesced into one `List`.
 *
 * Why a cached answer is right: kubelet gives a device to a new container only through Allocate, and has
 * already freed it from the previous pod by then. The plugin invalidates the cache when an Allocate
 * starts, so a list fetched afterwards never shows a former holder of the allocated devices: a pod holding
 * exactly an allocation's devices in a current list is the one kubelet gave them to. A list without such
 * a pod (the new pod not yet listed, kubelet records it after Allocate returns) is a miss and asks again.
 *
 * @example
 * const cache = new PodCache(new PodResourcesClient(socket));
 * void cache.refresh();                                   // at start: warm channel, primed cache
 * const pods = cache.view("afxdp/pool1", new Set(["ens1f0"])); // a PodLister for one UdsServer
 * cache.invalidate();                                     // on Allocate
 */
export class PodCache implements PodLister {
  private snapshot: PodResources[] | null = null;
  private snapshotGen = -1;
  private gen = 0;
  private inflight: { gen: number; promise: Promise<PodResources[]> } | null = null;
  /** `List` calls made, and answers given from the cache (tests, the log). */
  readonly stats = { fetches: 0, hits: 0 };

  constructor(private readonly source: PodLister) {}

  /** The cached list when current, else a fresh one. */
  async list(): Promise<PodResources[]> {
    const snap = this.current();
    if (snap !== null) {
      this.stats.hits++;
      return snap;
    }
    return this.refresh();
  }

  /** The list fetched since the last invalidate(), or null. */
  current(): PodResources[] | null {
    return this.snapshotGen === this.gen ? this.snapshot : null;
  }

  /** Asks kubelet now (joining a fetch started since the last invalidate()); the answer is cached. */
  refresh(): Promise<PodResources[]> {
    if (this.inflight !== null && this.inflight.gen === this.gen) return this.inflight.promise;
    const gen = this.gen;
    this.stats.fetches++;
    const promise = this.source.list().then(
      (pods) => {
        if (gen >= this.snapshotGen) {
          this.snapshot = pods;
          this.snapshotGen = gen;
        }
        return pods;
      },
    ).finally(() => {
      if (this.inflight?.promise === promise) this.inflight = null;
    });
    this.inflight = { gen, promise };
    return promise;
  }

  /** Lists fetched before now are no longer answered from the cache (an Allocate started). */
  invalidate(): void {
    this.gen++;
  }

  /**
   * A lister for one allocation: the cached list when a pod in it holds exactly `devices` of `resource`,
   * else a fresh list.
   */
  view(resource: string, devices: ReadonlySet<string>): PodLister {
    let known: PodResources[] | null = null; // the last list seen holding the devices
    return {
      list: async () => {
        const snap = this.current();
        if (snap !== null && (snap === known || heldBySomePod(snap, resource, devices))) {
          known = snap;
          this.stats.hits++;
          return snap;
        }
        return this.refresh();
      },
    };
  }
}
