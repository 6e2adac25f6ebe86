/**
 * The XSK redirect program as libxdp (`xsk_def_prog`), CNDP and the AF_XDP device plugin use it: send each
 * frame to the AF_XDP socket registered in `xsks_map` at the frame's receive queue, or let it pass to the
 * kernel stack when that slot is empty:
 *
 *   return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
 *
 * bpf_redirect_map's flags argument carries the action for a failed lookup in its low bits (kernel 5.3+:
 * include/uapi/linux/bpf.h, "the lower two bits of *flags* are used as the return code if the map lookup
 * fails"). The map is an XSKMAP, u32 queue id -> u32 AF_XDP socket fd, 64 entries by default. For jumbo
 * frames (multi-buffer AF_XDP sockets) load it frags-aware: `loadXskRedirect({ frags: true })`.
 *
 * @example
 * const { map, prog } = loadXskRedirect();
 * const link = XdpLink.attach(prog, "eth1", { mode: "drv" });
 * map.updateU32(queueId, xskFd);
 */
import { Asm, Helper, R1, R2, R3, XdpAction, XdpMd } from "./asm.js";
import { BpfMap, MapType, type MapSpec } from "./map.js";
import { BPF_F_XDP_HAS_FRAGS, Program, ProgType } from "./prog.js";

/** The map's name in libxdp, CNDP and the device plugin (also the pin's file name). */
export const XSKS_MAP_NAME = "xsks_map";
/** libxdp's name for the program. */
export const XSK_PROG_NAME = "xsk_def_prog";
/** Default XSKMAP size (queues). */
export const XSKS_MAP_ENTRIES = 64;

/** The XSKMAP spec: u32 -> u32, `maxEntries` slots (default 64). */
export function xsksMapSpec(maxEntries = XSKS_MAP_ENTRIES): MapSpec {
  return { type: MapType.XSKMAP, keySize: 4, valueSize: 4, maxEntries, name: XSKS_MAP_NAME };
}

/** The program's instructions for an XSKMAP fd. */
export function xskRedirectAsm(mapFd: number): Asm {
  return new Asm()
    .ldx("w", R2, R1, XdpMd.rx_queue_index) // r2 = ctx->rx_queue_index
    .ldMapFd(R1, mapFd) // r1 = &xsks_map
    .mov64(R3, XdpAction.PASS) // r3 = XDP_PASS: the action when the slot is empty
    .call(Helper.redirect_map) // r0 = bpf_redirect_map(r1, r2, r3)
    .exit();
}

export interface XskRedirectOptions {
  /** Slots of a new map (queues), default 64. Ignored when `map` is given. */
  maxEntries?: number;
  /** Use this XSKMAP instead of creating one (the caller keeps owning it). */
  map?: BpfMap;
  /** Program name, default "xsk_def_prog". */
  name?: string;
  /**
   * Load the program frags-aware (BPF_F_XDP_HAS_FRAGS, libbpf's SEC("xdp.frags")), for multi-buffer
   * frames: jumbo frames on a netdev whose MTU needs more than one page per frame. The instructions are
   * the same (they read only the queue index); the flag lets the kernel attach it in native mode on such
   * a netdev (veth refuses a program without it above MTU 3506 with 4 KiB pages: ERANGE, "Peer MTU is too large
   * to set XDP") and pass multi-buffer frames to it unlinearized in skb mode. Sockets that did not bind
   * with XDP_USE_SG still get only frames that fit one of their buffers. Default false.
   */
  frags?: boolean;
}

/**
 * The loaded program and its map. `close()` (or `using`) closes the program and, when loadXskRedirect
 * created it, the map; attachments and pins keep them alive.
 */
export interface XskRedirect extends Disposable {
  map: BpfMap;
  prog: Program;
  close(): void;
}

/** Creates the XSKMAP (unless given) and loads the redirect program over it. */
export function loadXskRedirect(opts: XskRedirectOptions = {}): XskRedirect {
  const own = opts.map === undefined;
  const map = opts.map ?? BpfMap.create(xsksMapSpec(opts.maxEntries));
  try {
    if (map.type !== MapType.XSKMAP) throw new TypeError(`loadXskRedirect: map '${map.name}' is not an XSKMAP (type ${map.type})`);
    const prog = Program.load({
      type: ProgType.XDP, name: opts.name ?? XSK_PROG_NAME, insns: xskRedirectAsm(map.fd),
      ...(opts.frags ? { flags: BPF_F_XDP_HAS_FRAGS } : {}),
    });
    const close = (): void => {
      prog.close();
      if (own) map.close();
    };
    return { map, prog, close, [Symbol.dispose]: close };
  } catch (e) {
    if (own) map.close();
    throw e;
  }
}
