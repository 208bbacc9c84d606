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
 * keep-alive connections looping GET /v1/site and /metrics (with the API's bearer token), plus
 * FLOOD_BAD sockets: three of every four cycle through garbage, a huge header, a POST, a wrong
 * token and an unknown path; every fourth is a slow client (headers never finished, held past the
 * server's headersTimeout so that the server, not the client, ends it). The flooder reports what
 * it sent by kind; each phase records it beside what the arbitrator counted, by reason.
 * (Before, one socket cycled through all six kinds, the slow one last and held 6 s: within a
 * second of the start every socket sat in its slow client, so a short phase counted no refusal
 * at all, and a long one some; the slow clients were closed by the flooder at 6 s, about when
 * the server's 5 s timeout fires, so they were sometimes counted and sometimes not.)
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
/** The API's bearer token (arbitrator http.tokenFile): the good requests carry it, one bad kind carries another. */
const TOKEN = randomBytes(16).toString('hex');
/** What the flooder sends on its bad sockets, by kind, and the reason the arbitrator should count for each. */
const BAD_KINDS = {
  garbage: { expect: 'malformed', text: 'NOT HTTP AT ALL\r\n\r\n' },
  huge_header: { expect: 'header_too_large', text: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n` },
  post: { expect: 'method', text: 'POST /v1/site HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' },
  wrong_token: { expect: 'unauthorized', text: 'GET /v1/site HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n' },
  unknown_path: { expect: 'not_found', text: 'GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n' },
  slow_client: { expect: 'timeout', text: 'GET /health HTTP/1.1\r\nHost: x\r\n' },
} as const;
type BadKind = keyof typeof BAD_KINDS;
const QUICK_KINDS = (Object.keys(BAD_KINDS) as BadKind[]).filter((k) => k !== 'slow_client');
/** Longer than the server's headersTimeout (5 s) plus its check interval (1 s): the server ends the slow client. */
const SLOW_HOLD_MS = 8000;

function writeSite(): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'minder-flood-'));
  const key = join(dir, 'site.key');
  writeFileSync(key, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'api.token'), `${TOKEN}\n`, { mode: 0o600 });
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
        { id: 'arbitrator:1', host: ARB.address, port: ARB.port, http: { listen: HTTP, maxConnections: 256, tokenFile: join(dir, 'api.token') } },
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

/** The flood, run as a child process: `node http-flood.js --flood HOST:PORT CONN BAD`. It prints what it sent so far (one JSON line every 200 ms). */
async function flood(target: string, conns: number, bad: number): Promise<void> {
  const [host, portText] = target.split(':') as [string, string];
  const port = Number(portText);
  let ok = 0;
  const sent: Record<BadKind, number> = { garbage: 0, huge_header: 0, post: 0, wrong_token: 0, unknown_path: 0, slow_client: 0 };
  let stop = false;
  const tell = () => process.stdout.write(`${JSON.stringify({ ok, sent })}\n`);
  const teller = setInterval(tell, 200);
  process.on('SIGTERM', () => {
    stop = true;
    clearInterval(teller);
    tell();
    process.stderr.write(`[http-flood] flood: ${ok} good requests answered, bad ones sent: ${JSON.stringify(sent)}\n`);
    process.exit(0);
  });
  const good = async (k: number) => {
    const paths = ['/v1/site', '/metrics', '/health', `/v1/parties/dbserver:${1 + (k % 4)}`];
    for (let n = 0; !stop; n++) {
      try {
        const r = await fetch(`http://${target}${paths[n % paths.length]}`, { headers: { authorization: `Bearer ${TOKEN_IN_CHILD}` } });
        await r.arrayBuffer();
        ok++;
      } catch {
        await sleep(5);
      }
    }
  };
  const send = (kind: BadKind, holdMs: number) =>
    new Promise<void>((resolve) => {
      const s = connect(port, host);
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.on('data', () => undefined);
      s.write(BAD_KINDS[kind].text);
      sent[kind]++;
      setTimeout(() => s.destroy(), holdMs);
    });
  const evil = async (k: number) => {
    for (let n = k; !stop; n++) {
      if (k % 4 === 3) await send('slow_client', SLOW_HOLD_MS);
      else await send(QUICK_KINDS[n % QUICK_KINDS.length] as BadKind, 200);
    }
  };
  await Promise.all([...Array.from({ length: conns }, (_, k) => good(k)), ...Array.from({ length: bad }, (_, k) => evil(k))]);
}
/** In the flood child: the token passed by the parent (each process draws its own TOKEN). */
const TOKEN_IN_CHILD = process.env['FLOOD_TOKEN'] ?? '';

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

async function stepSeconds(): Promise<{ count: number; sum: number; served: number; bad: number; badByReason: Record<string, number> }> {
  const text = await (await fetch(`http://${HTTP}/metrics`)).text();
  const badByReason: Record<string, number> = {};
  for (const m of text.matchAll(/^minder_http_bad_requests_total\{reason="([a-z_]+)"\} (\S+)$/gm)) badByReason[m[1] as string] = Number(m[2]);
  const num = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    count: num(/^minder_step_duration_seconds_count\{event="message:(?:drain|undrain)"\} (\S+)$/gm),
    sum: num(/^minder_step_duration_seconds_sum\{event="message:(?:drain|undrain)"\} (\S+)$/gm),
    served: num(/^minder_http_requests_total\{route="[a-z]+",code="200"\} (\S+)$/gm),
    bad: num(/^minder_http_bad_requests_total\{reason="[a-z_]+"\} (\S+)$/gm),
    badByReason,
  };
}

export interface FloodPhase {
  label: string;
  latencyMs: Spread;
  /** The arbitrator's own mean step time for these requests (from its /metrics). */
  stepMeanMs: number;
  httpServedPerS: number;
  httpRefusedPerS: number;
  /** Seconds the phase lasted. */
  secs: number;
  /** Bad requests the flooder sent during the phase, by kind (null: no flood in this phase). */
  badSent: Record<BadKind, number> | null;
  /** Refusals the arbitrator counted during the phase (minder_http_bad_requests_total), by reason. */
  refusedByReason: Record<string, number>;
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
    let floodSent: Record<BadKind, number> | null = null;
    const measure = async (label: string): Promise<void> => {
      const sentBefore = floodSent === null ? null : { ...floodSent };
      const before = await stepSeconds();
      const t0 = performance.now();
      const lat = await decisions(client, rounds);
      const secs = (performance.now() - t0) / 1000;
      const after = await stepSeconds();
      const sentAfter = floodSent === null ? null : { ...floodSent };
      const refusedByReason = Object.fromEntries(
        Object.entries(after.badByReason)
          .map(([r, n]) => [r, n - (before.badByReason[r] ?? 0)] as const)
          .filter(([, n]) => n > 0),
      );
      phases.push({
        label,
        latencyMs: spread(lat),
        stepMeanMs: ((after.sum - before.sum) / Math.max(1, after.count - before.count)) * 1000,
        httpServedPerS: (after.served - before.served - 1) / secs,
        httpRefusedPerS: (after.bad - before.bad) / secs,
        secs,
        badSent: sentBefore && sentAfter ? (Object.fromEntries(Object.entries(sentAfter).map(([k, n]) => [k, n - (sentBefore[k as BadKind] ?? 0)])) as Record<BadKind, number>) : null,
        refusedByReason,
      });
      const ph = phases.at(-1) as FloodPhase;
      const ms = (x: number | null) => (x === null ? '?' : x.toFixed(1));
      console.log(
        `[http-flood] ${label}: decision median ${ms(ph.latencyMs.median)} ms, p90 ${ms(ph.latencyMs.p90)}, max ${ms(ph.latencyMs.max)} (n=${ph.latencyMs.n}); core ${ph.stepMeanMs.toFixed(2)} ms/step; HTTP served ${ph.httpServedPerS.toFixed(0)}/s, refused ${ph.httpRefusedPerS.toFixed(0)}/s over ${secs.toFixed(1)} s; sent ${JSON.stringify(ph.badSent)}, counted ${JSON.stringify(ph.refusedByReason)}`,
      );
    };
    await measure('quiet');
    floodChild = spawn(process.execPath, [fileURLToPath(import.meta.url), '--flood', HTTP, String(conns), String(bad)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FLOOD_TOKEN: TOKEN },
    });
    let buf = '';
    floodChild.stdout?.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      const last = lines.at(-1);
      if (last) floodSent = (JSON.parse(last) as { sent: Record<BadKind, number> }).sent;
    });
    await sleep(2000);
    await measure(`flooded (${conns} keep-alive GET loops + ${bad} bad-request sockets)`);
    await stopFlood(floodChild);
    floodSent = null;
    await sleep(9000); // the slow clients' sockets time out
    await measure('quiet again');
    const health = await (await fetch(`http://${HTTP}/health`)).text();
    const expected = Object.fromEntries(Object.entries(BAD_KINDS).map(([k, v]) => [k, v.expect]));
    const result = { when: new Date().toISOString(), machine: machine(), rounds, conns, bad, expectedReason: expected, phases, arbitratorHealthAfter: health.trim() };
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
