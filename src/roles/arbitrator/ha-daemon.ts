import { randomBytes } from 'node:crypto';
import type { ArbitratorParty } from '../../site/schema.js';
import type { RoleContext, RunningRole } from '../context.js';
import { followSiteConfig, handDatagramStats } from './daemon-glue.js';
import { bindHaArbitrator, hasRecords } from './ha-binding.js';
import { type ArbitratorRecords, type DecisionRecord, RECORD_KEYS } from './records.js';
import type { ArbitratorSettings } from './settings.js';
import { initialStoreView, leaderText } from './standby.js';
import { initialArbitratorState } from './state.js';
import { defaultPrefix } from './store/etcd-keys.js';
import { EtcdArbitratorStore } from './store/etcd-store.js';

/**
 * The arbitrator with `arbitrator.store: etcd` (docs/arbitrator-ha.md): the same decision core
 * as with the local store, bound to the etcd store by ha-binding.ts (leadership, guarded
 * writes before sends, fencing tokens).
 */

/** Test-only, as in daemon.ts: SIGKILL right after etcd committed a new decision, before its send. */
const CRASH_AFTER_PERSIST_ENV = 'MINDER_TEST_CRASH_AFTER_PERSIST';

export async function startHaArbitrator(ctx: RoleContext, settings0: ArbitratorSettings, localRecords: ArbitratorRecords): Promise<RunningRole> {
  let settings = settings0;
  const store = ctx.config.arbitrator;
  if (store.store !== 'etcd') throw new Error('startHaArbitrator needs arbitrator.store etcd');
  const cfg = store.etcd;
  const prefix = cfg.prefix ?? defaultPrefix(ctx.config.site);
  const me = ctx.party as ArbitratorParty;
  const log = ctx.logger;
  const crash = process.env[CRASH_AFTER_PERSIST_ENV] === '1';
  if (crash) log.warn({ event: 'test_crash_armed', env: CRASH_AFTER_PERSIST_ENV }, 'TEST HOOK: this arbitrator kills itself after etcd commits its next decision, before sending it');
  const known = new Set(localRecords.decisions.map((d) => d.id));

  const initial = initialArbitratorState(settings, localRecords, { incarnation: ctx.post.incarnation, instance: randomBytes(8).toString('hex'), store: initialStoreView(ctx.clock.now()) });
  const ha = bindHaArbitrator({
    initial,
    post: ctx.post,
    clock: ctx.clock,
    logger: log,
    makeStore: (onStatus) =>
      new EtcdArbitratorStore({
        cfg,
        prefix,
        self: { party: ctx.self, host: me.host, port: me.port, incarnation: ctx.post.incarnation },
        logger: log,
        seed: hasRecords(localRecords) ? localRecords : null,
        onStatus,
      }),
    onFatal: (f) => ctx.fatal?.(f.exitCode, f.message),
    ...(ctx.tap ? { tap: ctx.tap } : {}),
    ...(crash
      ? {
          afterWrite: (key: string, value: unknown) => {
            if (key !== RECORD_KEYS.decisions || !Array.isArray(value)) return;
            const fresh = (value as DecisionRecord[]).map((d) => d.id).filter((id) => !known.has(id));
            if (fresh.length === 0) return;
            log.warn({ event: 'test_crash', decisions: fresh }, `TEST HOOK: decision ${fresh.join(', ')} committed in etcd; killing this process before make_primary is sent`);
            process.kill(process.pid, 'SIGKILL');
          },
        }
      : {}),
  });
  const host = ha.host;
  ctx.post.watch([...settings.dbservers.map((d) => d.id), ...settings.dbclients]);
  log.info(
    { event: 'store_etcd', endpoints: cfg.endpoints, prefix },
    `arbitrator store: etcd at ${cfg.endpoints.join(', ')}, prefix ${prefix}; standing by until this arbitrator holds the leader lease`,
  );
  ha.start();
  const stopStats = handDatagramStats(ctx, host);
  const unfollow = followSiteConfig(ctx, host, (next) => {
    settings = next;
  });
  return {
    stop: async () => {
      unfollow();
      stopStats();
      await ha.stop();
    },
    describe: () => {
      const s = host.current;
      return `arbitrator of site ${settings.site} (etcd store: ${s.store ? leaderText(s.store) : '?'}): epoch ${s.records.directives.epoch}, ${s.records.decisions.length} decision(s)`;
    },
  };
}
