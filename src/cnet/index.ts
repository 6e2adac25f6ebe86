/**
 * cnet: a user-space network stack over the packet graph (CNDP's cnet): tables learned from Linux over
 * rtnetlink, ARP, IPv4, ICMP echo and errors, UDP with CNDP's chnl_* channel API. See stack.ts for the
 * graph, learn.ts for what is learned and how, chnl.ts for the channels.
 */
export { NetTables, MAX_IFACES, MAX_ADDRS4, MAX_NEXTHOPS, FIB_NO_ROUTE, type NetTablesShared, type NetIface, type NetRoute4 } from "./tables.js";
export { ArpTable, ARP_FREE, ARP_INCOMPLETE, ARP_REACHABLE, ARP_STALE, ARP_PERMANENT, type ArpTableShared, type ArpTableOptions, type ArpEntry } from "./arp-table.js";
export { LinuxLearner, NeighbourFeed, FEED_WORDS, FEED_PERMANENT, FEED_DELETE, type LearnerOptions, type LearnerCounters } from "./learn.js";
export { CnetCounters, COUNTER_NAMES, C, type CounterName } from "./counters.js";
export { CnetStack, type CnetStackOptions } from "./stack.js";
export {
  Chnl, HandleQueue, MAX_CHANNELS, UDP_HEADROOM, CHNL_EV_READABLE, CHNL_EV_WRITABLE, CHNL_EV_ACCEPT, CHNL_EV_CONNECTED, CHNL_EV_EOF,
  CHNL_EV_RESET, CHNL_EV_CLOSED, CHNL_EV_ERROR, type ChnlCallback,
} from "./chnl.js";
export { TcpConnTable, TCP_CONN_WORDS, type TcpConnInfo, type TcpConnTableShared } from "./tcp/conn-table.js";
export { TcpEngine, type TcpOptions } from "./tcp/engine.js";
export { TCP_STATE_NAMES } from "./tcp/states.js";
export { TCP_COUNTER_NAMES } from "./tcp/counter-names.js";
export { frameAt, type StackPort, type StackCtx } from "./context.js";
export type { Ip6Ctx } from "./ip6/context.js";
export { ChainIo } from "./frag/chain-io.js";
export type { ArpTimers } from "./nodes/arp.js";
export { ReasmTable, type ReasmOptions } from "./frag/reasm.js";
export { IcmpRateLimit, type IcmpRateOptions } from "./frag/icmp-rate.js";
export { FRAG_COUNTER_NAMES } from "./frag/counter-names.js";
export { openPuntTap, type PuntOptions, type PuntTap, type PuntTapOptions } from "./punt.js";
export { MAX_ADDRS6, MAX_NEXTHOPS6, type NetAddr6, type NetRoute6 } from "./tables.js";
export { FEED_IP6, FEED6_WORDS } from "./learn.js";
export { NdTable, ND_FREE, ND_INCOMPLETE, ND_REACHABLE, ND_STALE, ND_PERMANENT, type NdTableShared, type NdTableOptions, type NdEntry } from "./ip6/nd-table.js";
export { Ip6Addrs, ADDR6_NONE, ADDR6_TENTATIVE, ADDR6_PREFERRED, ADDR6_DUPLICATE, MAX_ADDRS6_PER_STACK, type Ip6AddrsShared, type Ip6AddrInfo } from "./ip6/addrs.js";
export type { Nd6Timers } from "./ip6/timer.js";
export { IP6_COUNTER_NAMES } from "./ip6/counter-names.js";
export {
  StackHost, CnetSocket, CnetServer, createServer, connect, createConnection,
  type StackHostOptions, type StackHostStats, type CnetSocketOptions, type CnetConnectOptions, type CnetServerOptions, type CnetListenOptions,
  type TcpChannelApi, type StreamStack,
} from "./stream/index.js";
