import { viewKey, viewOf } from '../../protocol/view.js';
import type { CommonEffect } from '../core.js';
import { candidateViews, decisionKeyOf, shortUuid, structuralProblem } from './candidates.js';
import { decide, decisionInFlight, describeWeights, spendingDecision } from './decisions.js';
import { primaryNote } from './decide.js';
import { freshNodes, labelOf } from './observations.js';
import { resolveDbserver } from './settings.js';
import type { ArbitratorState } from './state.js';

export interface PromoteRequest {
  target: string;
  force: boolean;
  operator: string;
  reason: string;
  requestId: string;
}

export interface OperatorOutcome {
  state: ArbitratorState;
  effects: CommonEffect[];
  ok: boolean;
  message: string;
}

/**
 * The operator's promote (rule 9 of docs/safety.md). Without --force it is the automatic rule
 * minus the failover wait and the pause: the operator asks for it now. With --force the
 * half-weight rule is waived — the operator vouches that the rest is gone — but the request
 * still names the exact current non-Primary view of the target's fresh reports, and is still
 * refused while anything is Primary or when this last primary component was already decided.
 */
export function operatorPromote(state: ArbitratorState, req: PromoteRequest, now: number): OperatorOutcome {
  const refuse = (message: string): OperatorOutcome => ({ state, effects: [], ok: false, message });
  const again = state.records.decisions.find((d) => d.requestId === req.requestId && d.operator === req.operator);
  if (again) return { state, effects: [], ok: true, message: `${again.id}: make_primary to ${again.target} (${again.outcome})` };

  const s = state.settings;
  const dc = s.dcOrder.includes(req.target) ? req.target : null;
  const node = dc ? undefined : resolveDbserver(s, req.target);
  if (!dc && !node) return refuse(`unknown target ${req.target}: name a data centre (${s.dcOrder.join(', ')}) or a dbserver (${s.dbservers.map((d) => d.id).join(', ')})`);
  if (req.force && req.reason.trim() === '') return refuse('a forced promote needs a reason (--reason "…"); it is logged with your name');

  const fresh = freshNodes(state, now);
  const primary = primaryNote(fresh);
  if (primary) return refuse(`${primary}: nothing is promoted while one exists`);
  const what = dc ? `data centre ${dc}` : (node?.id as string);
  const mine = fresh.filter((n) => (dc ? n.info.dc === dc : n.info.id === node?.id));
  if (mine.length === 0) return refuse(`no fresh report from ${what}: a promote must name the view it applies to`);
  const nonPrimary = mine.filter((n) => n.wsrep.clusterStatus === 'non-Primary');
  if (nonPrimary.length === 0) return refuse(`${what} is not in a non-Primary view (${mine.map((n) => `${n.info.id}: ${n.wsrep.clusterStatus}`).join(', ')})`);
  const keys = [...new Set(nonPrimary.map((n) => viewKey(viewOf(n.wsrep))))];
  if (keys.length > 1) {
    return refuse(`the nodes of ${what} are in ${keys.length} different views (${nonPrimary.map((n) => `${n.info.id}: ${n.wsrep.members.length} members`).join(', ')}): name one dbserver`);
  }
  const c = candidateViews(state, fresh).find((x) => x.key === keys[0]);
  if (!c) return refuse(`no candidate view for ${what}`);

  if (req.force) {
    if (c.inconsistent) return refuse(`view ${c.label}: ${c.inconsistent}`);
    if (!c.lastPrimaryAgreed) return refuse(`view ${c.label}: its members report different last primary components; name one dbserver`);
  } else {
    const problem = structuralProblem(c, state, fresh);
    if (problem) return refuse(`${problem.text}; add --force --reason "…" only if the rest of the cluster is really gone`);
  }
  const key = decisionKeyOf(c.lastPrimary, c.view);
  const spent = spendingDecision(state, key);
  if (spent) return refuse(`${spent.id} already promoted ${labelOf(spent.members)} for this last primary component (${spent.outcome}): a second promotion could make two primaries`);
  const inFlight = decisionInFlight(state, now);
  if (inFlight) return refuse(`${inFlight.id} (make_primary to ${inFlight.target}) is still being carried out`);

  const unheard = c.unheard.length ? `; members not heard: ${c.unheard.map(shortUuid).join(', ')}` : '';
  const reason = `${req.force ? 'forced' : 'operator'} promote of ${what} by ${req.operator}: ${req.reason || '(no reason given)'}; ${describeWeights(c)}${unheard}`;
  const r = decide(state, c, now, { forced: req.force, operator: req.operator, requestId: req.requestId, reason });
  return {
    state: r.state,
    effects: r.effects,
    ok: true,
    message: `${r.decision.id}: make_primary to ${r.decision.target} for view ${c.label} (${describeWeights(c)}${unheard}); watch \`status\` for the outcome`,
  };
}
