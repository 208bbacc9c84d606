import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { arbitratorMetrics } from '../../src/metrics/arbitrator-metrics.js';
import { dbclientMetrics } from '../../src/metrics/dbclient-metrics.js';
import { dbserverMetrics } from '../../src/metrics/dbserver-metrics.js';
import { partyMetrics } from '../../src/metrics/party-metrics.js';
import { simSite } from '../support/post-office-fixture.js';

/**
 * contrib/: the alert rules pass `promtool check rules` and their own `promtool test rules`
 * (each alert fires on the series it is about, and not before its `for`), every metric the
 * rules and the Grafana dashboard name is one a party serves; the httpchk example is valid.
 */

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const RULES = path('contrib/prometheus/minder-alerts.yml');
const RULE_TESTS = path('contrib/prometheus/minder-alerts.test.yml');
const DASHBOARD = path('contrib/grafana/galera-minder.json');
const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

/** Every metric name any party registers (values or not). */
function servedNames(): Set<string> {
  const site = simSite(1);
  const names = new Set<string>();
  for (const role of ['arbitrator', 'dbserver', 'dbclient'] as const) {
    const m = partyMetrics({ party: `${role}:1`, role, site: 's', version: 't', post: site.make(`${role}:1`), now: () => 0 });
    if (role === 'arbitrator') arbitratorMetrics(m, { state: () => null, now: () => 0 });
    if (role === 'dbserver') dbserverMetrics(m, { self: 'dbserver:1', state: () => null, health: () => null, wall: () => 0 });
    if (role === 'dbclient') dbclientMetrics(m, { state: () => null });
    for (const metric of m.registry.getMetricsAsArray()) names.add(metric.name);
  }
  return names;
}

function referenced(text: string): string[] {
  return [...new Set([...text.matchAll(/\bminder_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))];
}

describe('contrib', () => {
  it.skipIf(!promtool)(`promtool check rules passes on the alert rules${promtool ? '' : ' — SKIPPED: promtool missing (apt-get install prometheus)'}`, () => {
    const r = spawnSync(promtool as string, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  it.skipIf(!promtool)('promtool test rules: each alert fires on its series and not before its `for`', () => {
    const r = spawnSync(promtool as string, ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);
  });

  const haproxy = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((p) => existsSync(p));
  it.skipIf(!haproxy)('the httpchk example haproxy.cfg is valid for HAProxy and polls /write and /read', () => {
    const file = path('config/haproxy-httpchk.cfg.example');
    const r = spawnSync(haproxy as string, ['-c', '-f', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/option httpchk GET \/write/);
    expect(text).toMatch(/option httpchk GET \/read/);
  });

  it('the rules cover the six situations the issue names', () => {
    const names = [...readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(names).toEqual(['MinderNoPrimaryComponent', 'MinderSplitDecided', 'MinderArbitratorPaused', 'MinderReportStale', 'MinderDrainNotEmptied', 'MinderArbitratorUnreachable']);
  });

  it('every metric the rules and the dashboard name is served by some party', () => {
    const served = servedNames();
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ type: string; targets?: Array<{ expr: string }> }> };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);
    const used = referenced([readFileSync(RULES, 'utf8'), ...exprs].join('\n'));
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((n) => !served.has(n))).toEqual([]);
  });
});
