import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusFileWatch } from '../../src/roles/dbserver/status-file-watch.js';
import { waitUntil } from '../support/wait.js';

function recorder() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { info: at('info'), warn: at('warn') } as unknown as ConstructorParameters<typeof StatusFileWatch>[1] };
}

describe('the wsrep_status_file doorbell', () => {
  const dirs: string[] = [];
  const watches: StatusFileWatch[] = [];
  afterEach(() => {
    for (const w of watches.splice(0)) w.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('rings when mariadbd rewrites the file, in place or by rename, and not for other files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minder-status-'));
    dirs.push(dir);
    let rings = 0;
    const { lines, logger } = recorder();
    const w = new StatusFileWatch(() => rings++, logger);
    watches.push(w);
    w.set(join(dir, 'wsrep-status.json'));
    expect(lines.map((l) => l.obj['event'])).toEqual(['status_file_watched']);
    writeFileSync(join(dir, 'other.json'), '{}');
    writeFileSync(join(dir, 'wsrep-status.json'), '{"status":{"state":"SYNCED"}}');
    await waitUntil('a ring', 5000, () => rings > 0, 10);
    const after = rings;
    writeFileSync(join(dir, 'wsrep-status.json.tmp'), '{}');
    await new Promise((r) => setTimeout(r, 100));
    expect(rings).toBe(after);
  });

  it('a directory it cannot watch is said once, with the reason, and nothing throws; null stops watching', async () => {
    const { lines, logger } = recorder();
    let rings = 0;
    const w = new StatusFileWatch(() => rings++, logger);
    watches.push(w);
    w.set('/nonexistent-minder-dir/wsrep-status.json');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('warn');
    expect(lines[0]?.obj).toMatchObject({ event: 'status_file_unwatchable', code: 'ENOENT' });
    expect(lines[0]?.msg).toMatch(/hook and the periodic reading only/);
    // The same path again is not retried on every connection.
    w.set('/nonexistent-minder-dir/wsrep-status.json');
    expect(lines).toHaveLength(1);
    const dir = mkdtempSync(join(tmpdir(), 'minder-status-'));
    dirs.push(dir);
    w.set(join(dir, 's.json'));
    w.set(null);
    writeFileSync(join(dir, 's.json'), '{}');
    await new Promise((r) => setTimeout(r, 100));
    expect(rings).toBe(0);
  });
});
