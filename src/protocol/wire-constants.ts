/**
 * The datagram's fixed numbers, shared by src/protocol/datagram.ts and the wsrep_notify_cmd
 * hook's lean encoder (src/hook/wire.ts). No imports, so the hook can load it without loading
 * the protocol (msgpackr, zod): its start-up is on mariadbd's path at every state change.
 */
export const MAGIC0 = 0x47;
export const MAGIC1 = 0x4d;
export const WIRE_VERSION = 1;
export const HEADER_BYTES = 4;
export const TAG_BYTES = 32;
/** Hard limit: nothing bigger is parsed at all. */
export const MAX_DATAGRAM_BYTES = 8192;
