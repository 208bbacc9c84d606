import { describe, expect, it } from 'vitest';
import type { CommonEffect } from '../../src/roles/core.js';
import type { DatadirReport, DbStatusReport } from '../../src/protocol/verbs.js';
import { REJOIN_STALL_MS } from '../../src/roles/arbitrator/rejoin.js';
import { buildSummary } from '../../src/roles/arbitrator/summary.js';
import { renderStatus } from '../../src/cli/command/render.js';
import { ArbDriver, hold, type Node, primary, settingsFor } from './arbitrator-fixtures.js';

const OTHER_UUID = '11111111-e740-11f1-badd-cb4543f021a3';

function dd(over: Partial<DatadirReport> = {}): DatadirReport {
  return { state: 'ok', detail: null, myUuid: null, lastView: null, recovered: null, recoverNote: null, process: null, sst: null, ...over };
}

function down(datadir: DatadirReport = dd()): Partial<DbStatusReport> {
  return { mariadb: 'down', recovered: null, error: 'ECONNREFUSED', datadir };
}

/** n1..n3 Primary and Synced at seqno 100; n4 is the node that rejoins. */
function site(): ArbDriver {
  const d = new ArbDriver(settingsFor());
  d.start();
  for (const n of ['n1', 'n2', 'n3', 'n4'] as Node[]) d.report(n, primary(n));
  d.advance(1000);
  return d;
}

const three: Node[] = ['n1', 'n2', 'n3'];
const logs = (eff: CommonEffect[], event: string) => eff.filter((e) => e.kind === 'log' && e.event === event);
const status = (d: ArbDriver) => renderStatus(buildSummary(d.state, d.now));

describe('rejoin progress (issue 12 step 4)', () => {
  it('a node taking an SST, then IST, is shown with its progress until it is Synced, then said rejoined', () => {
    const d = site();
    for (const n of three) d.report(n, primary(n, three));
    d.report('n4', null, down());
    expect(d.state.rejoin ?? []).toEqual([]); // a node that is simply down is not rejoining
    // SST under way: mariadbd runs, no SQL, the marker and 12 MiB so far.
    const e1 = d.report('n4', null, down(dd({ state: 'no_grastate', process: 'mariadbd (pid 9) runs in /var/lib/mysql', sst: { inProgress: true, bytes: 12 * 1024 * 1024 } })));
    expect(logs(e1, 'rejoin_started')).toHaveLength(1);
    expect(status(d)).toMatch(/REJOIN:\n {2}dbserver:4: state transfer · SST under way: 12\.0 MiB in the datadir so far/);
    // IST: Primary, Joined, 40 behind the component's newest commit.
    d.report('n4', primary('n4', ['n1', 'n2', 'n3', 'n4'], { localState: 'Joined', lastCommitted: 60 }));
    const s = buildSummary(d.state, d.now).arbitrator.rejoin;
    expect(s).toEqual([expect.objectContaining({ party: 'dbserver:4', phase: 'joining', behind: 40 })]);
    expect(status(d)).toMatch(/dbserver:4: joining · Joined: at seqno 60 of 100 \(40 behind\)/);
    const e3 = d.report('n4', primary('n4'));
    expect(logs(e3, 'rejoined')).toHaveLength(1);
    expect(d.state.rejoin).toEqual([]);
    expect(status(d)).not.toMatch(/REJOIN/);
  });

  it('a joiner whose mariadbd stops (SST failed, donor gone) CANNOT REJOIN: error log, journal, status', () => {
    const d = site();
    for (const n of three) d.report(n, primary(n, three));
    d.report('n4', null, down(dd({ process: 'mariadbd (pid 9) runs', sst: { inProgress: true, bytes: 1024 } })));
    const eff = d.report('n4', null, down(dd({ state: 'no_grastate' })));
    const loud = logs(eff, 'cannot_rejoin');
    expect(loud).toHaveLength(1);
    expect(loud[0]).toMatchObject({ level: 'error', msg: expect.stringMatching(/dbserver:4 CANNOT REJOIN: mariadbd stopped during its rejoin \(last: SST under way/) });
    expect(d.state.journal.at(-1)?.event).toBe('cannot_rejoin');
    expect(status(d)).toMatch(/REJOIN: dbserver:4 CANNOT REJOIN\n {2}dbserver:4: CANNOT REJOIN · mariadbd stopped during its rejoin/);
    // Said once, kept while it lasts (not repeated on every report).
    expect(logs(hold(d, 10_000), 'cannot_rejoin')).toEqual([]);
    expect(status(d)).toMatch(/CANNOT REJOIN/);
    // Started again by the operator: tracked as rejoining once more.
    const again = d.report('n4', primary('n4', ['n1', 'n2', 'n3', 'n4'], { localState: 'Joiner', lastCommitted: -1 }));
    expect(logs(again, 'rejoin_started')).toHaveLength(1);
  });

  it('an interrupted SST (the marker left, no mariadbd) and an unreadable datadir cannot rejoin', () => {
    const d = site();
    for (const n of three) d.report(n, primary(n, three));
    const eff = d.report('n4', null, down(dd({ state: 'no_grastate', sst: { inProgress: true, bytes: 5 } })));
    expect(logs(eff, 'cannot_rejoin')[0]).toMatchObject({ msg: expect.stringMatching(/SST was interrupted/) });
    const e = site();
    for (const n of three) e.report(n, primary(n, three));
    const eff2 = e.report('n4', null, down(dd({ state: 'unreadable', detail: '/var/lib/mysql: EACCES' })));
    expect(logs(eff2, 'cannot_rejoin')[0]).toMatchObject({ msg: expect.stringMatching(/datadir is unreadable \(\/var\/lib\/mysql: EACCES\)/) });
  });

  it('a node running a primary component of another history (bootstrapped outside minder) cannot rejoin', () => {
    const d = site();
    for (const n of three) d.report(n, primary(n, three));
    const eff = d.report('n4', primary('n4', ['n4'], { stateUuid: OTHER_UUID, lastCommitted: 3 }));
    expect(logs(eff, 'cannot_rejoin')[0]).toMatchObject({ msg: expect.stringMatching(/another history \(state uuid 11111111.*bootstrapped outside minder/) });
    expect(status(d)).toMatch(/dbserver:4: CANNOT REJOIN · runs a primary component of another history/);
  });

  it('a joiner that makes no progress is STALLED, loudly, and resumes when it moves', () => {
    const d = site();
    for (const n of three) d.report(n, primary(n, three));
    const joiner = primary('n4', ['n1', 'n2', 'n3', 'n4'], { localState: 'Joiner', lastCommitted: 10 });
    d.report('n4', joiner);
    const eff = hold(d, REJOIN_STALL_MS + 10_000, 5000);
    expect(logs(eff, 'rejoin_stalled')).toHaveLength(1);
    expect(status(d)).toMatch(/REJOIN: dbserver:4 STALLED\n.*NO PROGRESS for 5 min: is a Synced donor reachable/);
    d.report('n4', { ...joiner, lastCommitted: 11 });
    d.advance(1000); // a Primary node's new seqno is seen by the next evaluation (reports.ts)
    expect(buildSummary(d.state, d.now).arbitrator.rejoin?.[0]?.phase).toBe('joining');
  });

  it('no primary component (a cold start): nothing is tracked as rejoining', () => {
    const d = site();
    d.advance(20_000);
    for (const n of ['n1', 'n2', 'n3', 'n4'] as Node[]) d.report(n, null, down());
    expect(d.state.rejoin ?? []).toEqual([]);
  });
});
