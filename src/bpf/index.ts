/**
 * bpf: instruction builder, maps, programs, XDP links, pins, queries and test runs over bpf(2); the XSK
 * redirect program is assembled here in TypeScript.
 *
 * @module
 */
export type { Reg, Size, AluOp, JmpOp, Target, Insn } from "./asm.js";
export type { MapSpec, MapInfo, MapExpect } from "./map.js";
export type { ProgramSpec, ProgramInfo } from "./prog.js";
export type { AttachOptions } from "./link.js";
export type { XdpMode, XdpAttachment, XdpQuery } from "./query.js";
export type { XskRedirect, XskRedirectOptions } from "./xsk-redirect.js";
export type { TestRunOptions, TestRunResult, XdpCtxIn } from "./test-run.js";
export type { BpffsOptions } from "./bpffs.js";
/**
 * An eBPF instruction builder with labels (`asm.mov64(R0, XdpAction.PASS).exit()`).
 *
 * @example
 * const asm = new Asm().mov64(R0, XdpAction.PASS).exit();
 * const prog = Program.load({ type: ProgType.XDP, insns: asm.assemble(), name: "pass" });
 */
export { Asm } from "./asm.js";
/**
 * Registers, helpers, XDP actions and the xdp_md layout for {@link Asm}.
 *
 * @example
 * new Asm().mov64(R0, XdpAction.DROP).exit();
 */
export { Helper, XdpAction, XdpMd, BPF_PSEUDO_MAP_FD, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, FP } from "./asm.js";
/**
 * A BPF map (an fd, closed by `close()`): create, from a pin or an fd, lookup and update.
 *
 * @example
 * const map = BpfMap.create({ type: MapType.XSKMAP, keySize: 4, valueSize: 4, maxEntries: 64, name: "xsks_map" });
 * map.updateU32(0, xskFd); // queue 0 -> an AF_XDP socket
 * map.close();
 */
export { BpfMap } from "./map.js";
/**
 * Map types, update flags, and the check that an fd is an XSKMAP.
 *
 * @example
 * const map = BpfMap.fromPin("/sys/fs/bpf/xsks_map", XSKMAP_EXPECT);
 */
export { MapType, UpdateFlag, XSKMAP_EXPECT } from "./map.js";
/**
 * A loaded BPF program (an fd); load errors keep the verifier log.
 *
 * @example
 * const prog = Program.load({ type: ProgType.XDP, insns, name: "xdp_pass" });
 */
export { Program } from "./prog.js";
/**
 * Program and attach types.
 *
 * @example
 * Program.load({ type: ProgType.XDP, insns, name: "p" });
 */
export { ProgType, AttachType } from "./prog.js";
/**
 * A program load refused by the verifier; `log` holds the verifier's log.
 *
 * @example
 * try {
 *   Program.load({ type: ProgType.XDP, insns, name: "xdp_mine" });
 * } catch (e) {
 *   if (e instanceof VerifierError) console.error(e.log);
 *   throw e;
 * }
 */
export { VerifierError } from "./prog.js";
/**
 * An XDP attachment through a BPF link (detached when closed or when the process dies, unless pinned).
 *
 * @example
 * const link = XdpLink.attach(prog, "eth0", { mode: "skb" });
 * link.close(); // detaches the program (unless the link was pinned)
 */
export { XdpLink } from "./link.js";
/**
 * What XDP programs a netdev has, by mode.
 *
 * @example
 * const q = queryXdp("eth0");
 * for (const a of q.attachments) console.log(a.mode, a.progId, a.linkId);
 */
export { queryXdp } from "./query.js";
/**
 * Detaches whatever XDP program a netdev has.
 *
 * @example
 * detachAny("eth0");
 */
export { detachAny } from "./query.js";
/**
 * Loads CNDP's XSK redirect program and its XSKMAP (redirects each queue to the socket in the map).
 *
 * @example
 * const r = loadXskRedirect();
 * const link = XdpLink.attach(r.prog, "eth0");
 * r.map.updateU32(0, xskFd); // frames of queue 0 go to this AF_XDP socket
 * // ... link.close(); r.close();
 */
export { loadXskRedirect } from "./xsk-redirect.js";
/**
 * BPF_PROG_TEST_RUN: runs a program on a frame and returns its action and output.
 *
 * @example
 * const r = testRun(prog, { data: frame, dataOut: new Uint8Array(2048) });
 * if (r.retval === XdpAction.TX) console.log(r.dataOut);
 */
export { testRun } from "./test-run.js";
/**
 * XDP live frames (BPF_F_TEST_XDP_LIVE_FRAMES): a program transmits frames at kernel speed (txgen's engine).
 *
 * @example
 * const { ifindex } = queryXdp("eth0");
 * const lf = new LiveFrames(prog, frame, { ifindex });
 * const sent = lf.send(1 << 20); // or -errno
 */
export { LiveFrames } from "./test-run.js";
/**
 * Mounts bpffs where pins go (or checks it is there).
 *
 * @example
 * ensureBpffs("/sys/fs/bpf");
 */
export { ensureBpffs } from "./bpffs.js";
/**
 * Whether a path is on a bpffs mount.
 *
 * @example
 * if (!isBpffs("/sys/fs/bpf")) ensureBpffs("/sys/fs/bpf");
 */
export { isBpffs } from "./bpffs.js";
/**
 * Unmounts a bpffs mount made by {@link ensureBpffs}.
 *
 * @example
 * unmountBpffs("/run/xdplane/bpf");
 */
export { unmountBpffs } from "./bpffs.js";
/**
 * Options, ports, routes and counters of the l3fwd XDP fast path.
 *
 * @example
 * const port: FastPathPort = { ifindex: 5, mac: new Uint8Array([2, 0, 0, 0, 0, 1]) };
 */
export type { FastPathPort, FastPathOptions, FastPathRoute, FastPathCounters } from "./l3fwd-fastpath.js";
/**
 * The l3fwd XDP fast path: an LPM trie, next hops and a devmap mirrored from the FIB; forwards plain IPv4
 * in the kernel and hands everything else to the AF_XDP socket.
 *
 * @example
 * const xskMapFd = 7; // the port's XSKMAP
 * using fp = L3fwdFastPath.load({ xskMapFd, ports: [{ ifindex: 5, mac: new Uint8Array(6) }] });
 * fp.setNextHop(0, new Uint8Array([2, 0, 0, 0, 0, 2]), 0);
 * fp.addRoute(0xc6120000, 16, 0); // 198.18.0.0/16 via next hop 0
 */
export { L3fwdFastPath } from "./l3fwd-fastpath.js";
/**
 * Why a frame left the fast path (counter names and indexes).
 *
 * @example
 * console.log(Object.keys(FastPathReason)); // forwarded, redirectFailed, notIpv4, ...
 */
export { FastPathReason } from "./l3fwd-fastpath-prog.js";
