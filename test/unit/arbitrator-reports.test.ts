import { describe, expect, it } from 'vitest';
import type { DbStatusReport } from '../../src/protocol/verbs.js';
import { sameMaterialReport } from '../../src/roles/arbitrator/reports.js';
import { ArbDriver, nonPrimary, PARTY, primary, report } from './arbitrator-fixtures.js';

/**
 * A report that repeats its party's previous one (newer time, newer seqno while Primary) is only
 * stored: no record copied or persisted, no evaluation until the evaluate timer. Anything
 * material is evaluated in the same step, as before.
 */
const NODES = ['n1', 'n2', 'n3', 'n4'] as const;

function healthy(): ArbDriver {
  const d = new ArbDriver();
  d.start();
  for (const n of NODES) d.report(n, primary(n));
  d.advance(1000);
  for (const n of NODES) d.report(n, primary(n));
  return d;
}

describe('arbitrator: which reports are material', () => {
  const base = report(primary('n1'), { observedAt: 1 });
  const variants: Array<[string, DbStatusReport, boolean]> = [
    ['a newer observedAt', { ...base, observedAt: 2 }, true],
    ['a newer seqno while Primary', { ...base, wsrep: primary('n1', undefined, { lastCommitted: 101 }) }, true],
    ['another status', { ...base, wsrep: nonPrimary('n1', ['n1', 'n2']) }, false],
    ['another local state', { ...base, wsrep: primary('n1', undefined, { localState: 'Donor/Desynced' }) }, false],
    ['not ready', { ...base, wsrep: primary('n1', undefined, { ready: false }) }, false],
    ['another conf id', { ...base, wsrep: primary('n1', undefined, { confId: 6 }) }, false],
    ['other members', { ...base, wsrep: primary('n1', ['n1', 'n2', 'n3']) }, false],
    ['another node uuid', { ...base, wsrep: primary('n1', undefined, { nodeUuid: 'x' }) }, false],
    ['another last primary component', { ...base, wsrep: primary('n1', undefined, { lastPrimary: { viewId: 'pc-9', members: [] } }) }, false],
    ['no last primary component', { ...base, wsrep: primary('n1', undefined, { lastPrimary: null }) }, false],
    ['mariadbd down', report(null), false],
    ['a decision outcome', { ...base, decision: { id: 'd-1', outcome: 'refused', reason: 'x', at: 1 } }, false],
    ['a recovered position', { ...base, recovered: { uuid: 'u', seqno: 5, safeToBootstrap: false } }, false],
    ['an error', { ...base, error: 'boom' }, false],
    ['another DC', { ...base, dc: 'dc2' }, false],
  ];
  for (const [what, other, same] of variants) {
    it(`${what}: ${same ? 'the same report' : 'material'}`, () => {
      expect(sameMaterialReport(base, other)).toBe(same);
      expect(sameMaterialReport(other, base)).toBe(same);
    });
  }

  it('the seqno of a non-Primary node is material: it ranks candidates and picks the target', () => {
    const a = report(nonPrimary('n1', ['n1', 'n2']));
    expect(sameMaterialReport(a, report(nonPrimary('n1', ['n1', 'n2'], { lastCommitted: 101 })))).toBe(false);
    expect(sameMaterialReport(a, report(nonPrimary('n1', ['n1', 'n2'])))).toBe(true);
  });
});

describe('arbitrator: a repeated report', () => {
  it('is stored with its new time, changes no record and needs no effect', () => {
    const d = healthy();
    const records = d.state.records;
    const evaluation = d.state.evaluation;
    d.advance(300);
    const effects = d.report('n2', primary('n2', undefined, { lastCommitted: 150 }));
    expect(effects).toEqual([]);
    expect(d.state.records).toBe(records);
    expect(d.state.evaluation).toBe(evaluation);
    expect(d.state.reports[PARTY.n2]?.receivedAt).toBe(d.now);
    expect(d.state.reports[PARTY.n2]?.body.wsrep?.lastCommitted).toBe(150);
  });

  it('a change of status is evaluated in the same step', () => {
    const d = healthy();
    d.advance(300);
    d.report('n1', nonPrimary('n1', ['n1', 'n2']));
    expect(d.state.evaluation?.at).toBe(d.now);
    expect(d.state.evaluation?.reasons.map((r) => r.code)).toContain('primary_exists');
  });

  it('a report after its party went stale is evaluated in the same step', () => {
    const d = healthy();
    // n4 goes quiet past staleAfter (15 s) while the others keep reporting.
    for (let i = 0; i < 17; i++) {
      d.advance(1000);
      for (const n of ['n1', 'n2', 'n3'] as const) d.report(n, primary(n));
    }
    d.advance(200);
    d.report('n4', primary('n4'));
    expect(d.state.evaluation?.at).toBe(d.now);
  });

  it('a writer whose reports stop is replaced while the others only repeat themselves (freshness expiry still seen)', () => {
    const d = healthy();
    const writer = d.state.records.directives.writer;
    expect(writer).not.toBeNull();
    const others = NODES.filter((n) => PARTY[n] !== writer);
    // Everyone but the writer keeps repeating itself; only time passes for the writer.
    for (let i = 0; i < 17; i++) {
      d.advance(1000);
      for (const n of others) d.report(n, primary(n));
    }
    d.advance(1000);
    expect(d.state.records.directives.writer).not.toBe(writer);
  });
});
