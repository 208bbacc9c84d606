import { mkdtempSync, renameSync, rmSync, watch, writeFileSync } from 'node:fs';
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

/**
 * Runs `act` in `dir`, then writes a fence file and returns once a second watcher of the same
 * directory has seen the fence. Node delivers one directory's events to all its watchers in the
 * order the kernel gave them, so by then the doorbell has been told of everything `act` did: a
 * check for "no ring" after this is a real check, not a guess at how long events take.
 */
async function settled(dir: string, act: () => void): Promise<void> {
  const fence = `fence-${Math.random().toString(36).slice(2)}`;
  let seen = false;
  const witness = watch(dir, { persistent: false }, (_e, file) => {
    if (file === fence) seen = true;
  });
  try {
    act();
    writeFileSync(join(dir, fence), '');
    await waitUntil('the fence file to be seen', 10_000, () => seen, 5);
  } finally {
    witness.close();
  }
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
    await settled(dir, () => {
      writeFileSync(join(dir, 'other.json'), '{}');
      writeFileSync(join(dir, 'wsrep-status.json.tmp'), '{}');
    });
    expect(rings, 'other files in the directory do not ring').toBe(0);
    await settled(dir, () => writeFileSync(join(dir, 'wsrep-status.json'), '{"status":{"state":"SYNCED"}}'));
    expect(rings, 'the file rewritten in place rings').toBeGreaterThan(0);
    const after = rings;
    await settled(dir, () => {
      writeFileSync(join(dir, 'wsrep-status.json.tmp'), '{"status":{"state":"DONOR"}}');
      renameSync(join(dir, 'wsrep-status.json.tmp'), join(dir, 'wsrep-status.json'));
    });
    expect(rings, 'the file replaced by rename rings').toBeGreaterThan(after);
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
    await settled(dir, () => writeFileSync(join(dir, 's.json'), '{}'));
    expect(rings).toBe(0);
  });
});
