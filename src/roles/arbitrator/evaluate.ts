import type { CommonEffect } from '../core.js';
import { type Candidate, candidateViews, compareCandidates, decisionKeyOf, settledSplit, structuralProblem } from './candidates.js';
import { capReached } from './cold-start.js';
import { recordDecision, decisionInFlight, describeWeights, expireDecisions, latestRefusal, spendingDecision } from './decisions.js';
import { clearFailed, duplicateNote, relearnStep } from './memory.js';
import { type FreshNode, freshNodes, isFresh, labelOf, seconds } from './observations.js';
import { EVALUATE_EVERY_MS } from './settings.js';
import { standbyReason } from './standby.js';
import { type ArbitratorState, type Evaluation, journal, type Reason } from './state.js';
import { tiltReason } from './tilt.js';

/**
 * The automatic promotion rule (docs/safety.md): every rule that fails is a reason; a candidate
 * is promoted only when none does. Pure: state and time in, state and effects out.
 */
export interface EvaluationStep {
  state: ArbitratorState;
  effects: CommonEffect[];
  /** When to look again: at the latest in a second, sooner when a failover period ends. */
  wakeInMs: number;
}

export function primaryNote(fresh: readonly FreshNode[]): string | null {
  const primaries = fresh.filter((n) => n.wsrep.clusterStatus === 'Primary');
  if (!primaries.length) return null;
  const confs = [...new Set(primaries.map((n) => n.wsrep.confId ?? '?'))].join(', ');
  return `a primary component exists: ${labelOf(primaries.map((n) => n.info.id))} (conf ${confs})`;
}

function nothingToJudge(state: ArbitratorState, now: number): Reason {
  const all = state.settings.dbservers.map((d) => state.reports[d.id]).filter((h) => h && isFresh(state, h.takenAt, now));
  if (all.length && all.every((h) => h?.body.mariadb === 'down')) {
    const seqnos = state.settings.dbservers.map((d) => `${d.id}=${state.reports[d.id]?.body.recovered?.seqno ?? '?'}`).join(', ');
    return { code: 'cold_start', view: null, text: `every mariadbd reporting is down (cold start; recovered seqnos ${seqnos}): the cold-start rule decides (docs/cold-start.md)` };
  }
  if (all.length === 0) return { code: 'no_reports', view: null, text: 'no fresh report from any dbserver' };
  return { code: 'no_reports', view: null, text: 'no fresh report shows a non-Primary view' };
}

/**
 * How far apart the failover periods of two candidates may end and still count as one tie. On
 * the lab the two halves of one cut were seen complete up to 0.65 s apart (one half passes
 * through transitional views first); half the failover period, at least one ack timeout (a lost
 * report resent), never more than the failover period.
 */
export function tieWindowMs(state: ArbitratorState): number {
  const t = state.settings.timings;
  return Math.min(t.failoverPeriodMs, Math.max(t.ackTimeoutMs, Math.round(t.failoverPeriodMs / 2)));
}

export function evaluate(state: ArbitratorState, now: number): EvaluationStep {
  const t = state.settings.timings;
  const fresh = freshNodes(state, now);
  const cands = candidateViews(state, fresh);
  const watched: Record<string, number> = {};
  for (const c of cands) if (!c.inconsistent && c.unheard.length === 0) watched[c.key] = state.watched[c.key] ?? now;
  let s: ArbitratorState = { ...state, watched };
  const reasons: Reason[] = [];
  const effects: CommonEffect[] = [];
  let wakeInMs = EVALUATE_EVERY_MS;

  // Housekeeping of the records first: expired decisions stop being sent, failures shown to
  // have had no effect free their key, a lost memory may have been re-learned.
  for (const step of [expireDecisions, clearFailed, relearnStep]) {
    const r = step(s, now, fresh);
    s = r.state;
    effects.push(...r.effects);
    wakeInMs = Math.min(wakeInMs, r.wakeInMs);
  }
  const blockers: Reason[] = [];
  const m = s.records.memory;
  if (m.relearning)
    blockers.push({
      code: 'relearning',
      view: null,
      text: `RELEARNING: this arbitrator may have lost decisions (${m.why ?? 'reason unknown'}); nothing is promoted until every member of the last primary component has reported what it carried out, or the operator runs \`relearned --force --reason\``,
    });
  const dup = duplicateNote(s, now);
  if (dup) blockers.push({ code: 'duplicate_arbitrator', view: null, text: dup });
  reasons.push(...blockers);

  const primary = primaryNote(fresh);
  if (primary) reasons.push({ code: 'primary_exists', view: null, text: primary });
  else if (cands.length === 0) reasons.push(nothingToJudge(s, now));

  const qualifying: Candidate[] = [];
  const settled = new Set<string>();
  const waiting: Array<{ c: Candidate; leftMs: number }> = [];
  for (const c of cands) {
    const problem = structuralProblem(c, s, fresh);
    if (problem) {
      reasons.push(problem);
      continue;
    }
    const spent = spendingDecision(s, decisionKeyOf(c.lastPrimary, c.view));
    if (spent) {
      reasons.push({ code: 'already_decided', view: c.label, text: `view ${c.label}: ${spent.id} already promoted ${labelOf(spent.members)} for this last primary component (${spent.outcome})` });
      continue;
    }
    // A refused decision may be decided anew, but not in a loop: the target refused for a
    // reason (view moved on, members unreadable) that takes a failover period to settle.
    const refused = latestRefusal(s, decisionKeyOf(c.lastPrimary, c.view));
    const refusedAt = refused ? (refused.outcomeAt ?? refused.decidedAt) : 0;
    if (refused && now - refusedAt < t.failoverPeriodMs) {
      const leftMs = t.failoverPeriodMs - (now - refusedAt);
      wakeInMs = Math.min(wakeInMs, leftMs);
      reasons.push({ code: 'waiting', view: c.label, text: `view ${c.label}: ${refused.id} was refused (${refused.outcomeReason ?? 'no reason given'}); deciding again in ${seconds(leftMs)}` });
      continue;
    }
    const elapsed = now - (watched[c.key] ?? now);
    if (elapsed < t.failoverPeriodMs && settledSplit(c, s, fresh, cands, now)) settled.add(c.key);
    else if (elapsed < t.failoverPeriodMs) {
      wakeInMs = Math.min(wakeInMs, t.failoverPeriodMs - elapsed);
      waiting.push({ c, leftMs: t.failoverPeriodMs - elapsed });
      reasons.push({ code: 'waiting', view: c.label, text: `view ${c.label} has been non-Primary for ${seconds(elapsed)}; waiting for the failover period (${seconds(t.failoverPeriodMs)})` });
      continue;
    }
    qualifying.push(c);
  }

  let decided: string | null = null;
  // Only the leader decides (etcd store); a standby says why it does not, and who leads.
  const standby = standbyReason(s);
  if (standby) reasons.unshift(standby);
  if (qualifying.length && !primary && blockers.length === 0 && !standby) {
    const inFlight = decisionInFlight(s, now);
    const d = s.records.directives;
    const tilt = tiltReason(s, now);
    if (tilt) {
      // Rule 11: after a wall-clock jump nothing is promoted until the TILT is over (tilt.ts).
      reasons.push(tilt);
      wakeInMs = Math.min(wakeInMs, (s.clock.tiltUntil ?? now) - now);
    } else if (inFlight) {
      reasons.push({ code: 'decision_in_flight', view: null, text: `${inFlight.id} (make_primary to ${inFlight.target}) is still being carried out` });
    } else if (d.paused) {
      for (const c of qualifying) {
        reasons.push({
          code: 'paused',
          view: c.label,
          text: `view ${c.label} qualifies, but automatic promotion is paused${d.pausedBy ? ` by ${d.pausedBy}` : ''}${d.pausedReason ? ` (${d.pausedReason})` : ''}`,
        });
      }
    } else {
      const [best, ...rest] = [...qualifying].sort(compareCandidates) as [Candidate, ...Candidate[]];
      // The two halves of one cut complete within moments of each other, so their failover
      // periods end moments apart: a preferred half about to qualify is waited for (rule 7).
      const better = waiting.filter((w) => w.leftMs <= tieWindowMs(s) && compareCandidates(w.c, best) < 0).sort((a, b) => compareCandidates(a.c, b.c))[0];
      if (better) {
        wakeInMs = Math.min(wakeInMs, better.leftMs);
        reasons.push({
          code: 'tie_wait',
          view: best.label,
          text: `view ${best.label} qualifies; waiting ${seconds(better.leftMs)} for view ${better.c.label}, preferred (DC priority, then seqno), whose failover period ends then`,
        });
      } else {
        const waited = settled.has(best.key)
          ? `a settled split (every other member of its last primary component is heard, down or non-Primary in a complete view; it outweighs every other dbserver), non-Primary for ${seconds(now - (watched[best.key] ?? now))}`
          : `non-Primary for ${seconds(now - (watched[best.key] ?? now))}`;
        const why = `${waited}, ${describeWeights(best)}${rest.length ? `; preferred over ${rest.map((r) => r.label).join(', ')} (DC priority, then seqno)` : ''}`;
        // Too many automatic actions in the window: something keeps failing; pause, loudly (cold-start.ts).
        const cap = capReached(s, now, `promote ${best.label}`);
        if (cap) {
          s = cap.state;
          effects.push(...cap.effects);
          reasons.push({ code: 'paused', view: best.label, text: `view ${best.label} qualifies, but the arbitrator paused itself: ${s.records.directives.pausedReason ?? 'cap reached'}` });
        } else {
          const r = recordDecision(s, best, now, { forced: false, operator: null, requestId: null, reason: why });
          s = r.state;
          effects.push(...r.effects);
          decided = r.decision.id;
          reasons.push({ code: 'decided', view: best.label, text: `promoted view ${best.label}: ${r.decision.id}, make_primary to ${r.decision.target}` });
          for (const c of rest) reasons.push({ code: 'not_chosen', view: c.label, text: `view ${c.label} also qualified; ${best.label} was preferred (DC priority, then seqno)` });
        }
      }
    }
  }
  const signature = reasons.map((r) => `${r.code}:${r.view ?? ''}`).join('|');
  const evaluation: Evaluation = { at: now, decided, reasons, signature };
  const changed = state.evaluation?.signature !== signature;
  s = { ...s, evaluation };
  if (changed && !decided) {
    const notable = reasons.filter((r) => r.code !== 'no_reports');
    if (notable.length) {
      const text = notable.map((r) => r.text).join('; ');
      s = journal(s, now, 'no_promotion', text);
      effects.push({ kind: 'log', level: 'info', event: 'no_promotion', msg: `not promoting: ${text}`, data: { reasons: notable.map((r) => ({ code: r.code, view: r.view })) } });
    }
  }
  return { state: s, effects, wakeInMs: Math.max(10, wakeInMs) };
}
