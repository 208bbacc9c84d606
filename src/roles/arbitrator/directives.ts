import type { LogEvent } from '../../log-events.js';
import type { PartyId } from '../../protocol/party.js';
import type { Directives, HeldDirectivesReport } from '../../protocol/verbs.js';
import { type CommonEffect, publish } from '../core.js';
import { isFresh, isServing, servingNodes } from './observations.js';
import { type DirectivesRecord, RECORD_KEYS } from './records.js';
import { type DbserverInfo, dbserverInfo } from './settings.js';
import { acting } from './standby.js';
import { type ArbitratorState, journal, stampOf, type ArbitratorStep } from './state.js';

/**
 * The operator's standing orders and the chosen writer, published as `directives` to every
 * dbclient and dbserver. Each change grows the epoch, is persisted, then published (acked and
 * resent by the post office until every receiver has the newest).
 */

export function directivesBody(d: DirectivesRecord): Directives {
  return { epoch: d.epoch, drained: [...d.drained], paused: d.paused, writer: d.writer };
}

export function publishDirectives(state: ArbitratorState): CommonEffect[] {
  const body = directivesBody(state.records.directives);
  const clients = state.settings.dbclients.map((p) => publish(p, 'directives', { ...body, drained: [...body.drained] }));
  // The dbservers also learn which arbitrator process speaks (they echo it: docs/safety.md, path 4).
  const servers = state.settings.dbservers.map((d) => publish(d.id, 'directives', { ...body, drained: [...body.drained], arbiter: stampOf(state) }));
  return [...clients, ...servers];
}

/** Grows the epoch, persists, publishes, logs: the one way the directives change. */
export function changeDirectives(
  state: ArbitratorState,
  now: number,
  patch: Partial<Omit<DirectivesRecord, 'epoch'>>,
  event: LogEvent,
  text: string,
  data: Record<string, unknown> = {},
  level: 'info' | 'error' = 'info',
): ArbitratorStep {
  const directives: DirectivesRecord = { ...state.records.directives, ...patch, epoch: state.records.directives.epoch + 1 };
  if (patch.drained) directives.drained = [...patch.drained].sort();
  let s: ArbitratorState = { ...state, records: { ...state.records, directives } };
  s = journal(s, now, event, `${text} (epoch ${directives.epoch})`);
  return {
    state: s,
    effects: [
      { kind: 'persist', key: RECORD_KEYS.directives, value: directives },
      ...publishDirectives(s),
      {
        kind: 'log',
        level,
        event,
        msg: `${text} (epoch ${directives.epoch})`,
        data: { epoch: directives.epoch, drained: directives.drained, paused: directives.paused, writer: directives.writer, ...data },
      },
    ],
  };
}

/** Why a dbserver cannot serve now, or null if it can. */
export function whyNotServing(state: ArbitratorState, id: PartyId, now: number): string | null {
  if (isServing(state, id, now)) return null;
  const h = state.reports[id];
  if (state.records.directives.drained.includes(id)) return 'drained';
  if (!h) return 'never reported';
  if (!isFresh(state, h.takenAt, now)) return 'no fresh report';
  if (h.body.mariadb !== 'up' || !h.body.wsrep) return 'mariadbd is down';
  const w = h.body.wsrep;
  if (w.clusterStatus !== 'Primary') return w.clusterStatus;
  if (w.localState !== 'Synced') return w.localState;
  return 'not ready';
}

function preferred(state: ArbitratorState, nodes: DbserverInfo[]): DbserverInfo | undefined {
  const rank = (d: DbserverInfo) => {
    const i = state.settings.dcOrder.indexOf(d.dc);
    return i < 0 ? state.settings.dcOrder.length : i;
  };
  return [...nodes].sort((a, b) => rank(a) - rank(b) || a.serial - b.serial)[0];
}

/**
 * Sticky among serving nodes, else the preferred DC's lowest serial. `except` is about to leave;
 * only nodes whose newest report arrived after `notBefore` are eligible.
 */
export function chooseWriter(state: ArbitratorState, now: number, except: readonly PartyId[] = [], notBefore = 0): PartyId | null {
  const cur = state.records.directives.writer;
  if (cur && !except.includes(cur) && isServing(state, cur, now)) return cur;
  const eligible = servingNodes(state, now).filter((d) => !except.includes(d.id) && (state.reports[d.id]?.takenAt ?? 0) > notBefore);
  return preferred(state, eligible)?.id ?? null;
}

/**
 * Since when the writer is known not to serve: its newest report, or the moment that report
 * went stale. Reports do not arrive together: right after a cut the other nodes' Primary
 * reports are older than the writer's non-Primary one and say nothing about now.
 */
function fellAt(state: ArbitratorState, id: PartyId, now: number): number {
  const h = state.reports[id];
  if (!h) return 0;
  return isFresh(state, h.takenAt, now) ? h.takenAt : h.takenAt + state.settings.timings.staleAfterMs;
}

/** After a restart the writer stays put until every dbserver has spoken, or staleAfter has passed. */
export function warmedUp(state: ArbitratorState, now: number): boolean {
  if (state.startedAt === null) return false;
  if (now - state.startedAt >= state.settings.timings.staleAfterMs) return true;
  return state.dbserversHeard >= state.settings.dbservers.length;
}

/**
 * Moves the writer when it can no longer serve; with nobody serving it stays (unless drained).
 * When the writer is first seen not serving, every dbserver is asked for a report at once, so
 * the replacement is chosen on news newer than the fall rather than on reports from before it.
 */
export function refreshWriter(state: ArbitratorState, now: number): ArbitratorStep {
  // The writer is the leader's to move (etcd store): a standby only watches.
  if (!warmedUp(state, now) || !acting(state)) return { state, effects: [] };
  const cur = state.records.directives.writer;
  if (cur && !dbserverInfo(state.settings, cur)) {
    return changeDirectives({ ...state, writerDownSince: null }, now, { writer: chooseWriter(state, now, [cur]) }, 'writer_changed', `writer ${cur} is not a dbserver of the site config any more`);
  }
  const drained = cur !== null && state.records.directives.drained.includes(cur);
  if (cur !== null && isServing(state, cur, now)) {
    return { state: state.writerDownSince === null ? state : { ...state, writerDownSince: null }, effects: [] };
  }
  let s = state;
  const effects: CommonEffect[] = [];
  if (cur !== null && !drained && s.writerDownSince === null) {
    s = { ...s, writerDownSince: fellAt(s, cur, now) };
    effects.push(...s.settings.dbservers.filter((d) => d.id !== cur).map((d) => publish(d.id, 'request_status', { arbiter: stampOf(s) })));
  }
  let next = chooseWriter(s, now, [], cur !== null && !drained ? (s.writerDownSince ?? 0) : 0);
  if (next === null && cur !== null && !drained) next = cur;
  if (next === cur) return { state: s, effects };
  const why = cur ? `${cur} cannot serve (${whyNotServing(s, cur, now)})` : 'no writer was chosen';
  const r = changeDirectives({ ...s, writerDownSince: null }, now, { writer: next }, 'writer_changed', `writer ${next ?? 'none'}: ${why}`, { previous: cur });
  return { state: r.state, effects: [...effects, ...r.effects] };
}

/**
 * Path 1 for the operator's word: a receiver follows directives of a newer epoch than these
 * records hold, so the records are a lost or old copy and the pause, drains and writer set since
 * are missing here. They are adopted as the site follows them (loudly): a restored arbitrator
 * never promotes through a pause the operator set after its backup was taken.
 */
export function adoptHeldDirectives(state: ArbitratorState, from: PartyId, held: HeldDirectivesReport | undefined, now: number): ArbitratorStep {
  const mine = state.records.directives;
  // A pause at my own epoch that I do not hold: two processes (a twin, a restored copy) each made
  // an epoch of that number, and the site follows the other's. A resume always makes a new epoch,
  // so at an equal epoch the pause wins, under a new epoch that reaches everyone (all-faults
  // campaign seed 103: the pause was lost with the twin that had received it).
  if (held && held.epoch === mine.epoch && held.paused && !mine.paused) {
    return changeDirectives(
      state,
      now,
      { paused: true, pausedBy: `adopted from ${from}`, pausedReason: 'a pause of an equal epoch that the site holds (two arbitrator processes or copies)', pausedAt: now },
      'directives_adopted',
      `${from} holds a PAUSE at directives epoch ${held.epoch}, the epoch of these records, which are not paused (another arbitrator process or copy made that epoch): the pause is adopted`,
      { from },
      'error',
    );
  }
  if (!held || held.epoch <= mine.epoch) return { state, effects: [] };
  const known = new Set(state.settings.dbservers.map((d) => d.id as string));
  const directives: DirectivesRecord = {
    epoch: held.epoch,
    drained: held.drained.filter((d) => known.has(d)).sort() as DirectivesRecord['drained'],
    paused: held.paused,
    pausedBy: held.paused ? (mine.paused ? mine.pausedBy : `adopted from ${from}`) : null,
    pausedReason: held.paused ? (mine.paused ? mine.pausedReason : 'the pause the site follows; these records were behind it') : null,
    pausedAt: held.paused ? (mine.paused ? mine.pausedAt : now) : null,
    writer: held.writer !== null && known.has(held.writer) ? (held.writer as DirectivesRecord['writer']) : null,
  };
  const text = `${from} follows directives epoch ${held.epoch}, newer than these records' ${mine.epoch} (a lost or restored state file): adopted — drained [${directives.drained.join(', ')}]${directives.paused ? ', PAUSED' : ''}, writer ${directives.writer ?? 'none'}`;
  const s = journal({ ...state, records: { ...state.records, directives } }, now, 'directives_adopted', text);
  return {
    state: s,
    effects: [
      { kind: 'persist', key: RECORD_KEYS.directives, value: directives },
      { kind: 'log', level: 'error', event: 'directives_adopted', msg: text, data: { from, epoch: held.epoch, mine: mine.epoch, paused: directives.paused, drained: directives.drained } },
    ],
  };
}
