import { describe, expect, it } from 'vitest';
import type { PartyId } from '../../src/protocol/party.js';
import { classifyChange, diffConfigs } from '../../src/site/config-change.js';
import { parseSiteConfig } from '../../src/site/load-config.js';
import type { SiteConfig } from '../../src/site/schema.js';
import { type Doc, edited } from './config-fixtures.js';

const cfg = (fn?: (d: Doc) => void): SiteConfig => parseSiteConfig(edited(fn), 'test', '/');
const base = cfg();
const ARB = 'arbitrator:1' as PartyId;
const DB2 = 'dbserver:2' as PartyId;
const party = (d: Doc, id: string) => d.parties.find((p) => p['id'] === id) as Record<string, unknown>;

describe('site config change classification', () => {
  it('the same document, or the same parties in another order, is no change', () => {
    expect(classifyChange(base, cfg(), ARB)).toEqual({ kind: 'same' });
    expect(
      classifyChange(
        base,
        cfg((d) => d.parties.reverse()),
        ARB,
      ),
    ).toEqual({ kind: 'same' });
  });

  it('applies new timings live, and says what changed in their own units', () => {
    const v = classifyChange(
      base,
      cfg((d) => {
        d.timings['ackTimeout'] = '2s';
        d.timings['failoverPeriod'] = '12s';
      }),
      ARB,
    );
    expect(v.kind).toBe('apply');
    if (v.kind !== 'apply') return;
    expect(v.fields).toEqual(['timings.ackTimeout', 'timings.failoverPeriod']);
    expect(v.changes).toEqual(['timings.ackTimeout: 3s → 2s', 'timings.failoverPeriod: 10s → 12s']);
  });

  it('applies a new party, a removed party that is not self, and another party moving', () => {
    const added = classifyChange(
      base,
      cfg((d) => d.parties.push({ id: 'dbclient:3', host: '10.0.3.50', port: 4802, dc: 'dc-east', loadBalancer: { kind: 'haproxy', socket: '/run/haproxy/admin.sock' } })),
      ARB,
    );
    expect(added).toMatchObject({ kind: 'apply', changes: ['parties: added dbclient:3'] });
    const removed = classifyChange(
      base,
      cfg((d) => (d.parties = d.parties.filter((p) => p['id'] !== 'dbclient:2'))),
      ARB,
    );
    expect(removed).toMatchObject({ kind: 'apply', changes: ['parties: removed dbclient:2'] });
    const moved = classifyChange(
      base,
      cfg((d) => (party(d, 'dbserver:3')['port'] = 4811)),
      ARB,
    );
    expect(moved).toMatchObject({ kind: 'apply', fields: ['parties.dbserver:3.port'] });
    const dcs = classifyChange(
      base,
      cfg((d) => ((d['dataCentres'] as Record<string, unknown>)['dc-south'] = { priority: 4 })),
      ARB,
    );
    expect(dcs).toMatchObject({ kind: 'apply', fields: ['dataCentres.dc-south'] });
  });

  it('refuses a config that removes self, and says to stop the party', () => {
    const without = cfg((d) => {
      d.parties = d.parties.filter((p) => p['id'] !== 'dbserver:2');
      for (const p of d.parties) delete (p['loadBalancer'] as { servers?: Record<string, string> } | undefined)?.servers?.['dbserver:2'];
    });
    const v = classifyChange(base, without, DB2);
    expect(v.kind).toBe('refuse');
    if (v.kind !== 'refuse') return;
    expect(v.reasons).toEqual(['dbserver:2 is not in the new config: stop this party (it keeps running on the old config until then)']);
    expect(v.changes).toContain('parties: removed dbserver:2');
    // Every other party takes the same document live.
    expect(classifyChange(base, without, ARB).kind).toBe('apply');
  });

  it('refuses a change of own address or port: the socket is bound at start', () => {
    const port = classifyChange(
      base,
      cfg((d) => (party(d, 'arbitrator:1')['port'] = 4900)),
      ARB,
    );
    expect(port).toMatchObject({ kind: 'refuse', reasons: ['own address changes from 10.0.9.5:4800 to 10.0.9.5:4900: restart arbitrator:1 to apply'] });
    const host = classifyChange(
      base,
      cfg((d) => (party(d, 'dbserver:2')['host'] = '10.0.1.99')),
      DB2,
    );
    expect(host).toMatchObject({ kind: 'refuse', reasons: [expect.stringMatching(/own address changes from 10\.0\.1\.12:4801 to 10\.0\.1\.99:4801/)] });
    // The same change seen from another party is applied: only the party itself must restart.
    expect(
      classifyChange(
        base,
        cfg((d) => (party(d, 'dbserver:2')['host'] = '10.0.1.99')),
        ARB,
      ).kind,
    ).toBe('apply');
  });

  it("refuses a change of self's own settings, naming them", () => {
    const v = classifyChange(
      base,
      cfg((d) => (party(d, 'dbserver:2')['mariadb'] = { socket: '/run/mysqld/other.sock', passwordFile: '/etc/minder/mariadb.password' })),
      DB2,
    );
    expect(v).toMatchObject({ kind: 'refuse', reasons: ['own settings change (mariadb.socket): restart dbserver:2 to apply'] });
  });

  it('refuses a renamed site, changed keys and a moved state directory', () => {
    expect(
      classifyChange(
        base,
        cfg((d) => (d['site'] = 'shop-test')),
        ARB,
      ),
    ).toMatchObject({ kind: 'refuse', reasons: [expect.stringMatching(/site is renamed from shop-prod to shop-test/)] });
    const keys = classifyChange(
      base,
      cfg((d) => (d['keys'] as { send: number; files: unknown[] }).files.push({ id: 2, path: '/etc/minder/site2.key' })),
      ARB,
    );
    expect(keys).toMatchObject({ kind: 'refuse', reasons: [expect.stringMatching(/keys change/)] });
    expect(
      classifyChange(
        base,
        cfg((d) => (d['stateDir'] = '/srv/minder')),
        ARB,
      ),
    ).toMatchObject({ kind: 'refuse', reasons: ['stateDir changes: restart to apply'] });
  });

  it('gives every reason when several apply, and refuses even when applicable changes come with them', () => {
    const v = classifyChange(
      base,
      cfg((d) => {
        d['site'] = 'other';
        party(d, 'arbitrator:1')['port'] = 1;
        d.timings['ackTimeout'] = '1s';
      }),
      ARB,
    );
    expect(v.kind).toBe('refuse');
    if (v.kind !== 'refuse') return;
    expect(v.reasons).toHaveLength(2);
    expect(v.changes).toContain('timings.ackTimeout: 3s → 1s');
  });

  it('diffs nested values by path, parties by id', () => {
    const d = diffConfigs(
      base,
      cfg((x) => ((party(x, 'dbclient:1')['loadBalancer'] as Record<string, unknown>)['writeBackend'] = 'w2')),
    );
    expect(d.fields).toEqual(['parties.dbclient:1.loadBalancer.writeBackend']);
    expect(d.changes).toEqual(['parties.dbclient:1.loadBalancer.writeBackend: "galera_write" → "w2"']);
  });
});
