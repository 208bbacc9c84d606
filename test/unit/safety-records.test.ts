import { describe, expect, it } from 'vitest';
import type { ArbiterStamp, CarriedDecision, MakePrimary } from '../../src/protocol/verbs.js';
import type { CommonEffect } from '../../src/roles/core.js';
import { dbserverCore, DEFAULT_TUNING, type DbserverSettings, initialState } from '../../src/roles/dbserver/core.js';
import { ArbDriver, codes, cutInHalves, hold, type Node, nonPrimary, op, PARTY, primary, publishes, replies, settingsFor, started, withdrawals } from './arbitrator-fixtures.js';
import { Driver, message } from './dbserver-fixtures.js';

/**
 * The named schedules of issue 11's decision-record paths (docs/safety.md): each was run once
 * against the code before the fix and failed there (the report of that run is in the commit
 * message that added it); each passes now.
 */

/** Reports from `who` every 2 s for `ms`, each with the given extras (carried decisions, arbiters heard). */
function keepReporting(d: ArbDriver, ms: number, who: Array<[Node, ReturnType<typeof nonPrimary>, Parameters<ArbDriver['report']>[2]?]>): CommonEffect[] {
  const out: CommonEffect[] = [];
  for (let t = 0; t < ms; t += 2000) {
    out.push(...d.advance(2000));
    for (const [n, w, extra] of who) out.push(...d.report(n, w, extra ?? {}));
  }
  return out;
}

/** A dbserver of db1, non-Primary in dc1's half, and the make_primary an arbitrator decided for that half (on the dbserver's clock). */
function dbserverAndDecision(): { dbs: Driver; w: ReturnType<typeof nonPrimary>; a: ArbDriver; mp: MakePrimary } {
  const dbs = new Driver();
  dbs.step({ kind: 'start' });
  const w = nonPrimary('n1', ['n1', 'n2']);
  dbs.observe(w);
  const a = new ArbDriver();
  a.start();
  const mp = publishes(cutInHalves(a), 'make_primary')[0]?.body as MakePrimary;
  dbs.now = a.now;
  return { dbs, w, a, mp };
}

function carriedOf(mp: MakePrimary, outcome: CarriedDecision['outcome'] = 'carried_out'): CarriedDecision {
  return { id: mp.decisionId, lastPrimaryViewId: mp.view.lastPrimaryViewId, view: mp.view, decidedAt: mp.decidedAt ?? null, outcome, at: 0 };
}

describe('path 1: the arbitrator loses its memory', () => {
  it('schedule lost_state_during_a_cut: a state file deleted after dc1 was promoted never promotes dc2 for the same last primary component', () => {
    const d = started();
    const first = publishes(cutInHalves(d), 'make_primary')[0];
    expect(first?.to).toBe('dbserver:1');
    const dec = first?.body as MakePrimary;
    // dc1 carried it out: {n1, n2} is the primary component, and the dbservers say so.
    const dc1 = primary('n1', ['n1', 'n2'], { confId: 6 });
    const n1Extra = { decision: { id: dec.decisionId, outcome: 'carried_out' as const, reason: 'ok', at: 0 }, carried: [carriedOf(dec)] };
    d.report('n1', dc1, n1Extra);
    // The state file is deleted and the arbitrator restarted (a new file: incarnation 1 again).
    const a = d.restart(1, { lostState: true });
    a.durable.clear();
    const b = new ArbDriver(a.settings, a.durable, a.now, 1, { lostState: true });
    b.start();
    // It hears dc1 (Primary; n1 reports what it carried out) and dc2 (non-Primary, LastPC P)...
    keepReporting(b, 6000, [
      ['n1', dc1, n1Extra],
      ['n2', primary('n2', ['n1', 'n2'], { confId: 6 }), { carried: [] }],
      ['n3', nonPrimary('n3', ['n3', 'n4']), { carried: [] }],
      ['n4', nonPrimary('n4', ['n3', 'n4']), { carried: [] }],
    ]);
    expect(b.state.records.decisions.map((x) => [x.id, x.adopted, x.outcome])).toEqual([[dec.decisionId, true, 'carried_out']]);
    expect(b.log.some((e) => e.kind === 'log' && e.event === 'decision_adopted')).toBe(true);
    // ...then loses dc1 (cut from the arbitrator): only dc2 is heard, still reporting P.
    const after = keepReporting(b, 120_000, [
      ['n3', nonPrimary('n3', ['n3', 'n4']), { carried: [] }],
      ['n4', nonPrimary('n4', ['n3', 'n4']), { carried: [] }],
    ]);
    expect(publishes(after, 'make_primary')).toHaveLength(0);
    expect(codes(b)).toContain('already_decided');
  });

  it('a blank state that never heard the other half promotes nothing until it has, or the operator says so', () => {
    const d = new ArbDriver(settingsFor(), new Map(), undefined, 1, { lostState: true });
    const s = d.start();
    expect(s.some((e) => e.kind === 'log' && e.event === 'memory_lost' && e.level === 'error')).toBe(true);
    // Only dc2 is heard (it reports P, whose other members it never saw).
    const cut = keepReporting(d, 200_000, [
      ['n3', nonPrimary('n3', ['n3', 'n4']), { carried: [] }],
      ['n4', nonPrimary('n4', ['n3', 'n4']), { carried: [] }],
    ]);
    expect(publishes(cut, 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('relearning');
    expect(d.state.evaluation?.reasons.find((r) => r.code === 'relearning')?.text).toMatch(/RELEARNING.*relearned --force/);
    // The operator's forced promote is refused too, until `relearned --force`.
    expect(replies(d.command('promote', op('p', { target: 'dc2', force: true, reason: 'dc1 burned' })))[0]).toMatchObject({ ok: false, message: expect.stringMatching(/RELEARNING/) });
    expect(replies(d.command('relearned', op('r', { force: false })))[0]?.ok).toBe(false);
    expect(replies(d.command('relearned', op('r2', { force: true, reason: 'checked n1 and n2 by hand: powered off' })))[0]?.ok).toBe(true);
    expect(d.state.records.memory.relearning).toBe(false);
    expect(d.durable.get('arbitrator.memory')).toMatchObject({ relearning: false, relearnedBy: expect.stringMatching(/alice/) });
  });

  it('relearns by itself once every member of the last primary component has reported what it carried out', () => {
    const d = new ArbDriver(settingsFor(), new Map(), undefined, 1, { lostState: true });
    d.start();
    keepReporting(
      d,
      100_000,
      (['n1', 'n2', 'n3', 'n4'] as const).map((n) => [n, primary(n), { carried: [] }]),
    );
    expect(d.state.records.memory.relearning).toBe(false);
    expect(d.log.some((e) => e.kind === 'log' && e.event === 'relearned')).toBe(true);
  });

  it('an old copy of the state file: a dbserver that heard a newer incarnation makes it relearn and outgrow that incarnation', () => {
    const d = started(new ArbDriver(settingsFor(), new Map(), undefined, 3));
    const newer: ArbiterStamp = { incarnation: 7, instance: 'gone' };
    const e = d.report('n1', primary('n1'), { carried: [], newestArbiter: newer });
    expect(d.state.records.memory.relearning).toBe(true);
    expect(e.some((x) => x.kind === 'persist' && x.key === 'meta.incarnationFloor' && x.value === 7)).toBe(true);
    expect(e.some((x) => x.kind === 'log' && x.event === 'memory_lost')).toBe(true);
  });

  it('schedule old_copy_after_promotion: a restored copy with no decision in it relearns when a dbserver heard a higher records generation, and promotes nothing', () => {
    // The running arbitrator decided for dc1: its records' generation grew to 1, and every other
    // dbserver was told at once (request_status carries the stamp).
    const a = started();
    const eff = cutInHalves(a);
    const mp = publishes(eff, 'make_primary')[0]?.body as MakePrimary;
    expect(mp.arbiter?.generation).toBe(1);
    expect(
      publishes(eff, 'request_status')
        .filter((x) => (x.body as { arbiter?: ArbiterStamp }).arbiter?.generation === 1)
        .map((x) => x.to)
        .sort(),
    ).toEqual(['dbserver:2', 'dbserver:3', 'dbserver:4']);
    // An old copy (generation 0, trusted memory, a higher incarnation than the site heard) runs.
    const old = started(new ArbDriver(settingsFor(), new Map(), undefined, 5));
    expect(old.state.records.memory.generation).toBe(0);
    const heard: ArbiterStamp = { incarnation: 1, instance: 'i1', generation: 1 };
    const after = keepReporting(old, 60_000, [
      ['n3', nonPrimary('n3', ['n3', 'n4']), { carried: [], newestArbiter: heard }],
      ['n4', nonPrimary('n4', ['n3', 'n4']), { carried: [], newestArbiter: heard }],
    ]);
    expect(old.state.records.memory.relearning).toBe(true);
    expect(old.state.records.memory.siteGeneration).toBe(1);
    expect(publishes(after, 'make_primary')).toHaveLength(0);
    expect(codes(old)).toContain('relearning');
  });

  it("a dbserver holding the operator's pause refuses an automatic make_primary from a sender that has not seen it (all-faults campaign seed 103: a twin the pause never reached)", () => {
    const { dbs, a, mp } = dbserverAndDecision();
    expect(mp.epoch).toBe(a.state.records.directives.epoch);
    // The operator's pause reached this dbserver from the arbitrator it talks to: epoch 5.
    dbs.step(message('arbitrator:1', 'directives', { epoch: 5, drained: [], paused: true, writer: null }));
    const refused = () => dbs.last.find((f) => f.kind === 'log' && f.event === 'make_primary_refused') as { msg: string } | undefined;
    // A twin, at epoch 4, decides automatically: refused, nothing bootstrapped.
    dbs.step(message('arbitrator:1', 'make_primary', { ...mp, epoch: 4 }));
    expect(refused()?.msg).toMatch(/refused \(paused\): automatic, from a sender at directives epoch 4, while this dbserver holds the operator's pause \(epoch 5\)/);
    expect(dbs.last.some((f) => f.kind === 'bootstrap' || f.kind === 'read_status')).toBe(false);
    // So is one that does not say its epoch (an older arbitrator).
    const { epoch: _e, ...noEpoch } = mp;
    dbs.step(message('arbitrator:1', 'make_primary', { ...noEpoch, decisionId: 'dec-old' }));
    expect(refused()?.msg).toMatch(/epoch unknown/);
    // The operator's own forced promote goes through, and so does a sender that saw a later epoch (the resume).
    dbs.step(message('arbitrator:1', 'make_primary', { ...mp, decisionId: 'dec-forced', forced: true, epoch: 4 }));
    expect(dbs.last.some((f) => f.kind === 'log' && f.event === 'make_primary_received')).toBe(true);
  });

  it('a make_primary from a sender that has seen the resume is carried out while the resume is still on its way', () => {
    const { dbs, mp } = dbserverAndDecision();
    dbs.step(message('arbitrator:1', 'directives', { epoch: 5, drained: [], paused: true, writer: null }));
    dbs.step(message('arbitrator:1', 'make_primary', { ...mp, epoch: 6 }));
    expect(dbs.last.some((f) => f.kind === 'log' && f.event === 'make_primary_received')).toBe(true);
  });

  it('the dbserver fences an arbitrator party: a make_primary from an older incarnation, or from records behind a generation heard, is refused', () => {
    const { dbs, w, mp } = dbserverAndDecision();
    // A newer process of arbitrator:1 spoke first (a twin that took the address, a restart).
    dbs.step(message('arbitrator:1', 'request_status', { arbiter: { incarnation: 2, instance: 'twin', generation: 1 } }));
    expect(dbs.persisted.get('dbserver.arbiterFences')).toEqual({ 'arbitrator:1': { incarnation: 2, generation: 1 } });
    dbs.step(message('arbitrator:1', 'make_primary', { ...mp, arbiter: { incarnation: 1, instance: 'old', generation: 1 } }));
    expect(dbs.last.some((f) => f.kind === 'log' && f.event === 'make_primary_refused' && /fenced: .*incarnation 1, older than incarnation 2/.test(f.msg))).toBe(true);
    expect(dbs.observe(w).some((f) => f.kind === 'bootstrap')).toBe(false);
    // Records behind: same incarnation, lower generation.
    dbs.step(message('arbitrator:1', 'request_status', { arbiter: { incarnation: 2, instance: 'twin', generation: 4 } }));
    dbs.step(message('arbitrator:1', 'make_primary', { ...mp, decisionId: 'dec-other', arbiter: { incarnation: 2, instance: 'twin', generation: 3 } }));
    expect(dbs.last.some((f) => f.kind === 'log' && f.event === 'make_primary_refused' && /generation 3, behind generation 4/.test(f.msg))).toBe(true);
    // Another arbitrator party has fences of its own (arbitrator HA: several identities).
    dbs.step(message('arbitrator:2', 'make_primary', { ...mp, decisionId: 'dec-two', arbiter: { incarnation: 1, instance: 'a2', generation: 1 } }));
    expect(dbs.last.some((f) => f.kind === 'log' && f.event === 'make_primary_received')).toBe(true);
  });

  it('schedule pause_lost_with_old_copy (all-faults seed 17650): an arbitrator behind the directives the site follows adopts them, pause included, and promotes nothing', () => {
    // A copy from before the operator's pause (epoch 3 on the site; these records hold epoch 0).
    const d = started();
    const held = { epoch: 3, drained: ['dbserver:4'], paused: true, writer: 'dbserver:1' } as const;
    const e = d.report('n1', nonPrimary('n1', ['n1', 'n2']), { held: { ...held, drained: [...held.drained] } });
    expect(d.state.records.directives).toMatchObject({ epoch: 3, paused: true, drained: ['dbserver:4'], writer: 'dbserver:1' });
    expect(e.some((x) => x.kind === 'persist' && x.key === 'arbitrator.directives')).toBe(true);
    expect(e.some((x) => x.kind === 'log' && x.event === 'directives_adopted' && x.level === 'error')).toBe(true);
    const after = keepReporting(d, 60_000, [
      ['n1', nonPrimary('n1', ['n1', 'n2'])],
      ['n2', nonPrimary('n2', ['n1', 'n2'])],
      ['n3', nonPrimary('n3', ['n3', 'n4'])],
      ['n4', nonPrimary('n4', ['n3', 'n4'])],
    ]);
    expect(publishes(after, 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('paused');
  });

  it('schedule pause_only_in_the_old_copy (all-faults seed 111659): a pause nothing but the state file holds is never confirmed to the operator', () => {
    // The arbitrator hears nobody (cut off from the site), a backup of its state file is taken,
    // the operator pauses: the pause acts, but only this file holds it.
    const d = new ArbDriver();
    d.start();
    const backup = new Map([...d.durable].map(([k, v]) => [k, structuredClone(v)] as const));
    const answers: ReturnType<typeof replies> = [];
    for (let t = 0; t <= 8000; t += 1000) {
      answers.push(...replies(d.command('pause', op('p1'))));
      d.advance(1000);
    }
    expect(d.state.records.directives.paused).toBe(true);
    // Before the fix the first send was answered "paused": the operator was told of a pause that
    // the restore below undoes.
    expect(answers.filter((a) => a.ok)).toEqual([]);
    expect(answers[0]?.message).toMatch(/^PAUSED in this arbitrator .*lost or restored copy of that file forgets it/);
    // Restored from the backup, it has no pause and nobody to relearn one from: the operator knew.
    const b = new ArbDriver(d.settings, backup, d.now, 2);
    b.start();
    expect(b.state.records.directives.paused).toBe(false);
  });

  it('the dbserver reports at once when new directives reach it (the pause is confirmed on that report)', () => {
    const dbs = new Driver();
    dbs.step({ kind: 'start' });
    dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    const e = dbs.step(message('arbitrator:1', 'directives', { epoch: 4, drained: [], paused: true, writer: null }));
    const rep = e.find((f) => f.kind === 'publish' && f.verb === 'db_status_report' && f.to === 'arbitrator:1') as { body: { held?: { epoch: number; paused: boolean } } } | undefined;
    expect(rep?.body.held).toMatchObject({ epoch: 4, paused: true });
  });

  it("schedule pause_at_an_equal_epoch (all-faults campaign seed 103): a pause the site holds at this arbitrator's own epoch, which it does not hold, is adopted under a new epoch", () => {
    // A twin of the arbitrator got the operator's pause and made epoch N of it; this process made
    // an epoch N of its own, unpaused; the twin is gone. The dbservers keep the pause (below).
    const d = started();
    const n = d.state.records.directives.epoch;
    const held = { epoch: n, drained: [], paused: true, writer: null };
    const e = d.report('n1', nonPrimary('n1', ['n1', 'n2']), { held });
    expect(d.state.records.directives).toMatchObject({ epoch: n + 1, paused: true });
    expect(e.some((x) => x.kind === 'log' && x.event === 'directives_adopted' && x.level === 'error')).toBe(true);
    expect(publishes(e, 'directives').every((p) => p.body.paused && p.body.epoch === n + 1)).toBe(true);
    const after = keepReporting(d, 60_000, [
      ['n1', nonPrimary('n1', ['n1', 'n2'])],
      ['n2', nonPrimary('n2', ['n1', 'n2'])],
      ['n3', nonPrimary('n3', ['n3', 'n4'])],
      ['n4', nonPrimary('n4', ['n3', 'n4'])],
    ]);
    expect(publishes(after, 'make_primary')).toHaveLength(0);
  });

  it('the dbserver keeps a held pause when unpaused directives of the same epoch arrive; a later epoch (a resume) replaces it', () => {
    const dbs = new Driver();
    dbs.step({ kind: 'start' });
    dbs.step(message('arbitrator:1', 'directives', { epoch: 5, drained: [], paused: true, writer: null }));
    dbs.step(message('arbitrator:1', 'directives', { epoch: 5, drained: [], paused: false, writer: 'dbserver:1' }));
    expect(dbs.state.directives).toMatchObject({ epoch: 5, paused: true });
    const rep = dbs.observe(nonPrimary('n1', ['n1', 'n2'])).find((f) => f.kind === 'publish' && f.verb === 'db_status_report') as { body: { held?: { epoch: number; paused: boolean } } };
    expect(rep.body.held).toMatchObject({ epoch: 5, paused: true });
    dbs.step(message('arbitrator:1', 'directives', { epoch: 6, drained: [], paused: false, writer: null }));
    expect(dbs.state.directives).toMatchObject({ epoch: 6, paused: false });
  });

  it('the dbserver keeps the newer directives when an older epoch arrives, and reports them', () => {
    const dbs = new Driver();
    dbs.step({ kind: 'start' });
    dbs.step(message('arbitrator:1', 'directives', { epoch: 5, drained: [], paused: true, writer: null }));
    dbs.step(message('arbitrator:1', 'directives', { epoch: 2, drained: [], paused: false, writer: null }));
    const rep = dbs.observe(nonPrimary('n1', ['n1', 'n2'])).find((f) => f.kind === 'publish' && f.verb === 'db_status_report') as { body: { held?: { epoch: number; paused: boolean } } };
    expect(rep.body.held).toMatchObject({ epoch: 5, paused: true });
  });

  it('the dbserver persists a decision before its first pc.bootstrap and reports it in every report', () => {
    const { dbs, w, mp } = dbserverAndDecision();
    dbs.step(message('arbitrator:1', 'make_primary', mp));
    const eff = dbs.observe(w);
    const iCarry = eff.findIndex((f) => f.kind === 'persist' && f.key === 'dbserver.carried');
    const iBoot = eff.findIndex((f) => f.kind === 'bootstrap');
    expect(iCarry).toBeGreaterThanOrEqual(0);
    expect(iCarry).toBeLessThan(iBoot);
    dbs.step({ kind: 'bootstrap_done', decisionId: mp.decisionId, attempt: 1, ok: true, error: null });
    const rep = dbs.observe(primary('n1', ['n1', 'n2'], { confId: 6 })).find((f) => f.kind === 'publish' && f.verb === 'db_status_report');
    expect((rep as { body: { carried: CarriedDecision[] } }).body.carried).toEqual([expect.objectContaining({ id: mp.decisionId, outcome: 'carried_out', lastPrimaryViewId: 'pc-4' })]);
  });
});

describe('path 3: a decision outlives its moment', () => {
  const dbsSettings: DbserverSettings = { self: 'dbserver:1', dc: 'dc1', recipients: ['arbitrator:1'], reportIntervalMs: 5000, ...DEFAULT_TUNING, maxClockSkewMs: 60_000 };

  it('schedule stale_decision_after_manual_bootstrap: dc1 receives the old make_primary after the operator bootstrapped dc2 and refuses it', () => {
    // The arbitrator→dc1 direction is lost; the settled split decides for dc1 anyway.
    const a = started();
    const sent = publishes(cutInHalves(a), 'make_primary')[0];
    expect(sent?.to).toBe('dbserver:1');
    const mp = sent?.body as MakePrimary;
    // 40 s later the operator bootstraps dc2 by hand; at 60 s the link heals and the old
    // make_primary (resent until acked) reaches n1, whose view still matches.
    const dbs = new Driver(initialState());
    dbs.core = dbserverCore(dbsSettings);
    dbs.now = a.now + 60_000;
    dbs.step({ kind: 'start' });
    dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    dbs.step(message('arbitrator:1', 'make_primary', mp));
    const onCheck = dbs.state.inFlight === null ? [] : dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    expect([...dbs.last, ...onCheck].some((f) => f.kind === 'bootstrap')).toBe(false);
    expect(dbs.all.some((f) => f.kind === 'bootstrap')).toBe(false);
    expect(dbs.state.decisions.at(-1)).toMatchObject({ id: mp.decisionId, outcome: 'refused', reason: expect.stringMatching(/expired: decided 60.0 s ago/) });
  });

  it('the arbitrator stops sending an expired decision: a withdrawal replaces it in the stream to its target', () => {
    const a = started();
    const mp = publishes(cutInHalves(a), 'make_primary')[0]?.body as MakePrimary;
    const later = keepReporting(a, 34_000, [
      ['n3', nonPrimary('n3', ['n3', 'n4'])],
      ['n4', nonPrimary('n4', ['n3', 'n4'])],
      ['n1', nonPrimary('n1', ['n1', 'n2'])],
      ['n2', nonPrimary('n2', ['n1', 'n2'])],
    ]);
    const w = withdrawals(later);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ to: 'dbserver:1', body: { decisionId: mp.decisionId, withdrawn: true } });
    expect(a.state.records.decisions[0]?.expiredAt).not.toBeNull();
    // A restart never sends it again.
    const r = a.restart(2);
    expect(publishes(r.start(), 'make_primary')).toHaveLength(0);
  });

  it('a decision from further in the future than the maximum clock skew is refused with the reason', () => {
    const a = started();
    const mp = publishes(cutInHalves(a), 'make_primary')[0]?.body as MakePrimary;
    const dbs = new Driver(initialState());
    dbs.core = dbserverCore(dbsSettings);
    dbs.now = a.now - 61_000;
    dbs.step({ kind: 'start' });
    dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    dbs.step(message('arbitrator:1', 'make_primary', mp));
    expect(dbs.state.decisions.at(-1)).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/in the future of my clock, more than the maximum clock skew/) });
  });

  it('withdraw: the operator withdraws a pending decision; the target refuses it, also when the original arrives after', () => {
    const a = started();
    const mp = publishes(cutInHalves(a), 'make_primary')[0]?.body as MakePrimary;
    expect(replies(a.command('withdraw', op('w0', { decisionId: mp.decisionId, reason: '' })))[0]?.ok).toBe(false);
    const e = a.command('withdraw', op('w1', { decisionId: mp.decisionId, reason: 'bootstrapping dc2 by hand' }));
    expect(replies(e)[0]).toMatchObject({ ok: true, message: expect.stringMatching(/withdrawn: dbserver:1 refuses it .* at the latest until/) });
    const w = withdrawals(e)[0]?.body as MakePrimary;
    expect(e.findIndex((x) => x.kind === 'persist')).toBeLessThan(e.findIndex((x) => x.kind === 'publish' && x.verb === 'make_primary'));
    const dbs = new Driver(initialState());
    dbs.now = a.now;
    dbs.step({ kind: 'start' });
    dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    dbs.step(message('arbitrator:1', 'make_primary', w));
    dbs.step(message('arbitrator:1', 'make_primary', mp));
    if (dbs.state.inFlight !== null) dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    expect(dbs.all.some((f) => f.kind === 'bootstrap')).toBe(false);
    expect(dbs.state.decisions.at(-1)).toMatchObject({ id: mp.decisionId, outcome: 'refused', reason: expect.stringMatching(/withdrawn/) });
  });

  it('schedule forced_over_pending (all-faults seed 21137): promote --force withdraws a pending decision first and goes ahead only once it has concluded or expired', () => {
    const a = started();
    const mp = publishes(cutInHalves(a), 'make_primary')[0]?.body as MakePrimary;
    // dbserver:1 may be carrying it out this moment (its report saying so still on its way):
    // the old code withdrew it and sent the forced decision in the same step; the withdrawal lost
    // the race and both halves became Primary.
    const e = a.command('promote', op('f', { target: 'dc2', force: true, reason: 'dc1 will not answer' }));
    expect(replies(e)[0]).toMatchObject({ ok: false, message: expect.stringMatching(new RegExp(`${mp.decisionId} \\(to dbserver:1\\) withdrawn, not yet concluded`)) });
    expect(withdrawals(e).map((x) => x.to)).toEqual(['dbserver:1']);
    expect(publishes(e, 'make_primary').filter((x) => x.body.withdrawn !== true)).toEqual([]);
    // The withdrawal arrives: dbserver:1 refuses the decision and says so.
    a.report('n1', nonPrimary('n1', ['n1', 'n2']), { decision: { id: mp.decisionId, outcome: 'refused', reason: 'withdrawn by the arbitrator', at: 0 } });
    const again = a.command('promote', op('f2', { target: 'dc2', force: true, reason: 'dc1 will not answer' }));
    expect(replies(again)[0]).toMatchObject({ ok: true });
    expect(publishes(again, 'make_primary').filter((x) => x.body.withdrawn !== true)[0]?.to).toBe('dbserver:3');
  });

  it('promote --force after a withdrawn decision that never concluded waits out its validity and the skew bound', () => {
    const a = started();
    publishes(cutInHalves(a), 'make_primary');
    a.command('promote', op('f', { target: 'dc2', force: true, reason: 'dc1 is gone' }));
    const t = a.settings.timings;
    const early = a.command('promote', op('f2', { target: 'dc2', force: true, reason: 'dc1 is gone' }));
    expect(replies(early)[0]?.ok).toBe(false);
    keepReporting(a, t.makePrimaryValidForMs + t.maxClockSkewMs + 2000, [
      ['n3', nonPrimary('n3', ['n3', 'n4'])],
      ['n4', nonPrimary('n4', ['n3', 'n4'])],
    ]);
    const late = a.command('promote', op('f3', { target: 'dc2', force: true, reason: 'dc1 is gone', confirmLost: ['dbserver:1', 'dbserver:2'] }));
    expect(replies(late)[0], JSON.stringify(replies(late))).toMatchObject({ ok: true });
  });
});

describe('path 4: two arbitrators at once', () => {
  it('schedule duplicate_arbitrator: two processes of one identity (a cloned VM, same incarnation) both refuse to promote while the other speaks', () => {
    const mk = (instance: string) => started(new ArbDriver(settingsFor(), new Map(), undefined, 3, { instance }));
    const a = mk('aaaa');
    const b = mk('bbbb');
    // The dbservers hear both (each sends request_status and directives); their reports echo both.
    const heard = {
      arbiters: [
        { incarnation: 3, instance: 'aaaa' },
        { incarnation: 3, instance: 'bbbb' },
      ],
      carried: [],
    };
    // A hears both halves; B (the VIP on the other host) hears only dc2's half.
    const ea = keepReporting(
      a,
      30_000,
      (['n1', 'n2', 'n3', 'n4'] as const).map((n) => [n, nonPrimary(n, n === 'n1' || n === 'n2' ? ['n1', 'n2'] : ['n3', 'n4']), heard]),
    );
    const eb = keepReporting(
      b,
      30_000,
      (['n3', 'n4'] as const).map((n) => [n, nonPrimary(n, ['n3', 'n4']), heard]),
    );
    expect(publishes(ea, 'make_primary')).toHaveLength(0);
    expect(publishes(eb, 'make_primary')).toHaveLength(0);
    for (const x of [a, b]) {
      expect(codes(x)).toContain('duplicate_arbitrator');
      expect(x.log.some((e) => e.kind === 'log' && e.event === 'duplicate_arbitrator' && e.level === 'error')).toBe(true);
    }
    expect(replies(b.command('promote', op('p', { target: 'dc2', force: true, reason: 'x', confirmLost: ['dbserver:1', 'dbserver:2'] })))[0]).toMatchObject({
      ok: false,
      message: expect.stringMatching(/TWO ARBITRATORS/),
    });
    // B is stopped: once the dbservers stop echoing it, A promotes (after the hold).
    const alone = { arbiters: [{ incarnation: 3, instance: 'aaaa' }], carried: [] };
    const later = keepReporting(
      a,
      60_000,
      (['n1', 'n2', 'n3', 'n4'] as const).map((n) => [n, nonPrimary(n, n === 'n1' || n === 'n2' ? ['n1', 'n2'] : ['n3', 'n4']), alone]),
    );
    expect(publishes(later, 'make_primary').map((x) => x.to)).toEqual(['dbserver:1']);
  });

  it('the dbserver reports every arbitrator process it heard lately, and the newest one ever', () => {
    const dbs = new Driver();
    dbs.step({ kind: 'start' });
    dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    dbs.step(message('arbitrator:1', 'request_status', { arbiter: { incarnation: 3, instance: 'aaaa' } }));
    dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    dbs.step(message('arbitrator:1', 'request_status', { arbiter: { incarnation: 3, instance: 'bbbb' } }));
    expect(dbs.last.some((f) => f.kind === 'log' && f.event === 'arbiter_heard' && f.level === 'warn')).toBe(true);
    const rep = dbs.observe(nonPrimary('n1', ['n1', 'n2'])).find((f) => f.kind === 'publish' && f.verb === 'db_status_report') as { body: { arbiters: ArbiterStamp[]; newestArbiter: ArbiterStamp } };
    expect(rep.body.arbiters.map((x) => x.instance)).toEqual(['aaaa', 'bbbb']);
    // Tagged with the party heard from (several arbitrators on etcd are not duplicates of each other).
    expect(rep.body.newestArbiter).toEqual({ incarnation: 3, instance: 'bbbb', party: 'arbitrator:1' });
    expect(dbs.persisted.get('dbserver.newestArbiter')).toEqual({ incarnation: 3, instance: 'bbbb', party: 'arbitrator:1' });
  });

  it('two arbitrator parties of one site (etcd store) are no duplicates: the dbserver warns of none, and echoes each with its party', () => {
    const dbs = new Driver();
    dbs.step({ kind: 'start' });
    dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    dbs.step(message('arbitrator:1', 'request_status', { arbiter: { incarnation: 1, instance: 'aaaa' } }));
    dbs.observe(nonPrimary('n1', ['n1', 'n2']));
    dbs.step(message('arbitrator:2', 'request_status', { arbiter: { incarnation: 2, instance: 'cccc' } }));
    expect(dbs.last.some((f) => f.kind === 'log' && f.event === 'arbiter_heard')).toBe(false);
    const rep = dbs.observe(nonPrimary('n1', ['n1', 'n2'])).find((f) => f.kind === 'publish' && f.verb === 'db_status_report') as { body: { arbiters: ArbiterStamp[] } };
    expect(rep.body.arbiters.map((x) => x.party)).toEqual(['arbitrator:1', 'arbitrator:2']);
  });
});

describe('path 5: a forced promote over a live primary', () => {
  /** All four Primary; then n2, n3, n4 stay a Primary component the arbitrator cannot hear, and n1 is alone. */
  function oneCutOff(): ArbDriver {
    const d = started();
    d.advance(16_000);
    keepReporting(d, 4000, [['n1', nonPrimary('n1', ['n1'], { lastPrimary: null })]]);
    return d;
  }

  it('schedule forced_promote_over_live_primary (10a): refused while the others were last seen Primary, unless named as lost', () => {
    const d = oneCutOff();
    const e = d.command('promote', op('p', { target: 'dbserver:1', force: true, reason: 'the others look dead' }));
    expect(replies(e)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/dbserver:2 \(its latest report, .* said Primary.*--confirm-lost dbserver:2,dbserver:3,dbserver:4/) });
    expect(publishes(e, 'make_primary')).toHaveLength(0);
    expect(d.log.some((x) => x.kind === 'log' && x.event === 'operator_refused')).toBe(true);
    // Naming only some is not enough.
    expect(replies(d.command('promote', op('q', { target: 'dbserver:1', force: true, reason: 'x', confirmLost: ['dbserver:2'] })))[0]?.ok).toBe(false);
    const ok = d.command('promote', op('r', { target: 'dbserver:1', force: true, reason: 'x', confirmLost: ['dbserver:2', 'n3', 'dbserver:4'] }));
    expect(replies(ok)[0]?.ok).toBe(true);
    expect(d.state.records.decisions[0]?.confirmedLost).toEqual(['dbserver:2', 'dbserver:3', 'dbserver:4']);
  });

  it('a forced promote with no known last primary component blocks a later automatic promotion of the other side', () => {
    const d = oneCutOff();
    const f = publishes(d.command('promote', op('r', { target: 'dbserver:1', force: true, reason: 'x', confirmLost: ['dbserver:2', 'dbserver:3', 'dbserver:4'] })), 'make_primary')[0];
    expect(f?.to).toBe('dbserver:1');
    d.report('n1', primary('n1', ['n1'], { confId: 9 }), { decision: { id: f?.body.decisionId ?? '', outcome: 'carried_out', reason: 'ok', at: 0 } });
    // n3 and n4 come back, non-Primary, still descending from P: never promoted automatically.
    const later = keepReporting(d, 120_000, [
      ['n3', nonPrimary('n3', ['n3', 'n4'])],
      ['n4', nonPrimary('n4', ['n3', 'n4'])],
    ]);
    expect(publishes(later, 'make_primary')).toHaveLength(0);
    expect(codes(d)).toContain('already_decided');
  });
});

describe('path 9: liveness that ends in a human', () => {
  it('schedule failed_after_dbserver_restart: a failed decision whose target shows it had no effect frees the last primary component', () => {
    const d = started();
    const mp = publishes(cutInHalves(d), 'make_primary')[0]?.body as MakePrimary;
    // The dbserver restarted mid-decision: it concludes failed, never resumes; mariadbd is unchanged.
    d.report('n1', nonPrimary('n1', ['n1', 'n2']), { decision: { id: mp.decisionId, outcome: 'failed', reason: 'the dbserver restarted while carrying it out', at: 0 } });
    const later = hold(d, 30_000);
    const again = publishes(later, 'make_primary');
    expect(again).toHaveLength(1);
    expect(again[0]?.body.decisionId).not.toBe(mp.decisionId);
    expect(d.state.records.decisions[0]?.noEffectAt).not.toBeNull();
    expect(d.log.some((e) => e.kind === 'log' && e.event === 'decision_no_effect')).toBe(true);
  });

  it('a failed decision whose target left the view is not freed, and a forced promote must name it lost', () => {
    const d = started();
    const mp = publishes(cutInHalves(d), 'make_primary')[0]?.body as MakePrimary;
    d.report('n1', nonPrimary('n1', ['n1', 'n2']), { decision: { id: mp.decisionId, outcome: 'failed', reason: 'my view changed after pc.bootstrap', at: 0 } });
    // n1 and n2 go quiet: nothing shows the bootstrap had no effect.
    const later = hold(d, 30_000, 2000, ['n3', 'n4']);
    expect(publishes(later, 'make_primary')).toHaveLength(0);
    const e = d.command('promote', op('f', { target: 'dc2', force: true, reason: 'dc1 is gone' }));
    expect(replies(e)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/ran pc.bootstrap there and failed.*--confirm-lost dbserver:1,dbserver:2/) });
    expect(replies(d.command('promote', op('g', { target: 'dc2', force: true, reason: 'dc1 is gone', confirmLost: ['dbserver:1', 'dbserver:2'] })))[0]?.ok).toBe(true);
  });
});

describe('path 9 (finding 2, late_arbitrator_loss): a decision sent just before its target was lost', () => {
  it('stays spent (it may have been carried out unseen); the operator must name its half lost to force the other', () => {
    const d = started();
    const mp = publishes(cutInHalves(d), 'make_primary')[0]?.body as MakePrimary;
    // dc1 is lost right after the send; dc2 alone is heard, well past the decision's validity.
    const later = hold(d, 60_000, 2000, ['n3', 'n4']);
    expect(publishes(later, 'make_primary')).toHaveLength(0);
    expect(withdrawals(later).map((w) => w.body.decisionId)).toEqual([mp.decisionId]);
    const e = d.command('promote', op('f', { target: 'dc2', force: true, reason: 'dc1 is gone' }));
    expect(replies(e)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/never answered: it may have been carried out unseen.*--confirm-lost dbserver:1,dbserver:2/) });
    expect(replies(d.command('promote', op('g', { target: 'dc2', force: true, reason: 'dc1 checked: powered off', confirmLost: ['dbserver:1', 'dbserver:2'] })))[0]?.ok).toBe(true);
  });
});

// Keep PARTY referenced for readers who look up which node is which party.
void PARTY;
