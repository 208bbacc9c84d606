import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './repo.js';

/**
 * The node flags a role's systemd unit starts `minder run` with, read from its ExecStart line
 * (systemd/minder-<role>.service), so that the lab and the benchmarks run each daemon exactly as
 * a host's unit does — one place for the flags, the unit itself.
 *   ExecStart=/usr/bin/node --max-semi-space-size=1 /opt/galera-minder/dist/src/minder.js run …
 */
export function unitNodeFlags(role: string): string[] {
  const unit = join(REPO, 'systemd', `minder-${role}.service`);
  const line = readFileSync(unit, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error(`${unit}: no ExecStart line`);
  const words = line.slice('ExecStart='.length).trim().split(/\s+/);
  const script = words.findIndex((w) => w.endsWith('/dist/src/minder.js'));
  if (!(words[0] ?? '').endsWith('/node') || script < 1) throw new Error(`${unit}: ExecStart is not "<node> [flags] …/dist/src/minder.js …": ${line}`);
  const flags = words.slice(1, script);
  const bad = flags.find((f) => !f.startsWith('--'));
  if (bad !== undefined) throw new Error(`${unit}: ${bad} is not a node flag`);
  return flags;
}
