import { Counter } from 'prom-client';
import type { ArbitratorState } from '../roles/arbitrator/state.js';
import { buildSummary } from '../roles/arbitrator/summary.js';
import type { StatusSummary } from '../roles/arbitrator/summary-doc.js';
import { type PartyMetrics, readGauge } from './party-metrics.js';

/** What a party's CLUSTER column says, as a bounded label: unknown when its report is not fresh. */
export const CLUSTER_STATES = ['Primary', 'non-Primary', 'Disconnected', 'down', 'unknown'] as const;

export function clusterStateOf(p: StatusSummary['parties'][number]): (typeof CLUSTER_STATES)[number] {
  if (!p.fresh || p.db === null) return 'unknown';
  if (p.db.mariadb === 'down') return 'down';
  return p.db.cluster ?? 'unknown';
}

/**
 * The arbitrator's metrics: the site as its status document shows it (built from the state after
 * the last step, at scrape time), and counters of what its steps decided (from their log effects).
 */
export function arbitratorMetrics(m: PartyMetrics, o: { state: () => ArbitratorState | null; now: () => number }): void {
  const reg = m.registry;
  let cached: { at: number; doc: StatusSummary } | null = null;
  // One document per scrape, however many gauges read it.
  const doc = (): StatusSummary | null => {
    const s = o.state();
    if (s === null) return null;
    const now = o.now();
    if (cached === null || now - cached.at > 50) cached = { at: now, doc: buildSummary(s, now) };
    return cached.doc;
  };
  const perParty = (f: (p: StatusSummary['parties'][number]) => number | null) => (): Array<[Record<string, string>, number]> => {
    const out: Array<[Record<string, string>, number]> = [];
    for (const p of doc()?.parties ?? []) {
      const v = f(p);
      if (v !== null) out.push([{ party: p.party }, v]);
    }
    return out;
  };
  readGauge(
    reg,
    'minder_arbitrator_party_fresh',
    "1 while the party's last report is younger than staleAfter",
    ['party'],
    perParty((p) => (p.fresh ? 1 : 0)),
  );
  readGauge(
    reg,
    'minder_arbitrator_party_report_age_seconds',
    "Age of the party's last report at the arbitrator (absent: never heard)",
    ['party'],
    perParty((p) => (p.reportAgeMs === null ? null : p.reportAgeMs / 1000)),
  );
  readGauge(reg, 'minder_arbitrator_party_cluster_state', "1 for the dbserver's cluster state as the arbitrator knows it (unknown: no fresh report)", ['party', 'state'], () =>
    (doc()?.parties ?? [])
      .filter((p) => p.type === 'dbserver')
      .flatMap((p) => CLUSTER_STATES.map((state) => [{ party: p.party, state }, clusterStateOf(p) === state ? 1 : 0] as [Record<string, string>, number])),
  );
  readGauge(
    reg,
    'minder_arbitrator_party_synced',
    '1 while a fresh report says Synced and ready',
    ['party'],
    perParty((p) => (p.db === null ? null : p.fresh && p.db.localState === 'Synced' && p.db.ready === true ? 1 : 0)),
  );
  readGauge(
    reg,
    'minder_arbitrator_party_serving',
    '1 while the dbserver may serve (fresh, Primary, Synced, ready, not drained)',
    ['party'],
    perParty((p) => (p.db === null ? null : p.db.serving ? 1 : 0)),
  );
  readGauge(
    reg,
    'minder_arbitrator_party_drained',
    '1 while the dbserver is drained',
    ['party'],
    perParty((p) => (p.db === null ? null : p.db.drained ? 1 : 0)),
  );
  readGauge(
    reg,
    'minder_arbitrator_party_writer',
    "1 for the arbitrator's chosen writer",
    ['party'],
    perParty((p) => (p.db === null ? null : p.db.writer ? 1 : 0)),
  );
  readGauge(
    reg,
    'minder_arbitrator_party_sessions',
    'Load balancer sessions to the dbserver, summed over the dbclients (absent: none reported)',
    ['party'],
    perParty((p) => p.db?.sessions ?? null),
  );
  readGauge(reg, 'minder_arbitrator_primary_nodes', 'Dbservers whose fresh report says Primary (0: no primary component that the arbitrator can see)', [], () => {
    const d = doc();
    return d ? [[{}, d.parties.filter((p) => clusterStateOf(p) === 'Primary').length]] : [];
  });
  readGauge(reg, 'minder_arbitrator_last_primary_members', 'Members of the last primary component seen', [], () => {
    const lp = doc()?.arbitrator.lastPrimary;
    return lp ? [[{}, lp.members.length]] : [];
  });
  readGauge(reg, 'minder_arbitrator_last_primary_conf_id', 'Configuration id of the last primary component seen', [], () => {
    const lp = doc()?.arbitrator.lastPrimary;
    return lp && lp.confId !== null ? [[{}, lp.confId]] : [];
  });
  readGauge(reg, 'minder_arbitrator_last_primary_age_seconds', 'Since when the last primary component was last seen', [], () => {
    const lp = doc()?.arbitrator.lastPrimary;
    return lp ? [[{}, lp.ageMs / 1000]] : [];
  });
  readGauge(reg, 'minder_arbitrator_paused', '1 while automatic promotion is paused', [], () => {
    const d = doc();
    return d ? [[{}, d.arbitrator.paused ? 1 : 0]] : [];
  });
  readGauge(reg, 'minder_arbitrator_drained_nodes', 'Dbservers drained by the operator', [], () => {
    const d = doc();
    return d ? [[{}, d.arbitrator.drained.length]] : [];
  });
  readGauge(reg, 'minder_arbitrator_directives_epoch', 'Epoch of the standing directives (drains, pause, writer)', [], () => {
    const d = doc();
    return d ? [[{}, d.arbitrator.epoch]] : [];
  });
  readGauge(reg, 'minder_arbitrator_evaluation_reason', '1 for each reason code of the latest evaluation (why nothing is promoted, or that something was)', ['code'], () => {
    const codes = new Set((doc()?.arbitrator.evaluation?.reasons ?? []).map((r) => r.code));
    return [...codes].map((code) => [{ code }, 1]);
  });
  readGauge(reg, 'minder_arbitrator_decisions', 'Decisions on record, by outcome', ['outcome'], () => {
    const s = o.state();
    const count = new Map<string, number>([
      ['pending', 0],
      ['carried_out', 0],
      ['refused', 0],
      ['failed', 0],
    ]);
    for (const d of s?.records.decisions ?? []) count.set(d.outcome, (count.get(d.outcome) ?? 0) + 1);
    return [...count].map(([outcome, n]) => [{ outcome }, n]);
  });

  const promotions = new Counter({ name: 'minder_arbitrator_promotions_total', help: 'make_primary decisions taken, automatic or forced by an operator', labelNames: ['forced'], registers: [reg] });
  promotions.inc({ forced: 'false' }, 0);
  promotions.inc({ forced: 'true' }, 0);
  const outcomes = new Counter({ name: 'minder_arbitrator_decision_outcomes_total', help: 'Decision outcomes reported back by their target', labelNames: ['outcome'], registers: [reg] });
  const refusals = new Counter({ name: 'minder_arbitrator_operator_refusals_total', help: 'Operator requests refused, by verb', labelNames: ['verb'], registers: [reg] });
  const operator = new Counter({ name: 'minder_arbitrator_operator_requests_total', help: 'Operator requests carried out, by verb', labelNames: ['verb'], registers: [reg] });
  const noPromotion = new Counter({ name: 'minder_arbitrator_no_promotion_total', help: 'Changes of the reasons why nothing is promoted, by reason code', labelNames: ['code'], registers: [reg] });
  const OPERATOR = /^operator_(drain|undrain|pause|resume|promote|status_summary)$/;
  m.onStep((step) => {
    for (const e of step.effects) {
      if (e.kind !== 'log') continue;
      const event = String(e.event);
      const data = (e.data ?? {}) as Record<string, unknown>;
      if (event === 'promotion') promotions.inc({ forced: 'false' });
      else if (event === 'forced_promotion') promotions.inc({ forced: 'true' });
      else if (event === 'decision_carried_out' || event === 'decision_refused' || event === 'decision_failed') outcomes.inc({ outcome: event.slice('decision_'.length) });
      else if (event === 'operator_refused') refusals.inc({ verb: typeof data.verb === 'string' && /^[a-z_]{1,20}$/.test(data.verb) ? data.verb : 'other' });
      else if (OPERATOR.test(event)) operator.inc({ verb: event.slice('operator_'.length) });
      else if (event === 'no_promotion') {
        const codes = new Set<string>();
        for (const r of Array.isArray(data.reasons) ? data.reasons : []) {
          const code = (r as { code?: unknown }).code;
          if (typeof code === 'string' && /^[a-z_]{1,32}$/.test(code)) codes.add(code);
        }
        for (const code of codes) noPromotion.inc({ code });
      }
    }
  });
}
