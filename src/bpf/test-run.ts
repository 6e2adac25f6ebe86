/**
 * BPF_PROG_TEST_RUN for XDP programs: run a program on a frame and read back the verdict and frame; or,
 * with BPF_F_TEST_XDP_LIVE_FRAMES, let the kernel send copies of a frame for real (XDP_TX leaves through
 * the ingress netdev, XDP_REDIRECT goes where the program says), which makes a fast traffic source.
 *
 * Layouts: uapi/linux/bpf.h (`test` in `union bpf_attr`, `struct xdp_md`, BPF_F_TEST_*); behaviour:
 * Documentation/bpf/bpf_prog_run.rst and net/bpf/test_run.c (ctx_in: data_end must equal the frame length,
 * ingress_ifindex/rx_queue_index name a real netdev queue in the caller's network namespace).
 *
 * @example
 * const r = testRun(prog, { data: frame, ctx: { ingressIfindex: 5, rxQueueIndex: 0 } });
 * r.retval === XdpAction.PASS;
 * const tx = new LiveFrames(prog, frame, { ifindex: 5 });
 * tx.send(100_000);     // 100k frames out of ifindex 5
 */
import { sys } from "../sys/native.js";
import { check } from "../sys/errno.js";
import type { Program } from "./prog.js";
import { BpfCmd, newAttr, setPtr } from "./syscall.js";

/** Run on the CPU in `cpu` (BPF_F_TEST_RUN_ON_CPU). */
export const BPF_F_TEST_RUN_ON_CPU = 1 << 0;
/** Send the frames for real (BPF_F_TEST_XDP_LIVE_FRAMES, 5.18+). */
export const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;

/** The parts of `struct xdp_md` a test run takes as input. */
export interface XdpCtxIn {
  /** The netdev the frame "arrives" on (needed for live frames: XDP_TX leaves through it). */
  ingressIfindex?: number;
  /** Its receive queue (must exist on the netdev). */
  rxQueueIndex?: number;
}

export interface TestRunOptions {
  data: Uint8Array;
  /** Where the frame goes after the run (not with live frames). */
  dataOut?: Uint8Array;
  /** Runs (live frames: frames to send); default 1. */
  repeat?: number;
  /** BPF_F_TEST_* flags. */
  flags?: number;
  ctx?: XdpCtxIn;
  /** Live frames per batch (default 64 in the kernel). */
  batchSize?: number;
  /** With BPF_F_TEST_RUN_ON_CPU. */
  cpu?: number;
}

export interface TestRunResult {
  /** The program's return value (an XdpAction). */
  retval: number;
  /** Average nanoseconds per run. */
  durationNs: number;
  /** The frame after the run: a view of `dataOut` with the length the kernel wrote. */
  dataOut?: Uint8Array;
}

const XDP_MD_SIZE = 24;

function what(progFd: number, o: { repeat?: number; flags?: number }): string {
  return `BPF_PROG_TEST_RUN prog fd ${progFd} repeat ${o.repeat ?? 1} flags 0x${(o.flags ?? 0).toString(16)}`;
}

function hint(code: string): string | undefined {
  if (code === "EINVAL") return "live frames need no dataOut, and a ctx names an existing ingress netdev and queue in this namespace";
  if (code === "ENOSPC") return "dataOut is smaller than the frame after the run";
  return undefined;
}

function fillCtx(ctx: Uint8Array, dataLen: number, c: XdpCtxIn): void {
  const dv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  dv.setUint32(0, 0, true); // data: no metadata in front
  dv.setUint32(4, dataLen, true); // data_end: must be the frame's length
  dv.setUint32(12, c.ingressIfindex ?? 0, true);
  dv.setUint32(16, c.rxQueueIndex ?? 0, true);
}

/** Runs `prog` with BPF_PROG_TEST_RUN. */
export function testRun(prog: Program | number, opts: TestRunOptions): TestRunResult {
  const progFd = typeof prog === "number" ? prog : prog.fd;
  const { attr, dv } = newAttr();
  const ctx = opts.ctx ? new Uint8Array(XDP_MD_SIZE) : null;
  if (ctx && opts.ctx) fillCtx(ctx, opts.data.byteLength, opts.ctx);
  dv.setUint32(0, progFd, true); // prog_fd
  dv.setUint32(8, opts.data.byteLength, true); // data_size_in
  dv.setUint32(12, opts.dataOut?.byteLength ?? 0, true); // data_size_out
  setPtr(dv, 16, opts.data); // data_in
  setPtr(dv, 24, opts.dataOut ?? null); // data_out
  dv.setUint32(32, opts.repeat ?? 1, true); // repeat
  dv.setUint32(40, ctx?.byteLength ?? 0, true); // ctx_size_in
  setPtr(dv, 48, ctx); // ctx_in
  dv.setUint32(64, opts.flags ?? 0, true); // flags
  dv.setUint32(68, opts.cpu ?? 0, true); // cpu
  dv.setUint32(72, opts.batchSize ?? 0, true); // batch_size
  // The kernel abandons a run when a signal is pending (EINTR); a plain test run has no side effects, so
  // run it again (live frames, which do, report EINTR to their caller instead).
  let rc = sys.bpf(BpfCmd.PROG_TEST_RUN, attr);
  for (let i = 0; rc === -4 && i < 20; i++) rc = sys.bpf(BpfCmd.PROG_TEST_RUN, attr);
  check(rc, () => what(progFd, opts), hint);
  const res: TestRunResult = { retval: dv.getUint32(4, true), durationNs: dv.getUint32(36, true) };
  if (opts.dataOut) res.dataOut = opts.dataOut.subarray(0, dv.getUint32(12, true));
  return res;
}

/**
 * A prepared live-frames run: the kernel sends copies of `frame` through the program (XDP_TX out of
 * `ifindex`). `send()` reuses one attr buffer and allocates nothing.
 *
 * @example
 * const tx = Program.load({ type: ProgType.XDP, insns: new Asm().mov64(R0, XdpAction.TX).exit(), name: "tx" });
 * const lf = new LiveFrames(tx, frame, { ifindex: queryXdp("eth0").ifindex, batchSize: 64 });
 * const rc = lf.send(1_000_000); // frames sent, or -errno
 * if (rc < 0) console.error(`live frames: errno ${-rc}`);
 */
export class LiveFrames {
  private readonly attr: Uint8Array;
  private readonly dv: DataView;
  // Held so the addresses in attr stay valid.
  private readonly frame: Uint8Array;
  private readonly ctx = new Uint8Array(XDP_MD_SIZE);

  constructor(prog: Program | number, frame: Uint8Array, opts: { ifindex: number; rxQueueIndex?: number; batchSize?: number }) {
    const { attr, dv } = newAttr();
    this.attr = attr;
    this.dv = dv;
    this.frame = frame.slice();
    fillCtx(this.ctx, this.frame.byteLength, { ingressIfindex: opts.ifindex, rxQueueIndex: opts.rxQueueIndex ?? 0 });
    dv.setUint32(0, typeof prog === "number" ? prog : prog.fd, true);
    dv.setUint32(8, this.frame.byteLength, true);
    setPtr(dv, 16, this.frame);
    dv.setUint32(40, XDP_MD_SIZE, true);
    setPtr(dv, 48, this.ctx);
    dv.setUint32(64, BPF_F_TEST_XDP_LIVE_FRAMES, true);
    dv.setUint32(72, opts.batchSize ?? 0, true);
  }

  /** Sends `count` frames; returns `count`, or -errno on failure (no throw: callers count errors). */
  send(count: number): number {
    this.dv.setUint32(32, count, true); // repeat
    const rc = sys.bpf(BpfCmd.PROG_TEST_RUN, this.attr);
    return rc < 0 ? rc : count;
  }

  /** Sends `count` frames or throws a SysError (control path, tests). */
  sendOrThrow(count: number): void {
    check(this.send(count), () => `BPF_PROG_TEST_RUN live frames x${count}`, hint);
  }
}
