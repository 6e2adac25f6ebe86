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
export { Chnl, HandleQueue, MAX_CHANNELS, UDP_HEADROOM } from "./chnl.js";
export type { StackPort } from "./context.js";
export type { ArpTimers } from "./nodes/arp.js";
