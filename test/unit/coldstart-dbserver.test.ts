import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { dbStatusReport, type DatadirReport, type StartMariadb } from '../../src/protocol/verbs.js';
import { initialState } from '../../src/roles/dbserver/core.js';
import { inspectDatadir, mariadbMayRun, parseRecoveredPosition } from '../../src/roles/dbserver/datadir.js';
import { withSafeToBootstrap } from '../../src/roles/dbserver/galera-files.js';
import { MariadbControl, setSafeToBootstrap } from '../../src/roles/dbserver/mariadb-control.js';
import type { Reading } from '../../src/roles/dbserver/reading.js';
import { Driver, kinds, message, STATE_UUID, U } from './dbserver-fixtures.js';

const dirs: string[] = [];
function datadir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'minder-datadir-'));
  dirs.push(d);
  for (const [f, text] of Object.entries(files)) {
    if (f.endsWith('/')) mkdirSync(join(d, f));
    else writeFileSync(join(d, f), text);
  }
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const grastate = (seqno: number, safe = 0, uuid = STATE_UUID) => `# GALERA saved state\nversion: 2.1\nuuid:    ${uuid}\nseqno:   ${seqno}\nsafe_to_bootstrap: ${safe}\n`;
const gvwstate = `my_uuid: ${U.n2}\n#vwbeg\nview_id: 3 ${U.n1} 7\nbootstrap: 0\nmember: ${U.n1} 0\nmember: ${U.n2} 0\n#vwend\n`;

describe('cold start, dbserver: what the datadir says', () => {
  it('tells an empty, a never-joined, a damaged and a good datadir apart', () => {
    expect(inspectDatadir(join(tmpdir(), 'minder-no-such-dir-x')).report.state).toBe('empty');
    expect(inspectDatadir(datadir({ 'mysqld.sock': '', 'lost+found/': '' })).report.state).toBe('empty');
    expect(inspectDatadir(datadir({ ibdata1: 'x', 'mysql/': '' })).report.state).toBe('no_grastate');
    expect(inspectDatadir(datadir({ ibdata1: 'x', 'grastate.dat': 'seqno: banana\n' })).report.state).toBe('malformed');
    const good = inspectDatadir(datadir({ ibdata1: 'x', 'grastate.dat': grastate(-1), 'gvwstate.dat': gvwstate }));
    expect(good.report).toMatchObject({ state: 'ok', myUuid: U.n2, lastView: { viewId: `3 ${U.n1} 7`, members: [U.n1, U.n2].sort() } });
    expect(good.grastate).toEqual({ uuid: STATE_UUID, seqno: -1, safeToBootstrap: false });
    // It fits the wire.
    expect(dbStatusReport.safeParse({ observedAt: 1, dc: 'dc1', mariadb: 'down', wsrep: null, recovered: good.grastate, decision: null, error: null, datadir: good.report }).success).toBe(true);
  });

  it("reads the recovered position from mariadbd's log line or galera_recovery's output", () => {
    expect(parseRecoveredPosition(`2026-12-02 [Note] WSREP: Recovered position: ${STATE_UUID}:1234\n`)).toEqual({ uuid: STATE_UUID, seqno: 1234 });
    expect(parseRecoveredPosition(`--wsrep_start_position=${STATE_UUID}:77`)).toEqual({ uuid: STATE_UUID, seqno: 77 });
    expect(parseRecoveredPosition('InnoDB: nothing')).toBeNull();
  });

  it('sets safe_to_bootstrap in place and keeps every other line', () => {
    expect(withSafeToBootstrap(grastate(42, 0))).toBe(grastate(42, 1));
    expect(withSafeToBootstrap('uuid: x\nseqno: 1\n')).toBe('uuid: x\nseqno: 1\nsafe_to_bootstrap: 1\n');
    const d = datadir({ 'grastate.dat': grastate(42, 0) });
    expect(setSafeToBootstrap(d)).toBeNull();
    expect(readFileSync(join(d, 'grastate.dat'), 'utf8')).toBe(grastate(42, 1));
  });

  it('runs --wsrep-recover once per datadir state, and never while a mariadbd may run on it', async () => {
    const d = datadir({ ibdata1: 'x', 'grastate.dat': grastate(-1) });
    const counter = join(d, '.runs');
    const recover = ['/bin/sh', '-c', `echo run >> ${counter}; echo "WSREP: Recovered position: ${STATE_UUID}:99" >&2`];
    const commands = { start: ['true'], bootstrap: ['true'], stop: ['true'], recover, timeoutMs: 5000, recoverTimeoutMs: 5000, editGrastate: true, exitGraceMs: 300 };
    const c = new MariadbControl({ datadir: d, pidFile: join(d, 'none.pid') }, commands, pino({ level: 'silent' }));
    let changed = 0;
    c.onChange = () => changed++;
    expect(c.inspect().report.recoverNote).toMatch(/under way/);
    await until(() => changed === 1);
    expect(c.inspect().report.recovered).toEqual({ uuid: STATE_UUID, seqno: 99 });
    expect(c.inspect().report.recovered).toEqual({ uuid: STATE_UUID, seqno: 99 });
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
    // The datadir moved on: the cached position no longer applies.
    writeFileSync(join(d, 'ibdata1'), 'changed, longer');
    expect(c.inspect().report.recovered).toBeNull();
    await until(() => changed === 2);
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(2);

    // A pid file naming a live process (ours) means "a mariadbd may run": no recovery.
    const busy = datadir({ ibdata1: 'x', 'grastate.dat': grastate(-1), 'me.pid': String(process.pid) });
    expect(mariadbMayRun(busy, join(busy, 'me.pid'))).toMatch(/live process/);
    const c2 = new MariadbControl({ datadir: busy, pidFile: join(busy, 'me.pid') }, { ...commands, recover: ['/bin/sh', '-c', `echo run >> ${counter}`] }, pino({ level: 'silent' }));
    // Reported as a running process (not down for the cold-start rule), and never recovered.
    expect(c2.inspect().report).toMatchObject({ recovered: null, process: expect.stringMatching(/live process/) });
    await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(await c2.startMariadb('start')).toMatch(/may already run/);

    // A process that is going (killed a moment ago) is waited for: the start runs once it is gone.
    const dying = spawn('sleep', ['0.6'], { stdio: 'ignore' });
    const going = datadir({ ibdata1: 'x', 'grastate.dat': grastate(-1), 'me.pid': String(dying.pid) });
    const started = join(going, 'started');
    const c3 = new MariadbControl({ datadir: going, pidFile: join(going, 'me.pid') }, { ...commands, start: ['/bin/sh', '-c', `touch ${started}`], exitGraceMs: 5000 }, pino({ level: 'silent' }));
    expect(mariadbMayRun(going, join(going, 'me.pid'))).toMatch(/live process/);
    expect(await c3.startMariadb('start')).toBeNull();
    expect(existsSync(started)).toBe(true);
  });
});

async function until(p: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!p()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const okDatadir = (recovered: number | null): DatadirReport => ({
  state: 'ok',
  detail: null,
  myUuid: U.n1,
  lastView: null,
  recovered: recovered === null ? null : { uuid: STATE_UUID, seqno: recovered },
  recoverNote: null,
});

function down(seq: number, at: number, seqno: number, dd: DatadirReport = okDatadir(null)): Reading {
  return { seq, at, mariadb: 'down', membersFrom: 'none', wsrep: null, recovered: { uuid: STATE_UUID, seqno, safeToBootstrap: false }, error: 'ECONNREFUSED', datadir: dd };
}

function order(over: Partial<StartMariadb> = {}): StartMariadb {
  return { decisionId: 'cs-1', mode: 'bootstrap', stateUuid: STATE_UUID, seqno: 14, forced: false, reason: 'highest seqno', decidedAt: 1_700_000_000_000, validForMs: 30_000, ...over };
}

function startedDown(seqno = 14, dd?: DatadirReport): Driver {
  const d = new Driver();
  d.step({ kind: 'start' });
  d.step({ kind: 'observed', reading: down(d.state.inFlight as number, d.now, seqno, dd) });
  return d;
}

function observeDown(d: Driver, seqno: number, dd?: DatadirReport) {
  return d.step({ kind: 'observed', reading: down(d.state.inFlight as number, d.now, seqno, dd) });
}

describe('cold start, dbserver: start_mariadb orders', () => {
  it('bootstraps only on a fresh reading at exactly the chosen position, recorded durably before the command', () => {
    const d = startedDown();
    d.step(message('arbitrator:1', 'start_mariadb', order()));
    expect(kinds(d.last)).not.toContain('start_mariadb');
    const k = kinds(observeDown(d, 14));
    expect(k.indexOf('persist:dbserver.pendingStart')).toBeLessThan(k.indexOf('start_mariadb'));
    expect(d.persisted.get('dbserver.bootstraps')).toEqual([expect.objectContaining({ decisionId: 'cs-1', seqno: 14 })]);
    d.step({ kind: 'start_done', decisionId: 'cs-1', ok: true, error: null });
    expect(d.state.decisions.at(-1)).toMatchObject({ id: 'cs-1', outcome: 'carried_out' });
  });

  it('refuses a bootstrap when the datadir moved, is of another cluster, is empty, or mariadbd runs', () => {
    const cases: Array<[Reading['recovered'] extends infer _ ? (d: Driver) => void : never, RegExp]> = [
      [(d) => observeDown(d, 15), /seqno 15.*chose seqno 14/],
      [(d) => d.step({ kind: 'observed', reading: { ...down(d.state.inFlight as number, d.now, 14), recovered: { uuid: U.n4, seqno: 14, safeToBootstrap: false } } }), /belongs to cluster/],
      [(d) => observeDown(d, 14, { ...okDatadir(null), state: 'empty' }), /datadir is empty/],
      [(d) => observeDown(d, -1), /no position known/],
      [
        (d) =>
          d.observe({
            clusterStatus: 'non-Primary',
            localState: 'Initialized',
            ready: false,
            connected: true,
            clusterSize: 1,
            stateUuid: STATE_UUID,
            confId: null,
            lastCommitted: 14,
            nodeUuid: U.n1,
            members: [],
            lastPrimary: null,
          }),
        /mariadbd is running/,
      ],
    ];
    for (const [act, why] of cases) {
      const d = startedDown();
      d.step(message('arbitrator:1', 'start_mariadb', order()));
      act(d);
      expect(kinds(d.all)).not.toContain('start_mariadb');
      expect(d.state.decisions.at(-1)).toMatchObject({ id: 'cs-1', outcome: 'refused', reason: expect.stringMatching(why) });
    }
  });

  it('uses the --wsrep-recover position after a crash (grastate seqno -1)', () => {
    const d = startedDown(-1, okDatadir(14));
    d.step(message('arbitrator:1', 'start_mariadb', order()));
    expect(kinds(observeDown(d, -1, okDatadir(14)))).toContain('start_mariadb');
  });

  it('refuses an expired order, and a second bootstrap from the same position under another decision', () => {
    const d = startedDown();
    d.advance(30_000 + 60_000 + 1);
    d.step(message('arbitrator:1', 'start_mariadb', order()));
    expect(d.state.decisions.at(-1)).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/expired/) });

    const e = startedDown();
    e.step(message('arbitrator:1', 'start_mariadb', order()));
    observeDown(e, 14);
    e.step({ kind: 'start_done', decisionId: 'cs-1', ok: false, error: 'exited 1' });
    expect(e.state.decisions.at(-1)).toMatchObject({ outcome: 'failed' });
    e.step(message('arbitrator:1', 'start_mariadb', order({ decisionId: 'cs-2' })));
    observeDown(e, 14); // the reading begun before the order: not fresh enough
    observeDown(e, 14);
    expect(e.state.decisions.at(-1)).toMatchObject({ id: 'cs-2', outcome: 'refused', reason: expect.stringMatching(/already bootstrapped from .*cs-1/) });
  });

  it('a restart while the command ran concludes it failed and never runs it again', () => {
    const d = startedDown();
    d.step(message('arbitrator:1', 'start_mariadb', order()));
    observeDown(d, 14);
    const after = new Driver(initialState(d.state.decisions, null, { pendingStart: d.state.pendingStart, bootstraps: d.state.bootstraps }));
    after.step({ kind: 'start' });
    expect(after.state.decisions.at(-1)).toMatchObject({ id: 'cs-1', outcome: 'failed' });
    after.step({ kind: 'observed', reading: down(after.state.inFlight as number, after.now, 14) });
    after.step(message('arbitrator:1', 'start_mariadb', order()));
    expect(kinds(after.all)).not.toContain('start_mariadb');
  });

  it('starts mariadbd for a plain start order whatever the datadir holds (an empty one joins by SST)', () => {
    const d = startedDown(-1, { ...okDatadir(null), state: 'empty' });
    d.step(message('arbitrator:1', 'start_mariadb', order({ mode: 'start', seqno: -1 })));
    expect(kinds(observeDown(d, -1, { ...okDatadir(null), state: 'empty' }))).toContain('start_mariadb');
  });
});
