import type { Inbound } from '../../correspondents/post-office.js';
import type { PartyId } from '../../protocol/party.js';
import type { BodyOf } from '../../protocol/verbs.js';
import { type CommonEffect, publish } from '../core.js';
import { operatorBootstrap } from './cold-start.js';
import { changeDirectives, chooseWriter } from './directives.js';
import { isServing, servingNodes } from './observations.js';
import { encodePages, PagingError } from '../../protocol/paging.js';
import { liveUntil, withdrawDecision } from './decisions.js';
import { endRelearning } from './memory.js';
import { answer, awaitPause, pauseAskedAgain } from './pause-confirm.js';
import { operatorPromote, type OperatorOutcome } from './promote.js';
import { resolveDbserver } from './settings.js';
import { type ArbitratorState, MAX_CACHED_SUMMARIES, REPLY_CACHE_MS, SUMMARY_CACHE_MS, type ArbitratorStep } from './state.js';
import { buildSummary } from './summary.js';

/**
 * The operator's verbs, from transient `command:N` parties. They are not acked at the protocol
 * level: the command resends the same requestId until a `command_reply` arrives, so every
 * reply is remembered for a while and a resend gets the same answer instead of a second action.
 */
export type OperatorVerb = 'drain' | 'undrain' | 'pause' | 'resume' | 'promote' | 'bootstrap' | 'withdraw' | 'relearned' | 'status_summary';

export function isOperatorVerb(v: string): v is OperatorVerb {
  return v === 'drain' || v === 'undrain' || v === 'pause' || v === 'resume' || v === 'promote' || v === 'bootstrap' || v === 'withdraw' || v === 'relearned' || v === 'status_summary';
}

function clip(s: string, n = 800): string {
  return s.length > n ? `${s.slice(0, n - 3)}...` : s;
}

export function handleOperator(state: ArbitratorState, msg: Inbound, now: number): ArbitratorStep {
  const from = msg.from;
  if (msg.verb === 'status_summary') return sendSummary(state, from, msg.body as BodyOf<'status_summary'>, now);
  const body = msg.body as { requestId: string; operator: string; reason: string };
  const s0 = { ...state, replies: state.replies.filter((r) => now - r.at < REPLY_CACHE_MS) };
  const cached = s0.replies.find((r) => r.for === from && r.requestId === body.requestId);
  if (cached) return { state: s0, effects: [reply(from, body.requestId, cached.ok, cached.message)] };
  const waiting = s0.pendingPauses.find((p) => p.for === from && p.requestId === body.requestId);
  if (waiting) return pauseAskedAgain(s0, waiting, now);

  let out: OperatorOutcome;
  switch (msg.verb) {
    case 'drain':
      out = drain(s0, msg.body as BodyOf<'drain'>, now);
      break;
    case 'undrain':
      out = undrain(s0, msg.body as BodyOf<'undrain'>, now);
      break;
    case 'pause':
      out = pause(s0, msg.body as BodyOf<'pause'>, now);
      break;
    case 'resume':
      out = resume(s0, msg.body as BodyOf<'resume'>, now);
      break;
    case 'promote': {
      const b = msg.body as BodyOf<'promote'>;
      out = operatorPromote(s0, { target: b.target, force: b.force, operator: b.operator, reason: b.reason, requestId: b.requestId, ...(b.confirmLost ? { confirmLost: b.confirmLost } : {}) }, now);
      break;
    }
    case 'bootstrap': {
      const b = msg.body as BodyOf<'bootstrap'>;
      out = operatorBootstrap(s0, { target: b.target, force: b.force, confirm: b.confirm, operator: b.operator, reason: b.reason, requestId: b.requestId }, now);
      break;
    }
    case 'withdraw':
      out = withdraw(s0, msg.body as BodyOf<'withdraw'>, now);
      break;
    case 'relearned':
      out = relearned(s0, msg.body as BodyOf<'relearned'>, now);
      break;
    default:
      return { state, effects: [] };
  }
  const message = clip(out.message);
  const log: CommonEffect = out.ok
    ? {
        kind: 'log',
        level: 'info',
        event: `operator_${msg.verb}`,
        msg: `${msg.verb} by ${body.operator} via ${from}: ${message}`,
        data: { operator: body.operator, from, reason: body.reason, requestId: body.requestId },
      }
    : {
        kind: 'log',
        level: 'warn',
        event: 'operator_refused',
        msg: `refused ${msg.verb} by ${body.operator} via ${from}: ${message}`,
        data: { verb: msg.verb, operator: body.operator, from, reason: body.reason, requestId: body.requestId },
      };
  const state2 = out.ok ? out.state : { ...out.state, journal: [...out.state.journal, { at: now, event: 'operator_refused', text: `${msg.verb} by ${body.operator}: ${message}` }].slice(-50) };
  const answered =
    msg.verb === 'pause' && out.ok
      ? awaitPause(state2, { for: from, requestId: body.requestId, epoch: state2.records.directives.epoch, operator: body.operator, message }, now)
      : answer(state2, from, body.requestId, out.ok, message, now);
  return { state: answered.state, effects: [...out.effects, log, ...answered.effects] };
}

function reply(to: PartyId, requestId: string, ok: boolean, message: string): CommonEffect {
  return publish(to, 'command_reply', { requestId, ok, message: clip(message) });
}

function by(operator: string, reason: string): string {
  return `by ${operator || 'an unnamed operator'}${reason ? ` (${reason})` : ''}`;
}

function drain(state: ArbitratorState, b: BodyOf<'drain'>, now: number): OperatorOutcome {
  const info = resolveDbserver(state.settings, b.node);
  const d = state.records.directives;
  if (!info) return { state, effects: [], ok: false, message: `${b.node} is not a dbserver of this site (${state.settings.dbservers.map((x) => x.id).join(', ')})` };
  if (d.drained.includes(info.id)) return { state, effects: [], ok: true, message: `${info.id} is already drained (epoch ${d.epoch})` };
  if (isServing(state, info.id, now) && servingNodes(state, now).every((x) => x.id === info.id)) {
    return { state, effects: [], ok: false, message: `${info.id} is the last node that can serve (fresh, Primary, Synced, ready, not drained): draining it would leave the site without a database` };
  }
  const writer = d.writer === info.id ? chooseWriter(state, now, [info.id]) : d.writer;
  const handoff = d.writer === info.id ? `; writer handed to ${writer ?? 'nobody (no other node serves)'}` : '';
  const r = changeDirectives(state, now, { drained: [...d.drained, info.id], writer }, 'drained', `${info.id} drained ${by(b.operator, b.reason)}${handoff}`, {
    operator: b.operator,
    reason: b.reason,
  });
  return { ...r, ok: true, message: `${info.id} drained: no new connections, existing ones finish (epoch ${r.state.records.directives.epoch})${handoff}` };
}

function undrain(state: ArbitratorState, b: BodyOf<'undrain'>, now: number): OperatorOutcome {
  const info = resolveDbserver(state.settings, b.node);
  const d = state.records.directives;
  if (!info) return { state, effects: [], ok: false, message: `${b.node} is not a dbserver of this site (${state.settings.dbservers.map((x) => x.id).join(', ')})` };
  if (!d.drained.includes(info.id)) return { state, effects: [], ok: true, message: `${info.id} is not drained (epoch ${d.epoch})` };
  const drained = d.drained.filter((x) => x !== info.id);
  const after: ArbitratorState = { ...state, records: { ...state.records, directives: { ...d, drained } } };
  const writer = d.writer ?? chooseWriter(after, now);
  const r = changeDirectives(state, now, { drained, writer }, 'undrained', `${info.id} undrained ${by(b.operator, b.reason)}`, { operator: b.operator, reason: b.reason });
  return { ...r, ok: true, message: `${info.id} undrained: it takes new connections when it serves (epoch ${r.state.records.directives.epoch})` };
}

function pause(state: ArbitratorState, b: BodyOf<'pause'>, now: number): OperatorOutcome {
  const d = state.records.directives;
  if (d.paused) return { state, effects: [], ok: true, message: `already paused${d.pausedBy ? ` by ${d.pausedBy}` : ''} (epoch ${d.epoch})` };
  const r = changeDirectives(
    state,
    now,
    { paused: true, pausedBy: b.operator || null, pausedReason: b.reason || null, pausedAt: now },
    'paused',
    `automatic promotion PAUSED ${by(b.operator, b.reason)}`,
    { operator: b.operator, reason: b.reason },
  );
  return { ...r, ok: true, message: `paused: nothing is promoted automatically until resume (epoch ${r.state.records.directives.epoch})` };
}

/**
 * The operator withdraws a pending decision (path 3). It stays on record and keeps spending its
 * last primary component until its target reports (refused: freed; carried out: it is Primary).
 */
function withdraw(state: ArbitratorState, b: BodyOf<'withdraw'>, now: number): OperatorOutcome {
  const d = state.records.decisions.find((x) => x.id === b.decisionId);
  if (!d) return { state, effects: [], ok: false, message: `no decision ${b.decisionId} on record (\`status\` lists the last ones)` };
  if (d.withdrawn) return { state, effects: [], ok: true, message: `${d.id} was already withdrawn by ${d.withdrawn.by}` };
  if (d.outcome !== 'pending')
    return { state, effects: [], ok: false, message: `${d.id} is ${d.outcome.replace('_', ' ')} (${d.outcomeReason ?? 'no reason given'}): only a pending decision can be withdrawn` };
  if (!b.reason.trim()) return { state, effects: [], ok: false, message: 'withdraw needs a reason (--reason "…")' };
  const r = withdrawDecision(state, d, now, b.operator || 'an unnamed operator', b.reason);
  const until = new Date(liveUntil(state, d)).toISOString();
  return {
    ...r,
    ok: true,
    message: `${d.id} withdrawn: ${d.target} refuses it if the withdrawal reaches it before it acts; if not, it can act on it at the latest until ${until} (its validity plus the maximum clock skew). It still counts as made until ${d.target} reports`,
  };
}

/** The operator vouches that no promotion this arbitrator forgot is live (path 1). */
function relearned(state: ArbitratorState, b: BodyOf<'relearned'>, now: number): OperatorOutcome {
  if (!state.records.memory.relearning) return { state, effects: [], ok: true, message: 'not relearning: the records are trusted' };
  if (!b.force || !b.reason.trim()) return { state, effects: [], ok: false, message: 'relearned needs --force and a reason' };
  const r = endRelearning(state, now, `the operator ${b.operator || '(unnamed)'} said so: ${b.reason}`);
  return {
    state: r.state,
    effects: r.effects,
    ok: true,
    message: `records trusted again on ${b.operator || 'your'} word (${state.records.decisions.length} decision(s) on record); promotions resume`,
  };
}

function resume(state: ArbitratorState, b: BodyOf<'resume'>, now: number): OperatorOutcome {
  const d = state.records.directives;
  if (!d.paused) return { state, effects: [], ok: true, message: `not paused (epoch ${d.epoch})` };
  const r = changeDirectives(state, now, { paused: false, pausedBy: null, pausedReason: null, pausedAt: null }, 'resumed', `automatic promotion resumed ${by(b.operator, b.reason)}`, {
    operator: b.operator,
    reason: b.reason,
  });
  return { ...r, ok: true, message: `resumed: automatic promotion is on (epoch ${r.state.records.directives.epoch})` };
}

/**
 * Pages of one summary must come from one document: the document is kept per (command,
 * requestId) for a while, so pages asked for again fit the ones already received.
 */
function sendSummary(state: ArbitratorState, from: PartyId, b: BodyOf<'status_summary'>, now: number): ArbitratorStep {
  const summaries = state.summaries.filter((x) => now - x.at < SUMMARY_CACHE_MS);
  let entry = summaries.find((x) => x.for === from && x.requestId === b.requestId);
  let s: ArbitratorState = { ...state, summaries };
  if (!entry) {
    entry = { for: from, requestId: b.requestId, at: now, doc: buildSummary(state, now) };
    s = { ...s, summaries: [...summaries, entry].slice(-MAX_CACHED_SUMMARIES) };
  }
  let pages: Array<Uint8Array<ArrayBuffer>>;
  try {
    pages = encodePages(entry.doc);
  } catch (err) {
    const why = err instanceof PagingError ? err.message : `cannot encode the summary: ${(err as Error).message}`;
    return { state: s, effects: [reply(from, b.requestId, false, why)] };
  }
  const wanted = b.pages === null ? pages.map((_, i) => i) : [...new Set(b.pages)].filter((i) => i < pages.length);
  const effects: CommonEffect[] = wanted.map((i) => publish(from, 'status_summary_page', { requestId: b.requestId, page: i, pages: pages.length, chunk: pages[i] as Uint8Array<ArrayBuffer> }));
  return { state: s, effects };
}
