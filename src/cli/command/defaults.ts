/** Sends of an operator's request, one ack timeout apart, before `minder command` gives up. */
export const DEFAULT_TRIES = 3;
