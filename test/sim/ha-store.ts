import type { Clock, SimClock } from '../../src/correspondents/clock.js';
import type { PartyId } from '../../src/protocol/party.js';
import { type ArbitratorEffect, type ArbitratorEvent, arbitratorCore } from '../../src/roles/arbitrator/core.js';
import { bindHaArbitrator, type LeaderStore } from '../../src/roles/arbitrator/ha-binding.js';
import { type ArbitratorRecords, type DecisionRecord, loadArbitratorRecords, RECORD_KEYS } from '../../src/roles/arbitrator/records.js';
import { arbitratorSettings } from '../../src/roles/arbitrator/settings.js';
import { initialStoreView } from '../../src/roles/arbitrator/standby.js';
import { type ArbitratorState, initialArbitratorState, type JournalEntry } from '../../src/roles/arbitrator/state.js';
import { planDecisionWrite } from '../../src/roles/arbitrator/store/decision-guards.js';
import type { StoreStatus } from '../../src/roles/arbitrator/store/etcd-store.js';
import type { RoleCore } from '../../src/roles/core.js';
import type { Rng } from '../../src/util/rng.js';
import type { RoleBinding } from './party.js';

/**
 * The arbitrator's leader store, modelled for the simulator (issue 13; docs/simulator.md, "The
 * HA model"): a linearizable key-value store with revisions, compare-and-set transactions and
 * leases — what etcd gives — and, per arbitrator process, a client running the same election
 * loop as src/roles/arbitrator/store/etcd-store.ts on the simulated clock. The arbitrators are
 * the REAL decision core bound by the REAL src/roles/arbitrator/ha-binding.ts (guarded writes
 * before sends, fencing tokens); the slot guards are the real decision-guards.ts.
 *
 * What can go wrong here, drawn per seed:
 *  - the store's lease clock runs early or late: a lease expires at the store after
 *    `ttl × expiry` since its last renewal (0.3–0.95 early, 1 exact, 1–2.5 late), so with an
 *    early one the store hands the lead to another arbitrator while the holder's own watchdog
 *    still thinks it leads — two arbitrators that both believe they lead;
 *  - keepalives (and any request) may be lost, or delayed past the request timeout;
 *  - a request may be applied and its answer lost: the client times out on a write the store
 *    committed (the decision is there; its make_primary was never sent);
 *  - the store may lose its quorum for a while: nothing applies, every request times out;
 *  - arbitrators crash (kill -9: the lease is not revoked, it expires) and restart.
 */

export interface StoreFaults {
  /** The store's lease expiry relative to the TTL. */
  expiry: number;
  /** One-way latency of a request and of its answer, ms. */
  latency: readonly [number, number];
  /** A request (or its answer) lost. */
  loss: number;
  /** A request applied, its answer lost. */
  lostAnswer: number;
}

interface Kv {
  value: string;
  create: number;
  mod: number;
  lease: number | null;
}

type OpResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** The store itself: one linearizable state machine; every operation applies at one instant. */
export class SimStore {
  rev = 1;
  readonly kv = new Map<string, Kv>();
  private readonly leases = new Map<number, { expiresAt: number }>();
  private nextLease = 1;
  /** False while the store has no quorum: nothing applies. */
  available = true;
  /** A broken store for the checks' own test: writes are not guarded by the leader key nor the slots. */
  unguarded = false;
  /** Promises resolved by the model since the runner last let their continuations run. */
  resolved = 0;
  readonly stats = { ops: 0, writes: 0, refusedWrites: 0, leaderChanges: 0, expiredLeases: 0 };
  /** Every slot holder ever written, per key: the run checks that a key's slot only moves on from a refused decision. */
  readonly slotHistory = new Map<string, string[]>();

  constructor(
    readonly clock: SimClock,
    readonly rng: Rng,
    readonly faults: StoreFaults,
    readonly ttlMs: number,
  ) {}

  private expire(): void {
    const now = this.clock.monotonic();
    for (const [id, l] of this.leases) {
      if (l.expiresAt > now) continue;
      this.leases.delete(id);
      this.stats.expiredLeases++;
      for (const [k, v] of this.kv) if (v.lease === id) this.deleteKey(k);
    }
  }

  private deleteKey(k: string): void {
    if (!this.kv.delete(k)) return;
    this.rev++;
    if (k === 'leader') this.stats.leaderChanges++;
  }

  put(k: string, value: string, lease: number | null = null): void {
    this.rev++;
    const prev = this.kv.get(k);
    this.kv.set(k, { value, create: prev?.create ?? this.rev, mod: this.rev, lease });
    if (k.startsWith('slots/')) {
      const h = this.slotHistory.get(k) ?? [];
      h.push(value);
      this.slotHistory.set(k, h);
    }
  }

  get(k: string): Kv | undefined {
    return this.kv.get(k);
  }

  grant(): number {
    const id = this.nextLease++;
    this.leases.set(id, { expiresAt: this.clock.monotonic() + this.ttlMs * this.faults.expiry });
    return id;
  }

  /** false: the lease is gone (expired at the store). */
  keepalive(id: number): boolean {
    const l = this.leases.get(id);
    if (!l) return false;
    l.expiresAt = this.clock.monotonic() + this.ttlMs * this.faults.expiry;
    return true;
  }

  revoke(id: number): void {
    if (!this.leases.delete(id)) return;
    for (const [k, v] of this.kv) if (v.lease === id) this.deleteKey(k);
  }

  del(k: string): void {
    this.deleteKey(k);
  }

  private delay(): number {
    const [lo, hi] = this.faults.latency;
    return lo + Math.floor(this.rng.next() * (hi - lo + 1));
  }

  /**
   * One request from a client: applied atomically at the store after a latency (unless lost or
   * the store has no quorum), answered after another; the client gives up after `timeoutMs`.
   * `cb` runs once, on the client's side, unless the client stopped.
   */
  call<T>(timer: Clock, alive: () => boolean, what: string, timeoutMs: number, apply: () => T, cb: (r: OpResult<T>) => void): void {
    this.stats.ops++;
    let settled = false;
    const settle = (r: OpResult<T>): void => {
      if (settled || !alive()) return;
      settled = true;
      cb(r);
    };
    timer.setTimer(timeoutMs, () => settle({ ok: false, error: `the store did not answer ${what} within ${timeoutMs} ms (unreachable, or no quorum)` }));
    if (this.rng.next() < this.faults.loss) return;
    timer.setTimer(this.delay(), () => {
      if (!this.available) return;
      this.expire();
      const value = apply();
      if (this.rng.next() < this.faults.lostAnswer) return;
      timer.setTimer(this.delay(), () => settle({ ok: true, value }));
    });
  }
}

export interface SimStoreConfig {
  leaseTtlMs: number;
  requestTimeoutMs: number;
  followIntervalMs: number;
}

const RETRY_MS = 1000;

/**
 * One arbitrator process's client of the store: the election loop of etcd-store.ts, on the
 * simulated clock. A crash (stop) revokes nothing: the lease expires at the store.
 */
export class SimLeaderStore implements LeaderStore {
  private stopped = false;
  private lease: number | null = null;
  private validUntil = 0;
  private token: number | null = null;
  private term = 0;
  private lastRevision = -1;
  private written = new Map<string, string>();

  constructor(
    private readonly store: SimStore,
    private readonly self: PartyId,
    private readonly clock: Clock,
    private readonly cfg: SimStoreConfig,
    private readonly onStatus: (s: StoreStatus) => void,
  ) {}

  private mono(): number {
    return this.clock.monotonic?.() ?? this.clock.now();
  }

  private op<T>(what: string, apply: () => T, cb: (r: OpResult<T>) => void): void {
    this.store.call(this.clock, () => !this.stopped, what, this.cfg.requestTimeoutMs, apply, cb);
  }

  start(): void {
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  private later(ms: number, fn: () => void): void {
    this.clock.setTimer(ms, () => {
      if (!this.stopped) fn();
    });
  }

  private unavailable(problem: string): void {
    this.lease = null;
    this.lastRevision = -1;
    this.onStatus({ kind: 'unavailable', problem });
    this.later(RETRY_MS, () => this.tick());
  }

  private tick(): void {
    if (this.token !== null) return;
    if (this.lease === null) {
      const askedAt = this.mono();
      this.op(
        'a lease grant',
        () => this.store.grant(),
        (r) => {
          if (!r.ok) return this.unavailable(r.error);
          this.lease = r.value;
          this.validUntil = askedAt + this.store.ttlMs;
          this.keepalives(r.value);
          this.electOrFollow();
        },
      );
      return;
    }
    this.electOrFollow();
  }

  /** Renews every third of the TTL while the lease is held; a renewal that finds it gone loses it. */
  private keepalives(lease: number): void {
    this.later(this.store.ttlMs / 3, () => {
      if (this.lease !== lease) return;
      const sentAt = this.mono();
      this.op(
        'a keepalive',
        () => this.store.keepalive(lease),
        (r) => {
          if (this.lease !== lease) return;
          if (r.ok && r.value) this.validUntil = Math.max(this.validUntil, sentAt + this.store.ttlMs);
          else if (r.ok) {
            this.lease = null;
            this.endTerm('the lease was lost (expired at the store)');
          }
        },
      );
      this.keepalives(lease);
    });
  }

  private electOrFollow(): void {
    const lease = this.lease;
    if (lease === null) {
      this.tick();
      return;
    }
    this.op(
      'the leader election',
      () => {
        const cur = this.store.get('leader');
        if (cur)
          return { won: null as number | null, leader: JSON.parse(cur.value) as { party: PartyId; host: string; port: number; incarnation: number }, rev: this.store.rev, records: this.readAll() };
        this.store.put('leader', JSON.stringify({ party: this.self, host: '?', port: 0, incarnation: 0 }), lease);
        return { won: this.store.rev, leader: null, rev: this.store.rev, records: this.readAll() };
      },
      (r) => {
        if (!r.ok) return this.unavailable(r.error);
        if (r.value.won !== null) return this.lead(r.value.won, r.value.records);
        const records = r.value.rev === this.lastRevision ? null : this.load(r.value.records);
        this.lastRevision = r.value.rev;
        this.onStatus({ kind: 'following', leader: r.value.leader, records });
        this.later(this.cfg.followIntervalMs, () => this.tick());
      },
    );
  }

  private readAll(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, v] of this.store.kv) if (!k.startsWith('leader')) out.set(k, v.value);
    return out;
  }

  private load(all: Map<string, string>): ArbitratorRecords {
    const decisions: unknown[] = [];
    for (const [k, v] of all) if (k.startsWith('decisions/')) decisions.push(JSON.parse(v));
    const records = loadArbitratorRecords((k) => {
      if (k === RECORD_KEYS.decisions) return decisions.length ? decisions : undefined;
      const v = all.get(`records/${k.replace(/^arbitrator\./, '')}`);
      return v === undefined ? undefined : JSON.parse(v);
    });
    records.decisions.sort((a, b) => a.decidedAt - b.decidedAt || (a.id < b.id ? -1 : 1));
    this.written = new Map(records.decisions.map((d) => [d.id, JSON.stringify(d)]));
    return records;
  }

  private lead(token: number, all: Map<string, string>): void {
    this.token = token;
    const term = ++this.term;
    const records = this.load(all);
    this.onStatus({ kind: 'leading', token, records, imported: false });
    const watchdog = (): void => {
      if (this.term !== term || this.token === null) return;
      if (this.mono() > this.validUntil - this.cfg.requestTimeoutMs) {
        this.endTerm('the lease could not be renewed in time');
        return;
      }
      this.later(100, watchdog);
    };
    watchdog();
  }

  private endTerm(why: string): void {
    const token = this.token;
    if (token === null) return;
    this.token = null;
    this.term++;
    this.lastRevision = -1;
    const lease = this.lease;
    this.lease = null;
    // Step down at once (best effort): delete the leader key if it is still ours, drop the lease.
    this.op(
      'a step-down',
      () => {
        if (this.store.get('leader')?.create === token) this.store.del('leader');
        if (lease !== null) this.store.revoke(lease);
      },
      () => {},
    );
    this.onStatus({ kind: 'unavailable', problem: `stepped down: ${why}; reading the store again` });
    this.later(RETRY_MS, () => this.tick());
  }

  resign(why: string): void {
    this.endTerm(why);
  }

  write(key: string, value: unknown, token: number): Promise<void> {
    if (this.token !== token) return Promise.reject(new Error(`not leading term ${token} any more`));
    return new Promise((resolve, reject) => {
      const plan = key === RECORD_KEYS.decisions ? planDecisionWrite(value as DecisionRecord[], this.written) : null;
      this.op(
        `the write of ${key}`,
        () => {
          if (!this.store.unguarded && this.store.get('leader')?.create !== token) return `the store refused the write: this arbitrator no longer leads (token ${token})`;
          if (plan) {
            for (const c of plan.compares) {
              const held = this.store.get(`slots/${c.key}`)?.value ?? null;
              if (held !== c.holder && !this.store.unguarded) {
                this.store.stats.refusedWrites++;
                return `the store refused the decision: its key is already spent by ${held} (another arbitrator decided first)`;
              }
            }
            for (const p of plan.slotPuts) this.store.put(`slots/${p.key}`, p.id);
            for (const p of plan.puts) this.store.put(`decisions/${p.id}`, p.json);
            for (const id of plan.deletes) this.store.del(`decisions/${id}`);
          } else this.store.put(`records/${key.replace(/^arbitrator\./, '')}`, JSON.stringify(value));
          this.store.stats.writes++;
          return null;
        },
        (r) => {
          this.store.resolved++;
          if (!r.ok) return reject(new Error(r.error));
          if (r.value !== null) return reject(new Error(r.value));
          if (plan) {
            for (const p of plan.puts) this.written.set(p.id, p.json);
            for (const id of plan.deletes) this.written.delete(id);
          }
          resolve();
        },
      );
    });
  }

  async appendJournal(_entries: JournalEntry[], _token: number): Promise<void> {}
}

/** The HA arbitrator binding for the world (the real ha-binding.ts over the modelled store). */
export interface HaHooks {
  threw(self: PartyId, err: unknown): void;
  /** A new decision id in a persisted decision list: made at this step. */
  decided(id: string): void;
}

export function haArbitratorBinding(store: SimStore, cfg: SimStoreConfig, hooks: HaHooks): RoleBinding {
  return (ctx) => {
    const settings = arbitratorSettings(ctx.config, ctx.self, 'simulated site');
    const records = loadArbitratorRecords((k) => ctx.durable.get(k));
    const initial = initialArbitratorState(settings, records, { incarnation: ctx.incarnation, store: initialStoreView(ctx.clock.now()) });
    const core: RoleCore<ArbitratorState, ArbitratorEvent, ArbitratorEffect> = {
      ...arbitratorCore,
      step(s, e, now) {
        let r: ReturnType<typeof arbitratorCore.step>;
        try {
          r = arbitratorCore.step(s, e, now);
        } catch (err) {
          hooks.threw(ctx.self, err);
          throw err;
        }
        for (const f of r.effects) {
          if (f.kind !== 'persist' || f.key !== RECORD_KEYS.decisions || !Array.isArray(f.value)) continue;
          const before = new Set(s.records.decisions.map((d) => d.id));
          for (const d of f.value as DecisionRecord[]) if (!before.has(d.id)) hooks.decided(d.id);
        }
        return r;
      },
    };
    const ha = bindHaArbitrator({
      initial,
      post: ctx.post,
      clock: ctx.clock,
      logger: ctx.logger,
      core,
      makeStore: (onStatus) =>
        new SimLeaderStore(store, ctx.self, ctx.clock, cfg, (s) => {
          store.resolved++;
          onStatus(s);
        }),
    });
    ctx.post.watch([...settings.dbservers.map((d) => d.id), ...settings.dbclients]);
    ha.start();
    return {
      stop: () => {
        void ha.stop();
      },
      state: () => ha.host.current,
    };
  };
}
