import { Counter, Histogram } from 'prom-client';
import type { DbclientState } from '../roles/dbclient/core.js';
import { type PartyMetrics, readGauge } from './party-metrics.js';

const LB_STATES = ['ready', 'drain', 'maint', 'unknown'] as const;

/**
 * The dbclient's metrics: its load balancer's servers by state, sessions per server, the
 * directives epoch it applied, and how long each apply took and how often it failed (from the
 * apply_lb effect to the event that answers it).
 */
export function dbclientMetrics(m: PartyMetrics, o: { state: () => DbclientState | null }): void {
  const reg = m.registry;
  readGauge(reg, 'minder_dbclient_backend_servers', 'Servers of each logical backend, by the state the load balancer reports', ['backend', 'state'], () => {
    const seen = o.state()?.lb.observed;
    if (!seen) return [];
    const out: Array<[Record<string, string>, number]> = [];
    for (const backend of ['write', 'read']) {
      for (const state of LB_STATES) out.push([{ backend, state }, seen.filter((s) => s.backend === backend && s.state === state).length]);
    }
    return out;
  });
  readGauge(reg, 'minder_dbclient_server_sessions', 'Current sessions per server and backend, as the load balancer reports them', ['backend', 'server'], () =>
    (o.state()?.lb.observed ?? []).map((s) => [{ backend: s.backend, server: s.server }, s.sessions]),
  );
  readGauge(reg, 'minder_dbclient_lb_reachable', '1 while the load balancer answered the last call', [], () => {
    const r = o.state()?.lb.reachable;
    return r === null || r === undefined ? [] : [[{}, r ? 1 : 0]];
  });
  readGauge(reg, 'minder_dbclient_directives_epoch', 'Epoch of the directives applied to the load balancer', [], () => {
    const s = o.state();
    return s ? [[{}, s.epochApplied]] : [];
  });
  readGauge(reg, 'minder_dbclient_writer', '1 for the server this dbclient routes writes to', ['server'], () => {
    const w = o.state()?.writer;
    return w ? [[{ server: w }, 1]] : [];
  });

  const applyLatency = new Histogram({
    name: 'minder_dbclient_lb_apply_duration_seconds',
    help: 'From the decision to apply a desired state to the load balancer read back after it',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [reg],
  });
  const applies = new Counter({ name: 'minder_dbclient_lb_applies_total', help: 'Applies of a desired state, by result', labelNames: ['result'], registers: [reg] });
  const failures = new Counter({ name: 'minder_dbclient_lb_failures_total', help: 'Load balancer calls that failed, by call and error code', labelNames: ['during', 'code'], registers: [reg] });
  let applyingSince: number | null = null;
  m.onStep((step) => {
    const e = step.event;
    if (e.kind === 'lb_observed' && e.applied !== null && e.applied !== undefined && applyingSince !== null) {
      applyLatency.observe(Math.max(0, (step.now - applyingSince) / 1000));
      const errors = (e.applied as { errors?: unknown[] }).errors ?? [];
      applies.inc({ result: errors.length ? 'partial' : 'ok' });
      applyingSince = null;
    } else if (e.kind === 'lb_failed') {
      const code = typeof e.code === 'string' && /^[A-Z_]{1,32}$/.test(e.code) ? e.code : 'OTHER';
      failures.inc({ during: e.during === 'apply' ? 'apply' : 'observe', code });
      if (e.during === 'apply') {
        applies.inc({ result: 'failed' });
        applyingSince = null;
      }
    }
    if (step.effects.some((f) => f.kind === 'apply_lb')) applyingSince = step.now;
  });
}
