export * from "./seqnum.js";
