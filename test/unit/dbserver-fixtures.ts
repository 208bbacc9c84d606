import type { Inbound } from '../../src/correspondents/post-office.js';
import type { PartyId } from '../../src/protocol/party.js';
import type { BodyOf, MakePrimary, Member, Verb, WsrepStatus } from '../../src/protocol/verbs.js';
import { viewOf } from '../../src/protocol/view.js';
import type { CommonEvent } from '../../src/roles/core.js';
import { type DbserverEffect, type DbserverEvent, type DbserverSettings, type DbserverState, dbserverCore, DEFAULT_TUNING, initialState } from '../../src/roles/dbserver/core.js';
import type { Reading } from '../../src/roles/dbserver/reading.js';

export const STATE_UUID = '6c5624f0-e740-11f1-badd-cb4543f021a3';
export const U = {
  n1: '6c55c6ce-e740-11f1-8064-5bf51de6a90f',
  n2: '6c75275e-e740-11f1-9280-3b53ce101d31',
  n3: '6ed73426-e740-11f1-afdb-bf63b58f5b08',
  n4: '7231a579-e740-11f1-983a-e3696406502b',
} as const;
export const ALL4 = [U.n1, U.n2, U.n3, U.n4];
export const LAST_PRIMARY = { viewId: `3 ${U.n1} 5`, members: [...ALL4].sort() };

export function member(name: keyof typeof U): Member {
  return { uuid: U[name], name, address: `127.0.0.${10 + Number(name.slice(1))}:3306` };
}

export const SETTINGS: DbserverSettings = {
  self: 'dbserver:1',
  dc: 'dc1',
  recipients: ['arbitrator:1', 'dbclient:1'],
  reportIntervalMs: 5000,
  ...DEFAULT_TUNING,
};

/** n1's status in the dc1 half of a 2+2 cut: non-Primary with n2, last primary the 4-node view. */
export function nonPrimaryHalf(over: Partial<WsrepStatus> = {}): WsrepStatus {
  return {
    clusterStatus: 'non-Primary',
    localState: 'Initialized',
    ready: false,
    connected: true,
    clusterSize: 2,
    stateUuid: STATE_UUID,
    confId: null,
    lastCommitted: 14,
    nodeUuid: U.n1,
    members: [member('n1'), member('n2')],
    lastPrimary: LAST_PRIMARY,
    ...over,
  };
}

export function primaryOf(names: Array<keyof typeof U>, confId: number, over: Partial<WsrepStatus> = {}): WsrepStatus {
  const members = names.map(member);
  return {
    clusterStatus: 'Primary',
    localState: 'Synced',
    ready: true,
    connected: true,
    clusterSize: members.length,
    stateUuid: STATE_UUID,
    confId,
    lastCommitted: 16,
    nodeUuid: U.n1,
    members,
    lastPrimary: { viewId: `3 ${U.n1} ${confId}`, members: members.map((m) => m.uuid).sort() },
    ...over,
  };
}

export function upReading(seq: number, at: number, wsrep: WsrepStatus, membersFrom: Reading['membersFrom'] = 'server'): Reading {
  return { seq, at, mariadb: 'up', membersFrom, wsrep: membersFrom === 'server' ? wsrep : { ...wsrep, members: [] }, recovered: null, error: null };
}

export function downReading(seq: number, at: number): Reading {
  return { seq, at, mariadb: 'down', membersFrom: 'none', wsrep: null, recovered: { uuid: STATE_UUID, seqno: 14, safeToBootstrap: false }, error: 'ECONNREFUSED' };
}

export function decisionFor(wsrep: WsrepStatus, id = 'd-1', validForMs = 30_000): MakePrimary {
  return { decisionId: id, view: viewOf(wsrep), forced: false, reason: 'tie broken by DC priority', validForMs };
}

export function message<V extends Verb>(from: PartyId, verb: V, body: BodyOf<V>): CommonEvent {
  const msg = { from, verb, body, envelope: { site: 's', from, to: 'dbserver:1', verb, inc: 1, id: 1, at: 0, body }, address: { address: '127.0.0.1', port: 1 } };
  return { kind: 'message', msg: msg as Inbound };
}

type Effect = ReturnType<ReturnType<typeof dbserverCore>['step']>['effects'][number];

/** Drives the core by hand, as RoleHost would, keeping every effect for the assertions. */
export class Driver {
  /** Replaced on a config change, as the daemon replaces its host's core. */
  core = dbserverCore(SETTINGS);
  state: DbserverState;
  now = 1_700_000_000_000;
  all: Effect[] = [];
  last: Effect[] = [];
  /** What a `persist` wrote, as the SQLite file would hold it. */
  persisted = new Map<string, unknown>();

  constructor(initial: DbserverState = initialState()) {
    this.state = initial;
  }

  step(e: CommonEvent | DbserverEvent): Effect[] {
    const r = this.core.step(this.state, e, this.now);
    this.state = r.state;
    this.last = r.effects;
    this.all.push(...r.effects);
    for (const f of r.effects) if (f.kind === 'persist') this.persisted.set(f.key, JSON.parse(JSON.stringify(f.value)));
    return r.effects;
  }

  advance(ms: number): void {
    this.now += ms;
  }

  /** The seq of the read_status effect of the last step (the one the executor would answer). */
  readSeq(): number {
    const r = this.last.find((f): f is Extract<DbserverEffect, { kind: 'read_status' }> => f.kind === 'read_status');
    if (!r) throw new Error(`no read_status in ${JSON.stringify(this.last.map((f) => f.kind))}`);
    return r.seq;
  }

  observe(wsrep: WsrepStatus | null, membersFrom: Reading['membersFrom'] = 'server'): Effect[] {
    const seq = this.state.inFlight;
    if (seq === null) throw new Error('no read in flight');
    return this.step({ kind: 'observed', reading: wsrep ? upReading(seq, this.now, wsrep, membersFrom) : downReading(seq, this.now) });
  }
}

export function kinds(effects: readonly Effect[]): string[] {
  return effects.map((f) =>
    f.kind === 'publish'
      ? `publish:${f.to}`
      : f.kind === 'log'
        ? `log:${f.event}`
        : f.kind === 'persist'
          ? `persist:${f.key}`
          : f.kind === 'timer' || f.kind === 'cancel_timer'
            ? `${f.kind}:${f.name}`
            : f.kind,
  );
}
