import { MinderError } from '../errors.js';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import type { BootstrapDatabase, DbEndpoint } from './bootstrap.js';
import { readDbPassword } from './bootstrap.js';
import { MAX_DOCUMENT_BYTES, type StoredVersion } from './config-document.js';
import { ConfigError } from './load-config.js';

/**
 * The versioned site config table in the Galera cluster itself. Every call opens one short
 * connection, trying the bootstrap file's nodes in turn (the one that answered last first); a
 * node that is down, cut away, or non-Primary (ERROR 1047) is skipped with its reason.
 */

export const TABLE = 'site_config';

export interface NodeAttempt {
  node: string;
  reason: string;
}

export type FetchResult =
  | { kind: 'ok'; version: StoredVersion; node: string; skipped: NodeAttempt[] }
  /** A Primary node answered, and no version is stored (or the table is missing). */
  | { kind: 'empty'; node: string; reason: string; skipped: NodeAttempt[] }
  | { kind: 'unreachable'; reason: string; attempts: NodeAttempt[] };

export type ConfigStoreErrorCode = 'DB_UNREACHABLE' | 'DB_FAILED' | 'NO_SUCH_VERSION';

export class ConfigStoreError extends MinderError {
  declare readonly code: ConfigStoreErrorCode;
  constructor(
    code: ConfigStoreErrorCode,
    message: string,
    readonly attempts: NodeAttempt[] = [],
  ) {
    super(code, message);
  }
}

export interface PushResult {
  version: number;
  /** The newest stored version already was this document: nothing was written. */
  unchanged: boolean;
  node: string;
  /** Galera certification conflicts (or duplicate versions) retried before it went through. */
  retries: number;
}

/** Errors after which another node may do better: this one is down, cut away or not Primary. */
const NEXT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EACCES',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_UNKNOWN_COM_ERROR',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_LOCK_WAIT_TIMEOUT',
]);
const NOT_STORED_CODES = new Set(['ER_NO_SUCH_TABLE', 'ER_BAD_DB_ERROR']);
/** A Galera certification conflict surfaces as a deadlock at commit; a racing push as a duplicate key. */
const RETRY_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_DUP_ENTRY']);
const MAX_PUSH_RETRIES = 8;

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** One line, no credentials: mysql2's messages name the user and host, never the password. */
export function describeDbError(err: unknown, connectTimeoutMs: number): string {
  const code = codeOf(err);
  const errno = (err as { errno?: unknown } | null)?.errno;
  const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  if (code === 'ER_UNKNOWN_COM_ERROR' || errno === 1047) return 'non-Primary (ERROR 1047: not ready for application use)';
  if (code === 'ECONNREFUSED') return 'connection refused (mariadbd down?)';
  if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') return 'connected, but the query got no answer in time (blocked by a cut being detected?)';
  if (code === 'ETIMEDOUT' || /connect ETIMEDOUT|timeout/i.test(msg)) return `no answer within ${connectTimeoutMs} ms (down or cut away)`;
  if (code === 'ENOENT') return 'no such socket (mariadbd down?)';
  if (code === 'ER_ACCESS_DENIED_ERROR') return `access denied: ${msg}`;
  if (err instanceof ConfigError) return err.problems.join('; ');
  return (code && !msg.startsWith(code) ? `${code}: ${msg}` : msg).slice(0, 200);
}

interface VersionRow extends RowDataPacket {
  version: number;
  site: string;
  document: string;
  pushed_by: string | null;
  pushed_at_ms: string | number | null;
  checksum: string;
}

function toStored(r: VersionRow): StoredVersion {
  return {
    version: Number(r.version),
    site: r.site,
    document: r.document,
    checksum: r.checksum,
    pushedBy: r.pushed_by ?? '',
    pushedAtMs: Math.round(Number(r.pushed_at_ms ?? 0)),
  };
}

export interface VersionSummary {
  version: number;
  site: string;
  checksum: string;
  pushedBy: string;
  pushedAtMs: number;
}

export class ConfigStore {
  private preferred = 0;
  private readonly table: string;

  constructor(private readonly db: BootstrapDatabase) {
    this.table = `\`${db.schema}\`.\`${TABLE}\``;
  }

  /** The DDL `push` runs before its first insert; parties never create anything. */
  static createTableSql(schema: string): string[] {
    return [
      `CREATE DATABASE IF NOT EXISTS \`${schema}\``,
      // InnoDB with a primary key: Galera replicates nothing else reliably.
      `CREATE TABLE IF NOT EXISTS \`${schema}\`.\`${TABLE}\` (
         version INT PRIMARY KEY,
         site VARCHAR(64) NOT NULL,
         document MEDIUMTEXT NOT NULL,
         pushed_by VARCHAR(64),
         pushed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
         checksum CHAR(64) NOT NULL
       ) ENGINE=InnoDB`,
    ];
  }

  /** The newest version. Never throws: every outcome, with each node's reason, is a FetchResult. */
  async fetchNewest(): Promise<FetchResult> {
    try {
      return await this.onSomeNode(async (c, node, skipped) => {
        try {
          const rows = await this.select(c, `ORDER BY version DESC LIMIT 1`, []);
          const row = rows[0];
          if (!row) return { kind: 'empty', node, reason: `no site config has been pushed to ${node} (${this.db.schema}.${TABLE} is empty)`, skipped };
          return { kind: 'ok', version: toStored(row), node, skipped };
        } catch (err) {
          if (!NOT_STORED_CODES.has(codeOf(err) ?? '')) throw err;
          return { kind: 'empty', node, reason: `no site config has been pushed to ${node} (${this.db.schema}.${TABLE} does not exist)`, skipped };
        }
      });
    } catch (err) {
      if (err instanceof ConfigStoreError) return { kind: 'unreachable', reason: err.message, attempts: err.attempts };
      return { kind: 'unreachable', reason: describeDbError(err, this.db.connectTimeoutMs), attempts: [] };
    }
  }

  /** A given version, or the newest when version is undefined; null when it is not stored. */
  async get(version?: number): Promise<StoredVersion | null> {
    return this.onSomeNode(async (c) => {
      try {
        const rows = version === undefined ? await this.select(c, 'ORDER BY version DESC LIMIT 1', []) : await this.select(c, 'WHERE version = ?', [version]);
        return rows[0] ? toStored(rows[0]) : null;
      } catch (err) {
        if (NOT_STORED_CODES.has(codeOf(err) ?? '')) return null;
        throw err;
      }
    });
  }

  /** The newest stored version below `version`. */
  async before(version: number): Promise<StoredVersion | null> {
    return this.onSomeNode(async (c) => {
      const rows = await this.select(c, 'WHERE version < ? ORDER BY version DESC LIMIT 1', [version]);
      return rows[0] ? toStored(rows[0]) : null;
    });
  }

  /** Every stored version, newest first, without the documents. */
  async list(limit = 1000): Promise<VersionSummary[]> {
    return this.onSomeNode(async (c) => {
      try {
        const [rows] = await c.query<VersionRow[]>({
          sql: `SELECT version, site, '' AS document, pushed_by, UNIX_TIMESTAMP(pushed_at) * 1000 AS pushed_at_ms, checksum FROM ${this.table} ORDER BY version DESC LIMIT ?`,
          values: [limit],
          timeout: this.db.queryTimeoutMs,
        });
        return rows.map((r) => {
          const { document: _d, ...rest } = toStored(r);
          return rest;
        });
      } catch (err) {
        if (NOT_STORED_CODES.has(codeOf(err) ?? '')) return [];
        throw err;
      }
    });
  }

  /**
   * Stores `document` as the next version: creates the table if needed, then in one transaction
   * checks whether the newest version already is this document and inserts MAX(version)+1.
   * Two pushes racing on different nodes collide in Galera's certification; the loser is retried.
   */
  async push(document: string, site: string, checksum: string, pushedBy: string): Promise<PushResult> {
    if (Buffer.byteLength(document, 'utf8') > MAX_DOCUMENT_BYTES) throw new ConfigStoreError('DB_FAILED', `document larger than ${MAX_DOCUMENT_BYTES} bytes`);
    return this.onSomeNode(async (c, node) => {
      for (const sql of ConfigStore.createTableSql(this.db.schema)) await c.query({ sql, timeout: this.db.queryTimeoutMs });
      for (let retries = 0; ; retries++) {
        try {
          await c.query({ sql: 'START TRANSACTION', timeout: this.db.queryTimeoutMs });
          const [newest] = await c.query<RowDataPacket[]>({
            sql: `SELECT version, checksum FROM ${this.table} ORDER BY version DESC LIMIT 1 FOR UPDATE`,
            timeout: this.db.queryTimeoutMs,
          });
          const top = newest[0] as { version: number; checksum: string } | undefined;
          if (top && top.checksum === checksum) {
            await c.query({ sql: 'ROLLBACK', timeout: this.db.queryTimeoutMs });
            return { version: Number(top.version), unchanged: true, node, retries };
          }
          await c.query({
            sql: `INSERT INTO ${this.table} (version, site, document, pushed_by, pushed_at, checksum)
                  SELECT COALESCE(MAX(version), 0) + 1, ?, ?, ?, NOW(3), ? FROM ${this.table}`,
            values: [site, document, pushedBy.slice(0, 64), checksum],
            timeout: this.db.queryTimeoutMs,
          });
          const [mine] = await c.query<RowDataPacket[]>({ sql: `SELECT MAX(version) AS v FROM ${this.table}`, timeout: this.db.queryTimeoutMs });
          await c.query({ sql: 'COMMIT', timeout: this.db.queryTimeoutMs });
          return { version: Number((mine[0] as { v: number }).v), unchanged: false, node, retries };
        } catch (err) {
          await c.query({ sql: 'ROLLBACK', timeout: this.db.queryTimeoutMs }).catch(() => undefined);
          if (!RETRY_CODES.has(codeOf(err) ?? '') || retries >= MAX_PUSH_RETRIES) throw err;
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * (retries + 1)));
        }
      }
    });
  }

  private async select(c: Connection, tail: string, values: unknown[]): Promise<VersionRow[]> {
    // UNIX_TIMESTAMP keeps pushed_at free of the session's and this host's time zones.
    const [rows] = await c.query<VersionRow[]>({
      sql: `SELECT version, site, document, pushed_by, UNIX_TIMESTAMP(pushed_at) * 1000 AS pushed_at_ms, checksum FROM ${this.table} ${tail}`,
      values,
      timeout: this.db.queryTimeoutMs,
    });
    return rows;
  }

  private async connect(e: DbEndpoint): Promise<Connection> {
    const password = readDbPassword(this.db);
    const conn = await mysql.createConnection({
      ...(e.socketPath !== undefined ? { socketPath: e.socketPath } : { host: e.host, port: e.port }),
      user: this.db.user,
      password,
      connectTimeout: this.db.connectTimeoutMs,
      multipleStatements: false,
      supportBigNumbers: true,
    });
    // A connection dropped between queries emits 'error' with nobody waiting: never fatal.
    conn.on('error', () => undefined);
    // A causal read: a node that joined a moment ago must not hand out an older version.
    await conn.query({ sql: 'SET SESSION wsrep_sync_wait = 1', timeout: this.db.queryTimeoutMs });
    return conn;
  }

  /**
   * Runs `fn` on the first node that connects and answers; errors that say "this node cannot
   * serve" move on to the next node, any other error ends the attempt (it would repeat anywhere).
   */
  private async onSomeNode<T>(fn: (c: Connection, node: string, skipped: NodeAttempt[]) => Promise<T>): Promise<T> {
    const nodes = this.db.nodes;
    const attempts: NodeAttempt[] = [];
    for (let k = 0; k < nodes.length; k++) {
      const i = (this.preferred + k) % nodes.length;
      const e = nodes[i] as DbEndpoint;
      let conn: Connection | undefined;
      try {
        conn = await this.connect(e);
        const out = await fn(conn, e.label, [...attempts]);
        this.preferred = i;
        await conn.end().catch(() => conn?.destroy());
        return out;
      } catch (err) {
        conn?.destroy();
        const reason = describeDbError(err, this.db.connectTimeoutMs);
        if (err instanceof ConfigError) throw new ConfigStoreError('DB_UNREACHABLE', reason, attempts);
        attempts.push({ node: e.label, reason });
        const code = codeOf(err);
        const timedOut = err instanceof Error && code === undefined && /timeout|closed/i.test(err.message);
        if (!(code !== undefined && NEXT_NODE_CODES.has(code)) && !timedOut) {
          throw new ConfigStoreError('DB_FAILED', `${e.label}: ${reason}`, attempts);
        }
      }
    }
    throw new ConfigStoreError('DB_UNREACHABLE', `no config database node answered: ${attempts.map((a) => `${a.node}: ${a.reason}`).join('; ')}`, attempts);
  }
}
