import type { PartyId } from '../../protocol/party.js';
import { partiesOfType } from '../../site/load-config.js';
import type { DbclientParty, DbserverParty, SiteConfig } from '../../site/schema.js';
import { createLbAdapter, type LbLogger, type LoadBalancerAdapter } from './lb/index.js';
import { MinderError } from '../../errors.js';

export class AdapterConfigError extends MinderError {
  declare readonly code: 'LB_CONFIG';
  constructor(message: string) {
    super('LB_CONFIG', message);
  }
}

/** "host:port" → TCP; anything else (an absolute path) → a unix stream socket. */
export function glbControlEndpoint(control: string): { host: string; port: number } | { path: string } {
  const m = /^([^/:]+):(\d{1,5})$/.exec(control);
  if (m) return { host: m[1] as string, port: Number(m[2]) };
  if (control.startsWith('/')) return { path: control };
  throw new AdapterConfigError(`loadBalancer.control '${control}' is neither HOST:PORT nor an absolute socket path`);
}

/**
 * The adapter a dbclient party's config describes. Every dbserver of the site is mapped: an
 * HAProxy server name defaults to the node's wsrep name; glbd needs each node's IP:PORT given.
 */
export function adapterFromConfig(cfg: SiteConfig, self: DbclientParty, logger?: LbLogger): LoadBalancerAdapter {
  const dbservers = partiesOfType<DbserverParty>(cfg, 'dbserver');
  const lb = self.loadBalancer;
  try {
    if (lb.kind === 'haproxy') {
      const servers = Object.fromEntries(dbservers.map((d) => [d.id, lb.servers[d.id] ?? d.nodeName]));
      return createLbAdapter({
        kind: 'haproxy',
        socketPath: lb.socket,
        writeBackend: lb.writeBackend,
        readBackend: lb.readBackend,
        servers,
        ...(logger ? { logger } : {}),
      });
    }
    const missing = dbservers.filter((d) => lb.servers[d.id] === undefined).map((d) => d.id as PartyId);
    if (missing.length > 0) throw new AdapterConfigError(`${self.id}.loadBalancer.servers gives no IP:PORT for ${missing.join(', ')} (glbd routes by address)`);
    return createLbAdapter({ kind: 'glb', control: glbControlEndpoint(lb.control), servers: lb.servers, ...(logger ? { logger } : {}) });
  } catch (err) {
    if (err instanceof AdapterConfigError) throw err;
    throw new AdapterConfigError(`${self.id}.loadBalancer: ${(err as Error).message}`);
  }
}
