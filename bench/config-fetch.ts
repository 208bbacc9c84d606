import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BootstrapDatabase } from '../src/site/bootstrap.js';
import { parseEndpoint, type DbEndpoint } from '../src/site/bootstrap.js';
import { prepareDocument } from '../src/site/config-document.js';
import { ConfigStore, type FetchResult } from '../src/site/config-store.js';
import { type GaleraLab, isNonPrimary, startGaleraLab } from '../test/lab/galera-lab.js';

/**
 * What reading the site config costs a party on a real 3-node Galera lab: one fetchNewest (a fresh
 * connection, a causal read of the newest row) with every node healthy, and when the first listed
 * node is stopped (refused: the next is tried at once), cut away by iptables (the connect timeout
 * is paid), or non-Primary (ERROR 1047: skipped). And what a push costs.
 */

export interface Sample {
  scenario: string;
  ms: number[];
  skipped: string[];
}

export interface ConfigFetchResult {
  date: string;
  host: string;
  connectTimeoutMs: number;
  rounds: number;
  samples: Sample[];
  pushMs: number[];
}

const execFileAsync = promisify(execFile);
const SITE = 'bench';
const DOC = (i: number) => `site: ${SITE}
dataCentres: { a: { priority: 1 }, b: { priority: 2 } }
keys: { send: 1, files: [{ id: 1, path: /etc/minder/site.key }] }
timings: { reportInterval: ${2000 + i}ms }
parties:
  - { id: arbitrator:1, host: 127.0.0.40, port: 4870 }
  - { id: dbserver:1, host: 127.0.0.41, port: 4871, dc: a, nodeName: n1, mariadb: { host: 127.0.0.11, passwordFile: /etc/minder/pw } }
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** n reads on one store, as a party makes them; the first result says which nodes were skipped. */
async function timed(store: ConfigStore, n: number): Promise<{ ms: number[]; first: FetchResult }> {
  const ms: number[] = [];
  let first: FetchResult | undefined;
  let last: FetchResult = { kind: 'unreachable', reason: 'not run', attempts: [] };
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    last = await store.fetchNewest();
    ms.push(performance.now() - t0);
    first ??= last;
    if (last.kind !== 'ok') throw new Error(`fetch failed: ${last.reason}`);
  }
  return { ms, first: first ?? last };
}

export async function measureConfigFetch(rounds: number): Promise<ConfigFetchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'minder-bench-cfg-'));
  let lab: GaleraLab | undefined;
  try {
    lab = await startGaleraLab({
      nodes: [
        { name: 'n1', dc: 'a' },
        { name: 'n2', dc: 'a' },
        { name: 'n3', dc: 'b' },
      ],
    });
    const pw = join(dir, 'pw');
    writeFileSync(pw, `${lab.credentials.password}\n`, { mode: 0o600 });
    const nodes = ['127.0.0.11:3306', '127.0.0.12:3306', '127.0.0.13:3306'].map((n) => parseEndpoint(n) as DbEndpoint);
    const db: BootstrapDatabase = { nodes, user: lab.credentials.user, passwordFile: pw, schema: 'minder', connectTimeoutMs: 1000, queryTimeoutMs: 3000 };
    // A fresh store per fetch would forget the preferred node; a party keeps one, so does this.
    const store = () => new ConfigStore(db);
    const pushMs: number[] = [];
    const pusher = store();
    for (let i = 0; i < rounds; i++) {
      const p = prepareDocument(DOC(i), 'bench', SITE);
      const t0 = performance.now();
      await pusher.push(p.document, SITE, p.checksum, 'bench');
      pushMs.push(performance.now() - t0);
    }
    const samples: Sample[] = [];
    const run = async (scenario: string) => {
      const { ms, first } = await timed(store(), rounds);
      samples.push({ scenario, ms, skipped: first.kind === 'ok' ? first.skipped.map((s) => `${s.node}: ${s.reason}`) : [] });
    };
    await run('all nodes healthy');
    await lab.cut(['n1'], ['n2', 'n3']);
    await lab.waitFor('n1', isNonPrimary, 20_000);
    await run('first node non-Primary (ERROR 1047)');
    await lab.heal();
    await lab.waitAllSynced(60_000);
    // Cut this client from n1's SQL port (a client on loopback writes from 127.0.0.1): a silent
    // drop, as a network cut looks to a party, paid with the connect timeout. heal() flushes it.
    await execFileAsync('iptables', ['-w', '-A', lab.chain, '-s', '127.0.0.1', '-d', '127.0.0.11', '-p', 'tcp', '--dport', '3306', '-j', 'DROP']);
    await run('first node cut away (connect timeout)');
    await lab.heal();
    await lab.stop('n1');
    await run('first node stopped (connection refused)');
    await lab.start('n1');
    return { date: new Date().toISOString(), host: `${process.platform} ${process.arch}, node ${process.version}`, connectTimeoutMs: db.connectTimeoutMs, rounds, samples, pushMs };
  } finally {
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function summarize(r: ConfigFetchResult): string {
  const lines = [`config fetch (fetchNewest, fresh connection + causal read), ${r.rounds} rounds, connect timeout ${r.connectTimeoutMs} ms:`];
  // The first read pays for the bad node; later ones start at the node that answered last.
  for (const s of r.samples) {
    lines.push(
      `  ${s.scenario.padEnd(42)} first read ${(s.ms[0] ?? NaN).toFixed(1)} ms, then median ${median(s.ms.slice(1)).toFixed(1)} ms${s.skipped.length ? ` (first read skipped ${s.skipped.join('; ')})` : ''}`,
    );
  }
  lines.push(`  push (create-if-missing + transaction)    median ${median(r.pushMs).toFixed(1)} ms, max ${Math.max(...r.pushMs).toFixed(1)} ms`);
  return lines.join('\n');
}
