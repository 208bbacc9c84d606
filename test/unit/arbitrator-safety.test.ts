import { describe, expect, it } from 'vitest';
import { viewOf } from '../../src/protocol/view.js';
import { pruned, spendingDecision } from '../../src/roles/arbitrator/decisions.js';
import { DECISIONS_PRUNED_ABOVE, RECORD_KEYS } from '../../src/roles/arbitrator/records.js';
import {
  ArbDriver,
  codes,
  cutInHalves,
  cutUnsettled,
  hold,
  holdsDirectives,
  lastPrimaryOf,
  member,
  nonPrimary,
  op,
  PARTY,
  primary,
  publishes,
  replies,
  settingsFor,
  started,
  T0,
  U,
} from './arbitrator-fixtures.js';

describe('arbitrator: automatic promotion after a 2+2 cut', () => {
  it('a settled split (both halves heard, complete): the primary DC half is promoted at once; persist comes before make_primary', () => {
    const d = started();
    d.advance(1000);
    const effects = cutInHalves(d);
    const sent = publishes(effects, 'make_primary');
    expect(sent).toHaveLength(1);
    const mp = sent[0];
    expect(mp?.to).toBe('dbserver:1');
    expect(mp?.body.view).toEqual(viewOf(nonPrimary('n1', ['n1', 'n2'])));
    expect(mp?.body.forced).toBe(false);
    expect(mp?.body.validForMs).toBe(30_000);
    const reasons = d.state.evaluation?.reasons ?? [];
    expect(reasons.find((r) => r.view === 'dbserver:1+dbserver:2')?.code).toBe('decided');
    expect(reasons.find((r) => r.view === 'dbserver:3+dbserver:4')?.code).not.toBe('decided');
    expect(mp?.body.reason).toMatch(/settled split/);
    const iPersist = effects.findIndex((e) => e.kind === 'persist' && e.key === RECORD_KEYS.decisions);
    const iSend = effects.findIndex((e) => e.kind === 'publish' && e.verb === 'make_primary');
    expect(iPersist).toBeGreaterThanOrEqual(0);
    expect(iPersist).toBeLessThan(iSend);
    const decisions = d.durable.get(RECORD_KEYS.decisions) as Array<{ id: string; key: string; target: string }>;
    expect(decisions).toHaveLength(1);
    expect(decisions[0]?.id).toBe(mp?.body.decisionId);
    expect(decisions[0]?.key).toBe(lastPrimaryOf(['n1', 'n2', 'n3', 'n4']).viewId);
    expect(d.state.journal.map((j) => j.event)).toContain('promotion');
    // Keeping both halves non-Primary for long never yields a second decision.
    expect(publishes(hold(d, 60_000), 'make_primary')).toHaveLength(0);
    expect(codes(d)).toEqual(['already_decided', 'already_decided']);
  });

  it('an unsettled split (the other half still regrouping) waits the failover period', () => {
    const d = started();
    d.advance(1000);
    expect(publishes(cutUnsettled(d), 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('waiting');
    expect(publishes(hold(d, 9_000), 'make_primary')).toHaveLength(0);
    const sent = publishes(hold(d, 1_500, 500), 'make_primary');
    expect(sent.map((m) => m.to)).toEqual(['dbserver:3']);
    expect(sent[0]?.body.reason).toMatch(/^non-Primary for 10\.\d s/);
  });

  it('a half that outweighs the rest only by seqno (equal DC weights) is not settled: it waits the failover period', () => {
    const d = started();
    for (const n of ['n1', 'n3'] as const) d.report(n, nonPrimary(n, ['n1', 'n3']));
    for (const n of ['n2', 'n4'] as const) d.report(n, nonPrimary(n, ['n2', 'n4'], { lastCommitted: 120 }));
    expect(publishes(d.log, 'make_primary')).toHaveLength(0);
    expect(codes(d)).toEqual(['waiting', 'waiting']);
  });

  it('a member of the last primary component that restarted (a new uuid) unsettles the split', () => {
    const d = started();
    for (const n of ['n1', 'n2'] as const) d.report(n, nonPrimary(n, ['n1', 'n2']));
    // n3 came back as a new Galera node: P's member U.n3 is not heard any more.
    d.report('n3', nonPrimary('n3', ['n3'], { nodeUuid: 'n3-reborn-uuid', members: [{ uuid: 'n3-reborn-uuid', name: 'n3', address: '' }] }));
    d.report('n4', nonPrimary('n4', ['n4']));
    expect(publishes(d.log, 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('waiting');
  });

  it('a far half reported down counts as settled: the near half is promoted at once', () => {
    const d = started();
    for (const n of ['n3', 'n4'] as const) d.report(n, null);
    const effects = [...d.report('n1', nonPrimary('n1', ['n1', 'n2'])), ...d.report('n2', nonPrimary('n2', ['n1', 'n2']))];
    expect(publishes(effects, 'make_primary').map((m) => m.to)).toEqual(['dbserver:1']);
  });

  it('the preferred half is promoted the moment its view completes, even when the other half was seen complete earlier (seen on the lab)', () => {
    const d = started(new ArbDriver(settingsFor({ timings: { reportInterval: '1s', ackTimeout: '500ms', failoverPeriod: '3s', staleAfter: '4s' } })));
    for (const n of ['n3', 'n4'] as const) d.report(n, nonPrimary(n, ['n3', 'n4']));
    d.advance(650);
    // dc1 first passes through a transitional view (seen on the lab), then completes 0.65 s later.
    d.report('n1', nonPrimary('n1', ['n1', 'n2']));
    d.report('n2', nonPrimary('n2', ['n1', 'n3']));
    expect(publishes(d.log, 'make_primary')).toHaveLength(0);
    d.advance(20);
    const sent = publishes(d.report('n2', nonPrimary('n2', ['n1', 'n2'])), 'make_primary');
    expect(sent.map((m) => m.to)).toEqual(['dbserver:1']);
    expect(publishes(hold(d, 12_000, 500), 'make_primary')).toHaveLength(0);
  });

  it('unsettled ties: the preferred half wins even when the other half was seen complete a moment earlier', () => {
    // Halves straddle the DCs (1+3 | 2+4): DC weight is equal, so nothing is settled and the
    // higher seqno ({n2, n4}) is preferred; {n1, n3} completes 0.67 s before it.
    const d = started(new ArbDriver(settingsFor({ timings: { reportInterval: '1s', ackTimeout: '500ms', failoverPeriod: '3s', staleAfter: '4s' } })));
    for (const n of ['n1', 'n3'] as const) d.report(n, nonPrimary(n, ['n1', 'n3']));
    d.advance(650);
    d.report('n2', nonPrimary('n2', ['n2', 'n4'], { lastCommitted: 120 }));
    d.report('n4', nonPrimary('n4', ['n2', 'n3'], { lastCommitted: 120 }));
    d.advance(20);
    d.report('n4', nonPrimary('n4', ['n2', 'n4'], { lastCommitted: 120 }));
    const sent = publishes(hold(d, 12_000, 500), 'make_primary');
    expect(sent.map((m) => m.to)).toEqual(['dbserver:2']);
    expect(d.state.journal.some((j) => j.event === 'no_promotion' && /waiting 0\.\d s for view dbserver:2\+dbserver:4, preferred/.test(j.text))).toBe(true);
  });

  it('a preferred half that keeps changing its view does not hold the other half back beyond the tie window', () => {
    const d = started();
    // Equal DC weights (1+3 | 2+4), so only the failover period and the tie window apply; the
    // preferred {n2, n4} (higher seqno) flaps every 2 s, so its wait keeps restarting.
    let sent: ReturnType<typeof publishes<'make_primary'>> = [];
    for (let i = 0; i < 12 && sent.length === 0; i++) {
      const solo = i % 2 === 1;
      for (const n of ['n2', 'n4'] as const) d.report(n, nonPrimary(n, solo ? [n] : ['n2', 'n4'], { lastCommitted: 120 }));
      for (const n of ['n1', 'n3'] as const) d.report(n, nonPrimary(n, ['n1', 'n3']));
      sent = publishes(d.advance(2000), 'make_primary');
    }
    expect(sent.map((m) => m.to)).toEqual(['dbserver:1']);
    expect(d.now - T0).toBeLessThanOrEqual(12_000);
  });

  it('sends make_primary to the most advanced member of the half, then the lowest serial', () => {
    const d = started();
    const sent = publishes(cutInHalves(d, { n2: { lastCommitted: 105 } }), 'make_primary');
    expect(sent.map((s) => s.to)).toEqual(['dbserver:2']);
  });

  it('with equal DC weight, prefers the half with the higher seqno', () => {
    // Both halves straddle the DCs: 1+3 | 2+4, so DC priority does not decide.
    const d = started();
    for (const n of ['n1', 'n3'] as const) d.report(n, nonPrimary(n, ['n1', 'n3']));
    for (const n of ['n2', 'n4'] as const) d.report(n, nonPrimary(n, ['n2', 'n4'], { lastCommitted: 120 }));
    const sent = publishes(hold(d, 12_000), 'make_primary');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body.view.members).toEqual([U.n2, U.n4].sort());
  });

  it('with equal DC weight and seqno, takes the smallest view key (deterministic)', () => {
    const runs = [0, 1].map((order) => {
      const d = started();
      const a = () => {
        for (const n of ['n1', 'n3'] as const) d.report(n, nonPrimary(n, ['n1', 'n3']));
      };
      const b = () => {
        for (const n of ['n2', 'n4'] as const) d.report(n, nonPrimary(n, ['n2', 'n4']));
      };
      if (order === 0) {
        a();
        b();
      } else {
        b();
        a();
      }
      return publishes(hold(d, 12_000), 'make_primary').map((s) => s.body.view.members.join(','));
    });
    expect(runs[0]).toHaveLength(1);
    expect(runs[0]).toEqual(runs[1]);
  });

  it('promotes the only half it can hear when the other is cut from it too (half of LastPC is enough)', () => {
    const d = started();
    for (const n of ['n3', 'n4'] as const) d.report(n, nonPrimary(n, ['n3', 'n4']));
    // n1, n2 fall silent: their Primary reports go stale, no report from them at all.
    const sent = publishes(hold(d, 20_000, 2000, ['n3', 'n4']), 'make_primary');
    expect(sent.map((s) => s.to)).toEqual(['dbserver:3']);
  });
});

describe('arbitrator: every rejection, with its reason', () => {
  it('below half: a single node of four is never promoted automatically', () => {
    const d = started();
    d.report('n4', nonPrimary('n4', ['n4']));
    // The other three stay silent (their Primary reports age out).
    expect(publishes(hold(d, 60_000), 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('below_half');
    expect(d.state.evaluation?.reasons.find((r) => r.code === 'below_half')?.text).toMatch(/weight 1 of the last primary component's 4, below half/);
  });

  it('weights come from the config: 2 of 5 by weight is below half even with 2 of 4 nodes', () => {
    const d = started(new ArbDriver(settingsFor({ weights: { n1: 2 } })));
    // Galera agrees (n1 reported pc.weight=2 while the cluster was whole).
    d.report('n1', primary('n1', undefined, { pcWeight: 2 }));
    d.report('n2', primary('n2'));
    for (const n of ['n3', 'n4'] as const) d.report(n, nonPrimary(n, ['n3', 'n4']));
    expect(publishes(hold(d, 30_000), 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('below_half');
  });

  it('stale reports: a view whose reports aged out before the failover period ended is not a candidate', () => {
    const d = started(new ArbDriver(settingsFor({ timings: { reportInterval: '2s', staleAfter: '6s', failoverPeriod: '10s' } })));
    cutUnsettled(d);
    d.advance(30_000);
    expect(publishes(d.log, 'make_primary')).toHaveLength(0);
    expect(codes(d)).toEqual(['no_reports']);
    // The same view reported freshly again starts a new wait from zero.
    cutUnsettled(d);
    expect(d.state.evaluation?.reasons.find((r) => r.view === 'dbserver:3+dbserver:4')?.text).toMatch(/non-Primary for 0\.0 s; waiting/);
  });

  it('an unheard member of the view blocks the view', () => {
    const d = started();
    d.report('n3', nonPrimary('n3', ['n3', 'n4']));
    // n4 is silent: its last report (Primary) goes stale, and it never reports the view.
    const effects = [];
    for (let i = 0; i < 15; i++) {
      effects.push(...d.advance(2000));
      effects.push(...d.report('n3', nonPrimary('n3', ['n3', 'n4'])));
    }
    expect(publishes(effects, 'make_primary')).toHaveLength(0);
    expect(d.state.evaluation?.reasons.find((r) => r.code === 'unheard_member')?.text).toMatch(/dbserver:4 \(no fresh report\)/);
  });

  it('a member of the view that is not a dbserver of the site (garbd, a stranger) blocks it', () => {
    const d = started();
    const withGarb = { members: [member('n3'), member('n4'), { uuid: 'garb-uuid-0000', name: 'garb', address: '' }] };
    for (const n of ['n3', 'n4'] as const) d.report(n, nonPrimary(n, ['n3', 'n4'], withGarb));
    expect(publishes(hold(d, 30_000), 'make_primary')).toHaveLength(0);
    expect(d.state.evaluation?.reasons.find((r) => r.code === 'unheard_member')?.text).toMatch(/not a dbserver of this site/);
  });

  it('blip: an unsettled view non-Primary for less than the failover period is left alone, and a change restarts the wait', () => {
    const d = started();
    cutUnsettled(d);
    hold(d, 8000);
    // Healed before the period ended.
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n, ['n1', 'n2', 'n3', 'n4'], { confId: 7 }));
    expect(publishes(hold(d, 4000), 'make_primary')).toHaveLength(0);
    // Cut again: the wait starts from zero.
    cutUnsettled(d);
    expect(publishes(hold(d, 8000), 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('waiting');
    // A change of view within dc2's half restarts its wait too.
    d.report('n3', nonPrimary('n3', ['n3']));
    d.report('n4', nonPrimary('n4', ['n4']));
    d.report('n3', nonPrimary('n3', ['n3', 'n4']));
    d.report('n4', nonPrimary('n4', ['n3', 'n4']));
    expect(publishes(hold(d, 4000), 'make_primary')).toHaveLength(0);
    // 12 s after the cut, but only 4 s after the change: promoted 10 s after the change.
    expect(publishes(hold(d, 6500, 500), 'make_primary').map((s) => s.to)).toEqual(['dbserver:3']);
  });

  it('paused: nothing is promoted automatically; resume lets the waiting half through', () => {
    const d = started();
    d.command('pause', op('p1', { reason: 'maintenance' }));
    expect(replies(holdsDirectives(d))[0]?.ok).toBe(true);
    cutInHalves(d);
    expect(publishes(hold(d, 30_000), 'make_primary')).toHaveLength(0);
    expect(codes(d)).toEqual(['paused', 'paused']);
    expect(d.state.evaluation?.reasons[0]?.text).toMatch(/paused by alice \(maintenance\)/);
    const r = d.command('resume', op('r1'));
    expect(replies(r)[0]?.ok).toBe(true);
    expect(publishes(r, 'make_primary').map((s) => s.to)).toEqual(['dbserver:1']);
  });

  it('something Primary: while any fresh report says Primary, nothing is promoted', () => {
    const d = started();
    // 3+1: the majority stays Primary; the lone node is non-Primary (and below half anyway),
    // and a pair that is half of LastPC is still not promoted while a primary exists.
    d.report('n1', primary('n1', ['n1', 'n2', 'n3'], { confId: 6 }));
    for (const n of ['n3', 'n4'] as const) d.report(n, nonPrimary(n, ['n3', 'n4']));
    const effects = [];
    for (let i = 0; i < 15; i++) {
      effects.push(...d.advance(2000));
      effects.push(...d.report('n1', primary('n1', ['n1', 'n2', 'n3'], { confId: 6 })));
      for (const n of ['n3', 'n4'] as const) effects.push(...d.report(n, nonPrimary(n, ['n3', 'n4'])));
    }
    expect(publishes(effects, 'make_primary')).toHaveLength(0);
    expect(d.state.evaluation?.reasons[0]).toMatchObject({ code: 'primary_exists' });
    expect(d.state.evaluation?.reasons[0]?.text).toMatch(/a primary component exists: dbserver:1/);
  });

  it('members that disagree on the last primary component, or do not know it, are refused', () => {
    const d = started();
    d.report('n3', nonPrimary('n3', ['n3', 'n4']));
    d.report('n4', nonPrimary('n4', ['n3', 'n4'], { lastPrimary: { viewId: 'pc-4', members: [U.n3, U.n4] } }));
    hold(d, 12_000);
    expect(codes(d)).toContain('last_primary_differs');
    const e = started();
    for (const n of ['n3', 'n4'] as const) e.report(n, nonPrimary(n, ['n3', 'n4'], { lastPrimary: null }));
    expect(publishes(hold(e, 12_000), 'make_primary')).toHaveLength(0);
    expect(codes(e)).toContain('no_last_primary');
  });

  it('a member of the last primary component that was never seen cannot be weighed: refused', () => {
    const d = new ArbDriver();
    d.start();
    // Fresh arbitrator that never saw n1/n2: it cannot tell the weight of the far half.
    for (const n of ['n3', 'n4'] as const) d.report(n, nonPrimary(n, ['n3', 'n4']));
    expect(publishes(hold(d, 12_000), 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('unknown_weight');
  });

  it('a reporter outside the view it reports, or two reporters with one uuid, is inconsistent', () => {
    const d = started();
    d.report('n3', nonPrimary('n3', ['n3', 'n4']));
    d.report('n4', nonPrimary('n4', ['n3', 'n4'], { nodeUuid: U.n3 }));
    hold(d, 12_000);
    expect(codes(d)).toContain('inconsistent_report');
    expect(publishes(d.log, 'make_primary')).toHaveLength(0);
  });

  it('already decided for this LastPC: the other half is never promoted, even once the first is settled', () => {
    const d = started();
    const first = publishes([...cutInHalves(d), ...hold(d, 12_000)], 'make_primary')[0];
    expect(first?.to).toBe('dbserver:1');
    // The dc1 half became Primary, and the decision is settled; dc2 still reports P.
    d.report('n1', primary('n1', ['n1', 'n2'], { confId: 6 }), { decision: { id: first?.body.decisionId ?? '', outcome: 'carried_out', reason: 'ok', at: 0 } });
    expect(d.state.records.decisions[0]?.outcome).toBe('carried_out');
    // Then dc1 falls silent (cut from the arbitrator): only dc2's half is heard, still reporting P.
    expect(publishes(hold(d, 60_000, 2000, ['n3', 'n4']), 'make_primary')).toHaveLength(0);
    const reasons = d.state.evaluation?.reasons ?? [];
    expect(reasons.find((r) => r.view === 'dbserver:3+dbserver:4')?.code).toBe('already_decided');
  });

  it('a decision its target refused (never carried out) frees the LastPC for a new decision', () => {
    const d = started();
    const first = publishes([...cutInHalves(d), ...hold(d, 12_000)], 'make_primary')[0];
    // dbserver:1 refuses (its view changed before it checked); the halves are then as before.
    const onRefusal = d.report('n1', nonPrimary('n1', ['n1', 'n2']), { decision: { id: first?.body.decisionId ?? '', outcome: 'refused', code: 'view_differs', reason: 'my view differs', at: 0 } });
    expect(d.state.records.decisions[0]).toMatchObject({ outcome: 'refused', outcomeCode: 'view_differs', outcomeReason: 'my view differs' });
    expect(onRefusal.find((e) => e.kind === 'log' && e.event === 'decision_refused')).toMatchObject({
      msg: expect.stringMatching(/refused by dbserver:1 \(view_differs\): my view differs/),
      data: { code: 'view_differs' },
    });
    // Not at once: a refusal has a reason that takes time to settle; no decide-refuse loop.
    expect(publishes(onRefusal, 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('waiting');
    const again = publishes(hold(d, 12_000), 'make_primary');
    expect(again).toHaveLength(1);
    expect(again[0]?.body.decisionId).not.toBe(first?.body.decisionId);
    // A failed one (pc.bootstrap was tried) is not enough while its target's last primary
    // component has moved on: the bootstrap may have taken effect (path 9 frees it otherwise).
    d.report('n1', nonPrimary('n1', ['n1', 'n2'], { lastPrimary: { viewId: 'moved-on:9', members: [U.n1, U.n2] } }), {
      decision: { id: again[0]?.body.decisionId ?? '', outcome: 'failed', reason: 'EAGAIN', at: 0 },
    });
    expect(publishes(hold(d, 60_000), 'make_primary')).toHaveLength(0);
  });

  it('a target that keeps refusing gets at most one decision per failover period', () => {
    const d = started();
    cutInHalves(d);
    for (let i = 0; i < 30; i++) {
      for (const m of publishes(hold(d, 1_000), 'make_primary')) {
        d.report('n1', nonPrimary('n1', ['n1', 'n2']), { decision: { id: m.body.decisionId, outcome: 'refused', reason: 'members unreadable', at: 0 } });
      }
    }
    const made = publishes(d.log, 'make_primary').length;
    // 30 s at a 10 s failover period: the first at once (a settled split), then one per period at most.
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThanOrEqual(4);
  });

  it('a carried-out decision is never forgotten, however many refusals follow (no second promotion)', () => {
    const d = started();
    const first = publishes([...cutInHalves(d), ...hold(d, 12_000)], 'make_primary')[0];
    d.report('n1', primary('n1', ['n1', 'n2'], { confId: 6 }), { decision: { id: first?.body.decisionId ?? '', outcome: 'carried_out', reason: 'ok', at: 0 } });
    const spent = d.state.records.decisions[0] as (typeof d.state.records.decisions)[number];
    const refusals = Array.from({ length: 1200 }, (_, i) => ({ ...spent, id: `dec-x-${i}`, key: `pc-other-${i}`, outcome: 'refused' as const, decidedAt: d.now + i }));
    const kept = pruned([spent, ...refusals]);
    expect(kept.length).toBeLessThanOrEqual(DECISIONS_PRUNED_ABOVE);
    expect(kept[0]).toEqual(spent);
    const next = { ...d.state, records: { ...d.state.records, decisions: kept } };
    expect(spendingDecision(next, spent.key)?.id).toBe(first?.body.decisionId);
  });

  it('an outcome reported by another party than the target does not settle a decision', () => {
    const d = started();
    const first = publishes([...cutInHalves(d), ...hold(d, 12_000)], 'make_primary')[0];
    d.report('n2', nonPrimary('n2', ['n1', 'n2']), { decision: { id: first?.body.decisionId ?? '', outcome: 'refused', reason: 'forged', at: 0 } });
    expect(d.state.records.decisions[0]?.outcome).toBe('pending');
  });

  it('while a decision is in flight, no other decision is made', () => {
    // Two unrelated candidates with different last primary components (two histories).
    const d = started();
    cutInHalves(d);
    publishes(hold(d, 12_000), 'make_primary');
    const other = { lastPrimary: lastPrimaryOf(['n3', 'n4'], 'pc-other'), stateUuid: 'other-history' };
    for (const n of ['n3', 'n4'] as const) d.report(n, nonPrimary(n, ['n3', 'n4'], other));
    expect(publishes(hold(d, 12_000), 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('decision_in_flight');
  });
  it('a pending decision whose target has since been in a Primary component no longer blocks the next split (finding 3)', () => {
    const d = started();
    // Split 1: dc1 is decided at once, but its make_primary never lands (dc1 cut from us).
    const first = publishes(cutInHalves(d), 'make_primary')[0];
    expect(first?.to).toBe('dbserver:1');
    // Galera heals by itself: dc2 reports the whole cluster Primary again, n1 among its members.
    d.advance(2000);
    const healed = { confId: 9, lastPrimary: lastPrimaryOf(['n1', 'n2', 'n3', 'n4'], 'pc-9') };
    for (const n of ['n3', 'n4'] as const) d.report(n, primary(n, ['n1', 'n2', 'n3', 'n4'], healed));
    // Split 2, seen from dc2 only: dc1's last reports are the old split's, still fresh by age.
    d.advance(2000);
    for (const n of ['n3', 'n4'] as const) d.report(n, nonPrimary(n, ['n3', 'n4'], { lastPrimary: healed.lastPrimary }));
    const sent = publishes(hold(d, 11_000, 500, ['n3', 'n4']), 'make_primary');
    // Decided after the failover period, not 45 s after the first decision (validFor + staleAfter).
    expect(sent.map((m) => [m.to, m.body.view.lastPrimaryViewId])).toEqual([['dbserver:3', 'pc-9']]);
    expect(d.state.records.decisions.find((x) => x.id === first?.body.decisionId)?.outcome).toBe('pending');
  });
});

describe('arbitrator: restart from its persisted records', () => {
  it('a decision persisted but never sent is sent again, the same one, and the other half is never promoted', () => {
    const d = started();
    const effects = [...cutInHalves(d), ...hold(d, 12_000)];
    const iPersist = effects.findIndex((e) => e.kind === 'persist' && e.key === RECORD_KEYS.decisions);
    expect(iPersist).toBeGreaterThanOrEqual(0);
    const decided = publishes(effects, 'make_primary')[0];
    // Crash between the persist and the send: a new process on the same records.
    const r = d.restart();
    const onStart = r.start();
    const resent = publishes(onStart, 'make_primary');
    expect(resent).toHaveLength(1);
    expect(resent[0]?.to).toBe(decided?.to);
    // The same decision; only the sender's stamp is the new process's.
    expect({ ...resent[0]?.body, arbiter: null }).toEqual({ ...decided?.body, arbiter: null });
    // The far half keeps reporting P; the near half goes quiet (e.g. it is now cut from us).
    for (let i = 0; i < 30; i++) {
      r.advance(2000);
      for (const n of ['n3', 'n4'] as const) r.report(n, nonPrimary(n, ['n3', 'n4']));
    }
    expect(publishes(r.log, 'make_primary').map((m) => m.body.decisionId)).toEqual([decided?.body.decisionId]);
    expect(r.state.evaluation?.reasons.map((x) => x.code)).toContain('already_decided');
  });

  it('a settled decision is not sent again; drains, pause, epoch and writer survive', () => {
    const d = started();
    d.advance(16_000);
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
    d.command('drain', op('d1', { node: 'dbserver:3' }));
    d.command('pause', op('p1'));
    const before = d.state.records.directives;
    expect(before.drained).toEqual(['dbserver:3']);
    const r = d.restart();
    const effects = r.start();
    expect(r.state.records.directives).toEqual(before);
    const dirs = publishes(effects, 'directives');
    expect(dirs.map((x) => x.to).sort()).toEqual(['dbclient:1', 'dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4']);
    expect(dirs[0]?.body).toEqual({ epoch: before.epoch, drained: ['dbserver:3'], paused: true, writer: before.writer });
    expect(publishes(effects, 'make_primary')).toHaveLength(0);
  });

  it('a damaged decision record stops the start instead of forgetting a promotion', async () => {
    const { loadArbitratorRecords } = await import('../../src/roles/arbitrator/records.js');
    expect(() => loadArbitratorRecords((k) => (k === RECORD_KEYS.decisions ? [{ id: 'x' }] : undefined))).toThrow(/damaged.*may hold a promotion/);
  });

  it('the state is plain data: a JSON round trip changes nothing', () => {
    const d = started();
    cutInHalves(d);
    hold(d, 12_000);
    d.command('status_summary', { requestId: 's1', pages: null });
    expect(JSON.parse(JSON.stringify(d.state))).toEqual(d.state);
  });
});

describe('arbitrator: uuids of the far half are remembered', () => {
  it('a Primary reading without its conf id or members (taken mid-change) does not replace the last primary component', () => {
    const d = started();
    const before = d.state.records.lastPrimary;
    expect(before?.members).toHaveLength(4);
    d.report('n3', primary('n3', ['n3', 'n4'], { confId: null }));
    d.report('n4', primary('n4', ['n3', 'n4'], { confId: 9, members: [] }));
    expect(d.state.records.lastPrimary).toEqual(before);
    // A whole reading of a new component does.
    d.report('n3', primary('n3', ['n3', 'n4'], { confId: 9 }));
    expect(d.state.records.lastPrimary?.confId).toBe(9);
    expect(d.state.records.lastPrimary?.members.map((m) => m.party)).toEqual(['dbserver:3', 'dbserver:4']);
  });

  it('learns every member uuid from the Primary reports and persists them', () => {
    const d = started();
    const nodes = d.durable.get(RECORD_KEYS.nodes) as Record<string, { party: string }>;
    for (const n of ['n1', 'n2', 'n3', 'n4'] as const) expect(nodes[U[n]]?.party).toBe(PARTY[n]);
    // A restarted arbitrator that only hears dc2 can still weigh dc1's members of P.
    const r = d.restart();
    r.start();
    for (const n of ['n3', 'n4'] as const) r.report(n, nonPrimary(n, ['n3', 'n4']));
    expect(publishes(hold(r, 12_000), 'make_primary').map((m) => m.to)).toEqual(['dbserver:3']);
  });
});
