import { viewKey, viewOf } from '../../protocol/view.js';
import type { CommonEffect } from '../core.js';
import { type Candidate, candidateViews, decisionKeyOf, shortUuid, structuralProblem } from './candidates.js';
import { recordDecision, decisionInFlight, describeWeights, liveUntil, spendingDecision, spends, withdrawDecision } from './decisions.js';
import { duplicateNote } from './memory.js';
import { primaryNote } from './evaluate.js';
import { freshNodes, isFresh, labelOf } from './observations.js';
import { resolveDbserver } from './settings.js';
import type { ArbitratorState } from './state.js';

export interface PromoteRequest {
  target: string;
  force: boolean;
  operator: string;
  reason: string;
  requestId: string;
  /** Nodes outside the target the operator confirms are gone (`--confirm-lost`). */
  confirmLost?: readonly string[];
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

  if (state.records.memory.relearning) {
    return refuse(
      `this arbitrator is RELEARNING (${state.records.memory.why ?? 'its records are not trusted'}): it may not know a promotion already made. Once you have checked every node by hand, \`relearned --force --reason "…"\`, then promote`,
    );
  }
  const dup = duplicateNote(state, now);
  if (dup) return refuse(dup);

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
  const inFlight = decisionInFlight(state, now);
  if (!req.force) {
    if (spent) return refuse(`${spent.id} already promoted ${labelOf(spent.members)} for this last primary component (${spent.outcome}): a second promotion could make two primaries`);
    if (inFlight) return refuse(`${inFlight.id} (make_primary to ${inFlight.target}) is still being carried out`);
  }

  const targets = new Set<string>(c.nodes.map((n) => n.info.id));
  let effects: CommonEffect[] = [];
  let next = state;
  if (req.force) {
    // Path 5: the nodes that are, or may be, a primary component outside the target.
    const risk = atRisk(state, targets, key, now, c);
    const confirmed = new Set((req.confirmLost ?? []).map((x) => resolveDbserver(state.settings, x)?.id ?? x));
    const missing = risk.filter((r) => !confirmed.has(r.party));
    if (missing.length) {
      const names = missing.map((r) => r.party).join(',');
      return refuse(
        `${missing.map((r) => `${r.party} (${r.why})`).join('; ')}: they may be a live primary component that this arbitrator cannot hear, and a forced promote beside it makes two. Check them by hand (wsrep_cluster_status on each); only if they are really down, fenced or cut off for good, repeat with --confirm-lost ${names}`,
      );
    }
    // "promote --force supersedes whatever is pending", in two steps: a withdrawal cannot overtake
    // a make_primary its target may be carrying out this very moment (a report saying so may be
    // on its way), so the pending decisions are withdrawn now and the forced promote is carried
    // out only once each has concluded at its target (refused: the withdrawal arrived) or can act
    // no longer (its validity plus the skew bound). The operator repeats the command then.
    const pend = state.records.decisions.filter((d) => d.outcome === 'pending' && (d.key === key || d === inFlight || d.withdrawn !== null) && now < liveUntil(state, d));
    const busy = pend.find((d) => d.withdrawn === null && state.reports[d.target]?.body.decision?.id === d.id && state.reports[d.target]?.body.decision?.outcome === 'pending');
    if (busy)
      return refuse(
        `${busy.id} is being carried out by ${busy.target} right now (${state.reports[busy.target]?.body.decision?.reason ?? 'pending'}): wait for its outcome (at the latest ${new Date(liveUntil(state, busy)).toISOString()})`,
      );
    for (const d of pend.filter((x) => x.withdrawn === null)) {
      const w = withdrawDecision(next, d, now, req.operator, `superseded by a forced promote of ${what}`);
      next = w.state;
      effects = [...effects, ...w.effects];
    }
    if (pend.length) {
      const until = new Date(Math.max(...pend.map((d) => liveUntil(state, d)))).toISOString();
      const list = pend.map((d) => `${d.id} (to ${d.target})`).join(', ');
      return {
        state: next,
        effects,
        ok: false,
        message: `${list} withdrawn, not yet concluded: its target may be carrying it out right now. Repeat this promote once \`status\` shows it refused (the withdrawal arrived), or after ${until} when it can act no longer`,
      };
    }
  }

  const unheard = c.unheard.length ? `; members not heard: ${c.unheard.map(shortUuid).join(', ')}` : '';
  const lost = req.force && req.confirmLost?.length ? `; confirmed lost: ${req.confirmLost.join(', ')}` : '';
  const reason = `${req.force ? 'forced' : 'operator'} promote of ${what} by ${req.operator}: ${req.reason || '(no reason given)'}; ${describeWeights(c)}${unheard}${lost}`;
  const confirmedLost = (req.confirmLost ?? []).map((x) => resolveDbserver(state.settings, x)?.id).filter((x): x is NonNullable<typeof x> => x !== undefined);
  const r = recordDecision(next, c, now, { forced: req.force, operator: req.operator, requestId: req.requestId, reason, alsoSpends: req.force ? otherKeys(state, key) : [], confirmedLost });
  return {
    state: r.state,
    effects: [...effects, ...r.effects],
    ok: true,
    message: `${r.decision.id}: make_primary to ${r.decision.target} for view ${c.label} (${describeWeights(c)}${unheard}${lost}); watch \`status\` for the outcome`,
  };
}

interface AtRisk {
  party: string;
  why: string;
}

/**
 * Nodes outside the target that may be a live primary component (path 5): members of the last
 * primary component seen whose latest report, however old, said Primary; and the members of a
 * carried-out decision for the same last primary component; and the members of the target's own
 * last primary component that this arbitrator has no report from at all (never heard: they may
 * be Primary together, out of its sight).
 */
function atRisk(state: ArbitratorState, targets: ReadonlySet<string>, key: string, now: number, c: Candidate): AtRisk[] {
  const out = new Map<string, string>();
  const targetUuids = new Set(c.nodes.map((n) => n.wsrep.nodeUuid));
  const neverHeard = () => state.settings.dbservers.filter((d) => !targets.has(d.id) && state.reports[d.id] === undefined);
  for (const u of c.lastPrimary?.members ?? []) {
    if (targetUuids.has(u)) continue;
    const p = state.records.nodes[u]?.party ?? null;
    if (p !== null && !targets.has(p) && state.reports[p] === undefined) out.set(p, `a member of the target's last primary component, never heard from since this arbitrator started`);
    if (p === null) {
      for (const d of neverHeard()) if (!out.has(d.id)) out.set(d.id, `never heard from, and node ${shortUuid(u)} of the target's last primary component is not known here: it may be that node`);
    }
  }
  for (const m of state.records.lastPrimary?.members ?? []) {
    const p = m.party ?? state.records.nodes[m.uuid]?.party ?? null;
    if (!p || targets.has(p)) continue;
    const h = state.reports[p];
    if (h?.body.wsrep?.clusterStatus === 'Primary' && h.body.mariadb === 'up') {
      out.set(p, `its latest report, ${((now - h.receivedAt) / 1000).toFixed(1)} s old, said Primary (conf ${h.body.wsrep.confId ?? '?'})`);
    }
  }
  for (const d of state.records.decisions) {
    if ((d.key !== key && !d.alsoSpends.includes(key)) || !spends(d)) continue;
    // A pending one whose target is not heard may have been carried out unseen (path 9).
    const unheard = d.outcome === 'pending' && !isFresh(state, state.reports[d.target]?.receivedAt ?? Number.NEGATIVE_INFINITY, now);
    const why =
      d.outcome === 'carried_out'
        ? `${d.id} made it Primary for this last primary component`
        : d.outcome === 'failed'
          ? `${d.id} ran pc.bootstrap there and failed, which may yet have taken effect`
          : unheard
            ? `${d.id} was sent there and never answered: it may have been carried out unseen`
            : null;
    if (why) for (const p of [d.target, ...d.members]) if (!targets.has(p) && !out.has(p)) out.set(p, why);
  }
  return [...out].map(([party, why]) => ({ party, why }));
}

/**
 * The last primary components every stored report shows, besides the forced decision's own: a
 * forced promote (above all one with no known last primary component) spends them too, so that
 * the other side is never promoted automatically beside it (path 5).
 */
function otherKeys(state: ArbitratorState, key: string): string[] {
  const keys = new Set<string>();
  for (const h of Object.values(state.reports)) {
    const v = h.body.wsrep?.lastPrimary?.viewId;
    if (v && v !== key) keys.add(v);
  }
  return [...keys].slice(0, 64);
}
