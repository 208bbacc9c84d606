import type { PartyId } from '../../protocol/party.js';
import { type CommonEffect, publish } from '../core.js';
import { type ArbitratorState, MAX_CACHED_REPLIES, MAX_PENDING_PAUSES, type PendingPause, REPLY_CACHE_MS, type ArbitratorStep } from './state.js';

/**
 * The operator is told "paused" only once the pause lives somewhere besides this arbitrator's
 * state file: a dbserver or dbclient reports holding directives of the pause's epoch or newer.
 * Until then a lost or restored copy of that file would forget it with nobody to give it back
 * (all-faults seed 111659: paused while cut off from the site, restored from a backup taken
 * before, it promoted on the operator's "ok"). The pause acts here at once; only the answer waits.
 */
type Holder = { id: PartyId; paused: boolean; epoch: number };

/** A receiver whose newest report holds directives of `epoch` or newer, and what they say of the pause. */
export function pauseHolder(state: ArbitratorState, epoch: number): Holder | null {
  for (const [id, h] of Object.entries(state.reports)) if (h?.body.held && h.body.held.epoch >= epoch) return { id: id as PartyId, paused: h.body.held.paused, epoch: h.body.held.epoch };
  for (const [id, c] of Object.entries(state.clients)) if (c?.body.held && c.body.held.epoch >= epoch) return { id: id as PartyId, paused: c.body.held.paused, epoch: c.body.held.epoch };
  return null;
}

/** Answers the operator and remembers the answer (a resend of the request gets the same). */
export function answer(state: ArbitratorState, to: PartyId, requestId: string, ok: boolean, message: string, now: number): ArbitratorStep {
  const replies = [...state.replies.filter((r) => now - r.at < REPLY_CACHE_MS), { for: to, requestId, at: now, ok, message }].slice(-MAX_CACHED_REPLIES);
  return { state: { ...state, replies }, effects: [publish(to, 'command_reply', { requestId, ok, message })] };
}

/** An accepted pause: answered now if the site already holds its epoch, else when it does. */
export function awaitPause(state: ArbitratorState, p: Omit<PendingPause, 'at'>, now: number): ArbitratorStep {
  const holder = pauseHolder(state, p.epoch);
  if (holder) return settle(state, { ...p, at: now }, holder, now);
  const pendingPauses = [...state.pendingPauses, { ...p, at: now }].slice(-MAX_PENDING_PAUSES);
  return { state: { ...state, pendingPauses }, effects: [] };
}

/** What the holder follows decides the answer: the pause, or a resume that came after it. */
function settle(state: ArbitratorState, p: PendingPause, holder: Holder, now: number): ArbitratorStep {
  if (holder.paused) return answer(state, p.for, p.requestId, true, `${p.message}; ${holder.id} holds it`, now);
  return answer(state, p.for, p.requestId, false, `the pause of epoch ${p.epoch} was resumed since (${holder.id} holds epoch ${holder.epoch}, not paused)`, now);
}

/** After a report: the pauses now held by the site are confirmed to their operators. */
export function confirmPauses(state: ArbitratorState, now: number): ArbitratorStep {
  if (!state.pendingPauses.length) return { state, effects: [] };
  let s = state;
  const effects: CommonEffect[] = [];
  const left: PendingPause[] = [];
  for (const p of state.pendingPauses) {
    const holder = pauseHolder(s, p.epoch);
    if (!holder) {
      left.push(p);
      continue;
    }
    const r = settle(s, p, holder, now);
    s = r.state;
    effects.push(...r.effects, {
      kind: 'log',
      level: 'info',
      event: 'pause_confirmed',
      msg: `pause of epoch ${p.epoch} by ${p.operator || 'an unnamed operator'} answered: ${holder.id} holds epoch ${holder.epoch}${holder.paused ? '' : ', resumed since'}`,
      data: { epoch: p.epoch, holder: holder.id, paused: holder.paused, requestId: p.requestId },
    });
  }
  return { state: { ...s, pendingPauses: left }, effects };
}

/**
 * The operator's command asks again. Held by now: confirmed. Not held two ack timeouts after the
 * pause: the answer is a refusal that says what stands — the pause acts here, but nothing else
 * holds it — so the operator neither waits forever nor believes in a pause that a restore undoes.
 */
export function pauseAskedAgain(state: ArbitratorState, p: PendingPause, now: number): ArbitratorStep {
  const holder = pauseHolder(state, p.epoch);
  const pendingPauses = state.pendingPauses.filter((x) => x !== p);
  if (holder) return settle({ ...state, pendingPauses }, p, holder, now);
  // Two ack timeouts: the directives have been sent three times by then, and the command's third
  // try (its default patience) is the one answered.
  if (now - p.at < 2 * state.settings.timings.ackTimeoutMs) return { state, effects: [] };
  const secs = ((now - p.at) / 1000).toFixed(1);
  const text = `PAUSED in this arbitrator (epoch ${p.epoch}), but no dbserver or dbclient has confirmed holding it after ${secs} s: until one does, the pause lives only in this arbitrator's state file, and a lost or restored copy of that file forgets it. Promotions stay paused here; check that the arbitrator reaches the site (\`status\`), then run pause again to have it confirmed`;
  const r = answer({ ...state, pendingPauses }, p.for, p.requestId, false, text, now);
  return { state: r.state, effects: [...r.effects, { kind: 'log', level: 'warn', event: 'pause_unconfirmed', msg: text, data: { epoch: p.epoch, requestId: p.requestId } }] };
}
