import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { minderSync } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'minder-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function siteFile(name: string, edit: (text: string) => string = (t) => t): string {
  const key = join(dir, 'site.key');
  writeFileSync(key, `${'cd'.repeat(32)}\n`, { mode: 0o600 });
  const text = readFileSync(new URL('../../config/site.example.yaml', import.meta.url), 'utf8').replace('/etc/minder/site.key', key);
  const path = join(dir, name);
  writeFileSync(path, edit(text));
  return path;
}

describe('minder CLI', () => {
  it('teaches with --help at every level and documents exit codes', () => {
    const top = minderSync(['--help']);
    expect(top.code).toBe(0);
    for (const cmd of ['run', 'notify', 'command', 'config', 'keygen']) expect(top.stdout).toContain(`minder ${cmd}`);
    expect(top.stdout).toMatch(/Exit codes:[\s\S]*2 +bad command line or config/);
    const run = minderSync(['run', '--help']);
    expect(run.stdout).toMatch(/--config[\s\S]*--as[\s\S]*dbserver:2/);
  });

  it('refuses an unknown command with exit 2', () => {
    const r = minderSync(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/minder: Unknown argument: frobnicate/);
  });

  it('config check prints the site, or each problem on one line with exit 2', () => {
    const ok = minderSync(['config', 'check', siteFile('ok.yaml')]);
    expect(ok.stdout).toMatch(/site shop-prod: 7 parties, data centres dc-east \(priority 1\), dc-west \(priority 2\)/);
    expect(ok.code).toBe(0);
    const bad = minderSync(['config', 'check', siteFile('bad.yaml', (t) => t.replace('failoverPeriod: 10s', 'failoverPeriod: soon').replace('nodeName: db-east-1', 'nodeName: 7'))]);
    expect(bad.code).toBe(2);
    const lines = bad.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => /bad\.yaml: timings\.failoverPeriod: "soon" is not a duration/.test(l))).toBe(true);
    expect(lines.some((l) => /bad\.yaml: parties\[1\]\.nodeName: /.test(l))).toBe(true);
    const dup = minderSync(['config', 'check', siteFile('dup.yaml', (t) => t.replace('id: dbserver:2', 'id: dbserver:1'))]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/dup\.yaml: parties\[2\]\.id: duplicate serial dbserver:1/);
  });

  it('run starts nothing when the config is broken or a key file is readable by others', () => {
    const broken = minderSync(['run', '-c', siteFile('broken.yaml', (t) => t.replace('site: shop-prod', 'site: "shop prod!"')), '--as', 'arbitrator:1']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/site: a site name is/);
    const cfg = siteFile('perms.yaml');
    chmodSync(join(dir, 'site.key'), 0o644);
    const perms = minderSync(['run', '-c', cfg, '--as', 'arbitrator:1']);
    expect(perms.code).toBe(2);
    expect(perms.stderr).toMatch(/key file .*site\.key is readable by group or others \(mode 0644\); run: chmod 600/);
    const who = minderSync(['run', '-c', siteFile('who.yaml')]);
    expect(who.code).toBe(2);
    expect(who.stderr).toMatch(/no party of the site config has an address of this host .*--as/);
  });

  it('keygen writes a 0600 key and never overwrites one', () => {
    const k = join(dir, 'new.key');
    // As root the default owner is the minder user, which this host may not have.
    expect(minderSync(['keygen', k, ...(process.getuid?.() === 0 ? ['--owner', 'root'] : [])]).code).toBe(0);
    expect(readFileSync(k, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    const again = minderSync(['keygen', k]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/EEXIST.*never overwritten/);
  });
});
