import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeDatagram, encodeDatagram, type Envelope, TAG_BYTES } from '../../src/protocol/datagram.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { Keyring } from '../../src/protocol/keys.js';

const env: Envelope = { site: 's', from: 'dbserver:1', to: 'arbitrator:1', verb: 'request_status', inc: 3, id: 9, at: 1_700_000_000_000, body: { a: [1, 2, 'x'] } };

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('datagram', () => {
  const k1 = { id: 1, secret: randomBytes(32) };
  const k2 = { id: 2, secret: randomBytes(32) };

  it('round-trips an envelope and names the key it was signed with', () => {
    const ring = new Keyring([k1], 1);
    const { envelope, keyId } = decodeDatagram(encodeDatagram(env, ring), ring);
    expect(envelope).toEqual(env);
    expect(keyId).toBe(1);
  });

  it('rejects any single flipped bit, in header, payload or tag', () => {
    const ring = new Keyring([k1], 1);
    const buf = encodeDatagram(env, ring);
    const reasons = new Set<string>();
    for (let i = 0; i < buf.length; i++) {
      const bad = Buffer.from(buf);
      bad[i] = (bad[i] as number) ^ 0x01;
      const r = reasonOf(() => decodeDatagram(bad, ring));
      expect(r).not.toBe('accepted');
      reasons.add(r);
    }
    expect(reasons).toEqual(new Set(['bad_magic', 'bad_version', 'unknown_key', 'bad_signature']));
  });

  it('refuses a datagram signed with a key this party does not hold', () => {
    const other = new Keyring([{ id: 1, secret: randomBytes(32) }], 1);
    expect(reasonOf(() => decodeDatagram(encodeDatagram(env, other), new Keyring([k1], 1)))).toBe('bad_signature');
  });

  it('accepts both keys during a rotation, and the old one no longer once it is removed', () => {
    const oldSender = new Keyring([k1], 1);
    const duringRotation = new Keyring([k1, k2], 2);
    const afterRotation = new Keyring([k2], 2);
    expect(reasonOf(() => decodeDatagram(encodeDatagram(env, oldSender), duringRotation))).toBe('accepted');
    expect(reasonOf(() => decodeDatagram(encodeDatagram(env, duringRotation), afterRotation))).toBe('accepted');
    expect(reasonOf(() => decodeDatagram(encodeDatagram(env, oldSender), afterRotation))).toBe('unknown_key');
  });

  it('refuses oversized and truncated datagrams before any crypto', () => {
    const ring = new Keyring([k1], 1);
    expect(reasonOf(() => decodeDatagram(Buffer.alloc(9000), ring))).toBe('oversized');
    expect(reasonOf(() => decodeDatagram(encodeDatagram(env, ring).subarray(0, 4 + TAG_BYTES), ring))).toBe('too_short');
    expect(() => encodeDatagram({ ...env, body: 'x'.repeat(9000) }, ring)).toThrow(/page it/);
  });

  it('keeps a typical status report under the 1152-byte target', async () => {
    const { dbStatusReport } = await import('../../src/protocol/verbs.js');
    const uuid = () => '0575a93c-e715-11f1-9f0d-6a3f8c1b2d4e';
    const body = dbStatusReport.parse({
      observedAt: Date.now(),
      dc: 'dc1',
      mariadb: 'up',
      recovered: null,
      decision: null,
      error: null,
      wsrep: {
        clusterStatus: 'Primary',
        localState: 'Synced',
        ready: true,
        connected: true,
        clusterSize: 4,
        stateUuid: uuid(),
        confId: 12,
        lastCommitted: 123456,
        nodeUuid: uuid(),
        members: [1, 2, 3, 4].map((i) => ({ uuid: uuid(), name: `n${i}`, address: `10.0.1.1${i}:3306` })),
        lastPrimary: { viewId: `${uuid()}:12`, members: [uuid(), uuid(), uuid(), uuid()] },
      },
    });
    const bytes = encodeDatagram({ ...env, verb: 'db_status_report', body }, new Keyring([k1], 1)).length;
    expect(bytes).toBeLessThan(1152);
  });
});
