import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../systemd/', import.meta.url));
const units = readdirSync(dir).filter((f) => f.endsWith('.service'));
const haveAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('systemd units', () => {
  it('ships one unit per long-lived role', () => {
    expect(units.sort()).toEqual(['minder-arbitrator.service', 'minder-dbclient.service', 'minder-dbserver.service']);
  });

  // systemd-analyze exits 0 on unknown keys and only warns: the check is that it says
  // nothing at all about our files.
  it.skipIf(!haveAnalyze)('pass systemd-analyze verify without a single warning about them', () => {
    for (const u of units) {
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, u)], { encoding: 'utf8' });
      const ours = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes(u));
      expect(ours, `${u}: ${ours.join('\n')}`).toEqual([]);
      expect(r.status, u).toBe(0);
    }
  });

  it('run hardened, as their own user, with journald priorities', () => {
    for (const u of units) {
      const text = readFileSync(join(dir, u), 'utf8');
      for (const line of [
        'User=minder',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'StateDirectory=minder',
        'Restart=on-failure',
        'StartLimitBurst=5',
        'Environment=MINDER_LOG_FORMAT=journal',
        'UMask=0077',
      ]) {
        expect(text, `${u} lacks ${line}`).toContain(line);
      }
    }
  });
});
