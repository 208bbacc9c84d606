import type { PartyId } from '../../protocol/party.js';
import type { Directives } from '../../protocol/verbs.js';
import { type CommonEffect, publish } from '../core.js';
import { isFresh, isServing, servingNodes } from './observations.js';
import { type DirectivesRecord, RECORD_KEYS } from './records.js';
import { type DbserverInfo, dbserverInfo } from './settings.js';
import { type ArbitratorState, journal } from './state.js';

/**
 * The operator's standing orders and the chosen writer, published as `directives` to every
 * dbclient and dbserver. Each change grows the epoch, is persisted, then published (acked and
 * resent by the post office until every receiver has the newest).
 */
type Step = { state: ArbitratorState; effects: CommonEffect[] };

export function directivesBody(d: DirectivesRecord): Directives {
  return { epoch: d.epoch, drained: [...d.drained], paused: d.paused, writer: d.writer };
}

export function publishDirectives(state: ArbitratorState): CommonEffect[] {
  const body = directivesBody(state.records.directives);
  const to: PartyId[] = [...state.settings.dbclients, ...state.settings.dbservers.map((d) => d.id)];
  return to.map((p) => publish(p, 'directives', { ...body, drained: [...body.drained] }));
}

/** Grows the epoch, persists, publishes, logs: the one way the directives change. */
export function changeDirectives(state: ArbitratorState, now: number, patch: Partial<Omit<DirectivesRecord, 'epoch'>>, event: string, text: string, data: Record<string, unknown> = {}): Step {
  const directives: DirectivesRecord = { ...state.records.directives, ...patch, epoch: state.records.directives.epoch + 1 };
  if (patch.drained) directives.drained = [...patch.drained].sort();
  let s: ArbitratorState = { ...state, records: { ...state.records, directives } };
  s = journal(s, now, event, `${text} (epoch ${directives.epoch})`);
  return {
    state: s,
    effects: [
      { kind: 'persist', key: RECORD_KEYS.directives, value: directives },
      ...publishDirectives(s),
      { kind: 'log', level: 'info', event, msg: `${text} (epoch ${directives.epoch})`, data: { epoch: directives.epoch, drained: directives.drained, paused: directives.paused, writer: directives.writer, ...data } },
    ],
  };
}

/** Why a dbserver cannot serve now, or null if it can. */
export function whyNotServing(state: ArbitratorState, id: PartyId, now: number): string | null {
  if (isServing(state, id, now)) return null;
  const h = state.reports[id];
  if (state.records.directives.drained.includes(id)) return 'drained';
  if (!h) return 'never reported';
  if (!isFresh(state, h.receivedAt, now)) return 'no fresh report';
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

/** Sticky among serving nodes, else the preferred DC's lowest serial; `except` is about to leave. */
export function chooseWriter(state: ArbitratorState, now: number, except: readonly PartyId[] = []): PartyId | null {
  const cur = state.records.directives.writer;
  if (cur && !except.includes(cur) && isServing(state, cur, now)) return cur;
  return preferred(state, servingNodes(state, now).filter((d) => !except.includes(d.id)))?.id ?? null;
}

/** After a restart the writer stays put until every dbserver has spoken, or staleAfter has passed. */
export function warmedUp(state: ArbitratorState, now: number): boolean {
  if (state.startedAt === null) return false;
  if (now - state.startedAt >= state.settings.timings.staleAfterMs) return true;
  return state.settings.dbservers.every((d) => state.heardSinceStart.includes(d.id));
}

/** Moves the writer when it can no longer serve; with nobody serving it stays (unless drained). */
export function refreshWriter(state: ArbitratorState, now: number): Step {
  if (!warmedUp(state, now)) return { state, effects: [] };
  const cur = state.records.directives.writer;
  if (cur && !dbserverInfo(state.settings, cur)) {
    return changeDirectives(state, now, { writer: chooseWriter(state, now, [cur]) }, 'writer_changed', `writer ${cur} is not a dbserver of the site config any more`);
  }
  let next = chooseWriter(state, now);
  if (next === null && cur !== null && !state.records.directives.drained.includes(cur)) next = cur;
  if (next === cur) return { state, effects: [] };
  const why = cur ? `${cur} cannot serve (${whyNotServing(state, cur, now)})` : 'no writer was chosen';
  return changeDirectives(state, now, { writer: next }, 'writer_changed', `writer ${next ?? 'none'}: ${why}`, { previous: cur });
}
