import { chmodSync, chownSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { type HookLineDrop, MAX_HOOK_LINE_BYTES, parseHookLine } from '../../hook/line.js';
import { checkBody, type WsrepNotify } from '../../protocol/verbs.js';
import { MinderError } from '../../errors.js';

/**
 * The dbserver's end of the shell hook (systemd/wsrep-notify.sh): a unix stream socket, mode
 * 0660, group = the group of mariadbd's datadir (mysql), so that mariadbd's hook can connect and
 * nobody else but the minder user can. Each connection carries one line (src/hook/line.ts); the
 * dbserver reads it, closes, and hands the checked body on. Everything about a connection is
 * bounded — its bytes, its time, how many are open — and every line that is not used is counted
 * by reason and logged, never applied.
 */

export interface HookSocketOptions {
  path: string;
  /** Whose group the socket gets: mariadbd's datadir (owned by the user mariadbd runs as). */
  groupOf: string;
  onNotify: (body: WsrepNotify) => void;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** How long one connection may take to deliver its line. */
  lineTimeoutMs?: number;
  maxConnections?: number;
}

export interface HookSocketStats {
  accepted: number;
  drops: Record<HookLineDrop, number>;
}

const DROPS: readonly HookLineDrop[] = ['too_long', 'no_newline', 'not_a_hook_line', 'bad_body', 'timeout', 'too_many_connections'];
/** One warning per reason at most this often; the count says how many in between. */
const DROP_LOG_EVERY_MS = 10_000;

export class HookSocketError extends MinderError {
  declare readonly code: 'HOOK_SOCKET';
  constructor(message: string) {
    super('HOOK_SOCKET', message);
  }
}

export class HookSocket {
  private readonly stats_: HookSocketStats = { accepted: 0, drops: Object.fromEntries(DROPS.map((d) => [d, 0])) as Record<HookLineDrop, number> };
  private readonly lastDropLog = new Map<HookLineDrop, number>();
  private open = 0;

  private constructor(
    private readonly server: Server,
    private readonly o: HookSocketOptions,
  ) {}

  /** Listens at `o.path` (a stale socket there is replaced; any other file is refused). */
  static async listen(o: HookSocketOptions): Promise<HookSocket> {
    try {
      mkdirSync(dirname(o.path), { recursive: true, mode: 0o755 });
      let st: ReturnType<typeof lstatSync> | null;
      try {
        st = lstatSync(o.path);
      } catch {
        st = null;
      }
      if (st && !st.isSocket()) throw new HookSocketError(`${o.path} exists and is not a socket; not replaced`);
      if (st && (await answers(o.path))) throw new HookSocketError(`${o.path} is in use by another process (another dbserver on this host? give each its own hookSocket)`);
      if (st) unlinkSync(o.path);
    } catch (err) {
      if (err instanceof HookSocketError) throw err;
      throw new HookSocketError(`cannot prepare ${o.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const hs: HookSocket = new HookSocket(
      createServer({ allowHalfOpen: true }, (c) => hs.serve(c)),
      o,
    );
    await new Promise<void>((resolve, reject) => {
      hs.server.once('error', (err) => reject(new HookSocketError(`cannot listen on ${o.path}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
      hs.server.listen(o.path, () => resolve());
    });
    hs.server.on('error', (err) => o.logger.warn({ event: 'hook_socket_error', path: o.path, error: err.message }, `hook socket ${o.path}: ${err.message}`));
    try {
      const gid = statSync(o.groupOf).gid;
      chownSync(o.path, -1, gid);
      chmodSync(o.path, 0o660);
    } catch (err) {
      await hs.close();
      throw new HookSocketError(
        `cannot give ${o.path} the group of ${o.groupOf} (mode 0660): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; the minder user must be in mariadbd's group (the unit's SupplementaryGroups=mysql)`,
      );
    }
    return hs;
  }

  stats(): HookSocketStats {
    return { accepted: this.stats_.accepted, drops: { ...this.stats_.drops } };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        try {
          unlinkSync(this.o.path);
        } catch {
          // Already gone (RuntimeDirectory removed, or never listened).
        }
        resolve();
      });
    });
  }

  private serve(c: Socket): void {
    if (this.open >= (this.o.maxConnections ?? 16)) {
      this.drop('too_many_connections', `more than ${this.o.maxConnections ?? 16} hook connections open at once`);
      c.destroy();
      return;
    }
    this.open++;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let done = false;
    const finish = (line: string | null, reason?: HookLineDrop, detail?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.open--;
      c.destroy();
      if (line === null) this.drop(reason as HookLineDrop, detail ?? '');
      else this.line(line);
    };
    const timer = setTimeout(() => finish(null, 'timeout', `no complete line within ${this.o.lineTimeoutMs ?? 1000} ms`), this.o.lineTimeoutMs ?? 1000);
    c.on('data', (d: Buffer) => {
      if (done) return;
      const nl = d.indexOf(0x0a);
      const take = nl < 0 ? d : d.subarray(0, nl);
      bytes += take.length;
      if (bytes > MAX_HOOK_LINE_BYTES) return finish(null, 'too_long', `a line longer than ${MAX_HOOK_LINE_BYTES} bytes`);
      chunks.push(take);
      if (nl >= 0) finish(Buffer.concat(chunks).toString('utf8'));
    });
    c.on('end', () => finish(null, 'no_newline', `the connection ended after ${bytes} bytes without a newline`));
    c.on('error', () => finish(null, 'no_newline', 'the connection failed before a newline'));
  }

  private line(text: string): void {
    const r = parseHookLine(text);
    if (!r.ok) {
      this.drop(r.reason, r.detail);
      return;
    }
    const checked = checkBody('wsrep_notify', r.body);
    if (!checked.ok) {
      this.drop('bad_body', checked.issue);
      return;
    }
    this.stats_.accepted++;
    if (r.problems.length) this.o.logger.warn({ event: 'hook_line_problems', problems: r.problems }, `hook line used, with odd arguments: ${r.problems.join('; ')}`);
    this.o.onNotify(checked.data);
  }

  private drop(reason: HookLineDrop, detail: string): void {
    const n = ++this.stats_.drops[reason];
    const now = Date.now();
    const last = this.lastDropLog.get(reason);
    if (last !== undefined && now - last < DROP_LOG_EVERY_MS) return;
    this.lastDropLog.set(reason, now);
    this.o.logger.warn(
      { event: 'hook_line_dropped', reason, detail: detail.slice(0, 200), count: n, path: this.o.path },
      `hook line dropped (${reason}): ${detail.slice(0, 200)}; ${n} dropped for this reason so far`,
    );
  }
}

/** Whether something listens at the socket `path` (a stale file from a crash does not). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    const done = (v: boolean) => {
      c.destroy();
      resolve(v);
    };
    c.setTimeout(500, () => done(true));
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
  });
}
