import { pathToFileURL } from 'node:url';
import * as m from './mutants.js';
import { runSeed } from './run.js';
import { faultsFrom } from './schedule.js';
import type { Bindings } from './world.js';

/**
 * The mutation table (docs/simulator.md): each safety rule switched off in turn (mutants.ts),
 * and how many of the CI seeds — the CI mix, the CI faults, seeds from 0 — it takes until a
 * check catches it. The random schedules must catch every one within the CI budget (10,000).
 *
 *   npx tsc -p . && node dist/test/sim/mutation-table.js [--max 10000] [--faults ci|all|…] [--only name,…]
 */
export const MUTANTS: ReadonlyArray<{ name: string; rule: string; bindings: Bindings }> = [
  { name: 'impatientArbitrator', rule: '2: failover period (never waits, as if every split were settled)', bindings: m.impatientArbitrator },
  { name: 'halfBlindArbitrator', rule: '3: at least half of the LastPC', bindings: m.halfBlindArbitrator },
  { name: 'forgetfulArbitrator', rule: '4: one decision per LastPC (forgets its decisions)', bindings: m.forgetfulArbitrator },
  { name: 'primaryBlindArbitrator', rule: '5: nothing fresh is Primary', bindings: m.primaryBlindArbitrator },
  { name: 'recklessArbitrator', rule: '4 and 5 together', bindings: m.recklessArbitrator },
  { name: 'pauseDeafArbitrator', rule: '6: not while paused', bindings: m.pauseDeafArbitrator },
  { name: 'wrongDcArbitrator', rule: '7: the preferred DC wins a tie', bindings: m.wrongDcArbitrator },
  { name: 'staleBlindArbitrator', rule: '1: fresh reports only (takes 10 × staleAfter for fresh)', bindings: m.staleBlindArbitrator },
  { name: 'credulousDbserver', rule: "8: the dbserver's exact-view check", bindings: m.credulousDbserver },
  { name: 'muteArbitrator', rule: 'liveness: make_primary is sent', bindings: m.muteArbitrator },
  { name: 'drainBlindDbclient', rule: 'drain: no new connections to a drained node', bindings: m.drainBlindDbclient },
  { name: 'twoWriterDbclient', rule: 'one writer at a time', bindings: m.twoWriterDbclient },
];

export interface Caught {
  name: string;
  rule: string;
  /** Seeds run until the first failure (the failing one included), or null when none failed within max. */
  seeds: number | null;
  seed: number | null;
  kinds: string[];
}

export function catchMutant(bindings: Bindings, max: number, faults = faultsFrom(undefined)): Omit<Caught, 'name' | 'rule'> {
  for (let seed = 0; seed < max; seed++) {
    const r = runSeed(seed, { bindings, faults });
    if (!r.ok) return { seeds: seed + 1, seed, kinds: [...new Set(r.violations.map((v) => v.kind))] };
  }
  return { seeds: null, seed: null, kinds: [] };
}

function main(argv: string[]): void {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const max = Number(arg('max') ?? 10_000);
  const faults = faultsFrom(arg('faults') ?? process.env.SIM_FAULTS);
  const only = arg('only')?.split(',');
  process.stdout.write(`| rule switched off | mutant | CI seeds to catch it | first failing seed | caught by |\n|---|---|---|---|---|\n`);
  for (const x of MUTANTS) {
    if (only && !only.includes(x.name)) continue;
    const started = Date.now();
    const c = catchMutant(x.bindings, max, faults);
    process.stdout.write(
      `| ${x.rule} | \`${x.name}\` | ${c.seeds ?? `not within ${max}`} | ${c.seed ?? '-'} | ${c.kinds.join(', ') || '-'} |  <!-- ${((Date.now() - started) / 1000).toFixed(1)} s -->\n`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
