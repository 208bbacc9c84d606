import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadArbitratorRecords } from '../../src/roles/arbitrator/records.js';
import { DECISIONS_KEY } from '../../src/roles/dbserver/core.js';
import { loadLocalCopy } from '../../src/site/config-source.js';
import { LocalState, LocalStateError, STATE_SCHEMA_VERSION } from '../../src/state/local-state.js';
import { REPO } from '../support/repo.js';

// test/fixtures/state/*-v0.sqlite were written by main at 76d2153, before the state file had a
// schema version (test/fixtures/state/make-v0.mjs says how).
const dir = mkdtempSync(join(tmpdir(), 'minder-state-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fixture(name: string): string {
  const to = join(dir, `${name}-${Math.random().toString(36).slice(2)}.sqlite`);
  copyFileSync(join(REPO, 'test/fixtures/state', `${name}.sqlite`), to);
  return to;
}

function raw(path: string): { version: number; kv: Record<string, string> } {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT key, value FROM kv').all() as Array<{ key: string; value: string }>;
    return { version: db.pragma('user_version', { simple: true }) as number, kv: Object.fromEntries(rows.map((r) => [r.key, r.value])) };
  } finally {
    db.close();
  }
}

describe('the state file schema version', () => {
  it("opens an arbitrator's file written before the version existed: records, local config copy and incarnation carry on", () => {
    const path = fixture('arbitrator-v0');
    const before = raw(path);
    expect(before.version).toBe(0);
    const s = LocalState.open(path);
    expect(s.schemaVersion()).toBe(STATE_SCHEMA_VERSION);
    expect(s.nextIncarnation()).toBe(4);
    const records = loadArbitratorRecords((k) => s.get(k));
    expect(records.decisions.length).toBeGreaterThanOrEqual(1);
    expect(records.directives.drained).toContain('dbserver:4');
    expect(loadLocalCopy(s)?.version).toBe(4);
    s.close();
    // Nothing the old code wrote was changed on the way.
    expect(raw(path).kv).toEqual(before.kv);
    expect(raw(path).version).toBe(STATE_SCHEMA_VERSION);
  });

  it("opens a dbserver's file written before the version existed: its concluded decisions are still known", () => {
    const s = LocalState.open(fixture('dbserver-v0'));
    expect(s.get<Array<{ id: string; outcome: string }>>(DECISIONS_KEY)?.map((d) => [d.id, d.outcome])).toEqual([['d-1', 'carried_out']]);
    expect(s.nextIncarnation()).toBe(4);
    s.close();
  });

  it('a new file gets the current version', () => {
    const path = join(dir, 'new.sqlite');
    LocalState.open(path).close();
    expect(raw(path).version).toBe(STATE_SCHEMA_VERSION);
  });

  it('refuses a file from a newer galera-minder, says what to do, and leaves it as it was', () => {
    const path = fixture('dbserver-v0');
    LocalState.open(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${STATE_SCHEMA_VERSION + 1}`);
    db.close();
    const before = raw(path);
    let err: unknown;
    try {
      LocalState.open(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LocalStateError);
    expect((err as LocalStateError).code).toBe('STATE_NEWER');
    expect((err as Error).message).toMatch(
      new RegExp(`written by a newer galera-minder \\(state schema ${STATE_SCHEMA_VERSION + 1}; this one reads up to ${STATE_SCHEMA_VERSION}\\): upgrade galera-minder on this host`),
    );
    expect(raw(path)).toEqual(before);
  });
});
