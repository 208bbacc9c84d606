import { z } from 'zod';
import { isPartyId, parsePartyId, type PartyId } from '../../protocol/party.js';
import { directives as directivesSchema } from '../../protocol/verbs.js';
import { partiesOfType } from '../../site/load-config.js';
import type { ArbitratorParty, DbclientParty, DbserverParty, SiteConfig } from '../../site/schema.js';
import type { RoleContext, RunningRole } from '../context.js';
import { RoleHost } from '../host.js';
import { adapterFromConfig } from './adapter-from-config.js';
import { dbclientCore, type DbclientConfig, type DbclientEffect, type DbclientEvent, type DbclientPersisted, type DbclientState, initialState, PERSIST_DIRECTIVES, PERSIST_WRITER } from './core.js';
import { LbError, type LoadBalancerAdapter } from './lb/types.js';
import type { ServerSpec } from './routing.js';

/** The load balancer is read back this often (and repaired if it drifted, e.g. after a reload). */
export const LB_POLL_MS = 1000;
/** Weight of every serving server: HAProxy's and glbd's default. */
export const LB_WEIGHT = 1;

export function dbclientConfigOf(cfg: SiteConfig, self: DbclientParty): DbclientConfig {
  const arbitrator = partiesOfType<ArbitratorParty>(cfg, 'arbitrator')[0];
  if (arbitrator === undefined) throw new Error('the site config has no arbitrator');
  const servers: ServerSpec[] = partiesOfType<DbserverParty>(cfg, 'dbserver').map((d) => ({
    id: d.id as PartyId,
    serial: (parsePartyId(d.id) as { serial: number }).serial,
    dc: d.dc,
    dcPriority: cfg.dataCentres[d.dc]?.priority ?? 99,
    allowDonorReads: d.allowDonorReads,
    nodeName: d.nodeName,
    weight: d.weight,
  }));
  return {
    self: self.id as PartyId,
    arbitrator: arbitrator.id as PartyId,
    arbitrators: partiesOfType<ArbitratorParty>(cfg, 'arbitrator').map((a) => a.id as PartyId),
    fenced: cfg.arbitrator.store === 'etcd',
    servers,
    lbKind: self.loadBalancer.kind,
    staleAfterMs: cfg.timings.staleAfter,
    reportIntervalMs: cfg.timings.reportInterval,
    lbPollMs: Math.min(LB_POLL_MS, cfg.timings.reportInterval),
    weight: LB_WEIGHT,
  };
}

const partyName = z.string().refine(isPartyId, 'not a party name');
const persistedWriter = z.object({ writer: partyName.nullable(), retiring: z.array(partyName) });
const persistedDirectives = z.object({ body: directivesSchema, receivedAt: z.number().int().nonnegative(), from: partyName.optional() });

/** What a previous run left in the state file; anything that does not fit is set aside, loudly. */
function loadPersisted(ctx: RoleContext): DbclientPersisted {
  const out: DbclientPersisted = {};
  const w = persistedWriter.safeParse(ctx.state.get(PERSIST_WRITER) ?? null);
  if (w.success) out.writer = w.data as DbclientPersisted['writer'];
  else if (ctx.state.get(PERSIST_WRITER) !== undefined) ctx.logger.warn({ event: 'state_ignored', key: PERSIST_WRITER }, 'stored writer is malformed; starting without it');
  const d = persistedDirectives.safeParse(ctx.state.get(PERSIST_DIRECTIVES) ?? null);
  if (d.success) out.directives = d.data;
  else if (ctx.state.get(PERSIST_DIRECTIVES) !== undefined) ctx.logger.warn({ event: 'state_ignored', key: PERSIST_DIRECTIVES }, 'stored directives are malformed; starting without them');
  return out;
}

function failure(err: unknown): { code: string; error: string } {
  if (err instanceof LbError) return { code: err.code, error: err.message };
  return { code: 'LB_PROTOCOL', error: (err as Error).message ?? String(err) };
}

/**
 * The dbclient daemon: the pure core in a RoleHost, the load-balancer adapter as its executor.
 * `apply_lb` applies then reads back; `observe_lb` reads; both feed the result to the core.
 * A site config change applied while running (dbservers added or removed, DC priorities,
 * timings) gets a core and an adapter built from the new config; the state carries over.
 */
export async function startDbclient(ctx: RoleContext, options: { adapter?: LoadBalancerAdapter } = {}): Promise<RunningRole> {
  let self = ctx.party as DbclientParty;
  let cfg = dbclientConfigOf(ctx.config, self);
  const lbLogger = ctx.logger.child({ component: 'lb' });
  let adapter = options.adapter ?? adapterFromConfig(ctx.config, self, lbLogger);
  let stopped = false;
  let generation = 0;

  const makeHost = (initial: DbclientState): RoleHost<DbclientState, DbclientEvent, DbclientEffect> => {
    const mine = ++generation;
    const execute = (eff: DbclientEffect, dispatch: (ev: unknown) => void): void => {
      const lb = adapter;
      // An answer for a host that has been replaced (config change) or stopped goes nowhere.
      const send = (ev: DbclientEvent): void => {
        if (!stopped && generation === mine) dispatch(ev);
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
    return new RoleHost<DbclientState, DbclientEvent, DbclientEffect>({
      core: dbclientCore(cfg),
      initial,
      post: ctx.post,
      clock: ctx.clock,
      durable: ctx.state,
      logger: ctx.logger,
      onFatal: (f) => ctx.fatal?.(f.exitCode, f.message),
      ...(ctx.tap ? { tap: ctx.tap } : {}),
      execute,
    });
  };

  let host = makeHost(initialState(loadPersisted(ctx)));
  ctx.post.watch([...(cfg.arbitrators ?? [cfg.arbitrator]), ...cfg.servers.map((s) => s.id)]);
  host.start();

  const unsubscribe = ctx.liveConfig?.onConfigChange((next, change) => {
    if (stopped) return;
    const me = next.parties.find((p) => p.id === ctx.self);
    // The config source refuses a change of this party's own settings (restart needed).
    if (me === undefined || !me.id.startsWith('dbclient:')) return;
    let nextCfg: DbclientConfig;
    let nextAdapter: LoadBalancerAdapter | null = null;
    try {
      nextCfg = dbclientConfigOf(next, me as DbclientParty);
      if (!options.adapter) nextAdapter = adapterFromConfig(next, me as DbclientParty, lbLogger);
    } catch (err) {
      ctx.logger.error({ event: 'reconfigure_failed', reason: (err as Error).message }, `site config version ${change.to} not taken by the dbclient: ${(err as Error).message}`);
      return;
    }
    const carried = host.current;
    host.stop();
    if (nextAdapter !== null) {
      const old = adapter;
      adapter = nextAdapter;
      void old.close();
    }
    self = me as DbclientParty;
    cfg = nextCfg;
    ctx.post.watch([...(cfg.arbitrators ?? [cfg.arbitrator]), ...cfg.servers.map((s) => s.id)]);
    host = makeHost(carried);
    host.dispatch({ kind: 'reconfigured', changes: change.changes });
  });

  const describeLb = (): string => (self.loadBalancer.kind === 'haproxy' ? `HAProxy at ${self.loadBalancer.socket}` : `glbd at ${self.loadBalancer.control}`);
  return {
    async stop() {
      stopped = true;
      unsubscribe?.();
      host.stop();
      await adapter.close();
    },
    describe() {
      const s = host.current;
      return `${ctx.self} steering ${describeLb()} for ${cfg.servers.length} dbservers; writer ${s.writer ?? 'none'}`;
    },
  };
}
