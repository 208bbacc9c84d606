import type { TimerHandle } from '../../correspondents/clock.js';
import type { PostOffice } from '../../correspondents/post-office.js';
import type { PartyId } from '../../protocol/party.js';
import type { BodyOf, Verb } from '../../protocol/verbs.js';
import type { ArbitratorParty } from '../../site/schema.js';
import type { RoleContext, RunningRole } from '../context.js';
import { type Durable, RoleHost } from '../host.js';
import { type ArbitratorEffect, type ArbitratorEvent, arbitratorCore } from './core.js';
import { STATS_EVERY_MS } from './daemon.js';
import { type ArbitratorRecords, type DecisionRecord, RECORD_KEYS } from './records.js';
import type { ArbitratorSettings } from './settings.js';
import { initialStoreView, leaderText } from './standby.js';
import { type ArbitratorState, initialArbitratorState, type JournalEntry } from './state.js';
import { defaultPrefix } from './store/etcd-keys.js';
import { EtcdArbitratorStore, type StoreStatus } from './store/etcd-store.js';
import { OrderedOutbox } from './store/outbox.js';

/**
 * The arbitrator with `arbitrator.store: etcd` (docs/arbitrator-ha.md). The same decision core
 * as with the local store; what differs is carried out here:
 *
 *  - leadership: the store's election loop tells the core (a `store` event) whether this
 *    arbitrator leads, with its fencing token and the records as etcd holds them;
 *  - persist: a transaction guarded by the leader key (and, for a new decision, by its last
 *    primary component's slot). It is asynchronous, so every send queued behind it waits for its
 *    result (OrderedOutbox) and is dropped if it failed: a make_primary leaves only after etcd
 *    committed its decision. A failed write ends the term: the core is told it no longer leads,
 *    and the next term starts from the records re-read from etcd;
 *  - fencing: make_primary and directives carry the term's token; dbservers and dbclients refuse
 *    one older than the newest they have seen.
 */

/** Test-only, as in daemon.ts: SIGKILL right after etcd committed a new decision, before its send. */
const CRASH_AFTER_PERSIST_ENV = 'MINDER_TEST_CRASH_AFTER_PERSIST';

const FENCED: ReadonlySet<Verb> = new Set<Verb>(['make_primary', 'start_mariadb', 'directives']);

function hasRecords(r: ArbitratorRecords): boolean {
  return r.decisions.length > 0 || r.directives.epoch > 0 || r.lastPrimary !== null || Object.keys(r.nodes).length > 0;
}

export async function startHaArbitrator(ctx: RoleContext, settings: ArbitratorSettings, localRecords: ArbitratorRecords): Promise<RunningRole> {
  const store = ctx.config.arbitrator;
  if (store.store !== 'etcd') throw new Error('startHaArbitrator needs arbitrator.store etcd');
  const cfg = store.etcd;
  const prefix = cfg.prefix ?? defaultPrefix(ctx.config.site);
  const me = ctx.party as ArbitratorParty;
  const log = ctx.logger;
  const crash = process.env[CRASH_AFTER_PERSIST_ENV] === '1';
  if (crash) log.warn({ event: 'test_crash_armed', env: CRASH_AFTER_PERSIST_ENV }, 'TEST HOOK: this arbitrator kills itself after etcd commits its next decision, before sending it');

  /** The token of the term this process leads, or null. */
  let token: number | null = null;
  let host: RoleHost<ArbitratorState, ArbitratorEvent, ArbitratorEffect> | null = null;

  const etcd = new EtcdArbitratorStore({
    cfg,
    prefix,
    self: { party: ctx.self, host: me.host, port: me.port, incarnation: ctx.post.incarnation },
    logger: log,
    seed: hasRecords(localRecords) ? localRecords : null,
    onStatus: (s) => onStatus(s),
  });

  const outbox = new OrderedOutbox((err, what, dropped) => {
    log.error({ event: 'store_write_failed', what, dropped, err: err.message }, `${what}: ${err.message}; ${dropped} send(s) queued behind it dropped (never sent); stepping down`);
    endTerm();
    // The core stops acting now, not when the store loop next reports: until it knows, what it
    // sends may rest on a write etcd refused (an operator's "ok", a writer move), so the outbox
    // stays shut until then. A standby's sends (status replies, request_status) go out again.
    standDown(`a write to etcd failed (${err.message})`);
    etcd.resign(`a write to etcd failed (${err.message})`);
  });

  function standDown(problem: string): void {
    host?.dispatch({ kind: 'store', view: { kind: 'etcd', leading: false, token: null, leader: null, problem }, records: null });
    outbox.reset();
  }

  function endTerm(): void {
    if (token === null) return;
    token = null;
    const n = outbox.clear();
    if (n > 0) log.warn({ event: 'store_sends_dropped', count: n }, `${n} write(s)/send(s) still queued when the term ended: dropped`);
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

  const known = new Set(localRecords.decisions.map((d) => d.id));
  const durable: Durable = {
    put(key, value) {
      const t = token;
      // A standby persists nothing: the leader's records are the truth it re-reads.
      if (t === null) return;
      outbox.write(`the etcd write of ${key} (token ${t})`, async () => {
        await etcd.write(key, value, t);
        if (!crash || key !== RECORD_KEYS.decisions || !Array.isArray(value)) return;
        const fresh = (value as DecisionRecord[]).map((d) => d.id).filter((id) => !known.has(id));
        if (fresh.length === 0) return;
        log.warn({ event: 'test_crash', decisions: fresh }, `TEST HOOK: decision ${fresh.join(', ')} committed in etcd; killing this process before make_primary is sent`);
        process.kill(process.pid, 'SIGKILL');
      });
    },
  };

  // Sends go through the outbox (after the writes queued before them), stamped with the token.
  const post = ctx.post;
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

  // The operator's log goes to etcd too (best effort, in order, by the leader).
  let lastJournal: JournalEntry | undefined;
  const observe = (s: ArbitratorState): void => {
    const j = s.journal;
    if (j.length === 0 || j[j.length - 1] === lastJournal) return;
    const from = lastJournal ? j.indexOf(lastJournal) + 1 : 0;
    lastJournal = j[j.length - 1];
    const t = token;
    if (t === null) return;
    const fresh = j.slice(from);
    void etcd.appendJournal(fresh, t).catch((err: unknown) => log.warn({ event: 'journal_write_failed', err: String(err) }, `the operator's log could not be written to etcd: ${String(err)}`));
  };

  const initial = initialArbitratorState(settings, localRecords, { incarnation: ctx.post.incarnation, store: initialStoreView(ctx.clock.now()) });
  host = new RoleHost<ArbitratorState, ArbitratorEvent, ArbitratorEffect>({
    core: arbitratorCore,
    initial,
    post: gated,
    clock: ctx.clock,
    durable,
    logger: log,
    onFatal: (f) => ctx.fatal?.(f.exitCode, f.message),
    observe,
    ...(ctx.tap ? { tap: ctx.tap } : {}),
    execute: () => {},
  });
  ctx.post.watch([...settings.dbservers.map((d) => d.id), ...settings.dbclients]);
  log.info(
    { event: 'store_etcd', endpoints: cfg.endpoints, prefix },
    `arbitrator store: etcd at ${cfg.endpoints.join(', ')}, prefix ${prefix}; standing by until this arbitrator holds the leader lease`,
  );
  host.start();
  etcd.start();
  // `status` shows the post office's counters, as with the local store (daemon.ts).
  let lastStats = '';
  let statsTimer: TimerHandle | null = null;
  const handStats = (): void => {
    const st = ctx.post.stats();
    const counts = { accepted: st.accepted, sent: st.sent, resent: st.resent, drops: { ...st.drops } };
    const key = JSON.stringify(counts);
    if (key !== lastStats) {
      lastStats = key;
      host?.dispatch({ kind: 'datagram_stats', stats: counts });
    }
    statsTimer = ctx.clock.setTimer(STATS_EVERY_MS, handStats);
  };
  handStats();
  return {
    stop: async () => {
      statsTimer?.cancel();
      host?.stop();
      await etcd.stop();
    },
    describe: () => {
      const s = host?.current;
      if (!s) return `arbitrator of site ${settings.site}`;
      return `arbitrator of site ${settings.site} (etcd store: ${s.store ? leaderText(s.store) : '?'}): epoch ${s.records.directives.epoch}, ${s.records.decisions.length} decision(s)`;
    },
  };
}
