import type { PartyId } from '../protocol/party.js';
import { formatDuration } from './duration.js';
import type { Party, SiteConfig } from './schema.js';

/**
 * What changed between the config in force and a newer one, and whether a running party can
 * take it without a restart. Pure: the same two configs always give the same verdict.
 *
 * Applied live: timings, data centres, other parties added, removed or changed (the post office's
 * directory and the roles follow the current config). Refused, the old config staying in force:
 * a renamed site, this party removed, this party's own address or settings changed, keys or the
 * state directory changed — all of them need a restart (or a new bootstrap file) to take effect.
 */

export interface ConfigDiff {
  /** Dotted paths of what changed, parties keyed by id: `timings.ackTimeout`, `parties.dbserver:2.port`. */
  fields: string[];
  /** One human line per change: `timings.ackTimeout: 3s → 2s`, `parties: added dbclient:3`. */
  changes: string[];
}

export type ChangeVerdict = { kind: 'same' } | ({ kind: 'apply' } & ConfigDiff) | ({ kind: 'refuse'; reasons: string[] } & ConfigDiff);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown, path: string): string {
  if (typeof v === 'number' && path.startsWith('timings.')) return formatDuration(v);
  if (v === undefined) return '(none)';
  const s = JSON.stringify(v as Json);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function diffInto(a: unknown, b: unknown, path: string, out: ConfigDiff): void {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) diffInto(a[k], b[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  out.fields.push(path);
  out.changes.push(`${path}: ${show(a, path)} → ${show(b, path)}`);
}

/** Every difference, parties matched by id (their order in the document does not matter). */
export function diffConfigs(old: SiteConfig, next: SiteConfig): ConfigDiff {
  const out: ConfigDiff = { fields: [], changes: [] };
  const { parties: pa, ...ra } = old;
  const { parties: pb, ...rb } = next;
  diffInto(ra, rb, '', out);
  const byId = (ps: Party[]) => new Map(ps.map((p) => [p.id, p]));
  const ma = byId(pa);
  const mb = byId(pb);
  for (const [id, p] of ma) {
    const q = mb.get(id);
    if (!q) {
      out.fields.push(`parties.${id}`);
      out.changes.push(`parties: removed ${id}`);
    } else diffInto(p, q, `parties.${id}`, out);
  }
  for (const id of mb.keys()) {
    if (ma.has(id)) continue;
    out.fields.push(`parties.${id}`);
    out.changes.push(`parties: added ${id}`);
  }
  return out;
}

export function classifyChange(old: SiteConfig, next: SiteConfig, self: PartyId): ChangeVerdict {
  const diff = diffConfigs(old, next);
  if (diff.fields.length === 0) return { kind: 'same' };
  const reasons: string[] = [];
  if (old.site !== next.site) reasons.push(`the site is renamed from ${old.site} to ${next.site}: every party needs a new bootstrap file and a restart`);
  const mine = old.parties.find((p) => p.id === self);
  const theirs = next.parties.find((p) => p.id === self);
  if (!theirs) reasons.push(`${self} is not in the new config: stop this party (it keeps running on the old config until then)`);
  else if (mine) {
    if (mine.host !== theirs.host || mine.port !== theirs.port) {
      reasons.push(`own address changes from ${mine.host}:${mine.port} to ${theirs.host}:${theirs.port}: restart ${self} to apply`);
    }
    const own = diff.fields.filter((f) => f.startsWith(`parties.${self}.`) && f !== `parties.${self}.host` && f !== `parties.${self}.port`);
    if (own.length) reasons.push(`own settings change (${own.map((f) => f.slice(`parties.${self}.`.length)).join(', ')}): restart ${self} to apply`);
  }
  if (diff.fields.some((f) => f.startsWith('keys.') || f === 'keys')) reasons.push('keys change: the keyring is loaded at start, restart to apply');
  if (diff.fields.includes('stateDir')) reasons.push('stateDir changes: restart to apply');
  return reasons.length ? { kind: 'refuse', reasons, ...diff } : { kind: 'apply', ...diff };
}
