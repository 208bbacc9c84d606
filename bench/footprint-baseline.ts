/**
 * Issue 7 §4, context for the footprint figures: how much of a daemon's resident memory and
 * start-up is Node itself and its modules before any work. Five times each, in fresh processes:
 *   bare     `node -e …`: a bare Node process
 *   modules  the same after importing what `minder run` loads (the CLI, the three roles' daemons)
 *   flagged  modules, with the node flags of the systemd units (systemd/minder-*.service ExecStart)
 * RSS = process.memoryUsage().rss at that point; time = spawn → exit.
 *   npm run build && node dist/bench/footprint-baseline.js      → bench/results/footprint-baseline/
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../test/support/repo.js';
import { unitNodeFlags } from '../test/support/unit-flags.js';
import { writeResult } from './results.js';
import { loadavg, machine, spread } from './scale-stats.js';

const MODULES = ['dist/src/cli/run.js', 'dist/src/roles/arbitrator/daemon.js', 'dist/src/roles/dbserver/daemon.js', 'dist/src/roles/dbclient/daemon.js'];

function once(script: string, flags: string[] = []): { ms: number; rssMiB: number } {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', cwd: REPO });
  return { ms: performance.now() - t0, rssMiB: Number(out.trim()) / 2 ** 20 };
}

const bare = 'console.log(process.memoryUsage().rss)';
const modules = `${MODULES.map((m) => `await import(${JSON.stringify(pathToFileURL(join(REPO, m)).href)});`).join(' ')} console.log(process.memoryUsage().rss)`;
const runs = Number(process.env['RUNS'] ?? 5);
const b = Array.from({ length: runs }, () => once(bare));
const m = Array.from({ length: runs }, () => once(modules));
const flags = unitNodeFlags('dbserver');
const u = Array.from({ length: runs }, () => once(modules, flags));
const result = {
  at: new Date().toISOString(),
  load: loadavg(),
  machine: machine(),
  modules: MODULES,
  bare: { ms: spread(b.map((x) => x.ms)), rssMiB: spread(b.map((x) => x.rssMiB)) },
  withModules: { ms: spread(m.map((x) => x.ms)), rssMiB: spread(m.map((x) => x.rssMiB)) },
  unitFlags: flags,
  withModulesUnitFlags: { ms: spread(u.map((x) => x.ms)), rssMiB: spread(u.map((x) => x.rssMiB)) },
};
console.log(`results: ${writeResult('footprint-baseline', result)}`);
console.log(
  `bare node: ${result.bare.rssMiB.median?.toFixed(1)} MiB, ${result.bare.ms.median?.toFixed(0)} ms; with the minder's modules: ${result.withModules.rssMiB.median?.toFixed(1)} MiB, ${result.withModules.ms.median?.toFixed(0)} ms; the same with the units' flags (${flags.join(' ')}): ${result.withModulesUnitFlags.rssMiB.median?.toFixed(1)} MiB, ${result.withModulesUnitFlags.ms.median?.toFixed(0)} ms (medians of ${runs})`,
);
