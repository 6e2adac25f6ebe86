/**
 * xdplane: CNDP's user-space libraries for packet-processing microservices, in TypeScript over AF_XDP.
 * The names most apps need are here; each library is also a subpath (`xdplane/pktdev`, `xdplane/mem`,
 * `xdplane/ring`, `xdplane/xsk`, `xdplane/bpf`, `xdplane/config`, `xdplane/runtime`, `xdplane/telemetry`,
 * `xdplane/wire`, `xdplane/cnf`, `xdplane/lookup`, `xdplane/graph`) and a namespace of this module (`pktdev.AfXdpPort`).
 *
 * @example
 * import { Cnf } from "xdplane";
 * const app = await Cnf.start({ config: "echo.jsonc", worker: new URL("./worker.js", import.meta.url) });
 * const report = await app.done; // SIGTERM
 *
 * @module
 */
export * as pktdev from "./pktdev/index.js";
export * as mem from "./mem/index.js";
export * as ring from "./ring/index.js";
export * as xsk from "./xsk/index.js";
export * as bpf from "./bpf/index.js";
export * as config from "./config/index.js";
export * as runtime from "./runtime/index.js";
export * as telemetry from "./telemetry/index.js";
export * as wire from "./wire/index.js";
export * as cnf from "./cnf/index.js";
export * as lookup from "./lookup/index.js";
export * as graph from "./graph/index.js";
export { Cnf, PortSet, type CnfOptions, type WorkerContext, type WorkerModule, type StopReport, type ThreadPlan } from "./cnf/index.js";
export { loadConfig, parseConfig, ConfigError, type AppConfig } from "./config/index.js";
/**
 * The cnet stack on this thread's event loop, for Node's own APIs over it (`createServer`, `connect`
 * of `xdplane/cnet`, Node's http).
 *
 * @example
 * import { LocalStack } from "xdplane";
 * const local = await LocalStack.open({ config: "cnet.jsonc" });
 * console.log(local.tables.describe().addresses);
 */
export { LocalStack, type LocalStackOptions } from "./apps/cnet/local.js";
/**
 * The unprivileged mode's config (`xdplane config from-env`): a CNDP jsonc for a pod from the device
 * plugin's `AFXDP_DEVICES_<POOL>` variables (uds_path or xsk_pin_path per netdev).
 *
 * @example
 * const { text } = configFromEnv(); // from this pod's AFXDP_DEVICES_<POOL>; options: qid, skbMode, cpus, ...
 * const { config } = parseConfig(text, "from-env.jsonc");
 * const app = await Cnf.start({ config, worker: new URL("./worker.js", import.meta.url) });
 */
export { configFromEnv, type FromEnvOptions } from "./k8s/config-cli.js";
