/**
 * The arbitrator's decision core alone, in process: how many db_status_reports per second it
 * applies with N dbservers (each reporting the same healthy 4-node Primary view, as a quiet
 * site does) after a warm-up round, with the evaluate timer fired as the RoleHost fires it, so
 * that per-report costs that grow with N show up without a network.
 *   npx tsc -p . && node dist/bench/arbitrator-core.js [N…]
 */
import type { Inbound } from '../src/correspondents/post-office.js';
import type { PartyId } from '../src/protocol/party.js';
import type { DbStatusReport } from '../src/protocol/verbs.js';
import type { CommonEvent } from '../src/roles/core.js';
import { arbitratorCore } from '../src/roles/arbitrator/core.js';
import { loadArbitratorRecords } from '../src/roles/arbitrator/records.js';
import { arbitratorSettings } from '../src/roles/arbitrator/settings.js';
import { type ArbitratorState, initialArbitratorState } from '../src/roles/arbitrator/state.js';
import { parseSiteConfig } from '../src/site/load-config.js';

function site(n: number) {
  const parties: unknown[] = [{ id: 'arbitrator:1', host: '127.0.0.2', port: 4800 }];
  for (let i = 1; i <= n; i++) {
    parties.push({
      id: `dbserver:${i}`,
      host: `127.0.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`,
      port: 4801,
      dc: i % 2 ? 'dc1' : 'dc2',
      nodeName: `n${i}`,
      mariadb: { host: '127.0.0.1', passwordFile: '/x' },
    });
  }
  // The timings of bench/scale's site. Spelled out: a config without a timings block parses to
  // no timings at all (zod 4's .default() skips the inner defaults), and every report is stale.
  const timings = { reportInterval: '1s', ackTimeout: '1s', failoverPeriod: '10s', staleAfter: '4s', makePrimaryValidFor: '30s' };
  const doc = { site: 's', dataCentres: { dc1: { priority: 1 }, dc2: { priority: 2 } }, keys: { send: 1, files: [{ id: 1, path: '/k' }] }, timings, parties };
  return parseSiteConfig(JSON.stringify(doc), 'bench', '/');
}

function report(i: number, now: number): DbStatusReport {
  const uuid = (k: number) => `00000000-0000-0000-0000-${String(k).padStart(12, '0')}`;
  const members = [1, 2, 3, 4].map((k) => ({ uuid: uuid(((i + k) % 4) + 1), name: `n${((i + k) % 4) + 1}`, address: '' }));
  return {
    observedAt: now,
    dc: i % 2 ? 'dc1' : 'dc2',
    mariadb: 'up',
    recovered: null,
    decision: null,
    error: null,
    wsrep: {
      clusterStatus: 'Primary',
      localState: 'Synced',
      ready: true,
      connected: true,
      clusterSize: 4,
      stateUuid: 'st',
      confId: 7,
      lastCommitted: 100,
      nodeUuid: uuid(i + 100),
      members,
      lastPrimary: { viewId: 'v7', members: members.map((m) => m.uuid) },
    },
  };
}

/** Runs the core as the RoleHost does: one event at a time, the timers it arms fired when due. */
class Driver {
  private readonly timers = new Map<string, number>();
  constructor(
    public state: ArbitratorState,
    public now: number,
  ) {}
  step(event: CommonEvent): void {
    const r = arbitratorCore.step(this.state, event, Math.round(this.now));
    this.state = r.state;
    for (const e of r.effects) if (e.kind === 'timer') this.timers.set(e.name, this.now + e.afterMs);
  }
  advanceTo(t: number): void {
    for (;;) {
      const due = [...this.timers].filter(([, at]) => at <= t).sort((a, b) => a[1] - b[1])[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = Math.max(this.now, due[1]);
      this.step({ kind: 'timer', name: due[0] });
    }
    this.now = t;
  }
}

for (const n of (process.argv.slice(2).length ? process.argv.slice(2) : ['10', '100', '1000']).map(Number)) {
  const settings = arbitratorSettings(site(n), 'arbitrator:1', 'bench');
  const d = new Driver(
    initialArbitratorState(
      settings,
      loadArbitratorRecords(() => undefined),
      { incarnation: 1 },
    ),
    1_700_000_000_000,
  );
  d.step({ kind: 'start' });
  const round = () => {
    for (let i = 1; i <= n; i++) {
      d.advanceTo(d.now + 1000 / n);
      const msg = { from: `dbserver:${i}` as PartyId, verb: 'db_status_report', body: report(i, Math.round(d.now)), envelope: {} as Inbound['envelope'], address: { address: '', port: 0 } } as Inbound;
      d.step({ kind: 'message', msg });
    }
  };
  // The first round is the warm-up: every party's first report since the start is material.
  round();
  const rounds = Math.max(3, Math.round(20_000 / n));
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) round();
  const ms = performance.now() - t0;
  const perSec = (rounds * n) / (ms / 1000);
  console.log(
    `${String(n).padStart(5)} dbservers: ${Math.round(perSec).toLocaleString('en')} reports/s applied by the core (evaluate timer included); at one report per dbserver per second that is ${((n / perSec) * 100).toFixed(1)} % of a core`,
  );
}
