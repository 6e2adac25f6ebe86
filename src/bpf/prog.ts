/**
 * BPF programs: a {@link ProgramSpec} (plain data) that {@link Program.load} turns into a live program.
 * A failed load is retried with a verifier log buffer, and the log goes into the error
 * ({@link VerifierError}). Program info (id, name, tag) by fd, and fds by id or pin.
 *
 * Layouts: uapi/linux/bpf.h (`union bpf_attr` for BPF_PROG_LOAD, `struct bpf_prog_info`).
 *
 * @example
 * const prog = Program.load({ type: ProgType.XDP, name: "pass", insns: new Asm().mov64(R0, XdpAction.PASS).exit() });
 * try { console.log(prog.info().id); } finally { prog.close(); }
 */
import { sys } from "../sys/native.js";
import { SysError, errnoName } from "../sys/errno.js";
import { FdHandle } from "../sys/fd-handle.js";
import { Asm } from "./asm.js";
import {
  BpfCmd, OBJ_NAME_LEN, bpfCall, cString, cPath, expectFdKind, fdById, newAttr, nextIds, objGet, objInfo, objPin, permHint, setObjName, setPtr,
} from "./syscall.js";

/** enum bpf_prog_type (a few). */
export const ProgType = { SOCKET_FILTER: 1, SCHED_CLS: 3, SCHED_ACT: 4, XDP: 6 } as const;

/** enum bpf_attach_type values used with XDP. */
export const AttachType = { XDP_CPUMAP: 35, XDP: 37, XDP_DEVMAP: 38 } as const;

/**
 * prog_flags bit BPF_F_XDP_HAS_FRAGS (uapi/linux/bpf.h): the XDP program handles multi-buffer frames
 * (libbpf sets it for SEC("xdp.frags")). Without it the kernel refuses to attach the program in native
 * mode to a netdev whose MTU needs more than one page per frame, and generic (skb) mode linearizes every
 * skb before running it.
 *
 * @example
 * const prog = Program.load({ type: ProgType.XDP, name: "pass", flags: BPF_F_XDP_HAS_FRAGS, insns: new Asm().mov64(R0, XdpAction.PASS).exit() });
 */
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;

/** A program to load: plain data. */
export interface ProgramSpec {
  type: number;
  /** Assembled instructions, or an {@link Asm} to assemble. */
  insns: Uint8Array | Asm;
  /** License string; GPL-only helpers need a GPL-compatible one. Default "Dual BSD/GPL". */
  license?: string;
  /** At most 15 of [A-Za-z0-9_.]. */
  name?: string;
  /** expected_attach_type; XDP programs default to BPF_XDP as libbpf does for SEC("xdp"). */
  expectedAttachType?: number;
  /** prog_flags (BPF_F_*, e.g. BPF_F_XDP_HAS_FRAGS = 32). */
  flags?: number;
  /** Verifier log level for the retry after a failure (default 1; 2 = every instruction). */
  logLevel?: number;
}

/** struct bpf_prog_info, as far as we use it. */
export interface ProgramInfo {
  type: number;
  id: number;
  name: string;
  /** The program's tag (a hash of its instructions) as 16 hex digits, as bpftool shows it. */
  tag: string;
  /** ids of the maps the program uses. */
  mapIds: number[];
  /** Bytes of translated instructions; 8 per instruction. */
  xlatedLen: number;
}

/**
 * A program load the verifier refused: `log` holds the whole verifier log.
 *
 * @example
 * try {
 *   Program.load({ type: ProgType.XDP, insns: new Asm().exit(), name: "bad" }); // R0 never set
 * } catch (e) {
 *   if (!(e instanceof VerifierError)) throw e;
 *   console.error(e.message, e.log); // "... R0 !read_ok"
 * }
 */
export class VerifierError extends SysError {
  readonly log: string;
  constructor(what: string, errno: number, log: string) {
    super(what, errno, formatLog(log));
    this.name = "VerifierError";
    this.log = log;
  }
}

const LOG_TAIL_LINES = 60;

function formatLog(log: string): string {
  const lines = log.trimEnd().split("\n");
  if (lines.length === 0 || (lines.length === 1 && lines[0] === "")) return "verifier log is empty";
  const shown = lines.length > LOG_TAIL_LINES
    ? [`... ${lines.length - LOG_TAIL_LINES} earlier lines in err.log`, ...lines.slice(-LOG_TAIL_LINES)]
    : lines;
  return `verifier log:\n${shown.join("\n")}`;
}

const PROG_INFO_SIZE = 232; // sizeof(struct bpf_prog_info), 6.1

/** Reads struct bpf_prog_info of a program fd. */
export function progInfoByFd(fd: number): ProgramInfo {
  const info = new Uint8Array(PROG_INFO_SIZE);
  const dv = new DataView(info.buffer);
  objInfo(fd, info, "program");
  let nrMaps = dv.getUint32(52, true); // nr_map_ids
  let mapIds: number[] = [];
  if (nrMaps > 0) {
    // Second call with a buffer for the map ids; every other array pointer stays 0.
    const ids = new Uint32Array(nrMaps);
    info.fill(0);
    dv.setUint32(52, nrMaps, true);
    setPtr(dv, 56, ids); // map_ids
    objInfo(fd, info, "program");
    nrMaps = Math.min(nrMaps, dv.getUint32(52, true));
    mapIds = Array.from(ids.subarray(0, nrMaps));
  }
  return {
    type: dv.getUint32(0, true),
    id: dv.getUint32(4, true),
    tag: Array.from(info.subarray(8, 16), (b) => b.toString(16).padStart(2, "0")).join(""),
    xlatedLen: dv.getUint32(20, true),
    name: cString(info.subarray(64, 64 + OBJ_NAME_LEN)),
    mapIds,
  };
}

/**
 * A live BPF program, owning its fd: close it with `close()` or `using`. Attachments and pins keep it
 * loaded after that.
 *
 * @example
 * const prog = Program.load({ type: ProgType.XDP, insns: new Asm().mov64(R0, XdpAction.PASS).exit(), name: "pass" });
 * console.log(prog.id, prog.info().tag);
 * prog.close();
 */
export class Program extends FdHandle {
  readonly type: number;
  readonly name: string;

  private constructor(fd: number, type: number, name: string) {
    super(fd);
    this.type = type;
    this.name = name;
  }

  /**
   * Loads a program (BPF_PROG_LOAD). On failure loads again with a verifier log and throws a
   * {@link VerifierError} carrying it (or a SysError when the log is empty, e.g. EPERM).
   */
  static load(spec: ProgramSpec): Program {
    const insns = spec.insns instanceof Asm ? spec.insns.assemble() : spec.insns;
    const name = spec.name ?? "";
    if (insns.byteLength === 0 || insns.byteLength % 8 !== 0) {
      throw new RangeError(`Invalid program '${name}': ${insns.byteLength} bytes of instructions, expected a non-zero multiple of 8`);
    }
    const license = cPath(spec.license ?? "Dual BSD/GPL");
    const { attr, dv } = newAttr();
    const expected = spec.expectedAttachType ?? (spec.type === ProgType.XDP ? AttachType.XDP : 0);
    const fill = (log: Uint8Array | null, level: number) => {
      attr.fill(0);
      dv.setUint32(0, spec.type, true); // prog_type
      dv.setUint32(4, insns.byteLength / 8, true); // insn_cnt
      setPtr(dv, 8, insns); // insns
      setPtr(dv, 16, license); // license
      dv.setUint32(24, log ? level : 0, true); // log_level
      dv.setUint32(28, log ? log.byteLength : 0, true); // log_size
      setPtr(dv, 32, log); // log_buf
      dv.setUint32(44, spec.flags ?? 0, true); // prog_flags
      setObjName(attr, 48, name, "program"); // prog_name
      dv.setUint32(68, expected, true); // expected_attach_type
    };
    const what = () => `BPF_PROG_LOAD ${progTypeName(spec.type)} '${name}' (${insns.byteLength / 8} insns)`;
    fill(null, 0);
    const rc = sys.bpf(BpfCmd.PROG_LOAD, attr);
    if (rc >= 0) return FdHandle.closeOnThrow(rc, () => new Program(rc, spec.type, name));
    if (rc === -1 /* EPERM */) bpfCall(BpfCmd.PROG_LOAD, attr, what, permHint);

    // Retry with a log. The kernel reports the size it needed in log_true_size (6.4+) on ENOSPC.
    let size = 1 << 20;
    for (let attempt = 0; attempt < 4; attempt++) {
      const log = new Uint8Array(size);
      fill(log, spec.logLevel ?? 1);
      const rc2 = sys.bpf(BpfCmd.PROG_LOAD, attr);
      if (rc2 >= 0) return FdHandle.closeOnThrow(rc2, () => new Program(rc2, spec.type, name)); // loaded this time (e.g. a transient ENOMEM)
      const text = cString(log);
      if (rc2 === -28 /* ENOSPC */ && size < 1 << 28) {
        const need = dv.getUint32(140, true); // log_true_size
        size = Math.max(size * 4, need + 1);
        continue;
      }
      if (text.length === 0) throw new SysError(what(), -rc2, permHint(errnoName(-rc2)));
      throw new VerifierError(what(), -rc2, text);
    }
    throw new SysError(what(), -rc, "the verifier log did not fit in 256 MiB");
  }

  /** Takes ownership of a program fd after checking it is one; when the check fails the fd stays the caller's. */
  static fromFd(fd: number): Program {
    expectFdKind(fd, "prog", "Program.fromFd");
    const info = progInfoByFd(fd);
    return new Program(fd, info.type, info.name);
  }

  /** Opens a program by id (BPF_PROG_GET_FD_BY_ID). */
  static fromId(id: number): Program {
    const fd = fdById(BpfCmd.PROG_GET_FD_BY_ID, id, "program");
    return FdHandle.closeOnThrow(fd, () => {
      const info = progInfoByFd(fd);
      return new Program(fd, info.type, info.name);
    });
  }

  /** Opens the program pinned at `path`. */
  static fromPin(path: string): Program {
    const fd = objGet(path, "program");
    return FdHandle.closeOnThrow(fd, () => {
      expectFdKind(fd, "prog", `pin '${path}'`);
      const info = progInfoByFd(fd);
      return new Program(fd, info.type, info.name);
    });
  }

  /** The kernel's view of this program (id, name, tag, map ids). */
  info(): ProgramInfo {
    return progInfoByFd(this.fd);
  }

  /** The program's id. */
  get id(): number {
    return this.info().id;
  }

  /** Pins the program at `path` in a bpffs. */
  pin(path: string): void {
    objPin(this.fd, path, `program '${this.name}'`);
  }
}

/** Ids of all loaded programs. */
export function programIds(): number[] {
  return [...nextIds(BpfCmd.PROG_GET_NEXT_ID, "program")];
}

function progTypeName(type: number): string {
  const n = Object.entries(ProgType).find(([, v]) => v === type)?.[0];
  return n ? n.toLowerCase() : `type ${type}`;
}
