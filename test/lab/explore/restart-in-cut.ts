// Exploration script behind docs/lab.md: wsrep_info plugin, and nodes killed and restarted on the
// far side of a cut after the near side was bootstrapped. Run as root: npm run build && node dist/test/lab/explore/restart-in-cut.js
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startGaleraLab, isNonPrimary, isSyncedPrimary, type GaleraLab } from '../galera-lab.js';
const t0 = Date.now();
const log = (...a: unknown[]): void => console.log(`+${((Date.now() - t0) / 1000).toFixed(2)}s`, ...a);
const gvw = (lab: GaleraLab, n: string): string => {
  const p = join(lab.node(n).datadir, 'gvwstate.dat');
  return existsSync(p) ? readFileSync(p, 'utf8').trim().replace(/\n/g, ' | ') : '(absent)';
};
const plugins = async (lab: GaleraLab, n: string): Promise<string> => {
  try {
    return JSON.stringify(await lab.query(n, "SELECT PLUGIN_NAME FROM information_schema.PLUGINS WHERE PLUGIN_NAME LIKE 'WSREP_%'"));
  } catch (e) {
    return `ERR ${(e as Error).message}`;
  }
};
const lab = await startGaleraLab({
  nodes: [
    { name: 'n1', dc: 'dc1' },
    { name: 'n2', dc: 'dc1' },
    { name: 'n3', dc: 'dc2' },
    { name: 'n4', dc: 'dc2' },
  ],
});
try {
  log('bring-up ms', lab.bringUpMs);
  for (const n of ['n1', 'n3']) log(n, 'plugins before', await plugins(lab, n));
  await lab.exec('n1', "INSTALL SONAME 'wsrep_info'");
  log('installed on n1');
  for (const n of ['n1', 'n2', 'n3', 'n4']) log(n, 'plugins after', await plugins(lab, n));
  log('mysql.plugin on n3', await lab.query('n3', 'SELECT * FROM mysql.plugin'));
  try {
    await lab.exec('n3', "INSTALL SONAME 'wsrep_info'");
    log('second INSTALL on n3: ok');
  } catch (e) {
    log('second INSTALL on n3: ERR', (e as Error).message);
  }
  try {
    log('SHOW WARNINGS-ish', await lab.query('n3', "INSTALL SONAME 'wsrep_info'"));
  } catch (e) {
    log('ERR', (e as Error).message);
  }
  await lab.stop('n3');
  await lab.start('n3');
  log('n3 plugins after restart', await plugins(lab, 'n3'));

  await lab.exec('n1', 'CREATE DATABASE x');
  await lab.exec('n1', 'CREATE TABLE x.t (id INT PRIMARY KEY)');
  await lab.exec('n1', 'INSERT INTO x.t VALUES (1)');
  await lab.waitAllSynced();
  log('--- cut, pc.bootstrap n1, kill -9 n3+n4, restart them while cut');
  await lab.cutDcs('dc1', 'dc2');
  await Promise.all(['n1', 'n2', 'n3', 'n4'].map((n) => lab.waitFor(n, isNonPrimary, 15_000)));
  log('n3 WSREP_STATUS non-Primary', await lab.query('n3', 'SELECT * FROM information_schema.WSREP_STATUS'));
  await lab.pcBootstrap('n1');
  await lab.exec('n1', 'INSERT INTO x.t VALUES (2)');
  log('n1 WSREP_STATUS after bootstrap', await lab.query('n1', 'SELECT * FROM information_schema.WSREP_STATUS'));
  await lab.kill('n3');
  await lab.kill('n4');
  log('n3 gvwstate after kill', gvw(lab, 'n3'));
  log('n3 grastate', lab.grastate('n3')?.raw);
  await lab.start('n3', { wait: 'none' });
  await lab.start('n4', { wait: 'none' });
  const t = Date.now();
  let last = '';
  while (Date.now() - t < 20_000) {
    try {
      const s = await lab.status('n3');
      const cur = `${s['wsrep_cluster_status']} ${s['wsrep_local_state_comment']} size=${s['wsrep_cluster_size']}`;
      if (cur !== last) {
        log('n3 status', cur);
        last = cur;
      }
    } catch (e) {
      const cur = `ERR ${(e as Error).message}`;
      if (cur !== last) {
        log(cur);
        last = cur;
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  log('n3 gvwstate after 20 s restarted in cut', gvw(lab, 'n3'));
  log('n3 error.log tail', lab.errorLogTail('n3', 12));
  const th = Date.now();
  await lab.heal();
  await Promise.all(['n1', 'n2', 'n3', 'n4'].map((n) => lab.waitFor(n, isSyncedPrimary(4), 60_000)));
  log('healed, restarted n3/n4 joined in ms', Date.now() - th);
  log('n3 rows', await lab.query('n3', 'SELECT id FROM x.t'));
  log('n3 gvwstate', gvw(lab, 'n3'));
  log('--- kill -9 all, restart all (pc.recovery)');
  for (const n of ['n1', 'n2', 'n3', 'n4']) await lab.kill(n);
  const tr = Date.now();
  for (const n of ['n1', 'n2', 'n3', 'n4']) await lab.start(n, { wait: 'none' });
  await Promise.all(['n1', 'n2', 'n3', 'n4'].map((n) => lab.waitFor(n, isSyncedPrimary(4), 60_000)));
  log('all Primary again after restart in ms', Date.now() - tr);
  try {
    await lab.start('n1', { bootstrap: true });
  } catch (e) {
    log('start running node:', (e as { code?: string }).code);
  }
  await lab.stopAll();
  log('after stopAll grastate', ['n1', 'n2', 'n3', 'n4'].map((n) => `${n}:${lab.grastate(n)?.seqno}/${lab.grastate(n)?.safeToBootstrap}`).join(' '));
  try {
    await lab.start('n2', { bootstrap: true });
  } catch (e) {
    log('bootstrap n2 without force:', (e as { code?: string }).code);
  }
  const tb = Date.now();
  await lab.start('n1', { bootstrap: true });
  log('n1 bootstrap restart ms', Date.now() - tb);
} finally {
  await lab.close();
  log('closed');
}
