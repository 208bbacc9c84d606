import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError, ERROR_CODES, EXIT, exitCodeOf, MinderError } from '../../src/errors.js';
import { ConfigError } from '../../src/site/load-config.js';
import { LocalStateError } from '../../src/state/local-state.js';
import { ArbitratorRecordError } from '../../src/roles/arbitrator/records.js';
import { LbError } from '../../src/roles/dbclient/lb/types.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { UdpTransportError } from '../../src/correspondents/udp-transport.js';
import { REPO } from '../support/repo.js';

/** Issue 15 part 3: one error base with stable codes, mapped to exit codes in one place. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('one error vocabulary', () => {
  it('every error class in src/ is a MinderError (only the base extends Error)', () => {
    const offenders = sources(join(REPO, 'src')).filter((f) => /extends Error\b/.test(readFileSync(f, 'utf8')) && !f.endsWith('/src/errors.ts'));
    expect(offenders).toEqual([]);
  });

  it('each error carries its stable code, its class name, and the exit code the one table gives', () => {
    const cases: Array<[MinderError, string, number]> = [
      [new ConfigError('site.yaml', ['timings.reportInterval: not a duration']), 'CONFIG_INVALID', EXIT.USAGE],
      [new LocalStateError('STATE_NEWER', 'written by a newer minder'), 'STATE_NEWER', EXIT.STATE],
      [new ArbitratorRecordError('arbitrator.decisions is damaged'), 'RECORD_CORRUPT', EXIT.STATE],
      [new UdpTransportError('UDP_BIND', 'address in use'), 'UDP_BIND', EXIT.NETWORK],
      [new LbError('LB_TIMEOUT', 'no answer'), 'LB_TIMEOUT', EXIT.FAILURE],
      [new ProtocolError('bad_signature', 'HMAC does not verify'), 'DATAGRAM_DROPPED', EXIT.FAILURE],
      [new CliError(EXIT.REFUSED, 'refused'), 'REFUSED', EXIT.REFUSED],
    ];
    for (const [err, code, exit] of cases) {
      expect(err).toBeInstanceOf(MinderError);
      expect(err.code).toBe(code);
      expect(err.exitCode).toBe(exit);
      expect(exitCodeOf(err)).toBe(exit);
      expect(err.name).toBe(err.constructor.name);
    }
    expect(exitCodeOf(new Error('a bug'))).toBe(EXIT.FAILURE);
  });

  it('docs/operations.md lists every code with its exit code', () => {
    const doc = readFileSync(join(REPO, 'docs/operations.md'), 'utf8');
    const missing = Object.entries(ERROR_CODES).filter(([code, exit]) => !new RegExp(`\\| \`${code}\` \\| ${exit} \\|`).test(doc));
    expect(missing.map(([c]) => c)).toEqual([]);
  });
});
