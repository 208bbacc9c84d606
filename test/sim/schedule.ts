import type { NetworkFaults } from '../../src/correspondents/memory-network.js';
import type { PartyId } from '../../src/protocol/party.js';
import { pick, type Rng, seededRng } from '../../src/util/rng.js';
import { ARBITRATOR, type Dc, DCS, type SimSite, siteFor, TIMINGS, type TimingsSpec, TOPOLOGIES, type Topology } from './site.js';
import { DETECTION, type DetectionProfile } from './world.js';

/**
 * The fault scheduler: from one seed, a whole scenario — the site's shape and timings, the
 * network's loss/duplication/delay, and a timed list of faults and operator commands — fixed
 * before the run starts, so that it can be printed, read and replayed.
 *
 * Two modes:
 * - `episode` (the CI runs, ~7-35 simulated seconds each; the mix is in `episode()` below):
 *   most start inside a 2+2 cut Galera has already detected, where the safety rules act, and
 *   either check liveness with nothing else going on or throw faults at the failover window;
 *   the rest start healthy and either cut dc1 | dc2 after a few harmless perturbations
 *   (liveness) or throw faults of every kind (chaos);
 * - `campaign` (the long runs): chaos for several failover periods (cuts of every kind, heals,
 *   crashes at any step, restarts, drains, pauses, promotes, load-balancer outages, loss
 *   changes; in some seeds a DC burns down and the operator forces the survivors), then a
 *   settle (everything heals, every party restarts, the operator resumes, loss stops), then
 *   the liveness cut.
 */

export type Action =
  | { kind: 'cut_dcs'; arbitrator: 'both' | Dc | 'none' }
  | { kind: 'isolate'; server: PartyId }
  | { kind: 'db_oneway'; from: PartyId[]; to: PartyId[] }
  | { kind: 'net_oneway'; from: PartyId[]; to: PartyId[] }
  | { kind: 'cut_arbitrator'; dc: Dc; direction: 'both' | 'to_arbitrator' | 'from_arbitrator' }
  | { kind: 'heal' }
  /** afterPersist: crash right after the party's next persist, if it makes one within that many ms; else then. */
  | { kind: 'crash'; party: PartyId; afterPersist: number | null }
  | { kind: 'restart'; party: PartyId }
  | { kind: 'drain' | 'undrain'; node: PartyId }
  | { kind: 'pause' | 'resume' }
  | { kind: 'promote'; target: string; force: boolean }
  | { kind: 'faults'; faults: NetworkFaults }
  | { kind: 'lb_outage'; client: PartyId; ms: number }
  | { kind: 'burn'; dc: Dc }
  | { kind: 'settle' };

export interface Timed {
  /** Simulated ms since the start of the run. */
  at: number;
  action: Action;
}

export type Mode = 'episode' | 'campaign';

/**
 * - `cut`: the run cuts dc1 | dc2 once the site is steady (run.ts), at the earliest at
 *   earliestCutAt, at the latest at cutCapAt; a Primary must follow within boundMs.
 * - `cut_at`: the same cut exactly at earliestCutAt, steady or not.
 * - `precut`: the run starts in a detected 2+2 cut (`initialCut`); once the arbitrator has heard
 *   every dbserver (at the latest at cutCapAt) it loses dc2 if `arbitrator` is dc1; a Primary
 *   must exist boundMs after that.
 */
export interface LivenessPlan {
  kind: 'cut' | 'cut_at' | 'precut';
  earliestCutAt: number;
  cutCapAt: number;
  arbitrator: 'both' | Dc;
  boundMs: number;
}

/** The site starts inside a cut Galera has already detected: dc1 | dc2, with the arbitrator seeing `arbitrator`. */
export interface InitialCut {
  arbitrator: 'both' | Dc | 'none';
}

export type EpisodeKind = 'precut_liveness' | 'precut_chaos' | 'liveness' | 'chaos' | 'campaign' | 'late_arbitrator_loss' | 'stale_half_after_heal';
export const EPISODE_KINDS: readonly EpisodeKind[] = ['precut_liveness', 'precut_chaos', 'liveness', 'chaos', 'late_arbitrator_loss', 'stale_half_after_heal'];

export interface Scenario {
  seed: number;
  mode: Mode;
  kind: EpisodeKind;
  initialCut: InitialCut | null;
  site: SimSite;
  detection: DetectionProfile;
  faults: NetworkFaults;
  eagain: number;
  clockSkewMs: number;
  schedule: Timed[];
  /** Null in chaos episodes and burn seeds (a burned DC never comes back: there is no 2+2 to cut). */
  liveness: LivenessPlan | null;
  /** Without a liveness plan the run ends here; with one, this caps it. */
  endAt: number;
}

export interface ScenarioOptions {
  mode?: Mode;
  /** An episode of this kind rather than the CI mix. */
  kind?: EpisodeKind;
  /** Simulated length of the chaos part; the default scales with the site's failover period. */
  chaosMs?: number;
}

const LOSS = [0, 0, 0.01, 0.05, 0.15] as const;
const DUP = [0, 0.02, 0.1] as const;
const DELAY = [0, 5, 50, 300] as const;

function faultsFrom(rng: Rng): NetworkFaults {
  return { loss: pick(rng, LOSS), duplicate: pick(rng, DUP), meanExtraDelayMs: pick(rng, DELAY), minDelayMs: 0.5 };
}

function between(rng: Rng, lo: number, hi: number): number {
  return Math.round(lo + rng.next() * (hi - lo));
}

function subset<T>(rng: Rng, xs: readonly T[]): T[] {
  const out = xs.filter(() => rng.next() < 0.5);
  return out.length > 0 ? out : [pick(rng, xs)];
}

interface Ctx {
  rng: Rng;
  site: SimSite;
  schedule: Timed[];
  at: (ms: number, a: Action) => void;
  everyone: PartyId[];
}

/**
 * From the cut to a Primary: the cut detected, the halves reported, the failover period waited,
 * make_primary delivered and carried out, EAGAIN retries included. Seeing one DC only, the
 * arbitrator also waits for the other DC's last (Primary) reports to go stale (rule 5).
 */
function livenessBound(site: SimSite, detectMs: number): number {
  const t = site.config.timings;
  return Math.max(detectMs + t.failoverPeriod, t.staleAfter + t.reportInterval) + 2 * t.reportInterval + 2 * t.ackTimeout + 2000;
}

/** One random fault or operator command at `now`; `galera` false keeps the Galera links whole. */
function randomAction(c: Ctx, now: number, galera: boolean): void {
  const { rng, site, at } = c;
  const t = site.config.timings;
  const servers = site.dbservers;
  const r = rng.next();
  if (r < 0.16 && galera) at(now, { kind: 'cut_dcs', arbitrator: pick(rng, ['both', 'dc1', 'dc2', 'none'] as const) });
  else if (r < 0.22 && galera) at(now, { kind: 'isolate', server: pick(rng, servers) });
  else if (r < 0.26 && galera) at(now, { kind: 'db_oneway', from: subset(rng, servers), to: subset(rng, servers) });
  else if (r < 0.3) at(now, { kind: 'net_oneway', from: subset(rng, c.everyone), to: subset(rng, c.everyone) });
  else if (r < 0.38) at(now, { kind: 'cut_arbitrator', dc: pick(rng, DCS), direction: pick(rng, ['both', 'both', 'to_arbitrator', 'from_arbitrator'] as const) });
  else if (r < 0.52) at(now, galera ? { kind: 'heal' } : { kind: 'faults', faults: faultsFrom(rng) });
  else if (r < 0.66) {
    const party = pick(rng, rng.next() < 0.4 ? [ARBITRATOR] : c.everyone);
    const down = between(rng, 100, 3 * t.reportInterval);
    const window = between(rng, 0, 2 * t.failoverPeriod);
    at(now, { kind: 'crash', party, afterPersist: rng.next() < 0.5 ? window : null });
    if (rng.next() < 0.8) at(now + window + down, { kind: 'restart', party });
  } else if (r < 0.74) at(now, { kind: rng.next() < 0.55 ? 'drain' : 'undrain', node: pick(rng, servers) });
  else if (r < 0.79) at(now, { kind: rng.next() < 0.5 ? 'pause' : 'resume' });
  else if (r < 0.83) at(now, { kind: 'promote', target: rng.next() < 0.5 ? pick(rng, DCS) : pick(rng, servers), force: false });
  else if (r < 0.9) at(now, { kind: 'faults', faults: faultsFrom(rng) });
  else at(now, { kind: 'lb_outage', client: pick(rng, site.dbclients), ms: between(rng, 200, 3 * t.reportInterval) });
}

/**
 * Chaos from `from` to `to`. In some seeds (burnChance) a DC burns down on the way and a careful
 * operator forces the survivors' promotion; from then on the survivors' Galera links stay whole,
 * since a forced promote is only safe when the operator knows the rest is gone. Returns whether
 * a DC burned.
 */
function chaos(c: Ctx, detection: DetectionProfile, from: number, to: number, burnChance: number): boolean {
  const { rng, site, at } = c;
  const t = site.config.timings;
  const burnAt = rng.next() < burnChance ? between(rng, from, Math.max(from, to - t.failoverPeriod)) : null;
  const burnDc = pick(rng, DCS);
  let burned = false;
  const gapMean = 0.5 * t.failoverPeriod;
  for (let now = from + between(rng, 0, gapMean); now < to; now += Math.max(100, -Math.log(1 - rng.next()) * gapMean)) {
    if (burnAt !== null && !burned && now >= burnAt) {
      burned = true;
      at(now, { kind: 'burn', dc: burnDc });
      const survivors = DCS.find((d) => d !== burnDc) as Dc;
      const first = now + detection.cutMs[1] + between(rng, 0, 2 * t.failoverPeriod);
      at(first, { kind: 'promote', target: survivors, force: true });
      at(first + between(rng, t.reportInterval, 2 * t.failoverPeriod), { kind: 'promote', target: survivors, force: true });
      continue;
    }
    randomAction(c, now, !burned);
  }
  return burned;
}

/**
 * The CI mix. Most of the budget goes where the safety rules act: the failover window of a tie.
 * - precut_liveness (45%): the site starts inside a detected 2+2 cut, no loss, nothing else;
 *   a Primary must follow within the bound;
 * - precut_chaos (25%): the same start, then faults of every kind through two failover periods;
 * - liveness (15%): a healthy start, a few harmless perturbations, then the cut (as in a campaign);
 * - chaos (15%): a healthy start, then faults (in 5% of them a DC burns down).
 */
function episode(c: Ctx, opts: ScenarioOptions, base: Omit<Scenario, 'kind' | 'initialCut' | 'schedule' | 'liveness' | 'endAt'>): Scenario {
  const { rng, site } = c;
  const t = site.config.timings;
  const schedule = (): Timed[] => sorted(c.schedule);
  const r = rng.next();
  const kind: EpisodeKind = opts.kind ?? (r < 0.45 ? 'precut_liveness' : r < 0.7 ? 'precut_chaos' : r < 0.85 ? 'liveness' : 'chaos');
  if (kind === 'precut_liveness' || kind === 'late_arbitrator_loss') {
    // late_arbitrator_loss (not in the CI mix; docs/simulator.md, "findings"): the arbitrator
    // hears both halves, then loses the preferred one, dc1, within the failover period — a
    // further fault, so outside the liveness property, but one that shows what the rules do then.
    const arbitrator = kind === 'late_arbitrator_loss' ? 'dc2' : 'both';
    const boundMs = livenessBound(site, 0);
    for (let i = Math.floor(rng.next() * 3); i > 0; i--) {
      // Harmless meanwhile: a dbclient restart, a drain, another delay or duplication rate (never loss).
      const now = between(rng, 0, t.failoverPeriod);
      const x = rng.next();
      if (x < 0.4 && site.dbclients.length > 0) {
        const party = pick(rng, site.dbclients);
        c.at(now, { kind: 'crash', party, afterPersist: null });
        c.at(now + between(rng, 50, 2000), { kind: 'restart', party });
      } else if (x < 0.7) c.at(now, { kind: 'drain', node: pick(rng, site.dbservers) });
      else c.at(now, { kind: 'faults', faults: { ...faultsFrom(rng), loss: 0 } });
    }
    const cutCapAt = 3 * t.reportInterval;
    return {
      ...base,
      faults: { ...base.faults, loss: 0 },
      kind,
      initialCut: { arbitrator: 'both' },
      schedule: schedule(),
      liveness: { kind: 'precut', earliestCutAt: 0, cutCapAt, arbitrator, boundMs },
      endAt: cutCapAt + boundMs,
    };
  }
  if (kind === 'stale_half_after_heal') {
    // Not in the CI mix (docs/simulator.md, "findings"): inside a 2+2 cut the arbitrator watches
    // both halves; it loses the preferred one, dc1, just as everything else heals; Galera
    // re-forms one Primary, which only dc2's reports tell it; then dc1 | dc2 is cut again. dc1's
    // last reports (the old non-Primary view) are still fresh by age when the new cut is seen.
    const healAt = Math.round(t.failoverPeriod / 2);
    c.at(healAt, { kind: 'heal' });
    c.at(healAt, { kind: 'cut_arbitrator', dc: 'dc1', direction: 'both' });
    const cutAt = healAt + base.detection.healMs[1] + 500;
    const boundMs = livenessBound(site, base.detection.cutMs[1]);
    return {
      ...base,
      faults: { ...base.faults, loss: 0 },
      kind,
      initialCut: { arbitrator: 'both' },
      schedule: schedule(),
      liveness: { kind: 'cut_at', earliestCutAt: cutAt, cutCapAt: cutAt, arbitrator: 'dc2', boundMs },
      endAt: cutAt + boundMs,
    };
  }
  if (kind === 'precut_chaos') {
    const to = opts.chaosMs ?? Math.round(1.5 * t.failoverPeriod);
    chaos(c, base.detection, 300, to, 0);
    return {
      ...base,
      kind: 'precut_chaos',
      initialCut: { arbitrator: pick(rng, ['both', 'both', 'dc1', 'dc2', 'none'] as const) },
      schedule: schedule(),
      liveness: null,
      // Long enough after the last fault for a wrong promotion it set up to happen.
      endAt: to + t.failoverPeriod + 1000,
    };
  }
  if (kind === 'liveness') {
    // Harmless perturbations first (restarts, drains, a pause undone, loss), then the cut.
    const pre = between(rng, 0, t.reportInterval);
    for (let i = Math.floor(rng.next() * 3); i > 0; i--) {
      const now = between(rng, 0, pre);
      const x = rng.next();
      if (x < 0.4) {
        const party = pick(rng, c.everyone);
        c.at(now, { kind: 'crash', party, afterPersist: null });
        c.at(now + between(rng, 50, 500), { kind: 'restart', party });
      } else if (x < 0.6) c.at(now, { kind: 'drain', node: pick(rng, site.dbservers) });
      else if (x < 0.75) {
        c.at(now, { kind: 'pause' });
        c.at(now + between(rng, 10, 500), { kind: 'resume' });
      } else c.at(now, { kind: 'faults', faults: faultsFrom(rng) });
    }
    const earliestCutAt = pre + 600;
    const cutCapAt = earliestCutAt + 5 * t.reportInterval;
    const boundMs = livenessBound(site, base.detection.cutMs[1]);
    const arbitrator = pick(rng, ['both', 'dc1'] as const);
    return { ...base, kind: 'liveness', initialCut: null, schedule: schedule(), liveness: { kind: 'cut', earliestCutAt, cutCapAt, arbitrator, boundMs }, endAt: cutCapAt + boundMs };
  }
  const to = opts.chaosMs ?? Math.round(t.failoverPeriod * (1 + rng.next()));
  const burned = chaos(c, base.detection, 300, to, 0.05);
  // Long enough after the last fault for a wrong promotion it set up to happen.
  const endAt = to + (burned ? 2 * t.failoverPeriod + base.detection.cutMs[1] : t.failoverPeriod + 1000);
  return { ...base, kind: 'chaos', initialCut: null, schedule: schedule(), liveness: null, endAt };
}

export function generateScenario(seed: number, opts: ScenarioOptions = {}): Scenario {
  const mode = opts.mode ?? 'episode';
  const rng = seededRng(seed);
  let site = siteFor(pick(rng, TOPOLOGIES), pick(rng, TIMINGS));
  let detection = pick(rng, DETECTION);
  if (opts.kind === 'stale_half_after_heal') {
    // The shape that shows it: a plain 2+2, the default timings, Galera's short evs timeouts.
    site = siteFor(TOPOLOGIES[0] as Topology, TIMINGS.find((x) => x.name === 'default') as TimingsSpec);
    detection = DETECTION[0] as DetectionProfile;
  }
  const t = site.config.timings;
  const faults = faultsFrom(rng);
  const eagain = rng.next() < 0.3 ? 0.25 : 0;
  const clockSkewMs = rng.next() < 0.5 ? 2000 : 0;
  const c: Ctx = { rng, site, schedule: [], at: (ms, action) => void c.schedule.push({ at: Math.round(ms), action }), everyone: [ARBITRATOR, ...site.dbservers, ...site.dbclients] };
  const base = { seed, mode, site, detection, faults, eagain, clockSkewMs };
  if (mode === 'episode') return episode(c, opts, base);

  const chaosEnd = opts.chaosMs ?? 3 * t.failoverPeriod + 4 * t.reportInterval;
  const burned = chaos(c, detection, 2 * t.reportInterval, chaosEnd, 0.1);
  const common = { ...base, kind: 'campaign' as const, initialCut: null };
  if (burned) {
    c.at(chaosEnd, { kind: 'faults', faults: { ...faults, loss: 0 } });
    return { ...common, schedule: sorted(c.schedule), liveness: null, endAt: chaosEnd + 2 * t.failoverPeriod + t.makePrimaryValidFor };
  }
  // Settle; the cut waits until the heal is seen and no decision is in flight (run.ts), at most
  // until every pending decision has run out (makePrimaryValidFor) and every report is fresh.
  c.at(chaosEnd, { kind: 'settle' });
  const earliestCutAt = chaosEnd + detection.healMs[0];
  const cutCapAt = chaosEnd + detection.healMs[1] + t.makePrimaryValidFor + t.staleAfter + t.reportInterval;
  const boundMs = livenessBound(site, detection.cutMs[1]);
  const arbitrator = pick(rng, ['both', 'dc1'] as const);
  return { ...common, schedule: sorted(c.schedule), liveness: { kind: 'cut', earliestCutAt, cutCapAt, arbitrator, boundMs }, endAt: cutCapAt + boundMs };
}

function sorted(s: Timed[]): Timed[] {
  return s
    .map((x, i) => ({ x, i }))
    .sort((a, b) => a.x.at - b.x.at || a.i - b.i)
    .map(({ x }) => x);
}

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'cut_dcs':
      return `cut dc1 | dc2 (Galera and minder), arbitrator sees ${a.arbitrator}`;
    case 'isolate':
      return `isolate ${a.server} (its node and its host)`;
    case 'db_oneway':
      return `Galera one-way cut ${a.from.join(',')} -> ${a.to.join(',')}`;
    case 'net_oneway':
      return `minder one-way cut ${a.from.join(',')} -> ${a.to.join(',')}`;
    case 'cut_arbitrator':
      return `cut arbitrator from ${a.dc} (${a.direction})`;
    case 'crash':
      return `crash ${a.party}${a.afterPersist !== null ? ` right after its next persist (within ${a.afterPersist} ms)` : ''}`;
    case 'faults':
      return `network loss ${a.faults.loss} dup ${a.faults.duplicate} delay ${a.faults.meanExtraDelayMs} ms`;
    case 'lb_outage':
      return `load balancer of ${a.client} unreachable for ${a.ms} ms`;
    case 'promote':
      return `operator: promote ${a.target}${a.force ? ' --force' : ''}`;
    case 'drain':
    case 'undrain':
      return `operator: ${a.kind} ${a.node}`;
    case 'pause':
    case 'resume':
      return `operator: ${a.kind}`;
    case 'restart':
      return `restart ${a.party}`;
    case 'burn':
      return `DC ${a.dc} burns down (mariadbd and minder parties gone for good)`;
    case 'settle':
      return 'settle: heal everything, restart every party, the operator abandons its commands and resumes, no more loss';
    case 'heal':
      return 'heal every link';
  }
}
