import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpServer, type Route } from '../../src/http/server.js';
import { silentLogger } from '../../src/log.js';
import { partyMetrics } from '../../src/metrics/party-metrics.js';
import { simSite } from '../support/post-office-fixture.js';

/**
 * The read-only HTTP door on a real loopback socket: what it serves, and what it refuses (a
 * clear 4xx and a counted reason) — unknown paths, other methods, bodies, malformed requests,
 * huge headers, slow clients, a wrong token, more connections than allowed, a stream nobody reads.
 */

const TOKEN = 'a-test-token-of-some-length';

/** Raw bytes in, raw answer out (the server closes or the wait ends). */
function raw(port: number, bytes: string, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
    s.write(bytes);
    setTimeout(() => {
      s.destroy();
      resolve(got);
    }, waitMs);
  });
}

describe('HttpServer', () => {
  const site = simSite(1);
  const post = site.make('arbitrator:1');
  const metrics = partyMetrics({ party: 'arbitrator:1', role: 'arbitrator', site: 'testsite', version: 't', post, now: () => site.clock.now() });
  let server: HttpServer;
  let port = 0;
  let streamWrites = 0;
  const routes: Route[] = [
    { name: 'health', path: '/health', handle: () => ({ status: 200, body: 'ok\n' }) },
    { name: 'metrics', path: '/metrics', handle: async () => ({ status: 200, body: await metrics.registry.metrics(), type: metrics.registry.contentType }) },
    { name: 'site', path: '/v1/site', auth: true, handle: () => ({ status: 200, body: '{}', type: 'application/json' }) },
    { name: 'party', path: '/v1/parties/', prefix: true, auth: true, handle: ({ rest }) => ({ status: 200, body: rest }) },
    {
      name: 'events',
      path: '/v1/events',
      handle: () => ({
        headers: { 'content-type': 'text/event-stream' },
        stream: (s) => {
          const big = `data: ${'x'.repeat(64 * 1024)}\n\n`;
          const t = setInterval(() => {
            streamWrites++;
            s.write(big);
          }, 5);
          s.onClose(() => clearInterval(t));
        },
      }),
    },
  ];

  const bad = async (reason: string): Promise<number> => {
    const text = await metrics.registry.metrics();
    const m = new RegExp(`^minder_http_bad_requests_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
    return Number(m?.[1] ?? NaN);
  };

  beforeAll(async () => {
    server = await HttpServer.listen({
      host: '127.0.0.1',
      port: 0,
      routes,
      counters: metrics.http,
      logger: silentLogger(),
      token: TOKEN,
      limits: { headersTimeoutMs: 600, requestTimeoutMs: 800, maxConnections: 8, maxStreamBacklogBytes: 128 * 1024 },
    });
    port = server.address.port;
  });
  afterAll(async () => {
    await server.close();
  });

  const url = (p: string) => `http://127.0.0.1:${port}${p}`;

  it('serves /health and /metrics in Prometheus text format, with the post office counters', async () => {
    expect((await fetch(url('/health'))).status).toBe(200);
    const r = await fetch(url('/metrics'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    expect(text).toMatch(/^# TYPE minder_datagrams_dropped_total counter$/m);
    expect(text).toMatch(/^minder_datagrams_dropped_total\{reason="bad_signature"\} 0$/m);
    expect(text).toMatch(/^minder_info\{party="arbitrator:1",role="arbitrator",site="testsite",version="t"\} 1$/m);
    expect(text).toMatch(/^minder_http_requests_total\{route="health",code="200"\} 1$/m);
    // Every metric name is prefixed and every counter ends in _total.
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      expect(m[1]).toMatch(/^minder_/);
      if (m[2] === 'counter') expect(m[1]).toMatch(/_total$/);
    }
  });

  it('an unknown path: 404 with the paths it has, counted', async () => {
    const before = await bad('not_found');
    const r = await fetch(url('/nope?x=1'));
    expect(r.status).toBe(404);
    expect(await r.text()).toMatch(/\/health/);
    expect(await bad('not_found')).toBe(before + 1);
  });

  it('a method other than GET/HEAD: 405 with Allow, counted; HEAD works without a body', async () => {
    const before = await bad('method');
    const r = await fetch(url('/health'), { method: 'POST', body: 'x' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    expect(await bad('method')).toBe(before + 1);
    const h = await fetch(url('/health'), { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(await h.text()).toBe('');
  });

  it('the token: none or a wrong one is 401 (counted), the right one passes; health needs none', async () => {
    const before = await bad('unauthorized');
    expect((await fetch(url('/v1/site'))).status).toBe(401);
    const wrong = await fetch(url('/v1/site'), { headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await bad('unauthorized')).toBe(before + 2);
    expect((await fetch(url('/v1/site'), { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const p = await fetch(url('/v1/parties/dbserver%3A1'), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await p.text()).toBe('dbserver:1');
  });

  it('malformed HTTP: 400, counted; a GET with a body: 400, counted', async () => {
    const before = await bad('malformed');
    const answer = await raw(port, 'THIS IS NOT HTTP\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(await bad('malformed')).toBe(before + 1);
    const b0 = await bad('body');
    const withBody = await raw(port, 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
    expect(withBody).toMatch(/^HTTP\/1\.1 400 /);
    expect(await bad('body')).toBe(b0 + 1);
  });

  it('huge headers: 431, counted', async () => {
    const before = await bad('header_too_large');
    const answer = await raw(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(await bad('header_too_large')).toBe(before + 1);
  });

  it('a slow client (headers never finished): 408 within the bound, counted', async () => {
    const before = await bad('timeout');
    const t0 = Date.now();
    const answer = await raw(port, 'GET /health HTTP/1.1\r\nHost: x\r\n', 4000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - t0).toBeLessThan(3500);
    expect(await bad('timeout')).toBe(before + 1);
  });

  it('more connections than allowed: the extra ones are dropped at accept, counted; the server still answers', async () => {
    const before = await bad('connection_limit');
    const held = await Promise.all(
      Array.from(
        { length: 12 },
        () =>
          new Promise<ReturnType<typeof connect>>((r) => {
            const s = connect(port, '127.0.0.1', () => r(s));
            s.on('error', () => undefined);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(await bad('connection_limit')).toBeGreaterThanOrEqual(before + 4);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(url('/health'))).status).toBe(200);
  });

  it('a stream nobody reads is closed once its backlog passes the bound, counted', async () => {
    const before = await bad('slow_reader');
    // Connect and ask, then never read.
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.write('GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n');
    s.pause();
    const end = Date.now() + 8000;
    while ((await bad('slow_reader')) === before && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(await bad('slow_reader')).toBe(before + 1);
    expect(server.streamCount).toBe(0);
    expect(streamWrites).toBeGreaterThan(0);
    s.destroy();
  });
});
