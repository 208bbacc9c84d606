import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import type { Member } from '../../protocol/verbs.js';
import { GaleraFileError, readGrastate, readGvwstate } from './galera-files.js';
import type { Reading } from './reading.js';
import { membershipFits, membershipOf, pcWeightOf, type StatusVars, statusVars, viewSignature, wsrepStatusOf } from './wsrep-status.js';

export interface MariadbTarget {
  host?: string;
  port: number;
  socket?: string;
  user: string;
  password: string;
  datadir: string;
}

export interface ReaderOptions {
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
}

/** Connection-level failures: mariadbd gave no answer at all, so it counts as down. */
const DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);

/** Membership reads between two status snapshots before a reading goes without members. */
const MEMBERSHIP_ATTEMPTS = 3;

const NO_SUCH_TABLE = new Set(['ER_UNKNOWN_TABLE', 'ER_NO_SUCH_TABLE', 'ER_BAD_TABLE_ERROR']);

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' ? c : undefined;
}

function describe(err: unknown): string {
  const code = codeOf(err);
  const msg = err instanceof Error ? err.message : String(err);
  // mysql2 puts the address in ECONNREFUSED messages; keep them short and free of credentials.
  return (code && !msg.startsWith(code) ? `${code}: ${msg}` : msg).slice(0, 160);
}

/**
 * The dbserver's eyes on its mariadbd (mysql2) and on the datadir's Galera files. One connection,
 * reopened after any failure; every call is bounded by the timeouts, so a hung server is
 * reported (as down, with the reason), never waited on forever.
 */
export class MariadbReader {
  private conn: Connection | null = null;
  private connecting: Promise<Connection> | null = null;
  /** null = not known yet; false = the wsrep_info plugin is absent on this server (re-checked on reconnect). */
  private membershipTable: boolean | null = null;
  private closed = false;
  /** Called when the open connection drops between readings (mariadbd stopped or crashed). */
  onLost: () => void = () => {};
  /**
   * Called on every new connection with mariadbd's wsrep_status_file (null when unset or not
   * readable): a file mariadbd rewrites on each state change, watched as a doorbell.
   */
  onStatusFile: (path: string | null) => void = () => {};
  /** Called on every new connection with mariadbd's wsrep_notify_cmd ('' when unset or unreadable). */
  onNotifyCmd: (cmd: string) => void = () => {};
  private readonly connectTimeoutMs: number;
  private readonly queryTimeoutMs: number;

  constructor(
    private readonly target: MariadbTarget,
    opts: ReaderOptions = {},
  ) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.queryTimeoutMs = opts.queryTimeoutMs ?? 3000;
  }

  /** Never throws: every outcome is a Reading. */
  async read(seq: number, at: number): Promise<Reading> {
    try {
      const conn = await this.connection();
      return await this.readUp(conn, seq, at);
    } catch (err) {
      this.drop();
      const code = codeOf(err);
      if (err instanceof Error && (code === undefined ? /timeout|closed/i.test(err.message) : DOWN_CODES.has(code))) return this.readDown(seq, at, describe(err));
      // The server answered, but not with a usable status (privileges, wsrep off, garbage).
      return { seq, at, mariadb: 'up', membersFrom: 'none', wsrep: null, recovered: null, error: describe(err) };
    }
  }

  /** SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'; null on success, else why it failed. */
  async bootstrap(): Promise<string | null> {
    try {
      const conn = await this.connection();
      await conn.query({ sql: "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'", timeout: this.queryTimeoutMs });
      return null;
    } catch (err) {
      if (DOWN_CODES.has(codeOf(err) ?? '')) this.drop();
      return describe(err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.conn;
    this.conn = null;
    if (c) await c.end().catch(() => c.destroy());
  }

  private async readUp(conn: Connection, seq: number, at: number): Promise<Reading> {
    // Two snapshots around the membership read: equal signatures mean the members are of that view.
    let before = await this.status(conn);
    let members: Member[] | null = null;
    const notes: string[] = [];
    let missing: NonNullable<Reading['membersMissing']> | null = null;
    for (let attempt = 0; attempt < MEMBERSHIP_ATTEMPTS && this.membershipTable !== false; attempt++) {
      const noted = notes.length;
      const list = await this.membership(conn, notes);
      if (list === null) {
        if (notes.length > noted) missing = { kind: 'error', detail: notes.at(-1) ?? 'WSREP_MEMBERSHIP failed' };
        break;
      }
      const after = await this.status(conn);
      if (viewSignature(before) === viewSignature(after) && membershipFits(list, after)) {
        members = list;
        before = after;
        break;
      }
      missing = {
        kind: 'view_changing',
        detail: `the view changed around each of ${attempt + 1} membership reads (${list.length} members listed, wsrep_cluster_size ${after.get('wsrep_cluster_size') ?? '?'})`,
      };
      before = after;
    }
    if (members === null && this.membershipTable === false) missing = { kind: 'no_plugin', detail: 'no information_schema.WSREP_MEMBERSHIP table: the wsrep_info plugin is not loaded' };
    let lastPrimary = null;
    try {
      lastPrimary = readGvwstate(this.target.datadir);
    } catch (err) {
      // Without gvwstate.dat the view cannot be named exactly; say so rather than guess.
      notes.push(err instanceof GaleraFileError ? err.message : describe(err));
    }
    const pcWeight = await this.pcWeight(conn, notes);
    const wsrep = wsrepStatusOf(before, members ?? [], lastPrimary, pcWeight);
    return { seq, at, mariadb: 'up', membersFrom: members ? 'server' : 'none', membersMissing: members ? null : missing, wsrep, recovered: null, error: notes.length ? notes.join('; ') : null };
  }

  private readDown(seq: number, at: number, why: string): Reading {
    try {
      const recovered = readGrastate(this.target.datadir);
      return { seq, at, mariadb: 'down', membersFrom: 'none', wsrep: null, recovered, error: why };
    } catch (err) {
      const fileErr = err instanceof GaleraFileError ? err.message : describe(err);
      return { seq, at, mariadb: 'down', membersFrom: 'none', wsrep: null, recovered: null, error: `${why}; ${fileErr}` };
    }
  }

  private async status(conn: Connection): Promise<StatusVars> {
    const [rows] = await conn.query<RowDataPacket[]>({ sql: "SHOW GLOBAL STATUS LIKE 'wsrep\\_%'", timeout: this.queryTimeoutMs });
    return statusVars(rows);
  }

  /** The node's real pc.weight (it can be changed at runtime with SET GLOBAL, so read each time). */
  private async pcWeight(conn: Connection, notes: string[]): Promise<number | null> {
    try {
      const [rows] = await conn.query<RowDataPacket[]>({ sql: 'SELECT @@GLOBAL.wsrep_provider_options AS o', timeout: this.queryTimeoutMs });
      const o = rows[0]?.['o'];
      const w = typeof o === 'string' ? pcWeightOf(o) : null;
      if (w === null) notes.push('pc.weight not found in wsrep_provider_options');
      return w;
    } catch (err) {
      if (DOWN_CODES.has(codeOf(err) ?? '')) throw err;
      notes.push(`wsrep_provider_options: ${describe(err)}`);
      return null;
    }
  }

  private async membership(conn: Connection, notes: string[]): Promise<Member[] | null> {
    try {
      const [rows] = await conn.query<RowDataPacket[]>({
        sql: 'SELECT `INDEX`, `UUID`, `NAME`, `ADDRESS` FROM information_schema.WSREP_MEMBERSHIP',
        timeout: this.queryTimeoutMs,
      });
      this.membershipTable = true;
      return membershipOf(rows);
    } catch (err) {
      const code = codeOf(err) ?? '';
      if (NO_SUCH_TABLE.has(code)) {
        this.membershipTable = false;
        return null;
      }
      if (DOWN_CODES.has(code)) throw err;
      // Privileges or a broken plugin: the status is still worth reporting, without members.
      notes.push(`WSREP_MEMBERSHIP: ${describe(err)}`);
      return null;
    }
  }

  private async connection(): Promise<Connection> {
    if (this.closed) throw Object.assign(new Error('reader closed'), { code: 'PROTOCOL_CONNECTION_LOST' });
    if (this.conn) return this.conn;
    this.connecting ??= this.open().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async open(): Promise<Connection> {
    const t = this.target;
    const conn = await mysql.createConnection({
      ...(t.socket ? { socketPath: t.socket } : { host: t.host, port: t.port }),
      user: t.user,
      password: t.password,
      connectTimeout: this.connectTimeoutMs,
      // Status only: no database, no multiple statements, nothing that could widen what a bug can do.
      multipleStatements: false,
    });
    // A dropped connection emits 'error' with no query waiting: never fatal, reopened next time.
    const lost = () => {
      if (this.conn !== conn) return;
      this.conn = null;
      if (!this.closed) this.onLost();
    };
    conn.on('error', lost);
    conn.on('end', lost);
    this.membershipTable = null;
    if (this.closed) {
      conn.destroy();
      throw Object.assign(new Error('reader closed'), { code: 'PROTOCOL_CONNECTION_LOST' });
    }
    this.conn = conn;
    void this.statusFileOf(conn).then((path) => {
      if (this.conn === conn) this.onStatusFile(path);
    });
    void this.notifyCmdOf(conn).then((cmd) => {
      if (this.conn === conn && cmd !== null) this.onNotifyCmd(cmd);
    });
    return conn;
  }

  private async statusFileOf(conn: Connection): Promise<string | null> {
    try {
      const [rows] = await conn.query<RowDataPacket[]>({ sql: 'SELECT @@GLOBAL.wsrep_status_file AS f', timeout: this.queryTimeoutMs });
      const f = rows[0]?.['f'];
      return typeof f === 'string' && f.startsWith('/') ? f : null;
    } catch {
      // Older servers have no such variable: the hook and polling still work.
      return null;
    }
  }

  /** null: could not be asked (the connection went away); the hook's health is then not judged. */
  private async notifyCmdOf(conn: Connection): Promise<string | null> {
    try {
      const [rows] = await conn.query<RowDataPacket[]>({ sql: 'SELECT @@GLOBAL.wsrep_notify_cmd AS c', timeout: this.queryTimeoutMs });
      const c = rows[0]?.['c'];
      return typeof c === 'string' ? c.slice(0, 4096) : '';
    } catch {
      return null;
    }
  }

  private drop(): void {
    const c = this.conn;
    this.conn = null;
    c?.destroy();
  }
}
