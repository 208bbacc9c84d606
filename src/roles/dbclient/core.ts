import type { LogEvent } from '../../log-events.js';
import { checkFence } from '../fence.js';
import { isPartyId, type PartyId } from '../../protocol/party.js';
import type { BodyOf, ClientStatusReport, Directives, LbServer } from '../../protocol/verbs.js';
import { type CommonEffect, type CommonEvent, publish, type RoleCore, type StepResult } from '../core.js';
import { ageWhenSent } from '../reading-age.js';
import type { DesiredLb, ObservedServer } from './lb/types.js';
import { chooseWriter, desiredOf, type Health, healthOf, type HeldReport, isDonorState, quorumDoubt, type Route, type Routes, routes, type ServerSpec } from './routing.js';

/**
 * The dbclient's decision core: from the dbservers' reports (received directly, so routing goes
 * on while the arbitrator is away) and the arbitrator's directives, the whole desired state of
 * the load balancer; from what the load balancer does now, the client_status_report. Pure: the
 * daemon carries out `apply_lb` / `observe_lb` and feeds back `lb_observed` / `lb_failed`.
 */

export interface DbclientConfig {
  self: PartyId;
  arbitrator: PartyId;
  /** Every arbitrator of the site (several with the etcd store; directives from any, the newest fencing token wins). */
  arbitrators?: readonly PartyId[];
  /** The site's arbitrators run on etcd: directives must carry a fencing token (src/roles/fence.ts). */
  fenced?: boolean;
  servers: ServerSpec[];
  lbKind: 'haproxy' | 'glb';
  staleAfterMs: number;
  /** A client_status_report goes out at least this often, even when nothing changed. */
  reportIntervalMs: number;
  /** How often the load balancer is read back (and repaired if it drifted, e.g. after a restart). */
  lbPollMs: number;
  /** Weight of every server taking traffic (HAProxy's and glb's default is 1). */
  weight: number;
}

export interface AppliedSummary {
  commands: string[];
  errors: string[];
}

export type DbclientEvent =
  /** What the load balancer does now; `applied` when this reading follows an apply. */
  | { kind: 'lb_observed'; observed: ObservedServer[]; applied: AppliedSummary | null }
  | { kind: 'lb_failed'; during: 'apply' | 'observe'; code: string; error: string }
  /** The post office heard the peer again (an ack counts) after a `silent` event. */
  /**
   * The site config changed while running (servers added or removed, DC priorities, timings):
   * the daemon carries the state over into a core built from the new config and sends this.
   */
  | { kind: 'reconfigured'; changes: string[] };

export type DbclientEffect =
  /** Make the load balancer match `desired` (idempotent), then read it back. */
  { kind: 'apply_lb'; desired: DesiredLb; reason: string } | { kind: 'observe_lb' };

/** The directives as reported back to the arbitrator (verbs.ts heldDirectives). */
function heldOf(d: Directives): NonNullable<ClientStatusReport['held']> {
  return { epoch: d.epoch, drained: [...d.drained], paused: d.paused, writer: d.writer };
}

export interface HeldDirectives {
  body: Directives;
  receivedAt: number;
  /** The arbitrator that sent them (the leader, with the etcd store). */
  from?: PartyId;
}

export interface DbclientState {
  startedAt: number | null;
  /** Set once the warm-up is over; stays set (a server added later does not freeze routing). */
  warmedUp: boolean;
  reports: Record<string, HeldReport>;
  directives: HeldDirectives | null;
  /** Set by a `silent` event for the arbitrator; its directives' writer is then not followed. */
  arbitratorSilentSince: number | null;
  writer: PartyId | null;
  /** Former writers whose write sessions are finishing ('drain' in the write backend). */
  retiring: PartyId[];
  /** Since when the writer is Donor/Desynced (still Primary and ready): it keeps the role a while. */
  writerSoftSince?: number | null;
  /** The routes last computed; null until the warm-up ends. */
  routes: Routes | null;
  lb: LbView;
  epochApplied: number;
  lastPublished: { key: string; at: number } | null;
  /** Directives refused for an older fencing token, since start. */
  fencedRefusals?: number;
}

export interface LbView {
  /** An apply or observe is in flight: one at a time. */
  busy: boolean;
  /** The desired state changed while busy: apply again when it returns. */
  dirty: boolean;
  observed: ObservedServer[] | null;
  reachable: boolean | null;
  error: string | null;
  /** The last drift logged, so a lasting one is logged once. */
  driftKey: string | null;
  /** The last apply errors logged, so a lasting refusal (a server HAProxy lacks) is logged once. */
  errorsKey: string | null;
}

/** What the daemon keeps in the party's state file across restarts. */
export interface DbclientPersisted {
  writer?: { writer: PartyId | null; retiring: PartyId[] };
  directives?: HeldDirectives;
}

export const PERSIST_WRITER = 'dbclient.writer';
export const PERSIST_DIRECTIVES = 'dbclient.directives';

export function initialState(p: DbclientPersisted = {}): DbclientState {
  return {
    startedAt: null,
    warmedUp: false,
    reports: {},
    directives: p.directives ?? null,
    arbitratorSilentSince: null,
    writer: p.writer?.writer ?? null,
    retiring: p.writer?.retiring ?? [],
    routes: null,
    lb: { busy: false, dirty: false, observed: null, reachable: null, error: null, driftKey: null, errorsKey: null },
    epochApplied: 0,
    lastPublished: null,
  };
}

type Effect = CommonEffect | DbclientEffect;
type Result = StepResult<DbclientState, DbclientEffect>;

/**
 * Backend entries in one client_status_report: 32 servers in two backends encode to ~5.6 KB,
 * inside the 8 KB datagram limit even with a 200-character error (a 4-node site: ~1.1 KB).
 * A larger site's report lists the first 64 entries; the load balancer is steered all the same.
 */
export const MAX_REPORTED_ENTRIES = 64;

const TIMER_POLL = 'lb_poll';
const TIMER_EXPIRY = 'report_expiry';
const TIMER_WARMUP = 'warmup';
const TIMER_WRITER_GRACE = 'writer_grace';

/**
 * How long a writer that went Donor/Desynced (still Primary and ready: an IST or SST donor) keeps
 * the role before it moves: a donation after a heal is short, and moving the writer away and back
 * for it made the writer ping-pong between two donors (issue 11 10b). Two report intervals.
 */
export function writerGraceMs(cfg: DbclientConfig): number {
  return 2 * cfg.reportIntervalMs;
}

function log(level: 'debug' | 'info' | 'warn' | 'error', event: LogEvent, msg: string, data?: Record<string, unknown>): CommonEffect {
  return data ? { kind: 'log', level, event, msg, data } : { kind: 'log', level, event, msg };
}

export function dbclientCore(cfg: DbclientConfig): RoleCore<DbclientState, DbclientEvent, DbclientEffect> {
  const known = new Set<string>(cfg.servers.map((s) => s.id));

  function drainedSet(s: DbclientState): Set<PartyId> {
    // The drain set is the operator's intent: it holds while the arbitrator is away (and across
    // our restarts, persisted), unlike the writer, which is only followed while fresh.
    return new Set((s.directives?.body.drained ?? []).filter((d): d is PartyId => known.has(d)));
  }

  function directedWriter(s: DbclientState): PartyId | null {
    if (s.directives === null || s.arbitratorSilentSince !== null) return null;
    return s.directives.body.writer as PartyId | null;
  }

  function warm(s: DbclientState, now: number): boolean {
    if (s.warmedUp) return true;
    if (s.startedAt === null) return false;
    // Right after a (re)start nothing is known: acting then would take every server out and cut
    // every session. Wait for every server's report, or for the staleness limit to pass.
    return cfg.servers.every((x) => s.reports[x.id] !== undefined) || now - s.startedAt >= cfg.staleAfterMs;
  }

  function healthMap(s: DbclientState, now: number): Map<PartyId, Health> {
    return new Map(cfg.servers.map((x) => [x.id, healthOf(x, s.reports[x.id], now, cfg.staleAfterMs)]));
  }

  function expiryTimer(s: DbclientState, now: number): Effect[] {
    let next = Number.POSITIVE_INFINITY;
    for (const h of Object.values(s.reports)) {
      const t = (h.takenAt ?? h.receivedAt) + cfg.staleAfterMs;
      if (t >= now && t < next) next = t;
    }
    return Number.isFinite(next) ? [{ kind: 'timer', name: TIMER_EXPIRY, afterMs: next - now + 1 }] : [];
  }

  function requestApply(s: DbclientState, reason: string): Result {
    if (s.routes === null) return { state: s, effects: [] };
    if (s.lb.busy) return { state: { ...s, lb: { ...s.lb, dirty: true } }, effects: [] };
    return {
      state: { ...s, lb: { ...s.lb, busy: true, dirty: false } },
      effects: [{ kind: 'apply_lb', desired: desiredOf(s.routes), reason }],
    };
  }

  function routeChangeLogs(before: Routes | null, after: Routes): Effect[] {
    const out: Effect[] = [];
    for (const backend of ['read', 'write'] as const) {
      const prev = new Map((before?.[backend] ?? []).map((r) => [r.server, r]));
      for (const r of after[backend]) {
        const p = prev.get(r.server);
        if (p && p.state === r.state && p.shutdownSessions === r.shutdownSessions) continue;
        // The write backend's maint for non-writers is routine; its changes are logged as writer changes.
        if (backend === 'write' && r.state === 'maint' && !r.shutdownSessions && (p === undefined || p.state !== 'ready')) continue;
        out.push(
          log(r.state === 'ready' ? 'info' : 'warn', 'route_changed', describeRoute(backend, r, p), {
            server: r.server,
            backend,
            from: p?.state ?? null,
            to: r.state,
            shutdownSessions: r.shutdownSessions,
            reason: r.reason,
          }),
        );
      }
    }
    return out;
  }

  /** Recomputes the writer and the routes; applies when the desired state changed. */
  function recompute(s0: DbclientState, now: number, cause: string): Result {
    const effects: Effect[] = [...expiryTimer(s0, now)];
    if (!warm(s0, now)) return { state: s0, effects };
    let s: DbclientState = s0.warmedUp ? s0 : { ...s0, warmedUp: true };
    const health = healthMap(s, now);
    // A server whose half is about to lose quorum never becomes (or stays) the writer.
    for (const x of cfg.servers) {
      const h = health.get(x.id);
      if (!h || h.kind !== 'serve') continue;
      const doubt = quorumDoubt(x.id, s.reports, cfg.servers, now, cfg.staleAfterMs);
      if (doubt) health.set(x.id, { ...h, writable: false, reason: doubt });
    }
    // Hysteresis: the writer keeps the role through a short Donor/Desynced phase.
    let softSince: number | null = null;
    const cur = s.writer;
    const curReport = cur ? s.reports[cur] : undefined;
    const curHealth = cur ? health.get(cur) : undefined;
    if (
      cur &&
      curHealth &&
      !curHealth.writable &&
      curReport?.report.wsrep &&
      isDonorState(curReport.report.wsrep.localState) &&
      curReport.report.wsrep.ready &&
      curHealth.kind !== 'hard_out' &&
      !quorumDoubt(cur, s.reports, cfg.servers, now, cfg.staleAfterMs)
    ) {
      softSince = s.writerSoftSince ?? now;
      const left = softSince + writerGraceMs(cfg) - now;
      if (left > 0) {
        health.set(cur, {
          ...curHealth,
          writable: true,
          reason: `${curReport.report.wsrep.localState} for ${Math.round((now - softSince) / 100) / 10} s: stays the writer for up to ${writerGraceMs(cfg) / 1000} s (no flapping)`,
        });
        effects.push({ kind: 'timer', name: TIMER_WRITER_GRACE, afterMs: left + 1 });
      }
    }
    if ((s.writerSoftSince ?? null) !== softSince) s = { ...s, writerSoftSince: softSince };
    const drained = drainedSet(s);
    const choice = chooseWriter({ servers: cfg.servers, health, drained, directed: directedWriter(s), current: s.writer });
    let retiring = s.retiring.filter((id) => id !== choice.writer && health.get(id)?.kind !== 'hard_out');
    if (choice.writer !== s.writer) {
      const old = s.writer;
      const handOver = old !== null && health.get(old)?.kind !== 'hard_out' && known.has(old);
      if (handOver && !retiring.includes(old)) retiring = [...retiring, old];
      effects.push(
        log(
          choice.writer === null ? 'error' : 'warn',
          'writer_changed',
          `writer ${old ?? 'none'} → ${choice.writer ?? 'none'}: ${choice.reason}${handOver ? `; ${old} hands over: its write sessions finish, no new ones` : ''}`,
          {
            from: old,
            to: choice.writer,
            reason: choice.reason,
            handOver,
          },
        ),
      );
    }
    if (choice.writer !== s.writer || retiring.join() !== s.retiring.join()) {
      s = { ...s, writer: choice.writer, retiring };
      effects.push({ kind: 'persist', key: PERSIST_WRITER, value: { writer: s.writer, retiring: s.retiring } });
    }
    const next = routes({ servers: cfg.servers, health, drained, writer: s.writer, retiring: new Set(s.retiring), weight: cfg.weight });
    effects.push(...routeChangeLogs(s.routes, next));
    const changed = s.routes === null || JSON.stringify(desiredOf(s.routes)) !== JSON.stringify(desiredOf(next));
    s = { ...s, routes: next };
    if (!changed) return { state: s, effects };
    const r = requestApply(s, cause);
    return { state: r.state, effects: [...effects, ...r.effects] };
  }

  function onDirectives(s: DbclientState, from: PartyId, body: BodyOf<'directives'>, now: number): Result {
    const effects: Effect[] = [];
    const arbitrators = cfg.arbitrators ?? [cfg.arbitrator];
    if (!arbitrators.includes(from)) {
      return { state: s, effects: [log('warn', 'directives_ignored', `directives from ${from}, not an arbitrator of the site (${arbitrators.join(', ')})`)] };
    }
    const prev = s.directives?.body;
    const fence = checkFence(prev?.fence ?? 0, body.fence, cfg.fenced === true);
    if (!fence.ok) {
      const n = (s.fencedRefusals ?? 0) + 1;
      return {
        state: { ...s, fencedRefusals: n },
        effects: [
          log('warn', 'directives_fenced', `directives epoch ${body.epoch} from ${from} refused: ${fence.reason} (${n} refused since start)`, {
            from,
            fence: body.fence ?? null,
            highest: prev?.fence ?? 0,
            refused: n,
          }),
        ],
      };
    }
    if (prev && body.epoch < prev.epoch) {
      // The post office already orders messages per sender incarnation; a lower epoch means the
      // arbitrator lost its state. It is still the only authority there is: follow it, loudly.
      effects.push(log('warn', 'directives_epoch_backwards', `directive epoch went back from ${prev.epoch} to ${body.epoch}`, { from: prev.epoch, to: body.epoch }));
    }
    const unknown = body.drained.filter((d) => !known.has(d));
    if (unknown.length > 0) effects.push(log('warn', 'drain_unknown_server', `drain set names ${unknown.join(', ')}, not dbservers of this site`));
    if (!prev || JSON.stringify(prev) !== JSON.stringify(body)) {
      effects.push(
        log('info', 'directives_received', `directives epoch ${body.epoch}: drained [${body.drained.join(', ')}], writer ${body.writer ?? 'none'}${body.paused ? ', paused' : ''}`, {
          epoch: body.epoch,
          drained: body.drained,
          writer: body.writer,
          paused: body.paused,
        }),
      );
    }
    const held: HeldDirectives = { body, receivedAt: now, from };
    effects.push({ kind: 'persist', key: PERSIST_DIRECTIVES, value: held });
    const r = recompute({ ...s, directives: held, arbitratorSilentSince: null }, now, `directives epoch ${body.epoch}`);
    return { state: r.state, effects: [...effects, ...r.effects] };
  }

  function onReport(s: DbclientState, from: PartyId, body: BodyOf<'db_status_report'>, now: number, sentAt: number): Result {
    if (!known.has(from)) {
      return { state: s, effects: [log('warn', 'report_ignored', `db_status_report from ${from}, not a dbserver this client routes to`)] };
    }
    const prev = s.reports[from];
    // A resend of the same observation (its ack was lost) says nothing newer: keep the time it
    // first arrived, so a dbserver stuck on one observation still goes stale.
    const same = prev !== undefined && prev.report.observedAt === body.observedAt;
    const receivedAt = same ? prev.receivedAt : now;
    // Fresh by when the reading was taken, not when it arrived (a slow reading, a resent report).
    const takenAt = same ? (prev.takenAt ?? prev.receivedAt) : now - ageWhenSent(body.observedAt, sentAt);
    const reports = { ...s.reports, [from]: { report: body, receivedAt, takenAt } };
    return recompute({ ...s, reports }, now, `report from ${from}`);
  }

  function statusReport(s: DbclientState, now: number): ClientStatusReport {
    const servers: LbServer[] = (s.lb.observed ?? [])
      .filter((o) => isPartyId(o.server))
      .slice(0, MAX_REPORTED_ENTRIES)
      .map((o) => ({
        server: o.server,
        backend: o.backend,
        state: o.state,
        operational: o.operational,
        weight: Math.max(0, Math.min(256, Math.round(o.weight))),
        sessions: Math.max(0, Math.round(o.sessions)),
      }));
    return {
      observedAt: now,
      epochApplied: s.epochApplied,
      ...(s.directives ? { held: heldOf(s.directives.body) } : {}),
      lb: { kind: cfg.lbKind, reachable: s.lb.reachable ?? false, error: s.lb.error === null ? null : s.lb.error.slice(0, 200) },
      writer: s.writer,
      servers,
    };
  }

  /** Publishes when what the load balancer does changed, and at least every report interval. */
  function maybePublish(s: DbclientState, now: number): Result {
    const body = statusReport(s, now);
    const key = JSON.stringify({ ...body, observedAt: 0 });
    if (s.lastPublished && s.lastPublished.key === key && now - s.lastPublished.at < cfg.reportIntervalMs) return { state: s, effects: [] };
    return { state: { ...s, lastPublished: { key, at: now } }, effects: (cfg.arbitrators ?? [cfg.arbitrator]).map((a) => publish(a, 'client_status_report', body)) };
  }

  function onObserved(s0: DbclientState, ev: Extract<DbclientEvent, { kind: 'lb_observed' }>, now: number): Result {
    const effects: Effect[] = [];
    let s: DbclientState = { ...s0, lb: { ...s0.lb, busy: false, observed: ev.observed, reachable: true, error: null } };
    if (ev.applied) {
      if (ev.applied.commands.length > 0) {
        effects.push(log('info', 'lb_applied', `load balancer: ${ev.applied.commands.join('; ')}`, { commands: ev.applied.commands, errors: ev.applied.errors }));
      }
      const errorsKey = ev.applied.errors.length > 0 ? ev.applied.errors.join('; ') : null;
      if (errorsKey !== null && errorsKey !== s.lb.errorsKey) effects.push(log('error', 'lb_apply_errors', `load balancer refused: ${errorsKey}`, { errors: ev.applied.errors }));
      s = { ...s, lb: { ...s.lb, errorsKey } };
    }
    // What the last apply could not do stays visible in the report until an apply succeeds.
    s = { ...s, lb: { ...s.lb, error: s.lb.errorsKey } };
    if (s0.lb.reachable === false) effects.push(log('info', 'lb_reachable', `the ${cfg.lbKind} load balancer answers again`));
    // A former writer whose write sessions have all finished is done handing over.
    const done = s.retiring.filter((id) => {
      const o = ev.observed.find((x) => x.backend === 'write' && x.server === id);
      return o !== undefined && o.state !== 'ready' && o.sessions === 0;
    });
    if (done.length > 0) {
      s = { ...s, retiring: s.retiring.filter((id) => !done.includes(id)) };
      effects.push(log('info', 'handover_done', `${done.join(', ')}: no write sessions left, out of the write backend`, { servers: done }));
      effects.push({ kind: 'persist', key: PERSIST_WRITER, value: { writer: s.writer, retiring: s.retiring } });
      const r = recompute(s, now, 'hand-over done');
      s = r.state;
      effects.push(...r.effects);
    }
    if (s.lb.busy) {
      // The hand-over just started an apply: this reading is already out of date.
    } else if (s.lb.dirty) {
      const r = requestApply(s, 'desired state changed during the last apply');
      s = r.state;
      effects.push(...r.effects);
    } else {
      const drift = s.routes ? driftOf(s.routes, ev.observed) : [];
      if (drift.length === 0) {
        s = { ...s, lb: { ...s.lb, driftKey: null }, epochApplied: s.routes !== null && s.directives !== null ? s.directives.body.epoch : s.epochApplied };
      } else {
        const key = drift.join('; ');
        if (key !== s.lb.driftKey) {
          // Sessions being shut take a moment to go: right after an apply that is no news.
          const level = ev.applied && drift.every((d) => d.includes(' still has ')) ? 'debug' : 'warn';
          effects.push(log(level, 'lb_drift', `load balancer differs from the desired state: ${key}${ev.applied ? ' (right after an apply)' : ''}`, { drift }));
          s = { ...s, lb: { ...s.lb, driftKey: key } };
        }
        // Re-apply when a plain reading shows drift (an LB restart or reload, a hand edit), but
        // not from the reading that follows an apply: what one apply could not fix, applying
        // again at once would not either; the next poll retries.
        if (ev.applied === null) {
          const r = requestApply(s, `drift: ${key}`);
          s = r.state;
          effects.push(...r.effects);
        }
      }
    }
    const p = maybePublish(s, now);
    return { state: p.state, effects: [...effects, ...p.effects] };
  }

  function onFailed(s0: DbclientState, ev: Extract<DbclientEvent, { kind: 'lb_failed' }>, now: number): Result {
    const effects: Effect[] = [];
    // Logged when the error changes, not every poll, so a long outage is one line.
    if (s0.lb.error !== ev.error) {
      effects.push(log('error', 'lb_failed', `${cfg.lbKind} ${ev.during} failed: ${ev.error}`, { code: ev.code, during: ev.during }));
    }
    const unreachable = ev.code === 'LB_UNREACHABLE' || ev.code === 'LB_TIMEOUT';
    // A failed apply leaves the LB in an unknown state: the next reading decides what to resend.
    let s: DbclientState = {
      ...s0,
      lb: { ...s0.lb, busy: false, dirty: s0.lb.dirty || ev.during === 'apply', reachable: unreachable ? false : s0.lb.reachable, error: ev.error },
    };
    const p = maybePublish(s, now);
    s = p.state;
    return { state: s, effects: [...effects, ...p.effects] };
  }

  function onReconfigured(s0: DbclientState, changes: string[], now: number): Result {
    const reports = Object.fromEntries(Object.entries(s0.reports).filter(([id]) => known.has(id)));
    // An operation in flight belonged to the previous host: its answer is lost, so the next poll re-applies.
    const s: DbclientState = { ...s0, reports, retiring: s0.retiring.filter((id) => known.has(id)), lb: { ...s0.lb, busy: false, dirty: s0.lb.dirty || s0.lb.busy } };
    const effects: Effect[] = [
      log('info', 'reconfigured', `site config changed (${changes.join('; ') || 'no details'}): routing for ${cfg.servers.map((x) => x.id).join(', ')}`, { changes }),
      { kind: 'timer', name: TIMER_POLL, afterMs: cfg.lbPollMs },
    ];
    if (s.startedAt !== null && !warm(s, now)) effects.push({ kind: 'timer', name: TIMER_WARMUP, afterMs: Math.max(0, s.startedAt + cfg.staleAfterMs - now) });
    const r = recompute(s, now, 'site config changed');
    return { state: r.state, effects: [...effects, ...r.effects] };
  }

  function onTimer(s: DbclientState, name: string, now: number): Result {
    switch (name) {
      case TIMER_POLL: {
        const effects: Effect[] = [{ kind: 'timer', name: TIMER_POLL, afterMs: cfg.lbPollMs }];
        if (s.lb.busy) return { state: s, effects };
        if (s.lb.dirty) {
          const r = requestApply(s, 'retry after a failed apply');
          return { state: r.state, effects: [...effects, ...r.effects] };
        }
        return { state: { ...s, lb: { ...s.lb, busy: true } }, effects: [...effects, { kind: 'observe_lb' }] };
      }
      case TIMER_EXPIRY:
        return recompute(s, now, 'a report went stale');
      case TIMER_WARMUP:
        return recompute(s, now, 'warm-up over');
      case TIMER_WRITER_GRACE:
        return recompute(s, now, "the writer's Donor grace is over");
      default:
        return { state: s, effects: [] };
    }
  }

  function step(s: DbclientState, ev: CommonEvent | DbclientEvent, now: number): Result {
    switch (ev.kind) {
      case 'start': {
        const started: DbclientState = { ...s, startedAt: now };
        const effects: Effect[] = [
          log('info', 'dbclient_started', `routing for ${cfg.servers.map((x) => x.id).join(', ')}; writer ${s.writer ?? 'none yet'}; waiting for reports before touching the load balancer`, {
            writer: s.writer,
            drained: s.directives?.body.drained ?? [],
          }),
          { kind: 'timer', name: TIMER_POLL, afterMs: cfg.lbPollMs },
          { kind: 'timer', name: TIMER_WARMUP, afterMs: cfg.staleAfterMs },
          { kind: 'observe_lb' },
        ];
        return { state: { ...started, lb: { ...started.lb, busy: true } }, effects };
      }
      case 'message': {
        const m = ev.msg;
        if (m.verb === 'db_status_report') return onReport(s, m.from, m.body as BodyOf<'db_status_report'>, now, m.envelope.at);
        if (m.verb === 'directives') return onDirectives(s, m.from, m.body as BodyOf<'directives'>, now);
        return { state: s, effects: [log('debug', 'message_ignored', `${m.verb} from ${m.from} is not for a dbclient`)] };
      }
      case 'silent': {
        // The arbitrator that matters is the one whose directives are held (the leader, with etcd).
        if (ev.peer === (s.directives?.from ?? cfg.arbitrator)) {
          const effects: Effect[] = [log('warn', 'arbitrator_silent', `${ev.peer} silent for ${Math.round(ev.silentMs / 1000)} s: routing on the servers' own reports, writer by the fallback rule`)];
          const r = recompute({ ...s, arbitratorSilentSince: now }, now, 'arbitrator silent');
          return { state: r.state, effects: [...effects, ...r.effects] };
        }
        return recompute(s, now, `${ev.peer} silent`);
      }
      case 'heard': {
        if (ev.peer !== (s.directives?.from ?? cfg.arbitrator) || s.arbitratorSilentSince === null) return { state: s, effects: [] };
        const r = recompute({ ...s, arbitratorSilentSince: null }, now, 'arbitrator heard again');
        return { state: r.state, effects: [log('info', 'arbitrator_back', `${ev.peer} heard again: following its directives`), ...r.effects] };
      }
      case 'reconfigured':
        return onReconfigured(s, ev.changes, now);
      case 'timer':
        return onTimer(s, ev.name, now);
      case 'lb_observed':
        return onObserved(s, ev, now);
      case 'lb_failed':
        return onFailed(s, ev, now);
    }
  }

  return { step };
}

/** Where the load balancer differs from the routes, one phrase per server. */
export function driftOf(r: Routes, observed: readonly ObservedServer[]): string[] {
  const out: string[] = [];
  for (const backend of ['write', 'read'] as const) {
    // A load balancer that follows one backend only (glbd has a single pool) shows none of the other.
    if (!observed.some((x) => x.backend === backend)) continue;
    for (const want of r[backend]) {
      const o = observed.find((x) => x.backend === backend && x.server === want.server);
      const at = `${backend}/${want.server}`;
      if (o === undefined) out.push(`${at} not seen`);
      else if (o.state !== want.state) out.push(`${at} is ${o.state}, want ${want.state}`);
      // Weight is only ours to compare while serving: glb drains by weight 0.
      else if (want.state === 'ready' && o.weight !== want.weight) out.push(`${at} weight ${o.weight}, want ${want.weight}`);
      else if (want.shutdownSessions && o.sessions > 0) out.push(`${at} still has ${o.sessions} sessions`);
    }
  }
  return out;
}

function describeRoute(backend: 'read' | 'write', r: Route, prev: Route | undefined): string {
  if (backend === 'write') {
    if (r.state === 'ready') return `${r.server} takes writes`;
    if (r.state === 'drain') return `${r.server} stops taking new writes, its write sessions finish: ${r.reason}`;
    return `${r.server} out of the write backend${r.shutdownSessions ? ', sessions shut' : ''}: ${r.reason}`;
  }
  if (r.state === 'ready') return `${r.server} in${prev ? ` (was ${prev.state})` : ''}: ${r.reason}`;
  if (r.state === 'drain') return `${r.server} draining: no new connections, existing ones finish: ${r.reason}`;
  return `${r.server} out${r.shutdownSessions ? ', sessions shut' : ''}: ${r.reason}`;
}
