import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadBootstrapFile, parseBootstrap, parseEndpoint, readDbPassword } from '../../src/site/bootstrap.js';
import { ConfigError } from '../../src/site/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'minder-boot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pw = join(dir, 'db.password');
writeFileSync(pw, 's3cret-pw\n', { mode: 0o600 });

const good = {
  as: 'dbserver:2',
  site: 'shop-prod',
  database: { nodes: ['10.0.1.11:3306', 'db-east-2', '[fd00::1]:3307', '/run/mysqld/mysqld.sock'], user: 'minder', passwordFile: 'db.password' },
  keys: { send: 1, files: [{ id: 1, path: 'site.key' }] },
  stateDir: 'state',
};

function write(name: string, doc: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof doc === 'string' ? doc : stringify(doc));
  return p;
}

function problems(doc: unknown): string[] {
  try {
    loadBootstrapFile(write('b.yaml', doc));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('bootstrap file', () => {
  it('reads identity, database nodes, keys and state dir; relative paths resolve beside the file; defaults filled', () => {
    const b = loadBootstrapFile(write('minder.yaml', good));
    expect(b.as).toBe('dbserver:2');
    expect(b.site).toBe('shop-prod');
    expect(b.database.nodes).toEqual([
      { label: '10.0.1.11:3306', host: '10.0.1.11', port: 3306 },
      { label: 'db-east-2', host: 'db-east-2', port: 3306 },
      { label: '[fd00::1]:3307', host: 'fd00::1', port: 3307 },
      { label: '/run/mysqld/mysqld.sock', socketPath: '/run/mysqld/mysqld.sock' },
    ]);
    expect(b.database).toMatchObject({ user: 'minder', passwordFile: pw, schema: 'minder', connectTimeoutMs: 2000, queryTimeoutMs: 5000 });
    expect(b.keys).toEqual({ send: 1, files: [{ id: 1, path: join(dir, 'site.key') }] });
    expect(b.stateDir).toBe(join(dir, 'state'));
    expect(readDbPassword(b.database)).toBe('s3cret-pw');
  });

  it('keys, as and stateDir are optional (the site config keys, the host address, /var/lib/minder)', () => {
    const b = parseBootstrap(stringify({ site: 's', database: { nodes: ['h'], user: 'u', passwordFile: '/p' } }), 'b', '/etc/minder');
    expect(b.as).toBeUndefined();
    expect(b.keys).toBeUndefined();
    expect(b.stateDir).toBe('/var/lib/minder');
  });

  const cases: Array<[string, (d: typeof good) => unknown, RegExp]> = [
    ['unknown field', (d) => ({ ...d, extra: 1 }), /^\(top\): Unrecognized key: "extra"/],
    ['bad party name', (d) => ({ ...d, as: 'proxy:1' }), /^as: write type:serial/],
    ['no nodes', (d) => ({ ...d, database: { ...d.database, nodes: [] } }), /^database\.nodes: /],
    ['bad endpoint', (d) => ({ ...d, database: { ...d.database, nodes: ['a:b:c'] } }), /^database\.nodes\[0\]: "a:b:c" is not host, host:port/],
    ['port out of range', (d) => ({ ...d, database: { ...d.database, nodes: ['h:70000'] } }), /^database\.nodes\[0\]: "h:70000": port 70000 is out of range/],
    ['duplicate node', (d) => ({ ...d, database: { ...d.database, nodes: ['h:1', 'h:1'] } }), /^database\.nodes\[1\]: h:1 is listed twice/],
    ['schema with a quote', (d) => ({ ...d, database: { ...d.database, schema: 'x`; DROP' } }), /^database\.schema: a schema name is/],
    ['bad duration', (d) => ({ ...d, database: { ...d.database, connectTimeout: 'soon' } }), /^database\.connectTimeout: "soon" is not a duration/],
    ['send key not listed', (d) => ({ ...d, keys: { send: 2, files: [{ id: 1, path: '/k' }] } }), /^keys\.send: key id 2 is not among keys\.files/],
    ['bad site', (d) => ({ ...d, site: 'a site' }), /^site: a site name is/],
  ];
  for (const [name, edit, expected] of cases) {
    it(`refuses ${name} with one line naming the field`, () => {
      const p = problems(edit(good));
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(expected);
    });
  }

  it('refuses a password file others can read, or one that is missing', () => {
    const open = join(dir, 'open.password');
    writeFileSync(open, 'x\n', { mode: 0o644 });
    chmodSync(open, 0o644);
    expect(problems({ ...good, database: { ...good.database, passwordFile: open } })).toEqual([
      `database.passwordFile: password file ${open} is readable by group or others (mode 0644); run: chmod 600 ${open}`,
    ]);
    expect(problems({ ...good, database: { ...good.database, passwordFile: 'nope' } })[0]).toMatch(/database\.passwordFile: password file .*nope cannot be read: ENOENT/);
  });

  it('reports unreadable YAML and a missing file as one line each', () => {
    expect(problems('site: [unclosed')).toEqual([expect.stringMatching(/^not valid YAML\/JSON: /)]);
    expect(() => loadBootstrapFile(join(dir, 'missing.yaml'))).toThrow(/cannot read: ENOENT/);
  });

  it('accepts the shipped example bootstrap file', () => {
    const text = readFileSync(new URL('../../config/minder.example.yaml', import.meta.url), 'utf8');
    const b = parseBootstrap(text, 'minder.example.yaml', '/etc/minder');
    expect(b).toMatchObject({ as: 'dbserver:2', site: 'shop-prod', stateDir: '/var/lib/minder', database: { user: 'minder_config', schema: 'minder', connectTimeoutMs: 2000 } });
    expect(b.database.nodes).toHaveLength(4);
  });

  it('parses endpoints strictly', () => {
    expect(parseEndpoint('127.0.0.11')).toEqual({ label: '127.0.0.11', host: '127.0.0.11', port: 3306 });
    expect(typeof parseEndpoint('host:0')).toBe('string');
    expect(typeof parseEndpoint('relative/sock')).toBe('string');
    expect(typeof parseEndpoint('[::1')).toBe('string');
  });
});
