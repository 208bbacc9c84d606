import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { checkSecretFiles, ConfigError, parseSiteConfig } from '../../src/site/load-config.js';
import { parseListen } from '../../src/site/schema.js';

/** The `http` block of a party: where it listens (loopback unless told), and the API token file. */

const dir = mkdtempSync(join(tmpdir(), 'minder-http-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const example = readFileSync(new URL('../../config/site.example.yaml', import.meta.url), 'utf8');
type Doc = Record<string, unknown> & { parties: Array<Record<string, unknown>> };
const withHttp = (f: (d: Doc) => void): string => {
  const d = parse(example) as Doc;
  f(d);
  return stringify(d);
};
const problems = (text: string): string[] => {
  try {
    parseSiteConfig(text, 'site.yaml', dir);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('site config: http', () => {
  it('parses HOST:PORT, [v6]:PORT and a bare port (loopback)', () => {
    expect(parseListen('10.0.0.5:9100')).toEqual({ host: '10.0.0.5', port: 9100 });
    expect(parseListen('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    expect(parseListen('9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseListen(':9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    for (const bad of ['', 'x', '10.0.0.5', '10.0.0.5:0', '10.0.0.5:70000', 'a b:1', '::1:9100']) expect(parseListen(bad), bad).toBeNull();
  });

  it('no http block: nothing served; a block: its address, defaults filled in', () => {
    const plain = parseSiteConfig(example, 'example', dir);
    expect(plain.parties.every((p) => p.http === undefined)).toBe(true);
    const cfg = parseSiteConfig(
      withHttp((d) => ((d.parties[0] as Record<string, unknown>).http = { listen: 9100 })),
      'x',
      dir,
    );
    expect(cfg.parties[0]?.http).toEqual({ listen: { host: '127.0.0.1', port: 9100 }, maxConnections: 64 });
  });

  it('refuses a bad address, unknown fields, a token file on a non-arbitrator, and two parties on one HTTP address', () => {
    expect(problems(withHttp((d) => ((d.parties[0] as Record<string, unknown>).http = { listen: 'nowhere' })))[0]).toMatch(/parties\[0\]\.http\.listen: "nowhere" is not an address to listen on/);
    expect(problems(withHttp((d) => ((d.parties[0] as Record<string, unknown>).http = { listen: 9100, open: true })))[0]).toMatch(/parties\[0\]\.http/);
    const db = (d: Doc) => d.parties.findIndex((p) => String(p.id).startsWith('dbserver:'));
    expect(problems(withHttp((d) => ((d.parties[db(d)] as Record<string, unknown>).http = { listen: 9104, tokenFile: 't' }))).join('\n')).toMatch(/tokenFile/);
    const both = problems(
      withHttp((d) => {
        (d.parties[0] as Record<string, unknown>).http = { listen: '127.0.0.1:9100' };
        (d.parties[1] as Record<string, unknown>).http = { listen: 9100 };
      }),
    );
    expect(both.join('\n')).toMatch(/parties\[1\]\.http\.listen: 127\.0\.0\.1:9100 is also arbitrator:1's/);
  });

  it('a token file others can read stops the start, naming it; 0600 passes', () => {
    const token = join(dir, 'api.token');
    writeFileSync(token, 'a-token-long-enough-1234\n', { mode: 0o644 });
    chmodSync(token, 0o644);
    const cfg = parseSiteConfig(
      withHttp((d) => ((d.parties[0] as Record<string, unknown>).http = { listen: 9100, tokenFile: 'api.token' })),
      'site.yaml',
      dir,
    );
    const arb = cfg.parties[0] as (typeof cfg.parties)[number];
    expect(() => checkSecretFiles(cfg, arb, 'site.yaml')).toThrow(/arbitrator:1\.http\.tokenFile: API token file .*api\.token is readable by group or others \(mode 0644\); run: chmod 600/);
    chmodSync(token, 0o600);
    expect(() => checkSecretFiles(cfg, arb, 'site.yaml')).not.toThrow();
  });
});
