import type { Inbound } from '../../src/correspondents/post-office.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { BodyOf, DbStatusReport, Member, PrimaryView, Verb, WsrepStatus } from '../../src/protocol/verbs.js';
import { type ArbitratorEvent, arbitratorCore } from '../../src/roles/arbitrator/core.js';
import { loadArbitratorRecords, RECORD_KEYS, TRUSTED_MEMORY } from '../../src/roles/arbitrator/records.js';
import { type ArbitratorSettings, arbitratorSettings } from '../../src/roles/arbitrator/settings.js';
import { type ArbitratorState, initialArbitratorState, type ReasonCode } from '../../src/roles/arbitrator/state.js';
import type { CommonEffect, CommonEvent, PublishEffect } from '../../src/roles/core.js';
import { parseSiteConfig } from '../../src/site/load-config.js';
import type { SiteConfig } from '../../src/site/schema.js';

/**
 * A 2+2 site for the arbitrator's unit tests: dbserver:1,2 (n1, n2) in dc1 (priority 1, the
 * primary DC), dbserver:3,4 (n3, n4) in dc2; one dbclient; failover 10 s, stale after 15 s.
 */
export const STATE_UUID = '6c5624f0-e740-11f1-badd-cb4543f021a3';
export const U = {
  n1: '6c55c6ce-e740-11f1-8064-5bf51de6a90f',
  n2: '6c75275e-e740-11f1-9280-3b53ce101d31',
  n3: '6ed73426-e740-11f1-afdb-bf63b58f5b08',
  n4: '7231a579-e740-11f1-983a-e3696406502b',
  n5: '8231a579-e740-11f1-983a-e3696406502c',
} as const;
export type Node = 'n1' | 'n2' | 'n3' | 'n4' | 'n5';
export const PARTY: Record<Node, PartyId> = { n1: 'dbserver:1', n2: 'dbserver:2', n3: 'dbserver:3', n4: 'dbserver:4', n5: 'dbserver:5' };
export const T0 = 1_700_000_000_000;

export function siteYaml(opts: { nodes?: Node[]; weights?: Partial<Record<Node, number>>; dcOf?: Partial<Record<Node, string>>; timings?: Record<string, string> } = {}): string {
  const nodes = opts.nodes ?? ['n1', 'n2', 'n3', 'n4'];
  const dcOf = (n: Node) => opts.dcOf?.[n] ?? (n === 'n1' || n === 'n2' ? 'dc1' : 'dc2');
  const t = { reportInterval: '5s', ackTimeout: '3s', failoverPeriod: '10s', staleAfter: '15s', makePrimaryValidFor: '30s', ...opts.timings };
  return [
    'site: testsite',
    'dataCentres: { dc1: { priority: 1 }, dc2: { priority: 2 }, witness: { priority: 3 } }',
    'keys: { send: 1, files: [ { id: 1, path: /nonexistent/site.key } ] }',
    `timings: { ${Object.entries(t)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')} }`,
    'stateDir: /tmp/arbitrator-unit',
    'parties:',
    '  - { id: "arbitrator:1", host: 10.0.0.1, port: 4800, dc: witness }',
    ...nodes.map(
      (n) => `  - { id: "${PARTY[n]}", host: 10.0.1.${n.slice(1)}, port: 4801, dc: ${dcOf(n)}, weight: ${opts.weights?.[n] ?? 1}, nodeName: ${n}, mariadb: { socket: /x.sock, passwordFile: /x.pw } }`,
    ),
    '  - { id: "dbclient:1", host: 10.0.2.1, port: 4802, loadBalancer: { kind: haproxy, socket: /x.sock } }',
  ].join('\n');
}

export function siteConfig(opts: Parameters<typeof siteYaml>[0] = {}): SiteConfig {
  return parseSiteConfig(siteYaml(opts), 'test', '/tmp');
}

export function settingsFor(opts: Parameters<typeof siteYaml>[0] = {}): ArbitratorSettings {
  return arbitratorSettings(siteConfig(opts), 'arbitrator:1', 'test.yaml');
}

export function member(n: Node): Member {
  return { uuid: U[n], name: n, address: `127.0.0.${10 + Number(n.slice(1))}:3306` };
}

export function lastPrimaryOf(nodes: Node[], viewId = 'pc-4'): PrimaryView {
  return { viewId, members: nodes.map((n) => U[n]).sort() };
}

/** The whole 4-node cluster Primary (conf 5). */
export function primary(self: Node, nodes: Node[] = ['n1', 'n2', 'n3', 'n4'], over: Partial<WsrepStatus> = {}): WsrepStatus {
  return {
    clusterStatus: 'Primary',
    localState: 'Synced',
    ready: true,
    connected: true,
    clusterSize: nodes.length,
    stateUuid: STATE_UUID,
    confId: 5,
    lastCommitted: 100,
    nodeUuid: U[self],
    members: nodes.map(member),
    lastPrimary: lastPrimaryOf(nodes),
    // Galera's real pc.weight, as a dbserver reads it (the config's weight 1 here).
    pcWeight: 1,
    ...over,
  };
}

/** `self` in the non-Primary view of `view`, descended from the 4-node primary component. */
export function nonPrimary(self: Node, view: Node[], over: Partial<WsrepStatus> = {}): WsrepStatus {
  return {
    clusterStatus: 'non-Primary',
    localState: 'Initialized',
    ready: false,
    connected: true,
    clusterSize: view.length,
    stateUuid: STATE_UUID,
    confId: null,
    lastCommitted: 100,
    nodeUuid: U[self],
    members: view.map(member),
    lastPrimary: lastPrimaryOf(['n1', 'n2', 'n3', 'n4']),
    pcWeight: 1,
    ...over,
  };
}

export function report(wsrep: WsrepStatus | null, extra: Partial<DbStatusReport> = {}): DbStatusReport {
  return { observedAt: 0, dc: 'dc1', mariadb: wsrep ? 'up' : 'down', wsrep, recovered: null, decision: null, error: null, ...extra };
}

export function inbound<V extends Verb>(from: PartyId, verb: V, body: BodyOf<V>, id = 1): Inbound {
  return {
    from,
    verb,
    body,
    envelope: { site: 'testsite', from, to: 'arbitrator:1', verb, inc: 1, id, at: 0, body },
    address: { address: '10.0.0.9', port: 5000 },
  } as Inbound;
}

/**
 * Runs the core the way the RoleHost does (events one at a time, effects in order, timers by
 * name), with a durable map that survives `restart()`.
 */
export class ArbDriver {
  state: ArbitratorState;
  now: number;
  readonly timers = new Map<string, number>();
  readonly log: CommonEffect[] = [];
  /** Called after every step of the core (tests check invariants step by step). */
  onStep: ((prev: ArbitratorState, d: ArbDriver, effects: CommonEffect[]) => void) | null = null;
  private msgId = 1;

  constructor(
    readonly settings: ArbitratorSettings = settingsFor(),
    readonly durable: Map<string, unknown> = new Map(),
    now = T0,
    incarnation = 1,
    /**
     * A blank durable map is, by default, an arbitrator installed before the test began (its
     * records trusted). `lostState` makes it a state file that was deleted or recreated.
     */
    opts: { lostState?: boolean; instance?: string } = {},
  ) {
    this.now = now;
    if (!opts.lostState && durable.size === 0) durable.set(RECORD_KEYS.memory, structuredClone(TRUSTED_MEMORY));
    this.state = initialArbitratorState(
      settings,
      loadArbitratorRecords((k) => structuredClone(durable.get(k)), now),
      { incarnation, ...(opts.instance ? { instance: opts.instance } : {}) },
    );
  }

  step(event: CommonEvent | ArbitratorEvent): CommonEffect[] {
    const prev = this.state;
    const r = arbitratorCore.step(this.state, event, this.now);
    this.state = r.state;
    const effects = r.effects as CommonEffect[];
    for (const e of effects) {
      if (e.kind === 'persist') this.durable.set(e.key, structuredClone(e.value));
      else if (e.kind === 'timer') this.timers.set(e.name, this.now + e.afterMs);
      else if (e.kind === 'cancel_timer') this.timers.delete(e.name);
    }
    this.log.push(...effects);
    this.onStep?.(prev, this, effects);
    return effects;
  }

  start(): CommonEffect[] {
    return this.step({ kind: 'start' });
  }

  report(n: Node, wsrep: WsrepStatus | null, extra: Partial<DbStatusReport> = {}): CommonEffect[] {
    return this.step({ kind: 'message', msg: inbound(PARTY[n], 'db_status_report', report(wsrep, extra), this.msgId++) });
  }

  command<V extends Verb>(verb: V, body: BodyOf<V>, from: PartyId = 'command:1'): CommonEffect[] {
    return this.step({ kind: 'message', msg: inbound(from, verb, body, this.msgId++) });
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): CommonEffect[] {
    const end = this.now + ms;
    const out: CommonEffect[] = [];
    for (;;) {
      const due = [...this.timers.entries()].filter(([, at]) => at <= end).sort((a, b) => a[1] - b[1])[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = Math.max(this.now, due[1]);
      out.push(...this.step({ kind: 'timer', name: due[0] }));
    }
    this.now = end;
    return out;
  }

  /** A new arbitrator process on the same durable records. */
  restart(incarnation = 2, opts: { lostState?: boolean; instance?: string } = {}): ArbDriver {
    const next = new ArbDriver(this.settings, this.durable, this.now, incarnation, opts);
    next.onStep = this.onStep;
    return next;
  }
}

/**
 * The publishes of one verb. For make_primary: the promotions only — a withdrawal (an expired or
 * withdrawn decision, `withdrawn: true`) travels as make_primary too, and `withdrawals` lists those.
 */
export function publishes<V extends Verb>(effects: readonly CommonEffect[], verb: V): Array<Extract<PublishEffect, { verb: V }>> {
  return effects.filter(
    (e): e is Extract<PublishEffect, { verb: V }> => e.kind === 'publish' && e.verb === verb && !(verb === 'make_primary' && (e.body as { withdrawn?: boolean }).withdrawn === true),
  );
}

export function withdrawals(effects: readonly CommonEffect[]): Array<Extract<PublishEffect, { verb: 'make_primary' }>> {
  return effects.filter((e): e is Extract<PublishEffect, { verb: 'make_primary' }> => e.kind === 'publish' && e.verb === 'make_primary' && e.body.withdrawn === true);
}

export function replies(effects: readonly CommonEffect[]): Array<BodyOf<'command_reply'>> {
  return publishes(effects, 'command_reply').map((e) => e.body);
}

export function op<T extends object = object>(requestId: string, extra?: T): { requestId: string; operator: string; reason: string } & T {
  return { requestId, operator: 'alice', reason: 'test', ...(extra ?? ({} as T)) };
}

/** Reports every node of the two halves of a 2+2 cut. */
/** Both halves report their non-Primary view: a settled split, which is promoted at once. */
export function cutInHalves(d: ArbDriver, over: Partial<Record<Node, Partial<WsrepStatus>>> = {}): CommonEffect[] {
  const out: CommonEffect[] = [];
  for (const n of ['n1', 'n2'] as const) out.push(...d.report(n, nonPrimary(n, ['n1', 'n2'], over[n])));
  for (const n of ['n3', 'n4'] as const) out.push(...d.report(n, nonPrimary(n, ['n3', 'n4'], over[n])));
  return out;
}

/**
 * A cut the arbitrator cannot call settled: dc2's half is complete, dc1 is still regrouping (each
 * node alone in its view, below half). Only dc2 can qualify, after the failover period.
 */
export function cutUnsettled(d: ArbDriver): CommonEffect[] {
  const out: CommonEffect[] = [];
  for (const n of ['n1', 'n2'] as const) out.push(...d.report(n, nonPrimary(n, [n])));
  for (const n of ['n3', 'n4'] as const) out.push(...d.report(n, nonPrimary(n, ['n3', 'n4'])));
  return out;
}

/** Keeps reports fresh while time passes: each node of `who` (default: all that reported) re-reports its last wsrep every `every` ms. */
export function hold(d: ArbDriver, ms: number, every = 2000, who?: Node[]): CommonEffect[] {
  const out: CommonEffect[] = [];
  for (let t = 0; t < ms; t += every) {
    out.push(...d.advance(Math.min(every, ms - t)));
    for (const [party, h] of Object.entries(d.state.reports)) {
      const n = (Object.keys(PARTY) as Node[]).find((k) => PARTY[k] === party);
      if (n && h.body.wsrep && (!who || who.includes(n))) out.push(...d.report(n, h.body.wsrep));
    }
  }
  return out;
}

/** A started arbitrator that has heard all four nodes Primary (the site before a cut). */
export function started(d = new ArbDriver()): ArbDriver {
  d.start();
  for (const n of ['n1', 'n2', 'n3', 'n4'] as const) d.report(n, primary(n));
  return d;
}

/**
 * `n` reports again what it last reported, now holding the arbitrator's current directives (as a
 * dbserver does once they reach it): the step that confirms a pause to the operator.
 */
export function holdsDirectives(d: ArbDriver, n: Node = 'n1'): CommonEffect[] {
  const r = d.state.reports[PARTY[n]];
  const x = d.state.records.directives;
  return d.report(n, r?.body.wsrep ?? null, { held: { epoch: x.epoch, drained: [...x.drained], paused: x.paused, writer: x.writer } });
}

/** The reason codes of the last evaluation. */
export function codes(d: ArbDriver): ReasonCode[] {
  return d.state.evaluation?.reasons.map((r) => r.code) ?? [];
}
