import { MinderError } from '../errors.js';
/**
 * Every datagram the receive path refuses is dropped for exactly one of these reasons and
 * counted under it. The names are stable: they appear in logs, metrics and `status`.
 */
export const DROP_REASONS = [
  'too_short',
  'oversized',
  'bad_magic',
  'bad_version',
  'unknown_key',
  'bad_signature',
  'malformed',
  'wrong_site',
  'wrong_receiver',
  'unknown_sender',
  'wrong_address',
  'verb_not_allowed',
  'bad_body',
  'stale_timestamp',
  'replay',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** A datagram not taken: `reason` is the drop counter it is counted under. */
export class ProtocolError extends MinderError {
  declare readonly code: 'DATAGRAM_DROPPED';
  constructor(
    readonly reason: DropReason,
    message: string,
  ) {
    super('DATAGRAM_DROPPED', message);
  }
}
