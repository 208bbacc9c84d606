import type { Clock } from '../../correspondents/clock.js';
import type { PostOffice } from '../../correspondents/post-office.js';
import type { PartyId } from '../../protocol/party.js';
import type { BodyOf, Verb } from '../../protocol/verbs.js';
import type { Logger } from '../../log.js';
import { type Durable, RoleHost, type RoleFailure, type StepTap } from '../host.js';
import type { RoleCore } from '../core.js';
import { type ArbitratorEffect, type ArbitratorEvent, arbitratorCore } from './core.js';
import { type ArbitratorRecords, recordProblem } from './records.js';
import type { ArbitratorState, JournalEntry } from './state.js';
import type { StoreStatus } from './store/etcd-store.js';
import { OrderedOutbox } from './store/outbox.js';

/**
 * What the arbitrator needs of its leader store (docs/arbitrator-ha.md): the election loop
 * reports through `onStatus`; `write` resolves only once the store committed the write under
 * this term's token (and, for a new decision, its last primary component's slot), and rejects
 * otherwise. `EtcdArbitratorStore` is the real one; the simulator has a model of it.
 */
export interface LeaderStore {
  start(): void;
  stop(): Promise<void>;
  /** Ends the current term (a write failed): the loop steps down and reads the store again. */
  resign(why: string): void;
  write(key: string, value: unknown, token: number): Promise<void>;
  appendJournal(entries: JournalEntry[], token: number): Promise<void>;
}

export interface HaBindingOptions {
  initial: ArbitratorState;
  post: PostOffice;
  clock: Clock;
  logger: Logger;
  /** Builds the store, handing it the status callback. */
  makeStore: (onStatus: (s: StoreStatus) => void) => LeaderStore;
  /** Wraps the core (the simulator's guard against a throwing core; identity in the daemon). */
  core?: RoleCore<ArbitratorState, ArbitratorEvent, ArbitratorEffect>;
  onFatal?: (f: RoleFailure) => void;
  tap?: StepTap;
  /** Test hook, after a write committed (the crash-after-persist test). */
  afterWrite?: (key: string, value: unknown) => void;
}

/** make_primary, start orders and directives carry the term's token; nothing else needs one. */
export const FENCED: ReadonlySet<Verb> = new Set<Verb>(['make_primary', 'start_mariadb', 'directives']);

export interface HaBinding {
  host: RoleHost<ArbitratorState, ArbitratorEvent, ArbitratorEffect>;
  store: LeaderStore;
  /** The token of the term this process leads, or null. */
  token(): number | null;
  start(): void;
  stop(): Promise<void>;
}

/**
 * The decision core bound to a leader store (the daemon's and the simulator's binding):
 *
 *  - leadership: the store's loop tells the core (a `store` event) whether this arbitrator
 *    leads, with its fencing token and the records as the store holds them;
 *  - persist: the store's guarded write. It is asynchronous, so every send queued behind it
 *    waits for its result (OrderedOutbox) and is dropped if it failed: a make_primary leaves only
 *    after the store committed its decision. A failed write ends the term: the core is told at
 *    once that it no longer leads, and the next term starts from the records re-read;
 *  - fencing: make_primary, start_mariadb and directives carry the term's token; sent while not
 *    leading, they are dropped.
 */
export function bindHaArbitrator(o: HaBindingOptions): HaBinding {
  const log = o.logger;
  let token: number | null = null;
  let host: RoleHost<ArbitratorState, ArbitratorEvent, ArbitratorEffect> | null = null;

  const outbox = new OrderedOutbox((err, what, dropped) => {
    log.error({ event: 'store_write_failed', what, dropped, err: err.message }, `${what}: ${err.message}; ${dropped} send(s) queued behind it dropped (never sent); stepping down`);
    endTerm();
    // The core stops acting now, not when the store loop next reports: until it knows, what it
    // sends may rest on a write the store refused (an operator's "ok", a writer move), so the
    // outbox stays shut until then. A standby's sends (status replies, request_status) go out again.
    standDown(`a write to the arbitrator store failed (${err.message})`);
    store.resign(`a write to the arbitrator store failed (${err.message})`);
  });

  function endTerm(): void {
    if (token === null) return;
    token = null;
    const n = outbox.clear();
    if (n > 0) log.warn({ event: 'store_sends_dropped', count: n }, `${n} write(s)/send(s) still queued when the term ended: dropped`);
  }

  function standDown(problem: string): void {
    host?.dispatch({ kind: 'store', view: { kind: 'etcd', leading: false, token: null, leader: null, problem }, records: null });
    outbox.reset();
  }

  function onStatus(s: StoreStatus): void {
    if (s.kind === 'leading') {
      outbox.clear();
      outbox.reset();
      token = s.token;
      host?.dispatch({ kind: 'store', view: { kind: 'etcd', leading: true, token: s.token, leader: null, problem: null }, records: s.records });
      return;
    }
    endTerm();
    if (s.kind === 'following') {
      const leader = s.leader ? { party: s.leader.party, host: s.leader.host, port: s.leader.port } : null;
      host?.dispatch({ kind: 'store', view: { kind: 'etcd', leading: false, token: null, leader, problem: null }, records: s.records });
      outbox.reset();
    } else standDown(s.problem);
  }

  const store = o.makeStore(onStatus);

  const durable: Durable = {
    put(key, value) {
      const t = token;
      // A standby persists nothing: the leader's records are the truth it re-reads.
      if (t === null) return;
      outbox.write(`the store write of ${key} (token ${t})`, async () => {
        await store.write(key, value, t);
        o.afterWrite?.(key, value);
      });
    },
  };

  // Sends go through the outbox (after the writes queued before them), stamped with the token.
  const post = o.post;
  const gated = new Proxy(post, {
    get(target, prop, receiver) {
      if (prop === 'publish') {
        return <V extends Verb>(to: PartyId, verb: V, body: BodyOf<V>) => {
          if (!FENCED.has(verb)) {
            outbox.send(() => target.publish(to, verb, body));
            return;
          }
          const t = token;
          if (t === null) {
            log.warn({ event: 'fenced_send_dropped', verb, to }, `${verb} to ${to} not sent: this arbitrator does not lead`);
            return;
          }
          const stamped = { ...body, fence: t } as BodyOf<V>;
          outbox.send(() => target.publish(to, verb, stamped));
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as PostOffice;

  // The operator's log goes to the store too (best effort, in order, by the leader).
  let lastJournal: JournalEntry | undefined;
  const observe = (s: ArbitratorState): void => {
    const j = s.journal;
    if (j.length === 0 || j[j.length - 1] === lastJournal) return;
    const from = lastJournal ? j.indexOf(lastJournal) + 1 : 0;
    lastJournal = j[j.length - 1];
    const t = token;
    if (t === null) return;
    const fresh = j.slice(from);
    void store.appendJournal(fresh, t).catch((err: unknown) => log.warn({ event: 'journal_write_failed', err: String(err) }, `the operator's log could not be written to the store: ${String(err)}`));
  };

  host = new RoleHost<ArbitratorState, ArbitratorEvent, ArbitratorEffect>({
    core: o.core ?? arbitratorCore,
    initial: o.initial,
    post: gated,
    clock: o.clock,
    durable,
    logger: log,
    ...(o.onFatal ? { onFatal: o.onFatal } : {}),
    observe,
    check: recordProblem,
    ...(o.tap ? { tap: o.tap } : {}),
    execute: () => {},
  });
  const h = host;
  return {
    host: h,
    store,
    token: () => token,
    start: () => {
      h.start();
      store.start();
    },
    stop: async () => {
      h.stop();
      await store.stop();
    },
  };
}

/** Whether local records hold anything worth copying into an empty store (moving from local). */
export function hasRecords(r: ArbitratorRecords): boolean {
  return r.decisions.length > 0 || r.directives.epoch > 0 || r.lastPrimary !== null || Object.keys(r.nodes).length > 0;
}
