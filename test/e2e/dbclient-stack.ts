// The whole routing path, real at every step, for the dbclient's end-to-end test and the
// lb-reaction benchmark: a Galera lab (real mariadbd, the real wsrep_notify_cmd hook), `minder
// run` processes for the arbitrator, every dbserver and one dbclient, and a real HAProxy that
// only the dbclient steers (no health checks of its own). Everything stops by PID on close().

import { cpSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { type GaleraLab, type LabNodeSpec, startGaleraLab } from '../lab/galera-lab.js';
import { type HaproxyLab, type StartHaproxyOptions, startHaproxy } from '../lab/haproxy-lab.js';
import { LabHook } from '../support/lab-hook.js';
import { Cleanups } from '../support/cleanups.js';
import { MinderSite } from '../support/minder-site.js';

export const DBCLIENT_ADDRESS = { address: '127.0.0.40', port: 4802 };
export const HAPROXY_BIND = '127.0.0.50';

export interface StackOptions {
  nodes?: LabNodeSpec[];
  /** Frontend ports of the minder-driven HAProxy. */
  frontendPorts?: { write: number; read: number };
  timings?: ConstructorParameters<typeof MinderSite>[0]['timings'];
  /** Further HAProxy instances in front of the same nodes (the benchmark's polling setups). */
  extraHaproxy?: Array<Omit<StartHaproxyOptions, 'servers'>>;
  /** Party id → its `http` block (docs/observability.md). */
  http?: ConstructorParameters<typeof MinderSite>[0]['http'];
}

export interface Stack {
  galera: GaleraLab;
  haproxy: HaproxyLab;
  extra: HaproxyLab[];
  site: MinderSite;
  /** Party id of a node (dbserver:N), and back. */
  partyOf(node: string): string;
  close(): Promise<void>;
}

/**
 * The lab creates its SQL user as soon as the bootstrap node answers SQL; with a notify hook set
 * (mariadbd runs it, even when it exits at once) that query sometimes lands before wsrep is
 * ready and fails with ER 1047. The lab tears itself down on failure, so starting again is clean.
 */
async function startGaleraWithRetry(opts: Parameters<typeof startGaleraLab>[0], attempts = 3): Promise<GaleraLab> {
  for (let i = 1; ; i++) {
    try {
      return await startGaleraLab(opts);
    } catch (err) {
      if (i >= attempts || !/WSREP has not yet prepared node/.test((err as Error).message)) throw err;
    }
  }
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const nodes = o.nodes ?? [
    { name: 'n1', dc: 'dc1' },
    { name: 'n2', dc: 'dc1' },
    { name: 'n3', dc: 'dc2' },
  ];
  const hook = new LabHook();
  const cleanups = new Cleanups();
  cleanups.push(async () => hook.remove());
  const closeAll = (): Promise<void> => cleanups.run();
  try {
    // wsrep_info: the dbserver reads its view's members (uuid → name) from WSREP_MEMBERSHIP.
    // As docs/dbserver.md asks of a host's my.cnf: the hook, wsrep_info, and the status file the dbserver watches.
    const galera = await startGaleraWithRetry({ nodes, notifyCmd: hook.script, extraMyCnf: { plugin_load_add: 'wsrep_info' }, wsrepStatusFile: true });
    cleanups.push(() => galera.close());
    const servers = galera.nodes().map((n) => ({ name: n.name, address: n.address, port: n.port }));
    const haproxy = await startHaproxy({
      servers,
      bind: HAPROXY_BIND,
      frontendPorts: o.frontendPorts ?? { write: 15200, read: 15201 },
      balance: 'roundrobin',
    });
    cleanups.push(() => haproxy.close());
    const extra: HaproxyLab[] = [];
    for (const e of o.extraHaproxy ?? []) {
      const h = await startHaproxy({ ...e, servers });
      extra.push(h);
      cleanups.push(() => h.close());
    }
    const site = new MinderSite({
      nodes: galera.nodes().map((n) => ({ name: n.name, dc: n.dc, address: n.address, port: n.port, datadir: n.datadir })),
      dcs: [...new Set(nodes.map((n) => n.dc))],
      credentials: galera.credentials,
      dbclients: [{ ...DBCLIENT_ADDRESS, dc: nodes[0]?.dc ?? 'dc1', loadBalancer: { kind: 'haproxy', socket: haproxy.socketPath } }],
      keyOwner: 'mysql',
      ...(o.timings ? { timings: o.timings } : {}),
      ...(o.http ? { http: o.http } : {}),
    });
    cleanups.push(async () => {
      // MINDER_KEEP_LOGS=<dir>: keep the minder processes' logs (pino JSON) for a look afterwards.
      const keep = process.env['MINDER_KEEP_LOGS'];
      if (keep) cpSync(join(site.dir, 'logs'), keep, { recursive: true });
      await site.close();
    });
    hook.configure(site, galera.nodes());
    site.startAll();
    return { galera, haproxy, extra, site, partyOf: (n) => site.partyOf(n), close: closeAll };
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }
}

// ---- what HAProxy does, read from its runtime API ----

export interface ServerView {
  /** 'ready' | 'drain' | 'maint' from the admin bits; `up` from the operational state. */
  admin: 'ready' | 'drain' | 'maint';
  up: boolean;
  sessions: number;
}

/** Every server of one backend: admin state and op state (`show servers state`), sessions (`show stat`). */
export async function backendView(lab: HaproxyLab, backend: string): Promise<Map<string, ServerView>> {
  const out = new Map<string, ServerView>();
  const state = await lab.admin(`show servers state ${backend}`);
  for (const line of state.split('\n').slice(2)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[1] !== backend) continue;
    const bits = Number(f[6]);
    out.set(f[3] as string, { admin: bits & 0x23 ? 'maint' : bits & 0x18 ? 'drain' : 'ready', up: f[5] === '2' || f[5] === '1', sessions: 0 });
  }
  const stat = await lab.admin(`show stat ${backend} 4 -1`);
  for (const line of stat.split('\n').slice(1)) {
    const f = line.split(',');
    const v = out.get(f[1] ?? '');
    if (v && f[0] === backend) v.sessions = Number(f[4]);
  }
  return out;
}

/** True when HAProxy sends no new connection of `backend` to `server` (admin out, or checked down). */
export async function isOut(lab: HaproxyLab, backend: string, server: string): Promise<boolean> {
  const v = (await backendView(lab, backend)).get(server);
  return v !== undefined && (v.admin !== 'ready' || !v.up);
}

export { waitUntil } from '../support/wait.js';

// ---- clients through HAProxy ----

export interface Credentials {
  user: string;
  password: string;
}

/** Opens `n` new connections through a frontend, one after another, and names the node each reached. */
export async function whoAnswers(lab: HaproxyLab, which: 'write' | 'read', creds: Credentials, n: number): Promise<string[]> {
  const { host, port } = lab.frontends[which];
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = await mysql.createConnection({ host, port, ...creds, connectTimeout: 5000 });
    try {
      const [rows] = await c.query<RowDataPacket[]>('SELECT @@wsrep_node_name AS n');
      names.push(String(rows[0]?.['n']));
    } finally {
      c.destroy();
    }
  }
  return names;
}

/** A long-lived client session through HAProxy that landed on `node` (reconnects until it does). */
export async function sessionOn(lab: HaproxyLab, which: 'write' | 'read', creds: Credentials, node: string, tries = 40): Promise<mysql.Connection> {
  const { host, port } = lab.frontends[which];
  for (let i = 0; i < tries; i++) {
    const c = await mysql.createConnection({ host, port, ...creds, connectTimeout: 5000 });
    const [rows] = await c.query<RowDataPacket[]>('SELECT @@wsrep_node_name AS n');
    if (rows[0]?.['n'] === node) return c;
    c.destroy();
  }
  throw new Error(`no connection through ${host}:${port} reached ${node} in ${tries} tries`);
}

export function countBy(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}
