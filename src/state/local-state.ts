import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MinderError } from '../errors.js';

export class LocalStateError extends MinderError {
  declare readonly code: 'STATE_OPEN' | 'STATE_CORRUPT' | 'STATE_WRITE' | 'STATE_NEWER';
  constructor(code: 'STATE_OPEN' | 'STATE_CORRUPT' | 'STATE_WRITE' | 'STATE_NEWER', message: string) {
    super(code, message);
  }
}

/**
 * The layout of the state file, in SQLite's own header (`PRAGMA user_version`, which
 * `sqlite3 FILE 'PRAGMA user_version'` shows). 0: a file from before the version was kept
 * (issue 16): the same two tables. A newer galera-minder opens an older file and brings it up to
 * date in one transaction; an older one refuses a newer file rather than misread it.
 */
export const STATE_SCHEMA_VERSION = 1;

/**
 * MIGRATIONS[n] takes a file from version n to n + 1, inside the transaction that then stamps
 * the new version. A change to what is stored (tables, or the shape of a role's kv value that
 * an older reader would misread) adds a step here and raises STATE_SCHEMA_VERSION.
 */
const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  // 0 → 1: nothing moves; the file now says which layout it has.
  () => {},
];

/**
 * One SQLite file per party: the incarnation counter and the roles' durable state.
 * `synchronous=FULL`: a decision written here must survive a power cut before it is acted on
 * (docs/safety.md: persist the decision, then send make_primary).
 */
export class LocalState {
  private readonly db: Database.Database;

  private constructor(
    db: Database.Database,
    readonly path: string,
    /**
     * The file did not exist before this open. SQLite creates it silently; a role that must
     * not forget (the arbitrator) treats its state as lost and relearns (docs/safety.md, path 1).
     */
    readonly created: boolean,
  ) {
    this.db = db;
  }

  static open(path: string): LocalState {
    let db: Database.Database;
    const created = path === ':memory:' || !existsSync(path);
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      db = new Database(path);
    } catch (err) {
      throw new LocalStateError('STATE_OPEN', `cannot open state file ${path}: ${(err as Error).message}`);
    }
    try {
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(String(check));
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > STATE_SCHEMA_VERSION) {
        throw new LocalStateError(
          'STATE_NEWER',
          `state file ${path} was written by a newer galera-minder (state schema ${version}; this one reads up to ${STATE_SCHEMA_VERSION}): upgrade galera-minder on this host. Moving the file aside starts afresh and loses what it holds (the incarnation, decisions)`,
        );
      }
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
               CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);`);
      if (version < STATE_SCHEMA_VERSION) {
        db.transaction(() => {
          for (let v = version; v < STATE_SCHEMA_VERSION; v++) (MIGRATIONS[v] as (d: Database.Database) => void)(db);
          db.pragma(`user_version = ${STATE_SCHEMA_VERSION}`);
        })();
      }
    } catch (err) {
      db.close();
      if (err instanceof LocalStateError) throw err;
      const msg = (err as Error).message;
      const code = /readonly|permission|unable to open/i.test(msg) ? 'STATE_WRITE' : 'STATE_CORRUPT';
      throw new LocalStateError(code, `state file ${path} is unusable (${msg}); move it aside to start afresh`);
    }
    return new LocalState(db, path, created);
  }

  /**
   * Grows and durably writes the incarnation; call before the first datagram is sent. It also
   * outgrows `meta.incarnationFloor`, which a role writes when it learns that its peers have heard
   * a newer incarnation of it (a state file restored from an old copy): their replay guards would
   * drop everything a lower one says.
   */
  nextIncarnation(): number {
    try {
      const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('incarnation') as { value: number } | undefined;
      const floor = this.get<unknown>('meta.incarnationFloor');
      const next = Math.max(row?.value ?? 0, typeof floor === 'number' && Number.isSafeInteger(floor) ? floor : 0) + 1;
      this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run('incarnation', next);
      return next;
    } catch (err) {
      throw new LocalStateError('STATE_WRITE', `cannot write the incarnation to ${this.path}: ${(err as Error).message}`);
    }
  }

  get<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  put(key: string, value: unknown, now: number = Date.now()): void {
    this.db
      .prepare('INSERT INTO kv(key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
      .run(key, JSON.stringify(value), now);
  }

  delete(key: string): void {
    this.db.prepare('DELETE FROM kv WHERE key = ?').run(key);
  }

  /** The layout version of the file as open (always STATE_SCHEMA_VERSION once open). */
  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  close(): void {
    this.db.close();
  }
}
