/**
 * The main job: a whole galera-minder site on a real local Galera cluster, and a story told
 * with a timeline. Run it with `bash scripts/demo.sh [--keep]` as root.
 *
 * Two DCs of two real mariadbd each (dc1: n1 n2 | dc2: n3 n4), the arbitrator, four dbservers
 * with their wsrep_notify_cmd hooks, and a dbclient steering a real HAProxy. The DC link is cut,
 * both halves go non-Primary, the arbitrator promotes dc1's half, writes resume through HAProxy,
 * a node is drained while its sessions finish, the link heals. Then everything is stopped.
 */
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { backendView, startStack, type Stack, waitUntil } from '../test/e2e/dbclient-stack.js';
import { MINDER_JS } from '../test/support/repo.js';

const keep = process.argv.includes('--keep');
const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;
const say = (s: string) => console.log(`${stamp()} ${s}`);
const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `           │ ${l}`)
    .join('\n');

async function status(stack: Stack): Promise<string> {
  const r = stack.site.command(['status']);
  return r.code === 0 ? r.stdout : `(status failed: ${r.stderr.trim()})`;
}

async function clusterLine(stack: Stack): Promise<string> {
  const parts: string[] = [];
  for (const n of stack.galera.nodes()) {
    try {
      const s = await stack.galera.status(n.name, { timeoutMs: 2000 });
      parts.push(`${n.name}:${s['wsrep_cluster_status'] === 'Primary' ? 'Primary' : 'non-Primary'}/${s['wsrep_cluster_size']}`);
    } catch {
      parts.push(`${n.name}:down`);
    }
  }
  return parts.join('  ');
}

async function writeThroughHaproxy(stack: Stack, what: string, timeoutMs = 3000): Promise<string> {
  const { host, port } = stack.haproxy.frontends.write;
  const c = await mysql.createConnection({ host, port, ...stack.galera.credentials, connectTimeout: timeoutMs });
  try {
    await c.query('CREATE DATABASE IF NOT EXISTS demo');
    await c.query('CREATE TABLE IF NOT EXISTS demo.story (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100), node VARCHAR(20))');
    const [rows] = await c.query<RowDataPacket[]>('SELECT @@wsrep_node_name AS n');
    const node = String(rows[0]?.['n']);
    await c.query({ sql: 'INSERT INTO demo.story (what, node) VALUES (?, ?)', timeout: timeoutMs }, [what, node]);
    return node;
  } finally {
    c.destroy();
  }
}

async function main(): Promise<void> {
  say('starting a site on loopback: 4 mariadbd (dc1: n1 n2 | dc2: n3 n4), HAProxy, arbitrator, 4 dbservers with hooks, 1 dbclient');
  const stack = await startStack({
    nodes: [
      { name: 'n1', dc: 'dc1' },
      { name: 'n2', dc: 'dc1' },
      { name: 'n3', dc: 'dc2' },
      { name: 'n4', dc: 'dc2' },
    ],
    frontendPorts: { write: 15300, read: 15301 },
  });
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping everything the demo started (minders, HAProxy, mariadbd) and removing its temp dirs');
    await stack.close();
    say('done');
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopAll().then(() => process.exit(130)));
  try {
    say(`Galera up in ${(stack.galera.bringUpMs / 1000).toFixed(1)} s; waiting for every party to report`);
    await waitUntil(
      'the arbitrator to see all four dbservers fresh and a writer chosen',
      60_000,
      async () => {
        const r = stack.site.command(['status', '--json']);
        if (r.code !== 0) return null;
        const doc = JSON.parse(r.stdout) as { arbitrator: { writer: string | null }; parties: Array<{ fresh: boolean; db: unknown }> };
        return doc.arbitrator.writer !== null && doc.parties.filter((p) => p.db && p.fresh).length === 4 ? true : null;
      },
      500,
    );
    say('1. the healthy site, as the operator sees it (`minder command status`):');
    console.log(indent(await status(stack)));

    for (let i = 0; i < 5; i++) await writeThroughHaproxy(stack, `healthy write ${i}`);
    say(`2. five writes through HAProxy's write frontend went to ${await writeThroughHaproxy(stack, 'healthy write 5')} (the one writer)`);

    say('3. cutting the link between dc1 and dc2 (iptables on loopback: a real partition)');
    const cutAt = Date.now();
    await stack.galera.cutDcs('dc1', 'dc2');
    // dc1 may be promoted within moments of going non-Primary (a settled split is decided at
    // once): wait for the far half, which stays non-Primary until the heal.
    await waitUntil(
      'dc2 to go non-Primary',
      30_000,
      async () => {
        for (const n of stack.galera.nodes().filter((x) => x.dc === 'dc2')) {
          const s = await stack.galera.status(n.name, { timeoutMs: 2000 }).catch(() => null);
          if (!s || s['wsrep_cluster_status'] === 'Primary') return null;
        }
        return true;
      },
      100,
    );
    say(`   Galera saw the cut after ${((Date.now() - cutAt) / 1000).toFixed(1)} s: ${await clusterLine(stack)}`);
    say('   (2 of 4 is not a majority: Galera alone would stay down on both sides)');

    const decision = await stack.site.waitForLog('arbitrator:1', (l) => l.event === 'promotion', 60_000);
    say(`4. the arbitrator decided: ${String(decision.msg)}`);
    let firstWrite = 0;
    const node = await waitUntil(
      'a write through HAProxy to commit',
      60_000,
      async () => {
        try {
          const n = await writeThroughHaproxy(stack, 'write after the cut', 1500);
          firstWrite = Date.now();
          return n;
        } catch {
          return null;
        }
      },
      200,
    );
    say(`5. writes resume through HAProxy on ${node}: ${((firstWrite - cutAt) / 1000).toFixed(1)} s from the cut to the first committed write`);
    say(`   ${await clusterLine(stack)}`);
    console.log(indent(await status(stack)));

    say('6. draining n2: it takes no new connections; sessions already on it finish');
    const { host, port } = stack.haproxy.frontends.read;
    const sessions: mysql.Connection[] = [];
    for (let i = 0; i < 12 && sessions.length < 3; i++) {
      const c = await mysql.createConnection({ host, port, ...stack.galera.credentials, connectTimeout: 3000 });
      const [rows] = await c.query<RowDataPacket[]>('SELECT @@wsrep_node_name AS n');
      if (rows[0]?.['n'] === 'n2') sessions.push(c);
      else c.destroy();
    }
    say(`   ${sessions.length} client sessions are open on n2`);
    const drain = stack.site.command(['drain', stack.partyOf('n2'), '--reason', 'demo: disk swap']);
    say(`   minder command drain ${stack.partyOf('n2')}: ${drain.stdout.trim() || drain.stderr.trim()}`);
    await waitUntil('HAProxy to drain n2', 20_000, async () => (await backendView(stack.haproxy, stack.haproxy.readBackend)).get('n2')?.admin === 'drain' || null);
    const newOnes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await mysql.createConnection({ host, port, ...stack.galera.credentials, connectTimeout: 3000 });
      const [rows] = await c.query<RowDataPacket[]>('SELECT @@wsrep_node_name AS n');
      newOnes.push(String(rows[0]?.['n']));
      c.destroy();
    }
    say(`   10 new connections went to: ${newOnes.join(' ')} (none to n2)`);
    for (const c of sessions) {
      const [rows] = await c.query<RowDataPacket[]>('SELECT 1 AS ok');
      if (rows[0]?.['ok'] !== 1) throw new Error('an old session on n2 stopped working');
    }
    say('   the old sessions on n2 still answer; now they finish one by one:');
    for (const c of sessions.splice(0)) {
      await c.end();
      await new Promise((r) => setTimeout(r, 2500));
      const v = (await backendView(stack.haproxy, stack.haproxy.readBackend)).get('n2');
      say(`   n2 sessions in HAProxy: ${v?.sessions ?? '?'}`);
    }

    say('7. healing the DC link');
    const healAt = Date.now();
    await stack.galera.heal();
    await waitUntil(
      'one cluster of four again',
      90_000,
      async () => {
        for (const n of stack.galera.nodes()) {
          const s = await stack.galera.status(n.name, { timeoutMs: 2000 }).catch(() => null);
          if (s?.['wsrep_cluster_status'] !== 'Primary' || s['wsrep_cluster_size'] !== '4') return null;
        }
        return true;
      },
      500,
    );
    say(`   one cluster of four again after ${((Date.now() - healAt) / 1000).toFixed(1)} s: ${await clusterLine(stack)}`);
    const undrain = stack.site.command(['undrain', stack.partyOf('n2'), '--reason', 'demo: disk swapped']);
    say(`   minder command undrain ${stack.partyOf('n2')}: ${undrain.stdout.trim() || undrain.stderr.trim()}`);
    const counted = await stack.galera.query('n4', 'SELECT COUNT(*) AS n FROM demo.story', [], { syncWait: true });
    say(`   n4 (the half that was not promoted) now holds all ${String(counted[0]?.['n'] ?? '?')} rows written during the story`);
    await new Promise((r) => setTimeout(r, 3000));
    console.log(indent(await status(stack)));

    if (keep) {
      say('--keep: the site stays up. Talk to it with:');
      console.log(`           node ${MINDER_JS} command --config ${stack.site.configPath}            (interactive prompt)`);
      console.log(`           node ${MINDER_JS} command --config ${stack.site.configPath} status`);
      console.log(`           mysql -h ${stack.haproxy.frontends.write.host} -P ${stack.haproxy.frontends.write.port} -u ${stack.galera.credentials.user} -p${stack.galera.credentials.password}`);
      console.log('           Stop it with Ctrl-C here: every process the demo started is stopped and its temp dirs removed.');
      await new Promise(() => {});
    }
  } catch (err) {
    // Say what the site looked like when the story broke, before the evidence is removed.
    console.error(`${stamp()} the story stopped: ${(err as Error).message}`);
    console.error(indent(await status(stack)));
    for (const party of ['arbitrator:1', 'dbserver:1', 'dbserver:3', 'dbclient:1']) {
      console.error(`           last log lines of ${party}:`);
      for (const l of stack.site.logs(party).slice(-6)) console.error(`           │ ${String(l.event ?? '')}: ${String(l.msg ?? '')}`);
    }
    throw err;
  } finally {
    if (!keep) await stopAll();
  }
}

main().catch((err: unknown) => {
  console.error(`${stamp()} demo failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
