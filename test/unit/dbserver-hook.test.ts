import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '../../src/correspondents/clock.js';
import { type Inbound, PostOffice } from '../../src/correspondents/post-office.js';
import { UdpTransport } from '../../src/correspondents/udp-transport.js';
import { forwardNotify } from '../../src/hook/forward.js';
import { type HookSettings, type HookTarget, readHookKey } from '../../src/hook/hook-file.js';
import { parseNotifyArgs } from '../../src/hook/notify-args.js';
import { silentLogger } from '../../src/log.js';
import { Keyring } from '../../src/protocol/keys.js';
import type { WsrepNotify } from '../../src/protocol/verbs.js';
import { mathRng } from '../../src/util/rng.js';

/** The hook against a real dbserver post office on loopback UDP: what mariadbd's call turns into. */
describe('wsrep_notify_cmd hook → dbserver over UDP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'minder-hook-'));
  const secret = randomBytes(32);
  const keyFile = join(dir, 'site.key');
  let transport: UdpTransport;
  let post: PostOffice;
  const got: Inbound[] = [];

  beforeAll(async () => {
    writeFileSync(keyFile, `${secret.toString('hex')}\n`, { mode: 0o640 });
    transport = await UdpTransport.bind('127.0.0.1', 0);
    post = new PostOffice({
      self: 'dbserver:2',
      site: 'lab',
      keyring: new Keyring([{ id: 1, secret }], 1),
      transport,
      clock: realClock,
      rng: mathRng,
      incarnation: 1,
      directory: () => undefined,
      ackTimeoutMs: 3000,
      staleAfterMs: 15_000,
      maxClockSkewMs: 60_000,
      logger: silentLogger(),
    });
    post.onMessage((m) => void got.push(m));
  });

  afterAll(async () => {
    await post.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const settings = (over: Partial<HookSettings> = {}): HookSettings => ({
    site: 'lab',
    keyFile,
    keyId: 1,
    ackWaitMs: 300,
    dbservers: [{ id: 'dbserver:2', serial: 2, host: '127.0.0.1', port: transport.local.port, datadir: dir }],
    ...over,
  });
  const argv = ['--status', 'connected', '--uuid', '6c5624f0-e740-11f1-badd-cb4543f021a3', '--primary', 'no', '--index', '0', '--members', '6c55c6ce-e740-11f1-8064-5bf51de6a90f/n1/127.0.0.11:3306'];

  it('delivers the arguments as wsrep_notify from wsrep_notify_cmd:<serial> and gets the ack', async () => {
    const s = settings();
    const out = await forwardNotify({ settings: s, target: s.dbservers[0] as HookTarget, body: parseNotifyArgs(argv).body });
    expect(out.result).toBe('acked');
    const m = got.at(-1);
    expect(m?.from).toBe('wsrep_notify_cmd:2');
    expect(m?.verb).toBe('wsrep_notify');
    expect(m?.body as WsrepNotify).toMatchObject({ status: 'connected', primary: false, members: [{ name: 'n1' }] });
  });

  it('each run is new to the dbserver (a fresh incarnation), never dropped as a replay', async () => {
    const before = got.length;
    const s = settings();
    for (let i = 0; i < 3; i++) {
      expect((await forwardNotify({ settings: s, target: s.dbservers[0] as HookTarget, body: parseNotifyArgs(argv).body })).result).toBe('acked');
      // Hooks of one node run one after another, each taking longer than a millisecond.
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(got.length - before).toBeGreaterThanOrEqual(3);
  });

  it('gives up after its bounded wait when no dbserver listens', async () => {
    const s = settings({ dbservers: [{ id: 'dbserver:2', serial: 2, host: '127.0.0.1', port: 9, datadir: dir }] });
    const out = await forwardNotify({ settings: s, target: s.dbservers[0] as HookTarget, body: parseNotifyArgs(argv).body });
    expect(out.result).toBe('no_ack');
    expect(out.sends).toBe(3);
  });

  it('is not acked with the wrong key: the dbserver drops it as unauthentic', async () => {
    const wrong = join(dir, 'wrong.key');
    writeFileSync(wrong, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const drops = post.stats().drops.bad_signature;
    const s = settings({ keyFile: wrong, ackWaitMs: 100 });
    const out = await forwardNotify({ settings: s, target: s.dbservers[0] as HookTarget, body: parseNotifyArgs(argv).body });
    expect(out.result).toBe('no_ack');
    expect(post.stats().drops.bad_signature).toBeGreaterThan(drops);
  });

  it('refuses a key file that others can read, without sending anything', async () => {
    const open = join(dir, 'open.key');
    writeFileSync(open, `${secret.toString('hex')}\n`);
    chmodSync(open, 0o644);
    expect(() => readHookKey(open, 1)).toThrow(/others may not read/);
    const s = settings({ keyFile: open });
    const out = await forwardNotify({ settings: s, target: s.dbservers[0] as HookTarget, body: parseNotifyArgs(argv).body });
    expect(out).toMatchObject({ result: 'error', sends: 0 });
  });
});
