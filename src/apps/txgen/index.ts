/**
 * txgen: the traffic generator (`xdplane txgen`), CNDP txgen's settings and screen over two engines,
 * AF_XDP TX through the project's ports and the kernel's XDP live frames.
 *
 * @example
 * import { startTxgen } from "./apps/txgen/index.js";
 * const tg = await startTxgen({ ports: [{ ifname: "veth0", netns: "gen", cpus: [0], settings: ["engine live", "rx count"] }] });
 * await tg.start();
 * // ... tg.rates(), tg.stats()
 * await tg.close();
 */
export { startTxgen, Txgen, TxgenPort, specsFromConfig, splitWords, type TxgenOptions, type TxgenPortSpec, type PortStats, type PortRate, type LatencyStats } from "./txgen.js";
export { Commands, HELP, PAGES, type Page, type CommandHost } from "./commands.js";
export { renderPage, Screen } from "./screen.js";
export {
  applySet, checkSettings, defaultSettings, formatSettings, parsePortList, parseRate, targetPps, SET_KEYS, TAG_LEN, TAG_MAGIC,
  type PortSettings, type Engine, type RxMode, type Proto, type Pattern, type Range, type Rate,
} from "./settings.js";
export { buildFrame, patchFrame, verifyChecksums, type FramePlan, type FieldPlan } from "./packet.js";
export { LiveProgram, CountProgram, liveProgramAsm, countProgramAsm } from "./live-prog.js";
export { readPcap, writePcap, encodePcap, decodePcap, type PcapFrame } from "./pcap.js";
export { main } from "./cli.js";
