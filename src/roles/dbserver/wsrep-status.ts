import type { Member, PrimaryView, WsrepStatus } from '../../protocol/verbs.js';
import { MinderError } from '../../errors.js';

/**
 * Pure translation of what mariadbd answers (SHOW GLOBAL STATUS LIKE 'wsrep%' and
 * information_schema.WSREP_MEMBERSHIP) into the protocol's WsrepStatus. No guessing: a value
 * that is missing or not what Galera writes is an error, never a default.
 */

export type StatusVars = ReadonlyMap<string, string>;

export class WsrepParseError extends MinderError {
  declare readonly code: 'WSREP_PARSE';
  constructor(message: string) {
    super('WSREP_PARSE', message);
  }
}

/** Galera's "no configuration" conf id (a non-Primary component): 2^64 - 1. */
const NO_CONF_ID = '18446744073709551615';
const CLUSTER_STATUS = new Set(['Primary', 'non-Primary', 'Disconnected']);

export function statusVars(rows: ReadonlyArray<Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rows) {
    const name = r['Variable_name'];
    const value = r['Value'];
    if (typeof name === 'string') out.set(name.toLowerCase(), value === null || value === undefined ? '' : String(value));
  }
  return out;
}

function need(v: StatusVars, name: string): string {
  const x = v.get(name);
  if (x === undefined) throw new WsrepParseError(`${name} is missing (is wsrep_on set and the Galera provider loaded?)`);
  return x;
}

function int(v: StatusVars, name: string, min: number): number {
  const s = need(v, name);
  if (!/^-?\d{1,18}$/.test(s) || Number(s) < min) throw new WsrepParseError(`${name} = "${s.slice(0, 40)}" is not an integer ≥ ${min}`);
  return Number(s);
}

export function confIdOf(raw: string): number | null {
  if (raw === NO_CONF_ID || raw === '-1') return null;
  if (!/^\d{1,15}$/.test(raw)) throw new WsrepParseError(`wsrep_cluster_conf_id = "${raw.slice(0, 40)}" is not a conf id`);
  return Number(raw);
}

export function membershipOf(rows: ReadonlyArray<Record<string, unknown>>): Member[] {
  const members: Array<Member & { index: number }> = [];
  for (const r of rows) {
    const uuid = r['UUID'];
    const name = r['NAME'];
    const address = r['ADDRESS'];
    const index = Number(r['INDEX']);
    if (typeof uuid !== 'string' || uuid === '' || uuid.length > 64) throw new WsrepParseError('WSREP_MEMBERSHIP: a row has no usable UUID');
    members.push({ uuid, name: String(name ?? '').slice(0, 64), address: String(address ?? '').slice(0, 64), index });
  }
  if (members.length > 64) throw new WsrepParseError(`WSREP_MEMBERSHIP lists ${members.length} members (at most 64 are reported)`);
  return members.sort((a, b) => a.index - b.index).map(({ uuid, name, address }) => ({ uuid, name, address }));
}

/** The fields of two snapshots that must agree for a membership read between them to be of the same view. */
export function viewSignature(v: StatusVars): string {
  return ['wsrep_cluster_status', 'wsrep_cluster_conf_id', 'wsrep_cluster_size', 'wsrep_cluster_state_uuid', 'wsrep_gcomm_uuid'].map((k) => v.get(k) ?? '?').join('|');
}

/**
 * The node's Galera weight from `@@wsrep_provider_options` ("…; pc.weight = 2; …"): what its
 * quorum really counts. null when the option is not there or not a weight Galera accepts (0-255).
 */
export function pcWeightOf(providerOptions: string): number | null {
  const m = /(?:^|;)\s*pc\.weight\s*=\s*(\d{1,3})\s*(?:;|$)/.exec(providerOptions);
  if (!m) return null;
  const w = Number(m[1]);
  return w <= 255 ? w : null;
}

export function wsrepStatusOf(v: StatusVars, members: Member[], lastPrimary: PrimaryView | null, pcWeight: number | null = null): WsrepStatus {
  const clusterStatus = need(v, 'wsrep_cluster_status');
  if (!CLUSTER_STATUS.has(clusterStatus)) throw new WsrepParseError(`wsrep_cluster_status = "${clusterStatus.slice(0, 40)}" is not one Galera uses`);
  return {
    clusterStatus: clusterStatus as WsrepStatus['clusterStatus'],
    localState: need(v, 'wsrep_local_state_comment').slice(0, 32),
    ready: need(v, 'wsrep_ready') === 'ON',
    connected: need(v, 'wsrep_connected') === 'ON',
    clusterSize: int(v, 'wsrep_cluster_size', 0),
    stateUuid: need(v, 'wsrep_cluster_state_uuid').slice(0, 64),
    confId: confIdOf(need(v, 'wsrep_cluster_conf_id')),
    lastCommitted: int(v, 'wsrep_last_committed', -1),
    nodeUuid: (v.get('wsrep_gcomm_uuid') ?? '').slice(0, 64),
    members,
    lastPrimary,
    pcWeight,
  };
}

/** Membership rows describe the snapshot's view only if they have its size and hold this node. */
export function membershipFits(members: readonly Member[], v: StatusVars): boolean {
  const size = Number(v.get('wsrep_cluster_size'));
  const self = v.get('wsrep_gcomm_uuid');
  return members.length === size && self !== undefined && self !== '' && members.some((m) => m.uuid === self);
}
