import { createHash } from 'node:crypto';
import type { PrimaryView, ViewRef } from '../../protocol/verbs.js';
import { primaryViewKey, viewKey, viewOf } from '../../protocol/view.js';
import { type FreshNode, isFresh, labelOf, partyOfUuid, weighNode } from './observations.js';
import type { ArbitratorState, Reason } from './state.js';

/**
 * A candidate component: the fresh non-Primary reports that share one exact view, with what
 * rules 1 and 3 of docs/safety.md need to judge it. Pure bookkeeping; evaluate.ts judges.
 */
export interface Candidate {
  key: string;
  view: ViewRef;
  /** The fresh reporters of exactly this view, in serial order (never empty). */
  nodes: FreshNode[];
  label: string;
  /** Rule 1: a reporter that is not a member of the view it reports, or two reporters with one uuid. */
  inconsistent: string | null;
  /** Rule 1: members of the view without a fresh report of this same view. */
  unheard: string[];
  /** Rule 3: the last primary component every member reports, when they all agree on one. */
  lastPrimary: PrimaryView | null;
  lastPrimaryAgreed: boolean;
  /** Rule 3 weights, Galera's real ones (weighNode); null when a member of P cannot be weighed. */
  weightInLast: number | null;
  weightOfLast: number | null;
  unknownUuids: string[];
  /** Members of P whose real weight is unknown or not the config's: no automatic promotion. */
  weightProblems: Array<{ code: 'unknown_weight' | 'weight_mismatch'; text: string }>;
  /** Weight of the candidate in each DC, most preferred DC first (rule 7). */
  dcWeights: number[];
  maxSeqno: number;
  /** Rule 8: the one member make_primary goes to. */
  target: FreshNode;
}

export function shortUuid(u: string): string {
  return u.length > 8 ? u.slice(0, 8) : u;
}

/** One promotion per last primary component: decisions are keyed by P's view id. */
export function decisionKeyOf(lastPrimary: PrimaryView | null, view: ViewRef): string {
  if (lastPrimary) return lastPrimary.viewId;
  // Only a forced promote can name a view with no known LastPC; it is keyed by the view itself.
  return `view:${createHash('sha256').update(viewKey(view)).digest('hex').slice(0, 24)}`;
}

export function candidateViews(state: ArbitratorState, fresh: readonly FreshNode[]): Candidate[] {
  const groups = new Map<string, FreshNode[]>();
  for (const n of fresh) {
    if (n.wsrep.clusterStatus !== 'non-Primary') continue;
    const k = viewKey(viewOf(n.wsrep));
    const g = groups.get(k);
    if (g) g.push(n);
    else groups.set(k, [n]);
  }
  const out: Candidate[] = [];
  for (const [key, nodes] of groups) out.push(judgeGroup(state, key, nodes, fresh));
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function judgeGroup(state: ArbitratorState, key: string, nodes: FreshNode[], fresh: readonly FreshNode[]): Candidate {
  const first = nodes[0] as FreshNode;
  const view = viewOf(first.wsrep);
  const members = new Set(view.members);
  const label = labelOf(nodes.map((n) => n.info.id));

  let inconsistent: string | null = null;
  const seen = new Map<string, string>();
  for (const n of nodes) {
    const other = seen.get(n.wsrep.nodeUuid);
    if (other) inconsistent = `${n.info.id} and ${other} both report node uuid ${shortUuid(n.wsrep.nodeUuid)}`;
    seen.set(n.wsrep.nodeUuid, n.info.id);
    if (!members.has(n.wsrep.nodeUuid)) inconsistent = `${n.info.id} reports a view it is not a member of`;
  }
  const unheard = view.members.filter((u) => !seen.has(u));

  const lp = first.wsrep.lastPrimary;
  const lpKey = lp ? primaryViewKey(lp) : null;
  const lastPrimaryAgreed = nodes.every((n) => (n.wsrep.lastPrimary ? primaryViewKey(n.wsrep.lastPrimary) : null) === lpKey);
  const lastPrimary = lastPrimaryAgreed ? lp : null;

  let weightInLast: number | null = null;
  let weightOfLast: number | null = null;
  const unknownUuids: string[] = [];
  const weightProblems: Candidate['weightProblems'] = [];
  if (lastPrimary) {
    let total = 0;
    let inside = 0;
    let unweighable = false;
    for (const u of new Set(lastPrimary.members)) {
      const d = partyOfUuid(state, u, fresh);
      if (!d) {
        unknownUuids.push(u);
        continue;
      }
      const wd = weighNode(state, d, u, fresh);
      if (wd.problem) weightProblems.push(wd.problem);
      if (wd.weight === null) {
        unweighable = true;
        continue;
      }
      total += wd.weight;
      if (members.has(u) && seen.has(u)) inside += wd.weight;
    }
    if (unknownUuids.length === 0 && !unweighable) {
      weightInLast = inside;
      weightOfLast = total;
    }
  }

  const dcWeights = state.settings.dcOrder.map((dc) => nodes.filter((n) => n.info.dc === dc).reduce((s, n) => s + (n.wsrep.pcWeight ?? n.info.weight), 0));
  const maxSeqno = Math.max(...nodes.map((n) => n.wsrep.lastCommitted));
  const target = [...nodes].sort((a, b) => b.wsrep.lastCommitted - a.wsrep.lastCommitted || a.info.serial - b.info.serial)[0] as FreshNode;
  return { key, view, nodes, label, inconsistent, unheard, lastPrimary, lastPrimaryAgreed, weightInLast, weightOfLast, unknownUuids, weightProblems, dcWeights, maxSeqno, target };
}

/** Rules 1 and 3 for an automatic promotion: the first that fails, or null. */
export function structuralProblem(c: Candidate, state: ArbitratorState, fresh: readonly FreshNode[]): Reason | null {
  const v = c.label;
  if (c.inconsistent) return { code: 'inconsistent_report', view: v, text: `view ${v}: ${c.inconsistent}` };
  if (c.unheard.length) {
    const who = c.unheard.map((u) => {
      const d = partyOfUuid(state, u, fresh);
      const own = d ? fresh.find((n) => n.info.id === d.id) : undefined;
      if (own && own.wsrep.nodeUuid === u) return `${d?.id} (reports another view)`;
      return d ? `${d.id} (no fresh report)` : `${shortUuid(u)} (not a dbserver of this site)`;
    });
    return { code: 'unheard_member', view: v, text: `view ${v}: member${c.unheard.length > 1 ? 's' : ''} ${who.join(', ')} of the view unheard` };
  }
  if (!c.lastPrimaryAgreed) return { code: 'last_primary_differs', view: v, text: `view ${v}: its members report different last primary components` };
  if (!c.lastPrimary) return { code: 'no_last_primary', view: v, text: `view ${v}: its last primary component is unknown (no gvwstate.dat): only the operator can promote it` };
  if (c.unknownUuids.length) {
    return {
      code: 'unknown_weight',
      view: v,
      text: `view ${v}: member${c.unknownUuids.length > 1 ? 's' : ''} ${c.unknownUuids.map(shortUuid).join(', ')} of the last primary component cannot be weighed (never seen in a report)`,
    };
  }
  if (c.weightProblems.length) {
    // Galera counts the real pc.weight; a config that disagrees means the operator's picture is
    // wrong too, so nothing is promoted automatically until they agree (docs/safety.md, rule 3).
    const code = c.weightProblems.some((p) => p.code === 'unknown_weight') ? 'unknown_weight' : 'weight_mismatch';
    const real = c.weightInLast !== null && c.weightOfLast !== null ? `; by the real weights it holds ${c.weightInLast} of ${c.weightOfLast}` : '';
    return { code, view: v, text: `view ${v}: ${c.weightProblems.map((p) => p.text).join('; ')}${real}: not promoting until the config and Galera agree` };
  }
  if (c.weightInLast === null || c.weightOfLast === null) {
    return { code: 'unknown_weight', view: v, text: `view ${v}: a member of the last primary component cannot be weighed` };
  }
  if (c.weightOfLast <= 0 || c.weightInLast * 2 < c.weightOfLast) {
    return {
      code: 'below_half',
      view: v,
      text: `view ${v} holds weight ${c.weightInLast} of the last primary component's ${c.weightOfLast}, below half: only the operator can promote it (promote --force)`,
    };
  }
  return null;
}

/** Rule 7: the preferred DC's weight first, then the most advanced seqno, then the smallest view key. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  for (let i = 0; i < Math.max(a.dcWeights.length, b.dcWeights.length); i++) {
    const d = (b.dcWeights[i] ?? 0) - (a.dcWeights[i] ?? 0);
    if (d !== 0) return d;
  }
  if (a.maxSeqno !== b.maxSeqno) return b.maxSeqno - a.maxSeqno;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * A settled split (docs/safety.md, "Rule 2's settled split"): every member of C's last primary
 * component P outside C is heard, freshly, either as down or as non-Primary in a complete,
 * consistent view with that same P, and C outweighs every other dbserver of the site, in DC order
 * (rule 7's first criterion), strictly. Then no regrouping of the others can make a candidate
 * preferred to C, and the failover period would only delay the same decision: Galera has already
 * waited out its own suspect timeout before any node went non-Primary.
 */
export function settledSplit(c: Candidate, state: ArbitratorState, fresh: readonly FreshNode[], cands: readonly Candidate[], now: number): boolean {
  if (!c.lastPrimary) return false;
  const lastKey = primaryViewKey(c.lastPrimary);
  const inC = new Set(c.nodes.map((n) => n.info.id));
  const complete = new Set(cands.filter((x) => !x.inconsistent && x.unheard.length === 0).map((x) => x.key));
  for (const u of new Set(c.lastPrimary.members)) {
    const d = partyOfUuid(state, u, fresh);
    if (!d) return false;
    if (inC.has(d.id)) continue;
    const own = fresh.find((n) => n.info.id === d.id);
    if (own) {
      // A node that restarted since P has a new uuid: what it does now is not known from P.
      if (own.wsrep.nodeUuid !== u || own.wsrep.clusterStatus !== 'non-Primary') return false;
      if (!own.wsrep.lastPrimary || primaryViewKey(own.wsrep.lastPrimary) !== lastKey) return false;
      if (!complete.has(viewKey(viewOf(own.wsrep)))) return false;
    } else {
      const h = state.reports[d.id];
      if (!h || !isFresh(state, h.takenAt, now) || h.body.mariadb !== 'down') return false;
    }
  }
  // The worst case for C: every other dbserver of the site, heard or not, in one component.
  const others = state.settings.dcOrder.map((dc) => state.settings.dbservers.filter((d) => d.dc === dc && !inC.has(d.id)).reduce((s, d) => s + d.weight, 0));
  for (let i = 0; i < others.length; i++) {
    const d = (c.dcWeights[i] ?? 0) - (others[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return false;
}
