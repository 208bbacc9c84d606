// dbserver benchmark: how long from a Galera state change to the db_status_report arriving at a
// listening correspondent, with the wsrep_notify_cmd hook pushing vs interval polling alone;
// and the hook's own run time as mariadbd sees it.
//
// Setup: a 3-node Galera lab (n1 n2 | n3), the hook installed as wsrep_notify_cmd, the dbservers
// as `minder run` processes (report interval 5 s, the config default), the arbitrator as a test
// correspondent on loopback UDP. Each round cuts n3 away, then heals.
//   t_change  the first 10 ms poll of n3's own SHOW STATUS that reads non-Primary (bench side)
//   t_hook    the start of the first hook run on n3 with --primary no (the lab wrapper logs it, ns)
//   t_report  the arrival of dbserver:3's first non-Primary report at the correspondent
// "push" rounds have the hook file in place; "poll" rounds remove it, so the hook exits at once
// and only the 5 s interval reading can report the change.
// Hook run time: the lab wrapper's start and end stamps around the shipped systemd/wsrep-notify.sh
// (node start-up, hook file, key, send, ack), for every run mariadbd made; also a batch with the
// dbserver stopped (the hook then waits its full 300 ms for an ack).
//
// Run (takes the lab lock; ~3 min):
//   flock /tmp/minder-lab.lock npx vitest run --project bench bench/dbserver-latency.run.ts
// Results: printed, and written to bench/results/dbserver-latency/.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { realClock } from '../src/correspondents/clock.js';
import { PostOffice } from '../src/correspondents/post-office.js';
import { UdpTransport } from '../src/correspondents/udp-transport.js';
import { silentLogger } from '../src/log.js';
import { Keyring } from '../src/protocol/keys.js';
import { mathRng } from '../src/util/rng.js';
import { isSyncedPrimary, startGaleraLab, type GaleraLab } from '../test/lab/galera-lab.js';
import { writeResult } from './results.js';
import { buildForLab, DbserverProcess, MinderSite, TestCorrespondents, UDP_HOOK_SCRIPT as HOOK_SCRIPT } from '../test/lab/dbserver-site.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 8);
const POLL_MS = 10;

interface Round {
  mode: 'push' | 'poll';
  changeToReportMs: number;
  hookToReportMs: number | null;
}

function stats(xs: number[]): { n: number; median: number; p90: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  return { n: s.length, median: q(0.5), p90: q(0.9), min: s[0] ?? Number.NaN, max: s.at(-1) ?? Number.NaN };
}

async function firstNonPrimary(lab: GaleraLab, node: string, giveUpMs: number): Promise<number> {
  const deadline = Date.now() + giveUpMs;
  while (Date.now() < deadline) {
    const t = Date.now();
    try {
      const s = await lab.status(node, { timeoutMs: 2000 });
      if (s['wsrep_cluster_status'] !== 'Primary') return t;
    } catch {
      // a poll that fails says nothing
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`${node} never went non-Primary`);
}

function hookRuns(site: MinderSite): Array<{ startNs: bigint; ms: number; args: string }> {
  return readFileSync(site.hookTimingLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [t0, t1, ...args] = line.split(' ');
      return { startNs: BigInt(t0 ?? '0'), ms: Number(BigInt(t1 ?? '0') - BigInt(t0 ?? '0')) / 1e6, args: args.join(' ') };
    });
}

/**
 * The hook by itself, outside mariadbd: the shipped script run 30 times against a dbserver post
 * office in this process (acked), then 10 times with nobody listening (the full ack wait).
 */
async function hookAlone(site: MinderSite, siteName: string): Promise<{ acked: ReturnType<typeof stats>; noDbserver: ReturnType<typeof stats> }> {
  const keyHex = readFileSync(join(site.dir, 'site.key'), 'utf8').trim();
  const transport = await UdpTransport.bind('127.0.0.1', 0);
  const post = new PostOffice({
    self: 'dbserver:9',
    site: siteName,
    keyring: new Keyring([{ id: 1, secret: Buffer.from(keyHex, 'hex') }], 1),
    transport,
    clock: realClock,
    rng: mathRng,
    incarnation: 1,
    directory: () => undefined,
    ackTimeoutMs: 3000,
    staleAfterMs: 60_000,
    maxClockSkewMs: 60_000,
    logger: silentLogger(),
  });
  const file = join(site.dir, 'alone.json');
  const write = (port: number) =>
    writeFileSync(file, JSON.stringify({ site: siteName, keyFile: join(site.dir, 'site.key'), keyId: 1, dbservers: [{ id: 'dbserver:9', host: '127.0.0.1', port, datadir: site.dir }] }));
  const run = () =>
    new Promise<number>((res) => {
      const t0 = process.hrtime.bigint();
      const child = spawn(HOOK_SCRIPT, ['--status', 'synced', '--uuid', '6c5624f0-e740-11f1-badd-cb4543f021a3', '--primary', 'yes', '--index', '0'], {
        env: { ...process.env, MINDER_NOTIFY_FILE: file },
        stdio: 'ignore',
      });
      child.once('exit', () => res(Number(process.hrtime.bigint() - t0) / 1e6));
    });
  const acked: number[] = [];
  const none: number[] = [];
  try {
    write(transport.local.port);
    for (let i = 0; i < 30; i++) acked.push(await run());
    write(9);
    for (let i = 0; i < 10; i++) none.push(await run());
  } finally {
    await post.close();
  }
  return { acked: stats(acked), noDbserver: stats(none) };
}

it('dbserver: state change → report, push vs poll; hook run time', async () => {
  await buildForLab();
  const site = MinderSite.prepare();
  const lab = await startGaleraLab({
    nodes: [
      { name: 'n1', dc: 'dc1' },
      { name: 'n2', dc: 'dc1' },
      { name: 'n3', dc: 'dc2' },
    ],
    notifyCmd: site.hookCmd,
    extraMyCnf: { plugin_load_add: 'wsrep_info' },
  });
  const servers: DbserverProcess[] = [];
  let net: TestCorrespondents | undefined;
  try {
    const cfg = site.configure(lab, { reportInterval: '5s', staleAfter: '15s', user: lab.credentials.user, password: lab.credentials.password });
    await site.writeHookFile();
    net = await TestCorrespondents.open(cfg);
    for (let i = 1; i <= 3; i++) servers.push(await DbserverProcess.start(site.configPath, `dbserver:${i}`));
    const rounds: Round[] = [];
    for (const mode of ['push', 'poll'] as const) {
      if (mode === 'poll') site.removeHookFile();
      for (let r = 0; r < ROUNDS; r++) {
        // A random phase against the dbserver's 5 s interval timer, or every round would hit it alike.
        await new Promise((res) => setTimeout(res, Math.floor(Math.random() * 5000)));
        const since = Date.now();
        const change = firstNonPrimary(lab, 'n3', 30_000);
        await lab.cut(['n3'], ['n1', 'n2']);
        const tChange = await change;
        const rep = await net.waitReport('dbserver:3', (b) => b.wsrep?.clusterStatus === 'non-Primary', 30_000, since);
        // The wrapper logs a run when it ends: look once the runs of this change are over.
        await new Promise((res) => setTimeout(res, 1500));
        const hook = hookRuns(site).find((h) => h.startNs >= BigInt(since) * 1_000_000n && h.args.includes('--primary no') && h.args.includes('/n3/'));
        rounds.push({ mode, changeToReportMs: rep.at - tChange, hookToReportMs: hook ? rep.at - Number(hook.startNs / 1_000_000n) : null });
        console.log(`[bench] ${mode} round ${r + 1}: change→report ${rep.at - tChange} ms${hook ? `, hook start→report ${rep.at - Number(hook.startNs / 1_000_000n)} ms` : ''}`);
        await lab.heal();
        await lab.waitFor('n3', isSyncedPrimary(3), 60_000);
        await net.waitReport('dbserver:3', (b) => b.wsrep?.clusterStatus === 'Primary' && b.wsrep.clusterSize === 3, 30_000, Date.now());
      }
    }
    await site.writeHookFile();
    const upRuns = hookRuns(site).map((h) => h.ms);
    // The hook with its dbserver down: a graceful restart of n3 runs it several times.
    await (servers[2] as DbserverProcess).stop('SIGTERM');
    const before = hookRuns(site).length;
    await lab.stop('n3');
    await lab.start('n3');
    const downRuns = hookRuns(site)
      .slice(before)
      .map((h) => h.ms);
    // Where the hook's stderr ends up: mariadbd's error log, or the stdout the lab gave it.
    const count = (f: string) => (existsSync(f) ? (readFileSync(f, 'utf8').match(/minder-notify: no ack/g) ?? []).length : 0);
    const hookStderr = { errorLog: count(lab.node('n3').errorLog), stdoutLog: count(join(lab.node('n3').dir, 'stdout.log')) };
    const alone = await hookAlone(site, cfg.site);
    const results = {
      machine: "Debian 12, 2 cores shared with other engineers' test runs; MariaDB 10.11 + Galera 4 (short evs timeouts)",
      reportInterval: '5s',
      push: stats(rounds.filter((r) => r.mode === 'push').map((r) => r.changeToReportMs)),
      pushFromHookStart: stats(rounds.flatMap((r) => (r.mode === 'push' && r.hookToReportMs !== null ? [r.hookToReportMs] : []))),
      poll: stats(rounds.filter((r) => r.mode === 'poll').map((r) => r.changeToReportMs)),
      hookRunMs: { dbserverUp: stats(upRuns), dbserverDown: stats(downRuns) },
      hookStderrLines: hookStderr,
      hookAloneMs: alone,
      rounds,
    };
    console.log(JSON.stringify(results, null, 2));
    console.log(`results: ${writeResult('dbserver-latency', results)}`);
  } finally {
    for (const s of servers) await s.stop('SIGKILL').catch(() => undefined);
    await net?.close();
    await lab.close();
    site.close();
  }
});
