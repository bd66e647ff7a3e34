/** Zero-copy header views and builders. */
export * from "./checksum.js";
export * from "./ethernet.js";
export * from "./arp.js";
export * from "./ipv4.js";
export * from "./ipv6.js";
export * from "./icmp.js";
export * from "./udp.js";
export * from "./tcp.js";
