/**
 * The resolved, typed form of a CNDP jcfg file (`fwd.jsonc`), after defaults, unit conversion,
 * reference checks and `lport-groups` expansion.
 *
 * The file keeps CNDP's key names; the typed form uses camelCase and absolute units, like CNDP's own
 * in-memory structs (`jcfg_umem_t.bufcnt` is already multiplied by 1024). Mapping, file → typed:
 *
 * | section | file key | typed field | unit / default |
 * | --- | --- | --- | --- |
 * | application | name, description \| desc | `application.name`, `.description` | "" |
 * | defaults | bufcnt | `defaults.bufcnt` | file ×1024 buffers; default 16 → 16384 |
 * | | bufsz | `defaults.bufsz` | file ×1024 bytes; default 2 → 2048 |
 * | | rxdesc, txdesc | `defaults.rxdesc`, `.txdesc` | file ×1024 descriptors; default 2 → 2048 |
 * | | cache | `defaults.cache` | mempool cache entries; default 256 |
 * | | mtype | `defaults.mtype` | "4KB" \| "2MB" \| "1GB"; default "4KB" |
 * | | burst (xdplane) | `defaults.burst` | packets per burst; default 64 (CNDP's DEFAULT_BURST_SIZE) |
 * | umems.NAME | bufcnt, bufsz, rxdesc, txdesc, mtype | `umems.get(NAME).*` | as defaults; absent or 0 → defaults |
 * | | regions: [n, ...] | `.regions` | file ×1024 buffers each; must add up to bufcnt; absent → [bufcnt] |
 * | | shared_umem | `.sharedUmem` | false |
 * | lports."NETDEV:TAG" | (key) | `.name`, `.netdev`, `.tag` | netdev is the part before ':' |
 * | | pmd "name[:opts]" | `.pmd`, `.pmdOpts` | required |
 * | | qid, umem | `.qid`, `.umem` | required |
 * | | region | `.region` | 0 |
 * | | busy_poll \| busy_polling | `.busyPoll` | false |
 * | | busy_timeout | `.busyTimeout` | ms; 0 or absent → 20 (CNDP's AF_XDP_DFLT_BUSY_TIMEOUT) |
 * | | busy_budget | `.busyBudget` | 0 or absent → 64 (AF_XDP_DFLT_BUSY_BUDGET); 0xFFFF = disabled |
 * | | force_wakeup, skb_mode | `.forceWakeup`, `.skbMode` | false |
 * | | unaligned_buffers (xdplane) | `.unalignedBuffers` | false |
 * | | multi_buffer (xdplane) | `.multiBuffer` | false; net_af_xdp only; the same on every lport of a shared_umem UMEM |
 * | | xsk_pin_path, uds_path | `.xskPinPath`, `.udsPath` | either makes `.unprivileged` true |
 * | | unprivileged \| inhibit_prog_load (older CNDP) | `.unprivileged` | false |
 * | lcore-groups.NAME | [cpu \| "a-b", ...] | `lcoreGroups.get(NAME).lcores` | sorted, unique |
 * | options.KEY | bool \| string \| integer \| array of one kind | `options.get(KEY)` | |
 * | threads."TYPE[:ID]" | group | `.group`, `.lcores` | "default" when absent |
 * | | lports | `.lports` | plus those given by lport-groups |
 * | | idle_timeout, intr_timeout | `.idleTimeout`, `.intrTimeout` | ms; 0 = off |
 * | lport-groups.NAME | netdevs, queues, threads, pmd, umem, busy_*, ... | `lportGroups.get(NAME)` | lports "NETDEV:QID" made for each queue |
 * | users.NAME | any JSON | `users.get(NAME)` | untouched |
 */
import type { SourceLocation, KeyPath } from "./source.js";

/** Any JSON value, as found in `users`, custom sections and object-valued options. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A value in `options` (or an unknown key of `defaults`): CNDP's obj_value_t. */
export type OptionValue =
  | boolean
  | number
  | string
  | readonly boolean[]
  | readonly number[]
  | readonly string[]
  | { readonly [key: string]: JsonValue };

/** Page size for the UMEM mapping (CNDP's mmap types; huge pages fall back to 4KB at allocation). */
export type MemType = "4KB" | "2MB" | "1GB";

/** `application`: who this configuration is for. Other keys are kept in `extra`. */
export interface Application {
  readonly name: string;
  readonly description: string;
  readonly extra: ReadonlyMap<string, OptionValue>;
}

/** `defaults`, with CNDP's fallbacks applied and units resolved. */
export interface Defaults {
  /** Buffers in a UMEM when a umem gives none (file value × 1024). */
  readonly bufcnt: number;
  /** Bytes per buffer (frame) (file value × 1024): 2048 or 4096. */
  readonly bufsz: number;
  /** RX ring descriptors (file value × 1024). */
  readonly rxdesc: number;
  /** TX ring descriptors (file value × 1024). */
  readonly txdesc: number;
  /** Mempool per-thread cache size, in buffers (0..256). */
  readonly cache: number;
  /** Page size for UMEM mappings. */
  readonly mtype: MemType;
  /** Packets per rx/tx burst (xdplane; CNDP apps take it on their command line). 1..256. */
  readonly burst: number;
  /** Keys of `defaults` that xdplane does not use, kept for apps (`jcfg_default_get`). */
  readonly extra: ReadonlyMap<string, OptionValue>;
}

/** `umems.NAME`: one UMEM area split into regions, one buffer pool per region. */
export interface Umem {
  readonly name: string;
  /** Position among umems (CNDP's umem idx). */
  readonly index: number;
  /** Total buffers (frames). */
  readonly bufcnt: number;
  /** Bytes per buffer (frame size). */
  readonly bufsz: number;
  readonly mtype: MemType;
  /** Buffers in each region; they add up to `bufcnt`. */
  readonly regions: readonly number[];
  /** First buffer index of each region (`regions` summed before it). */
  readonly regionBase: readonly number[];
  /** RX and fill ring descriptors for sockets on this UMEM. */
  readonly rxdesc: number;
  /** TX and completion ring descriptors for sockets on this UMEM. */
  readonly txdesc: number;
  /** Sockets share the UMEM (xsk_socket__create_shared). */
  readonly sharedUmem: boolean;
  readonly description: string;
  /** True for the "lport-group" UMEM created for lport-groups that name none. */
  readonly auto: boolean;
}

/** `lports."NETDEV:TAG"`: one queue of one netdev (an AF_XDP socket), or a virtual port. */
export interface Lport {
  /** The key, e.g. "eth0:0". */
  readonly name: string;
  /** Position among lports (CNDP's lpid): file order, then lports made by lport-groups. */
  readonly index: number;
  /** The netdev: the part of the name before ':' (the whole name if it has none). */
  readonly netdev: string;
  /** The part of the name after ':' ("" when none). */
  readonly tag: string;
  /** The driver, e.g. "net_af_xdp" (the part of `pmd` before ':'). */
  readonly pmd: string;
  /** Driver options: the part of `pmd` after ':', if any. */
  readonly pmdOpts: string | undefined;
  /** Queue id on the netdev. */
  readonly qid: number;
  /** Name of the UMEM (a key of `umems`). */
  readonly umem: string;
  /** Region index in the UMEM; its buffers feed this lport. */
  readonly region: number;
  readonly busyPoll: boolean;
  /**
   * Value for SO_BUSY_POLL (the kernel counts microseconds; CNDP's docs say milliseconds and pass the
   * number through unchanged, as we do). 1..65535.
   */
  readonly busyTimeout: number;
  /** SO_BUSY_POLL_BUDGET; 0xFFFF means disabled. */
  readonly busyBudget: number;
  /** Always kick TX (sendto) instead of relying on need_wakeup. */
  readonly forceWakeup: boolean;
  /** Attach XDP in generic (SKB) mode and bind in copy mode. */
  readonly skbMode: boolean;
  /** UMEM with XDP_UMEM_UNALIGNED_CHUNK_FLAG. */
  readonly unalignedBuffers: boolean;
  /**
   * AF_XDP multi-buffer: jumbo frames as descriptor chains (XDP_USE_SG, a frags-aware XDP program); the
   * port receives and sends mbuf chains (mem/chain.ts).
   */
  readonly multiBuffer: boolean;
  /** Do not load or attach an XDP program: the xsk map fd comes from `udsPath` or `xskPinPath`. */
  readonly unprivileged: boolean;
  /** Path of a pinned xsks map (bpffs) to insert the socket into. */
  readonly xskPinPath: string | undefined;
  /** Path of the device plugin's Unix socket that hands out the xsks map fd. */
  readonly udsPath: string | undefined;
  readonly description: string;
  /** The lport-group that made this lport, if any. */
  readonly lportGroup: string | undefined;
  /** The thread that polls this lport, if any. */
  readonly thread: string | undefined;
}

/** `lcore-groups.NAME`: CPUs a thread of this group may run on. */
export interface LcoreGroup {
  readonly name: string;
  /** Sorted CPU numbers. */
  readonly lcores: readonly number[];
}

/** `threads."TYPE[:ID]"`: a thread the app starts, its CPUs and the lports it polls. */
export interface Thread {
  /** The key, e.g. "fwd:0". */
  readonly name: string;
  /** Position among threads (file order). */
  readonly index: number;
  /** The part of the name before ':' ("main", "fwd", ...): apps pick the thread function by it. */
  readonly type: string;
  /** The part after ':' if any. */
  readonly id: string | undefined;
  /**
   * The lcore-group: as given, or "default" when not given and that group exists; undefined when not
   * given and there is no "default" group (the thread is not pinned).
   */
  readonly group: string | undefined;
  /** CPUs of the group (empty: not pinned). */
  readonly lcores: readonly number[];
  /** Lports this thread polls, in order: its own list, then those given by lport-groups. */
  readonly lports: readonly string[];
  /** Milliseconds without packets before the thread goes idle (0: never). */
  readonly idleTimeout: number;
  /** Milliseconds to wait for an interrupt when idle (0: CNDP's default wait). */
  readonly intrTimeout: number;
  readonly description: string;
}

/** `lport-groups.NAME`: lports made for each listed queue of each netdev, spread over threads. */
export interface LportGroup {
  readonly name: string;
  readonly netdevs: readonly string[];
  /** Queue ids used on every netdev, ascending; "all" when every queue of each netdev is used. */
  readonly queues: readonly number[] | "all";
  /** Threads the lports are dealt to, round-robin. */
  readonly threads: readonly string[];
  readonly pmd: string;
  readonly umem: string;
  /** Names of the lports made ("NETDEV:QID"), in the order they were dealt. */
  readonly lports: readonly string[];
  readonly description: string;
}

/** Where each key of the file was: for apps that report their own errors about options or users. */
export interface ConfigSource {
  readonly file: string;
  /** Location of the value at a key path, or of the key when `key` is true. */
  locate(path: KeyPath, key?: boolean): SourceLocation | undefined;
}

/** A whole configuration, ready for the runtime. Maps keep the file's order. */
export interface AppConfig {
  readonly application: Application;
  readonly defaults: Defaults;
  readonly umems: ReadonlyMap<string, Umem>;
  readonly lports: ReadonlyMap<string, Lport>;
  readonly lcoreGroups: ReadonlyMap<string, LcoreGroup>;
  readonly options: ReadonlyMap<string, OptionValue>;
  readonly threads: ReadonlyMap<string, Thread>;
  readonly lportGroups: ReadonlyMap<string, LportGroup>;
  /** `users`: free objects for the app, untouched. */
  readonly users: ReadonlyMap<string, JsonValue>;
  /** Top-level sections jcfg does not define (apps register them with `ParseOptions.sections`). */
  readonly sections: ReadonlyMap<string, JsonValue>;
  readonly source: ConfigSource;
}
