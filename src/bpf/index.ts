/** bpf: instruction builder, maps, programs, XDP links, pins, queries and test runs over bpf(2). */
export {
  Asm, Helper, XdpAction, XdpMd, BPF_PSEUDO_MAP_FD, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, FP,
  type Reg, type Size, type AluOp, type JmpOp, type Target, type Insn,
} from "./asm.js";
export { BpfMap, MapType, UpdateFlag, XSKMAP_EXPECT, mapInfoByFd, mapTypeName, type MapSpec, type MapInfo, type MapExpect } from "./map.js";
export { Program, ProgType, AttachType, VerifierError, progInfoByFd, programIds, type ProgramSpec, type ProgramInfo } from "./prog.js";
export { XdpLink, BPF_XDP, type AttachOptions } from "./link.js";
export {
  queryXdp, detachAny, listXdpLinks, linkInfoByFd, describeAttached, xdpModeFlags, LinkType,
  type XdpMode, type XdpAttachment, type XdpQuery, type LinkInfo,
} from "./query.js";
export { loadXskRedirect, xskRedirectAsm, xsksMapSpec, XSKS_MAP_NAME, XSK_PROG_NAME, XSKS_MAP_ENTRIES, type XskRedirect, type XskRedirectOptions } from "./xsk-redirect.js";
export { testRun, LiveFrames, BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES, type TestRunOptions, type TestRunResult, type XdpCtxIn } from "./test-run.js";
export { ensureBpffs, isBpffs, unmountBpffs, fsTypeOf, hasSysAdmin, BPF_FS_MAGIC, type BpffsOptions } from "./bpffs.js";
export { fdKind, type FdKind } from "./syscall.js";
