// Exploration script behind docs/lab.md: whole-cluster crash restart with recovered positions,
// single-node kill+restart (IST), cold start. Run as root: npm run build && node dist/test/lab/explore/crash-restart.js
import { startGaleraLab, isSyncedPrimary } from '../galera-lab.js';
const lab = await startGaleraLab({
  nodes: [
    { name: 'n1', dc: 'a' },
    { name: 'n2', dc: 'a' },
    { name: 'n3', dc: 'b' },
  ],
});
const names = ['n1', 'n2', 'n3'];
const gs = (): string => names.map((n) => `${n}:${lab.grastate(n)?.uuid?.slice(0, 8)}:${lab.grastate(n)?.seqno}/${lab.grastate(n)?.safeToBootstrap}`).join(' ');
const pos = async (n: string): Promise<string> => {
  const s = await lab.status(n);
  return `${s['wsrep_cluster_state_uuid']?.slice(0, 8)}:${s['wsrep_last_committed']}`;
};
try {
  await lab.exec('n1', 'CREATE DATABASE x');
  console.log('before', await pos('n1'));
  let t = Date.now();
  await lab.kill('n3');
  await lab.exec('n1', 'CREATE DATABASE x2');
  await lab.start('n3');
  console.log('single kill+restart (IST?) ms', Date.now() - t, await pos('n3'));
  console.log(
    lab
      .errorLogTail('n3', 400)
      .split('\n')
      .filter((l) => /IST|SST|Recovered position|start position/i.test(l))
      .slice(-6)
      .join('\n'),
  );
  for (const n of names) await lab.kill(n);
  console.log('after kill all', gs());
  t = Date.now();
  for (const n of names) await lab.start(n, { wait: 'none' });
  console.log('spawned (with recovery) ms', Date.now() - t);
  await Promise.all(names.map((n) => lab.waitFor(n, isSyncedPrimary(3), 60_000)));
  console.log('all Primary after whole-cluster crash ms', Date.now() - t, await pos('n1'));
  await lab.exec('n1', 'CREATE DATABASE y');
  t = Date.now();
  await lab.stopAll();
  console.log('stopAll ms', Date.now() - t, 'after stopAll', gs());
  t = Date.now();
  await lab.start('n1', { bootstrap: true });
  await lab.start('n2');
  await lab.start('n3');
  console.log('cold start bootstrap n1 + 2 joins ms', Date.now() - t, await pos('n3'));
} finally {
  await lab.close();
}
