// Load balancer adapters of the dbclient: one interface (types.ts), two implementations.

import { GlbAdapter, type GlbAdapterOptions } from './glb.js';
import { HaproxyAdapter, type HaproxyAdapterOptions } from './haproxy.js';
import type { LoadBalancerAdapter } from './types.js';

export * from './types.js';
export { GlbAdapter, type GlbAdapterOptions } from './glb.js';
export { HaproxyAdapter, type HaproxyAdapterOptions } from './haproxy.js';

export type LbAdapterConfig = ({ kind: 'haproxy' } & HaproxyAdapterOptions) | ({ kind: 'glb' } & GlbAdapterOptions);

/** Builds the adapter a dbclient's config names. Throws TypeError on invalid options. */
export function createLbAdapter(config: LbAdapterConfig): LoadBalancerAdapter {
  if (config.kind === 'haproxy') {
    const { kind: _kind, ...options } = config;
    return new HaproxyAdapter(options);
  }
  const { kind: _kind, ...options } = config;
  return new GlbAdapter(options);
}
