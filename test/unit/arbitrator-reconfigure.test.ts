import { describe, expect, it } from 'vitest';
import { ArbDriver, codes, cutUnsettled, hold, primary, publishes, settingsFor } from './arbitrator-fixtures.js';

/**
 * Issue 15 part 2: the arbitrator takes a changed site config without a restart. Before, it kept
 * the settings it started with: a dbserver added at runtime was accepted by the post office and
 * then its every report was dropped by the core.
 */
describe('arbitrator live reconfiguration', () => {
  it('a dbserver added to the config is asked for its status at once and its reports count from then on', () => {
    const d = new ArbDriver(settingsFor({ nodes: ['n1', 'n2', 'n3'] }));
    d.start();
    for (const n of ['n1', 'n2', 'n3'] as const) d.report(n, primary(n));
    d.report('n4', primary('n4'));
    expect(d.state.reports['dbserver:4']).toBeUndefined();

    const sent = d.step({ kind: 'reconfigured', settings: settingsFor(), changes: ['parties: added dbserver:4'] });
    expect(publishes(sent, 'request_status').map((p) => p.to)).toEqual(['dbserver:4']);
    const logged = sent.find((e) => e.kind === 'log' && e.event === 'reconfigured');
    expect(logged?.kind === 'log' && logged.msg).toMatch(/parties: added dbserver:4.*4 dbservers/);
    expect(d.state.journal.at(-1)?.event).toBe('reconfigured');

    d.report('n4', primary('n4'));
    expect(d.state.reports['dbserver:4']?.body.wsrep?.clusterStatus).toBe('Primary');
    expect(d.state.dbserversHeard).toBe(4);
  });

  it('a new failover period applies to the next wait, and a wait under way starts again', () => {
    const d = new ArbDriver();
    d.start();
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
    d.advance(1000);
    cutUnsettled(d);
    expect(codes(d)).toContain('waiting');
    expect(publishes(hold(d, 6_000), 'make_primary')).toHaveLength(0);
    d.step({ kind: 'reconfigured', settings: settingsFor({ timings: { failoverPeriod: '8s' } }), changes: ['timings.failoverPeriod: 10s → 8s'] });
    expect(d.state.settings.timings.failoverPeriodMs).toBe(8000);
    // Under the old settings the promotion was due 4 s later; the wait started again at 8 s.
    expect(publishes(hold(d, 7_000, 500), 'make_primary')).toHaveLength(0);
    const sent = publishes(hold(d, 2_000, 500), 'make_primary');
    expect(sent.map((m) => m.to)).toEqual(['dbserver:3']);
  });

  it('a dbserver removed from the config stops counting', () => {
    const d = new ArbDriver();
    d.start();
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
    d.step({ kind: 'reconfigured', settings: settingsFor({ nodes: ['n1', 'n2', 'n3'] }), changes: ['parties: removed dbserver:4'] });
    expect(d.state.settings.dbservers.map((x) => x.id)).toEqual(['dbserver:1', 'dbserver:2', 'dbserver:3']);
    expect(d.state.dbserversHeard).toBe(3);
  });
});
