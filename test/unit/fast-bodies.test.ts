import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAIL, fastAck, fastClientStatusReport, fastDbStatusReport, fastDirectives, fastMakePrimary, fastWsrepNotify } from '../../src/protocol/fast-bodies.js';
import { checkBody, type Verb, VERBS } from '../../src/protocol/verbs.js';

/**
 * The hand-written body checks (src/protocol/fast-bodies.ts) against the zod schemas they stand
 * in for. The contract: whenever a fast check accepts, the schema accepts too and returns the very
 * same value; whenever it is unsure (FAIL), checkBody asks the schema. So checkBody must agree
 * with the schema on everything, and the fast check must accept the bodies parties really send.
 */
const FAST = {
  db_status_report: fastDbStatusReport,
  make_primary: fastMakePrimary,
  directives: fastDirectives,
  client_status_report: fastClientStatusReport,
  wsrep_notify: fastWsrepNotify,
  ack: fastAck,
} satisfies Partial<Record<Verb, (v: unknown) => unknown>>;
type FastVerb = keyof typeof FAST;
const VERBS_FAST = Object.keys(FAST) as FastVerb[];

const uuid = (i: number) => `0575a93c-e715-11f1-9f0d-6a3f8c1b2d4${i}`;
const members = [1, 2, 3, 4].map((i) => ({ uuid: uuid(i), name: `db-${i}`, address: `10.0.1.1${i}:3306` }));
const wsrep = {
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
};

/** Realistic valid bodies of each verb, with their nullable parts both null and filled. */
const VALID: Record<FastVerb, unknown[]> = {
  db_status_report: [
    { observedAt: 1_700_000_000_000, dc: 'dc-east', mariadb: 'up', recovered: null, decision: null, error: null, wsrep },
    {
      observedAt: 0,
      dc: 'd',
      mariadb: 'up',
      recovered: null,
      decision: { id: 'd-1', outcome: 'refused', reason: 'view moved on', at: 5 },
      error: 'x',
      wsrep: { ...wsrep, clusterStatus: 'non-Primary', confId: null, lastCommitted: -1, members: [], lastPrimary: null },
    },
    { observedAt: 3, dc: 'dc2', mariadb: 'down', recovered: { uuid: uuid(0), seqno: 42, safeToBootstrap: false }, decision: null, error: 'mariadbd is not running', wsrep: null },
    { observedAt: 4, dc: 'dc1', mariadb: 'up', recovered: null, decision: null, error: null, wsrep, hook: { state: 'heard', lastPushAt: 3, pushes: 2, text: 'last push at 3' } },
    { observedAt: 5, dc: 'dc1', mariadb: 'up', recovered: null, decision: null, error: null, wsrep, hook: { state: 'missing', lastPushAt: null, pushes: 0, text: 'HOOK NOT ARRIVING' } },
    {
      observedAt: 4,
      dc: 'dc2',
      mariadb: 'down',
      recovered: { uuid: uuid(0), seqno: -1, safeToBootstrap: false },
      decision: null,
      error: 'ECONNREFUSED',
      wsrep: null,
      datadir: {
        state: 'ok',
        detail: null,
        myUuid: uuid(3),
        lastView: { viewId: `3 ${uuid(1)} 17`, members: members.map((m) => m.uuid) },
        recovered: { uuid: uuid(0), seqno: 1234 },
        recoverNote: null,
      },
    },
    {
      observedAt: 5,
      dc: 'dc1',
      mariadb: 'down',
      recovered: null,
      decision: null,
      error: null,
      wsrep: null,
      datadir: { state: 'empty', detail: 'no files', myUuid: null, lastView: null, recovered: null, recoverNote: 'nothing to recover' },
    },
  ],
  make_primary: [
    { decisionId: 'd-1700000000000-1', view: { stateUuid: uuid(0), members: [uuid(1), uuid(2)], lastPrimaryViewId: `${uuid(1)}:17` }, forced: false, reason: 'dc-east half', validForMs: 30_000 },
    { decisionId: 'x', view: { stateUuid: '', members: [], lastPrimaryViewId: null }, forced: true, reason: '', validForMs: 0 },
  ],
  directives: [
    { epoch: 42, drained: ['dbserver:3'], paused: false, writer: 'dbserver:1' },
    { epoch: 0, drained: [], paused: true, writer: null },
  ],
  client_status_report: [
    {
      observedAt: 1,
      epochApplied: 42,
      lb: { kind: 'haproxy', reachable: true, error: null },
      writer: 'dbserver:1',
      servers: [1, 2, 3, 4].flatMap((i) => (['write', 'read'] as const).map((backend) => ({ server: `dbserver:${i}`, backend, state: 'ready', operational: true, weight: 1, sessions: 12 }))),
    },
    {
      observedAt: 1,
      epochApplied: 0,
      lb: { kind: 'glb', reachable: false, error: 'no socket' },
      writer: null,
      servers: [{ server: 'dbserver:2', backend: 'read', state: 'maint', operational: false, weight: 256, sessions: 0 }],
    },
  ],
  wsrep_notify: [
    { status: 'synced', uuid: uuid(0), primary: true, index: 0, members, argv: ['--status', 'synced'] },
    { status: '', uuid: null, primary: null, index: null, members: null, argv: [] },
    { status: 'joined', uuid: null, primary: false, index: -1, members: [], argv: ['a'] },
  ],
  ack: [
    { verb: 'db_status_report', inc: 7, id: 123 },
    { verb: 'x', inc: 0, id: 0 },
  ],
};

/** Values placed at random spots of a valid body: every type, and every limit the schemas use, on both sides. */
const emoji = (n: number) => '😀'.repeat(n);
const ascii = (n: number) => 'a'.repeat(n);
const LENGTHS = [0, 1, 16, 31, 32, 33, 63, 64, 65, 99, 100, 101, 199, 200, 201, 4096, 4097];
const NUMBERS: unknown[] = [0, -0, 1, -1, -2, 1.5, 255, 256, 257, 999, 1000, 1001, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
const STRINGS: unknown[] = [
  ...LENGTHS.flatMap((n) => [ascii(n), emoji(Math.ceil(n / 2)), emoji(n)]),
  'Primary',
  'non-Primary',
  'Disconnected',
  'up',
  'down',
  'write',
  'read',
  'ready',
  'drain',
  'maint',
  'unknown',
  'haproxy',
  'glb',
  'pending',
  'carried_out',
  'refused',
  'failed',
  'constructor',
  '__proto__',
  'toString',
  'dbserver:1',
  'dbserver:0',
  'dbserver:999999',
  'dbserver:1000000',
  'DBSERVER:1',
  'dbserver:1\n',
  ' dbserver:1',
  'a_b:12',
];
const OTHERS: unknown[] = [null, undefined, true, false, [], [1], ['dbserver:1'], [null], {}, { a: 1 }, new Uint8Array(2), new Date(0), new Map()];
const NASTY: unknown[] = [...NUMBERS, ...STRINGS, ...OTHERS];

type Path = Array<string | number>;
/** Every path to a value inside a body (objects and arrays included), the root excepted. */
function paths(v: unknown, at: Path = []): Path[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...at, i], ...paths(x, [...at, i])]);
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof Date) && !(v instanceof Map)) {
    return Object.entries(v).flatMap(([k, x]) => [[...at, k], ...paths(x, [...at, k])]);
  }
  return [];
}
function edit(root: unknown, path: Path, f: (parent: Record<string | number, unknown>, key: string | number) => void): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  f(cur, path.at(-1) as string | number);
  return copy;
}

/** Stands for "a limit of the same type as the value replaced" in a 'set' mutation. */
const LIKE = Symbol('like');
type Mutation = { t: 'set'; at: number; value: unknown; pick: number } | { t: 'delete'; at: number } | { t: 'extra'; at: number; key: string; value: unknown } | { t: 'grow'; at: number; to: number };
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  // A value like the one it replaces (a limit of the same type) most of the time, else anything.
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('set' as const),
      at: fc.nat(),
      value: fc.oneof({ weight: 6, arbitrary: fc.constant(LIKE) }, { weight: 3, arbitrary: fc.constantFrom(...NASTY) }, { weight: 1, arbitrary: fc.anything() }),
      pick: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('extra' as const), at: fc.nat(), key: fc.constantFrom('extra', 'members', '__proto__', 'constructor'), value: fc.constantFrom(...NASTY) }) },
  // Arrays to their limits and past them (members 64, servers 128, argv 32).
  { weight: 1, arbitrary: fc.record({ t: fc.constant('grow' as const), at: fc.nat(), to: fc.constantFrom(31, 32, 33, 63, 64, 65, 127, 128, 129) }) },
);

function mutate(body: unknown, m: Mutation): unknown {
  const all = paths(body);
  const containers = [
    [] as Path,
    ...all.filter((p) => {
      let cur: unknown = body;
      for (const k of p) cur = (cur as Record<string | number, unknown>)[k];
      return typeof cur === 'object' && cur !== null;
    }),
  ];
  switch (m.t) {
    case 'set': {
      const p = all[m.at % Math.max(1, all.length)];
      if (!p) return m.value === LIKE ? body : m.value;
      return edit(body, p, (o, k) => {
        const pool = typeof o[k] === 'number' ? NUMBERS : typeof o[k] === 'string' ? STRINGS : OTHERS;
        o[k] = m.value === LIKE ? pool[m.pick % pool.length] : m.value;
      });
    }
    case 'delete': {
      const p = all[m.at % Math.max(1, all.length)];
      return p ? edit(body, p, (o, k) => void (Array.isArray(o) ? o.splice(k as number, 1) : delete o[k])) : body;
    }
    case 'extra': {
      const p = containers[m.at % containers.length] as Path;
      if (p.length === 0) return { ...(body as object), [m.key]: m.value };
      return edit(body, p, (o, k) => {
        const target = o[k];
        if (typeof target === 'object' && target !== null && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      });
    }
    case 'grow': {
      const arrays = containers.filter((p) => {
        let cur: unknown = body;
        for (const k of p) cur = (cur as Record<string | number, unknown>)[k];
        return Array.isArray(cur) && cur.length > 0;
      });
      const p = arrays[m.at % Math.max(1, arrays.length)];
      if (!p) return body;
      return edit(body, p, (o, k) => {
        const a = o[k] as unknown[];
        o[k] = Array.from({ length: m.to }, (_, i) => structuredClone(a[i % a.length]));
      });
    }
  }
}

/** The contract, for one input. */
function holdsTo(verb: FastVerb, input: unknown): void {
  const fast = FAST[verb](input);
  const zod = VERBS[verb].schema.safeParse(input);
  if (fast !== FAIL) {
    expect(zod.success).toBe(true);
    expect(fast).toStrictEqual(zod.data);
  }
  const checked = checkBody(verb, input);
  expect(checked.ok).toBe(zod.success);
  if (checked.ok) expect(checked.data).toStrictEqual(zod.data);
}

describe('fast body checks', () => {
  for (const verb of VERBS_FAST) {
    it(`${verb}: the bodies parties send pass the fast check, with the schema's result`, () => {
      for (const body of VALID[verb]) {
        expect(VERBS[verb].schema.safeParse(body).success).toBe(true);
        const fast = FAST[verb](body);
        expect(fast).not.toBe(FAIL);
        expect(fast).toStrictEqual(VERBS[verb].schema.parse(body));
        // A fresh copy, as zod gives: a receiver may keep it without holding the decoder's object.
        expect(fast).not.toBe(body);
      }
    });

    it(`${verb}: every value of a valid body replaced by every limit and odd value, one at a time`, () => {
      for (const body of VALID[verb]) {
        for (const p of paths(body)) {
          for (const value of NASTY)
            holdsTo(
              verb,
              edit(body, p, (o, k) => void (o[k] = value)),
            );
          holdsTo(
            verb,
            edit(body, p, (o, k) => void (Array.isArray(o) ? o.splice(k as number, 1) : delete o[k])),
          );
        }
      }
    });

    it(`${verb}: never accepts what the schema refuses, never returns other data (randomly mutated bodies)`, () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...VALID[verb]),
          fc.oneof({ weight: 3, arbitrary: fc.tuple(mutationArb) }, { weight: 1, arbitrary: fc.array(mutationArb, { minLength: 2, maxLength: 3 }) }),
          (body, ms) => {
            holdsTo(verb, ms.reduce(mutate, body));
          },
        ),
        { numRuns: 1000 },
      );
    });

    it(`${verb}: agrees with the schema on arbitrary values`, () => {
      fc.assert(
        fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withTypedArray: true, withSparseArray: true }), (v) => holdsTo(verb, v)),
        { numRuns: 500 },
      );
    });
  }

  it('strips keys the schema does not name, as zod does', () => {
    const body = { ...(VALID.directives[0] as object), extra: 1 };
    expect(fastDirectives(body)).toStrictEqual(VALID.directives[0]);
  });

  it('leaves a string over its limit in UTF-16 units to the schema, which counts code points', () => {
    const body = { verb: emoji(40), inc: 1, id: 1 };
    expect(fastAck(body)).toBe(FAIL);
    expect(checkBody('ack', body).ok).toBe(true);
    expect(checkBody('ack', { verb: emoji(65), inc: 1, id: 1 }).ok).toBe(false);
  });

  it("words a refusal as the schema does (the drop log's detail)", () => {
    const r = checkBody('directives', { epoch: -1, drained: [], paused: false, writer: null });
    expect(r).toEqual({ ok: false, issue: expect.stringMatching(/^epoch /) });
  });
});
