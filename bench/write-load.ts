import mysql from 'mysql2/promise';

/** Where the load goes: a node's address and the lab's SQL credentials. */
export interface LoadTarget {
  address: string;
  port: number;
  user: string;
  password: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Single-row autocommit INSERTs into `table` (created if missing) on one connection, paced to
 * `tps` against the clock (a slow commit does not lower the rate after it), until stopped;
 * `stop` resolves with the number of commits.
 */
export function pacedInserts(to: LoadTarget, table: string, tps: number): { stop: () => Promise<number> } {
  let stopped = false;
  let commits = 0;
  const done = (async () => {
    const c = await mysql.createConnection({ host: to.address, port: to.port, user: to.user, password: to.password });
    try {
      const db = table.split('.')[0] as string;
      await c.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${table} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))`);
      const t0 = performance.now();
      for (let i = 0; !stopped; i++) {
        const wait = t0 + (i * 1000) / tps - performance.now();
        if (wait > 0) await sleep(wait);
        await c.query(`INSERT INTO ${table} (v) VALUES (?)`, [`load-${i}`]);
        commits++;
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      return commits;
    },
  };
}
