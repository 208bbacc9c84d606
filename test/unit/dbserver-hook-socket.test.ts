import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { hookLineOf, MAX_HOOK_LINE_BYTES, parseHookLine } from '../../src/hook/line.js';
import { parseNotifyArgs } from '../../src/hook/notify-args.js';
import type { WsrepNotify } from '../../src/protocol/verbs.js';
import { HookSocket, HookSocketError } from '../../src/roles/dbserver/hook-socket.js';
import { SHELL_HOOK } from '../support/repo.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'minder-hook-socket-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ARGS = [
  '--status',
  'synced',
  '--uuid',
  '0576e1a4-e740-11f1-8f3d-bbd1c7a3b227',
  '--primary',
  'yes',
  '--index',
  '1',
  '--members',
  '6c55c6ce-e740-11f1-8064-5bf51de6a90f/n 1/127.0.0.11:3306,6c75275e-e740-11f1-9280-3b53ce101d31/n2/127.0.0.12:3306',
];

const quiet = { info: () => {}, warn: () => {} };

async function listen(name: string, extra: Partial<Parameters<typeof HookSocket.listen>[0]> = {}) {
  const got: WsrepNotify[] = [];
  const warnings: string[] = [];
  const s = await HookSocket.listen({
    path: join(dir, name),
    groupOf: dir,
    onNotify: (b) => got.push(b),
    logger: { info: () => {}, warn: (_o: unknown, m?: string) => void warnings.push(String(m)) },
    ...extra,
  });
  return { s, got, warnings, path: join(dir, name) };
}

/** Writes raw bytes to the socket; resolves when the dbserver closes the connection. */
function send(path: string, bytes: Buffer | string, end = true): Promise<void> {
  return new Promise((resolve) => {
    const c = connect(path, () => {
      c.write(bytes);
      if (end) c.end();
    });
    c.on('close', () => resolve());
    c.on('error', () => resolve());
    c.resume();
  });
}

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('the shell hook and the dbserver hook socket', () => {
  it("delivers Galera's arguments, through the shipped shell script, as the body the UDP hook would send", async () => {
    const { s, got, path } = await listen('a.sock');
    const out = await run('sh', [SHELL_HOOK, path, ...ARGS]);
    await settle();
    expect(out.stderr).toBe('');
    expect(got).toEqual([parseNotifyArgs(ARGS).body]);
    expect(got[0]?.members?.[0]?.name).toBe('n 1');
    // 8 arguments on `disconnected`, no members.
    await run('sh', [SHELL_HOOK, path, '--status', 'disconnected', '--uuid', '00000000-0000-0000-0000-000000000000', '--primary', 'no', '--index', '-1']);
    await settle();
    expect(got[1]).toMatchObject({ status: 'disconnected', primary: false, index: -1, members: null });
    expect(s.stats()).toMatchObject({ accepted: 2 });
    // The socket: 0660, the group of mariadbd's datadir.
    const st = statSync(path);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(statSync(dir).gid);
    await s.close();
  });

  it('with no dbserver listening, the script exits 0 at once and says why on stderr (mariadbd never waits long)', async () => {
    const t0 = Date.now();
    const out = await run('sh', [SHELL_HOOK, join(dir, 'nobody.sock'), ...ARGS]);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(out.stderr).toMatch(/minder-notify: --status synced .* not delivered to .*nobody\.sock: is the dbserver running/);
  });

  it('drops and counts what is not one good hook line; nothing is applied, the socket keeps serving', async () => {
    const { s, got, path, warnings } = await listen('b.sock', { lineTimeoutMs: 200 });
    await send(path, 'hello\n');
    await send(path, hookLineOf(['--uuid', 'x']));
    await send(path, Buffer.alloc(MAX_HOOK_LINE_BYTES + 10, 0x61));
    await send(path, hookLineOf(ARGS).slice(0, 20));
    // A good line whose writer does not close: used at its newline.
    await send(path, hookLineOf(['--status', 'synced', '--index', '1']), false);
    // A connection that says nothing: dropped at the line timeout.
    await send(path, '', false);
    await settle();
    expect(s.stats().drops).toMatchObject({ not_a_hook_line: 1, bad_body: 1, too_long: 1, no_newline: 1, timeout: 1 });
    expect(got).toHaveLength(1);
    expect(warnings.some((w) => /hook line dropped \(too_long\)/.test(w))).toBe(true);
    await send(path, hookLineOf(ARGS));
    await settle();
    expect(got).toHaveLength(2);
    await s.close();
  });

  it('replaces a stale socket, refuses a live one or a file that is not a socket', async () => {
    const a = await listen('c.sock');
    await expect(HookSocket.listen({ path: a.path, groupOf: dir, onNotify: () => {}, logger: quiet })).rejects.toThrow(/in use by another process/);
    await a.s.close();
    writeFileSync(join(dir, 'plain'), 'x');
    await expect(HookSocket.listen({ path: join(dir, 'plain'), groupOf: dir, onNotify: () => {}, logger: quiet })).rejects.toBeInstanceOf(HookSocketError);
    mkdirSync(join(dir, 'sub'));
    const b = await listen('sub/d.sock');
    await b.s.close();
  });

  it('parses lines by the marker and the separator only', () => {
    expect(parseHookLine('gm1\x1f--status\x1fsynced')).toMatchObject({ ok: true, body: { status: 'synced' } });
    expect(parseHookLine('gm2\x1f--status\x1fsynced')).toMatchObject({ ok: false, reason: 'not_a_hook_line' });
    expect(parseHookLine('gm1\x1f')).toMatchObject({ ok: false, reason: 'bad_body' });
  });
});
