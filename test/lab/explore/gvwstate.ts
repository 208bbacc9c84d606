// Exploration script behind docs/lab.md: gvwstate.dat lifecycle and wsrep status in a 2+2 cut.
// Run as root: npm run build && node dist/test/lab/explore/gvwstate.js
import { watch, readFileSync, existsSync, statSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { startGaleraLab, isNonPrimary, isSyncedPrimary, type GaleraLab } from '../galera-lab.js';

const KEYS = [
  'wsrep_cluster_status',
  'wsrep_local_state_comment',
  'wsrep_ready',
  'wsrep_connected',
  'wsrep_cluster_size',
  'wsrep_gcomm_uuid',
  'wsrep_cluster_conf_id',
  'wsrep_incoming_addresses',
  'wsrep_local_index',
  'wsrep_cluster_state_uuid',
  'wsrep_local_state_uuid',
  'wsrep_last_committed',
  'wsrep_cluster_weight',
];
const t0 = Date.now();
const ts = (): string => `+${((Date.now() - t0) / 1000).toFixed(2)}s`;
const log = (...a: unknown[]): void => console.log(ts(), ...a);
const names = ['n1', 'n2', 'n3', 'n4'];

function gvw(lab: GaleraLab, n: string): string {
  const p = join(lab.node(n).datadir, 'gvwstate.dat');
  return existsSync(p) ? `mtime=${statSync(p).mtime.toISOString().slice(11, 23)}\n${readFileSync(p, 'utf8').trim()}` : '(absent)';
}
async function show(lab: GaleraLab, n: string): Promise<void> {
  const s = await lab.status(n);
  log(`status ${n}:`, Object.fromEntries(KEYS.map((k) => [k, s[k]])));
}
async function allMs(lab: GaleraLab, ns: string[], pred: Parameters<GaleraLab['waitFor']>[1]): Promise<number> {
  const t = Date.now();
  await Promise.all(ns.map((n) => lab.waitFor(n, pred, 60_000)));
  return Date.now() - t;
}
function watchGvw(lab: GaleraLab): FSWatcher[] {
  return names.map((n) =>
    watch(lab.node(n).datadir, (ev, f) => {
      if (f?.startsWith('gvwstate')) {
        const p = join(lab.node(n).datadir, 'gvwstate.dat');
        const v = existsSync(p) ? `${readFileSync(p, 'utf8').match(/view_id: .*/)?.[0] ?? '?'} members=${readFileSync(p, 'utf8').match(/member:/g)?.length ?? 0}` : 'absent';
        log(`  [watch ${n}] ${ev} ${f} -> ${v}`);
      }
    }),
  );
}

const lab = await startGaleraLab({
  nodes: [
    { name: 'n1', dc: 'dc1' },
    { name: 'n2', dc: 'dc1' },
    { name: 'n3', dc: 'dc2' },
    { name: 'n4', dc: 'dc2' },
  ],
  wsrepStatusFile: true,
});
const watchers: FSWatcher[] = [];
try {
  log('bring-up ms', lab.bringUpMs);
  watchers.push(...watchGvw(lab));
  for (const n of names) log(`gvwstate ${n}:\n${gvw(lab, n)}`);
  for (const n of names) await show(lab, n);
  log('grastate n1 while running', lab.grastate('n1'));

  log('--- WSREP_MEMBERSHIP before plugin');
  try {
    log(await lab.query('n1', 'SELECT * FROM information_schema.WSREP_MEMBERSHIP'));
  } catch (e) {
    log('ERR', (e as Error).message);
  }
  log(await lab.query('n1', "SELECT PLUGIN_NAME, PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME LIKE 'WSREP%'"));
  const ti = Date.now();
  try {
    await lab.exec('n1', "INSTALL SONAME 'wsrep_info'");
    log('INSTALL SONAME ok in ms', Date.now() - ti);
  } catch (e) {
    log('INSTALL ERR', (e as Error).message);
  }
  for (const n of names) {
    try {
      log(n, 'plugins', await lab.query(n, "SELECT PLUGIN_NAME FROM information_schema.PLUGINS WHERE PLUGIN_NAME LIKE 'WSREP%'"));
    } catch (e) {
      log(n, 'ERR', (e as Error).message);
    }
  }
  log(await lab.query('n1', 'SELECT * FROM information_schema.WSREP_MEMBERSHIP'));
  log(await lab.query('n1', 'SELECT * FROM information_schema.WSREP_STATUS'));
  for (const n of ['n2', 'n3', 'n4']) {
    try {
      await lab.exec(n, "INSTALL SONAME 'wsrep_info'");
    } catch (e) {
      log(n, 'INSTALL ERR', (e as Error).message);
    }
  }

  log('--- graceful stop n4');
  let t = Date.now();
  await lab.stop('n4');
  log('stop n4 ms', Date.now() - t, 'n4 gvwstate after graceful stop:', gvw(lab, 'n4'), 'grastate', lab.grastate('n4'));
  await lab.waitFor('n1', isSyncedPrimary(3), 30_000);
  log(`gvwstate n1 after n4 left:\n${gvw(lab, 'n1')}`);
  t = Date.now();
  await lab.start('n4');
  log('restart n4 (IST) ms', Date.now() - t);
  await lab.waitAllSynced();
  log(`gvwstate n1 after n4 back:\n${gvw(lab, 'n1')}`);
  log(`gvwstate n4 after restart:\n${gvw(lab, 'n4')}`);
  await lab.exec('n1', 'CREATE DATABASE IF NOT EXISTS labx');
  await lab.exec('n1', 'CREATE TABLE labx.t (id INT PRIMARY KEY, v VARCHAR(20))');
  await lab.exec('n1', "INSERT INTO labx.t VALUES (1, 'before')");

  log('--- cut dc1 | dc2');
  await new Promise((r) => setTimeout(r, 1000));
  t = Date.now();
  await lab.cutDcs('dc1', 'dc2');
  log('all four non-Primary after ms', await allMs(lab, names, isNonPrimary));
  log('(cut->all non-Primary total ms)', Date.now() - t);
  await new Promise((r) => setTimeout(r, 2000));
  for (const n of names) await show(lab, n);
  for (const n of names) log(`gvwstate ${n} during 2+2 cut:\n${gvw(lab, n)}`);
  for (const n of ['n1', 'n3']) {
    try {
      log(n, 'WSREP_MEMBERSHIP', await lab.query(n, 'SELECT * FROM information_schema.WSREP_MEMBERSHIP'));
    } catch (e) {
      log(n, 'ERR', (e as Error).message);
    }
  }
  try {
    await lab.query('n3', 'SELECT 1');
    log('n3 SELECT ok');
  } catch (e) {
    log('n3 SELECT ERR', (e as Error).message);
  }
  log('status file n3:', readFileSync(lab.node('n3').statusFile ?? '', 'utf8').slice(0, 600));

  log('--- pc.bootstrap on n1');
  t = Date.now();
  await lab.pcBootstrap('n1');
  log('n1 Primary after ms', Date.now() - t);
  await lab.waitFor('n2', isSyncedPrimary(2), 10_000);
  log('n2 Primary after ms', Date.now() - t);
  await lab.exec('n1', "INSERT INTO labx.t VALUES (2, 'during-cut')");
  for (const n of names) await show(lab, n);
  for (const n of names) log(`gvwstate ${n} after pc.bootstrap on n1:\n${gvw(lab, n)}`);

  log('--- heal');
  t = Date.now();
  await lab.heal();
  log('all four Synced size 4 after ms', await allMs(lab, names, isSyncedPrimary(4)), 'total', Date.now() - t);
  log('n3 reads', await lab.query('n3', 'SELECT * FROM labx.t ORDER BY id'));
  for (const n of names) log(`gvwstate ${n} after heal:\n${gvw(lab, n)}`);
  for (const n of names) await show(lab, n);

  log('--- isolate n4 (gmcast.isolate)');
  t = Date.now();
  await lab.isolate('n4', true);
  await lab.waitFor('n4', isNonPrimary, 30_000);
  log('n4 non-Primary after ms', Date.now() - t);
  await lab.waitFor('n1', isSyncedPrimary(3), 30_000);
  log('n1 size 3 after ms', Date.now() - t);
  log(`gvwstate n4 isolated:\n${gvw(lab, 'n4')}`);
  t = Date.now();
  await lab.isolate('n4', false);
  await lab.waitAllSynced();
  log('isolate off -> size 4 after ms', Date.now() - t);

  log('--- kill -9 n4');
  await lab.kill('n4');
  log('n4 grastate after kill', lab.grastate('n4'), `gvwstate:\n${gvw(lab, 'n4')}`);
  t = Date.now();
  log('recover', await lab.recover('n4'), 'ms', Date.now() - t);
  log('n1 last committed', (await lab.status('n1'))['wsrep_last_committed']);

  log('--- stopAll (graceful, reverse order)');
  t = Date.now();
  await lab.stopAll();
  log('stopAll ms', Date.now() - t);
  for (const n of names) log(n, 'grastate', lab.grastate(n)?.raw, 'gvwstate', gvw(lab, n).slice(0, 60));
} finally {
  for (const w of watchers) w.close();
  const t = Date.now();
  await lab.close();
  log('close ms', Date.now() - t);
}
