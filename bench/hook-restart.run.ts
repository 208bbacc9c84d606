// What the wsrep_notify_cmd hook costs mariadbd: a restart of one node (stop, start, Synced) and
// an IST (rows written while it was down), with
//   shell       the shell hook (systemd/wsrep-notify.sh → the dbserver's unix socket), dbserver up
//   shell-down  the same with that node's dbserver stopped (its socket gone)
//   node        the Node hook of earlier releases (systemd/wsrep-notify-udp.sh, UDP + ack), dbserver up
//   none        no hook: mariadbd runs a script that exits at once (one sh, nothing else)
// Modes alternate within each round, so that they share the machine's load. Also every hook run
// as mariadbd saw it (a wrapper stamps start and end, ns) and the shell hook alone, 50 runs.
//
// Run (takes the lab lock; ~6 min at ROUNDS=3):
//   npm run build && flock /tmp/minder-lab.lock npx vitest run --project bench bench/hook-restart.run.ts   # = npm run bench:hook-restart
// Results: printed, and written to bench/results/hook-restart/.

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { HookSocket } from '../src/roles/dbserver/hook-socket.js';
import { buildForLab, DbserverProcess, HOOK_SCRIPT, MinderSite, TestCorrespondents, UDP_HOOK_SCRIPT } from '../test/lab/dbserver-site.js';
import { startGaleraLab } from '../test/lab/galera-lab.js';
import { writeResult } from './results.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
const MODES = ['shell', 'shell-down', 'node', 'none'] as const;
type Mode = (typeof MODES)[number];

function stats(xs: number[]): { n: number; median: number; p90: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: s.length, median: r(q(0.5)), p90: r(q(0.9)), min: r(s[0] ?? Number.NaN), max: r(s.at(-1) ?? Number.NaN) };
}

it('the hook: mariadbd restart and IST with the shell hook, the Node hook, no hook, and the dbserver down', async () => {
  await buildForLab();
  const site = MinderSite.prepare();
  const modeFile = join(site.dir, 'bench-mode.sh');
  const udpFile = join(site.dir, 'notify.json');
  const timing = join(site.dir, 'bench-hook-timing.log');
  const wrapper = join(site.dir, 'bench-hook.sh');
  writeFileSync(timing, '', { mode: 0o666 });
  execFileSync('chmod', ['0666', timing]);
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      `[ -f ${modeFile} ] || exit 0`,
      `. ${modeFile}`,
      '[ "$mode" = none ] && exit 0',
      `. ${site.notifyFile}`,
      't0=$(date +%s%N)',
      `case $mode in shell*) ${HOOK_SCRIPT} "$sock" "$@" ;; node) MINDER_NOTIFY_FILE=${udpFile} ${UDP_HOOK_SCRIPT} "$@" ;; esac`,
      `echo "$t0 $(date +%s%N) $mode $PWD" >> ${timing}`,
      'exit 0',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const lab = await startGaleraLab({
    nodes: [
      { name: 'n1', dc: 'dc1' },
      { name: 'n2', dc: 'dc1' },
      { name: 'n3', dc: 'dc2' },
    ],
    notifyCmd: wrapper,
    extraMyCnf: { plugin_load_add: 'wsrep_info' },
  });
  const servers = new Map<number, DbserverProcess>();
  let net: TestCorrespondents | undefined;
  try {
    const cfg = site.configure(lab, { reportInterval: '5s', staleAfter: '15s', user: lab.credentials.user, password: lab.credentials.password });
    await site.writeHookFile();
    await site.writeUdpHookFile(udpFile);
    net = await TestCorrespondents.open(cfg);
    for (let i = 1; i <= 3; i++) servers.set(i, await DbserverProcess.start(site.configPath, `dbserver:${i}`));
    await lab.exec('n1', 'CREATE DATABASE IF NOT EXISTS bench');
    await lab.exec('n1', 'CREATE TABLE IF NOT EXISTS bench.bench_ist (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(200))');
    const rows: Array<{ mode: Mode; kind: 'restart' | 'ist'; ms: number; hookRuns: number; load: number }> = [];
    const n3dir = lab.node('n3').dir;
    for (let r = 0; r < ROUNDS; r++) {
      for (const kind of ['restart', 'ist'] as const) {
        for (const mode of MODES) {
          writeFileSync(modeFile, `mode=${mode}\n`);
          if (mode === 'shell-down') await servers.get(3)?.stop('SIGTERM');
          await lab.stop('n3');
          if (kind === 'ist') for (let i = 0; i < 20; i++) await lab.exec('n1', `INSERT INTO bench.bench_ist (pad) VALUES ${Array.from({ length: 50 }, () => "(REPEAT('x', 200))").join(',')}`);
          const runsBefore = readFileSync(timing, 'utf8')
            .split('\n')
            .filter((l) => l.includes(n3dir)).length;
          const t0 = performance.now();
          await lab.start('n3');
          const ms = performance.now() - t0;
          const hookRuns =
            readFileSync(timing, 'utf8')
              .split('\n')
              .filter((l) => l.includes(n3dir)).length - runsBefore;
          rows.push({ mode, kind, ms: Math.round(ms), hookRuns, load: loadavg()[0] as number });
          console.log(`[bench] round ${r + 1} ${kind} ${mode}: ${Math.round(ms)} ms (${hookRuns} hook runs on n3), load ${(loadavg()[0] as number).toFixed(1)}`);
          if (mode === 'shell-down') servers.set(3, await DbserverProcess.start(site.configPath, 'dbserver:3'));
        }
      }
    }
    const runs = readFileSync(timing, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [a, b, mode] = l.split(' ');
        return { mode: mode as Mode, ms: Number(BigInt(b ?? '0') - BigInt(a ?? '0')) / 1e6 };
      });
    // The shell hook alone, outside mariadbd, 50 runs against a listening socket and 20 with none.
    const sock = join(site.dir, 'alone.sock');
    const hs = await HookSocket.listen({ path: sock, groupOf: site.dir, onNotify: () => {}, logger: { info: () => {}, warn: () => {} } });
    const alone = (path: string) => {
      const t = performance.now();
      spawnSync('sh', [HOOK_SCRIPT, path, '--status', 'synced', '--uuid', '6c5624f0-e740-11f1-badd-cb4543f021a3', '--primary', 'yes', '--index', '0'], { stdio: 'ignore' });
      return performance.now() - t;
    };
    const aloneUp = Array.from({ length: 50 }, () => alone(sock));
    await hs.close();
    const aloneDown = Array.from({ length: 20 }, () => alone(sock));
    const of = (mode: Mode, kind: 'restart' | 'ist') => stats(rows.filter((x) => x.mode === mode && x.kind === kind).map((x) => x.ms));
    const results = {
      machine: "Debian 12, 2 cores shared with other engineers' test runs; MariaDB 10.11 + Galera 4 (lab: short evs timeouts)",
      loadAverage: stats(rows.map((x) => x.load)),
      restartMs: Object.fromEntries(MODES.map((m) => [m, of(m, 'restart')])),
      istMs: Object.fromEntries(MODES.map((m) => [m, of(m, 'ist')])),
      hookRunsPerStart: stats(rows.map((x) => x.hookRuns)),
      hookRunMsAsMariadbdSees: Object.fromEntries((['shell', 'shell-down', 'node'] as const).map((m) => [m, stats(runs.filter((x) => x.mode === m).map((x) => x.ms))])),
      shellHookAloneMs: { listening: stats(aloneUp), noDbserver: stats(aloneDown) },
      rows,
    };
    console.log(JSON.stringify(results, null, 2));
    console.log(`results: ${writeResult('hook-restart', results)}`);
  } finally {
    for (const s of servers.values()) await s.stop('SIGKILL').catch(() => undefined);
    await net?.close();
    await lab.close();
    site.close();
  }
});
