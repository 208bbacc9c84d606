// A 2+2 site on the real Galera lab for the arbitrator's end-to-end test and the failover
// benchmark: four mariadbd (dc1: n1 n2, dc2: n3 n4) with the real wsrep_notify_cmd hook and the
// wsrep_info plugin, and `minder run` processes for the arbitrator and the four dbservers. No
// load balancer: writes go straight to the nodes. Everything stops by PID on close().

import { type GaleraLab, type LabNode, startGaleraLab } from '../lab/galera-lab.js';
import { LabHook } from '../support/lab-hook.js';
import { Cleanups } from '../support/cleanups.js';
import { MinderSite } from '../support/minder-site.js';

export const NODES = ['n1', 'n2', 'n3', 'n4'] as const;
export type NodeName = (typeof NODES)[number];

export interface SplitLab {
  galera: GaleraLab;
  site: MinderSite;
  partyOf(node: NodeName): string;
  close(): Promise<void>;
}

export interface SplitLabOptions {
  timings?: ConstructorParameters<typeof MinderSite>[0]['timings'];
  /** Galera's real pc.weight per node (the site config keeps weight 1 for every node). */
  galeraWeights?: Partial<Record<NodeName, number>>;
  /** Party id → its `http` block. */
  http?: ConstructorParameters<typeof MinderSite>[0]['http'];
  /** Added to every node's [mysqld]. */
  extraMyCnf?: Record<string, string>;
  /** Each dbserver's `control` block (docs/cold-start.md), e.g. the lab's mariadbd-ctl.sh. */
  control?: (n: LabNode) => Record<string, unknown>;
  coldStart?: Record<string, unknown>;
  arbitrators?: ConstructorParameters<typeof MinderSite>[0]['arbitrators'];
  arbitratorStore?: ConstructorParameters<typeof MinderSite>[0]['arbitratorStore'];
}

/** The timings the e2e test and the benchmark run with (the failover figure depends on them). */
export const LAB_TIMINGS = { reportInterval: '1s', ackTimeout: '500ms', failoverPeriod: '3s', staleAfter: '4s', makePrimaryValidFor: '20s' } as const;

export async function startSplitLab(o: SplitLabOptions = {}): Promise<SplitLab> {
  const hook = new LabHook();
  const cleanups = new Cleanups();
  cleanups.push(async () => hook.remove());
  const close = (): Promise<void> => cleanups.run();
  try {
    const galera = await startGaleraLab({
      nodes: NODES.map((name, i) => ({ name, dc: i < 2 ? 'dc1' : 'dc2', ...(o.galeraWeights?.[name] !== undefined ? { weight: o.galeraWeights[name] } : {}) })),
      notifyCmd: hook.script,
      extraMyCnf: { plugin_load_add: 'wsrep_info', ...o.extraMyCnf },
      // As docs/dbserver.md asks of a host's my.cnf: the status file the dbserver watches.
      wsrepStatusFile: true,
    });
    cleanups.push(() => galera.close());
    const site = new MinderSite({
      nodes: galera.nodes().map((n) => ({ name: n.name, dc: n.dc, address: n.address, port: n.port, datadir: n.datadir, ...(o.control ? { control: o.control(n) } : {}) })),
      dcs: ['dc1', 'dc2'],
      credentials: galera.credentials,
      keyOwner: 'mysql',
      timings: { ...LAB_TIMINGS, ...o.timings },
      ...(o.http ? { http: o.http } : {}),
      ...(o.coldStart ? { coldStart: o.coldStart } : {}),
      ...(o.arbitrators ? { arbitrators: o.arbitrators } : {}),
      ...(o.arbitratorStore ? { arbitratorStore: o.arbitratorStore } : {}),
    });
    cleanups.push(() => site.close());
    hook.configure(site, galera.nodes());
    site.startAll();
    return { galera, site, partyOf: (n) => site.partyOf(n), close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** The arbitrator's status document, or null while it does not answer. */
export function statusOf(site: MinderSite, to?: string): StatusDoc | null {
  const r = site.command(['status', '--json', '--tries', '2', ...(to ? ['--to', to] : [])], 10_000);
  if (r.code !== 0) return null;
  return JSON.parse(r.stdout) as StatusDoc;
}

export interface StatusDoc {
  arbitrator: {
    incarnation: number;
    decisions: Array<{ id: string; target: string; members: string[]; outcome: string; forced: boolean; decidedAt: number }>;
    evaluation: { reasons: Array<{ code: string; text: string }> } | null;
    writer: string | null;
    store?: { leading: boolean; token: number | null; leader: string | null; problem: string | null; text: string } | null;
  };
  parties: Array<{ party: string; fresh: boolean; db: { cluster: string | null; localState: string | null } | null }>;
}

export { waitUntil } from '../support/wait.js';

/** Tries one write on a node; true when it committed. */
export async function writes(lab: GaleraLab, node: NodeName, value: string): Promise<boolean> {
  try {
    await lab.exec(node, 'INSERT INTO minder_e2e.t (v) VALUES (?)', [value], { timeoutMs: 2000 });
    return true;
  } catch {
    return false;
  }
}

export async function clusterStatus(lab: GaleraLab, node: NodeName): Promise<string> {
  try {
    return (await lab.status(node))['wsrep_cluster_status'] ?? '?';
  } catch {
    return 'unreachable';
  }
}

/**
 * The member names of `node`'s view when it is Primary, else null. Status and membership are two
 * queries: a view change between them (a heal) pairs the new status with the old members, so a
 * node whose status or conf id differs after the membership read is mid-change, not a sample.
 * Unreachable: null (not Primary for anyone writing to it right now).
 */
export async function primaryMembers(lab: GaleraLab, node: string): Promise<string[] | null> {
  try {
    const st = await lab.status(node, { timeoutMs: 1000 });
    if (st['wsrep_cluster_status'] !== 'Primary') return null;
    const rows = await lab.query(node, 'SELECT `NAME` FROM information_schema.WSREP_MEMBERSHIP', undefined, { timeoutMs: 1000 });
    const again = await lab.status(node, { timeoutMs: 1000 });
    if (again['wsrep_cluster_status'] !== 'Primary' || again['wsrep_cluster_conf_id'] !== st['wsrep_cluster_conf_id']) return null;
    return rows.map((r) => String(r['NAME']));
  } catch {
    return null;
  }
}
