/**
 * `net_memif` options from the jsonc (`"pmd": "net_memif:role=server,socket=/run/memif.sock,id=0"`),
 * named as DPDK's net_memif devargs where DPDK has them: `role`, `id`, `socket`, `socket-abstract`,
 * `secret`, `rsize`, `bsize`, `mac`, `zero-copy`; xdplane's own: `queues`, `reconnect_ms`, `shm_size`.
 * CNDP's form `net_memif:server` / `net_memif:client` (a bare role) is accepted too. Pure: no system calls.
 */
import { MAX_LOG2_RING_SIZE, SECRET_SIZE } from "./memif-proto.js";

/** Which end of the protocol a port is: the client creates the shared memory, the server maps it. */
export type MemifRole = "server" | "client";

/** Parsed `net_memif` options. */
export interface MemifPmdOptions {
  role: MemifRole;
  /** Interface id (0 to 2^32-1): a server's interfaces on one socket are told apart by it. */
  id: number;
  /** Control socket path (default /run/memif.sock, as DPDK). */
  socket: string;
  /** Bind/connect in the abstract namespace (DPDK's default: yes): the path is then a name, no file. */
  socketAbstract: boolean;
  /** Shared secret (at most 23 bytes); a server with one refuses clients without it. Empty: none. */
  secret: string;
  /** log2 of the ring size (1 to 14, default 10: 1024 descriptors). A server's is the largest it accepts. */
  rsize: number;
  /** Packet buffer size in the client's region (64 to 65535, default 2048). */
  bsize: number;
  /** Queue pairs of the interface (1 to 16, default 1): lport qid q drives pair q. */
  queues: number;
  /** MAC address reported by the port; undefined: a random locally administered one (as DPDK). */
  mac: string | undefined;
  /** Client: milliseconds between connection attempts (default 1000; 0: never retry). */
  reconnectMs: number;
  /** Server: bytes of address space reserved for a client's regions (default 256 MiB; only what is mapped uses memory). */
  shmSize: number;
}

/** The defaults (DPDK's for its keys). */
export const MEMIF_PMD_DEFAULTS: MemifPmdOptions = {
  role: "client", id: 0, socket: "/run/memif.sock", socketAbstract: true, secret: "", rsize: 10, bsize: 2048,
  queues: 1, mac: undefined, reconnectMs: 1000, shmSize: 256 << 20,
};

/** Queue pairs an interface may have. */
export const MEMIF_MAX_QUEUES = 16;

const KNOWN = ["role", "id", "socket", "socket-abstract", "secret", "rsize", "bsize", "queues", "mac", "zero-copy", "reconnect_ms", "shm_size"] as const;
const PMD = "net_memif";

function int(key: string, v: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new RangeError(`${PMD} option '${key}=${v}': expected an integer from ${min} to ${max}`);
  return n;
}

function yesNo(key: string, v: string): boolean {
  if (v === "yes" || v === "1" || v === "true") return true;
  if (v === "no" || v === "0" || v === "false") return false;
  throw new RangeError(`${PMD} option '${key}=${v}': expected yes or no`);
}

function role(v: string): MemifRole {
  if (v === "server" || v === "master") return "server";
  if (v === "client" || v === "slave") return "client";
  throw new RangeError(`${PMD} option 'role=${v}': expected server or client (or master/slave)`);
}

/**
 * Parses `net_memif` options (the part of `pmd` after ':'). Throws a RangeError naming the option.
 *
 * @example
 * const o = parseMemifOptions("role=server,socket=/run/memif.sock,id=3,secret=abc,rsize=11");
 * // o.role === "server", o.id === 3, o.rsize === 11, o.bsize === 2048
 */
export function parseMemifOptions(opts: string | undefined): MemifPmdOptions {
  const o: MemifPmdOptions = { ...MEMIF_PMD_DEFAULTS };
  if (opts === undefined || opts === "") return o;
  const seen = new Set<string>();
  for (const part of opts.split(",")) {
    const eq = part.indexOf("=");
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (key === "") throw new RangeError(`${PMD} options "${opts}": an empty option (expected key=value pairs separated by ',')`);
    if (eq < 0 && ["server", "client", "master", "slave"].includes(key)) {
      if (seen.has("role")) throw new RangeError(`${PMD} option 'role' is given twice`);
      seen.add("role");
      o.role = role(key);
      continue;
    }
    if (!(KNOWN as readonly string[]).includes(key)) throw new RangeError(`${PMD} option '${key}' is unknown (known: ${KNOWN.join(", ")})`);
    if (seen.has(key)) throw new RangeError(`${PMD} option '${key}' is given twice`);
    seen.add(key);
    if (eq < 0) throw new RangeError(`${PMD} option '${key}' needs a value (${key}=...)`);
    const v = part.slice(eq + 1);
    switch (key) {
      case "role":
        o.role = role(v);
        break;
      case "id":
        o.id = int(key, v, 0, 0xffffffff);
        break;
      case "socket":
        if (v === "") throw new RangeError(`${PMD} option 'socket': expected a path (socket=/run/memif.sock)`);
        if (Buffer.byteLength(v) > 106) throw new RangeError(`${PMD} option 'socket=${v}': ${Buffer.byteLength(v)} bytes, at most 106`);
        o.socket = v;
        break;
      case "socket-abstract":
        o.socketAbstract = yesNo(key, v);
        break;
      case "secret":
        if (Buffer.byteLength(v) > SECRET_SIZE - 1) throw new RangeError(`${PMD} option 'secret': ${Buffer.byteLength(v)} bytes, at most ${SECRET_SIZE - 1}`);
        o.secret = v;
        break;
      case "rsize":
        o.rsize = int(key, v, 1, MAX_LOG2_RING_SIZE);
        break;
      case "bsize":
        o.bsize = int(key, v, 64, 65535);
        break;
      case "queues":
        o.queues = int(key, v, 1, MEMIF_MAX_QUEUES);
        break;
      case "mac":
        if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v)) throw new RangeError(`${PMD} option 'mac=${v}': expected xx:xx:xx:xx:xx:xx`);
        o.mac = v.toLowerCase();
        break;
      case "zero-copy":
        if (yesNo(key, v)) throw new RangeError(`${PMD} option 'zero-copy=${v}': zero-copy is not implemented (packets are copied between the pool and the memif buffers)`);
        break;
      case "reconnect_ms":
        o.reconnectMs = int(key, v, 0, 3_600_000);
        break;
      case "shm_size":
        o.shmSize = int(key, v, 1 << 20, 2 ** 31 - (1 << 20));
        break;
    }
  }
  if (!o.socketAbstract && !o.socket.startsWith("/")) throw new RangeError(`${PMD} option 'socket=${o.socket}': a filesystem socket path must be absolute (or socket-abstract=yes)`);
  return o;
}
