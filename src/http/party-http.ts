import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { PostOffice } from '../correspondents/post-office.js';
import { arbitratorMetrics } from '../metrics/arbitrator-metrics.js';
import { dbclientMetrics } from '../metrics/dbclient-metrics.js';
import { dbserverMetrics } from '../metrics/dbserver-metrics.js';
import { partyMetrics } from '../metrics/party-metrics.js';
import { type PartyId, parsePartyId } from '../protocol/party.js';
import type { ArbitratorState } from '../roles/arbitrator/state.js';
import type { DbclientState } from '../roles/dbclient/core.js';
import type { DbserverState } from '../roles/dbserver/core.js';
import { dbserverHealth, type Health, type HealthInputs } from '../roles/dbserver/health.js';
import type { StepTap } from '../roles/host.js';
import { partiesOfType } from '../site/load-config.js';
import type { DbserverParty, HttpConfig, Party, SiteConfig } from '../site/schema.js';
import { arbitratorRoutes, EventFeed } from './arbitrator-api.js';
import { HttpServer, type HttpLimits, type Reply, type Route } from './server.js';

/**
 * A party's HTTP side, wired (site config `http`; docs/observability.md): the metrics registry,
 * the tap the role's host reports its steps to, and the routes for this role. Loaded only by a
 * party that has an `http` block, so that prom-client costs nothing anywhere else.
 */
export interface PartyHttp {
  /** For RoleContext.tap, before the role starts. */
  tap: StepTap;
  /** Opens the port, once the role runs. */
  listen(): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

export interface PartyHttpOptions {
  self: PartyId;
  party: Party;
  config: () => SiteConfig;
  post: PostOffice;
  logger: Logger;
  /** The clock the cores and the post office measure durations on (monotonic). */
  now: () => number;
  /** The wall clock (a dbserver reading's time). */
  wall: () => number;
  incarnation: number;
  limits?: Partial<HttpLimits>;
}

function version(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const v = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (v.name === 'galera-minder' && typeof v.version === 'string') return v.version;
    } catch {
      /* try the next layout (dist/ or the sources) */
    }
  }
  return 'unknown';
}

/** The API token: one line of the 0600 file (checked at start with the other secrets). */
export function readToken(path: string): string {
  const t = readFileSync(path, 'utf8').trim();
  if (t.length < 16 || /\s/.test(t)) throw new Error(`the API token in ${path} must be one word of at least 16 characters`);
  return t;
}

const text = (status: number, body: string): Reply => ({ status, body: `${body}\r\n`, type: 'text/plain; charset=utf-8' });

export function healthInputsOf(cfg: SiteConfig, self: PartyId, arbitratorHeardAgoMs: number | undefined): HealthInputs {
  const dbs = partiesOfType<DbserverParty>(cfg, 'dbserver');
  const me = dbs.find((d) => d.id === self);
  return {
    self,
    partyOfNode: new Map(dbs.map((d) => [d.nodeName, d.id as PartyId])),
    preference: new Map(dbs.map((d) => [d.id as PartyId, [cfg.dataCentres[d.dc]?.priority ?? 99, (parsePartyId(d.id) as { serial: number }).serial] as const])),
    allowDonorReads: me?.allowDonorReads ?? false,
    staleAfterMs: cfg.timings.staleAfter,
    arbitratorHeardAgoMs,
  };
}

export function preparePartyHttp(o: PartyHttpOptions): PartyHttp {
  const http = o.party.http as HttpConfig;
  const type = (parsePartyId(o.self) as { type: string }).type;
  const metrics = partyMetrics({ party: o.self, role: type, site: o.config().site, version: version(), post: o.post, now: o.now });
  let last: unknown = null;
  let lastStepAt: number | null = null;
  metrics.onStep((s) => {
    last = s.state;
    lastStepAt = s.now;
  });
  const routes: Route[] = [];
  const feed = new EventFeed();
  let token: string | null = null;

  // With several arbitrators (arbitrator.store etcd) the one heard last counts: a standby reports too.
  const arbitratorHeardAt = (): number | undefined => {
    let best: number | undefined;
    for (const p of partiesOfType(o.config(), 'arbitrator')) {
      const at = o.post.lastHeardAt(p.id as PartyId);
      if (at !== undefined && (best === undefined || at > best)) best = at;
    }
    return best;
  };
  const dbHealth = (): Health | null => {
    if (last === null) return null;
    const heardAt = arbitratorHeardAt();
    return dbserverHealth(last as DbserverState, healthInputsOf(o.config(), o.self, heardAt === undefined ? undefined : o.now() - heardAt), o.wall());
  };

  // A host steps at least every report interval (its timers); much longer without one, it is stuck.
  const liveness = (): Reply => {
    const limit = Math.max(10_000, 3 * o.config().timings.reportInterval);
    if (lastStepAt === null) return text(503, `${o.self} has not taken its first step yet`);
    const quiet = o.now() - lastStepAt;
    return quiet > limit
      ? text(503, `${o.self}: no step for ${(quiet / 1000).toFixed(1)} s (limit ${limit / 1000} s)`)
      : text(200, `ok: ${o.self} incarnation ${o.incarnation}, last step ${(quiet / 1000).toFixed(1)} s ago`);
  };
  routes.push({ name: 'health', path: '/health', handle: liveness });
  routes.push({
    name: 'metrics',
    path: '/metrics',
    handle: async () => ({ status: 200, body: await metrics.registry.metrics(), type: metrics.registry.contentType }),
  });

  if (type === 'arbitrator') {
    arbitratorMetrics(metrics, { state: () => last as ArbitratorState | null, now: o.now });
    metrics.onStep((s) => feed.step(s));
    routes.push(...arbitratorRoutes({ state: () => last as ArbitratorState | null, now: o.now, feed }));
    if (http.tokenFile !== undefined) token = readToken(http.tokenFile);
  } else if (type === 'dbserver') {
    dbserverMetrics(metrics, { self: o.self, state: () => last as DbserverState | null, health: dbHealth, wall: o.wall });
    const answer = (which: 'read' | 'write') => (): Reply => {
      const h = dbHealth();
      if (h === null) return text(503, `${o.self}: no reading yet`);
      const a = h[which];
      return text(a.ok ? 200 : 503, `${o.self} ${which}: ${a.ok ? 'yes' : 'no'}: ${a.reason}`);
    };
    routes.push({ name: 'read', path: '/read', handle: answer('read') });
    routes.push({ name: 'write', path: '/write', handle: answer('write') });
    // clustercheck's own answer: 200 while the node may take reads.
    routes.push({ name: 'clustercheck', path: '/', handle: answer('read') });
  } else if (type === 'dbclient') {
    dbclientMetrics(metrics, { state: () => last as DbclientState | null });
  }
  if (type !== 'arbitrator' && type !== 'dbserver') routes.push({ name: 'index', path: '/', handle: () => text(200, `${o.self}: /health, /metrics`) });

  let server: HttpServer | null = null;
  return {
    tap: (s) => metrics.tap(s),
    async listen() {
      server = await HttpServer.listen({
        host: http.listen.host,
        port: http.listen.port,
        routes,
        counters: metrics.http,
        logger: o.logger,
        token,
        limits: { maxConnections: http.maxConnections, ...o.limits },
      });
      return server.address;
    },
    async close() {
      feed.closeAll();
      await server?.close();
    },
  };
}
