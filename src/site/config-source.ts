import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../correspondents/clock.js';
import type { Address } from '../correspondents/transport.js';
import type { PartyId } from '../protocol/party.js';
import type { LocalState } from '../state/local-state.js';
import type { Bootstrap } from './bootstrap.js';
import { classifyChange } from './config-change.js';
import { materialise, type StoredVersion } from './config-document.js';
import type { FetchResult } from './config-store.js';
import { ConfigError } from './load-config.js';
import type { Party, SiteConfig } from './schema.js';
import { MinderError } from '../errors.js';

/**
 * Where a party's site config comes from, and what keeps it current.
 *
 * With a bootstrap file the database is the source: the newest version is read at start and every
 * `timings.configRefresh`; each version the party runs is kept in its state file, and when no
 * database node answers the party runs on that local copy, says so, and goes back to the database
 * when it answers again. A newer version is applied live when it safely can be (config-change.ts)
 * and refused, the old one staying in force, when it cannot.
 */

export type ConfigSourceKind = 'database' | 'local_copy' | 'file';

/** What `status` shows about the config in force. */
export interface ConfigSourceInfo {
  kind: ConfigSourceKind;
  /** The stored version in force; null for a file. */
  version: number | null;
  /** When this kind and version came into force (ms since the epoch). */
  since: number;
  /** Why the party runs on its local copy (every node's reason). */
  reason?: string;
  /** The file, the database node that answered, or the state file holding the copy. */
  origin: string;
  /** The last time the database was asked. */
  checkedAt?: number;
  /** The newest version the party would not apply, and why. */
  refused?: { version: number; reason: string; at: number };
}

export interface ConfigChange {
  from: number | null;
  to: number;
  /** Human lines, e.g. `timings.ackTimeout: 3s → 2s`, `parties: added dbclient:3`. */
  changes: string[];
  fields: string[];
}

/**
 * The API roles and the status summary use: the config in force (read it each time, do not keep
 * it), where it came from, and a hook for changes applied while running.
 */
export interface LiveConfig {
  current(): SiteConfig;
  info(): ConfigSourceInfo;
  /** Called after a newer version was applied; returns an unsubscribe function. */
  onConfigChange(listener: (cfg: SiteConfig, change: ConfigChange) => void): () => void;
  /** Where each long-lived party of the current config lives (for PostOfficeOptions.directory). */
  directory(id: PartyId): Address | undefined;
}

// ---- the local copy in the party's state file --------------------------------------------------

export const LOCAL_COPY_KEY = 'site_config';

export interface LocalCopy extends StoredVersion {
  storedAt: number;
}

export function saveLocalCopy(state: LocalState, v: StoredVersion, now: number): void {
  const copy: LocalCopy = { ...v, storedAt: now };
  state.put(LOCAL_COPY_KEY, copy, now);
}

export function loadLocalCopy(state: LocalState): LocalCopy | undefined {
  const c = state.get<Partial<LocalCopy>>(LOCAL_COPY_KEY);
  if (!c || typeof c.version !== 'number' || typeof c.document !== 'string' || typeof c.checksum !== 'string' || typeof c.site !== 'string') return undefined;
  return { version: c.version, site: c.site, document: c.document, checksum: c.checksum, pushedBy: c.pushedBy ?? '', pushedAtMs: c.pushedAtMs ?? 0, storedAt: c.storedAt ?? 0 };
}

export function stateFilePath(stateDir: string, self: string): string {
  return join(stateDir, `${self.replace(':', '-')}.sqlite`);
}

// ---- start ----------------------------------------------------------------------------------------

export type ConfigSourceErrorCode =
  /** No database node answered and there is no usable local copy. */
  | 'NO_DATABASE_NO_COPY'
  /** The database answered without a usable config and there is no usable local copy. */
  | 'NO_USABLE_CONFIG'
  /** Several parties of this host have local copies: which one to be is not clear. */
  | 'AMBIGUOUS_PARTY';

export class ConfigSourceError extends MinderError {
  declare readonly code: ConfigSourceErrorCode;
  constructor(code: ConfigSourceErrorCode, message: string) {
    super(code, message);
  }
}

export interface StartDeps {
  boot: Bootstrap;
  fetcher: { fetchNewest(): Promise<FetchResult> };
  /** `--as`, $MINDER_AS or the bootstrap file's `as`; needed to find the state file when the database is away. */
  as?: string;
  /** Picks this party in a config (by `as`, else by this host's addresses); throws when it cannot. */
  pickSelf: (cfg: SiteConfig) => Party;
  openState: (path: string) => LocalState;
  now: () => number;
}

export interface StartResult {
  config: SiteConfig;
  party: Party;
  state: LocalState;
  version: StoredVersion;
  info: ConfigSourceInfo;
  /** Nodes passed over on the way to the one that answered (or every node's reason). */
  skipped: Array<{ node: string; reason: string }>;
}

function problemsOf(err: unknown): string {
  return err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message;
}

/**
 * The config a party starts with: the database's newest version, stored as the local copy; or,
 * when no node answers (or what it has is unusable), the local copy, with the reason.
 */
export async function resolveStartConfig(d: StartDeps): Promise<StartResult> {
  const r = await d.fetcher.fetchNewest();
  let reason: string;
  if (r.kind === 'ok') {
    let cfg: SiteConfig | undefined;
    try {
      cfg = materialise(r.version, d.boot);
    } catch (err) {
      reason = `the database's newest version ${r.version.version} is unusable: ${problemsOf(err)}`;
    }
    if (cfg) {
      const party = d.pickSelf(cfg);
      const state = d.openState(stateFilePath(d.boot.stateDir, party.id));
      const now = d.now();
      try {
        saveLocalCopy(state, r.version, now);
      } catch (err) {
        state.close();
        throw err;
      }
      const info: ConfigSourceInfo = { kind: 'database', version: r.version.version, since: now, origin: r.node, checkedAt: now };
      return { config: cfg, party, state, version: r.version, info, skipped: r.skipped };
    }
  }
  reason ??= r.kind === 'ok' ? 'unusable' : r.reason;
  const answered = r.kind !== 'unreachable';
  const found = findLocalCopy(d, reason, answered);
  const now = d.now();
  const info: ConfigSourceInfo = { kind: 'local_copy', version: found.version.version, since: now, reason, origin: found.state.path, checkedAt: now };
  return { ...found, info, skipped: r.kind === 'unreachable' ? r.attempts : r.skipped };
}

function findLocalCopy(d: StartDeps, reason: string, answered: boolean): Omit<StartResult, 'info' | 'skipped'> {
  const code: ConfigSourceErrorCode = answered ? 'NO_USABLE_CONFIG' : 'NO_DATABASE_NO_COPY';
  const fail = (why: string) => new ConfigSourceError(code, `${reason}; ${why}`);
  const candidates = d.as !== undefined ? [d.as] : stateFilesIn(d.boot.stateDir);
  const found: Array<Omit<StartResult, 'info' | 'skipped'>> = [];
  const problems: string[] = [];
  for (const id of candidates) {
    const path = stateFilePath(d.boot.stateDir, id);
    const state = d.openState(path);
    let keep = false;
    try {
      const copy = loadLocalCopy(state);
      if (!copy) {
        problems.push(`${path} holds no local copy of the site config`);
        continue;
      }
      let cfg: SiteConfig;
      try {
        cfg = materialise(copy, d.boot);
      } catch (err) {
        problems.push(`the local copy in ${path} (version ${copy.version}) is unusable: ${problemsOf(err)}`);
        continue;
      }
      let party: Party;
      try {
        party = d.pickSelf(cfg);
      } catch (err) {
        if (d.as !== undefined) throw err;
        continue;
      }
      if (party.id !== id) continue;
      found.push({ config: cfg, party, state, version: copy });
      keep = true;
    } finally {
      if (!keep) state.close();
    }
  }
  if (found.length === 1) return found[0] as Omit<StartResult, 'info' | 'skipped'>;
  for (const f of found) f.state.close();
  if (found.length > 1) {
    throw new ConfigSourceError(
      'AMBIGUOUS_PARTY',
      `${reason}; local copies of several parties of this host are in ${d.boot.stateDir} (${found.map((f) => f.party.id).join(', ')}): name one with --as or in the bootstrap file`,
    );
  }
  if (candidates.length === 0) throw fail(`and ${d.boot.stateDir} holds no state file with a local copy (start the party once while the database answers)`);
  throw fail(problems.length ? problems.join('; ') : `no local copy in ${d.boot.stateDir} is for a party of this host (name it with --as)`);
}

function stateFilesIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^(arbitrator|dbserver|dbclient)-([1-9][0-9]{0,5})\.sqlite$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}:${m[2]}`)
    .sort();
}

// ---- running ------------------------------------------------------------------------------------

export interface ConfigSourceOptions {
  self: PartyId;
  config: SiteConfig;
  info: ConfigSourceInfo;
  clock: Clock;
  logger: Logger;
  /** Absent for a file-only site: nothing is re-read. */
  database?: {
    boot: Bootstrap;
    fetcher: { fetchNewest(): Promise<FetchResult> };
    state: LocalState;
    version: StoredVersion;
  };
}

export type RefreshOutcome =
  | 'file'
  | 'unchanged'
  | 'applied'
  | 'refused'
  | 'unreachable'
  /** The database answered again after the party ran on its local copy. */
  | 'back_to_database';

export class ConfigSource implements LiveConfig {
  private cfg: SiteConfig;
  private status: ConfigSourceInfo;
  private version: StoredVersion | null;
  private readonly listeners = new Set<(cfg: SiteConfig, change: ConfigChange) => void>();
  private dir: Map<string, Address> | null = null;
  private timer: TimerHandle | null = null;
  private inFlight: Promise<RefreshOutcome> | null = null;
  private stopped = false;

  constructor(private readonly o: ConfigSourceOptions) {
    this.cfg = o.config;
    this.status = { ...o.info };
    this.version = o.database?.version ?? null;
  }

  current(): SiteConfig {
    return this.cfg;
  }

  info(): ConfigSourceInfo {
    return { ...this.status, ...(this.status.refused ? { refused: { ...this.status.refused } } : {}) };
  }

  onConfigChange(listener: (cfg: SiteConfig, change: ConfigChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  directory(id: PartyId): Address | undefined {
    this.dir ??= new Map(this.cfg.parties.map((p) => [p.id, { address: p.host, port: p.port }]));
    return this.dir.get(id);
  }

  /** Re-reads the database every `timings.configRefresh` (of the config in force at each turn). */
  start(): void {
    if (!this.o.database || this.stopped) return;
    this.timer?.cancel();
    this.timer = this.o.clock.setTimer(this.cfg.timings.configRefresh, () => {
      this.timer = null;
      void this.refresh().finally(() => this.start());
    });
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** One re-read; concurrent calls share it. Never throws. */
  refresh(): Promise<RefreshOutcome> {
    if (!this.o.database) return Promise.resolve('file');
    this.inFlight ??= this.refreshOnce(this.o.database).finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async refreshOnce(db: NonNullable<ConfigSourceOptions['database']>): Promise<RefreshOutcome> {
    let r: FetchResult;
    try {
      r = await db.fetcher.fetchNewest();
    } catch (err) {
      r = { kind: 'unreachable', reason: (err as Error).message, attempts: [] };
    }
    if (this.stopped) return 'unchanged';
    const now = this.o.clock.now();
    this.status.checkedAt = now;
    if (r.kind !== 'ok') return this.lostDatabase(r.reason, r.kind === 'unreachable' ? r.attempts : [], now);
    const v = r.version;
    const back = this.status.kind === 'local_copy';
    const cur = this.version;
    if (cur && v.version === cur.version && v.checksum === cur.checksum) {
      if (back) this.backToDatabase(r.node, now);
      else this.status.origin = r.node;
      return back ? 'back_to_database' : 'unchanged';
    }
    if (cur && v.version < cur.version) {
      return this.refuse(v.version, `the database's newest version ${v.version} is older than version ${cur.version} in force (a restored or different database?)`, [], r.node, back, now);
    }
    let next: SiteConfig;
    try {
      next = materialise(v, db.boot);
    } catch (err) {
      return this.refuse(v.version, `invalid: ${problemsOf(err)}`, [], r.node, back, now);
    }
    const verdict = classifyChange(this.cfg, next, this.o.self);
    if (verdict.kind === 'refuse') return this.refuse(v.version, verdict.reasons.join('; '), verdict.changes, r.node, back, now);
    try {
      saveLocalCopy(db.state, v, now);
    } catch (err) {
      // A copy that cannot be kept would leave the party starting on an older one than it ran.
      return this.refuse(v.version, `the local copy cannot be written: ${(err as Error).message}`, [], r.node, back, now);
    }
    const change: ConfigChange = { from: cur?.version ?? null, to: v.version, changes: verdict.kind === 'apply' ? verdict.changes : [], fields: verdict.kind === 'apply' ? verdict.fields : [] };
    this.cfg = next;
    this.dir = null;
    this.version = v;
    this.status = { kind: 'database', version: v.version, since: now, origin: r.node, checkedAt: now };
    this.o.logger.info(
      { event: 'config_changed', from: change.from, to: change.to, changed: change.changes, fields: change.fields, pushedBy: v.pushedBy, node: r.node },
      `site config version ${v.version} applied (was ${change.from ?? 'none'}): ${change.changes.join('; ') || 'no effective change'}`,
    );
    for (const l of this.listeners) {
      try {
        l(next, change);
      } catch (err) {
        this.o.logger.error({ event: 'config_listener_failed', version: v.version, error: (err as Error).message }, 'a config change listener failed; the new config stays in force');
      }
    }
    return 'applied';
  }

  private lostDatabase(reason: string, attempts: Array<{ node: string; reason: string }>, now: number): RefreshOutcome {
    if (this.status.kind !== 'local_copy') {
      this.status = { ...this.status, kind: 'local_copy', since: now, reason, origin: this.o.database?.state.path ?? this.status.origin };
      this.o.logger.warn(
        { event: 'config_from_local_copy', phase: 'running', version: this.status.version, reason, attempts },
        `RUNNING ON THE LOCAL COPY of site config version ${this.status.version}: the config database cannot be read (${reason})`,
      );
    } else {
      this.status.reason = reason;
      this.o.logger.debug({ event: 'config_database_still_unreachable', reason }, 'the config database still cannot be read');
    }
    return 'unreachable';
  }

  private backToDatabase(node: string, now: number): void {
    const was = this.status.reason;
    this.status = { kind: 'database', version: this.status.version, since: now, origin: node, checkedAt: now, ...(this.status.refused ? { refused: this.status.refused } : {}) };
    this.o.logger.info(
      { event: 'config_from_database', phase: 'running', version: this.status.version, node, previousReason: was },
      `the config database answers again (${node}); site config version ${this.status.version} is current`,
    );
  }

  private refuse(version: number, reason: string, changes: string[], node: string, back: boolean, now: number): RefreshOutcome {
    if (back) this.backToDatabase(node, now);
    this.status.origin = node;
    const again = this.status.refused?.version === version && this.status.refused.reason === reason;
    this.status.refused = { version, reason, at: again ? (this.status.refused?.at ?? now) : now };
    const fields = { event: 'config_refused', version, inForce: this.status.version, reason, changed: changes };
    const msg = `site config version ${version} refused, version ${this.status.version} stays in force: ${reason}`;
    // Said loudly once per version; every later re-read repeats it only at debug level.
    if (again) this.o.logger.debug(fields, msg);
    else this.o.logger.warn(fields, msg);
    return 'refused';
  }
}

/** A file-only site (`minder run --config FILE`): the same API, nothing re-read. */
export function fileConfigSource(cfg: SiteConfig, path: string, self: PartyId, clock: Clock, logger: Logger): ConfigSource {
  return new ConfigSource({ self, config: cfg, info: { kind: 'file', version: null, since: clock.now(), origin: path }, clock, logger });
}
