/**
 * Issue 14: the arbitrator's decision latency while its HTTP port is flooded from loopback, side
 * by side with the same measurement without the flood, in one run.
 *
 * A real `minder run` arbitrator (its unit's node flags) with `http` on, and four simulated
 * dbservers (real PostOffices in this process, as bench/scale.ts) reporting Primary/Synced once
 * a second. The measured decision is an operator request the arbitrator must evaluate, persist
 * and answer: `drain dbserver:4` / `undrain dbserver:4`, alternately, from an ArbitratorClient in
 * this process; latency = from the request's send to its `command_reply` (one round trip over
 * loopback UDP, the directives written to SQLite in between). The arbitrator's own time per step
 * (`minder_step_duration_seconds`, read from its /metrics) is reported beside it.
 *
 * The flood runs in a separate process (so that it does not share this event loop): FLOOD_CONN
 * keep-alive connections looping GET /v1/site and /metrics, plus FLOOD_BAD sockets sending
 * garbage, huge headers and never-finished headers, for the whole flood phase.
 *
 *   npm run build && node dist/bench/http-flood.js      (env: ROUNDS=200 FLOOD_CONN=32 FLOOD_BAD=16)
 * Writes a dated file under bench/results/http-flood/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArbitratorClient } from '../src/cli/command/client.js';
import { realClock } from '../src/correspondents/clock.js';
import { PostOffice } from '../src/correspondents/post-office.js';
import { UdpTransport } from '../src/correspondents/udp-transport.js';
import { silentLogger } from '../src/log.js';
import type { PartyId } from '../src/protocol/party.js';
import type { DbStatusReport } from '../src/protocol/verbs.js';
import { directoryOf, loadKeyring, loadSiteConfigFile } from '../src/site/load-config.js';
import { mathRng } from '../src/util/rng.js';
import { startParty, stopChild } from './scale.js';
import { writeResult } from './results.js';
import { machine, type Spread, spread } from './scale-stats.js';

const ARB = { address: '127.0.4.1', port: 4950 };
const HTTP = '127.0.4.1:9190';
const DB = (i: number) => ({ address: `127.0.4.${11 + i}`, port: 4951 });
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeSite(): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'minder-flood-'));
  const key = join(dir, 'site.key');
  writeFileSync(key, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const pw = join(dir, 'pw');
  writeFileSync(pw, 'unused\n', { mode: 0o600 });
  const config = join(dir, 'site.json');
  writeFileSync(
    config,
    JSON.stringify({
      site: 'flood',
      dataCentres: { dc1: { priority: 1 }, dc2: { priority: 2 } },
      keys: { send: 1, files: [{ id: 1, path: key }] },
      timings: { reportInterval: '1s', staleAfter: '4s', ackTimeout: '500ms' },
      stateDir: join(dir, 'state'),
      parties: [
        { id: 'arbitrator:1', host: ARB.address, port: ARB.port, http: { listen: HTTP, maxConnections: 256 } },
        ...[0, 1, 2, 3].map((i) => ({
          id: `dbserver:${i + 1}`,
          host: DB(i).address,
          port: DB(i).port,
          dc: i < 2 ? 'dc1' : 'dc2',
          nodeName: `n${i + 1}`,
          mariadb: { host: '127.0.0.1', passwordFile: pw },
        })),
      ],
    }),
  );
  return { dir, config };
}

const UUIDS = [0, 1, 2, 3].map((i) => `0000000${i}-e740-11f1-8064-5bf51de6a90f`);
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
    const po = new PostOffice({
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
    });
    offices.push(po);
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

/** The flood, run as a child process: `node http-flood.js --flood HOST:PORT CONN BAD`. */
async function flood(target: string, conns: number, bad: number): Promise<void> {
  const [host, port] = [target.split(':')[0] as string, Number(target.split(':')[1])];
  let ok = 0;
  let sentBad = 0;
  let stop = false;
  process.on('SIGTERM', () => {
    stop = true;
    process.stderr.write(`[http-flood] flood: ${ok} good requests answered, ${sentBad} bad ones sent\n`);
    process.exit(0);
  });
  const good = async (k: number) => {
    const paths = ['/v1/site', '/metrics', '/health', `/v1/parties/dbserver:${1 + (k % 4)}`];
    for (let n = 0; !stop; n++) {
      try {
        const r = await fetch(`http://${target}${paths[n % paths.length]}`);
        await r.arrayBuffer();
        ok++;
      } catch {
        await sleep(5);
      }
    }
  };
  const garbage = [
    'NOT HTTP AT ALL\r\n\r\n',
    `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    'POST /v1/site HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
    'GET /v1/site HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n',
    'GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /health HTTP/1.1\r\nHost: x\r\n', // never finished: the slow client
  ];
  const evil = async (k: number) => {
    for (let n = k; !stop; n++) {
      await new Promise<void>((resolve) => {
        const s = connect(port, host);
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.on('data', () => undefined);
        s.write(garbage[n % garbage.length] as string);
        sentBad++;
        setTimeout(() => s.destroy(), n % garbage.length === garbage.length - 1 ? 6000 : 200);
      });
    }
  };
  await Promise.all([...Array.from({ length: conns }, (_, k) => good(k)), ...Array.from({ length: bad }, (_, k) => evil(k))]);
}

async function stopFlood(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function decisions(client: ArbitratorClient, rounds: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const verb = i % 2 === 0 ? 'drain' : 'undrain';
    const t0 = performance.now();
    const r = await client.request(verb, { requestId: client.newRequestId(), operator: 'bench', reason: 'flood bench', node: 'dbserver:4' });
    out.push(performance.now() - t0);
    if (!r.ok) throw new Error(`${verb} refused: ${r.message}`);
    await sleep(20);
  }
  return out;
}

async function stepSeconds(): Promise<{ count: number; sum: number; served: number; bad: number }> {
  const text = await (await fetch(`http://${HTTP}/metrics`)).text();
  const num = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    count: num(/^minder_step_duration_seconds_count\{event="message:(?:drain|undrain)"\} (\S+)$/gm),
    sum: num(/^minder_step_duration_seconds_sum\{event="message:(?:drain|undrain)"\} (\S+)$/gm),
    served: num(/^minder_http_requests_total\{route="[a-z]+",code="200"\} (\S+)$/gm),
    bad: num(/^minder_http_bad_requests_total\{reason="[a-z_]+"\} (\S+)$/gm),
  };
}

export interface FloodPhase {
  label: string;
  latencyMs: Spread;
  /** The arbitrator's own mean step time for these requests (from its /metrics). */
  stepMeanMs: number;
  httpServedPerS: number;
  httpRefusedPerS: number;
}

async function main(): Promise<void> {
  const rounds = env('ROUNDS', 200);
  const conns = env('FLOOD_CONN', 32);
  const bad = env('FLOOD_BAD', 16);
  const { dir, config } = writeSite();
  const arb = await startParty(config, 'arbitrator:1', join(dir, 'arbitrator.log'));
  const dbs = await dbservers(config);
  let floodChild: ChildProcess | null = null;
  try {
    await sleep(3000);
    const cfg = loadSiteConfigFile(config);
    const client = new ArbitratorClient({
      cfg,
      keyring: loadKeyring(cfg, config),
      self: 'command:1',
      transport: await UdpTransport.bind('127.0.4.1', 0),
      clock: realClock,
      rng: mathRng,
      logger: silentLogger(),
      tries: 20,
    });
    const phases: FloodPhase[] = [];
    const measure = async (label: string): Promise<void> => {
      const before = await stepSeconds();
      const t0 = performance.now();
      const lat = await decisions(client, rounds);
      const secs = (performance.now() - t0) / 1000;
      const after = await stepSeconds();
      phases.push({
        label,
        latencyMs: spread(lat),
        stepMeanMs: ((after.sum - before.sum) / Math.max(1, after.count - before.count)) * 1000,
        httpServedPerS: (after.served - before.served - 1) / secs,
        httpRefusedPerS: (after.bad - before.bad) / secs,
      });
      const ph = phases.at(-1) as FloodPhase;
      const ms = (x: number | null) => (x === null ? '?' : x.toFixed(1));
      console.log(
        `[http-flood] ${label}: decision median ${ms(ph.latencyMs.median)} ms, p90 ${ms(ph.latencyMs.p90)}, max ${ms(ph.latencyMs.max)} (n=${ph.latencyMs.n}); core ${ph.stepMeanMs.toFixed(2)} ms/step; HTTP served ${ph.httpServedPerS.toFixed(0)}/s, refused ${ph.httpRefusedPerS.toFixed(0)}/s`,
      );
    };
    await measure('quiet');
    floodChild = spawn(process.execPath, [fileURLToPath(import.meta.url), '--flood', HTTP, String(conns), String(bad)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await sleep(2000);
    await measure(`flooded (${conns} keep-alive GET loops + ${bad} bad-request sockets)`);
    await stopFlood(floodChild);
    await sleep(7000); // the slow clients' sockets time out
    await measure('quiet again');
    const health = await (await fetch(`http://${HTTP}/health`)).text();
    const result = { when: new Date().toISOString(), machine: machine(), rounds, conns, bad, phases, arbitratorHealthAfter: health.trim() };
    console.log(`results: ${writeResult('http-flood', result)}`);
    await client.close();
  } finally {
    if (floodChild) await stopFlood(floodChild);
    await dbs.stop();
    await stopChild(arb.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--flood') void flood(process.argv[3] as string, Number(process.argv[4]), Number(process.argv[5]));
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
