/**
 * lookup: the tables a router, gateway or firewall looks packets up in (CNDP's cne_hash, cne_fib/cne_rib,
 * cne_acl, cne_meter): a cuckoo hash, IPv4/IPv6 longest-prefix match, an ACL classifier and srTCM/trTCM
 * meters, all in SharedArrayBuffers so the control thread writes while worker threads look up bursts
 * without allocating; QSBR and a shared slot tell workers about changes.
 *
 * @example
 * import { Fib4, parsePrefix4, FIB_NO_ROUTE } from "xdplane/lookup";
 * const fib = Fib4.create();
 * const p = parsePrefix4("198.18.0.0/15");
 * fib.add(p.ip, p.depth, 1);
 * console.log(fib.lookup(0xc6120001) === 1, fib.lookup(0x0a000001) === FIB_NO_ROUTE);
 *
 * @module
 */
export * from "./fib/index.js";
export * from "./hash/index.js";
export * from "./acl/index.js";
export * from "./meter/index.js";
export * from "./addr.js";
export * from "./qsbr.js";
export * from "./shared-slot.js";
