import { describe, expect, it } from 'vitest';
import { RECORD_KEYS } from '../../src/roles/arbitrator/records.js';
import { ArbDriver, cutInHalves, cutUnsettled, hold, holdsDirectives, nonPrimary, op, primary, publishes, replies } from './arbitrator-fixtures.js';

const ALL = ['n1', 'n2', 'n3', 'n4'] as const;

function serving(): ArbDriver {
  const d = new ArbDriver();
  d.start();
  for (const n of ALL) d.report(n, primary(n));
  return d;
}

describe('arbitrator: drain and undrain', () => {
  it('a drain grows the epoch, is persisted, then published to every dbclient and dbserver, and answered', () => {
    const d = serving();
    const epoch0 = d.state.records.directives.epoch;
    const effects = d.command('drain', op('r1', { node: 'dbserver:3', reason: 'disk swap' }));
    const reply = replies(effects)[0];
    expect(reply).toMatchObject({ requestId: 'r1', ok: true });
    expect(reply?.message).toMatch(/dbserver:3 drained/);
    const dirs = publishes(effects, 'directives');
    expect(dirs.map((x) => x.to).sort()).toEqual(['dbclient:1', 'dbserver:1', 'dbserver:2', 'dbserver:3', 'dbserver:4']);
    // The dbservers also hear which arbitrator process speaks (they echo it: duplicate detection).
    for (const x of dirs)
      expect(x.body).toEqual({
        epoch: epoch0 + 1,
        drained: ['dbserver:3'],
        paused: false,
        writer: 'dbserver:1',
        ...(x.to.startsWith('dbserver:') ? { arbiter: { incarnation: 1, instance: 'i1', generation: 0 } } : {}),
      });
    const iPersist = effects.findIndex((e) => e.kind === 'persist' && e.key === RECORD_KEYS.directives);
    const iFirstSend = effects.findIndex((e) => e.kind === 'publish' && e.verb === 'directives');
    expect(iPersist).toBeGreaterThanOrEqual(0);
    expect(iPersist).toBeLessThan(iFirstSend);
    expect(effects.some((e) => e.kind === 'log' && e.event === 'operator_drain' && e.data?.operator === 'alice' && e.data?.reason === 'disk swap')).toBe(true);
  });

  it('a resent request (same requestId) gets the same answer and changes nothing', () => {
    const d = serving();
    const first = replies(d.command('drain', op('r1', { node: 'dbserver:3' })));
    const epoch = d.state.records.directives.epoch;
    const again = d.command('drain', op('r1', { node: 'dbserver:3' }));
    expect(replies(again)).toEqual(first);
    expect(publishes(again, 'directives')).toHaveLength(0);
    expect(d.state.records.directives.epoch).toBe(epoch);
  });

  it('draining a drained node, or undraining one that is not, is a no-op that succeeds', () => {
    const d = serving();
    d.command('drain', op('r1', { node: 'dbserver:3' }));
    const epoch = d.state.records.directives.epoch;
    const a = d.command('drain', op('r2', { node: 'dbserver:3' }));
    expect(replies(a)[0]).toMatchObject({ ok: true, message: expect.stringMatching(/already drained/) });
    const b = d.command('undrain', op('r3', { node: 'dbserver:4' }));
    expect(replies(b)[0]).toMatchObject({ ok: true, message: expect.stringMatching(/not drained/) });
    expect(d.state.records.directives.epoch).toBe(epoch);
  });

  it('refuses to drain the last node that can serve, with the reason', () => {
    const d = serving();
    for (const [i, n] of ['dbserver:2', 'dbserver:3', 'dbserver:4'].entries()) {
      expect(replies(d.command('drain', op(`r${i}`, { node: n })))[0]?.ok).toBe(true);
    }
    const effects = d.command('drain', op('last', { node: 'dbserver:1' }));
    expect(replies(effects)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/last node that can serve/) });
    expect(publishes(effects, 'directives')).toHaveLength(0);
    expect(d.state.records.directives.drained).toEqual(['dbserver:2', 'dbserver:3', 'dbserver:4']);
    expect(effects.some((e) => e.kind === 'log' && e.event === 'operator_refused')).toBe(true);
  });

  it('a node that cannot serve anyway may be drained even when only one other serves', () => {
    const d = serving();
    d.report('n4', nonPrimary('n4', ['n4']));
    for (const n of ['dbserver:2', 'dbserver:3']) d.command('drain', op(n, { node: n }));
    expect(replies(d.command('drain', op('x', { node: 'dbserver:4' })))[0]?.ok).toBe(true);
  });

  it('a drained writer hands the role on first, in DC priority then serial order', () => {
    const d = serving();
    expect(d.state.records.directives.writer).toBe('dbserver:1');
    const effects = d.command('drain', op('r1', { node: 'dbserver:1' }));
    expect(publishes(effects, 'directives')[0]?.body).toMatchObject({ drained: ['dbserver:1'], writer: 'dbserver:2' });
    expect(replies(effects)[0]?.message).toMatch(/writer handed to dbserver:2/);
    const e2 = d.command('drain', op('r2', { node: 'dbserver:2' }));
    expect(publishes(e2, 'directives')[0]?.body.writer).toBe('dbserver:3');
    // Undraining does not take the role back: the writer is sticky.
    const e3 = d.command('undrain', op('r3', { node: 'dbserver:1' }));
    expect(publishes(e3, 'directives')[0]?.body).toMatchObject({ drained: ['dbserver:2'], writer: 'dbserver:3' });
  });

  it('refuses a node that is not a dbserver of the site', () => {
    const d = serving();
    expect(replies(d.command('drain', op('r1', { node: 'dbserver:9' })))[0]).toMatchObject({ ok: false, message: expect.stringMatching(/not a dbserver of this site/) });
  });
});

describe('arbitrator: the writer', () => {
  it('is sticky while it serves and moves when it stops serving', () => {
    const d = serving();
    expect(d.state.records.directives.writer).toBe('dbserver:1');
    d.advance(500);
    const fall = d.report('n1', { ...primary('n1'), localState: 'Donor' });
    // Older reports of the others say nothing about after the fall: they are asked at once.
    expect(d.state.records.directives.writer).toBe('dbserver:1');
    expect(publishes(fall, 'request_status').map((x) => x.to)).toEqual(['dbserver:2', 'dbserver:3', 'dbserver:4']);
    d.advance(5);
    d.report('n3', primary('n3'));
    expect(d.state.records.directives.writer).toBe('dbserver:3');
    d.report('n2', primary('n2'));
    expect(d.state.records.directives.writer).toBe('dbserver:3');
    d.command('drain', op('d3', { node: 'dbserver:3' }));
    expect(d.state.records.directives.writer).toBe('dbserver:2');
    d.report('n1', primary('n1'));
    expect(d.state.records.directives.writer).toBe('dbserver:2');
  });

  it('after a split, stays put while nobody serves (older Primary reports do not count), then moves to the promoted half', () => {
    const d = serving();
    const epoch = d.state.records.directives.epoch;
    d.advance(1000);
    cutInHalves(d);
    expect(d.state.records.directives.writer).toBe('dbserver:1');
    expect(d.state.records.directives.epoch).toBe(epoch);
    hold(d, 12_000);
    for (const n of ['n3', 'n4'] as const) d.report(n, primary(n, ['n3', 'n4'], { confId: 9 }));
    expect(d.state.records.directives.writer).toBe('dbserver:3');
  });

  it('a restarted arbitrator keeps the writer until every dbserver has spoken', () => {
    const d = serving();
    d.command('drain', op('r1', { node: 'dbserver:1' }));
    d.command('undrain', op('r2', { node: 'dbserver:1' }));
    expect(d.state.records.directives.writer).toBe('dbserver:2');
    const r = d.restart();
    r.start();
    r.report('n1', primary('n1'));
    expect(r.state.records.directives.writer).toBe('dbserver:2');
    for (const n of ['n2', 'n3', 'n4'] as const) r.report(n, primary(n));
    expect(r.state.records.directives.writer).toBe('dbserver:2');
    expect(publishes(r.log, 'directives').every((x) => x.body.writer === 'dbserver:2')).toBe(true);
  });
});

describe('arbitrator: pause and resume', () => {
  it('are directives (epoch grows, published) and are idempotent', () => {
    const d = serving();
    const a = d.command('pause', op('p1', { reason: 'DC maintenance' }));
    // In force at once; confirmed to the operator once a receiver holds it (pause-confirm.ts).
    expect(replies(a)).toEqual([]);
    expect(publishes(a, 'directives')[0]?.body.paused).toBe(true);
    expect(d.state.records.directives).toMatchObject({ paused: true, pausedBy: 'alice', pausedReason: 'DC maintenance' });
    const held = holdsDirectives(d, 'n3');
    expect(replies(held)).toEqual([{ requestId: 'p1', ok: true, message: expect.stringMatching(/^paused: .*\(epoch 2\); dbserver:3 holds it$/) }]);
    expect(held.some((e) => e.kind === 'log' && e.event === 'pause_confirmed')).toBe(true);
    // A resend gets the same answer; a second pause is already held.
    expect(replies(d.command('pause', op('p1')))[0]?.message).toMatch(/dbserver:3 holds it$/);
    const b = d.command('pause', op('p2'));
    expect(replies(b)[0]?.message).toMatch(/already paused by alice.*dbserver:3 holds it/);
    expect(publishes(b, 'directives')).toHaveLength(0);
    const c = d.command('resume', op('r1'));
    expect(publishes(c, 'directives')[0]?.body.paused).toBe(false);
    expect(d.state.records.directives).toMatchObject({ paused: false, pausedBy: null });
    expect(replies(d.command('resume', op('r2')))[0]?.message).toMatch(/not paused/);
  });
});

describe('arbitrator: a pause is confirmed once the site holds it', () => {
  it('asked again before two ack timeouts: no answer yet; after: not confirmed, and why', () => {
    const d = serving();
    expect(replies(d.command('pause', op('p1')))).toEqual([]);
    d.advance(3000);
    expect(replies(d.command('pause', op('p1')))).toEqual([]);
    d.advance(3000);
    const e = d.command('pause', op('p1'));
    expect(replies(e)).toEqual([
      { requestId: 'p1', ok: false, message: expect.stringMatching(/^PAUSED in this arbitrator \(epoch 2\), but no dbserver or dbclient has confirmed holding it after 6\.0 s/) },
    ]);
    expect(e.some((x) => x.kind === 'log' && x.event === 'pause_unconfirmed' && x.level === 'warn')).toBe(true);
    // The pause acts all the same, and a receiver holding it later changes no answer given.
    expect(d.state.records.directives.paused).toBe(true);
    expect(replies(holdsDirectives(d))).toEqual([]);
    expect(replies(d.command('pause', op('p1')))[0]?.ok).toBe(false);
    // A new pause request, now that the site holds it, is confirmed at once.
    expect(replies(d.command('pause', op('p2')))[0]).toMatchObject({ ok: true, message: expect.stringMatching(/already paused.*dbserver:1 holds it/) });
  });

  it('a pause the site next holds as resumed is answered as such, not as a pause', () => {
    const d = serving();
    d.command('pause', op('p1'));
    expect(replies(d.command('resume', op('r1')))[0]?.ok).toBe(true);
    expect(replies(holdsDirectives(d, 'n2'))).toEqual([{ requestId: 'p1', ok: false, message: expect.stringMatching(/resumed since \(dbserver:2 holds epoch 3, not paused\)/) }]);
  });

  it('a dbclient that holds it confirms it too', () => {
    const d = serving();
    d.command('pause', op('p1'));
    const x = d.state.records.directives;
    const e = d.command(
      'client_status_report',
      {
        observedAt: d.now,
        epochApplied: x.epoch,
        held: { epoch: x.epoch, drained: [], paused: true, writer: x.writer },
        lb: { kind: 'haproxy', reachable: true, error: null },
        writer: x.writer,
        servers: [],
      },
      'dbclient:1',
    );
    expect(replies(e)[0]).toMatchObject({ ok: true, message: expect.stringMatching(/dbclient:1 holds it$/) });
  });
});

describe('arbitrator: the operator promote', () => {
  function dc2Alone(): ArbDriver {
    const d = serving();
    // dc1 burned down: only n4 of dc2 is left, alone, non-Primary, 1 of 4.
    d.advance(16_000);
    d.report('n4', nonPrimary('n4', ['n4']));
    d.report('n3', { ...nonPrimary('n3', ['n3']), clusterStatus: 'Disconnected' });
    return d;
  }

  it('without --force, a half below half is refused with the hint', () => {
    const d = dc2Alone();
    const e = d.command('promote', op('p', { target: 'dc2', force: false }));
    expect(replies(e)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/below half.*--force/) });
    expect(publishes(e, 'make_primary')).toHaveLength(0);
  });

  it('--force promotes the exact current view of the target, logged with who and why; allowed while paused', () => {
    const d = dc2Alone();
    d.command('pause', op('p0'));
    // dc1's last reports said Primary: without naming them as lost, refused (path 5).
    expect(replies(d.command('promote', op('p00', { target: 'dc2', force: true, reason: 'dc1 is flooded' })))[0]).toMatchObject({
      ok: false,
      message: expect.stringMatching(/--confirm-lost dbserver:1,dbserver:2/),
    });
    const e = d.command('promote', op('p1', { target: 'dc2', force: true, reason: 'dc1 is flooded', confirmLost: ['dbserver:1', 'dbserver:2'] }));
    expect(replies(e)[0]).toMatchObject({ ok: true, message: expect.stringMatching(/make_primary to dbserver:4/) });
    const mp = publishes(e, 'make_primary');
    expect(mp).toHaveLength(1);
    expect(mp[0]?.body).toMatchObject({ forced: true, view: { members: [nonPrimary('n4', ['n4']).nodeUuid] } });
    expect(mp[0]?.body.reason).toMatch(/forced promote of data centre dc2 by alice: dc1 is flooded/);
    const log = e.find((x) => x.kind === 'log' && x.event === 'forced_promotion');
    expect(log).toMatchObject({ level: 'warn', data: { operator: 'alice', forced: true } });
    const iPersist = e.findIndex((x) => x.kind === 'persist' && x.key === RECORD_KEYS.decisions);
    expect(iPersist).toBeLessThan(e.findIndex((x) => x.kind === 'publish' && x.verb === 'make_primary'));
    // The resend of the same request answers the same, and makes no second decision.
    const again = d.command('promote', op('p1', { target: 'dc2', force: true, reason: 'dc1 is flooded', confirmLost: ['dbserver:1', 'dbserver:2'] }));
    expect(replies(again)[0]?.ok).toBe(true);
    expect(publishes(again, 'make_primary')).toHaveLength(0);
    expect(d.state.records.decisions).toHaveLength(1);
  });

  it('a forced promote needs a reason', () => {
    const d = dc2Alone();
    expect(replies(d.command('promote', op('p', { target: 'dc2', force: true, reason: '  ' })))[0]).toMatchObject({ ok: false, message: expect.stringMatching(/needs a reason/) });
  });

  it('is refused while anything is Primary', () => {
    const d = serving();
    d.report('n4', nonPrimary('n4', ['n4']));
    const e = d.command('promote', op('p', { target: 'dbserver:4', force: true, reason: 'x' }));
    expect(replies(e)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/a primary component exists/) });
  });

  it('is refused when this last primary component was already decided', () => {
    const d = serving();
    const first = publishes([...cutInHalves(d), ...hold(d, 12_000)], 'make_primary');
    expect(first).toHaveLength(1);
    // Being carried out by its target right now: a forced promote cannot supersede it.
    d.report('n1', nonPrimary('n1', ['n1', 'n2']), { decision: { id: first[0]?.body.decisionId ?? '', outcome: 'pending', reason: 'pc.bootstrap attempt 1', at: 0 } });
    const e = d.command('promote', op('p', { target: 'dc2', force: true, reason: 'I insist' }));
    expect(replies(e)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/being carried out by dbserver:1/) });
    expect(publishes(e, 'make_primary')).toHaveLength(0);
    // Carried out: its members are a primary component; naming them lost is the only way on.
    d.report('n1', primary('n1', ['n1', 'n2'], { confId: 6 }), { decision: { id: first[0]?.body.decisionId ?? '', outcome: 'carried_out', reason: 'ok', at: 0 } });
    d.advance(16_000);
    hold(d, 2000, 2000, ['n3', 'n4']);
    const f = d.command('promote', op('q', { target: 'dc2', force: true, reason: 'I insist' }));
    expect(replies(f)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/dbserver:1 .*--confirm-lost dbserver:1,dbserver:2/) });
    expect(publishes(f, 'make_primary')).toHaveLength(0);
  });

  it('is refused for a target without a fresh report, an unknown target, or one in two views', () => {
    const d = dc2Alone();
    d.advance(16_000);
    expect(replies(d.command('promote', op('a', { target: 'dc2', force: true })))[0]?.message).toMatch(/no fresh report from data centre dc2/);
    expect(replies(d.command('promote', op('b', { target: 'dc9', force: true })))[0]?.message).toMatch(/unknown target dc9/);
    d.report('n3', nonPrimary('n3', ['n3']));
    d.report('n4', nonPrimary('n4', ['n4']));
    expect(replies(d.command('promote', op('c', { target: 'dc2', force: true })))[0]?.message).toMatch(/2 different views .*: name one dbserver/);
    // Naming the node works, and the node name is accepted as well as the party id.
    expect(replies(d.command('promote', op('d', { target: 'n4', force: true, confirmLost: ['n1', 'n2'] })))[0]).toMatchObject({ ok: true });
  });

  it('without --force, an operator promote of a half that qualifies skips the wait', () => {
    const d = serving();
    // dc1 still regrouping, so dc2 is not settled and would wait the failover period.
    cutUnsettled(d);
    expect(publishes(d.log, 'make_primary')).toHaveLength(0);
    const e = d.command('promote', op('p', { target: 'dc2', force: false }));
    expect(replies(e)[0]?.ok).toBe(true);
    expect(publishes(e, 'make_primary')[0]).toMatchObject({ to: 'dbserver:3', body: { forced: false } });
  });
});
