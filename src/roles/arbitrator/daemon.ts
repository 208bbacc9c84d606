import { randomBytes } from 'node:crypto';
import type { Durable } from '../host.js';
import { RoleHost } from '../host.js';
import type { RoleContext, RunningRole } from '../context.js';
import { type ArbitratorEffect, type ArbitratorEvent, arbitratorCore } from './core.js';
import { CliError, EXIT } from '../../errors.js';
import { ArbitratorRecordError, type ArbitratorRecords, type DecisionRecord, loadArbitratorRecords, RECORD_KEYS, recordProblem } from './records.js';
import { followSiteConfig, handDatagramStats } from './daemon-glue.js';
import { arbitratorSettings } from './settings.js';
import { type ArbitratorState, initialArbitratorState } from './state.js';

/**
 * Test-only: with MINDER_TEST_CRASH_AFTER_PERSIST=1 the process kills itself with SIGKILL right
 * after a new decision is durably written and before its make_primary is sent — the crash the
 * safety rule must survive (test/e2e/arbitrator-split.test.ts). Never set it in production.
 */
export const CRASH_AFTER_PERSIST_ENV = 'MINDER_TEST_CRASH_AFTER_PERSIST';

function crashingDurable(inner: Durable, known: Set<string>, log: (ids: string[]) => void): Durable {
  return {
    put(key, value, now) {
      inner.put(key, value, now);
      if (key !== RECORD_KEYS.decisions || !Array.isArray(value)) return;
      const fresh = (value as DecisionRecord[]).map((d) => d.id).filter((id) => !known.has(id));
      if (fresh.length === 0) return;
      log(fresh);
      process.kill(process.pid, 'SIGKILL');
    },
  };
}

export async function startArbitrator(ctx: RoleContext): Promise<RunningRole> {
  let settings = arbitratorSettings(ctx.config, ctx.self, ctx.configSource ?? 'site config');
  let records: ArbitratorRecords;
  try {
    records = loadArbitratorRecords((k) => ctx.state.get(k), ctx.clock.now());
  } catch (err) {
    if (err instanceof ArbitratorRecordError) throw new CliError(EXIT.STATE, `${ctx.state.path}: ${err.message}`);
    throw err;
  }
  // With etcd the records live there; the local ones only seed an empty etcd (moving from local).
  if (ctx.config.arbitrator.store === 'etcd') return (await import('./ha-daemon.js')).startHaArbitrator(ctx, settings, records);
  if (ctx.state.created) {
    ctx.logger.error(
      { event: 'state_file_created', path: ctx.state.path },
      `the arbitrator's state file ${ctx.state.path} did not exist and was created: if this arbitrator ran before, its decisions are lost; it relearns them from the dbservers before promoting anything (docs/safety.md)`,
    );
  }
  // A process-start id: two processes with one identity and one state file (a cloned VM) differ in it.
  const instance = randomBytes(8).toString('hex');
  const initial: ArbitratorState = initialArbitratorState(settings, records, { incarnation: ctx.post.incarnation, instance });
  let durable: Durable = ctx.state;
  if (process.env[CRASH_AFTER_PERSIST_ENV] === '1') {
    ctx.logger.warn({ event: 'test_crash_armed', env: CRASH_AFTER_PERSIST_ENV }, 'TEST HOOK: this arbitrator kills itself after persisting its next decision, before sending it');
    durable = crashingDurable(ctx.state, new Set(records.decisions.map((d) => d.id)), (ids) =>
      ctx.logger.warn({ event: 'test_crash', decisions: ids }, `TEST HOOK: decision ${ids.join(', ')} persisted; killing this process before make_primary is sent`),
    );
  }
  const host = new RoleHost<ArbitratorState, ArbitratorEvent, ArbitratorEffect>({
    core: arbitratorCore,
    initial,
    post: ctx.post,
    clock: ctx.clock,
    durable,
    logger: ctx.logger,
    onFatal: (f) => ctx.fatal?.(f.exitCode, f.message),
    check: recordProblem,
    ...(ctx.tap ? { tap: ctx.tap } : {}),
    execute: () => {},
  });
  ctx.post.watch([...settings.dbservers.map((d) => d.id), ...settings.dbclients]);
  host.start();
  const stopStats = handDatagramStats(ctx, host);
  const unfollow = followSiteConfig(ctx, host, (next) => {
    settings = next;
  });
  return {
    stop: async () => {
      unfollow();
      stopStats();
      host.stop();
    },
    describe: () => {
      const s = host.current;
      const d = s.records.directives;
      return `arbitrator of site ${settings.site}: ${settings.dbservers.length} dbservers, ${settings.dbclients.length} dbclients, epoch ${d.epoch}, ${s.records.decisions.length} decision(s)${d.paused ? ', PAUSED' : ''}`;
    },
  };
}
