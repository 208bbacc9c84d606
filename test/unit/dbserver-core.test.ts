import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DbStatusReport, dbStatusReport, type DecisionOutcome, type WsrepNotify } from '../../src/protocol/verbs.js';
import { DECISIONS_KEY, DEFAULT_TUNING, dbserverCore, initialState, MID_CHANGE_READS, PENDING_KEY, type PendingDecision } from '../../src/roles/dbserver/core.js';
import { encodeDatagram } from '../../src/protocol/datagram.js';
import { testKeyring } from '../support/post-office-fixture.js';
import { decisionFor, Driver, kinds, SETTINGS, member, message, nonPrimaryHalf, primaryOf, STATE_UUID, U, upReading } from './dbserver-fixtures.js';

function reports(effects: ReturnType<Driver['step']>): DbStatusReport[] {
  return effects.flatMap((f) => (f.kind === 'publish' && f.verb === 'db_status_report' && f.to === 'arbitrator:1' ? [f.body as DbStatusReport] : []));
}

function started(): Driver {
  const d = new Driver();
  d.step({ kind: 'start' });
  return d;
}

function push(over: Partial<WsrepNotify>): WsrepNotify {
  return { status: 'connected', uuid: STATE_UUID, primary: false, index: 0, members: [member('n1'), member('n2')], argv: [], ...over };
}

describe('dbserver core: reports', () => {
  it('after a site config change, reports at once to the new recipients and re-arms its timers', () => {
    const { d } = toNonPrimaryWithDecision();
    d.observe(nonPrimaryHalf());
    d.step({ kind: 'bootstrap_done', decisionId: 'd-1', attempt: 1, ok: false, error: 'EAGAIN' });
    d.observe(nonPrimaryHalf());
    expect(d.state.pending?.phase).toBe('backoff');
    d.core = dbserverCore({ ...SETTINGS, recipients: ['arbitrator:1', 'dbclient:1', 'dbclient:2'], reportIntervalMs: 2000 });
    d.advance(100);
    const k = kinds(d.step({ kind: 'reconfigured', changes: ['parties: added dbclient:2'] }));
    expect(k).toEqual(expect.arrayContaining(['timer:report', 'timer:decision_deadline', 'timer:bootstrap_retry', 'read_status']));
    const eff = d.observe(nonPrimaryHalf());
    expect(eff.filter((f) => f.kind === 'publish').map((f) => (f.kind === 'publish' ? f.to : ''))).toEqual(['arbitrator:1', 'dbclient:1', 'dbclient:2']);
  });

  it('leaves out member lists too long for one datagram, and says so', () => {
    const d = started();
    const many = Array.from({ length: 64 }, (_, i) => ({ uuid: `6c55c6ce-e740-11f1-8064-5bf51de6${String(i).padStart(4, '0')}`, name: `n${i}`, address: `10.0.1.${i}:3306` }));
    const eff = d.observe(primaryOf(['n1'], 9, { clusterSize: 64, members: many, lastPrimary: { viewId: `3 ${U.n1} 9`, members: many.map((m) => m.uuid) } }));
    const pub = eff.find((f) => f.kind === 'publish');
    expect(
      pub && pub.kind === 'publish' && encodeDatagram({ site: 's', from: 'dbserver:1', to: 'arbitrator:1', verb: 'db_status_report', inc: 1, id: 1, at: 0, body: pub.body }, testKeyring()).length,
    ).toBeLessThan(8192);
    expect(reports(eff)[0]?.wsrep?.members).toEqual([]);
    expect(reports(eff)[0]?.error).toMatch(/more than 32 members/);
  });

  it('reads at start and reports that reading to the arbitrator and every dbclient', () => {
    const d = new Driver();
    expect(kinds(d.step({ kind: 'start' }))).toEqual(['read_status', 'timer:report']);
    d.advance(7);
    const eff = d.observe(primaryOf(['n1', 'n2', 'n3'], 3));
    expect(kinds(eff).filter((k) => k.startsWith('publish'))).toEqual(['publish:arbitrator:1', 'publish:dbclient:1']);
    const [rep] = reports(eff);
    expect(rep?.observedAt).toBe(d.now);
    expect(rep?.mariadb).toBe('up');
    expect(rep?.wsrep?.members.map((m) => m.name)).toEqual(['n1', 'n2', 'n3']);
    expect(dbStatusReport.safeParse(rep).success).toBe(true);
  });

  it('reports a changed reading at once, an unchanged one only at the interval', () => {
    const d = started();
    d.observe(primaryOf(['n1', 'n2', 'n3'], 3));
    d.step(message('arbitrator:1', 'request_status', {}));
    // request_status: reported even if unchanged.
    expect(reports(d.observe(primaryOf(['n1', 'n2', 'n3'], 3)))).toHaveLength(1);
    d.step(message('wsrep_notify_cmd:1', 'wsrep_notify', push({ status: 'synced', primary: true, members: [member('n1'), member('n2'), member('n3')] })));
    // A push whose reading shows nothing new: no report.
    expect(reports(d.observe(primaryOf(['n1', 'n2', 'n3'], 3, { lastCommitted: 99 })))).toHaveLength(0);
    d.step({ kind: 'timer', name: 'report' });
    expect(reports(d.observe(primaryOf(['n1', 'n2', 'n3'], 3)))).toHaveLength(1);
    d.step(message('wsrep_notify_cmd:1', 'wsrep_notify', push({})));
    const changed = reports(d.observe(nonPrimaryHalf()));
    expect(changed).toHaveLength(1);
    expect(changed[0]?.wsrep?.clusterStatus).toBe('non-Primary');
  });

  it('reports mariadbd down with the position recovered from grastate.dat, never a remembered wsrep state', () => {
    const d = started();
    d.observe(primaryOf(['n1', 'n2', 'n3'], 3));
    d.step({ kind: 'timer', name: 'report' });
    const [rep] = reports(d.observe(null));
    expect(rep).toMatchObject({ mariadb: 'down', wsrep: null, recovered: { seqno: 14, safeToBootstrap: false } });
  });

  it('collapses readings asked for while one is in flight into one more', () => {
    const d = started();
    const first = d.state.inFlight;
    d.step(message('wsrep_notify_cmd:1', 'wsrep_notify', push({})));
    d.step({ kind: 'timer', name: 'report' });
    expect(kinds(d.all).filter((k) => k === 'read_status')).toHaveLength(1);
    const eff = d.observe(nonPrimaryHalf());
    expect(kinds(eff)).toContain('read_status');
    expect(d.state.inFlight).toBe((first as number) + 1);
  });

  it('a wsrep_status_file ring reads at once, and again until the reading shows something new', () => {
    const d = started();
    d.observe(primaryOf(['n1', 'n2', 'n3', 'n4'], 5));
    const rung = d.step({ kind: 'status_file_changed' });
    expect(rung.filter((e) => e.kind === 'read_status').map((e) => (e as { reason: string }).reason)).toEqual(['status_file']);
    // mariadbd wrote the file a moment before its status variables moved: nothing new yet.
    const same = d.observe(primaryOf(['n1', 'n2', 'n3', 'n4'], 5));
    expect(reports(same)).toHaveLength(0);
    expect(kinds(same)).toContain('timer:status_file_follow_up');
    d.advance(50);
    d.step({ kind: 'timer', name: 'status_file_follow_up' });
    const moved = d.observe(nonPrimaryHalf());
    expect(reports(moved)).toHaveLength(1);
    expect(kinds(moved)).not.toContain('timer:status_file_follow_up');
    expect(d.state.ringsLeft).toBe(0);
  });

  it('a ring keeps reading while the view is moving (members not readable yet), then stops', () => {
    const d = started();
    d.observe(primaryOf(['n1', 'n2', 'n3', 'n4'], 5));
    d.step({ kind: 'status_file_changed' });
    const moving = d.observe(nonPrimaryHalf(), 'none');
    expect(reports(moving)).toHaveLength(1);
    expect(kinds(moving)).toContain('timer:status_file_follow_up');
    d.advance(50);
    d.step({ kind: 'timer', name: 'status_file_follow_up' });
    const settled = d.observe(nonPrimaryHalf());
    expect(reports(settled)[0]?.wsrep?.members.length).toBeGreaterThan(0);
    expect(kinds(settled)).not.toContain('timer:status_file_follow_up');
  });

  it('a ring that never shows anything new stops after its budget of readings', () => {
    const d = started();
    d.observe(primaryOf(['n1', 'n2', 'n3', 'n4'], 5));
    d.step({ kind: 'status_file_changed' });
    let reads = 0;
    for (let i = 0; i < 20; i++) {
      const eff = d.observe(primaryOf(['n1', 'n2', 'n3', 'n4'], 5));
      if (!kinds(eff).includes('timer:status_file_follow_up')) break;
      d.advance(50);
      if (d.step({ kind: 'timer', name: 'status_file_follow_up' }).some((e) => e.kind === 'read_status')) reads++;
    }
    expect(reads).toBe(DEFAULT_TUNING.ringFollowUps);
  });

  it('after a push, keeps reading until the server agrees with it, then stops', () => {
    const d = started();
    d.observe(primaryOf(['n1', 'n2', 'n3', 'n4'], 5));
    d.step(message('wsrep_notify_cmd:1', 'wsrep_notify', push({})));
    // mariadbd ran the hook before its status changed: the reading still says Primary.
    expect(kinds(d.observe(primaryOf(['n1', 'n2', 'n3', 'n4'], 5)))).toContain('timer:follow_up');
    d.advance(200);
    d.step({ kind: 'timer', name: 'follow_up' });
    const eff = d.observe(nonPrimaryHalf());
    expect(reports(eff)).toHaveLength(1);
    expect(kinds(eff)).not.toContain('timer:follow_up');
    expect(d.state.followUpsLeft).toBe(0);
  });

  it('a `synced` push read back as Donor/Desynced (mariadbd runs the hook first) is read again until Synced', () => {
    const d = started();
    const all4 = ['n1', 'n2', 'n3', 'n4'] as const;
    d.observe(primaryOf([...all4], 7, { localState: 'Donor/Desynced' }));
    d.step(message('wsrep_notify_cmd:1', 'wsrep_notify', push({ status: 'synced', primary: true, members: all4.map(member) })));
    expect(kinds(d.observe(primaryOf([...all4], 7, { localState: 'Donor/Desynced' })))).toContain('timer:follow_up');
    d.step({ kind: 'timer', name: 'follow_up' });
    const eff = d.observe(primaryOf([...all4], 7));
    expect(reports(eff)[0]?.wsrep?.localState).toBe('Synced');
    expect(d.state.followUpsLeft).toBe(0);
  });

  it("uses a push's members only when they describe the reading's own view", () => {
    const d = started();
    d.step(message('wsrep_notify_cmd:1', 'wsrep_notify', push({})));
    const [rep] = reports(d.observe(nonPrimaryHalf(), 'none'));
    expect(rep?.wsrep?.members.map((m) => m.name)).toEqual(['n1', 'n2']);
    expect(rep?.error).toBeNull();
    d.step({ kind: 'timer', name: 'report' });
    // Now three members: the push of two no longer fits.
    const [rep2] = reports(d.observe(primaryOf(['n1', 'n2', 'n3'], 6), 'none'));
    expect(rep2?.wsrep?.members).toEqual([]);
    expect(rep2?.error).toMatch(/members unknown/);
  });
});

function toNonPrimaryWithDecision(validForMs = 30_000): { d: Driver; seq: number } {
  const d = started();
  d.observe(nonPrimaryHalf());
  d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf(), 'd-1', validForMs)));
  return { d, seq: d.readSeq() };
}

describe('dbserver core: make_primary', () => {
  it('carries out a decision for its exact view on a fresh reading, and records the outcome before reporting it', () => {
    const { d } = toNonPrimaryWithDecision();
    expect(d.persisted.get(PENDING_KEY)).toMatchObject({ decision: { decisionId: 'd-1' }, attempts: 0 });
    expect(kinds(d.observe(nonPrimaryHalf()))).toContain('bootstrap');
    expect(d.persisted.get(PENDING_KEY)).toMatchObject({ attempts: 1, phase: 'bootstrapping' });
    d.step({ kind: 'bootstrap_done', decisionId: 'd-1', attempt: 1, ok: true, error: null });
    const eff = d.observe(primaryOf(['n1', 'n2'], 6));
    const k = kinds(eff);
    expect(k.indexOf(`persist:${DECISIONS_KEY}`)).toBeLessThan(k.indexOf('publish:arbitrator:1'));
    expect(k).toContain('log:make_primary_carried_out');
    expect(reports(eff)[0]?.decision).toMatchObject({ id: 'd-1', outcome: 'carried_out' });
    expect(d.persisted.get(PENDING_KEY)).toBeNull();
    expect((d.persisted.get(DECISIONS_KEY) as DecisionOutcome[]).map((x) => x.outcome)).toEqual(['carried_out']);
  });

  it('does not act on a reading begun before the decision arrived', () => {
    const d = started();
    d.observe(nonPrimaryHalf());
    d.step({ kind: 'timer', name: 'report' });
    // A reading is in flight; the decision arrives; that old reading must not count.
    d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf())));
    expect(kinds(d.observe(nonPrimaryHalf()))).not.toContain('bootstrap');
    // The queued fresh reading does.
    expect(kinds(d.observe(nonPrimaryHalf()))).toContain('bootstrap');
  });

  it('refuses a decision for another view, logs why, and never bootstraps', () => {
    const d = started();
    d.observe(nonPrimaryHalf());
    const stale = decisionFor(nonPrimaryHalf({ lastPrimary: { viewId: `3 ${U.n1} 4`, members: [U.n1, U.n2, U.n3].sort() } }), 'd-stale');
    d.step(message('arbitrator:1', 'make_primary', stale));
    const eff = d.observe(nonPrimaryHalf());
    expect(kinds(eff)).not.toContain('bootstrap');
    const log = eff.find((f) => f.kind === 'log' && f.event === 'make_primary_refused');
    expect(log && log.kind === 'log' && log.msg).toMatch(/view differs/);
    expect(reports(eff)[0]?.decision).toMatchObject({ id: 'd-stale', outcome: 'refused', code: 'view_differs' });
  });

  it('refuses when already Primary, and when the members were not read from the server', () => {
    const d = started();
    d.observe(primaryOf(['n1', 'n2'], 6));
    d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf(), 'd-a')));
    d.observe(primaryOf(['n1', 'n2'], 6));
    expect(d.state.decisions.at(-1)).toMatchObject({ id: 'd-a', outcome: 'refused', code: 'already_primary', reason: 'already Primary' });
    d.step(message('wsrep_notify_cmd:1', 'wsrep_notify', push({})));
    d.observe(nonPrimaryHalf(), 'none');
    d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf(), 'd-b')));
    d.observe(nonPrimaryHalf(), 'none');
    expect(d.state.decisions.at(-1)).toMatchObject({ id: 'd-b', outcome: 'refused', code: 'members_unread' });
    expect(d.state.decisions.at(-1)?.reason).toMatch(/not read from the server/);
    expect(kinds(d.all)).not.toContain('bootstrap');
  });

  it('schedule reading_mid_change (issue 11 10c): a reading taken while the view changes is read again, not refused as a missing plugin', () => {
    const d = started();
    d.observe(nonPrimaryHalf());
    d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf(), 'd-mid')));
    const seq = d.state.inFlight as number;
    // The plugin is loaded; the view moved between the snapshots around every membership read.
    const midChange = { kind: 'view_changing' as const, detail: 'the view changed around each of 3 membership reads' };
    const eff = d.step({ kind: 'observed', reading: { ...upReading(seq, d.now, nonPrimaryHalf(), 'none'), membersMissing: midChange } });
    expect(kinds(eff)).not.toContain('bootstrap');
    expect(d.state.pending?.decision.decisionId).toBe('d-mid');
    expect(d.state.decisions.find((x) => x.id === 'd-mid')).toBeUndefined();
    expect(kinds(eff)).toContain('timer:decision_recheck');
    d.advance(50);
    d.step({ kind: 'timer', name: 'decision_recheck' });
    // The change is over: the same view, members read from the server: carried out.
    expect(kinds(d.observe(nonPrimaryHalf()))).toContain('bootstrap');
  });

  it('a refusal for missing members says what was wrong: the plugin, or the query error', () => {
    for (const [missing, text] of [
      [{ kind: 'no_plugin', detail: 'no information_schema.WSREP_MEMBERSHIP table: the wsrep_info plugin is not loaded' }, /wsrep_info plugin is not loaded/],
      [{ kind: 'error', detail: 'WSREP_MEMBERSHIP: ER_SPECIFIC_ACCESS_DENIED_ERROR: Access denied; you need the PROCESS privilege' }, /PROCESS privilege/],
    ] as const) {
      const d = started();
      d.observe(nonPrimaryHalf());
      d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf(), 'd-x')));
      const seq = d.state.inFlight as number;
      d.step({ kind: 'observed', reading: { ...upReading(seq, d.now, nonPrimaryHalf(), 'none'), membersMissing: missing } });
      expect(d.state.decisions.at(-1)).toMatchObject({ id: 'd-x', outcome: 'refused' });
      expect(d.state.decisions.at(-1)?.reason).toMatch(text);
    }
  });

  it('a view that keeps changing is refused after its re-readings, saying so', () => {
    const d = started();
    d.observe(nonPrimaryHalf());
    d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf(), 'd-moving')));
    const midChange = { kind: 'view_changing' as const, detail: 'the view changed around each of 3 membership reads' };
    for (let i = 0; i <= MID_CHANGE_READS; i++) {
      if (d.state.inFlight === null) d.step({ kind: 'timer', name: 'decision_recheck' });
      const seq = d.state.inFlight as number | null;
      if (seq === null) break;
      d.step({ kind: 'observed', reading: { ...upReading(seq, d.now, nonPrimaryHalf(), 'none'), membersMissing: midChange } });
      d.advance(50);
    }
    expect(d.state.decisions.at(-1)).toMatchObject({ id: 'd-moving', outcome: 'refused' });
    expect(d.state.decisions.at(-1)?.reason).toMatch(/my view kept changing while it was read/);
    expect(d.all.some((f) => f.kind === 'bootstrap')).toBe(false);
  });

  it('does nothing more for a duplicated or late make_primary', () => {
    const { d } = toNonPrimaryWithDecision();
    d.observe(nonPrimaryHalf());
    d.step({ kind: 'bootstrap_done', decisionId: 'd-1', attempt: 1, ok: true, error: null });
    d.observe(primaryOf(['n1', 'n2'], 6));
    const before = kinds(d.all).filter((k) => k === 'bootstrap').length;
    const again = d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf())));
    expect(kinds(again)).toEqual(['log:make_primary_ignored']);
    expect(kinds(d.all).filter((k) => k === 'bootstrap').length).toBe(before);
  });

  it('a reading between the new gvwstate.dat and Primary is the bootstrap under way, not a failure', () => {
    const { d } = toNonPrimaryWithDecision();
    d.observe(nonPrimaryHalf());
    d.step({ kind: 'bootstrap_done', decisionId: 'd-1', attempt: 1, ok: true, error: null });
    const newView = { viewId: `3 ${U.n1} 6`, members: [U.n1, U.n2].sort() };
    expect(kinds(d.observe(nonPrimaryHalf({ lastPrimary: newView })))).toContain('timer:bootstrap_retry');
    expect(d.state.pending?.phase).toBe('backoff');
    // A push makes it read again meanwhile: Primary now.
    d.step(message('wsrep_notify_cmd:1', 'wsrep_notify', push({ status: 'synced', primary: true })));
    d.observe(primaryOf(['n1', 'n2'], 6));
    expect(d.state.decisions.at(-1)).toMatchObject({ id: 'd-1', outcome: 'carried_out' });
    expect(kinds(d.all).filter((k) => k === 'bootstrap')).toHaveLength(1);
  });

  it('a view changed and still non-Primary after the pause: failed, and no second pc.bootstrap', () => {
    const { d } = toNonPrimaryWithDecision();
    d.observe(nonPrimaryHalf());
    d.step({ kind: 'bootstrap_done', decisionId: 'd-1', attempt: 1, ok: true, error: null });
    const other = nonPrimaryHalf({ clusterSize: 1, members: [member('n1')] });
    d.observe(other);
    d.step({ kind: 'timer', name: 'bootstrap_retry' });
    d.observe(other);
    expect(d.state.decisions.at(-1)).toMatchObject({ id: 'd-1', outcome: 'failed' });
    expect(d.state.decisions.at(-1)?.reason).toMatch(/view changed after pc.bootstrap/);
    expect(kinds(d.all).filter((k) => k === 'bootstrap')).toHaveLength(1);
  });

  it('retries pc.bootstrap after EAGAIN until Primary', () => {
    const { d } = toNonPrimaryWithDecision();
    d.observe(nonPrimaryHalf());
    d.step({ kind: 'bootstrap_done', decisionId: 'd-1', attempt: 1, ok: false, error: 'ER_WRONG_ARGUMENTS: EAGAIN' });
    expect(kinds(d.observe(nonPrimaryHalf()))).toContain('timer:bootstrap_retry');
    d.advance(500);
    d.step({ kind: 'timer', name: 'bootstrap_retry' });
    expect(kinds(d.observe(nonPrimaryHalf()))).toContain('bootstrap');
    d.step({ kind: 'bootstrap_done', decisionId: 'd-1', attempt: 2, ok: true, error: null });
    d.observe(primaryOf(['n1', 'n2'], 6));
    expect(d.state.decisions.at(-1)).toMatchObject({ outcome: 'carried_out', reason: 'Primary after 2 pc.bootstrap attempt(s)' });
  });

  it("gives up when the decision's validity ends", () => {
    const { d } = toNonPrimaryWithDecision(1000);
    d.observe(nonPrimaryHalf());
    d.step({ kind: 'bootstrap_done', decisionId: 'd-1', attempt: 1, ok: false, error: 'EAGAIN' });
    d.observe(nonPrimaryHalf());
    d.advance(1000);
    d.step({ kind: 'timer', name: 'decision_deadline' });
    expect(d.state.pending).toBeNull();
    expect(d.state.decisions.at(-1)).toMatchObject({ outcome: 'failed' });
    d.step({ kind: 'timer', name: 'bootstrap_retry' });
    expect(kinds(d.last)).not.toContain('read_status');
  });

  it('after its own restart, concludes a pending decision as failed and never resumes it', () => {
    const { d } = toNonPrimaryWithDecision();
    d.observe(nonPrimaryHalf());
    const pending = d.persisted.get(PENDING_KEY) as PendingDecision;
    const restarted = new Driver(initialState(d.persisted.get(DECISIONS_KEY) as DecisionOutcome[] | undefined, pending));
    restarted.step({ kind: 'start' });
    expect(restarted.state.decisions.at(-1)).toMatchObject({ id: 'd-1', outcome: 'failed' });
    restarted.observe(nonPrimaryHalf());
    // The arbitrator's resend of the same decision, accepted as new by the restarted post office.
    expect(kinds(restarted.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf()))))).toEqual(['log:make_primary_ignored']);
    expect(kinds(restarted.all)).not.toContain('bootstrap');
  });

  it('refuses a second decision while one is being carried out', () => {
    const { d } = toNonPrimaryWithDecision();
    d.step(message('arbitrator:1', 'make_primary', decisionFor(nonPrimaryHalf(), 'd-2')));
    expect(d.state.decisions.at(-1)).toMatchObject({ id: 'd-2', outcome: 'refused', code: 'busy', reason: 'busy with decision d-1' });
    expect(d.state.pending?.decision.decisionId).toBe('d-1');
  });
});

/**
 * Over random interleavings of readings, pushes, decisions, bootstrap results and timers:
 * every `bootstrap` effect follows a fresh reading (begun after the decision or the last
 * attempt) that showed non-Primary in exactly the decision's view; a decision id is never acted
 * on after it was concluded; every report fits the wire schema.
 */
describe('dbserver core: safety over random schedules', () => {
  const wsreps = [nonPrimaryHalf(), primaryOf(['n1', 'n2'], 6), primaryOf(['n1', 'n2', 'n3', 'n4'], 5), nonPrimaryHalf({ clusterSize: 1, members: [member('n1')] }), null];
  // Weighted towards the states that lead to a bootstrap, so that the property is exercised.
  const action = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ k: fc.constant('observe' as const), w: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: wsreps.length - 1 })), server: fc.constantFrom(true, true, true, false) }),
    },
    fc.record({ k: fc.constant('decide' as const), id: fc.integer({ min: 1, max: 3 }), stale: fc.constantFrom(false, false, true) }),
    { weight: 2, arbitrary: fc.record({ k: fc.constant('done' as const), ok: fc.boolean() }) },
    fc.record({ k: fc.constant('timer' as const), name: fc.constantFrom('report', 'follow_up', 'bootstrap_retry', 'decision_deadline') }),
    fc.record({ k: fc.constant('push' as const) }),
    fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 20_000 }) }),
  );

  it('never bootstraps without a fresh matching reading, never twice for a concluded id (3,000 schedules)', () => {
    let bootstraps = 0;
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const d = started();
        const concluded = new Set<string>();
        let lastObserved: { seq: number; w: (typeof wsreps)[number]; server: boolean } | null = null;
        let pendingBootstrap: { id: string; attempt: number } | null = null;
        for (const a of actions) {
          if (a.k === 'observe' && d.state.inFlight !== null) {
            const w = wsreps[a.w] ?? null;
            lastObserved = { seq: d.state.inFlight, w, server: a.server };
            const pendingBefore = d.state.pending;
            const eff = d.observe(w, a.server ? 'server' : 'none');
            for (const f of eff) {
              if (f.kind === 'bootstrap') {
                expect(pendingBefore).not.toBeNull();
                const p = pendingBefore as PendingDecision;
                expect(concluded.has(f.decisionId)).toBe(false);
                expect(lastObserved.seq).toBeGreaterThanOrEqual(p.minSeq);
                expect(lastObserved.server).toBe(true);
                expect(w?.clusterStatus).toBe('non-Primary');
                expect(w?.members).toEqual(nonPrimaryHalf().members);
                expect(w?.lastPrimary).toEqual(nonPrimaryHalf().lastPrimary);
                pendingBootstrap = { id: f.decisionId, attempt: f.attempt };
              }
              if (f.kind === 'publish' && f.verb === 'db_status_report') expect(dbStatusReport.safeParse(f.body).success).toBe(true);
            }
          } else if (a.k === 'decide') {
            const view = a.stale ? primaryOf(['n1', 'n2', 'n3', 'n4'], 5) : nonPrimaryHalf();
            d.step(message('arbitrator:1', 'make_primary', decisionFor(view, `d-${a.id}`, 10_000)));
          } else if (a.k === 'done' && pendingBootstrap) {
            d.step({ kind: 'bootstrap_done', decisionId: pendingBootstrap.id, attempt: pendingBootstrap.attempt, ok: a.ok, error: a.ok ? null : 'EAGAIN' });
            pendingBootstrap = null;
          } else if (a.k === 'timer') d.step({ kind: 'timer', name: a.name });
          else if (a.k === 'push') d.step(message('wsrep_notify_cmd:1', 'wsrep_notify', push({})));
          else if (a.k === 'wait') d.advance(a.ms);
          for (const x of d.state.decisions) concluded.add(x.id);
          for (const f of d.last) if (f.kind === 'publish' && f.verb === 'db_status_report') expect(dbStatusReport.safeParse(f.body).success).toBe(true);
        }
        bootstraps += kinds(d.all).filter((k) => k === 'bootstrap').length;
      }),
      { numRuns: 3000 },
    );
    // The schedules must reach the interesting part, or the property says nothing.
    expect(bootstraps).toBeGreaterThan(100);
  });
});
