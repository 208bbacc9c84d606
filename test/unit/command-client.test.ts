import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/correspondents/clock.js';
import { MemoryNetwork, type NetworkFaults, NO_FAULTS } from '../../src/correspondents/memory-network.js';
import { PostOffice } from '../../src/correspondents/post-office.js';
import { ArbitratorClient, NoAnswerError } from '../../src/cli/command/client.js';
import { execute } from '../../src/cli/command/execute.js';
import { follow } from '../../src/cli/command/follow.js';
import { silentLogger } from '../../src/log.js';
import { Keyring } from '../../src/protocol/keys.js';
import type { PartyId } from '../../src/protocol/party.js';
import { type ArbitratorEvent, arbitratorCore } from '../../src/roles/arbitrator/core.js';
import { emptyRecords } from '../../src/roles/arbitrator/records.js';
import { arbitratorSettings } from '../../src/roles/arbitrator/settings.js';
import { type ArbitratorState, initialArbitratorState } from '../../src/roles/arbitrator/state.js';
import { RoleHost } from '../../src/roles/host.js';
import { directoryOf } from '../../src/site/load-config.js';
import { type Rng, seededRng } from '../../src/util/rng.js';
import type { BodyOf } from '../../src/protocol/verbs.js';
import type { SiteConfig } from '../../src/site/schema.js';
import { siteConfig } from './arbitrator-fixtures.js';

/**
 * dbclient:1 reduced to what the arbitrator needs of it here: it reports the directives it holds,
 * so a pause is confirmed to the operator (src/roles/arbitrator/pause-confirm.ts).
 */
function echoReceiver(cfg: SiteConfig, clock: SimClock, net: MemoryNetwork, keyring: Keyring, rng: Rng): void {
  const post = new PostOffice({
    self: 'dbclient:1',
    site: cfg.site,
    keyring,
    transport: net.endpoint('10.0.2.1', 4802),
    clock,
    rng,
    incarnation: 1,
    directory: directoryOf(cfg),
    ackTimeoutMs: cfg.timings.ackTimeout,
    staleAfterMs: cfg.timings.staleAfter,
    maxClockSkewMs: cfg.timings.maxClockSkew,
    logger: silentLogger(),
  });
  post.onMessage((m) => {
    if (m.verb !== 'directives') return;
    const d = m.body as BodyOf<'directives'>;
    const held = { epoch: d.epoch, drained: [...d.drained], paused: d.paused, writer: d.writer };
    post.publish('arbitrator:1', 'client_status_report', {
      observedAt: clock.now(),
      epochApplied: d.epoch,
      held,
      lb: { kind: 'haproxy', reachable: true, error: null },
      writer: d.writer,
      servers: [],
    });
  });
}

/**
 * The command client against the real arbitrator core in a RoleHost, over the in-memory
 * network (with loss, duplication and reordering where asked), under a simulated clock.
 */
function site(seed: number, faults: NetworkFaults = NO_FAULTS, withArbitrator = true, withReceiver = true) {
  const cfg = siteConfig();
  const clock = new SimClock();
  const rng = seededRng(seed);
  const net = new MemoryNetwork(clock, rng, faults);
  const keyring = new Keyring([{ id: 1, secret: Buffer.alloc(32, 3) }], 1);
  const durable = new Map<string, unknown>();
  let host: RoleHost<ArbitratorState, ArbitratorEvent, never> | null = null;
  if (withArbitrator) {
    const post = new PostOffice({
      self: 'arbitrator:1',
      site: cfg.site,
      keyring,
      transport: net.endpoint('10.0.0.1', 4800),
      clock,
      rng,
      incarnation: 1,
      directory: directoryOf(cfg),
      ackTimeoutMs: cfg.timings.ackTimeout,
      staleAfterMs: cfg.timings.staleAfter,
      maxClockSkewMs: cfg.timings.maxClockSkew,
      logger: silentLogger(),
    });
    host = new RoleHost({
      core: arbitratorCore,
      initial: initialArbitratorState(arbitratorSettings(cfg, 'arbitrator:1', 'mem'), emptyRecords(), { incarnation: 1 }),
      post,
      clock,
      durable: { put: (k, v) => void durable.set(k, structuredClone(v)) },
      logger: silentLogger(),
      execute: () => {},
    });
    host.start();
    if (withReceiver) echoReceiver(cfg, clock, net, keyring, rng);
  }
  // Under heavy loss, more patience: each try loses the request or the reply with p ≈ 1 - (1 - loss)².
  const tries = faults.loss > 0 ? 12 : 3;
  const client = (self: PartyId = 'command:1', port = 5000) => new ArbitratorClient({ cfg, keyring, self, transport: net.endpoint('10.0.9.9', port), clock, rng, logger: silentLogger(), tries });
  return { cfg, clock, net, host, durable, client };
}

/** Lets simulated time pass until the promise settles. */
async function drive<T>(clock: SimClock, p: Promise<T>, maxMs = 120_000): Promise<T> {
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  for (let t = 0; t < maxMs && !done; t += 50) {
    clock.advance(50);
    await new Promise((r) => setImmediate(r));
  }
  return watched;
}

describe('command client ↔ arbitrator', () => {
  it('gets the whole status summary over a lossy, duplicating, reordering network', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const s = site(seed, { loss: 0.3, duplicate: 0.2, meanExtraDelayMs: 20, minDelayMs: 1 });
      const c = s.client();
      const doc = await drive(s.clock, c.summary());
      expect(doc.site).toBe('testsite');
      expect(doc.parties).toHaveLength(5);
      await c.close();
    }
  });

  it('a drain resent over a lossy network is carried out once', async () => {
    const s = site(7, { loss: 0.4, duplicate: 0.3, meanExtraDelayMs: 10, minDelayMs: 1 });
    const c = s.client();
    const r = await drive(s.clock, execute(c, { verb: 'drain', node: 'dbserver:3', reason: 'disk' }, 'alice'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/dbserver:3 drained/);
    expect(s.host?.current.records.directives).toMatchObject({ epoch: 1, drained: ['dbserver:3'] });
    // Pause → the prompt learns it; a refusal is exit 6 with the reason on stderr. A pause is
    // confirmed once dbclient:1 reports holding it, within two ack timeouts: at 40 % loss each
    // way that often takes longer (and is then said: the test below), so the loss is lighter here.
    s.net.faults = { loss: 0.1, duplicate: 0.3, meanExtraDelayMs: 10, minDelayMs: 1 };
    const p = await drive(s.clock, execute(c, { verb: 'pause', reason: '' }, 'alice'));
    expect(p, p.err).toMatchObject({ code: 0, paused: true });
    const f = await drive(s.clock, execute(c, { verb: 'promote', target: 'dc2', force: true, reason: 'test' }, 'alice'));
    expect(f.code).toBe(6);
    expect(f.err).toMatch(/^refused: no fresh report from data centre dc2/);
    await c.close();
  });

  it('two operators on different command parties are answered each at their own address', async () => {
    const s = site(9);
    const a = s.client('command:1', 5001);
    const b = s.client('command:2', 5002);
    const [ra, rb] = await drive(s.clock, Promise.all([execute(a, { verb: 'pause', reason: 'a' }, 'alice'), execute(b, { verb: 'drain', node: 'dbserver:4', reason: 'b' }, 'bob')]));
    expect(ra.code).toBe(0);
    expect(rb.code).toBe(0);
    expect(s.host?.current.records.directives).toMatchObject({ paused: true, pausedBy: 'alice', drained: ['dbserver:4'] });
    await a.close();
    await b.close();
  });

  it('a pause that no dbserver or dbclient comes to hold is not confirmed: the operator is told it lives only in the state file', async () => {
    const s = site(21, NO_FAULTS, true, false);
    const c = s.client();
    const p = await drive(s.clock, execute(c, { verb: 'pause', reason: 'maintenance' }, 'alice'));
    expect(p.code).toBe(6);
    expect(p.err).toMatch(/PAUSED in this arbitrator \(epoch 1\), but no dbserver or dbclient has confirmed holding it.*lost or restored copy/);
    // The pause acts here all the same.
    expect(s.host?.current.records.directives).toMatchObject({ paused: true, pausedBy: 'alice' });
    await c.close();
  });

  it('a prompt left open is still answered after a one-shot command spoke as the same command party', async () => {
    const s = site(13);
    const prompt = s.client('command:1', 5003);
    expect((await drive(s.clock, execute(prompt, { verb: 'drain', node: 'dbserver:2', reason: '' }, 'alice'))).code).toBe(0);
    s.clock.advance(5000);
    // A one-shot started later: a newer process, the same party id, the same verb.
    const oneShot = s.client('command:1', 5004);
    expect((await drive(s.clock, execute(oneShot, { verb: 'drain', node: 'dbserver:3', reason: '' }, 'alice'))).code).toBe(0);
    await oneShot.close();
    s.clock.advance(1000);
    // The prompt's next request is newer than the one-shot's, by the clock: not a replay.
    const r = await drive(s.clock, execute(prompt, { verb: 'drain', node: 'dbserver:4', reason: '' }, 'alice'));
    expect(r.code).toBe(0);
    expect(s.host?.current.records.directives.drained).toEqual(['dbserver:2', 'dbserver:3', 'dbserver:4']);
    await prompt.close();
  });

  it('with no arbitrator: exit 5 after `tries` sends, naming the address and the time waited', async () => {
    const s = site(11, NO_FAULTS, false);
    const c = s.client();
    const t0 = s.clock.now();
    const r = await drive(s.clock, execute(c, { verb: 'status', json: false }, 'alice'));
    expect(r.code).toBe(5);
    expect(r.err).toMatch(/the arbitrator at 10\.0\.0\.1:4800 did not answer within 9 s/);
    expect(s.clock.now() - t0).toBeGreaterThanOrEqual(9000);
    const d = await drive(
      s.clock,
      c.request('pause', { requestId: 'x', operator: 'a', reason: '' }).catch((e: unknown) => e),
    );
    expect(d).toBeInstanceOf(NoAnswerError);
    expect(c.post.stats().sent).toBe(6);
    await c.close();
  });

  it('a datagram signed with another key gets no answer (the site key is needed)', async () => {
    const s = site(13);
    const cfg = s.cfg;
    const stranger = new ArbitratorClient({
      cfg,
      keyring: new Keyring([{ id: 1, secret: Buffer.alloc(32, 9) }], 1),
      self: 'command:1',
      transport: s.net.endpoint('10.0.9.8', 5000),
      clock: s.clock,
      rng: seededRng(1),
      logger: silentLogger(),
    });
    const r = await drive(s.clock, execute(stranger, { verb: 'pause', reason: '' }, 'mallory'));
    expect(r.code).toBe(5);
    expect(s.host?.current.records.directives.paused).toBe(false);
    await stranger.close();
  });

  it('events --follow prints the journal once, then only what is new; status --watch redraws each round', async () => {
    const s = site(21);
    const c = s.client('command:1', 5010);
    const chunks: string[] = [];
    const out = { write: (x: string) => void chunks.push(x) };
    const err = { write: () => undefined };
    const stop = new AbortController();
    const run = follow(c, { verb: 'events', json: false, follow: true }, out, err, { clock: s.clock, stop: stop.signal });
    await drive(s.clock, new Promise((r) => setTimeout(r, 30)), 3000);
    const first = chunks.join('');
    expect(first).toMatch(/started: epoch 0/);
    const other = s.client('command:2', 5011);
    expect((await drive(s.clock, execute(other, { verb: 'drain', node: 'dbserver:3', reason: 'disk' }, 'bob'))).code).toBe(0);
    await drive(s.clock, new Promise((r) => setTimeout(r, 30)), 3000);
    stop.abort();
    expect(await drive(s.clock, run)).toBe(0);
    const all = chunks.join('');
    expect(all.match(/started: epoch 0/g)).toHaveLength(1);
    expect(all).toMatch(/drained: dbserver:3 drained by bob \(disk\)/);
    expect(all.indexOf('drained:')).toBeGreaterThan(all.indexOf('started:'));

    const frames: string[] = [];
    const watch = follow(c, { verb: 'status', json: false, watch: true }, { write: (x: string) => void frames.push(x), isTTY: true }, err, { clock: s.clock, rounds: 2 });
    expect(await drive(s.clock, watch)).toBe(0);
    expect(frames).toHaveLength(2);
    const clear = '\u001b[H\u001b[2J';
    for (const f of frames) {
      expect(f.startsWith(clear)).toBe(true);
      expect(f.slice(clear.length)).toMatch(/^every 2 s · .* · Ctrl-C to stop\nsite testsite/);
    }
    await c.close();
    await other.close();
  });

  it('status --watch and events --follow are refused at the prompt (they run until Ctrl-C)', async () => {
    const s = site(22);
    const c = s.client('command:1', 5012);
    expect((await execute(c, { verb: 'status', json: false, watch: true }, 'a')).code).toBe(2);
    expect((await execute(c, { verb: 'events', json: false, follow: true }, 'a')).err).toMatch(/one-shot/);
    const ev = await drive(s.clock, execute(c, { verb: 'events', json: true }, 'a'));
    expect(JSON.parse(ev.out.split('\n')[0] as string)).toMatchObject({ event: 'started' });
    await c.close();
  });
});
