/** Generic constants of the Linux socket and memory APIs (x86_64 and arm64 agree on these). */

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const AF_XDP = 44;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;
export const SO_PEERCRED = 17;
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const SO_BUSY_POLL = 46;
export const SO_PREFER_BUSY_POLL = 69;
export const SO_BUSY_POLL_BUDGET = 70;

export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_TRUNC = 0x20;

export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_HUGETLB = 0x40000;
export const MAP_HUGE_SHIFT = 26;
export const MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;
export const MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;

export const CLONE_NEWNET = 0x40000000;

export const EAGAIN = 11;
export const EINTR = 4;
export const EBUSY = 16;
export const ENOBUFS = 105;
export const ENETDOWN = 100;
export const EOPNOTSUPP = 95;
