/**
 * k8s: the AF_XDP device plugin for Kubernetes (kubelet device plugin API v1beta1), its UDS handshake
 * server and client, and kubelet's PodResources client. Wire-compatible with the upstream AF_XDP device
 * plugin, DPDK's AF_XDP PMD (`use_cni`, `dp_path`, `use_pinned_map`) and CNDP (`uds_path`, `xsk_pin_path`).
 */
export { main as dpMain, parseDpArgs, USAGE as DP_USAGE, type DpArgs } from "./dp-cli.js";
export {
  DevicePlugin, containerResponse, resolveDevicePluginDir,
  DEFAULT_DEVICE_PLUGIN_DIR, DEFAULT_POD_RESOURCES, DEFAULT_UDS_ROOT, DEFAULT_MAP_ROOT,
  type DevicePluginOptions, type SessionRecord,
} from "./deviceplugin.js";
export {
  parseDpConfig, loadDpConfig, ConfigError, LIMITS, MODES, LOG_LEVELS,
  type DpConfig, type PoolConfig, type DriverSelector, type DeviceSelector, type NodeOverride,
} from "./dp-config.js";
export { listNetdevs, selectPools, netlinkLinkInfo, isProhibited, PROHIBITED_PREFIXES, type Netdev, type Selection, type PoolDevices } from "./discovery.js";
export { UdsServer, type UdsServerOptions, type UdsServerStats } from "./uds-server.js";
export { UdsClient, UdsClientSync, requestXskMapFd, HandshakeError, type ClientOptions } from "./uds-client.js";
export { PodResourcesClient, findPod, devicesInUse, DEFAULT_POD_RESOURCES_SOCKET, type PodLister, type PodMatch } from "./pod-resources.js";
export { RedirectManager, DEFAULT_PIN_ROOT } from "./redirect.js";
export { deviceApi, podResourcesApi, protoDir, DEVICE_PLUGIN_API_VERSION, HEALTHY, UNHEALTHY } from "./proto.js";
export * as udsProtocol from "./uds-protocol.js";
export { createLogger, silentLogger, type Logger, type Level } from "./log.js";
export { main as cniMain, USAGE as CNI_USAGE } from "./cni/main.js";
export { runCni, cmdVersion } from "./cni/plugin.js";
export { CniError, CNI_ERR } from "./cni/errors.js";
export { parseNetConf, type NetConf } from "./cni/config.js";
export { parseResult, formatResult, type CniResult } from "./cni/result.js";
export { SUPPORTED_VERSIONS as CNI_VERSIONS } from "./cni/version.js";
export { main as configMain, configFromEnv, devicesFromEnv, type PodDevice, type FromEnvOptions } from "./config-cli.js";
