import type { Address } from '../../src/correspondents/transport.js';
import type { PartyId } from '../../src/protocol/party.js';
import { type SiteConfig, siteConfigSchema } from '../../src/site/schema.js';
import type { ModelNodeSpec } from './galera-model.js';

/**
 * The simulated sites: a few shapes of two-DC Galera cluster, each with an arbitrator in a
 * third place and one dbclient per DC. Addresses are per host so that the memory network can
 * cut a DC, a host, or the arbitrator's link to a DC.
 */

export const SITE = 'simsite';
/** The two DCs every shape has (the ones a DC cut separates); some shapes add a third, dc3. */
export const DCS = ['dc1', 'dc2'] as const;
export type Dc = (typeof DCS)[number] | 'dc3';
export const ARBITRATOR: PartyId = 'arbitrator:1';
export const OPERATOR_HOST = '10.0.9.100';

export interface Topology {
  name: string;
  /** Weights of the DB nodes in dc1 and in dc2, in serial order. */
  dc1: readonly number[];
  dc2: readonly number[];
  /** A third DC's DB nodes (2+2+1: a tie-breaking node in a third place). */
  dc3?: readonly number[];
  /** The nodes' real pc.weight where it differs from the config's `weight`, by DC, in serial order (null: as configured). */
  pcWeights?: { dc1?: readonly (number | null)[]; dc2?: readonly (number | null)[] };
  /** dbclients: one in dc1, or one in each DC. */
  clients: 1 | 2;
}

/**
 * Ties (2+2, 3+3) are what the arbitrator exists for; 3+2 and 2+1 check that it stays out of
 * the way when Galera has a majority by itself. Every report costs ~50 µs of wire work here
 * (msgpack, HMAC, zod), so the common shapes are the small ones.
 */
export const TOPOLOGIES: readonly Topology[] = [
  { name: '2+2', dc1: [1, 1], dc2: [1, 1], clients: 1 },
  { name: '2+2', dc1: [1, 1], dc2: [1, 1], clients: 1 },
  { name: '2+2', dc1: [1, 1], dc2: [1, 1], clients: 1 },
  { name: '2+2 two clients', dc1: [1, 1], dc2: [1, 1], clients: 2 },
  { name: '2+2 weighted tie', dc1: [2, 1], dc2: [1, 2], clients: 1 },
  { name: '3+3', dc1: [1, 1, 1], dc2: [1, 1, 1], clients: 2 },
  { name: '3+2', dc1: [1, 1, 1], dc2: [1, 1], clients: 1 },
  { name: '2+1', dc1: [1, 1], dc2: [1], clients: 1 },
];

/** Three DCs (fault `three_dcs`): a 2+2 with a tie-breaking node in dc3, and one node per DC. */
export const THREE_DC_TOPOLOGIES: readonly Topology[] = [
  { name: '2+2+1', dc1: [1, 1], dc2: [1, 1], dc3: [1], clients: 1 },
  { name: '1+1+1', dc1: [1], dc2: [1], dc3: [1], clients: 1 },
];

/**
 * A node's real pc.weight unlike the config's (fault `real_weights`, issue 11 path 2): the config
 * says 1 everywhere, one dc2 node really has 2 (dc2 holds 3 of 5 and stays Primary at a DC cut),
 * or one dc1 node really has 0.
 */
export const MISWEIGHTED_TOPOLOGIES: readonly Topology[] = [
  { name: '2+2, one dc2 node really pc.weight=2', dc1: [1, 1], dc2: [1, 1], pcWeights: { dc2: [2, null] }, clients: 1 },
  { name: '2+2, one dc1 node really pc.weight=0', dc1: [1, 1], dc2: [1, 1], pcWeights: { dc1: [null, 0] }, clients: 1 },
];

export interface TimingsSpec {
  name: string;
  reportInterval: string;
  ackTimeout: string;
  failoverPeriod: string;
  staleAfter: string;
  makePrimaryValidFor: string;
}

/** The defaults, and a shorter set with the same ratios (which is what the simulated time per seed costs). */
export const TIMINGS: readonly TimingsSpec[] = [
  { name: 'short', reportInterval: '2s', ackTimeout: '1s', failoverPeriod: '4s', staleAfter: '6s', makePrimaryValidFor: '10s' },
  { name: 'short', reportInterval: '2s', ackTimeout: '1s', failoverPeriod: '4s', staleAfter: '6s', makePrimaryValidFor: '10s' },
  { name: 'short', reportInterval: '2s', ackTimeout: '1s', failoverPeriod: '4s', staleAfter: '6s', makePrimaryValidFor: '10s' },
  { name: 'default', reportInterval: '5s', ackTimeout: '3s', failoverPeriod: '10s', staleAfter: '15s', makePrimaryValidFor: '30s' },
];

export interface SimSite {
  config: SiteConfig;
  topology: Topology;
  timings: TimingsSpec;
  /** Every long-lived party's address. */
  directory: ReadonlyMap<PartyId, Address>;
  dbservers: readonly PartyId[];
  dbclients: readonly PartyId[];
  dcOf: ReadonlyMap<PartyId, Dc>;
  /** The Galera node beside each dbserver, and back. */
  nodeOf: ReadonlyMap<PartyId, string>;
  serverOf: ReadonlyMap<string, PartyId>;
  nodes: readonly ModelNodeSpec[];
  /** Hosts (addresses) of every party in a DC. */
  hostsIn(dc: Dc): string[];
  hostOf(id: PartyId): string;
  /** Every arbitrator: ARBITRATOR alone, or several on a leader store (buildSite's `arbitrators`, test/sim/ha-store.ts). */
  arbitrators?: readonly PartyId[];
}

/** Several arbitrators on a leader store (the HA model, test/sim/ha-store.ts): the site config's arbitrator block. */
export interface HaSiteOptions {
  arbitrators: number;
  leaseTtl: string;
  requestTimeout: string;
  followInterval: string;
}

const built = new Map<Topology, Map<TimingsSpec, SimSite>>();

/** A site is plain data and never changed by a run: each shape is built (and validated) once. */
export function siteFor(topology: Topology, timings: TimingsSpec): SimSite {
  let byTimings = built.get(topology);
  if (!byTimings) {
    byTimings = new Map();
    built.set(topology, byTimings);
  }
  let site = byTimings.get(timings);
  if (!site) {
    site = buildSite(topology, timings);
    byTimings.set(timings, site);
  }
  return site;
}

export function buildSite(topology: Topology, timings: TimingsSpec, ha?: HaSiteOptions): SimSite {
  const arbitrators: PartyId[] = Array.from({ length: ha?.arbitrators ?? 1 }, (_, i) => `arbitrator:${i + 1}` as PartyId);
  const parties: unknown[] = arbitrators.map((id, i) => ({ id, host: `10.0.9.${i + 1}`, port: 4800, dc: 'witness' }));
  const directory = new Map<PartyId, Address>(arbitrators.map((id, i) => [id, { address: `10.0.9.${i + 1}`, port: 4800 }]));
  const dcOf = new Map<PartyId, Dc>();
  const nodeOf = new Map<PartyId, string>();
  const serverOf = new Map<string, PartyId>();
  const nodes: ModelNodeSpec[] = [];
  const dbservers: PartyId[] = [];
  const dbclients: PartyId[] = [];
  let serial = 0;
  const dcs: Dc[] = topology.dc3 ? [...DCS, 'dc3'] : [...DCS];
  for (const [d, dc] of dcs.entries()) {
    const weights = dc === 'dc1' ? topology.dc1 : dc === 'dc2' ? topology.dc2 : (topology.dc3 ?? []);
    const real = dc === 'dc3' ? undefined : topology.pcWeights?.[dc];
    for (const [i, weight] of weights.entries()) {
      serial++;
      const id: PartyId = `dbserver:${serial}`;
      const host = `10.0.${d + 1}.${11 + i}`;
      const name = `db${serial}`;
      parties.push({
        id,
        host,
        port: 4801,
        dc,
        weight,
        nodeName: name,
        mariadb: { socket: '/run/mysqld/mysqld.sock', passwordFile: '/etc/minder/mariadb.password' },
      });
      directory.set(id, { address: host, port: 4801 });
      dcOf.set(id, dc);
      nodeOf.set(id, name);
      serverOf.set(name, id);
      const pcWeight = real?.[i];
      nodes.push({ name, uuid: `${serial.toString(16).padStart(8, '0')}-0000-4000-8000-00000000c0de`, weight, ...(pcWeight != null ? { pcWeight } : {}), address: `${host}:3306` });
      dbservers.push(id);
    }
  }
  for (const [d, dc] of DCS.slice(0, topology.clients).entries()) {
    const id: PartyId = `dbclient:${d + 1}`;
    const host = `10.0.${d + 1}.50`;
    parties.push({ id, host, port: 4802, dc, loadBalancer: { kind: 'haproxy', socket: '/run/haproxy/admin.sock' } });
    directory.set(id, { address: host, port: 4802 });
    dcOf.set(id, dc);
    dbclients.push(id);
  }
  const { name: _n, ...t } = timings;
  const config = siteConfigSchema.parse({
    site: SITE,
    dataCentres: topology.dc3
      ? { dc1: { priority: 1 }, dc2: { priority: 2 }, dc3: { priority: 3 }, witness: { priority: 4 } }
      : { dc1: { priority: 1 }, dc2: { priority: 2 }, witness: { priority: 3 } },
    keys: { send: 1, files: [{ id: 1, path: '/dev/null' }] },
    // The product's default bound (issue 11 path 6); the simulated clocks are at most 4 s apart but for clock steps.
    timings: { ...t, maxClockSkew: '5s' },
    ...(ha ? { arbitrator: { store: 'etcd', etcd: { endpoints: ['http://10.0.9.200:2379'], leaseTtl: ha.leaseTtl, requestTimeout: ha.requestTimeout, followInterval: ha.followInterval } } } : {}),
    parties,
  });
  const hostOf = (id: PartyId): string => {
    const a = directory.get(id);
    if (!a) throw new Error(`${id} is not in the simulated site`);
    return a.address;
  };
  return {
    config,
    topology,
    timings,
    directory,
    dbservers,
    dbclients,
    dcOf,
    nodeOf,
    serverOf,
    nodes,
    hostsIn: (dc) => [...dcOf.entries()].filter(([, d]) => d === dc).map(([id]) => hostOf(id)),
    hostOf,
    ...(ha ? { arbitrators } : {}),
  };
}
