/** pktdev: logical ports with one burst API over the af_xdp, ring and null drivers. */
export { Lport, newPortState, type LportInfo, type LportShared } from "./lport.js";
export { NullPort, type NullShared } from "./null.js";
export { RingPort, type RingPortShared } from "./ring-port.js";
export { AfXdpPort, type AfXdpOptions, type AfXdpShared } from "./af-xdp.js";
export { DriverRegistry, builtinDrivers, openShared, threadPool, type PortOpener } from "./registry.js";
