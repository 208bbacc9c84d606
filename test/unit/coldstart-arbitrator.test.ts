import { describe, expect, it } from 'vitest';
import type { DatadirReport, DbStatusReport } from '../../src/protocol/verbs.js';
import { buildSummary } from '../../src/roles/arbitrator/summary.js';
import { renderStatus } from '../../src/cli/command/render.js';
import { ArbDriver, hold, type Node, op, PARTY, primary, publishes, replies, settingsFor, STATE_UUID, U } from './arbitrator-fixtures.js';

const ALL: Node[] = ['n1', 'n2', 'n3', 'n4'];
const OTHER_UUID = '11111111-e740-11f1-badd-cb4543f021a3';

function dd(over: Partial<DatadirReport> = {}): DatadirReport {
  return { state: 'ok', detail: null, myUuid: null, lastView: null, recovered: null, recoverNote: null, ...over };
}

/** A stopped node's report: grastate's seqno (or -1 and the recovered one), and its datadir. */
function down(seqno: number, over: { datadir?: DatadirReport; uuid?: string; safe?: boolean; recovered?: number } = {}): Partial<DbStatusReport> {
  const datadir = over.datadir ?? dd(over.recovered !== undefined ? { recovered: { uuid: over.uuid ?? STATE_UUID, seqno: over.recovered } } : {});
  return { mariadb: 'down', recovered: { uuid: over.uuid ?? STATE_UUID, seqno, safeToBootstrap: over.safe ?? false }, error: 'ECONNREFUSED', datadir };
}

/** The cluster was Primary (so the arbitrator knows the history), then every mariadbd went down. */
function sitePrimaryThenDown(policy: 'auto' | 'confirm' | 'off' = 'auto', extra: Record<string, unknown> = {}): ArbDriver {
  const settings = settingsFor();
  const d = new ArbDriver({ ...settings, coldStart: { policy, maxAutomatic: 3, windowMs: 3_600_000, ...extra } });
  d.start();
  for (const n of ALL) d.report(n, primary(n));
  d.advance(1000);
  return d;
}

function reportDown(d: ArbDriver, who: Partial<Record<Node, Partial<DbStatusReport>>>): ReturnType<ArbDriver['step']> {
  const out = [];
  for (const [n, r] of Object.entries(who)) out.push(...d.report(n as Node, null, r));
  return out;
}

const gvw = (self: Node) => dd({ myUuid: U[self], lastView: { viewId: `3 ${U.n1} 5`, members: ALL.map((n) => U[n]).sort() } });

describe('cold start, arbitrator: the rule', () => {
  it('bootstraps the node with the highest seqno once every node has reported, persisted before the order', () => {
    const d = sitePrimaryThenDown();
    const eff = reportDown(d, { n1: down(40), n2: down(41), n3: down(-1, { recovered: 44 }), n4: down(43) });
    const orders = publishes(eff, 'start_mariadb');
    expect(orders.map((o) => [o.to, o.body.mode, o.body.seqno])).toEqual([['dbserver:3', 'bootstrap', 44]]);
    const persistAt = eff.findIndex((e) => e.kind === 'persist' && e.key === 'arbitrator.decisions');
    const sendAt = eff.findIndex((e) => e.kind === 'publish' && e.verb === 'start_mariadb');
    expect(persistAt).toBeGreaterThanOrEqual(0);
    expect(persistAt).toBeLessThan(sendAt);
    // Nothing more while it is carried out, however often they report.
    expect(publishes(hold(d, 10_000), 'start_mariadb')).toEqual([]);
  });

  it('ties go to the preferred DC, then the lowest serial', () => {
    const d = sitePrimaryThenDown();
    const eff = reportDown(d, { n4: down(50), n3: down(50), n2: down(50), n1: down(49) });
    expect(publishes(eff, 'start_mariadb').map((o) => o.to)).toEqual(['dbserver:2']);
  });

  it('a missing node keeps the site waiting, and status says who and what the operator can do', () => {
    const d = sitePrimaryThenDown();
    d.advance(20_000); // every Primary report is stale now
    const eff = reportDown(d, { n1: down(40), n2: down(41), n3: down(42) });
    expect(publishes(eff, 'start_mariadb')).toEqual([]);
    const text = renderStatus(buildSummary(d.state, d.now));
    expect(text).toMatch(/COLD START \(policy auto\): waiting for dbserver:4/);
    expect(text).toMatch(/bootstrap NODE --force/);
    expect(text).toMatch(/dbserver:4: MISSING/);
    expect(text).toMatch(/dbserver:3: down · seqno 42 · safe_to_bootstrap 0/);
    // The operator's forced bootstrap works, and says what it costs.
    const r = d.command('bootstrap', op('r1', { target: 'dbserver:3', force: true, confirm: false, reason: 'host 4 burned' }));
    expect(replies(r)[0]).toMatchObject({ ok: true, message: expect.stringMatching(/bootstrap dbserver:3 .*missing: dbserver:4/) });
    expect(publishes(r, 'start_mariadb')[0]?.body).toMatchObject({ mode: 'bootstrap', forced: true, seqno: 42 });
  });

  it('never chooses an empty datadir, one of another cluster, or an unreadable one, even when forced', () => {
    const d = sitePrimaryThenDown();
    const eff = reportDown(d, {
      n1: down(-1, { datadir: dd({ state: 'empty', detail: 'no data' }) }),
      n2: down(99, { uuid: OTHER_UUID }),
      n3: down(-1, { datadir: dd({ state: 'unreadable', detail: 'EACCES' }) }),
      n4: down(10),
    });
    expect(publishes(eff, 'start_mariadb').map((o) => o.to)).toEqual(['dbserver:4']);
    const e = sitePrimaryThenDown();
    reportDown(e, { n1: down(-1, { datadir: dd({ state: 'empty' }) }), n2: down(99, { uuid: OTHER_UUID }), n3: down(5), n4: down(6) });
    // (n4 was chosen automatically; a second arbitrator state asks about the empty one)
    const f = sitePrimaryThenDown('off');
    reportDown(f, { n1: down(-1, { datadir: dd({ state: 'empty' }) }), n2: down(99, { uuid: OTHER_UUID }), n3: down(5), n4: down(6) });
    for (const target of ['dbserver:1', 'dbserver:2']) {
      const r = f.command('bootstrap', op(`r-${target}`, { target, force: true, confirm: false, reason: 'try' }));
      expect(replies(r)[0]?.ok).toBe(false);
      expect(publishes(r, 'start_mariadb')).toEqual([]);
    }
  });

  it('waits while the position of a crashed node is not recovered yet', () => {
    const d = sitePrimaryThenDown();
    const eff = reportDown(d, { n1: down(40), n2: down(41), n3: down(-1, { datadir: dd({ recoverNote: 'mariadbd --wsrep-recover under way' }) }), n4: down(43) });
    expect(publishes(eff, 'start_mariadb')).toEqual([]);
    expect(d.state.coldStart?.note).toMatch(/position of dbserver:3 is not known yet.*wsrep-recover under way/);
    expect(publishes(d.report('n3', null, down(-1, { recovered: 39 })), 'start_mariadb').map((o) => o.to)).toEqual(['dbserver:4']);
  });

  it('every node crashed with gvwstate.dat intact: start them all for pc.recovery, once; then bootstrap', () => {
    const d = sitePrimaryThenDown();
    const eff = reportDown(d, { n1: down(-1, { datadir: gvw('n1') }), n2: down(-1, { datadir: gvw('n2') }), n3: down(-1, { datadir: gvw('n3') }), n4: down(-1, { datadir: gvw('n4') }) });
    const orders = publishes(eff, 'start_mariadb');
    expect(orders.map((o) => [o.to, o.body.mode])).toEqual(ALL.map((n) => [PARTY[n], 'start']));
    // The starts fail (say, every command errors): one pc.recovery round only, then the rule bootstraps.
    for (const [i, o] of orders.entries())
      d.report(ALL[i] as Node, null, { ...down(-1, { datadir: gvw(ALL[i] as Node) }), decision: { id: o.body.decisionId, outcome: 'failed', reason: 'exit 1', at: 0 } });
    const withPositions = reportDown(d, {
      n1: down(-1, { datadir: { ...gvw('n1'), recovered: { uuid: STATE_UUID, seqno: 7 } } }),
      n2: down(-1, { datadir: { ...gvw('n2'), recovered: { uuid: STATE_UUID, seqno: 9 } } }),
      n3: down(-1, { datadir: { ...gvw('n3'), recovered: { uuid: STATE_UUID, seqno: 8 } } }),
      n4: down(-1, { datadir: { ...gvw('n4'), recovered: { uuid: STATE_UUID, seqno: 8 } } }),
    });
    expect(publishes(withPositions, 'start_mariadb').map((o) => [o.to, o.body.mode, o.body.seqno])).toEqual([['dbserver:2', 'bootstrap', 9]]);
  });

  it('a pc.recovery round with one member that cannot start: its start is sent again, twice, 10 s after each failure; then status says who and what to do', () => {
    const d = sitePrimaryThenDown();
    const orders = publishes(
      reportDown(d, { n1: down(-1, { datadir: gvw('n1') }), n2: down(-1, { datadir: gvw('n2') }), n3: down(-1, { datadir: gvw('n3') }), n4: down(-1, { datadir: gvw('n4') }) }),
      'start_mariadb',
    );
    expect(orders.map((o) => o.to)).toEqual(ALL.map((n) => PARTY[n]));
    // n1..n3 start and wait, non-Primary, for n4 (pc.recovery needs every member); n4's start fails.
    const waiting = (n: Node) => ({ ...primary(n, [n]), clusterStatus: 'non-Primary' as const, confId: null, localState: 'Initialized' });
    const outcome = (id: string, ok: boolean) => ({ id, outcome: ok ? ('carried_out' as const) : ('failed' as const), reason: ok ? 'started' : 'start command exit 1', at: 0 });
    for (const [i, n] of (['n1', 'n2', 'n3'] as const).entries()) d.report(n, waiting(n), { decision: outcome(orders[i]?.body.decisionId as string, true) });
    let last = orders[3]?.body.decisionId as string;
    const n4Fails = () => d.report('n4', null, { ...down(-1, { datadir: gvw('n4') }), decision: outcome(last, false) });
    /** Every node reports what it did last, every second, for `ms`: the starts sent meanwhile. */
    const keepReporting = (ms: number) => {
      const out = [];
      for (let t = 0; t < ms; t += 1000) {
        out.push(...d.advance(1000));
        for (const [i, n] of (['n1', 'n2', 'n3'] as const).entries()) out.push(...d.report(n, waiting(n), { decision: outcome(orders[i]?.body.decisionId as string, true) }));
        out.push(...n4Fails());
      }
      return publishes(out, 'start_mariadb');
    };
    for (const attempt of [2, 3]) {
      expect(publishes(n4Fails(), 'start_mariadb')).toEqual([]);
      expect(d.state.coldStart?.plan.text).toMatch(/dbserver:4 again 10 s after its failure \(failed: start command exit 1\)/);
      expect(keepReporting(8000)).toEqual([]);
      const again = keepReporting(3000);
      expect(
        again.map((o) => [o.to, o.body.mode]),
        `attempt ${attempt}`,
      ).toEqual([['dbserver:4', 'start']]);
      last = again[0]?.body.decisionId as string;
    }
    // The third start fails too: no more orders; status names it and the way out.
    n4Fails();
    expect(keepReporting(60_000)).toEqual([]);
    expect(d.state.coldStart?.plan.text).toMatch(/dbserver:4 \(3 start orders, the last failed: start command exit 1\) could not be started: the round waits for it; fix it .* bootstrap NODE --force/);
    // Said when it changes, not every second (about 90 s of evaluations above).
    expect(d.log.filter((e) => e.kind === 'log' && e.event === 'cold_start_waiting').length).toBeLessThan(10);
    // Never a bootstrap meanwhile: the others run.
    expect(publishes(d.log, 'start_mariadb').filter((o) => o.body.mode === 'bootstrap')).toEqual([]);
  });

  it('a join whose start fails is sent again too, and only that one', () => {
    const d = sitePrimaryThenDown();
    const [b] = publishes(reportDown(d, { n1: down(40), n2: down(41), n3: down(42), n4: down(43) }), 'start_mariadb');
    const id = b?.body.decisionId as string;
    const joins = publishes(d.report('n4', primary('n4', ['n4'], { confId: 6 }), { decision: { id, outcome: 'carried_out', reason: 'ok', at: 0 } }), 'start_mariadb');
    expect(joins.map((o) => o.to)).toEqual(['dbserver:1', 'dbserver:2', 'dbserver:3']);
    d.report('n1', primary('n1', ['n1', 'n4'], { confId: 7 }), { decision: { id: joins[0]?.body.decisionId as string, outcome: 'carried_out', reason: 'ok', at: 0 } });
    d.report('n2', primary('n2', ['n1', 'n2', 'n4'], { confId: 8 }), { decision: { id: joins[1]?.body.decisionId as string, outcome: 'carried_out', reason: 'ok', at: 0 } });
    const fail = { ...down(42), decision: { id: joins[2]?.body.decisionId as string, outcome: 'failed' as const, reason: 'SST failed', at: 0 } };
    expect(publishes(d.report('n3', null, fail), 'start_mariadb')).toEqual([]);
    expect(d.state.coldStart?.plan.text).toMatch(/starting dbserver:3 again 10 s after its failure \(failed: SST failed\)/);
    const out = [];
    for (let t = 0; t < 11_000; t += 1000) {
      out.push(...d.advance(1000));
      out.push(...d.report('n4', primary('n4', ['n1', 'n2', 'n4'], { confId: 8 }), { decision: { id, outcome: 'carried_out', reason: 'ok', at: 0 } }));
      out.push(...d.report('n3', null, fail));
    }
    expect(publishes(out, 'start_mariadb').map((o) => [o.to, o.body.mode])).toEqual([['dbserver:3', 'start']]);
  });

  it('one bootstrap per history: the others start only once it is Primary and Synced, and never a second bootstrap', () => {
    const d = sitePrimaryThenDown();
    const [b] = publishes(reportDown(d, { n1: down(40), n2: down(41), n3: down(42), n4: down(43) }), 'start_mariadb');
    expect(b?.to).toBe('dbserver:4');
    const id = b?.body.decisionId as string;
    // Carried out, still joining: no start orders yet.
    const e1 = d.report('n4', primary('n4', ['n4'], { localState: 'Joined', confId: 6 }), { decision: { id, outcome: 'carried_out', reason: 'ok', at: 0 } });
    expect(publishes(e1, 'start_mariadb')).toEqual([]);
    const e2 = d.report('n4', primary('n4', ['n4'], { confId: 6 }), { decision: { id, outcome: 'carried_out', reason: 'ok', at: 0 } });
    expect(publishes(e2, 'start_mariadb').map((o) => [o.to, o.body.mode])).toEqual([
      ['dbserver:1', 'start'],
      ['dbserver:2', 'start'],
      ['dbserver:3', 'start'],
    ]);
    expect(publishes(hold(d, 6000), 'start_mariadb')).toEqual([]);
  });

  it('a bootstrap that never led to a primary component spends the history: the site waits for the operator', () => {
    const d = sitePrimaryThenDown();
    const [b] = publishes(reportDown(d, { n1: down(40), n2: down(41), n3: down(42), n4: down(43) }), 'start_mariadb');
    d.report('n4', null, { ...down(43), decision: { id: b?.body.decisionId as string, outcome: 'failed', reason: 'bootstrap command failed', at: 0 } });
    d.advance(60_000);
    const eff = reportDown(d, { n1: down(40), n2: down(41), n3: down(42), n4: down(43) });
    expect(publishes(eff, 'start_mariadb')).toEqual([]);
    expect(d.state.coldStart?.note).toMatch(/one bootstrap per history/);
    const r = d.command('bootstrap', op('r2', { target: 'dbserver:3', force: true, confirm: false, reason: 'again' }));
    expect(replies(r)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/already bootstrapped/) });
  });

  it('policy confirm proposes and the operator confirms; off only reports', () => {
    const d = sitePrimaryThenDown('confirm');
    expect(publishes(reportDown(d, { n1: down(40), n2: down(41), n3: down(42), n4: down(43) }), 'start_mariadb')).toEqual([]);
    expect(renderStatus(buildSummary(d.state, d.now))).toMatch(/PROPOSED .*bootstrap dbserver:4.*bootstrap confirm/);
    const r = d.command('bootstrap', op('c1', { target: '', force: false, confirm: true }));
    expect(replies(r)[0]?.ok).toBe(true);
    expect(publishes(r, 'start_mariadb').map((o) => o.to)).toEqual(['dbserver:4']);
    const f = sitePrimaryThenDown('off');
    expect(publishes(reportDown(f, { n1: down(40), n2: down(41), n3: down(42), n4: down(43) }), 'start_mariadb')).toEqual([]);
    expect(f.state.coldStart?.note).toMatch(/coldStart: off/);
  });

  it('nothing starts while any mariadbd runs, and a forced bootstrap is refused then too', () => {
    const d = sitePrimaryThenDown();
    d.advance(20_000);
    reportDown(d, { n1: down(40), n2: down(41), n3: down(42) });
    const eff = d.report('n4', { ...primary('n4', ['n4']), clusterStatus: 'non-Primary', confId: null, localState: 'Initialized' });
    expect(publishes(eff, 'start_mariadb')).toEqual([]);
    const r = d.command('bootstrap', op('r3', { target: 'dbserver:3', force: true, confirm: false, reason: 'x' }));
    expect(replies(r)[0]).toMatchObject({ ok: false, message: expect.stringMatching(/mariadbd runs on dbserver:4/) });
  });

  it('a mariadbd process that does not answer SQL yet (SST, pc.recovery) counts as running', () => {
    const d = sitePrimaryThenDown();
    const eff = reportDown(d, { n1: down(40), n2: down(41), n3: down(42), n4: down(43, { datadir: dd({ process: 'mariadbd (pid 7) runs in /var/lib/mysql' }) }) });
    expect(publishes(eff, 'start_mariadb')).toEqual([]);
    expect(d.state.coldStart?.plan.text).toMatch(/mariadbd runs on dbserver:4/);
  });

  it('past the cap of automatic actions in the window the arbitrator pauses itself, loudly', () => {
    const d = sitePrimaryThenDown('auto', { maxAutomatic: 1 });
    const [b] = publishes(reportDown(d, { n1: down(40), n2: down(41), n3: down(42), n4: down(43) }), 'start_mariadb');
    d.advance(1000);
    d.report('n4', primary('n4', ['n4'], { confId: 6 }), { decision: { id: b?.body.decisionId as string, outcome: 'carried_out', reason: 'ok', at: 0 } });
    // A new primary component was seen, so a later cold start is a new history; but the cap is 1 an hour.
    d.advance(60_000); // the join orders are no longer in flight
    const eff = reportDown(d, { n1: down(50), n2: down(51), n3: down(52), n4: down(53) });
    expect(publishes(eff, 'start_mariadb').filter((o) => o.body.mode === 'bootstrap')).toEqual([]);
    expect(d.state.records.directives).toMatchObject({ paused: true, pausedBy: 'arbitrator (cap)' });
    expect(eff.some((e) => e.kind === 'log' && e.level === 'error' && e.event === 'automatic_cap_reached')).toBe(true);
  });
});
