import type { ArbitratorState } from '../roles/arbitrator/state.js';
import { buildSummary } from '../roles/arbitrator/summary.js';
import type { StepRecord } from '../roles/host.js';
import { STATUS_PAGE } from './status-page.js';
import type { Reply, Route, Stream } from './server.js';

/**
 * The arbitrator's read-only API (docs/observability.md): the status document, one party, the
 * decisions on record, and a stream of what it logs (decisions, drains, pause, promotions,
 * refusals…) as server-sent events. Mutations stay on the signed command channel.
 */

export interface SiteEvent {
  id: number;
  at: number;
  event: string;
  level: string;
  text: string;
  data: Record<string, unknown>;
}

/** Events kept for a reconnecting reader (Last-Event-ID) and for a page that just opened. */
export const EVENT_BACKLOG = 100;
export const MAX_STREAMS = 32;
export const HEARTBEAT_MS = 15_000;

const json = (status: number, v: unknown): Reply => ({ status, body: `${JSON.stringify(v, null, 2)}\n`, type: 'application/json; charset=utf-8' });
const problem = (status: number, text: string): Reply => json(status, { error: text });

/** What the arbitrator logged at info or above in a step: the events the stream carries. */
export function siteEventsOf(step: StepRecord, nextId: () => number): SiteEvent[] {
  const out: SiteEvent[] = [];
  for (const e of step.effects) {
    if (e.kind !== 'log' || e.level === 'debug') continue;
    out.push({ id: nextId(), at: step.now, event: String(e.event), level: String(e.level), text: String(e.msg), data: (e.data ?? {}) as Record<string, unknown> });
  }
  return out;
}

export class EventFeed {
  private readonly backlog: SiteEvent[] = [];
  private readonly readers = new Set<Stream>();
  private seq = 0;

  step(step: StepRecord): void {
    for (const ev of siteEventsOf(step, () => ++this.seq)) this.publish(ev);
  }

  publish(ev: SiteEvent): void {
    this.backlog.push(ev);
    if (this.backlog.length > EVENT_BACKLOG) this.backlog.shift();
    const frame = `id: ${ev.id}\ndata: ${JSON.stringify(ev)}\n\n`;
    for (const r of this.readers) r.write(frame);
  }

  get readerCount(): number {
    return this.readers.size;
  }

  /** Events after `id` still in the backlog. */
  since(id: number): SiteEvent[] {
    return this.backlog.filter((e) => e.id > id);
  }

  attach(s: Stream, afterId: number | null): void {
    this.readers.add(s);
    s.write('retry: 2000\n: minder events\n\n');
    for (const ev of afterId === null ? [] : this.since(afterId)) s.write(`id: ${ev.id}\ndata: ${JSON.stringify(ev)}\n\n`);
    const beat = setInterval(() => s.write(': keep-alive\n\n'), HEARTBEAT_MS);
    beat.unref();
    s.onClose(() => {
      clearInterval(beat);
      this.readers.delete(s);
    });
  }

  closeAll(): void {
    for (const r of [...this.readers]) r.close();
  }
}

const PARTY = /^(dbserver|dbclient|arbitrator):[1-9][0-9]{0,5}$/;

export function arbitratorRoutes(o: { state: () => ArbitratorState | null; now: () => number; feed: EventFeed }): Route[] {
  const summary = () => {
    const s = o.state();
    return s === null ? null : buildSummary(s, o.now());
  };
  const notYet = problem(503, 'the arbitrator has not taken its first step yet');
  return [
    {
      name: 'page',
      path: '/',
      handle: () => ({
        status: 200,
        body: STATUS_PAGE,
        type: 'text/html; charset=utf-8',
        headers: { 'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:" },
      }),
    },
    {
      name: 'site',
      path: '/v1/site',
      auth: true,
      handle: () => {
        const doc = summary();
        return doc === null ? notYet : json(200, doc);
      },
    },
    {
      name: 'party',
      path: '/v1/parties/',
      prefix: true,
      auth: true,
      handle: ({ rest }) => {
        if (!PARTY.test(rest)) return problem(400, `"${rest.slice(0, 40)}" is not a party: write /v1/parties/<type:serial>, e.g. /v1/parties/dbserver:1`);
        const doc = summary();
        if (doc === null) return notYet;
        if (rest === doc.arbitrator.party) return json(200, { party: rest, type: 'arbitrator', arbitrator: doc.arbitrator });
        const p = doc.parties.find((x) => x.party === rest);
        return p ? json(200, p) : problem(404, `${rest} is not a party of site ${doc.site}; it has ${doc.parties.map((x) => x.party).join(', ')}`);
      },
    },
    {
      name: 'decisions',
      path: '/v1/decisions',
      auth: true,
      handle: () => {
        const s = o.state();
        if (s === null) return notYet;
        // Every decision on record, newest first, with whatever fields the records carry.
        return json(200, { site: s.settings.site, generatedAt: o.now(), decisions: [...s.records.decisions].reverse().map((d) => ({ ...d })) });
      },
    },
    {
      name: 'events',
      path: '/v1/events',
      auth: true,
      handle: ({ req, query }) => {
        if (o.feed.readerCount >= MAX_STREAMS) return problem(503, `too many event streams open (${MAX_STREAMS})`);
        const last = req.headers['last-event-id'] ?? query.get('since');
        const n = typeof last === 'string' && /^\d{1,15}$/.test(last) ? Number(last) : null;
        return {
          headers: { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' },
          stream: (s: Stream) => o.feed.attach(s, n),
        };
      },
    },
  ];
}
