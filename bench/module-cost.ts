// What each module costs a role at start (issue 16, goals 3 and 5): for each module, a fresh
// `node --max-semi-space-size=1` (the units' flag) that imports it alone, then gc, then reads its
// resident memory and the import's wall time; the same for each role's daemon module and for
// `minder command`'s modules (as commandMain loads them: msgpackr's native decoder off), and each
// role's daemon module under the flags of its systemd unit (test/support/unit-flags.ts). 5 runs
// each, medians. Not additive: modules share Node's own pages and each other's imports.
//   npm run build && node dist/bench/module-cost.js        → bench/results/module-cost/<time>.json
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unitNodeFlags } from '../test/support/unit-flags.js';
import { writeResult } from './results.js';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = join(DIST, '..');
const RUNS = Number(process.env['RUNS'] ?? 5);
const src = (p: string) => join(DIST, 'src', p);

const unit = (role: string) => unitNodeFlags(role).filter((f) => f !== '--max-semi-space-size=1');
const MODULES: Array<[string, string, string[]?, Record<string, string>?]> = [
  ['node alone', ''],
  ['zod', 'zod'],
  ['yaml', 'yaml'],
  ['pino', 'pino'],
  ['msgpackr', 'msgpackr'],
  ['mysql2', 'mysql2'],
  ['better-sqlite3', 'better-sqlite3'],
  ['src/protocol/verbs.js (zod schemas)', src('protocol/verbs.js')],
  ['src/site/load-config.js', src('site/load-config.js')],
  ['minder command: session + execute', src('cli/command/session.js'), [], { MSGPACKR_NATIVE_ACCELERATION_DISABLED: 'true' }],
  ['dbclient daemon', src('roles/dbclient/daemon.js')],
  ['dbclient daemon, --lite-mode', src('roles/dbclient/daemon.js'), ['--lite-mode']],
  ['dbserver daemon', src('roles/dbserver/daemon.js')],
  ['arbitrator daemon', src('roles/arbitrator/daemon.js')],
  [`dbclient daemon, its unit's flags (${unitNodeFlags('dbclient').join(' ')})`, src('roles/dbclient/daemon.js'), unit('dbclient')],
  [`dbserver daemon, its unit's flags (${unitNodeFlags('dbserver').join(' ')})`, src('roles/dbserver/daemon.js'), unit('dbserver')],
  [`arbitrator daemon, its unit's flags (${unitNodeFlags('arbitrator').join(' ')})`, src('roles/arbitrator/daemon.js'), unit('arbitrator')],
];

const probe = `const m = process.argv[1]; const t = performance.now(); if (m) await import(m); const ms = performance.now() - t; globalThis.gc(); await new Promise((r) => setTimeout(r, 200)); const u = process.memoryUsage(); console.log(JSON.stringify({ ms, rss: u.rss / 1048576, heap: u.heapUsed / 1048576 }));`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.floor(s.length / 2)] ?? Number.NaN) * 10) / 10;
}

const rows = MODULES.map(([name, mod, flags, env]) => {
  const runs = Array.from(
    { length: RUNS },
    () =>
      JSON.parse(
        execFileSync(process.execPath, ['--max-semi-space-size=1', '--expose-gc', ...(flags ?? []), '--input-type=module', '-e', probe, mod], {
          cwd: REPO,
          encoding: 'utf8',
          env: { ...process.env, ...env },
        }),
      ) as {
        ms: number;
        rss: number;
        heap: number;
      },
  );
  const row = { name, importMs: median(runs.map((r) => r.ms)), rssMiB: median(runs.map((r) => r.rss)), heapMiB: median(runs.map((r) => r.heap)) };
  console.log(`${name.padEnd(40)} import ${row.importMs} ms  rss ${row.rssMiB} MiB  heap ${row.heapMiB} MiB`);
  return row;
});
const results = { at: new Date().toISOString(), node: process.version, loadavg: loadavg().map((x) => Math.round(x * 10) / 10), runs: RUNS, rows };
console.log(`results: ${writeResult('module-cost', results)}`);
