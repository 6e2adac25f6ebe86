import { test } from "node:test";
import assert from "node:assert/strict";
import { deviceApi, podResourcesApi } from "./proto.js";

// Field numbers are checked on the wire: each case encodes a message and compares the bytes with the
// protobuf encoding written by hand from the Kubernetes field tables (tag = field << 3 | wire type).

function reqSerialize(svc: { service: Record<string, { requestSerialize: (v: unknown) => Buffer }> }, m: string, v: unknown): Buffer {
  return svc.service[m]!.requestSerialize(v);
}
function resSerialize(svc: { service: Record<string, { responseSerialize: (v: unknown) => Buffer }> }, m: string, v: unknown): Buffer {
  return svc.service[m]!.responseSerialize(v);
}
function resDeserialize(svc: { service: Record<string, { responseDeserialize: (b: Buffer) => unknown }> }, m: string, b: Buffer): unknown {
  return svc.service[m]!.responseDeserialize(b);
}
const s = (field: number, str: string) => Buffer.concat([Buffer.from([(field << 3) | 2, str.length]), Buffer.from(str)]);
const msg = (field: number, body: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2, body.length]), body]);
const varint = (field: number, v: number) => Buffer.from([(field << 3) | 0, v]);

test("device plugin API v1beta1: services, methods and field numbers", () => {
  const { Registration, DevicePlugin } = deviceApi();
  assert.deepEqual(Object.keys(Registration.service), ["Register"]);
  assert.equal(Registration.service["Register"]!.path, "/v1beta1.Registration/Register");
  assert.deepEqual(Object.keys(DevicePlugin.service).sort(), [
    "Allocate", "GetDevicePluginOptions", "GetPreferredAllocation", "ListAndWatch", "PreStartContainer",
  ]);
  assert.equal(DevicePlugin.service["ListAndWatch"]!.responseStream, true);
  assert.equal(DevicePlugin.service["Allocate"]!.path, "/v1beta1.DevicePlugin/Allocate");

  const reg = reqSerialize(Registration as never, "Register", {
    version: "v1beta1", endpoint: "e.sock", resource_name: "afxdp/p",
    options: { pre_start_required: true, get_preferred_allocation_available: true },
  });
  assert.deepEqual(reg, Buffer.concat([s(1, "v1beta1"), s(2, "e.sock"), s(3, "afxdp/p"), msg(4, Buffer.concat([varint(1, 1), varint(2, 1)]))]));

  const law = resSerialize(DevicePlugin as never, "ListAndWatch", {
    devices: [{ ID: "eth1", health: "Healthy", topology: { nodes: [{ ID: 1 }] } }],
  });
  assert.deepEqual(law, msg(1, Buffer.concat([s(1, "eth1"), s(2, "Healthy"), msg(3, msg(1, varint(1, 1)))])));

  const alloc = reqSerialize(DevicePlugin as never, "Allocate", { container_requests: [{ devices_ids: ["a", "b"] }] });
  assert.deepEqual(alloc, msg(1, Buffer.concat([s(1, "a"), s(1, "b")])));

  const ares = resSerialize(DevicePlugin as never, "Allocate", {
    container_responses: [{
      envs: { K: "V" },
      mounts: [{ container_path: "/c", host_path: "/h", read_only: true }],
      devices: [{ container_path: "/dc", host_path: "/dh", permissions: "rw" }],
      annotations: { A: "B" },
      cdi_devices: [{ name: "v/c=n" }],
    }],
  });
  const entry = (f: number, k: string, v: string) => msg(f, Buffer.concat([s(1, k), s(2, v)]));
  assert.deepEqual(ares, msg(1, Buffer.concat([
    entry(1, "K", "V"),
    msg(2, Buffer.concat([s(1, "/c"), s(2, "/h"), varint(3, 1)])),
    msg(3, Buffer.concat([s(1, "/dc"), s(2, "/dh"), s(3, "rw")])),
    entry(4, "A", "B"),
    msg(5, s(1, "v/c=n")),
  ])));

  const pref = reqSerialize(DevicePlugin as never, "GetPreferredAllocation", {
    container_requests: [{ available_deviceIDs: ["a"], must_include_deviceIDs: ["b"], allocation_size: 2 }],
  });
  assert.deepEqual(pref, msg(1, Buffer.concat([s(1, "a"), s(2, "b"), varint(3, 2)])));
  const prefRes = resSerialize(DevicePlugin as never, "GetPreferredAllocation", { container_responses: [{ deviceIDs: ["x"] }] });
  assert.deepEqual(prefRes, msg(1, s(1, "x")));

  const pre = reqSerialize(DevicePlugin as never, "PreStartContainer", { devices_ids: ["z"] });
  assert.deepEqual(pre, s(1, "z"));
  const opts = resSerialize(DevicePlugin as never, "GetDevicePluginOptions", { pre_start_required: true, get_preferred_allocation_available: true });
  assert.deepEqual(opts, Buffer.concat([varint(1, 1), varint(2, 1)]));
});

test("PodResources API v1: services, methods and field numbers", () => {
  const { PodResourcesLister } = podResourcesApi();
  assert.deepEqual(Object.keys(PodResourcesLister.service).sort(), ["Get", "GetAllocatableResources", "List"]);
  assert.equal(PodResourcesLister.service["List"]!.path, "/v1.PodResourcesLister/List");

  const body = Buffer.concat([
    s(1, "pod"), s(2, "ns"),
    msg(3, Buffer.concat([
      s(1, "c"),
      msg(2, Buffer.concat([s(1, "afxdp/p"), s(2, "d1"), msg(3, msg(1, varint(1, 0)))])),
      Buffer.from([3 << 3 | 2, 2, 4, 5]), // packed cpu_ids [4, 5]
      msg(4, Buffer.concat([s(1, "hugepages-2Mi"), varint(2, 64)])),
      msg(5, Buffer.concat([s(2, "claim"), s(3, "cns"), msg(4, Buffer.concat([msg(1, s(1, "x/y=z")), s(2, "drv"), s(3, "pl"), s(4, "dev")]))])),
    ])),
  ]);
  const list = resDeserialize(PodResourcesLister as never, "List", msg(1, body)) as Record<string, unknown>;
  assert.deepEqual(JSON.parse(JSON.stringify(list)), {
    pod_resources: [{
      name: "pod", namespace: "ns",
      containers: [{
        name: "c",
        devices: [{ resource_name: "afxdp/p", device_ids: ["d1"], topology: { nodes: [{ ID: 0 }] } }],
        cpu_ids: [4, 5],
        memory: [{ memory_type: "hugepages-2Mi", size: 64, topology: null }],
        dynamic_resources: [{
          claim_name: "claim", claim_namespace: "cns",
          claim_resources: [{ cdi_devices: [{ name: "x/y=z" }], driver_name: "drv", pool_name: "pl", device_name: "dev" }],
        }],
      }],
    }],
  });

  const get = reqSerialize(PodResourcesLister as never, "Get", { pod_name: "pod", pod_namespace: "ns" });
  assert.deepEqual(get, Buffer.concat([s(1, "pod"), s(2, "ns")]));
  const alloc = resSerialize(PodResourcesLister as never, "GetAllocatableResources", {
    devices: [{ resource_name: "r", device_ids: [] }], cpu_ids: [1], memory: [{ memory_type: "m", size: 1 }],
  });
  assert.deepEqual(alloc, Buffer.concat([msg(1, s(1, "r")), Buffer.from([2 << 3 | 2, 1, 1]), msg(3, Buffer.concat([s(1, "m"), varint(2, 1)]))]));
  const getRes = resSerialize(PodResourcesLister as never, "Get", { pod_resources: { name: "p" } });
  assert.deepEqual(getRes, msg(1, s(1, "p")));
});
