import type { TimerHandle } from '../../correspondents/clock.js';
import type { RoleContext } from '../context.js';
import type { ArbitratorEvent } from './core.js';
import { type ArbitratorSettings, arbitratorSettings } from './settings.js';

/**
 * What both arbitrator daemons (the local store's daemon.ts and etcd's ha-daemon.ts) wire around
 * the core the same way: the post office's counters for `status`, and the live site config.
 */
interface Dispatcher {
  dispatch(event: ArbitratorEvent): void;
}

/** How often the post office's counters are handed to the core for `status`. */
export const STATS_EVERY_MS = 1000;

/** Hands the post office's counters to the core once a second, when they moved; returns a stop. */
export function handDatagramStats(ctx: RoleContext, host: Dispatcher): () => void {
  let last = '';
  let timer: TimerHandle | null = null;
  const hand = (): void => {
    const st = ctx.post.stats();
    const counts = { accepted: st.accepted, sent: st.sent, resent: st.resent, drops: { ...st.drops } };
    const key = JSON.stringify(counts);
    if (key !== last) {
      last = key;
      host.dispatch({ kind: 'datagram_stats', stats: counts });
    }
    timer = ctx.clock.setTimer(STATS_EVERY_MS, hand);
  };
  hand();
  return () => timer?.cancel();
}

/**
 * Parties and timings apply without a restart (docs/configuration.md): new settings go to the core
 * and the post office watches the new parties. The config source has already refused a change of
 * this arbitrator's own address or key. Returns an unsubscribe.
 */
export function followSiteConfig(ctx: RoleContext, host: Dispatcher, onSettings: (s: ArbitratorSettings) => void): () => void {
  const unsubscribe = ctx.liveConfig?.onConfigChange((next, change) => {
    const settings = arbitratorSettings(next, ctx.self, ctx.configSource ?? 'site config');
    onSettings(settings);
    ctx.post.watch([...settings.dbservers.map((d) => d.id), ...settings.dbclients]);
    host.dispatch({ kind: 'reconfigured', settings, changes: change.changes });
  });
  return () => unsubscribe?.();
}
