// A clustercheck-style health endpoint for HAProxy's `option httpchk`, as Percona's clustercheck
// script does it under xinetd: every check opens a new MySQL connection, reads
// wsrep_local_state, answers 200 when it is 4 (Synced), else 503. Plus the maintenance file
// several clustercheck variants honour: while it is set the answer is 503, which is how an
// operator drains a node behind polling health checks.

import { createServer, type Server } from 'node:http';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';

export interface CheckTarget {
  name: string;
  address: string;
  mysqlPort: number;
}

export class Clustercheck {
  private readonly servers: Server[] = [];
  private creds: { user: string; password: string } | null = null;
  /** Nodes whose "maintenance file" is set. */
  readonly maintenance = new Set<string>();
  checks = 0;

  private constructor() {}

  static async start(targets: CheckTarget[], port: number): Promise<Clustercheck> {
    const cc = new Clustercheck();
    for (const t of targets) {
      const srv = createServer((_req, res) => {
        void cc.answer(t).then(([code, text]) => {
          res.writeHead(code, { 'content-type': 'text/plain', connection: 'close' });
          res.end(`${text}\r\n`);
        });
      });
      cc.servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, t.address, () => resolve());
      });
    }
    return cc;
  }

  /** Until the credentials are known every check fails, as clustercheck does without a login. */
  setCredentials(c: { user: string; password: string }): void {
    this.creds = c;
  }

  private async answer(t: CheckTarget): Promise<[number, string]> {
    this.checks++;
    if (this.maintenance.has(t.name)) return [503, `${t.name} is in maintenance (clustercheck disabled)`];
    if (this.creds === null) return [503, 'no credentials'];
    let c: mysql.Connection | null = null;
    try {
      c = await mysql.createConnection({ host: t.address, port: t.mysqlPort, ...this.creds, connectTimeout: 2000 });
      const [rows] = await c.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'wsrep_local_state'");
      const state = String(rows[0]?.['Value'] ?? '');
      return state === '4' ? [200, `${t.name} is synced`] : [503, `${t.name} is not synced (wsrep_local_state ${state})`];
    } catch (err) {
      return [503, `${t.name}: ${(err as Error).message}`];
    } finally {
      c?.destroy();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
