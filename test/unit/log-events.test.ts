import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOG_EVENTS } from '../../src/log-events.js';
import { OUTCOME_CODES } from '../../src/protocol/verbs.js';
import { REPO } from '../support/repo.js';

/**
 * Issue 15 part 3: one list of event names. Role cores are held to it by the type checker; this
 * holds the rest of src/ (the daemons' direct logger calls) and docs/operations.md to it.
 */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Names built from a template in the code, documented as a family: `operator_<verb>`. */
const FAMILIES = ['decision_', 'operator_', 'make_primary_', 'start_mariadb_'];
const known = new Set<string>(LOG_EVENTS);

describe('one list of log event names', () => {
  it('every event name written in src/ is in LOG_EVENTS', () => {
    const unknown: string[] = [];
    for (const f of sources(join(REPO, 'src'))) {
      const text = readFileSync(f, 'utf8');
      // `{ event: 'x' }` in logger calls and log effects; `log('info', 'x', …)` in the cores' helpers.
      for (const m of text.matchAll(/\bevent: '([a-z_]+)'|\blog\('(?:debug|info|warn|error)', '([a-z_]+)'/g)) {
        const name = m[1] ?? m[2] ?? '';
        if (!known.has(name)) unknown.push(`${f.slice(REPO.length + 1)}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('the list has no duplicates and is sorted (one place to look a name up)', () => {
    expect([...LOG_EVENTS].sort()).toEqual([...LOG_EVENTS]);
    expect(known.size).toBe(LOG_EVENTS.length);
  });

  it('docs/operations.md explains every decision outcome code', () => {
    const doc = readFileSync(join(REPO, 'docs/operations.md'), 'utf8');
    const table = doc.slice(doc.indexOf('### Decision outcome codes'), doc.indexOf('## Logs'));
    expect(OUTCOME_CODES.filter((c) => !table.includes(`| \`${c}\` |`))).toEqual([]);
  });

  it('docs/operations.md explains every name', () => {
    const doc = readFileSync(join(REPO, 'docs/operations.md'), 'utf8');
    const logs = doc.slice(doc.indexOf('## Logs'), doc.indexOf('## Test-only hook'));
    const missing = LOG_EVENTS.filter((n) => !logs.includes(`\`${n}\``) && !FAMILIES.some((p) => n.startsWith(p) && logs.includes(`\`${p}<`)));
    expect(missing).toEqual([]);
  });
});
