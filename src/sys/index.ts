/** sys: typed access to the native syscall shim, errno errors, and generic constants. */
export { sys, type Shim, type Bytes, type WatchHandle } from "./native.js";
export { SysError, check, errnoName } from "./errno.js";
export * as C from "./consts.js";
export { mmapShared, munmap } from "./mem.js";
export { mmapHuge, hugeAlloc, thpMode, MADV_HUGEPAGE, MADV_COLLAPSE, HUGE_2MB, type HugeKind } from "./hugepage.js";
export { ifIndex, ifName } from "./netdev.js";
export { setAffinity, getAffinity, parseCpuList } from "./cpu.js";
export { Clock, MonoClock, CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI } from "./clock.js";
