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
 * An eBPF instruction builder with labels (`asm.mov(R0, XdpAction.PASS).exit()`).
 *
 * @example
 * const asm = new Asm().mov(R0, XdpAction.PASS).exit();
 * const prog = Program.load({ type: ProgType.XDP, insns: asm.build(), name: "pass" });
 */
export { Asm } from "./asm.js";
/**
 * Registers, helpers, XDP actions and the xdp_md layout for {@link Asm}.
 *
 * @example
 * new Asm().mov(R0, XdpAction.DROP).exit();
 */
export { Helper, XdpAction, XdpMd, BPF_PSEUDO_MAP_FD, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, FP } from "./asm.js";
/**
 * A BPF map (an fd, closed by `close()`): create, from a pin or an fd, lookup and update.
 *
 * @example
 * const map = BpfMap.create({ type: MapType.XSKMAP, keySize: 4, valueSize: 4, maxEntries: 64, name: "xsks_map" });
 * map.updateU32(0, xskFd);
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
 * try { Program.load(spec); } catch (e) { if (e instanceof VerifierError) console.error(e.log); }
 */
export { VerifierError } from "./prog.js";
/**
 * An XDP attachment through a BPF link (detached when closed or when the process dies, unless pinned).
 *
 * @example
 * const link = XdpLink.attach(prog, "eth0", { mode: "skb" });
 * link.close();
 */
export { XdpLink } from "./link.js";
/**
 * What XDP programs a netdev has, by mode.
 *
 * @example
 * const q = queryXdp("eth0");
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
 * const r = loadXskRedirect({ name: "eth0" });
 * // r.prog, r.map; close both when done
 */
export { loadXskRedirect } from "./xsk-redirect.js";
/**
 * BPF_PROG_TEST_RUN: runs a program on a frame and returns its action and output.
 *
 * @example
 * const r = testRun(prog, { data: frame });
 * console.log(r.retval);
 */
export { testRun } from "./test-run.js";
/**
 * XDP live frames (BPF_F_TEST_XDP_LIVE_FRAMES): a program transmits frames at kernel speed (txgen's engine).
 *
 * @example
 * const lf = LiveFrames.create(prog, frame, { repeat: 1 << 20 });
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
