// How fast does HAProxy stop sending new connections to a node that went non-Primary, or that
// the operator drained? galera-minder (dbserver hook → report → dbclient → runtime API) against
// HAProxy's own polling checks, side by side in ONE run, in front of the same real Galera nodes:
//
//   minder            no checks; the dbclient sets states through the runtime API
//   httpchk 2s×3      option httpchk against a clustercheck-style endpoint, inter 2s fall 3 rise 2 (HAProxy's defaults)
//   httpchk 500ms×2   the same, inter 500ms fall 2 rise 1 (aggressive)
//   mysql-check 2s×3  option mysql-check (login handshake only), inter 2s fall 3 rise 2
//   mysql-check 500ms×2
//   minder /read 2s×3 option httpchk GET /read against the dbservers' own endpoint (no dbclient
//   minder /read 500ms×2  involved: docs/observability.md), the same two check timings
//
// "Out" is read from each HAProxy's runtime API every 10 ms: admin state drain/maint (minder) or
// the server checked DOWN (polling). t0 for a cut: the first 10 ms poll of the node itself that
// reads non-Primary; for a drain: the moment `minder command drain` is started and, at the same
// instant, the clustercheck maintenance file is set. A third scenario, "drain (session)", times
// the same drain typed into an `minder command` prompt that is already open (one process for the
// whole run, its stdin a pipe): t0 is the write of the line, so no Node start-up is inside it.
// Only the minder's HAProxy is watched there (the polling setups are timed in "drain").
//
// Run (builds, then takes the lab lock; ~4 min):
//   npm run build && flock /tmp/minder-lab.lock npx vitest run --project bench bench/lb-reaction.run.ts
// Results: printed, and written to bench/results/lb-reaction/.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { backendView, type Stack, startStack, waitUntil } from '../test/e2e/dbclient-stack.js';
import type { HaproxyLab, StartHaproxyOptions } from '../test/lab/haproxy-lab.js';
import { MINDER } from '../test/support/cli.js';
import { Clustercheck } from './lb-reaction.clustercheck.js';

const READ = 'galera_read';
const VICTIM = 'n3';
const VICTIM_PARTY = 'dbserver:3';
const CHECK_PORT = 9200;
/** The dbservers' own HTTP (site config `http`), whose GET /read the last two setups poll. */
const DBSERVER_HTTP_PORT = 9104;
const POLL_MS = 10;
const GIVE_UP_MS = 20_000;

interface Variant {
  name: string;
  lab: () => HaproxyLab;
  /** Polling setups only: can it drain at all (mysql-check cannot). */
  drains: boolean;
}

const POLLING: Array<{ name: string; options: Omit<StartHaproxyOptions, 'servers'>; drains: boolean }> = [
  {
    name: 'httpchk inter 2s fall 3',
    drains: true,
    options: {
      check: 'httpchk',
      checkOptions: { interMs: 2000, port: CHECK_PORT, httpUri: '/' },
      extraServerParams: 'fall 3 rise 2',
      frontendPorts: { write: 15210, read: 15211 },
      bind: '127.0.0.50',
    },
  },
  {
    name: 'httpchk inter 500ms fall 2',
    drains: true,
    options: { check: 'httpchk', checkOptions: { interMs: 500, port: CHECK_PORT, httpUri: '/' }, frontendPorts: { write: 15220, read: 15221 }, bind: '127.0.0.50' },
  },
  {
    name: 'mysql-check inter 2s fall 3',
    drains: false,
    options: {
      check: 'mysql-check',
      checkOptions: { interMs: 2000, mysqlUser: 'haproxy_check' },
      extraServerParams: 'fall 3 rise 2',
      frontendPorts: { write: 15230, read: 15231 },
      bind: '127.0.0.50',
    },
  },
  {
    name: 'mysql-check inter 500ms fall 2',
    drains: false,
    options: { check: 'mysql-check', checkOptions: { interMs: 500, mysqlUser: 'haproxy_check' }, frontendPorts: { write: 15240, read: 15241 }, bind: '127.0.0.50' },
  },
  {
    name: 'minder /read httpchk inter 2s fall 3',
    drains: true,
    options: {
      check: 'httpchk',
      checkOptions: { interMs: 2000, port: DBSERVER_HTTP_PORT, httpUri: '/read' },
      extraServerParams: 'fall 3 rise 2',
      frontendPorts: { write: 15250, read: 15251 },
      bind: '127.0.0.50',
    },
  },
  {
    name: 'minder /read httpchk inter 500ms fall 2',
    drains: true,
    options: { check: 'httpchk', checkOptions: { interMs: 500, port: DBSERVER_HTTP_PORT, httpUri: '/read' }, frontendPorts: { write: 15260, read: 15261 }, bind: '127.0.0.50' },
  },
];

export interface Sample {
  scenario: 'non-Primary' | 'drain' | 'drain (session)';
  round: number;
  /** ms from t0 until HAProxy no longer routes new connections to the node; null: not within GIVE_UP_MS. */
  outMs: Record<string, number | null>;
  /** The minder's path, ms from t0 to each step, from the parties' own log timestamps. */
  minderSteps: Record<string, number | null>;
}

export interface LbReactionResult {
  date: string;
  host: string;
  rounds: number;
  variants: string[];
  checkFall: Record<string, number | null>;
  samples: Sample[];
  /** Extra context: Galera's own detection of the cut (cut → node reads non-Primary). */
  detectionMs: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls every variant's read backend until the victim is out in each (or GIVE_UP_MS passes). */
async function watchOut(variants: Variant[], isOut: (v: Variant, view: { admin: string; up: boolean }) => boolean, t0: () => number | null): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  const start = Date.now();
  while (Date.now() - start < GIVE_UP_MS + 5_000) {
    const at = Date.now();
    await Promise.all(
      variants.map(async (v) => {
        if (out[v.name] !== undefined) return;
        const view = (await backendView(v.lab(), READ)).get(VICTIM);
        if (view && isOut(v, view)) out[v.name] = at;
      }),
    );
    const base = t0();
    if (base !== null && variants.every((v) => out[v.name] !== undefined || at - base > GIVE_UP_MS)) break;
    await sleep(POLL_MS);
  }
  const base = t0();
  return Object.fromEntries(variants.map((v) => [v.name, out[v.name] === undefined || base === null ? null : Math.max(0, (out[v.name] as number) - base)]));
}

/** First time the victim itself reads non-Primary, polled over one connection every POLL_MS. */
function watchNonPrimary(stack: Stack): { at: () => number | null; stop: () => void } {
  let at: number | null = null;
  let stopped = false;
  void (async () => {
    const c = await mysql.createConnection({ ...stack.galera.connectionOptions(VICTIM) });
    try {
      while (!stopped && at === null) {
        const [rows] = await c.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'wsrep_cluster_status'");
        if (String(rows[0]?.['Value']) !== 'Primary') at = Date.now();
        else await sleep(POLL_MS);
      }
    } finally {
      c.destroy();
    }
  })();
  return { at: () => at, stop: () => void (stopped = true) };
}

/** When a party first logged a line matching `pred` at or after `sinceMs` (its own pino timestamp). */
function loggedAt(stack: Stack, party: string, sinceMs: number, pred: (l: Record<string, unknown>) => boolean): number | null {
  for (const l of stack.site.logs(party)) {
    const t = typeof l['time'] === 'string' ? Date.parse(l['time']) : Number.NaN;
    if (Number.isFinite(t) && t >= sinceMs && pred(l)) return t;
  }
  return null;
}

/** When a party last logged a line matching `pred` between `sinceMs` and `untilMs` (inclusive). */
function lastLoggedBefore(stack: Stack, party: string, sinceMs: number, untilMs: number | null, pred: (l: Record<string, unknown>) => boolean): number | null {
  let found: number | null = null;
  for (const l of stack.site.logs(party)) {
    const t = typeof l['time'] === 'string' ? Date.parse(l['time']) : Number.NaN;
    if (Number.isFinite(t) && t >= sinceMs && (untilMs === null || t <= untilMs) && pred(l)) found = t;
  }
  return found;
}

function relative(t0: number | null, steps: Record<string, number | null>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v === null || t0 === null ? null : v - t0]));
}

/** The status-file ring and the hook push at the dbserver, its report, the dbclient's decision, the LB commands done. */
function nonPrimarySteps(stack: Stack, since: number): Record<string, number | null> {
  const hook = loggedAt(stack, VICTIM_PARTY, since, (l) => l['event'] === 'hook_push' && String(l['msg']).includes('primary=no'));
  const report = loggedAt(stack, VICTIM_PARTY, since, (l) => l['event'] === 'report_sent' && l['clusterStatus'] !== 'Primary');
  // mariadbd also rewrites the status file earlier in the cut (suspicions, warnings): the ring
  // that led to the report is the last one before it.
  const ring = lastLoggedBefore(stack, VICTIM_PARTY, since, report, (l) => l['event'] === 'status_file_changed');
  const decided = loggedAt(stack, 'dbclient:1', since, (l) => l['event'] === 'route_changed' && l['server'] === VICTIM_PARTY && l['backend'] === 'read' && l['to'] === 'maint');
  const applied = loggedAt(stack, 'dbclient:1', decided ?? since, (l) => l['event'] === 'lb_applied' && String(l['msg']).includes(`${READ}/${VICTIM} state maint`));
  return { statusFileRingAtDbserver: ring, hookPushAtDbserver: hook, nonPrimaryReportSent: report, dbclientDecided: decided, haproxyCommandsDone: applied };
}

/** The arbitrator's decision, the dbclient's directives and decision, the LB commands done. */
function drainSteps(stack: Stack, since: number): Record<string, number | null> {
  const arb = loggedAt(stack, 'arbitrator:1', since, (l) => l['event'] === 'drained');
  const received = loggedAt(stack, 'dbclient:1', since, (l) => l['event'] === 'directives_received');
  const decided = loggedAt(stack, 'dbclient:1', since, (l) => l['event'] === 'route_changed' && l['server'] === VICTIM_PARTY && l['to'] === 'drain');
  const applied = loggedAt(stack, 'dbclient:1', decided ?? since, (l) => l['event'] === 'lb_applied' && String(l['msg']).includes(`${READ}/${VICTIM} state drain`));
  return { arbitratorDrained: arb, dbclientDirectives: received, dbclientDecided: decided, haproxyCommandsDone: applied };
}

/** An outlier is worth a look: the parties' logs go to $LB_REACTION_OUTLIER_LOGS/<label> (default /tmp/lb-reaction-outliers). */
function keepLogsIfSlow(stack: Stack, ms: number | null, label: string, log: (line: string) => void): void {
  if (ms !== null && ms < 1000) return;
  const dir = join(process.env['LB_REACTION_OUTLIER_LOGS'] ?? '/tmp/lb-reaction-outliers', label);
  cpSync(join(stack.site.dir, 'logs'), dir, { recursive: true });
  log(`${label}: minder took ${ms ?? 'forever'} ms; the parties' logs are in ${dir}`);
}

function minderCommand(stack: Stack, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MINDER, 'command', '--config', stack.site.configPath, ...args], { stdio: 'ignore' });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/**
 * An interactive `minder command` prompt, open for the whole run (stdin a pipe: readline without
 * a terminal, the same line handling as at a keyboard). `send` writes one line and resolves at
 * the next prompt, with what was printed in between.
 */
class OperatorSession {
  private out = '';
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => void (this.out += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (this.out += d.toString()));
  }

  static async open(stack: Stack): Promise<OperatorSession> {
    // As command:2: the one-shot commands of the other scenario speak as command:1, and each of
    // them starts a newer incarnation of command:1, after which the arbitrator drops the older
    // one's requests as stale — one command party per concurrent operator, as --help says.
    const child = spawn(process.execPath, [MINDER, 'command', '--config', stack.site.configPath, '--as', 'command:2'], { stdio: 'pipe', env: { ...process.env, MINDER_HISTORY: '/dev/null' } });
    const s = new OperatorSession(child);
    await waitUntil('the minder command prompt', 30_000, async () => s.out.includes('minder> ') || s.out.includes('minder (PAUSED)> '), 20);
    s.out = '';
    return s;
  }

  /** Writes the line now (the caller takes t0 just before) and resolves with the output up to the next prompt. */
  async send(line: string): Promise<string> {
    this.out = '';
    this.child.stdin.write(`${line}\n`);
    await waitUntil(`the reply to "${line}"`, 30_000, async () => /minder( \(PAUSED\))?> $/.test(this.out), 10);
    return this.out;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end('quit\n');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

/** HAProxy's last check result for a server (`check_status` in `show stat`), e.g. 'L7OK'. */
async function checkStatus(lab: HaproxyLab, server: string): Promise<string | null> {
  const [header, ...rows] = (await lab.admin(`show stat ${READ} 4 -1`)).split('\n');
  const cols = (header ?? '').replace(/^# /, '').split(',');
  const row = rows.map((r) => r.split(',')).find((f) => f[1] === server);
  return row?.[cols.indexOf('check_status')] ?? null;
}

async function allBackIn(variants: Variant[]): Promise<void> {
  await waitUntil(
    'every HAProxy to route to the victim again',
    60_000,
    async () => {
      for (const v of variants) {
        const view = (await backendView(v.lab(), READ)).get(VICTIM);
        if (view?.admin !== 'ready' || !view.up) return false;
      }
      return true;
    },
    100,
  );
}

export async function measureLbReaction(rounds = 3, log: (line: string) => void = console.log): Promise<LbReactionResult> {
  const labs: HaproxyLab[] = [];
  const cc = await Clustercheck.start(
    [1, 2, 3].map((i) => ({ name: `n${i}`, address: `127.0.0.${10 + i}`, mysqlPort: 3306 })),
    CHECK_PORT,
  );
  let stack: Stack | null = null;
  let operator: OperatorSession | null = null;
  try {
    stack = await startStack({
      extraHaproxy: POLLING.map((p) => p.options),
      http: Object.fromEntries([1, 2, 3].map((i) => [`dbserver:${i}`, { listen: `127.0.0.${10 + i}:${DBSERVER_HTTP_PORT}` }])),
    });
    const s = stack;
    labs.push(...s.extra);
    cc.setCredentials(s.galera.credentials);
    // mysql-check logs in as this user: no password, no rights (as HAProxy's docs have it).
    await s.galera.exec('n1', "CREATE USER IF NOT EXISTS 'haproxy_check'@'127.0.0.%'");
    const variants: Variant[] = [{ name: 'minder', lab: () => s.haproxy, drains: true }, ...POLLING.map((p, i) => ({ name: p.name, lab: () => s.extra[i] as HaproxyLab, drains: p.drains }))];
    // A fresh HAProxy routes to every server (config states, checks start UP): wait until the
    // dbclient has set its states (only it puts servers in maint) and every check has passed.
    await waitUntil('the dbclient to steer its HAProxy', 60_000, async () => {
      const w = [...(await backendView(s.haproxy, 'galera_write')).values()];
      return w.filter((v) => v.admin === 'ready').length === 1 && w.filter((v) => v.admin === 'maint').length === w.length - 1;
    });
    await waitUntil('every health check to have passed on the victim', 60_000, async () => {
      for (const lab of s.extra) if ((await checkStatus(lab, VICTIM)) !== 'L7OK') return false;
      return true;
    });
    await allBackIn(variants);
    const checkFall: Record<string, number | null> = {};
    for (const v of variants.slice(1)) {
      const stat = await v.lab().admin(`show stat ${READ} 4 -1`);
      const [header, row] = stat.split('\n');
      const cols = (header ?? '').replace(/^# /, '').split(',');
      const fall = (row ?? '').split(',')[cols.indexOf('check_fall')];
      checkFall[v.name] = fall === undefined || fall === '' ? null : Number(fall);
    }
    log(`check_fall as HAProxy runs it: ${JSON.stringify(checkFall)}`);

    operator = await OperatorSession.open(s);
    const op = operator;
    const samples: Sample[] = [];
    const detectionMs: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      // ---- the victim goes non-Primary (cut from the other two) ----
      const np = watchNonPrimary(s);
      const cutAt = Date.now();
      await s.galera.cut([VICTIM], ['n1', 'n2']);
      const outMs = await watchOut(variants, (v, view) => (v.name === 'minder' ? view.admin !== 'ready' : !view.up), np.at);
      np.stop();
      const npAt = np.at();
      if (npAt !== null) detectionMs.push(npAt - cutAt);
      await sleep(300); // the parties' last log lines reach their files
      samples.push({ scenario: 'non-Primary', round, outMs, minderSteps: relative(npAt, nonPrimarySteps(s, cutAt)) });
      keepLogsIfSlow(s, outMs['minder'] ?? null, `non-primary-${round}`, log);
      log(`round ${round} non-Primary (Galera detected the cut after ${npAt === null ? '?' : npAt - cutAt} ms): ${JSON.stringify(outMs)} minder steps ${JSON.stringify(samples.at(-1)?.minderSteps)}`);
      await s.galera.heal();
      await s.galera.waitAllSynced(90_000);
      await allBackIn(variants);

      // ---- the operator drains the victim ----
      const drainable = variants.filter((v) => v.drains);
      const t0 = Date.now();
      cc.maintenance.add(VICTIM);
      const command = minderCommand(s, ['drain', VICTIM_PARTY, '--reason', 'lb-reaction bench']);
      const drainMs = await watchOut(
        drainable,
        (v, view) => (v.name === 'minder' ? view.admin !== 'ready' : !view.up),
        () => t0,
      );
      const code = await command;
      if (code !== 0) log(`minder command drain exited ${code}`);
      samples.push({ scenario: 'drain', round, outMs: drainMs, minderSteps: relative(t0, drainSteps(s, t0)) });
      keepLogsIfSlow(s, drainMs['minder'] ?? null, `drain-${round}`, log);
      log(`round ${round} drain: ${JSON.stringify(drainMs)} minder steps ${JSON.stringify(samples.at(-1)?.minderSteps)}`);
      cc.maintenance.delete(VICTIM);
      await minderCommand(s, ['undrain', VICTIM_PARTY, '--reason', 'lb-reaction bench']);
      await allBackIn(variants);

      // ---- the same drain, typed into the operator's open prompt ----
      const minderOnly = variants.filter((v) => v.name === 'minder');
      const t1 = Date.now();
      const reply = op.send(`drain ${VICTIM_PARTY} --reason "lb-reaction bench (session)"`);
      const sessionMs = await watchOut(
        minderOnly,
        (_v, view) => view.admin !== 'ready',
        () => t1,
      );
      const replyText = await reply;
      if (!/drain/i.test(replyText)) log(`the prompt answered the drain with: ${replyText.trim()}`);
      samples.push({ scenario: 'drain (session)', round, outMs: sessionMs, minderSteps: relative(t1, drainSteps(s, t1)) });
      keepLogsIfSlow(s, sessionMs['minder'] ?? null, `drain-session-${round}`, log);
      log(`round ${round} drain (session): ${JSON.stringify(sessionMs)} minder steps ${JSON.stringify(samples.at(-1)?.minderSteps)}`);
      await op.send(`undrain ${VICTIM_PARTY} --reason "lb-reaction bench (session)"`);
      await allBackIn(variants);
    }
    return {
      date: new Date().toISOString(),
      host: `${process.platform} ${process.arch}, node ${process.version}`,
      rounds,
      variants: variants.map((v) => v.name),
      checkFall,
      samples,
      detectionMs,
    };
  } finally {
    await operator?.close();
    await stack?.close();
    await cc.close();
  }
}

export function summarize(r: LbReactionResult): string {
  const lines: string[] = ['| setup | non-Primary → out (ms) | drain → out (ms) |', '|---|---|---|'];
  const fmt = (xs: Array<number | null>): string => {
    if (xs.length === 0) return 'n/a';
    const got = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
    const missed = xs.length - got.length;
    if (got.length === 0) return `never (within ${GIVE_UP_MS / 1000} s)`;
    const med = got[Math.floor((got.length - 1) / 2)] as number;
    return `median ${med}, ${got.join(' / ')}${missed ? `, ${missed}× never` : ''}`;
  };
  for (const v of r.variants) {
    const np = r.samples.filter((x) => x.scenario === 'non-Primary').map((x) => x.outMs[v] ?? null);
    const dr = r.samples.filter((x) => x.scenario === 'drain' && v in x.outMs).map((x) => x.outMs[v] ?? null);
    lines.push(`| ${v} | ${fmt(np)} | ${dr.length ? fmt(dr) : 'cannot drain'} |`);
  }
  const session = r.samples.filter((x) => x.scenario === 'drain (session)').map((x) => x.outMs['minder'] ?? null);
  if (session.length) lines.push(`| minder, drain typed into an open prompt | | ${fmt(session)} |`);
  for (const scenario of ['non-Primary', 'drain', 'drain (session)'] as const) {
    const steps = r.samples.filter((x) => x.scenario === scenario);
    const names = Object.keys(steps[0]?.minderSteps ?? {});
    const med = (k: string) => {
      const xs = steps
        .map((x) => x.minderSteps[k])
        .filter((x): x is number => typeof x === 'number')
        .sort((a, b) => a - b);
      return xs.length ? String(xs[Math.floor((xs.length - 1) / 2)]) : '?';
    };
    lines.push('', `minder path, ${scenario} (median ms from t0): ${names.map((k) => `${k} ${med(k)}`).join(' → ')}`);
  }
  return lines.join('\n');
}
