import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { parseNotifyArgs } from '../../src/hook/notify-args.js';
import * as wire from '../../src/hook/wire.js';
import * as protocol from '../../src/protocol/datagram.js';
import { Keyring } from '../../src/protocol/keys.js';

/**
 * The hook's lean datagram code (src/hook/wire.ts) against the real one (src/protocol): the same
 * bytes for every wsrep_notify the hook can send, and the same envelope read from anything a
 * daemon can send it. If the protocol's encoding changes, these fail until the hook follows.
 */
const key = { id: 7, secret: randomBytes(32) };
const ring = new Keyring([key], 7);
// The protocol's own Packr settings (src/protocol/datagram.ts), for the value-level checks.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' });

const text = (max: number) =>
  fc.oneof(fc.string({ maxLength: max }), fc.string({ unit: 'grapheme', maxLength: max }), fc.constantFrom('', 'a'.repeat(31), 'a'.repeat(32), 'é'.repeat(16), 'x'.repeat(255), 'x'.repeat(256)));
const member = fc.record({ uuid: text(64), name: text(64), address: text(64) });
const notifyBody = fc.record({
  status: text(32),
  uuid: fc.option(text(64), { nil: null }),
  primary: fc.option(fc.boolean(), { nil: null }),
  index: fc.option(fc.integer({ min: -1, max: 70_000 }), { nil: null }),
  members: fc.option(fc.array(member, { maxLength: 20 }), { nil: null }),
  argv: fc.array(text(300), { maxLength: 32 }),
});
const ms = fc.oneof(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.constant(Date.now()), fc.integer({ min: 0, max: 0x1_0000_0000 }));
// Envelope names as the protocol accepts them: 1 to 64 UTF-16 units.
const name = fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), fc.constantFrom('wsrep_notify_cmd:2', 'dbserver:2', 'é'.repeat(64)));
const envelopeOf = <T>(body: fc.Arbitrary<T>) =>
  fc.record({ site: name, from: name, to: name, verb: name, inc: ms, id: ms, at: ms, body }).map((e) => ({
    // The key order both encoders write.
    site: e.site,
    from: e.from,
    to: e.to,
    verb: e.verb,
    inc: e.inc,
    id: e.id,
    at: e.at,
    body: e.body,
  }));

// Plain data as the daemons send it (no undefined, no bin): what the decoder must read alike.
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.double({ noNaN: true }),
    fc.maxSafeInteger(),
    text(300),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(
      text(20).filter((k) => k !== '__proto__'),
      tie('value'),
      { maxKeys: 20 },
    ),
  ),
})).value;

describe('the hook datagram code (src/hook/wire.ts) is byte-for-byte the protocol datagram code', () => {
  it('writes the same bytes as encodeDatagram for every wsrep_notify body', () => {
    fc.assert(
      fc.property(envelopeOf(notifyBody), (env) => {
        const want = protocol.encodeDatagram(env, ring);
        expect(wire.encodeWire(env, key).equals(want)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes the same bytes for the hook argument lists mariadbd really passes', () => {
    const members = Array.from({ length: 64 }, (_, i) => `0575a93c-e715-11f1-83d3-${String(i).padStart(12, '0')}/n${i}/127.0.0.${i}:3306`).join(',');
    for (const argv of [
      ['--status', 'synced', '--uuid', '05763165-e715-11f1-83d3-8b96d15d5227', '--primary', 'yes', '--index', '2', '--members', members],
      ['--status', 'disconnected', '--uuid', '05763165-e715-11f1-83d3-8b96d15d5227', '--primary', 'no', '--index', '-1'],
      ['--status', 'connected', '--primary', 'maybe', '--index', '99999', '--bogus'],
    ]) {
      const env = { site: 'lab', from: 'wsrep_notify_cmd:3', to: 'dbserver:3', verb: 'wsrep_notify', inc: Date.now(), id: 1, at: Date.now(), body: parseNotifyArgs(argv).body };
      expect(wire.encodeWire(env, key).equals(protocol.encodeDatagram(env, ring))).toBe(true);
    }
  });

  it('packs any plain value as the protocol Packr does', () => {
    fc.assert(
      fc.property(plain, (v) => {
        expect(wire.packPlain(v).equals(packr.pack(v))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads every envelope the protocol writes as decodeDatagram does, acks included', () => {
    fc.assert(
      fc.property(envelopeOf(fc.oneof(plain, fc.record({ verb: fc.constant('wsrep_notify'), inc: ms, id: ms }))), (env) => {
        const buf = protocol.encodeDatagram(env, ring);
        expect(wire.decodeWire(buf, key)).toEqual(protocol.decodeDatagram(buf, ring).envelope);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a datagram whose tag or key id is wrong, or any flipped bit', () => {
    const env = { site: 's', from: 'dbserver:1', to: 'wsrep_notify_cmd:1', verb: 'ack', inc: 3, id: 9, at: Date.now(), body: { verb: 'wsrep_notify', inc: Date.now(), id: 1 } };
    const buf = protocol.encodeDatagram(env, ring);
    expect(() => wire.decodeWire(buf, { id: 7, secret: randomBytes(32) })).toThrow(wire.WireError);
    expect(() => wire.decodeWire(buf, { id: 8, secret: key.secret })).toThrow(wire.WireError);
    for (let i = 0; i < buf.length; i++) {
      const bad = Buffer.from(buf);
      bad[i] = (bad[i] as number) ^ 0x01;
      expect(() => wire.decodeWire(bad, key)).toThrow(wire.WireError);
    }
  });
});

/** Static imports of a TypeScript file, `import type` left out (tsc erases those). */
function runtimeImports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
}

describe('the hook entry point loads nothing but node built-ins and its own files', () => {
  it('has no package (msgpackr, zod, pino, yargs, …) and no daemon module in its import graph', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/hook/main.ts');
    const seen = new Set<string>();
    const outside: string[] = [];
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of runtimeImports(file)) {
        if (spec.startsWith('node:')) continue;
        if (!spec.startsWith('.')) {
          outside.push(`${file}: ${spec}`);
          continue;
        }
        const target = join(dirname(file), spec.replace(/\.js$/, '.ts'));
        // The wire's fixed numbers are shared with the protocol, and the error base with every
        // module, through modules that import nothing.
        if (!target.includes('/src/hook/') && !target.endsWith('/src/protocol/wire-constants.ts') && !target.endsWith('/src/errors.ts')) outside.push(`${file}: ${spec}`);
        walk(target);
      }
    };
    walk(root);
    expect(outside).toEqual([]);
    expect([...seen].map((f) => f.replace(/.*\/src\//, 'src/')).sort()).toEqual([
      'src/errors.ts',
      'src/hook/forward.ts',
      'src/hook/hook-file.ts',
      'src/hook/main.ts',
      'src/hook/notify-args.ts',
      'src/hook/wire.ts',
      'src/protocol/wire-constants.ts',
    ]);
  });
});
