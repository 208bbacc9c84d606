// The dbserver role and the wsrep_notify_cmd hook against a real Galera lab (issue 3).
// One lab for the file (dc1: n1 n2, dc2: n3 n4; n4 starts stopped). Each test first brings it to
// the shape it needs (`given`), so each runs alone, in any order, or after one that failed.
// Dbservers run as real `minder run` processes; the hook is installed as mariadbd's
// wsrep_notify_cmd; the arbitrator and a dbclient are test correspondents on loopback UDP.
// The report interval is one hour, so every report after a dbserver's first is caused by a hook
// push, a dropped connection or a request — never by polling.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartyId } from '../../src/protocol/party.js';
import type { DbStatusReport, MakePrimary } from '../../src/protocol/verbs.js';
import { viewOf } from '../../src/protocol/view.js';
import { isNonPrimary, isSyncedPrimary, labAvailable, startGaleraLab, type GaleraLab, type WsrepStatus } from './galera-lab.js';
import { waitUntil } from '../support/wait.js';
import { buildForLab, DBCLIENT, DbserverProcess, dbserverOf, MinderSite, TestCorrespondents } from './dbserver-site.js';

const availability = labAvailable();
if (!availability.ok) console.warn(`dbserver.test.ts skipped: ${availability.reason}`);

const NODES = ['n1', 'n2', 'n3', 'n4'] as const;
const idOf = (n: string): PartyId => dbserverOf(NODES.indexOf(n as (typeof NODES)[number]) + 1);
const nonPrimary = (r: DbStatusReport) => r.mariadb === 'up' && r.wsrep?.clusterStatus === 'non-Primary';
// A reading taken in the middle of a view change (the status-file ring comes that early) may say
// non-Primary before WSREP_MEMBERSHIP has moved: reported without members, then again with them.
const nonPrimaryWithMembers = (r: DbStatusReport) => nonPrimary(r) && (r.wsrep?.members.length ?? 0) > 0;
const syncedPrimary = (size: number) => (r: DbStatusReport) => r.wsrep?.clusterStatus === 'Primary' && r.wsrep.localState === 'Synced' && r.wsrep.clusterSize === size;

/** The report must say exactly what SHOW GLOBAL STATUS says on that node. */
function expectMatches(r: DbStatusReport, s: WsrepStatus, membership: Array<Record<string, unknown>>): void {
  const w = r.wsrep;
  expect(r.mariadb).toBe('up');
  expect(w).not.toBeNull();
  if (!w) return;
  expect(w.clusterStatus).toBe(s['wsrep_cluster_status']);
  expect(w.localState).toBe(s['wsrep_local_state_comment']);
  expect(w.ready).toBe(s['wsrep_ready'] === 'ON');
  expect(w.connected).toBe(s['wsrep_connected'] === 'ON');
  expect(String(w.clusterSize)).toBe(s['wsrep_cluster_size']);
  expect(w.stateUuid).toBe(s['wsrep_cluster_state_uuid']);
  expect(w.confId === null ? '18446744073709551615' : String(w.confId)).toBe(s['wsrep_cluster_conf_id']);
  expect(w.nodeUuid).toBe(s['wsrep_gcomm_uuid']);
  expect(w.members.map((m) => m.uuid)).toEqual(membership.map((m) => m['UUID']));
  expect(w.members.map((m) => m.address).sort()).toEqual((s['wsrep_incoming_addresses'] ?? '').split(',').sort());
}

describe.skipIf(!availability.ok)('dbserver on a real Galera lab', () => {
  let lab: GaleraLab | undefined;
  let site: MinderSite | undefined;
  let net: TestCorrespondents | undefined;
  const servers = new Map<string, DbserverProcess>();
  const the = () => {
    if (!lab || !site || !net) throw new Error('the lab did not start');
    return { lab, site, net };
  };
  const server = (n: string) => servers.get(n) as DbserverProcess;

  /**
   * The lab as a test needs it, whatever ran (or failed) before: no cut, exactly `up` running
   * (the others stopped cleanly), all Synced/Primary, every dbserver running and each of `up`'s
   * having reported that since. Cheap when the lab is already so.
   */
  async function given(up: readonly (typeof NODES)[number][]): Promise<void> {
    const { lab, site, net } = the();
    await lab.heal();
    for (const n of NODES) if (!up.includes(n) && lab.node(n).running) await lab.stop(n);
    for (const n of up) if (!lab.node(n).running) await lab.start(n);
    await lab.waitAllSynced();
    for (const n of NODES) if (!server(n).running) servers.set(n, await DbserverProcess.start(site.configPath, idOf(n)));
    const since = Date.now();
    for (const n of up) {
      net.send(idOf(n), 'request_status', {});
      await net.waitReport(idOf(n), syncedPrimary(up.length), 60_000, since, `given: Synced/Primary of ${up.length}`);
    }
  }

  beforeAll(async () => {
    await buildForLab();
    site = MinderSite.prepare();
    lab = await startGaleraLab({
      nodes: [
        { name: 'n1', dc: 'dc1' },
        { name: 'n2', dc: 'dc1' },
        { name: 'n3', dc: 'dc2' },
        { name: 'n4', dc: 'dc2', start: false },
      ],
      notifyCmd: site.hookCmd,
      // The membership table the dbserver reads (as production's my.cnf should load it).
      extraMyCnf: { plugin_load_add: 'wsrep_info' },
      // mariadbd's status file, which the dbserver watches as a doorbell (docs/dbserver.md).
      wsrepStatusFile: true,
    });
    // The least a dbserver needs: SHOW STATUS and WSREP_MEMBERSHIP need nothing; pc.bootstrap needs SUPER.
    const password = 'dbserver-lab-password';
    await lab.exec('n1', "CREATE USER 'dbserver'@'127.0.0.%' IDENTIFIED BY ?", [password]);
    await lab.exec('n1', "GRANT SUPER ON *.* TO 'dbserver'@'127.0.0.%'");
    // n2's dbserver uses the unix socket, where the same account is @localhost.
    await lab.exec('n1', "CREATE USER 'dbserver'@'localhost' IDENTIFIED BY ?", [password]);
    await lab.exec('n1', "GRANT SUPER ON *.* TO 'dbserver'@'localhost'");
    const cfg = site.configure(lab, { reportInterval: '1h', user: 'dbserver', password, socketNodes: ['n2'] });
    await site.writeHookFile();
    net = await TestCorrespondents.open(cfg);
    for (const n of ['n1', 'n2', 'n3', 'n4']) servers.set(n, await DbserverProcess.start(site.configPath, idOf(n)));
  });

  afterAll(async () => {
    for (const p of servers.values()) await p.stop('SIGKILL').catch(() => undefined);
    await net?.close();
    await lab?.close();
    site?.close();
  });

  it('3 nodes: each dbserver reports exactly what SHOW GLOBAL STATUS says on its node, to the arbitrator and the dbclient', async () => {
    await given(['n1', 'n2', 'n3']);
    const { lab, net } = the();
    for (const n of ['n1', 'n2', 'n3']) {
      const since = Date.now();
      net.send(idOf(n), 'request_status', {});
      const rep = await net.waitReport(idOf(n), syncedPrimary(3), 15_000, since, 'a Synced/Primary report of 3');
      const s = await lab.status(n);
      const membership = await lab.query(n, 'SELECT `UUID` FROM information_schema.WSREP_MEMBERSHIP ORDER BY `INDEX`');
      expectMatches(rep.body, s, membership);
      expect(rep.body.dc).toBe(lab.node(n).dc);
      expect(rep.body.wsrep?.lastPrimary?.members).toHaveLength(3);
      expect(net.latest(idOf(n), DBCLIENT)).toBeDefined();
    }
    // n4 is down: its dbserver says so.
    const since = Date.now();
    net.send(idOf('n4'), 'request_status', {});
    const r4 = await net.waitReport(idOf('n4'), (b) => b.mariadb === 'down', 15_000, since, 'down');
    expect(r4.body).toMatchObject({ mariadb: 'down', wsrep: null });
  });

  it('cut one node away: its dbserver reports non-Primary, pushed by the hook mariadbd ran (no interval report is due for an hour)', async () => {
    await given(['n1', 'n2', 'n3']);
    const { lab, site, net } = the();
    const since = Date.now();
    const pushesBefore = server('n3').events('hook_push').length;
    await lab.cut(['n3'], ['n1', 'n2']);
    const rep = await net.waitReport(idOf('n3'), nonPrimaryWithMembers, 30_000, since, 'a non-Primary report with its members');
    expect(rep.body.wsrep?.clusterSize).toBe(1);
    expect(rep.body.wsrep?.members.map((m) => m.name)).toEqual(['n3']);
    // Caused by a push from mariadbd's own hook run, not by a request or the interval.
    const pushes = server('n3').events('hook_push').slice(pushesBefore);
    expect(pushes.some((p) => p['primary'] === false && p['via'] === 'socket')).toBe(true);
    // The shell hook over the unix socket: heard, and the report says so.
    expect(rep.body.hook?.state).toBe('heard');
    expect(server('n3').events('hook_configured').at(-1)?.['cmd']).toBe(site.hookCmd);
    // mariadbd also rewrote its wsrep_status_file, which the dbserver watches: read at once too.
    expect(server('n3').events('status_file_watched').at(-1)?.['path']).toBe(lab.node('n3').statusFile);
    await waitUntil("status_file_changed in n3's log after the cut", 10_000, () =>
      server('n3')
        .events('status_file_changed')
        .some((e) => Date.parse(String(e['time'])) >= since),
    );
    // The majority side says Primary with 2, also pushed.
    await net.waitReport(idOf('n1'), syncedPrimary(2), 30_000, since, 'a Primary report of 2');
    const healed = Date.now();
    await lab.heal();
    await net.waitReport(idOf('n3'), syncedPrimary(3), 60_000, healed, 'Synced/Primary of 3 after the heal');
  });

  it("2+2 cut: both halves report non-Primary; make_primary for dc1's exact view makes dc1 Primary and writable; the same again, a stale view and a restarted dbserver change nothing", async () => {
    await given(NODES);
    const { lab, net } = the();
    await lab.exec('n1', 'CREATE DATABASE IF NOT EXISTS minder_lab');
    await lab.exec('n1', 'CREATE TABLE IF NOT EXISTS minder_lab.t (id INT PRIMARY KEY, v VARCHAR(20))');
    const since = Date.now();
    await lab.cutDcs('dc1', 'dc2');
    const reps = new Map<string, DbStatusReport>();
    for (const n of NODES) {
      const r = await net.waitReport(idOf(n), (b) => nonPrimaryWithMembers(b) && b.wsrep?.clusterSize === 2, 30_000, since, 'non-Primary of 2 with its members');
      reps.set(n, r.body);
    }
    // Both nodes of a half name the same view; the halves differ.
    const v1 = viewOf(reps.get('n1')?.wsrep as NonNullable<DbStatusReport['wsrep']>);
    const v3 = viewOf(reps.get('n3')?.wsrep as NonNullable<DbStatusReport['wsrep']>);
    expect(viewOf(reps.get('n2')?.wsrep as NonNullable<DbStatusReport['wsrep']>)).toEqual(v1);
    expect(v1.members).not.toEqual(v3.members);
    expect(v1.lastPrimaryViewId).toBe(v3.lastPrimaryViewId);

    const decision: MakePrimary = { decisionId: 'lab-d1', view: v1, forced: false, reason: 'lab: dc1 wins the tie', validForMs: 30_000 };
    const sent = Date.now();
    net.send(idOf('n1'), 'make_primary', decision);
    const done = await net.waitReport(idOf('n1'), (b) => b.decision?.id === 'lab-d1' && b.decision.outcome !== 'pending', 30_000, sent, 'the outcome of lab-d1');
    expect(done.body.decision?.outcome, done.body.decision?.reason).toBe('carried_out');
    await lab.waitFor('n2', isSyncedPrimary(2), 15_000);
    await lab.exec('n2', "INSERT INTO minder_lab.t VALUES (1, 'during-cut')");
    // Applying on the other node is asynchronous: a causal read waits for it.
    expect(await lab.query('n1', 'SELECT v FROM minder_lab.t WHERE id = 1', [], { syncWait: true })).toEqual([{ v: 'during-cut' }]);
    expect(server('n1').events('pc_bootstrap').length).toBeGreaterThanOrEqual(1);
    // dc2 stays non-Primary: nobody told it anything.
    expect(isNonPrimary(await lab.status('n3'))).toBe(true);

    // Still in the same cut: the same make_primary again, a stale view, a restarted dbserver.
    const first = net.latest(idOf('n1'))?.body.decision;
    const promotedView = viewOf((net.latest(idOf('n2'))?.body.wsrep ?? null) as NonNullable<DbStatusReport['wsrep']>);
    // Stale: dc2 is offered dc1's old view (it is not theirs); and lab-d1 is resent to n1.
    const r3 = net.latest(idOf('n3'))?.body.wsrep as NonNullable<DbStatusReport['wsrep']>;
    const staleView = { ...viewOf(r3), members: [...viewOf(r3).members, 'ffffffff-0000-0000-0000-000000000000'].sort() };
    const sentAgain = Date.now();
    net.send(idOf('n3'), 'make_primary', { decisionId: 'lab-stale', view: staleView, forced: false, reason: 'lab: stale view', validForMs: 30_000 });
    net.send(idOf('n1'), 'make_primary', { decisionId: 'lab-d1', view: promotedView, forced: false, reason: 'lab: duplicate', validForMs: 30_000 });
    const refused = await net.waitReport(idOf('n3'), (b) => b.decision?.id === 'lab-stale' && b.decision.outcome !== 'pending', 20_000, sentAgain, 'the refusal of lab-stale');
    expect(refused.body.decision?.outcome).toBe('refused');
    expect(refused.body.decision?.reason).toMatch(/view differs/);
    expect(server('n3').events('make_primary_refused').at(-1)?.['reason']).toMatch(/view differs/);
    expect(server('n3').events('pc_bootstrap')).toHaveLength(0);
    expect(isNonPrimary(await lab.status('n3'))).toBe(true);
    // Its own restart: the outcome of lab-d1 survives in SQLite, and a resend does nothing.
    await server('n1').stop('SIGKILL');
    servers.set('n1', await DbserverProcess.start(the().site.configPath, idOf('n1')));
    const again = Date.now();
    net.send(idOf('n1'), 'make_primary', { decisionId: 'lab-d1', view: promotedView, forced: false, reason: 'lab: resent after restart', validForMs: 30_000 });
    net.send(idOf('n1'), 'request_status', {});
    const after = await net.waitReport(idOf('n1'), (b) => b.decision?.id === 'lab-d1', 15_000, again, 'a report after the restart');
    expect(after.body.decision).toEqual(first);
    // The report can be the restarted dbserver's first one, sent before the resend arrived: wait for the resend's log line.
    await waitUntil("make_primary_ignored in n1's log after the restart", 10_000, () => server('n1').events('make_primary_ignored').length >= 1);
    expect(server('n1').events('pc_bootstrap')).toHaveLength(0);
    const healed = Date.now();
    await lab.heal();
    for (const n of NODES) await net.waitReport(idOf(n), syncedPrimary(4), 60_000, healed, 'Synced/Primary of 4 after the heal');
  });

  it('the hook with its dbserver down: mariadbd runs it, it fails at once and says so, the cluster carries on', async () => {
    await given(NODES);
    const { lab, site, net } = the();
    await server('n2').stop('SIGTERM');
    // The hook's stderr goes wherever mariadbd's goes: its error log, or the lab's stdout.log.
    const logs = [lab.node('n2').errorLog, join(lab.node('n2').dir, 'stdout.log')];
    const text = () => logs.map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : '')).join('\n');
    const logBefore = text().length;
    const timingBefore = readFileSync(site.hookTimingLog, 'utf8').split('\n').filter(Boolean).length;
    await lab.stop('n4');
    await lab.waitFor('n2', isSyncedPrimary(3), 30_000);
    const deadline = Date.now() + 15_000;
    const said = /minder-notify: --status \S+ .*not delivered to \S+hook-2\.sock: is the dbserver running/;
    while (!said.test(text().slice(logBefore)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(text().slice(logBefore)).toMatch(said);
    expect(readFileSync(site.hookTimingLog, 'utf8').split('\n').filter(Boolean).length).toBeGreaterThan(timingBefore);
    // The dbserver comes back and reports what is, not what it had.
    const back = Date.now();
    servers.set('n2', await DbserverProcess.start(site.configPath, idOf('n2')));
    await net.waitReport(idOf('n2'), syncedPrimary(3), 15_000, back, 'Synced/Primary of 3 after the dbserver restart');
  });

  it("mariadbd stopped or killed: the report says down, with grastate.dat's position", async () => {
    await given(NODES);
    const { lab, net } = the();
    // A clean stop: grastate.dat holds the real seqno.
    await lab.stop('n4');
    net.send(idOf('n4'), 'request_status', {});
    const clean = await net.waitReport(idOf('n4'), (b) => b.mariadb === 'down', 15_000, Date.now() - 1, 'down after a clean stop');
    const gs4 = lab.grastate('n4');
    expect(clean.body.recovered).toEqual({ uuid: gs4?.uuid, seqno: gs4?.seqno, safeToBootstrap: gs4?.safeToBootstrap });
    expect(clean.body.recovered?.seqno).toBeGreaterThan(0);
    // Only once the others have installed the view without n4: killed while that view change was
    // still open, n3 most likely took n4's leave with it: n1 n2 stayed a non-Primary pair (2 of the 4 they
    // last knew as Primary; CI, 2026-12-03).
    for (const n of ['n1', 'n2', 'n3']) await lab.waitFor(n, isSyncedPrimary(3), 30_000);
    // n3 is killed: no hook runs, the dropped connection tells the dbserver at once.
    const since = Date.now();
    await lab.kill('n3');
    const killed = await net.waitReport(idOf('n3'), (b) => b.mariadb === 'down', 15_000, since, 'down after SIGKILL');
    const gs3 = lab.grastate('n3');
    expect(killed.body).toMatchObject({ wsrep: null, recovered: { uuid: gs3?.uuid, seqno: gs3?.seqno } });
    expect(killed.body.recovered?.seqno).toBe(-1);
    expect(server('n3').events('mariadb_connection_lost').length).toBeGreaterThanOrEqual(1);
    // And back: mariadbd restarts, the hook pushes, the report follows. Only once the survivors
    // have excluded the killed instance (a component of 2): restarted before that, n3 restores
    // its old view from gvwstate.dat (pc.recovery) into a group that still counts its previous
    // incarnation, is declared inactive and retries; on a loaded machine it did not become
    // Synced within lab.start's 90 s (CI, 2026-12-02). systemd's RestartSec gives the same pause.
    for (const n of ['n1', 'n2']) await lab.waitFor(n, isSyncedPrimary(2), 30_000);
    const restarted = Date.now();
    await lab.start('n3');
    await net.waitReport(idOf('n3'), syncedPrimary(3), 60_000, restarted, 'Synced/Primary after the restart');
  });
});
