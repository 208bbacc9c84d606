import type { PartyId } from '../../protocol/party.js';
import type { Inbound } from '../../correspondents/post-office.js';
import { type CommonEffect, publish } from '../core.js';
import type { ArbitratorRecords } from './records.js';
import { type ArbitratorState, journal, type Reason } from './state.js';

/**
 * Leadership, as the decision core sees it (pure). With `arbitrator.store: local` the state has
 * no `store` and the arbitrator always acts. With etcd the daemon tells the core, by a `store`
 * event, whether this arbitrator holds the leader lease (and its fencing token), who else does,
 * or that the store cannot be reached. Only a leader decides, moves the writer, changes
 * directives or republishes decisions; a standby keeps the same hot view (reports, the records
 * as the leader wrote them) and answers `status`, and refuses the operator's changes with the
 * leader's name.
 */
export interface StoreView {
  kind: 'etcd';
  leading: boolean;
  /** This term's fencing token while leading. */
  token: number | null;
  /** The arbitrator that leads, when known (not us). */
  leader: { party: PartyId; host: string; port: number } | null;
  /** Why nobody can lead from here: etcd unreachable, no quorum, a failed write. */
  problem: string | null;
  since: number;
}

export type StoreEvent = {
  kind: 'store';
  view: Omit<StoreView, 'since'>;
  /** The records as etcd holds them (on taking the lead, and on a standby whenever they changed). */
  records: ArbitratorRecords | null;
};

export function initialStoreView(now: number): StoreView {
  return { kind: 'etcd', leading: false, token: null, leader: null, problem: 'connecting to etcd', since: now };
}

/** True when this arbitrator may act: no store (local), or it leads. */
export function acting(state: ArbitratorState): boolean {
  return state.store === undefined || state.store.leading;
}

export function leaderText(v: StoreView): string {
  if (v.leading) return `this arbitrator leads (etcd lease, token ${v.token})`;
  if (v.problem) return `the arbitrator store is unavailable: ${v.problem}`;
  if (v.leader) return `${v.leader.party} at ${v.leader.host}:${v.leader.port} leads`;
  return 'no arbitrator leads yet';
}

/** The reason a standby gives instead of promoting (shown in status and logged on change). */
export function standbyReason(state: ArbitratorState): Reason | null {
  const v = state.store;
  if (!v || v.leading) return null;
  if (v.problem) return { code: 'store_unavailable', view: null, text: `deciding nothing: ${leaderText(v)}` };
  return { code: 'standby', view: null, text: `standing by: ${leaderText(v)}; this arbitrator decides nothing` };
}

/** The refusal of an operator's change on a standby: name the leader so the command can go there. */
export function standbyRefusal(state: ArbitratorState): string | null {
  const v = state.store;
  if (!v || v.leading) return null;
  if (v.problem) return `${state.settings.self} cannot act: ${leaderText(v)}; nothing was changed`;
  if (v.leader) return `${state.settings.self} is standing by; the leader is ${v.leader.party} at ${v.leader.host}:${v.leader.port}: send the command there (minder command --to ${v.leader.party})`;
  return `${state.settings.self} is standing by and no arbitrator leads yet; try again in a few seconds`;
}

/**
 * A standby refuses every operator change, naming the leader (no state changes, so a resent
 * request gets the same answer). Null when this arbitrator acts.
 */
export function refuseOnStandby(state: ArbitratorState, msg: Inbound): CommonEffect[] | null {
  const text = standbyRefusal(state);
  if (text === null) return null;
  const b = msg.body as { requestId?: unknown; operator?: unknown };
  const requestId = typeof b.requestId === 'string' ? b.requestId : '';
  const operator = typeof b.operator === 'string' ? b.operator : '';
  return [
    {
      kind: 'log',
      level: 'warn',
      event: 'operator_refused',
      msg: `refused ${msg.verb} by ${operator} via ${msg.from}: ${text}`,
      data: { verb: msg.verb, operator, from: msg.from, requestId, standby: true },
    },
    publish(msg.from, 'command_reply', { requestId, ok: false, message: text }),
  ];
}

export interface StoreStep {
  state: ArbitratorState;
  effects: CommonEffect[];
  /** This arbitrator has just taken the lead: finish pending decisions, publish the directives. */
  tookLead: boolean;
}

export function applyStore(state: ArbitratorState, ev: StoreEvent, now: number): StoreStep {
  const prev = state.store;
  const view: StoreView = { ...ev.view, since: prev && sameView(prev, ev.view) ? prev.since : now };
  const tookLead = view.leading && !(prev?.leading && prev.token === view.token);
  // A leader is the only writer: what it holds is newer than anything it reads back. Everyone
  // else, and a leader taking over, takes the store's records as they are.
  const records = ev.records && (!view.leading || tookLead) ? ev.records : state.records;
  let s: ArbitratorState = { ...state, store: view, records };
  const effects: CommonEffect[] = [];
  if (!prev || !sameView(prev, view)) {
    const text = leaderText(view);
    const level = view.problem ? 'warn' : 'info';
    const event = view.leading ? 'leading' : view.problem ? 'store_unavailable' : 'standing_by';
    effects.push({ kind: 'log', level, event, msg: text, data: { leading: view.leading, token: view.token, leader: view.leader?.party ?? null, problem: view.problem } });
    s = journal(s, now, event, text);
  }
  return { state: s, effects, tookLead };
}

function sameView(a: Omit<StoreView, 'since'>, b: Omit<StoreView, 'since'>): boolean {
  return a.leading === b.leading && a.token === b.token && a.problem === b.problem && a.leader?.party === b.leader?.party;
}
