/**
 * Protocol cost on one core: encode + sign + verify + decode + body validation (checkBody, as the
 * receive path does it: the verb's zod schema), and
 * bytes per message for each stateful verb with a realistic body.
 *   npm run bench:protocol            (5 runs of 2 s each; prints median and spread)
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { decodeDatagram, encodeDatagram, type Envelope } from '../src/protocol/datagram.js';
import { Keyring } from '../src/protocol/keys.js';
import { checkBody, type Verb } from '../src/protocol/verbs.js';

const ring = new Keyring([{ id: 1, secret: randomBytes(32) }], 1);
const uuid = (i: number) => `0575a93c-e715-11f1-9f0d-6a3f8c1b2d4${i}`;
const now = Date.now();
const members = [1, 2, 3, 4].map((i) => ({ uuid: uuid(i), name: `db-${i}`, address: `10.0.1.1${i}:3306` }));

const bodies: Partial<Record<Verb, unknown>> = {
  db_status_report: {
    observedAt: now,
    dc: 'dc-east',
    mariadb: 'up',
    recovered: null,
    decision: null,
    error: null,
    wsrep: {
      clusterStatus: 'Primary',
      localState: 'Synced',
      ready: true,
      connected: true,
      clusterSize: 4,
      stateUuid: uuid(0),
      confId: 17,
      lastCommitted: 123_456_789,
      nodeUuid: uuid(1),
      members,
      lastPrimary: { viewId: `${uuid(1)}:17`, members: members.map((m) => m.uuid) },
    },
  },
  make_primary: {
    decisionId: 'd-1700000000000-1',
    view: { stateUuid: uuid(0), members: [uuid(1), uuid(2)], lastPrimaryViewId: `${uuid(1)}:17` },
    forced: false,
    reason: 'dc-east half holds 2 of 4 weight of the last primary component; dc-east has priority 1',
    validForMs: 30_000,
  },
  directives: { epoch: 42, drained: ['dbserver:3'], paused: false, writer: 'dbserver:1' },
  client_status_report: {
    observedAt: now,
    epochApplied: 42,
    lb: { kind: 'haproxy', reachable: true, error: null },
    writer: 'dbserver:1',
    servers: [1, 2, 3, 4].flatMap((i) => (['write', 'read'] as const).map((backend) => ({ server: `dbserver:${i}`, backend, state: 'ready', operational: true, weight: 1, sessions: 12 }))),
  },
  wsrep_notify: { status: 'synced', uuid: uuid(0), primary: true, index: 0, members, argv: ['--status', 'synced'] },
  ack: { verb: 'db_status_report', inc: 7, id: 123 },
};

function envelope(verb: Verb, id: number): Envelope {
  return { site: 'shop-prod', from: 'dbserver:1', to: 'arbitrator:1', verb, inc: 7, id, at: now, body: bodies[verb] };
}

/**
 * Messages per second over `ms` of wall-clock time, and per second of this process's CPU time
 * (user + system, GC threads included). On a shared machine the wall-clock rate also counts the
 * time the process waited for a core; the CPU-time rate is the one core's own work.
 */
function roundTripsPerSecond(verb: Verb, ms: number): { wall: number; cpu: number } {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 500; i++) {
      const buf = encodeDatagram(envelope(verb, n), ring);
      const { envelope: e } = decodeDatagram(buf, ring);
      if (!checkBody(verb, e.body).ok) throw new Error('schema');
      n++;
    }
  }
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: n / wallS, cpu: n / ((c.user + c.system) / 1e6) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const runs = Number(process.env.RUNS ?? 5);
const runMs = Number(process.env.RUN_MS ?? 2000);
console.log(`# bench/protocol — ${new Date().toISOString()} — ${cpus()[0]?.model ?? '?'} (${cpus().length} cores), node ${process.version}`);
console.log('# one core; each message: encode (msgpackr) + HMAC-SHA256 sign + verify + decode + body validation (checkBody: the zod schema)');
console.log("# msgs/s by the wall clock (median, min, max of the runs); then per second of the process's CPU time (median, min, max)");
console.log('verb                  bytes   msgs/s median   min        max        per CPU-s median   min        max');
for (const verb of Object.keys(bodies) as Verb[]) {
  roundTripsPerSecond(verb, 200); // warm-up
  const rates = Array.from({ length: runs }, () => roundTripsPerSecond(verb, runMs));
  const wall = rates.map((r) => r.wall);
  const cpu = rates.map((r) => r.cpu);
  const bytes = encodeDatagram(envelope(verb, 1), ring).length;
  const r = (x: number) => String(Math.round(x));
  console.log(
    `${verb.padEnd(21)} ${String(bytes).padStart(5)}   ${r(median(wall)).padStart(13)}   ${r(Math.min(...wall)).padEnd(10)} ${r(Math.max(...wall)).padEnd(10)} ${r(median(cpu)).padStart(16)}   ${r(Math.min(...cpu)).padEnd(10)} ${r(Math.max(...cpu))}`,
  );
}
