import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalState } from '../../src/state/local-state.js';

const dir = mkdtempSync(join(tmpdir(), 'minder-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local state', () => {
  it('grows the incarnation at every open, durably', () => {
    const path = join(dir, 'a', 'dbserver-1.sqlite');
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = LocalState.open(path);
      seen.push(s.nextIncarnation());
      s.close();
    }
    expect(seen).toEqual([1, 2, 3]);
  });

  it('keeps role state across reopen', () => {
    const path = join(dir, 'kv.sqlite');
    const s = LocalState.open(path);
    s.put('decision:abc', { id: 'abc', view: ['u1', 'u2'] });
    s.close();
    const t = LocalState.open(path);
    expect(t.get('decision:abc')).toEqual({ id: 'abc', view: ['u1', 'u2'] });
    expect(t.get('missing')).toBeUndefined();
    t.close();
  });

  it('refuses a corrupt file with a clear error', () => {
    const path = join(dir, 'corrupt.sqlite');
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    expect(() => LocalState.open(path)).toThrow(/state file .*corrupt\.sqlite is unusable .*move it aside/);
  });

  it('refuses a state directory it cannot create, naming the file', () => {
    const notADir = join(dir, 'plain-file');
    writeFileSync(notADir, '');
    expect(() => LocalState.open(join(notADir, 'x.sqlite'))).toThrow(/cannot open state file .*plain-file\/x\.sqlite/);
  });
});
