import { timingSafeEqual } from 'node:crypto';
import { Packr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import { HmacSha256 } from './hmac.js';
import type { Keyring, SiteKey } from './keys.js';
import { HEADER_BYTES, MAGIC0, MAGIC1, MAX_DATAGRAM_BYTES, TAG_BYTES, WIRE_VERSION } from './wire-constants.js';

/**
 * Datagram layout (docs/protocol.md):
 *   0..1  magic "GM"        2  version (1)        3  key id (1..255)
 *   4..n-33  msgpack payload: the envelope        n-32..n-1  HMAC-SHA256 tag over bytes 0..n-33
 * Pure: no I/O, no clock. The transport is a thin file beside it.
 */
export { HEADER_BYTES, MAGIC0, MAGIC1, MAX_DATAGRAM_BYTES, TAG_BYTES, WIRE_VERSION };
/** CoAP's advice for an unknown path MTU; larger payloads (status summary) are paged. */
export const TARGET_DATAGRAM_BYTES = 1152;

export interface Envelope {
  site: string;
  from: string;
  to: string;
  verb: string;
  /** Grows on every restart of the sender (persisted before its first send). */
  inc: number;
  /** Grows with every datagram within one incarnation. */
  id: number;
  /** Sender's wall clock, ms since the epoch; bounds replays across receiver restarts. */
  at: number;
  body: unknown;
}

// Records (shared structures) break under loss and reordering: every datagram stands alone.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' });

/** One HMAC state per installed key, made when the key is first used (hmac.ts says why). */
const macs = new WeakMap<SiteKey, HmacSha256>();
function macOf(key: SiteKey): HmacSha256 {
  let m = macs.get(key);
  if (!m) {
    m = new HmacSha256(key.secret, MAX_DATAGRAM_BYTES);
    macs.set(key, m);
  }
  return m;
}

export function encodeDatagram(env: Envelope, keyring: Keyring): Buffer {
  const key = keyring.sendingKey();
  const payload = packr.pack(env);
  const total = HEADER_BYTES + payload.length + TAG_BYTES;
  if (total > MAX_DATAGRAM_BYTES) {
    throw new ProtocolError('oversized', `datagram of ${total} bytes exceeds ${MAX_DATAGRAM_BYTES}; page it`);
  }
  const out = Buffer.allocUnsafe(total);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = WIRE_VERSION;
  out[3] = key.id;
  payload.copy(out, HEADER_BYTES);
  out.set(macOf(key).digest(out.subarray(0, total - TAG_BYTES)), total - TAG_BYTES);
  return out;
}

/**
 * Authenticate, then parse. The tag is checked before msgpack sees a byte, so only key holders
 * can reach the parser at all (HMAC costs ~2 µs here; parsing forged input is the bigger risk).
 * Returns the envelope with `body` still unvalidated: the verb schemas do that.
 */
export function decodeDatagram(buf: Uint8Array, keyring: Keyring): { envelope: Envelope; keyId: number } {
  if (buf.length > MAX_DATAGRAM_BYTES) throw new ProtocolError('oversized', `${buf.length} bytes`);
  if (buf.length < HEADER_BYTES + TAG_BYTES + 1) throw new ProtocolError('too_short', `${buf.length} bytes`);
  if (buf[0] !== MAGIC0 || buf[1] !== MAGIC1) throw new ProtocolError('bad_magic', 'not a galera-minder datagram');
  if (buf[2] !== WIRE_VERSION) throw new ProtocolError('bad_version', `wire version ${buf[2]}, expected ${WIRE_VERSION}`);
  const keyId = buf[3] as number;
  const key = keyring.verifyingKey(keyId);
  if (!key) throw new ProtocolError('unknown_key', `key id ${keyId} is not installed`);
  const signedEnd = buf.length - TAG_BYTES;
  const expected = macOf(key).digest(buf.subarray(0, signedEnd));
  if (!timingSafeEqual(expected, buf.subarray(signedEnd))) {
    throw new ProtocolError('bad_signature', `tag does not verify with key id ${keyId}`);
  }
  let raw: unknown;
  try {
    raw = packr.unpack(buf.subarray(HEADER_BYTES, signedEnd));
  } catch (err) {
    throw new ProtocolError('malformed', `payload is not msgpack: ${(err as Error).message}`);
  }
  return { envelope: checkEnvelope(raw), keyId };
}

function checkEnvelope(raw: unknown): Envelope {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ProtocolError('malformed', 'payload is not a map');
  }
  const r = raw as Record<string, unknown>;
  for (const f of ['site', 'from', 'to', 'verb'] as const) {
    if (typeof r[f] !== 'string' || (r[f] as string).length === 0 || (r[f] as string).length > 64) {
      throw new ProtocolError('malformed', `envelope field ${f} missing or not a short string`);
    }
  }
  for (const f of ['inc', 'id', 'at'] as const) {
    const v = r[f];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new ProtocolError('malformed', `envelope field ${f} missing or not a non-negative integer`);
    }
  }
  return {
    site: r.site as string,
    from: r.from as string,
    to: r.to as string,
    verb: r.verb as string,
    inc: r.inc as number,
    id: r.id as number,
    at: r.at as number,
    body: r.body,
  };
}
