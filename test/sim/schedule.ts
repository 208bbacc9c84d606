import type { NetworkFaults } from '../../src/correspondents/memory-network.js';
import type { PartyId } from '../../src/protocol/party.js';
import { pick, type Rng, seededRng } from '../../src/util/rng.js';
import { ARBITRATOR, type Dc, DCS, MISWEIGHTED_TOPOLOGIES, type SimSite, siteFor, THREE_DC_TOPOLOGIES, TIMINGS, type TimingsSpec, TOPOLOGIES, type Topology } from './site.js';
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

/**
 * The faults issue 11 added, each behind a switch (docs/simulator.md, "Faults"): a fault whose
 * guard has not landed yet would fail seeds that are not the simulator's to fix, so CI runs
 * CI_FAULTS and `SIM_FAULTS=all` (or a list) runs the rest.
 */
export const FAULTS = [
  'mariadb_restart',
  'partial_heal',
  'skewed_views',
  'bootstrap_delay',
  'three_dcs',
  'real_weights',
  'arbitrator_state_loss',
  'duplicate_arbitrator',
  'clock_steps',
  'manual_bootstrap',
  'forced_promote',
] as const;
export type Fault = (typeof FAULTS)[number];
/** The faults the CI seeds run with: those whose guards are in main (all of them, since issue 11's decision records and fences). */
export const CI_FAULTS: readonly Fault[] = FAULTS;

/** SIM_FAULTS: unset or `ci` the CI set, `all`, `none`, or a comma-separated list (which may name `ci`). */
export function faultsFrom(text: string | undefined): readonly Fault[] {
  if (text === undefined || text === '' || text === 'ci') return CI_FAULTS;
  if (text === 'all') return FAULTS;
  if (text === 'none') return [];
  const out = new Set<Fault>();
  for (const f of text.split(',').map((x) => x.trim())) {
    if (f === 'ci') for (const c of CI_FAULTS) out.add(c);
    else if (FAULTS.includes(f as Fault)) out.add(f as Fault);
    else throw new Error(`unknown fault ${f}; one of ${FAULTS.join(', ')}, or all, ci, none`);
  }
  return FAULTS.filter((f) => out.has(f));
}

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
  | { kind: 'settle' }
  /** mariadbd crashes and starts again after downMs (pc.recovery: a new uuid incarnation). */
  | { kind: 'mariadb_restart'; server: PartyId; downMs: number }
  /** Only Galera's links heal, only the minder network, or only the links between two groups. */
  | { kind: 'heal_partial'; what: 'galera' | 'net' | 'between'; a: PartyId[]; b: PartyId[] }
  /** dc3's links (Galera and minder) to one main DC or both are cut. */
  | { kind: 'cut_dc3'; from: 'dc1' | 'dc2' | 'both' }
  | { kind: 'backup_state'; party: PartyId; name: string }
  /** The party is stopped, its state file lost ('empty') or replaced by a backup, and it starts again after downMs. */
  | { kind: 'state_loss'; party: PartyId; how: string; downMs: number }
  /** A second arbitrator process with the same identity and address, its state a copy of now or of a backup. */
  | { kind: 'twin_start'; from: string }
  | { kind: 'twin_stop' }
  | { kind: 'address_owner'; owner: 'first' | 'twin' | 'either' }
  | { kind: 'clock_step'; party: PartyId; ms: number }
  /** The operator runs pc.bootstrap by hand on a node of this DC (docs/operations.md), when no Primary exists. */
  | { kind: 'manual_bootstrap'; dc: Dc };

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

/** Issue 11's paths as named schedules (not in the CI mix; findings.test.ts runs those whose guards are in). */
export const PATH_KINDS = ['old_state_after_promotion', 'lost_state_after_promotion', 'stale_decision_after_manual_bootstrap', 'forced_over_live_primary', 'misweighted_cut'] as const;
export type PathKind = (typeof PATH_KINDS)[number];
export type EpisodeKind = 'precut_liveness' | 'precut_chaos' | 'liveness' | 'chaos' | 'campaign' | 'late_arbitrator_loss' | 'stale_half_after_heal' | PathKind;
export const EPISODE_KINDS: readonly EpisodeKind[] = ['precut_liveness', 'precut_chaos', 'liveness', 'chaos', 'late_arbitrator_loss', 'stale_half_after_heal', ...PATH_KINDS];

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
  /** The faults this scenario could draw from. */
  faultSet: readonly Fault[];
  /** WorldOptions: the view-change window and the SHOW STATUS lag (skewed_views), the check-to-bootstrap delay (bootstrap_delay). */
  viewChangeMs: number;
  showLagMs: number;
  toctouMs: number;
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
  /** The faults a scenario may draw from (default CI_FAULTS). */
  faults?: readonly Fault[];
}

const LOSS = [0, 0, 0.01, 0.05, 0.15] as const;
const DUP = [0, 0.02, 0.1] as const;
const DELAY = [0, 5, 50, 300] as const;

function netFaults(rng: Rng): NetworkFaults {
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
  /** The switched faults' own stream. */
  frng: Rng;
  site: SimSite;
  schedule: Timed[];
  at: (ms: number, a: Action) => void;
  everyone: PartyId[];
  faults: ReadonlySet<Fault>;
  backups: number;
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

/** One of the switched faults (FAULTS) at `now`, if the scenario has any that fit; false if none did. */
function switchedFault(c: Ctx, now: number, galera: boolean): boolean {
  const { frng: rng, site, at } = c;
  const t = site.config.timings;
  const servers = site.dbservers;
  const fits = [...c.faults].filter((f) => {
    if (!galera && (f === 'mariadb_restart' || f === 'partial_heal' || f === 'three_dcs' || f === 'manual_bootstrap')) return false;
    if (f === 'three_dcs') return site.nodes.length !== site.dbservers.filter((s) => site.dcOf.get(s) !== 'dc3').length;
    return (
      f === 'mariadb_restart' || f === 'partial_heal' || f === 'arbitrator_state_loss' || f === 'duplicate_arbitrator' || f === 'clock_steps' || f === 'manual_bootstrap' || f === 'forced_promote'
    );
  });
  if (fits.length === 0) return false;
  const f = pick(rng, fits);
  switch (f) {
    case 'mariadb_restart':
      at(now, { kind: 'mariadb_restart', server: pick(rng, servers), downMs: between(rng, 200, 3 * t.reportInterval) });
      return true;
    case 'partial_heal': {
      const what = pick(rng, ['galera', 'net', 'between', 'between'] as const);
      at(now, { kind: 'heal_partial', what, a: what === 'between' ? subset(rng, c.everyone) : [], b: what === 'between' ? subset(rng, c.everyone) : [] });
      return true;
    }
    case 'three_dcs':
      at(now, { kind: 'cut_dc3', from: pick(rng, ['dc1', 'dc2', 'both'] as const) });
      return true;
    case 'arbitrator_state_loss': {
      // An old copy needs a backup taken earlier; a lost file needs nothing.
      const old = rng.next() < 0.5;
      let how = 'empty';
      if (old) {
        how = `b${++c.backups}`;
        at(Math.max(0, now - between(rng, 100, 2 * t.failoverPeriod)), { kind: 'backup_state', party: ARBITRATOR, name: how });
      }
      at(now, { kind: 'state_loss', party: ARBITRATOR, how, downMs: between(rng, 100, 2 * t.reportInterval) });
      return true;
    }
    case 'duplicate_arbitrator': {
      const from = rng.next() < 0.5 ? 'now' : `b${++c.backups}`;
      if (from !== 'now') at(Math.max(0, now - between(rng, 100, 2 * t.failoverPeriod)), { kind: 'backup_state', party: ARBITRATOR, name: from });
      at(now, { kind: 'twin_start', from });
      const flips = Math.floor(rng.next() * 3);
      for (let i = 1; i <= flips; i++) at(now + between(rng, 100, t.failoverPeriod), { kind: 'address_owner', owner: pick(rng, ['first', 'twin', 'either'] as const) });
      if (rng.next() < 0.7) at(now + between(rng, t.reportInterval, 2 * t.failoverPeriod), { kind: 'twin_stop' });
      return true;
    }
    case 'clock_steps': {
      const party = pick(rng, rng.next() < 0.4 ? [ARBITRATOR] : c.everyone);
      const size = pick(rng, [500, 3000, 20_000, 120_000] as const);
      at(now, { kind: 'clock_step', party, ms: (rng.next() < 0.5 ? -1 : 1) * between(rng, size / 2, size) });
      return true;
    }
    case 'manual_bootstrap':
      at(now, { kind: 'manual_bootstrap', dc: pick(rng, DCS) });
      return true;
    case 'forced_promote':
      at(now, { kind: 'promote', target: rng.next() < 0.5 ? pick(rng, DCS) : pick(rng, servers), force: true });
      return true;
    default:
      return false;
  }
}

/** One random fault or operator command at `now`; `galera` false keeps the Galera links whole. */
function randomAction(c: Ctx, now: number, galera: boolean): void {
  const { rng, site, at } = c;
  // A switched fault beside the usual one, from its own stream: the usual draws stay as they were.
  if (c.faults.size > 0 && c.frng.next() < 0.3) switchedFault(c, now, galera);
  const t = site.config.timings;
  const servers = site.dbservers;
  const r = rng.next();
  if (r < 0.16 && galera) at(now, { kind: 'cut_dcs', arbitrator: pick(rng, ['both', 'dc1', 'dc2', 'none'] as const) });
  else if (r < 0.22 && galera) at(now, { kind: 'isolate', server: pick(rng, servers) });
  else if (r < 0.26 && galera) at(now, { kind: 'db_oneway', from: subset(rng, servers), to: subset(rng, servers) });
  else if (r < 0.3) at(now, { kind: 'net_oneway', from: subset(rng, c.everyone), to: subset(rng, c.everyone) });
  else if (r < 0.38) at(now, { kind: 'cut_arbitrator', dc: pick(rng, DCS), direction: pick(rng, ['both', 'both', 'to_arbitrator', 'from_arbitrator'] as const) });
  else if (r < 0.52) at(now, galera ? { kind: 'heal' } : { kind: 'faults', faults: netFaults(rng) });
  else if (r < 0.66) {
    const party = pick(rng, rng.next() < 0.4 ? [ARBITRATOR] : c.everyone);
    const down = between(rng, 100, 3 * t.reportInterval);
    const window = between(rng, 0, 2 * t.failoverPeriod);
    at(now, { kind: 'crash', party, afterPersist: rng.next() < 0.5 ? window : null });
    if (rng.next() < 0.8) at(now + window + down, { kind: 'restart', party });
  } else if (r < 0.74) at(now, { kind: rng.next() < 0.55 ? 'drain' : 'undrain', node: pick(rng, servers) });
  else if (r < 0.79) at(now, { kind: rng.next() < 0.5 ? 'pause' : 'resume' });
  else if (r < 0.83) at(now, { kind: 'promote', target: rng.next() < 0.5 ? pick(rng, DCS) : pick(rng, servers), force: false });
  else if (r < 0.9) at(now, { kind: 'faults', faults: netFaults(rng) });
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
      else c.at(now, { kind: 'faults', faults: { ...netFaults(rng), loss: 0 } });
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
  if ((PATH_KINDS as readonly string[]).includes(kind)) return pathEpisode(c, kind as PathKind, base);
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
      } else c.at(now, { kind: 'faults', faults: netFaults(rng) });
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

/**
 * Issue 11's paths, each one fixed schedule on a plain 2+2 (the seed draws timings, detection,
 * delays, skew). Each ends with no liveness plan: only the safety checks judge it.
 * - old_state_after_promotion (path 1): a healthy start; the arbitrator's state file is backed up;
 *   dc1 | dc2 is cut and the settled split promotes dc1; the arbitrator loses dc1, is stopped,
 *   the backup (no decision in it, every node's uuid known) is restored and it starts again,
 *   hearing only dc2.
 * - lost_state_after_promotion (path 1): the same with the state file lost instead.
 * - stale_decision_after_manual_bootstrap (path 3): inside a detected cut, the arbitrator's
 *   datagrams to dc1 are lost; the settled split decides for dc1, its make_primary is resent in
 *   vain; the operator bootstraps dc2 by hand (nothing is Primary); the link heals (minder only).
 * - forced_over_live_primary (path 5, and 10a): a healthy start; db1 loses its Galera links and
 *   the arbitrator loses the other three, which stay Primary; once their reports are stale the
 *   operator forces db1.
 * - misweighted_cut (path 2): one dc2 node really has pc.weight=2 (the config says 1); dc1 | dc2
 *   is cut with the arbitrator seeing dc1 only; dc2 stays Primary (3 of 5).
 */
function pathEpisode(c: Ctx, kind: PathKind, base: Omit<Scenario, 'kind' | 'initialCut' | 'schedule' | 'liveness' | 'endAt'>): Scenario {
  const t = c.site.config.timings;
  const detect = base.detection.cutMs[1];
  const servers = c.site.dbservers;
  const others = servers.filter((s) => s !== servers[0]);
  let endAt = 0;
  let initialCut: InitialCut | null = null;
  switch (kind) {
    case 'old_state_after_promotion':
    case 'lost_state_after_promotion': {
      const cutAt = 1500;
      c.at(1000, { kind: 'backup_state', party: ARBITRATOR, name: 'b0' });
      c.at(cutAt, { kind: 'cut_dcs', arbitrator: 'both' });
      const lossAt = cutAt + detect + 2000;
      c.at(lossAt, { kind: 'cut_arbitrator', dc: 'dc1', direction: 'both' });
      c.at(lossAt, { kind: 'state_loss', party: ARBITRATOR, how: kind === 'old_state_after_promotion' ? 'b0' : 'empty', downMs: 100 });
      endAt = lossAt + t.staleAfter + 2 * t.failoverPeriod + 2 * t.reportInterval;
      break;
    }
    case 'stale_decision_after_manual_bootstrap': {
      initialCut = { arbitrator: 'both' };
      c.at(0, { kind: 'cut_arbitrator', dc: 'dc1', direction: 'from_arbitrator' });
      // The operator withdraws, waits out the validity and bootstraps dc2 by hand; then the link heals.
      const byHand = 2 * t.failoverPeriod;
      const done = byHand + t.makePrimaryValidFor + t.maxClockSkew + t.ackTimeout;
      c.at(byHand, { kind: 'manual_bootstrap', dc: 'dc2' });
      c.at(done + 1000, { kind: 'heal_partial', what: 'net', a: [], b: [] });
      endAt = done + 1000 + t.makePrimaryValidFor + 2 * t.ackTimeout;
      break;
    }
    case 'forced_over_live_primary': {
      const first = servers[0] as PartyId;
      c.at(1000, { kind: 'db_oneway', from: [first], to: others });
      c.at(1000, { kind: 'db_oneway', from: others, to: [first] });
      c.at(1000, { kind: 'net_oneway', from: [ARBITRATOR], to: others });
      c.at(1000, { kind: 'net_oneway', from: others, to: [ARBITRATOR] });
      const force = 1000 + detect + t.staleAfter + t.reportInterval;
      c.at(force, { kind: 'promote', target: first, force: true });
      endAt = force + 2 * t.reportInterval + t.ackTimeout;
      break;
    }
    case 'misweighted_cut':
      c.at(1000, { kind: 'cut_dcs', arbitrator: 'dc1' });
      endAt = 1000 + detect + t.staleAfter + 2 * t.failoverPeriod + 2 * t.reportInterval;
      break;
  }
  return { ...base, faults: { ...base.faults, loss: 0 }, kind, initialCut, schedule: sorted(c.schedule), liveness: null, endAt };
}

export function generateScenario(seed: number, opts: ScenarioOptions = {}): Scenario {
  const mode = opts.mode ?? 'episode';
  const rng = seededRng(seed);
  const faultSet = opts.faults ?? CI_FAULTS;
  const faults = new Set(faultSet);
  let topology = pick(rng, TOPOLOGIES);
  let site = siteFor(topology, pick(rng, TIMINGS));
  // The switched faults draw from their own stream, so that the CI seeds' shapes and schedules
  // stay what they were for the faults they had before.
  const frng = seededRng(seed ^ 0x2545f491);
  if (faults.has('three_dcs') && frng.next() < 0.1) topology = pick(frng, THREE_DC_TOPOLOGIES);
  else if (faults.has('real_weights') && frng.next() < 0.1) topology = pick(frng, MISWEIGHTED_TOPOLOGIES);
  if (topology !== site.topology) site = siteFor(topology, site.timings);
  const skewed = faults.has('skewed_views') && frng.next() < 0.3;
  const viewChangeMs = skewed ? pick(frng, [20, 200, 1000] as const) : 0;
  const showLagMs = skewed ? pick(frng, [5, 50, 500] as const) : 0;
  const toctouMs = faults.has('bootstrap_delay') && frng.next() < 0.2 ? pick(frng, [2, 20, 200] as const) : 0;
  let detection = pick(rng, DETECTION);
  if (opts.kind !== undefined && (PATH_KINDS as readonly string[]).includes(opts.kind)) {
    site = siteFor((opts.kind === 'misweighted_cut' ? MISWEIGHTED_TOPOLOGIES[0] : TOPOLOGIES[0]) as Topology, site.timings);
  }
  if (opts.kind === 'stale_half_after_heal') {
    // The shape that shows it: a plain 2+2, the default timings, Galera's short evs timeouts.
    site = siteFor(TOPOLOGIES[0] as Topology, TIMINGS.find((x) => x.name === 'default') as TimingsSpec);
    detection = DETECTION[0] as DetectionProfile;
  }
  const t = site.config.timings;
  const net = netFaults(rng);
  const eagain = rng.next() < 0.3 ? 0.25 : 0;
  const clockSkewMs = rng.next() < 0.5 ? 2000 : 0;
  const c: Ctx = {
    rng,
    frng,
    site,
    schedule: [],
    at: (ms, action) => void c.schedule.push({ at: Math.round(ms), action }),
    everyone: [ARBITRATOR, ...site.dbservers, ...site.dbclients],
    faults,
    backups: 0,
  };
  const base = { seed, mode, site, detection, faults: net, eagain, clockSkewMs, faultSet, viewChangeMs, showLagMs, toctouMs };
  if (mode === 'episode') return episode(c, opts, base);

  const chaosEnd = opts.chaosMs ?? 3 * t.failoverPeriod + 4 * t.reportInterval;
  const burned = chaos(c, detection, 2 * t.reportInterval, chaosEnd, 0.1);
  const common = { ...base, kind: 'campaign' as const, initialCut: null };
  if (burned) {
    c.at(chaosEnd, { kind: 'faults', faults: { ...net, loss: 0 } });
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
    case 'mariadb_restart':
      return `mariadbd of ${a.server} crashes, starts again after ${a.downMs} ms (pc.recovery)`;
    case 'heal_partial':
      return a.what === 'between' ? `heal the links between ${a.a.join(',')} and ${a.b.join(',')} only` : `heal ${a.what === 'galera' ? "Galera's links" : 'the minder network'} only`;
    case 'cut_dc3':
      return `cut dc3 from ${a.from === 'both' ? 'dc1 and dc2' : a.from} (Galera and minder)`;
    case 'backup_state':
      return `back up ${a.party}'s state file as ${a.name}`;
    case 'state_loss':
      return `${a.party}: stopped, its state file ${a.how === 'empty' ? 'lost' : `replaced by backup ${a.how}`}, started after ${a.downMs} ms`;
    case 'twin_start':
      return `a duplicate arbitrator starts (same identity and address, state ${a.from === 'now' ? 'a copy of now' : `from backup ${a.from}`})`;
    case 'twin_stop':
      return 'the duplicate arbitrator stops';
    case 'address_owner':
      return `the arbitrator address now reaches ${a.owner === 'either' ? 'either process' : `the ${a.owner} process`}`;
    case 'clock_step':
      return `${a.party}'s clock steps ${a.ms > 0 ? 'forward' : 'back'} ${Math.abs(a.ms)} ms`;
    case 'manual_bootstrap':
      return `operator: withdraw what is pending, wait out its validity, then pc.bootstrap by hand on a node of ${a.dc} if nothing is Primary`;
  }
}
