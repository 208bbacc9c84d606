import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ARBITRATOR } from './site.js';
import type { Violation } from './checks.js';
import { REAL_BINDINGS } from './roles.js';
import { decisionInFlight } from '../../src/roles/arbitrator/decisions.js';
import type { ArbitratorState } from '../../src/roles/arbitrator/state.js';
import { type Action, describeAction, EPISODE_KINDS, type EpisodeKind, faultsFrom, generateScenario, type LivenessPlan, type Mode, type Scenario, type ScenarioOptions } from './schedule.js';
import { stamp } from './trace.js';
import { type Bindings, T0, World } from './world.js';

export interface RunResult {
  seed: number;
  ok: boolean;
  violations: Violation[];
  /** Simulated ms from the liveness cut to the first Primary after it (0: one never went away). */
  livenessMs: number | null;
  decisions: number;
  forcedDecisions: number;
  bootstraps: number;
  /** The DCs whose nodes each effective pc.bootstrap made Primary, in order. */
  promotedDcs: string[];
  crashes: number;
  simulatedMs: number;
  trace: string[];
  scenario: Scenario;
}

export interface RunOptions extends ScenarioOptions {
  trace?: boolean;
  bindings?: Bindings;
  /** See WorldOptions.toctouMs. */
  toctouMs?: number;
}

/** Why the site is not yet steady enough for the liveness cut, or null when it is. */
function steadyProblem(w: World): string | null {
  if (!w.isUp(ARBITRATOR)) return 'the arbitrator is down';
  const live = w.site.dbservers.filter((s) => !w.burned.has(s));
  const prims = w.model.primaryViews();
  if (prims.length !== 1 || prims[0]?.members.length !== live.length) return `not one whole Primary yet: ${w.model.describe()}`;
  // The arbitrator knows the present: a report from every node since Galera's last view change.
  const behind = live.filter((s) => (w.heardByArbitrator.get(s) ?? -1) < w.lastViewChangeAt);
  if (behind.length > 0) return `the arbitrator has not heard ${behind.join(', ')} since the last view change`;
  if (w.operatorBusy()) return 'an operator command is still waiting for its reply';
  if (w.checker.operatorPaused) return 'paused';
  const st = w.roleState(ARBITRATOR) as ArbitratorState | undefined;
  const inFlight = st ? decisionInFlight(st, w.clock.now()) : undefined;
  if (inFlight) return `decision ${inFlight.id} still in flight`;
  return null;
}

/**
 * From `from` (the cut), a Primary must exist within the plan's bound (counted from now for a
 * precut, where the cut came before the start). Reports the time to the first Primary after
 * the cut took the old one away (0 when Galera kept one: a majority side).
 */
function expectPrimary(w: World, sc: Scenario, live: LivenessPlan, from: number, found: (ms: number, at: number) => void, lostAt: number | null = null): void {
  let lost = w.model.primaryViews().length === 0;
  let done = false;
  const watch = (): void => {
    const prim = w.model.primaryViews().length > 0;
    if (!prim) lost = true;
    if (prim && (lost || w.elapsed() >= from + sc.detection.cutMs[1])) {
      done = true;
      const ms = lost ? w.elapsed() - from : 0;
      w.trace.add('CHECK', `liveness: a Primary exists ${(ms / 1000).toFixed(3)} s after the cut`);
      found(ms, w.elapsed());
      return;
    }
    w.clock.setTimer(50, watch);
  };
  watch();
  w.clock.setTimer(live.boundMs, () => {
    if (done || w.failed) return;
    // A decision sent to the half the arbitrator then lost may have been carried out unseen:
    // keeping its last primary component spent is the rule (docs/safety.md, path 9, finding 2),
    // so no Primary on the other side is expected then.
    if (live.kind === 'precut' && live.arbitrator !== 'both' && lostAt !== null) {
      const lostDc = live.arbitrator === 'dc1' ? 'dc2' : 'dc1';
      const sent = w.checker.sentBefore(
        lostAt,
        w.site.dbservers.filter((s) => w.site.dcOf.get(s) === lostDc),
      );
      if (sent.length > 0) {
        w.trace.add('CHECK', `liveness not expected: ${sent.join(', ')} went to ${lostDc} before the arbitrator lost it`);
        return;
      }
    }
    const what = live.kind === 'precut' ? 'starting inside a symmetric DC cut' : 'after a symmetric DC cut';
    w.violation('liveness', `no Primary ${live.boundMs} ms ${what} with the arbitrator seeing ${live.arbitrator} and no further faults: ${w.model.describe()}`);
  });
}

function apply(w: World, a: Action, sc: Scenario): void {
  w.trace.add('SCHEDULE', describeAction(a));
  switch (a.kind) {
    case 'cut_dcs':
      w.cutDcs(a.arbitrator);
      return;
    case 'isolate':
      w.isolateServer(a.server);
      return;
    case 'db_oneway':
      w.cutDbOneWay(a.from, a.to);
      return;
    case 'net_oneway':
      w.cutNetOneWay(a.from, a.to);
      return;
    case 'cut_arbitrator':
      w.cutArbitrator(a.dc, a.direction);
      return;
    case 'heal':
      w.healAll();
      return;
    case 'crash':
      if (a.afterPersist !== null) w.armCrashAfterPersist(a.party, a.afterPersist);
      else w.crashParty(a.party, 'scheduled');
      return;
    case 'restart':
      w.startParty(a.party);
      return;
    case 'drain':
    case 'undrain':
      w.operator(a.kind, { node: a.node });
      return;
    case 'pause':
    case 'resume':
      w.operator(a.kind, {});
      return;
    case 'promote':
      w.operator('promote', { target: a.target, force: a.force });
      return;
    case 'faults':
      w.setFaults(a.faults);
      return;
    case 'lb_outage':
      w.lbOutage(a.client, a.ms);
      return;
    case 'burn':
      w.burnDc(a.dc);
      // The survivors' links are whole from here on (schedule.ts): only then may the operator force.
      w.healAll();
      return;
    case 'mariadb_restart':
      w.restartMariadb(a.server, a.downMs);
      return;
    case 'heal_partial':
      w.healPartial(a.what, a.a, a.b);
      return;
    case 'cut_dc3':
      w.cutDc3(a.from);
      return;
    case 'backup_state':
      w.backupState(a.party, a.name);
      return;
    case 'state_loss':
      w.replaceState(a.party, a.how);
      w.clock.setTimer(a.downMs, () => w.startParty(a.party));
      return;
    case 'twin_start':
      w.checker.twinStarted();
      w.startTwin(ARBITRATOR, a.from);
      return;
    case 'twin_stop':
      w.stopTwin(ARBITRATOR, 'scheduled');
      return;
    case 'address_owner':
      w.setAddressOwner(ARBITRATOR, a.owner);
      return;
    case 'clock_step':
      w.stepClock(a.party, a.ms);
      return;
    case 'manual_bootstrap':
      w.manualBootstrap(a.dc);
      return;
    case 'settle':
      w.healAll();
      w.setFaults({ ...sc.faults, loss: 0, meanExtraDelayMs: Math.min(sc.faults.meanExtraDelayMs, 50) });
      for (const id of w.partyIds()) {
        w.disarmCrash(id);
        w.startParty(id);
      }
      // An older pause still being retried, or still in flight, must not land after the resume.
      w.abortOperatorCommands();
      w.clock.setTimer(3000, () => w.operator('resume', {}));
      return;
  }
}

export function describeScenario(sc: Scenario): string {
  const extra = [
    sc.viewChangeMs > 0 ? `view changes open up to ${sc.viewChangeMs} ms` : '',
    sc.showLagMs > 0 ? `SHOW STATUS up to ${sc.showLagMs} ms behind per node` : '',
    sc.toctouMs > 0 ? `${sc.toctouMs} ms from the check to pc.bootstrap` : '',
  ].filter((x) => x !== '');
  return (
    `${sc.kind}${sc.initialCut ? ` inside a dc1 | dc2 cut (arbitrator sees ${sc.initialCut.arbitrator})` : ''}, ${sc.site.topology.name}, ${sc.site.timings.name} timings, ${sc.detection.name}, ` +
    `loss ${sc.faults.loss} dup ${sc.faults.duplicate} delay ${sc.faults.meanExtraDelayMs} ms, EAGAIN ${sc.eagain}, skew ${sc.clockSkewMs} ms` +
    `${extra.length ? `, ${extra.join(', ')}` : ''}; faults [${sc.faultSet.join(',')}]`
  );
}

/** Runs one scenario to its end or to its first violation. Deterministic: same seed, same run. */
export function runScenario(sc: Scenario, opts: RunOptions = {}): RunResult {
  const w = new World({
    seed: sc.seed,
    site: sc.site,
    bindings: opts.bindings ?? REAL_BINDINGS,
    trace: opts.trace ?? false,
    faults: sc.faults,
    detection: sc.detection,
    eagain: sc.eagain,
    toctouMs: opts.toctouMs ?? sc.toctouMs,
    clockSkewMs: sc.clockSkewMs,
    viewChangeMs: sc.viewChangeMs,
    showLagMs: sc.showLagMs,
    // Path 3 (absolute validity) is in main: no pc.bootstrap past a decision's validity.
    absoluteValidity: true,
  });
  if (sc.initialCut) w.startInsideCut(sc.initialCut.arbitrator);
  w.trace.add('SCENARIO', `seed ${sc.seed}: ${describeScenario(sc)}`);
  w.start();
  for (const t of sc.schedule) w.clock.setTimer(t.at, () => apply(w, t.action, sc));

  let livenessMs: number | null = null;
  let doneAt = sc.endAt;
  const live = sc.liveness;
  const found = (ms: number, at: number): void => {
    livenessMs = ms;
    // A wrong second promotion would follow the first at once: both halves qualify together,
    // and the arbitrator evaluates at least every second and on every report.
    doneAt = at + 1500;
  };
  if (live?.kind === 'cut' || live?.kind === 'cut_at') {
    const tryCut = (): void => {
      if (w.failed) return;
      const unready = live.kind === 'cut_at' ? null : steadyProblem(w);
      if (unready !== null && w.elapsed() < live.cutCapAt) {
        w.clock.setTimer(100, tryCut);
        return;
      }
      if (unready !== null) w.trace.add('CHECK', `liveness cut at its cap although the site is not steady: ${unready}`);
      w.trace.add('SCHEDULE', `liveness: cut dc1 | dc2, arbitrator sees ${live.arbitrator}; no more loss`);
      w.setFaults({ ...w.net.faults, loss: 0 });
      w.cutDcs(live.arbitrator);
      expectPrimary(w, sc, live, w.elapsed(), found);
    };
    w.clock.setTimer(live.earliestCutAt, tryCut);
  } else if (live?.kind === 'precut') {
    // The arbitrator loses dc2 only once it has heard everyone: it would have, long before a real outage.
    const tryCut = (): void => {
      const unheard = w.site.dbservers.filter((s) => !w.heardByArbitrator.has(s));
      if (unheard.length > 0 && w.elapsed() < live.cutCapAt) {
        w.clock.setTimer(100, tryCut);
        return;
      }
      if (live.arbitrator !== 'both') {
        const lost = live.arbitrator === 'dc1' ? 'dc2' : 'dc1';
        w.trace.add('SCHEDULE', `liveness: the arbitrator loses ${lost}`);
        w.cutArbitrator(lost, 'both');
      }
      expectPrimary(w, sc, live, 0, found, live.arbitrator !== 'both' ? w.elapsed() : null);
    };
    w.clock.setTimer(live.earliestCutAt, tryCut);
  }

  // Slices, so that a violation stops the run near where it happened.
  while (w.elapsed() < doneAt && !w.failed) w.clock.runUntil(T0 + Math.min(doneAt, w.elapsed() + 500));
  const c = w.checker.counts;
  return {
    seed: sc.seed,
    ok: !w.failed,
    violations: w.checker.violations,
    livenessMs,
    decisions: c.decisions,
    forcedDecisions: c.forcedDecisions,
    bootstraps: c.bootstraps,
    promotedDcs: w.checker.promoted.map((p) => [...new Set(p.members.map((m) => w.site.dcOf.get(w.site.serverOf.get(m) ?? 'dbserver:1') ?? '?'))].join('+')),
    crashes: w.stats.crashes,
    simulatedMs: w.elapsed(),
    trace: w.trace.lines,
    scenario: sc,
  };
}

export function runSeed(seed: number, opts: RunOptions = {}): RunResult {
  return runScenario(generateScenario(seed, opts), opts);
}

export const REPLAY_HINT = (seed: number, mode: Mode = 'episode', kind?: EpisodeKind, faults?: readonly string[]) =>
  `SIM_SEED=${seed}${mode === 'campaign' ? ' SIM_MODE=campaign' : ''}${kind ? ` SIM_KIND=${kind}` : ''}${faults ? ` SIM_FAULTS=${faults.join(',') || 'none'}` : ''} npx vitest run --project unit test/sim/replay.test.ts`;

/** SIM_MODE / SIM_KIND from the environment, checked. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): RunOptions {
  const mode: Mode = env.SIM_MODE === 'campaign' ? 'campaign' : 'episode';
  if (env.SIM_MODE !== undefined && env.SIM_MODE !== '' && env.SIM_MODE !== mode) throw new Error(`SIM_MODE is episode or campaign, not ${env.SIM_MODE}`);
  const faults = faultsFrom(env.SIM_FAULTS);
  const kind = env.SIM_KIND;
  if (kind === undefined || kind === '') return { mode, faults };
  if (!EPISODE_KINDS.includes(kind as EpisodeKind)) throw new Error(`SIM_KIND is one of ${EPISODE_KINDS.join(', ')}, not ${kind}`);
  return { mode, kind: kind as EpisodeKind, faults };
}

/** A failing seed's report: the violation, the schedule, the replay command, the trace tail; full trace to a file. */
export function failureReport(seed: number, opts: RunOptions = {}, traceFile: string | null = `/tmp/minder-sim-${seed}.trace`): string {
  const r = runSeed(seed, { ...opts, trace: true });
  const sc = r.scenario;
  const lines = [
    `seed ${seed} FAILED: ${r.violations.map((v) => `${v.kind} at ${stamp(v.at)}: ${v.text}`).join('\n  ') || '(did not fail when replayed with tracing: report this)'}`,
    `replay: ${REPLAY_HINT(seed, sc.mode, opts.kind, opts.faults)}`,
    `scenario: ${describeScenario(sc)}`,
    'schedule:',
    ...sc.schedule.map((t) => `  ${stamp(t.at)} ${describeAction(t.action)}`),
  ];
  if (traceFile) {
    writeFileSync(traceFile, `${lines.join('\n')}\n\ntrace:\n${r.trace.join('\n')}\n`);
    lines.push(`full trace (${r.trace.length} lines): ${traceFile}`);
  }
  lines.push('trace (last 150 lines):', ...r.trace.slice(-150));
  return lines.join('\n');
}

/** `node dist/test/sim/run.js --seeds 100000 [--from 0] [--campaign] [--chaos-ms N] [--toctou-ms N]` */
function main(argv: string[]): void {
  const arg = (name: string, dflt: number): number => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(argv[i + 1]) : dflt;
    if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
    return v;
  };
  const seeds = arg('seeds', 10_000);
  const from = arg('from', 0);
  const chaos = arg('chaos-ms', 0);
  const toctouMs = arg('toctou-ms', 0);
  // --toctou-ms 0 (the default) leaves each scenario's own delay (fault bootstrap_delay).
  const mode: Mode = argv.includes('--campaign') ? 'campaign' : 'episode';
  const ki = argv.indexOf('--kind');
  const kind = ki >= 0 ? (argv[ki + 1] as EpisodeKind) : undefined;
  if (kind !== undefined && !EPISODE_KINDS.includes(kind)) throw new Error(`--kind is one of ${EPISODE_KINDS.join(', ')}`);
  const fi = argv.indexOf('--faults');
  const faults = faultsFrom(fi >= 0 ? argv[fi + 1] : process.env.SIM_FAULTS);
  const opts: RunOptions = { mode, faults, ...(kind ? { kind } : {}), ...(chaos > 0 ? { chaosMs: chaos } : {}), ...(toctouMs > 0 ? { toctouMs } : {}) };
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  const failures: number[] = [];
  const latencies: number[] = [];
  let simulated = 0;
  let decisions = 0;
  let bootstraps = 0;
  // Ties the arbitrator saw both halves of: which DC it promoted (rule 7 prefers dc1).
  const tieWinners = new Map<string, number>();
  for (let s = from; s < from + seeds; s++) {
    const r = runSeed(s, opts);
    const sc = r.scenario;
    const tie = sc.site.topology.name.startsWith('2+2') || sc.site.topology.name === '3+3';
    if (tie && sc.liveness?.arbitrator === 'both' && r.livenessMs !== null && r.promotedDcs.length > 0) {
      const k = r.promotedDcs.at(-1) as string;
      tieWinners.set(k, (tieWinners.get(k) ?? 0) + 1);
    }
    simulated += r.simulatedMs;
    decisions += r.decisions;
    bootstraps += r.bootstraps;
    if (r.livenessMs !== null) latencies.push(r.livenessMs);
    if (!r.ok) {
      failures.push(s);
      process.stdout.write(`seed ${s}: ${r.violations.map((v) => v.kind).join(', ')}  (${REPLAY_HINT(s, mode, kind, faults)})\n`);
    }
    if ((s - from + 1) % 1000 === 0) process.stdout.write(`${s - from + 1} seeds, ${failures.length} failed, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const wall = (Date.now() - started) / 1000;
  const used = process.cpuUsage(cpu0);
  const cpu = (used.user + used.system) / 1e6;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => ((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) / 1000).toFixed(2);
  process.stdout.write(
    `${seeds} ${mode}s from seed ${from}: ${failures.length} failed; ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU (${((cpu / seeds) * 1000).toFixed(2)} ms/seed), ${(simulated / 3_600_000).toFixed(1)} simulated hours; ` +
      `${decisions} decisions, ${bootstraps} pc.bootstraps; DC cut → Primary (s): p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} max ${q(1)}; ` +
      `ties seen whole, promoted DC: ${[...tieWinners].map(([k, v]) => `${k} ${v}`).join(', ') || '-'}\n`,
  );
  if (failures.length > 0) {
    const first = failures[0] as number;
    process.stdout.write(`\n${failureReport(first, opts)}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
