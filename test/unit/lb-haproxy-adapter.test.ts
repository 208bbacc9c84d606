// The HAProxy adapter's failure handling, without HAProxy: a fake unix socket that misbehaves
// on purpose (never answers, answers nonsense, vanishes). The real behaviour is covered by
// test/lab/haproxy-adapter.test.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HaproxyAdapter } from '../../src/roles/dbclient/lb/haproxy.js';
import { type DesiredLb, LbError } from '../../src/roles/dbclient/lb/types.js';

type Behaviour = 'silent' | 'hangup' | ((line: string) => string);

interface Fake {
  path: string;
  open: Set<Socket>;
  behaviour: Behaviour;
  close(): Promise<void>;
}

async function fakeRuntimeApi(dir: string): Promise<Fake> {
  const path = join(dir, 'admin.sock');
  const open = new Set<Socket>();
  const fake: Fake = { path, open, behaviour: 'silent', close: async () => undefined };
  const server: Server = createServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => undefined);
    sock.once('data', (d: Buffer) => {
      const b = fake.behaviour;
      if (b === 'silent') return;
      if (b === 'hangup') sock.destroy();
      else sock.end(b(d.toString('utf8').trim()));
    });
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  fake.close = async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return fake;
}

const PARTIES = { 'dbserver:1': 'n1' };
const WANT: DesiredLb = { write: [{ server: 'dbserver:1', state: 'drain', weight: 1, shutdownSessions: false }], read: [] };

async function errorOf(p: Promise<unknown>): Promise<LbError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof LbError)) throw new Error(`expected an LbError, got ${String(err)}`);
  return err;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return (await errorOf(p)).code;
}

describe('HaproxyAdapter failure handling', () => {
  let dir: string;
  let fake: Fake;
  let adapter: HaproxyAdapter;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'minder-lbunit-'));
    fake = await fakeRuntimeApi(dir);
    adapter = new HaproxyAdapter({ socketPath: fake.path, writeBackend: 'w', readBackend: 'r', servers: PARTIES, timeoutMs: 300 });
  });
  afterEach(async () => {
    await adapter.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a runtime API that accepts but never answers gives LB_TIMEOUT within the bound, and no socket is left open', async () => {
    const t0 = Date.now();
    const err = await errorOf(adapter.observe());
    // The adapter's own bound ended it (its message names it), not sooner: no upper wall-clock
    // limit, which a busy machine would break; a call that never ended fails by the test timeout.
    expect(err.code).toBe('LB_TIMEOUT');
    expect(err.message).toContain('within 300 ms');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.open.size).toBe(0);
  });

  it('a socket path with nobody behind it gives LB_UNREACHABLE at once, naming the path', async () => {
    // "At once" = from the connect error itself, not from the timeout: the timeout is the
    // longest allowed (60 s, the test's own limit), and the message carries the errno, which the
    // timeout's message ("could not connect ... within N ms") never does.
    const gone = new HaproxyAdapter({ socketPath: join(dir, 'nope.sock'), writeBackend: 'w', readBackend: 'r', servers: PARTIES, timeoutMs: 60_000 });
    const err = await errorOf(gone.apply(WANT));
    expect(err.code).toBe('LB_UNREACHABLE');
    expect(err.message).toContain(join(dir, 'nope.sock'));
    expect(err.message).toContain('ENOENT');
    expect(err.message).not.toContain('within');
    await gone.close();
  });

  it('a peer that hangs up mid-call is LB_UNREACHABLE; nonsense is LB_PROTOCOL', async () => {
    fake.behaviour = 'hangup';
    expect(await codeOf(adapter.observe())).toMatch(/^LB_(UNREACHABLE|PROTOCOL)$/);
    fake.behaviour = () => 'Permission denied\n\n';
    expect(await codeOf(adapter.observe())).toBe('LB_PROTOCOL');
    fake.behaviour = () => '1\n# be_name srv_name srv_op_state srv_admin_state srv_uweight\nw n1 2 zero 1\n\n';
    expect(await codeOf(adapter.apply(WANT))).toBe('LB_PROTOCOL');
  });

  it('close() ends a call in flight with LB_UNREACHABLE and refuses later ones', async () => {
    // The fake never answers and the timeout is the longest allowed (60 s, the test's own limit):
    // only close() can end these calls, and their messages say it did.
    const slow = new HaproxyAdapter({ socketPath: fake.path, writeBackend: 'w', readBackend: 'r', servers: PARTIES, timeoutMs: 60_000 });
    const pending = slow.observe();
    const queued = slow.apply(WANT);
    await new Promise((r) => setTimeout(r, 50));
    await slow.close();
    const [p, q] = [await errorOf(pending), await errorOf(queued)];
    expect([p.code, q.code]).toEqual(['LB_UNREACHABLE', 'LB_UNREACHABLE']);
    expect(p.message).toMatch(/closed/);
    expect(q.message).toMatch(/closed/);
    expect(await codeOf(slow.observe())).toBe('LB_UNREACHABLE');
  });

  it('refuses names that could inject commands, and malformed desired states', async () => {
    const base = { socketPath: fake.path, writeBackend: 'w', readBackend: 'r' };
    expect(() => new HaproxyAdapter({ ...base, servers: { 'dbserver:1': 'n1; shutdown sessions server w/n2' } })).toThrow(TypeError);
    expect(() => new HaproxyAdapter({ ...base, writeBackend: 'w x', servers: PARTIES })).toThrow(TypeError);
    const bogus = { write: [{ server: 'dbserver:1', state: 'off', weight: 1, shutdownSessions: false }], read: [] };
    await expect(adapter.apply(bogus as unknown as DesiredLb)).rejects.toThrow(TypeError);
  });
});
