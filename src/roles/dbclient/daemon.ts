import type { DbclientParty } from '../../site/schema.js';
import type { RoleContext, RunningRole } from '../context.js';
import type { EffectExecutor } from '../host.js';
import { adapterFromConfig } from './adapter-from-config.js';
import { bindDbclient } from './binding.js';
import type { DbclientEffect, DbclientEvent } from './core.js';
import { LbError, type LoadBalancerAdapter } from './lb/types.js';

export { dbclientConfigOf, LB_POLL_MS, LB_WEIGHT } from './config-of.js';

function failure(err: unknown): { code: string; error: string } {
  if (err instanceof LbError) return { code: err.code, error: err.message };
  return { code: 'LB_PROTOCOL', error: (err as Error).message ?? String(err) };
}

/**
 * The dbclient daemon: the shared binding (binding.ts, which the simulator runs too) with the
 * load-balancer adapter as its executor. `apply_lb` applies then reads back; `observe_lb` reads;
 * both feed the result to the core. A site config change applied while running (dbservers added
 * or removed, DC priorities, timings) gets a core and an adapter built from the new config; the
 * state carries over.
 */
export async function startDbclient(ctx: RoleContext, options: { adapter?: LoadBalancerAdapter } = {}): Promise<RunningRole> {
  const lbLogger = ctx.logger.child({ component: 'lb' });
  let adapter = options.adapter ?? adapterFromConfig(ctx.config, ctx.party as DbclientParty, lbLogger);

  const executor =
    (live: () => boolean): EffectExecutor<DbclientEffect> =>
    (eff, dispatch) => {
      const lb = adapter;
      const send = (ev: DbclientEvent): void => {
        if (live()) dispatch(ev);
      };
      if (eff.kind === 'observe_lb') {
        lb.observe().then(
          (observed) => send({ kind: 'lb_observed', observed, applied: null }),
          (err: unknown) => send({ kind: 'lb_failed', during: 'observe', ...failure(err) }),
        );
        return;
      }
      void (async () => {
        ctx.logger.debug({ event: 'lb_apply', reason: eff.reason }, `applying the desired state: ${eff.reason}`);
        let applied: { commands: string[]; errors: string[] };
        try {
          const out = await lb.apply(eff.desired);
          applied = { commands: out.commands, errors: out.errors };
        } catch (err) {
          send({ kind: 'lb_failed', during: 'apply', ...failure(err) });
          return;
        }
        try {
          send({ kind: 'lb_observed', observed: await lb.observe(), applied });
        } catch (err) {
          if (applied.commands.length > 0) ctx.logger.info({ event: 'lb_applied', commands: applied.commands }, `load balancer: ${applied.commands.join('; ')}`);
          send({ kind: 'lb_failed', during: 'observe', ...failure(err) });
        }
      })();
    };

  const binding = bindDbclient({
    config: ctx.config,
    party: ctx.party as DbclientParty,
    post: ctx.post,
    clock: ctx.clock,
    durable: ctx.state,
    read: (key) => ctx.state.get(key),
    logger: ctx.logger,
    executor,
    onFatal: (f) => ctx.fatal?.(f.exitCode, f.message),
    ...(ctx.tap ? { tap: ctx.tap } : {}),
  });

  const unsubscribe = ctx.liveConfig?.onConfigChange((next, change) => {
    const me = next.parties.find((p) => p.id === ctx.self);
    // The config source refuses a change of this party's own settings (restart needed).
    if (me === undefined || !me.id.startsWith('dbclient:')) return;
    let nextAdapter: LoadBalancerAdapter | null = null;
    try {
      if (!options.adapter) nextAdapter = adapterFromConfig(next, me as DbclientParty, lbLogger);
      binding.reconfigure(next, me as DbclientParty, change.changes, () => {
        if (nextAdapter === null) return;
        const old = adapter;
        adapter = nextAdapter;
        void old.close();
      });
    } catch (err) {
      if (nextAdapter !== null && nextAdapter !== adapter) void nextAdapter.close();
      ctx.logger.error({ event: 'reconfigure_failed', reason: (err as Error).message }, `site config version ${change.to} not taken by the dbclient: ${(err as Error).message}`);
    }
  });

  const describeLb = (): string => {
    const lb = binding.party.loadBalancer;
    return lb.kind === 'haproxy' ? `HAProxy at ${lb.socket}` : `glbd at ${lb.control}`;
  };
  return {
    async stop() {
      unsubscribe?.();
      binding.stop();
      await adapter.close();
    },
    describe() {
      return `${ctx.self} steering ${describeLb()} for ${binding.config.servers.length} dbservers; writer ${binding.current.writer ?? 'none'}`;
    },
  };
}
