import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { resolveSelf } from '../../src/cli/identity.js';
import { ConfigError, duplicateJsonKey, loadKeyring, parseSiteConfig } from '../../src/site/load-config.js';
import { parseDuration } from '../../src/site/duration.js';

const dir = mkdtempSync(join(tmpdir(), 'minder-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const example = readFileSync(new URL('../../config/site.example.yaml', import.meta.url), 'utf8');

type Doc = Record<string, unknown> & { parties: Array<Record<string, unknown>> };
function mutate(fn: (d: Doc) => void): string {
  const d = parse(example) as Doc;
  fn(d);
  return stringify(d);
}
function problemsOf(text: string): string[] {
  try {
    parseSiteConfig(text, 'site.yaml', dir);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('site config', () => {
  it('accepts the shipped example, with defaults and durations in ms', () => {
    const cfg = parseSiteConfig(example, 'example', dir);
    expect(cfg.parties).toHaveLength(7);
    expect(cfg.timings.ackTimeout).toBe(3000);
    expect(cfg.timings.failoverPeriod).toBe(10_000);
    expect(cfg.parties.find((p) => p.id === 'dbserver:2')).toMatchObject({ weight: 1, mariadb: { port: 3306, user: 'minder' } });
  });

  it('a config without a timings block gets every default timing (zod 4 default() would leave it empty)', () => {
    const cfg = parseSiteConfig(
      mutate((d) => void delete d.timings),
      'no-timings',
      dir,
    );
    expect(cfg.timings).toEqual({
      reportInterval: 5000,
      ackTimeout: 3000,
      failoverPeriod: 10_000,
      staleAfter: 15_000,
      maxClockSkew: 5000,
      clockJump: 2000,
      tiltPeriod: 30_000,
      makePrimaryValidFor: 30_000,
      configRefresh: 60_000,
    });
  });

  it('the arbitrator store is local unless said; etcd takes several arbitrators, with defaults and paths resolved', () => {
    expect(parseSiteConfig(example, 'example', dir).arbitrator).toEqual({ store: 'local' });
    const cfg = parseSiteConfig(
      mutate((d) => {
        d.arbitrator = { store: 'etcd', etcd: { endpoints: ['https://10.0.1.5:2379', 'https://10.0.2.5:2379', 'https://10.0.3.5:2379'], tls: { ca: 'etcd-ca.pem', cert: 'me.pem', key: 'me.key' } } };
        d.parties.push({ id: 'arbitrator:2', host: '10.0.9.6', port: 4800 });
      }),
      'etcd',
      dir,
    );
    expect(cfg.arbitrator).toEqual({
      store: 'etcd',
      etcd: {
        endpoints: ['https://10.0.1.5:2379', 'https://10.0.2.5:2379', 'https://10.0.3.5:2379'],
        tls: { ca: join(dir, 'etcd-ca.pem'), cert: join(dir, 'me.pem'), key: join(dir, 'me.key') },
        leaseTtl: 5000,
        requestTimeout: 2000,
        followInterval: 1000,
      },
    });
    expect(cfg.parties.filter((p) => p.id.startsWith('arbitrator:'))).toHaveLength(2);
  });

  const cases: Array<[string, (d: Doc) => void, RegExp]> = [
    ['unknown party type', (d) => void (d.parties[0] = { ...d.parties[0], id: 'proxy:1' }), /^parties\[0\]\.id: unknown party type .*proxy/],
    ['duplicate serial', (d) => void ((d.parties[2] as Record<string, unknown>).id = 'dbserver:1'), /^parties\[2\]\.id: duplicate serial dbserver:1/],
    ['duplicate address', (d) => void ((d.parties[2] as Record<string, unknown>).host = '10.0.1.11'), /^parties\[2\]\.port: duplicate address 10\.0\.1\.11:4801/],
    ['dbserver without DC', (d) => void delete (d.parties[1] as Record<string, unknown>).dc, /^parties\[1\]\.dc: /],
    ['DC not declared', (d) => void ((d.parties[1] as Record<string, unknown>).dc = 'dc-north'), /^parties\[1\]\.dc: dbserver:1 names data centre dc-north/],
    ['bad duration', (d) => void ((d.timings as Record<string, unknown>).failoverPeriod = '10 seconds'), /^timings\.failoverPeriod: "10 seconds" is not a duration/],
    ['unknown field', (d) => void ((d.parties[1] as Record<string, unknown>).wieght = 2), /^parties\[1\]: .*wieght/],
    ['two arbitrators', (d) => void d.parties.push({ id: 'arbitrator:2', host: '10.0.9.6', port: 4800 }), /exactly one arbitrator, found 2/],
    ['two arbitrators on a local store', (d) => void d.parties.push({ id: 'arbitrator:2', host: '10.0.9.6', port: 4800 }), /need arbitrator\.store etcd/],
    ['an unknown store', (d) => void (d.arbitrator = { store: 'zookeeper' }), /^arbitrator\.store: /],
    ['etcd without endpoints', (d) => void (d.arbitrator = { store: 'etcd', etcd: { endpoints: [] } }), /^arbitrator\.etcd\.endpoints: /],
    ['an etcd endpoint without scheme', (d) => void (d.arbitrator = { store: 'etcd', etcd: { endpoints: ['10.0.3.5:2379'] } }), /^arbitrator\.etcd\.endpoints\[0\]: write http\(s\):\/\/host:port/],
    [
      'an etcd lease in milliseconds',
      (d) => void (d.arbitrator = { store: 'etcd', etcd: { endpoints: ['http://10.0.3.5:2379'], leaseTtl: '4500ms' } }),
      /^arbitrator\.etcd\.leaseTtl: etcd grants leases in whole seconds/,
    ],
    [
      'an etcd timeout as long as the lease',
      (d) => void (d.arbitrator = { store: 'etcd', etcd: { endpoints: ['http://10.0.3.5:2379'], leaseTtl: '4s', requestTimeout: '3s' } }),
      /^arbitrator\.etcd\.requestTimeout: must be at most half of leaseTtl/,
    ],
    [
      'a TLS cert without its key',
      (d) => void (d.arbitrator = { store: 'etcd', etcd: { endpoints: ['https://10.0.3.5:2379'], tls: { ca: 'ca.pem', cert: 'a.pem' } } }),
      /^arbitrator\.etcd\.tls: give both cert and key/,
    ],
    [
      'six arbitrators on etcd',
      (d) => {
        d.arbitrator = { store: 'etcd', etcd: { endpoints: ['http://10.0.3.5:2379'] } };
        for (let i = 2; i <= 6; i++) d.parties.push({ id: `arbitrator:${i}`, host: `10.0.9.${i}`, port: 4800 });
      },
      /arbitrator\.store etcd has 1 to 5 arbitrators, found 6/,
    ],
    [
      'lb names an unknown dbserver',
      (d) => void ((d.parties[5] as { loadBalancer: { servers: Record<string, string> } }).loadBalancer.servers['dbserver:7'] = 'x'),
      /parties\[5\]\.loadBalancer\.servers\.dbserver:7: not a dbserver/,
    ],
    ['tied DC priorities', (d) => void ((d.dataCentres as Record<string, { priority: number }>)['dc-west'] = { priority: 1 }), /dataCentres\.dc-east\.priority: 1 is also dc-west's/],
    ['send key not listed', (d) => void ((d.keys as Record<string, unknown>).send = 2), /^keys\.send: key id 2 is not among keys\.files/],
    ['staleAfter not above the interval', (d) => void ((d.timings as Record<string, unknown>).staleAfter = '5s'), /^timings\.staleAfter: must be longer/],
  ];
  for (const [what, fn, re] of cases) {
    it(`names the field for: ${what}`, () => {
      const problems = problemsOf(mutate(fn));
      expect(problems.length).toBeGreaterThan(0);
      expect(
        problems.some((p) => re.test(p)),
        problems.join('\n'),
      ).toBe(true);
      for (const p of problems) expect(p).not.toContain('\n');
    });
  }

  it('refuses YAML that does not parse, in one line', () => {
    expect(problemsOf('site: [unclosed')[0]).toMatch(/^not valid YAML\/JSON/);
  });

  it('refuses a key file others can read, and a missing one, naming it', () => {
    const key = join(dir, 'site.key');
    writeFileSync(key, `${'ab'.repeat(32)}\n`, { mode: 0o644 });
    chmodSync(key, 0o644);
    const cfg = parseSiteConfig(
      mutate((d) => void ((d.keys as { files: Array<{ path: string }> }).files[0] = { id: 1, path: key } as never)),
      's',
      dir,
    );
    expect(() => loadKeyring(cfg)).toThrow(/readable by group or others \(mode 0644\); run: chmod 600/);
    chmodSync(key, 0o600);
    expect(loadKeyring(cfg).ids()).toEqual([1]);
    const missing = parseSiteConfig(
      mutate((d) => void ((d.keys as { files: Array<{ path: string }> }).files[0] = { id: 1, path: join(dir, 'nope.key') } as never)),
      's',
      dir,
    );
    expect(() => loadKeyring(missing)).toThrow(/nope\.key cannot be read: ENOENT/);
  });

  it("finds this host's party by address, or explains why it cannot", () => {
    const cfg = parseSiteConfig(example, 'example', dir);
    expect(resolveSelf(cfg, undefined, new Set(['10.0.1.12'])).id).toBe('dbserver:2');
    expect(() => resolveSelf(cfg, undefined, new Set(['192.0.2.1']))).toThrow(/no party .* --as/);
    expect(() => resolveSelf(cfg, undefined, new Set(['10.0.1.11', '10.0.9.5']))).toThrow(/several parties .*dbserver:1.*arbitrator:1|several parties .*arbitrator:1.*dbserver:1/);
    expect(() => resolveSelf(cfg, 'dbserver:9', new Set())).toThrow(/--as dbserver:9: no such party/);
  });

  it('parses durations and refuses non-durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('3')).toBeNull();
    expect(parseDuration('-3s')).toBeNull();
  });
});

describe('a JSON site config (read without the YAML parser)', () => {
  const asJson = JSON.stringify(parse(example));
  it('reads as the same config as its YAML', () => {
    expect(parseSiteConfig(asJson, 'site.json', dir)).toEqual(parseSiteConfig(example, 'site.yaml', dir));
    expect(parseSiteConfig(JSON.stringify(parse(example), null, 2), 'site.json', dir)).toEqual(parseSiteConfig(example, 'site.yaml', dir));
  });
  it('refuses a key twice in one object, as the YAML parser does (JSON.parse would keep the last)', () => {
    const twice = asJson.replace('"site":', '"site":"other","site":');
    expect(twice).not.toBe(asJson);
    expect(problemsOf(twice)).toEqual(['not valid YAML/JSON: the key "site" appears twice in one object']);
    expect(problemsOf(stringify(parse(example)).replace(/^site:/m, 'site: other\nsite:'))[0]).toMatch(/^not valid YAML\/JSON: /);
  });
  it('tells keys from values, escapes and nesting apart', () => {
    expect(duplicateJsonKey('{"a":"a","b":{"a":1},"c":[{"a":1},{"a":2}],"d\\"":"\\"d\\":"}')).toBeNull();
    expect(duplicateJsonKey('{"a":1,"b":{"x":1,"x":2}}')).toBe('x');
    expect(duplicateJsonKey('{"\\u0061":1,"a":2}')).toBe('a');
    expect(duplicateJsonKey('{"never closed')).toBeNull();
  });
  it('still reads YAML flow style that starts with a brace', () => {
    const flow = `{ ${stringify(parse(example), { collectionStyle: 'flow' }).trim().slice(1)}`;
    expect(flow.trimStart().startsWith('{')).toBe(true);
    expect(parseSiteConfig(flow, 'site.yaml', dir)).toEqual(parseSiteConfig(example, 'site.yaml', dir));
  });
});
