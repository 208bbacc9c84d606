// The database-config commands where no database answers: what an operator sees, and that
// nothing starts. Needs no mariadbd (127.0.0.1:1 refuses connections), only the compiled CLI.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { minderSync } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'minder-cfgdb-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pw = join(dir, 'db.password');
writeFileSync(pw, 'x\n', { mode: 0o600 });
const key = join(dir, 'site.key');
writeFileSync(key, `${'ab'.repeat(32)}\n`, { mode: 0o600 });

function bootstrap(name: string, extra: Record<string, unknown> = {}): string {
  const p = join(dir, name);
  writeFileSync(
    p,
    stringify({
      as: 'arbitrator:1',
      site: 'shop-prod',
      database: { nodes: ['127.0.0.1:1', '127.0.0.1:2'], user: 'minder', passwordFile: pw, connectTimeout: '500ms' },
      keys: { send: 1, files: [{ id: 1, path: key }] },
      stateDir: join(dir, 'state'),
      ...extra,
    }),
  );
  return p;
}

describe('minder with a bootstrap file and no database', () => {
  it('run takes exactly one of --config and --bootstrap', () => {
    const both = minderSync(['run', '--config', 'a.yaml', '--bootstrap', 'b.yaml']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/mutually exclusive/);
    const neither = minderSync(['run']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/^minder: give --config FILE \(the whole site config in a file\) or --bootstrap FILE/);
    expect(minderSync(['run', '--help']).stdout).toMatch(/--bootstrap[\s\S]*from the database, else from the local copy/);
  });

  it('run starts nothing without a database and without a local copy (exit 5), naming every node', () => {
    const r = minderSync(['run', '--bootstrap', bootstrap('minder.yaml')]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /minder\.yaml: no config database node answered: 127\.0\.0\.1:1: connection refused \(mariadbd down\?\); 127\.0\.0\.1:2: connection refused \(mariadbd down\?\); .*arbitrator-1\.sqlite holds no local copy of the site config/,
    );
  });

  it('run refuses a bootstrap file with a mistake, or a password file others can read (exit 2)', () => {
    const bad = minderSync(['run', '--bootstrap', bootstrap('bad.yaml', { database: { nodes: ['h:99999'], user: 'u', passwordFile: pw } })]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml: database\.nodes\[0\]: "h:99999": port 99999 is out of range/);
    const open = join(dir, 'open.password');
    writeFileSync(open, 'x\n');
    chmodSync(open, 0o644);
    const perms = minderSync(['run', '--bootstrap', bootstrap('perms.yaml', { database: { nodes: ['h'], user: 'u', passwordFile: open } })]);
    expect(perms.code).toBe(2);
    expect(perms.stderr).toMatch(/perms\.yaml: database\.passwordFile: password file .*open\.password is readable by group or others \(mode 0644\); run: chmod 600/);
  });

  it('push checks the document before it talks to the database; show and diff say no node answered (exit 5)', () => {
    const boot = bootstrap('minder.yaml');
    const text = readFileSync(new URL('../../config/site.example.yaml', import.meta.url), 'utf8');
    const bad = join(dir, 'bad-site.yaml');
    writeFileSync(bad, text.replace('failoverPeriod: 10s', 'failoverPeriod: soon'));
    const invalid = minderSync(['config', 'push', bad, '--bootstrap', boot]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^minder: .*bad-site\.yaml: timings\.failoverPeriod: "soon" is not a duration/);
    const good = join(dir, 'site.yaml');
    writeFileSync(good, text);
    const push = minderSync(['config', 'push', good, '--bootstrap', boot]);
    expect(push.code).toBe(5);
    expect(push.stderr).toBe('minder: no config database node answered\n  127.0.0.1:1: connection refused (mariadbd down?)\n  127.0.0.1:2: connection refused (mariadbd down?)\n');
    expect(minderSync(['config', 'show', '--bootstrap', boot]).code).toBe(5);
    expect(minderSync(['config', 'diff', '--bootstrap', boot]).code).toBe(5);
    const env = minderSync(['config', 'show'], { env: { MINDER_BOOTSTRAP: boot } });
    expect(env.code).toBe(5);
  });
});
