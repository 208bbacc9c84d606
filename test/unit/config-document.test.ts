import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checksumOf, materialise, prepareDocument } from '../../src/site/config-document.js';
import { ConfigError } from '../../src/site/load-config.js';
import { lineOps, unifiedDiff } from '../../src/site/text-diff.js';
import { EXAMPLE, edited, stored } from './config-fixtures.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const boot = { site: 'shop-prod', stateDir: '/var/lib/minder-host' };

describe('a site config document for the database', () => {
  it('is stored as pushed, comments and all, with its sha256', () => {
    const p = prepareDocument(EXAMPLE, 'site.yaml', 'shop-prod');
    expect(p.document).toBe(EXAMPLE);
    expect(p.checksum).toBe(checksumOf(EXAMPLE));
    expect(p.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(p.config.parties).toHaveLength(7);
  });

  it('JSON is stored as the equivalent YAML', () => {
    const json = JSON.stringify(parse(EXAMPLE));
    const p = prepareDocument(json, 'site.json', 'shop-prod');
    expect(p.document).not.toContain('{"site"');
    expect(parse(p.document)).toEqual(parse(EXAMPLE));
  });

  it('lists every problem, one per line, the same as config check, plus relative host paths', () => {
    const text = edited((d) => {
      d.timings['failoverPeriod'] = 'soon';
      d['stateDir'] = 'state';
      (d['keys'] as { files: Array<{ path: string }> }).files[0] = { path: 'site.key', id: 1 } as never;
    });
    const p = problems(() => prepareDocument(text, 'bad.yaml', 'shop-prod'));
    expect(p).toEqual([
      'timings.failoverPeriod: "soon" is not a duration (write e.g. 3s, 500ms, 2m)',
      'stateDir: "state" is relative; a config in the database is read on every host, so write it absolute',
      'keys.files[0].path: "site.key" is relative; a config in the database is read on every host, so write it absolute',
    ]);
  });

  it('refuses a document for another site than the bootstrap file names', () => {
    expect(problems(() => prepareDocument(EXAMPLE, 'x.yaml', 'shop-test'))).toEqual([
      'site: the document is for site shop-prod, the bootstrap file for site shop-test; parties of shop-test would refuse it',
    ]);
  });

  it('refuses what is not YAML, and what is too large', () => {
    expect(problems(() => prepareDocument('site: [', 'x', 'shop-prod'))[0]).toMatch(/^not valid YAML/);
    expect(problems(() => prepareDocument(`# ${'x'.repeat(1_000_001)}`, 'x', 'shop-prod'))).toEqual(['larger than 1000000 bytes']);
  });

  it('materialises a stored version with the host keys and state dir of the bootstrap file', () => {
    const cfg = materialise(stored(EXAMPLE, 4), { ...boot, keys: { send: 7, files: [{ id: 7, path: '/etc/minder/host.key' }] } });
    expect(cfg.keys).toEqual({ send: 7, files: [{ id: 7, path: '/etc/minder/host.key' }] });
    expect(cfg.stateDir).toBe('/var/lib/minder-host');
    expect(materialise(stored(EXAMPLE, 4), boot).keys.files[0]?.path).toBe('/etc/minder/site.key');
  });

  it('refuses a stored version whose checksum does not match, or that is for another site', () => {
    const v = { ...stored(EXAMPLE, 4), document: `${EXAMPLE}# edited by hand\n` };
    expect(problems(() => materialise(v, boot))).toEqual(['the stored document does not match its checksum (edited by hand, or damaged)']);
    expect(problems(() => materialise(stored(EXAMPLE, 4), { ...boot, site: 'other' }))[0]).toMatch(/it is for site shop-prod, this host's bootstrap file says other/);
  });
});

describe('unified diff of two documents', () => {
  it('shows a changed line with three lines of context and correct ranges', () => {
    const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const b = a.replace('e', 'E');
    expect(unifiedDiff(a, b, 'v1', 'v2')).toBe(['--- v1', '+++ v2', '@@ -2,7 +2,7 @@', ' b', ' c', ' d', '-e', '+E', ' f', ' g', ' h', ''].join('\n'));
  });

  it('is empty for equal texts, and separates distant changes into hunks', () => {
    expect(unifiedDiff('x\ny\n', 'x\ny\n', 'a', 'b')).toBe('');
    const a = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const b = a.replace('line 2\n', 'line two\n').replace('line 25', 'line 25\nline 25b');
    const out = unifiedDiff(a, b, 'a', 'b');
    expect(out.match(/^@@/gm)).toHaveLength(2);
    expect(out).toContain('@@ -24,6 +24,7 @@');
  });

  it('turns one text into the other: applying its operations gives back both sides', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'c', 'd', ''), { maxLength: 30 }).map((l) => l.join('\n'));
    fc.assert(
      fc.property(text, text, (a, b) => {
        const ops = lineOps(a, b);
        const lines = (t: string) => (t === '' ? [] : t.replace(/\n$/, '').split('\n'));
        expect(ops.filter((o) => o.op !== '+').map((o) => o.line)).toEqual(lines(a));
        expect(ops.filter((o) => o.op !== '-').map((o) => o.line)).toEqual(lines(b));
      }),
      { numRuns: 500 },
    );
  });
});
