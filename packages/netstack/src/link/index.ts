export * from "./endpoint.js";
export * from "./channel.js";
export * from "./loopback.js";
export * from "./impairment.js";
export * from "./pcap.js";
export * from "./tap.js";
