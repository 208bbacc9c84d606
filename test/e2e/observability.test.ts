// Issue 14 on the real lab, one bring-up for the whole file: a 2+2 Galera lab with the
// arbitrator and four dbservers as `minder run` processes, each serving HTTP; a real HAProxy
// that routes by plain `option httpchk GET /read` and `GET /write` against the dbservers (no
// dbclient); a real Prometheus scraping every party with contrib/'s alert rules; the status page
// in a real headless Chromium (Debian's, driven by playwright-core, no browser download).
//  1. every party serves /health and /metrics; the API answers only with the token
//  2. HAProxy via httpchk: exactly one writer; a drained node takes no new connections
//  3. the status page renders the site; a drain typed in `minder command` appears on the open page
//  4. a 2|2 cut: the non-Primary half goes out of HAProxy, still exactly one writer, and the
//     split alert fires in Prometheus
// Run (root, one lab at a time):
//   npm run build && flock /tmp/minder-lab.lock npx vitest run --project lab test/e2e/observability.test.ts

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { isSyncedPrimary, labAvailable } from '../lab/galera-lab.js';
import { type HaproxyLab, startHaproxy } from '../lab/haproxy-lab.js';
import { type PrometheusLab, prometheusAvailable, startPrometheus } from '../lab/prometheus-lab.js';
import { MINDER } from '../support/cli.js';
import { Cleanups } from '../support/cleanups.js';
import { type NodeName, NODES, type SplitLab, startSplitLab, statusOf, waitUntil, writes } from './arbitrator-lab.js';
import { backendView } from './dbclient-stack.js';

const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));
const avail = labAvailable();
const prom = prometheusAvailable();
const ready = avail.ok && prom.ok && CHROMIUM !== undefined;
const why = !avail.ok ? avail.reason : !prom.ok ? prom.reason : 'chromium missing (apt-get install -y --no-install-recommends chromium)';

const ARB_HTTP = '127.0.0.30:9100';
const DB_HTTP_PORT = 9104;
const TOKEN = 'lab-api-token-0123456789abcdef';
const FRONTENDS = { write: 15400, read: 15401 };
// MINDER_SCREENSHOT=docs/status-page.png keeps the page's picture in the docs (it was taken so).
const SCREENSHOT = process.env['MINDER_SCREENSHOT'] ?? join(tmpdir(), 'minder-status-page.png');
const RULES = fileURLToPath(new URL('../../contrib/prometheus/minder-alerts.yml', import.meta.url));

describe.skipIf(!ready)(`observability on the real lab${ready ? '' : ` — SKIPPED: ${why}`}`, () => {
  let lab: SplitLab;
  let haproxy: HaproxyLab;
  let prometheus: PrometheusLab;
  let browser: Browser;
  const cleanups = new Cleanups();
  const addressOf = (n: NodeName) => lab.galera.nodes().find((x) => x.name === n)?.address as string;
  const api = (path: string, token: string | null = TOKEN) => fetch(`http://${ARB_HTTP}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  /** Servers HAProxy counts as up in a backend (checks passing, admin ready). */
  async function upIn(backend: string): Promise<string[]> {
    const v = await backendView(haproxy, backend);
    return [...v]
      .filter(([, s]) => s.up && s.admin === 'ready')
      .map(([name]) => name)
      .sort();
  }

  /** `n` new connections through a frontend, each asking which node it reached. */
  async function reached(port: number, n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const c = await mysql.createConnection({ host: '127.0.0.50', port, ...lab.galera.credentials, connectTimeout: 2000 });
      try {
        const [rows] = await c.query<RowDataPacket[]>('SELECT @@wsrep_node_name AS n');
        out.push(String(rows[0]?.n));
      } finally {
        await c.end();
      }
    }
    return out;
  }

  async function allFreshAndPrimary(): Promise<void> {
    await waitUntil(
      'the arbitrator to see four fresh Synced Primary nodes',
      60_000,
      () => {
        const s = statusOf(lab.site);
        return s !== null && s.parties.filter((p) => p.db).every((p) => p.fresh && p.db?.cluster === 'Primary' && p.db.localState === 'Synced');
      },
      300,
    );
  }

  function diagnose(): void {
    console.log(`status: ${JSON.stringify(statusOf(lab.site)?.arbitrator.evaluation)}`);
    for (const p of ['arbitrator:1', 'dbserver:1', 'dbserver:3']) {
      for (const l of lab.site
        .logs(p)
        .filter((x) => Number(x.level) >= 40 || /http|promot|drain/.test(String(x.event)))
        .slice(-10))
        console.log(`${p} ${String(l.event)}: ${String(l.msg).slice(0, 200)}`);
    }
  }

  beforeAll(async () => {
    if (!existsSync(MINDER)) throw new Error(`${MINDER} is missing: run npm run build first`);
    const tokenDir = mkdtempSync(join(tmpdir(), 'minder-token-'));
    cleanups.push(async () => rmSync(tokenDir, { recursive: true, force: true }));
    const tokenFile = join(tokenDir, 'api.token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const http: Record<string, Record<string, unknown>> = { 'arbitrator:1': { listen: ARB_HTTP, tokenFile } };
    // The lab's node addresses are fixed (galera-lab.ts): 127.0.0.11–14.
    for (const [i] of NODES.entries()) http[`dbserver:${i + 1}`] = { listen: `127.0.0.${11 + i}:${DB_HTTP_PORT}` };
    lab = await startSplitLab({ http });
    cleanups.push(() => lab.close());
    // `writes` (arbitrator-lab.ts) inserts here.
    await lab.galera.exec('n1', 'CREATE DATABASE minder_e2e');
    await lab.galera.exec('n1', 'CREATE TABLE minder_e2e.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))');
    await allFreshAndPrimary();
    haproxy = await startHaproxy({
      servers: lab.galera.nodes().map((n) => ({ name: n.name, address: n.address, port: n.port })),
      bind: '127.0.0.50',
      frontendPorts: FRONTENDS,
      balance: 'roundrobin',
      // Every server active in the write backend: only /write decides which one takes writes.
      writeMode: 'all-active',
      check: 'httpchk',
      checkOptions: { writeUri: '/write', readUri: '/read', port: DB_HTTP_PORT, interMs: 300, fall: 1, rise: 1 },
    });
    cleanups.push(() => haproxy.close());
    prometheus = await startPrometheus({
      jobs: [
        { job: 'minder-arbitrator', targets: [ARB_HTTP] },
        { job: 'minder-dbserver', targets: NODES.map((_, i) => `127.0.0.${11 + i}:${DB_HTTP_PORT}`) },
      ],
      ruleFiles: [RULES],
    });
    cleanups.push(() => prometheus.close());
    browser = await chromium.launch({ executablePath: CHROMIUM as string, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    cleanups.push(() => browser.close());
  });

  afterAll(async () => {
    await cleanups.run();
  });

  it('every party serves /health and /metrics; the API answers only with the token, with the document status --json prints', async () => {
    onTestFailed(diagnose);
    for (const [i] of NODES.entries()) {
      const base = `http://127.0.0.${11 + i}:${DB_HTTP_PORT}`;
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const m = await (await fetch(`${base}/metrics`)).text();
      expect(m).toMatch(/^minder_dbserver_wsrep_cluster_state\{state="Primary"\} 1$/m);
      expect(m).toMatch(/^minder_dbserver_health_read 1$/m);
      expect(m).toMatch(/^minder_datagrams_received_total\{verb="directives"\} [1-9]/m);
    }
    expect((await fetch(`http://${ARB_HTTP}/health`)).status).toBe(200);
    const am = await (await fetch(`http://${ARB_HTTP}/metrics`)).text();
    expect(am).toMatch(/^minder_arbitrator_primary_nodes 4$/m);
    expect(am).toMatch(/^minder_step_duration_seconds_count\{event="message:db_status_report"\} [1-9]/m);

    expect((await api('/v1/site', null)).status).toBe(401);
    expect((await api('/v1/site', 'wrong-token-wrong-token')).status).toBe(401);
    const doc = (await (await api('/v1/site')).json()) as { format: number; parties: Array<{ party: string; fresh: boolean; db: { cluster: string } | null }>; arbitrator: { writer: string } };
    const cli = statusOf(lab.site);
    expect(doc.format).toBe(1);
    expect(doc.parties.map((p) => p.party)).toEqual(cli?.parties.map((p) => p.party));
    expect(doc.parties.map((p) => p.db?.cluster)).toEqual(['Primary', 'Primary', 'Primary', 'Primary']);
    expect(doc.arbitrator.writer).toBe(cli?.arbitrator.writer);
    const one = (await (await api('/v1/parties/dbserver:3')).json()) as { party: string; dc: string };
    expect(one).toMatchObject({ party: 'dbserver:3', dc: 'dc2' });
    expect((await api('/v1/parties/dbserver:9')).status).toBe(404);
    expect((await api('/v1/parties/nonsense')).status).toBe(400);
    expect(Array.isArray(((await (await api('/v1/decisions')).json()) as { decisions: unknown[] }).decisions)).toBe(true);

    // Prometheus scrapes every party.
    await waitUntil('Prometheus to scrape all five parties', 20_000, async () => (await prometheus.query('up == 1')).length === 5, 500);
  });

  it("HAProxy with plain httpchk: exactly one writer (the arbitrator's); a drained node takes no new connections", async () => {
    onTestFailed(diagnose);
    const writer = statusOf(lab.site)?.arbitrator.writer as string;
    const writerNode = NODES[Number(writer.split(':')[1]) - 1] as string;
    await waitUntil('HAProxy to see all four readable, one writer', 20_000, async () => (await upIn('galera_read')).length === 4 && (await upIn('galera_write')).length === 1, 200);
    expect(await upIn('galera_write')).toEqual([writerNode]);
    expect(new Set(await reached(FRONTENDS.write, 4))).toEqual(new Set([writerNode]));

    const drained = writerNode === 'n3' ? 'n4' : 'n3';
    const party = lab.site.partyOf(drained);
    expect(lab.site.command(['drain', party, '--reason', 'httpchk test']).code).toBe(0);
    await waitUntil(`HAProxy to take ${drained} out of the read backend`, 10_000, async () => !(await upIn('galera_read')).includes(drained), 100);
    const r = await (await fetch(`http://${addressOf(drained as NodeName)}:${DB_HTTP_PORT}/read`)).text();
    expect(r).toMatch(/read: no: drained by the operator/);
    expect(await reached(FRONTENDS.read, 9)).not.toContain(drained);
    expect(lab.site.command(['undrain', party]).code).toBe(0);
    await waitUntil(`${drained} back in the read backend`, 10_000, async () => (await upIn('galera_read')).includes(drained), 100);
  });

  it('the status page renders the site; a drain typed in minder command appears on the open page without a reload', async () => {
    onTestFailed(diagnose);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const outside: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(`http://${ARB_HTTP}/`)) outside.push(req.url());
    });
    await page.goto(`http://${ARB_HTTP}/`);
    // With a token configured the page asks for it once.
    await page.fill('#token', TOKEN);
    await page.click('#login button');
    await page.waitForSelector('[data-party="dbserver:4"][data-cluster="Primary"]', { timeout: 15_000 });
    expect(await page.locator('.dc').count()).toBe(2);
    expect(await page.locator('.node').count()).toBe(4);
    expect(await page.locator('.dc[data-dc="dc1"] .node').count()).toBe(2);
    await page.waitForSelector('#live.on', { timeout: 10_000 });
    await page.evaluate('window.marker = 42');

    expect(lab.site.command(['drain', 'dbserver:4', '--reason', 'browser test']).code).toBe(0);
    await page.waitForSelector('[data-party="dbserver:4"][data-drained="yes"]', { timeout: 10_000 });
    await page.waitForSelector('#events li[data-event="drained"]', { timeout: 10_000 });
    // The same document: no reload happened.
    expect(await page.evaluate('window.marker')).toBe(42);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(outside).toEqual([]);
    expect(lab.site.command(['undrain', 'dbserver:4']).code).toBe(0);
    await page.waitForSelector('[data-party="dbserver:4"][data-drained="no"]', { timeout: 10_000 });
    await page.close();
  });

  it('a 2|2 cut: the non-Primary half leaves HAProxy, still exactly one writer, and the split alert fires in Prometheus', async () => {
    onTestFailed(diagnose);
    const g = lab.galera;
    await g.cutDcs('dc1', 'dc2');
    await waitUntil('dc1 to accept writes', 60_000, async () => writes(g, 'n1', 'observability-cut'), 200);
    await waitUntil(
      'HAProxy to take dc2 out of the read backend',
      15_000,
      async () => {
        const up = await upIn('galera_read');
        return !up.includes('n3') && !up.includes('n4') && up.length === 2;
      },
      100,
    );
    // The writer moves to the promoted half: for a moment there may be none (never two).
    let most = 0;
    const writers = await waitUntil(
      'exactly one writer in HAProxy',
      15_000,
      async () => {
        const w = await upIn('galera_write');
        most = Math.max(most, w.length);
        return w.length === 1 ? w : null;
      },
      100,
    );
    expect(most, 'never two writers').toBe(1);
    expect(['n1', 'n2']).toContain(writers[0]);
    const firing = await waitUntil(
      'the split alert to fire in Prometheus',
      30_000,
      async () => {
        const a = (await prometheus.alerts()).find((x) => x.labels.alertname === 'MinderSplitDecided' && x.state === 'firing');
        return a ?? null;
      },
      500,
    );
    expect(firing.labels).toMatchObject({ job: 'minder-arbitrator', severity: 'warning', forced: 'false' });
    const fromApi = await prometheus.query('ALERTS{alertname="MinderSplitDecided",alertstate="firing"}');
    expect(fromApi).toHaveLength(1);
    // The dc2 side of the cut answers why, in one line.
    expect(await (await fetch(`http://${addressOf('n3')}:${DB_HTTP_PORT}/read`)).text()).toMatch(/read: no: non-Primary/);

    await g.heal();
    for (const n of NODES) await g.waitFor(n, isSyncedPrimary(4), 60_000);
    await waitUntil('HAProxy to take every node back for reads', 20_000, async () => (await upIn('galera_read')).length === 4, 200);
    expect(await upIn('galera_write')).toHaveLength(1);
  });
});
