import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PostOffice } from '../correspondents/post-office.js';
import { BAD_REASONS, type BadReason, type HttpCounters } from '../http/server.js';
import { DROP_REASONS } from '../protocol/errors.js';
import type { StepRecord } from '../roles/host.js';

/**
 * The metrics every party serves on /metrics (docs/observability.md has the list). Names start
 * with `minder_`, are in base units (seconds, bytes), counters end in `_total`; labels take
 * values from small fixed sets (verbs, drop reasons, event kinds, the site config's parties),
 * never from what a request or datagram carries. Values are read at scrape time from what the
 * party already keeps (the post office's counters, the role's state after its last step), or
 * counted from the steps the host reports: nothing here is on the decision path.
 */

type Read = () => Array<[Record<string, string>, number]>;

/**
 * A counter or gauge whose values are read at scrape time from what is kept elsewhere (the post
 * office's counters, the role's state): nothing is updated on the party's hot paths.
 */
function atScrape<M extends Counter<string> | Gauge<string>>(
  make: new (c: { name: string; help: string; labelNames: string[]; registers: Registry[]; collect: () => void }) => M,
  reg: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: Read,
): M {
  return new make({
    name,
    help,
    labelNames,
    registers: [reg],
    collect(this: M) {
      this.reset();
      for (const [labels, v] of read()) {
        if (this instanceof Gauge) this.set(labels, v);
        else (this as Counter<string>).inc(labels, v);
      }
    },
  });
}

export const mirroredCounter = (reg: Registry, name: string, help: string, labelNames: string[], read: Read): Counter<string> => atScrape(Counter, reg, name, help, labelNames, read);
export const readGauge = (reg: Registry, name: string, help: string, labelNames: string[], read: Read): Gauge<string> => atScrape(Gauge, reg, name, help, labelNames, read);

/** Bounded label for a step: the event kind, with the verb or timer name (both fixed sets). */
export function stepLabel(e: StepRecord['event']): string {
  if (e.kind === 'message') {
    const verb = (e.msg as { verb?: unknown } | undefined)?.verb;
    return typeof verb === 'string' ? `message:${verb}` : 'message';
  }
  if (e.kind === 'timer') return `timer:${typeof e.name === 'string' && /^[a-z_]{1,32}$/.test(e.name) ? e.name : 'other'}`;
  return /^[a-z_]{1,32}$/.test(e.kind) ? e.kind : 'other';
}

export const STEP_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

export interface PartyMetrics {
  registry: Registry;
  http: HttpCounters;
  /** Give to RoleContext.tap: counts steps and hands them on to the role's own listeners. */
  tap(step: StepRecord): void;
  onStep(listener: (step: StepRecord) => void): void;
}

export function partyMetrics(o: { party: string; role: string; site: string; version: string; post: PostOffice; now: () => number }): PartyMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'minder_' });
  readGauge(registry, 'minder_info', 'This party: always 1, with who it is', ['party', 'role', 'site', 'version'], () => [[{ party: o.party, role: o.role, site: o.site, version: o.version }, 1]]);

  const post = o.post;
  mirroredCounter(registry, 'minder_datagrams_received_total', 'Datagrams accepted by the post office, by verb (acks included)', ['verb'], () =>
    Object.entries(post.stats().receivedByVerb).map(([verb, n]) => [{ verb }, n]),
  );
  mirroredCounter(registry, 'minder_datagrams_sent_total', 'Datagrams sent, by verb (resends included)', ['verb'], () => Object.entries(post.stats().sentByVerb).map(([verb, n]) => [{ verb }, n]));
  mirroredCounter(registry, 'minder_datagrams_dropped_total', 'Datagrams dropped at the edge, by reason', ['reason'], () => {
    const d = post.stats().drops;
    return DROP_REASONS.map((reason) => [{ reason }, d[reason]]);
  });
  mirroredCounter(registry, 'minder_datagrams_resent_total', 'Stateful messages sent again for want of an ack', [], () => [[{}, post.stats().resent]]);
  readGauge(registry, 'minder_peer_last_heard_seconds', 'Seconds since each peer of the site config was last heard (any datagram, acks included)', ['peer'], () =>
    post
      .hearing()
      .filter((h) => h.listed)
      .map((h) => [{ peer: h.peer }, Math.max(0, (o.now() - h.lastHeardAt) / 1000)]),
  );
  readGauge(registry, 'minder_peer_silent', '1 while a peer has not been heard for staleAfter', ['peer'], () =>
    post
      .hearing()
      .filter((h) => h.listed)
      .map((h) => [{ peer: h.peer }, h.silent ? 1 : 0]),
  );

  const requests = new Counter({ name: 'minder_http_requests_total', help: 'HTTP requests answered, by route and status code', labelNames: ['route', 'code'], registers: [registry] });
  const bad = new Counter({ name: 'minder_http_bad_requests_total', help: 'HTTP requests refused, by reason', labelNames: ['reason'], registers: [registry] });
  for (const reason of BAD_REASONS) bad.inc({ reason }, 0);
  const http: HttpCounters = {
    request: (route, status) => requests.inc({ route, code: String(status) }),
    bad: (reason: BadReason) => bad.inc({ reason }),
  };

  const steps = new Histogram({
    name: 'minder_step_duration_seconds',
    help: "Time the role's decision core took for one event, by event (the arbitrator's decision latency)",
    labelNames: ['event'],
    buckets: STEP_BUCKETS,
    registers: [registry],
  });
  const listeners: Array<(s: StepRecord) => void> = [];
  return {
    registry,
    http,
    tap(step) {
      steps.observe({ event: stepLabel(step.event) }, step.elapsedMs / 1000);
      for (const l of listeners) l(step);
    },
    onStep(l) {
      listeners.push(l);
    },
  };
}
