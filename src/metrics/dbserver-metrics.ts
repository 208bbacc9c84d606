import { Counter, Histogram } from 'prom-client';
import type { DbserverState } from '../roles/dbserver/core.js';
import type { Health } from '../roles/dbserver/health.js';
import { type PartyMetrics, readGauge } from './party-metrics.js';

export const WSREP_CLUSTER_STATES = ['Primary', 'non-Primary', 'Disconnected', 'unknown'] as const;
/** wsrep_local_state_comment as Galera writes it; anything else is `other`. */
export const WSREP_LOCAL_STATES = ['Joining', 'Donor/Desynced', 'Joined', 'Synced', 'Initialized', 'other'] as const;

const oneHot = <T extends string>(all: readonly T[], label: string, value: T): Array<[Record<string, string>, number]> => all.map((v) => [{ [label]: v }, v === value ? 1 : 0]);

/**
 * The dbserver's metrics: wsrep as it last read it, its readings and their latency, the hook's
 * and the status file's signals, make_primary outcomes, and its own /read and /write answers.
 */
export function dbserverMetrics(m: PartyMetrics, o: { self: string; state: () => DbserverState | null; health: () => Health | null; wall: () => number }): void {
  const reg = m.registry;
  const reading = () => o.state()?.reading ?? null;
  readGauge(reg, 'minder_dbserver_mariadb_up', '1 while the last reading reached mariadbd', [], () => {
    const r = reading();
    return r ? [[{}, r.mariadb === 'up' ? 1 : 0]] : [];
  });
  readGauge(reg, 'minder_dbserver_wsrep_cluster_state', '1 for wsrep_cluster_status as last read (unknown: no wsrep status)', ['state'], () =>
    oneHot(WSREP_CLUSTER_STATES, 'state', reading()?.wsrep?.clusterStatus ?? 'unknown'),
  );
  readGauge(reg, 'minder_dbserver_wsrep_local_state', '1 for wsrep_local_state_comment as last read', ['state'], () => {
    const ls = reading()?.wsrep?.localState;
    if (ls === undefined) return [];
    return oneHot(WSREP_LOCAL_STATES, 'state', (WSREP_LOCAL_STATES as readonly string[]).includes(ls) ? (ls as (typeof WSREP_LOCAL_STATES)[number]) : 'other');
  });
  readGauge(reg, 'minder_dbserver_wsrep_ready', 'wsrep_ready as last read', [], () => {
    const w = reading()?.wsrep;
    return w ? [[{}, w.ready ? 1 : 0]] : [];
  });
  readGauge(reg, 'minder_dbserver_wsrep_cluster_size', 'wsrep_cluster_size as last read', [], () => {
    const w = reading()?.wsrep;
    return w ? [[{}, w.clusterSize]] : [];
  });
  readGauge(reg, 'minder_dbserver_wsrep_last_committed', 'wsrep_last_committed as last read', [], () => {
    const w = reading()?.wsrep;
    return w ? [[{}, w.lastCommitted]] : [];
  });
  readGauge(reg, 'minder_dbserver_reading_age_seconds', 'Age of the last reading of mariadbd', [], () => {
    const r = reading();
    return r ? [[{}, Math.max(0, (o.wall() - r.at) / 1000)]] : [];
  });
  readGauge(reg, 'minder_dbserver_drained', '1 while the arbitrator has this node drained', [], () => {
    const d = o.state()?.directives;
    return d ? [[{}, d.drained.includes(o.self as never) ? 1 : 0]] : [];
  });
  readGauge(reg, 'minder_dbserver_health_read', '1 while GET /read answers 200', [], () => {
    const h = o.health();
    return h ? [[{}, h.read.ok ? 1 : 0]] : [];
  });
  readGauge(reg, 'minder_dbserver_health_write', '1 while GET /write answers 200 (this node is the writer)', [], () => {
    const h = o.health();
    return h ? [[{}, h.write.ok ? 1 : 0]] : [];
  });
  readGauge(reg, 'minder_dbserver_directives_epoch', 'Epoch of the directives last received from the arbitrator', [], () => {
    const d = o.state()?.directives;
    return d ? [[{}, d.epoch]] : [];
  });

  const readings = new Counter({ name: 'minder_dbserver_readings_total', help: 'Readings of mariadbd, by whether mariadbd answered', labelNames: ['mariadb'], registers: [reg] });
  const latency = new Histogram({
    name: 'minder_dbserver_reading_duration_seconds',
    help: 'Time one reading of mariadbd took (status, membership, datadir)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [reg],
  });
  const signals = new Counter({
    name: 'minder_dbserver_signals_total',
    help: 'State-change signals: the wsrep_notify_cmd hook, the wsrep_status_file, a lost connection',
    labelNames: ['source'],
    registers: [reg],
  });
  for (const source of ['hook', 'status_file', 'connection_lost']) signals.inc({ source }, 0);
  const makePrimary = new Counter({ name: 'minder_dbserver_make_primary_total', help: 'make_primary decisions concluded here, by outcome', labelNames: ['outcome'], registers: [reg] });
  const bootstraps = new Counter({ name: 'minder_dbserver_pc_bootstrap_total', help: 'pc.bootstrap attempts, by result', labelNames: ['result'], registers: [reg] });
  m.onStep((step) => {
    const e = step.event;
    if (e.kind === 'observed') {
      const r = e.reading as { at?: unknown; mariadb?: unknown } | undefined;
      readings.inc({ mariadb: r?.mariadb === 'up' ? 'up' : 'down' });
      // A reading's `at` is the wall clock when it began (the daemon's clock.now()).
      if (typeof r?.at === 'number') latency.observe(Math.max(0, (step.wall - r.at) / 1000));
    } else if (e.kind === 'status_file_changed') signals.inc({ source: 'status_file' });
    else if (e.kind === 'connection_lost') signals.inc({ source: 'connection_lost' });
    else if (e.kind === 'bootstrap_done') bootstraps.inc({ result: e.ok === true ? 'ok' : 'error' });
    else if (e.kind === 'message' && (e.msg as { verb?: unknown } | undefined)?.verb === 'wsrep_notify') signals.inc({ source: 'hook' });
    for (const f of step.effects) {
      if (f.kind !== 'log') continue;
      const m2 = /^make_primary_(carried_out|refused|failed)$/.exec(String(f.event));
      if (m2) makePrimary.inc({ outcome: m2[1] as string });
    }
  });
}
