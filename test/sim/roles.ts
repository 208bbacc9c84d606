import { type PartyId, partyType } from '../../src/protocol/party.js';
import { type ArbitratorEffect, type ArbitratorEvent, arbitratorCore } from '../../src/roles/arbitrator/core.js';
import { loadArbitratorRecords, recordProblem } from '../../src/roles/arbitrator/records.js';
import { arbitratorSettings } from '../../src/roles/arbitrator/settings.js';
import { type ArbitratorState, initialArbitratorState } from '../../src/roles/arbitrator/state.js';
import type { DbclientConfig, DbclientEffect, DbclientEvent, DbclientState } from '../../src/roles/dbclient/core.js';
import { bindDbclient } from '../../src/roles/dbclient/binding.js';
import { DEFAULT_TUNING, type DbserverEffect, type DbserverEvent, type DbserverSettings, type DbserverState, dbserverCore, initialState as dbserverInitial } from '../../src/roles/dbserver/core.js';
import type { CommonEffect, CommonEvent } from '../../src/roles/core.js';
import { type EffectExecutor, RoleHost } from '../../src/roles/host.js';
import { dbserverRecordProblem, loadDurable } from '../../src/roles/dbserver/durable.js';
import type { DbclientParty, DbserverParty } from '../../src/site/schema.js';
import type { BindingContext, RoleBinding, StartedRole } from './party.js';
import type { Bindings } from './world.js';

/**
 * The REAL decision cores, each bound the way its daemon binds it (src/roles/<role>/daemon.ts):
 * the same settings from the site config, the same persisted keys read back at start, the same
 * RoleHost; only the executors differ, acting on the simulated mariadbd and load balancer.
 */

function started(host: { stop(): void; readonly current: unknown }, extraStop: () => void = () => {}): StartedRole {
  return {
    stop: () => {
      extraStop();
      host.stop();
    },
    state: () => host.current,
  };
}

/** A core that throws is a finding (a daemon would die on that input), not a silent drop. */
function guarded<S, E, F>(ctx: BindingContext, core: { step(s: S, e: E, now: number): { state: S; effects: F[] } }) {
  return {
    step(s: S, e: E, now: number) {
      try {
        return core.step(s, e, now);
      } catch (err) {
        const kind = (e as { kind?: string }).kind ?? '?';
        ctx.sim.violation('core_threw', `${ctx.self} core threw on a ${kind} event: ${(err as Error).stack ?? String(err)}`);
        throw err;
      }
    },
  };
}

/** A core as a binding runs it; the checks' own tests pass broken variants (mutants.ts) to show the checks catch them. */
type Core<S, E, F> = { step(s: S, e: E, now: number): { state: S; effects: F[] } };
type ArbCore = Core<ArbitratorState, ArbitratorEvent | CommonEvent, CommonEffect | ArbitratorEffect>;
type DbsCore = Core<DbserverState, DbserverEvent | CommonEvent, CommonEffect | DbserverEffect>;
type DbcCore = Core<DbclientState, DbclientEvent | CommonEvent, CommonEffect | DbclientEffect>;
export type ArbitratorWrap = (core: ArbCore) => ArbCore;
export type DbserverWrap = (core: DbsCore) => DbsCore;
export type DbclientWrap = (core: DbcCore, cfg: DbclientConfig) => DbcCore;

export const arbitratorBinding: RoleBinding = (ctx) => arbitratorBindingWith((c) => c)(ctx);

export const arbitratorBindingWith =
  (wrap: ArbitratorWrap): RoleBinding =>
  (ctx) => {
    const settings = arbitratorSettings(ctx.config, ctx.self, 'simulated site');
    // The simulated arbitrator was installed before the episode began: its first start trusts its
    // (empty) records. A state file lost later (a fault) is not trusted (docs/safety.md, path 1).
    const records = loadArbitratorRecords((k) => ctx.durable.get(k), ctx.clock.now());
    const initial = initialArbitratorState(settings, records, { incarnation: ctx.incarnation });
    const host = new RoleHost<ArbitratorState, ArbitratorEvent, ArbitratorEffect>({
      core: guarded(ctx, wrap(arbitratorCore)),
      initial,
      post: ctx.post,
      clock: ctx.clock,
      durable: ctx.durable,
      logger: ctx.logger,
      // As the daemon: a record is checked before it is written; one that would not load again is a bug.
      check: (key, value) => {
        const problem = recordProblem(key, value);
        if (problem) ctx.sim.violation('record_invalid', `${ctx.self} wrote ${key}, which would not load again: ${problem}`);
        return problem;
      },
      execute: () => {},
    });
    ctx.post.watch([...settings.dbservers.map((d) => d.id), ...settings.dbclients]);
    host.start();
    return started(host);
  };

export const dbserverBinding: RoleBinding = (ctx) => dbserverBindingWith((c) => c)(ctx);

export const dbserverBindingWith =
  (wrap: DbserverWrap): RoleBinding =>
  (ctx) => {
    const party = ctx.party as DbserverParty;
    const recipients = ctx.config.parties.filter((p) => ['arbitrator', 'dbclient'].includes(partyType(p.id as PartyId))).map((p) => p.id as PartyId);
    // As the daemon: on a site whose arbitrators run on a leader store, orders must carry a fencing token.
    const settings: DbserverSettings = {
      self: ctx.self,
      dc: party.dc,
      recipients,
      reportIntervalMs: ctx.config.timings.reportInterval,
      ...DEFAULT_TUNING,
      maxClockSkewMs: ctx.config.timings.maxClockSkew,
      fenced: ctx.config.arbitrator.store === 'etcd',
    };
    // What a restarted dbserver remembers, read as the daemon reads it.
    const durable = loadDurable(
      (key) => ctx.durable.get<unknown>(key),
      () => undefined,
    );
    const { sim, self } = ctx;
    const execute: EffectExecutor<DbserverEffect> = (effect, dispatch) => {
      switch (effect.kind) {
        case 'read_status': {
          const at = ctx.clock.now();
          // The reading is what the server shows when the query returns.
          sim.later(self, sim.latency('read'), () => dispatch({ kind: 'observed', reading: sim.readNode(self, effect.seq, at) }));
          return;
        }
        case 'bootstrap': {
          sim.bootstrapNode(self, effect.decisionId, (error) => dispatch({ kind: 'bootstrap_done', decisionId: effect.decisionId, attempt: effect.attempt, ok: error === null, error }));
          return;
        }
      }
    };
    const host: RoleHost<DbserverState, DbserverEvent, DbserverEffect> = new RoleHost({
      core: guarded(ctx, wrap(dbserverCore(settings))),
      initial: dbserverInitial(durable.decisions, durable.pending, durable.extras),
      post: ctx.post,
      clock: ctx.clock,
      durable: ctx.durable,
      logger: ctx.logger,
      check: (key, value) => {
        const problem = dbserverRecordProblem(key, value);
        if (problem) ctx.sim.violation('record_invalid', `${ctx.self} wrote ${key}, which would not load again: ${problem}`);
        return problem;
      },
      execute,
    });
    host.start();
    return started(host);
  };

export const dbclientBinding: RoleBinding = (ctx) => dbclientBindingWith((c) => c)(ctx);

export const dbclientBindingWith =
  (wrap: DbclientWrap): RoleBinding =>
  (ctx) => {
    const { sim, self } = ctx;
    // The load balancer's answers come back on the simulated clock; the rest is the daemon's binding.
    const executor =
      (live: () => boolean): EffectExecutor<DbclientEffect> =>
      (effect, dispatch) => {
        const send = (ev: DbclientEvent) => {
          if (live()) dispatch(ev);
        };
        if (effect.kind === 'observe_lb') {
          sim.later(self, sim.latency('lb'), () => {
            const observed = sim.lbObserve(self);
            send(observed ? { kind: 'lb_observed', observed, applied: null } : { kind: 'lb_failed', during: 'observe', code: 'LB_UNREACHABLE', error: 'simulated load balancer unreachable' });
          });
          return;
        }
        // Judged when the core asks for it: a directive arriving while the apply is under way is the next apply's business.
        sim.lbWanted(self, effect.desired);
        sim.later(self, sim.latency('lb'), () => {
          const commands = sim.lbApply(self, effect.desired);
          if (!commands) {
            send({ kind: 'lb_failed', during: 'apply', code: 'LB_UNREACHABLE', error: 'simulated load balancer unreachable' });
            return;
          }
          const observed = sim.lbObserve(self);
          send(
            observed
              ? { kind: 'lb_observed', observed, applied: { commands, errors: [] } }
              : { kind: 'lb_failed', during: 'observe', code: 'LB_UNREACHABLE', error: 'simulated load balancer unreachable' },
          );
        });
      };
    const binding = bindDbclient({
      config: ctx.config,
      party: ctx.party as DbclientParty,
      post: ctx.post,
      clock: ctx.clock,
      durable: ctx.durable,
      read: (key) => ctx.durable.get<unknown>(key),
      logger: ctx.logger,
      executor,
      wrap: (core, cfg) => guarded(ctx, wrap(core, cfg)),
    });
    return started(binding);
  };

export const REAL_BINDINGS: Bindings = { arbitrator: arbitratorBinding, dbserver: dbserverBinding, dbclient: dbclientBinding };
