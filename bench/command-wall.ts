/**
 * Issue 16, goal 5: the wall time of a one-shot `minder command status --json` (scripts use it),
 * from the spawn of its process to its exit, against a running arbitrator; goal ≤ 250 ms median.
 *
 * A real `minder run` arbitrator (its unit's node flags) and four simulated dbservers (real
 * PostOffices in this process, as bench/http-flood.ts) reporting Primary/Synced once a second; the
 * site config is YAML, as an operator writes it, and the same config as JSON (which the command
 * reads without loading the YAML parser) alternates with it. Beside each command, in the same run and
 * alternating with it, a bare `node -e 0` (Node's own start-up and exit on this machine): the
 * difference is what minder adds. Every command must exit 0 and print the status document.
 *
 *   npm run build && flock /tmp/minder-lab.lock nice -n 5 node dist/bench/command-wall.js     (env: RUNS=20)
 * COMMAND_WALL_BASELINE=<another checkout>/dist/src/minder.js adds that build's command to every
 * round (an earlier commit, say), so that a change is measured against it on the same load.
 * Writes a dated file under bench/results/command-wall/.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { realClock } from '../src/correspondents/clock.js';
import { PostOffice } from '../src/correspondents/post-office.js';
import { UdpTransport } from '../src/correspondents/udp-transport.js';
import { silentLogger } from '../src/log.js';
import type { PartyId } from '../src/protocol/party.js';
import type { DbStatusReport } from '../src/protocol/verbs.js';
import { directoryOf, loadKeyring, loadSiteConfigFile } from '../src/site/load-config.js';
import { REPO } from '../test/support/repo.js';
import { mathRng } from '../src/util/rng.js';
import { writeResult } from './results.js';
import { startParty, stopChild } from './scale.js';
import { machine, type Spread, spread } from './scale-stats.js';

const ARB = { address: '127.0.6.1', port: 4970 };
const DB = (i: number) => ({ address: `127.0.6.${11 + i}`, port: 4971 });
const MINDER_JS = join(REPO, 'dist/src/minder.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const UUIDS = [0, 1, 2, 3].map((i) => `0000000${i}-e740-11f1-8064-5bf51de6a90f`);

function writeSite(): { dir: string; config: string; json: string } {
  const dir = mkdtempSync(join(tmpdir(), 'minder-cmdwall-'));
  const key = join(dir, 'site.key');
  writeFileSync(key, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const pw = join(dir, 'pw');
  writeFileSync(pw, 'unused\n', { mode: 0o600 });
  const config = join(dir, 'site.yaml');
  const dbs = [0, 1, 2, 3].map((i) =>
    [
      `  - id: dbserver:${i + 1}`,
      `    host: ${DB(i).address}`,
      `    port: ${DB(i).port}`,
      `    dc: ${i < 2 ? 'dc1' : 'dc2'}`,
      `    nodeName: n${i + 1}`,
      '    mariadb:',
      '      host: 127.0.0.1',
      `      passwordFile: ${pw}`,
    ].join('\n'),
  );
  writeFileSync(
    config,
    [
      'site: cmdwall',
      'dataCentres:',
      '  dc1: { priority: 1 }',
      '  dc2: { priority: 2 }',
      'keys:',
      '  send: 1',
      '  files:',
      `    - { id: 1, path: ${key} }`,
      'timings: { reportInterval: 1s, staleAfter: 4s, ackTimeout: 500ms }',
      `stateDir: ${join(dir, 'state')}`,
      'parties:',
      `  - { id: "arbitrator:1", host: ${ARB.address}, port: ${ARB.port} }`,
      ...dbs,
      '',
    ].join('\n'),
  );
  const json = join(dir, 'site.json');
  writeFileSync(json, `${JSON.stringify(parseYaml(readFileSync(config, 'utf8')), null, 2)}\n`);
  return { dir, config, json };
}

function report(i: number): DbStatusReport {
  const members = UUIDS.map((uuid, j) => ({ uuid, name: `n${j + 1}`, address: `${DB(j).address}:3306` }));
  return {
    observedAt: Date.now(),
    dc: i < 2 ? 'dc1' : 'dc2',
    mariadb: 'up',
    wsrep: {
      clusterStatus: 'Primary',
      localState: 'Synced',
      ready: true,
      connected: true,
      clusterSize: 4,
      stateUuid: '6c5624f0-e740-11f1-badd-cb4543f021a3',
      confId: 5,
      lastCommitted: 100,
      nodeUuid: UUIDS[i] as string,
      members,
      lastPrimary: { viewId: `3 ${UUIDS[0]} 5`, members: [...UUIDS].sort() },
    },
    recovered: null,
    decision: null,
    error: null,
  };
}

async function dbservers(config: string): Promise<{ stop: () => Promise<void> }> {
  const cfg = loadSiteConfigFile(config);
  const keyring = loadKeyring(cfg, config);
  const offices: PostOffice[] = [];
  for (let i = 0; i < 4; i++) {
    offices.push(
      new PostOffice({
        self: `dbserver:${i + 1}` as PartyId,
        site: cfg.site,
        keyring,
        transport: await UdpTransport.bind(DB(i).address, DB(i).port),
        clock: realClock,
        rng: mathRng,
        incarnation: Date.now(),
        directory: directoryOf(cfg),
        ackTimeoutMs: cfg.timings.ackTimeout,
        staleAfterMs: cfg.timings.staleAfter,
        maxClockSkewMs: cfg.timings.maxClockSkew,
        logger: silentLogger(),
      }),
    );
  }
  const tick = () => {
    for (const [i, po] of offices.entries()) po.publish('arbitrator:1', 'db_status_report', report(i));
  };
  tick();
  const t = setInterval(tick, 1000);
  return {
    stop: async () => {
      clearInterval(t);
      await Promise.all(offices.map((po) => po.close()));
    },
  };
}

/** One process from spawn to exit, ms (spawnSync: nothing else runs in this process meanwhile but the simulated dbservers' timers, which wait). */
function timed(args: string[]): { ms: number; status: number | null; stdout: string; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, MINDER_LOG_LEVEL: 'error' } });
  return { ms: performance.now() - t0, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface CommandWallResult {
  when: string;
  machine: ReturnType<typeof machine>;
  loadavgStart: number[];
  loadavgEnd: number[];
  runs: number;
  command: string;
  commandMs: Spread;
  /** The same with the config as JSON. */
  jsonCommandMs: Spread;
  nodeAloneMs: Spread;
  /** The same command from COMMAND_WALL_BASELINE's build, alternating with this one; null without it. */
  baseline: { minderJs: string; commandMs: Spread } | null;
}

async function main(): Promise<void> {
  const runs = Number(process.env['RUNS'] ?? 20);
  const { dir, config, json } = writeSite();
  const arb = await startParty(config, 'arbitrator:1', join(dir, 'arbitrator.log'));
  const dbs = await dbservers(config);
  const loadavgStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const args = [MINDER_JS, 'command', 'status', '--json', '--config', config];
  const jsonArgs = [MINDER_JS, 'command', 'status', '--json', '--config', json];
  const baselineJs = process.env['COMMAND_WALL_BASELINE'] || null;
  const baselineArgs = baselineJs === null ? null : [baselineJs, 'command', 'status', '--json', '--config', config];
  try {
    await sleep(3000); // every dbserver reported
    // A first command outside the figures: the page cache holds the modules from here on, as on a host that runs commands.
    const first = timed(args);
    if (first.status !== 0) throw new Error(`minder command status exited ${first.status}: ${first.stderr}`);
    if (baselineArgs) timed(baselineArgs);
    const commandMs: number[] = [];
    const nodeAloneMs: number[] = [];
    const baselineMs: number[] = [];
    const jsonMs: number[] = [];
    const checked = (a: string[]): number => {
      const c = timed(a);
      if (c.status !== 0) throw new Error(`${a[0]} command status exited ${c.status}: ${c.stderr}`);
      const doc = JSON.parse(c.stdout) as { parties?: unknown };
      if (doc.parties === undefined) throw new Error(`${a[0]} command status --json printed no parties: ${c.stdout.slice(0, 200)}`);
      return c.ms;
    };
    for (let i = 0; i < runs; i++) {
      // The order within a round alternates, so that neither build always runs right after the other.
      if (baselineArgs && i % 2 === 1) baselineMs.push(checked(baselineArgs));
      commandMs.push(checked(args));
      if (baselineArgs && i % 2 === 0) baselineMs.push(checked(baselineArgs));
      jsonMs.push(checked(jsonArgs));
      nodeAloneMs.push(timed(['-e', '0']).ms);
      await sleep(100);
    }
    const result: CommandWallResult = {
      when: new Date().toISOString(),
      machine: machine(),
      loadavgStart,
      loadavgEnd: loadavg().map((x) => Math.round(x * 100) / 100),
      runs,
      command: 'node dist/src/minder.js command status --json --config site.yaml',
      commandMs: spread(commandMs.map((x) => Math.round(x * 10) / 10)),
      jsonCommandMs: spread(jsonMs.map((x) => Math.round(x * 10) / 10)),
      nodeAloneMs: spread(nodeAloneMs.map((x) => Math.round(x * 10) / 10)),
      baseline: baselineJs === null ? null : { minderJs: baselineJs, commandMs: spread(baselineMs.map((x) => Math.round(x * 10) / 10)) },
    };
    const f = (s: Spread) => `median ${s.median?.toFixed(0)} ms, p90 ${s.p90?.toFixed(0)}, min ${s.min?.toFixed(0)}, max ${s.max?.toFixed(0)} (n=${s.n})`;
    console.log(`[command-wall] minder command status --json: ${f(result.commandMs)}`);
    console.log(`[command-wall] the same, site.json:          ${f(result.jsonCommandMs)}`);
    console.log(`[command-wall] node -e 0:                    ${f(result.nodeAloneMs)}`);
    if (result.baseline) console.log(`[command-wall] baseline ${result.baseline.minderJs}: ${f(result.baseline.commandMs)}`);
    console.log(`results: ${writeResult('command-wall', result)}`);
  } finally {
    await dbs.stop();
    await stopChild(arb.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
