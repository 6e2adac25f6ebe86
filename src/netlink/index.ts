/** netlink: a minimal rtnetlink client (links, addresses, routes) and network namespaces by path. */
export { NetlinkSocket, NLM_F, type NlMessage, type NetlinkOptions } from "./socket.js";
export { AttrWriter, Attrs, NLA_F_NESTED, align4 } from "./attr.js";
export {
  RTM, IFLA, IFLA_XDP, XDP_FLAGS, XDP_ATTACHED, IFF_UP, IFF_RUNNING, IFF_LOWER_UP, IFF_LOOPBACK,
  listLinks, getLink, findLink, setLinkUp, setLinkMtu, setLinkMac, renameLink, setLinkNetns, setLinkXdp,
  addLink, deleteLink, parseLink, linkStats,
  type Link, type LinkXdp, type LinkStats, type Dev, type NetnsTarget, type LinkSpec,
} from "./link.js";
export { listAddrs, addAddr, deleteAddr, parseAddr, IFA_F, type Addr, type AddrOptions } from "./addr.js";
export { listRoutes, addRoute, deleteRoute, parseRoute, RT_TABLE, RT_SCOPE, RTPROT, RTN, type Route, type RouteSpec } from "./route.js";
export { parseIp, formatIp, parseCidr, networkOf, afOf, familyOfAf, AF_INET, AF_INET6, type Cidr, type IpFamily } from "./ip.js";
export { withNetns, openNetns, netnsPath } from "./netns.js";
